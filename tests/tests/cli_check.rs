//! `datax check` on every real job file, and `datax template`.

use datax_e2e::{shared_jobs, Workspace};
use serde_json::json;

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

/// What `datax check` says of each shared job, given data sources for its `odps` and `sls`
/// names: `None` for success, else the end of the error. Jobs naming plugins we do not have
/// yet fail only because of that.
const EXPECTED: [(&str, Option<&str>); 15] = [
    (
        "datax-errorlimit-record-percentage.json",
        Some("no reader plugin named 'mysqlreader'"),
    ),
    ("datax-odpsreader-doc.json", None),
    (
        "datax-odpsreader-oraclewriter-plugindev.json",
        Some("no writer plugin named 'oraclewriter'"),
    ),
    ("datax-odpsreader-perf.json", None),
    ("datax-stream2stream-default.json", None),
    (
        "dw1-loghub-to-odps-commented.json",
        Some("line 37, column 11 (in configuration.setting.speed): key must be a string"),
    ),
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
    (
        "dw2-loghub-reader-template-commented.json",
        Some("no reader plugin named 'loghub'"),
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

#[test]
fn every_shared_job_parses_and_resolves_or_names_its_missing_plugin() {
    let workspace = Workspace::new();
    let credentials = json!({"accessId": "id", "accessKey": "key", "project": "aliyun_account",
        "odpsServer": "http://127.0.0.1:9/api"});
    let sources = workspace.write_json(
        "sources.json",
        &json!({
            "odps": {"type": "odps", "parameter": credentials},
            "odps_first": {"type": "odps", "parameter": credentials},
            "sls": {"type": "loghub", "parameter": {"endpoint": "127.0.0.1:9", "accessId": "id",
                "accessKey": "key", "project": "datax-demo", "logstore": "ak_biz_log"}},
        }),
    );
    let mut files: Vec<String> = std::fs::read_dir(shared_jobs())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let expected_files: Vec<&str> = EXPECTED.iter().map(|(file, _)| *file).collect();
    assert_eq!(files, expected_files, "every shared job has an expectation");
    for (file, expected) in EXPECTED {
        let path = shared_jobs().join(file);
        let mut args = vec![
            "check",
            path.to_str().unwrap(),
            "--datasources",
            sources.to_str().unwrap(),
        ];
        args.extend(PARAMS);
        let run = workspace.run(&args);
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
