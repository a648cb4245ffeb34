//! `dx_script` through the real binary: a Rhai script doing what DataX's doc example did in
//! Groovy, the same output as the built-in chain it replaces, an endless loop stopped by the
//! operation limit under errorLimit, compile errors at start with line and column, and
//! `dx_groovy`'s refusal naming a `dx_script` equivalent that runs.

use std::time::{Duration, Instant};

use datax_e2e::{datax_job, Run, Workspace};
use serde_json::{json, Value};

/// DataX's transformer.md reader columns.
fn doc_columns() -> Value {
    json!([
        {"value": "DataX", "type": "string"},
        {"value": 19491001, "type": "long"},
        {"value": "1949-10-01 00:00:00", "type": "date"},
        {"value": true, "type": "bool"},
        {"value": "test", "type": "bytes"},
    ])
}

fn job(columns: Value, records: u64, transformers: Value, error_limit: Value) -> Value {
    let mut job = datax_job(
        json!({"name": "streamreader", "parameter": {"column": columns, "sliceRecordCount": records}}),
        json!({"name": "streamwriter", "parameter": {"print": true, "fieldDelimiter": "|"}}),
        json!({"speed": {"channel": 1}, "errorLimit": error_limit}),
    );
    job["job"]["content"][0]["transformer"] = transformers;
    job
}

fn script(code: &str) -> Value {
    json!({"name": "dx_script", "parameter": {"code": code}})
}

fn printed(run: &Run) -> Vec<&str> {
    run.stdout.lines().collect()
}

#[test]
fn a_script_gives_what_the_built_in_chain_gives() {
    let built_ins = json!([
        {"name": "dx_substr", "parameter": {"columnIndex": 0, "paras": ["1", "3"]}},
        {"name": "dx_replace", "parameter": {"columnIndex": 4, "paras": ["3", "4", "****"]}},
        {"name": "dx_digest", "parameter": {"columnIndex": 3, "paras": ["md5", "toLowerCase"]}},
    ]);
    let same_in_a_script = json!([script(
        "record[0] = record[0].sub_string(1, 3);\n\
         record[4] = record[4].as_string().sub_string(0, 3) + \"****\";\n\
         record[3] = md5(record[3].to_string());"
    )]);
    let workspace = Workspace::new();
    let expected = workspace.run_reported(&job(doc_columns(), 2, built_ins, json!({"record": 0})));
    expected.assert_success();
    let run = workspace.run_reported(&job(
        doc_columns(),
        2,
        same_in_a_script,
        json!({"record": 0}),
    ));
    run.assert_success();
    assert_eq!(printed(&run), printed(&expected));
    assert_eq!(
        printed(&run)[0],
        "ata|19491001|1949-10-01 00:00:00|b326b5062b2f0e69046810717534cb09|tes****",
        "the date column kept its kind and text"
    );
    assert_eq!(workspace.report()["transformers"]["success_records"], 2);
}

#[test]
fn an_endless_loop_makes_its_record_dirty_quickly_under_error_limit() {
    let columns = json!([{"type": "long", "incr": "1,1"}]);
    let endless = json!([script(
        "if record[0] % 10 == 3 { loop { } }\nrecord[0] *= 2;"
    )]);
    let workspace = Workspace::new();
    let started = Instant::now();
    let run = workspace.run_reported(&job(
        columns.clone(),
        30,
        endless.clone(),
        json!({"record": 3}),
    ));
    run.assert_success();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(printed(&run).len(), 27);
    assert_eq!(printed(&run)[0], "2");
    let report = workspace.report();
    assert_eq!(report["transformers"]["failed_records"], 3);
    let dirty = workspace.dirty_records();
    let first: Value = serde_json::from_str(dirty.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["reason"],
        "transformer dx_script (job.content[0].transformer[0]) failed: the script ran past \
         maxOperations (100000) on this record at line 1, column 31"
    );
    assert_eq!(first["record"][0]["value"], 3);

    workspace
        .run_reported(&job(columns, 30, endless, json!({"record": 2})))
        .assert_failure("more than errorLimit.record = 2");
}

#[test]
fn a_script_that_does_not_compile_is_refused_at_start_with_line_and_column() {
    let broken = json!([script("let x = record[0];\nrecord[0] = x +;")]);
    let workspace = Workspace::new();
    let run = workspace.run_reported(&job(doc_columns(), 1, broken, json!({})));
    run.assert_failure(
        "job.content[0].transformer[0] (dx_script): parameter.code does not compile:",
    );
    assert!(
        run.last_line().ends_with("at line 2, column 16"),
        "{}",
        run.last_line()
    );
    assert!(run.stdout.is_empty(), "nothing ran: {}", run.stdout);
}

#[test]
fn dx_groovy_is_refused_with_a_dx_script_equivalent_that_runs() {
    let groovy = json!([{"name": "dx_groovy", "parameter": {"code": "return record;"}}]);
    let workspace = Workspace::new();
    let refused = workspace.run_reported(&job(doc_columns(), 1, groovy, json!({})));
    refused.assert_failure("(dx_groovy): Groovy cannot run here: use dx_script");
    let line = refused.last_line();
    let equivalent: Value = line
        .find("{\"name\": \"dx_script\"")
        .and_then(|start| serde_json::from_str(&line[start..]).ok())
        .unwrap_or_else(|| panic!("the message ends with a dx_script entry: {line}"));
    let run = workspace.run_reported(&job(doc_columns(), 1, json!([equivalent]), json!({})));
    run.assert_success();
    assert_eq!(printed(&run), ["DataX|194|1949-10-01 00:00:00|true|test"]);
}
