//! The host's side of a reader/writer task pair: the objects handed to the plugins.
//!
//! A pair's channel carries the reader's batches and then one [`Message::End`] with how the
//! reader returned, so the writer learns the end of the data, or the reader's failure, in the
//! order the reader produced them. A side blocked on the channel also waits on the job's
//! cancellation channel in the same `select!`: nothing wakes on a timer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use abi_stable::std_types::{RErr, ROk, ROption, RResult, RStr, RString};
use crossbeam_channel::{select, Receiver, Sender, TryRecvError, TrySendError};
use datax_plugin_api::ffi::{BatchLimits, FfiRecordReceiver, FfiRecordSender, FfiTaskContext};
use datax_plugin_api::{
    ErrorKind, PluginError, Record, RecordBatch, ACKNOWLEDGED_AT_POST_COUNTER,
    DURABLE_RECORDS_COUNTER, EXPECTED_RECORDS_COUNTER, SKIPPED_BY_SEEK_COUNTER,
};

use super::resume::SKIPPED_ON_RESUME_COUNTER;
use super::state::sleep_until;
use super::throttle::Throttle;
use super::transform::Outcome;
use super::Runtime;
use crate::plugins::Kind;

/// What travels from a reader task to its writer task.
pub enum Message {
    Batch(RecordBatch),
    /// The reader returned: `Ok` ends the data, `Err` is why it stopped short.
    End(Result<(), PluginError>),
}

/// What the monitor needs to know about one pair to name a stuck side.
#[derive(Default)]
pub struct PairProgress {
    /// The reader task has returned (its end is in the channel or on the way).
    pub reader_done: AtomicBool,
    /// The reader is blocked on a full channel: the writer is the slow side.
    pub reader_blocked: AtomicBool,
    /// The writer is waiting on an empty channel: the reader is the slow side.
    pub writer_waiting: AtomicBool,
    pub running: AtomicBool,
    /// This pair's records and bytes sent by its reader (not dirty), and handed to its writer.
    pub sent_records: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub received_records: AtomicU64,
}

fn cancelled() -> PluginError {
    PluginError::new(ErrorKind::CANCELLED, "the job is stopping")
}

/// The writer dropped its end without failing: it returned before the end of the data.
fn writer_gone() -> PluginError {
    PluginError::new(
        ErrorKind::CANCELLED,
        "the writer task stopped taking records before the end of the data",
    )
}

/// The reader failed: the data the writer has is incomplete and must not be committed.
fn reader_failed(cause: &PluginError) -> PluginError {
    PluginError::new(
        ErrorKind::CANCELLED,
        format!("the reader task failed before the end of the data: {cause}"),
    )
}

/// The channel closed with no end in it: the reader's thread never ran or did not finish.
fn reader_vanished() -> PluginError {
    PluginError::new(
        ErrorKind::CANCELLED,
        "the reader task stopped without ending its data",
    )
}

fn elapsed_nanos(since: Instant) -> u64 {
    since.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
}

/// How much a pair's channel holds before its reader waits: whichever limit comes first.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    pub batches: usize,
    pub bytes: u64,
}

/// A pair's channel: the reader's and the writer's ends.
pub fn open(
    capacity: Capacity,
    channel_throttle: Throttle,
    task_id: u32,
    runtime: &Arc<Runtime>,
    pair: &Arc<PairProgress>,
) -> (ChannelSender, ChannelReceiver) {
    let (tx, rx) = crossbeam_channel::bounded(capacity.batches);
    let (returning, returned) = crossbeam_channel::unbounded();
    let (room_made, room) = crossbeam_channel::bounded(1);
    let bytes = Arc::new(QueuedBytes::new(capacity.bytes));
    let feed = Feed {
        tx,
        bytes: Arc::clone(&bytes),
        room,
        runtime: Arc::clone(runtime),
        pair: Arc::clone(pair),
    };
    let sender = ChannelSender {
        feed,
        channel_throttle,
        returned,
        task_id,
    };
    let receiver = ChannelReceiver {
        rx,
        bytes,
        room_made,
        returning,
        runtime: Arc::clone(runtime),
        pair: Arc::clone(pair),
        ended: None,
    };
    (sender, receiver)
}

/// The bytes of the batches queued in a pair's channel, against its byte capacity
/// (DataX's `core.transport.channel.byteCapacity`): wide records fill a channel's bytes long
/// before its batch count, and the count alone would let it hold capacity × 1 MiB and more.
pub struct QueuedBytes {
    capacity: u64,
    queued: AtomicU64,
}

impl QueuedBytes {
    pub fn new(capacity: u64) -> Self {
        QueuedBytes {
            capacity,
            queued: AtomicU64::new(0),
        }
    }

    /// Whether a batch of `bytes` fits now. An empty channel takes any batch, so that one
    /// batch larger than the capacity still moves (alone).
    fn has_room_for(&self, bytes: u64) -> bool {
        let queued = self.queued.load(Ordering::SeqCst);
        queued == 0 || queued.saturating_add(bytes) <= self.capacity
    }
}

/// The reader's end of a pair's channel: the plugin's sender and the reader thread (for the
/// final [`Message::End`]) each hold one.
#[derive(Clone)]
pub struct Feed {
    pub tx: Sender<Message>,
    pub bytes: Arc<QueuedBytes>,
    /// A token each time the writer takes a batch (at most one waits): a reader waiting for
    /// bytes to be freed looks again. Closed when the writer is gone.
    pub room: Receiver<()>,
    pub runtime: Arc<Runtime>,
    pub pair: Arc<PairProgress>,
}

impl Feed {
    /// Puts `message` in the channel, waiting while it is full (in batches or in bytes) until
    /// the writer takes one or the job is cancelled.
    pub fn push(&self, message: Message) -> Result<(), PluginError> {
        if let Message::Batch(batch) = &message {
            self.reserve_bytes(batch.byte_size)?;
        }
        let message = match self.tx.try_send(message) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(_)) => return Err(writer_gone()),
            Err(TrySendError::Full(message)) => message,
        };
        self.blocked(|| {
            select! {
                send(self.tx, message) -> sent => sent.map_err(|_| writer_gone()),
                recv(self.runtime.state.cancellation()) -> _ => Err(cancelled()),
            }
        })
    }

    /// Counts `bytes` as queued once they fit under the byte capacity. Only the reader's
    /// thread adds, so room seen here stays room until the batch is in.
    fn reserve_bytes(&self, bytes: u64) -> Result<(), PluginError> {
        if !self.bytes.has_room_for(bytes) {
            self.blocked(|| {
                while !self.bytes.has_room_for(bytes) {
                    select! {
                        recv(self.room) -> token => token.map_err(|_| writer_gone())?,
                        recv(self.runtime.state.cancellation()) -> _ => return Err(cancelled()),
                    }
                }
                Ok(())
            })?;
        }
        self.bytes.queued.fetch_add(bytes, Ordering::SeqCst);
        Ok(())
    }

    /// Runs `wait` as the reader waiting on its writer: the monitor sees the reader blocked,
    /// and the time counts as waiting on the writer.
    fn blocked(&self, wait: impl FnOnce() -> Result<(), PluginError>) -> Result<(), PluginError> {
        let waiting_since = Instant::now();
        self.pair.reader_blocked.store(true, Ordering::Relaxed);
        let outcome = wait();
        self.pair.reader_blocked.store(false, Ordering::Relaxed);
        let counters = &self.runtime.counters;
        counters.wakeups.fetch_add(1, Ordering::Relaxed);
        counters
            .wait_writer_nanos
            .fetch_add(elapsed_nanos(waiting_since), Ordering::Relaxed);
        outcome
    }
}

pub struct ChannelSender {
    pub feed: Feed,
    /// This channel's own limits (`core.transport.channel.speed`); the job-wide ones are in
    /// the runtime.
    pub channel_throttle: Throttle,
    /// Batches the writer has finished with, coming back to the reader's thread.
    pub returned: Receiver<RecordBatch>,
    /// The reader task, for the dirty records of the transformers.
    pub task_id: u32,
}

impl ChannelSender {
    /// Runs the job's transformers over `batch` in place, as DataX's exchanger does before a
    /// record reaches the channel: filtered records leave, failed ones leave as dirty records
    /// of the reader; the rest keep their order. `Err` stops the reader task (a `columnIndex`
    /// past the end of a record, a transformer plugin's panic, or errorLimit); what the chain
    /// did before it is counted all the same.
    fn transform(&self, batch: &mut RecordBatch) -> Result<(), PluginError> {
        let runtime = &self.feed.runtime;
        let started = Instant::now();
        let mut tally = Tally::default();
        let outcome = self.transform_records(&mut batch.records, &mut tally);
        batch.records.truncate(tally.kept);
        // A batch filtered whole still shows the reader is moving.
        runtime.counters.last_move.stamp();
        batch.byte_size = batch.records.iter().map(Record::byte_size).sum();
        let counters = &runtime.transformer_counters;
        counters
            .success_records
            .fetch_add((tally.kept + tally.filtered) as u64, Ordering::Relaxed);
        counters
            .filter_records
            .fetch_add(tally.filtered as u64, Ordering::Relaxed);
        counters
            .failed_records
            .fetch_add(tally.failed as u64, Ordering::Relaxed);
        counters
            .used_nanos
            .fetch_add(elapsed_nanos(started), Ordering::Relaxed);
        outcome
    }

    /// Resuming: drops the front of the batch that the writer made durable in an earlier run
    /// and the reader did not skip itself.
    fn drop_resumed(&self, batch: &mut RecordBatch) {
        let runtime = &self.feed.runtime;
        let dropped = runtime.resume.take_drop(self.task_id, batch.len() as u64) as usize;
        if dropped == 0 {
            return;
        }
        let bytes: u64 = batch.records.drain(..dropped).map(|r| r.byte_size()).sum();
        batch.byte_size = batch.byte_size.saturating_sub(bytes);
        runtime
            .plugin_counters
            .add(Kind::Reader, SKIPPED_ON_RESUME_COUNTER, dropped as u64);
    }

    /// Moves the records kept to the front of `records`, counting in `tally`.
    fn transform_records(
        &self,
        records: &mut [Record],
        tally: &mut Tally,
    ) -> Result<(), PluginError> {
        let runtime = &self.feed.runtime;
        for index in 0..records.len() {
            match runtime.transformers.apply(&mut records[index])? {
                Outcome::Keep => {
                    records.swap(tally.kept, index);
                    tally.kept += 1;
                }
                Outcome::Filter => tally.filtered += 1,
                Outcome::Fail(reason) => {
                    tally.failed += 1;
                    collect_dirty(
                        runtime,
                        Kind::Reader,
                        self.task_id,
                        &records[index],
                        &reason,
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// What the transformers did with the records of one batch.
#[derive(Default)]
struct Tally {
    kept: usize,
    filtered: usize,
    failed: usize,
}

impl FfiRecordSender for ChannelSender {
    fn batch_limits(&self) -> BatchLimits {
        let runtime = &self.feed.runtime;
        runtime.throttle.batch_limits_with(&self.channel_throttle)
    }

    fn reclaim(&mut self) -> ROption<RecordBatch> {
        self.returned.try_recv().ok().into()
    }

    fn send(&mut self, mut batch: RecordBatch) -> RResult<(), PluginError> {
        let runtime = &self.feed.runtime;
        if runtime.state.is_cancelled() {
            return RErr(cancelled());
        }
        if !runtime.transformers.is_empty() {
            let read = batch.len();
            if let Err(error) = self.transform(&mut batch) {
                return RErr(error);
            }
            if batch.len() < read {
                runtime.resume.unalign(self.task_id);
            }
        }
        self.drop_resumed(&mut batch);
        if batch.is_empty() {
            return ROk(());
        }
        let (records, bytes) = (batch.len() as u64, batch.byte_size);
        let start_at = runtime
            .throttle
            .reserve_with(&self.channel_throttle, records, bytes);
        if let Some(start_at) = start_at {
            if !sleep_until(&runtime.state, start_at) {
                return RErr(cancelled());
            }
        }
        if let Err(error) = self.feed.push(Message::Batch(batch)) {
            return RErr(error);
        }
        runtime.resume.add_sent(self.task_id, records);
        let counters = &runtime.counters;
        counters.sent_records.fetch_add(records, Ordering::Relaxed);
        counters.sent_bytes.fetch_add(bytes, Ordering::Relaxed);
        counters.last_move.stamp();
        let pair = &self.feed.pair;
        pair.sent_records.fetch_add(records, Ordering::Relaxed);
        pair.sent_bytes.fetch_add(bytes, Ordering::Relaxed);
        ROk(())
    }
}

pub struct ChannelReceiver {
    pub rx: Receiver<Message>,
    pub bytes: Arc<QueuedBytes>,
    /// Tells a reader waiting for bytes that a batch left the channel (see [`Feed::room`]).
    pub room_made: Sender<()>,
    /// Where finished batches go back to the reader (unbounded: the reader drains it at every
    /// batch it sends, so it holds about a channel's worth).
    pub returning: Sender<RecordBatch>,
    pub runtime: Arc<Runtime>,
    pub pair: Arc<PairProgress>,
    /// The reader's end once it arrived: a writer asking again gets the same answer.
    pub ended: Option<Result<(), PluginError>>,
}

impl ChannelReceiver {
    /// The next batch, `None` at a clean end of data, or `CANCELLED` when the reader failed
    /// or the job is stopping: a writer must never mistake a failed read for the end.
    fn next(&mut self) -> Result<Option<RecordBatch>, PluginError> {
        if let Some(ended) = &self.ended {
            return ended.clone().map(|()| None);
        }
        if self.runtime.state.is_cancelled() {
            return Err(cancelled());
        }
        let message = match self.rx.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Disconnected) => return Err(reader_vanished()),
            Err(TryRecvError::Empty) => self.wait()?,
        };
        match message {
            Message::Batch(batch) => {
                self.bytes
                    .queued
                    .fetch_sub(batch.byte_size, Ordering::SeqCst);
                // Full: a token is already waiting for the reader, which looks again anyway.
                let _ = self.room_made.try_send(());
                Ok(Some(batch))
            }
            Message::End(end) => {
                let end = end.map_err(|cause| reader_failed(&cause));
                self.ended = Some(end.clone());
                end.map(|()| None)
            }
        }
    }

    /// Waits on an empty channel until the reader sends or the job is cancelled.
    fn wait(&self) -> Result<Message, PluginError> {
        let waiting_since = Instant::now();
        self.pair.writer_waiting.store(true, Ordering::Relaxed);
        let outcome = select! {
            recv(self.rx) -> message => message.map_err(|_| reader_vanished()),
            recv(self.runtime.state.cancellation()) -> _ => Err(cancelled()),
        };
        self.pair.writer_waiting.store(false, Ordering::Relaxed);
        let counters = &self.runtime.counters;
        counters.wakeups.fetch_add(1, Ordering::Relaxed);
        counters
            .wait_reader_nanos
            .fetch_add(elapsed_nanos(waiting_since), Ordering::Relaxed);
        outcome
    }
}

impl FfiRecordReceiver for ChannelReceiver {
    fn release(&mut self, batch: RecordBatch) {
        // Once the reader is gone the batch is simply dropped here.
        let _ = self.returning.send(batch);
    }

    fn recv(&mut self) -> RResult<ROption<RecordBatch>, PluginError> {
        match self.next() {
            Ok(Some(batch)) => {
                let counters = &self.runtime.counters;
                counters
                    .received_records
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                counters
                    .received_bytes
                    .fetch_add(batch.byte_size, Ordering::Relaxed);
                counters.last_move.stamp();
                self.pair
                    .received_records
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                ROk(ROption::RSome(batch))
            }
            Ok(None) => ROk(ROption::RNone),
            Err(error) => RErr(error),
        }
    }
}

/// Counts a dirty record and logs it; past the job's errorLimit, fails the job.
fn collect_dirty(
    runtime: &Runtime,
    side: Kind,
    task_id: u32,
    record: &Record,
    reason: &str,
) -> Result<(), PluginError> {
    if side == Kind::Reader {
        runtime.resume.unalign(task_id);
    }
    match runtime
        .dirty
        .collect(&runtime.counters, side, task_id, record, reason)
    {
        Ok(()) => {
            runtime.counters.last_move.stamp();
            Ok(())
        }
        Err(limit_exceeded) => {
            let message = limit_exceeded.to_string();
            runtime.state.fail(limit_exceeded);
            Err(PluginError::new(ErrorKind::ERROR_LIMIT, message))
        }
    }
}

pub struct HostTaskContext {
    pub runtime: Arc<Runtime>,
    pub task_id: u32,
    pub side: Kind,
}

impl FfiTaskContext for HostTaskContext {
    fn task_id(&self) -> u32 {
        self.task_id
    }

    fn is_cancelled(&self) -> bool {
        self.runtime.state.is_cancelled()
    }

    fn wait_cancelled(&self, timeout_ms: u64) -> bool {
        self.runtime
            .state
            .wait_cancelled(Duration::from_millis(timeout_ms))
    }

    fn collect_dirty(&mut self, record: Record, reason: RString) -> RResult<(), PluginError> {
        collect_dirty(
            &self.runtime,
            self.side,
            self.task_id,
            &record,
            reason.as_str(),
        )
        .into()
    }

    fn add_to_counter(&mut self, name: RStr<'_>, amount: u64) {
        let counters = &self.runtime.counters;
        if self.side == Kind::Reader && name.as_str() == EXPECTED_RECORDS_COUNTER {
            counters
                .expected_records
                .fetch_add(amount, Ordering::Relaxed);
            counters.expecting_tasks.fetch_add(1, Ordering::Relaxed);
        } else if self.side == Kind::Writer && name.as_str() == ACKNOWLEDGED_AT_POST_COUNTER {
            counters.delivery.stage(amount);
        } else if self.side == Kind::Writer && name.as_str() == DURABLE_RECORDS_COUNTER {
            if let Err(error) = self.runtime.resume.add_durable(self.task_id, amount) {
                self.runtime.state.fail(format!("{error:#}"));
            }
        } else if self.side == Kind::Reader && name.as_str() == SKIPPED_BY_SEEK_COUNTER {
            self.runtime.resume.skipped_by_seek(self.task_id, amount);
            self.runtime
                .plugin_counters
                .add(Kind::Reader, SKIPPED_ON_RESUME_COUNTER, amount);
        } else {
            self.runtime
                .plugin_counters
                .add(self.side, name.as_str(), amount);
        }
    }

    /// Only a writer delivers: a reader's acknowledgement means nothing here and is ignored.
    fn acknowledge(&mut self, records: u64) {
        if self.side == Kind::Writer {
            self.runtime.counters.delivery.acknowledge(records);
        }
    }

    fn add_possible_duplicates(&mut self, records: u64) {
        if self.side == Kind::Writer {
            self.runtime
                .counters
                .delivery
                .add_possible_duplicates(records);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use datax_job_config::ErrorLimit;
    use datax_plugin_api::Column;

    use super::*;
    use crate::engine::dirty::DirtyLog;
    use crate::engine::state::JobState;
    use crate::engine::stats::{Counters, PluginCounters, TransformerCounters};
    use crate::engine::throttle::Throttle;
    use crate::engine::transform::Chain;

    fn runtime() -> Arc<Runtime> {
        runtime_with(Chain::default())
    }

    fn runtime_with(transformers: Chain) -> Arc<Runtime> {
        let no_limit = ErrorLimit {
            record: None,
            percentage: None,
        };
        Arc::new(Runtime {
            state: JobState::new(),
            counters: Counters::default(),
            plugin_counters: PluginCounters::default(),
            throttle: Throttle::new(None, None),
            dirty: DirtyLog::new(std::env::temp_dir().join("unused-dirty.jsonl"), &no_limit),
            transformers,
            transformer_counters: TransformerCounters::default(),
            resume: crate::engine::resume::Resume::default(),
            task_counts: Default::default(),
        })
    }

    fn pair(capacity: usize) -> (ChannelSender, ChannelReceiver) {
        pair_in(&runtime(), capacity)
    }

    fn pair_in(runtime: &Arc<Runtime>, batches: usize) -> (ChannelSender, ChannelReceiver) {
        let capacity = Capacity {
            batches,
            bytes: u64::MAX,
        };
        open(
            capacity,
            Throttle::new(None, None),
            0,
            runtime,
            &Arc::default(),
        )
    }

    fn batch(value: i64) -> RecordBatch {
        RecordBatch::from(vec![Record::new(vec![Column::Long(value)])])
    }

    #[test]
    fn batches_then_a_clean_end_and_the_end_again() {
        let (mut sender, mut receiver) = pair(4);
        sender.send(batch(1)).unwrap();
        sender.feed.push(Message::End(Ok(()))).unwrap();
        drop(sender);
        assert_eq!(receiver.recv().unwrap(), ROption::RSome(batch(1)));
        assert_eq!(receiver.recv().unwrap(), ROption::RNone);
        assert_eq!(receiver.recv().unwrap(), ROption::RNone, "asked again");
    }

    #[test]
    fn a_failed_reader_is_an_error_after_its_batches_never_the_end() {
        let (mut sender, mut receiver) = pair(4);
        sender.send(batch(1)).unwrap();
        let cause = PluginError::io("disk gone");
        sender.feed.push(Message::End(Err(cause))).unwrap();
        assert_eq!(receiver.recv().unwrap(), ROption::RSome(batch(1)));
        let error = receiver.recv().unwrap_err();
        assert!(
            error.is_cancelled() && error.message.contains("disk gone"),
            "{error}"
        );
        assert!(receiver.recv().is_err(), "asked again");
    }

    #[test]
    fn a_channel_closed_without_an_end_is_an_error() {
        let (sender, mut receiver) = pair(4);
        drop(sender);
        let error = receiver.recv().unwrap_err();
        assert!(error.message.contains("without ending its data"), "{error}");
    }

    #[test]
    fn released_batches_return_to_the_reader() {
        let (mut sender, mut receiver) = pair(4);
        sender.send(batch(7)).unwrap();
        let ROption::RSome(received) = receiver.recv().unwrap() else {
            panic!("a batch was sent");
        };
        receiver.release(received);
        assert_eq!(sender.reclaim(), ROption::RSome(batch(7)));
        assert_eq!(sender.reclaim(), ROption::RNone);
    }

    #[test]
    fn cancellation_wakes_both_blocked_sides_at_once() {
        let runtime = runtime();
        // A reader on a full channel, and a writer on an empty one.
        let (mut full_sender, full_receiver) = pair_in(&runtime, 1);
        full_sender.send(batch(1)).unwrap();
        let (empty_sender, mut empty_receiver) = pair_in(&runtime, 1);
        let blocked_sender = thread::spawn(move || full_sender.send(batch(2)).into_result());
        let blocked_receiver = thread::spawn(move || empty_receiver.recv().into_result());
        thread::sleep(Duration::from_millis(200));
        assert!(!blocked_sender.is_finished() && !blocked_receiver.is_finished());
        assert_eq!(runtime.counters.wakeups.load(Ordering::Relaxed), 0);
        let cancelled_at = Instant::now();
        runtime.state.fail("stop");
        let sent = blocked_sender.join().unwrap();
        let received = blocked_receiver.join().unwrap();
        assert!(cancelled_at.elapsed() < Duration::from_millis(100));
        assert!(sent.unwrap_err().is_cancelled());
        assert!(received.unwrap_err().is_cancelled());
        assert_eq!(runtime.counters.wakeups.load(Ordering::Relaxed), 2);
        drop((full_receiver, empty_sender));
    }

    fn sized(value: i64, byte_size: u64) -> RecordBatch {
        RecordBatch {
            byte_size,
            ..batch(value)
        }
    }

    fn bytes_pair(runtime: &Arc<Runtime>, bytes: u64) -> (ChannelSender, ChannelReceiver) {
        let capacity = Capacity { batches: 8, bytes };
        open(
            capacity,
            Throttle::new(None, None),
            0,
            runtime,
            &Arc::default(),
        )
    }

    #[test]
    fn a_reader_waits_while_the_queued_bytes_would_pass_the_byte_capacity() {
        let runtime = runtime();
        let (mut sender, mut receiver) = bytes_pair(&runtime, 1000);
        sender.send(sized(1, 600)).unwrap();
        sender.send(sized(2, 400)).unwrap();
        let blocked = thread::spawn(move || {
            let sent = sender.send(sized(3, 1)).into_result();
            (sender, sent)
        });
        thread::sleep(Duration::from_millis(200));
        assert!(!blocked.is_finished(), "1,001 bytes would be queued");
        assert!(receiver.pair.reader_blocked.load(Ordering::Relaxed));
        assert_eq!(receiver.recv().unwrap(), ROption::RSome(sized(1, 600)));
        let (sender, sent) = blocked.join().unwrap();
        sent.unwrap();
        assert_eq!(sender.feed.bytes.queued.load(Ordering::SeqCst), 401);
        assert_eq!(receiver.recv().unwrap(), ROption::RSome(sized(2, 400)));
        assert_eq!(receiver.recv().unwrap(), ROption::RSome(sized(3, 1)));
        assert_eq!(sender.feed.bytes.queued.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_batch_larger_than_the_byte_capacity_moves_alone() {
        let runtime = runtime();
        let (mut sender, mut receiver) = bytes_pair(&runtime, 100);
        sender.send(sized(1, 5000)).unwrap();
        let blocked = thread::spawn(move || sender.send(sized(2, 5000)).into_result());
        thread::sleep(Duration::from_millis(200));
        assert!(!blocked.is_finished(), "the channel holds one already");
        assert_eq!(receiver.recv().unwrap(), ROption::RSome(sized(1, 5000)));
        blocked.join().unwrap().unwrap();
        assert_eq!(receiver.recv().unwrap(), ROption::RSome(sized(2, 5000)));
    }

    #[test]
    fn a_reader_waiting_for_bytes_stops_when_the_job_does_or_the_writer_leaves() {
        let runtime = runtime();
        let (mut sender, receiver) = bytes_pair(&runtime, 10);
        sender.send(sized(1, 10)).unwrap();
        let blocked = thread::spawn(move || sender.send(sized(2, 10)).into_result());
        thread::sleep(Duration::from_millis(100));
        let cancelled_at = Instant::now();
        runtime.state.fail("stop");
        assert!(blocked.join().unwrap().unwrap_err().is_cancelled());
        assert!(cancelled_at.elapsed() < Duration::from_millis(100));
        drop(receiver);

        let runtime = self::runtime();
        let (mut sender, receiver) = bytes_pair(&runtime, 10);
        sender.send(sized(1, 10)).unwrap();
        let blocked = thread::spawn(move || sender.send(sized(2, 10)).into_result());
        thread::sleep(Duration::from_millis(100));
        drop(receiver);
        let error = blocked.join().unwrap().unwrap_err();
        assert!(error.message.contains("writer"), "{error}");
    }

    #[test]
    fn transformers_run_before_the_channel_and_filtered_records_leave_the_batch() {
        let filter_odd = datax_job_config::TransformerStep {
            name: "dx_filter".to_string(),
            path: "job.content[0].transformer[0]".to_string(),
            parameter: serde_json::json!({"columnIndex": 0, "paras": ["like", "[13579]"]}),
        };
        let no_plugins = crate::plugins::Registry::load(Vec::new());
        let runtime = runtime_with(Chain::build(&[filter_odd], &no_plugins).unwrap());
        let (mut sender, mut receiver) = pair_in(&runtime, 4);
        let batch = RecordBatch::from(
            (1..=5)
                .map(|n| Record::new(vec![Column::Long(n)]))
                .collect::<Vec<_>>(),
        );
        sender.send(batch).unwrap();
        let ROption::RSome(received) = receiver.recv().unwrap() else {
            panic!("two records are left");
        };
        assert_eq!(
            received,
            RecordBatch::from(vec![
                Record::new(vec![Column::Long(2)]),
                Record::new(vec![Column::Long(4)])
            ])
        );
        let totals = runtime.transformer_counters.totals();
        assert_eq!((totals.success_records, totals.filter_records), (5, 3));
        assert_eq!(runtime.counters.sent_records.load(Ordering::Relaxed), 2);
        let all_odd = RecordBatch::from(vec![Record::new(vec![Column::Long(7)])]);
        sender.send(all_odd).unwrap();
        assert!(receiver.rx.is_empty(), "an emptied batch is not sent");
    }
}
