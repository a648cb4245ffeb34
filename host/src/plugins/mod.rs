//! Plugin libraries found on disk, and the host-side handles to what they provide.

mod elf;
mod loader;
mod search_path;

pub use loader::Registry;
pub use search_path::plugin_dirs;

use std::fmt;
use std::path::PathBuf;

use abi_stable::library::RootModule;
use abi_stable::std_types::RStr;
use datax_plugin_api::ffi::{
    FfiJobStopBox, FfiPluginModule_Ref, FfiReaderJobBox, FfiTransformerBox, FfiWriterJobBox,
};
use datax_plugin_api::{ErrorKind, PluginError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reader,
    Writer,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Reader => "reader",
            Kind::Writer => "writer",
        })
    }
}

#[derive(Debug, Clone)]
pub struct KindInfo {
    pub datax_names: Vec<String>,
    pub template: String,
}

/// A library that passed every load check. Libraries are never unloaded (plugin-abi.md §1.3).
pub struct LoadedPlugin {
    pub name: String,
    pub version: String,
    /// The crate it was built from and its version; `None` for plugins built before
    /// `export_plugin!` exported it.
    pub built_by: Option<String>,
    /// The plugin API version it was built against.
    pub api_version: String,
    pub description: String,
    pub reader: Option<KindInfo>,
    pub writer: Option<KindInfo>,
    /// Only from a library built against plugin API 1.1 or later.
    pub transformer: Option<KindInfo>,
    pub path: PathBuf,
    module: FfiPluginModule_Ref,
    /// Whether the library passed the current root module's layout check: only then are the
    /// module's fields past plugin API 1.0's read (`loader::init_root_module`).
    current_layout: bool,
}

/// The plugin API version this datax speaks, as abi_stable checks it at load.
pub fn host_api_version() -> String {
    <FfiPluginModule_Ref as RootModule>::VERSION_STRINGS.to_string()
}

impl LoadedPlugin {
    pub fn kind(&self, kind: Kind) -> Option<&KindInfo> {
        match kind {
            Kind::Reader => self.reader.as_ref(),
            Kind::Writer => self.writer.as_ref(),
        }
    }

    pub fn kinds_label(&self) -> String {
        let sides = [Kind::Reader, Kind::Writer]
            .into_iter()
            .filter(|kind| self.kind(*kind).is_some())
            .map(|kind| kind.to_string());
        let transformer = self.transformer.as_ref().map(|_| "transformer".to_string());
        sides.chain(transformer).collect::<Vec<_>>().join("+")
    }

    /// Every name jobs may use for what this library provides.
    pub fn datax_names(&self) -> impl Iterator<Item = &str> {
        [&self.reader, &self.writer, &self.transformer]
            .into_iter()
            .flatten()
            .flat_map(|info| info.datax_names.iter().map(String::as_str))
    }

    /// Tells the library's job-level work when the job stops; a library built before this
    /// existed is not told (its retries and requests outside tasks run their course).
    pub fn install_job_stop(&self, stop: FfiJobStopBox) {
        let install = self
            .current_layout
            .then(|| self.module.install_job_stop())
            .flatten();
        if let Some(install) = install {
            install(stop);
        }
    }

    /// DataX's `Reader.Job.init`.
    pub fn new_reader_job(&self, parameter: &str) -> Result<FfiReaderJobBox, PluginError> {
        (self.module.new_reader_job())(RStr::from_str(parameter)).into_result()
    }

    /// DataX's `Writer.Job.init`.
    pub fn new_writer_job(&self, parameter: &str) -> Result<FfiWriterJobBox, PluginError> {
        (self.module.new_writer_job())(RStr::from_str(parameter)).into_result()
    }

    /// One entry of a job's transformer chain. Only for a library that lists a transformer.
    pub fn new_transformer(&self, parameter: &str) -> Result<FfiTransformerBox, PluginError> {
        let new_transformer = self
            .transformer
            .as_ref()
            .and_then(|_| self.module.new_transformer())
            .ok_or_else(|| {
                PluginError::new(
                    ErrorKind::UNSUPPORTED,
                    "this plugin provides no transformer",
                )
            })?;
        new_transformer(RStr::from_str(parameter)).into_result()
    }
}
