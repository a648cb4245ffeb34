use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;

/// Documented keys, as a plugin declares them.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Parameter {
    /// Required: a plain field.
    project: String,
    #[serde(default, deserialize_with = "lenient::u64")]
    slice_record_count: Option<u64>,
    #[serde(default, deserialize_with = "lenient::bool")]
    print: Option<bool>,
    #[serde(default, alias = "accessId", deserialize_with = "lenient::string")]
    access_key_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    access_key: Option<String>,
    #[serde(default)]
    column: Vec<Column>,
    #[serde(default)]
    tags: Option<Vec<u32>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(expecting = "an object like {\"type\": \"long\"}")]
struct Column {
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    column_type: Option<String>,
}

fn parse_parameter(value: Value) -> Result<Parsed<Parameter>, String> {
    parse::<Parameter>(&value.to_string(), "parameter").map_err(|error| error.to_string())
}

#[test]
fn lenient_values_aliases_and_absent_keys() {
    let parsed = parse_parameter(json!({
        "project": "p",
        "sliceRecordCount": "100",
        "print": "FALSE",
        "accessId": 12,
        "accessKey": "",
        "column": [{"type": "long"}, {"type": null}],
        "tags": null
    }))
    .unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(
        parsed.value,
        Parameter {
            project: "p".to_string(),
            slice_record_count: Some(100),
            print: Some(false),
            access_key_id: Some("12".to_string()),
            access_key: None,
            column: vec![
                Column {
                    column_type: Some("long".to_string())
                },
                Column { column_type: None }
            ],
            tags: None,
        }
    );
}

#[test]
fn unknown_keys_are_warnings_with_a_did_you_mean() {
    let parsed = parse_parameter(json!({
        "project": "p",
        "sliceRecordCont": 1,
        "Print": true,
        "porject": "q",
        "colour": 1,
        "column": [{"type": "long", "width": 1}, {"Type": "long"}]
    }))
    .unwrap();
    assert_eq!(
        parsed.warnings,
        vec![
            "parameter.sliceRecordCont: unknown key, ignored; did you mean \"sliceRecordCount\"?",
            "parameter.Print: unknown key, ignored; did you mean \"print\"?",
            "parameter.porject: unknown key, ignored; did you mean \"project\"?",
            "parameter.colour: unknown key, ignored",
            "parameter.column[0].width: unknown key, ignored",
            "parameter.column[1].Type: unknown key, ignored; did you mean \"type\"?",
        ]
    );
    // An ignored key does not set the field it resembles.
    assert_eq!(parsed.value.slice_record_count, None);
}

#[test]
fn errors_name_the_json_path() {
    let error = |value: Value| parse_parameter(value).unwrap_err();
    assert_eq!(error(json!({})), "project: required");
    assert_eq!(
        error(json!({"project": "p", "sliceRecordCount": "ten"})),
        "sliceRecordCount: expected a non-negative integer, found \"ten\""
    );
    assert_eq!(
        error(json!({"project": "p", "print": "yes"})),
        "print: expected true or false, found \"yes\""
    );
    assert_eq!(
        error(json!({"project": "p", "column": [{}, {}, {"type": [1]}]})),
        "column[2].type: expected a string, found [..]"
    );
    assert_eq!(
        error(json!({"project": "p", "column": [{}, "long"]})),
        "column[1]: expected an object like {\"type\": \"long\"}, found \"long\""
    );
    assert_eq!(
        error(json!({"project": "p", "column": "long"})),
        "column: expected a list, found \"long\""
    );
    assert_eq!(
        error(json!({"project": "p", "tags": [1, "x"]})),
        "tags[1]: expected u32, found \"x\""
    );
    assert_eq!(
        parse::<Parameter>("[1]", "parameter")
            .unwrap_err()
            .to_string(),
        "parameter: expected an object, found [..]"
    );
    assert!(parse::<Parameter>("{", "parameter")
        .unwrap_err()
        .to_string()
        .starts_with("parameter: not valid JSON"));
}

#[test]
fn secret_values_are_never_shown() {
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Strict {
        access_key: Vec<String>,
    }
    let error = parse::<Strict>(r#"{"accessKey": "s3cr3t-value"}"#, "parameter").unwrap_err();
    assert_eq!(
        error.to_string(),
        "accessKey: expected a list, found a string"
    );
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Lenient {
        #[serde(default, deserialize_with = "lenient::u64")]
        password: Option<u64>,
    }
    let error = parse::<Lenient>(r#"{"password": "s3cr3t-value"}"#, "parameter").unwrap_err();
    assert_eq!(
        error.to_string(),
        "password: expected a non-negative integer, found a string"
    );
}

#[test]
fn known_keys_and_the_template_check() {
    assert_eq!(
        known_keys::<Parameter>(),
        [
            "project",
            "sliceRecordCount",
            "print",
            "accessId",
            "accessKeyId",
            "accessKey",
            "column",
            "tags"
        ]
    );
    assert!(known_keys::<Vec<u32>>().is_empty());
    assert_template_matches::<Parameter>(
        r#"{"project": "p", "sliceRecordCount": 1, "print": true, "accessKeyId": "",
            "accessKey": "", "column": [], "tags": []}"#,
    );
    assert_template_matches::<Parameter>(r#"{"project": "p", "accessId": ""}"#);
}

#[test]
#[should_panic(expected = "project: required")]
fn a_template_missing_a_required_key_fails_the_check() {
    assert_template_matches::<Parameter>(r#"{"sliceRecordCount": 1}"#);
}

#[test]
#[should_panic(expected = "keys the declaration lacks")]
fn a_template_with_an_undeclared_key_fails_the_check() {
    assert_template_matches::<Parameter>(r#"{"project": "p", "extra": 1}"#);
}

#[test]
fn task_configurations_round_trip() {
    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Task {
        start: u64,
        end: u64,
    }
    let text = task_to_json(&Task { start: 1, end: 9 }).unwrap();
    assert_eq!(
        task_from_json::<Task>(&text).unwrap(),
        Task { start: 1, end: 9 }
    );
    let error = task_from_json::<Task>(r#"{"start": 1}"#).unwrap_err();
    assert_eq!(error.message.as_str(), "task configuration: end: required");
    assert!(task_from_json::<Task>(r#"{"start": 1, "end": 2, "x": 0}"#).is_err());
}

#[test]
fn the_hosts_settings_are_taken_out_before_the_plugin_reads_its_parameter() {
    let value = json!({"project": "p", "_datax": {"column": {"timeZone": "UTC"}}});
    let parsed = from_value::<Parameter>(value, "parameter").unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.common_column.time_zone.as_deref(), Some("UTC"));
    let plain = parse::<Parameter>(r#"{"project": "p"}"#, "parameter").unwrap();
    assert!(plain.common_column.is_default());
    let error = from_value::<Parameter>(
        json!({"project": "p", "_datax": {"column": {"datetimeFormat": ["x"]}}}),
        "parameter",
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "common.column.datetimeFormat: expected a string, found [..]"
    );
}

#[test]
fn a_plans_task_configurations_reach_the_plugin_beside_the_column_settings() {
    let value = json!({"project": "p", "_datax": {
        "column": {"timeZone": "UTC"},
        "restore": {"taskConfigs": ["{\"a\":1}", "{\"a\":2}"]}
    }});
    let parsed = from_value::<Parameter>(value, "parameter").unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.common_column.time_zone.as_deref(), Some("UTC"));
    let restore = parsed.restore.expect("restore");
    assert_eq!(restore.task_configs, ["{\"a\":1}", "{\"a\":2}"]);
    let plain = parse::<Parameter>(r#"{"project": "p"}"#, "parameter").unwrap();
    assert_eq!(plain.restore, None);
    let error = from_value::<Parameter>(
        json!({"project": "p", "_datax": {"restore": {"taskConfigs": 3}}}),
        "parameter",
    )
    .unwrap_err();
    assert!(error.to_string().starts_with("_datax.restore: "), "{error}");
}
