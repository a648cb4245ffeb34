//! `datax check` has an overall deadline (issue 13, finding 8): against a service that does
//! not answer it fails within `--timeout` (default 15 s), not after 3 × the request timeout.

use std::time::{Duration, Instant};

use datax_e2e::{datax_job, start_sandbox, Workspace};
use datax_sandbox::{FaultAction, FaultRule, FaultTarget};
use serde_json::json;

#[test]
fn check_against_a_hanging_service_fails_at_its_deadline() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![FaultRule {
        target: FaultTarget::Sls,
        path_contains: None,
        action: FaultAction::Delay { millis: 60_000 },
        count: None,
        probability: None,
        seed: 0,
    }]);
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            json!({"name": "streamreader", "parameter": {
                "column": [{"type": "long", "value": "1"}], "sliceRecordCount": 1,
            }}),
            json!({"name": "loghubwriter", "parameter": {
                "endpoint": sandbox.sls_endpoint(),
                "accessId": "sandbox-access-id",
                "accessKey": "sandbox-access-key",
                "project": "datax-demo",
                "logstore": "ak_biz_log",
                "column": ["id"],
            }}),
            json!({}),
        ),
    );
    let started = Instant::now();
    let run = workspace.run(&["check", job.to_str().unwrap(), "--timeout", "2"]);
    let took = started.elapsed();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("not finished within 2 s"),
        "{}",
        run.stderr
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn check_deadline_defaults_to_fifteen_seconds_and_is_bounded() {
    let workspace = Workspace::new();
    let help = workspace.run(&["check", "--help"]);
    assert!(help.stdout.contains("[default: 15]"), "{}", help.stdout);
    let refused = workspace.run(&["check", "job.json", "--timeout", "0"]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("--timeout"), "{}", refused.stderr);
}
