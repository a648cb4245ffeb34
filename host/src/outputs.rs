//! The files a run keeps up to date for those who follow it: the JSON report (`--report-json`)
//! and the metrics (`--metrics-file`). Both are rewritten whole at each report interval and at
//! the end, through a temporary file renamed over the old one, so a reader never sees half.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Local};

use crate::engine::metrics::prometheus_text;
use crate::engine::report::{self, DeliveryReport, JobReport};
use crate::engine::{IntervalObserver, Outcome};
use crate::logger;
use crate::plan::ShardOfPlan;

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_INTERRUPTED: u8 = 130;
pub const EXIT_TERMINATED: u8 = 143;

pub struct RunOutputs {
    pub report_json: Option<PathBuf>,
    pub metrics_file: Option<PathBuf>,
    pub job_file: PathBuf,
    pub reader: String,
    pub writer: String,
    pub start: DateTime<Local>,
    /// A plan's shard: what its report says of the plan, beside the counts.
    pub plan: Option<ShardOfPlan>,
}

/// The process's exit code for a run that has ended this way.
pub fn exit_code(outcome: &Outcome) -> u8 {
    match (outcome.signal, &outcome.failure) {
        (Some(signal), _) if signal == signal_hook::consts::SIGINT => EXIT_INTERRUPTED,
        (Some(_), _) => EXIT_TERMINATED,
        (None, Some(_)) => EXIT_FAILED,
        (None, None) => 0,
    }
}

impl RunOutputs {
    /// The report of `outcome` at `now`: still running, or ended.
    pub fn report(&self, outcome: &Outcome, now: DateTime<Local>) -> JobReport {
        let snapshot = &outcome.snapshot;
        let transfer_seconds = outcome.transfer_time.as_secs_f64().max(1e-3);
        let exit_code = (!outcome.running).then(|| exit_code(outcome));
        JobReport {
            status: match exit_code {
                None => "running",
                Some(0) => "succeeded",
                Some(_) => "failed",
            },
            exit_code: exit_code.map(i32::from),
            error: outcome.failure.as_deref().map(logger::scrub),
            job_file: self.job_file.clone(),
            reader: self.reader.clone(),
            writer: self.writer.clone(),
            start_time: self.start.to_rfc3339(),
            start_timestamp: self.start.timestamp_millis() as f64 / 1e3,
            end_time: now.to_rfc3339(),
            total_seconds: (now - self.start).as_seconds_f64(),
            transfer_seconds,
            channels: outcome.channels,
            tasks: outcome.tasks,
            tasks_finished: snapshot.finished_tasks,
            records_expected: snapshot.expected_records(outcome.tasks as u64),
            records_read: snapshot.records_read(),
            bytes_read: snapshot.bytes_read(),
            records_written: snapshot.records_written(),
            delivery: DeliveryReport::new(snapshot, &outcome.delivery, exit_code.unwrap_or(0) != 0),
            bytes_per_second: snapshot.bytes_read() as f64 / transfer_seconds,
            records_per_second: snapshot.records_read() as f64 / transfer_seconds,
            read_failed_records: snapshot.read_dirty_records,
            write_failed_records: snapshot.write_dirty_records,
            wait_writer_seconds: snapshot.wait_writer_nanos as f64 / 1e9,
            wait_reader_seconds: snapshot.wait_reader_nanos as f64 / 1e9,
            dirty_record_file: outcome.dirty_file.clone(),
            peak_memory_kib: report::peak_memory_kib(),
            plugin_counters: outcome.plugin_counters.clone(),
            transformers: outcome.transformers,
            plan: self.plan.as_ref().map(|shard| shard.report(outcome)),
        }
    }

    /// Rewrites the report and metrics files (those asked for) with `report`. Scrubbed whole:
    /// plugin counters and errors are text a plugin chose.
    pub fn write(&self, report: &JobReport) -> Result<()> {
        if let Some(path) = &self.report_json {
            let text = logger::scrub(&serde_json::to_string_pretty(report)?) + "\n";
            replace_file(path, &text)
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
        }
        if let Some(path) = &self.metrics_file {
            let text = logger::scrub(&prometheus_text(report, &self.job_name()));
            replace_file(path, &text)
                .with_context(|| format!("cannot write the metrics to {}", path.display()))?;
        }
        Ok(())
    }

    /// What rewrites the files at each report interval, when any is asked for. A failed
    /// rewrite is a warning: the job goes on, and the final write reports a lasting problem.
    pub fn observer(self: &Arc<Self>) -> Option<IntervalObserver> {
        if self.report_json.is_none() && self.metrics_file.is_none() {
            return None;
        }
        let outputs = Arc::clone(self);
        Some(Box::new(move |outcome: &Outcome| {
            if let Err(error) = outputs.write(&outputs.report(outcome, Local::now())) {
                logger::warn(logger::ENGINE, format!("{error:#}"));
            }
        }))
    }

    /// The job's file name without its extension: the metrics' `job` label.
    fn job_name(&self) -> String {
        self.job_file.file_stem().map_or_else(
            || "job".to_string(),
            |stem| stem.to_string_lossy().into_owned(),
        )
    }
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`: whoever
/// reads `path` sees the old whole file or the new whole file. The temporary file is created
/// as the final one would be (the umask's permissions), so that a collector running as
/// another user can read the result.
pub fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path.file_name().map_or_else(
        || "output".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_data()
    });
    match written.and_then(|()| fs::rename(&temporary, path)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = fs::remove_file(&temporary);
            Err(error)
        }
    }
}
