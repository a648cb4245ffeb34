//! Every output path is contained and checked before data moves (issue 13, findings 5 and 9):
//! streamwriter's `fileName` is a file name, never a path, and a report, dirty-record file or
//! output folder that cannot be written fails the job before any reader task starts.

use std::fs;

use datax_e2e::{datax_job, Workspace};
use serde_json::{json, Value};

fn to_files(path: &str, file_name: &str) -> Value {
    datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "long", "value": 1}], "sliceRecordCount": 3}}),
        json!({"name": "streamwriter", "parameter": {"path": path, "fileName": file_name}}),
        json!({"speed": {"channel": 1}}),
    )
}

#[test]
fn a_file_name_that_is_a_path_is_refused() {
    for file_name in [
        "../../escaped",
        "/tmp/absolute-datax",
        "/",
        "sub/file",
        "..",
        ".",
        "",
    ] {
        let workspace = Workspace::new();
        let out = workspace.path("out/inner");
        let job = workspace.write_json("job.json", &to_files(out.to_str().unwrap(), file_name));
        let run = workspace.run(&[job.to_str().unwrap()]);
        if file_name.is_empty() {
            // Blank like `path` means "print" in the template: the pair is then required.
            run.assert_failure("fileName: required with path");
            continue;
        }
        run.assert_failure(&format!(
            "writer 'streamwriter' (job.content[0].writer) init failed: configuration error: \
             fileName: \"{file_name}\" must be a file name in `path`"
        ));
        assert!(!workspace.path("escaped").exists());
        assert!(!out.exists(), "nothing was created");
    }
}

#[test]
fn a_file_name_given_as_a_parameter_cannot_escape_either() {
    let workspace = Workspace::new();
    let out = workspace.path("out/inner");
    let job = workspace.write_json("job.json", &to_files(out.to_str().unwrap(), "${name}"));
    let run = workspace.run(&[job.to_str().unwrap(), "-p", "-Dname=../../escaped"]);
    run.assert_failure("fileName: \"../../escaped\" must be a file name in `path`");
    assert!(!workspace.path("escaped").exists());
}

#[test]
fn a_report_that_cannot_be_written_fails_before_any_data_moves() {
    let workspace = Workspace::new();
    let out = workspace.path("out");
    let job = workspace.write_json("job.json", &to_files(out.to_str().unwrap(), "result"));
    let run = workspace.run(&[
        job.to_str().unwrap(),
        "--report-json",
        "/nonexistent/r.json",
    ]);
    run.assert_failure("--report-json /nonexistent/r.json: ");
    assert!(
        !out.join("result").exists(),
        "data moved before the report failed"
    );
    assert!(!run.stderr.contains("Records read"), "{}", run.stderr);
}

#[test]
fn a_dirty_file_that_cannot_be_written_fails_before_any_data_moves() {
    let workspace = Workspace::new();
    let out = workspace.path("out");
    let job = workspace.write_json("job.json", &to_files(out.to_str().unwrap(), "result"));
    let run = workspace.run(&[
        job.to_str().unwrap(),
        "--dirty-file",
        "/nonexistent/dirty.jsonl",
    ]);
    run.assert_failure("--dirty-file /nonexistent/dirty.jsonl: ");
    assert!(
        !out.join("result").exists(),
        "data moved before the check failed"
    );
    // A job without dirty records leaves no dirty file behind, checked or not.
    let run = workspace.run(&[job.to_str().unwrap(), "--dirty-file", "dirty.jsonl"]);
    run.assert_success();
    assert!(!workspace.path("dirty.jsonl").exists());
}

#[test]
fn an_output_folder_that_cannot_be_written_fails_at_prepare() {
    let workspace = Workspace::new();
    // A file where a folder on the way should be: the writer cannot create its files there.
    workspace.write("blocker", "");
    let out = workspace.path("blocker/out");
    let job = workspace.write_json("job.json", &to_files(out.to_str().unwrap(), "result"));
    let run = workspace.run(&[job.to_str().unwrap(), "--report-json", "report.json"]);
    run.assert_failure("writer 'streamwriter' (job.content[0].writer) prepare failed");
    assert_eq!(workspace.report()["records_read"], 0);

    // The file name taken by a folder: refused at prepare too, before the reader starts.
    let out = workspace.path("out");
    fs::create_dir_all(out.join("result")).unwrap();
    let job = workspace.write_json("job.json", &to_files(out.to_str().unwrap(), "result"));
    let run = workspace.run(&[job.to_str().unwrap(), "--report-json", "report.json"]);
    run.assert_failure("prepare failed");
    assert_eq!(workspace.report()["records_read"], 0);
}
