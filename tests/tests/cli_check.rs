//! `datax check` on every real job file (against the sandbox), and `datax template`.

use std::path::Path;

use datax_e2e::{shared_jobs, Run, Workspace};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{json, Value};

const ACCESS_ID: &str = "sandbox-access-id";
const ACCESS_KEY: &str = "sandbox-access-key";

const PARAMS: [&str; 8] = [
    "--param",
    "bizdate=20240101",
    "--param",
    "bdp.system.bizdate=20240101",
    "--param",
    "startTime=20240101000000",
    "--param",
    "endTime=20240102000000",
];

/// What `datax check` says of each shared job, given data sources pointing its `odps` and
/// `sls` names at the sandbox: `None` for success, else part of the error. Jobs naming plugins
/// we do not have yet fail only because of that.
const EXPECTED: [(&str, Option<&str>); 15] = [
    (
        "datax-errorlimit-record-percentage.json",
        Some("no reader plugin named 'mysqlreader'"),
    ),
    // DataX's examples keep their placeholder endpoint, which the job's own value makes win.
    (
        "datax-odpsreader-doc.json",
        Some("reading the schema of table targetProjectName.tableName: cannot connect: error sending request for url (http://xxx/api/"),
    ),
    (
        "datax-odpsreader-oraclewriter-plugindev.json",
        Some("no writer plugin named 'oraclewriter'"),
    ),
    (
        "datax-odpsreader-perf.json",
        Some("error sending request for url (http://xxx/api/projects/cdo_datasync/"),
    ),
    ("datax-stream2stream-default.json", None),
    // Its `"mbps": 8,/作业速率上限` is read as a comment, with a warning (see below).
    ("dw1-loghub-to-odps-commented.json", None),
    (
        "dw1-mysql-to-odps-bizdate-commented.json",
        Some("no reader plugin named 'mysql'"),
    ),
    (
        "dw1-odps-to-elasticsearch.json",
        Some("no writer plugin named 'elasticsearch'"),
    ),
    (
        "dw1-odps-to-hdfs.json",
        Some("no writer plugin named 'hdfs'"),
    ),
    (
        "dw2-elasticsearch-to-odps.json",
        Some("no reader plugin named 'elasticsearch'"),
    ),
    // A template with its data source left blank: loghubreader's own validation names the key.
    (
        "dw2-loghub-reader-template-commented.json",
        Some("accessId: required"),
    ),
    // A template with its table left blank: odps's own validation names the key.
    (
        "dw2-odps-reader-template-commented.json",
        Some("table: required"),
    ),
    (
        "dw2-odps-to-elasticsearch.json",
        Some("no writer plugin named 'elasticsearch'"),
    ),
    ("dw2-odps-to-loghub.json", None),
    ("seed-odps-to-loghub.json", None),
];

/// A sandbox holding what the shared jobs name: their projects, tables, partitions and
/// logstores, so that `check` can find them.
fn start_sandbox_for_shared_jobs() -> SandboxHandle {
    let string = |name: &str| json!({"name": name, "type": "string"});
    let config = json!({
        "port": 0,
        "credentials": [{"access_id": ACCESS_ID, "access_key": ACCESS_KEY}],
        "odps": {"projects": [
            {"name": "aliyun_account", "tables": [{
                "name": "ak_biz_log_detail",
                "columns": (0..6).map(|i| string(&format!("col{i}"))).collect::<Vec<_>>(),
                "partition_keys": [string("pt")],
                "partitions": [{"spec": "pt=20161226", "rows": []}, {"spec": "pt=20240101", "rows": []}]
            }, {
                "name": "ok",
                "columns": (1..=3).map(|i| string(&format!("key{i}"))).collect::<Vec<_>>(),
            }]},
            {"name": "targetProjectName", "tables": [{
                "name": "tableName",
                "columns": [string("customer_id"), string("nickname")],
                "partition_keys": [string("pt"), string("ds")],
                "partitions": [{"spec": "pt=1,ds=hangzhou", "rows": []}]
            }]},
            {"name": "cdo_datasync", "tables": [{
                "name": "datax3_odpswriter_perf_10column_1kb_00",
                "columns": (0..10).map(|i| string(&format!("c{i}"))).collect::<Vec<_>>(),
                "partition_keys": [string("pt"), string("year")],
                "partitions": [{"spec": "pt=20141010000000,year=2014", "rows": []}]
            }]}
        ]},
        "sls": {"projects": [{"name": "datax-demo", "logstores": ["ak_biz_log", "biz_log", "logstore-ut2"]}]},
        "faults": []
    });
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).expect("a valid sandbox config"))
        .expect("the sandbox starts")
}

fn data_sources(sandbox: &SandboxHandle) -> Value {
    data_sources_at(&format!("127.0.0.1:{}", sandbox.port()))
}

/// Data sources for the shared jobs' `odps`, `odps_first`, `sls` and `loghub_lzz` names at
/// `address`.
fn data_sources_at(address: &str) -> Value {
    let mut sources = datax_e2e::data_sources_at(address);
    sources["odps_first"] = sources["odps"].clone();
    sources["loghub_lzz"] = sources["sls"].clone();
    sources
}

fn check_with_sources(workspace: &Workspace, job: &Path, sources: &Value) -> Run {
    let sources = workspace.write_json("sources.json", sources);
    let mut args = vec![
        "check",
        job.to_str().unwrap(),
        "--datasources",
        sources.to_str().unwrap(),
    ];
    args.extend(PARAMS);
    workspace.run(&args)
}

#[test]
fn every_shared_job_checks_against_the_sandbox_or_names_its_missing_plugin() {
    let workspace = Workspace::new();
    let sandbox = start_sandbox_for_shared_jobs();
    let sources = data_sources(&sandbox);
    let mut files: Vec<String> = std::fs::read_dir(shared_jobs())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let expected_files: Vec<&str> = EXPECTED.iter().map(|(file, _)| *file).collect();
    assert_eq!(files, expected_files, "every shared job has an expectation");
    for (file, expected) in EXPECTED {
        let run = check_with_sources(&workspace, &shared_jobs().join(file), &sources);
        match expected {
            None => {
                run.assert_success();
                assert!(run.stdout.contains(": ok ("), "{file}: {}", run.stdout);
            }
            Some(error) => {
                run.assert_failure(error);
            }
        }
    }
    // `check` asked the services, and moved nothing.
    let stats = sandbox.stats();
    assert!(stats.count("odps", "ok") > 0, "{stats:?}");
    assert!(stats.count("sls", "ok") > 0, "{stats:?}");
    assert_eq!(
        stats.count("tunnel", "ok"),
        0,
        "no download session: {stats:?}"
    );
    assert_eq!(stats.logs_accepted, 0);
}

/// The DataWorks 1.0 loghub → odps job as DataWorks' editor saved it: a lone `/` starts its
/// note on the speed line. `check` reads it as a comment, says where, and checks both sides
/// (ListShards of its logstore, the schema of its table) with a data sources file.
#[test]
fn the_dataworks_loghub_job_with_a_stray_slash_checks_cleanly_with_a_warning() {
    let workspace = Workspace::new();
    let sandbox = start_sandbox_for_shared_jobs();
    let job = shared_jobs().join("dw1-loghub-to-odps-commented.json");
    let run = check_with_sources(&workspace, &job, &data_sources(&sandbox));
    run.assert_success();
    assert!(
        run.stderr
            .contains("line 37, column 11: lone `/` read as a comment to the end of the line"),
        "{}",
        run.stderr
    );
    let stats = sandbox.stats();
    assert!(stats.count("sls", "ok") > 0, "ListShards asked: {stats:?}");
    assert!(
        stats.count("odps", "ok") > 0,
        "the table's schema read: {stats:?}"
    );
}

#[test]
fn check_names_what_the_services_lack_and_never_the_secret() {
    let workspace = Workspace::new();
    let sandbox = start_sandbox_for_shared_jobs();
    let seed = shared_jobs().join("seed-odps-to-loghub.json");
    let mut sources = data_sources(&sandbox);
    sources["sls"]["parameter"]["logstore"] = json!("no_such_logstore");
    check_with_sources(&workspace, &seed, &sources)
        .assert_failure("LogStoreNotExist (HTTP 404): logstore no_such_logstore does not exist");

    let job = workspace.write_json(
        "other-table.json",
        &json!({"job": {"content": [{
            "reader": {"name": "odpsreader", "parameter": {"table": "missing_table",
                "project": "aliyun_account", "column": ["*"], "datasource": "odps"}},
            "writer": {"name": "streamwriter", "parameter": {"print": false}}}]}}),
    );
    check_with_sources(&workspace, &job, &data_sources(&sandbox)).assert_failure("missing_table");

    let mut sources = data_sources(&sandbox);
    sources["sls"]["parameter"]["accessKey"] = json!("a-wrong-secret");
    let run = check_with_sources(&workspace, &seed, &sources);
    run.assert_failure("SignatureNotMatch");
    assert!(!run.stderr.contains("a-wrong-secret") && !run.stdout.contains("a-wrong-secret"));
}

#[test]
fn check_runs_the_plugins_own_validation() {
    let workspace = Workspace::new();
    let job = workspace.write(
        "job.json",
        r#"{"job": {"content": [{"reader": {"name": "streamreader", "parameter": {"column": [], "sliceRecordCount": 1}},
            "writer": {"name": "streamwriter", "parameter": {}}}]}}"#,
    );
    workspace
        .run(&["check", job.to_str().unwrap()])
        .assert_failure(
        "reader 'streamreader' (job.content[0].reader) init failed: configuration error: column",
    );
}

#[test]
fn template_prints_a_runnable_job_from_the_plugins_templates() {
    let workspace = Workspace::new();
    let run = workspace.run(&["template", "-r", "stream", "-w", "streamwriter"]);
    run.assert_success();
    let job: serde_json::Value = serde_json::from_str(&run.stdout).expect("the template is JSON");
    let content = &job["job"]["content"][0];
    assert_eq!(content["reader"]["name"], "streamreader");
    assert_eq!(content["writer"]["name"], "streamwriter");
    assert!(content["reader"]["parameter"]["column"].is_array());
    let path = workspace.write("template.json", &run.stdout);
    workspace
        .run(&["check", path.to_str().unwrap()])
        .assert_success();

    workspace
        .run(&["template", "-r", "mysql", "-w", "stream"])
        .assert_failure("no reader plugin named 'mysql'");
}

#[test]
fn check_retries_an_unreachable_service_once_not_for_minutes() {
    let workspace = Workspace::new();
    let seed = shared_jobs().join("seed-odps-to-loghub.json");
    let mut sources = data_sources_at("127.0.0.1:1");
    sources["odps"]["parameter"]["maxRetryTime"] = json!(7);
    let run = check_with_sources(&workspace, &seed, &sources);
    run.assert_failure("Connection refused");
    assert!(run.stderr.contains("(1 of 1)"), "{}", run.stderr);
}
