//! Plugin libraries found on disk, and the host-side handles to what they provide.

mod elf;
mod loader;
mod search_path;

pub use loader::Registry;
pub use search_path::plugin_dirs;

use std::fmt;
use std::path::PathBuf;

use abi_stable::std_types::RStr;
use datax_plugin_api::ffi::{FfiJobStopBox, FfiPluginModule_Ref, FfiReaderJobBox, FfiWriterJobBox};
use datax_plugin_api::PluginError;

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
    pub description: String,
    pub reader: Option<KindInfo>,
    pub writer: Option<KindInfo>,
    pub path: PathBuf,
    module: FfiPluginModule_Ref,
}

impl LoadedPlugin {
    pub fn kind(&self, kind: Kind) -> Option<&KindInfo> {
        match kind {
            Kind::Reader => self.reader.as_ref(),
            Kind::Writer => self.writer.as_ref(),
        }
    }

    /// Whether a job's plugin name (`odpsreader` in DataX files, `odps` in DataWorks files)
    /// means this library's `kind`.
    pub fn answers_to(&self, kind: Kind, job_name: &str) -> bool {
        self.kind(kind).is_some_and(|info| {
            job_name == self.name || info.datax_names.iter().any(|name| name == job_name)
        })
    }

    pub fn kinds_label(&self) -> String {
        [Kind::Reader, Kind::Writer]
            .into_iter()
            .filter(|kind| self.kind(*kind).is_some())
            .map(|kind| kind.to_string())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// Tells the library's job-level work when the job stops; a library built before this
    /// existed is not told (its retries and requests outside tasks run their course).
    pub fn install_job_stop(&self, stop: FfiJobStopBox) {
        if let Some(install) = self.module.install_job_stop() {
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
}
