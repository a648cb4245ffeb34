//! The product's main job: `jobs/odps-to-loghub.json`, byte for byte the mission's seed (a
//! DataWorks 1.0 file with string-valued settings), run by the real binary with
//! `jobs/datasources.sandbox.json` and `-p -Dsandbox=…`, as the README's first command does. A
//! MaxCompute partition read by the odps plugin lands in Log Service through the loghub plugin,
//! both served by the sandbox on loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use datax_e2e::{repo_jobs, shared_jobs, Run, Workspace};
use datax_sandbox::{FaultRule, Sandbox, SandboxConfig, SandboxHandle, StoredLog};
use serde_json::{json, Value};

/// Rows in the test's `ak_biz_log_detail` partition: about 5.6 MiB of records, so the seed's
/// `mbps: 1` takes five seconds when throttled, long enough to hold it to ±5 %.
const ROWS: u64 = 100_000;

/// 2016-12-26 00:00:00 in GMT+8.
const DAY_START: u32 = 1_482_681_600;

const EVENTS: [&str; 4] = ["login", "pay", "refund", "logout"];

/// Row `i`'s time of day, in seconds.
fn second_of_day(i: u64) -> u32 {
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
fn expected_log(i: u64, keys: &[&str; 6]) -> BTreeMap<String, String> {
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

const SEED_KEYS: [&str; 6] = ["col0", "col1", "col2", "col3", "col4", "col5"];

fn start_seed_sandbox() -> SandboxHandle {
    let string = |name: &str| json!({"name": name, "type": "string"});
    let config = json!({
        "port": 0,
        "credentials": [{"access_id": "sandbox-access-id", "access_key": "sandbox-access-key"}],
        "odps": {"projects": [{"name": "aliyun_account", "tables": [{
            "name": "ak_biz_log_detail",
            "columns": [string("col0"), {"name": "col1", "type": "bigint"}, string("col2"),
                        {"name": "col3", "type": "double"}, {"name": "col4", "type": "datetime"},
                        string("col5")],
            "partition_keys": [string("pt")],
            "partitions": [{"spec": "pt=20161226", "rows": (0..ROWS).map(table_row).collect::<Vec<_>>()}]
        }]}]},
        "sls": {"projects": [{"name": "datax-demo", "logstores": ["ak_biz_log"]}]},
        "faults": []
    });
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).expect("a valid sandbox config"))
        .expect("the sandbox starts")
}

fn seed_job() -> PathBuf {
    repo_jobs().join("odps-to-loghub.json")
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// Runs `job` against `sandbox` the way the README does, with a JSON report.
fn run_seed(workspace: &Workspace, sandbox: &SandboxHandle, job: &Path) -> (Run, Value) {
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
fn seed_variant(workspace: &Workspace, name: &str, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut job: Value =
        serde_json::from_str(&std::fs::read_to_string(seed_job()).unwrap()).unwrap();
    change(&mut job);
    workspace.write_json(name, &job)
}

/// Every row arrived at least once with exactly its values; how many times each did.
fn assert_every_row_arrived(logs: &[StoredLog], keys: &[&str; 6]) -> BTreeMap<u64, u32> {
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

fn assert_counts(run: &Run, report: &Value) {
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

#[test]
fn the_seed_file_runs_unchanged_and_every_row_arrives_with_the_time_it_was_sent() {
    assert_eq!(
        std::fs::read(seed_job()).unwrap(),
        std::fs::read(shared_jobs().join("seed-odps-to-loghub.json")).unwrap(),
        "jobs/odps-to-loghub.json is the seed, byte for byte"
    );
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    let before = unix_now();
    let (run, report) = run_seed(&workspace, &sandbox, &seed_job());
    let after = unix_now();
    assert_counts(&run, &report);
    assert_eq!(report["channels"], 1);
    // `time: time_str` names none of col0..col5: DataX then sends the current time.
    run.assert_logged(
        "time: \"time_str\" is not one of `column`; every log gets the time it is sent",
    );

    let logs = sandbox.logs("datax-demo", "ak_biz_log");
    let arrivals = assert_every_row_arrived(&logs, &SEED_KEYS);
    assert!(arrivals.values().all(|&n| n == 1), "no fault, no duplicate");
    for log in &logs {
        assert!(
            (before..=after).contains(&log.time),
            "log time {}",
            log.time
        );
    }
}

#[test]
fn two_channels_split_the_partition_and_deliver_every_row_once() {
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    let job = seed_variant(&workspace, "concurrent-2.json", |job| {
        job["configuration"]["setting"]["speed"]["concurrent"] = json!("2");
    });
    let (run, report) = run_seed(&workspace, &sandbox, &job);
    assert_counts(&run, &report);
    assert_eq!(report["channels"], 2);
    assert_eq!(report["tasks"], 2);
    let arrivals = assert_every_row_arrived(&sandbox.logs("datax-demo", "ak_biz_log"), &SEED_KEYS);
    assert!(arrivals.values().all(|&n| n == 1));
}

#[test]
fn throttle_true_holds_the_seeds_mbps_across_two_channels() {
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    let job = seed_variant(&workspace, "throttled.json", |job| {
        let speed = &mut job["configuration"]["setting"]["speed"];
        speed["throttle"] = json!("true");
        speed["concurrent"] = json!("2");
    });
    let (run, report) = run_seed(&workspace, &sandbox, &job);
    assert_counts(&run, &report);
    let limit = 1024.0 * 1024.0;
    let rate = report["bytes_per_second"].as_f64().unwrap();
    assert!(
        (rate - limit).abs() <= limit * 0.05,
        "{rate:.0} B/s against mbps 1 = {limit} B/s"
    );
    assert_every_row_arrived(&sandbox.logs("datax-demo", "ak_biz_log"), &SEED_KEYS);
}

#[test]
fn a_column_list_naming_time_str_takes_the_log_time_from_it() {
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    let keys = ["col0", "col1", "col2", "col3", "col4", "time_str"];
    let job = seed_variant(&workspace, "time-str.json", |job| {
        job["configuration"]["writer"]["parameter"]["column"] = json!(keys);
    });
    let (run, report) = run_seed(&workspace, &sandbox, &job);
    assert_counts(&run, &report);
    assert!(
        !run.stderr.contains("is not one of `column`"),
        "{}",
        run.stderr
    );
    let logs = sandbox.logs("datax-demo", "ak_biz_log");
    assert_every_row_arrived(&logs, &keys);
    for log in &logs {
        let id: u64 = log.get("col0").unwrap()[3..].parse().unwrap();
        // `%Y_%m_%d %H:%i:%S` read in GMT+8, DataX's default zone.
        assert_eq!(log.time, DAY_START + second_of_day(id), "row {id}");
    }
}

#[test]
fn the_same_job_under_a_fault_plan_still_delivers_every_row() {
    let sandbox = start_seed_sandbox();
    let rules: Vec<FaultRule> = [
        json!({"target": "tunnel_data", "count": 2,
               "action": {"type": "truncate_body", "after_bytes": 100000}}),
        json!({"target": "sls", "probability": 0.2, "seed": 7,
               "action": {"type": "error", "status": 503, "code": "ServerBusy"}}),
        json!({"target": "sls", "probability": 0.1, "seed": 8, "action": {"type": "drop_reply"}}),
    ]
    .into_iter()
    .map(|rule| serde_json::from_value(rule).expect("a fault rule"))
    .collect();
    sandbox.set_faults(rules);
    let workspace = Workspace::new();
    let job = seed_variant(&workspace, "concurrent-2.json", |job| {
        job["configuration"]["setting"]["speed"]["concurrent"] = json!("2");
    });
    let (run, report) = run_seed(&workspace, &sandbox, &job);
    assert_counts(&run, &report);

    let stats = sandbox.stats();
    assert_eq!(stats.count("tunnel", "fault:truncate_body"), 2, "{stats:?}");
    assert!(stats.count("sls", "ServerBusy") > 0, "{stats:?}");
    assert!(stats.count("sls", "fault:drop_reply") > 0, "{stats:?}");
    // A dropped reply is sent again, so some rows may arrive twice; none is missing.
    let logs = sandbox.logs("datax-demo", "ak_biz_log");
    let arrivals = assert_every_row_arrived(&logs, &SEED_KEYS);
    let duplicates: u32 = arrivals.values().map(|n| n - 1).sum();
    assert_eq!(logs.len() as u64, ROWS + u64::from(duplicates));
    assert!(duplicates > 0, "dropped replies were sent again");
}

#[test]
fn check_validates_the_seed_against_the_sandbox_without_moving_data() {
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    let data_sources = repo_jobs().join("datasources.sandbox.json");
    let address = format!("-Dsandbox=127.0.0.1:{}", sandbox.port());
    let check = |job: &Path| {
        workspace.run(&[
            "check",
            job.to_str().unwrap(),
            "--datasources",
            data_sources.to_str().unwrap(),
            "-p",
            &address,
        ])
    };
    let run = check(&seed_job());
    run.assert_success();
    assert!(run.stdout.contains(": ok ("), "{}", run.stdout);
    let stats = sandbox.stats();
    assert!(
        stats.count("odps", "ok") > 0 && stats.count("sls", "ok") > 0,
        "{stats:?}"
    );
    assert_eq!(
        stats.count("tunnel", "ok"),
        0,
        "no download session: {stats:?}"
    );
    assert_eq!(stats.logs_accepted, 0);

    let other_partition = seed_variant(&workspace, "other-partition.json", |job| {
        job["configuration"]["reader"]["parameter"]["partition"] = json!(["pt=20990101"]);
    });
    check(&other_partition).assert_failure("pt=20990101");
}
