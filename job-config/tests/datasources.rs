//! Data sources fill what DataWorks jobs leave to them (spec §11.7).

mod common;

use common::job_text;
use datax_job_config::{load_job, DataSources, JobError, Params};
use serde_json::json;

const SOURCES: &str = r#"{
  // the names the seed job uses
  "sls": {"type": "loghub", "parameter": {
    "endpoint": "cn-hangzhou.log.aliyuncs.com", "project": "biz", "logstore": "biz_log",
    "accessId": "LTAI_ID", "accessKey": "${env:SLS_KEY}", "topic": "from-source"}},
  "odps": {"type": "odps", "parameter": {
    "odpsServer": "http://service.odps.aliyun.com/api", "accessId": "ODPS_ID",
    "accessKey": "odps-${env:ODPS_KEY}", "project": "other_project"}}
}"#;

fn env(name: &str) -> Option<String> {
    match name {
        "SLS_KEY" => Some("sls-secret".to_string()),
        "ODPS_KEY" => Some("k3y".to_string()),
        _ => None,
    }
}

#[test]
fn the_seed_job_is_filled_from_its_data_sources() {
    let sources = DataSources::parse(SOURCES, &Params::new(), env).unwrap();
    let loaded = load_job(
        &job_text("seed-odps-to-loghub.json"),
        &Params::new(),
        Some(&sources),
    )
    .unwrap();
    let writer = &loaded.job.writer.parameter;
    // Empty values come from `sls`; values the job sets win (`topic` is "" → filled, `batchSize` kept).
    assert_eq!(writer["endpoint"], "cn-hangzhou.log.aliyuncs.com");
    assert_eq!(writer["project"], "biz");
    assert_eq!(writer["logstore"], "biz_log");
    assert_eq!(writer["accessId"], "LTAI_ID");
    assert_eq!(writer["accessKey"], "sls-secret");
    assert_eq!(writer["topic"], "from-source");
    assert_eq!(writer["batchSize"], "1024");
    assert_eq!(writer["datasource"], "sls");
    // The reader names no data source: the one named after its type fills the masked keys.
    let reader = &loaded.job.reader.parameter;
    assert_eq!(reader["accessId"], "ODPS_ID");
    assert_eq!(reader["accessKey"], "odps-k3y");
    assert_eq!(reader["odpsServer"], "http://service.odps.aliyun.com/api");
    assert_eq!(reader["project"], "aliyun_account");
    assert!(
        loaded.warnings.iter().all(|w| !w.contains("datasource")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn a_named_source_missing_is_a_warning() {
    let loaded = load_job(&job_text("seed-odps-to-loghub.json"), &Params::new(), None).unwrap();
    assert_eq!(loaded.job.writer.parameter["endpoint"], "");
    assert_eq!(
        loaded.warnings,
        vec![
            "configuration.reader.parameter.accessKey is masked (`*****`) and no data source gives its value",
            "configuration.reader.parameter.accessId is masked (`*****`) and no data source gives its value",
            "configuration.writer.parameter.datasource: data source `sls` is not defined (no data source file given); only the job's own parameters are used",
            "configuration.setting.speed.dmu: `datax` does not act on this setting, ignored",
        ]
    );
    let sources =
        DataSources::parse(r#"{"other": {"type": "loghub"}}"#, &Params::new(), env).unwrap();
    let loaded = load_job(
        &job_text("seed-odps-to-loghub.json"),
        &Params::new(),
        Some(&sources),
    )
    .unwrap();
    assert!(
        loaded.warnings[2].contains("data source `sls` is not defined in the data source file"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn a_source_of_another_type_is_an_error() {
    let sources = DataSources::parse(
        r#"{"sls": {"type": "odps", "parameter": {}}}"#,
        &Params::new(),
        env,
    )
    .unwrap();
    let err = load_job(
        &job_text("seed-odps-to-loghub.json"),
        &Params::new(),
        Some(&sources),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration.writer.parameter.datasource: data source `sls` is of type `odps`, but the step is `loghub`"
    );
}

#[test]
fn datax_names_match_sources_by_type_without_suffix() {
    let text = r#"{"job": {"setting": {"speed": {"channel": 1}}, "content": [{
        "reader": {"name": "odpsreader", "parameter": {"table": "t", "accessKey": "mine"}},
        "writer": {"name": "streamwriter", "parameter": {}}}]}}"#;
    let sources = DataSources::parse(SOURCES, &Params::new(), env).unwrap();
    let loaded = load_job(text, &Params::new(), Some(&sources)).unwrap();
    assert_eq!(loaded.job.reader.parameter["accessKey"], "mine");
    assert_eq!(loaded.job.reader.parameter["accessId"], "ODPS_ID");
    assert_eq!(loaded.job.writer.parameter, json!({}));
}

#[test]
fn an_unset_environment_variable_is_an_error_naming_it() {
    let err = DataSources::parse(
        r#"{"sls": {"type": "loghub", "parameter": {"accessKey": "${env:NOPE}"}}}"#,
        &Params::new(),
        env,
    )
    .unwrap_err();
    assert_eq!(
        err,
        JobError::MissingEnv {
            name: "NOPE".to_string(),
            path: "sls.parameter.accessKey".to_string()
        }
    );
    assert_eq!(
        err.to_string(),
        "data sources: sls.parameter.accessKey: environment variable `NOPE` is not set"
    );
}

#[test]
fn malformed_source_files_are_errors() {
    let cases = [
        (
            r#"[]"#,
            "data sources: expected an object of named data sources, found [..]",
        ),
        (
            r#"{"sls": 1}"#,
            "sls: expected an object with `type` and `parameter`, found 1",
        ),
        (r#"{"sls": {"parameter": {}}}"#, "sls.type: missing"),
        (
            r#"{"sls": {"type": "loghub", "parameter": []}}"#,
            "sls.parameter: expected an object, found [..]",
        ),
        (
            "{\"sls\": {\"type\": \"loghub\",, }}",
            "line 1, column 29 (in sls): trailing comma",
        ),
    ];
    for (text, expected) in cases {
        let err = DataSources::parse(text, &Params::new(), env)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn names_and_entries_are_listed() {
    let sources = DataSources::parse(SOURCES, &Params::new(), env).unwrap();
    assert_eq!(sources.names().collect::<Vec<_>>(), vec!["sls", "odps"]);
    let sls = sources.get("sls").unwrap();
    assert_eq!(sls.source_type, "loghub");
    assert_eq!(sls.parameter["accessKey"], "sls-secret");
    assert!(sources.get("nope").is_none());
}

#[test]
fn job_parameters_fill_data_sources_beside_the_environment() {
    let mut params = Params::new();
    params
        .add_pair("sls_endpoint=cn-hangzhou.log.aliyuncs.com")
        .unwrap();
    let text = r#"{"sls": {"type": "loghub", "parameter": {
        "endpoint": "${sls_endpoint}", "accessKey": "${env:SLS_KEY}"}}}"#;
    let sources = DataSources::parse(text, &params, env).unwrap();
    let sls = sources.get("sls").unwrap();
    assert_eq!(sls.parameter["endpoint"], "cn-hangzhou.log.aliyuncs.com");
    assert_eq!(sls.parameter["accessKey"], "sls-secret");
    let err = DataSources::parse(text, &Params::new(), env).unwrap_err();
    assert!(err.to_string().contains("sls_endpoint"), "{err}");
}

#[test]
fn the_example_for_the_real_services_fills_the_seed_from_parameters_and_environment() {
    let repo_file = |name: &str| {
        let path = format!("{}/../jobs/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let mut params = Params::new();
    params
        .add_datax_args("-Dregion=cn-shanghai -Dsls_project=shop -Dsls_logstore=orders")
        .unwrap();
    let env = |name: &str| Some(format!("value-of-{name}"));
    let sources = DataSources::parse(&repo_file("datasources.example.json"), &params, env).unwrap();
    let loaded = load_job(&repo_file("odps-to-loghub.json"), &params, Some(&sources)).unwrap();
    let reader = &loaded.job.reader.parameter;
    assert_eq!(
        reader["odpsServer"],
        "http://service.cn-shanghai.maxcompute.aliyun.com/api"
    );
    assert_eq!(reader["accessId"], "value-of-ODPS_ACCESS_ID");
    assert_eq!(reader["accessKey"], "value-of-ODPS_ACCESS_KEY");
    assert_eq!(reader["project"], "aliyun_account");
    let writer = &loaded.job.writer.parameter;
    assert_eq!(writer["endpoint"], "cn-shanghai.log.aliyuncs.com");
    assert_eq!(writer["accessKey"], "value-of-SLS_ACCESS_KEY");
    assert_eq!(writer["project"], "shop");
    assert_eq!(writer["logstore"], "orders");
}
