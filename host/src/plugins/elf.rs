//! A library is read as ELF before `dlopen`: `dlopen` runs a library's constructors and maps
//! its pages, so a foreign library would run code of its own, and a truncated one kills the
//! process with SIGBUS on the first touch of a page past its end. Only a whole shared object
//! for this machine that exports the plugin root module is handed to the dynamic loader.
//! Who built the plugin (its crate's name and version, exported by `export_plugin!`) is read
//! here too, as plain bytes: the root module's layout is frozen, the file's symbols are not.

use std::fs;
use std::path::Path;

use abi_stable::library::ROOT_MODULE_LOADER_NAME;
use datax_plugin_api::__built_by_symbol_name;
use object::{
    Architecture, Object, ObjectKind, ObjectSection, ObjectSegment, ObjectSymbol, ReadCache,
    ReadRef,
};

use super::loader::LoadError;

/// The architecture `datax` itself was built for: a plugin must match it.
const HOST_ARCHITECTURE: Architecture = if cfg!(target_arch = "x86_64") {
    Architecture::X86_64
} else if cfg!(target_arch = "aarch64") {
    Architecture::Aarch64
} else {
    Architecture::Unknown
};

/// The longest crate name and version read from a plugin.
const MAX_BUILT_BY_LEN: u64 = 256;

/// What a plugin file says about itself before it is loaded.
#[derive(Debug, PartialEq, Eq)]
pub struct PluginFile {
    /// `<crate name> <version>`; `None` for plugins built before it was exported.
    pub built_by: Option<String>,
}

/// Refuses `path` unless it is a complete ELF shared object for this machine exporting
/// abi_stable's root module loader (the symbol `export_plugin!` defines).
///
/// Only the headers and tables it needs are read, not the whole (possibly large) file.
pub fn check_plugin_file(path: &Path) -> Result<PluginFile, LoadError> {
    let file = fs::File::open(path).map_err(|error| LoadError::Unreadable {
        path: path.to_path_buf(),
        error,
    })?;
    check_plugin_data(&ReadCache::new(file))
}

fn check_plugin_data<'data, R: ReadRef<'data>>(data: R) -> Result<PluginFile, LoadError> {
    let damaged =
        |what: String| LoadError::Unloadable(format!("truncated or damaged ELF file: {what}"));
    if data.read_bytes_at(0, 4) != Ok(b"\x7fELF".as_slice()) {
        return Err(LoadError::Unloadable(
            "not an ELF shared library (no ELF header)".to_string(),
        ));
    }
    let file = object::File::parse(data).map_err(|error| damaged(error.to_string()))?;
    if file.kind() != ObjectKind::Dynamic {
        return Err(LoadError::Unloadable(format!(
            "not a shared library (an ELF {:?} file)",
            file.kind()
        )));
    }
    if HOST_ARCHITECTURE != Architecture::Unknown && file.architecture() != HOST_ARCHITECTURE {
        return Err(LoadError::Unloadable(format!(
            "built for {:?}, but this datax runs on {HOST_ARCHITECTURE:?}",
            file.architecture()
        )));
    }
    let length = data
        .len()
        .map_err(|()| damaged("its length cannot be read".to_string()))?;
    let past_end = |offset: u64, size: u64| offset.checked_add(size).is_none_or(|end| end > length);
    for segment in file.segments() {
        let (offset, size) = segment.file_range();
        if past_end(offset, size) {
            return Err(damaged(format!(
                "a segment's data ends at {}, past the file's {length} bytes",
                offset.saturating_add(size)
            )));
        }
    }
    for section in file.sections() {
        if let Some((offset, size)) = section.file_range() {
            if past_end(offset, size) {
                return Err(damaged(format!(
                    "section {} ends at {}, past the file's {length} bytes",
                    section.name().unwrap_or("?"),
                    offset.saturating_add(size)
                )));
            }
        }
    }
    let exports_root_module = file
        .dynamic_symbols()
        .any(|symbol| symbol.is_definition() && symbol.name() == Ok(ROOT_MODULE_LOADER_NAME));
    match exports_root_module {
        true => Ok(PluginFile {
            built_by: built_by(&file),
        }),
        false => Err(LoadError::NotAPlugin),
    }
}

/// The text of the exported `datax_plugin_built_by` symbol, if there is one that reads.
fn built_by<'data, R: ReadRef<'data>>(file: &object::File<'data, R>) -> Option<String> {
    let symbol = file
        .dynamic_symbols()
        .find(|symbol| symbol.is_definition() && symbol.name() == Ok(__built_by_symbol_name!()))?;
    if symbol.size() > MAX_BUILT_BY_LEN {
        return None;
    }
    let section = file.section_by_index(symbol.section_index()?).ok()?;
    let bytes = section.data_range(symbol.address(), symbol.size()).ok()??;
    String::from_utf8(bytes.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test program: a PIE executable is an ELF shared object too, without the root module.
    fn this_program() -> Vec<u8> {
        fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    #[test]
    fn text_and_truncated_files_are_refused() {
        let error = check_plugin_data(b"not a library".as_slice()).unwrap_err();
        assert!(error.to_string().contains("no ELF header"), "{error}");
        let whole = this_program();
        for cut in [64, 4096, whole.len() / 2, whole.len() - 1] {
            let error = check_plugin_data(&whole[..cut]).unwrap_err();
            assert!(
                error.to_string().contains("truncated or damaged ELF file"),
                "cut at {cut}: {error}"
            );
        }
    }

    #[test]
    fn a_whole_library_without_the_root_module_is_not_a_plugin() {
        assert!(matches!(
            check_plugin_data(this_program().as_slice()),
            Err(LoadError::NotAPlugin)
        ));
    }
}
