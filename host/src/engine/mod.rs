//! Runs one job: DataX's lifecycle (datax-semantics.md §4) around reader/writer task pairs
//! joined by bounded channels, with the monitor that reports, checks errorLimit and stalls.

mod channel;
mod dirty;
pub mod metrics;
pub mod report;
pub mod resume;
mod schedule;
mod signals;
mod state;
pub mod stats;
mod throttle;
pub mod transform;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use abi_stable::std_types::RString;
use datax_job_config::{JobConfig, Step};
use datax_plugin_api::ffi::{FfiReaderJobBox, FfiWriterJobBox};
use datax_plugin_api::PluginError;
use datax_plugin_kit::text::style::HOST_KEY;
use serde_json::{json, Value};

use crate::logger;
use crate::plugins::{Kind, LoadedPlugin};
use channel::Capacity;
use dirty::{check_error_limit, DirtyLog, ErrorLimitExceeded};
use schedule::{PairTasks, PendingPair, Schedule};
use state::JobState;
use stats::{
    Counters, Delivery, PluginCounterTotals, PluginCounters, Snapshot, TransformerCounters,
    TransformerTotals,
};
use throttle::Throttle;
use transform::Chain;

/// What every task of a running job shares.
pub struct Runtime {
    pub state: JobState,
    pub counters: Counters,
    pub plugin_counters: PluginCounters,
    pub throttle: Throttle,
    pub dirty: DirtyLog,
    /// The job's transformers, run by every reader task on what it sends.
    pub transformers: Chain,
    pub transformer_counters: TransformerCounters,
    /// What `--state` keeps of each task (nothing without it).
    pub resume: resume::Resume,
    /// Each task pair that ran, in the order they ended.
    pub task_counts: Mutex<Vec<TaskCounts>>,
}

/// What one task pair did (a plan's shard reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TaskCounts {
    pub id: u32,
    /// Both sides finished without failing.
    pub completed: bool,
    /// Records (and their bytes) the reader sent to the channel (dirty ones not included).
    pub records_sent: u64,
    pub bytes_sent: u64,
    /// Records handed to the writer.
    pub records_received: u64,
}

impl TaskCounts {
    /// A task a resumed run skips: its earlier run completed it.
    fn done_before(id: u32) -> Self {
        TaskCounts {
            id,
            completed: true,
            records_sent: 0,
            bytes_sent: 0,
            records_received: 0,
        }
    }
}

pub struct RunOptions {
    pub dirty_file: PathBuf,
    pub report_interval: Duration,
    pub stall_timeout: Duration,
    pub status_bar: bool,
    /// Called with the counts so far at each report interval of the transfer (the report
    /// file and the metrics follow the run), on the monitor's thread.
    pub on_interval: Option<IntervalObserver>,
    /// `--state DIR` (with the state found there on `--resume`).
    pub state: Option<resume::StateOptions>,
}

pub type IntervalObserver = Box<dyn Fn(&Outcome) + Send + Sync>;

/// The counts of a run: at its end, or so far (`running`).
pub struct Outcome {
    pub running: bool,
    pub snapshot: Snapshot,
    pub delivery: Delivery,
    pub plugin_counters: PluginCounterTotals,
    pub transformers: TransformerTotals,
    pub failure: Option<String>,
    pub signal: Option<i32>,
    pub channels: usize,
    pub tasks: usize,
    pub transfer_time: Duration,
    pub dirty_file: Option<PathBuf>,
    /// Each task pair that ran, by id.
    pub task_counts: Vec<TaskCounts>,
    /// Records the writer's service stored but only its `post` publishes, still unpublished
    /// (a plan's shard, which has no `post`).
    pub staged_records: u64,
}

/// The two plugins of a job, with the job-file names users will recognise in messages.
pub struct JobPlugins<'a> {
    pub reader: &'a LoadedPlugin,
    pub writer: &'a LoadedPlugin,
}

/// Runs `job` with its transformer chain, built (and so checked) by the caller beforehand.
pub fn run(
    job: &JobConfig,
    transformers: Chain,
    plugins: &JobPlugins<'_>,
    options: &RunOptions,
) -> Outcome {
    run_with(job, transformers, plugins, options, |runtime, plan| {
        with_jobs(
            job,
            plugins,
            None,
            Some(&runtime.resume),
            |reader_job, writer_job| transfer(job, options, runtime, plan, reader_job, writer_job),
        )
    })
}

/// Runs the tasks `ids` of a plan's `tasks` (one shard of `datax run --plan`): each side's
/// job is restored from its task configurations instead of prepared, no `post` runs, and the
/// outcome lists the tasks that completed.
pub fn run_shard(
    job: &JobConfig,
    transformers: Chain,
    plugins: &JobPlugins<'_>,
    options: &RunOptions,
    tasks: &SplitTasks,
    ids: &[u32],
) -> Outcome {
    run_with(job, transformers, plugins, options, |runtime, plan| {
        let resume = Some(&runtime.resume);
        with_jobs(
            job,
            plugins,
            Some(tasks),
            resume,
            |reader_job, writer_job| {
                let done = start_resume(job, runtime, tasks)?;
                // Done in the run this one resumes: completed, with what this run moved (nothing).
                lock(&runtime.task_counts).extend(
                    ids.iter()
                        .filter(|id| done.contains(id))
                        .map(|&id| TaskCounts::done_before(id)),
                );
                let selected = ids.iter().filter(|id| !done.contains(id)).map(|&id| {
                    let index = id as usize;
                    (id, &tasks.reader[index], &tasks.writer[index])
                });
                let what = "this shard runs";
                run_tasks(
                    job,
                    options,
                    runtime,
                    plan,
                    (reader_job, writer_job),
                    selected,
                    what,
                )?;
                check_error_limit(&job.error_limit, &runtime.counters.snapshot())?;
                Ok(())
            },
        )
    })
}

fn run_with(
    job: &JobConfig,
    transformers: Chain,
    plugins: &JobPlugins<'_>,
    options: &RunOptions,
    lifecycle: impl FnOnce(&Arc<Runtime>, &mut Plan) -> Result<(), JobError>,
) -> Outcome {
    let runtime = Arc::new(Runtime {
        state: JobState::new(),
        counters: Counters::default(),
        plugin_counters: PluginCounters::default(),
        throttle: Throttle::new(job.speed.byte_per_sec, job.speed.record_per_sec),
        dirty: DirtyLog::new(options.dirty_file.clone(), &job.error_limit),
        transformers,
        transformer_counters: TransformerCounters::default(),
        resume: resume::Resume::new(options.state.clone()),
        task_counts: Mutex::default(),
    });
    let signal_watch = signals::watch(Arc::clone(&runtime));
    for plugin in [plugins.reader, plugins.writer] {
        plugin.install_job_stop(state::job_stop(&runtime.state));
    }
    let mut plan = Plan::default();
    if let Err(reason) = lifecycle(&runtime, &mut plan) {
        runtime.state.fail(reason);
    }
    signal_watch.stop();
    if let Err(error) = runtime.resume.save() {
        runtime.state.fail(format!("{error:#}"));
    }
    runtime.dirty.flush();
    runtime.outcome(false, &plan)
}

/// Every task configuration of a job, as `split` wrote them: task `i` pairs `reader[i]`
/// with `writer[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitTasks {
    pub reader: Vec<String>,
    pub writer: Vec<String>,
}

/// `datax plan`: both jobs' `init`, `prepare` and `split`, as a run does them, then `destroy`
/// (no task runs, no `post`). Both jobs are then restored from the configurations once, as a
/// shard will, so that a plugin that cannot run from a plan says so now.
pub fn plan(job: &JobConfig, plugins: &JobPlugins<'_>) -> Result<SplitTasks, JobError> {
    let tasks = with_jobs(job, plugins, None, None, |reader_job, writer_job| {
        prepare_and_split(job, reader_job, writer_job)
    })?;
    with_jobs(job, plugins, Some(&tasks), None, |_, _| Ok(()))?;
    Ok(tasks)
}

/// `datax finish`: the writer's `post` then the reader's, once for the whole plan, after the
/// errorLimit verdict over every shard's counts (`total`).
pub fn finish(
    job: &JobConfig,
    plugins: &JobPlugins<'_>,
    tasks: &SplitTasks,
    total: &Snapshot,
) -> Result<(), JobError> {
    check_error_limit(&job.error_limit, total)?;
    with_jobs(job, plugins, Some(tasks), None, |reader_job, writer_job| {
        writer_job
            .post()
            .into_result()
            .map_err(|error| step_error(&job.writer, Kind::Writer, "post", error))?;
        reader_job
            .post()
            .into_result()
            .map_err(|error| step_error(&job.reader, Kind::Reader, "post", error))
    })
}

impl Runtime {
    /// The counts now: `running` while the tasks still move records.
    fn outcome(&self, running: bool, plan: &Plan) -> Outcome {
        Outcome {
            running,
            snapshot: self.counters.snapshot(),
            delivery: self.counters.delivery.snapshot(),
            plugin_counters: self.plugin_counters.totals(),
            transformers: self.transformer_counters.totals(),
            failure: self.state.failure(),
            signal: self.state.signal(),
            channels: plan.channels,
            tasks: plan.tasks,
            transfer_time: plan.transfer_time,
            dirty_file: self.dirty.written_path().map(PathBuf::from),
            task_counts: {
                let mut counts = lock(&self.task_counts).clone();
                counts.sort_unstable_by_key(|task| task.id);
                counts
            },
            staged_records: self.counters.delivery.staged(),
        }
    }
}

/// Runs `datax check`'s part of the lifecycle: each plugin's `init` validation, then its
/// `check` against the service (nothing is prepared or moved), then `destroy`.
pub fn check(job: &JobConfig, plugins: &JobPlugins<'_>) -> Result<(), JobError> {
    let mut reader_job = init_reader(job, plugins, None, None)?;
    let writer_job = init_writer(job, plugins, None);
    let reader_checked = match &writer_job {
        Ok(_) => reader_job
            .check()
            .into_result()
            .map_err(|error| step_error(&job.reader, Kind::Reader, "check", error)),
        Err(_) => Ok(()),
    };
    let _ = reader_job.destroy();
    let mut writer_job = writer_job?;
    let writer_checked = reader_checked.and_then(|()| {
        writer_job
            .check()
            .into_result()
            .map_err(|error| step_error(&job.writer, Kind::Writer, "check", error))
    });
    let _ = writer_job.destroy();
    writer_checked
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Plan {
    channels: usize,
    tasks: usize,
    transfer_time: Duration,
}

/// Why a job's lifecycle stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A plugin's job or task step returned an error.
    #[error("{kind} '{plugin}' ({path}) {stage} failed: {error}")]
    Step {
        kind: Kind,
        plugin: String,
        /// Where the step is in the job file.
        path: String,
        stage: String,
        error: PluginError,
    },
    #[error("reader '{reader}' split into 0 tasks: there is nothing to run")]
    NoTasks { reader: String },
    #[error(
        "writer '{writer}' split into {writer_tasks} tasks, but the reader has {reader_tasks}: \
         they must match"
    )]
    SplitMismatch {
        writer: String,
        writer_tasks: usize,
        reader_tasks: usize,
    },
    #[error(transparent)]
    ErrorLimit(#[from] ErrorLimitExceeded),
    /// The tasks stopped the job: the first failure they recorded.
    #[error("{0}")]
    TasksFailed(String),
    /// `--state`: the state could not be written, or is another job's.
    #[error("{0}")]
    State(String),
}

fn step_error(step: &Step, kind: Kind, stage: &str, error: PluginError) -> JobError {
    JobError::Step {
        kind,
        plugin: step.plugin.clone(),
        path: step.path.clone(),
        stage: stage.to_string(),
        error,
    }
}

/// The parameter `step`'s plugin is given; from a plan, with this side's task configurations
/// under `_datax.restore` (the plugin kit hands them to the plugin, plugin-kit config::Restore).
fn job_parameter(job: &JobConfig, step: &Step, restore: Option<&[String]>) -> String {
    let parameter = job.plugin_parameter(step);
    let Some(task_configs) = restore else {
        return parameter;
    };
    let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(&parameter) else {
        return parameter;
    };
    let host = object
        .entry(HOST_KEY)
        .or_insert_with(|| Value::Object(Default::default()));
    host["restore"] = json!({ "taskConfigs": task_configs });
    Value::Object(object).to_string()
}

/// The reader job; when resuming, told the watermarks of the tasks it may seek in.
fn init_reader(
    job: &JobConfig,
    plugins: &JobPlugins<'_>,
    restore: Option<&SplitTasks>,
    resume: Option<&resume::Resume>,
) -> Result<FfiReaderJobBox, JobError> {
    let restore = restore.map(|tasks| tasks.reader.as_slice());
    let parameter = job_parameter(job, &job.reader, restore);
    let parameter = match resume {
        Some(resume) => resume.reader_parameter(parameter),
        None => parameter,
    };
    plugins
        .reader
        .new_reader_job(&parameter)
        .map_err(|error| step_error(&job.reader, Kind::Reader, "init", error))
}

fn init_writer(
    job: &JobConfig,
    plugins: &JobPlugins<'_>,
    restore: Option<&SplitTasks>,
) -> Result<FfiWriterJobBox, JobError> {
    let restore = restore.map(|tasks| tasks.writer.as_slice());
    plugins
        .writer
        .new_writer_job(&job_parameter(job, &job.writer, restore))
        .map_err(|error| step_error(&job.writer, Kind::Writer, "init", error))
}

/// Both jobs' `init` (from a plan's tasks when `restore` is given), `body`, then `destroy`
/// whatever happened, as DataX does.
fn with_jobs<T>(
    job: &JobConfig,
    plugins: &JobPlugins<'_>,
    restore: Option<&SplitTasks>,
    resume: Option<&resume::Resume>,
    body: impl FnOnce(&mut FfiReaderJobBox, &mut FfiWriterJobBox) -> Result<T, JobError>,
) -> Result<T, JobError> {
    let mut reader_job = init_reader(job, plugins, restore, resume)?;
    let mut writer_job = match init_writer(job, plugins, restore) {
        Ok(writer_job) => writer_job,
        Err(reason) => {
            let _ = reader_job.destroy();
            return Err(reason);
        }
    };
    let outcome = body(&mut reader_job, &mut writer_job);
    for (step, kind, destroyed) in [
        (
            &job.writer,
            Kind::Writer,
            writer_job.destroy().into_result(),
        ),
        (
            &job.reader,
            Kind::Reader,
            reader_job.destroy().into_result(),
        ),
    ] {
        if let Err(error) = destroyed {
            logger::warn(
                "datax",
                step_error(step, kind, "destroy", error).to_string(),
            );
        }
    }
    outcome
}

/// Sets up `--state` for the split; returns the tasks a resumed run skips (done before).
fn start_resume(
    job: &JobConfig,
    runtime: &Runtime,
    tasks: &SplitTasks,
) -> Result<Vec<u32>, JobError> {
    if !runtime.resume.is_kept() {
        return Ok(Vec::new());
    }
    let fingerprints = tasks
        .reader
        .iter()
        .zip(&tasks.writer)
        .map(|(reader, writer)| resume::task_fingerprint(reader, writer))
        .collect();
    let state_error = |error: anyhow::Error| JobError::State(format!("{error:#}"));
    let done = runtime
        .resume
        .start(&job.reader.plugin, &job.writer.plugin, fingerprints)
        .map_err(state_error)?;
    runtime.resume.save().map_err(state_error)?;
    if !done.is_empty() {
        logger::info(
            "datax",
            format!(
                "resuming: {} of {} tasks finished before and are skipped",
                done.len(),
                tasks.reader.len()
            ),
        );
    }
    Ok(done)
}

/// Makes a pair's reader and writer tasks when a channel picks the pair up, as DataX's task
/// group does, not all at the job's start: a job of thousands of partitions then holds only
/// the running pairs' tasks (and their parsed configurations), and the channels share the
/// work of making them instead of the main thread doing it before anything moves.
pub struct TaskMaker<'a> {
    /// The plugin jobs are `Send`, not `Sync`: one channel at a time makes its tasks.
    jobs: Mutex<(&'a mut FfiReaderJobBox, &'a mut FfiWriterJobBox)>,
    reader: &'a Step,
    writer: &'a Step,
}

impl TaskMaker<'_> {
    /// The pair's tasks, or the job's failure naming the task whose `init` failed; `None`
    /// when the job is stopping. A channel may have waited for another's `init` (a slow one
    /// takes a while): the stop is looked at again once it is this channel's turn, so a
    /// stop waits for one `init` at most, not for every channel's.
    fn make(&self, pair: PendingPair, state: &JobState) -> Result<Option<PairTasks>, JobError> {
        let index = pair.task_id;
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if state.is_cancelled() {
            return Ok(None);
        }
        let (reader_job, writer_job) = &*jobs;
        let reader = reader_job
            .new_task(pair.reader_config.as_rstr())
            .into_result()
            .map_err(|error| {
                step_error(
                    self.reader,
                    Kind::Reader,
                    &format!("task {index} init"),
                    error,
                )
            })?;
        let writer = writer_job
            .new_task(pair.writer_config.as_rstr())
            .into_result()
            .map_err(|error| {
                step_error(
                    self.writer,
                    Kind::Writer,
                    &format!("task {index} init"),
                    error,
                )
            })?;
        Ok(Some(PairTasks {
            task_id: index,
            reader,
            writer,
        }))
    }
}

fn transfer(
    job: &JobConfig,
    options: &RunOptions,
    runtime: &Arc<Runtime>,
    plan: &mut Plan,
    reader_job: &mut FfiReaderJobBox,
    writer_job: &mut FfiWriterJobBox,
) -> Result<(), JobError> {
    let tasks = prepare_and_split(job, reader_job, writer_job)?;
    let done = start_resume(job, runtime, &tasks)?;
    let all = (0u32..)
        .zip(&tasks.reader)
        .zip(&tasks.writer)
        .map(|((id, reader), writer)| (id, reader, writer))
        .filter(|(id, _, _)| !done.contains(id));
    let what = format!("reader '{}' split into", job.reader.plugin);
    run_tasks(
        job,
        options,
        runtime,
        plan,
        (reader_job, writer_job),
        all,
        &what,
    )?;
    // DataX checks the limits after the tasks and before `post`, so a failed check
    // skips the writer's commit step.
    check_error_limit(&job.error_limit, &runtime.counters.snapshot())?;
    writer_job
        .post()
        .into_result()
        .map_err(|error| step_error(&job.writer, Kind::Writer, "post", error))?;
    runtime.counters.delivery.publish_staged();
    runtime.resume.committed();
    runtime
        .resume
        .save()
        .map_err(|error| JobError::State(format!("{error:#}")))?;
    reader_job
        .post()
        .into_result()
        .map_err(|error| step_error(&job.reader, Kind::Reader, "post", error))?;
    Ok(())
}

/// Both jobs' `prepare`, then `split`: the task configurations, as many for the writer as
/// for the reader.
fn prepare_and_split(
    job: &JobConfig,
    reader_job: &mut FfiReaderJobBox,
    writer_job: &mut FfiWriterJobBox,
) -> Result<SplitTasks, JobError> {
    let reader_error = |stage: &str, error| step_error(&job.reader, Kind::Reader, stage, error);
    let writer_error = |stage: &str, error| step_error(&job.writer, Kind::Writer, stage, error);

    reader_job
        .prepare()
        .into_result()
        .map_err(|error| reader_error("prepare", error))?;
    writer_job
        .prepare()
        .into_result()
        .map_err(|error| writer_error("prepare", error))?;

    let reader_configs = reader_job
        .split(job.speed.channels)
        .into_result()
        .map_err(|error| reader_error("split", error))?;
    if reader_configs.is_empty() {
        return Err(JobError::NoTasks {
            reader: job.reader.plugin.clone(),
        });
    }
    let writer_configs = writer_job
        .split(reader_configs.len())
        .into_result()
        .map_err(|error| writer_error("split", error))?;
    if writer_configs.len() != reader_configs.len() {
        return Err(JobError::SplitMismatch {
            writer: job.writer.plugin.clone(),
            writer_tasks: writer_configs.len(),
            reader_tasks: reader_configs.len(),
        });
    }
    Ok(SplitTasks {
        reader: reader_configs.iter().map(|c| c.to_string()).collect(),
        writer: writer_configs.iter().map(|c| c.to_string()).collect(),
    })
}

/// Runs the task pairs `tasks` names (id, reader configuration, writer configuration) to
/// their end; each pair's tasks are made when a channel picks it up ([`TaskMaker`]).
fn run_tasks<'t>(
    job: &JobConfig,
    options: &RunOptions,
    runtime: &Arc<Runtime>,
    plan: &mut Plan,
    (reader_job, writer_job): (&mut FfiReaderJobBox, &mut FfiWriterJobBox),
    tasks: impl Iterator<Item = (u32, &'t String, &'t String)>,
    what: &str,
) -> Result<(), JobError> {
    let pairs: Vec<PendingPair> = tasks
        .map(|(task_id, reader_config, writer_config)| PendingPair {
            task_id,
            reader_config: RString::from(reader_config.as_str()),
            writer_config: RString::from(writer_config.as_str()),
        })
        .collect();
    plan.tasks = pairs.len();
    plan.channels = job.speed.channels.min(pairs.len()).max(1);
    logger::info(
        "datax",
        format!(
            "{what} {} tasks; running {} channels",
            plan.tasks, plan.channels
        ),
    );
    logger::info("datax", throttle::describe(&job.speed));

    Schedule {
        runtime,
        options,
        error_limit: &job.error_limit,
        speed: &job.speed,
        reader_name: &job.reader.plugin,
        writer_name: &job.writer.plugin,
        tasks: &TaskMaker {
            jobs: Mutex::new((reader_job, writer_job)),
            reader: &job.reader,
            writer: &job.writer,
        },
        capacity: Capacity {
            batches: schedule::CHANNEL_BATCHES,
            bytes: job.channel_byte_capacity.unwrap_or(schedule::CHANNEL_BYTES),
        },
    }
    .run(pairs, plan);
    logger::debug(
        "datax",
        format!(
            "engine wake-ups during the transfer: {}",
            runtime.counters.wakeups.load(Ordering::Relaxed)
        ),
    );

    match runtime.state.failure() {
        Some(failure) => Err(JobError::TasksFailed(failure)),
        None => Ok(()),
    }
}

/// The guarded value; a panicked holder's value is still whole here (plain pushes).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
