//! odpswriter with dynamic partitions (`supportDynamicPartition`, `partitionColumnMapping`)
//! end to end: the real `datax` binary reads rows from the sandbox's MaxCompute (or
//! streamreader) and writes each into the partition its values name; every row is read back,
//! with its partition, through odpsreader.

use datax_e2e::{datax_job, odps_rows, Run, Workspace};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{json, Value};

const ACCESS_ID: &str = "sandbox-access-id";
const ACCESS_KEY: &str = "sandbox-access-key";
/// The row `events` holds before any job.
const OLD_ROW: &str = "0\told\t20161226\thz";

/// `src`'s rows: an id, a name, a day as text, a region. Ids 1 to 24 over three days
/// (`2016-12-2{5,6,7}`) and two regions; id 25 is on no day; 26 in no region; 27 has a day
/// that is not a date; 28 a region that cannot be a partition value.
fn source_rows() -> Vec<Value> {
    let mut rows: Vec<Value> = (1..=24)
        .map(|id| {
            let day = 25 + id % 3;
            let region = if id % 2 == 0 { "hz" } else { "sh" };
            json!([
                id,
                format!("n{id}"),
                format!("2016-12-{day} 1{}:00:00", id % 10),
                region
            ])
        })
        .collect();
    rows.push(json!([25, "no day", null, "hz"]));
    rows.push(json!([26, "no region", "2016-12-26 10:00:00", ""]));
    rows.push(json!([27, "bad day", "26/12/2016", "hz"]));
    rows.push(json!([28, "bad region", "2016-12-26 10:00:00", "a,b"]));
    rows
}

/// Rows 1 to 60 whose partitions cycle through 20 (`pt=20170101`…`20170120`, `region=c`).
fn cyclic_rows() -> Vec<Value> {
    (1..=60)
        .map(|id| json!([id, "c", format!("2017-01-{:02} 00:00:00", 1 + id % 20), "c"]))
        .collect()
}

fn start_sandbox() -> SandboxHandle {
    let string = |name: &str| json!({"name": name, "type": "string"});
    let id_and_name = json!([{"name": "id", "type": "bigint"}, string("name")]);
    let config = json!({
        "port": 0,
        "credentials": [{"access_id": ACCESS_ID, "access_key": ACCESS_KEY}],
        "odps": {"projects": [{"name": "p", "tables": [
            {"name": "src", "columns": [{"name": "id", "type": "bigint"}, string("name"),
                                        string("day"), string("region")],
             "rows": source_rows()},
            {"name": "cyclic", "columns": [{"name": "id", "type": "bigint"}, string("name"),
                                           string("day"), string("region")],
             "rows": cyclic_rows()},
            {"name": "events", "columns": id_and_name,
             "partition_keys": [string("pt"), string("region")],
             "partitions": [{"spec": "pt=20161226,region=hz", "rows": [[0, "old"]]}]}
        ]}]}
    });
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).expect("a valid sandbox config"))
        .expect("the sandbox starts")
}

fn connection(sandbox: &SandboxHandle, table: &str) -> Value {
    json!({
        "accessId": ACCESS_ID,
        "accessKey": ACCESS_KEY,
        "odpsServer": sandbox.odps_endpoint(),
        "tunnelServer": sandbox.tunnel_endpoint(),
        "project": "p",
        "table": table,
    })
}

/// `src` read whole, in `channels` tasks.
fn source_reader(sandbox: &SandboxHandle) -> Value {
    let mut parameter = connection(sandbox, "src");
    parameter["column"] = json!(["id", "name", "day", "region"]);
    json!({"name": "odpsreader", "parameter": parameter})
}

/// A dynamic-partition writer of `events`: `pt` from the day, mapped to `yyyyMMdd`.
fn dynamic_writer(sandbox: &SandboxHandle, extra: Value) -> Value {
    let mut parameter = connection(sandbox, "events");
    parameter["column"] = json!(["id", "name", "pt", "region"]);
    parameter["supportDynamicPartition"] = json!(true);
    parameter["partitionColumnMapping"] = json!([
        {"name": "pt", "srcDateFormat": "yyyy-MM-dd HH:mm:ss", "dateFormat": "yyyyMMdd"}
    ]);
    for (key, value) in extra.as_object().expect("an object") {
        parameter[key] = value.clone();
    }
    json!({"name": "odpswriter", "parameter": parameter})
}

fn write(workspace: &Workspace, reader: Value, writer: Value, channels: u32) -> Run {
    let setting = json!({"speed": {"channel": channels}, "errorLimit": {"record": 10}});
    workspace.run_reported(&datax_job(reader, writer, setting))
}

/// Every row of `events` with its partition (`id name pt region`), sorted.
fn read_back(sandbox: &SandboxHandle) -> Vec<String> {
    let mut parameter = connection(sandbox, "events");
    parameter["partition"] = json!("pt=*,region=*");
    parameter["column"] = json!(["id", "name", "pt", "region"]);
    odps_rows(parameter)
}

/// Rows 1 to 24 as `read_back` shows them, with `OLD_ROW` when `with_old`.
fn expected_rows(with_old: bool) -> Vec<String> {
    let mut rows: Vec<String> = (1..=24)
        .map(|id| {
            let region = if id % 2 == 0 { "hz" } else { "sh" };
            format!("{id}\tn{id}\t201612{}\t{region}", 25 + id % 3)
        })
        .collect();
    if with_old {
        rows.push(OLD_ROW.to_string());
    }
    rows.sort();
    rows
}

#[test]
fn rows_land_in_the_partitions_their_values_name_and_bad_values_are_dirty() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let run = write(
        &workspace,
        source_reader(&sandbox),
        dynamic_writer(&sandbox, json!({})),
        2,
    );
    run.assert_success();
    // Six partitions, five of them created; the existing one keeps its row (no truncate).
    assert_eq!(read_back(&sandbox), expected_rows(true));
    let dirty = workspace.dirty_records();
    for reason in [
        "partition key pt: the value is null",
        "partition key region: the value is empty",
        "\\\"26/12/2016\\\" does not match srcDateFormat",
        "cannot be a partition value",
    ] {
        assert!(dirty.contains(reason), "{reason:?} in {dirty}");
    }
    assert_eq!(dirty.lines().count(), 4, "{dirty}");
    let report = workspace.report();
    assert_eq!(report["records_acknowledged"], json!(24), "{report}");
    run.assert_logged("committed 6 partitions");
}

#[test]
fn truncate_replaces_only_the_partitions_written() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // A date column mapped through dateFormat at GMT+8: 2016-12-26 23:30 is the 26th there.
    let reader = json!({"name": "streamreader", "parameter": {
        "column": [
            {"incr": "1", "type": "long"}, {"value": "new", "type": "string"},
            {"value": "2016-12-26 23:30:00", "type": "date"}, {"value": "hz", "type": "string"}
        ],
        "sliceRecordCount": 3,
    }});
    let writer = dynamic_writer(
        &sandbox,
        json!({"truncate": true, "partitionColumnMapping": [
            {"name": "pt", "dateFormat": "yyyyMMdd"}
        ]}),
    );
    write(&workspace, reader, writer, 2).assert_success();
    assert_eq!(
        read_back(&sandbox),
        vec![
            "1\tnew\t20161226\thz",
            "1\tnew\t20161226\thz",
            "2\tnew\t20161226\thz",
            "2\tnew\t20161226\thz",
            "3\tnew\t20161226\thz",
            "3\tnew\t20161226\thz",
        ],
        "the old row is replaced, every new one lands once"
    );
}

#[test]
fn a_failed_first_commit_commits_no_partition() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let fault = json!({"target": "tunnel_commit",
                       "action": {"type": "error", "status": 503, "code": "ServiceUnavailable"}});
    sandbox.set_faults(vec![serde_json::from_value(fault).unwrap()]);
    let writer = dynamic_writer(&sandbox, json!({"maxRetryTime": 1}));
    let run = write(&workspace, source_reader(&sandbox), writer, 2);
    run.assert_failure("no partition was committed");
    sandbox.set_faults(Vec::new());
    assert_eq!(sandbox.stats().count("tunnel", "ServiceUnavailable"), 2);
    assert_eq!(read_back(&sandbox), vec![OLD_ROW.to_string()]);
}

/// The service commits one session at a time: a commit that fails after others succeeded
/// leaves those partitions written, and the error names which are and which are not.
#[test]
fn a_commit_failing_after_others_names_the_partitions_committed() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // Commits answer 503 with probability 1/2, drawn from seed 2: the first succeeds, the
    // second fails twice, more than maxRetryTime allows.
    let fault = json!({"target": "tunnel_commit", "probability": 0.5, "seed": 2,
                       "action": {"type": "error", "status": 503, "code": "ServiceUnavailable"}});
    sandbox.set_faults(vec![serde_json::from_value(fault).unwrap()]);
    let writer = dynamic_writer(&sandbox, json!({"maxRetryTime": 1}));
    let run = write(&workspace, source_reader(&sandbox), writer, 1);
    run.assert_failure(
        "already committed: pt=20161225,region=hz; not committed: pt=20161225,region=sh; ",
    );
    sandbox.set_faults(Vec::new());
    let first: Vec<String> = expected_rows(true)
        .into_iter()
        .filter(|row| row.ends_with("20161225\thz") || row == OLD_ROW)
        .collect();
    assert_eq!(read_back(&sandbox), first);
}

#[test]
fn lost_commit_replies_leave_every_row_once() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let fault = json!({"target": "tunnel_commit", "count": 2, "action": {"type": "drop_reply"}});
    sandbox.set_faults(vec![serde_json::from_value(fault).unwrap()]);
    let run = write(
        &workspace,
        source_reader(&sandbox),
        dynamic_writer(&sandbox, json!({})),
        2,
    );
    run.assert_success();
    assert!(sandbox.faults().is_empty(), "both faults fired");
    assert_eq!(read_back(&sandbox), expected_rows(true));
}

#[test]
fn partition_keys_are_named_all_or_none() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let writer = dynamic_writer(&sandbox, json!({"column": ["id", "name", "pt"]}));
    write(&workspace, source_reader(&sandbox), writer, 1)
        .assert_failure("name every partition key (pt, region)");
    let writer = dynamic_writer(
        &sandbox,
        json!({"partitionColumnMapping": [
            {"name": "name", "dateFormat": "yyyyMMdd"}
        ]}),
    );
    write(&workspace, source_reader(&sandbox), writer, 1)
        .assert_failure("partitionColumnMapping[0].name: \"name\" is not a partition key");
    assert_eq!(read_back(&sandbox), vec![OLD_ROW.to_string()]);
}

/// A task fills blocks for at most 16 partitions at once: records cycling through 20
/// partitions always find theirs evicted (least recently used), so every record is a block of
/// its own, and every one still lands in its partition once.
#[test]
fn a_task_keeps_a_bounded_number_of_partition_blocks_open() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let mut reader = source_reader(&sandbox);
    reader["parameter"]["table"] = json!("cyclic");
    write(&workspace, reader, dynamic_writer(&sandbox, json!({})), 1).assert_success();
    let report = workspace.report();
    assert_eq!(
        report["plugin_counters"]["writer"]["tunnel blocks"],
        json!(60),
        "{report}"
    );
    let mut expected: Vec<String> = (1..=60)
        .map(|id| format!("{id}\tc\t201701{:02}\tc", 1 + id % 20))
        .chain([OLD_ROW.to_string()])
        .collect();
    expected.sort();
    assert_eq!(read_back(&sandbox), expected);
}
