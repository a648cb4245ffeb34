//! Same values, same text: an odps table holding every double and float of
//! `tests/fixtures/parity/double-float-text.tsv` (DataX's own text of each, made on a JVM),
//! read by odpsreader and written by streamwriter (to a file) and by loghubwriter (to the
//! sandbox), gives DataX's text line for line; so do a TIMESTAMP and each complex type, and
//! a NaN or infinite double makes its record dirty, as DataX's `BigDecimal` refuses it.

use std::collections::BTreeMap;

use datax_e2e::{datax_job, Workspace};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{json, Value};

const ACCESS_ID: &str = "sandbox-access-id";
const ACCESS_KEY: &str = "sandbox-access-key";
const SLS_PROJECT: &str = "parity";
/// One logstore a table, named as it.
const TABLES: [&str; 4] = ["doubles", "floats", "not_finite", "texts"];

/// One value of the parity file.
struct Expected {
    kind: &'static str,
    bits: String,
    datax_text: String,
}

fn parity_file() -> Vec<Expected> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/parity/double-float-text.tsv"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            Expected {
                kind: if fields[0] == "double" {
                    "double"
                } else {
                    "float"
                },
                bits: fields[1].to_string(),
                datax_text: fields[3].to_string(),
            }
        })
        .collect()
}

/// Rows `[i, "0x<bits>"]` of one kind, `i` numbering them in the file's order.
fn rows_of(values: &[Expected], kind: &str) -> Vec<Value> {
    values
        .iter()
        .filter(|value| value.kind == kind)
        .enumerate()
        .map(|(i, value)| json!([i, format!("0x{}", value.bits)]))
        .collect()
}

/// A sandbox with the parity tables and a logstore to write them to.
fn start_parity_sandbox(values: &[Expected]) -> SandboxHandle {
    let id_and = |value_type: &str| json!([{"name": "i", "type": "bigint"}, {"name": "v", "type": value_type}]);
    let config = json!({
        "port": 0,
        "credentials": [{"access_id": ACCESS_ID, "access_key": ACCESS_KEY}],
        "odps": {"projects": [{"name": "p", "tables": [
            {"name": "doubles", "columns": id_and("double"), "rows": rows_of(values, "double")},
            {"name": "floats", "columns": id_and("float"), "rows": rows_of(values, "float")},
            {"name": "not_finite", "columns": id_and("double"),
             "rows": [[0, "NaN"], [1, "1e7"], [2, "inf"], [3, "-inf"]]},
            {"name": "texts",
             "columns": [
                {"name": "i", "type": "bigint"},
                {"name": "ts", "type": "timestamp"},
                {"name": "flags", "type": "array<boolean>"},
                {"name": "counts", "type": "map<string,bigint>"},
                {"name": "pair", "type": "struct<x:bigint,y:string,z:double>"}
             ],
             "rows": [[0, "2016-12-26 10:00:00.123456789+08:00", [true, false, null],
                       {"x": 1}, {"x": 1, "y": "b", "z": null}]]}
        ]}]},
        "sls": {"projects": [{"name": SLS_PROJECT, "logstores": TABLES}]}
    });
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).expect("a valid config"))
        .expect("the sandbox starts")
}

fn odps_reader(sandbox: &SandboxHandle, table: &str, columns: Value) -> Value {
    json!({"name": "odpsreader", "parameter": {
        "accessId": ACCESS_ID,
        "accessKey": ACCESS_KEY,
        "odpsServer": sandbox.odps_endpoint(),
        "tunnelServer": sandbox.tunnel_endpoint(),
        "project": "p",
        "table": table,
        "column": columns,
    }})
}

fn loghub_writer(sandbox: &SandboxHandle, logstore: &str, columns: Value) -> Value {
    json!({"name": "loghubwriter", "parameter": {
        "endpoint": sandbox.sls_endpoint(),
        "accessId": ACCESS_ID,
        "accessKey": ACCESS_KEY,
        "project": SLS_PROJECT,
        "logstore": logstore,
        "column": columns,
    }})
}

fn file_writer() -> Value {
    json!({"name": "streamwriter", "parameter": {"path": "out", "fileName": "rows"}})
}

/// Runs `reader` into `writer` with one channel; the run must succeed.
fn run(workspace: &Workspace, reader: Value, writer: Value) {
    let job = datax_job(reader, writer, json!({"speed": {"channel": 1}}));
    workspace.run_reported(&job).assert_success();
}

/// Every `i\tv` line the file writer wrote, as i → v.
fn written(workspace: &Workspace) -> BTreeMap<u64, String> {
    let mut lines = BTreeMap::new();
    for entry in std::fs::read_dir(workspace.path("out")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let (i, value) = line.split_once('\t').expect("two columns");
            lines.insert(i.parse().unwrap(), value.to_string());
        }
    }
    lines
}

/// `expected` (in order) against `got` (i → text): every line, with the first differences.
fn assert_lines(what: &str, expected: &[&str], got: &BTreeMap<u64, String>) {
    let mut differences = Vec::new();
    for (i, datax) in expected.iter().enumerate() {
        let ours = got.get(&(i as u64)).map(String::as_str);
        if ours != Some(*datax) {
            differences.push(format!("{what} #{i}: DataX {datax}, ours {ours:?}"));
        }
    }
    assert_eq!(got.len(), expected.len(), "{what}: one line a value");
    assert!(
        differences.is_empty(),
        "{} of {} {what} lines differ:\n{}",
        differences.len(),
        expected.len(),
        differences[..differences.len().min(20)].join("\n")
    );
}

#[test]
fn every_double_and_float_of_the_parity_file_as_datax_writes_it() {
    let values = parity_file();
    assert_eq!(values.len(), 2_278);
    let sandbox = start_parity_sandbox(&values);
    for kind in ["double", "float"] {
        let table = format!("{kind}s");
        let expected: Vec<&str> = values
            .iter()
            .filter(|value| value.kind == kind)
            .map(|value| value.datax_text.as_str())
            .collect();

        let workspace = Workspace::new();
        run(
            &workspace,
            odps_reader(&sandbox, &table, json!(["i", "v"])),
            file_writer(),
        );
        assert_lines(
            &format!("streamwriter {kind}"),
            &expected,
            &written(&workspace),
        );

        run(
            &Workspace::new(),
            odps_reader(&sandbox, &table, json!(["i", "v"])),
            loghub_writer(&sandbox, &table, json!(["i", "v"])),
        );
        let logged: BTreeMap<u64, String> = sandbox
            .logs(SLS_PROJECT, &table)
            .into_iter()
            .map(|log| {
                (
                    log.contents["i"].parse().unwrap(),
                    log.contents["v"].clone(),
                )
            })
            .collect();
        assert_lines(&format!("loghubwriter {kind}"), &expected, &logged);
    }
}

/// TIMESTAMP: DataX's `DateColumn` and datetime format drop the fraction. Complex values as
/// `ReaderProxy` builds them (codec/json.rs): array elements as strings with nulls kept, map
/// values and struct fields as strings with nulls left out, keys in Java `HashMap` order.
#[test]
fn timestamps_and_complex_values_as_datax_writes_them() {
    let sandbox = start_parity_sandbox(&[]);
    let workspace = Workspace::new();
    let columns = json!(["i", "ts", "flags", "counts", "pair"]);
    run(
        &workspace,
        odps_reader(&sandbox, "texts", columns.clone()),
        file_writer(),
    );
    let expected = [
        "2016-12-26 10:00:00",
        r#"["true","false",null]"#,
        r#"{"x":"1"}"#,
        r#"{"x":"1","y":"b"}"#,
    ];
    assert_eq!(written(&workspace)[&0], expected.join("\t"));

    run(
        &Workspace::new(),
        odps_reader(&sandbox, "texts", columns.clone()),
        loghub_writer(&sandbox, "texts", columns),
    );
    let logs = sandbox.logs(SLS_PROJECT, "texts");
    assert_eq!(logs.len(), 1);
    for (key, text) in ["ts", "flags", "counts", "pair"].iter().zip(expected) {
        assert_eq!(logs[0].contents[*key], text, "{key}");
    }
}

/// DataX's `DoubleColumn` holds `new BigDecimal(String.valueOf(d))`, which throws on NaN and
/// the infinities: those records are dirty, each saying which column and why.
#[test]
fn not_finite_doubles_make_their_records_dirty() {
    let sandbox = start_parity_sandbox(&[]);
    let file = Workspace::new();
    run(
        &file,
        odps_reader(&sandbox, "not_finite", json!(["i", "v"])),
        file_writer(),
    );
    assert_eq!(
        written(&file).into_iter().collect::<Vec<_>>(),
        [(1, "10000000".to_string())]
    );
    let dirty = file.dirty_records();
    assert_eq!(dirty.lines().count(), 3, "{dirty}");
    for refused in ["NaN", "Infinity", "-Infinity"] {
        assert!(
            dirty.contains(&format!(
                "column 1 (from 0): {refused} has no DataX text (DataX's BigDecimal rejects it)"
            )),
            "{dirty}"
        );
    }
    assert_eq!(file.report()["records_written"], 1);

    let logs = Workspace::new();
    run(
        &logs,
        odps_reader(&sandbox, "not_finite", json!(["i", "v"])),
        loghub_writer(&sandbox, "not_finite", json!(["i", "v"])),
    );
    let stored = sandbox.logs(SLS_PROJECT, "not_finite");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].contents["v"], "10000000");
    let dirty = logs.dirty_records();
    assert_eq!(dirty.lines().count(), 3, "{dirty}");
    assert!(dirty.contains("column v: NaN has no DataX text"), "{dirty}");
}
