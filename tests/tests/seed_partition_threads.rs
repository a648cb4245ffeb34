//! What a partition costs in threads: the seed pipeline (odps -> loghub) over a table of many
//! small partitions runs one reader and one writer task per partition, and the process's
//! threads must stay bounded by the channels, not grow with the tasks. Each plugin job shares
//! one HTTP client (one connection pool, no thread of its own) with its tasks; before, every
//! task built its own, and a writer task built it when the job created it, at job start. A
//! channel keeps one reader thread for all its pairs; a task sends its requests without a
//! body, and reads every answer, on its own thread; and a writer task whose records fit in
//! one batch (a small partition) sends it itself, starting no sending thread.

use std::process::Stdio;
use std::time::Duration;

use datax_e2e::seed::{seed_sandbox_config, seed_variant};
use datax_e2e::{repo_jobs, Workspace};
use datax_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

const PARTITIONS: u64 = 200;
const ROWS_PER_PARTITION: u64 = 5;
const CHANNELS: u64 = 4;
/// Threads a channel may account for with partitions this small: its own (the writer task's),
/// its reader thread, and one pool thread should a request go ahead.
const THREADS_PER_CHANNEL: u64 = 3;
/// The host's own threads (main, logging, progress, signals).
const FIXED_THREADS: u64 = 6;

/// `Threads:` of /proc/<pid>/status; `None` once the process is gone.
fn threads_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
}

#[test]
fn threads_stay_bounded_by_channels_as_partitions_grow() {
    let mut config = seed_sandbox_config(0);
    config["odps"]["projects"][0]["tables"][0]["partitions"] = (0..PARTITIONS)
        .map(|index| json!({"spec": format!("pt={index:05}"), "rows": ROWS_PER_PARTITION, "seed": index}))
        .collect();
    let sandbox = Sandbox::start(SandboxConfig::from_json(&config.to_string()).unwrap()).unwrap();
    let workspace = Workspace::new();
    let job = seed_variant(&workspace, "partitions.json", |job| {
        job["configuration"]["setting"]["speed"]["concurrent"] = json!(CHANNELS);
        job["configuration"]["reader"]["parameter"]["partition"] = json!(["pt=*"]);
    });
    let data_sources = repo_jobs().join("datasources.sandbox.json");
    let address = format!("-Dsandbox=127.0.0.1:{}", sandbox.port());
    let mut child = workspace
        .datax()
        .args([
            job.to_str().unwrap(),
            "--datasources",
            data_sources.to_str().unwrap(),
        ])
        .args(["-p", &address, "--report-json", "report.json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("datax starts");
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(threads_of(child.id()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "datax failed: {status}");

    let report = workspace.read_json("report.json");
    assert_eq!(report["tasks"], PARTITIONS, "one task per partition");
    assert_eq!(report["channels"], CHANNELS);
    let rows = PARTITIONS * ROWS_PER_PARTITION;
    assert_eq!(sandbox.log_count("datax-demo", "ak_biz_log"), rows);
    let bound = CHANNELS * THREADS_PER_CHANNEL + FIXED_THREADS;
    assert!(
        peak <= bound,
        "{peak} threads at once for {PARTITIONS} partitions on {CHANNELS} channels (at most {bound})"
    );
}
