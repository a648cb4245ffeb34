//! Dirty records: counted against errorLimit, every one kept in a JSON-lines file with its
//! reason, the first few logged (datax-semantics.md §3).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, NaiveTime};
use datax_job_config::ErrorLimit;
use datax_plugin_api::{Column, Record};
use serde_json::{json, Value};

use super::stats::{Counters, Snapshot};
use crate::logger;
use crate::plugins::Kind;

/// How many dirty records are logged in full; the file has them all.
const LOGGED_DIRTY_RECORDS: u64 = 10;

pub struct DirtyLog {
    path: PathBuf,
    file: Mutex<Option<BufWriter<File>>>,
    record_limit: Option<u64>,
    seen: AtomicU64,
}

impl DirtyLog {
    pub fn new(path: PathBuf, error_limit: &ErrorLimit) -> Self {
        DirtyLog {
            path,
            file: Mutex::new(None),
            record_limit: error_limit.record,
            seen: AtomicU64::new(0),
        }
    }

    /// The file's path, if any dirty record was written to it.
    pub fn written_path(&self) -> Option<&Path> {
        (self.seen.load(Ordering::Relaxed) > 0).then_some(self.path.as_path())
    }

    /// Counts and keeps one dirty record. Fails, naming the limit, once the dirty records
    /// exceed `errorLimit.record` (so `0` fails at the first one).
    pub fn collect(
        &self,
        counters: &Counters,
        side: Kind,
        task_id: u32,
        record: &Record,
        reason: &str,
    ) -> Result<(), ErrorLimitExceeded> {
        let (records, bytes) = match side {
            Kind::Reader => (&counters.read_dirty_records, &counters.read_dirty_bytes),
            Kind::Writer => (&counters.write_dirty_records, &counters.write_dirty_bytes),
        };
        records.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(record.byte_size(), Ordering::Relaxed);
        let seen = self.seen.fetch_add(1, Ordering::Relaxed) + 1;

        let line = json!({
            "task": task_id,
            "side": side.to_string(),
            "reason": reason,
            "record": record.columns.iter().map(column_json).collect::<Vec<_>>(),
        });
        if seen <= LOGGED_DIRTY_RECORDS {
            logger::warn(
                "datax",
                format!("dirty record: {}", logger::shortened(&line)),
            );
        }
        // The file keeps whole values, but never a secret: a plugin's reason may echo one.
        self.append(&logger::scrub(&line.to_string()));

        let dirty = counters.read_dirty_records.load(Ordering::Relaxed)
            + counters.write_dirty_records.load(Ordering::Relaxed);
        match self.record_limit {
            Some(limit) if dirty > limit => Err(ErrorLimitExceeded::Records { dirty, limit }),
            _ => Ok(()),
        }
    }

    fn append(&self, line: &str) {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.is_none() {
            match File::create(&self.path) {
                Ok(created) => *file = Some(BufWriter::new(created)),
                Err(error) => {
                    logger::error(
                        "datax",
                        format!(
                            "cannot create the dirty-record file {}: {error}",
                            self.path.display()
                        ),
                    );
                    return;
                }
            }
        }
        if let Some(writer) = file.as_mut() {
            if let Err(error) = writeln!(writer, "{line}") {
                logger::error(
                    "datax",
                    format!("cannot write to {}: {error}", self.path.display()),
                );
            }
        }
    }

    pub fn flush(&self) {
        if let Some(writer) = self.file.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            let _ = writer.flush();
        }
    }
}

/// The job's `errorLimit` is exceeded (datax-semantics.md §3).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ErrorLimitExceeded {
    #[error("errorLimit exceeded: {dirty} dirty records, more than errorLimit.record = {limit}")]
    Records { dirty: u64, limit: u64 },
    #[error(
        "errorLimit exceeded: {dirty} of {total} records are dirty ({:.4}), more than \
         errorLimit.percentage = {percentage}",
        *dirty as f64 / *total as f64
    )]
    Percentage {
        dirty: u64,
        total: u64,
        percentage: f64,
    },
}

/// DataX's end-of-job check: `record` when set (DataX then ignores `percentage`), else
/// `percentage` of all records read.
pub fn check_error_limit(
    limit: &ErrorLimit,
    snapshot: &Snapshot,
) -> Result<(), ErrorLimitExceeded> {
    let dirty = snapshot.dirty_records();
    if let Some(record_limit) = limit.record {
        return match dirty > record_limit {
            true => Err(ErrorLimitExceeded::Records {
                dirty,
                limit: record_limit,
            }),
            false => Ok(()),
        };
    }
    check_percentage(limit, snapshot)
}

/// The periodic check: only `percentage`, since `record` is checked at every dirty record.
pub fn check_percentage(limit: &ErrorLimit, snapshot: &Snapshot) -> Result<(), ErrorLimitExceeded> {
    let (Some(percentage), None) = (limit.percentage, limit.record) else {
        return Ok(());
    };
    let total = snapshot.records_read();
    let dirty = snapshot.dirty_records();
    if total > 0 && dirty as f64 / total as f64 > percentage {
        return Err(ErrorLimitExceeded::Percentage {
            dirty,
            total,
            percentage,
        });
    }
    Ok(())
}

/// A column as the dirty-record file shows it: its kind and a readable value.
fn column_json(column: &Column) -> Value {
    let value = match column {
        Column::Null => Value::Null,
        Column::Bool(value) => json!(value),
        Column::Long(value) => json!(value),
        Column::Double(value) if value.is_finite() => json!(value),
        Column::Double(value) => json!(value.to_string()),
        Column::Decimal(text) | Column::String(text) => json!(text.as_str()),
        Column::Bytes(bytes) => json!(String::from_utf8_lossy(bytes)),
        Column::Date(days) => json!(NaiveDate::from_num_days_from_ce_opt(days + 719_163)
            .map_or_else(|| days.to_string(), |date| date.to_string())),
        Column::Time(nanos) => json!(NaiveTime::from_num_seconds_from_midnight_opt(
            (nanos / 1_000_000_000) as u32,
            (nanos % 1_000_000_000) as u32
        )
        .map_or_else(|| nanos.to_string(), |time| time.to_string())),
        Column::DateTime(time) | Column::Timestamp(time) => {
            json!(DateTime::from_timestamp(time.seconds, time.nanos)
                .map_or_else(|| format!("{time:?}"), |utc| utc.to_rfc3339()))
        }
    };
    json!({"type": column.kind_name(), "value": value})
}

#[cfg(test)]
mod tests {
    use super::*;
    use datax_plugin_api::EpochTime;

    fn snapshot(read: u64, dirty: u64) -> Snapshot {
        Snapshot {
            sent_records: read - dirty,
            read_dirty_records: dirty,
            ..Snapshot::default()
        }
    }

    #[test]
    fn record_limit_allows_exactly_n_dirty_records() {
        let limit = ErrorLimit {
            record: Some(2),
            percentage: None,
        };
        assert!(check_error_limit(&limit, &snapshot(100, 2)).is_ok());
        let error = check_error_limit(&limit, &snapshot(100, 3)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "errorLimit exceeded: 3 dirty records, more than errorLimit.record = 2"
        );
    }

    #[test]
    fn percentage_is_a_share_of_records_read() {
        let limit = ErrorLimit {
            record: None,
            percentage: Some(0.1),
        };
        assert!(check_error_limit(&limit, &snapshot(100, 10)).is_ok());
        let error = check_error_limit(&limit, &snapshot(100, 11)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "errorLimit exceeded: 11 of 100 records are dirty (0.1100), more than \
             errorLimit.percentage = 0.1"
        );
        assert!(check_error_limit(&limit, &snapshot(0, 0)).is_ok());
    }

    #[test]
    fn dates_show_as_calendar_text() {
        assert_eq!(
            column_json(&Column::Date(0)),
            json!({"type": "date", "value": "1970-01-01"})
        );
        assert_eq!(
            column_json(&Column::DateTime(EpochTime::from_millis(1_000))),
            json!({"type": "datetime", "value": "1970-01-01T00:00:01+00:00"})
        );
    }
}
