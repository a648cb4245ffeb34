use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::logger;

/// A folder to look for plugins in, and whether its subfolders count too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDir {
    pub path: PathBuf,
    pub recursive: bool,
}

/// A `--plugin-dir` that cannot be searched: the user asked for it, so it is an error.
#[derive(Debug, thiserror::Error)]
pub enum PluginDirError {
    #[error("--plugin-dir {}: {error}", path.display())]
    Unreadable { path: PathBuf, error: io::Error },
    #[error("--plugin-dir {}: is not a folder", path.display())]
    NotAFolder { path: PathBuf },
}

/// Where plugins are looked for, in order: every `--plugin-dir` (which must be a readable
/// folder), then `DATAX_PLUGIN_PATH` (colon separated; absolute entries only: a relative one
/// would depend on the folder `datax` is started in, and is skipped with a warning), then the
/// folder of the `datax` executable (its own files only: in a cargo target folder its
/// subfolders hold build leftovers), that folder's `plugins/`, and `../lib/datax/plugins` beside
/// it (the layout of an install, `scripts/package.sh`). Folders are searched up to
/// [`super::loader::MAX_DEPTH`] levels down.
pub fn plugin_dirs(cli_dirs: &[PathBuf]) -> Result<Vec<PluginDir>, PluginDirError> {
    let mut dirs = Vec::new();
    for path in cli_dirs {
        dirs.push(PluginDir {
            path: readable_folder(path)?,
            recursive: true,
        });
    }
    if let Some(paths) = env::var_os("DATAX_PLUGIN_PATH") {
        for path in env::split_paths(&paths).filter(|path| !path.as_os_str().is_empty()) {
            if path.is_relative() {
                logger::warn(
                    "datax",
                    format!(
                        "DATAX_PLUGIN_PATH entry \"{}\" is not an absolute path: not searched",
                        path.display()
                    ),
                );
                continue;
            }
            dirs.push(PluginDir {
                path,
                recursive: true,
            });
        }
    }
    if let Some(exe_dir) = env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .and_then(|exe| exe.parent().map(PathBuf::from))
    {
        dirs.push(PluginDir {
            path: exe_dir.clone(),
            recursive: false,
        });
        dirs.push(PluginDir {
            path: exe_dir.join("plugins"),
            recursive: true,
        });
        if let Some(prefix) = exe_dir.parent() {
            dirs.push(PluginDir {
                path: prefix.join("lib/datax/plugins"),
                recursive: true,
            });
        }
    }
    Ok(dirs)
}

/// `path` made absolute, once checked to be a folder whose entries can be listed.
fn readable_folder(path: &Path) -> Result<PathBuf, PluginDirError> {
    let unreadable = |error| PluginDirError::Unreadable {
        path: path.to_path_buf(),
        error,
    };
    let real = path.canonicalize().map_err(unreadable)?;
    if !real.is_dir() {
        return Err(PluginDirError::NotAFolder {
            path: path.to_path_buf(),
        });
    }
    fs::read_dir(&real).map_err(unreadable)?;
    Ok(real)
}
