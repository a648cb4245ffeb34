//! The chaos test (issue 13): seed-style jobs through the sandbox with random faults on both
//! services, random SIGTERM / SIGINT at random times and a service restart mid-run; after
//! every run the report's numbers are checked against what the service stored:
//!
//! * records read = acknowledged + dirty (+ not confirmed, + what was left in the channels,
//!   when the job failed or stopped);
//! * nothing acknowledged is missing from the store, and nothing is stored that was not
//!   acknowledged or in flight;
//! * a completed run stored every record read but the dirty ones, and every copy beyond the
//!   first is counted as possibly duplicated;
//! * a stop ends the job within 5 s, with its report; nothing panics.
//!
//! Each run has a seed that decides everything random about it (its faults and their draws,
//! channels, signal, restart and their times) and is printed before it starts and on failure:
//! `CHAOS_SEED=<seed> CHAOS_RUNS=1` replays that run alone (which request meets which draw
//! still follows the order the requests arrive in). The test
//! runs for `CHAOS_SECONDS` per direction (default 60, or none with `CHAOS_SEED`), at least
//! `CHAOS_RUNS` (default 1) runs; `scripts/chaos.sh` runs the long profile.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datax_e2e::seed::{expected_log, seed_sandbox_config, seed_variant, SEED_KEYS};
use datax_e2e::{datax_job, repo_jobs, Workspace};
use datax_sandbox::{
    FaultAction, FaultRule, FaultTarget, Sandbox, SandboxConfig, SandboxHandle, StoredLog,
};
use serde_json::{json, Value};
use tempfile::TempDir;

/// The most a job may take after its signal.
const STOP_BOUND: Duration = Duration::from_secs(5);
/// A run that takes longer has hung.
const RUN_BOUND: Duration = Duration::from_secs(150);

/// splitmix64: small, seedable, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() as u64 - 1) as usize].clone()
    }
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
    )
}

/// Runs `run(seed)` with a new seed each time for `CHAOS_SECONDS`, at least `CHAOS_RUNS` times.
fn chaos(direction: &str, run: impl Fn(u64) -> RunOutcome) {
    let replayed = env_number("CHAOS_SEED");
    let default_seconds = if replayed.is_some() { 0 } else { 60 };
    let budget = Duration::from_secs(env_number("CHAOS_SECONDS").unwrap_or(default_seconds));
    let min_runs = env_number("CHAOS_RUNS").unwrap_or(1);
    let first_seed = replayed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    let started = Instant::now();
    let mut seed = first_seed;
    let mut outcomes = BTreeMap::<&str, u64>::new();
    let mut runs = 0;
    while runs < min_runs || started.elapsed() < budget {
        eprintln!("{direction} run {runs}: CHAOS_SEED={seed}");
        let run_started = Instant::now();
        let outcome = run(seed).label();
        eprintln!("  {outcome} in {:.1?}", run_started.elapsed());
        *outcomes.entry(outcome).or_default() += 1;
        runs += 1;
        seed = Rng(seed).next();
    }
    eprintln!(
        "{direction}: {runs} runs in {:.0?} from CHAOS_SEED={first_seed}: {outcomes:?}",
        started.elapsed()
    );
}

enum RunOutcome {
    Completed,
    Failed,
    Signalled,
}

impl RunOutcome {
    fn label(&self) -> &'static str {
        match self {
            RunOutcome::Completed => "completed",
            RunOutcome::Failed => "failed",
            RunOutcome::Signalled => "signalled",
        }
    }
}

/// A sandbox that can be killed and started again on the same port; each life stores its
/// data in a folder of its own, kept for the comparison.
struct RestartableSandbox {
    config: SandboxConfig,
    handle: Option<SandboxHandle>,
    lives: Vec<TempDir>,
}

impl RestartableSandbox {
    fn start(mut config: SandboxConfig, faults: &[FaultRule]) -> Self {
        config.faults = faults.to_vec();
        let mut sandbox = RestartableSandbox {
            config,
            handle: None,
            lives: Vec::new(),
        };
        sandbox.start_life();
        sandbox.config.port = sandbox.handle().port();
        sandbox
    }

    fn start_life(&mut self) {
        let data = tempfile::tempdir().expect("a data folder");
        self.config.data_dir = Some(data.path().to_path_buf());
        self.lives.push(data);
        self.handle = Some(Sandbox::start(self.config.clone()).expect("the sandbox starts"));
    }

    fn handle(&self) -> &SandboxHandle {
        self.handle.as_ref().expect("the sandbox runs")
    }

    /// Kills the running sandbox and starts a new one on the same port, with the same faults
    /// (their random draws start again).
    fn restart(&mut self) {
        self.stop();
        self.start_life();
    }

    fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop();
        }
    }

    /// Every log each life of the sandbox stored in `project/logstore`.
    fn stored_logs(&self, project: &str, logstore: &str) -> Vec<StoredLog> {
        self.lives
            .iter()
            .flat_map(|life| {
                let path = life.path().join(project).join(format!("{logstore}.jsonl"));
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                text.lines()
                    .map(|line| serde_json::from_str::<StoredLog>(line).expect("a stored log"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// What happens to a run besides its faults.
#[derive(Debug, Default)]
struct Disruption {
    /// `-TERM` or `-INT`, after this long.
    signal: Option<(&'static str, Duration)>,
    /// The sandbox restarts after this long.
    restart: Option<Duration>,
}

impl Disruption {
    fn draw(rng: &mut Rng, restarts: bool) -> Self {
        let signal = rng
            .chance(0.35)
            .then(|| (rng.pick(&["-TERM", "-INT"]), millis(rng.range(300, 3_000))));
        let restart = (restarts && rng.chance(0.3)).then(|| millis(rng.range(200, 2_500)));
        Disruption { signal, restart }
    }
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn rule(
    target: FaultTarget,
    action: FaultAction,
    rng: &mut Rng,
    max_probability: f64,
) -> FaultRule {
    FaultRule {
        target,
        path_contains: None,
        action,
        count: None,
        probability: Some(rng.range(2, (max_probability * 100.0) as u64) as f64 / 100.0),
        seed: rng.next(),
    }
}

fn busy() -> FaultAction {
    FaultAction::Error {
        status: 503,
        code: "ServerBusy".to_string(),
        message: String::new(),
    }
}

fn delay(rng: &mut Rng) -> FaultAction {
    FaultAction::Delay {
        millis: rng.range(20, 800),
    }
}

/// One to five rules from faults on every call kind of both services.
fn draw_faults(rng: &mut Rng, pool: &[fn(&mut Rng) -> FaultRule]) -> Vec<FaultRule> {
    let count = rng.range(1, 5);
    (0..count).map(|_| rng.pick(pool)(rng)).collect()
}

/// The odps → loghub direction's faults: the tunnel's data and sessions, the REST calls, and
/// PutLogs.
const ODPS_TO_LOGHUB_FAULTS: &[fn(&mut Rng) -> FaultRule] = &[
    |rng| rule(FaultTarget::TunnelData, busy(), rng, 0.3),
    |rng| rule(FaultTarget::TunnelData, FaultAction::Close, rng, 0.3),
    |rng| {
        let action = delay(rng);
        rule(FaultTarget::TunnelData, action, rng, 0.5)
    },
    |rng| {
        let after_bytes = rng.range(0, BODY_BYTES);
        rule(
            FaultTarget::TunnelData,
            FaultAction::TruncateBody { after_bytes },
            rng,
            0.3,
        )
    },
    |rng| {
        let after_bytes = rng.range(0, BODY_BYTES);
        rule(
            FaultTarget::TunnelData,
            FaultAction::AbortBody { after_bytes },
            rng,
            0.3,
        )
    },
    |rng| {
        let offset = rng.range(0, BODY_BYTES);
        rule(
            FaultTarget::TunnelData,
            FaultAction::FlipByte { offset },
            rng,
            0.3,
        )
    },
    |rng| rule(FaultTarget::Tunnel, busy(), rng, 0.2),
    |rng| rule(FaultTarget::Odps, busy(), rng, 0.2),
    |rng| rule(FaultTarget::Sls, busy(), rng, 0.3),
    |rng| rule(FaultTarget::Sls, FaultAction::Close, rng, 0.2),
    |rng| rule(FaultTarget::Sls, FaultAction::DropReply, rng, 0.2),
    |rng| {
        let action = delay(rng);
        rule(FaultTarget::Sls, action, rng, 0.5)
    },
];

/// A `datax` run in progress, its stderr in a file.
struct Job {
    child: Child,
    stderr: PathBuf,
    started: Instant,
}

impl Job {
    fn spawn(workspace: &Workspace, args: &[&str]) -> Job {
        let stderr = workspace.path("stderr.txt");
        let child = workspace
            .datax()
            .args(args)
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).expect("a stderr file"))
            .spawn()
            .expect("datax starts");
        Job {
            child,
            stderr,
            started: Instant::now(),
        }
    }

    /// Runs the disruptions at their times until the job ends.
    fn disrupt_and_wait(
        mut self,
        disruption: &Disruption,
        sandbox: &mut RestartableSandbox,
    ) -> Ending {
        let mut restart = disruption.restart;
        let mut signal = disruption.signal;
        let mut signalled = None;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("datax can be waited on") {
                break Some(status);
            }
            let elapsed = self.started.elapsed();
            if restart.is_some_and(|at| elapsed >= at) {
                restart = None;
                sandbox.restart();
            }
            if let Some((name, _)) = signal.filter(|(_, at)| elapsed >= *at) {
                signal = None;
                let sent = Command::new("kill")
                    .args([name, &self.child.id().to_string()])
                    .status()
                    .expect("kill runs");
                assert!(sent.success());
                signalled = Some((name, Instant::now()));
            }
            if elapsed > RUN_BOUND {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(millis(10));
        };
        Ending {
            code: status.map(|status| status.code()),
            signal: signalled.map(|(name, _)| name),
            stopping: signalled.map(|(_, at)| at.elapsed()),
            stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
        }
    }
}

/// How a job ended.
struct Ending {
    /// `None`: hung, killed after [`RUN_BOUND`]; `Some(None)`: ended by a signal of its own.
    code: Option<Option<i32>>,
    /// The signal sent to it, if it was sent before the job ended.
    signal: Option<&'static str>,
    /// How long the job took after that signal.
    stopping: Option<Duration>,
    stderr: String,
}

/// What a finished run left: the report's counts and the store's.
struct Evidence {
    code: i32,
    stopping: Option<Duration>,
    signal: Option<&'static str>,
    report: Value,
    /// Records in the source.
    source_records: u64,
    /// Every stored record's id, once per copy.
    stored: Vec<u64>,
}

impl Evidence {
    fn count(&self, key: &str) -> Result<u64, String> {
        self.report[key]
            .as_u64()
            .ok_or_else(|| format!("{key} is no count in the report: {}", self.report))
    }

    /// What the writer acknowledged: a job stopped before any writer task ran has no number.
    fn acknowledged(&self) -> Result<u64, String> {
        match self.report["records_acknowledged"].as_u64() {
            None if self.report["tasks"] == 0 => Ok(0),
            _ => self.count("records_acknowledged"),
        }
    }

    /// Checks the invariants; `Err` says which failed.
    fn check(&self) -> Result<RunOutcome, String> {
        // A job that ended (or failed) just as the signal came exits 0 (or 1).
        let signal_code = match self.signal {
            Some("-TERM") => 143,
            Some(_) => 130,
            None => 1,
        };
        let code = self.code;
        if ![0, 1, signal_code].contains(&code) {
            return Err(format!("exit code {code}"));
        }
        if let Some(stopping) = self.stopping.filter(|&took| took > STOP_BOUND) {
            return Err(format!("stopped {stopping:?} after the signal"));
        }
        let read = self.count("records_read")?;
        let dirty = self.count("read_failed_records")? + self.count("write_failed_records")?;
        let acknowledged = self.acknowledged()?;
        let duplicated = self.count("records_possibly_duplicated")?;
        let not_confirmed = self.report["records_not_confirmed"].as_u64();
        let completed = code == 0;
        if completed != (self.report["status"] == "succeeded") {
            return Err(format!(
                "exit code {code} with status {}",
                self.report["status"]
            ));
        }
        let mut copies = BTreeMap::<u64, u64>::new();
        for id in &self.stored {
            *copies.entry(*id).or_default() += 1;
        }
        let distinct = copies.len() as u64;
        let stored = self.stored.len() as u64;
        let in_flight = not_confirmed.unwrap_or(0);
        let facts = format!(
            "read {read}, dirty {dirty}, acknowledged {acknowledged}, possibly duplicated \
             {duplicated}, not confirmed {not_confirmed:?}; stored {stored}, distinct {distinct}"
        );
        let holds = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(format!("{what}: {facts}"))
            }
        };
        holds(
            distinct >= acknowledged,
            "something acknowledged is missing from the store",
        )?;
        holds(
            distinct <= acknowledged + in_flight,
            "the store holds records neither acknowledged nor in flight",
        )?;
        if completed {
            holds(
                not_confirmed.is_none(),
                "a completed run has records not confirmed",
            )?;
            holds(
                read == self.source_records,
                "a completed run did not read everything",
            )?;
            holds(read == acknowledged + dirty, "read ≠ acknowledged + dirty")?;
            holds(
                distinct == read - dirty,
                "stored − duplicates ≠ read − dirty",
            )?;
            holds(
                stored - distinct <= duplicated,
                "copies stored beyond the first are not all counted as possibly duplicated",
            )?;
            Ok(RunOutcome::Completed)
        } else {
            holds(
                not_confirmed.is_some() || self.report["tasks"] == 0,
                "a failed run without its not-confirmed count",
            )?;
            holds(
                read >= acknowledged + dirty + in_flight,
                "read < acknowledged + dirty + not confirmed",
            )?;
            Ok(if self.signal.is_some() && code != 1 {
                RunOutcome::Signalled
            } else {
                RunOutcome::Failed
            })
        }
    }
}

/// Rows of the seed table in each run: about 1.2 MiB of tunnel records.
const ROWS: u64 = 20_000;
/// The most record-stream bytes a body fault lets through.
const BODY_BYTES: u64 = ROWS * 60;

const LOG_PROJECT: &str = "datax-demo";
const LOGSTORE: &str = "ak_biz_log";

/// One seed job, `jobs/odps-to-loghub.json` as the README runs it (its speed and channels
/// drawn), against a sandbox with faults, signals and a restart.
fn odps_to_loghub_run(seed: u64) -> RunOutcome {
    let mut rng = Rng(seed);
    let faults = draw_faults(&mut rng, ODPS_TO_LOGHUB_FAULTS);
    let disruption = Disruption::draw(&mut rng, true);
    let channels = rng.range(1, 3);
    let plan = format!("channels {channels}, {disruption:?}, faults {faults:?}");
    eprintln!("  {plan}");
    let mut sandbox = RestartableSandbox::start(
        SandboxConfig::from_json(&seed_sandbox_config(ROWS).to_string()).unwrap(),
        &faults,
    );
    let workspace = Workspace::new();
    let job = seed_variant(&workspace, "job.json", |job| {
        let speed = &mut job["configuration"]["setting"]["speed"];
        speed["concurrent"] = json!(channels);
        speed["throttle"] = json!(false);
    });
    let data_sources = repo_jobs().join("datasources.sandbox.json");
    let address = format!("-Dsandbox=127.0.0.1:{}", sandbox.handle().port());
    let args = [
        job.to_str().unwrap(),
        "--datasources",
        data_sources.to_str().unwrap(),
        "-p",
        &address,
        "--report-json",
        "report.json",
    ];
    let ending = Job::spawn(&workspace, &args).disrupt_and_wait(&disruption, &mut sandbox);
    // Stopping the sandbox ends what it still serves: the store is final after this.
    sandbox.stop();
    let run = Run {
        test: "odps_to_loghub",
        seed,
        plan,
        source_records: ROWS,
    };
    run.judge(ending, &workspace, || {
        let logs = sandbox.stored_logs(LOG_PROJECT, LOGSTORE);
        logs.iter().map(seed_row_id).collect()
    })
}

/// One run, for its verdict.
struct Run {
    /// The test function, to name in the replay line.
    test: &'static str,
    seed: u64,
    plan: String,
    /// Records in the source.
    source_records: u64,
}

impl Run {
    /// Checks how the job ended, its report and what `stored` says the service holds (every
    /// stored record's number, once per copy); panics with the replay line if anything is
    /// wrong.
    fn judge(
        &self,
        ending: Ending,
        workspace: &Workspace,
        stored: impl FnOnce() -> Result<Vec<u64>, String>,
    ) -> RunOutcome {
        let fail = |problem: &str| -> ! {
            panic!(
                "{problem}\nreplay: CHAOS_SEED={} CHAOS_RUNS=1 cargo test -p datax-e2e --test \
                 engine_chaos {}\n{}\nstderr (last lines):\n{}",
                self.seed,
                self.test,
                self.plan,
                last_lines(&ending.stderr, 25)
            )
        };
        let code = match ending.code {
            None => fail(&format!("the job hung: still running after {RUN_BOUND:?}")),
            Some(None) => fail("datax died of a signal it did not handle (a crash?)"),
            Some(Some(code)) => code,
        };
        if ending.stderr.contains("panicked at") {
            fail("datax panicked");
        }
        let report = read_report(&workspace.path("report.json")).unwrap_or_else(|e| fail(&e));
        let evidence = Evidence {
            code,
            stopping: ending.stopping,
            signal: ending.signal,
            report,
            source_records: self.source_records,
            stored: stored().unwrap_or_else(|e| fail(&e)),
        };
        evidence.check().unwrap_or_else(|problem| fail(&problem))
    }
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

fn read_report(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("no report: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("the report is not JSON: {e}"))
}

/// The seed row a stored log is, checked value by value.
fn seed_row_id(log: &StoredLog) -> Result<u64, String> {
    let id = log
        .get(SEED_KEYS[0])
        .and_then(|key| key.strip_prefix("ak_"))
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| format!("a stored log that is no seed row: {log:?}"))?;
    if log.contents != expected_log(id, &SEED_KEYS) {
        return Err(format!("row {id} was stored with other values: {log:?}"));
    }
    Ok(id)
}

#[test]
fn odps_to_loghub_under_faults_signals_and_restarts_keeps_its_counts_true() {
    chaos("odps → loghub", odps_to_loghub_run);
}

/// The generated logstore the reverse direction reads: 2 shards of 100 groups of 50 logs,
/// 10 groups a second from [`BEGIN`].
const SOURCE_LOGSTORE: &str = "chaos_source";
const SOURCE_SHARDS: u64 = 2;
const SOURCE_GROUPS: u64 = 100;
const SOURCE_LOGS_PER_GROUP: u64 = 50;
const BEGIN: u64 = 1_700_000_000;
const SINK_TABLE: &str = "chaos_sink";
const SINK_COLUMNS: [&str; 5] = ["seq", "level", "user", "latency_ms", "msg"];

fn loghub_to_odps_config() -> SandboxConfig {
    let columns: Vec<Value> = SINK_COLUMNS
        .iter()
        .map(|name| json!({"name": name, "type": "string"}))
        .collect();
    let config = json!({
        "credentials": [{"access_id": "sandbox-access-id", "access_key": "sandbox-access-key"}],
        "odps": {"projects": [{"name": "aliyun_account", "tables": [
            {"name": SINK_TABLE, "columns": columns, "rows": []}
        ]}]},
        "sls": {"projects": [{"name": LOG_PROJECT, "logstores": [{
            "name": SOURCE_LOGSTORE, "shards": SOURCE_SHARDS, "generated": {
                "groups_per_shard": SOURCE_GROUPS, "logs_per_group": SOURCE_LOGS_PER_GROUP,
                "seed": 7, "start_time": BEGIN, "groups_per_second": 10}
        }]}]},
    });
    SandboxConfig::from_json(&config.to_string()).expect("a valid sandbox config")
}

/// The loghub → odps direction's faults: GetCursor, PullLogs and ListShards, the tunnel's
/// upload sessions, blocks and commit, and the REST calls.
const LOGHUB_TO_ODPS_FAULTS: &[fn(&mut Rng) -> FaultRule] = &[
    |rng| rule(FaultTarget::SlsGetCursor, busy(), rng, 0.3),
    |rng| rule(FaultTarget::SlsGetCursor, FaultAction::Close, rng, 0.3),
    |rng| rule(FaultTarget::SlsPullLogs, busy(), rng, 0.3),
    |rng| rule(FaultTarget::SlsPullLogs, FaultAction::Close, rng, 0.3),
    |rng| {
        let action = delay(rng);
        rule(FaultTarget::SlsPullLogs, action, rng, 0.5)
    },
    |rng| {
        let after_bytes = rng.range(0, 4_000);
        let action = FaultAction::TruncateBody { after_bytes };
        rule(FaultTarget::SlsPullLogs, action, rng, 0.3)
    },
    |rng| rule(FaultTarget::Sls, busy(), rng, 0.3),
    |rng| rule(FaultTarget::Tunnel, busy(), rng, 0.3),
    |rng| rule(FaultTarget::Tunnel, FaultAction::Close, rng, 0.2),
    |rng| {
        let action = delay(rng);
        rule(FaultTarget::Tunnel, action, rng, 0.5)
    },
    |rng| rule(FaultTarget::Odps, busy(), rng, 0.2),
];

fn odps_connection(sandbox: &SandboxHandle) -> Value {
    json!({
        "accessId": "sandbox-access-id",
        "accessKey": "sandbox-access-key",
        "odpsServer": sandbox.odps_endpoint(),
        "tunnelServer": sandbox.tunnel_endpoint(),
        "project": "aliyun_account",
        "table": SINK_TABLE,
        "column": SINK_COLUMNS,
    })
}

/// One loghub → odps job (the seed's reverse) against a sandbox with faults and signals. The
/// sandbox is not restarted: its upload sessions and tables live in memory only, so a
/// restart would leave nothing to compare.
fn loghub_to_odps_run(seed: u64) -> RunOutcome {
    let mut rng = Rng(seed);
    let faults = draw_faults(&mut rng, LOGHUB_TO_ODPS_FAULTS);
    let disruption = Disruption::draw(&mut rng, false);
    let channels = rng.range(1, 3);
    let plan = format!("channels {channels}, {disruption:?}, faults {faults:?}");
    eprintln!("  {plan}");
    let mut sandbox = RestartableSandbox::start(loghub_to_odps_config(), &faults);
    let workspace = Workspace::new();
    let job = datax_job(
        json!({"name": "loghubreader", "parameter": {
            "endpoint": sandbox.handle().sls_endpoint(),
            "accessId": "sandbox-access-id",
            "accessKey": "sandbox-access-key",
            "project": LOG_PROJECT,
            "logstore": SOURCE_LOGSTORE,
            "beginTimestampMillis": BEGIN * 1000,
            "endTimestampMillis": BEGIN + SOURCE_GROUPS,
            "batchSize": 16,
            "column": SINK_COLUMNS,
        }}),
        json!({"name": "odpswriter", "parameter": odps_connection(sandbox.handle())}),
        json!({"speed": {"channel": channels}, "errorLimit": {"record": 0}}),
    );
    let job = workspace.write_json("job.json", &job);
    let args = [job.to_str().unwrap(), "--report-json", "report.json"];
    let ending = Job::spawn(&workspace, &args).disrupt_and_wait(&disruption, &mut sandbox);
    let run = Run {
        test: "loghub_to_odps",
        seed,
        plan,
        source_records: SOURCE_SHARDS * SOURCE_GROUPS * SOURCE_LOGS_PER_GROUP,
    };
    run.judge(ending, &workspace, || {
        sandbox.handle().set_faults(Vec::new());
        committed_rows(sandbox.handle())
    })
}

/// Every row the sink table holds, read back through odpsreader, as the number of its log
/// (`seq` `s-i-j`), checked for the values the generator gives it.
fn committed_rows(sandbox: &SandboxHandle) -> Result<Vec<u64>, String> {
    let workspace = Workspace::new();
    let job = datax_job(
        json!({"name": "odpsreader", "parameter": odps_connection(sandbox)}),
        json!({"name": "streamwriter", "parameter": {"path": "out", "fileName": "rows"}}),
        json!({"speed": {"channel": 1}}),
    );
    let job = workspace.write_json("job.json", &job);
    let run = workspace.run(&[job.to_str().unwrap()]);
    if run.code != Some(0) {
        return Err(format!("reading the sink back failed:\n{}", run.stderr));
    }
    let mut rows = Vec::new();
    let Ok(files) = std::fs::read_dir(workspace.path("out")) else {
        return Ok(rows); // an empty table writes no file
    };
    for file in files {
        let text = std::fs::read_to_string(file.map_err(|e| e.to_string())?.path())
            .map_err(|e| e.to_string())?;
        for line in text.lines() {
            rows.push(generated_log_number(line)?);
        }
    }
    Ok(rows)
}

/// `s-i-j\tlevel\tuser\tlatency\trequest handled in {latency} ms` → its log's number.
fn generated_log_number(row: &str) -> Result<u64, String> {
    let bad = || format!("a row the source never held: {row:?}");
    let fields: Vec<&str> = row.split('\t').collect();
    let [seq, _level, _user, latency, msg] = fields[..] else {
        return Err(bad());
    };
    let parts: Vec<u64> = seq
        .split('-')
        .map(|part| part.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let [shard, group, log] = parts[..] else {
        return Err(bad());
    };
    let in_range = shard < SOURCE_SHARDS && group < SOURCE_GROUPS && log < SOURCE_LOGS_PER_GROUP;
    if !in_range || msg != format!("request handled in {latency} ms") {
        return Err(bad());
    }
    Ok((shard * SOURCE_GROUPS + group) * SOURCE_LOGS_PER_GROUP + log)
}

#[test]
fn loghub_to_odps_under_faults_and_signals_keeps_its_counts_true() {
    chaos("loghub → odps", loghub_to_odps_run);
}
