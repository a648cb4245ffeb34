//! odpsreader end to end: the real `datax` binary and plugin libraries against the sandbox's
//! MaxCompute over loopback.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use datax_e2e::{datax_job, sandbox_data_sources, start_sandbox, Run, Workspace};
use datax_sandbox::{FaultRule, Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{json, Value};

/// `aliyun_account.ak_biz_log_detail` partition `pt=20161226` of the example sandbox, as
/// streamwriter prints it (datetimes in GMT+8).
const SEED_ROWS: [&str; 10] = [
    "ak_1000\t20161226000\tlogin\t0.25\t2016-12-26 10:00:00\t2016_12_26 10:00:00",
    "ak_1001\t20161226001\tpay\t1.75\t2016-12-26 10:01:00\t2016_12_26 10:01:00",
    "ak_1002\t20161226002\trefund\t3.25\t2016-12-26 10:02:00\t2016_12_26 10:02:00",
    "ak_1003\t20161226003\tlogin\t4.75\t2016-12-26 10:03:00\t2016_12_26 10:03:00",
    "ak_1004\t20161226004\tlogout\t6.25\t2016-12-26 10:04:00\t2016_12_26 10:04:00",
    "ak_1005\t20161226005\tpay\t7.75\t2016-12-26 10:05:00\t2016_12_26 10:05:00",
    "ak_1006\t20161226006\tlogin\t9.25\t2016-12-26 10:06:00\t2016_12_26 10:06:00",
    "ak_1007\t20161226007\tpay\t10.75\t2016-12-26 10:07:00\t2016_12_26 10:07:00",
    "ak_1008\t20161226008\trefund\t12.25\t2016-12-26 10:08:00\t2016_12_26 10:08:00",
    "ak_1009\t20161226009\tlogout\t13.75\t2016-12-26 10:09:00\t2016_12_26 10:09:00",
];

const ACCESS_ID: &str = "sandbox-access-id";
const ACCESS_KEY: &str = "sandbox-access-key";

/// Rows of the generated tables below; big enough for several chunks of the body buffer.
const GENERATED_ROWS: u64 = 20_000;

/// Rows of `three_chunks`: a task reads a million rows per request, so three requests.
const THREE_CHUNKS_ROWS: u64 = 2_000_001;

/// A sandbox with a two-level partitioned table, generated tables and every column type.
fn start_custom_sandbox() -> SandboxHandle {
    start_custom_sandbox_with_wire(json!({}))
}

/// The same, with the sandbox's `odps.wire` options (metrics block, long CRC varints).
fn start_custom_sandbox_with_wire(wire: Value) -> SandboxHandle {
    let mut config = json!({
        "port": 0,
        "credentials": [
            {"access_id": ACCESS_ID, "access_key": ACCESS_KEY},
            {"access_id": "sts-id", "access_key": "sts-secret", "security_token": "sts-token"}
        ],
        "odps": {"projects": [{"name": "p", "tables": [
            {"name": "multi",
             "columns": [{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"}],
             "partition_keys": [{"name": "pt", "type": "string"}, {"name": "ds", "type": "string"}],
             "partitions": [
                {"spec": "pt=20161225,ds=hz", "rows": [[1, "a"], [2, "b"]]},
                {"spec": "pt=20161226,ds=hz", "rows": [[3, "c"], [4, "d"], [5, "e"]]},
                {"spec": "pt=20161226,ds=sh", "rows": [[6, "f"]]},
                {"spec": "pt=20170101,ds=hz", "rows": [[7, "g"], [8, null]]}
             ]},
            {"name": "generated",
             "columns": [{"name": "key", "type": "string"}, {"name": "n", "type": "bigint"},
                         {"name": "x", "type": "double"}, {"name": "t", "type": "datetime"}],
             "rows": GENERATED_ROWS, "seed": 11},
            {"name": "generated_parts",
             "columns": [{"name": "key", "type": "string"}, {"name": "n", "type": "bigint"}],
             "partition_keys": [{"name": "pt", "type": "string"}],
             "partitions": [
                {"spec": "pt=1", "rows": GENERATED_ROWS, "seed": 1},
                {"spec": "pt=2", "rows": GENERATED_ROWS, "seed": 2}
             ]},
            {"name": "three_chunks", "columns": [{"name": "key", "type": "string"}],
             "rows": THREE_CHUNKS_ROWS, "seed": 3},
            {"name": "types",
             "columns": [
                {"name": "c_bigint", "type": "bigint"}, {"name": "c_int", "type": "int"},
                {"name": "c_double", "type": "double"}, {"name": "c_float", "type": "float"},
                {"name": "c_decimal", "type": "decimal(10,2)"}, {"name": "c_bool", "type": "boolean"},
                {"name": "c_string", "type": "string"}, {"name": "c_varchar", "type": "varchar(8)"},
                {"name": "c_binary", "type": "binary"}, {"name": "c_datetime", "type": "datetime"},
                {"name": "c_date", "type": "date"}, {"name": "c_timestamp", "type": "timestamp"},
                {"name": "c_array", "type": "array<bigint>"},
                {"name": "c_map", "type": "map<string,bigint>"},
                {"name": "c_struct", "type": "struct<a:bigint,b:string>"}
             ],
             "rows": [
                [-7, 42, 1.5, 1.1, "12.30", true, "héllo", "v", "bin", "2016-12-26 10:00:00.123",
                 "2016-12-26", "2016-12-26 10:00:00.123456789", [1, null, 3], {"k": 5},
                 {"a": 1, "b": "x"}],
                [null, null, null, null, null, null, null, null, null, null, null, null, null,
                 null, null],
                [0, 0, 0.0, 0.0, "abc", false, "", "", "", 0, 0, "1970-01-01 00:00:00", [],
                 {}, {"a": null, "b": null}]
             ]},
            {"name": "more_types",
             "columns": [
                {"name": "c_smallint", "type": "smallint"}, {"name": "c_tinyint", "type": "tinyint"},
                {"name": "c_char", "type": "char(4)"}, {"name": "c_json", "type": "json"},
                {"name": "c_nested", "type": "array<struct<t:datetime,b:binary,d:decimal(10,2)>>"},
                {"name": "c_keyed", "type": "map<bigint,array<string>>"}
             ],
             "rows": [
                [-32768, -128, "ab", {"k": [1, "x"]},
                 [{"t": "2016-12-26 10:00:00", "b": "hi", "d": "1.50"}, null], {"7": ["a", null]}],
                [32767, 127, "abcd", "[]", [{"t": null, "b": null, "d": null}], {}]
             ]}
        ]}]}
    });
    config["odps"]["wire"] = wire;
    Sandbox::start(SandboxConfig::from_json(&config.to_string()).expect("a valid sandbox config"))
        .expect("the sandbox starts")
}

/// `parameter` with `extra` keys added or replaced; a null one removes its key.
fn merged(mut parameter: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().expect("an object") {
        if value.is_null() {
            parameter.as_object_mut().unwrap().remove(key);
        } else {
            parameter[key] = value.clone();
        }
    }
    parameter
}

/// An odpsreader of `project.table` in a sandbox, endpoints and keys included, every column.
fn odps_reader(sandbox: &SandboxHandle, project: &str, table: &str, extra: Value) -> Value {
    let parameter = json!({
        "accessId": ACCESS_ID,
        "accessKey": ACCESS_KEY,
        "odpsServer": sandbox.odps_endpoint(),
        "tunnelServer": sandbox.tunnel_endpoint(),
        "project": project,
        "table": table,
        "column": ["*"],
    });
    json!({"name": "odpsreader", "parameter": merged(parameter, extra)})
}

/// An odpsreader parameter for the custom sandbox, endpoints and keys included.
fn reader(sandbox: &SandboxHandle, table: &str, extra: Value) -> Value {
    odps_reader(sandbox, "p", table, extra)
}

/// An odpsreader of the example sandbox's seed partition (`SEED_ROWS`).
fn seed_reader(sandbox: &SandboxHandle, extra: Value) -> Value {
    let partition = merged(json!({"partition": "pt=20161226"}), extra);
    odps_reader(sandbox, "aliyun_account", "ak_biz_log_detail", partition)
}

fn file_writer() -> Value {
    json!({"name": "streamwriter", "parameter": {"path": "out", "fileName": "rows"}})
}

fn channels(count: u32) -> Value {
    json!({"speed": {"channel": count}})
}

/// Runs a DataX-shape job into files under `out/`; returns the run and every line written.
fn run_job(workspace: &Workspace, reader: Value, setting: Value) -> (Run, Vec<String>) {
    let job = workspace.write_json("job.json", &datax_job(reader, file_writer(), setting));
    let run = workspace.run(&[job.to_str().unwrap()]);
    (run, written_lines(workspace))
}

/// `run_job` in a workspace of its own.
fn read_lines(reader: Value, setting: Value) -> (Run, Vec<String>) {
    run_job(&Workspace::new(), reader, setting)
}

/// Runs `job` with the data sources file `sources` and `args`; returns the run and every line
/// written.
fn run_with_data_sources(
    workspace: &Workspace,
    job: &Path,
    sources: &Value,
    args: &[&str],
) -> (Run, Vec<String>) {
    let sources = workspace.write_json("sources.json", sources);
    let mut all = vec![
        job.to_str().unwrap(),
        "--datasources",
        sources.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let run = workspace.run(&all);
    (run, written_lines(workspace))
}

/// Every line the file writer wrote, over all its task files.
fn written_lines(workspace: &Workspace) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(workspace.path("out")) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.map(|entry| entry.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .flat_map(|file| {
            std::fs::read_to_string(file)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn sorted(lines: &[String]) -> Vec<String> {
    let mut lines = lines.to_vec();
    lines.sort();
    lines
}

fn rule(rule: Value) -> FaultRule {
    serde_json::from_value(rule).expect("a valid fault rule")
}

/// The generated text column starts with `r{row}_`: the row numbers read, each once.
fn assert_every_generated_row_once(lines: &[String], rows: u64) {
    let row_numbers: Vec<u64> = lines
        .iter()
        .map(|line| {
            let key = line.split('\t').next().unwrap();
            key.strip_prefix('r')
                .and_then(|rest| rest.split('_').next())
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("not a generated key: {line}"))
        })
        .collect();
    let distinct: BTreeSet<u64> = row_numbers.iter().copied().collect();
    assert_eq!(row_numbers.len() as u64, rows, "records read");
    assert_eq!(distinct.len() as u64, rows, "duplicated records");
    assert_eq!(distinct, (0..rows).collect(), "the row numbers read");
}

// ---- the seed ---------------------------------------------------------------------------

#[test]
fn seed_shaped_dataworks_job_reads_the_partition_exactly() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    // The seed's reader unchanged: masked keys, no endpoint (filled from the `odps` source).
    let job = workspace.write_json(
        "seed.json",
        &json!({
            "type": "job", "version": "1.0",
            "configuration": {
                "setting": {"errorLimit": {"record": "0"},
                            "speed": {"mbps": "1", "concurrent": 1, "dmu": 1, "throttle": false}},
                "reader": {"plugin": "odps", "parameter": {
                    "accessKey": "*****", "accessId": "*****", "column": ["*"],
                    "isCompress": "false", "partition": ["pt=20161226"],
                    "project": "aliyun_account", "table": "ak_biz_log_detail"}},
                "writer": {"plugin": "stream", "parameter": {"path": "out", "fileName": "rows"}}
            }
        }),
    );
    let (run, lines) =
        run_with_data_sources(&workspace, &job, &sandbox_data_sources(&sandbox), &[]);
    run.assert_success();
    assert_eq!(lines, SEED_ROWS);
    assert_eq!(sandbox.stats().records_served, 10);
    assert!(!run.stderr.contains(ACCESS_KEY), "{}", run.stderr);
}

#[test]
fn dataworks_2_job_with_a_named_data_source_and_a_parameter() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let mut sources = sandbox_data_sources(&sandbox);
    // A DataWorks MaxCompute data source names its project; the job does not.
    let mut odps = sources.as_object_mut().unwrap().remove("odps").unwrap();
    odps["parameter"]["project"] = json!("aliyun_account");
    sources["odps_first"] = odps;
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs/odps/dw2-odps-to-stream.json");
    let (run, lines) =
        run_with_data_sources(&workspace, &job, &sources, &["--param", "bizdate=20161226"]);
    run.assert_success();
    // Two channels over one partition: two row ranges of one session, one file each.
    run.assert_logged("split into 2 tasks");
    assert_eq!(lines, SEED_ROWS);
}

#[test]
fn masked_keys_without_data_sources_are_a_clear_error() {
    let (run, lines) = read_lines(
        json!({"name": "odpsreader", "parameter": {
            "accessId": "*****", "accessKey": "*****", "odpsServer": "http://127.0.0.1:9/api",
            "project": "aliyun_account", "table": "ak_biz_log_detail", "column": ["*"],
            "partition": "pt=20161226"}}),
        json!({}),
    );
    run.assert_failure(
        "accessId: is masked (\"*****\"): supply the real AccessKey ID with --datasources",
    );
    assert!(lines.is_empty());
}

#[test]
fn shared_datax_jobs_check_and_explain_masked_keys() {
    let workspace = Workspace::new();
    // Its keys are plain placeholders, so check goes as far as asking its endpoint.
    let doc = datax_e2e::shared_jobs().join("datax-odpsreader-doc.json");
    workspace
        .run(&["check", doc.to_str().unwrap()])
        .assert_failure("(http://xxx/api/projects/targetProjectName/tables/tableName");
    let perf = datax_e2e::shared_jobs().join("datax-odpsreader-perf.json");
    workspace
        .run(&["check", perf.to_str().unwrap()])
        .assert_failure("accessId: is masked");
}

// ---- columns ----------------------------------------------------------------------------

#[test]
fn column_subset_partition_columns_and_constants_in_the_given_order() {
    let sandbox = start_sandbox();
    let extra = json!({
        // No tunnelServer: found through GET /projects/{p}/tunnel?service.
        "tunnelServer": null,
        "partition": ["pt=20161226"],
        "column": ["COL2", "col0", "pt", "'fixed'", "col0"],
    });
    let (run, lines) = read_lines(seed_reader(&sandbox, extra), json!({}));
    run.assert_success();
    let expected: Vec<String> = SEED_ROWS
        .iter()
        .map(|row| {
            let fields: Vec<&str> = row.split('\t').collect();
            format!(
                "{}\t{}\t20161226\tfixed\t{}",
                fields[2], fields[0], fields[0]
            )
        })
        .collect();
    assert_eq!(lines, expected);
}

#[test]
fn star_reads_every_column_compressed_or_not() {
    let sandbox = start_sandbox();
    for compress in [json!(true), json!("false")] {
        let extra = json!({"isCompress": compress});
        let (run, lines) = read_lines(seed_reader(&sandbox, extra), json!({}));
        run.assert_success();
        assert_eq!(lines, SEED_ROWS);
    }
}

#[test]
fn only_partition_columns_and_constants_still_give_every_row() {
    let sandbox = start_custom_sandbox();
    let (run, lines) = read_lines(
        reader(
            &sandbox,
            "multi",
            json!({"partition": "pt=20161226,ds=*", "column": ["ds", "'k'", "pt"]}),
        ),
        json!({}),
    );
    run.assert_success();
    assert_eq!(
        sorted(&lines),
        [
            "hz\tk\t20161226",
            "hz\tk\t20161226",
            "hz\tk\t20161226",
            "sh\tk\t20161226"
        ]
    );
}

#[test]
fn unknown_column_is_an_error_listing_the_columns() {
    let sandbox = start_custom_sandbox();
    let (run, _) = read_lines(
        reader(
            &sandbox,
            "multi",
            json!({"column": ["id", "nope"], "partition": "pt=*,ds=*"}),
        ),
        json!({}),
    );
    run.assert_failure("column[1]: the table has no column \"nope\" (it has id, name, pt, ds)");
}

#[test]
fn a_missing_table_is_a_configuration_error_naming_it() {
    let sandbox = start_custom_sandbox();
    let (run, _) = read_lines(reader(&sandbox, "no_such_table", json!({})), json!({}));
    run.assert_failure(
        "configuration error: reading the schema of table p.no_such_table: NoSuchTable \
         (HTTP 404): ODPS-0130131:Table not found - 'p.no_such_table'",
    );
}

#[test]
fn every_type_maps_as_documented() {
    let sandbox = start_custom_sandbox();
    let (run, lines) = read_lines(reader(&sandbox, "types", json!({})), json!({}));
    run.assert_success();
    assert_eq!(
        lines,
        vec![
            // As DataX's ReaderProxy: a TIMESTAMP through DateColumn (fraction dropped), map
            // values and struct fields as strings (codec/json.rs).
            "-7\t42\t1.5\t1.1\t12.30\ttrue\théllo\tv\tbin\t2016-12-26 18:00:00\t2016-12-26\t\
             2016-12-26 18:00:00\t[1,null,3]\t{\"k\":\"5\"}\t{\"a\":\"1\",\"b\":\"x\"}",
            "null\tnull\tnull\tnull\tnull\tnull\tnull\tnull\tnull\tnull\tnull\tnull\tnull\tnull\tnull",
        ],
        "the third row has a decimal that is not a number and is dirty"
    );
    assert!(
        run.stderr
            .contains("column c_decimal: \\\"abc\\\" is not a decimal number")
            || run
                .stderr
                .contains("column c_decimal: \"abc\" is not a decimal number"),
        "{}",
        run.stderr
    );
    run.assert_logged("Read/write failures       :                   1");
}

#[test]
fn narrow_integers_char_json_and_nested_complex_types_read_value_for_value() {
    let sandbox = start_custom_sandbox();
    let (run, lines) = read_lines(reader(&sandbox, "more_types", json!({})), json!({}));
    run.assert_success();
    assert_eq!(
        lines,
        vec![
            // As DataX's ReaderProxy (codec/json.rs): struct fields as strings in Java HashMap
            // order ("b" bucket 2, "t" and "d" bucket 4), datetimes in GMT+8, binary as Base64
            // twice ("hi" → "aGk=" → "YUdrPQ=="), null fields left out, bigint keys bare.
            "-32768\t-128\tab\t{\"k\":[1,\"x\"]}\t\
             [{\"b\":\"YUdrPQ==\",\"t\":\"2016-12-26 18:00:00\",\"d\":\"1.50\"},null]\t{7:[\"a\",null]}",
            "32767\t127\tabcd\t[]\t[{}]\t{}",
        ]
    );
}

#[test]
fn a_dirty_record_beyond_the_error_limit_fails_the_job() {
    let sandbox = start_custom_sandbox();
    let (run, _) = read_lines(
        reader(&sandbox, "types", json!({})),
        json!({"errorLimit": {"record": 0}}),
    );
    run.assert_failure("errorLimit");
}

// ---- partitions -------------------------------------------------------------------------

#[test]
fn partition_patterns_expand_to_the_matching_partitions() {
    let sandbox = start_custom_sandbox();
    let read = |partition: Value| {
        let (run, lines) = read_lines(
            reader(
                &sandbox,
                "multi",
                json!({"partition": partition, "column": ["pt", "ds", "id", "name"]}),
            ),
            json!({}),
        );
        run.assert_success();
        sorted(&lines)
    };
    let every_hz_row = [
        "20161225\thz\t1\ta",
        "20161225\thz\t2\tb",
        "20161226\thz\t3\tc",
        "20161226\thz\t4\td",
        "20161226\thz\t5\te",
        "20170101\thz\t7\tg",
        "20170101\thz\t8\tnull",
    ];
    assert_eq!(
        read(json!(["pt=2016*,ds=hz", "pt = '20170101' / ds=*"])),
        every_hz_row
    );
    // A string is one pattern (DataWorks); overlapping patterns read a partition once.
    assert_eq!(
        read(json!("pt=20161226,ds=*")),
        vec![
            "20161226\thz\t3\tc",
            "20161226\thz\t4\td",
            "20161226\thz\t5\te",
            "20161226\tsh\t6\tf"
        ]
    );
    assert_eq!(
        read(json!(["pt=20161226,ds=sh", "pt=*,ds=sh"])),
        vec!["20161226\tsh\t6\tf"]
    );
    // DataX's SQL condition form, mixed with a pattern.
    assert_eq!(
        read(json!([
            "/*query*/ pt >= 20161226 and ds = 'hz'",
            "pt=20161225,ds=hz"
        ])),
        every_hz_row
    );
}

#[test]
fn a_pattern_matching_nothing_names_it_and_lists_partitions() {
    let sandbox = start_custom_sandbox();
    let (run, _) = read_lines(
        reader(&sandbox, "multi", json!({"partition": ["pt=2018*,ds=*"]})),
        json!({}),
    );
    run.assert_failure(
        "partition: no partition of table p.multi matches \"pt=2018*,ds=*\"; it has \
         pt=20161225,ds=hz; pt=20161226,ds=hz; pt=20161226,ds=sh; pt=20170101,ds=hz",
    );
}

#[test]
fn success_on_no_partition_reads_nothing_instead_of_failing() {
    let sandbox = start_custom_sandbox();
    let (run, lines) = read_lines(
        reader(
            &sandbox,
            "multi",
            json!({"partition": ["pt=2018*,ds=*"], "successOnNoPartition": "true"}),
        ),
        json!({}),
    );
    run.assert_success();
    assert!(lines.is_empty());
    run.assert_logged("successOnNoPartition: reading nothing");
}

#[test]
fn every_partition_level_must_be_named() {
    let sandbox = start_custom_sandbox();
    let (run, _) = read_lines(
        reader(&sandbox, "multi", json!({"partition": "pt=20161226"})),
        json!({}),
    );
    run.assert_failure("name every level, e.g. \"pt=20161226,ds=*\"");
    let (run, _) = read_lines(reader(&sandbox, "multi", json!({})), json!({}));
    run.assert_failure("partition: required, table p.multi is partitioned by pt, ds");
}

// ---- splitting --------------------------------------------------------------------------

#[test]
fn channels_split_an_unpartitioned_table_without_losing_or_repeating_rows() {
    let sandbox = start_custom_sandbox();
    let (run, lines) = read_lines(
        reader(&sandbox, "generated", json!({"column": ["key", "n"]})),
        channels(3),
    );
    run.assert_success();
    run.assert_logged("split into 3 tasks");
    assert_every_generated_row_once(&lines, GENERATED_ROWS);
}

#[test]
fn partitions_split_by_record_and_by_partition() {
    let sandbox = start_custom_sandbox();
    for (mode, tasks) in [("record", 4), ("partition", 2)] {
        let (run, lines) = read_lines(
            reader(
                &sandbox,
                "generated_parts",
                json!({"partition": "pt=*", "splitMode": mode, "column": ["key", "pt"]}),
            ),
            channels(4),
        );
        run.assert_success();
        run.assert_logged(&format!("split into {tasks} tasks"));
        for pt in ["1", "2"] {
            let in_partition: Vec<String> = lines
                .iter()
                .filter(|line| line.ends_with(&format!("\t{pt}")))
                .cloned()
                .collect();
            assert_every_generated_row_once(&in_partition, GENERATED_ROWS);
        }
        assert_eq!(lines.len() as u64, 2 * GENERATED_ROWS);
    }
}

#[test]
fn dataworks_concurrent_1_and_4_read_the_same_rows() {
    let sandbox = start_custom_sandbox();
    let read = |concurrent: u32| {
        let mut parameter = reader(
            &sandbox,
            "generated_parts",
            json!({"partition": ["pt=*"], "column": ["key", "n", "pt"]}),
        )["parameter"]
            .take();
        parameter["isCompress"] = json!("false");
        let workspace = Workspace::new();
        let job = workspace.write_json(
            "job.json",
            &json!({
                "type": "job", "version": "1.0",
                "configuration": {
                    "setting": {"errorLimit": {"record": "0"},
                                "speed": {"concurrent": concurrent, "throttle": false}},
                    "reader": {"plugin": "odps", "parameter": parameter},
                    "writer": {"plugin": "stream", "parameter": {"path": "out", "fileName": "rows"}}
                }
            }),
        );
        let run = workspace.run(&[job.to_str().unwrap()]);
        run.assert_success();
        (run, sorted(&written_lines(&workspace)))
    };
    let (one_run, one) = read(1);
    let (four_run, four) = read(4);
    // One channel: a task per partition; four: two row ranges of each partition.
    one_run.assert_logged("split into 2 tasks");
    four_run.assert_logged("split into 4 tasks");
    assert_eq!(one.len() as u64, 2 * GENERATED_ROWS);
    assert_eq!(one, four);
}

#[test]
fn metrics_blocks_and_ten_byte_crc_varints_are_read() {
    // The other forms real servers send (odps-tunnel.md §5.3, §10).
    let sandbox =
        start_custom_sandbox_with_wire(json!({"metrics_block": true, "long_crc_varints": true}));
    let (run, lines) = read_lines(
        reader(
            &sandbox,
            "generated",
            json!({"column": ["key", "t", "x", "n"]}),
        ),
        channels(2),
    );
    run.assert_success();
    assert!(!run.stderr.contains("WARN  [odps]"), "{}", run.stderr);
    assert_every_generated_row_once(&lines, GENERATED_ROWS);
}

// ---- credentials ------------------------------------------------------------------------

#[test]
fn wrong_credentials_are_an_auth_error_without_the_secret() {
    let sandbox = start_custom_sandbox();
    let (run, lines) = read_lines(
        reader(
            &sandbox,
            "multi",
            json!({"accessKey": "not-the-key-4711", "partition": "pt=*,ds=*"}),
        ),
        json!({}),
    );
    run.assert_failure(
        "reading the schema of table p.multi: SignatureNotMatch (HTTP 401): ODPS-0410042:Invalid \
         signature value - User signature dose not match",
    );
    run.assert_failure("; check accessId and accessKey");
    assert!(
        run.last_line().contains("authentication error"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-key-4711") && !run.stdout.contains("not-the-key-4711"));
    assert!(lines.is_empty());
}

#[test]
fn an_unreachable_endpoint_is_a_connection_error() {
    // Port 1 on loopback: nothing listens there.
    let (run, _) = read_lines(
        json!({"name": "odpsreader", "parameter": {
            "accessId": ACCESS_ID, "accessKey": ACCESS_KEY, "odpsServer": "http://127.0.0.1:1/api",
            "project": "p", "table": "t", "column": ["*"], "maxRetryTime": 1}}),
        json!({}),
    );
    run.assert_failure(
        "connection error: finding the tunnel endpoint of project p (set tunnelServer to skip \
         this): cannot connect: error sending request for url (http://127.0.0.1:1/api/projects/p/tunnel",
    );
    assert!(
        run.last_line().contains("Connection refused"),
        "{}",
        run.stderr
    );
    run.assert_logged("retrying in 1 s");
}

#[test]
fn sts_credentials_send_the_security_token() {
    let sandbox = start_custom_sandbox();
    let sts = json!({"accessId": "sts-id", "accessKey": "sts-secret", "securityToken": "sts-token",
                     "partition": "pt=20161226,ds=sh"});
    let (run, lines) = read_lines(reader(&sandbox, "multi", sts), json!({}));
    run.assert_success();
    assert_eq!(lines, vec!["6\tf"]);
}

// ---- faults -----------------------------------------------------------------------------

/// The seed partition read with the given faults set; returns the run and its lines.
fn read_seed_with_faults(
    sandbox: &SandboxHandle,
    faults: Vec<Value>,
    extra: Value,
) -> (Run, Vec<String>) {
    sandbox.set_faults(faults.into_iter().map(rule).collect());
    read_lines(seed_reader(sandbox, extra), json!({}))
}

#[test]
fn server_errors_are_retried_until_the_read_succeeds() {
    let sandbox = start_sandbox();
    let (run, lines) = read_seed_with_faults(
        &sandbox,
        vec![
            // Table metadata, then the session, then the data: each fails before it works.
            json!({"target": "odps", "action": {"type": "error", "status": 500, "code": "InternalServerError"}, "count": 1}),
            json!({"target": "tunnel", "path_contains": "ak_biz_log_detail", "count": 1,
                   "action": {"type": "error", "status": 502, "code": "BadGateway"}}),
            json!({"target": "tunnel_data", "action": {"type": "error", "status": 503, "code": "ServerBusy"}, "count": 2}),
        ],
        json!({}),
    );
    run.assert_success();
    assert_eq!(lines, SEED_ROWS);
    let stats = sandbox.stats();
    assert_eq!(stats.count("odps", "InternalServerError"), 1);
    assert_eq!(stats.count("tunnel", "BadGateway"), 1);
    assert_eq!(stats.count("tunnel", "ServerBusy"), 2);
    assert!(
        run.stderr.contains("ServerBusy"),
        "the retries are logged: {}",
        run.stderr
    );
}

#[test]
fn flow_control_is_retried_beyond_max_retry_time() {
    let sandbox = start_sandbox();
    let (run, lines) = read_seed_with_faults(
        &sandbox,
        vec![json!({"target": "tunnel_data", "count": 2,
                    "action": {"type": "error", "status": 429, "code": "FlowExceeded"}})],
        json!({"maxRetryTime": 1}),
    );
    run.assert_success();
    assert_eq!(lines, SEED_ROWS);
    assert_eq!(sandbox.stats().count("tunnel", "FlowExceeded"), 2);
}

#[test]
fn flipped_truncated_and_aborted_bodies_are_detected_and_resumed() {
    let sandbox = start_sandbox();
    for (action, outcome) in [
        (
            json!({"type": "flip_byte", "offset": 130}),
            "fault:flip_byte",
        ),
        (
            json!({"type": "truncate_body", "after_bytes": 200}),
            "fault:truncate_body",
        ),
        (
            json!({"type": "abort_body", "after_bytes": 300}),
            "fault:abort_body",
        ),
        (json!({"type": "close"}), "fault:close"),
    ] {
        let before = sandbox.stats().count("tunnel", outcome);
        let (run, lines) = read_seed_with_faults(
            &sandbox,
            vec![json!({"target": "tunnel_data", "action": action, "count": 1})],
            json!({"isCompress": true}),
        );
        run.assert_success();
        assert_eq!(lines, SEED_ROWS, "after {outcome}");
        assert_eq!(
            sandbox.stats().count("tunnel", outcome),
            before + 1,
            "{outcome} fired"
        );
    }
}

#[test]
fn a_flip_in_the_middle_of_a_large_body_resumes_without_duplicates() {
    let sandbox = start_custom_sandbox();
    sandbox.set_faults(vec![rule(json!({
        "target": "tunnel_data", "action": {"type": "flip_byte", "offset": 300_000}, "count": 1
    }))]);
    let (run, lines) = read_lines(
        reader(
            &sandbox,
            "generated",
            json!({"column": ["key", "n", "x", "t"]}),
        ),
        json!({}),
    );
    run.assert_success();
    run.assert_logged("fails its CRC32C check");
    assert_eq!(sandbox.stats().count("tunnel", "fault:flip_byte"), 1);
    assert_every_generated_row_once(&lines, GENERATED_ROWS);
}

#[test]
fn faults_in_the_middle_of_large_bodies_on_two_channels_give_every_row_once() {
    let sandbox = start_custom_sandbox();
    // Each fires once, on the data requests in turn. The first request is one channel's
    // whole range, which 300,017 bytes cut inside a record; the later ones resume wherever
    // the retries left off.
    let faults = [
        (
            "fault:truncate_body",
            json!({"type": "truncate_body", "after_bytes": 300_017}),
        ),
        (
            "ServerBusy",
            json!({"type": "error", "status": 503, "code": "ServerBusy"}),
        ),
        (
            "fault:abort_body",
            json!({"type": "abort_body", "after_bytes": 150_007}),
        ),
        ("fault:close", json!({"type": "close"})),
        (
            "fault:flip_byte",
            json!({"type": "flip_byte", "offset": 200_003}),
        ),
    ];
    for compress in [false, true] {
        let before: Vec<u64> = faults
            .iter()
            .map(|(outcome, _)| sandbox.stats().count("tunnel", outcome))
            .collect();
        sandbox.set_faults(
            faults
                .iter()
                .map(|(_, action)| {
                    rule(json!({"target": "tunnel_data", "action": action, "count": 1}))
                })
                .collect(),
        );
        let (run, lines) = read_lines(
            reader(
                &sandbox,
                "generated",
                json!({"column": ["key", "n", "x", "t"], "isCompress": compress}),
            ),
            channels(2),
        );
        run.assert_success();
        run.assert_logged("the stream ended in the middle of a record (truncated body)");
        assert_every_generated_row_once(&lines, GENERATED_ROWS);
        for ((outcome, _), before) in faults.iter().zip(before) {
            assert_eq!(
                sandbox.stats().count("tunnel", outcome),
                before + 1,
                "{outcome} fired (compress: {compress})"
            );
        }
    }
}

/// One task reads three chunks with all three requests in flight at once: its rows come in
/// row order, each once, and requests sent ahead that failed are sent again.
#[test]
fn chunks_read_with_requests_in_flight_keep_their_order_and_retry_failures() {
    let sandbox = start_custom_sandbox();
    // The first two data requests to arrive: the first chunk's and one sent ahead.
    sandbox.set_faults(vec![rule(json!({
        "target": "tunnel_data",
        "action": {"type": "error", "status": 503, "code": "ServerBusy"},
        "count": 2
    }))]);
    let (run, lines) = read_lines(
        reader(&sandbox, "three_chunks", json!({"maxInFlight": 3})),
        json!({}),
    );
    run.assert_success();
    assert_eq!(sandbox.stats().count("tunnel", "ServerBusy"), 2);
    assert_eq!(lines.len() as u64, THREE_CHUNKS_ROWS, "records read");
    for (expected, line) in lines.iter().enumerate() {
        let row = line
            .strip_prefix('r')
            .and_then(|rest| rest.split('_').next())
            .and_then(|number| number.parse::<usize>().ok());
        assert_eq!(row, Some(expected), "line {expected}: {line}");
    }
}

#[test]
fn a_persistent_error_fails_the_job_naming_the_table_and_partition() {
    let sandbox = start_sandbox();
    let (run, lines) = read_seed_with_faults(
        &sandbox,
        vec![
            json!({"target": "tunnel_data", "action": {"type": "error", "status": 500, "code": "InternalServerError", "message": "disk on fire"}}),
        ],
        json!({"maxRetryTime": 1}),
    );
    run.assert_failure(
        "reading table aliyun_account.ak_biz_log_detail partition pt=20161226 (rows 0..10): \
         InternalServerError (HTTP 500): disk on fire",
    );
    run.assert_failure("; gave up after 1 retries");
    assert!(lines.is_empty());
}

#[test]
fn sigterm_stops_a_long_read_promptly() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let generated = json!({"partition": "pt=20161226"});
    let job = workspace.write_json(
        "job.json",
        &datax_job(
            odps_reader(
                &sandbox,
                "aliyun_account",
                "ak_biz_log_generated",
                generated,
            ),
            json!({"name": "streamwriter", "parameter": {"print": false}}),
            channels(2),
        ),
    );
    let (run, stopping) = workspace.terminate_after(
        &[job.to_str().unwrap(), "--report-json", "report.json"],
        Duration::from_millis(2000),
    );
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        stopping < Duration::from_secs(10),
        "took {stopping:?} to stop"
    );
    let read = workspace.read_json("report.json")["records_read"]
        .as_u64()
        .unwrap();
    assert!(read > 0 && read < 100_000_000, "stopped midway: {read}");
}
