//! A loghubwriter task: its thread turns records into batches of logs while `maxInFlight`
//! sending threads send them, each with one request in flight; one more batch waits queued,
//! so a slow round trip does not stall the channel. Once one batch fails for good, or the job
//! stops, the other threads stop retrying.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use datax_plugin_api::{
    Column, ErrorKind, PluginError, Record, RecordReceiver, TaskContext, WriterTask,
};

use crate::codec::{BatchSink, Encoder, LogBatch};
use crate::config::WriterConfig;
use crate::shipper::{RejectedLog, SendBuffers, Shipper};

/// How often a task waiting for its sending threads looks whether the job is stopping.
const POLL: Duration = Duration::from_millis(100);

/// This plugin's counters: "Writer <name>" in the job's summary, `plugin_counters.writer`
/// in its report.
pub const RETRIES_COUNTER: &str = "PutLogs retries";
pub const UNPARSEABLE_TIME_COUNTER: &str = "logs with an unparseable time";

/// A task: the encoder runs on the task's thread, the shipper is shared by its sending
/// threads.
pub struct LoghubWriterTask {
    encoder: Encoder,
    shipper: Shipper,
}

impl LoghubWriterTask {
    pub fn new(config: WriterConfig) -> Result<Self, PluginError> {
        let shipper = Shipper::new(&config).map_err(PluginError::config)?;
        Ok(LoghubWriterTask {
            encoder: Encoder::new(config),
            shipper,
        })
    }
}

impl WriterTask for LoghubWriterTask {
    fn start_write(
        &mut self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        if self.encoder.config().hash_key {
            let shards = self.shipper.list_shards()?;
            self.encoder.route_to(shards);
        }
        let written = encode_while_sending(&mut self.encoder, &self.shipper, receiver, context);
        // Counted whether or not the task succeeded: retries explain a slow or failed task.
        for (name, amount) in [
            (RETRIES_COUNTER, self.shipper.retries()),
            (UNPARSEABLE_TIME_COUNTER, self.encoder.unparseable_times()),
        ] {
            if amount > 0 {
                context.add_to_counter(name, amount);
            }
        }
        written?;
        datax_plugin_api::log::info(format!(
            "{} logs sent to logstore {} of project {}",
            self.shipper.accepted(),
            self.encoder.config().logstore,
            self.encoder.config().project
        ));
        Ok(())
    }
}

/// Encodes every record on this thread while the sending threads ship the batches.
fn encode_while_sending(
    encoder: &mut Encoder,
    shipper: &Shipper,
    receiver: &mut RecordReceiver,
    context: &mut TaskContext,
) -> Result<(), PluginError> {
    let (queue, inbox) = crossbeam_channel::bounded::<Shipment>(1);
    let (done, outcomes) = crossbeam_channel::unbounded();
    let cancelled = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..encoder.config().max_in_flight {
            let (inbox, done, cancelled) = (inbox.clone(), done.clone(), &cancelled);
            scope.spawn(move || send_batches(shipper, inbox, done, cancelled));
        }
        // Only the sending threads hold these ends now: `outcomes` closes when they all stop.
        drop((inbox, done));
        let mut handoff = Handoff {
            queue,
            returns: Returns {
                outcomes,
                cancelled: &cancelled,
                spares: Vec::new(),
                context,
            },
        };
        let encoded = encode_all(encoder, receiver, &mut handoff);
        handoff.finish(encoded)
    })
}

fn encode_all(
    encoder: &mut Encoder,
    receiver: &mut RecordReceiver,
    handoff: &mut Handoff<'_>,
) -> Result<(), PluginError> {
    while let Some(batch) = receiver.recv()? {
        let now = now_seconds();
        for record in batch.records.iter_mut() {
            if let Some(reason) = encoder.encode(record, now, handoff)? {
                handoff
                    .returns
                    .context
                    .collect_dirty(std::mem::take(record), reason)?;
            }
        }
    }
    encoder.flush(handoff)
}

/// A batch for the sending threads, with the shard key it goes to (none: load-balanced).
struct Shipment {
    batch: LogBatch,
    route_key: Option<String>,
}

/// What a sending thread gives back for a batch: the batch, to reuse, with the logs the
/// service refused; or the error that stopped the thread.
type Outcome = Result<(LogBatch, Vec<RejectedLog>), PluginError>;

/// A sending thread: ships queued batches until the queue closes or one fails.
fn send_batches(
    shipper: &Shipper,
    inbox: Receiver<Shipment>,
    done: Sender<Outcome>,
    cancelled: &AtomicBool,
) {
    let mut buffers = SendBuffers::default();
    for Shipment { batch, route_key } in inbox {
        let outcome = if cancelled.load(Ordering::Relaxed) {
            // Set on an error or when the job stops: the task fails anyway, send no more.
            Err(PluginError::new(
                ErrorKind::CANCELLED,
                "stopped before sending a batch",
            ))
        } else {
            shipper
                .ship(&batch, route_key.as_deref(), &mut buffers, cancelled)
                .map(|rejected| (batch, rejected))
        };
        let failed = outcome.is_err();
        if done.send(outcome).is_err() || failed {
            break;
        }
    }
}

/// The encoding thread's ends of the channels to the sending threads.
struct Handoff<'a> {
    queue: Sender<Shipment>,
    returns: Returns<'a>,
}

impl BatchSink for Handoff<'_> {
    fn empty_batch(&mut self) -> LogBatch {
        self.returns.spares.pop().unwrap_or_default()
    }

    /// Queues `batch`, waiting while one is queued already. Fails with a sending thread's
    /// error once one has failed.
    fn ship(&mut self, batch: LogBatch, route_key: Option<String>) -> Result<(), PluginError> {
        let mut shipment = Shipment { batch, route_key };
        loop {
            self.returns.take_returned()?;
            match self.queue.send_timeout(shipment, POLL) {
                Ok(()) => return Ok(()),
                Err(SendTimeoutError::Timeout(back)) => {
                    if self.returns.context.is_cancelled() {
                        return Err(PluginError::new(
                            ErrorKind::CANCELLED,
                            "the job is stopping",
                        ));
                    }
                    shipment = back;
                }
                Err(SendTimeoutError::Disconnected(_)) => {
                    self.returns.take_returned()?;
                    return Err(PluginError::io("the sending threads have stopped"));
                }
            }
        }
    }
}

impl Handoff<'_> {
    /// Closes the queue and waits for the sending threads (see [`Returns::wait_for_all`]).
    fn finish(self, encoded: Result<(), PluginError>) -> Result<(), PluginError> {
        let Handoff { queue, returns } = self;
        drop(queue);
        returns.wait_for_all(encoded)
    }
}

/// What comes back from the sending threads, taken on the encoding thread, which owns the
/// task's context.
struct Returns<'a> {
    outcomes: Receiver<Outcome>,
    /// Tells the sending threads to stop retrying and sending.
    cancelled: &'a AtomicBool,
    /// Emptied batches to build the next ones in.
    spares: Vec<LogBatch>,
    context: &'a mut TaskContext,
}

impl Returns<'_> {
    /// Takes what the sending threads gave back so far.
    fn take_returned(&mut self) -> Result<(), PluginError> {
        while let Ok(outcome) = self.outcomes.try_recv() {
            self.accept(outcome)?;
        }
        Ok(())
    }

    /// A sent batch's refused logs become dirty records (of their values as strings), and
    /// the batch is reused; a sending thread's error stops the others.
    fn accept(&mut self, outcome: Outcome) -> Result<(), PluginError> {
        let (batch, rejected) = outcome.inspect_err(|_| self.cancel())?;
        for log in rejected {
            let values = batch.log_values(log.index);
            let record = Record::new(values.into_iter().map(Column::string).collect());
            self.context.collect_dirty(record, log.reason)?;
        }
        self.spares.push(batch);
        Ok(())
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Waits until the sending threads have sent every queued batch, or stopped; returns the
    /// first error: the encoding side's, else the first a sending thread reported.
    fn wait_for_all(mut self, encoded: Result<(), PluginError>) -> Result<(), PluginError> {
        let mut first_error = encoded.err();
        loop {
            if first_error.is_some() || self.context.is_cancelled() {
                // The records are not all written anyway: stop retrying.
                self.cancel();
            }
            match self.outcomes.recv_timeout(POLL) {
                Ok(outcome) => {
                    if let Err(error) = self.accept(outcome) {
                        first_error.get_or_insert(error);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn now_seconds() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs().min(u64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}
