//! The normalized job and `load_job`, which reads any of the three shapes into it.

use datax_plugin_kit::text::style::{ColumnSettings, HOST_KEY};
use serde_json::{json, Value};

use crate::common;
use crate::datasources::{self, DataSources};
use crate::error::JobError;
use crate::error_limit::ErrorLimit;
use crate::lenient::{clean, json_path_at, line_column, offset_of};
use crate::params::{Params, Substituted};
use crate::shape;
use crate::speed::Speed;
use crate::unused;

/// What a job file says, whatever its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct JobConfig {
    pub shape: JobShape,
    pub reader: Step,
    pub writer: Step,
    /// DataX's `transformer` chain, in order (DataWorks shapes have none).
    pub transformer: Vec<TransformerStep>,
    pub speed: Speed,
    /// `core.transport.channel.byteCapacity` when the job sets it (DataX shape only).
    pub channel_byte_capacity: Option<u64>,
    pub error_limit: ErrorLimit,
    /// DataX's `common.column`: the text forms of dates for every plugin.
    pub common_column: ColumnSettings,
}

impl JobConfig {
    /// The parameter `step`'s plugin is given: as written, plus the job-wide settings the
    /// plugin kit reads under `_datax` (only when the job has any, so that a plugin built
    /// without the kit sees the parameter unchanged).
    pub fn plugin_parameter(&self, step: &Step) -> String {
        if self.common_column.is_default() || !step.parameter.is_object() {
            return step.parameter.to_string();
        }
        let mut parameter = step.parameter.clone();
        parameter[HOST_KEY] = json!({ "column": self.common_column });
        parameter.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobShape {
    /// `{"job": {"setting", "content": [{"reader", "writer"}]}}`
    DataX,
    /// `{"type": "job", "version": "1.0", "configuration": {"setting", "reader", "writer"}}`
    DataWorks1,
    /// `{"type": "job", "version": "2.0", "steps": [...], "order": {"hops": [...]}, "setting"}`
    DataWorks2,
}

/// One entry of DataX's `transformer` list: `{"name": "dx_substr", "parameter": {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformerStep {
    pub name: String,
    /// Where the entry is in the job file: `job.content[0].transformer[1]`.
    pub path: String,
    /// The `parameter` object as written (`{}` when absent).
    pub parameter: Value,
}

/// A reader or a writer.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The plugin name as written: `odpsreader` (DataX) or `odps` (DataWorks).
    pub plugin: String,
    /// The plugin name without DataX's `reader` / `writer` suffix: `odps`.
    pub data_source_type: String,
    /// Where the step is in the file: `job.content[0].reader`, `configuration.writer`, `steps[0]`.
    pub path: String,
    /// The step's `parameter` object, unknown keys untouched, filled from its data source.
    pub parameter: Value,
}

/// A loaded job and what was accepted although not quite right (comments, ignored settings, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub job: JobConfig,
    pub warnings: Vec<String>,
}

/// Reads a job file: lenient JSON, parameters substituted, any of the three shapes, steps filled
/// from `data_sources`.
pub fn load_job(
    text: &str,
    params: &Params,
    data_sources: Option<&DataSources>,
) -> Result<Loaded, JobError> {
    // Windows editors save UTF-8 with a byte order mark; JSON parsers stop at it.
    let (text, had_bom) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let (root, mut warnings) = parse_lenient(text, params)?;
    if had_bom {
        warnings.insert(
            0,
            "the job file starts with a UTF-8 byte order mark: skipped".to_string(),
        );
    }
    let mut parts = shape::split(&root, &mut warnings)?;
    let setting = parts.setting.as_ref();
    let speed = match parts.shape {
        JobShape::DataX => Speed::from_datax(
            setting,
            parts.setting_path,
            parts.core.as_ref(),
            &mut warnings,
        )?,
        JobShape::DataWorks1 | JobShape::DataWorks2 => {
            Speed::from_dataworks(setting, parts.setting_path, &mut warnings)?
        }
    };
    let channel_byte_capacity = crate::speed::channel_byte_capacity(parts.core.as_ref())?;
    let error_limit = ErrorLimit::read(setting, parts.setting_path, &mut warnings)?;
    let common_column = common::column_settings(parts.shape, &root)?;
    datasources::fill(&mut parts.reader, data_sources, &mut warnings)?;
    datasources::fill(&mut parts.writer, data_sources, &mut warnings)?;
    unused::warn_unused(
        parts.shape,
        &root,
        parts.setting.as_ref(),
        parts.setting_path,
        &mut warnings,
    );
    Ok(Loaded {
        job: JobConfig {
            shape: parts.shape,
            reader: parts.reader,
            writer: parts.writer,
            transformer: parts.transformer,
            speed,
            channel_byte_capacity,
            error_limit,
            common_column,
        },
        warnings,
    })
}

/// Parses lenient JSON (comments, trailing commas, no-break spaces: one warning each kind of
/// place) after substituting `params`. Errors give the line and column of the text as written.
pub fn parse_lenient(text: &str, params: &Params) -> Result<(Value, Vec<String>), JobError> {
    let cleaned = clean(text)?;
    let substituted = params.substitute(&cleaned.text, text)?;
    if substituted.text.trim().is_empty() {
        return Err(JobError::Syntax {
            line: 1,
            column: 1,
            path: String::new(),
            message: "the text is empty".to_string(),
        });
    }
    let value = serde_json::from_str(&substituted.text)
        .map_err(|e| syntax_error(&e, text, &substituted))?;
    Ok((value, cleaned.warnings))
}

fn syntax_error(error: &serde_json::Error, raw: &str, substituted: &Substituted) -> JobError {
    let offset = offset_of(&substituted.text, error.line(), error.column());
    let (line, column) = line_column(raw, substituted.source_offset(offset));
    // serde_json appends its own (byte-based, post-substitution) position: ours replaces it.
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    JobError::Syntax {
        line,
        column,
        path: json_path_at(&substituted.text, offset),
        message: message
            .strip_suffix(&suffix)
            .unwrap_or(&message)
            .to_string(),
    }
}
