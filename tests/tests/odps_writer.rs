//! odpswriter end to end: the real `datax` binary and plugin libraries write the sandbox's
//! MaxCompute through tunnel upload sessions; every row is read back through the sandbox's
//! tunnel download by odpsreader.

use datax_e2e::{datax_job, odps_rows, Run, Workspace};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{json, Value};

const ACCESS_ID: &str = "sandbox-access-id";
const ACCESS_KEY: &str = "sandbox-access-key";

/// The columns of every table below but `dw1`'s.
fn columns() -> Value {
    json!([
        {"name": "id", "type": "bigint"}, {"name": "name", "type": "string"},
        {"name": "x", "type": "double"}, {"name": "ok", "type": "boolean"},
        {"name": "t", "type": "datetime"}, {"name": "d", "type": "decimal(10,2)"}
    ])
}

/// Every type this writer writes.
fn every_type() -> Value {
    json!([
        {"name": "c_bigint", "type": "bigint"}, {"name": "c_int", "type": "int"},
        {"name": "c_double", "type": "double"}, {"name": "c_float", "type": "float"},
        {"name": "c_decimal", "type": "decimal(10,2)"}, {"name": "c_bool", "type": "boolean"},
        {"name": "c_string", "type": "string"}, {"name": "c_varchar", "type": "varchar(8)"},
        {"name": "c_binary", "type": "binary"}, {"name": "c_datetime", "type": "datetime"},
        {"name": "c_date", "type": "date"}, {"name": "c_timestamp", "type": "timestamp"},
        {"name": "c_tinyint", "type": "tinyint"}, {"name": "c_smallint", "type": "smallint"},
        {"name": "c_char", "type": "char(4)"}, {"name": "c_json", "type": "json"}
    ])
}

fn start_sandbox() -> SandboxHandle {
    let string = |name: &str| json!({"name": name, "type": "string"});
    let config = json!({
        "port": 0,
        "credentials": [{"access_id": ACCESS_ID, "access_key": ACCESS_KEY}],
        "odps": {"projects": [{"name": "p", "tables": [
            {"name": "plain", "columns": columns(), "rows": []},
            {"name": "kept", "columns": columns(),
             "rows": [[1, "before", 0.5, true, "2016-12-26 10:00:00", "1.00"]]},
            {"name": "parts", "columns": columns(),
             "partition_keys": [string("pt"), string("region")],
             "partitions": [{"spec": "pt=old,region=hz",
                             "rows": [[1, "old", 0.5, true, "2016-12-26 10:00:00", "1.00"]]}]},
            {"name": "types", "columns": every_type(), "rows": [
                [-7, 42, 1.5, 1.25, "12.30", true, "héllo", "v", "bin", "2016-12-26 10:00:00.123",
                 "2016-12-26", "2016-12-26 10:00:00.123456789", -128, 32767, "ab", "{\"a\":[1,\"x\"]}"],
                [null, null, null, null, null, null, null, null, null, null, null, null,
                 null, null, null, null],
                [0, 0, 0.0, 0.0, "-0.01", false, "", "", "", 0, "1969-12-31",
                 "1970-01-01 00:00:00", 127, -32768, "abcd", "null"]
            ]},
            {"name": "types_copy", "columns": every_type(), "rows": []},
            {"name": "random_generated_data",
             "columns": [string("name"), string("tag"), {"name": "age", "type": "bigint"},
                         {"name": "balance", "type": "double"}, string("gender"),
                         {"name": "birthday", "type": "datetime"}],
             "partition_keys": [string("ds")], "partitions": []}
        ]}]}
    });
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).expect("a valid sandbox config"))
        .expect("the sandbox starts")
}

/// `parameter` with `extra` keys added or replaced.
fn merged(mut parameter: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().expect("an object") {
        parameter[key] = value.clone();
    }
    parameter
}

fn connection(sandbox: &SandboxHandle, table: &str) -> Value {
    json!({
        "accessId": ACCESS_ID,
        "accessKey": ACCESS_KEY,
        "odpsServer": sandbox.odps_endpoint(),
        "tunnelServer": sandbox.tunnel_endpoint(),
        "project": "p",
        "table": table,
        "column": ["*"],
    })
}

fn odps_writer(sandbox: &SandboxHandle, table: &str, extra: Value) -> Value {
    json!({"name": "odpswriter", "parameter": merged(connection(sandbox, table), extra)})
}

/// Records of the `columns()` shape, from strings where DataX would convert them: `id`
/// counts from 1 in each task.
fn stream_reader(records_per_task: u64) -> Value {
    json!({"name": "streamreader", "parameter": {
        "column": [
            {"incr": "1", "type": "long"},
            {"value": "héllo\tworld", "type": "string"},
            {"value": "2.5", "type": "string"},
            {"value": "true", "type": "string"},
            {"value": "2016-12-26 10:00:00", "type": "date"},
            {"value": "12.30", "type": "string"}
        ],
        "sliceRecordCount": records_per_task,
    }})
}

fn channels(count: u32) -> Value {
    json!({"speed": {"channel": count}})
}

fn write(workspace: &Workspace, reader: Value, writer: Value, setting: Value) -> Run {
    workspace.run_reported(&datax_job(reader, writer, setting))
}

/// Every row of `table` (`partition`), as streamwriter writes them (tab-separated, sorted).
fn read_back(sandbox: &SandboxHandle, table: &str, partition: Option<&str>) -> Vec<String> {
    let mut parameter = connection(sandbox, table);
    if let Some(spec) = partition {
        parameter["partition"] = json!(spec);
    }
    odps_rows(parameter)
}

fn row(id: u64) -> String {
    format!("{id}\théllo\tworld\t2.5\ttrue\t2016-12-26 10:00:00\t12.30")
}

#[test]
fn stream_to_odps_writes_every_row_exactly_once_in_several_blocks() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // ~1.3 MB of records a task: two 1 MB blocks each, compressed.
    let per_task = 30_000;
    let writer = odps_writer(
        &sandbox,
        "plain",
        json!({"blockSizeInMB": 1, "isCompress": true}),
    );
    write(&workspace, stream_reader(per_task), writer, channels(2)).assert_success();
    let rows = read_back(&sandbox, "plain", None);
    let mut expected: Vec<String> = (1..=per_task).flat_map(|id| [row(id), row(id)]).collect();
    expected.sort();
    assert_eq!(rows.len(), expected.len());
    assert!(rows == expected, "first rows: {:?}", &rows[..3]);
    let report = workspace.report();
    let counters = &report["plugin_counters"]["writer"];
    assert_eq!(counters["tunnel blocks"], json!(4), "{report}");
    assert_eq!(counters["tunnel block retries"], json!(0), "{report}");
    // Every block the tunnel stored is acknowledged.
    assert_eq!(
        report["records_acknowledged"],
        json!(rows.len()),
        "{report}"
    );
}

#[test]
fn a_missing_partition_is_created_and_truncate_replaces_the_rows() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let writer = odps_writer(
        &sandbox,
        "parts",
        json!({"partition": "pt='new', region=hz"}),
    );
    write(&workspace, stream_reader(3), writer, channels(1)).assert_success();
    assert_eq!(
        read_back(&sandbox, "parts", Some("pt=new,region=hz")),
        vec![row(1), row(2), row(3)]
    );

    // Appending keeps the old row; truncate replaces it.
    let old = "1\told\t0.5\ttrue\t2016-12-26 18:00:00\t1.00".to_string();
    let writer = odps_writer(&sandbox, "parts", json!({"partition": "pt=old,region=hz"}));
    write(&workspace, stream_reader(1), writer, channels(1)).assert_success();
    assert_eq!(
        read_back(&sandbox, "parts", Some("pt=old,region=hz")),
        vec![row(1), old]
    );
    let writer = odps_writer(
        &sandbox,
        "parts",
        json!({"partition": "pt=old,region=hz", "truncate": "true"}),
    );
    write(&workspace, stream_reader(2), writer, channels(1)).assert_success();
    assert_eq!(
        read_back(&sandbox, "parts", Some("pt=old,region=hz")),
        vec![row(1), row(2)]
    );
}

#[test]
fn columns_map_by_name_and_the_rest_are_null() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let reader = json!({"name": "streamreader", "parameter": {
        "column": [{"value": "7.9", "type": "string"}, {"value": "x", "type": "string"}],
        "sliceRecordCount": 1,
    }});
    let writer = odps_writer(&sandbox, "plain", json!({"column": ["NAME", "id"]}));
    write(&workspace, reader, writer, channels(1)).assert_success();
    // "7.9" is the name; "x" does not convert to bigint: a dirty record, nothing written.
    assert_eq!(read_back(&sandbox, "plain", None), Vec::<String>::new());
    let dirty = workspace.dirty_records();
    assert!(
        dirty.contains("column id: cannot convert string") && dirty.contains("to bigint"),
        "{dirty}"
    );

    let reader = json!({"name": "streamreader", "parameter": {
        "column": [{"value": "a name", "type": "string"}, {"value": "-12.9", "type": "string"}],
        "sliceRecordCount": 1,
    }});
    let writer = odps_writer(&sandbox, "plain", json!({"column": ["NAME", "id"]}));
    write(&workspace, reader, writer, channels(1)).assert_success();
    assert_eq!(
        read_back(&sandbox, "plain", None),
        vec!["-12\ta name\tnull\tnull\tnull\tnull".to_string()]
    );
}

#[test]
fn a_failed_job_commits_nothing() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // Block uploads answer 500 with probability 1/2, drawn from seed 2: the first block
    // succeeds, the second fails twice, more than maxRetryTime allows.
    let fault = json!({"target": "tunnel_data", "probability": 0.5, "seed": 2,
                       "action": {"type": "error", "status": 500, "code": "InternalServerError"}});
    sandbox.set_faults(vec![serde_json::from_value(fault).unwrap()]);
    let writer = odps_writer(
        &sandbox,
        "kept",
        json!({"truncate": true, "blockSizeInMB": 1, "maxRetryTime": 1}),
    );
    let run = write(&workspace, stream_reader(30_000), writer, channels(1));
    run.assert_failure("uploading block 1");
    sandbox.set_faults(Vec::new());
    assert_eq!(sandbox.stats().count("tunnel", "InternalServerError"), 2);
    assert_eq!(
        read_back(&sandbox, "kept", None),
        vec!["1\tbefore\t0.5\ttrue\t2016-12-26 18:00:00\t1.00".to_string()],
        "the table is as it was, truncate included"
    );
}

#[test]
fn bad_parameters_fail_before_anything_is_written() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let cases = [
        (
            json!({"column": ["id", "nope"]}),
            "column[1]: \"nope\" is not a column of the table",
        ),
        (
            json!({"column": ["pt"]}),
            "names the partition key pt but not every one (pt, region)",
        ),
        (
            json!({"partition": "region=hz,pt=1"}),
            "must give each a value, in that order",
        ),
        (
            json!({"preSql": ["truncate table parts"]}),
            "preSql: running SQL is not supported",
        ),
    ];
    for (extra, expected) in cases {
        let writer = odps_writer(
            &sandbox,
            "parts",
            merged(json!({"partition": "pt=1,region=hz"}), extra),
        );
        write(&workspace, stream_reader(1), writer, channels(1)).assert_failure(expected);
    }
    assert_eq!(
        sandbox.stats().count("tunnel", "ok"),
        0,
        "no session was opened"
    );
}

/// `dw1-mysql-to-odps-bizdate-commented.json`'s writer, as saved: a data source, a quoted
/// `${bdp.system.bizdate}` partition that does not exist yet, truncate and six columns.
#[test]
fn the_saved_dw1_writer_checks_and_runs() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let writer = json!({"plugin": "odps", "parameter": {
        "partition": "ds='${bdp.system.bizdate}'",
        "truncate": true,
        "column": ["name", "tag", "age", "balance", "gender", "birthday"],
        "table": "random_generated_data",
        "datasource": "odps_mrtest2222"
    }});
    let reader = json!({"plugin": "stream", "parameter": {
        "column": [
            {"value": "n", "type": "string"}, {"value": "t", "type": "string"},
            {"value": 30, "type": "long"}, {"value": 1.5, "type": "double"},
            {"value": "f", "type": "string"}, {"value": "1990-01-02 03:04:05", "type": "date"}
        ],
        "sliceRecordCount": 2,
    }});
    let job = json!({"type": "job", "version": "1.0", "configuration": {
        "setting": {"speed": {"concurrent": 1}},
        "reader": reader, "writer": writer,
    }});
    let job = workspace.write_json("dw1.json", &job);
    let sources = json!({"odps_mrtest2222": {"type": "odps", "parameter": {
        "accessId": ACCESS_ID, "accessKey": ACCESS_KEY, "project": "p",
        "odpsServer": sandbox.odps_endpoint(), "tunnelServer": sandbox.tunnel_endpoint(),
    }}});
    let sources = workspace.write_json("sources.json", &sources);
    let args = |command: Option<&str>| {
        let mut args: Vec<String> = command.into_iter().map(str::to_string).collect();
        args.extend([
            job.to_str().unwrap().to_string(),
            "--datasources".into(),
            sources.to_str().unwrap().to_string(),
            "--param".into(),
            "bdp.system.bizdate=20171218".into(),
        ]);
        args
    };
    let check = args(Some("check"));
    let run = workspace.run(&check.iter().map(String::as_str).collect::<Vec<_>>());
    run.assert_success();
    let run_args = args(None);
    workspace
        .run(&run_args.iter().map(String::as_str).collect::<Vec<_>>())
        .assert_success();
    let expected = "n\tt\t30\t1.5\tf\t1990-01-02 03:04:05".to_string();
    assert_eq!(
        read_back(&sandbox, "random_generated_data", Some("ds=20171218")),
        vec![expected.clone(), expected]
    );
}

#[test]
fn odps_to_odps_copies_every_written_type_exactly() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let reader = json!({"name": "odpsreader", "parameter": connection(&sandbox, "types")});
    let writer = odps_writer(&sandbox, "types_copy", json!({"isCompress": true}));
    write(&workspace, reader, writer, channels(1)).assert_success();
    let original = read_back(&sandbox, "types", None);
    assert_eq!(original.len(), 3);
    assert_eq!(read_back(&sandbox, "types_copy", None), original);
}

#[test]
fn failed_block_uploads_are_sent_again_and_every_row_lands_once() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // The first block upload answers 500, the next one loses its connection.
    let rule = |action: Value| {
        serde_json::from_value(json!({"target": "tunnel_data", "count": 1, "action": action}))
            .unwrap()
    };
    sandbox.set_faults(vec![
        rule(json!({"type": "error", "status": 500, "code": "InternalServerError"})),
        rule(json!({"type": "close"})),
    ]);
    let per_task = 30_000;
    let writer = odps_writer(&sandbox, "plain", json!({"blockSizeInMB": 1}));
    write(&workspace, stream_reader(per_task), writer, channels(1)).assert_success();
    assert!(sandbox.faults().is_empty(), "both faults fired");
    let report = workspace.report();
    let counters = &report["plugin_counters"]["writer"];
    assert_eq!(counters["tunnel block retries"], json!(2), "{counters}");
    // A block sent again replaces its first attempt: nothing is counted as duplicated.
    assert_eq!(report["records_acknowledged"], json!(per_task), "{report}");
    assert_eq!(report["records_possibly_duplicated"], json!(0), "{report}");
    let mut expected: Vec<String> = (1..=per_task).map(row).collect();
    expected.sort();
    assert!(
        read_back(&sandbox, "plain", None) == expected,
        "every row once"
    );
}

/// A block the tunnel stored whose reply was lost is sent again and replaces itself; a commit
/// whose reply was lost is asked again and the service answers the committed session: every
/// row lands once.
#[test]
fn lost_block_and_commit_replies_leave_every_row_once() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let rule = |target: &str| {
        serde_json::from_value(
            json!({"target": target, "count": 1, "action": {"type": "drop_reply"}}),
        )
        .unwrap()
    };
    sandbox.set_faults(vec![rule("tunnel_data"), rule("tunnel_commit")]);
    let per_task = 30_000;
    let writer = odps_writer(&sandbox, "plain", json!({"blockSizeInMB": 1}));
    write(&workspace, stream_reader(per_task), writer, channels(1)).assert_success();
    assert!(sandbox.faults().is_empty(), "both faults fired");
    assert_eq!(sandbox.stats().count("tunnel", "fault:drop_reply"), 2);
    let report = workspace.report();
    assert_eq!(
        report["plugin_counters"]["writer"]["tunnel block retries"],
        json!(1),
        "{report}"
    );
    let mut expected: Vec<String> = (1..=per_task).map(row).collect();
    expected.sort();
    assert!(
        read_back(&sandbox, "plain", None) == expected,
        "every row once"
    );
}

/// A commit the service keeps refusing fails the job, and the table keeps its rows: the
/// truncate was to happen at the commit.
#[test]
fn a_failed_commit_leaves_the_table_as_it_was() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let fault = json!({"target": "tunnel_commit",
                       "action": {"type": "error", "status": 503, "code": "ServiceUnavailable"}});
    sandbox.set_faults(vec![serde_json::from_value(fault).unwrap()]);
    let writer = odps_writer(
        &sandbox,
        "kept",
        json!({"truncate": true, "maxRetryTime": 1}),
    );
    let run = write(&workspace, stream_reader(10), writer, channels(2));
    run.assert_failure("committing upload session");
    sandbox.set_faults(Vec::new());
    assert_eq!(sandbox.stats().count("tunnel", "ServiceUnavailable"), 2);
    assert_eq!(
        read_back(&sandbox, "kept", None),
        vec!["1\tbefore\t0.5\ttrue\t2016-12-26 18:00:00\t1.00".to_string()],
        "the table is as it was, truncate included"
    );
}

/// A value the service would refuse with its whole block (a tinyint out of range, a varchar
/// or string over its length, a decimal with too many integer digits) is a dirty record, not a
/// failed job; over-length text is cut or nulled as `overLengthRule` says.
#[test]
fn values_the_service_would_refuse_are_dirty_or_cut_as_over_length_rule_says() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let one = |column: &str, value: Value, kind: &str, extra: Value| {
        let reader = json!({"name": "streamreader", "parameter": {
            "column": [{"value": value, "type": kind}], "sliceRecordCount": 1}});
        let writer = odps_writer(
            &sandbox,
            "types_copy",
            merged(json!({"column": [column]}), extra),
        );
        write(&workspace, reader, writer, channels(1)).assert_success();
        workspace.dirty_records()
    };
    let dirty = one("c_tinyint", json!(128), "long", json!({}));
    assert!(
        dirty.contains("column c_tinyint: 128 is outside -128..=127"),
        "{dirty}"
    );
    let dirty = one("c_varchar", json!("héllo wörld"), "string", json!({}));
    assert!(
        dirty.contains("11 characters, more than its column's 8 (overLengthRule: dirty)"),
        "{dirty}"
    );
    let dirty = one("c_decimal", json!("123456789.5"), "string", json!({}));
    assert!(dirty.contains("9 integer digits"), "{dirty}");
    assert_eq!(
        read_back(&sandbox, "types_copy", None),
        Vec::<String>::new()
    );

    one(
        "c_varchar",
        json!("héllo wörld"),
        "string",
        json!({"overLengthRule": "truncate", "isCompress": true, "compression": "zstd"}),
    );
    one(
        "c_string",
        json!("abcdef"),
        "string",
        json!({"overLengthRule": "setNull", "maxFieldLength": 4, "isCompress": true,
               "compression": "lz4"}),
    );
    // Sorted: the cut varchar (column 8 of 16), then the row whose one value was nulled.
    let mut cut = vec!["null"; 16];
    cut[7] = "héllo wö";
    assert_eq!(
        read_back(&sandbox, "types_copy", None),
        [cut.join("\t"), vec!["null"; 16].join("\t")]
    );
    let run = {
        let reader = json!({"name": "streamreader", "parameter": {
            "column": [{"value": "abcdef", "type": "string"}], "sliceRecordCount": 1}});
        let writer = odps_writer(
            &sandbox,
            "types_copy",
            json!({"column": ["c_string"], "overLengthRule": "error", "maxFieldLength": 4}),
        );
        write(&workspace, reader, writer, channels(1))
    };
    run.assert_failure("column c_string (string): the value has 6 bytes, more than maxFieldLength (4) (overLengthRule: error)");
}

/// Blocks of the default size: a task sends its block at 60 MiB (64 less DataX's margin), so
/// a full block with the record that crossed the mark stays within what the service takes
/// (64 MiB; the sandbox refuses a larger body, as a block that filled to 64 MiB was).
#[test]
fn default_size_blocks_stay_within_the_services_limit() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let name = "x".repeat(100_000);
    let records = 700;
    let reader = json!({"name": "streamreader", "parameter": {
        "column": [{"incr": "1", "type": "long"}, {"value": name, "type": "string"}],
        "sliceRecordCount": records,
    }});
    let writer = odps_writer(&sandbox, "plain", json!({"column": ["id", "name"]}));
    write(&workspace, reader, writer, channels(1)).assert_success();
    let report = workspace.report();
    assert_eq!(
        report["plugin_counters"]["writer"]["tunnel blocks"],
        json!(2),
        "a full block, then the rest: {report}"
    );
    let rows = read_back(&sandbox, "plain", None);
    assert_eq!(rows.len(), records);
    assert!(rows.iter().all(|row| row.contains(&name)));
}

/// The connection breaks while a block is still being sent (the sandbox reads 100 kB of it,
/// then closes): the block is sent again whole and every row lands once.
#[test]
fn a_connection_dropped_mid_block_is_sent_again() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let fault = json!({"target": "tunnel_data", "count": 1,
                       "action": {"type": "abort_body", "after_bytes": 100_000}});
    sandbox.set_faults(vec![serde_json::from_value(fault).unwrap()]);
    let per_task = 30_000;
    let writer = odps_writer(&sandbox, "plain", json!({"blockSizeInMB": 1}));
    write(&workspace, stream_reader(per_task), writer, channels(1)).assert_success();
    assert!(sandbox.faults().is_empty(), "the fault fired");
    assert_eq!(sandbox.stats().count("tunnel", "fault:abort_body"), 1);
    let report = workspace.report();
    assert_eq!(
        report["plugin_counters"]["writer"]["tunnel block retries"],
        json!(1),
        "{report}"
    );
    let mut expected: Vec<String> = (1..=per_task).map(row).collect();
    expected.sort();
    assert!(
        read_back(&sandbox, "plain", None) == expected,
        "every row once"
    );
}
