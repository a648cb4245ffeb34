//! A plugin that panics or fails at any stage fails its job cleanly: exit code 1, the cause as
//! the last line, and the host alive to print it.

use datax_e2e::{datax_job, Workspace};
use serde_json::json;

fn testkit_job(reader: serde_json::Value, writer: serde_json::Value) -> serde_json::Value {
    datax_job(
        json!({"name": "testkitreader", "parameter": reader}),
        json!({"name": "testkitwriter", "parameter": writer}),
        json!({"speed": {"channel": 2}}),
    )
}

const STAGES: [&str; 6] = ["init", "prepare", "split", "task", "run", "post"];

#[test]
fn a_panic_at_any_reader_or_writer_stage_fails_the_job_not_the_host() {
    let workspace = Workspace::new();
    for stage in STAGES {
        for side in ["reader", "writer"] {
            let behaviour = json!({"records": 100, "panicAt": stage});
            let (reader, writer) = match side {
                "reader" => (behaviour, json!({})),
                _ => (json!({"records": 100}), behaviour),
            };
            let job = workspace.write_json("job.json", &testkit_job(reader, writer));
            let run = workspace.run(&[job.to_str().unwrap(), "--report-json", "report.json"]);
            run.assert_failure(&format!(
                "plugin panicked: testkit panics at {stage} as asked"
            ));
            assert!(
                run.last_line().contains(side),
                "the cause names the {side}: {}",
                run.last_line()
            );
            let report = workspace.read_json("report.json");
            assert_eq!(report["status"], "failed", "{side} {stage}");
            assert_eq!(report["exit_code"], 1);
        }
    }
}

#[test]
fn a_failing_stage_reports_the_plugins_error() {
    let workspace = Workspace::new();
    for stage in STAGES {
        let job = workspace.write_json(
            "job.json",
            &testkit_job(json!({"records": 10}), json!({"failAt": stage})),
        );
        workspace
            .run(&[job.to_str().unwrap()])
            .assert_failure(&format!("I/O error: testkit fails at {stage} as asked"));
    }
}

#[test]
fn every_record_read_is_written_across_channels() {
    let workspace = Workspace::new();
    let counts = workspace.path("counts");
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            json!({"name": "testkitreader", "parameter": {"records": 25_000}}),
            json!({"name": "testkitwriter", "parameter": {"countDir": counts}}),
            json!({"speed": {"channel": 3}}),
        ),
    );
    workspace
        .run(&[job.to_str().unwrap(), "--report-json", "report.json"])
        .assert_success();
    let report = workspace.read_json("report.json");
    assert_eq!(report["tasks"], 3);
    assert_eq!(report["records_read"], 75_000);
    assert_eq!(report["records_written"], 75_000);
    let written: u64 = (0..3)
        .map(|task| {
            std::fs::read_to_string(counts.join(format!("task-{task}")))
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(written, 75_000, "the writer tasks saw every record");
}

#[test]
fn a_reader_failure_never_looks_like_the_end_of_data_to_the_writer() {
    let workspace = Workspace::new();
    let counts = workspace.path("counts");
    let job = workspace.write_json(
        "job.json",
        &testkit_job(
            json!({"records": 5000, "stallAfter": 4000, "failAt": "none"}),
            json!({"countDir": counts}),
        ),
    );
    // The reader stalls, the stall timeout fails the job: the writer must not finish cleanly
    // (it would have written its count file).
    workspace
        .run(&[job.to_str().unwrap(), "--stall-timeout", "1"])
        .assert_failure("reader task");
    assert!(
        !counts.exists() || std::fs::read_dir(&counts).unwrap().next().is_none(),
        "a writer committed after its reader failed"
    );
}

#[test]
fn a_reader_failing_midway_ends_its_writer_with_an_error_not_the_end_of_data() {
    let workspace = Workspace::new();
    let counts = workspace.path("counts");
    // The first 1,024 records are already in the channel when the reader fails.
    let job = workspace.write_json(
        "job.json",
        &testkit_job(
            json!({"records": 5000, "pauseAfter": 3000, "failAt": "pause"}),
            json!({"countDir": counts}),
        ),
    );
    workspace
        .run(&[job.to_str().unwrap()])
        .assert_failure("('testkitreader') failed: I/O error: testkit fails at pause as asked");
    assert!(
        !counts.exists() || std::fs::read_dir(&counts).unwrap().next().is_none(),
        "a writer committed after its reader failed"
    );
}

#[test]
fn a_stalled_writer_is_named_with_its_waiting_reader() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &testkit_job(json!({"records": 100_000}), json!({"stallAfter": 10})),
    );
    workspace
        .run(&[job.to_str().unwrap(), "--stall-timeout", "1"])
        .assert_failure(
            "writer task 0 ('testkitwriter') took no record for 1s while its reader waits on a full channel",
        );
}

#[test]
fn plugin_counters_are_summed_over_tasks_into_the_summary_and_report() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &testkit_job(
            json!({"records": 1000, "dirtyEvery": 10}),
            json!({"dirtyEvery": 3}),
        ),
    );
    let run = workspace.run(&[job.to_str().unwrap(), "--report-json", "report.json"]);
    run.assert_success();
    let report = workspace.read_json("report.json");
    // Two reader tasks send 900 each; each writer task takes 2 of every 3 of those.
    assert_eq!(report["plugin_counters"]["reader"]["testkit records"], 1800);
    assert_eq!(report["plugin_counters"]["writer"]["testkit records"], 1200);
    assert_eq!(report["records_written"], 1200);
    run.assert_logged("Reader testkit records    :                1800");
    run.assert_logged("Writer testkit records    :                1200");
}

#[test]
fn check_asks_each_plugin_and_a_run_does_not() {
    let workspace = Workspace::new();
    for side in ["reader", "writer"] {
        for (key, message) in [
            ("failAt", "I/O error: testkit fails at check as asked"),
            (
                "panicAt",
                "plugin panicked: testkit panics at check as asked",
            ),
        ] {
            let behaviour = json!({"records": 10, key: "check"});
            let (reader, writer) = match side {
                "reader" => (behaviour, json!({})),
                _ => (json!({"records": 10}), behaviour),
            };
            let job = workspace.write_json("job.json", &testkit_job(reader, writer));
            let run = workspace.run(&["check", job.to_str().unwrap()]);
            run.assert_failure(message);
            assert!(
                run.last_line().contains(&format!("{side} 'testkit{side}'"))
                    && run.last_line().contains("check failed"),
                "{}",
                run.last_line()
            );
            // `check` is not part of a run's lifecycle.
            workspace.run(&[job.to_str().unwrap()]).assert_success();
        }
    }
}

#[test]
fn a_writer_failing_while_its_reader_waits_is_the_reason_not_the_readers_cancellation() {
    let workspace = Workspace::new();
    // The reader is blocked on a full channel when the writer fails: dropping the writer's end
    // wakes the reader with "the writer stopped taking records", which may be told to the job
    // before the writer's own error. Several runs, as it is a race.
    for _ in 0..5 {
        let job = workspace.write_json(
            "job.json",
            &testkit_job(
                json!({"records": 1_000_000}),
                json!({"pauseAfter": 100, "pauseMs": 200, "failAt": "pause"}),
            ),
        );
        let run = workspace.run(&[job.to_str().unwrap()]);
        run.assert_failure("testkit fails at pause as asked");
        assert!(
            run.last_line().contains("writer task"),
            "{}",
            run.last_line()
        );
    }
}
