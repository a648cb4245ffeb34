//! loghubwriter end to end: the real `datax` binary and plugin libraries write into the
//! sandbox's Log Service over loopback, and the stored logs are read back
//! (datax-engine.md §8, datax-semantics.md §9.6, sls-putlogs.md §8).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use datax_e2e::{datax_job, sandbox_data_sources, shared_jobs, start_sandbox, Run, Workspace};
use datax_sandbox::{
    Credential, FaultAction, FaultRule, FaultTarget, Sandbox, SandboxConfig, SandboxHandle,
    StoredLog,
};
use serde_json::{json, Value};

const PROJECT: &str = "datax-demo";
const LOGSTORE: &str = "ak_biz_log";
const SECRET: &str = "sandbox-access-key";

/// `parameter` with `extra` keys added or replaced.
fn merged(mut parameter: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().expect("extra is an object") {
        parameter[key] = value.clone();
    }
    parameter
}

/// A loghubwriter pointed at the sandbox, with `extra` keys added or replaced.
fn loghub_writer(sandbox: &SandboxHandle, extra: Value) -> Value {
    let parameter = json!({
        "endpoint": sandbox.sls_endpoint(),
        "accessId": "sandbox-access-id",
        "accessKey": SECRET,
        "project": PROJECT,
        "logstore": LOGSTORE,
    });
    json!({"name": "loghubwriter", "parameter": merged(parameter, extra)})
}

/// A loghubwriter for the records of `numbered_columns` (logs with `id` and `payload`), with
/// `extra` keys added or replaced.
fn numbered_writer(sandbox: &SandboxHandle, extra: Value) -> Value {
    loghub_writer(sandbox, merged(json!({"column": ["id", "payload"]}), extra))
}

fn stream_reader(columns: Value, records_per_task: u64) -> Value {
    json!({"name": "streamreader", "parameter": {
        "column": columns, "sliceRecordCount": records_per_task,
    }})
}

/// Runs a DataX-shape job, with the report in `report.json` and dirty records in
/// `dirty.jsonl`.
fn run(workspace: &Workspace, reader: Value, writer: Value, setting: Value) -> Run {
    workspace.run_reported(&datax_job(reader, writer, setting))
}

/// Writes `records_per_task` numbered records a task through `numbered_writer`.
fn write_numbered(
    workspace: &Workspace,
    sandbox: &SandboxHandle,
    records_per_task: u64,
    extra: Value,
    setting: Value,
) -> Run {
    run(
        workspace,
        stream_reader(numbered_columns(), records_per_task),
        numbered_writer(sandbox, extra),
        setting,
    )
}

fn stored(sandbox: &SandboxHandle) -> Vec<StoredLog> {
    sandbox.logs(PROJECT, LOGSTORE)
}

/// How many times each value of content `key` was stored.
fn occurrences(logs: &[StoredLog], key: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for log in logs {
        let value = log.get(key).expect("every log has the key").to_string();
        *counts.entry(value).or_insert(0) += 1;
    }
    counts
}

/// A fault for the next `count` PutLogs requests.
fn next_puts(count: u64, action: FaultAction) -> FaultRule {
    FaultRule {
        target: FaultTarget::Sls,
        path_contains: None,
        action,
        count: Some(count),
        probability: None,
        seed: 0,
    }
}

/// A fault for every PutLogs request.
fn every_put(action: FaultAction) -> FaultRule {
    FaultRule {
        count: None,
        ..next_puts(0, action)
    }
}

fn error(status: u16, code: &str) -> FaultAction {
    FaultAction::Error {
        status,
        code: code.to_string(),
        message: format!("injected {code}"),
    }
}

/// Records numbered 0, 1, 2, … in column `id`, so that losses and duplicates show.
fn numbered_columns() -> Value {
    json!([
        {"type": "long", "incr": "0,1"},
        {"type": "string", "value": "payload"},
    ])
}

#[test]
fn every_column_kind_arrives_as_datax_text() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let columns = json!([
        {"type": "string", "value": "日志 DataX"},
        {"type": "long", "value": -1724154616370i64},
        {"type": "double", "value": "100"},
        {"type": "double", "value": "0.0000001"},
        {"type": "date", "value": "2024-01-01 08:30:00"},
        {"type": "bool", "value": false},
        {"type": "bytes", "value": "TestRawData"},
        {"type": "string", "value": ""},
    ]);
    let names = json!(["s", "l", "d1", "d2", "dt", "b", "raw", "empty"]);
    let before = now();
    run(
        &workspace,
        stream_reader(columns, 3),
        loghub_writer(
            &sandbox,
            json!({"column": names, "topic": "biz", "source": "etl-1"}),
        ),
        json!({"speed": {"channel": 1}}),
    )
    .assert_success();

    let logs = stored(&sandbox);
    assert_eq!(logs.len(), 3);
    let expected: BTreeMap<String, String> = [
        ("s", "日志 DataX"),
        ("l", "-1724154616370"),
        ("d1", "100.0"),
        // Java's `1.0E-7` through `BigDecimal.toPlainString` keeps the `.0`'s zero.
        ("d2", "0.00000010"),
        ("dt", "2024-01-01 08:30:00"),
        ("b", "false"),
        ("raw", "TestRawData"),
        ("empty", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for log in &logs {
        assert_eq!(log.contents, expected);
        assert_eq!(log.topic, "biz");
        assert_eq!(log.source, "etl-1");
        // No time column: the time the log was sent.
        assert!((before..=now() + 1).contains(&log.time), "{}", log.time);
    }
    let report = workspace.report();
    assert_eq!(report["records_written"], 3);
}

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

#[test]
fn the_log_time_comes_from_the_time_column_in_each_format_style() {
    // 2016-12-26 10:01:02 in GMT+8, DataX's default zone.
    let expected_time = 1_482_717_662u32;
    let cases = [
        ("2016-12-26 10:01:02", "yyyy-MM-dd HH:mm:ss", "timeformat"),
        ("2016_12_26 10:01:02", "%Y_%m_%d %H:%M:%S", "timeFormat"),
        ("2016_12_26 10:01:02", "%Y_%m_%d %H:%i:%S", "timeFormat"),
        ("1482717662", "bigint", "timeFormat"),
    ];
    for (text, format, key) in cases {
        let sandbox = start_sandbox();
        let workspace = Workspace::new();
        let columns = json!([
            {"type": "string", "value": "ak_1000"},
            {"type": "string", "value": text},
        ]);
        run(
            &workspace,
            stream_reader(columns, 2),
            loghub_writer(
                &sandbox,
                json!({"column": ["col0", "time_str"], "time": "time_str", key: format}),
            ),
            json!({}),
        )
        .assert_success();
        let logs = stored(&sandbox);
        assert_eq!(logs.len(), 2, "{format}");
        for log in logs {
            assert_eq!(log.time, expected_time, "{format}");
            // The time column stays a field of the log, as in DataX.
            assert_eq!(log.get("time_str"), Some(text), "{format}");
        }
    }
}

#[test]
fn a_datetime_time_column_gives_its_instant() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let columns = json!([{"type": "date", "value": "2016-12-26 10:01:02"}]);
    run(
        &workspace,
        stream_reader(columns, 1),
        loghub_writer(
            &sandbox,
            json!({"column": ["t"], "time": "t", "timeFormat": "yyyy-MM-dd HH:mm:ss"}),
        ),
        json!({}),
    )
    .assert_success();
    let logs = stored(&sandbox);
    assert_eq!(logs[0].time, 1_482_717_662);
    assert_eq!(logs[0].get("t"), Some("2016-12-26 10:01:02"));
}

/// datax-engine.md §8.2: a time that does not match `timeFormat` gives the current time, as
/// in DataX; the job warns about the first few with their value and counts them all.
#[test]
fn an_unparseable_time_gives_the_current_time_and_is_counted() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let columns = json!([{"type": "string", "value": "yesterday"}]);
    let before = now();
    let run = run(
        &workspace,
        stream_reader(columns, 10),
        loghub_writer(
            &sandbox,
            json!({"column": ["t"], "time": "t", "timeFormat": "%Y_%m_%d %H:%i:%S"}),
        ),
        json!({"errorLimit": {"record": 0}}),
    );
    run.assert_success();
    let logs = stored(&sandbox);
    assert_eq!(logs.len(), 10);
    for log in &logs {
        assert!((before..=now() + 1).contains(&log.time), "{}", log.time);
        assert_eq!(log.get("t"), Some("yesterday"));
    }
    let report = workspace.report();
    assert_eq!(report["records_written"], 10);
    assert_eq!(report["write_failed_records"], 0);
    assert_eq!(
        report["plugin_counters"]["writer"]["logs with an unparseable time"],
        10
    );
    run.assert_logged("Writer logs with an unparseable time");
    let warning = "the time column t = \"yesterday\" does not match timeFormat: the log gets \
                   the current time, as in DataX";
    // The first few, not one per record.
    assert_eq!(run.stderr.matches(warning).count(), 3, "{}", run.stderr);
    run.assert_logged("further ones are only counted");
}

/// A time zone moves texts without an offset; the default is DataX's GMT+8. Zone names
/// (as DataWorks users write them) work as well as offsets.
#[test]
fn time_zone_sets_the_offset_of_times_without_one() {
    for (zone, expected_time) in [
        (None, 1_482_717_662u32),
        (Some("UTC"), 1_482_746_462),
        (Some("Asia/Shanghai"), 1_482_717_662),
        // Winter in New York: UTC-5.
        (Some("America/New_York"), 1_482_764_462),
    ] {
        let sandbox = start_sandbox();
        let workspace = Workspace::new();
        let columns = json!([{"type": "string", "value": "2016-12-26 10:01:02"}]);
        let mut parameter =
            json!({"column": ["t"], "time": "t", "timeFormat": "yyyy-MM-dd HH:mm:ss"});
        if let Some(zone) = zone {
            parameter["timeZone"] = json!(zone);
        }
        run(
            &workspace,
            stream_reader(columns, 1),
            loghub_writer(&sandbox, parameter),
            json!({}),
        )
        .assert_success();
        assert_eq!(stored(&sandbox)[0].time, expected_time, "{zone:?}");
    }
}

/// DataX's Log Service SDK fills an empty `source` with the machine's address, and DataX
/// gives every log the current time when `time` has no `timeFormat` (its empty pattern never
/// parses): one warning says so.
#[test]
fn source_defaults_to_the_machine_address_and_time_without_format_is_the_send_time() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let columns = json!([{"type": "string", "value": "2016-12-26 10:01:02"}]);
    let before = now();
    let job = run(
        &workspace,
        stream_reader(columns, 3),
        loghub_writer(&sandbox, json!({"column": ["t"], "time": "t"})),
        json!({}),
    );
    job.assert_success();
    let logs = stored(&sandbox);
    assert_eq!(logs.len(), 3);
    for log in &logs {
        assert!((before..=now() + 1).contains(&log.time), "{}", log.time);
        let address: std::net::Ipv4Addr = log
            .source
            .parse()
            .unwrap_or_else(|_| panic!("source {:?} is not an IPv4 address", log.source));
        assert!(!address.is_unspecified());
    }
    let warning = "time = \"t\" without timeFormat: every log gets the time it is sent";
    assert_eq!(job.stderr.matches(warning).count(), 1, "{}", job.stderr);

    let sandbox = start_sandbox();
    run(
        &Workspace::new(),
        stream_reader(json!([{"type": "string", "value": "x"}]), 1),
        loghub_writer(&sandbox, json!({"column": ["t"], "source": "host-7"})),
        json!({}),
    )
    .assert_success();
    assert_eq!(stored(&sandbox)[0].source, "host-7");
}

/// The seed's writer `parameter` (DataWorks 1.0, `"datasource": "sls"`, every connection
/// key empty) filled from the data sources file; its `time_str` is not one of `column`, so
/// logs get the time they are sent, as DataX.
#[test]
fn the_seed_writer_is_filled_from_the_sls_data_source() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let seed: Value = serde_json::from_str(
        &std::fs::read_to_string(shared_jobs().join("seed-odps-to-loghub.json")).unwrap(),
    )
    .unwrap();
    let writer = seed["configuration"]["writer"].clone();
    assert_eq!(writer["parameter"]["datasource"], "sls");
    assert_eq!(writer["parameter"]["accessKey"], "");
    let rows = [
        [
            "ak_1000",
            "20161226000",
            "login",
            "0.25",
            "2016-12-26 10:00:00",
            "2016_12_26 10:00:00",
        ],
        [
            "ak_1001",
            "20161226001",
            "pay",
            "1.75",
            "2016-12-26 10:01:00",
            "2016_12_26 10:01:00",
        ],
    ];
    // One streamreader column per seed column: the first row's values.
    let columns: Vec<Value> = rows[0]
        .iter()
        .map(|value| json!({"type": "string", "value": value}))
        .collect();
    let job = json!({
        "type": "job", "version": "1.0",
        "configuration": {
            "setting": seed["configuration"]["setting"].clone(),
            "reader": {"plugin": "stream", "parameter": {
                "column": columns, "sliceRecordCount": 5,
            }},
            "writer": writer,
        }
    });
    let job = workspace.write_json("seed.json", &job);
    let sources = workspace.write_json("sources.json", &sandbox_data_sources(&sandbox));
    let before = now();
    workspace
        .run(&[
            job.to_str().unwrap(),
            "--datasources",
            sources.to_str().unwrap(),
        ])
        .assert_success();
    let logs = stored(&sandbox);
    assert_eq!(logs.len(), 5);
    for log in &logs {
        let values: Vec<&str> = (0..6)
            .map(|i| log.get(&format!("col{i}")).unwrap())
            .collect();
        assert_eq!(values, rows[0]);
        assert_eq!(log.topic, "");
        assert!((before..=now() + 1).contains(&log.time));
    }
}

/// sls-putlogs.md §6: each `compress` value is sent with its `x-log-compresstype` and
/// delivers every record; lz4 by default.
#[test]
fn every_compress_value_delivers_every_record() {
    for (compress, header) in [
        (None, "lz4"),
        (Some("lz4"), "lz4"),
        (Some("none"), "none"),
        (Some("DEFLATE"), "deflate"),
        (Some("zstd"), "zstd"),
    ] {
        let sandbox = start_sandbox();
        let workspace = Workspace::new();
        let extra = match compress {
            Some(compress) => json!({"batchSize": 200, "compress": compress}),
            None => json!({"batchSize": 200}),
        };
        write_numbered(
            &workspace,
            &sandbox,
            1_000,
            extra,
            json!({"speed": {"channel": 2}}),
        )
        .assert_success();
        let logs = stored(&sandbox);
        assert_eq!(logs.len(), 2_000, "{compress:?}");
        let counts = occurrences(&logs, "id");
        assert_eq!(counts.len(), 1_000, "{compress:?}");
        assert!(counts.values().all(|&count| count == 2), "{compress:?}");
        assert!(logs.iter().all(|log| log.get("payload") == Some("payload")));
        let stats = sandbox.stats();
        assert_eq!(
            stats.put_logs_by_compression,
            BTreeMap::from([(header.to_string(), 10)]),
            "{compress:?}"
        );
    }
}

#[test]
fn an_unknown_compress_value_is_a_config_error() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let run = write_numbered(
        &workspace,
        &sandbox,
        3,
        json!({"compress": "gzip"}),
        json!({}),
    );
    run.assert_failure("compress: \"gzip\" is not a compression: use lz4, none, deflate or zstd");
    assert_eq!(sandbox.stats().count("sls", "ok"), 0);
}

/// Keys the writer does not know are named once, at job init, and the job goes on.
#[test]
fn unknown_keys_are_warned_about() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let run = write_numbered(
        &workspace,
        &sandbox,
        5,
        json!({"compres": "zstd", "BatchSize": 2}),
        json!({"speed": {"channel": 2}}),
    );
    run.assert_success();
    let warning = "parameter.compres: unknown key, ignored";
    assert_eq!(run.stderr.matches(warning).count(), 1, "{}", run.stderr);
    run.assert_logged("parameter.BatchSize: unknown key, ignored; did you mean \"batchSize\"?");
    assert_eq!(stored(&sandbox).len(), 10);
    // Neither was applied: lz4, and one request per task.
    let stats = sandbox.stats();
    assert_eq!(
        stats.put_logs_by_compression,
        BTreeMap::from([("lz4".to_string(), 2)])
    );
}

/// Several requests in flight per task: a slow service does not stall the channel.
#[test]
fn a_task_keeps_several_requests_in_flight() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // Every PutLogs takes 400 ms: 16 batches take 6.4 s one at a time, 1.6 s four at a time.
    sandbox.set_faults(vec![every_put(FaultAction::Delay { millis: 400 })]);
    let started = std::time::Instant::now();
    write_numbered(
        &workspace,
        &sandbox,
        1_600,
        json!({"batchSize": 100, "maxInFlight": 4}),
        json!({"speed": {"channel": 1}}),
    )
    .assert_success();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(stored(&sandbox).len(), 1_600);
    assert_eq!(sandbox.stats().count("sls", "ok"), 16);
}

#[test]
fn several_channels_store_every_record_exactly_once() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    write_numbered(
        &workspace,
        &sandbox,
        2_500,
        json!({"batchSize": "300"}),
        json!({"speed": {"channel": 4}}),
    )
    .assert_success();
    let logs = stored(&sandbox);
    assert_eq!(logs.len(), 10_000);
    // Each of the 4 tasks numbers its records 0..2500.
    let counts = occurrences(&logs, "id");
    assert_eq!(counts.len(), 2_500);
    assert!(counts.values().all(|&count| count == 4));
    let stats = sandbox.stats();
    // 2500 records per task in batches of 300: 9 requests per task.
    assert_eq!(stats.count("sls", "ok"), 36);
    let report = workspace.report();
    assert_eq!(report["records_read"], 10_000);
    assert_eq!(report["records_written"], 10_000);
}

#[test]
fn records_with_another_column_count_are_dirty_and_not_sent() {
    for (names, found) in [(json!(["a", "b", "c"]), 2), (json!(["a"]), 2)] {
        let sandbox = start_sandbox();
        let workspace = Workspace::new();
        let expected = names.as_array().unwrap().len();
        write_numbered(
            &workspace,
            &sandbox,
            5,
            json!({"column": names}),
            json!({"errorLimit": {"record": 5}}),
        )
        .assert_success();
        assert!(stored(&sandbox).is_empty());
        let report = workspace.report();
        assert_eq!(report["records_read"], 5);
        assert_eq!(report["records_written"], 0);
        assert_eq!(report["write_failed_records"], 5);
        let dirty = workspace.dirty_records();
        assert_eq!(dirty.lines().count(), 5);
        let reason = format!("the record has {found} columns but `column` names {expected}");
        assert!(dirty.contains(&reason), "{dirty}");

        write_numbered(
            &workspace,
            &sandbox,
            5,
            json!({"column": names}),
            json!({"errorLimit": {"record": 4}}),
        )
        .assert_failure("errorLimit exceeded: 5 dirty records, more than errorLimit.record = 4");
    }
}

#[test]
fn a_wrong_key_fails_with_signature_not_match_and_never_shows_it() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let wrong = "not-the-sandbox-key-0123";
    let run = write_numbered(
        &workspace,
        &sandbox,
        3,
        json!({"accessKey": wrong}),
        json!({}),
    );
    run.assert_failure("SignatureNotMatch");
    assert!(run.last_line().contains("check accessId and accessKey"));
    assert!(run.last_line().contains(LOGSTORE));
    assert!(!run.stderr.contains(wrong), "{}", run.stderr);
    // Not retried: a wrong key stays wrong.
    assert_eq!(sandbox.stats().count("sls", "SignatureNotMatch"), 1);
    assert!(stored(&sandbox).is_empty());
}

#[test]
fn a_masked_key_without_data_sources_is_a_config_error() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let run = write_numbered(
        &workspace,
        &sandbox,
        3,
        json!({"accessKey": "*****"}),
        json!({}),
    );
    run.assert_failure("accessKey: is masked (*****)");
    assert!(run.last_line().contains("--datasources"));
    assert_eq!(sandbox.stats().count("sls", "ok"), 0);
}

#[test]
fn server_errors_and_closed_connections_are_retried_without_loss() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![
        next_puts(2, error(503, "ServerBusy")),
        next_puts(1, error(500, "InternalServerError")),
        next_puts(1, error(403, "WriteQuotaExceed")),
        next_puts(2, FaultAction::Close),
    ]);
    write_numbered(
        &workspace,
        &sandbox,
        1_000,
        json!({"batchSize": 100}),
        json!({}),
    )
    .assert_success();
    let logs = stored(&sandbox);
    assert_eq!(logs.len(), 1_000);
    let counts = occurrences(&logs, "id");
    assert_eq!(counts.len(), 1_000);
    let stats = sandbox.stats();
    assert_eq!(stats.count("sls", "ServerBusy"), 2);
    assert_eq!(stats.count("sls", "InternalServerError"), 1);
    assert_eq!(stats.count("sls", "WriteQuotaExceed"), 1);
    assert_eq!(stats.count("sls", "fault:close"), 2);
    assert_eq!(stats.count("sls", "ok"), 10);
}

/// A fault on a random share of requests, drawn from `seed`.
fn some_puts(probability: f64, seed: u64, action: FaultAction) -> FaultRule {
    FaultRule {
        probability: Some(probability),
        seed,
        ..every_put(action)
    }
}

/// Under a service that fails about half of the requests in every way it can, each failed
/// attempt is retried and counted in the report, and every record arrives.
#[test]
fn retries_are_counted_in_the_report_and_every_record_arrives() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![
        some_puts(0.1, 1, error(503, "ServerBusy")),
        some_puts(0.1, 2, error(500, "InternalServerError")),
        some_puts(0.1, 3, error(403, "WriteQuotaExceed")),
        some_puts(0.1, 4, FaultAction::Close),
        some_puts(0.1, 5, FaultAction::DropReply),
        // Longer than requestTimeout: the writer gives up on the answer and sends again.
        some_puts(0.1, 6, FaultAction::Delay { millis: 1_500 }),
    ]);
    let run = write_numbered(
        &workspace,
        &sandbox,
        3_000,
        json!({"batchSize": 100, "maxRetries": 30, "requestTimeout": 1}),
        json!({"speed": {"channel": 1}}),
    );
    run.assert_success();
    let stats = sandbox.stats();
    let report = workspace.report();
    let retries = &report["plugin_counters"]["writer"]["PutLogs retries"];
    // Each injected fault failed one attempt, which was retried.
    assert!(stats.faults_injected >= 10, "{stats:?}");
    assert_eq!(retries, stats.faults_injected, "{stats:?}");
    run.assert_logged("Writer PutLogs retries");
    // Dropped replies and timed-out requests were stored too: duplicates, never losses.
    let logs = stored(&sandbox);
    let unique = occurrences(&logs, "id").len();
    assert_eq!(report["records_read"], 3_000);
    assert_eq!(report["write_failed_records"], 0);
    assert_eq!(unique, 3_000);
    assert_eq!(report["records_written"], unique);
}

#[test]
fn dropped_replies_are_retried_and_duplicates_are_countable() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![next_puts(2, FaultAction::DropReply)]);
    write_numbered(
        &workspace,
        &sandbox,
        1_000,
        json!({"batchSize": 100}),
        json!({}),
    )
    .assert_success();
    let logs = stored(&sandbox);
    let distinct: BTreeSet<String> = occurrences(&logs, "id").into_keys().collect();
    assert_eq!(distinct.len(), 1_000, "nothing is lost");
    // The two dropped replies' batches were stored, then sent again.
    assert_eq!(logs.len(), 1_200);
    assert_eq!(sandbox.stats().count("sls", "fault:drop_reply"), 2);
    let report = workspace.report();
    assert_eq!(report["records_written"], 1_000);
}

#[test]
fn a_persistent_403_fails_the_job_naming_the_logstore_and_the_code() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![every_put(error(403, "Unauthorized"))]);
    let run = write_numbered(&workspace, &sandbox, 10, json!({}), json!({}));
    run.assert_failure("Unauthorized (HTTP 403)");
    assert!(
        run.last_line().contains(&format!(
            "PutLogs to logstore {LOGSTORE} of project {PROJECT}"
        )),
        "{}",
        run.last_line()
    );
    assert!(!run.stderr.contains(SECRET));
    assert_eq!(sandbox.stats().count("sls", "Unauthorized"), 1);
}

#[test]
fn hash_key_mode_lists_shards_and_writes_by_route() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // The first request (ListShards) is busy once; then a rule that fires only on the
    // hash-routed path: proof the writer used it, and that both are retried.
    let busy_once_on = |path: &str| FaultRule {
        path_contains: Some(path.to_string()),
        ..next_puts(1, error(503, "ServerBusy"))
    };
    sandbox.set_faults(vec![busy_once_on("/shards"), busy_once_on("/shards/route")]);
    write_numbered(
        &workspace,
        &sandbox,
        10,
        json!({"column": ["user_id", "payload"], "hashKey": true, "batchSize": 4}),
        json!({}),
    )
    .assert_success();
    let logs = stored(&sandbox);
    assert_eq!(occurrences(&logs, "user_id").len(), 10);
    assert_eq!(logs.len(), 10);
    let stats = sandbox.stats();
    assert_eq!(stats.count("sls", "ServerBusy"), 2);
    // ListShards, then 10 logs in batches of 4.
    assert_eq!(stats.count("sls", "ok"), 4);
}

/// A sandbox whose Log Service takes at most `max_raw_body_bytes` of protobuf a request.
fn sandbox_with_body_limit(max_raw_body_bytes: u64) -> SandboxHandle {
    let mut config = SandboxConfig::example();
    config.sls.max_raw_body_bytes = max_raw_body_bytes;
    Sandbox::start(config).expect("the sandbox starts")
}

/// sls-putlogs.md §9: a log the service refuses on its own (`PostBodyTooLarge`) is a dirty
/// record; the rest of its batch is stored, and the job succeeds within errorLimit.
#[test]
fn a_log_too_large_for_the_service_is_dirty_and_the_rest_is_stored() {
    const LIMIT: usize = 64 * 1024;
    let sandbox = sandbox_with_body_limit(LIMIT as u64);
    let workspace = Workspace::new();
    let columns = json!([
        {"type": "long", "incr": "0,1"},
        // About a third of the payloads are over the limit.
        {"type": "string", "random": "1,100000"},
    ]);
    run(
        &workspace,
        stream_reader(columns.clone(), 200),
        numbered_writer(&sandbox, json!({"batchSize": 20})),
        json!({"errorLimit": {"record": 200}}),
    )
    .assert_success();
    let logs = stored(&sandbox);
    let stored_ids: BTreeSet<String> = occurrences(&logs, "id").into_keys().collect();
    assert!(logs
        .iter()
        .all(|log| log.get("payload").unwrap().len() < LIMIT));
    // The dirty file shows each refused log's values as strings: id, payload.
    let mut dirty_ids = BTreeSet::new();
    for line in workspace.dirty_records().lines() {
        let dirty: Value = serde_json::from_str(line).unwrap();
        let reason = dirty["reason"].as_str().unwrap();
        assert!(reason.contains("PostBodyTooLarge"), "{reason}");
        assert!(
            reason.contains("is larger than Log Service accepts"),
            "{reason}"
        );
        let values = &dirty["record"];
        assert_eq!(values[0]["type"], "string");
        assert!(values[1]["value"].as_str().unwrap().len() > LIMIT - 100);
        dirty_ids.insert(values[0]["value"].as_str().unwrap().to_string());
    }
    assert!(dirty_ids.len() > 10, "{} dirty", dirty_ids.len());
    assert!(stored_ids.is_disjoint(&dirty_ids));
    let report = workspace.report();
    assert_eq!(report["records_read"], 200);
    assert_eq!(report["write_failed_records"], dirty_ids.len());
    assert_eq!(stored_ids.len() + dirty_ids.len(), 200);
    assert_eq!(report["records_written"], stored_ids.len());

    // errorLimit stops the job at its count.
    let sandbox = sandbox_with_body_limit(LIMIT as u64);
    run(
        &workspace,
        stream_reader(columns, 200),
        numbered_writer(&sandbox, json!({"batchSize": 20})),
        json!({"errorLimit": {"record": 2}}),
    )
    .assert_failure("errorLimit exceeded: 3 dirty records, more than errorLimit.record = 2");
}

#[test]
fn a_body_too_large_is_sent_again_in_halves() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    sandbox.set_faults(vec![next_puts(1, error(400, "PostBodyTooLarge"))]);
    write_numbered(
        &workspace,
        &sandbox,
        100,
        json!({"batchSize": 100}),
        json!({}),
    )
    .assert_success();
    let logs = stored(&sandbox);
    assert_eq!(logs.len(), 100);
    assert_eq!(occurrences(&logs, "id").len(), 100);
    let stats = sandbox.stats();
    assert_eq!(stats.count("sls", "PostBodyTooLarge"), 1);
    assert_eq!(stats.count("sls", "ok"), 2);
}

#[test]
fn sts_credentials_sign_the_security_token() {
    let mut config = SandboxConfig::example();
    config.credentials.push(Credential {
        access_id: "sts-id".to_string(),
        access_key: "sts-secret".to_string(),
        security_token: Some("sts-token-123".to_string()),
    });
    let sandbox = Sandbox::start(config).expect("the sandbox starts");
    let workspace = Workspace::new();
    let sts = |token: &str| json!({"accessId": "sts-id", "accessKey": "sts-secret", "securityToken": token});
    write_numbered(&workspace, &sandbox, 7, sts("sts-token-123"), json!({})).assert_success();
    assert_eq!(stored(&sandbox).len(), 7);

    let run = write_numbered(&workspace, &sandbox, 7, sts("another-token"), json!({}));
    run.assert_failure("PutLogs to logstore ak_biz_log");
    assert_eq!(stored(&sandbox).len(), 7, "nothing more was stored");
}

#[test]
fn sigterm_stops_a_task_waiting_to_retry() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // Busy for good: the task backs off between attempts until it is stopped.
    sandbox.set_faults(vec![every_put(error(503, "ServerBusy"))]);
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            stream_reader(numbered_columns(), 10),
            numbered_writer(&sandbox, json!({})),
            json!({}),
        ),
    );
    // Past the first attempts, into the backoff (200, 400, 800 ms, …).
    let (run, stopping) =
        workspace.terminate_after(&[job.to_str().unwrap()], Duration::from_millis(1500));
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        stopping < Duration::from_secs(3),
        "stopped within a backoff step, took {stopping:?}"
    );
    assert!(sandbox.stats().count("sls", "ServerBusy") >= 2);
    assert!(stored(&sandbox).is_empty());
}
