//! Runs task pairs, at most `channels` at once, while the calling thread monitors them.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::RString;
use crossbeam_channel::RecvTimeoutError;
use datax_job_config::{ErrorLimit, Speed};
use datax_plugin_api::ffi::{
    FfiReaderTaskBox, FfiRecordReceiver_TO, FfiRecordSender_TO, FfiTaskContext_TO, FfiWriterTaskBox,
};

use super::channel::{open, Capacity, HostTaskContext, Message, PairProgress};
use super::dirty::check_percentage;
use super::report::{progress_line, status_message};
use super::stats::Snapshot;
use super::throttle::Throttle;
use super::{Plan, RunOptions, Runtime, TaskCounts, TaskMaker};
use crate::logger;
use crate::plugins::Kind;

/// Batches a channel holds before its reader blocks: with batches of up to 1,024 records this
/// is DataX's 512-record channel scaled to keep both threads busy.
pub const CHANNEL_BATCHES: usize = 8;

/// Bytes a channel holds before its reader blocks, unless the job sets
/// `core.transport.channel.byteCapacity`: DataX's `Channel` default when `core.json` has no
/// value (its `core.json` sets 64 MiB). It is the batch count's worth of full 1 MiB batches,
/// so narrow records never meet it; wide ones (10 KB and up) meet it before the count.
pub const CHANNEL_BYTES: u64 = 8 << 20;

const STATUS_BAR_INTERVAL: Duration = Duration::from_secs(1);

/// A pair's reader task, run on its channel's reader thread: whether it read all its data.
type ReadJob<'scope> = Box<dyn FnOnce() -> bool + Send + 'scope>;

/// A channel's reader thread: where its pairs' reader tasks go, and whether each read all.
struct ReaderThread<'scope> {
    jobs: crossbeam_channel::Sender<ReadJob<'scope>>,
    read: crossbeam_channel::Receiver<bool>,
}

/// A pair not started yet: the task configurations its plugins' `split` returned.
pub struct PendingPair {
    pub task_id: u32,
    pub reader_config: RString,
    pub writer_config: RString,
}

pub struct PairTasks {
    pub task_id: u32,
    pub reader: FfiReaderTaskBox,
    pub writer: FfiWriterTaskBox,
}

pub struct Schedule<'a> {
    pub runtime: &'a Arc<Runtime>,
    pub options: &'a RunOptions,
    pub error_limit: &'a ErrorLimit,
    /// Its per-channel limits give each pair's channel its own throttle.
    pub speed: &'a Speed,
    pub reader_name: &'a str,
    pub writer_name: &'a str,
    pub tasks: &'a TaskMaker<'a>,
    /// What each pair's channel holds.
    pub capacity: Capacity,
}

impl Schedule<'_> {
    /// Runs the pairs on `plan.channels` threads, then notes the transfer time in `plan`.
    pub fn run(&self, pairs: Vec<PendingPair>, plan: &mut Plan) {
        let started = Instant::now();
        let task_ids: Vec<u32> = pairs.iter().map(|pair| pair.task_id).collect();
        let progress: Vec<Arc<PairProgress>> = pairs.iter().map(|_| Arc::default()).collect();
        let queue = Mutex::new(
            pairs
                .into_iter()
                .zip(progress.iter().cloned())
                .collect::<VecDeque<_>>(),
        );
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<()>();
        thread::scope(|scope| {
            for channel in 0..plan.channels {
                let done_tx = done_tx.clone();
                let queue = &queue;
                let spawned = thread::Builder::new()
                    .name(format!("channel-{channel}"))
                    .spawn_scoped(scope, move || {
                        let reader = self.start_reader_thread(scope, channel);
                        while let Some((pending, pair_progress)) = self.next_pair(queue) {
                            let pair = match self.tasks.make(pending, &self.runtime.state) {
                                Ok(Some(pair)) => pair,
                                Ok(None) => break,
                                Err(failure) => {
                                    self.runtime.state.fail(failure);
                                    break;
                                }
                            };
                            self.run_pair(pair, pair_progress, &reader);
                        }
                        drop(done_tx);
                    });
                if let Err(error) = spawned {
                    self.runtime
                        .state
                        .fail(format!("cannot start a channel thread: {error}"));
                }
            }
            drop(done_tx);
            self.monitor(&done_rx, &progress, &task_ids, plan, started);
        });
        plan.transfer_time = started.elapsed();
    }

    /// The channel's reader thread, which runs its pairs' reader tasks one after the other
    /// while the channel's own thread runs their writer tasks: one thread per channel, not
    /// one started and ended per pair (a job of thousands of small partitions spent a good
    /// part of its time doing that). It ends when the channel drops its `jobs`.
    fn start_reader_thread<'scope>(
        &'scope self,
        scope: &'scope thread::Scope<'scope, '_>,
        channel: usize,
    ) -> ReaderThread<'scope> {
        let (jobs, inbox) = crossbeam_channel::bounded::<ReadJob<'scope>>(0);
        let (read_tx, read) = crossbeam_channel::bounded(1);
        let spawned = thread::Builder::new()
            .name(format!("reader-{channel}"))
            .spawn_scoped(scope, move || {
                for job in inbox {
                    if read_tx.send(job()).is_err() {
                        return;
                    }
                }
            });
        if let Err(error) = spawned {
            self.runtime.state.fail(format!(
                "cannot start the reader thread of channel {channel}: {error}"
            ));
        }
        ReaderThread { jobs, read }
    }

    /// The next pair to run; none once the job is stopping, so a stop makes no more tasks.
    fn next_pair(
        &self,
        queue: &Mutex<VecDeque<(PendingPair, Arc<PairProgress>)>>,
    ) -> Option<(PendingPair, Arc<PairProgress>)> {
        if self.runtime.state.is_cancelled() {
            return None;
        }
        queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }

    fn run_pair<'scope>(
        &'scope self,
        pair: PairTasks,
        progress: Arc<PairProgress>,
        reader: &ReaderThread<'scope>,
    ) {
        let PairTasks {
            task_id,
            reader: mut reader_task,
            writer: mut writer_task,
        } = pair;
        let runtime = self.runtime;
        // DataX's `Channel` is one per task, with its limits counted from the start.
        let channel_throttle =
            Throttle::new(self.speed.byte_per_channel, self.speed.record_per_channel);
        let (sender, receiver) = open(self.capacity, channel_throttle, task_id, runtime, &progress);
        let feed = sender.feed.clone();
        let sender = FfiRecordSender_TO::from_value(sender, TD_Opaque);
        let receiver = FfiRecordReceiver_TO::from_value(receiver, TD_Opaque);
        let context = |side| {
            FfiTaskContext_TO::from_value(
                HostTaskContext {
                    runtime: Arc::clone(runtime),
                    task_id,
                    side,
                },
                TD_Opaque,
            )
        };
        let (reader_context, writer_context) = (context(Kind::Reader), context(Kind::Writer));
        progress.running.store(true, Ordering::SeqCst);
        let read = move || {
            let end = reader_task.start_read(sender, reader_context).into_result();
            let read_all = end.is_ok();
            if let Err(error) = &end {
                self.task_failed(Kind::Reader, task_id, error.clone());
            }
            feed.pair.reader_done.store(true, Ordering::SeqCst);
            // A writer that is gone or a job that is stopping needs no end.
            let _ = feed.push(Message::End(end));
            read_all
        };
        // Without its thread the reader's feed is dropped unsent: the writer then sees a
        // channel closed with no end, a failure.
        let reading = reader.jobs.send(Box::new(read)).is_ok();
        if !reading {
            runtime.state.fail(format!(
                "cannot start reader task {task_id}: its thread is gone"
            ));
        }
        let written = writer_task
            .start_write(receiver, writer_context)
            .into_result();
        if let Err(error) = &written {
            self.task_failed(Kind::Writer, task_id, error.clone());
        }
        let read_all = reading && reader.read.recv().unwrap_or(false);
        let finished = read_all && written.is_ok();
        progress.running.store(false, Ordering::SeqCst);
        if finished {
            runtime
                .counters
                .finished_tasks
                .fetch_add(1, Ordering::Relaxed);
            runtime.resume.finished(task_id);
        }
        super::lock(&runtime.task_counts).push(TaskCounts {
            id: task_id,
            completed: finished,
            records_sent: progress.sent_records.load(Ordering::Relaxed),
            bytes_sent: progress.sent_bytes.load(Ordering::Relaxed),
            records_received: progress.received_records.load(Ordering::Relaxed),
        });
        self.save_state();
    }

    /// Writes `--state` (see [`super::resume::Resume::save`]); a state that cannot be written
    /// fails the job: a crash would leave nothing to resume from.
    fn save_state(&self) {
        if let Err(error) = self.runtime.resume.save() {
            self.runtime.state.fail(format!("{error:#}"));
        }
    }

    fn task_failed(&self, side: Kind, task_id: u32, error: datax_plugin_api::PluginError) {
        let name = match side {
            Kind::Reader => self.reader_name,
            Kind::Writer => self.writer_name,
        };
        let reason = format!("{side} task {task_id} ('{name}') failed: {error}");
        match (self.runtime.state.is_cancelled(), error.is_cancelled()) {
            (true, true) => logger::debug("datax", reason),
            // The other side stopped first; its own error, if any, is the job's reason.
            (false, true) => self.runtime.state.fail_as_consequence(reason),
            (_, false) => self.runtime.state.fail(reason),
        }
    }

    /// Runs on the calling thread until every channel thread has finished, sleeping until the
    /// next thing falls due: a report (progress line, report and metrics files), the stall
    /// deadline (the last move plus the stall timeout) or the status line.
    fn monitor(
        &self,
        done: &crossbeam_channel::Receiver<()>,
        progress: &[Arc<PairProgress>],
        task_ids: &[u32],
        plan: &Plan,
        started: Instant,
    ) {
        let counters = &self.runtime.counters;
        let total_tasks = plan.tasks as u64;
        if self.options.status_bar {
            logger::status::start();
        }
        let last_move = || counters.last_move.latest().max(started);
        let mut reported = Mark::now(Snapshot::default());
        let mut bar_drawn = Mark::now(Snapshot::default());
        loop {
            let report_at = reported.at + self.options.report_interval;
            // Once the job is stopping a stall no longer matters.
            let stall_at = (!self.runtime.state.is_cancelled())
                .then(|| last_move() + self.options.stall_timeout);
            let bar_at = self
                .options
                .status_bar
                .then(|| bar_drawn.at + STATUS_BAR_INTERVAL);
            let wake_at = [stall_at, bar_at]
                .into_iter()
                .flatten()
                .fold(report_at, Instant::min);
            if !matches!(done.recv_deadline(wake_at), Err(RecvTimeoutError::Timeout)) {
                break;
            }
            counters.wakeups.fetch_add(1, Ordering::Relaxed);
            let now = counters.snapshot();
            if Instant::now() >= report_at {
                self.report(&now, &reported, plan, started);
                reported = Mark::now(now);
                if let Err(reason) = check_percentage(self.error_limit, &now) {
                    self.runtime.state.fail(reason);
                }
            }
            let idle = last_move().elapsed();
            if stall_at.is_some() && idle >= self.options.stall_timeout {
                self.runtime.state.fail(stall_message(
                    progress,
                    task_ids,
                    self.reader_name,
                    self.writer_name,
                    idle,
                ));
            }
            if bar_at.is_some_and(|at| Instant::now() >= at) {
                draw_status_bar(&now, &bar_drawn, total_tasks);
                bar_drawn = Mark::now(now);
            }
        }
        if self.options.status_bar {
            logger::status::finish();
        }
        self.log_progress(&counters.snapshot(), &reported, total_tasks);
    }

    /// The progress line, then the counts so far to the observer (report and metrics files).
    fn report(&self, now: &Snapshot, since: &Mark, plan: &Plan, started: Instant) {
        self.log_progress(now, since, plan.tasks as u64);
        if let Some(observe) = &self.options.on_interval {
            let so_far = Plan {
                transfer_time: started.elapsed(),
                ..*plan
            };
            observe(&self.runtime.outcome(true, &so_far));
        }
    }

    fn log_progress(&self, now: &Snapshot, since: &Mark, total_tasks: u64) {
        logger::info(
            logger::PROGRESS,
            progress_line(
                now,
                &since.seen,
                &self.runtime.transformer_counters.totals(),
                since.seconds(),
                total_tasks,
                self.runtime.state.is_cancelled(),
                logger::datax_layout(),
            ),
        );
    }
}

fn draw_status_bar(now: &Snapshot, since: &Mark, total_tasks: u64) {
    let rate = (now.bytes_read() - since.seen.bytes_read()) as f64 / since.seconds();
    logger::status::update(
        now.records_read(),
        now.expected_records(total_tasks),
        status_message(now, rate, total_tasks),
    );
}

/// A moment and the counters then, to measure what happened since.
struct Mark {
    at: Instant,
    seen: Snapshot,
}

impl Mark {
    fn now(seen: Snapshot) -> Self {
        Mark {
            at: Instant::now(),
            seen,
        }
    }

    fn seconds(&self) -> f64 {
        self.at.elapsed().as_secs_f64()
    }
}

/// Names the side that holds a stalled job, as DataX's WaitWriterTime/WaitReaderTime would.
fn stall_message(
    progress: &[Arc<PairProgress>],
    task_ids: &[u32],
    reader_name: &str,
    writer_name: &str,
    idle: Duration,
) -> String {
    let seconds = idle.as_secs();
    let stuck: Vec<String> = progress
        .iter()
        .zip(task_ids)
        .filter(|(pair, _)| pair.running.load(Ordering::SeqCst))
        .map(|(pair, task_id)| {
            if pair.reader_blocked.load(Ordering::Relaxed) {
                format!(
                    "writer task {task_id} ('{writer_name}') took no record for {seconds}s while \
                     its reader waits on a full channel"
                )
            } else if pair.writer_waiting.load(Ordering::Relaxed)
                && !pair.reader_done.load(Ordering::SeqCst)
            {
                format!(
                    "reader task {task_id} ('{reader_name}') produced no record for {seconds}s \
                     while its writer waits"
                )
            } else {
                format!("task pair {task_id} made no progress for {seconds}s")
            }
        })
        .collect();
    format!(
        "job stalled (no record moved for {seconds}s, --stall-timeout): {}",
        if stuck.is_empty() {
            "no task is running".to_string()
        } else {
            stuck.join("; ")
        }
    )
}
