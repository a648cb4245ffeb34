use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibHeader, LibraryError};
use abi_stable::std_types::ROption;
use datax_plugin_api::ffi::{v1_0, FfiKindDescriptor, FfiPluginModule_Ref};

use super::elf::check_plugin_file;
use super::search_path::PluginDir;
use super::{host_api_version, Kind, KindInfo, LoadedPlugin};
use crate::logger;

/// How deep `--plugin-dir` and `DATAX_PLUGIN_PATH` folders are searched:
/// `DIR/reader/odps/libdatax_odps.so` is 2. Deeper folders are not searched, with a warning.
pub const MAX_DEPTH: usize = 4;

/// A file that looked like a plugin but was not loaded, with the reason in one line.
#[derive(Debug)]
pub struct Refusal {
    pub path: PathBuf,
    pub reason: LoadError,
}

/// Why a library was not loaded, in one line for `datax plugins` and the debug log.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin name '{name}' is already provided by {}", first.display())]
    DuplicateName { name: String, first: PathBuf },
    #[error("cannot read {}: {error}", path.display())]
    Unreadable { path: PathBuf, error: io::Error },
    /// Anyone could replace it with code of their own, run by `datax`.
    #[error(
        "{} is world-writable (mode {mode:o}); run `chmod o-w` on it to allow loading",
        path.display()
    )]
    WorldWritable { path: PathBuf, mode: u32 },
    /// As ssh does for its keys: only root or the user running `datax` may own the file and
    /// the folders above it.
    #[error(
        "{} is owned by user {uid}, neither root nor the user running datax; only root or \
         you may own a plugin and the folders above it",
        path.display()
    )]
    ForeignOwner { path: PathBuf, uid: u32 },
    #[error("cannot be loaded: {0}")]
    Unloadable(String),
    #[error("not a datax plugin (it exports no datax plugin module)")]
    NotAPlugin,
    /// The major versions differ (abi_stable's check).
    #[error(
        "built for plugin API {plugin_api}, but this datax speaks plugin API {host_api}: {}",
        rebuild_advice(.plugin_api, .host_api)
    )]
    ApiVersion {
        plugin_api: String,
        host_api: String,
    },
    /// The versions agree but the types do not: a changed copy, or a prefix type (root module,
    /// vtable) with more fields in the host than in the plugin (docs/plugin-abi.md §6).
    #[error(
        "built against an incompatible plugin ABI: {detail} (plugin API {plugin_api} in the \
         plugin, {host_api} in this datax): {}",
        rebuild_advice(.plugin_api, .host_api)
    )]
    AbiMismatch {
        detail: String,
        plugin_api: String,
        host_api: String,
    },
    #[error("{}", join_reasons(.0))]
    Several(Vec<LoadError>),
}

/// Which side to rebuild: the plugin, unless it was built for a newer API than this datax's,
/// when a newer datax is the other way.
fn rebuild_advice(plugin_api: &str, host_api: &str) -> String {
    let host_major = host_api.split('.').next().unwrap_or(host_api);
    let rebuild = format!("rebuild the plugin against datax-plugin-api {host_major}.x");
    let newer = match (version_number(plugin_api), version_number(host_api)) {
        (Some(plugin), Some(host)) => plugin > host,
        _ => false,
    };
    match newer {
        true => format!("{rebuild}, or use a datax that speaks plugin API {plugin_api}"),
        false => rebuild,
    }
}

/// `major.minor.patch` as numbers, compared in that order.
fn version_number(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.').map(|part| part.parse().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

fn join_reasons(reasons: &[LoadError]) -> String {
    let reasons: Vec<String> = reasons.iter().map(LoadError::to_string).collect();
    reasons.join("; ")
}

/// No loaded library provides the job's plugin.
#[derive(Debug, thiserror::Error)]
#[error(
    "no {kind} plugin named '{job_name}'; {kind}s found: {}{}",
    list_or_none(.available),
    refused_note(*.refused)
)]
pub struct PluginNotFound {
    /// `reader`, `writer` or `transformer`.
    pub kind: &'static str,
    pub job_name: String,
    /// What this kind answers to, `names (plugin)` each, sorted.
    pub available: Vec<String>,
    /// How many files were refused, often why a plugin seems missing.
    pub refused: usize,
}

fn list_or_none(available: &[String]) -> String {
    match available.is_empty() {
        true => "none".to_string(),
        false => available.join(", "),
    }
}

fn refused_note(refused: usize) -> String {
    match refused {
        0 => String::new(),
        count => format!(" ({count} plugin file(s) refused: see `datax plugins`)"),
    }
}

pub struct Registry {
    pub plugins: Vec<LoadedPlugin>,
    pub refused: Vec<Refusal>,
    pub searched: Vec<PluginDir>,
}

impl Registry {
    pub fn load(searched: Vec<PluginDir>) -> Registry {
        let mut registry = Registry {
            plugins: Vec::new(),
            refused: Vec::new(),
            searched,
        };
        let mut seen = HashSet::new();
        for dir in registry.searched.clone() {
            for path in library_files(&dir) {
                let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
                if seen.insert(canonical) {
                    registry.add(path);
                }
            }
        }
        registry
    }

    fn add(&mut self, path: PathBuf) {
        let outcome = load_library(&path).and_then(|plugin| {
            match self.plugins.iter().find(|other| other.name == plugin.name) {
                Some(first) => Err(LoadError::DuplicateName {
                    name: plugin.name.clone(),
                    first: first.path.clone(),
                }),
                None => Ok(plugin),
            }
        });
        match outcome {
            Ok(plugin) => {
                logger::debug(
                    "datax",
                    format!(
                        "loaded plugin {} {} from {}",
                        plugin.name,
                        plugin.version,
                        path.display()
                    ),
                );
                self.plugins.push(plugin);
            }
            Err(reason) => {
                logger::debug("datax", format!("refused {}: {reason}", path.display()));
                self.refused.push(Refusal { path, reason });
            }
        }
    }

    /// The library providing `kind` under the job's plugin name, or an error listing what
    /// there is (and what was refused, which is often why a plugin seems missing).
    pub fn find(&self, kind: Kind, job_name: &str) -> Result<&LoadedPlugin, PluginNotFound> {
        let label = match kind {
            Kind::Reader => "reader",
            Kind::Writer => "writer",
        };
        self.find_by(label, job_name, |plugin| plugin.kind(kind))
    }

    /// The library providing the transformer a job's chain names `job_name`.
    pub fn find_transformer(&self, job_name: &str) -> Result<&LoadedPlugin, PluginNotFound> {
        self.find_by("transformer", job_name, |plugin| {
            plugin.transformer.as_ref()
        })
    }

    fn find_by(
        &self,
        label: &'static str,
        job_name: &str,
        kind: impl Fn(&LoadedPlugin) -> Option<&KindInfo>,
    ) -> Result<&LoadedPlugin, PluginNotFound> {
        // A job's plugin name is one of the kind's DataX names (`odpsreader` in DataX files)
        // or the library's own name (`odps` in DataWorks files).
        let answers = |plugin: &LoadedPlugin| {
            kind(plugin).is_some_and(|info| {
                job_name == plugin.name || info.datax_names.iter().any(|name| name == job_name)
            })
        };
        if let Some(plugin) = self.plugins.iter().find(|plugin| answers(plugin)) {
            return Ok(plugin);
        }
        let mut available: Vec<String> = self
            .plugins
            .iter()
            .filter_map(|plugin| kind(plugin).map(|info| (plugin, info)))
            .map(|(plugin, info)| format!("{} ({})", info.datax_names.join(", "), plugin.name))
            .collect();
        available.sort();
        Err(PluginNotFound {
            kind: label,
            job_name: job_name.to_string(),
            available,
            refused: self.refused.len(),
        })
    }
}

/// Shared-library files in `dir` (and below, if recursive), sorted for a stable load order.
fn library_files(dir: &PluginDir) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let depth = dir.recursive.then_some(MAX_DEPTH);
    collect_library_files(&dir.path, &dir.path, depth, &mut found);
    found.sort();
    found
}

/// `depth_left` is `None` for a folder whose subfolders do not count (the executable's own).
fn collect_library_files(
    root: &Path,
    dir: &Path,
    depth_left: Option<usize>,
    found: &mut Vec<PathBuf>,
) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            match depth_left {
                Some(0) => logger::warn(
                    "datax",
                    format!(
                        "plugin folder {} is deeper than {MAX_DEPTH} folders below {}: not \
                         searched",
                        path.display(),
                        root.display()
                    ),
                ),
                Some(depth) => collect_library_files(root, &path, Some(depth - 1), found),
                None => {}
            }
        } else if path
            .extension()
            .is_some_and(|ext| ext == std::env::consts::DLL_EXTENSION)
        {
            found.push(path);
        }
    }
}

fn load_library(path: &Path) -> Result<LoadedPlugin, LoadError> {
    // The real file, symlinks followed, is what gets checked and loaded: a link cannot lead
    // the checks to one file and `dlopen` to another.
    let real = path.canonicalize().map_err(|error| LoadError::Unreadable {
        path: path.to_path_buf(),
        error,
    })?;
    refuse_if_untrusted(&real)?;
    let file = check_plugin_file(&real)?;
    let header =
        lib_header_from_path(&real).map_err(|error| describe_load_error(&error, "unknown"))?;
    let api_version = header.version_strings().to_string();
    let (module, current) = init_root_module(header)?;
    (module.install_logger())(logger::ffi_logger());
    let descriptor = (module.descriptor())();
    // Only a library that passed the current layout's check has its later fields checked.
    let transformer = match current {
        true => module
            .transformer()
            .map(|kind| kind())
            .and_then(ROption::into_option),
        false => None,
    };
    Ok(LoadedPlugin {
        name: descriptor.name.into_string(),
        version: descriptor.version.into_string(),
        built_by: file.built_by,
        api_version,
        description: descriptor.description.into_string(),
        reader: descriptor.reader.into_option().map(kind_info),
        writer: descriptor.writer.into_option().map(kind_info),
        transformer: transformer.map(kind_info),
        path: path.to_path_buf(),
        module,
        current_layout: current,
    })
}

/// The library's root module, checked against this host's layout, or else against plugin API
/// 1.0's (plugin-api's `ffi` "Evolution": abi_stable refuses a library with fewer fields).
/// The flag says whether the current layout passed, and so whether the fields appended since
/// 1.0 may be read.
fn init_root_module(header: &LibHeader) -> Result<(FfiPluginModule_Ref, bool), LoadError> {
    let api_version = header.version_strings().to_string();
    let current = match header.init_root_module::<FfiPluginModule_Ref>() {
        Err(current @ LibraryError::AbiInstability(_)) => current,
        other => {
            return other
                .map(|module| (module, true))
                .map_err(|error| describe_load_error(&error, &api_version))
        }
    };
    if header.ensure_layout::<v1_0::FfiPluginModule_Ref>().is_err() {
        return Err(describe_load_error(&current, &api_version));
    }
    // Usually a plugin built before 1.1; in the odd case of a newer library failing only past
    // 1.0's fields (its transformer), this says why it has none.
    logger::debug(
        "datax",
        format!(
            "loading with plugin API 1.0's root module, nothing added since is used: {}",
            last_error_block(&current.to_string())
        ),
    );
    // SAFETY: the library's root module passed the layout check against plugin API 1.0's,
    // which is the current one's prefix; the host reads no field after that prefix from a
    // module loaded this way (`load_library` looks at `current`).
    let module = unsafe { header.unchecked_layout::<FfiPluginModule_Ref>() }
        .map_err(|error| LoadError::Unloadable(error.to_string()))?;
    Ok((module, false))
}

fn kind_info(descriptor: FfiKindDescriptor) -> KindInfo {
    KindInfo {
        datax_names: descriptor
            .datax_names
            .into_iter()
            .map(|name| name.into_string())
            .collect(),
        template: descriptor.template.into_string(),
    }
}

/// Refuses a library that someone other than root or the current user could replace: the
/// file, and every folder above it, must not be world-writable (a folder with the sticky bit,
/// as `/tmp`, is safe: nobody may replace another's file in it) and must be owned by root or
/// the current user.
fn refuse_if_untrusted(real_path: &Path) -> Result<(), LoadError> {
    let current_user = current_uid();
    for (depth, path) in real_path.ancestors().enumerate() {
        let metadata = fs::metadata(path).map_err(|error| LoadError::Unreadable {
            path: path.to_path_buf(),
            error,
        })?;
        let mode = metadata.mode();
        let sticky_folder = depth > 0 && mode & 0o1000 != 0;
        if mode & 0o002 != 0 && !sticky_folder {
            return Err(LoadError::WorldWritable {
                path: path.to_path_buf(),
                mode: mode & 0o7777,
            });
        }
        let uid = metadata.uid();
        if uid != 0 && Some(uid) != current_user {
            return Err(LoadError::ForeignOwner {
                path: path.to_path_buf(),
                uid,
            });
        }
    }
    Ok(())
}

/// The effective user id: the owner of `/proc/self` (no libc call needed on Linux).
fn current_uid() -> Option<u32> {
    fs::metadata("/proc/self")
        .ok()
        .map(|metadata| metadata.uid())
}

/// abi_stable's own report can be a thousand lines long (plugin-abi.md §1.2): the reason
/// keeps its last error block, and the full text goes to the debug log only. `plugin_api` is
/// the API version the library declares.
fn describe_load_error(error: &LibraryError, plugin_api: &str) -> LoadError {
    match error {
        LibraryError::OpenError { err, .. } => LoadError::Unloadable(err.to_string()),
        LibraryError::GetSymbolError { .. } | LibraryError::InvalidAbiHeader(_) => {
            LoadError::NotAPlugin
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => LoadError::ApiVersion {
            plugin_api: actual_version.to_string(),
            host_api: expected_version.to_string(),
        },
        LibraryError::AbiInstability(report) => {
            let report = report.to_string();
            logger::debug("datax", format!("ABI mismatch report:\n{report}"));
            LoadError::AbiMismatch {
                detail: last_error_block(&report),
                plugin_api: plugin_api.to_string(),
                host_api: host_api_version(),
            }
        }
        LibraryError::Many(errors) => LoadError::Several(
            errors
                .iter()
                .map(|error| describe_load_error(error, plugin_api))
                .collect(),
        ),
        other => LoadError::Unloadable(last_error_block(&other.to_string())),
    }
}

/// The final `Error:` block of an abi_stable report, whitespace collapsed onto one line.
fn last_error_block(report: &str) -> String {
    let tail = report
        .rfind("Error:")
        .map_or(report, |start| &report[start + "Error:".len()..]);
    let line = tail.split_whitespace().collect::<Vec<_>>().join(" ");
    const MAX_CHARS: usize = 300;
    match line.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_error_block_keeps_only_the_final_cause() {
        let report = "Error: field 'read' mismatch\n  deep\n  details\n\
                      Error: mismatched type\n   Expected: i64\n   Found: i32\n";
        assert_eq!(
            last_error_block(report),
            "mismatched type Expected: i64 Found: i32"
        );
    }

    #[test]
    fn refusals_name_both_versions_and_the_side_to_rebuild() {
        let newer = LoadError::ApiVersion {
            plugin_api: "2.0.0".to_string(),
            host_api: "1.0.0".to_string(),
        };
        assert_eq!(
            newer.to_string(),
            "built for plugin API 2.0.0, but this datax speaks plugin API 1.0.0: rebuild the \
             plugin against datax-plugin-api 1.x, or use a datax that speaks plugin API 2.0.0"
        );
        let older = LoadError::AbiMismatch {
            detail: "too many fields".to_string(),
            plugin_api: "1.0.0".to_string(),
            host_api: "1.2.0".to_string(),
        };
        assert_eq!(
            older.to_string(),
            "built against an incompatible plugin ABI: too many fields (plugin API 1.0.0 in the \
             plugin, 1.2.0 in this datax): rebuild the plugin against datax-plugin-api 1.x"
        );
    }

    #[test]
    fn world_writable_folders_are_refused_unless_sticky() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("datax-ww-{}", std::process::id()));
        let file = dir.join("libx.so");
        fs::create_dir_all(&dir).unwrap();
        fs::write(&file, "").unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let reason = refuse_if_untrusted(&file).unwrap_err();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).unwrap();
        let sticky = refuse_if_untrusted(&file);
        fs::remove_dir_all(&dir).unwrap();
        assert!(
            matches!(reason, LoadError::WorldWritable { mode: 0o777, .. }),
            "{reason}"
        );
        assert!(reason.to_string().contains("is world-writable (mode 777)"));
        sticky.unwrap();
    }
}
