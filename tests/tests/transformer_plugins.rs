//! Transformer plugins from the plugin folder through the real binary: `test_tag`
//! (`tests/plugins/testtag`) is listed, runs in a chain beside the built-ins, changes whole
//! records, filters and fails them under errorLimit, refuses a bad parameter before anything
//! runs, and its panic fails its reader task without taking the host down.

use datax_e2e::{datax_job, Run, Workspace};
use serde_json::{json, Value};

/// A stream → stream job over records `[long 1..=records, string "v"]`, printed `|`-separated.
fn job(records: u64, transformers: Value, error_limit: Value) -> Value {
    let columns = json!([{"type": "long", "incr": "1,1"}, {"type": "string", "value": "v"}]);
    let mut job = datax_job(
        json!({"name": "streamreader", "parameter": {"column": columns, "sliceRecordCount": records}}),
        json!({"name": "streamwriter", "parameter": {"print": true, "fieldDelimiter": "|"}}),
        json!({"speed": {"channel": 1}, "errorLimit": error_limit}),
    );
    job["job"]["content"][0]["transformer"] = transformers;
    job
}

fn test_tag(parameter: Value) -> Value {
    json!({"name": "test_tag", "parameter": parameter})
}

fn printed(run: &Run) -> Vec<&str> {
    run.stdout.lines().collect()
}

#[test]
fn the_transformer_plugin_is_listed_with_its_kind_and_name() {
    let run = Workspace::new().run(&["plugins"]);
    run.assert_success();
    let line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("testtag "))
        .unwrap_or_else(|| panic!("testtag is listed:\n{}", run.stdout));
    assert!(
        line.contains(" transformer ") && line.contains("test_tag"),
        "{line}"
    );
}

#[test]
fn a_plugin_runs_in_the_chain_with_built_ins_filtering_and_failing_records() {
    let transformers = json!([
        {"name": "dx_pad", "parameter": {"columnIndex": 1, "paras": ["l", "3", "0"]}},
        test_tag(json!({"columnIndex": 0, "suffix": "!", "appendColumn": "added",
                        "filterIf": "2", "failIf": "4"})),
        {"name": "dx_substr", "parameter": {"columnIndex": 2, "paras": ["0", "3"]}},
    ]);
    let workspace = Workspace::new();
    let run = workspace.run_reported(&job(5, transformers, json!({"record": 1})));
    run.assert_success().assert_logged(
        "| Transformer Success 4 records | Transformer Error 1 records | Transformer Filter 1 \
         records | Transformer usedTime ",
    );
    assert_eq!(printed(&run), ["1!|00v|add", "3!|00v|add", "5!|00v|add"]);
    let report = workspace.report();
    assert_eq!(report["transformers"]["success_records"], 4);
    assert_eq!(report["transformers"]["filter_records"], 1);
    assert_eq!(report["transformers"]["failed_records"], 1);
    assert_eq!(report["records_written"], 3);
    let dirty: Value = serde_json::from_str(workspace.dirty_records().trim()).unwrap();
    assert_eq!(
        dirty["reason"],
        "transformer test_tag (job.content[0].transformer[1]) failed: test_tag refuses 4"
    );

    let transformers = json!([test_tag(json!({"columnIndex": 0, "failIf": "4"}))]);
    workspace
        .run_reported(&job(5, transformers, json!({"record": 0})))
        .assert_failure("more than errorLimit.record = 0");
}

#[test]
fn a_panicking_transformer_fails_its_task_and_the_host_ends_the_job() {
    let transformers = json!([
        {"name": "dx_pad", "parameter": {"columnIndex": 1, "paras": ["r", "2", "-"]}},
        test_tag(json!({"columnIndex": 0, "panicIf": "3"})),
    ]);
    let workspace = Workspace::new();
    let run = workspace.run_reported(&job(1000, transformers, json!({"record": 1000})));
    run.assert_failure(
        "reader task 0 ('streamreader') failed: plugin panicked: \
         job.content[0].transformer[1] (test_tag): test_tag panics on 3",
    );
    assert!(!run.stderr.contains("panicked at"), "{}", run.stderr);
    let report = workspace.report();
    assert_eq!(report["transformers"]["success_records"], 2);
    assert_eq!(
        report["transformers"]["failed_records"], 0,
        "a panic is no dirty record"
    );
}

#[test]
fn bad_parameters_and_unknown_names_are_refused_before_anything_runs() {
    let cases = [
        (
            json!([test_tag(json!({"suffix": "!"}))]),
            "job.content[0].transformer[0] (test_tag): plugin testtag refused its parameter: \
             configuration error: parameter.columnIndex is required",
        ),
        (
            json!([{"name": "no_such_transformer", "parameter": {}}]),
            "job.content[0].transformer[0] (no_such_transformer): `no_such_transformer` is \
             neither a built-in",
        ),
    ];
    let workspace = Workspace::new();
    for (transformers, expected) in cases {
        let run = workspace.run_reported(&job(3, transformers, json!({})));
        run.assert_failure(expected);
        assert!(run.stdout.is_empty(), "nothing ran: {}", run.stdout);
    }
    let unknown = workspace.run_reported(&job(3, json!([{"name": "tag"}]), json!({})));
    unknown.assert_failure(
        "no transformer plugin named 'tag'; transformers found: test_tag (testtag)",
    );
}
