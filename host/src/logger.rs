//! The host's log: timestamped lines on stderr (stdout belongs to the data, e.g. streamwriter's
//! `print`). Plugins write into it through the [`FfiLogger`] installed in each library. Every
//! line passes the job's secret scrubber first, so a plugin that echoes a key cannot leak it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::RwLock;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::RStr;
use datax_plugin_api::ffi::{FfiLogger, FfiLoggerBox, FfiLogger_TO, LogLevel};
use serde_json::Value;

static MAX_LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);

/// Whether a status line is being redrawn on the terminal: log lines then clear it first.
static STATUS_LINE: AtomicBool = AtomicBool::new(false);

/// Whether lines take DataX's layout (`--summary datax`), for scrapers written against DataX.
static DATAX_LAYOUT: AtomicBool = AtomicBool::new(false);

/// The engine's own lines.
pub const ENGINE: &str = "datax";
/// The periodic progress line (DataX's `StandAloneJobContainerCommunicator`).
pub const PROGRESS: &str = "datax.progress";

type ScrubFn = Box<dyn Fn(&str) -> String + Send + Sync>;
static SCRUBBER: RwLock<Option<ScrubFn>> = RwLock::new(None);

pub fn set_max_level(level: LogLevel) {
    MAX_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// `2021-08-23 13:45:20.305 [job-0] INFO  JobContainer - message`, as DataX's logback
/// pattern writes it, instead of `… INFO  [datax] message`.
pub fn set_datax_layout(active: bool) {
    DATAX_LAYOUT.store(active, Ordering::Relaxed);
}

pub fn datax_layout() -> bool {
    DATAX_LAYOUT.load(Ordering::Relaxed)
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

pub fn set_status_line(active: bool) {
    STATUS_LINE.store(active, Ordering::Relaxed);
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

pub fn enabled(level: LogLevel) -> bool {
    level as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

pub fn log(level: LogLevel, target: &str, message: &str) {
    if !enabled(level) {
        return;
    }
    let label = match level {
        LogLevel::Error => "ERROR",
        LogLevel::Warn => "WARN ",
        LogLevel::Info => "INFO ",
        LogLevel::Debug => "DEBUG",
        LogLevel::Trace => "TRACE",
    };
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
    let clear_status = if STATUS_LINE.load(Ordering::Relaxed) {
        "\r\x1b[K"
    } else {
        ""
    };
    let message = cut(&scrub(message), MAX_LINE_CHARS);
    let component = component(target);
    let line = if datax_layout() {
        format!("{clear_status}{now} [job-0] {label} {component} - {message}\n")
    } else {
        format!("{clear_status}{now} {label} [{component}] {message}\n")
    };
    // One write per line keeps lines from several threads whole.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
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
