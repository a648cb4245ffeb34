//! Bad input gets a clear error naming what and where, exit code 1, and never a panic.

use datax_e2e::Workspace;

const READER: &str = r#"{"name":"streamreader","parameter":{"column":[{"type":"long","value":1}],"sliceRecordCount":1}}"#;
const WRITER: &str = r#"{"name":"streamwriter","parameter":{"print":false}}"#;

fn content(reader: &str, writer: &str) -> String {
    format!(r#"{{"job": {{"content": [{{"reader": {reader}, "writer": {writer}}}]}}}}"#)
}

fn with_setting(setting: &str) -> String {
    format!(
        r#"{{"job": {{"setting": {setting}, "content": [{{"reader": {READER}, "writer": {WRITER}}}]}}}}"#
    )
}

fn reader_parameter(parameter: &str) -> String {
    content(
        &format!(r#"{{"name":"streamreader","parameter":{parameter}}}"#),
        WRITER,
    )
}

#[test]
fn malformed_jobs_fail_with_a_message_naming_what_and_where() {
    let cases: Vec<(String, &str)> = vec![
        (
            format!(r#"{{"job": {{"content": [{{"reader": {READER}, "writer": {WRITER}}}]"#),
            "line 1, column 192 (in job.content[0]): EOF while parsing an object",
        ),
        (
            format!(r#"{{"job": {{"content": [{{"reader": {READER} "writer": {WRITER}}}]}}}}"#),
            "line 1, column 129 (in job.content[0].reader): expected `,` or `}`",
        ),
        (
            format!(r#"{{"job": {{"content": [{{"writer": {WRITER}}}]}}}}"#),
            "job.content[0].reader: missing: the job has no reader",
        ),
        (
            format!(r#"{{"job": {{"content": [{{"reader": {READER}}}]}}}}"#),
            "job.content[0].writer: missing: the job has no writer",
        ),
        (
            content(r#"{"name":"mysqlreader","parameter":{}}"#, WRITER),
            "job.content[0].reader.name: no reader plugin named 'mysqlreader'; readers found: loghubreader (loghub), odpsreader (odps), streamreader (stream)",
        ),
        (
            format!(
                r#"{{"job": {{"content": [{{"reader": {READER}, "writer": {WRITER}}}, {{"reader": {READER}, "writer": {WRITER}}}]}}}}"#
            ),
            "job.content[1]: a job runs exactly one content element, this one has 2",
        ),
        (
            with_setting(r#"{"speed": {"channel": [2]}}"#),
            "job.setting.speed.channel: expected an integer, found [..]",
        ),
        (
            with_setting(r#"{"errorLimit": {"record": "many"}}"#),
            "job.setting.errorLimit.record: expected a non-negative integer, found \"many\"",
        ),
        (
            with_setting(r#"{"errorLimit": {"percentage": 2}}"#),
            "job.setting.errorLimit.percentage: 2 is not a fraction between 0 and 1",
        ),
        (
            reader_parameter(r#"{"column":[{"type":"long","value":"${n}"}],"sliceRecordCount":1}"#),
            "line 1, column 103: parameter `${n}` is not defined",
        ),
        (
            r#"{"type":"job","version":"2.0","steps":[{"stepType":"stream","parameter":{},"name":"Reader","category":"reader"}],"order":{"hops":[]}}"#.to_string(),
            "steps: no step with category `writer`",
        ),
        (
            r#"{"type":"job","version":"1.0","configuration":{"reader":{"parameter":{}},"writer":{"plugin":"stream","parameter":{}}}}"#.to_string(),
            "configuration.reader.plugin: missing",
        ),
        ("[1,2,3]".to_string(), "(top level): expected a JSON object, found [..]"),
        (String::new(), "line 1, column 1: the text is empty"),
        (
            reader_parameter(r#"{"column":[{"type":"foo","value":1}],"sliceRecordCount":1}"#),
            "reader 'streamreader' (job.content[0].reader) init failed: configuration error: column[0].type: unknown type \"foo\"",
        ),
        (
            reader_parameter(r#"{"column":[{"type":"long","value":"abc"}],"sliceRecordCount":1}"#),
            "column[0].value: expected an integer, found \"abc\"",
        ),
        (
            reader_parameter(r#"{"column":[{"type":"long","value":1}]}"#),
            "sliceRecordCount: required",
        ),
        (
            content(READER, r#"{"name":"streamwriter","parameter":{"print":"maybe"}}"#),
            "writer 'streamwriter' (job.content[0].writer) init failed: configuration error: print: expected true or false, found \"maybe\"",
        ),
        (
            format!(
                r#"{{"job": {{"content": [{{"reader": {READER}, "writer": {WRITER}, "transformer": [{{"name": "dx_substr"}}]}}]}}}}"#
            ),
            "job.content[0].transformer[0] (dx_substr): parameter.columnIndex is required",
        ),
        (
            content(r#"{"name": 5, "parameter": {}}"#, WRITER),
            "job.content[0].reader.name: expected a plugin name, found 5",
        ),
    ];
    assert!(cases.len() >= 15);
    let workspace = Workspace::new();
    for (index, (text, expected)) in cases.iter().enumerate() {
        let name = format!("case{index}.json");
        let path = workspace.write(&name, text);
        let run = workspace.run(&[path.to_str().unwrap()]);
        run.assert_failure(expected);
    }
}

/// Strict elsewhere: a lone `/` is a comment (DataWorks saved such files), but what it hides
/// is gone, so a value it cuts short is still an error at its line and JSON path.
#[test]
fn a_lone_slash_that_cuts_a_value_short_is_an_error_at_its_line() {
    let workspace = Workspace::new();
    let job = workspace.write(
        "job.json",
        "{\"job\": {\"setting\": {\"speed\": {\"channel\": /2\n}}}}",
    );
    workspace
        .run(&["check", job.to_str().unwrap()])
        .assert_failure("line 2, column 1 (in job.setting.speed.channel): expected value");
}

#[test]
fn bad_parameters_and_missing_files_are_named() {
    let workspace = Workspace::new();
    let job = workspace.write("job.json", &content(READER, WRITER));
    workspace
        .run(&[job.to_str().unwrap(), "-p", "-Dbroken"])
        .assert_failure("-p: parameter argument `broken`: expected name=value");
    workspace
        .run(&["missing.json"])
        .assert_failure("cannot read job file missing.json: No such file or directory");
    workspace
        .run(&[job.to_str().unwrap(), "--datasources", "nowhere.json"])
        .assert_failure("cannot read data sources file nowhere.json");
}

#[test]
fn lenient_dataworks_syntax_runs_with_warnings() {
    let workspace = Workspace::new();
    let job = workspace.write(
        "job.json",
        &format!(
            "{{\"job\": {{\n  // a comment\n  \"setting\": {{\"speed\": {{\"channel\": \"1\",}}}},\u{a0}\n  \
             \"content\": [{{\"reader\": {READER}, \"writer\": {WRITER}}}],\n}}}}"
        ),
    );
    let run = workspace.run(&[job.to_str().unwrap()]);
    run.assert_success();
    assert!(run.stderr.contains("WARN"), "{}", run.stderr);
    assert!(run.stderr.contains("comment"), "{}", run.stderr);
}

#[test]
fn a_byte_order_mark_before_the_job_is_skipped_with_a_warning() {
    let workspace = Workspace::new();
    let job = workspace.write("job.json", &format!("\u{feff}{}", content(READER, WRITER)));
    workspace
        .run(&[job.to_str().unwrap()])
        .assert_success()
        .assert_logged("starts with a UTF-8 byte order mark: skipped");
}
