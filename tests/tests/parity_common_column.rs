//! A job's `common.column` through the real binary: DataX's `ColumnCast.bind` reads it from
//! the job merged over `core.json`, and every plugin's dates follow it — `DateCast` writes a
//! DATETIME (and a TIMESTAMP, which odpsreader makes a datetime) with `datetimeFormat`, a DATE
//! with `dateFormat`, in `timeZone`; `StringCast.asDate` reads a string with the datetime,
//! date and time formats and then `extraFormats`. Each expected value below is what
//! `DateFormatUtils.format(date, pattern, TimeZone.getTimeZone(timeZone))` or
//! `FastDateFormat.getInstance(pattern, zone).parse(text)` gives for it.

use datax_e2e::{datax_job, Run, Workspace};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{json, Value};

const ACCESS_ID: &str = "sandbox-access-id";
const ACCESS_KEY: &str = "sandbox-access-key";
const SLS_PROJECT: &str = "parity";

/// `times`: one row of each date kind; `parsed`: where odpswriter writes strings as dates.
fn start_sandbox() -> SandboxHandle {
    let config = json!({
        "port": 0,
        "credentials": [{"access_id": ACCESS_ID, "access_key": ACCESS_KEY}],
        "odps": {"projects": [{"name": "p", "tables": [
            {"name": "times",
             "columns": [
                {"name": "i", "type": "bigint"}, {"name": "dt", "type": "datetime"},
                {"name": "ts", "type": "timestamp"}, {"name": "d", "type": "date"}
             ],
             "rows": [[0, "2016-12-26 10:01:02+08:00", "2016-12-26 10:00:00.123456789+08:00",
                       "2016-12-26"]]},
            {"name": "parsed",
             "columns": [{"name": "i", "type": "bigint"}, {"name": "dt", "type": "datetime"}],
             "rows": []}
        ]}]},
        "sls": {"projects": [{"name": SLS_PROJECT, "logstores": ["times", "defaults"]}]}
    });
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).expect("a valid config"))
        .expect("the sandbox starts")
}

fn connection(sandbox: &SandboxHandle, table: &str, columns: Value) -> Value {
    json!({
        "accessId": ACCESS_ID,
        "accessKey": ACCESS_KEY,
        "odpsServer": sandbox.odps_endpoint(),
        "tunnelServer": sandbox.tunnel_endpoint(),
        "project": "p",
        "table": table,
        "column": columns,
    })
}

fn odps_reader(sandbox: &SandboxHandle, table: &str, columns: Value) -> Value {
    json!({"name": "odpsreader", "parameter": connection(sandbox, table, columns)})
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

/// Runs `reader` into `writer` with one channel and `common` at the top of the job.
fn run(workspace: &Workspace, reader: Value, writer: Value, common: Value) -> Run {
    let mut job = datax_job(reader, writer, json!({"speed": {"channel": 1}}));
    if !common.is_null() {
        job["common"] = common;
    }
    workspace.run_reported(&job)
}

/// The one file the file writer wrote.
fn written(workspace: &Workspace) -> String {
    let mut files = std::fs::read_dir(workspace.path("out")).unwrap();
    let file = files.next().expect("a file").unwrap().path();
    std::fs::read_to_string(file).unwrap()
}

const TIMES: [&str; 4] = ["i", "dt", "ts", "d"];

/// The formats and zone of the job: the DATETIME 2016-12-26 10:01:02 (GMT+8) is
/// 2016-12-26 02:01:02 UTC, written "2016/12/26 02:01:02.000"; the TIMESTAMP keeps its
/// milliseconds through `SSS` (Timestamp.getTime()), "2016/12/26 02:00:00.123"; the DATE is
/// GMT+8 midnight (odpsreader's `getDate` in the JVM zone), the 25th at 16:00 UTC, "25.12.16".
#[test]
fn formats_and_zone_change_what_streamwriter_and_loghubwriter_write() {
    let sandbox = start_sandbox();
    let common = json!({"column": {
        "datetimeFormat": "yyyy/MM/dd HH:mm:ss.SSS",
        "dateFormat": "dd.MM.yy",
        "timeZone": "UTC"
    }});
    let expected = [
        "0",
        "2016/12/26 02:01:02.000",
        "2016/12/26 02:00:00.123",
        "25.12.16",
    ];

    let file = Workspace::new();
    let run_to_file = run(
        &file,
        odps_reader(&sandbox, "times", json!(TIMES)),
        file_writer(),
        common.clone(),
    );
    run_to_file.assert_success();
    assert_eq!(written(&file), format!("{}\n", expected.join("\t")));
    // Acted on, so not among the keys `datax` warns it ignores.
    assert!(
        !run_to_file.stderr.contains("common.column"),
        "{}",
        run_to_file.stderr
    );

    run(
        &Workspace::new(),
        odps_reader(&sandbox, "times", json!(TIMES)),
        loghub_writer(&sandbox, "times", json!(TIMES)),
        common,
    )
    .assert_success();
    let logs = sandbox.logs(SLS_PROJECT, "times");
    assert_eq!(logs.len(), 1);
    for (key, text) in TIMES.iter().zip(expected) {
        assert_eq!(logs[0].contents[*key], text, "{key}");
    }
}

/// Without `common.column`, `core.json`'s: yyyy-MM-dd HH:mm:ss, yyyy-MM-dd, GMT+8.
#[test]
fn without_common_column_dates_are_written_as_core_json_says() {
    let sandbox = start_sandbox();
    let expected = [
        "0",
        "2016-12-26 10:01:02",
        "2016-12-26 10:00:00",
        "2016-12-26",
    ];
    let file = Workspace::new();
    run(
        &file,
        odps_reader(&sandbox, "times", json!(TIMES)),
        file_writer(),
        Value::Null,
    )
    .assert_success();
    assert_eq!(written(&file), format!("{}\n", expected.join("\t")));

    run(
        &Workspace::new(),
        odps_reader(&sandbox, "times", json!(TIMES)),
        loghub_writer(&sandbox, "defaults", json!(TIMES)),
        Value::Null,
    )
    .assert_success();
    let logs = sandbox.logs(SLS_PROJECT, "defaults");
    for (key, text) in TIMES.iter().zip(expected) {
        assert_eq!(logs[0].contents[*key], text, "{key}");
    }
}

/// odpswriter reads strings as dates as `StringCast.asDate`: "26/12/2016 02:00" with the
/// job's datetimeFormat "dd/MM/yyyy HH:mm" in UTC is 2016-12-26 10:00:00 GMT+8;
/// "2016.12.26" with its extra format "yyyy.MM.dd" is UTC midnight, 08:00:00 GMT+8; a text
/// none of them reads ("20161226", whose `yyyyMMdd` the job's list replaced) makes its
/// record dirty.
#[test]
fn odpswriter_reads_strings_with_the_jobs_formats_and_zone() {
    let sandbox = start_sandbox();
    // One run a text: a streamreader column holds one value.
    let texts = ["26/12/2016 02:00", "2016.12.26", "20161226"];
    let common = json!({"column": {
        "datetimeFormat": "dd/MM/yyyy HH:mm",
        "timeZone": "UTC",
        "extraFormats": ["yyyy.MM.dd"]
    }});
    let mut dirty = 0;
    for (i, text) in texts.iter().enumerate() {
        let reader = json!({"name": "streamreader", "parameter": {
            "column": [{"value": i, "type": "long"}, {"value": text, "type": "string"}],
            "sliceRecordCount": 1,
        }});
        let writer = json!({"name": "odpswriter",
            "parameter": connection(&sandbox, "parsed", json!(["i", "dt"]))});
        let workspace = Workspace::new();
        run(&workspace, reader, writer, common.clone()).assert_success();
        if workspace.path("dirty.jsonl").exists() {
            dirty += workspace.dirty_records().lines().count();
        }
    }
    assert_eq!(dirty, 1, "only 20161226 is refused");

    let back = Workspace::new();
    run(
        &back,
        odps_reader(&sandbox, "parsed", json!(["i", "dt"])),
        file_writer(),
        Value::Null,
    )
    .assert_success();
    let text = written(&back);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(lines, ["0\t2016-12-26 10:00:00", "1\t2016-12-26 08:00:00"]);
}

/// `core.json`'s extra format, yyyyMMdd, reads "20161226" when the job sets none.
#[test]
fn odpswriter_reads_yyyymmdd_by_default() {
    let sandbox = start_sandbox();
    let reader = json!({"name": "streamreader", "parameter": {
        "column": [{"value": 7, "type": "long"}, {"value": "20161226", "type": "string"}],
        "sliceRecordCount": 1,
    }});
    let writer = json!({"name": "odpswriter",
        "parameter": connection(&sandbox, "parsed", json!(["i", "dt"]))});
    run(&Workspace::new(), reader, writer, Value::Null).assert_success();
    let back = Workspace::new();
    run(
        &back,
        odps_reader(&sandbox, "parsed", json!(["i", "dt"])),
        file_writer(),
        Value::Null,
    )
    .assert_success();
    assert_eq!(written(&back), "7\t2016-12-26 00:00:00\n");
}

/// A setting DataX would not run with (or that `datax` cannot honour) stops the job before
/// any plugin starts, naming the key.
#[test]
fn a_bad_setting_fails_the_job_naming_the_key() {
    let workspace = Workspace::new();
    let reader = json!({"name": "streamreader", "parameter": {
        "column": [{"value": 1, "type": "long"}], "sliceRecordCount": 1}});
    for (column, expected) in [
        (
            json!({"timeZone": "Mars/Olympus"}),
            "common.column.timeZone: \"Mars/Olympus\" is neither",
        ),
        (
            json!({"encoding": "GBK"}),
            "common.column.encoding: \"GBK\" is not supported (only UTF-8)",
        ),
    ] {
        run(
            &workspace,
            reader.clone(),
            file_writer(),
            json!({ "column": column }),
        )
        .assert_failure(expected);
    }
}
