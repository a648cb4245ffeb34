//! Plan once, run shards, finish once (issue 18, docs/plan-and-shards.md): `datax plan`
//! writes every task's configuration, four `datax run --plan … --shard i/4` processes run
//! against one sandbox at once, and `datax finish` checks their reports, runs the writer's
//! commit and reports the whole job (odps → loghub, loghub → stream, odps → odps). A shard
//! that failed, a report missing or given twice, and a plan of another version are refused,
//! naming what is wrong.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datax_e2e::seed::{
    assert_every_row_arrived, seed_config_with_empty_copy, seed_job, seed_sandbox_config,
    start_seed_sandbox, ROWS, SEED_KEYS,
};
use datax_e2e::{datax_job, odps_rows, repo_jobs, sandbox_data_sources, Run, Workspace};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{json, Value};

const SHARDS: u32 = 4;

/// Starts shard `index` of `plan.json` in `workspace`, its report in `shard-<index>.json`.
fn start_shard(workspace: &Workspace, index: u32, extra: &[&str]) -> Child {
    let spec = format!("{index}/{SHARDS}");
    let report = format!("shard-{index}.json");
    workspace
        .datax()
        .args(["run", "--plan", "plan.json", "--shard", &spec])
        .args(["--report-json", &report, "--report-interval", "1"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("datax starts")
}

/// Runs every shard at once and checks that each succeeded.
fn run_all_shards(workspace: &Workspace, extra: &[&str]) {
    let children: Vec<Child> = (0..SHARDS)
        .map(|index| start_shard(workspace, index, extra))
        .collect();
    for (index, child) in children.into_iter().enumerate() {
        let run = Run::from(child.wait_with_output().expect("the shard ends"));
        assert_eq!(run.code, Some(0), "shard {index} failed:\n{}", run.stderr);
        run.assert_logged(&format!("shard {index}/{SHARDS} runs tasks"));
    }
}

fn reports(indexes: &[u32]) -> Vec<String> {
    indexes
        .iter()
        .map(|index| format!("shard-{index}.json"))
        .collect()
}

fn finish(workspace: &Workspace, reports: &[String], extra: &[&str]) -> Run {
    let mut args = vec!["finish", "--plan", "plan.json"];
    args.extend(reports.iter().map(String::as_str));
    args.extend(extra);
    workspace.run(&args)
}

fn seed_data_sources() -> PathBuf {
    repo_jobs().join("datasources.sandbox.json")
}

/// The seed job (DataWorks 1.0, odps → loghub, one channel) planned for 8 tasks: 8 row
/// ranges, 2 a shard.
fn plan_seed(workspace: &Workspace, sandbox: &SandboxHandle) -> Run {
    let job = seed_job();
    let address = format!("-Dsandbox=127.0.0.1:{}", sandbox.port());
    let sources = seed_data_sources();
    workspace.run(&[
        "plan",
        job.to_str().unwrap(),
        "--datasources",
        sources.to_str().unwrap(),
        "-p",
        &address,
        "--tasks",
        "8",
        "-o",
        "plan.json",
    ])
}

#[test]
fn the_seed_job_in_four_shards_moves_every_row_once_and_the_loghub_reader_reads_it_back_in_shards()
{
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    let planned = plan_seed(&workspace, &sandbox);
    planned.assert_success();
    planned.assert_logged("plan plan.json written: 8 tasks");
    // The task configurations hold the data source's key: the plan is its owner's only.
    planned.assert_logged("credentials in clear");
    assert!(
        !planned.stderr.contains("sandbox-access-key"),
        "{}",
        planned.stderr
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(workspace.path("plan.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "plan mode {mode:o}");
    let plan = workspace.read_json("plan.json");
    assert_eq!(
        (plan["format"].as_str(), plan["version"].as_u64()),
        (Some("datax-plan"), Some(1))
    );
    assert_eq!(plan["tasks"].as_array().unwrap().len(), 8);
    assert!(
        sandbox.logs("datax-demo", "ak_biz_log").is_empty(),
        "planning moves nothing"
    );

    let sources = seed_data_sources();
    run_all_shards(&workspace, &["--datasources", sources.to_str().unwrap()]);
    let (mut read, mut per_task) = (0, 0);
    for index in 0..SHARDS {
        let report = workspace.read_json(&format!("shard-{index}.json"));
        assert_eq!(report["status"], "succeeded", "{report}");
        let tasks = [index, index + SHARDS];
        assert_eq!(report["plan"]["tasks"], json!(tasks), "{report}");
        assert_eq!(report["plan"]["tasks_completed"], json!(tasks), "{report}");
        read += report["records_read"].as_u64().unwrap();
        for task in report["plan"]["task_counts"].as_array().unwrap() {
            assert_eq!(task["completed"], true, "{task}");
            assert_eq!(task["records_sent"], task["records_received"], "{task}");
            per_task += task["records_sent"].as_u64().unwrap();
        }
    }
    assert_eq!(read, ROWS, "the shards read the table once between them");
    assert_eq!(per_task, ROWS, "the tasks' own counts add up");
    let arrivals = assert_every_row_arrived(&sandbox.logs("datax-demo", "ak_biz_log"), &SEED_KEYS);
    assert!(arrivals.values().all(|&n| n == 1), "no row twice");

    let finished = finish(
        &workspace,
        &reports(&[0, 1, 2, 3]),
        &[
            "--datasources",
            sources.to_str().unwrap(),
            "--report-json",
            "job.json",
        ],
    );
    finished.assert_success();
    let report = workspace.read_json("job.json");
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(report["records_read"], ROWS, "{report}");
    assert_eq!(report["records_written"], ROWS, "{report}");
    assert_eq!(report["records_acknowledged"], ROWS, "{report}");
    assert_eq!(report["tasks"], 8, "{report}");
    assert_eq!(report["tasks_finished"], 8, "{report}");
    assert_eq!(report["plan"]["reports"].as_array().unwrap().len(), 4);
    let line = finished
        .stderr
        .lines()
        .find(|line| line.starts_with("Records read"))
        .unwrap_or_else(|| panic!("a summary: {}", finished.stderr));
    assert!(line.ends_with(&format!(" {ROWS}")), "{line}");

    // The loghub reader's tasks (one per shard of the logstore) run from a plan too: the
    // logs just written, read back in four shards (some may have no task).
    let back = Workspace::new();
    let sources = back.write_json("sources.json", &sandbox_data_sources(&sandbox));
    let job = back.write_json(
        "back.json",
        &datax_job(
            json!({"name": "loghubreader", "parameter": {
                "datasource": "sls", "logstore": "ak_biz_log", "column": SEED_KEYS}}),
            json!({"name": "streamwriter", "parameter": {"print": false}}),
            json!({"speed": {"channel": 2}}),
        ),
    );
    let sources = sources.to_str().unwrap();
    back.run(&[
        "plan",
        job.to_str().unwrap(),
        "--datasources",
        sources,
        "-o",
        "plan.json",
    ])
    .assert_success();
    run_all_shards(&back, &["--datasources", sources]);
    finish(
        &back,
        &reports(&[0, 1, 2, 3]),
        &["--datasources", sources, "--report-json", "job.json"],
    )
    .assert_success();
    let report = back.read_json("job.json");
    assert_eq!(report["records_read"], ROWS, "{report}");
    assert_eq!(report["records_written"], ROWS, "{report}");
}

#[test]
fn odps_to_odps_in_four_shards_is_in_the_table_only_after_finish_commits_it() {
    let config = seed_config_with_empty_copy(ROWS, "ak_biz_log_copy");
    let sandbox =
        Sandbox::start(SandboxConfig::from_json(&config.to_string()).unwrap()).expect("starts");
    let workspace = Workspace::new();
    let sources = workspace.write_json("sources.json", &sandbox_data_sources(&sandbox));
    let job = json!({"job": {
        "setting": {"speed": {"channel": 6}, "errorLimit": {"record": 0}},
        "content": [{
            "reader": {"name": "odpsreader", "parameter": {
                "datasource": "odps", "table": "ak_biz_log_detail", "partition": ["pt=20161226"],
                "column": ["*"]}},
            "writer": {"name": "odpswriter", "parameter": {
                "datasource": "odps", "table": "ak_biz_log_copy", "partition": "pt=20161226",
                "column": ["*"]}}
        }]
    }});
    let job = workspace.write_json("odps-to-odps.json", &job);
    let sources_arg = sources.to_str().unwrap();
    workspace
        .run(&[
            "plan",
            job.to_str().unwrap(),
            "--datasources",
            sources_arg,
            "-o",
            "plan.json",
        ])
        .assert_success();
    run_all_shards(&workspace, &["--datasources", sources_arg]);
    assert!(
        read_back(&sandbox, "ak_biz_log_copy").is_empty(),
        "the shards' blocks are not in the table before the commit"
    );

    let finished = finish(
        &workspace,
        &reports(&[0, 1, 2, 3]),
        &["--datasources", sources_arg, "--report-json", "job.json"],
    );
    finished.assert_success();
    finished.assert_logged("committed");
    let report = workspace.read_json("job.json");
    assert_eq!(report["records_read"], ROWS, "{report}");
    assert_eq!(report["records_written"], ROWS, "{report}");
    assert_eq!(report["tasks"], 6, "{report}");
    let original = read_back(&sandbox, "ak_biz_log_detail");
    let copy = read_back(&sandbox, "ak_biz_log_copy");
    assert_eq!(original.len() as u64, ROWS);
    assert!(
        original == copy,
        "the copy has {} rows; first: {:?}",
        copy.len(),
        &copy[..2.min(copy.len())]
    );
}

/// A stream job of 4 tasks of 4,000 records, at most 4,000 records a second for the job, so
/// 1,000 in each of the 4 shards: a shard of one task runs for about four seconds.
fn plan_stream(workspace: &Workspace) {
    let job = datax_job(
        json!({"name": "streamreader", "parameter": {
            "column": [{"type": "long", "value": 1}], "sliceRecordCount": 4000}}),
        json!({"name": "streamwriter", "parameter": {"print": false}}),
        json!({"speed": {"channel": 4, "record": 4000}}),
    );
    let job = workspace.write_json("stream.json", &job);
    workspace
        .run(&["plan", job.to_str().unwrap(), "-o", "plan.json"])
        .assert_success();
}

#[test]
fn a_shard_that_was_stopped_makes_finish_fail_naming_it_and_commit_nothing() {
    let workspace = Workspace::new();
    plan_stream(&workspace);
    let mut children: Vec<Child> = [0, 1, 3]
        .into_iter()
        .map(|index| start_shard(&workspace, index, &[]))
        .collect();
    // Stopped once it moves records: its first report says `running`.
    let shard = start_shard(&workspace, 2, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !workspace.path("shard-2.json").exists() {
        assert!(Instant::now() < deadline, "shard 2 wrote no report");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &shard.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let stopped = Run::from(shard.wait_with_output().expect("the shard stops"));
    assert_eq!(stopped.code, Some(143), "{}", stopped.stderr);
    for child in children.drain(..) {
        let run = Run::from(child.wait_with_output().unwrap());
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    let finished = finish(
        &workspace,
        &reports(&[0, 1, 2, 3]),
        &["--report-json", "job.json"],
    );
    finished.assert_failure("shard 2/4 (shard-2.json) failed");
    finished.assert_failure("tasks [2] not reported done (shard 2/4 (shard-2.json))");
    finished.assert_failure("nothing was committed");
    let report = workspace.read_json("job.json");
    assert_eq!(report["status"], "failed", "{report}");
}

#[test]
fn a_missing_or_repeated_report_and_another_plan_version_are_refused_and_the_index_may_come_from_kubernetes(
) {
    let workspace = Workspace::new();
    plan_stream(&workspace);
    let started = Instant::now();
    let mut children: Vec<Child> = (0..SHARDS - 1)
        .map(|index| start_shard(&workspace, index, &[]))
        .collect();
    // The last as a Kubernetes Indexed Job's pod runs it: its index from the environment.
    children.push(
        workspace
            .datax()
            .env("JOB_COMPLETION_INDEX", "3")
            .args(["run", "--plan", "plan.json", "--shard", "/4"])
            .args(["--report-json", "shard-3.json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("datax starts"),
    );
    for child in children {
        let run = Run::from(child.wait_with_output().unwrap());
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    // The job's 4,000 records a second are shared: each shard's 4,000 records take about 4 s
    // at its 1,000 a second (1 s if each shard had the job's whole limit).
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3),
        "4 shards at once took {took:?}"
    );

    assert_eq!(
        workspace.read_json("shard-3.json")["plan"]["tasks"],
        json!([3])
    );
    finish(&workspace, &reports(&[0, 1, 3]), &[])
        .assert_failure("tasks [2] not reported done (shard 2/4: no report given)");
    finish(&workspace, &reports(&[0, 1, 2, 3, 1]), &[])
        .assert_failure("task 1 is reported done more than once");
    finish(&workspace, &reports(&[0, 1, 2, 3]), &[]).assert_success();

    // A report of another plan of the same job is not this plan's.
    let other = Workspace::new();
    plan_stream(&other);
    let elsewhere = other.path("plan.json");
    std::fs::copy(&elsewhere, workspace.path("other-plan.json")).unwrap();
    let run = workspace.run(&[
        "finish",
        "--plan",
        "other-plan.json",
        "shard-0.json",
        "shard-1.json",
        "shard-2.json",
        "shard-3.json",
    ]);
    run.assert_failure("is of another plan");

    let mut plan: Value = workspace.read_json("plan.json");
    plan["version"] = json!(2);
    workspace.write_json("plan-v2.json", &plan);
    let expected = "plan plan-v2.json: is format \"datax-plan\" version 2; this datax";
    workspace
        .run(&[
            "run",
            "--plan",
            "plan-v2.json",
            "--shard",
            "0/4",
            "--report-json",
            "r.json",
        ])
        .assert_failure(expected)
        .assert_failure("reads format \"datax-plan\" version 1 only");
    let run = workspace.run(&["finish", "--plan", "plan-v2.json", "shard-0.json"]);
    run.assert_failure(expected);
    assert!(!Path::new(&workspace.path("r.json")).exists());
}

/// An odps writer with `supportDynamicPartition` opens its partitions' sessions in its tasks,
/// which only their own process could commit: `datax plan` refuses it, writing no plan.
#[test]
fn a_dynamic_partition_writer_is_refused_at_plan_time() {
    let mut config = seed_sandbox_config(10);
    let tables = config["odps"]["projects"][0]["tables"]
        .as_array_mut()
        .unwrap();
    let mut dynamic = tables[0].clone();
    dynamic["name"] = json!("by_day");
    dynamic["columns"].as_array_mut().unwrap().truncate(5);
    dynamic["partitions"] = json!([]);
    tables.push(dynamic);
    let sandbox =
        Sandbox::start(SandboxConfig::from_json(&config.to_string()).unwrap()).expect("starts");
    let workspace = Workspace::new();
    let sources = workspace.write_json("sources.json", &sandbox_data_sources(&sandbox));
    let job = json!({"job": {
        "setting": {"speed": {"channel": 2}},
        "content": [{
            "reader": {"name": "odpsreader", "parameter": {
                "datasource": "odps", "table": "ak_biz_log_detail", "partition": ["pt=20161226"],
                "column": ["*"]}},
            "writer": {"name": "odpswriter", "parameter": {
                "datasource": "odps", "table": "by_day", "supportDynamicPartition": true,
                "column": ["col0", "col1", "col2", "col3", "col4", "pt"]}}
        }]
    }});
    let job = workspace.write_json("dynamic.json", &job);
    workspace
        .run(&[
            "plan",
            job.to_str().unwrap(),
            "--datasources",
            sources.to_str().unwrap(),
            "-o",
            "plan.json",
        ])
        .assert_failure("supportDynamicPartition: a job whose partitions come from the records' values cannot run from a plan");
    assert!(!workspace.path("plan.json").exists());
}

/// A shard keeps its own `--state`: run again with `--resume` after it finished, it moves
/// nothing, reports the tasks its first run completed, and `finish` takes that report.
#[test]
fn a_shard_resumed_from_its_state_after_it_finished_moves_nothing_and_finish_takes_its_report() {
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    plan_seed(&workspace, &sandbox).assert_success();
    let sources = seed_data_sources();
    let sources = sources.to_str().unwrap();
    let state = workspace.path("state-0");
    let state = state.to_str().unwrap();
    let shard_zero = |extra: &[&str]| {
        let mut args = vec!["--datasources", sources, "--state", state];
        args.extend(extra);
        Run::from(
            start_shard(&workspace, 0, &args)
                .wait_with_output()
                .expect("the shard ends"),
        )
    };
    shard_zero(&[]).assert_success();
    let stored = sandbox.logs("datax-demo", "ak_biz_log").len();
    assert!(stored > 0, "shard 0 wrote its tasks' rows");

    let resumed = shard_zero(&["--resume"]);
    resumed.assert_success();
    resumed.assert_logged("2 of 8 tasks finished before and are skipped");
    assert_eq!(
        sandbox.logs("datax-demo", "ak_biz_log").len(),
        stored,
        "the resumed shard sent nothing again"
    );
    let report = workspace.read_json("shard-0.json");
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(report["records_read"], 0, "{report}");
    assert_eq!(report["plan"]["tasks_completed"], json!([0, 4]), "{report}");

    let others: Vec<Child> = (1..SHARDS)
        .map(|index| start_shard(&workspace, index, &["--datasources", sources]))
        .collect();
    for child in others {
        Run::from(child.wait_with_output().expect("the shard ends")).assert_success();
    }
    finish(
        &workspace,
        &reports(&[0, 1, 2, 3]),
        &["--datasources", sources],
    )
    .assert_success();
    let arrivals = assert_every_row_arrived(&sandbox.logs("datax-demo", "ak_biz_log"), &SEED_KEYS);
    assert!(arrivals.values().all(|&n| n == 1), "no row twice");
}

/// Every row of `table` (partition `pt=20161226`), sorted; none when the partition has none yet.
fn read_back(sandbox: &SandboxHandle, table: &str) -> Vec<String> {
    odps_rows(json!({
        "accessId": "sandbox-access-id", "accessKey": "sandbox-access-key",
        "odpsServer": sandbox.odps_endpoint(), "tunnelServer": sandbox.tunnel_endpoint(),
        "project": "aliyun_account", "table": table, "partition": "pt=20161226",
        "column": ["*"], "successOnNoPartition": true}))
}
