//! Numbers that size threads and memory have bounds: an absurd channel count is refused at
//! once, naming its JSON path, before anything is allocated for it (issue 13, finding 2).

use std::process::Stdio;
use std::time::{Duration, Instant};

use datax_e2e::{datax_job, Run, Workspace};
use serde_json::{json, Value};

fn stream_job(setting: Value) -> Value {
    datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "long", "value": 1}], "sliceRecordCount": 1}}),
        json!({"name": "streamwriter", "parameter": {"print": false}}),
        setting,
    )
}

/// Runs `datax` with `args`, killing it if it is still running after `deadline` (the bug this
/// file guards against made it run for many minutes).
fn run_within(workspace: &Workspace, args: &[&str], deadline: Duration) -> (Run, Duration) {
    let started = Instant::now();
    let mut child = workspace
        .datax()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("datax starts");
    while child.try_wait().expect("datax can be waited for").is_none() {
        if started.elapsed() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = Run::from(child.wait_with_output().expect("datax stops"));
    (run, started.elapsed())
}

#[test]
fn an_absurd_channel_count_is_refused_at_once_naming_its_path() {
    for channel in [10_000_000_i64, 2_147_483_648, i64::MAX] {
        let workspace = Workspace::new();
        let job = workspace.write_json(
            "job.json",
            &stream_job(json!({"speed": {"channel": channel}})),
        );
        let (run, took) = run_within(
            &workspace,
            &[job.to_str().unwrap()],
            Duration::from_secs(20),
        );
        run.assert_failure(&format!(
            "job.setting.speed.channel: {channel} channels is more than the maximum of 1024"
        ));
        assert!(took < Duration::from_secs(10), "took {took:?}");
    }
}

#[test]
fn an_absurd_dataworks_concurrency_is_refused_too() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &json!({"type": "job", "version": "1.0", "configuration": {
            "reader": {"plugin": "stream", "parameter": {
                "column": [{"type": "long", "value": 1}], "sliceRecordCount": 1}},
            "writer": {"plugin": "stream", "parameter": {"print": false}},
            "setting": {"speed": {"concurrent": 100_000_000}}}}),
    );
    let (run, _) = run_within(
        &workspace,
        &[job.to_str().unwrap()],
        Duration::from_secs(20),
    );
    run.assert_failure(
        "configuration.setting.speed.concurrent: 100000000 channels is more than the maximum of 1024",
    );
}

#[test]
fn the_maximum_itself_runs_and_is_capped_by_the_task_count() {
    let workspace = Workspace::new();
    let run = workspace.run_reported(&stream_job(json!({"speed": {"channel": 1024}})));
    run.assert_success();
    let report = workspace.report();
    assert_eq!(report["tasks"], 1024, "streamreader splits into the advice");
    assert_eq!(report["channels"], 1024);
    assert_eq!(report["records_read"], 1024);
}

#[test]
fn a_zero_or_negative_rate_limit_is_said_to_mean_no_limit() {
    for (key, value) in [("byte", 0), ("record", -1)] {
        let workspace = Workspace::new();
        let run = workspace.run_reported(&stream_job(json!({"speed": {"channel": 1, key: value}})));
        run.assert_success().assert_logged(&format!(
            "job.setting.speed.{key} is {value}: no {key} limit (DataX limits only values above 0)"
        ));
    }
}

#[test]
fn a_signal_stops_a_slow_setup_between_tasks() {
    let workspace = Workspace::new();
    // 200 tasks taking 100 ms each to set up, on 200 channels waiting on each other's
    // `init`: 20 s unless the signal stops the setup.
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            json!({"name": "testkitreader", "parameter": {"records": 1, "taskInitMs": 100}}),
            json!({"name": "testkitwriter", "parameter": {}}),
            json!({"speed": {"channel": 200}}),
        ),
    );
    let (run, stopping) = workspace.terminate_after(
        &[job.to_str().unwrap(), "--report-json", "report.json"],
        Duration::from_millis(1500),
    );
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        stopping < Duration::from_secs(3),
        "stopped after {stopping:?}"
    );
    // Each channel makes its pair's tasks when it picks the pair up, one `init` at a time:
    // the pairs made before the signal ran (a record each), no other was made after it.
    let read = workspace.report()["records_read"].as_u64().unwrap();
    assert!(read < 30, "{read} tasks ran: made after the signal");
}
