//! The engine waits on channels, not on a clock: a side blocked on a slow partner costs no
//! wake-up however long it waits, and a stop (a signal, a failed task) still ends the job at
//! once. Idle wake-ups are counted from outside, by the kernel's count of each thread's
//! voluntary context switches (`/proc/<pid>/task/*/status`), so any timed polling shows.

#![cfg(target_os = "linux")]

use std::fs;
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use datax_e2e::{Run, Workspace};
use serde_json::{json, Value};

fn testkit_job(reader: Value, writer: Value) -> Value {
    json!({"job": {
        "setting": {"speed": {"channel": 1}},
        "content": [{
            "reader": {"name": "testkitreader", "parameter": reader},
            "writer": {"name": "testkitwriter", "parameter": writer}
        }]
    }})
}

fn start(workspace: &Workspace, job: &Value) -> Child {
    let job = workspace.write_json("job.json", job);
    workspace
        .datax()
        .args([job.to_str().unwrap(), "--log-level", "debug"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("datax starts")
}

/// The process's threads by name, with their voluntary context switches so far.
fn thread_switches(pid: u32) -> Vec<(String, u64)> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let dir = task.ok()?.path();
            let name = fs::read_to_string(dir.join("comm")).ok()?;
            let status = fs::read_to_string(dir.join("status")).ok()?;
            let switches = status
                .lines()
                .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))?
                .trim()
                .parse()
                .ok()?;
            Some((name.trim().to_string(), switches))
        })
        .collect()
}

fn total_switches(pid: u32) -> u64 {
    thread_switches(pid)
        .iter()
        .map(|(_, switches)| switches)
        .sum()
}

/// Waits until the job's transfer runs (its reader thread exists).
fn wait_for_transfer(child: &Child) {
    let started = Instant::now();
    while !thread_switches(child.id())
        .iter()
        .any(|(name, _)| name == "reader-0")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the transfer never started"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Context switches of the whole process over one second in the middle of a pause.
fn switches_while_idle(job: &Value) -> (u64, Run) {
    let workspace = Workspace::new();
    let child = start(&workspace, job);
    wait_for_transfer(&child);
    thread::sleep(Duration::from_millis(500));
    let before = total_switches(child.id());
    thread::sleep(Duration::from_secs(1));
    let after = total_switches(child.id());
    let run = Run::from(child.wait_with_output().expect("datax stops"));
    eprintln!("{} voluntary context switches in 1 s idle", after - before);
    (after - before, run)
}

fn engine_wakeups(run: &Run) -> u64 {
    let marker = "engine wake-ups during the transfer: ";
    let line = run
        .stderr
        .lines()
        .find(|line| line.contains(marker))
        .unwrap_or_else(|| panic!("no wake-up count in the debug log:\n{}", run.stderr));
    line.split(marker).nth(1).unwrap().trim().parse().unwrap()
}

#[test]
fn a_writer_waiting_on_a_slow_reader_does_not_wake() {
    let job = testkit_job(
        json!({"records": 2000, "pauseAfter": 1000, "pauseMs": 2500}),
        json!({}),
    );
    let (switches, run) = switches_while_idle(&job);
    run.assert_success();
    // A 50 ms poll would switch about 20 times in that second, a 200 ms monitor tick 5.
    assert!(switches <= 2, "{switches} wake-ups while idle");
    // Two batches and the end, each found by one wait at most, and no monitor deadline.
    assert!(engine_wakeups(&run) <= 3, "{}", run.stderr);
}

#[test]
fn a_reader_blocked_on_a_slow_writer_does_not_wake() {
    let job = testkit_job(
        json!({"records": 20_000}),
        json!({"pauseAfter": 10, "pauseMs": 2500}),
    );
    let (switches, run) = switches_while_idle(&job);
    run.assert_success();
    assert!(switches <= 2, "{switches} wake-ups while idle");
    // At most one wait for each of the 20 batches and the end.
    assert!(engine_wakeups(&run) <= 21, "{}", run.stderr);
}

#[test]
fn sigterm_stops_a_job_blocked_on_a_slow_writer_within_100_ms() {
    let workspace = Workspace::new();
    let job = workspace.write_json(
        "job.json",
        &testkit_job(
            json!({"records": 100_000}),
            json!({"pauseAfter": 10, "pauseMs": 60_000}),
        ),
    );
    let (run, stopped_in) =
        workspace.terminate_after(&[job.to_str().unwrap()], Duration::from_millis(1000));
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    eprintln!("stopped {stopped_in:?} after SIGTERM");
    assert!(
        stopped_in < Duration::from_millis(100),
        "stopped {stopped_in:?} after SIGTERM"
    );
}

/// The milliseconds of the day in a log line's timestamp (`2026-01-02 03:04:05.678 ...`).
fn logged_at(run: &Run, text: &str) -> u64 {
    let line = run
        .stderr
        .lines()
        .find(|line| line.contains(text))
        .unwrap_or_else(|| panic!("no {text:?} in the log:\n{}", run.stderr));
    let time = line.split(' ').nth(1).expect("a timestamp");
    let (clock, millis) = time.split_once('.').expect("milliseconds");
    let seconds = clock
        .split(':')
        .map(|part| part.parse::<u64>().unwrap())
        .fold(0, |total, part| total * 60 + part);
    seconds * 1000 + millis.parse::<u64>().unwrap()
}

#[test]
fn a_failed_reader_stops_its_waiting_writer_within_100_ms() {
    let workspace = Workspace::new();
    let job = testkit_job(
        json!({"records": 2000, "pauseAfter": 1000, "pauseMs": 1000, "failAt": "pause"}),
        json!({}),
    );
    let run = Run::from(
        start(&workspace, &job)
            .wait_with_output()
            .expect("datax stops"),
    );
    run.assert_failure("testkit fails at pause as asked");
    let failed = logged_at(&run, "the pause before record 1000 is over");
    let stopped = logged_at(&run, "engine wake-ups during the transfer");
    // Modulo a day, for a run across midnight.
    let stop = (stopped + 86_400_000 - failed) % 86_400_000;
    eprintln!("the transfer stopped {stop} ms after the reader failed");
    assert!(
        stop < 100,
        "the transfer stopped {stop} ms after the reader failed"
    );
}
