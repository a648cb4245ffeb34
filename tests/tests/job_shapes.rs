//! The three job file shapes run unchanged, with parameters and data sources filled in.

use std::fs;
use std::path::Path;

use datax_e2e::Workspace;
use serde_json::json;

fn lines_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|file| {
            fs::read_to_string(file)
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

const READER_COLUMNS: &str =
    r#"[{"type": "string", "value": "${word}"}, {"type": "long", "value": 42}]"#;

#[test]
fn datax_shape_with_datax_style_parameters() {
    let workspace = Workspace::new();
    let out = workspace.path("out");
    let job = workspace.write(
        "job.json",
        &format!(
            r#"{{"job": {{"setting": {{"speed": {{"channel": 2}}}}, "content": [{{
                "reader": {{"name": "streamreader", "parameter": {{"column": {READER_COLUMNS}, "sliceRecordCount": ${{count}}}}}},
                "writer": {{"name": "streamwriter", "parameter": {{"print": false, "path": "{}", "fileName": "part"}}}}}}]}}}}"#,
            out.display()
        ),
    );
    workspace
        .run(&[job.to_str().unwrap(), "-p", "-Dword=hello -Dcount=3"])
        .assert_success();
    assert_eq!(
        lines_in(&out),
        vec!["hello\t42"; 6],
        "3 records from each of 2 tasks"
    );
}

#[test]
fn dataworks_1_shape_with_param_flags_and_a_data_source() {
    let workspace = Workspace::new();
    let out = workspace.path("out");
    let job = workspace.write(
        "job.json",
        &format!(
            r#"{{"type": "job", "version": "1.0", "configuration": {{
                "setting": {{"errorLimit": {{"record": "0"}}, "speed": {{"concurrent": "1", "throttle": false, "dmu": 1}}}},
                "reader": {{"plugin": "stream", "parameter": {{"column": {READER_COLUMNS}, "sliceRecordCount": "2"}}}},
                "writer": {{"plugin": "stream", "parameter": {{"datasource": "files", "path": "", "fileName": "*****"}}}}}}}}"#
        ),
    );
    let sources = workspace.write_json(
        "sources.json",
        &json!({"files": {"type": "stream", "parameter": {
            "path": "${env:OUT_DIR}", "fileName": "filled", "print": false}}}),
    );
    let run = datax_e2e::Run::from(
        workspace
            .datax()
            .args([job.to_str().unwrap(), "--param", "word=hi"])
            .arg("--datasources")
            .arg(&sources)
            .env("OUT_DIR", &out)
            .output()
            .unwrap(),
    );
    run.assert_success();
    assert_eq!(
        fs::read_to_string(out.join("filled")).unwrap(),
        "hi\t42\nhi\t42\n"
    );
}

#[test]
fn dataworks_2_shape_with_hops() {
    let workspace = Workspace::new();
    let out = workspace.path("out");
    let job = workspace.write(
        "job.json",
        &format!(
            r#"{{"type": "job", "version": "2.0",
                "steps": [
                  {{"stepType": "stream", "name": "Reader", "category": "reader",
                    "parameter": {{"column": [{{"type": "string", "value": "$${{word}}"}}, {{"type": "long", "value": 42}}], "sliceRecordCount": 4}}}},
                  {{"stepType": "stream", "name": "Writer", "category": "writer",
                    "parameter": {{"print": "false", "path": "{}", "fileName": "dw2"}}}}],
                "setting": {{"speed": {{"concurrent": 1, "throttle": false}}}},
                "order": {{"hops": [{{"from": "Reader", "to": "Writer"}}]}}}}"#,
            out.display()
        ),
    );
    workspace
        .run(&[job.to_str().unwrap(), "--param", "word=unused"])
        .assert_success();
    assert_eq!(
        lines_in(&out),
        vec!["${word}\t42"; 4],
        "$${{word}} writes a literal ${{word}}"
    );
}

#[test]
fn the_shared_stream_job_runs_unchanged() {
    let workspace = Workspace::new();
    let job = datax_e2e::shared_jobs().join("datax-stream2stream-default.json");
    workspace
        .run(&[job.to_str().unwrap(), "--report-json", "report.json"])
        .assert_success();
    let report = workspace.read_json("report.json");
    assert_eq!(
        report["records_read"], 200,
        "100 records from each of 2 channels"
    );
    assert_eq!(report["records_written"], 200);
}

#[test]
fn the_repository_example_job_runs() {
    let workspace = Workspace::new();
    let job = datax_e2e::repo_jobs().join("stream-to-stream.json");
    let run = workspace.run(&[job.to_str().unwrap(), "--report-json", "report.json"]);
    run.assert_success();
    assert!(run.stderr.contains("Records read"), "{}", run.stderr);
    assert!(
        workspace.read_json("report.json")["records_read"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// A `setting`, `core` or `common` key `datax` does not act on is named once in the log,
/// a misspelt one with the key it was probably meant to be; the speed line names the
/// limiter that acts.
#[test]
fn settings_not_acted_on_are_warned_about_once_each() {
    let workspace = Workspace::new();
    let job = workspace.write(
        "job.json",
        r#"{"job": {"setting": {"speed": {"channel": 1, "recrod": 10}}, "content": [{
                "reader": {"name": "streamreader", "parameter": {"column": [{"type": "long", "value": 1}], "sliceRecordCount": 2}},
                "writer": {"name": "streamwriter", "parameter": {"print": false}}}]},
            "core": {"transport": {"channel": {"capacity": 512, "speed": {"record": 1000}}}},
            "common": {"column": {"timeZone": "GMT+8", "timezone": "UTC"}}}"#,
    );
    let run = workspace.run(&[job.to_str().unwrap()]);
    run.assert_success();
    for warning in [
        "job.setting.speed.recrod: unknown key, ignored; did you mean \"record\"?",
        "core.transport.channel.capacity: `datax` does not act on this setting, ignored",
        "common.column.timezone: unknown key, ignored; did you mean \"timeZone\"?",
    ] {
        assert_eq!(
            run.stderr.matches(warning).count(),
            1,
            "{warning}\n{}",
            run.stderr
        );
    }
    // Acted on (tests/tests/parity_common_column.rs): no warning.
    assert!(
        !run.stderr.contains("common.column.timeZone"),
        "{}",
        run.stderr
    );
    run.assert_logged(
        "each channel limited to 1000 records/s on its own (core.transport.channel.speed.record, as DataX)",
    );
}
