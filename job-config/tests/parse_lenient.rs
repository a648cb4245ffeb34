//! Lenient JSON: what is accepted (with a warning) and what stays an error, with its position.

mod common;

use common::job_text;
use datax_job_config::{load_job, parse_lenient, JobError, Params};
use serde_json::json;

/// DataWorks' editor saved `"mbps": 8,/作业速率上限`: the lone `/` is a comment to the end of
/// its line, warned at its line and column; what follows it is read as usual.
#[test]
fn the_stray_slash_file_loads_with_a_warning_at_the_slash() {
    let params =
        Params::parse_datax_args("-DstartTime=20240101000000 -DendTime=20240102000000").unwrap();
    let loaded = load_job(
        &job_text("dw1-loghub-to-odps-commented.json"),
        &params,
        None,
    )
    .unwrap();
    let lone: Vec<&String> = loaded
        .warnings
        .iter()
        .filter(|warning| warning.contains("lone `/`"))
        .collect();
    assert_eq!(
        lone,
        ["line 37, column 11: lone `/` read as a comment to the end of the line (not standard JSON)"]
    );
}

#[test]
fn a_lone_slash_outside_a_string_hides_the_rest_of_its_line_only() {
    let (value, _) =
        parse_lenient("{\"a\": 1, / \"b\": 2,\n\"c\": \"x/y\"}", &Params::new()).unwrap();
    assert_eq!(value, json!({"a": 1, "c": "x/y"}));
    // What the slash hides is gone: a value it cuts short stays an error, at its line.
    let err = parse_lenient("{\"a\": /1\n}", &Params::new()).unwrap_err();
    assert!(matches!(err, JobError::Syntax { line: 2, .. }), "{err}");
}

#[test]
fn comments_trailing_commas_and_nbsp_are_accepted_with_warnings() {
    let text =
        "{\n  // a comment\n  \"a\": [1, 2,], /* b */\n\u{a0}\u{a0}\"b\": {\"c\": \"x\",},\n}";
    let (value, warnings) = parse_lenient(text, &Params::new()).unwrap();
    assert_eq!(value, json!({"a": [1, 2], "b": {"c": "x"}}));
    assert_eq!(
        warnings,
        vec![
            "line 2, column 3: `//` comment ignored (not standard JSON)",
            "line 3, column 13: trailing comma ignored (not standard JSON)",
            "line 3, column 17: `/* */` comment ignored (not standard JSON)",
            "line 4, column 17: trailing comma ignored (not standard JSON)",
            "line 4, column 19: trailing comma ignored (not standard JSON)",
            "line 4, column 1: no-break space (U+00A0) read as whitespace (2 in the file) (not standard JSON)",
        ]
    );
}

#[test]
fn slashes_and_nbsp_inside_strings_are_text() {
    let text = "{\"url\": \"http://x/a//b\", \"c\": \"/* no */\", \"s\": \"a\u{a0}b\"}";
    let (value, warnings) = parse_lenient(text, &Params::new()).unwrap();
    assert_eq!(value["url"], "http://x/a//b");
    assert_eq!(value["c"], "/* no */");
    assert_eq!(value["s"], "a\u{a0}b");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn error_columns_count_characters_of_the_original_text() {
    // The comment holds multi-byte characters: the column is still the character's column.
    let text = "{\"a\": 1, // 作业速率上限\n  \"b\": 2 3}";
    let err = parse_lenient(text, &Params::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2, column 10 (in b): expected `,` or `}`"
    );
}

#[test]
fn error_positions_survive_substitution() {
    // A long value before the error must not move the reported column.
    let params = Params::parse_datax_args("-Dlong=aaaaaaaaaaaaaaaaaaaa").unwrap();
    let with_placeholder = "{\"a\": \"${long}\", \"b\": tru}";
    let same_length_text = "{\"a\": \"1234567\", \"b\": tru}";
    let substituted = parse_lenient(with_placeholder, &params).unwrap_err();
    let plain = parse_lenient(same_length_text, &Params::new()).unwrap_err();
    assert_eq!(substituted, plain);
    assert_eq!(
        substituted.to_string(),
        "line 1, column 26 (in b): expected ident"
    );
}

#[test]
fn an_unclosed_block_comment_is_an_error_at_its_start() {
    let err = parse_lenient("{\"a\": 1,\n  /* never closed\n}", &Params::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2, column 3: `/*` comment is never closed with `*/`"
    );
}
