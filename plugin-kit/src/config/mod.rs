//! Typed plugin configurations, declared once.
//!
//! A plugin declares its `parameter` as a `#[derive(Deserialize)]` struct whose doc comments
//! are the docs, and reads it with [`parse`]. DataX's leniency comes from the [`lenient`]
//! adapters (numbers and booleans as strings, `null` and blank as absent), other spellings of a
//! key from `#[serde(alias = "accessId")]`. Unknown keys are warnings, not errors (DataX
//! ignores them, so a misspelt key silently does nothing there): each names its path, with a
//! did-you-mean among the keys declared at that place (`sliceRecordCont` → `sliceRecordCount`,
//! `Project` → `project`, `column[0].dateFromat` → `dateFormat`). Errors name the key's path inside the object (`column[2].type`); the host's
//! message says whose parameter it is. They describe a wrong value (`"yes"`, `[..]`) and,
//! for secret keys, only its type.
//!
//! Task configurations, which a plugin writes in `split` and reads back in `task`, are typed
//! too: [`task_to_json`] and [`task_from_json`]; [`LastRead`] keeps what a job read from the
//! text its tasks share.

mod last_read;
pub mod lenient;
mod schema;
mod secret;

use datax_plugin_api::PluginError;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::text::style::{ColumnSettings, HOST_KEY};

pub use last_read::LastRead;
pub use secret::{is_masked, is_secret_key};

/// A parsed configuration and the warnings about it (unknown keys) for the plugin to log.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<P> {
    pub value: P,
    pub warnings: Vec<String>,
    /// The job's `common.column`, which the host passes inside the parameter
    /// ([`crate::text::style`]); default when the job has none.
    pub common_column: ColumnSettings,
    /// Records each reader task may skip when the host resumes a run (`--resume`): task id to
    /// the task's durable watermark. Empty unless resuming. A task that skips records itself
    /// tells the host with `TaskContext::skipped_by_seek`; the host drops the rest.
    pub resume_skip: BTreeMap<u32, u64>,
    /// Set when the host runs tasks of a plan (`datax run --plan`, `datax finish`): this
    /// side's task configurations as `split` wrote them in another process, from which the
    /// plugin rebuilds what its `prepare` set up (it is not called again).
    pub restore: Option<Restore>,
}

/// What the host hands a job that runs from a plan instead of `prepare` + `split`
/// (`{"_datax": {"restore": {"taskConfigs": [...]}}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restore {
    /// Every task configuration of this side, in task id order (also those another shard runs).
    pub task_configs: Vec<String>,
}

impl<P> Parsed<P> {
    /// Logs the warnings through the host and returns the value.
    pub fn log_warnings(self) -> P {
        for warning in self.warnings {
            datax_plugin_api::log::warn(warning);
        }
        self.value
    }
}

/// A configuration error: `path: message`, the path inside the parsed object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<ConfigError> for PluginError {
    fn from(error: ConfigError) -> Self {
        PluginError::config(error.to_string())
    }
}

/// `parent.key`, or `key` at the top.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Reads the JSON object `text` as a `P`. `what` names the object in errors about the whole of
/// it (`parameter: expected an object`) and starts the paths of the warnings
/// (`parameter.colour: unknown key, ignored`).
pub fn parse<P: DeserializeOwned>(text: &str, what: &str) -> Result<Parsed<P>, ConfigError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|error| ConfigError::new(what, format!("not valid JSON: {error}")))?;
    from_value(value, what)
}

/// [`parse`] for a value already read. The host's settings ([`HOST_KEY`]) are taken out of
/// the object first: they are the kit's, not `P`'s.
pub fn from_value<P: DeserializeOwned>(
    mut value: Value,
    what: &str,
) -> Result<Parsed<P>, ConfigError> {
    let Some(object) = value.as_object_mut() else {
        return Err(ConfigError::new(what, lenient::wrong(&value, "an object")));
    };
    let (common_column, restore, resume_skip) = match object.remove(HOST_KEY) {
        Some(mut host) => (
            host_column_settings(&mut host)?,
            host_restore(&mut host)?,
            host_resume_skip(&host)?,
        ),
        None => (ColumnSettings::default(), None, BTreeMap::new()),
    };
    let mut ignored = Vec::new();
    let mut note_ignored = |path: serde_ignored::Path| ignored.push(path_text(&path));
    let deserializer = serde_ignored::Deserializer::new(&value, &mut note_ignored);
    let result = serde_path_to_error::deserialize::<_, P>(deserializer);
    let parsed = result.map_err(|error| explain(&error, &value))?;
    let warnings = if ignored.is_empty() {
        Vec::new()
    } else {
        let schema = schema::schema::<P>();
        ignored
            .iter()
            .map(|path| unknown_key_warning(what, path, &schema))
            .collect()
    };
    Ok(Parsed {
        value: parsed,
        warnings,
        common_column,
        restore,
        resume_skip,
    })
}

/// `{"resume": {"skipRecords": {"<task id>": K}}}` as the host writes it when resuming.
fn host_resume_skip(host: &Value) -> Result<BTreeMap<u32, u64>, ConfigError> {
    let Some(skips) = host.pointer("/resume/skipRecords") else {
        return Ok(BTreeMap::new());
    };
    let wrong = || {
        ConfigError::new(
            "_datax.resume.skipRecords",
            "expected {\"<task id>\": records}",
        )
    };
    let object = skips.as_object().ok_or_else(wrong)?;
    object
        .iter()
        .map(|(task, records)| {
            let task = task.parse::<u32>().map_err(|_| wrong())?;
            Ok((task, records.as_u64().ok_or_else(wrong)?))
        })
        .collect()
}

/// `{"column": {...}}` as the host writes it; errors name the job's keys (`common.column.…`).
fn host_column_settings(host: &mut Value) -> Result<ColumnSettings, ConfigError> {
    match host.get_mut("column").map(Value::take) {
        Some(column) => from_value::<ColumnSettings>(column, "common.column")
            .map(|parsed| parsed.value)
            .map_err(|error| ConfigError::new(join("common.column", &error.path), error.message)),
        None => Ok(ColumnSettings::default()),
    }
}

/// `{"restore": {"taskConfigs": [...]}}` as the host writes it for a plan's tasks.
fn host_restore(host: &mut Value) -> Result<Option<Restore>, ConfigError> {
    match host.get_mut("restore").map(Value::take) {
        Some(restore) => serde_json::from_value(restore)
            .map(Some)
            .map_err(|error| ConfigError::new(join(HOST_KEY, "restore"), error.to_string())),
        None => Ok(None),
    }
}

/// Writes a task configuration (`split`'s output).
pub fn task_to_json<T: Serialize>(task: &T) -> Result<String, PluginError> {
    serde_json::to_string(task)
        .map_err(|error| PluginError::config(format!("task configuration: {error}")))
}

/// Reads a task configuration written by [`task_to_json`]; unknown keys are errors here,
/// since the plugin wrote the text itself.
pub fn task_from_json<T: DeserializeOwned>(text: &str) -> Result<T, PluginError> {
    // Read straight from the text, once per task (a job of many small partitions makes
    // thousands); only a text that fails is read again, with paths, for its message.
    let mut unknown_key = false;
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = serde_ignored::deserialize(&mut reader, |_| unknown_key = true)
        .and_then(|value| reader.end().map(|()| value));
    if let (Ok(value), false) = (read, unknown_key) {
        return Ok(value);
    }
    let parsed = parse::<T>(text, "task configuration")
        .map_err(|error| PluginError::config(format!("task configuration: {error}")))?;
    match parsed.warnings.first() {
        Some(warning) => Err(PluginError::config(warning.clone())),
        None => Ok(parsed.value),
    }
}

/// The keys a derived `Deserialize` struct declares: its field names after renaming and their
/// aliases; empty for other types (maps, `#[serde(flatten)]`).
pub fn known_keys<P: DeserializeOwned>() -> &'static [&'static str] {
    schema::schema::<P>()
        .into_iter()
        .find(|(path, _)| path.is_empty())
        .map_or(&[], |(_, keys)| keys)
}

/// Checks a plugin's `TEMPLATE` against its declaration: the template parses as `P` without
/// warnings, so every key in it is declared, every value has the right type and no required
/// key is missing. Panics with what differs: for the plugin's tests, one line,
/// `assert_template_matches::<Parameter>(Job::TEMPLATE)`. (Checks that need the plugin's own
/// validation, such as a key required only with another, are the plugin's.)
pub fn assert_template_matches<P: DeserializeOwned>(template: &str) {
    let parsed = parse::<P>(template, "template")
        .unwrap_or_else(|error| panic!("the template does not parse: {error}"));
    assert!(
        parsed.warnings.is_empty(),
        "the template has keys the declaration lacks: {:?}",
        parsed.warnings
    );
}

fn unknown_key_warning(what: &str, path: &str, schema: &schema::Schema) -> String {
    let full = join(what, path);
    let (parent, key) = schema::parent_and_key(path);
    let known = schema
        .iter()
        .find(|(at, _)| *at == parent)
        .map_or(&[][..], |(_, keys)| keys);
    match did_you_mean(key, known) {
        Some(meant) => format!("{full}: unknown key, ignored; did you mean \"{meant}\"?"),
        None => format!("{full}: unknown key, ignored"),
    }
}

/// The known key `key` was probably meant to be: the same but for case, else one at most two
/// edits away (an edit: a letter added, dropped, changed, or two swapped), fewer than a third
/// of its length. The host's job-file warnings use it too.
pub fn did_you_mean<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    if let Some(same) = known.iter().find(|k| k.eq_ignore_ascii_case(key)) {
        return Some(same);
    }
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::osa_distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(distance, k)| *distance <= 2 && *distance * 3 < k.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// `column[2].type` from serde_ignored's path.
fn path_text(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", path_text(parent)),
        Path::Map { parent, key } => join(&path_text(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => path_text(parent),
    }
}

/// A serde error as `path: message`, in the words the lenient readers use.
fn explain(error: &serde_path_to_error::Error<serde_json::Error>, root: &Value) -> ConfigError {
    use serde_path_to_error::Segment;
    let mut path = String::new();
    let mut at = Some(root);
    for segment in error.path().iter() {
        match segment {
            Segment::Seq { index } => {
                path.push_str(&format!("[{index}]"));
                at = at.and_then(|v| v.get(index));
            }
            Segment::Map { key } => {
                path = join(&path, key);
                at = at.and_then(|v| v.get(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let message = error.inner().to_string();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return ConfigError::new(join(&path, field), "required");
    }
    // serde's "invalid type: string \"x\", expected a sequence" and the lenient readers'
    // "expected a string, found [..]" both become "expected …, found …" described here.
    let expected = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.split_once(", expected "))
        .map(|(_, expected)| expected.replace("a sequence", "a list"))
        .or_else(|| {
            let rest = message.strip_prefix("expected ")?;
            Some(rest.rsplit_once(", found ")?.0.to_string())
        });
    let message = match (expected, at) {
        (Some(expected), Some(found)) => {
            let last_key = path.rsplit(['.', '[']).next().unwrap_or_default();
            let found = if is_secret_key(last_key) {
                lenient::type_name(found).to_string()
            } else {
                lenient::describe(found)
            };
            format!("expected {expected}, found {found}")
        }
        _ => message,
    };
    ConfigError::new(path, message)
}

#[cfg(test)]
mod tests;
