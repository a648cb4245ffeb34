//! The subscriber behind the log: the filter (`--log-level`, then `RUST_LOG`), the text
//! layouts (English, DataX's logback pattern) or JSON lines, and the stderr writer that steps
//! around the terminal's status line.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::Ordering;

use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use super::{component, datax_layout, status, JSON_LINES};
use crate::cli::{LogFormat, Verbosity};

/// The environment variable whose directives refine `--log-level` (`odps=debug,datax=warn`).
const FILTER_VARIABLE: &str = "RUST_LOG";

#[derive(Debug, thiserror::Error)]
pub enum LogSetupError {
    #[error("{FILTER_VARIABLE}: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    #[error("the log is already set up: {0}")]
    Install(#[from] tracing_subscriber::util::TryInitError),
}

/// Installs the log for the whole process: `level` for every target, then the directives of
/// `RUST_LOG`, which win where they name the same target (`RUST_LOG=debug` raises all).
pub fn init(level: Verbosity, format: LogFormat) -> Result<(), LogSetupError> {
    let mut directives = level.directive().to_string();
    if let Ok(extra) = std::env::var(FILTER_VARIABLE) {
        directives = format!("{directives},{extra}");
    }
    let filter = EnvFilter::builder().parse(directives)?;
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(TextLayout)
                    .with_writer(StderrLines),
            )
            .try_init()?,
        LogFormat::Json => {
            JSON_LINES.store(true, Ordering::Relaxed);
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .flatten_event(true)
                        .with_current_span(false)
                        .with_span_list(false)
                        .with_writer(StderrLines),
                )
                .try_init()?
        }
    }
    Ok(())
}

/// `2024-01-01 10:00:00.123 INFO  [datax] message`, or in DataX's layout
/// `2024-01-01 10:00:00.123 [job-0] INFO  JobContainer - message`.
struct TextLayout;

impl<S, N> FormatEvent<S, N> for TextLayout
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // A plugin's line arrives as a `log` record: its metadata names the plugin's target.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let label = match *metadata.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARN ",
            Level::INFO => "INFO ",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
        let component = component(metadata.target());
        if datax_layout() {
            write!(writer, "{now} [job-0] {label} {component} - ")?;
        } else {
            write!(writer, "{now} {label} [{component}] ")?;
        }
        context.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Stderr, one whole line per write (the fmt layer formats an event before writing it), with
/// the status line lifted while it is written.
struct StderrLines;

impl<'a> MakeWriter<'a> for StderrLines {
    type Writer = StderrLines;

    fn make_writer(&'a self) -> Self::Writer {
        StderrLines
    }
}

impl Write for StderrLines {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        status::suspend(|| io::stderr().lock().write_all(line))?;
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
