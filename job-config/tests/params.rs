//! Parameter substitution (spec §9.2).

use datax_job_config::{parse_lenient, JobError, Params};
use serde_json::{json, Value};

fn parse(text: &str, params: &Params) -> Value {
    parse_lenient(text, params)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

#[test]
fn datax_p_argument_defines_parameters() {
    let params = Params::parse_datax_args(
        "-Dbizdate=20161226 -Dbdp.system.bizdate=20161225  -Dwhere='a = 1'",
    )
    .unwrap();
    assert_eq!(params.get("bizdate"), Some("20161226"));
    assert_eq!(params.get("bdp.system.bizdate"), Some("20161225"));
    assert_eq!(params.get("where"), Some("a = 1"));
    assert_eq!(params.get("missing"), None);
}

#[test]
fn param_pairs_may_hold_equals_signs_and_be_empty() {
    let mut params = Params::new();
    params.add_pair("filter=a=b").unwrap();
    params.add_pair("empty=").unwrap();
    assert_eq!(params.get("filter"), Some("a=b"));
    assert_eq!(params.get("empty"), Some(""));
}

#[test]
fn malformed_param_arguments_are_errors() {
    let cases = [
        (
            "bizdate=1",
            "parameter argument `bizdate=1`: expected -Dname=value",
        ),
        (
            "-Dbizdate",
            "parameter argument `bizdate`: expected name=value",
        ),
        (
            "-D=1",
            "parameter argument `=1`: a parameter name is made of letters",
        ),
        (
            "-Dx='unclosed",
            "parameter argument `-Dx='unclosed`: a quote is not closed",
        ),
        ("-Da$b=1", "parameter argument `a$b=1`: a parameter name"),
    ];
    for (args, expected) in cases {
        let err = Params::parse_datax_args(args).unwrap_err().to_string();
        assert!(err.contains(expected), "{args}: {err}");
    }
}

#[test]
fn braced_dotted_and_bare_placeholders_are_replaced() {
    let params =
        Params::parse_datax_args("-Dbizdate=20161226 -Dbdp.system.bizdate=20161225 -Dch=3")
            .unwrap();
    let text = r#"{"p": "pt=${bizdate}", "d": "ds='${bdp.system.bizdate}'", "b": "$bizdate", "channel": $ch}"#;
    assert_eq!(
        parse(text, &params),
        json!({"p": "pt=20161226", "d": "ds='20161225'", "b": "20161226", "channel": 3})
    );
}

#[test]
fn undefined_bare_names_and_non_names_are_left_alone() {
    let params = Params::parse_datax_args("-Dday=1").unwrap();
    let text = r#"{"password": "pa$word$", "x": "$[yyyymmdd-1]", "y": "${}", "z": "$days"}"#;
    assert_eq!(
        parse(text, &params),
        json!({"password": "pa$word$", "x": "$[yyyymmdd-1]", "y": "${}", "z": "$days"})
    );
}

#[test]
fn double_dollar_writes_a_literal_placeholder() {
    let text = r#"{"a": "$${bizdate}", "b": "$$${x}"}"#;
    let params = Params::parse_datax_args("-Dx=7").unwrap();
    assert_eq!(
        parse(text, &params),
        json!({"a": "${bizdate}", "b": "$${x}"})
    );
}

#[test]
fn an_undefined_braced_placeholder_is_an_error_with_its_position() {
    let text = "{\n  \"partition\": [\"pt=${bizdate}\"]\n}";
    let err = parse_lenient(text, &Params::new()).unwrap_err();
    assert_eq!(
        err,
        JobError::UnresolvedParam {
            name: "bizdate".to_string(),
            line: 2,
            column: 21
        }
    );
    assert!(err.to_string().starts_with(
        "line 2, column 21: parameter `${bizdate}` is not defined (give it with -p \"-Dbizdate=VALUE\""
    ));
}

#[test]
fn placeholders_in_comments_are_ignored() {
    let text = "{\"a\": 1 // uses ${undefined}\n}";
    assert_eq!(parse(text, &Params::new()), json!({"a": 1}));
}

#[test]
fn values_inside_strings_are_json_escaped() {
    let params = Params::parse_datax_args(r#"-Dwhere='name = "x" and path = C:\tmp'"#).unwrap();
    let value = parse(r#"{"where": "${where}"}"#, &params);
    assert_eq!(value["where"], r#"name = "x" and path = C:\tmp"#);
}

#[test]
fn values_outside_strings_are_inserted_as_json() {
    let params = Params::parse_datax_args(r#"-Dcolumns='["a","b"]'"#).unwrap();
    assert_eq!(
        parse(r#"{"column": ${columns}}"#, &params),
        json!({"column": ["a", "b"]})
    );
}
