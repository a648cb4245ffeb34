//! The product's main job: `jobs/odps-to-loghub.json`, byte for byte the mission's seed (a
//! DataWorks 1.0 file with string-valued settings), run by the real binary with
//! `jobs/datasources.sandbox.json` and `-p -Dsandbox=…`, as the README's first command does. A
//! MaxCompute partition read by the odps plugin lands in Log Service through the loghub plugin,
//! both served by the sandbox on loopback.

use std::path::Path;

use datax_e2e::seed::{
    assert_counts, assert_every_row_arrived, run_seed, second_of_day, seed_job, seed_variant,
    start_seed_sandbox, unix_now, DAY_START, ROWS, SEED_KEYS,
};
use datax_e2e::{repo_jobs, shared_jobs, Workspace};
use datax_sandbox::FaultRule;
use serde_json::json;

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
    // Each task's row range, as the reader said it before reading: the status line's total.
    assert_eq!(report["records_expected"], ROWS);
    let arrivals = assert_every_row_arrived(&sandbox.logs("datax-demo", "ak_biz_log"), &SEED_KEYS);
    assert!(arrivals.values().all(|&n| n == 1));
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
    assert_eq!(
        report["plugin_counters"]["reader"]["tunnel data retries"], 2,
        "each truncated body is asked again once"
    );
    assert!(stats.count("sls", "ServerBusy") > 0, "{stats:?}");
    assert!(stats.count("sls", "fault:drop_reply") > 0, "{stats:?}");
    // A dropped reply is sent again, so some rows may arrive twice; none is missing.
    let logs = sandbox.logs("datax-demo", "ak_biz_log");
    let arrivals = assert_every_row_arrived(&logs, &SEED_KEYS);
    let duplicates: u32 = arrivals.values().map(|n| n - 1).sum();
    assert_eq!(logs.len() as u64, ROWS + u64::from(duplicates));
    assert!(duplicates > 0, "dropped replies were sent again");
    // Every refused or unanswered PutLogs was sent again, and the report says how often.
    let retries = report["plugin_counters"]["writer"]["PutLogs retries"]
        .as_u64()
        .expect("the writer counts its retries");
    assert!(
        retries >= stats.count("sls", "ServerBusy") + stats.count("sls", "fault:drop_reply"),
        "{retries} retries for {stats:?}"
    );
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
