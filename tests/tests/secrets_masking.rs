//! Secrets never appear in logs, errors, reports or dirty-record files.

use datax_e2e::{datax_job, Workspace};
use serde_json::json;

const PASSWORD: &str = "Tr0ub4dor&3-datax";
const ACCESS_KEY: &str = "LTAI5tQ8secretkeyvalue";

#[test]
fn secrets_are_masked_in_configuration_logs_and_scrubbed_from_plugin_errors() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            json!({"name": "testkitreader", "parameter": {
                "records": 10, "password": PASSWORD, "accessKey": ACCESS_KEY,
                "failAt": "run", "leakIntoError": true}}),
            json!({"name": "testkitwriter", "parameter": {"securityToken": "tok-123456789"}}),
            json!({}),
        ),
    );
    let run = workspace.run(&[
        job.to_str().unwrap(),
        "--log-level",
        "debug",
        "--report-json",
        "report.json",
    ]);
    run.assert_failure("testkit fails at run as asked (password was *****)");
    let report = std::fs::read_to_string(workspace.path("report.json")).unwrap();
    for secret in [PASSWORD, ACCESS_KEY, "tok-123456789"] {
        for (what, text) in [
            ("stderr", &run.stderr),
            ("stdout", &run.stdout),
            ("report", &report),
        ] {
            assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
        }
    }
    assert!(
        run.stderr.contains(r#""password":"*****""#),
        "{}",
        run.stderr
    );
}

#[test]
fn check_masks_secrets_in_its_errors_too() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            json!({"name": "testkitreader", "parameter": {
                "password": PASSWORD, "failAt": "init", "leakIntoError": true}}),
            json!({"name": "testkitwriter", "parameter": {}}),
            json!({}),
        ),
    );
    let run = workspace.run(&["check", job.to_str().unwrap()]);
    run.assert_failure("(password was *****)");
    assert!(!run.stderr.contains(PASSWORD));
}

#[test]
fn secrets_a_plugin_echoes_are_scrubbed_from_dirty_records_and_the_report() {
    let workspace = Workspace::new();
    let run = workspace.run_reported(&datax_job(
        json!({"name": "testkitreader", "parameter": {
            "records": 4, "accessKey": ACCESS_KEY, "dirtyEvery": 2, "leakIntoError": true}}),
        json!({"name": "testkitwriter", "parameter": {
            "password": PASSWORD, "failAt": "post", "leakIntoError": true}}),
        json!({"errorLimit": {"record": 10}}),
    ));
    run.assert_failure("testkit fails at post as asked (password was *****)");
    let dirty = workspace.dirty_records();
    assert_eq!(dirty.lines().count(), 2, "{dirty}");
    assert!(
        dirty.contains("is dirty as asked (accessKey was *****)"),
        "{dirty}"
    );
    let report = std::fs::read_to_string(workspace.path("report.json")).unwrap();
    for secret in [PASSWORD, ACCESS_KEY] {
        for (what, text) in [
            ("dirty file", &dirty),
            ("report", &report),
            ("stderr", &run.stderr),
        ] {
            assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
        }
    }
}
