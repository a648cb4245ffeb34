//! The host's side of a reader/writer task pair: the objects handed to the plugins.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use abi_stable::std_types::{RErr, ROk, ROption, RResult, RStr, RString};
use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};
use datax_plugin_api::ffi::{BatchLimits, FfiRecordReceiver, FfiRecordSender, FfiTaskContext};
use datax_plugin_api::{ErrorKind, PluginError, Record, RecordBatch};

use super::state::{sleep_until, ReaderOutcome, ReaderStatus};
use super::Runtime;
use crate::plugins::Kind;

/// How often a blocked side looks up from the channel to see whether the job was cancelled.
const POLL: Duration = Duration::from_millis(50);

/// What the monitor needs to know about one pair to name a stuck side.
#[derive(Default)]
pub struct PairProgress {
    pub reader: ReaderOutcome,
    /// The reader is blocked on a full channel: the writer is the slow side.
    pub reader_blocked: AtomicBool,
    /// The writer is waiting on an empty channel: the reader is the slow side.
    pub writer_waiting: AtomicBool,
    pub running: AtomicBool,
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

fn elapsed_nanos(since: Instant) -> u64 {
    since.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
}

pub struct ChannelSender {
    pub tx: Sender<RecordBatch>,
    /// Batches the writer has finished with, coming back to the reader's thread.
    pub returned: Receiver<RecordBatch>,
    pub runtime: Arc<Runtime>,
    pub pair: Arc<PairProgress>,
}

impl ChannelSender {
    fn push(&self, batch: RecordBatch) -> Result<(), PluginError> {
        let mut batch = match self.tx.try_send(batch) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(_)) => return Err(writer_gone()),
            Err(TrySendError::Full(batch)) => batch,
        };
        let waiting_since = Instant::now();
        self.pair.reader_blocked.store(true, Ordering::Relaxed);
        let outcome = loop {
            match self.tx.send_timeout(batch, POLL) {
                Ok(()) => break Ok(()),
                Err(SendTimeoutError::Disconnected(_)) => break Err(writer_gone()),
                Err(SendTimeoutError::Timeout(returned)) if !self.runtime.state.is_cancelled() => {
                    batch = returned
                }
                Err(SendTimeoutError::Timeout(_)) => break Err(cancelled()),
            }
        };
        self.pair.reader_blocked.store(false, Ordering::Relaxed);
        self.runtime
            .counters
            .wait_writer_nanos
            .fetch_add(elapsed_nanos(waiting_since), Ordering::Relaxed);
        outcome
    }
}

impl FfiRecordSender for ChannelSender {
    fn batch_limits(&self) -> BatchLimits {
        self.runtime.throttle.batch_limits()
    }

    fn reclaim(&mut self) -> ROption<RecordBatch> {
        self.returned.try_recv().ok().into()
    }

    fn send(&mut self, batch: RecordBatch) -> RResult<(), PluginError> {
        if self.runtime.state.is_cancelled() {
            return RErr(cancelled());
        }
        let (records, bytes) = (batch.len() as u64, batch.byte_size);
        if let Some(start_at) = self.runtime.throttle.reserve(records, bytes) {
            if !sleep_until(&self.runtime.state, start_at) {
                return RErr(cancelled());
            }
        }
        if let Err(error) = self.push(batch) {
            return RErr(error);
        }
        let counters = &self.runtime.counters;
        counters.sent_records.fetch_add(records, Ordering::Relaxed);
        counters.sent_bytes.fetch_add(bytes, Ordering::Relaxed);
        ROk(())
    }
}

pub struct ChannelReceiver {
    pub rx: Receiver<RecordBatch>,
    /// Where finished batches go back to the reader (unbounded: the reader drains it at every
    /// batch it sends, so it holds about a channel's worth).
    pub returning: Sender<RecordBatch>,
    pub runtime: Arc<Runtime>,
    pub pair: Arc<PairProgress>,
}

impl ChannelReceiver {
    /// The next batch, `None` at a clean end of data, or `CANCELLED` when the reader failed
    /// or the job is stopping: a writer must never mistake a failed read for the end.
    fn next(&self) -> Result<Option<RecordBatch>, PluginError> {
        if let Ok(batch) = self.rx.try_recv() {
            return Ok(Some(batch));
        }
        let waiting_since = Instant::now();
        self.pair.writer_waiting.store(true, Ordering::Relaxed);
        let outcome = loop {
            if self.runtime.state.is_cancelled() {
                break Err(cancelled());
            }
            let disconnected = match self.rx.recv_timeout(POLL) {
                Ok(batch) => break Ok(Some(batch)),
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            match self.pair.reader.get() {
                ReaderStatus::Finished if self.rx.is_empty() => break Ok(None),
                ReaderStatus::Failed => break Err(cancelled()),
                // The reader dropped its sender but its outcome is a moment away.
                _ if disconnected => thread::sleep(Duration::from_millis(1)),
                _ => {}
            }
        };
        self.pair.writer_waiting.store(false, Ordering::Relaxed);
        self.runtime
            .counters
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
                ROk(ROption::RSome(batch))
            }
            Ok(None) => ROk(ROption::RNone),
            Err(error) => RErr(error),
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
        let runtime = &self.runtime;
        match runtime.dirty.collect(
            &runtime.counters,
            self.side,
            self.task_id,
            &record,
            reason.as_str(),
        ) {
            Ok(()) => ROk(()),
            Err(limit_exceeded) => {
                runtime.state.fail(limit_exceeded.clone());
                RErr(PluginError::new(ErrorKind::ERROR_LIMIT, limit_exceeded))
            }
        }
    }

    fn add_to_counter(&mut self, name: RStr<'_>, amount: u64) {
        self.runtime
            .plugin_counters
            .add(self.side, name.as_str(), amount);
    }
}
