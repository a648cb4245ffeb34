//! aliyun-log-python-sdk, the official Log Service client, reads the sandbox back: it puts
//! logs into a sharded logstore, then lists the shards, gets cursors (begin, end, receive
//! times) and pulls them, and the logs come back exactly, each once.

mod common;

use std::collections::BTreeMap;

use common::*;
use datax_sandbox::{AppendedGroup, AppendedLog, Sandbox, SandboxConfig};
use serde_json::json;

const SHARDED: &str = "sharded";
const SHARDS: u32 = 3;
const TIMED: &str = "timed";
/// One shard, split: shard 0 read-only, 1 and 2 its halves.
const SPLIT: &str = "split";
/// Two shards of 50 generated groups of 10 logs, 2 groups a second.
const GENERATED: &str = "generated";

/// The test config with a 3-shard logstore, a 1-shard one, a split one and a generated one.
fn start_sharded() -> datax_sandbox::SandboxHandle {
    let mut config = test_config_json();
    config["sls"]["projects"][0]["logstores"]
        .as_array_mut()
        .unwrap()
        .extend([
            json!({"name": SHARDED, "shards": SHARDS}),
            json!(TIMED),
            json!({"name": SPLIT, "split": [0]}),
            json!({"name": GENERATED, "shards": 2, "generated": {
                "groups_per_shard": 50, "logs_per_group": 10, "seed": 7, "groups_per_second": 2,
            }}),
        ]);
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).unwrap()).unwrap()
}

/// A group of one log `t = value` received at `receive_time`.
fn timed_group(receive_time: u32, value: &str) -> AppendedGroup {
    AppendedGroup {
        receive_time,
        logs: vec![AppendedLog {
            time: receive_time,
            contents: BTreeMap::from([("t".to_string(), value.to_string())]),
        }],
        ..Default::default()
    }
}

#[test]
fn aliyun_log_sdk_pulls_back_what_it_put() {
    let sandbox = start_sharded();
    for (offset, value) in [(0, "0"), (10, "1"), (20, "2")] {
        let logs = sandbox
            .append_group(
                SLS_PROJECT,
                TIMED,
                0,
                &timed_group(1_700_000_000 + offset, value),
            )
            .unwrap();
        assert_eq!(logs, 1);
    }
    assert!(sandbox
        .append_group(SLS_PROJECT, TIMED, 1, &timed_group(1, "x"))
        .unwrap_err()
        .contains("shard 1 does not exist"));
    let shards = SHARDS.to_string();
    run_python(
        "aliyun_log_pull.py",
        &[
            sandbox.sls_endpoint(),
            SLS_PROJECT,
            SHARDED,
            &shards,
            TIMED,
            SPLIT,
            GENERATED,
            ACCESS_ID,
            ACCESS_KEY,
        ],
    );
    let logs = sandbox.logs(SLS_PROJECT, SHARDED);
    assert_eq!(logs.len(), 60);
    // Round robin: put p went to shard p % 3.
    for log in &logs {
        let put: u32 = log.tags["put"].parse().unwrap();
        assert_eq!(log.shard, put % SHARDS, "{log:?}");
        assert!(log.receive_time > 1_700_000_000);
    }
    let stats = sandbox.stats();
    assert_eq!(stats.count("sls", "ShardNotExist"), 2);
    assert_eq!(stats.count("sls", "InvalidCursor"), 2);
    assert_eq!(stats.count("sls", "LogStoreNotExist"), 1);
}

#[test]
fn the_control_api_appends_groups_to_a_shard() {
    let sandbox = start_sharded();
    let url = format!(
        "{}/logstores/{SLS_PROJECT}/{SHARDED}/shards/2/groups",
        sandbox.control_endpoint()
    );
    let group = serde_json::to_string(&timed_group(1_700_000_000, "7")).unwrap();
    let reply = finish(agent().post(&url).send_string(&group)).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["logs"], 1);
    let logs = sandbox.logs(SLS_PROJECT, SHARDED);
    assert_eq!((logs[0].shard, logs[0].receive_time), (2, 1_700_000_000));
    assert_eq!(logs[0].get("t"), Some("7"));
    let bad_shard = url.replace("/shards/2/", "/shards/3/");
    let reply = finish(agent().post(&bad_shard).send_string(&group)).unwrap();
    assert_eq!(reply.status, 404, "{}", reply.text());
    let reply = finish(agent().post(&url).send_string("{\"logs\": 1}")).unwrap();
    assert_eq!(reply.status, 400, "{}", reply.text());
}
