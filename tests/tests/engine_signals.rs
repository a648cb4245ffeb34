//! SIGTERM and Ctrl-C stop the tasks gracefully, print the report and exit 143 / 130.

use std::time::Duration;

use datax_e2e::{Run, Workspace};

fn stop_a_running_job_with(signal: &str) -> (Run, serde_json::Value) {
    let workspace = Workspace::new();
    let job = workspace.write(
        "job.json",
        r#"{"job": {"setting": {"speed": {"channel": 1, "record": 1000}}, "content": [{
            "reader": {"name": "streamreader", "parameter": {"column": [{"type": "long", "value": 1}], "sliceRecordCount": 1000000}},
            "writer": {"name": "streamwriter", "parameter": {"print": false}}}]}}"#,
    );
    let (run, _) = workspace.signal_after(
        signal,
        &[job.to_str().unwrap(), "--report-json", "report.json"],
        Duration::from_millis(1500),
    );
    (run, workspace.read_json("report.json"))
}

#[test]
fn sigterm_stops_gracefully_with_exit_code_143() {
    let (run, report) = stop_a_running_job_with("-TERM");
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        run.last_line().contains("job terminated (SIGTERM)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Records read"),
        "the summary is printed"
    );
    let read = report["records_read"].as_u64().unwrap();
    assert!(read > 0 && read < 1_000_000, "stopped midway: {read}");
}

#[test]
fn ctrl_c_stops_gracefully_with_exit_code_130() {
    let (run, report) = stop_a_running_job_with("-INT");
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(
        run.last_line().contains("job interrupted (Ctrl-C)"),
        "{}",
        run.stderr
    );
    assert_eq!(report["status"], "failed");
    // The last progress line says what moved, not that the stopped tasks were done.
    let progress = run
        .stderr
        .lines()
        .rfind(|line| line.contains("Percentage"))
        .expect("a progress line");
    assert!(progress.contains("Percentage 0.00%"), "{progress}");
    let read = report["records_read"].as_u64().unwrap();
    assert!(
        progress.contains(&format!("stopped: {read} records read")),
        "{progress}"
    );
}
