//! Helpers for the end-to-end tests: they run the `datax` binary and plugin libraries that
//! `cargo build --workspace` put in the target folder, exactly as a user would.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub mod seed;

/// The folder holding `datax` and the plugin libraries: the test executable lives in its
/// `deps/` subfolder.
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps")
        .to_path_buf();
    assert!(
        dir.join("datax").exists(),
        "{} has no datax binary: run `cargo build --workspace` before the tests",
        dir.display()
    );
    dir
}

/// The saved DataX and DataWorks jobs the tests share (`tests/fixtures/jobs`, whose README says
/// where each came from).
pub fn shared_jobs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/jobs")
}

/// The repository's own example jobs.
pub fn repo_jobs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs")
}

/// A scratch folder for one test, with the job files it writes.
pub struct Workspace {
    pub dir: TempDir,
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).expect("write a test file");
        path
    }

    pub fn write_json(&self, name: &str, value: &Value) -> PathBuf {
        self.write(name, &serde_json::to_string_pretty(value).unwrap())
    }

    /// `datax` run in this folder, with no plugin path, data sources or log filter from the
    /// environment.
    pub fn datax(&self) -> Command {
        let mut command = Command::new(build_dir().join("datax"));
        command
            .current_dir(self.dir.path())
            .env_remove("DATAX_PLUGIN_PATH")
            .env_remove("DATAX_DATASOURCES")
            .env_remove("RUST_LOG");
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.datax().args(args).output().expect("datax starts"))
    }

    pub fn read_json(&self, name: &str) -> Value {
        let text = fs::read_to_string(self.path(name)).expect("the file exists");
        serde_json::from_str(&text).expect("the file is JSON")
    }

    /// Writes `job` to `job.json` and runs it with the report in `report.json` and dirty
    /// records in `dirty.jsonl` (read them back with [`Workspace::report`] and
    /// [`Workspace::dirty_records`]).
    pub fn run_reported(&self, job: &Value) -> Run {
        let job = self.write_json("job.json", job);
        self.run(&[
            job.to_str().unwrap(),
            "--report-json",
            "report.json",
            "--dirty-file",
            "dirty.jsonl",
        ])
    }

    /// The `--report-json` report of [`Workspace::run_reported`].
    pub fn report(&self) -> Value {
        self.read_json("report.json")
    }

    /// The dirty-record file of [`Workspace::run_reported`], one JSON line a record.
    pub fn dirty_records(&self) -> String {
        fs::read_to_string(self.path("dirty.jsonl")).expect("the dirty-record file exists")
    }

    /// Starts `datax` with `args` (stdout discarded), sends it SIGTERM after `after`, and
    /// waits for it; returns what it did and how long it took to stop once signalled.
    pub fn terminate_after(&self, args: &[&str], after: Duration) -> (Run, Duration) {
        self.signal_after("-TERM", args, after)
    }

    /// Like [`Workspace::terminate_after`] with another signal (`kill`'s `-INT`, `-TERM`).
    pub fn signal_after(&self, signal: &str, args: &[&str], after: Duration) -> (Run, Duration) {
        let child = self
            .datax()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("datax starts");
        std::thread::sleep(after);
        let stopping = Instant::now();
        let killed = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let run = Run::from(child.wait_with_output().expect("datax stops"));
        (run, stopping.elapsed())
    }
}

/// What a `datax` process did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn last_line(&self) -> &str {
        self.stderr.trim_end().lines().last().unwrap_or("")
    }

    /// Asserts that stderr contains `expected`.
    #[track_caller]
    pub fn assert_logged(&self, expected: &str) -> &Self {
        assert!(
            self.stderr.contains(expected),
            "stderr should contain {expected:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "datax failed:\n{}", self.stderr);
        self
    }

    /// Asserts a failure with exit code 1 whose last line contains `expected`.
    #[track_caller]
    pub fn assert_failure(&self, expected: &str) -> &Self {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit code 1, stderr:\n{}",
            self.stderr
        );
        assert!(
            self.last_line().contains(expected),
            "the last line should contain {expected:?}; stderr:\n{}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked at") || self.stderr.contains("testkit panics"),
            "datax itself panicked:\n{}",
            self.stderr
        );
        self
    }
}

/// Every row an odpsreader with `parameter` reads, as streamwriter writes them (tab-separated),
/// sorted; none when it wrote no file (an empty partition with `successOnNoPartition`).
pub fn odps_rows(parameter: Value) -> Vec<String> {
    let workspace = Workspace::new();
    let job = datax_job(
        serde_json::json!({"name": "odpsreader", "parameter": parameter}),
        serde_json::json!({"name": "streamwriter", "parameter": {"path": "out", "fileName": "rows"}}),
        serde_json::json!({"speed": {"channel": 1}}),
    );
    let job = workspace.write_json("job.json", &job);
    workspace.run(&[job.to_str().unwrap()]).assert_success();
    let Ok(entries) = std::fs::read_dir(workspace.path("out")) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = entries
        .flat_map(|entry| {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            text.lines().map(str::to_string).collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    lines
}

/// A DataX-shape job around two steps.
pub fn datax_job(reader: Value, writer: Value, setting: Value) -> Value {
    serde_json::json!({
        "job": {"setting": setting, "content": [{"reader": reader, "writer": writer}]}
    })
}

/// The sandbox with its example configuration (`sandbox/examples/sandbox.json`) on a free
/// loopback port; it stops when dropped.
pub fn start_sandbox() -> datax_sandbox::SandboxHandle {
    datax_sandbox::Sandbox::start(datax_sandbox::SandboxConfig::example())
        .expect("the sandbox starts")
}

/// A `--datasources` file's content pointing the `odps` and `sls` data sources of DataWorks
/// jobs (the seed's) at the sandbox, with the example configuration's credentials.
pub fn sandbox_data_sources(sandbox: &datax_sandbox::SandboxHandle) -> Value {
    data_sources_at(&format!("127.0.0.1:{}", sandbox.port()))
}

/// The same data sources for a sandbox (or nothing) listening at `address` (`host:port`).
pub fn data_sources_at(address: &str) -> Value {
    serde_json::json!({
        "odps": {"type": "odps", "parameter": {
            "accessId": "sandbox-access-id",
            "accessKey": "sandbox-access-key",
            "project": "aliyun_account",
            "odpsServer": format!("http://{address}/api"),
            "tunnelServer": format!("http://{address}"),
        }},
        "sls": {"type": "loghub", "parameter": {
            "endpoint": address,
            "accessId": "sandbox-access-id",
            "accessKey": "sandbox-access-key",
            "project": "datax-demo",
            "logstore": "ak_biz_log",
        }},
    })
}
