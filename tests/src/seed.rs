//! The seed job's fixtures: a sandbox holding a known `ak_biz_log_detail` partition, runs of
//! `jobs/odps-to-loghub.json` the way the README does, and checks of what arrived.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{repo_jobs, Run, Workspace};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle, StoredLog};
use serde_json::{json, Value};

/// Rows in the test's `ak_biz_log_detail` partition: about 5.6 MiB of records, so the seed's
/// `mbps: 1` takes five seconds when throttled, long enough to hold it to ±5 %.
pub const ROWS: u64 = 100_000;

/// 2016-12-26 00:00:00 in GMT+8.
pub const DAY_START: u32 = 1_482_681_600;

const EVENTS: [&str; 4] = ["login", "pay", "refund", "logout"];

/// Row `i`'s time of day, in seconds.
pub fn second_of_day(i: u64) -> u32 {
    (i * 7 % 86_400) as u32
}

fn clock(i: u64) -> String {
    let second = second_of_day(i);
    format!(
        "{:02}:{:02}:{:02}",
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

/// The seed's table shape: six columns of mixed types, the last a time string.
fn table_row(i: u64) -> Value {
    json!([
        format!("ak_{i:06}"),
        20_161_226_000_000u64 + i,
        EVENTS[(i % 4) as usize],
        i as f64 + 0.25,
        format!("2016-12-26 {}+08:00", clock(i)),
        format!("2016_12_26 {}", clock(i)),
    ])
}

/// What row `i` must become in Log Service: every value as DataX's text, under the writer's
/// keys.
pub fn expected_log(i: u64, keys: &[&str; 6]) -> BTreeMap<String, String> {
    let values = [
        format!("ak_{i:06}"),
        (20_161_226_000_000u64 + i).to_string(),
        EVENTS[(i % 4) as usize].to_string(),
        format!("{i}.25"),
        format!("2016-12-26 {}", clock(i)),
        format!("2016_12_26 {}", clock(i)),
    ];
    keys.iter().map(|key| key.to_string()).zip(values).collect()
}

pub const SEED_KEYS: [&str; 6] = ["col0", "col1", "col2", "col3", "col4", "col5"];

pub fn start_seed_sandbox() -> SandboxHandle {
    let config = seed_sandbox_config(ROWS);
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).expect("a valid sandbox config"))
        .expect("the sandbox starts")
}

/// The configuration of [`start_seed_sandbox`]'s sandbox with the first `rows` rows (a free
/// port, a temporary data folder), as JSON for tests that add to it.
pub fn seed_sandbox_config(rows: u64) -> Value {
    let string = |name: &str| json!({"name": name, "type": "string"});
    json!({
        "port": 0,
        "credentials": [{"access_id": "sandbox-access-id", "access_key": "sandbox-access-key"}],
        "odps": {"projects": [{"name": "aliyun_account", "tables": [{
            "name": "ak_biz_log_detail",
            "columns": [string("col0"), {"name": "col1", "type": "bigint"}, string("col2"),
                        {"name": "col3", "type": "double"}, {"name": "col4", "type": "datetime"},
                        string("col5")],
            "partition_keys": [string("pt")],
            "partitions": [{"spec": "pt=20161226", "rows": (0..rows).map(table_row).collect::<Vec<_>>()}]
        }]}]},
        "sls": {"projects": [{"name": "datax-demo", "logstores": ["ak_biz_log"]}]},
        "faults": []
    })
}

/// [`seed_sandbox_config`] with a second table `copy` of the same shape and no partitions:
/// where a job writes the source table back into the sandbox.
pub fn seed_config_with_empty_copy(rows: u64, copy: &str) -> Value {
    let mut config = seed_sandbox_config(rows);
    let tables = config["odps"]["projects"][0]["tables"]
        .as_array_mut()
        .unwrap();
    let mut table = tables[0].clone();
    table["name"] = serde_json::json!(copy);
    table["partitions"] = serde_json::json!([]);
    tables.push(table);
    config
}

pub fn seed_job() -> PathBuf {
    repo_jobs().join("odps-to-loghub.json")
}

pub fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// Runs `job` against `sandbox` the way the README does, with a JSON report.
pub fn run_seed(workspace: &Workspace, sandbox: &SandboxHandle, job: &Path) -> (Run, Value) {
    let data_sources = repo_jobs().join("datasources.sandbox.json");
    let address = format!("-Dsandbox=127.0.0.1:{}", sandbox.port());
    let run = workspace.run(&[
        job.to_str().unwrap(),
        "--datasources",
        data_sources.to_str().unwrap(),
        "-p",
        &address,
        "--report-json",
        "report.json",
    ]);
    run.assert_success();
    assert!(!run.stderr.contains("sandbox-access-key"), "{}", run.stderr);
    let report = workspace.read_json("report.json");
    (run, report)
}

/// The seed file with `change` applied to its parsed JSON, written into `workspace`.
pub fn seed_variant(workspace: &Workspace, name: &str, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut job: Value =
        serde_json::from_str(&std::fs::read_to_string(seed_job()).unwrap()).unwrap();
    change(&mut job);
    workspace.write_json(name, &job)
}

/// Every row arrived at least once with exactly its values; how many times each did.
pub fn assert_every_row_arrived(logs: &[StoredLog], keys: &[&str; 6]) -> BTreeMap<u64, u32> {
    let mut arrivals = BTreeMap::new();
    for log in logs {
        let id: u64 = log.get(keys[0]).expect("the first key")[3..]
            .parse()
            .unwrap();
        assert_eq!(log.contents, expected_log(id, keys), "row {id}");
        assert_eq!(log.topic, "");
        *arrivals.entry(id).or_insert(0u32) += 1;
    }
    assert_eq!(arrivals.len() as u64, ROWS, "rows that arrived");
    arrivals
}

pub fn assert_counts(run: &Run, report: &Value) {
    assert_eq!(report["records_read"], ROWS);
    assert_eq!(report["records_written"], ROWS);
    assert_eq!(report["read_failed_records"], 0);
    assert_eq!(report["write_failed_records"], 0);
    for label in ["Records read", "Records written"] {
        let line = run
            .stderr
            .lines()
            .find(|line| line.starts_with(label))
            .unwrap_or_else(|| panic!("the summary has {label}: {}", run.stderr));
        assert!(line.ends_with(&format!(" {ROWS}")), "{line}");
    }
}
