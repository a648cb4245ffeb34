//! Turns a plugin's plain trait implementations into the FFI objects of [`crate::ffi`].
//!
//! Every entry point runs inside `catch_unwind`: a panic that reached abi_stable's own guard
//! would end the whole host process (plugin-abi.md §1.4); here it fails the call instead, with
//! the panic's message.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROption, RResult, RStr, RString, RVec};

use crate::context::{RecordReceiver, RecordSender, TaskContext};
use crate::ffi::{
    FfiDescriptor, FfiJobStopBox, FfiKindDescriptor, FfiLoggerBox, FfiPluginModule,
    FfiPluginModule_Ref, FfiReaderJob, FfiReaderJobBox, FfiReaderJob_TO, FfiReaderTask,
    FfiReaderTaskBox, FfiReaderTask_TO, FfiRecordReceiverBox, FfiRecordSenderBox,
    FfiTaskContextBox, FfiTransformer, FfiTransformerBox, FfiTransformer_TO, FfiWriterJob,
    FfiWriterJobBox, FfiWriterJob_TO, FfiWriterTask, FfiWriterTaskBox, FfiWriterTask_TO,
};
use crate::{
    ErrorKind, PluginError, ReaderJob, ReaderTask, Record, Transformer, Verdict, WriterJob,
    WriterTask,
};

/// The exported symbol abi_stable looks for; `export_plugin!` needs it as a literal.
/// A test checks it against `abi_stable::library::ROOT_MODULE_LOADER_NAME`.
#[doc(hidden)]
#[macro_export]
macro_rules! __root_module_loader_name {
    () => {
        "_1as_0lib_1header_0root_bmodule_bloader"
    };
}

/// The exported symbol holding `"<crate name> <crate version>"` of the plugin's crate, read
/// from the file by the host (never through the root module, whose layout is frozen).
#[doc(hidden)]
#[macro_export]
macro_rules! __built_by_symbol_name {
    () => {
        "datax_plugin_built_by"
    };
}

/// Exports a plugin library. Give its data source type name, a description, and the types
/// implementing [`ReaderJob`], [`WriterJob`] and/or [`Transformer`] (each optional, in that
/// order):
///
/// ```ignore
/// datax_plugin_api::export_plugin! {
///     name: "stream",
///     description: "generated records in, printed records out",
///     reader: reader::StreamReaderJob,
///     writer: writer::StreamWriterJob,
/// }
/// datax_plugin_api::export_plugin! {
///     name: "masking",
///     description: "masks e-mail addresses",
///     transformer: MaskEmail,
/// }
/// ```
/// The version reported is the plugin crate's own (`CARGO_PKG_VERSION`); `datax plugins` shows
/// it with the crate's name as who built the plugin.
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:literal,
        description: $description:expr
        $(, reader: $reader:ty)?
        $(, writer: $writer:ty)?
        $(, transformer: $transformer:ty)?
        $(,)?
    ) => {
        #[doc(hidden)]
        #[export_name = $crate::__built_by_symbol_name!()]
        pub static DATAX_PLUGIN_BUILT_BY: [u8; $crate::export_plugin!(@built_by).len()] =
            $crate::export::text_bytes($crate::export_plugin!(@built_by));

        #[doc(hidden)]
        #[export_name = $crate::__root_module_loader_name!()]
        pub static DATAX_PLUGIN_LIB_HEADER: $crate::abi_stable::library::LibHeader = {
            extern "C" fn descriptor() -> $crate::ffi::FfiDescriptor {
                $crate::export::descriptor(
                    $name,
                    env!("CARGO_PKG_VERSION"),
                    $description,
                    $crate::export_plugin!(@kind reader_kind $($reader)?),
                    $crate::export_plugin!(@kind writer_kind $($writer)?),
                )
            }
            extern "C" fn install_logger(logger: $crate::ffi::FfiLoggerBox) {
                $crate::log::install(logger, $name)
            }
            extern "C" fn transformer(
            ) -> $crate::abi_stable::std_types::ROption<$crate::ffi::FfiKindDescriptor> {
                $crate::export_plugin!(@kind transformer_kind $($transformer)?)
            }
            extern "C" fn install_job_stop(stop: $crate::ffi::FfiJobStopBox) {
                $crate::job_stop::install(stop)
            }
            fn root_module() -> $crate::ffi::FfiPluginModule_Ref {
                $crate::export::root_module($crate::export::Entries {
                    descriptor,
                    install_logger,
                    new_reader_job: $crate::export_plugin!(
                        @entry new_reader_job no_reader_job $($reader)?
                    ),
                    new_writer_job: $crate::export_plugin!(
                        @entry new_writer_job no_writer_job $($writer)?
                    ),
                    transformer,
                    new_transformer: $crate::export_plugin!(
                        @entry new_transformer no_transformer $($transformer)?
                    ),
                    install_job_stop,
                })
            }
            extern "C" fn load_root_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(root_module)
            }
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<
                    $crate::ffi::FfiPluginModule_Ref,
                >(
                    load_root_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
    (@built_by) => {
        concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"))
    };
    (@kind $kind:ident $job:ty) => {
        $crate::abi_stable::std_types::ROption::RSome($crate::export::$kind::<$job>())
    };
    (@kind $kind:ident) => {
        $crate::abi_stable::std_types::ROption::RNone
    };
    (@entry $entry:ident $absent:ident $job:ty) => {
        $crate::export::$entry::<$job>
    };
    (@entry $entry:ident $absent:ident) => {
        $crate::export::$absent
    };
}

/// `text` as an array of its bytes, for a `static` whose size is the text's length.
pub const fn text_bytes<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut array = [0; N];
    let mut index = 0;
    while index < N {
        array[index] = bytes[index];
        index += 1;
    }
    array
}

/// What [`export_plugin!`] puts in the root module.
pub struct Entries {
    pub descriptor: extern "C" fn() -> FfiDescriptor,
    pub install_logger: extern "C" fn(FfiLoggerBox),
    pub new_reader_job: extern "C" fn(RStr<'_>) -> RResult<FfiReaderJobBox, PluginError>,
    pub new_writer_job: extern "C" fn(RStr<'_>) -> RResult<FfiWriterJobBox, PluginError>,
    pub transformer: extern "C" fn() -> ROption<FfiKindDescriptor>,
    pub new_transformer: extern "C" fn(RStr<'_>) -> RResult<FfiTransformerBox, PluginError>,
    pub install_job_stop: extern "C" fn(FfiJobStopBox),
}

pub fn root_module(entries: Entries) -> FfiPluginModule_Ref {
    FfiPluginModule {
        descriptor: entries.descriptor,
        install_logger: entries.install_logger,
        new_reader_job: entries.new_reader_job,
        new_writer_job: entries.new_writer_job,
        transformer: entries.transformer,
        new_transformer: entries.new_transformer,
        install_job_stop: entries.install_job_stop,
    }
    .leak_into_prefix()
}

pub fn descriptor(
    name: &str,
    version: &str,
    description: &str,
    reader: ROption<FfiKindDescriptor>,
    writer: ROption<FfiKindDescriptor>,
) -> FfiDescriptor {
    FfiDescriptor {
        name: name.into(),
        version: version.into(),
        description: description.into(),
        reader,
        writer,
    }
}

pub fn reader_kind<J: ReaderJob>() -> FfiKindDescriptor {
    kind_descriptor(J::DATAX_NAMES, J::TEMPLATE)
}

pub fn writer_kind<J: WriterJob>() -> FfiKindDescriptor {
    kind_descriptor(J::DATAX_NAMES, J::TEMPLATE)
}

pub fn transformer_kind<T: Transformer>() -> FfiKindDescriptor {
    kind_descriptor(T::DATAX_NAMES, T::TEMPLATE)
}

fn kind_descriptor(datax_names: &[&str], template: &str) -> FfiKindDescriptor {
    FfiKindDescriptor {
        datax_names: datax_names
            .iter()
            .map(|name| RString::from(*name))
            .collect(),
        template: template.into(),
    }
}

pub extern "C" fn new_reader_job<J: ReaderJob>(
    parameter: RStr<'_>,
) -> RResult<FfiReaderJobBox, PluginError> {
    guarded(|| {
        J::init(parameter.as_str())
            .map(|job| FfiReaderJob_TO::from_value(ReaderJobAdapter(job), TD_Opaque))
    })
}

pub extern "C" fn new_writer_job<J: WriterJob>(
    parameter: RStr<'_>,
) -> RResult<FfiWriterJobBox, PluginError> {
    guarded(|| {
        J::init(parameter.as_str())
            .map(|job| FfiWriterJob_TO::from_value(WriterJobAdapter(job), TD_Opaque))
    })
}

pub extern "C" fn new_transformer<T: Transformer>(
    parameter: RStr<'_>,
) -> RResult<FfiTransformerBox, PluginError> {
    guarded(|| {
        T::init(parameter.as_str()).map(|transformer| {
            FfiTransformer_TO::from_value(TransformerAdapter(transformer), TD_Opaque)
        })
    })
}

pub extern "C" fn no_reader_job(_parameter: RStr<'_>) -> RResult<FfiReaderJobBox, PluginError> {
    RErr(PluginError::new(
        ErrorKind::UNSUPPORTED,
        "this plugin provides no reader",
    ))
}

pub extern "C" fn no_writer_job(_parameter: RStr<'_>) -> RResult<FfiWriterJobBox, PluginError> {
    RErr(PluginError::new(
        ErrorKind::UNSUPPORTED,
        "this plugin provides no writer",
    ))
}

pub extern "C" fn no_transformer(_parameter: RStr<'_>) -> RResult<FfiTransformerBox, PluginError> {
    RErr(PluginError::new(
        ErrorKind::UNSUPPORTED,
        "this plugin provides no transformer",
    ))
}

/// Runs a plugin call, turning a panic into a `PANIC` error carrying its message.
fn guarded<T>(call: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result.into(),
        Err(payload) => RErr(PluginError::new(ErrorKind::PANIC, panic_message(&*payload))),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

fn into_task_configs(configs: Vec<String>) -> RVec<RString> {
    configs.into_iter().map(RString::from).collect()
}

struct ReaderJobAdapter<J>(J);

impl<J: ReaderJob> FfiReaderJob for ReaderJobAdapter<J> {
    fn prepare(&mut self) -> RResult<(), PluginError> {
        guarded(|| self.0.prepare())
    }

    fn split(&mut self, advice: usize) -> RResult<RVec<RString>, PluginError> {
        guarded(|| self.0.split(advice).map(into_task_configs))
    }

    fn new_task(&self, task_config: RStr<'_>) -> RResult<FfiReaderTaskBox, PluginError> {
        guarded(|| {
            self.0
                .task(task_config.as_str())
                .map(|task| FfiReaderTask_TO::from_value(ReaderTaskAdapter(task), TD_Opaque))
        })
    }

    fn post(&mut self) -> RResult<(), PluginError> {
        guarded(|| self.0.post())
    }

    fn destroy(&mut self) -> RResult<(), PluginError> {
        guarded(|| self.0.destroy())
    }

    fn check(&mut self) -> RResult<(), PluginError> {
        guarded(|| self.0.check())
    }
}

struct ReaderTaskAdapter<T>(T);

impl<T: ReaderTask> FfiReaderTask for ReaderTaskAdapter<T> {
    fn start_read(
        &mut self,
        sender: FfiRecordSenderBox,
        context: FfiTaskContextBox,
    ) -> RResult<(), PluginError> {
        guarded(|| {
            let mut sender = RecordSender::new(sender);
            let mut context = TaskContext::new(context);
            self.0.start_read(&mut sender, &mut context)?;
            sender.flush()
        })
    }
}

struct WriterJobAdapter<J>(J);

impl<J: WriterJob> FfiWriterJob for WriterJobAdapter<J> {
    fn prepare(&mut self) -> RResult<(), PluginError> {
        guarded(|| self.0.prepare())
    }

    fn split(&mut self, reader_tasks: usize) -> RResult<RVec<RString>, PluginError> {
        guarded(|| self.0.split(reader_tasks).map(into_task_configs))
    }

    fn new_task(&self, task_config: RStr<'_>) -> RResult<FfiWriterTaskBox, PluginError> {
        guarded(|| {
            self.0
                .task(task_config.as_str())
                .map(|task| FfiWriterTask_TO::from_value(WriterTaskAdapter(task), TD_Opaque))
        })
    }

    fn post(&mut self) -> RResult<(), PluginError> {
        guarded(|| self.0.post())
    }

    fn destroy(&mut self) -> RResult<(), PluginError> {
        guarded(|| self.0.destroy())
    }

    fn check(&mut self) -> RResult<(), PluginError> {
        guarded(|| self.0.check())
    }
}

struct WriterTaskAdapter<T>(T);

impl<T: WriterTask> FfiWriterTask for WriterTaskAdapter<T> {
    fn start_write(
        &mut self,
        receiver: FfiRecordReceiverBox,
        context: FfiTaskContextBox,
    ) -> RResult<(), PluginError> {
        guarded(|| {
            let mut receiver = RecordReceiver::new(receiver);
            let mut context = TaskContext::new(context);
            self.0.start_write(&mut receiver, &mut context)
        })
    }
}

struct TransformerAdapter<T>(T);

impl<T: Transformer> FfiTransformer for TransformerAdapter<T> {
    fn transform(&self, record: &mut Record) -> RResult<Verdict, PluginError> {
        guarded(|| self.0.transform(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exported_symbol_is_the_one_abi_stable_loads() {
        assert_eq!(
            crate::__root_module_loader_name!(),
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let result: RResult<(), PluginError> = guarded(|| panic!("column {} is bad", 3));
        let error = result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::PANIC);
        assert_eq!(error.message.as_str(), "column 3 is bad");
    }

    #[test]
    fn boundary_objects_are_send() {
        fn assert_send<T: Send>() {}
        assert_send::<FfiReaderJobBox>();
        assert_send::<FfiReaderTaskBox>();
        assert_send::<FfiWriterJobBox>();
        assert_send::<FfiWriterTaskBox>();
        fn assert_sync<T: Sync>() {}
        assert_sync::<FfiTransformerBox>();
        assert_send::<FfiRecordSenderBox>();
        assert_send::<FfiRecordReceiverBox>();
        assert_send::<FfiTaskContextBox>();
        assert_send::<RecordSender>();
        assert_send::<RecordReceiver>();
        assert_send::<TaskContext>();
    }
}
