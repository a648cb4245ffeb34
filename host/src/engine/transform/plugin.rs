//! A transformer plugin in the chain: a library from the plugin folder providing a
//! transformer, given the entry's whole `parameter` at start and each whole record after.

use datax_job_config::TransformerStep;
use datax_plugin_api::ffi::FfiTransformerBox;
use datax_plugin_api::{ErrorKind, Record};

use super::{Failure, Stage, Verdict, BUILT_INS};
use crate::plugins::Registry;

pub struct PluginStage {
    transformer: FfiTransformerBox,
}

impl PluginStage {
    /// The plugin's transformer for `step`, its `parameter` validated by the plugin's `init`.
    /// `Err` when no plugin answers to the name, or when `init` refuses the parameter.
    pub fn new(step: &TransformerStep, registry: &Registry) -> Result<PluginStage, String> {
        let plugin = registry.find_transformer(&step.name).map_err(|not_found| {
            format!(
                "`{}` is neither a built-in ({BUILT_INS}) nor a transformer plugin: {not_found}",
                step.name
            )
        })?;
        let parameter = step.parameter.to_string();
        let transformer = plugin
            .new_transformer(&parameter)
            .map_err(|error| format!("plugin {} refused its parameter: {error}", plugin.name))?;
        Ok(PluginStage { transformer })
    }
}

impl Stage for PluginStage {
    fn run(&self, record: &mut Record) -> Result<Verdict, Failure> {
        match self.transformer.transform(record).into_result() {
            Ok(verdict) => Ok(verdict),
            // The plugin caught its own panic (export_plugin!'s guard): its state may be
            // broken, so the task stops rather than feeding it more records.
            Err(error) if error.kind == ErrorKind::PANIC => Err(Failure::Task(error)),
            Err(error) => Err(Failure::Record(error.message.into_string())),
        }
    }
}
