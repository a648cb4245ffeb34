//! What the job prints: DataX's periodic line, its final block (English labels) and a JSON
//! report for schedulers (datax-engine.md §4.6).

use std::path::PathBuf;

use chrono::{DateTime, Local};
use serde::Serialize;

use super::stats::{Delivery, PluginCounterTotals, Snapshot, TransformerTotals};

/// DataX's `StrUtil.stringify`: 1024 steps, two decimals.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1024.0 {
        return format!("{}B", bytes as u64);
    }
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2}{}", UNITS[unit])
}

/// Which side holds the job back, from the wait times since the last report.
fn waiting_side(now: &Snapshot, before: &Snapshot) -> &'static str {
    let writer_wait = now.wait_writer_nanos - before.wait_writer_nanos;
    let reader_wait = now.wait_reader_nanos - before.wait_reader_nanos;
    if writer_wait > reader_wait {
        " | readers wait for writers"
    } else if reader_wait > writer_wait {
        " | writers wait for readers"
    } else {
        ""
    }
}

/// `Total 100000 records, 2600000 bytes | Speed 253.91KB/s, 10000 records/s | Error 0
/// records, 0 bytes | All Task WaitWriterTime 0.015s | All Task WaitReaderTime 0.110s |
/// Percentage 100.00%`, plus which side waits; once a transformer counted, DataX's transformer
/// fields come before the percentage. In DataX's layout it is DataX's line to the byte
/// (`|  All Task`, two spaces, its "Transfermor" spelling), ending at the percentage, as its
/// scrapers expect. The percentage counts the tasks that finished without failing; on a
/// `stopped` job the English line then says what was moved.
pub fn progress_line(
    now: &Snapshot,
    before: &Snapshot,
    transformers: &TransformerTotals,
    seconds: f64,
    total_tasks: u64,
    stopped: bool,
    datax_layout: bool,
) -> String {
    let seconds = seconds.max(1e-3);
    let bytes_per_sec = (now.bytes_read() - before.bytes_read()) as f64 / seconds;
    let records_per_sec = (now.records_read() - before.records_read()) as f64 / seconds;
    let percentage = if total_tasks == 0 {
        0.0
    } else {
        now.finished_tasks as f64 * 100.0 / total_tasks as f64
    };
    let (gap, waiting) = match (datax_layout, stopped) {
        (true, _) => ("  ", String::new()),
        (false, true) => (
            " ",
            format!(
                " | stopped: {} records read, {} handed to the writer",
                now.records_read(),
                now.records_written()
            ),
        ),
        (false, false) => (" ", waiting_side(now, before).to_string()),
    };
    let transformers = transformer_fields(transformers, datax_layout);
    format!(
        "Total {} records, {} bytes | Speed {}/s, {:.0} records/s | Error {} records, {} bytes \
         |{gap}All Task WaitWriterTime {:.3}s |{gap}All Task WaitReaderTime {:.3}s | \
         {transformers}Percentage {percentage:.2}%{waiting}",
        now.records_read(),
        now.bytes_read(),
        format_bytes(bytes_per_sec),
        records_per_sec,
        now.dirty_records(),
        now.dirty_bytes(),
        now.wait_writer_nanos as f64 / 1e9,
        now.wait_reader_nanos as f64 / 1e9,
    )
}

/// DataX's transformer fields of the progress line (`Stringify.getSnapshot`), each ending in
/// `| `; none until a transformer counted.
fn transformer_fields(totals: &TransformerTotals, datax_layout: bool) -> String {
    if !totals.any() {
        return String::new();
    }
    let success = match datax_layout {
        true => "Transfermor Success",
        false => "Transformer Success",
    };
    format!(
        "{success} {} records | Transformer Error {} records | Transformer Filter {} records \
         | Transformer usedTime {:.3}s | ",
        totals.success_records,
        totals.failed_records,
        totals.filter_records,
        totals.used_nanos as f64 / 1e9
    )
}

/// What the terminal's status line shows beside the records and their rate.
pub fn status_message(now: &Snapshot, bytes_per_sec: f64, total_tasks: u64) -> String {
    format!(
        "{}/s | {} dirty | {}/{} tasks done",
        format_bytes(bytes_per_sec),
        now.dirty_records(),
        now.finished_tasks,
        total_tasks
    )
}

/// The run as a scheduler reads it (`--report-json`): `status` is `running` while it runs
/// (the file is rewritten at each report interval), then `succeeded` or `failed`.
#[derive(Debug, Default, Serialize)]
pub struct JobReport {
    pub status: &'static str,
    /// `null` while the job runs.
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    pub job_file: PathBuf,
    pub reader: String,
    pub writer: String,
    pub start_time: String,
    /// The start in seconds since the Unix epoch, for the metrics.
    #[serde(skip)]
    pub start_timestamp: f64,
    /// The end, or while the job runs the time of this report.
    pub end_time: String,
    pub total_seconds: f64,
    pub transfer_seconds: f64,
    pub channels: usize,
    pub tasks: usize,
    /// Task pairs that finished without failing.
    pub tasks_finished: u64,
    /// The records the readers said they will read, once every task has (`null` otherwise).
    pub records_expected: Option<u64>,
    pub records_read: u64,
    pub bytes_read: u64,
    /// Records handed to the writer (not dirty): not all of them need have been delivered.
    pub records_written: u64,
    #[serde(flatten)]
    pub delivery: DeliveryReport,
    pub bytes_per_second: f64,
    pub records_per_second: f64,
    pub read_failed_records: u64,
    pub write_failed_records: u64,
    pub wait_writer_seconds: f64,
    pub wait_reader_seconds: f64,
    pub dirty_record_file: Option<PathBuf>,
    pub peak_memory_kib: Option<u64>,
    /// What the plugins counted themselves: retried requests, logs sent twice, …
    pub plugin_counters: PluginCounterTotals,
    /// What the transformer chain did (all zero without one).
    pub transformers: TransformerTotals,
    /// A plan's shard or `datax finish`: the plan, the tasks, the shards (docs/plan-and-shards.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<serde_json::Value>,
}

/// What was delivered, beside what was handed to the writer.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct DeliveryReport {
    /// Records the writer's service acknowledged; `null` when the writer does not report it.
    pub records_acknowledged: Option<u64>,
    /// Records a retried request may have stored twice.
    pub records_possibly_duplicated: u64,
    /// On a failed or stopped job, records handed to the writer that its service did not
    /// acknowledge: they were in flight, and may or may not have been stored. `null` on
    /// success or when the writer does not report acknowledgement.
    pub records_not_confirmed: Option<u64>,
}

impl DeliveryReport {
    pub fn new(snapshot: &Snapshot, delivery: &Delivery, stopped_early: bool) -> Self {
        let acknowledged = delivery.acknowledged_records;
        DeliveryReport {
            records_acknowledged: acknowledged,
            records_possibly_duplicated: delivery.possibly_duplicated_records,
            records_not_confirmed: acknowledged
                .filter(|_| stopped_early)
                .map(|acknowledged| snapshot.records_written().saturating_sub(acknowledged)),
        }
    }

    /// The English summary's lines for these counts.
    fn summary_lines(&self) -> Vec<String> {
        let acknowledged = match self.records_acknowledged {
            Some(records) => records.to_string(),
            None => "not reported by the writer".to_string(),
        };
        let mut lines = vec![format!(
            "{:<26}: {acknowledged:>19}",
            "Records acknowledged"
        )];
        if self.records_acknowledged.is_some() || self.records_possibly_duplicated > 0 {
            lines.push(format!(
                "{:<26}: {:>19}",
                "Possibly duplicated", self.records_possibly_duplicated
            ));
        }
        if let Some(records) = self.records_not_confirmed {
            lines.push(format!("{:<26}: {records:>19}", "Not confirmed"));
        }
        lines
    }
}

/// This process's peak resident memory (Linux `VmHWM`), which unlike `getrusage` does not
/// count the parent's memory from before `exec`.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl JobReport {
    /// DataX's own final block (`JobContainer.logStatistics`): Chinese labels padded to 26
    /// characters, times left-aligned in 18, the rest right-aligned in 19, speeds over the
    /// transfer time in whole units, failures read and written together.
    pub fn datax_summary_block(&self, start: &DateTime<Local>, end: &DateTime<Local>) -> String {
        // DataX divides by the transfer time in whole seconds, at least one.
        let transfer_seconds = (self.transfer_seconds as u64).max(1);
        let bytes_per_second = (self.bytes_read / transfer_seconds) as f64;
        let records_per_second = self.records_read / transfer_seconds;
        let rows = [
            (
                "任务启动时刻",
                format!("{:<18}", start.format("%Y-%m-%d %H:%M:%S")),
            ),
            (
                "任务结束时刻",
                format!("{:<18}", end.format("%Y-%m-%d %H:%M:%S")),
            ),
            (
                "任务总计耗时",
                format!("{:>19}", format!("{}s", (*end - *start).num_seconds())),
            ),
            (
                "任务平均流量",
                format!("{:>19}", format!("{}/s", format_bytes(bytes_per_second))),
            ),
            (
                "记录写入速度",
                format!("{:>19}", format!("{records_per_second}rec/s")),
            ),
            ("读出记录总数", format!("{:>19}", self.records_read)),
            (
                "读写失败总数",
                format!(
                    "{:>19}",
                    self.read_failed_records + self.write_failed_records
                ),
            ),
        ];
        let block = rows
            .iter()
            .map(|(label, value)| format!("{label:<26}: {value}"))
            .collect::<Vec<_>>()
            .join("\n");
        match self.datax_transformer_block() {
            Some(transformers) => format!("{block}\n\n{transformers}"),
            None => block,
        }
    }

    /// DataX's transformer block, logged after its summary when a counter is not zero.
    fn datax_transformer_block(&self) -> Option<String> {
        let totals = &self.transformers;
        totals.any().then(|| {
            [
                ("Transformer成功记录总数", totals.success_records),
                ("Transformer失败记录总数", totals.failed_records),
                ("Transformer过滤记录总数", totals.filter_records),
            ]
            .iter()
            .map(|(label, value)| format!("{label:<26}: {value:>19}"))
            .collect::<Vec<_>>()
            .join("\n")
        })
    }

    pub fn summary_block(&self, start: &DateTime<Local>, end: &DateTime<Local>) -> String {
        let mut lines = vec![
            format!(
                "{:<26}: {}",
                "Job start time",
                start.format("%Y-%m-%d %H:%M:%S")
            ),
            format!(
                "{:<26}: {}",
                "Job end time",
                end.format("%Y-%m-%d %H:%M:%S")
            ),
            format!(
                "{:<26}: {:>18}s",
                "Total seconds", self.total_seconds as u64
            ),
            format!(
                "{:<26}: {:>19}",
                "Average speed",
                format!("{}/s", format_bytes(self.bytes_per_second))
            ),
            format!(
                "{:<26}: {:>19}",
                "Record speed",
                format!("{:.0}rec/s", self.records_per_second)
            ),
            format!("{:<26}: {:>19}", "Records read", self.records_read),
            format!("{:<26}: {:>19}", "Records written", self.records_written),
        ];
        lines.extend(self.delivery.summary_lines());
        lines.push(format!(
            "{:<26}: {:>19}",
            "Read/write failures",
            self.read_failed_records + self.write_failed_records
        ));
        if self.transformers.any() {
            for (label, value) in [
                ("Transformer success", self.transformers.success_records),
                ("Transformer failed", self.transformers.failed_records),
                ("Transformer filtered", self.transformers.filter_records),
            ] {
                lines.push(format!("{label:<26}: {value:>19}"));
            }
        }
        for (side, counters) in [
            ("Reader", &self.plugin_counters.reader),
            ("Writer", &self.plugin_counters.writer),
        ] {
            for (name, total) in counters {
                lines.push(format!("{:<26}: {total:>19}", format!("{side} {name}")));
            }
        }
        if let Some(path) = &self.dirty_record_file {
            lines.push(format!("{:<26}: {}", "Dirty records file", path.display()));
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_stringified_like_datax() {
        assert_eq!(format_bytes(123.0), "123B");
        assert_eq!(format_bytes(260_000.0), "253.91KB");
        assert_eq!(format_bytes(5.0 * 1024.0 * 1024.0 * 1024.0), "5.00GB");
    }

    #[test]
    fn progress_line_has_datax_fields_and_names_the_waiting_side() {
        let before = Snapshot::default();
        let now = Snapshot {
            sent_records: 100_000,
            sent_bytes: 2_600_000,
            wait_reader_nanos: 110_000_000,
            finished_tasks: 1,
            ..Snapshot::default()
        };
        let line = progress_line(
            &now,
            &before,
            &TransformerTotals::default(),
            10.0,
            2,
            false,
            false,
        );
        assert!(line.starts_with("Total 100000 records, 2600000 bytes | Speed 253.91KB/s, 10000 records/s | Error 0 records, 0 bytes"), "{line}");
        assert!(
            line.contains("All Task WaitReaderTime 0.110s | Percentage 50.00%"),
            "{line}"
        );
        assert!(line.ends_with("writers wait for readers"), "{line}");
    }

    #[test]
    fn datax_layout_is_datax_line_to_the_byte() {
        let now = Snapshot {
            sent_records: 10,
            sent_bytes: 220,
            finished_tasks: 1,
            ..Snapshot::default()
        };
        let no_transformer = TransformerTotals::default();
        let line = progress_line(
            &now,
            &Snapshot::default(),
            &no_transformer,
            3.0,
            1,
            false,
            true,
        );
        assert_eq!(
            line,
            "Total 10 records, 220 bytes | Speed 73B/s, 3 records/s | Error 0 records, 0 bytes \
             |  All Task WaitWriterTime 0.000s |  All Task WaitReaderTime 0.000s | Percentage \
             100.00%"
        );
        let transformers = TransformerTotals {
            success_records: 12,
            failed_records: 1,
            filter_records: 2,
            used_nanos: 1_500_000,
        };
        let line = progress_line(
            &now,
            &Snapshot::default(),
            &transformers,
            3.0,
            1,
            false,
            true,
        );
        assert!(
            line.ends_with(
                "|  All Task WaitReaderTime 0.000s | Transfermor Success 12 records | \
                 Transformer Error 1 records | Transformer Filter 2 records | Transformer \
                 usedTime 0.002s | Percentage 100.00%"
            ),
            "{line}"
        );
        let line = progress_line(
            &now,
            &Snapshot::default(),
            &transformers,
            3.0,
            1,
            false,
            false,
        );
        assert!(
            line.contains("| Transformer Success 12 records |"),
            "{line}"
        );
    }

    #[test]
    fn not_confirmed_is_what_was_handed_over_and_not_acknowledged_on_a_stop() {
        let snapshot = Snapshot {
            sent_records: 2_000,
            received_records: 1_500,
            write_dirty_records: 100,
            ..Snapshot::default()
        };
        let delivery = Delivery {
            acknowledged_records: Some(1_024),
            possibly_duplicated_records: 100,
        };
        let stopped = DeliveryReport::new(&snapshot, &delivery, true);
        assert_eq!(stopped.records_not_confirmed, Some(1_400 - 1_024));
        let succeeded = DeliveryReport::new(&snapshot, &delivery, false);
        assert_eq!(succeeded.records_not_confirmed, None);
        let unreported = DeliveryReport::new(&snapshot, &Delivery::default(), true);
        assert_eq!(unreported.records_acknowledged, None);
        assert_eq!(unreported.records_not_confirmed, None);
        assert_eq!(
            unreported.summary_lines(),
            ["Records acknowledged      : not reported by the writer"]
        );
        assert_eq!(
            stopped.summary_lines(),
            [
                "Records acknowledged      :                1024",
                "Possibly duplicated       :                 100",
                "Not confirmed             :                 376",
            ]
        );
    }

    #[test]
    fn datax_summary_block_has_datax_labels_and_widths() {
        use chrono::TimeZone;
        let report = JobReport {
            transfer_seconds: 3.4,
            records_read: 10,
            bytes_read: 220,
            read_failed_records: 1,
            write_failed_records: 2,
            ..JobReport::default()
        };
        let start = Local.with_ymd_and_hms(2021, 8, 23, 13, 45, 17).unwrap();
        let end = Local.with_ymd_and_hms(2021, 8, 23, 13, 45, 20).unwrap();
        // As DataX printed this job (its documentation's stream example), bar the failures.
        let expected = [
            "任务启动时刻                    : 2021-08-23 13:45:17",
            "任务结束时刻                    : 2021-08-23 13:45:20",
            "任务总计耗时                    :                  3s",
            "任务平均流量                    :               73B/s",
            "记录写入速度                    :              3rec/s",
            "读出记录总数                    :                  10",
            "读写失败总数                    :                   3",
        ];
        assert_eq!(
            report.datax_summary_block(&start, &end),
            expected.join("\n")
        );
    }

    #[test]
    fn transformer_lines_only_when_a_transformer_counted() {
        use chrono::TimeZone;
        let start = Local.with_ymd_and_hms(2021, 8, 23, 13, 45, 17).unwrap();
        let quiet = JobReport::default();
        assert!(!quiet
            .datax_summary_block(&start, &start)
            .contains("Transformer"));
        assert!(!quiet.summary_block(&start, &start).contains("Transformer"));
        let report = JobReport {
            transformers: TransformerTotals {
                success_records: 10,
                failed_records: 2,
                filter_records: 3,
                used_nanos: 0,
            },
            ..JobReport::default()
        };
        let datax = report.datax_summary_block(&start, &start);
        assert!(
            datax.ends_with(
                "\n\nTransformer成功记录总数         :                  10\n\
                 Transformer失败记录总数         :                   2\n\
                 Transformer过滤记录总数         :                   3"
            ),
            "{datax}"
        );
        let english = report.summary_block(&start, &start);
        assert!(
            english.contains("Transformer filtered      :                   3"),
            "{english}"
        );
    }
}
