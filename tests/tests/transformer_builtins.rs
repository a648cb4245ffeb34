//! DataX's built-in transformers through the real binary: a stream → stream job with every
//! built-in on DataX's documented examples and their edge cases (ends, negative lengths,
//! multibyte text counted in UTF-16 units, numbers compared as numbers), filter and failure
//! counts, errorLimit over records a transformer fails on, and parameter errors at start.

use datax_e2e::{datax_job, Run, Workspace};
use serde_json::{json, Value};

fn text(value: &str) -> Value {
    json!({"type": "string", "value": value})
}

fn transformer(name: &str, column_index: usize, paras: &[&str]) -> Value {
    json!({"name": name, "parameter": {"columnIndex": column_index, "paras": paras}})
}

/// A stream → stream job printing `|`-separated lines, with `transformers` between.
fn job(columns: Value, records: u64, transformers: Value, setting: Value) -> Value {
    let mut job = datax_job(
        json!({"name": "streamreader", "parameter": {"column": columns, "sliceRecordCount": records}}),
        json!({"name": "streamwriter", "parameter": {"print": true, "fieldDelimiter": "|"}}),
        setting,
    );
    job["job"]["content"][0]["transformer"] = transformers;
    job
}

fn one_channel() -> Value {
    json!({"speed": {"channel": 1}})
}

fn printed(run: &Run) -> Vec<Vec<String>> {
    run.stdout
        .lines()
        .map(|line| line.split('|').map(str::to_string).collect())
        .collect()
}

#[test]
fn every_builtin_as_datax_documents_it_and_on_its_edges() {
    let cases: &[(&str, &[&str], Value, &str)] = &[
        // DataX's transformer.md examples.
        ("dx_substr", &["2", "5"], text("dataxTest"), "taxTe"),
        ("dx_substr", &["5", "10"], text("dataxTest"), "Test"),
        ("dx_pad", &["l", "4", "A"], text("xyz"), "Axyz"),
        ("dx_pad", &["l", "4", "A"], text("xyzzzzz"), "xyzz"),
        ("dx_pad", &["r", "4", "A"], text("xyz"), "xyzA"),
        ("dx_pad", &["r", "4", "A"], text("xyzzzzz"), "xyzz"),
        (
            "dx_replace",
            &["2", "4", "****"],
            text("dataxTest"),
            "da****est",
        ),
        (
            "dx_replace",
            &["5", "10", "****"],
            text("dataxTest"),
            "datax****",
        ),
        (
            "dx_digest",
            &["md5", "toUpperCase"],
            text("xyzzzzz"),
            "9CDFFC4FA4E45A99DB8BBCD762ACFFA2",
        ),
        // Edges: the very end, multibyte text in UTF-16 units, numbers as their text.
        ("dx_substr", &["9", "3"], text("dataxTest"), ""),
        ("dx_substr", &["1", "3"], text("a中😀b"), "中😀"),
        (
            "dx_substr",
            &["1", "2"],
            json!({"type": "long", "value": 12345}),
            "23",
        ),
        ("dx_pad", &["l", "5", "😀"], text("中"), "😀😀中"),
        ("dx_pad", &["r", "3", "-"], text("a😀"), "a😀"),
        ("dx_replace", &["3", "-1", "X"], text("abcdef"), "abcXcdef"),
        ("dx_replace", &["1", "2", "*"], text("中😀文"), "中*文"),
        (
            "dx_digest",
            &["sha1", "toLowerCase"],
            text("abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ),
        (
            "dx_digest",
            &["md5", "toLowerCase"],
            text("中文"),
            "a7bac2239fcdcb3a067903d8077c4a07",
        ),
    ];
    let columns: Vec<Value> = cases.iter().map(|(_, _, input, _)| input.clone()).collect();
    let transformers: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(index, (name, paras, _, _))| transformer(name, index, paras))
        .collect();
    let workspace = Workspace::new();
    let run = workspace.run_reported(&job(json!(columns), 2, json!(transformers), one_channel()));
    run.assert_success();
    let lines = printed(&run);
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    for (index, (name, paras, input, expected)) in cases.iter().enumerate() {
        assert_eq!(lines[0][index], *expected, "{name} {paras:?} on {input}");
    }
    let report = workspace.report();
    assert_eq!(report["transformers"]["success_records"], 2);
    assert_eq!(report["transformers"]["filter_records"], 0);
    assert_eq!(report["records_written"], 2);
}

#[test]
fn filters_drop_and_count_records_numbers_compared_as_numbers() {
    let workspace = Workspace::new();
    let columns = json!([
        {"type": "long", "incr": "1,1"},
        text("keep"),
    ]);
    // 1..=100: `> 90` drops 10 (as text "9" > "10" would drop others), `like 1.` drops 10..=19.
    let transformers = json!([
        transformer("dx_filter", 0, &[">", "90"]),
        transformer("dx_filter", 0, &["like", "1[0-9]"]),
        transformer("dx_filter", 1, &["not like", "ke+p"]),
    ]);
    let run = workspace.run_reported(&job(columns, 100, transformers, one_channel()));
    run.assert_success();
    let kept: Vec<i64> = printed(&run)
        .iter()
        .map(|line| line[0].parse().unwrap())
        .collect();
    let expected: Vec<i64> = (1..=90).filter(|n| !(10..=19).contains(n)).collect();
    assert_eq!(kept, expected);
    let report = workspace.report();
    assert_eq!(report["transformers"]["filter_records"], 20);
    // DataX counts a filtered record as a transformer success too.
    assert_eq!(report["transformers"]["success_records"], 100);
    assert_eq!(report["transformers"]["failed_records"], 0);
    assert_eq!(
        report["records_read"], 80,
        "filtered records are never read, as DataX"
    );
    assert_eq!(report["records_written"], 80);
    assert_eq!(report["read_failed_records"], 0);
    run.assert_logged("Transformer filtered");
}

/// 1..=20 as text, `dx_substr` from 2: the nine one-digit values fail (start past the end).
fn failing_job(error_limit: Value) -> Value {
    let transformers = json!([
        transformer("dx_pad", 1, &["l", "3", "0"]),
        transformer("dx_substr", 0, &["2", "1"]),
    ]);
    let columns = json!([{"type": "long", "incr": "1,1"}, {"type": "long", "incr": "1,1"}]);
    job(
        columns,
        20,
        transformers,
        json!({"speed": {"channel": 1}, "errorLimit": error_limit}),
    )
}

#[test]
fn a_failing_transformer_makes_the_record_dirty_under_error_limit() {
    let workspace = Workspace::new();
    let run = workspace.run_reported(&failing_job(json!({"record": 9})));
    run.assert_success();
    let lines = printed(&run);
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[0], ["", "010"]);
    let report = workspace.report();
    assert_eq!(report["read_failed_records"], 9);
    assert_eq!(report["records_read"], 20, "sent + dirty");
    assert_eq!(report["records_written"], 11);
    assert_eq!(report["transformers"]["failed_records"], 9);
    assert_eq!(report["transformers"]["success_records"], 11);
    let dirty = workspace.dirty_records();
    assert_eq!(dirty.lines().count(), 9);
    let first: Value = serde_json::from_str(dirty.lines().next().unwrap()).unwrap();
    let reason = first["reason"].as_str().unwrap();
    assert!(
        reason.contains("dx_substr (job.content[0].transformer[1])")
            && reason.contains("startIndex(2) out of range(1)"),
        "{reason}"
    );
    assert_eq!(first["side"], "reader");
    assert_eq!(
        first["record"][1]["value"], "001",
        "the record as the chain left it"
    );

    workspace
        .run_reported(&failing_job(json!({"record": 8})))
        .assert_failure("more than errorLimit.record = 8");
}

#[test]
fn datax_summary_layout_adds_its_transformer_block() {
    let workspace = Workspace::new();
    let job_file = workspace.write_json("job.json", &failing_job(json!({})));
    let run = workspace.run(&[job_file.to_str().unwrap(), "--summary", "datax"]);
    run.assert_success();
    for line in [
        "Transformer成功记录总数         :                  11",
        "Transformer失败记录总数         :                   9",
        "Transformer过滤记录总数         :                   0",
    ] {
        run.assert_logged(line);
    }
}

#[test]
fn bad_parameters_are_errors_naming_the_entry_before_anything_runs() {
    let cases = [
        (
            json!([transformer("dx_substr", 0, &["1", "2"]), transformer("dx_pad", 0, &["x", "3", "0"])]),
            "job.content[0].transformer[1] (dx_pad): paras[0] must be l or r, found \"x\"",
        ),
        (
            json!([transformer("dx_substr", 0, &["1"])]),
            "job.content[0].transformer[0] (dx_substr): paras must have 2 values (startIndex, length), found 1",
        ),
        (
            json!([transformer("dx_filter", 0, &["~", "1"])]),
            "job.content[0].transformer[0] (dx_filter): paras[0] must be one of like",
        ),
        (
            json!([transformer("dx_digest", 0, &["sha256", "toLowerCase"])]),
            "job.content[0].transformer[0] (dx_digest): paras[0] must be md5 or sha1",
        ),
        (
            json!([{"name": "dx_groovy", "parameter": {"code": "return record;"}}]),
            "job.content[0].transformer[0] (dx_groovy): Groovy cannot run here: use dx_script",
        ),
        (
            json!([{"name": "dx_upper", "parameter": {"columnIndex": 0}}]),
            "job.content[0].transformer[0] (dx_upper): `dx_upper` is neither a built-in",
        ),
    ];
    let workspace = Workspace::new();
    for (transformers, expected) in cases {
        let run = workspace.run_reported(&job(json!([text("a")]), 1, transformers, one_channel()));
        run.assert_failure(expected);
        assert!(run.stdout.is_empty(), "nothing ran: {}", run.stdout);
        workspace
            .run(&["check", workspace.path("job.json").to_str().unwrap()])
            .assert_failure(expected);
    }
}

#[test]
fn datax_doc_job_stops_at_its_column_index_past_the_end_as_datax() {
    // transformer.md's job (its dx_groovy left out): `columnIndex: 5` on a 5-column record,
    // which DataX rejects on the first record rather than making every record dirty.
    let columns = json!([
        {"value": "DataX", "type": "string"},
        {"value": 19491001, "type": "long"},
        {"value": "1949-10-01 00:00:00", "type": "date"},
        {"value": true, "type": "bool"},
        {"value": "test", "type": "bytes"},
    ]);
    let transformers = json!([
        transformer("dx_substr", 5, &["1", "3"]),
        transformer("dx_replace", 4, &["3", "4", "****"]),
        transformer("dx_digest", 3, &["md5", "toLowerCase"]),
    ]);
    let workspace = Workspace::new();
    let setting = json!({"speed": {"channel": 1}, "errorLimit": {"record": 0}});
    let run = workspace.run_reported(&job(
        columns.clone(),
        100_000,
        transformers,
        setting.clone(),
    ));
    run.assert_failure("job.content[0].transformer[0] (dx_substr): columnIndex 5 is out of bounds: the record has 5 columns");
    assert_eq!(workspace.report()["records_written"], 0);

    // With the index in range, the doc's chain runs.
    let transformers = json!([
        transformer("dx_substr", 0, &["1", "3"]),
        transformer("dx_replace", 4, &["3", "4", "****"]),
        transformer("dx_digest", 3, &["md5", "toLowerCase"]),
    ]);
    let run = workspace.run_reported(&job(columns, 3, transformers, setting));
    run.assert_success();
    let lines = printed(&run);
    assert_eq!(lines.len(), 3);
    // md5("true")
    assert_eq!(
        lines[0],
        [
            "ata",
            "19491001",
            "1949-10-01 00:00:00",
            "b326b5062b2f0e69046810717534cb09",
            "tes****"
        ]
    );
}

#[test]
fn digest_names_in_any_case_compute_what_they_say_and_warn_where_datax_differs() {
    let workspace = Workspace::new();
    let transformers = json!([transformer("dx_digest", 0, &["MD5", "toUpperCase"])]);
    let run = workspace.run_reported(&job(json!([text("abc")]), 1, transformers, one_channel()));
    run.assert_success().assert_logged(
        "job.content[0].transformer[0] (dx_digest): DataX computes SHA-1 for \"MD5\"; this computes MD5",
    );
    assert_eq!(printed(&run), [["900150983CD24FB0D6963F7D28E17F72"]]);
}
