//! What operators follow a run by (issue 11): JSON log lines, `RUST_LOG` filters, the report
//! and the metrics rewritten whole while the job runs, and secrets kept out of all of them.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use datax_e2e::{datax_job, Run, Workspace};
use prometheus_parse::{Scrape, Value as Metric};
use serde_json::{json, Value};

/// Every stderr line as a JSON object, or the test fails naming the line.
fn json_lines(run: &Run) -> Vec<Value> {
    run.stderr
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line:?}"))
        })
        .collect()
}

fn scrape(path: &Path) -> Scrape {
    let text = fs::read_to_string(path).expect("the metrics file exists");
    Scrape::parse(text.lines().map(|line| Ok(line.to_string())))
        .unwrap_or_else(|error| panic!("not Prometheus' text format ({error}):\n{text}"))
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && labels
                    .iter()
                    .all(|(key, value)| s.labels.get(key) == Some(*value))
        })
        .map(|s| match s.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => v,
            _ => panic!("{name} is neither a counter nor a gauge"),
        })
}

#[test]
fn json_log_lines_parse_one_by_one_and_keep_secrets_out() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            json!({"name": "testkitreader", "parameter": {
                "records": 3, "password": "Tr0ub4dor&3-datax", "failAt": "run",
                "leakIntoError": true}}),
            json!({"name": "testkitwriter", "parameter": {"accessKey": "k"}}),
            json!({}),
        ),
    );
    let run = workspace.run(&[
        job.to_str().unwrap(),
        "--log-format",
        "json",
        "--log-level",
        "debug",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let lines = json_lines(&run);
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line[field].is_string(), "no {field}: {line}");
        }
    }
    assert!(!run.stderr.contains("Tr0ub4dor&3-datax"), "{}", run.stderr);
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "ERROR", "{last}");
    let message = last["message"].as_str().unwrap();
    assert!(
        message.contains("testkit fails at run as asked (password was *****)"),
        "{message}"
    );
    // The summary is one event, its lines inside the message.
    assert!(lines.iter().any(|line| line["message"]
        .as_str()
        .is_some_and(|m| m.contains("\nRecords read "))));
    // A 1-letter key is not masked inside words ("job.json" stays), and is named as suspicious.
    assert!(run.stderr.contains("job.json"), "{}", run.stderr);
    assert!(
        lines.iter().any(|line| line["level"] == "WARN"
            && line["message"].as_str().is_some_and(|m| m.contains(
                "job.content[0].writer.parameter.accessKey is shorter than 8 characters"
            ))),
        "{}",
        run.stderr
    );
}

#[test]
fn rust_log_directives_refine_the_level_for_the_engine_and_for_plugins() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            json!({"name": "testkitreader", "parameter": {
                "records": 3, "pauseAfter": 1, "pauseMs": 10}}),
            json!({"name": "testkitwriter", "parameter": {}}),
            json!({}),
        ),
    );
    let job = job.to_str().unwrap();
    let run = |filter: &str| {
        Run::from(
            workspace
                .datax()
                .args([job, "--log-format", "json"])
                .env("RUST_LOG", filter)
                .output()
                .unwrap(),
        )
    };
    let targets = |run: &Run| -> Vec<String> {
        json_lines(run)
            .iter()
            .map(|line| line["target"].as_str().unwrap().to_string())
            .collect()
    };
    let everything = run("");
    everything.assert_success();
    let all = targets(&everything);
    assert!(
        all.iter().any(|t| t == "testkit"),
        "a plugin's line: {all:?}"
    );
    assert!(all.iter().any(|t| t == "datax.progress"), "{all:?}");

    let quiet = run("testkit=off,datax.progress=off");
    quiet.assert_success();
    let left = targets(&quiet);
    assert!(
        !left.iter().any(|t| t == "testkit" || t == "datax.progress"),
        "{left:?}"
    );
    assert!(left.iter().any(|t| t == "datax"), "{left:?}");

    let bad = run("datax=loud");
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("RUST_LOG"), "{}", bad.stderr);
}

#[test]
fn report_and_metrics_are_whole_files_while_the_job_runs_and_at_its_end() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            json!({"name": "testkitreader", "parameter": {
                "records": 100, "pauseAfter": 50, "pauseMs": 3000}}),
            json!({"name": "testkitwriter", "parameter": {}}),
            json!({"speed": {"channel": 2}}),
        ),
    );
    let mut child = workspace
        .datax()
        .args([job.to_str().unwrap(), "--report-interval", "1"])
        .args(["--report-json", "report.json", "--metrics-file", "job.prom"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("datax starts");
    let (report, metrics) = (workspace.path("report.json"), workspace.path("job.prom"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen_running = 0;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the job did not end");
        // Whenever the files are there they are whole: never a half-written one.
        if report.exists() && metrics.exists() {
            let running = workspace.read_json("report.json");
            let scraped = scrape(&metrics);
            if running["status"] == "running" {
                assert_eq!(running["exit_code"], Value::Null);
                assert_eq!(running["records_expected"], 200, "{running}");
                // The metrics may already be the final ones: the two files are two renames.
                assert!(sample(&scraped, "datax_records_read_total", &[]).is_some());
                seen_running += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(seen_running > 0, "no report while the job ran");
    assert_eq!(child.wait().unwrap().code(), Some(0));

    let done = workspace.read_json("report.json");
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["exit_code"], 0);
    assert_eq!(done["records_read"], 200);
    assert_eq!(done["tasks_finished"], 2);
    let scraped = scrape(&metrics);
    let labels = [
        ("job", "job"),
        ("reader", "testkitreader"),
        ("writer", "testkitwriter"),
    ];
    assert_eq!(sample(&scraped, "datax_job_running", &labels), Some(0.0));
    assert_eq!(sample(&scraped, "datax_job_exit_code", &labels), Some(0.0));
    assert_eq!(
        sample(&scraped, "datax_records_read_total", &labels),
        Some(200.0)
    );
    assert_eq!(
        sample(&scraped, "datax_records_expected", &labels),
        Some(200.0)
    );
    assert_eq!(
        sample(
            &scraped,
            "datax_plugin_counter_total",
            &[("side", "writer"), ("counter", "testkit records")]
        ),
        Some(200.0)
    );
    assert_eq!(
        sample(&scraped, "datax_dirty_records_total", &[("side", "reader")]),
        Some(0.0)
    );
    assert_eq!(sample(&scraped, "datax_tasks_finished", &labels), Some(2.0));
    assert!(
        scraped.docs.contains_key("datax_records_read_total"),
        "HELP lines"
    );
    let leftovers: Vec<_> = fs::read_dir(workspace.dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
