//! The host's log, on `tracing`: lines on stderr (stdout belongs to the data, e.g.
//! streamwriter's `print`), as text (`--log-format text`, the default, in English or DataX's
//! layout) or as one JSON object per line (`--log-format json`, for log shippers), filtered by
//! `--log-level` refined by `RUST_LOG` directives ([`layout`]). Plugins write into it through
//! the [`FfiLogger`] installed in each library; their lines keep the plugin's target, so
//! `RUST_LOG=odps=debug` reaches them. Every line passes the job's secret scrubber first, so a
//! plugin that echoes a key cannot leak it, in either format.

mod layout;
pub mod status;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::RStr;
use datax_plugin_api::ffi::{FfiLogger, FfiLoggerBox, FfiLogger_TO, LogLevel};
use serde_json::Value;
use tracing::level_filters::LevelFilter;

pub use layout::init;

/// Whether lines take DataX's layout (`--summary datax`), for scrapers written against DataX.
static DATAX_LAYOUT: AtomicBool = AtomicBool::new(false);

/// The format chosen at [`init`]: text blocks (the summary) are then one log event in JSON.
static JSON_LINES: AtomicBool = AtomicBool::new(false);

/// The engine's own lines.
pub const ENGINE: &str = "datax";
/// The periodic progress line (DataX's `StandAloneJobContainerCommunicator`).
pub const PROGRESS: &str = "datax.progress";

type ScrubFn = Box<dyn Fn(&str) -> String + Send + Sync>;
static SCRUBBER: RwLock<Option<ScrubFn>> = RwLock::new(None);

/// `2021-08-23 13:45:20.305 [job-0] INFO  JobContainer - message`, as DataX's logback
/// pattern writes it, instead of `… INFO  [datax] message`.
pub fn set_datax_layout(active: bool) {
    DATAX_LAYOUT.store(active, Ordering::Relaxed);
}

pub fn datax_layout() -> bool {
    DATAX_LAYOUT.load(Ordering::Relaxed)
}

/// Whether the log is JSON lines (`--log-format json`): nothing else may then reach stderr.
pub fn json_lines() -> bool {
    JSON_LINES.load(Ordering::Relaxed)
}

/// What a line names as its source: DataX's class names in its layout, else the target.
fn component(target: &str) -> &str {
    match (datax_layout(), target) {
        (true, ENGINE) => "JobContainer",
        (true, PROGRESS) => "StandAloneJobContainerCommunicator",
        (false, PROGRESS) => ENGINE,
        (_, other) => other,
    }
}

/// Installs the function that removes secrets from every later line.
pub fn set_scrubber(scrub: impl Fn(&str) -> String + Send + Sync + 'static) {
    *SCRUBBER
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Box::new(scrub));
}

/// The last line of a failed run: scrubbed, and cut like a log line so that an error echoing
/// a huge value does not flood stderr (the report keeps the whole, scrubbed, text).
pub fn error_line(text: &str) -> String {
    cut(&scrub(text), MAX_LINE_CHARS)
}

/// Applies the installed scrubber to text printed outside the log (errors, reports).
pub fn scrub(text: &str) -> String {
    match &*SCRUBBER
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
    {
        Some(scrub) => scrub(text),
        None => text.to_string(),
    }
}

/// Longest string value shown whole in a logged JSON value (a job's parameters, a dirty
/// record); longer ones are cut, with their full length shown.
const MAX_LOGGED_VALUE_CHARS: usize = 200;

/// Longest log line: whatever a plugin logs, one line never floods the log.
const MAX_LINE_CHARS: usize = 8 * 1024;

/// A copy of `value` for a log line: every string longer than 200 characters is cut to its
/// first 200, followed by `…(N bytes)`. Files (the dirty-record file) keep the whole value.
pub fn shortened(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(cut(text, MAX_LOGGED_VALUE_CHARS)),
        Value::Array(items) => Value::Array(items.iter().map(shortened).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), shortened(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `text` whole if it has at most `max_chars` characters, else its start and its length.
fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…({} bytes)", &text[..end], text.len()),
        None => text.to_string(),
    }
}

/// A block of text for the operator (the final summary, the last error): as it is on a text
/// log, one event of the log (`target` at `level`) in JSON so that every line still parses.
pub fn print_block(level: LogLevel, target: &str, text: &str) {
    if json_lines() {
        log(level, target, text);
    } else {
        let text = scrub(text);
        status::suspend(|| eprintln!("{text}"));
    }
}

/// Logs `message` (scrubbed, cut to 8 KiB) under `target`: the engine's own targets are
/// tracing call sites; a plugin's target is only known at run time, so its lines go through
/// a `log` record, which tracing-log turns into an event with that target.
pub fn log(level: LogLevel, target: &str, message: &str) {
    let message = cut(&scrub(message), MAX_LINE_CHARS);
    macro_rules! event {
        ($target:expr) => {
            match level {
                LogLevel::Error => tracing::error!(target: $target, "{message}"),
                LogLevel::Warn => tracing::warn!(target: $target, "{message}"),
                LogLevel::Info => tracing::info!(target: $target, "{message}"),
                LogLevel::Debug => tracing::debug!(target: $target, "{message}"),
                LogLevel::Trace => tracing::trace!(target: $target, "{message}"),
            }
        };
    }
    match target {
        ENGINE => event!(ENGINE),
        PROGRESS => event!(PROGRESS),
        plugin => log::logger().log(
            &log::Record::builder()
                .level(log_level(level))
                .target(plugin)
                .args(format_args!("{message}"))
                .build(),
        ),
    }
}

fn log_level(level: LogLevel) -> log::Level {
    match level {
        LogLevel::Error => log::Level::Error,
        LogLevel::Warn => log::Level::Warn,
        LogLevel::Info => log::Level::Info,
        LogLevel::Debug => log::Level::Debug,
        LogLevel::Trace => log::Level::Trace,
    }
}

/// Whether any target logs at `level` (a plugin asks before formatting a line; the line's
/// own target is then checked against the filter).
fn enabled(level: LogLevel) -> bool {
    let level = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    level <= LevelFilter::current()
}

pub fn error(target: &str, message: impl AsRef<str>) {
    log(LogLevel::Error, target, message.as_ref())
}

pub fn warn(target: &str, message: impl AsRef<str>) {
    log(LogLevel::Warn, target, message.as_ref())
}

pub fn info(target: &str, message: impl AsRef<str>) {
    log(LogLevel::Info, target, message.as_ref())
}

pub fn debug(target: &str, message: impl AsRef<str>) {
    log(LogLevel::Debug, target, message.as_ref())
}

struct PluginLogger;

impl FfiLogger for PluginLogger {
    fn enabled(&self, level: LogLevel) -> bool {
        enabled(level)
    }

    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        log(level, target.as_str(), message.as_str())
    }
}

/// The logger handed to each plugin library at load time.
pub fn ffi_logger() -> FfiLoggerBox {
    FfiLogger_TO::from_value(PluginLogger, TD_Opaque)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_values_are_cut_with_their_length() {
        let long = "é".repeat(300);
        let value = json!({"short": "abc", "list": [long.clone(), 7]});
        let expected = format!("{}…(600 bytes)", "é".repeat(200));
        assert_eq!(
            shortened(&value),
            json!({"short": "abc", "list": [expected, 7]})
        );
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "abc…(4 bytes)");
    }
}
