//! The shipped example config and the config checks.

use datax_sandbox::odps::types::Value;
use datax_sandbox::SandboxConfig;

#[test]
fn example_config_serves_the_demo_job() {
    let config = SandboxConfig::example();
    let project = &config.odps.projects[0];
    assert_eq!(project.name, "aliyun_account");
    let table = project.tables[0].to_table().unwrap();
    assert_eq!(table.name, "ak_biz_log_detail");
    assert_eq!(table.partition_keys[0].name, "pt");
    assert_eq!(table.partitions[0].rows.count(), 10);
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["col0", "col1", "col2", "col3", "col4", "col5"]);
    let logstore = &config.sls.projects[0].logstores[0];
    assert_eq!((logstore.name(), logstore.shards()), ("ak_biz_log", 1));
    let generated = project.tables[1].to_table().unwrap();
    assert_eq!(generated.partitions[0].rows.count(), 100_000_000);
    // Secrets stay out of debug output.
    assert!(!format!("{config:?}").contains("sandbox-access-key"));
}

#[test]
fn the_demo_config_generates_the_seed_table_with_time_text() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-demo.json");
    let config = SandboxConfig::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let table = config.odps.projects[0].tables[0].to_table().unwrap();
    assert_eq!(table.name, "ak_biz_log_detail");
    let rows = &table.partitions[0].rows;
    assert_eq!(rows.count(), 1_000_000);
    for row in [0, 999_999] {
        let Value::Bytes(text) = rows.value(row, 5, &table.columns[5].odps_type) else {
            panic!("col5 is text");
        };
        let text = String::from_utf8(text).unwrap();
        // 2016_12_26 10:00:00 .. within a year after 2016-12-26.
        assert_eq!(text.len(), 19, "{text}");
        assert!(
            text.starts_with("2016_12_") || text.starts_with("2017_"),
            "{text}"
        );
        assert_eq!(&text[4..5], "_");
        assert_eq!(&text[13..14], ":");
    }
}

#[test]
fn bad_configs_are_refused_with_the_reason() {
    let table = |body: &str| {
        format!(r#"{{"odps": {{"projects": [{{"name": "p", "tables": [{body}]}}]}}}}"#)
    };
    let cases = [
        (
            table(r#"{"name": "t", "columns": [{"name": "a", "type": "bigintt"}]}"#),
            "unknown type",
        ),
        (
            table(
                r#"{"name": "t", "columns": [{"name": "a", "type": "bigint"}], "rows": [[1, 2]]}"#,
            ),
            "row 0 has 2 values",
        ),
        (
            table(
                r#"{"name": "t", "columns": [{"name": "a", "type": "bigint"}], "rows": [["x"]]}"#,
            ),
            "not a valid bigint",
        ),
        (
            table(
                r#"{"name": "t", "columns": [{"name": "a", "type": "bigint"}], "partition_keys": [{"name": "pt", "type": "string"}], "partitions": [{"spec": "ds=1"}]}"#,
            ),
            "must name the keys",
        ),
        (
            table(
                r#"{"name": "t", "columns": [{"name": "a", "type": "bigint", "time_text": "%Y"}], "rows": 1}"#,
            ),
            "time_text needs a string column",
        ),
        (
            table(
                r#"{"name": "t", "columns": [{"name": "a", "type": "string", "time_text": "%Q"}], "rows": 1}"#,
            ),
            "is not a strftime pattern",
        ),
        (r#"{"colour": 1}"#.to_string(), "unknown field"),
        (
            table(r#"{"name": "t", "columns": [], "colour": 1}"#),
            "unknown field",
        ),
        (
            table(
                r#"{"name": "t", "columns": [], "partition_keys": [{"name": "pt", "type": "string"}], "partitions": [{"spec": "pt=1", "sead": 1}]}"#,
            ),
            "unknown field",
        ),
    ];
    for (json, reason) in cases {
        let error = SandboxConfig::from_json(&json).unwrap_err().to_string();
        assert!(error.contains(reason), "{json}: {error}");
    }
}

#[test]
fn sandbox_stops_on_drop() {
    let sandbox = datax_sandbox::Sandbox::start(SandboxConfig::example()).unwrap();
    let address = format!("127.0.0.1:{}", sandbox.port());
    assert!(std::net::TcpStream::connect(&address).is_ok());
    drop(sandbox);
    assert!(std::net::TcpStream::connect(&address).is_err());
}
