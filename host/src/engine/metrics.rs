//! The run's metrics in Prometheus' text exposition format, for node-exporter's textfile
//! collector: every sample carries the job's `job`, `reader` and `writer` labels, so the files
//! of several jobs can sit in one folder.

use std::fmt::Write;

use super::report::JobReport;

/// One metric family: its samples share the name, the help and the type.
struct Family<'a> {
    name: &'a str,
    kind: &'a str,
    help: &'a str,
    samples: Vec<(Vec<(&'a str, &'a str)>, f64)>,
}

/// The report's counts as metric families (`datax_records_read_total`, …); `job` names the
/// job (its file's stem).
pub fn prometheus_text(report: &JobReport, job: &str) -> String {
    let common = [
        ("job", job),
        ("reader", report.reader.as_str()),
        ("writer", report.writer.as_str()),
    ];
    let mut text = String::new();
    for family in families(report) {
        if family.samples.is_empty() {
            continue;
        }
        let _ = writeln!(text, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(text, "# TYPE {} {}", family.name, family.kind);
        for (labels, value) in &family.samples {
            let labels: Vec<String> = common
                .iter()
                .chain(labels)
                .map(|(name, value)| format!("{name}=\"{}\"", escape(value)))
                .collect();
            let _ = writeln!(text, "{}{{{}}} {value}", family.name, labels.join(","));
        }
    }
    text
}

fn families(report: &JobReport) -> Vec<Family<'_>> {
    let one = |value: f64| vec![(Vec::new(), value)];
    let optional = |value: Option<u64>| value.map(|v| one(v as f64)).unwrap_or_default();
    let gauge = |name, help, samples| Family {
        name,
        kind: "gauge",
        help,
        samples,
    };
    let counter = |name, help, samples| Family {
        name,
        kind: "counter",
        help,
        samples,
    };
    let running = report.status == "running";
    vec![
        gauge("datax_job_running", "1 while the job runs, 0 once it has ended.", one(f64::from(u8::from(running)))),
        gauge("datax_job_exit_code", "The exit code of the ended job (0 succeeded).", optional(report.exit_code.map(|c| c as u64))),
        gauge("datax_job_start_time_seconds", "When the job started, in seconds since the Unix epoch.", one(report.start_timestamp)),
        gauge("datax_job_elapsed_seconds", "Seconds since the job started (to its end once ended).", one(report.total_seconds)),
        gauge("datax_transfer_seconds", "Seconds the tasks have been moving records.", one(report.transfer_seconds)),
        gauge("datax_tasks", "Reader/writer task pairs of the job.", one(report.tasks as f64)),
        gauge("datax_tasks_finished", "Task pairs that finished without failing.", one(report.tasks_finished as f64)),
        gauge("datax_channels", "Task pairs run at once.", one(report.channels as f64)),
        gauge("datax_records_expected", "Records the readers said they will read (once all have).", optional(report.records_expected)),
        counter("datax_records_read_total", "Records the readers produced, good or dirty.", one(report.records_read as f64)),
        counter("datax_bytes_read_total", "Bytes of the records the readers produced.", one(report.bytes_read as f64)),
        counter("datax_records_written_total", "Records handed to the writers (not dirty).", one(report.records_written as f64)),
        counter("datax_records_acknowledged_total", "Records the writer's service acknowledged (absent when the writer does not report it).", optional(report.delivery.records_acknowledged)),
        counter("datax_records_possibly_duplicated_total", "Records a retried request may have stored twice.", one(report.delivery.records_possibly_duplicated as f64)),
        counter("datax_dirty_records_total", "Records that could not be read or written (dirty), by side.", vec![
            (vec![("side", "reader")], report.read_failed_records as f64),
            (vec![("side", "writer")], report.write_failed_records as f64),
        ]),
        counter("datax_retries_total", "Requests the plugins retried: the sum of their counters named `… retries`.", retries(report)),
        counter("datax_plugin_counter_total", "What the plugins counted themselves, by side and counter name.", plugin_counters(report)),
        counter("datax_transformer_records_total", "Records of the transformer chain, by result.", vec![
            (vec![("result", "success")], report.transformers.success_records as f64),
            (vec![("result", "failed")], report.transformers.failed_records as f64),
            (vec![("result", "filtered")], report.transformers.filter_records as f64),
        ]),
        counter("datax_wait_writer_seconds_total", "Time the readers waited on full channels (DataX's WaitWriterTime).", one(report.wait_writer_seconds)),
        counter("datax_wait_reader_seconds_total", "Time the writers waited on empty channels (DataX's WaitReaderTime).", one(report.wait_reader_seconds)),
        gauge("datax_peak_memory_bytes", "The process's peak resident memory.", optional(report.peak_memory_kib.map(|kib| kib * 1024))),
    ]
}

/// The plugin counters by side, each with the plugin's name and the counter's.
fn plugin_counter_samples(report: &JobReport) -> impl Iterator<Item = (&str, &str, &str, u64)> {
    [
        (
            "reader",
            report.reader.as_str(),
            &report.plugin_counters.reader,
        ),
        (
            "writer",
            report.writer.as_str(),
            &report.plugin_counters.writer,
        ),
    ]
    .into_iter()
    .flat_map(|(side, plugin, counters)| {
        counters
            .iter()
            .map(move |(name, total)| (side, plugin, name.as_str(), *total))
    })
}

fn plugin_counters(report: &JobReport) -> Vec<(Vec<(&str, &str)>, f64)> {
    plugin_counter_samples(report)
        .map(|(side, _, name, total)| (vec![("side", side), ("counter", name)], total as f64))
        .collect()
}

/// One sample per side, with the retries of that side's plugin (0 when it counted none).
fn retries(report: &JobReport) -> Vec<(Vec<(&str, &str)>, f64)> {
    ["reader", "writer"]
        .into_iter()
        .map(|side| {
            let total: u64 = plugin_counter_samples(report)
                .filter(|(at, _, name, _)| *at == side && name.ends_with("retries"))
                .map(|(_, _, _, total)| total)
                .sum();
            (vec![("side", side)], total as f64)
        })
        .collect()
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_carry_the_job_labels_and_escaped_values() {
        let mut report = JobReport {
            status: "running",
            reader: "odpsreader".into(),
            writer: "loghubwriter".into(),
            records_read: 42,
            ..JobReport::default()
        };
        report
            .plugin_counters
            .writer
            .insert("PutLogs retries".into(), 3);
        let text = prometheus_text(&report, "a \"quoted\" job");
        let job = r#"job="a \"quoted\" job",reader="odpsreader",writer="loghubwriter""#;
        assert!(
            text.contains(&format!("datax_records_read_total{{{job}}} 42\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("datax_retries_total{{{job},side=\"writer\"}} 3\n")),
            "{text}"
        );
        assert!(text.contains("# TYPE datax_job_running gauge\n"), "{text}");
        assert!(
            !text.contains("datax_job_exit_code"),
            "no exit code while running: {text}"
        );
    }
}
