//! loghubreader end to end: the real `datax` binary and plugin library read the sandbox's
//! Log Service over loopback (GetCursor, PullLogs), shard by shard, exactly the logs received
//! in `[begin, end)`; with faults on a large share of calls (errors, expired cursors, closed
//! connections, bodies cut short) every log still arrives once; a loghub → loghub job copies
//! a logstore exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use datax_e2e::{datax_job, sandbox_data_sources, shared_jobs, Run, Workspace};
use datax_sandbox::{
    AppendedGroup, AppendedLog, FaultAction, FaultRule, FaultTarget, GeneratedLogs, LogstoreConfig,
    Sandbox, SandboxConfig, SandboxHandle,
};
use serde_json::{json, Value};

const PROJECT: &str = "datax-demo";
/// Three shards, filled by each test through the control API.
const SHARDED: &str = "sharded";
const SHARDS: u32 = 3;
/// One shard split in two: shard 0 read-only, 1 and 2 its halves.
const SPLIT: &str = "split";
/// Two shards of 1000 generated groups of 10 logs, 10 groups a second from BEGIN.
const GENERATED: &str = "generated";
/// The example's one-shard logstore, written by the loghub → loghub copy.
const COPY: &str = "ak_biz_log";
const SECRET: &str = "sandbox-access-key";

/// The range of the tests: 2023-11-15 06:13:20 to 07:13:20 at GMT+8.
const BEGIN: u32 = 1_700_000_000;
const END: u32 = BEGIN + 3600;
const BEGIN_TEXT: &str = "20231115061320";
const END_TEXT: &str = "20231115071320";

fn start() -> SandboxHandle {
    let mut config = SandboxConfig::example();
    config.sls.projects[0].logstores.extend([
        LogstoreConfig::Sharded {
            name: SHARDED.into(),
            shards: SHARDS,
            split: Vec::new(),
            generated: None,
        },
        LogstoreConfig::Sharded {
            name: SPLIT.into(),
            shards: 1,
            split: vec![0],
            generated: None,
        },
        LogstoreConfig::Sharded {
            name: GENERATED.into(),
            shards: 2,
            split: Vec::new(),
            generated: Some(GeneratedLogs {
                groups_per_shard: 1000,
                logs_per_group: 10,
                seed: 7,
                start_time: BEGIN,
                groups_per_second: 10,
            }),
        },
    ]);
    Sandbox::start(config).expect("the sandbox starts")
}

/// A group received at `receive_time` of logs with `contents`, each at `receive_time - 5`.
fn group(receive_time: u32, contents: &[&[(&str, &str)]]) -> AppendedGroup {
    AppendedGroup {
        receive_time,
        logs: contents
            .iter()
            .map(|pairs| AppendedLog {
                time: receive_time - 5,
                contents: pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .collect(),
        ..Default::default()
    }
}

fn append(sandbox: &SandboxHandle, shard: u32, group: AppendedGroup) {
    append_to(sandbox, SHARDED, shard, group);
}

fn append_to(sandbox: &SandboxHandle, logstore: &str, shard: u32, group: AppendedGroup) {
    sandbox
        .append_group(PROJECT, logstore, shard, &group)
        .expect("the group is appended");
}

fn loghub_reader(sandbox: &SandboxHandle, extra: Value) -> Value {
    let mut parameter = json!({
        "endpoint": sandbox.sls_endpoint(),
        "accessId": "sandbox-access-id",
        "accessKey": SECRET,
        "project": PROJECT,
        "logstore": SHARDED,
        "beginDateTime": BEGIN_TEXT,
        "endDateTime": END_TEXT,
        "batchSize": 2,
    });
    for (key, value) in extra.as_object().expect("extra is an object") {
        parameter[key] = value.clone();
    }
    json!({"name": "loghubreader", "parameter": parameter})
}

fn printing_writer() -> Value {
    json!({"name": "streamwriter", "parameter": {"print": true, "fieldDelimiter": "|"}})
}

fn run(workspace: &Workspace, reader: Value, writer: Value) -> Run {
    workspace.run_reported(&datax_job(reader, writer, json!({"speed": {"channel": 3}})))
}

/// The printed records, sorted (tasks run in parallel).
fn printed(run: &Run) -> Vec<String> {
    let mut lines: Vec<String> = run.stdout.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn a_range_reads_exactly_its_logs_by_shard_with_meta_and_tag_columns() {
    let sandbox = start();
    // Shard 0: before the range, at its begin (in), inside, at its end (out), after.
    append(&sandbox, 0, group(BEGIN - 10, &[&[("id", "before")]]));
    append(
        &sandbox,
        0,
        group(BEGIN, &[&[("id", "at-begin"), ("msg", "first")]]),
    );
    append(
        &sandbox,
        0,
        group(
            BEGIN + 100,
            &[&[("id", "a1"), ("msg", "x")], &[("id", "a2")]],
        ),
    );
    append(&sandbox, 0, group(END, &[&[("id", "at-end")]]));
    append(&sandbox, 0, group(END + 5, &[&[("id", "after")]]));
    // Shard 1: a group with topic, source and tags.
    let mut tagged = group(
        BEGIN + 50,
        &[
            &[("id", "b1"), ("msg", "日志 | y")],
            &[("id", "b2"), ("extra", "e")],
        ],
    );
    tagged.topic = Some("biz".into());
    tagged.source = Some("10.0.0.7".into());
    tagged.tags = BTreeMap::from([
        ("__hostname__".to_string(), "host-1".to_string()),
        ("__receive_time__".to_string(), (BEGIN + 50).to_string()),
    ]);
    append(&sandbox, 1, tagged);
    // Shard 2: nothing in the range, so split skips it.
    append(&sandbox, 2, group(BEGIN - 100, &[&[("id", "old")]]));

    let workspace = Workspace::new();
    let columns = json!([
        "id",
        "msg",
        "C_Topic",
        "__source__",
        "C_LogTime",
        "C_HostName",
        "__receive_time__",
        "__tag__:__hostname__",
        "C__extract_others__",
    ]);
    let run = run(
        &workspace,
        loghub_reader(&sandbox, json!({"column": columns})),
        printing_writer(),
    );
    run.assert_success();
    run.assert_logged("shard 2 has no logs in the range: skipped");
    let t = |receive_time: u32| (receive_time - 5).to_string();
    let expected = [
        format!("a1|x|null|null|{}|null|null|null|{{}}", t(BEGIN + 100)),
        format!("a2|null|null|null|{}|null|null|null|{{}}", t(BEGIN + 100)),
        format!("at-begin|first|null|null|{}|null|null|null|{{}}", t(BEGIN)),
        format!(
            "b1|日志 | y|biz|10.0.0.7|{}|host-1|{}|host-1|{{}}",
            t(BEGIN + 50),
            BEGIN + 50
        ),
        format!(
            "b2|null|biz|10.0.0.7|{}|host-1|{}|host-1|{{\"extra\":\"e\"}}",
            t(BEGIN + 50),
            BEGIN + 50
        ),
    ];
    assert_eq!(printed(&run), expected);
    let report = workspace.report();
    assert_eq!(report["records_read"], 5, "{report}");
}

#[test]
fn without_a_range_every_log_is_read_and_an_empty_range_reads_nothing() {
    let sandbox = start();
    for shard in 0..SHARDS {
        append(
            &sandbox,
            shard,
            group(BEGIN + shard, &[&[("id", &format!("s{shard}"))]]),
        );
    }
    let workspace = Workspace::new();
    let everything = loghub_reader(
        &sandbox,
        json!({"column": ["id"], "beginDateTime": null, "endDateTime": null}),
    );
    let run = run(&workspace, everything, printing_writer());
    run.assert_success();
    assert_eq!(printed(&run), ["s0", "s1", "s2"]);

    let empty = loghub_reader(
        &sandbox,
        json!({"column": ["id"], "beginDateTime": "20240101", "endDateTime": "20240102"}),
    );
    let run = self::run(&workspace, empty, printing_writer());
    run.assert_success();
    assert_eq!(printed(&run), Vec::<String>::new());
    assert_eq!(workspace.report()["records_read"], 0);
}

/// A range spanning a shard split loses nothing: the read-only parent is read too.
#[test]
fn a_split_shard_and_its_halves_are_all_read() {
    let sandbox = start();
    append_to(&sandbox, SPLIT, 0, group(BEGIN + 1, &[&[("id", "parent")]]));
    append_to(&sandbox, SPLIT, 1, group(BEGIN + 10, &[&[("id", "left")]]));
    append_to(&sandbox, SPLIT, 2, group(BEGIN + 20, &[&[("id", "right")]]));
    let workspace = Workspace::new();
    let run = run(
        &workspace,
        loghub_reader(&sandbox, json!({"column": ["id"], "logstore": SPLIT})),
        printing_writer(),
    );
    run.assert_success();
    assert_eq!(printed(&run), ["left", "parent", "right"]);
}

/// A generated logstore (made up as it is pulled): 30 seconds of it are 300 groups a shard.
#[test]
fn a_generated_logstore_reads_exactly_its_range() {
    let sandbox = start();
    let workspace = Workspace::new();
    let reader = loghub_reader(
        &sandbox,
        json!({
            "column": ["seq", "level", "C_Source", "__receive_time__"],
            "logstore": GENERATED,
            "beginDateTime": null,
            "endDateTime": null,
            "beginTimestampMillis": (u64::from(BEGIN) + 10) * 1000,
            "endTimestampMillis": u64::from(BEGIN) + 40,
            "batchSize": 64,
        }),
    );
    let run = run(&workspace, reader, printing_writer());
    run.assert_success();
    let lines = printed(&run);
    assert_eq!(lines.len(), 2 * 300 * 10);
    // Groups 100 to 399 of each shard: received from BEGIN + 10 to BEGIN + 39.
    assert!(lines.iter().any(|l| l.starts_with("0-100-0|")));
    let first = lines
        .iter()
        .find(|l| l.starts_with("1-100-9|"))
        .expect("group 100 of shard 1");
    assert!(
        first.ends_with(&format!("|10.0.1.1|{}", BEGIN + 10)),
        "{first}"
    );
    assert!(!lines
        .iter()
        .any(|l| l.starts_with("0-99-") || l.starts_with("1-400-")));
    assert_eq!(workspace.report()["records_read"], 6000);
}

#[test]
fn a_missing_logstore_or_a_wrong_key_fails_with_the_services_code() {
    let sandbox = start();
    let workspace = Workspace::new();
    let run = run(
        &workspace,
        loghub_reader(
            &sandbox,
            json!({"column": ["id"], "logstore": "no_such_logstore"}),
        ),
        printing_writer(),
    );
    run.assert_failure("LogStoreNotExist (HTTP 404)");
    run.assert_logged("request id");
    let run = self::run(
        &workspace,
        loghub_reader(
            &sandbox,
            json!({"column": ["id"], "accessKey": "wrong-key"}),
        ),
        printing_writer(),
    );
    run.assert_failure("SignatureNotMatch");
    assert!(!run.stderr.contains("wrong-key"), "{}", run.stderr);
    let run = self::run(
        &workspace,
        loghub_reader(&sandbox, json!({"column": ["id"], "shard": 7})),
        printing_writer(),
    );
    run.assert_failure("has no shard 7");
}

fn sometimes(target: FaultTarget, probability: f64, seed: u64, action: FaultAction) -> FaultRule {
    FaultRule {
        target,
        path_contains: None,
        action,
        count: None,
        probability: Some(probability),
        seed,
    }
}

fn error(status: u16, code: &str) -> FaultAction {
    FaultAction::Error {
        status,
        code: code.to_string(),
        message: format!("injected {code}"),
    }
}

/// Shard `s`, group `g` (received at BEGIN + g) holds logs `s-g-0` … `s-g-3`, each with a
/// payload of its own. Returns every log as `id|payload`, sorted.
fn fill_numbered(sandbox: &SandboxHandle, groups: u32) -> Vec<String> {
    let mut lines = Vec::new();
    for shard in 0..SHARDS {
        for index in 0..groups {
            let logs: Vec<(String, String)> = (0..4)
                .map(|log| {
                    let id = format!("{shard}-{index}-{log}");
                    let payload = format!("日志 {} of shard {shard}", index * 4 + log);
                    (id, payload)
                })
                .collect();
            let pairs: Vec<Vec<(&str, &str)>> = logs
                .iter()
                .map(|(id, payload)| vec![("id", id.as_str()), ("payload", payload.as_str())])
                .collect();
            let pairs: Vec<&[(&str, &str)]> = pairs.iter().map(Vec::as_slice).collect();
            append(sandbox, shard, group(BEGIN + index, &pairs));
            lines.extend(logs.iter().map(|(id, payload)| format!("{id}|{payload}")));
        }
    }
    lines.sort();
    lines
}

#[test]
fn with_most_calls_failing_every_log_arrives_exactly_once() {
    let sandbox = start();
    let logs = fill_numbered(&sandbox, 10);
    sandbox.set_faults(vec![
        sometimes(FaultTarget::SlsGetCursor, 0.4, 1, error(503, "ServerBusy")),
        sometimes(
            FaultTarget::SlsGetCursor,
            0.2,
            6,
            FaultAction::Delay { millis: 30 },
        ),
        sometimes(
            FaultTarget::SlsPullLogs,
            0.2,
            7,
            FaultAction::Delay { millis: 30 },
        ),
        sometimes(
            FaultTarget::SlsPullLogs,
            0.25,
            2,
            error(400, "InvalidCursor"),
        ),
        sometimes(
            FaultTarget::SlsPullLogs,
            0.3,
            3,
            error(500, "InternalServerError"),
        ),
        sometimes(FaultTarget::SlsPullLogs, 0.1, 4, FaultAction::Close),
        sometimes(
            FaultTarget::SlsPullLogs,
            0.2,
            5,
            FaultAction::TruncateBody { after_bytes: 20 },
        ),
    ]);
    let workspace = Workspace::new();
    let run = run(
        &workspace,
        loghub_reader(
            &sandbox,
            json!({"column": ["id", "payload"], "maxRetries": 30}),
        ),
        printing_writer(),
    );
    run.assert_success();
    // Every log once, with its own content: none lost, none twice.
    assert_eq!(printed(&run), logs);
    assert!(
        sandbox.stats().faults_injected >= 10,
        "{:?}",
        sandbox.stats()
    );
    let report = workspace.report();
    assert_eq!(report["records_read"], logs.len(), "{report}");
    for kind in ["InvalidCursor", "ServerBusy"] {
        assert!(sandbox.stats().count("sls", kind) > 0, "{kind} injected");
    }
    let retries = &report["plugin_counters"]["reader"]["GetCursor and PullLogs retries"];
    assert!(retries.as_u64().unwrap_or(0) >= 10, "{report}");
}

/// A task backing off from a busy service stops within a backoff step of SIGTERM: its
/// thread waits in the host's wait, and its converting thread follows.
#[test]
fn sigterm_stops_a_task_waiting_to_retry() {
    let sandbox = start();
    fill_numbered(&sandbox, 4);
    sandbox.set_faults(vec![sometimes(
        FaultTarget::SlsPullLogs,
        1.0,
        0,
        error(503, "ServerBusy"),
    )]);
    let workspace = Workspace::new();
    let reader = loghub_reader(&sandbox, json!({"column": ["id"], "maxRetries": 1000}));
    let job = workspace.write_json(
        "job.json",
        &datax_job(reader, printing_writer(), json!({"speed": {"channel": 3}})),
    );
    // Past the first attempts, into the backoff (200, 400, 800 ms, …).
    let (run, stopping) =
        workspace.terminate_after(&[job.to_str().unwrap()], Duration::from_millis(1500));
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        stopping < Duration::from_secs(3),
        "stopped within a backoff step, took {stopping:?}"
    );
    assert!(sandbox.stats().count("sls", "ServerBusy") >= 3);
}

/// The job-level calls stop too: SIGTERM while `split` retries a busy ListShards (waits of up
/// to 5 s) ends the job at once, its report written.
#[test]
fn sigterm_while_the_job_retries_list_shards_exits_within_three_seconds() {
    let sandbox = start();
    sandbox.set_faults(vec![sometimes(
        FaultTarget::Sls,
        1.0,
        0,
        error(503, "ServerBusy"),
    )]);
    let workspace = Workspace::new();
    let reader = loghub_reader(&sandbox, json!({"column": ["id"], "maxRetries": 20}));
    let job = workspace.write_json(
        "job.json",
        &datax_job(reader, printing_writer(), json!({"speed": {"channel": 3}})),
    );
    let (run, stopping) = workspace.terminate_after(
        &[job.to_str().unwrap(), "--report-json", "report.json"],
        Duration::from_millis(1500),
    );
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        stopping < Duration::from_secs(3),
        "stopped in {stopping:?}: {}",
        run.stderr
    );
    assert_eq!(workspace.report()["records_read"], 0);
    run.assert_logged("ListShards of");
    assert!(sandbox.stats().count("sls", "ServerBusy") >= 2);
}

/// A stop does not wait on a PullLogs that hangs (issue 13, finding 7): SIGTERM while every
/// pull answers 30 s late (the client's timeout is 60 s) ends the job within seconds, its
/// report written.
#[test]
fn sigterm_while_pull_logs_hangs_exits_within_three_seconds_with_its_report() {
    let sandbox = start();
    fill_numbered(&sandbox, 4);
    sandbox.set_faults(vec![sometimes(
        FaultTarget::SlsPullLogs,
        1.0,
        0,
        FaultAction::Delay { millis: 30_000 },
    )]);
    let workspace = Workspace::new();
    let reader = loghub_reader(&sandbox, json!({"column": ["id"]}));
    let job = workspace.write_json(
        "job.json",
        &datax_job(reader, printing_writer(), json!({"speed": {"channel": 3}})),
    );
    let (run, stopping) = workspace.terminate_after(
        &[job.to_str().unwrap(), "--report-json", "report.json"],
        Duration::from_millis(1500),
    );
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        stopping < Duration::from_secs(3),
        "stopped in {stopping:?}: {}",
        run.stderr
    );
    assert_eq!(workspace.report()["records_read"], 0);
    assert!(
        sandbox.stats().faults_injected >= 1,
        "{:?}",
        sandbox.stats()
    );
}

#[test]
fn loghub_to_loghub_copies_a_logstore_exactly() {
    let sandbox = start();
    let logs = fill_numbered(&sandbox, 5);
    let workspace = Workspace::new();
    let writer = json!({"name": "loghubwriter", "parameter": {
        "endpoint": sandbox.sls_endpoint(),
        "accessId": "sandbox-access-id",
        "accessKey": SECRET,
        "project": PROJECT,
        "logstore": COPY,
        "column": ["id", "payload"],
    }});
    let run = run(
        &workspace,
        loghub_reader(
            &sandbox,
            json!({"column": ["id", "payload"], "beginDateTime": null, "endDateTime": null}),
        ),
        writer,
    );
    run.assert_success();
    let copied = sandbox.logs(PROJECT, COPY);
    let mut copied_logs: Vec<String> = copied
        .iter()
        .map(|log| {
            let value = |key| log.get(key).unwrap_or_else(|| panic!("a {key}"));
            format!("{}|{}", value("id"), value("payload"))
        })
        .collect();
    copied_logs.sort();
    assert_eq!(copied_logs, logs);
}

/// DataWorks' 2.0 reader template (`dw2-loghub-reader-template-commented.json`), its blanks
/// filled as a user fills them, checks and runs with the `sls` data source of
/// `--datasources`; its range comes from `${startTime}`/`${endTime}` parameters.
#[test]
fn the_dataworks_reader_template_checks_and_runs_with_a_data_source() {
    let sandbox = start();
    append(
        &sandbox,
        0,
        group(BEGIN + 1, &[&[("col0", "a"), ("col1", "b"), ("col4", "e")]]),
    );
    append(&sandbox, 1, group(END + 1, &[&[("col0", "late")]]));
    let template =
        std::fs::read_to_string(shared_jobs().join("dw2-loghub-reader-template-commented.json"))
            .unwrap();
    let mut job = template.clone();
    for (blank, filled) in [
        (r#""datasource":"""#, r#""datasource":"sls""#),
        (r#""beginDateTime":"""#, r#""beginDateTime":"${startTime}""#),
        (r#""endDateTime":"""#, r#""endDateTime":"${endTime}""#),
        (r#""batchSize":"""#, r#""batchSize":"1""#),
        (r#""logstore":"""#, &format!(r#""logstore":"{SHARDED}""#)),
    ] {
        assert!(job.contains(blank), "the template has {blank}");
        job = job.replace(blank, filled);
    }
    let workspace = Workspace::new();
    let job = workspace.write("job.json", &job);
    let sources = workspace.write_json("sources.json", &sandbox_data_sources(&sandbox));
    let (start, end) = (
        format!("startTime={BEGIN_TEXT}"),
        format!("endTime={END_TEXT}"),
    );
    let args = |command| {
        [
            command,
            job.to_str().unwrap(),
            "--datasources",
            sources.to_str().unwrap(),
            "--param",
            start.as_str(),
            "--param",
            end.as_str(),
        ]
    };
    workspace.run(&args("check")).assert_success();
    let run = workspace.run(&args("run"));
    run.assert_success();
    // The template's last four columns name no key, meta column or tag: null, as in DataX.
    assert_eq!(
        printed(&run),
        ["a\tb\tnull\tnull\te\tnull\tnull\tnull\tnull"]
    );
}
