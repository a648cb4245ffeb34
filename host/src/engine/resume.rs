//! `--state DIR` and `--resume`: how much of each task the writer has made durable, kept in
//! `DIR/state.json` so that a run killed at any instant can be resumed without sending again
//! what was written (docs/resume.md describes the file).
//!
//! Records are numbered per task in the order its writer receives them (after the
//! transformers). A writer reports its durable watermark, the count of the task's first records
//! its service confirmed, through the reserved counter [`DURABLE_RECORDS_COUNTER`]. A resumed
//! task starts after its watermark `K`: a reader that can seek skips `K` records itself and
//! says so ([`SKIPPED_BY_SEEK_COUNTER`]); the engine drops the rest of `K` before the channel.
//!
//! A reader may seek only when the first records it reads are the first records its writer
//! received: a record dropped before the channel (a reader's dirty record, a transformer's
//! filtered or failed one) breaks that, and the task is then resumed by the engine's drop
//! alone (`readerAligned: false`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use datax_plugin_kit::text::style::HOST_KEY;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

/// What the `format` field of a state file holds.
pub const STATE_FORMAT: &str = "datax-state";
/// The version of the state file this datax writes and reads.
pub const STATE_VERSION: u64 = 1;
const STATE_FILE: &str = "state.json";
/// The reader-side counter that tells how many records a resumed run did not read again.
pub const SKIPPED_ON_RESUME_COUNTER: &str = "records skipped on resume";

/// `DIR/state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    pub format: String,
    pub version: u64,
    /// The fingerprint of the whole job: its plugins and every task's fingerprint.
    pub job: String,
    /// By task id (the index of the reader's split).
    pub tasks: BTreeMap<String, TaskState>,
    /// The writer's `post` succeeded: the job is complete.
    pub committed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskState {
    /// The hash of the task's reader and writer configurations, without volatile parts.
    pub fingerprint: String,
    /// The count of the task's first records (in the order its writer received them) that
    /// the writer made durable.
    pub durable: u64,
    /// The task finished and all of its records are durable: a resumed run skips it.
    pub done: bool,
    /// Its first `durable` records are also the first records its reader read: a reader may
    /// seek past them.
    pub reader_aligned: bool,
}

/// The state folder and, with `--resume`, the state found there.
#[derive(Clone)]
pub struct StateOptions {
    pub dir: PathBuf,
    pub previous: Option<StateFile>,
}

impl StateOptions {
    /// Opens `dir` (created if missing); with `resume`, reads the state in it, if any.
    pub fn open(dir: &Path, resume: bool) -> Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("--state {}: cannot create the folder", dir.display()))?;
        let path = dir.join(STATE_FILE);
        let previous = if resume && path.exists() {
            Some(load(&path)?)
        } else {
            None
        };
        // The folder must take the state before anything moves.
        let probe = dir.join(format!(".state-check-{}", std::process::id()));
        File::create(&probe)
            .and_then(|_| fs::remove_file(&probe))
            .with_context(|| format!("--state {}: cannot write in it", dir.display()))?;
        Ok(StateOptions {
            dir: dir.to_path_buf(),
            previous,
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }
}

/// Reads a state file, refusing another format or version with what it is.
pub fn load(path: &Path) -> Result<StateFile> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the state file {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("state file {}: not valid JSON", path.display()))?;
    if value.get("format").and_then(Value::as_str) != Some(STATE_FORMAT) {
        bail!(
            "{} is not a datax state file (its \"format\" is not \"{STATE_FORMAT}\")",
            path.display()
        );
    }
    match value.get("version").and_then(Value::as_u64) {
        Some(STATE_VERSION) => {}
        other => bail!(
            "state file {} is version {}; this datax reads version {STATE_VERSION} only",
            path.display(),
            other.map_or("unknown".to_string(), |version| version.to_string())
        ),
    }
    serde_json::from_value(value).with_context(|| format!("state file {}", path.display()))
}

/// How far a write of the state must reach before the run goes on.
#[derive(Debug, Clone, Copy)]
enum Durability {
    /// On disk (file and folder synced).
    Synced,
    /// Renamed into place, which survives the process being killed at any instant (the
    /// kernel holds the file); synced when the last sync is [`SYNC_INTERVAL`] old, so a
    /// machine that loses power loses at most that much of the watermarks' progress (those
    /// records are sent again, never lost: an older watermark is a smaller one).
    WithinSyncInterval,
}

/// Writes `state` to `path` so that a crash at any instant leaves the old file or the new one
/// whole: a temporary file in the same folder, renamed over it; with `sync`, the file is
/// synced before the rename and the folder after it, so that a power loss does too.
pub fn save(path: &Path, state: &StateFile, sync: bool) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no folder", path.display()))?;
    let temporary = dir.join(format!(".{STATE_FILE}.{}.tmp", std::process::id()));
    let text = serde_json::to_vec_pretty(state)?;
    let written = File::create(&temporary).and_then(|mut file| {
        file.write_all(&text)?;
        file.write_all(b"\n")?;
        if sync {
            file.sync_all()?;
        }
        Ok(())
    });
    written
        .and_then(|()| fs::rename(&temporary, path))
        .and_then(|()| match sync {
            true => File::open(dir)?.sync_all(),
            false => Ok(()),
        })
        .with_context(|| format!("cannot write the state file {}", path.display()))
}

/// Hex SHA-1 of `parts`, each ended by a 0 byte.
fn digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part);
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A task configuration without what changes from run to run of the same job: secrets are
/// masked (a rotated key is the same job) and the strings of keys naming an identifier (`id`,
/// `sessionId`, `upload_id`: sessions opened by each run) are blanked. Not JSON: as it is.
fn stable_config(config: &str) -> String {
    fn blank_ids(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    let names_id = key == "id" || key.ends_with("Id") || key.ends_with("_id");
                    if names_id && value.is_string() {
                        *value = Value::String(String::new());
                    } else {
                        blank_ids(value);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(blank_ids),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(config) {
        Ok(value) => {
            let mut value = datax_job_config::masked(&value);
            blank_ids(&mut value);
            value.to_string()
        }
        Err(_) => config.to_string(),
    }
}

/// The fingerprint of a task: its reader's and writer's configurations, made stable.
pub fn task_fingerprint(reader_config: &str, writer_config: &str) -> String {
    let (reader, writer) = (stable_config(reader_config), stable_config(writer_config));
    digest([reader.as_bytes(), writer.as_bytes()])
}

/// The fingerprint of a job: its plugins' names and its tasks' fingerprints in order.
pub fn job_fingerprint(reader: &str, writer: &str, tasks: &[String]) -> String {
    digest(
        [reader.as_bytes(), writer.as_bytes()]
            .into_iter()
            .chain(tasks.iter().map(String::as_bytes)),
    )
}

/// Refuses a state from another job or split, naming what differs.
pub fn check_matches(previous: &StateFile, job: &str, tasks: &[String], path: &Path) -> Result<()> {
    let differing: Vec<String> = (0..tasks.len().max(previous.tasks.len()))
        .filter(|id| previous.tasks.get(&id.to_string()).map(|t| &t.fingerprint) != tasks.get(*id))
        .map(|id| id.to_string())
        .collect();
    if previous.job == job && differing.is_empty() {
        return Ok(());
    }
    bail!(
        "--resume: the state in {} is from another job or another split of it (it has {} \
         tasks, this run {}; tasks that differ: {}); give another --state folder, or run \
         without --resume to start over",
        path.display(),
        previous.tasks.len(),
        tasks.len(),
        if differing.is_empty() {
            "none, the plugins differ".to_string()
        } else {
            differing.join(", ")
        }
    )
}

/// What the host tracks of one task for the state.
#[derive(Default)]
pub struct TaskTrack {
    fingerprint: String,
    /// The watermark the run started from (the previous state's).
    base: u64,
    /// What the writer reported durable in this run.
    durable: AtomicU64,
    /// Records of the watermark not yet skipped: by the reader's seek, else dropped here.
    to_drop: AtomicU64,
    /// Records sent into the channel in this run.
    sent: AtomicU64,
    /// The first `durable` records are also the reader's first (see the module's notes).
    aligned: AtomicBool,
    done: AtomicBool,
}

/// The state of a running job, kept by the host and written to `DIR/state.json`.
#[derive(Default)]
pub struct Resume {
    /// `None`: no `--state`, nothing is kept (the writers' counters are still taken).
    path: Option<PathBuf>,
    previous: Option<StateFile>,
    job: OnceLock<String>,
    tasks: OnceLock<Vec<TaskTrack>>,
    committed: AtomicBool,
    /// Serialises the writes of the tasks' threads; when the last synced write was.
    saving: Mutex<Option<Instant>>,
}

/// How long a state written but not yet synced to disk may stand (see [`Resume::add_durable`]).
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

impl Resume {
    pub fn new(options: Option<StateOptions>) -> Self {
        match options {
            None => Resume::default(),
            Some(options) => Resume {
                path: Some(options.path()),
                previous: options.previous,
                ..Resume::default()
            },
        }
    }

    pub fn is_kept(&self) -> bool {
        self.path.is_some()
    }

    /// The previous state's watermark per unfinished task with records to skip whose reader
    /// may seek: what the reader job is told under `_datax.resume.skipRecords`.
    pub fn seekable_skips(&self) -> BTreeMap<u32, u64> {
        let Some(previous) = &self.previous else {
            return BTreeMap::new();
        };
        previous
            .tasks
            .iter()
            .filter(|(_, task)| !task.done && task.durable > 0 && task.reader_aligned)
            .filter_map(|(id, task)| Some((id.parse().ok()?, task.durable)))
            .collect()
    }

    /// The reader job's parameter with the seekable watermarks under `_datax.resume`.
    pub fn reader_parameter(&self, parameter: String) -> String {
        let skips = self.seekable_skips();
        if skips.is_empty() {
            return parameter;
        }
        let Ok(mut value) = serde_json::from_str::<Value>(&parameter) else {
            return parameter;
        };
        let Some(object) = value.as_object_mut() else {
            return parameter;
        };
        let host = object.entry(HOST_KEY).or_insert_with(|| json!({}));
        if let Some(host) = host.as_object_mut() {
            let skips: serde_json::Map<String, Value> = skips
                .into_iter()
                .map(|(id, records)| (id.to_string(), json!(records)))
                .collect();
            host.insert("resume".into(), json!({ "skipRecords": skips }));
        }
        value.to_string()
    }

    /// Sets up the tasks of the split (fingerprints in task order); with a previous state,
    /// checks it is this job's and returns the ids of the tasks it says are done.
    pub fn start(&self, reader: &str, writer: &str, fingerprints: Vec<String>) -> Result<Vec<u32>> {
        let job = job_fingerprint(reader, writer, &fingerprints);
        if let (Some(previous), Some(path)) = (&self.previous, &self.path) {
            check_matches(previous, &job, &fingerprints, path)?;
        }
        let previous_task = |id: usize| {
            self.previous
                .as_ref()
                .and_then(|state| state.tasks.get(&id.to_string()))
        };
        let tracks: Vec<TaskTrack> = fingerprints
            .into_iter()
            .enumerate()
            .map(|(id, fingerprint)| {
                let previous = previous_task(id);
                let base = previous.map_or(0, |task| task.durable);
                TaskTrack {
                    fingerprint,
                    base,
                    to_drop: AtomicU64::new(if previous.is_some_and(|t| t.done) {
                        0
                    } else {
                        base
                    }),
                    aligned: AtomicBool::new(previous.is_none_or(|task| task.reader_aligned)),
                    done: AtomicBool::new(previous.is_some_and(|task| task.done)),
                    ..TaskTrack::default()
                }
            })
            .collect();
        let done = tracks
            .iter()
            .enumerate()
            .filter(|(_, track)| track.done.load(Ordering::Relaxed))
            .map(|(id, _)| id as u32)
            .collect();
        let _ = self.job.set(job);
        let _ = self.tasks.set(tracks);
        Ok(done)
    }

    fn task(&self, task_id: u32) -> Option<&TaskTrack> {
        self.tasks.get()?.get(task_id as usize)
    }

    /// A writer's report of records made durable, written to the state before the writer
    /// goes on (on its thread): a crash then finds in the state all that the writer knew
    /// durable, so a writer that keeps at most N batches past its watermark (loghub's
    /// `maxInFlight`) has at most N batches sent again on resume.
    pub fn add_durable(&self, task_id: u32, records: u64) -> Result<()> {
        if let Some(task) = self.task(task_id) {
            task.durable.fetch_add(records, Ordering::Relaxed);
            return self.write(Durability::WithinSyncInterval);
        }
        Ok(())
    }

    /// A reader's report of records it skipped itself: fewer to drop here.
    pub fn skipped_by_seek(&self, task_id: u32, records: u64) {
        if let Some(task) = self.task(task_id) {
            let _ = task
                .to_drop
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    Some(left.saturating_sub(records))
                });
        }
    }

    /// How many of the `records` about to enter task `task_id`'s channel are dropped: the
    /// front of the watermark its reader did not skip.
    pub fn take_drop(&self, task_id: u32, records: u64) -> u64 {
        let Some(task) = self.task(task_id) else {
            return 0;
        };
        let mut taken = 0;
        let _ = task
            .to_drop
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                taken = left.min(records);
                Some(left - taken)
            });
        taken
    }

    pub fn add_sent(&self, task_id: u32, records: u64) {
        if let Some(task) = self.task(task_id) {
            task.sent.fetch_add(records, Ordering::Relaxed);
        }
    }

    /// A record of the task left before the channel: its reader's numbering and its
    /// writer's part from here on.
    pub fn unalign(&self, task_id: u32) {
        if let Some(task) = self.task(task_id) {
            task.aligned.store(false, Ordering::Relaxed);
        }
    }

    /// The task's reader and writer both ended well: done when its writer made every record
    /// it received durable.
    pub fn finished(&self, task_id: u32) {
        if let Some(task) = self.task(task_id) {
            if task.durable.load(Ordering::Relaxed) >= task.sent.load(Ordering::Relaxed) {
                task.done.store(true, Ordering::Relaxed);
            }
        }
    }

    /// The writer's `post` succeeded: every record is durable.
    pub fn committed(&self) {
        self.committed.store(true, Ordering::Relaxed);
        for task in self.tasks.get().into_iter().flatten() {
            task.done.store(true, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> Option<StateFile> {
        let job = self.job.get()?;
        let tasks = self.tasks.get()?;
        Some(StateFile {
            format: STATE_FORMAT.to_string(),
            version: STATE_VERSION,
            job: job.clone(),
            tasks: tasks
                .iter()
                .enumerate()
                .map(|(id, task)| {
                    let state = TaskState {
                        fingerprint: task.fingerprint.clone(),
                        durable: task.base + task.durable.load(Ordering::Relaxed),
                        done: task.done.load(Ordering::Relaxed),
                        reader_aligned: task.aligned.load(Ordering::Relaxed),
                    };
                    (id.to_string(), state)
                })
                .collect(),
            committed: self.committed.load(Ordering::Relaxed),
        })
    }

    /// Writes the state and syncs it to disk. Without `--state`, or before the tasks are
    /// known, does nothing.
    pub fn save(&self) -> Result<()> {
        self.write(Durability::Synced)
    }

    fn write(&self, durability: Durability) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut last_synced = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = self.snapshot() else {
            return Ok(());
        };
        let sync = match durability {
            Durability::Synced => true,
            Durability::WithinSyncInterval => {
                last_synced.is_none_or(|synced| synced.elapsed() >= SYNC_INTERVAL)
            }
        };
        save(path, &state, sync)?;
        if sync {
            *last_synced = Some(Instant::now());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(job: &str) -> StateFile {
        StateFile {
            format: STATE_FORMAT.to_string(),
            version: STATE_VERSION,
            job: job.to_string(),
            tasks: BTreeMap::from([(
                "0".to_string(),
                TaskState {
                    fingerprint: "f0".to_string(),
                    durable: 7,
                    done: false,
                    reader_aligned: true,
                },
            )]),
            committed: false,
        }
    }

    #[test]
    fn a_saved_state_reads_back_and_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        save(&path, &state("a"), true).unwrap();
        save(&path, &state("b"), false).unwrap();
        assert_eq!(load(&path).unwrap(), state("b"));
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(left, [STATE_FILE], "no temporary file is left behind");
    }

    #[test]
    fn another_version_or_format_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        let mut value = serde_json::to_value(state("a")).unwrap();
        value["version"] = json!(2);
        fs::write(&path, value.to_string()).unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(
            error.contains("is version 2; this datax reads version 1 only"),
            "{error}"
        );
        value["format"] = json!("datax-plan");
        fs::write(&path, value.to_string()).unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(error.contains("is not a datax state file"), "{error}");
    }

    #[test]
    fn a_state_of_another_split_is_refused_naming_the_tasks() {
        let path = Path::new("/state/state.json");
        let previous = state("job-a");
        let tasks = vec!["f0".to_string(), "f1".to_string()];
        let error = check_matches(&previous, "job-b", &tasks, path)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("it has 1 tasks, this run 2; tasks that differ: 1"),
            "{error}"
        );
        let edited = check_matches(&previous, "job-a", &tasks, path).unwrap_err();
        assert!(
            edited.to_string().contains("tasks that differ: 1"),
            "{edited}"
        );
        check_matches(&previous, "job-a", &tasks[..1], path).unwrap();
    }

    #[test]
    fn fingerprints_ignore_sessions_and_secrets_but_not_ranges() {
        let config = |session: &str, key: &str, start: u64| {
            json!({"accessKey": key, "session": {"id": session, "start": start, "count": 10}})
                .to_string()
        };
        let first = task_fingerprint(&config("s1", "k1", 0), r#"{"sessionId": "u1"}"#);
        let again = task_fingerprint(&config("s2", "k2", 0), r#"{"sessionId": "u2"}"#);
        let moved = task_fingerprint(&config("s1", "k1", 10), r#"{"sessionId": "u1"}"#);
        assert_eq!(first, again);
        assert_ne!(first, moved);
    }

    #[test]
    fn the_watermark_is_dropped_once_less_what_the_reader_skipped() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(STATE_FILE),
            serde_json::to_string(&state("unused")).unwrap(),
        )
        .unwrap();
        let options = StateOptions::open(dir.path(), true).unwrap();
        let mut previous = options.previous.clone().unwrap();
        let resume = Resume::new(Some(options));
        let job = job_fingerprint("r", "w", &["f0".to_string()]);
        previous.job.clone_from(&job);
        save(&resume.path.clone().unwrap(), &previous, true).unwrap();
        let resume = Resume::new(Some(StateOptions::open(dir.path(), true).unwrap()));
        assert_eq!(resume.seekable_skips(), BTreeMap::from([(0, 7)]));
        assert!(resume
            .start("r", "w", vec!["f0".to_string()])
            .unwrap()
            .is_empty());
        resume.skipped_by_seek(0, 3);
        assert_eq!(resume.take_drop(0, 2), 2);
        assert_eq!(resume.take_drop(0, 5), 2);
        assert_eq!(resume.take_drop(0, 5), 0);
        resume.add_sent(0, 8);
        resume.add_durable(0, 8).unwrap();
        resume.finished(0);
        let saved = resume.snapshot().unwrap();
        assert_eq!(saved.tasks["0"].durable, 15);
        assert!(saved.tasks["0"].done);
        let parameter = resume.reader_parameter(r#"{"table": "t"}"#.to_string());
        let parameter: Value = serde_json::from_str(&parameter).unwrap();
        assert_eq!(parameter["_datax"]["resume"]["skipRecords"]["0"], 7);
    }
}
