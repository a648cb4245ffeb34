//! errorLimit boundaries (datax-semantics.md §3, §9.4): N dirty records pass, N+1 fail; every
//! dirty record lands in the dirty-record file; records read = written + dirty.

use datax_e2e::{datax_job, Run, Workspace};
use serde_json::{json, Value};

fn run_with_dirty(
    workspace: &Workspace,
    records: u64,
    dirty_every: u64,
    side: &str,
    error_limit: Value,
) -> Run {
    let dirty = json!({"records": records, "dirtyEvery": dirty_every});
    let (reader, writer) = match side {
        "reader" => (dirty, json!({})),
        _ => (
            json!({"records": records}),
            json!({"dirtyEvery": dirty_every}),
        ),
    };
    workspace.run_reported(&datax_job(
        json!({"name": "testkitreader", "parameter": reader}),
        json!({"name": "testkitwriter", "parameter": writer}),
        json!({"speed": {"channel": 1}, "errorLimit": error_limit}),
    ))
}

#[test]
fn record_limit_n_passes_and_n_plus_one_fails_on_either_side() {
    for side in ["reader", "writer"] {
        let workspace = Workspace::new();
        // 50 records, every 10th dirty: 5 dirty records.
        run_with_dirty(&workspace, 50, 10, side, json!({"record": 5})).assert_success();
        let report = workspace.report();
        assert_eq!(report["records_read"], 50);
        assert_eq!(report["records_written"], 45);
        let failed = &report[format!(
            "{}_failed_records",
            if side == "reader" { "read" } else { "write" }
        )];
        assert_eq!(failed, 5, "{side}");

        run_with_dirty(&workspace, 50, 10, side, json!({"record": "4"})).assert_failure(
            "errorLimit exceeded: 5 dirty records, more than errorLimit.record = 4",
        );
    }
}

#[test]
fn record_limit_zero_fails_at_the_first_dirty_record() {
    let workspace = Workspace::new();
    run_with_dirty(&workspace, 100_000, 50_000, "reader", json!({"record": 0}))
        .assert_failure("errorLimit exceeded: 1 dirty records, more than errorLimit.record = 0");
    let report = workspace.report();
    assert!(
        report["records_read"].as_u64().unwrap() < 100_000,
        "the job stopped at the first dirty record, not at the end"
    );
}

#[test]
fn percentage_limit_boundaries() {
    let workspace = Workspace::new();
    // 100 records, every 10th dirty: exactly 10 %.
    run_with_dirty(&workspace, 100, 10, "writer", json!({"percentage": 0.1})).assert_success();
    run_with_dirty(&workspace, 100, 10, "writer", json!({"percentage": "0.09"}))
        .assert_failure("more than errorLimit.percentage = 0.09");
}

#[test]
fn no_error_limit_means_unlimited_dirty_records() {
    let workspace = Workspace::new();
    run_with_dirty(&workspace, 100, 2, "reader", json!({})).assert_success();
    assert_eq!(workspace.report()["read_failed_records"], 50);
}

#[test]
fn every_dirty_record_is_kept_with_task_reason_and_values() {
    let workspace = Workspace::new();
    run_with_dirty(&workspace, 30, 3, "writer", json!({})).assert_success();
    let text = workspace.dirty_records();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0]["side"], "writer");
    assert_eq!(lines[0]["task"], 0);
    assert_eq!(lines[0]["reason"], "record 2 refused as asked");
    assert_eq!(
        lines[0]["record"],
        json!([{"type": "long", "value": 2}, {"type": "string", "value": "row-2"}])
    );
    let report = workspace.report();
    assert_eq!(report["dirty_record_file"], "dirty.jsonl");
    assert_eq!(
        report["records_read"].as_u64().unwrap(),
        report["records_written"].as_u64().unwrap()
            + report["write_failed_records"].as_u64().unwrap()
    );
}
