//! odpswriter in whole jobs, with the real binary and plugin libraries against the sandbox:
//! the round trip MaxCompute → Log Service → MaxCompute (the seed job, then its reverse with
//! loghubreader → odpswriter) gives back the original table value for value, and DataWorks'
//! saved `dw1-loghub-to-odps-commented.json` runs with a data sources file and `-p`.

use datax_e2e::seed::{assert_counts, run_seed, seed_config_with_empty_copy, seed_job, ROWS};
use datax_e2e::{odps_rows, sandbox_data_sources, shared_jobs, Workspace};
use datax_sandbox::{AppendedGroup, AppendedLog, Sandbox, SandboxConfig, SandboxHandle};
use serde_json::json;

/// Every row of `table` (`partition`) of the sandbox's `project`, as streamwriter writes them
/// (tab-separated), sorted.
fn read_back(
    sandbox: &SandboxHandle,
    project: &str,
    table: &str,
    partition: Option<&str>,
) -> Vec<String> {
    let mut parameter = json!({
        "accessId": "sandbox-access-id", "accessKey": "sandbox-access-key",
        "odpsServer": sandbox.odps_endpoint(), "tunnelServer": sandbox.tunnel_endpoint(),
        "project": project, "table": table, "column": ["*"],
    });
    if let Some(spec) = partition {
        parameter["partition"] = json!(spec);
    }
    odps_rows(parameter)
}

/// The seed job copies `ak_biz_log_detail` into Log Service as text; the reverse job reads
/// the logstore back into an empty table of the same shape, each value converted from its
/// text to the column's type (bigint, double, datetime in GMT+8). The copy equals the original
/// row for row and value for value.
#[test]
fn odps_to_loghub_and_back_gives_the_original_table() {
    let config = seed_config_with_empty_copy(ROWS, "ak_biz_log_copy");
    let sandbox =
        Sandbox::start(SandboxConfig::from_json(&config.to_string()).unwrap()).expect("starts");
    let workspace = Workspace::new();
    let (run, report) = run_seed(&workspace, &sandbox, &seed_job());
    assert_counts(&run, &report);

    let sources = workspace.write_json("sources.json", &sandbox_data_sources(&sandbox));
    let keys = ["col0", "col1", "col2", "col3", "col4", "col5"];
    let reverse = json!({"job": {
        "setting": {"speed": {"channel": 2}, "errorLimit": {"record": 0}},
        "content": [{
            "reader": {"name": "loghubreader", "parameter": {
                "datasource": "sls", "logstore": "ak_biz_log", "column": keys}},
            "writer": {"name": "odpswriter", "parameter": {
                "datasource": "odps", "table": "ak_biz_log_copy", "partition": "pt=20161226",
                "column": keys, "isCompress": true}}
        }]
    }});
    let reverse = workspace.write_json("reverse.json", &reverse);
    let run = workspace.run(&[
        reverse.to_str().unwrap(),
        "--datasources",
        sources.to_str().unwrap(),
        "--report-json",
        "reverse-report.json",
    ]);
    run.assert_success();
    let report = workspace.read_json("reverse-report.json");
    assert_eq!(report["records_read"], ROWS, "{report}");
    assert_eq!(report["records_written"], ROWS, "{report}");
    assert_eq!(report["write_failed_records"], 0, "{report}");

    let original = read_back(
        &sandbox,
        "aliyun_account",
        "ak_biz_log_detail",
        Some("pt=20161226"),
    );
    let copy = read_back(
        &sandbox,
        "aliyun_account",
        "ak_biz_log_copy",
        Some("pt=20161226"),
    );
    assert_eq!(original.len() as u64, ROWS);
    assert!(
        original == copy,
        "first rows: {:?} / {:?}",
        &original[..2],
        &copy[..2.min(copy.len())]
    );
}

const LOGSTORE: &str = "logstore-ut2";
/// `${startTime}` and `${endTime}`: 2023-11-15 06:13:20 to 07:13:20 at GMT+8.
const BEGIN: u32 = 1_700_000_000;
const END: u32 = BEGIN + 3600;

fn dw1_sandbox() -> SandboxHandle {
    let string = |name: &str| json!({"name": name, "type": "string"});
    let config = json!({
        "port": 0,
        "credentials": [{"access_id": "sandbox-access-id", "access_key": "sandbox-access-key"}],
        "odps": {"projects": [{"name": "p", "tables": [{
            "name": "ok", "columns": [string("key1"), string("key2"), string("key3")],
            "rows": [["replaced", "by", "truncate"]]
        }]}]},
        "sls": {"projects": [{"name": "datax-demo", "logstores": [LOGSTORE]}]},
    });
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).unwrap()).expect("starts")
}

fn logs_received_at(receive_time: u32, logs: &[[(&str, &str); 2]]) -> AppendedGroup {
    AppendedGroup {
        receive_time,
        logs: logs
            .iter()
            .map(|pairs| AppendedLog {
                time: receive_time,
                contents: pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .collect(),
        ..Default::default()
    }
}

/// The saved file as DataWorks wrote it, comments included, with its two data sources from
/// `--datasources` and its range from `-p "-DstartTime=… -DendTime=…"`: the logs received in
/// the range replace the table's rows (`truncate`), each log's missing key NULL.
#[test]
fn the_saved_dw1_loghub_to_odps_job_runs_with_data_sources_and_parameters() {
    let sandbox = dw1_sandbox();
    let in_range = [
        [("key1", "a"), ("key2", "b")],
        [("key2", "c"), ("key3", "d")],
    ];
    for (receive_time, logs) in [
        (BEGIN - 1, &[[("key1", "before"), ("key2", "x")]][..]),
        (BEGIN, &in_range[..]),
        (END - 1, &[[("key1", "last"), ("key3", "in")]][..]),
        (END, &[[("key1", "after"), ("key2", "x")]][..]),
    ] {
        sandbox
            .append_group(
                "datax-demo",
                LOGSTORE,
                0,
                &logs_received_at(receive_time, logs),
            )
            .expect("appended");
    }
    let workspace = Workspace::new();
    // The saved file unchanged, its stray `/作业速率上限` (a single slash) included.
    let job = shared_jobs().join("dw1-loghub-to-odps-commented.json");
    let sources = json!({
        "loghub_lzz": {"type": "loghub", "parameter": {
            "endpoint": sandbox.sls_endpoint(), "project": "datax-demo",
            "accessId": "sandbox-access-id", "accessKey": "sandbox-access-key"}},
        "odps_first": {"type": "odps", "parameter": {
            "project": "p", "odpsServer": sandbox.odps_endpoint(),
            "tunnelServer": sandbox.tunnel_endpoint(),
            "accessId": "sandbox-access-id", "accessKey": "sandbox-access-key"}},
    });
    let sources = workspace.write_json("sources.json", &sources);
    let args = |command| {
        [
            command,
            job.to_str().unwrap(),
            "--datasources",
            sources.to_str().unwrap(),
            "-p",
            "-DstartTime=20231115061320 -DendTime=20231115071320",
        ]
    };
    workspace.run(&args("check")).assert_success();
    let run = workspace.run(&args("run"));
    run.assert_success();
    assert!(!run.stderr.contains("sandbox-access-key"), "{}", run.stderr);
    assert_eq!(
        read_back(&sandbox, "p", "ok", None),
        ["a\tb\tnull", "last\tnull\tin", "null\tc\td"]
    );
}
