//! DataX's top-level `common.column` (`core.json`, merged under the job): the text forms of
//! dates and bytes that every plugin uses. Read and checked here, so that a bad pattern or
//! zone fails the job before any plugin starts; handed to each plugin by
//! [`JobConfig::plugin_parameter`](crate::JobConfig::plugin_parameter).

use datax_plugin_kit::config;
use datax_plugin_kit::text::{ColumnSettings, TextStyle};
use serde_json::Value;

use crate::error::JobError;
use crate::job::JobShape;
use crate::value::optional_object;

/// The job's `common.column`; default when absent (DataWorks shapes have none). Unknown keys
/// are `unused`'s to warn about.
pub(crate) fn column_settings(shape: JobShape, root: &Value) -> Result<ColumnSettings, JobError> {
    if shape != JobShape::DataX {
        return Ok(ColumnSettings::default());
    }
    let Some(common) = optional_object(root, "common", "")? else {
        return Ok(ColumnSettings::default());
    };
    let Some(column) = optional_object(common, "column", "common")? else {
        return Ok(ColumnSettings::default());
    };
    let settings = config::from_value::<ColumnSettings>(column.clone(), "common.column")
        .map_err(|error| JobError::invalid(format!("common.column.{}", error.path), error.message))?
        .value;
    TextStyle::new(&settings).map_err(|error| JobError::invalid(error.path, error.message))?;
    Ok(settings)
}
