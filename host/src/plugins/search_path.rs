use std::env;
use std::path::PathBuf;

/// A folder to look for plugins in, and whether its subfolders count too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDir {
    pub path: PathBuf,
    pub recursive: bool,
}

/// Where plugins are looked for, in order: every `--plugin-dir`, then `DATAX_PLUGIN_PATH`
/// (colon separated), then the folder of the `datax` executable (its own files only: in a
/// cargo target folder its subfolders hold build leftovers) and that folder's `plugins/`.
pub fn plugin_dirs(cli_dirs: &[PathBuf]) -> Vec<PluginDir> {
    let mut dirs: Vec<PluginDir> = cli_dirs
        .iter()
        .map(|path| PluginDir {
            path: path.clone(),
            recursive: true,
        })
        .collect();
    if let Some(paths) = env::var_os("DATAX_PLUGIN_PATH") {
        dirs.extend(
            env::split_paths(&paths)
                .filter(|path| !path.as_os_str().is_empty())
                .map(|path| PluginDir {
                    path,
                    recursive: true,
                }),
        );
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
    }
    dirs
}
