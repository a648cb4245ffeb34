//! loghubwriter refuses at `init` what can never work (issue 13, finding 11): an endpoint that
//! is no host name (`1.5`) and a `timeZone` that is no zone, even when `time` is unset.

use std::time::{Duration, Instant};

use datax_e2e::{datax_job, Workspace};
use serde_json::{json, Value};

fn to_loghub(extra: Value) -> Value {
    let mut writer = json!({
        "endpoint": "127.0.0.1:9", "accessId": "id", "accessKey": "key",
        "project": "p", "logstore": "s", "column": ["n"]});
    for (key, value) in extra.as_object().unwrap() {
        writer[key] = value.clone();
    }
    datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "long", "value": 1}], "sliceRecordCount": 1}}),
        json!({"name": "loghubwriter", "parameter": writer}),
        json!({"speed": {"channel": 1}}),
    )
}

#[test]
fn a_numeric_endpoint_fails_at_init_not_after_retries() {
    let workspace = Workspace::new();
    let job = workspace.write_json("job.json", &to_loghub(json!({"endpoint": 1.5})));
    let started = Instant::now();
    let run = workspace.run(&[job.to_str().unwrap()]);
    run.assert_failure("init failed: configuration error: endpoint: \"1.5\" is not a host name");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_invalid_time_zone_is_refused_even_without_time() {
    let workspace = Workspace::new();
    let job = workspace.write_json("job.json", &to_loghub(json!({"timeZone": "Mars/Olympus"})));
    workspace
        .run(&[job.to_str().unwrap()])
        .assert_failure("init failed: configuration error: timeZone: \"Mars/Olympus\"");
}
