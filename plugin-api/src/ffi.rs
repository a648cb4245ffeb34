//! Everything that crosses the library boundary, named `Ffi*`.
//!
//! The host and plugins meet only through these types. Plugin authors do not use them directly:
//! [`crate::export_plugin!`] wraps their plain traits into the plugin-implemented objects here,
//! and the host implements the host-side ones (`FfiRecordSender`, `FfiRecordReceiver`,
//! `FfiTaskContext`, `FfiLogger`).
//!
//! Evolution: methods and module fields may only be appended after the item marked
//! `#[sabi(last_prefix_field)]`, and abi_stable's load check lets the library's side of a prefix
//! type have more fields than the host's, never fewer ("too many fields", measured by
//! `tests/tests/plugins_loading.rs`). So a host whose root module grew must check an older
//! library against the layout that library was built with: [`v1_0`] keeps plugin API 1.0's
//! root module, and a library that passes only that check loads with none of what was
//! appended since (no transformer). Growing a vtable reached from the root module (host- or
//! plugin-implemented) would need one such kept layout for every type on the way: host
//! services added from now on come through one new, separately looked-up object instead of
//! new `FfiTaskContext` methods.

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBox, ROk, ROption, RResult, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, package_version_strings, sabi_trait, StableAbi};

use crate::{PluginError, Record, RecordBatch, Verdict};

/// What a library is: its data source type (`stream`, `odps`, `loghub`, …) and which kinds it
/// provides.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiDescriptor {
    pub name: RString,
    pub version: RString,
    pub description: RString,
    pub reader: ROption<FfiKindDescriptor>,
    pub writer: ROption<FfiKindDescriptor>,
}

/// One provided kind (reader or writer).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiKindDescriptor {
    /// The names DataX job files use for it (`streamreader`, `odpsreader`, …).
    pub datax_names: RVec<RString>,
    /// A `parameter` object (JSON) showing every key, printed by `datax template`.
    pub template: RString,
}

#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 1,
    Warn,
    Info,
    Debug,
    Trace,
}

/// How the host wants records grouped: a sender flushes a batch at whichever limit comes first.
/// The host shrinks batches under a tight speed limit so that throttling stays smooth.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub max_records: u32,
    pub max_bytes: u64,
}

// ---- implemented by the host -------------------------------------------------------------

/// The host's log, because a plugin's own logging globals are not the host's.
#[sabi_trait]
pub trait FfiLogger: Send + Sync {
    fn enabled(&self, level: LogLevel) -> bool;

    #[sabi(last_prefix_field)]
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>);
}
pub type FfiLoggerBox = FfiLogger_TO<'static, RBox<()>>;

/// Whether the job is stopping (a signal, a failed task), for the job-level work a plugin does
/// outside any task (`init`, `prepare`, `split`, `post`): their retries and requests end
/// when it is. Installed by the host at the start of each job through the root module's
/// `install_job_stop`, not through `FfiTaskContext` (which must not grow).
#[sabi_trait]
pub trait FfiJobStop: Send + Sync {
    /// Waits up to `timeout_ms` milliseconds for the job to stop: true as soon as it does (at
    /// once if it already has), false when the time ran out first.
    #[sabi(last_prefix_field)]
    fn wait_stopped(&self, timeout_ms: u64) -> bool;
}
pub type FfiJobStopBox = FfiJobStop_TO<'static, RBox<()>>;

/// The reader end of a task's channel. `send` blocks while the channel is full or the speed
/// limit says wait, and fails with `CANCELLED` when the job is stopping.
#[sabi_trait]
pub trait FfiRecordSender: Send {
    fn batch_limits(&self) -> BatchLimits;

    /// A batch the writer has finished with, back on the reader's thread: its memory is
    /// reused or freed where it was allocated, which is what keeps the allocator fast.
    fn reclaim(&mut self) -> ROption<RecordBatch>;

    #[sabi(last_prefix_field)]
    fn send(&mut self, batch: RecordBatch) -> RResult<(), PluginError>;
}
pub type FfiRecordSenderBox = FfiRecordSender_TO<'static, RBox<()>>;

/// The writer end of a task's channel: `None` once the reader has finished.
#[sabi_trait]
pub trait FfiRecordReceiver: Send {
    /// Hands a batch the writer has finished with back towards its reader (see `reclaim`).
    fn release(&mut self, batch: RecordBatch);

    #[sabi(last_prefix_field)]
    fn recv(&mut self) -> RResult<ROption<RecordBatch>, PluginError>;
}
pub type FfiRecordReceiverBox = FfiRecordReceiver_TO<'static, RBox<()>>;

/// What a running task may ask of the host besides records.
#[sabi_trait]
pub trait FfiTaskContext: Send {
    fn task_id(&self) -> u32;

    fn is_cancelled(&self) -> bool;

    /// Counts a record that could not be read or written. Fails with `ERROR_LIMIT` once the
    /// job's errorLimit is exceeded: the task should then stop with that error.
    #[sabi(last_prefix_field)]
    fn collect_dirty(&mut self, record: Record, reason: RString) -> RResult<(), PluginError>;

    /// Adds `amount` to the plugin's counter `name` (retried requests, skipped rows …), shown
    /// in the job's summary and report. Past the prefix: a host without it ignores the count.
    fn add_to_counter(&mut self, name: RStr<'_>, amount: u64) {
        let _ = (name, amount);
    }

    /// Waits up to `timeout_ms` milliseconds for the job to be cancelled: true as soon as it
    /// is (at once if it already was), false when the time ran out first. Retry backoffs sleep
    /// here, so that stopping a job does not wait for them. Past the prefix: with a host
    /// without it, the default looks at [`FfiTaskContext::is_cancelled`] every 10 ms.
    fn wait_cancelled(&self, timeout_ms: u64) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
        loop {
            if self.is_cancelled() {
                return true;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(10)));
        }
    }

    /// Adds `records` to what the writer's service acknowledged (stored durably, as far as
    /// the writer can know). A call with 0 declares that the writer reports acknowledgement
    /// at all. Past the prefix: a host without it ignores the count.
    fn acknowledge(&mut self, records: u64) {
        let _ = records;
    }

    /// Adds `records` that a retried request may have stored twice (an earlier attempt timed
    /// out or lost its reply, so it may have landed). Past the prefix: a host without it
    /// ignores the count.
    fn add_possible_duplicates(&mut self, records: u64) {
        let _ = records;
    }
}
pub type FfiTaskContextBox = FfiTaskContext_TO<'static, RBox<()>>;

// ---- implemented by plugins ----------------------------------------------------------------

#[sabi_trait]
pub trait FfiReaderJob: Send {
    fn prepare(&mut self) -> RResult<(), PluginError>;

    /// Task configurations (JSON text), ideally `advice` of them.
    fn split(&mut self, advice: usize) -> RResult<RVec<RString>, PluginError>;

    fn new_task(&self, task_config: RStr<'_>) -> RResult<FfiReaderTaskBox, PluginError>;

    fn post(&mut self) -> RResult<(), PluginError>;

    #[sabi(last_prefix_field)]
    fn destroy(&mut self) -> RResult<(), PluginError>;

    /// `datax check`: connects and verifies what the parameter names, changing nothing. Past
    /// the prefix: a plugin without it passes.
    fn check(&mut self) -> RResult<(), PluginError> {
        ROk(())
    }
}
pub type FfiReaderJobBox = FfiReaderJob_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiReaderTask: Send {
    #[sabi(last_prefix_field)]
    fn start_read(
        &mut self,
        sender: FfiRecordSenderBox,
        context: FfiTaskContextBox,
    ) -> RResult<(), PluginError>;
}
pub type FfiReaderTaskBox = FfiReaderTask_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiWriterJob: Send {
    fn prepare(&mut self) -> RResult<(), PluginError>;

    /// Exactly `reader_tasks` task configurations (JSON text), one per reader task.
    fn split(&mut self, reader_tasks: usize) -> RResult<RVec<RString>, PluginError>;

    fn new_task(&self, task_config: RStr<'_>) -> RResult<FfiWriterTaskBox, PluginError>;

    fn post(&mut self) -> RResult<(), PluginError>;

    #[sabi(last_prefix_field)]
    fn destroy(&mut self) -> RResult<(), PluginError>;

    /// `datax check`: connects and verifies what the parameter names, changing nothing. Past
    /// the prefix: a plugin without it passes.
    fn check(&mut self) -> RResult<(), PluginError> {
        ROk(())
    }
}
pub type FfiWriterJobBox = FfiWriterJob_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiWriterTask: Send {
    #[sabi(last_prefix_field)]
    fn start_write(
        &mut self,
        receiver: FfiRecordReceiverBox,
        context: FfiTaskContextBox,
    ) -> RResult<(), PluginError>;
}
pub type FfiWriterTaskBox = FfiWriterTask_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiTransformer: Send + Sync {
    /// Rewrites `record` in place or filters it; `RErr` makes the record dirty, except a
    /// `PANIC` error, which fails the reader task. Shared by every reader task of the job.
    #[sabi(last_prefix_field)]
    fn transform(&self, record: &mut Record) -> RResult<Verdict, PluginError>;
}
pub type FfiTransformerBox = FfiTransformer_TO<'static, RBox<()>>;

/// The root module every plugin library exports (through [`crate::export_plugin!`]).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = FfiPluginModule_Ref)))]
pub struct FfiPluginModule {
    pub descriptor: extern "C" fn() -> FfiDescriptor,

    /// Called once by the host right after loading, before anything else.
    pub install_logger: extern "C" fn(logger: FfiLoggerBox),

    /// DataX's `Reader.Job.init`: validates the job's reader `parameter` (JSON text).
    pub new_reader_job: extern "C" fn(parameter: RStr<'_>) -> RResult<FfiReaderJobBox, PluginError>,

    /// DataX's `Writer.Job.init`: validates the job's writer `parameter` (JSON text).
    #[sabi(last_prefix_field)]
    pub new_writer_job: extern "C" fn(parameter: RStr<'_>) -> RResult<FfiWriterJobBox, PluginError>,

    /// Since plugin API 1.1: the transformer this library provides, if any (a kind of its
    /// own beside reader and writer: [`FfiDescriptor`] is frozen).
    pub transformer: extern "C" fn() -> ROption<FfiKindDescriptor>,

    /// Since plugin API 1.1: one entry of a job's transformer chain, its `parameter` (JSON
    /// text) validated.
    pub new_transformer:
        extern "C" fn(parameter: RStr<'_>) -> RResult<FfiTransformerBox, PluginError>,

    /// Since plugin API 1.1: called by the host at the start of each job, before `new_reader_job` /
    /// `new_writer_job`: what tells the job-level work that the job stops. Past the prefix: a
    /// plugin without it is not told.
    pub install_job_stop: extern "C" fn(stop: FfiJobStopBox),
}

impl RootModule for FfiPluginModule_Ref {
    declare_root_module_statics! {FfiPluginModule_Ref}
    const BASE_NAME: &'static str = "datax_plugin";
    const NAME: &'static str = "datax_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The root module as plugin API 1.0 declared it, frozen: the host checks a library against
/// it when the current layout is refused, which is how plugins built before 1.1 still load.
pub mod v1_0 {
    use abi_stable::library::RootModule;
    use abi_stable::sabi_types::VersionStrings;
    use abi_stable::std_types::{RResult, RStr};
    use abi_stable::{declare_root_module_statics, StableAbi};

    use super::{FfiDescriptor, FfiLoggerBox, FfiReaderJobBox, FfiWriterJobBox};
    use crate::PluginError;

    /// Field for field plugin API 1.0's `FfiPluginModule`: abi_stable compares the names.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = FfiPluginModule_Ref)))]
    pub struct FfiPluginModule {
        pub descriptor: extern "C" fn() -> FfiDescriptor,
        pub install_logger: extern "C" fn(logger: FfiLoggerBox),
        pub new_reader_job:
            extern "C" fn(parameter: RStr<'_>) -> RResult<FfiReaderJobBox, PluginError>,
        #[sabi(last_prefix_field)]
        pub new_writer_job:
            extern "C" fn(parameter: RStr<'_>) -> RResult<FfiWriterJobBox, PluginError>,
    }

    impl RootModule for FfiPluginModule_Ref {
        declare_root_module_statics! {FfiPluginModule_Ref}
        const BASE_NAME: &'static str = "datax_plugin";
        const NAME: &'static str = "datax_plugin";
        const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
    }
}
