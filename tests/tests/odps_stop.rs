//! A stop does not wait on a tunnel request that hangs (issue 13, finding 7, the odps side):
//! SIGTERM while a tunnel read or a block upload waits for its answer, or a tunnel body
//! stalls after its headers, ends the job within seconds, its report written.

use std::time::Duration;

use datax_e2e::seed::{seed_job, start_seed_sandbox};
use datax_e2e::{datax_job, repo_jobs, Run, Workspace};
use datax_sandbox::{FaultAction, FaultRule, FaultTarget, SandboxHandle};
use serde_json::{json, Value};

/// Answers 30 s late; the client's own timeout is 120 s.
const HANG: FaultAction = FaultAction::Delay { millis: 30_000 };

fn rule(target: FaultTarget, count: Option<u64>, action: FaultAction) -> FaultRule {
    FaultRule {
        target,
        path_contains: None,
        action,
        count,
        probability: None,
        seed: 0,
    }
}

/// Runs `args`, sends SIGTERM after 1.5 s and checks that the job stopped within 3 s with
/// exit code 143 and its report.
fn terminated_within_three_seconds(workspace: &Workspace, args: &[&str]) -> (Run, Value) {
    let (run, stopping) = workspace.terminate_after(args, Duration::from_millis(1_500));
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        stopping < Duration::from_secs(3),
        "stopped in {stopping:?}: {}",
        run.stderr
    );
    (run, workspace.report())
}

/// The seed job (odps → loghub) against `sandbox`, stopped as [`terminated_within_three_seconds`]
/// checks.
fn seed_job_terminated_within_three_seconds(sandbox: &SandboxHandle) -> (Run, Value) {
    let workspace = Workspace::new();
    let data_sources = repo_jobs().join("datasources.sandbox.json");
    let address = format!("-Dsandbox=127.0.0.1:{}", sandbox.port());
    terminated_within_three_seconds(
        &workspace,
        &[
            seed_job().to_str().unwrap(),
            "--datasources",
            data_sources.to_str().unwrap(),
            "-p",
            &address,
            "--report-json",
            "report.json",
        ],
    )
}

#[test]
fn sigterm_while_a_tunnel_read_hangs_exits_within_three_seconds_with_its_report() {
    let sandbox = start_seed_sandbox();
    sandbox.set_faults(vec![rule(FaultTarget::TunnelData, None, HANG)]);
    let (_, report) = seed_job_terminated_within_three_seconds(&sandbox);
    assert_eq!(report["records_read"], 0, "{report}");
    assert_eq!(report["records_acknowledged"], 0, "{report}");
    assert_eq!(report["status"], "failed", "{report}");
}

/// The body stalls after its headers and a few records: the wait for the rest ends with the
/// stop too.
#[test]
fn sigterm_while_a_tunnel_body_stalls_exits_within_three_seconds_with_its_report() {
    let sandbox = start_seed_sandbox();
    let stall = FaultAction::StallBody { after_bytes: 1_000 };
    sandbox.set_faults(vec![rule(FaultTarget::TunnelData, None, stall)]);
    let (run, report) = seed_job_terminated_within_three_seconds(&sandbox);
    assert_eq!(report["status"], "failed", "{report}");
    assert!(
        sandbox.stats().count("tunnel", "fault:stall_body") > 0,
        "no body stalled: {}",
        run.stderr
    );
}

fn odps_writer(sandbox: &SandboxHandle) -> Value {
    json!({"name": "odpswriter", "parameter": {
        "accessId": "sandbox-access-id",
        "accessKey": "sandbox-access-key",
        "odpsServer": sandbox.odps_endpoint(),
        "tunnelServer": sandbox.tunnel_endpoint(),
        "project": "aliyun_account",
        "table": "ak_biz_log_detail",
        "partition": "pt=20161227",
        "column": ["col0", "col1"],
        "blockSizeInMB": 1,
    }})
}

#[test]
fn sigterm_while_a_block_upload_hangs_exits_within_three_seconds_with_its_report() {
    let sandbox = start_seed_sandbox();
    // The upload session opens at once (the job's first tunnel request); every block then hangs.
    sandbox.set_faults(vec![
        rule(
            FaultTarget::Tunnel,
            Some(1),
            FaultAction::Delay { millis: 0 },
        ),
        rule(FaultTarget::Tunnel, None, HANG),
    ]);
    let workspace = Workspace::new();
    let job = datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "string", "value": "ak"}, {"type": "long", "incr": "0,1"}],
            "sliceRecordCount": 1_000_000,
        }}),
        odps_writer(&sandbox),
        json!({"speed": {"channel": 1}}),
    );
    let job = workspace.write_json("job.json", &job);
    let (run, report) = terminated_within_three_seconds(
        &workspace,
        &[job.to_str().unwrap(), "--report-json", "report.json"],
    );
    assert_eq!(report["records_acknowledged"], 0, "{report}");
    assert!(
        report["records_not_confirmed"].as_u64() > Some(0),
        "the block in flight: {report}\n{}",
        run.stderr
    );
    assert_eq!(sandbox.stats().count("tunnel", "ok"), 1, "only the session");
}

/// The job-level work stops too: SIGTERM while the reader's `init` retries a busy service
/// (waits of 1, 2, 4 … 64 s) ends the job at once.
#[test]
fn sigterm_while_the_job_retries_its_metadata_calls_exits_within_three_seconds() {
    let sandbox = start_seed_sandbox();
    let busy = FaultAction::Error {
        status: 503,
        code: "ServerBusy".to_string(),
        message: String::new(),
    };
    sandbox.set_faults(vec![rule(FaultTarget::Odps, None, busy)]);
    let (run, report) = seed_job_terminated_within_three_seconds(&sandbox);
    assert_eq!(report["records_read"], 0, "{report}");
    run.assert_logged("retrying in 1 s");
}
