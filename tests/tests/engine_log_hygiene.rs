//! Logs do not flood (issue 13, finding 10): a huge value is cut to a few hundred characters in
//! every log line, with its full length shown, while the dirty-record file keeps it whole.

use datax_e2e::{datax_job, Workspace};
use serde_json::json;

const BIG: usize = 1 << 20;

#[test]
fn a_huge_value_in_the_job_is_logged_cut_with_its_length() {
    let workspace = Workspace::new();
    let huge = "v".repeat(BIG);
    let run = workspace.run_reported(&datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "string", "value": huge}], "sliceRecordCount": 1}}),
        json!({"name": "streamwriter", "parameter": {"print": false}}),
        json!({"speed": {"channel": 1}}),
    ));
    run.assert_success()
        .assert_logged(&format!("…({BIG} bytes)"));
    assert!(
        run.stderr.len() < 16 * 1024,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn huge_dirty_records_are_logged_cut_and_kept_whole_in_the_dirty_file() {
    let workspace = Workspace::new();
    let run = workspace.run_reported(&datax_job(
        json!({"name": "testkitreader", "parameter": {
            "records": 3, "dirtyEvery": 1, "valueBytes": BIG}}),
        json!({"name": "testkitwriter", "parameter": {}}),
        json!({"errorLimit": {"record": 10}}),
    ));
    run.assert_success()
        .assert_logged(&format!("…({} bytes)", BIG));
    assert!(
        run.stderr.len() < 16 * 1024,
        "{} bytes of stderr",
        run.stderr.len()
    );
    let dirty = workspace.dirty_records();
    assert_eq!(dirty.lines().count(), 3);
    for line in dirty.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let value = record["record"][2]["value"].as_str().unwrap();
        assert_eq!(value.len(), BIG, "the dirty file keeps the whole value");
    }
}

#[test]
fn an_error_echoing_a_huge_value_is_cut_on_stderr_and_whole_in_the_report() {
    let workspace = Workspace::new();
    let run = workspace.run_reported(&datax_job(
        json!({"name": "testkitreader", "parameter": {
            "records": 1, "failAt": "run", "valueBytes": BIG}}),
        json!({"name": "testkitwriter", "parameter": {}}),
        json!({}),
    ));
    run.assert_failure("testkit fails at run as asked (value xxx");
    assert!(
        run.stderr.len() < 32 * 1024,
        "{} bytes of stderr",
        run.stderr.len()
    );
    let error = workspace.report()["error"].as_str().unwrap().to_string();
    assert!(error.len() > BIG, "the report keeps the whole error");
}
