//! `common.column`: read from a DataX job, checked at load, handed to each plugin under
//! `_datax` only when set.

use datax_job_config::{load_job, Params};
use serde_json::{json, Value};

fn job(common: Value) -> String {
    let mut job = json!({"job": {"setting": {"speed": {"channel": 1}}, "content": [{
        "reader": {"name": "streamreader", "parameter": {"sliceRecordCount": 1}},
        "writer": {"name": "streamwriter", "parameter": {"print": true}}
    }]}});
    if !common.is_null() {
        job["common"] = common;
    }
    job.to_string()
}

#[test]
fn the_settings_reach_each_plugin_and_give_no_warning() {
    let text = job(json!({"column": {"datetimeFormat": "yyyy/MM/dd HH:mm", "timeZone": "UTC"}}));
    let loaded = load_job(&text, &Params::new(), None).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    for step in [&loaded.job.reader, &loaded.job.writer] {
        let parameter: Value = serde_json::from_str(&loaded.job.plugin_parameter(step)).unwrap();
        assert_eq!(
            parameter["_datax"],
            json!({"column": {"datetimeFormat": "yyyy/MM/dd HH:mm", "timeZone": "UTC"}})
        );
    }
}

#[test]
fn without_settings_the_parameter_is_as_written() {
    let loaded = load_job(&job(Value::Null), &Params::new(), None).unwrap();
    assert_eq!(
        loaded.job.plugin_parameter(&loaded.job.writer),
        r#"{"print":true}"#
    );
}

#[test]
fn bad_settings_fail_the_job_naming_the_key() {
    for (column, expected) in [
        (
            json!({"timeZone": "Mars/Base"}),
            "common.column.timeZone: \"Mars/Base\" is neither",
        ),
        (
            json!({"dateFormat": "yyyy-MM-dd G"}),
            "common.column.dateFormat: \"yyyy-MM-dd G\"",
        ),
        (
            json!({"encoding": "GBK"}),
            "common.column.encoding: \"GBK\" is not supported (only UTF-8)",
        ),
        (
            json!({"extraFormats": "yyyyMMdd"}),
            "common.column.extraFormats: expected a list",
        ),
    ] {
        let error = load_job(&job(json!({ "column": column })), &Params::new(), None)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(expected), "{error}");
    }
}
