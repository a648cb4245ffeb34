//! The mission's seed job (`../shared/jobs/seed-odps-to-loghub.json`) runs unchanged: a
//! MaxCompute partition read through the odps plugin lands in Log Service through the loghub
//! plugin, both served by the sandbox on loopback, the job's endpoints and keys coming from a
//! data sources file.

use datax_e2e::{sandbox_data_sources, shared_jobs, start_sandbox, Workspace};

#[test]
fn the_seed_job_moves_every_row_of_its_partition_into_the_logstore() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let sources = workspace.write_json("sources.json", &sandbox_data_sources(&sandbox));
    let seed = shared_jobs().join("seed-odps-to-loghub.json");
    let run = workspace.run(&[
        seed.to_str().unwrap(),
        "--datasources",
        sources.to_str().unwrap(),
        "--report-json",
        "report.json",
    ]);
    run.assert_success();
    assert!(!run.stderr.contains("sandbox-access-key"), "{}", run.stderr);

    let report = workspace.read_json("report.json");
    assert_eq!(report["records_read"], 10);
    assert_eq!(report["records_written"], 10);

    let mut logs = sandbox.logs("datax-demo", "ak_biz_log");
    assert_eq!(logs.len(), 10);
    logs.sort_by(|a, b| a.get("col0").cmp(&b.get("col0")));
    let first = &logs[0];
    assert_eq!(first.get("col0"), Some("ak_1000"));
    assert_eq!(first.get("col1"), Some("20161226000"));
    assert_eq!(first.get("col2"), Some("login"));
    assert_eq!(first.get("col3"), Some("0.25"));
    assert_eq!(first.get("col4"), Some("2016-12-26 10:00:00"));
    assert_eq!(first.get("col5"), Some("2016_12_26 10:00:00"));
    assert_eq!(logs[9].get("col0"), Some("ak_1009"));
    assert_eq!(logs[9].get("col2"), Some("logout"));
}
