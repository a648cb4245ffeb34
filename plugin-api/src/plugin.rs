//! The traits a plugin implements: plain Rust, DataX's lifecycle (datax-semantics.md §4).
//!
//! Job objects live on the host's main thread; task objects are created from a task
//! configuration and run on a worker thread each. Like DataX, a job and its tasks share nothing
//! but configuration text.

use crate::{PluginError, RecordReceiver, RecordSender, TaskContext};

pub trait ReaderJob: Sized + Send + 'static {
    type Task: ReaderTask;

    /// The names DataX job files use for this reader, e.g. `["streamreader"]`.
    const DATAX_NAMES: &'static [&'static str];

    /// A `parameter` object (JSON) showing every key, for `datax template`.
    const TEMPLATE: &'static str;

    /// Reads and validates the job's reader `parameter` (JSON text). Errors name the key.
    fn init(parameter: &str) -> Result<Self, PluginError>;

    fn prepare(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    /// Task configurations (JSON text); `advice` is the number of channels the job runs.
    fn split(&mut self, advice: usize) -> Result<Vec<String>, PluginError>;

    fn task(&self, task_config: &str) -> Result<Self::Task, PluginError>;

    fn post(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    fn destroy(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    /// `datax check`, after `init` and instead of the rest of the lifecycle: connect and verify
    /// that what the parameter names exists and is reachable, without changing anything.
    fn check(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
}

pub trait ReaderTask: Send + 'static {
    /// Sends every record of this task. The host flushes the sender after a successful return.
    fn start_read(
        &mut self,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), PluginError>;
}

pub trait WriterJob: Sized + Send + 'static {
    type Task: WriterTask;

    /// The names DataX job files use for this writer, e.g. `["streamwriter"]`.
    const DATAX_NAMES: &'static [&'static str];

    /// A `parameter` object (JSON) showing every key, for `datax template`.
    const TEMPLATE: &'static str;

    /// Whether what the tasks acknowledge ([`TaskContext::acknowledge`]) is only staged by
    /// the service until [`WriterJob::post`] publishes it (a tunnel upload session's commit):
    /// the host counts it as acknowledged once `post` succeeded, as not confirmed otherwise.
    const ACKNOWLEDGED_AT_POST: bool = false;

    /// Reads and validates the job's writer `parameter` (JSON text). Errors name the key.
    fn init(parameter: &str) -> Result<Self, PluginError>;

    fn prepare(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    /// Exactly `reader_tasks` task configurations (JSON text).
    fn split(&mut self, reader_tasks: usize) -> Result<Vec<String>, PluginError>;

    fn task(&self, task_config: &str) -> Result<Self::Task, PluginError>;

    fn post(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    fn destroy(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    /// `datax check`, after `init` and instead of the rest of the lifecycle: connect and verify
    /// that what the parameter names exists and is reachable, without changing anything.
    fn check(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
}

pub trait WriterTask: Send + 'static {
    /// Writes records until the receiver reports the end of data.
    fn start_write(
        &mut self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
    ) -> Result<(), PluginError>;
}
