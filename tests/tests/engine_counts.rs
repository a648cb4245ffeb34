//! Counts that mean what they say (issue 13, finding 1): the summary and report give what
//! the writer's service acknowledged, what retries may have duplicated and, on a failed or
//! stopped job, what was in flight — checked against what the sandbox stored.

use std::time::Duration;

use datax_e2e::{datax_job, start_sandbox, Workspace};
use datax_sandbox::{FaultAction, FaultRule, FaultTarget, SandboxHandle};
use serde_json::{json, Value};

const PROJECT: &str = "datax-demo";
const LOGSTORE: &str = "ak_biz_log";

/// Numbered records (`id`, `payload`) to the sandbox's logstore, with `extra` writer keys.
fn numbered_to_loghub(sandbox: &SandboxHandle, records_per_task: u64, extra: Value) -> Value {
    let mut parameter = json!({
        "endpoint": sandbox.sls_endpoint(),
        "accessId": "sandbox-access-id",
        "accessKey": "sandbox-access-key",
        "project": PROJECT,
        "logstore": LOGSTORE,
        "column": ["id", "payload"],
    });
    for (key, value) in extra.as_object().expect("extra is an object") {
        parameter[key] = value.clone();
    }
    datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "long", "incr": "0,1"}, {"type": "string", "value": "payload"}],
            "sliceRecordCount": records_per_task,
        }}),
        json!({"name": "loghubwriter", "parameter": parameter}),
        json!({"speed": {"channel": 1}}),
    )
}

fn stored(sandbox: &SandboxHandle) -> u64 {
    sandbox.logs(PROJECT, LOGSTORE).len() as u64
}

fn count(report: &Value, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is a count in {report}"))
}

fn puts(count: Option<u64>, action: FaultAction) -> FaultRule {
    FaultRule {
        target: FaultTarget::Sls,
        path_contains: None,
        action,
        count,
        probability: None,
        seed: 0,
    }
}

#[test]
fn a_wrong_key_reports_nothing_acknowledged_and_everything_handed_over_not_confirmed() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let job = numbered_to_loghub(&sandbox, 2_000, json!({"accessKey": "not-the-key-0123"}));
    let run = workspace.run_reported(&job);
    run.assert_failure("SignatureNotMatch");
    let report = workspace.report();
    assert_eq!(stored(&sandbox), 0);
    assert_eq!(count(&report, "records_acknowledged"), 0, "{report}");
    assert_eq!(
        count(&report, "records_not_confirmed"),
        count(&report, "records_written"),
        "{report}"
    );
    run.assert_logged("Records acknowledged");
    run.assert_logged("Not confirmed");
}

#[test]
fn sigterm_mid_run_acknowledges_what_was_stored() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // Slow but answering: requests are in flight when the signal comes.
    sandbox.set_faults(vec![puts(None, FaultAction::Delay { millis: 200 })]);
    let job = numbered_to_loghub(&sandbox, 200_000, json!({"batchSize": 512}));
    let job = workspace.write_json("job.json", &job);
    let (run, _) = workspace.terminate_after(
        &[job.to_str().unwrap(), "--report-json", "report.json"],
        Duration::from_millis(2_000),
    );
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    let report = workspace.report();
    let stored = stored(&sandbox);
    let acknowledged = count(&report, "records_acknowledged");
    let written = count(&report, "records_written");
    assert!(stored > 0, "the job was stopped mid-run");
    assert_eq!(acknowledged, stored, "{report}");
    assert!(written > acknowledged, "{report}");
    assert_eq!(
        count(&report, "records_not_confirmed"),
        written - acknowledged,
        "{report}"
    );
}

#[test]
fn dropped_replies_count_their_possible_duplicates() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![puts(Some(2), FaultAction::DropReply)]);
    let job = numbered_to_loghub(&sandbox, 1_000, json!({"batchSize": 100}));
    workspace.run_reported(&job).assert_success();
    let report = workspace.report();
    let stored = stored(&sandbox);
    let read = count(&report, "records_read");
    let acknowledged = count(&report, "records_acknowledged");
    let duplicated = count(&report, "records_possibly_duplicated");
    assert_eq!(read, 1_000);
    assert_eq!(
        stored, 1_200,
        "the two dropped replies' batches were stored twice"
    );
    assert!(duplicated >= stored - read, "{report}");
    assert!(stored >= acknowledged, "{report}");
    assert_eq!(acknowledged, 1_000, "{report}");
    assert!(report["records_not_confirmed"].is_null(), "{report}");
}

#[test]
fn a_failed_task_keeps_its_counters() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let busy = FaultAction::Error {
        status: 503,
        code: "ServerBusy".to_string(),
        message: "injected ServerBusy".to_string(),
    };
    sandbox.set_faults(vec![puts(None, busy)]);
    let job = numbered_to_loghub(&sandbox, 10, json!({"maxRetries": 2}));
    workspace.run_reported(&job).assert_failure("ServerBusy");
    let report = workspace.report();
    assert_eq!(
        report["plugin_counters"]["writer"]["PutLogs retries"], 2,
        "{report}"
    );
    assert_eq!(count(&report, "records_acknowledged"), 0, "{report}");
}

#[test]
fn a_writer_that_does_not_report_acknowledgement_is_not_given_a_number() {
    let workspace = Workspace::new();
    let job = datax_job(
        json!({"name": "testkitreader", "parameter": {"records": 10}}),
        json!({"name": "testkitwriter", "parameter": {}}),
        json!({}),
    );
    let run = workspace.run_reported(&job);
    run.assert_success();
    let report = workspace.report();
    assert!(report["records_acknowledged"].is_null(), "{report}");
    run.assert_logged("not reported by the writer");
}

#[test]
fn streamwriter_acknowledges_what_it_wrote() {
    let workspace = Workspace::new();
    let job = datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "long", "value": "1"}], "sliceRecordCount": 100,
        }}),
        json!({"name": "streamwriter", "parameter": {"print": false}}),
        json!({"speed": {"channel": 2}}),
    );
    workspace.run_reported(&job).assert_success();
    let report = workspace.report();
    assert_eq!(count(&report, "records_acknowledged"), 200, "{report}");
    assert_eq!(count(&report, "records_possibly_duplicated"), 0, "{report}");
}

/// Finding 7: a stop does not wait on a request that hangs. Every PutLogs answers after 30 s
/// (the request timeout is the default 60 s); SIGTERM ends the job within 5 s, its report
/// written, with the logs in flight not confirmed.
#[test]
fn sigterm_while_putlogs_hangs_exits_within_five_seconds_with_its_report() {
    assert_sigterm_while_putlogs_hangs(10_000);
}

/// As above for a task of one batch, which the writer sends from the task's own thread.
#[test]
fn sigterm_while_a_tasks_one_putlogs_hangs_exits_within_five_seconds() {
    assert_sigterm_while_putlogs_hangs(300);
}

/// `records` numbered records to loghub in batches of 1,000, every PutLogs held for 30 s:
/// SIGTERM after 1.5 s ends the job within 5 s, nothing acknowledged.
fn assert_sigterm_while_putlogs_hangs(records: u64) {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![puts(None, FaultAction::Delay { millis: 30_000 })]);
    let job = numbered_to_loghub(&sandbox, records, json!({"batchSize": 1_000}));
    let job = workspace.write_json("job.json", &job);
    let (run, stopping) = workspace.terminate_after(
        &[job.to_str().unwrap(), "--report-json", "report.json"],
        Duration::from_millis(1_500),
    );
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        stopping < Duration::from_secs(5),
        "stopped in {stopping:?}: {}",
        run.stderr
    );
    let report = workspace.report();
    assert_eq!(count(&report, "records_acknowledged"), 0, "{report}");
    assert!(count(&report, "records_not_confirmed") > 0, "{report}");
}

/// Finding 7: `--stall-timeout` fires on time against a service that hangs, and the job then
/// ends without waiting for the hanging requests.
#[test]
fn a_stall_against_a_hanging_service_ends_the_job_on_time() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![puts(None, FaultAction::Delay { millis: 60_000 })]);
    let job = numbered_to_loghub(&sandbox, 10_000, json!({"batchSize": 1_000}));
    let job = workspace.write_json("job.json", &job);
    let started = std::time::Instant::now();
    let run = workspace.run(&[
        job.to_str().unwrap(),
        "--report-json",
        "report.json",
        "--stall-timeout",
        "4",
    ]);
    let took = started.elapsed();
    run.assert_failure("job stalled (no record moved for 4s");
    // The stall is measured from the last record that moved (at the start), plus at most
    // the writer's grace for its requests in flight.
    assert!(
        took < Duration::from_secs(8),
        "took {took:?}: {}",
        run.stderr
    );
    let report = workspace.report();
    assert_eq!(count(&report, "records_acknowledged"), 0, "{report}");
    assert!(count(&report, "records_not_confirmed") > 0, "{report}");
}

/// ListShards (hash-key routing asks for the shards first) is retried like PutLogs, and its
/// retries are counted in the report like theirs.
#[test]
fn list_shards_retries_are_counted() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let busy = FaultAction::Error {
        status: 503,
        code: "ServerBusy".to_string(),
        message: "injected ServerBusy".to_string(),
    };
    sandbox.set_faults(vec![FaultRule {
        path_contains: Some("/shards".to_string()),
        ..puts(Some(1), busy)
    }]);
    let job = numbered_to_loghub(&sandbox, 10, json!({"hashKey": true}));
    workspace.run_reported(&job).assert_success();
    let report = workspace.report();
    let writer = &report["plugin_counters"]["writer"];
    assert_eq!(writer["ListShards retries"], 1, "{report}");
    assert!(writer["PutLogs retries"].is_null(), "{report}");
    assert_eq!(count(&report, "records_acknowledged"), 10, "{report}");
}

/// A request whose reply is dropped twice was stored three times: both earlier attempts
/// count as possible duplicates.
#[test]
fn each_dropped_reply_of_a_request_counts_its_copy() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![puts(Some(2), FaultAction::DropReply)]);
    let job = numbered_to_loghub(&sandbox, 100, json!({"batchSize": 100}));
    workspace.run_reported(&job).assert_success();
    let report = workspace.report();
    assert_eq!(stored(&sandbox), 300, "one batch, stored by three attempts");
    assert_eq!(count(&report, "records_acknowledged"), 100, "{report}");
    assert_eq!(
        count(&report, "records_possibly_duplicated"),
        200,
        "{report}"
    );
}

/// Ten records to a new partition of the example table through odpswriter, sending each
/// request at most twice.
fn ten_records_to_odps(sandbox: &SandboxHandle) -> Value {
    datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "string", "value": "ak"}, {"type": "long", "incr": "0,1"}],
            "sliceRecordCount": 10,
        }}),
        json!({"name": "odpswriter", "parameter": {
            "accessId": "sandbox-access-id",
            "accessKey": "sandbox-access-key",
            "odpsServer": sandbox.odps_endpoint(),
            "tunnelServer": sandbox.tunnel_endpoint(),
            "project": "aliyun_account",
            "table": "ak_biz_log_detail",
            "partition": "pt=20161227",
            "column": ["col0", "col1"],
            "maxRetryTime": 1,
        }}),
        json!({"speed": {"channel": 1}}),
    )
}

fn tunnel(count: Option<u64>, action: FaultAction) -> FaultRule {
    FaultRule {
        target: FaultTarget::Tunnel,
        ..puts(count, action)
    }
}

/// odpswriter's blocks become part of the table only at the session's commit: records are
/// acknowledged once it succeeded.
#[test]
fn odps_records_are_acknowledged_at_the_commit() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    workspace
        .run_reported(&ten_records_to_odps(&sandbox))
        .assert_success();
    let report = workspace.report();
    assert_eq!(count(&report, "records_acknowledged"), 10, "{report}");
}

/// A commit that fails acknowledges nothing: the ten records uploaded are not confirmed.
#[test]
fn a_failed_odps_commit_acknowledges_nothing() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // The session, the block and the session's state go through; the commit fails.
    let failing = FaultAction::Error {
        status: 500,
        code: "InternalServerError".to_string(),
        message: "injected".to_string(),
    };
    sandbox.set_faults(vec![
        tunnel(Some(3), FaultAction::Delay { millis: 0 }),
        tunnel(None, failing),
    ]);
    let run = workspace.run_reported(&ten_records_to_odps(&sandbox));
    run.assert_failure("committing upload session");
    let report = workspace.report();
    assert_eq!(
        report["plugin_counters"]["writer"]["tunnel blocks"], 1,
        "{report}"
    );
    assert_eq!(count(&report, "records_acknowledged"), 0, "{report}");
    assert_eq!(count(&report, "records_not_confirmed"), 10, "{report}");
}

/// A task's own download session (`splitMode: partition`) is retried like the data, and its
/// retries are counted in the report.
#[test]
fn odps_session_retries_are_counted() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let busy = FaultAction::Error {
        status: 503,
        code: "ServerBusy".to_string(),
        message: "injected ServerBusy".to_string(),
    };
    // The job reads metadata only; the first tunnel request is the task's session.
    sandbox.set_faults(vec![tunnel(Some(1), busy)]);
    let job = datax_job(
        json!({"name": "odpsreader", "parameter": {
            "accessId": "sandbox-access-id",
            "accessKey": "sandbox-access-key",
            "odpsServer": sandbox.odps_endpoint(),
            "tunnelServer": sandbox.tunnel_endpoint(),
            "project": "aliyun_account",
            "table": "ak_biz_log_detail",
            "partition": ["pt=20161226"],
            "splitMode": "partition",
            "column": ["col0"],
        }}),
        json!({"name": "streamwriter", "parameter": {"print": false}}),
        json!({"speed": {"channel": 1}}),
    );
    workspace.run_reported(&job).assert_success();
    let report = workspace.report();
    assert_eq!(
        report["plugin_counters"]["reader"]["tunnel session retries"], 1,
        "{report}"
    );
    assert_eq!(count(&report, "records_read"), 10, "{report}");
}
