//! A loghubwriter task: its thread turns records into batches of logs while up to
//! `maxInFlight` sending threads (started as the batches need them) send them, each with one
//! request in flight; one more batch waits queued, so a slow round trip does not stall the
//! channel. Once one batch fails for good, or the job stops, the other threads stop retrying.
//! A task whose records all fit in one batch (a small partition) sends it from its own
//! thread once they have come: no sending thread starts for it.
//!
//! Cancellation is waited on, never polled. The sending threads wait (for work, and between
//! retries) on the task's stop channel, which the task's thread closes. The task's thread
//! learns from the host that the job stops: at once while it waits for records, at every word
//! from a sending thread, and, while every sending thread waits out a backoff, in the host's
//! own wait until the first backoff ends.
//!
//! A request in flight cannot be interrupted (a blocking HTTP call), and stopping must not
//! wait on the network: while the task's thread waits on requests in flight it looks at the
//! host's stop every [`IN_FLIGHT_CHECK`] (it cannot wait on the host and the sending threads
//! at once), and once stopped it waits at most [`STOP_GRACE`] for their answers. The sending
//! threads are detached: a thread whose request still hangs then ends with its request, its
//! logs not acknowledged, so the job's report counts them as not confirmed.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Select, Sender, TrySendError};
use datax_plugin_api::{
    Column, ErrorKind, PluginError, Record, RecordReceiver, TaskContext, WriterTask,
};
use datax_plugin_kit::http::{self, SharedClient};
use datax_plugin_kit::retry::{Cancellation, NeverCancelled};

use crate::codec::{BatchSink, Encoder, LogBatch};
use crate::config::WriterConfig;
use crate::shipper::{RejectedLog, SendBuffers, Shipper};

/// This plugin's counters: "Writer <name>" in the job's summary, `plugin_counters.writer`
/// in its report.
pub const RETRIES_COUNTER: &str = "PutLogs retries";
pub const LIST_SHARDS_RETRIES_COUNTER: &str = "ListShards retries";
pub const UNPARSEABLE_TIME_COUNTER: &str = "logs with an unparseable time";

/// How often the task's thread looks at the host's stop while it waits on requests in flight.
const IN_FLIGHT_CHECK: Duration = Duration::from_millis(200);
/// How long a stopped task waits for the answers of requests in flight before leaving them.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A task: the encoder runs on the task's thread; the shipper, made when the task starts on
/// the job's HTTP client, is shared by its sending threads.
pub struct LoghubWriterTask {
    encoder: Encoder,
    http: Arc<SharedClient>,
}

impl LoghubWriterTask {
    /// Costs no connection and no thread until the task starts.
    pub fn new(config: WriterConfig, http: Arc<SharedClient>) -> Self {
        LoghubWriterTask {
            encoder: Encoder::new(config),
            http,
        }
    }
}

impl WriterTask for LoghubWriterTask {
    fn start_write(
        &mut self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        let shipper = Arc::new(Shipper::new(self.encoder.config(), &self.http)?);
        let written = self.route_and_send(&shipper, receiver, context);
        // Counted whether or not the task succeeded: what the service acknowledged tells
        // what a failed or stopped task delivered, retries explain a slow or failed task.
        context.acknowledge(shipper.accepted());
        context.add_possible_duplicates(shipper.possible_duplicates());
        for (name, amount) in [
            (RETRIES_COUNTER, shipper.retries()),
            (LIST_SHARDS_RETRIES_COUNTER, shipper.list_shards_retries()),
            (UNPARSEABLE_TIME_COUNTER, self.encoder.unparseable_times()),
        ] {
            if amount > 0 {
                context.add_to_counter(name, amount);
            }
        }
        written?;
        datax_plugin_api::log::info(format!(
            "{} logs sent to logstore {} of project {}",
            shipper.accepted(),
            self.encoder.config().logstore,
            self.encoder.config().project
        ));
        Ok(())
    }
}

impl LoghubWriterTask {
    fn route_and_send(
        &mut self,
        shipper: &Arc<Shipper>,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        if self.encoder.config().hash_key {
            let shards = shipper.list_shards(&*context)?;
            self.encoder.route_to(shards);
        }
        encode_while_sending(&mut self.encoder, shipper, receiver, context)
    }
}

/// Encodes every record on this thread while the sending threads ship the batches.
fn encode_while_sending(
    encoder: &mut Encoder,
    shipper: &Arc<Shipper>,
    receiver: &mut RecordReceiver,
    context: &mut TaskContext,
) -> Result<(), PluginError> {
    let threads = encoder.config().max_in_flight;
    let (queue, inbox) = crossbeam_channel::bounded::<Shipment>(1);
    let (events_sender, events) = crossbeam_channel::unbounded();
    let (stop, stopped) = crossbeam_channel::bounded::<Never>(0);
    let mut handoff = Handoff {
        shipper: Arc::clone(shipper),
        finishing: false,
        queue,
        starter: Some(SenderStarter {
            inbox,
            stopped,
            events: events_sender,
            started: 0,
            most: threads,
        }),
        shipped: 0,
        returns: Returns {
            events,
            stop: Some(stop),
            stopped_at: None,
            backoffs: Backoffs(vec![None; threads]),
            spares: Vec::new(),
            unshipped_from: 0,
            max_in_flight: threads,
            watermark: Watermark::default(),
            sent: 0,
            context,
        },
    };
    let encoded = encode_all(encoder, receiver, &mut handoff);
    handoff.finish(encoded, encoder.unshipped_from())
}

/// Starts the sending threads as the batches need them, up to `maxInFlight`: a task of a few
/// logs (a small partition) starts one, not `maxInFlight`. Holds ends of the task's channels
/// for the threads still to start: dropped once they all have, or when the task finishes, so
/// that the queue and the events close when the started threads are done.
struct SenderStarter {
    inbox: Receiver<Shipment>,
    stopped: Receiver<Never>,
    events: Sender<Event>,
    started: usize,
    most: usize,
}

impl SenderStarter {
    fn start_one(&mut self, shipper: &Arc<Shipper>) -> Result<(), PluginError> {
        let index = self.started;
        let cancellation = SenderCancellation {
            index,
            stop: self.stopped.clone(),
            events: self.events.clone(),
        };
        let (inbox, shipper) = (self.inbox.clone(), Arc::clone(shipper));
        // Detached (see the module's notes); dropping `stop` on an error ends the threads
        // already started. On a pooled thread, idle once its task's batches are sent: the
        // next task's sending thread, not a new one per task.
        http::run_detached(&format!("loghub-send-{index}"), move || {
            send_batches(&shipper, inbox, cancellation)
        })
        .map_err(|error| PluginError::io(format!("cannot start a sending thread: {error}")))?;
        self.started += 1;
        Ok(())
    }
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
        handoff.returns.unshipped_from = encoder.unshipped_from();
        handoff.returns.mark_durable(handoff.returns.unshipped_from);
    }
    handoff.finishing = true;
    encoder.flush(handoff)
}

/// A batch for the sending threads, with the shard key it goes to (none: load-balanced).
struct Shipment {
    batch: LogBatch,
    route_key: Option<String>,
}

/// Nothing is ever sent on the stop channel: dropping its sender closes it.
enum Never {}

/// What a sending thread tells the task's thread.
enum Event {
    /// A batch was sent: the batch, to reuse, and the logs the service refused.
    Sent(LogBatch, Vec<RejectedLog>),
    /// The error that stopped the thread.
    Failed(PluginError),
    /// Sending thread `sender` waits until `until` before retrying.
    BackingOff { sender: usize, until: Instant },
}

/// A sending thread's cancellation: the task's stop channel. Each backoff is told to the
/// task's thread first, which waits on the host's cancellation while every thread backs off.
struct SenderCancellation {
    index: usize,
    stop: Receiver<Never>,
    events: Sender<Event>,
}

impl Cancellation for SenderCancellation {
    fn wait_cancelled(&self, duration: Duration) -> bool {
        let until = Instant::now() + duration;
        let _ = self.events.send(Event::BackingOff {
            sender: self.index,
            until,
        });
        match self.stop.recv_timeout(duration) {
            Ok(never) => match never {},
            Err(RecvTimeoutError::Disconnected) => true,
            Err(RecvTimeoutError::Timeout) => false,
        }
    }

    /// A look, not a backoff: the task's thread is not told.
    fn is_cancelled(&self) -> bool {
        match self.stop.try_recv() {
            Ok(never) => match never {},
            Err(error) => error.is_disconnected(),
        }
    }
}

/// The host's stop, [`STOP_GRACE`] late: what the task's own thread waits for an answer with,
/// as it waits for a sending thread's answers.
struct AfterGrace<'a> {
    host: &'a dyn Cancellation,
    /// When this first saw the host's stop.
    stopped_at: OnceLock<Instant>,
}

impl AfterGrace<'_> {
    /// When the grace ends, once the host has stopped.
    fn grace_ends(&self) -> Option<Instant> {
        self.host
            .is_cancelled()
            .then(|| *self.stopped_at.get_or_init(Instant::now) + STOP_GRACE)
    }
}

impl Cancellation for AfterGrace<'_> {
    fn wait_cancelled(&self, duration: Duration) -> bool {
        let until = Instant::now() + duration;
        if !self.host.wait_cancelled(duration) {
            return false;
        }
        let grace_ends = self.grace_ends().unwrap_or(until);
        std::thread::sleep(
            until
                .min(grace_ends)
                .saturating_duration_since(Instant::now()),
        );
        self.is_cancelled()
    }

    fn is_cancelled(&self) -> bool {
        self.grace_ends()
            .is_some_and(|grace_ends| Instant::now() >= grace_ends)
    }
}

/// A sending thread: ships queued batches until the queue closes, the task stops it, or one
/// fails.
fn send_batches(shipper: &Shipper, inbox: Receiver<Shipment>, cancellation: SenderCancellation) {
    let mut buffers = SendBuffers::default();
    loop {
        // Stopped on an error or when the job stops: the task fails anyway, send no more.
        let Shipment { batch, route_key } = crossbeam_channel::select_biased! {
            recv(cancellation.stop) -> _ => return,
            recv(inbox) -> shipment => match shipment {
                Ok(shipment) => shipment,
                Err(_) => return,
            },
        };
        // A sending thread takes every answer that comes: the task stops waiting for it.
        let sent = shipper.ship(
            &batch,
            route_key.as_deref(),
            &mut buffers,
            &cancellation,
            &NeverCancelled,
        );
        let event = match sent {
            Ok(rejected) => Event::Sent(batch, rejected),
            Err(error) => Event::Failed(error),
        };
        let failed = matches!(event, Event::Failed(_));
        if cancellation.events.send(event).is_err() || failed {
            return;
        }
    }
}

/// The encoding thread's ends of the channels to the sending threads.
struct Handoff<'a> {
    /// The task's shipper: the sending threads' it starts, and this thread's for a task of
    /// one batch.
    shipper: Arc<Shipper>,
    /// Set once the records have all come: what is shipped now are the last batches.
    finishing: bool,
    queue: Sender<Shipment>,
    /// `None` once every sending thread has started.
    starter: Option<SenderStarter>,
    /// Batches put in the queue so far.
    shipped: usize,
    returns: Returns<'a>,
}

impl BatchSink for Handoff<'_> {
    fn empty_batch(&mut self) -> LogBatch {
        self.returns.spares.pop().unwrap_or_default()
    }

    /// Queues `batch`, waiting while one is queued already. Fails with a sending thread's
    /// error once one has failed, and when the job stops.
    fn ship(&mut self, batch: LogBatch, route_key: Option<String>) -> Result<(), PluginError> {
        if self.finishing && self.shipped == 0 {
            return self.ship_on_this_thread(batch, route_key);
        }
        self.returns.wait_for_window()?;
        self.returns.watermark.shipped(batch.first_record);
        let mut shipment = Shipment { batch, route_key };
        self.returns.take_returned()?;
        self.start_a_sender_if_all_are_busy()?;
        self.shipped += 1;
        loop {
            self.returns.take_returned()?;
            shipment = match self.queue.try_send(shipment) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(self.returns.senders_gone()),
                Err(TrySendError::Full(back)) => back,
            };
            if let Some(until) = self.returns.backoffs.every_thread(Instant::now()) {
                self.returns.wait_on_the_job(until)?;
                continue;
            }
            let mut select = Select::new();
            let send = select.send(&self.queue);
            select.recv(&self.returns.events);
            let Ok(operation) = select.select_timeout(IN_FLIGHT_CHECK) else {
                // Every thread has a request in flight: look at the host's stop.
                self.returns.stop_if_cancelled()?;
                continue;
            };
            if operation.index() == send {
                return operation
                    .send(&self.queue, shipment)
                    .map_err(|_| self.returns.senders_gone());
            }
            match operation.recv(&self.returns.events) {
                Ok(event) => self.returns.handle(event)?,
                Err(_) => return Err(self.returns.senders_gone()),
            }
        }
    }
}

impl Handoff<'_> {
    /// Sends the task's first batch, shipped once every record has come (a task of a few
    /// logs: a small partition), from this thread: no sending thread starts, and the answer
    /// needs no hop back. As from a sending thread, the job's stop ends the retries at once
    /// and the wait for the answer [`STOP_GRACE`] later.
    fn ship_on_this_thread(
        &mut self,
        batch: LogBatch,
        route_key: Option<String>,
    ) -> Result<(), PluginError> {
        self.returns.watermark.shipped(batch.first_record);
        self.shipped += 1;
        let mut buffers = SendBuffers::default();
        let host = &*self.returns.context;
        let waiting = AfterGrace {
            host,
            stopped_at: OnceLock::new(),
        };
        let sent = self
            .shipper
            .ship(&batch, route_key.as_deref(), &mut buffers, host, &waiting);
        self.returns.handle(match sent {
            Ok(rejected) => Event::Sent(batch, rejected),
            Err(error) => Event::Failed(error),
        })
    }

    /// Starts one more sending thread when each started one has a batch (sent or queued) not
    /// yet back: the batch being shipped would otherwise wait for a thread to free up.
    fn start_a_sender_if_all_are_busy(&mut self) -> Result<(), PluginError> {
        let Some(starter) = &mut self.starter else {
            return Ok(());
        };
        if self.shipped - self.returns.sent >= starter.started {
            starter.start_one(&self.shipper)?;
            if starter.started == starter.most {
                self.starter = None;
            }
        }
        Ok(())
    }

    /// Closes the queue and waits for the sending threads (see [`Returns::wait_for_all`]);
    /// `unshipped_from` is the first record the encoder did not ship.
    fn finish(
        self,
        encoded: Result<(), PluginError>,
        unshipped_from: u64,
    ) -> Result<(), PluginError> {
        let Handoff {
            queue,
            starter,
            mut returns,
            ..
        } = self;
        drop((queue, starter));
        returns.unshipped_from = unshipped_from;
        returns.wait_for_all(encoded)
    }
}

/// What comes back from the sending threads, taken on the encoding thread, which owns the
/// task's context.
struct Returns<'a> {
    events: Receiver<Event>,
    /// Dropped to stop the sending threads: their waits end at once.
    stop: Option<Sender<Never>>,
    /// When `stop` was dropped: the answers in flight are waited on until [`STOP_GRACE`] after.
    stopped_at: Option<Instant>,
    backoffs: Backoffs,
    /// Emptied batches to build the next ones in.
    spares: Vec<LogBatch>,
    watermark: Watermark,
    /// Batches shipped past the watermark at most (`maxInFlight`).
    max_in_flight: usize,
    /// The first record the encoder had not shipped when it last said (at each batch of
    /// records, and once it finished): the watermark cannot pass it.
    unshipped_from: u64,
    /// Batches the sending threads have sent.
    sent: usize,
    context: &'a mut TaskContext,
}

/// The task's durable watermark: batches are acknowledged out of order across the sending
/// threads, so it advances only over the prefix of records that are all acknowledged or
/// dirty, up to the first record of the oldest batch not yet acknowledged. It also keeps the
/// window: at most `maxInFlight` batches are shipped past the watermark, so that a crash sends
/// again at most that many on resume, even when one slow request holds the prefix back.
#[derive(Default)]
struct Watermark {
    /// The batches shipped since the oldest one not acknowledged, in shipping order: each
    /// batch's first record, and whether it was acknowledged.
    window: VecDeque<(u64, bool)>,
    /// What the host was told so far.
    reported: u64,
}

impl Watermark {
    fn shipped(&mut self, first_record: u64) {
        self.window.push_back((first_record, false));
    }

    fn acknowledged(&mut self, first_record: u64) {
        if let Some(batch) = self
            .window
            .iter_mut()
            .find(|(first, acked)| *first == first_record && !acked)
        {
            batch.1 = true;
        }
        while self.window.front().is_some_and(|(_, acked)| *acked) {
            self.window.pop_front();
        }
    }

    /// Batches shipped past the watermark (acknowledged or not).
    fn in_window(&self) -> usize {
        self.window.len()
    }

    /// The records that became durable since the last call, given the first record the
    /// encoder has not shipped.
    fn advance(&mut self, unshipped_from: u64) -> u64 {
        let floor = self
            .window
            .iter()
            .filter(|(_, acked)| !acked)
            .map(|(first, _)| *first)
            .fold(unshipped_from, u64::min);
        let advanced = floor.saturating_sub(self.reported);
        self.reported = self.reported.max(floor);
        advanced
    }
}

/// When each sending thread's latest backoff ends (past: it is sending again, or idle).
struct Backoffs(Vec<Option<Instant>>);

impl Backoffs {
    /// The first end of the backoffs when every sending thread is backing off at `now`: none
    /// can take a batch until then.
    fn every_thread(&self, now: Instant) -> Option<Instant> {
        let ends: Option<Vec<Instant>> = self
            .0
            .iter()
            .map(|until| until.filter(|until| *until > now))
            .collect();
        ends?.into_iter().min()
    }

    /// The first end of a backoff under way at `now`, if any.
    fn any_thread(&self, now: Instant) -> Option<Instant> {
        self.0
            .iter()
            .flatten()
            .filter(|until| **until > now)
            .min()
            .copied()
    }
}

fn job_stopping() -> PluginError {
    PluginError::new(ErrorKind::CANCELLED, "the job is stopping")
}

impl Returns<'_> {
    /// Tells the host the records durable since it was last told, `unshipped_from` being the
    /// first record the encoder has not shipped.
    fn mark_durable(&mut self, unshipped_from: u64) {
        let advanced = self.watermark.advance(unshipped_from);
        if advanced > 0 {
            self.context.mark_durable(advanced);
        }
    }

    /// Waits until fewer than `maxInFlight` batches are past the watermark, taking what the
    /// sending threads say meanwhile; fails as [`BatchSink::ship`] does.
    fn wait_for_window(&mut self) -> Result<(), PluginError> {
        loop {
            self.take_returned()?;
            if self.watermark.in_window() < self.max_in_flight {
                return Ok(());
            }
            match self.events.recv_timeout(IN_FLIGHT_CHECK) {
                Ok(event) => self.handle(event)?,
                Err(RecvTimeoutError::Timeout) => self.stop_if_cancelled()?,
                Err(RecvTimeoutError::Disconnected) => return Err(self.senders_gone()),
            }
        }
    }

    /// Takes what the sending threads said so far.
    fn take_returned(&mut self) -> Result<(), PluginError> {
        while let Ok(event) = self.events.try_recv() {
            self.handle(event)?;
        }
        Ok(())
    }

    /// A sent batch's refused logs become dirty records (of their values as strings), and
    /// the batch is reused; a sending thread's error stops the others, and so does the job
    /// stopping, looked at on every event.
    fn handle(&mut self, event: Event) -> Result<(), PluginError> {
        match event {
            Event::Sent(batch, rejected) => {
                for log in rejected {
                    let values = batch.log_values(log.index);
                    let record = Record::new(values.into_iter().map(Column::string).collect());
                    self.context.collect_dirty(record, log.reason)?;
                }
                self.watermark.acknowledged(batch.first_record);
                self.spares.push(batch);
                // At once, not at the next batch of records: the encoder may be waiting on a
                // free sending thread, and the host keeps the watermark as it goes.
                self.mark_durable(self.unshipped_from);
                self.sent += 1;
            }
            Event::Failed(error) => {
                self.stop();
                return Err(error);
            }
            Event::BackingOff { sender, until } => self.backoffs.0[sender] = Some(until),
        }
        self.stop_if_cancelled()
    }

    fn stop_if_cancelled(&mut self) -> Result<(), PluginError> {
        if self.context.is_cancelled() {
            self.stop();
            return Err(job_stopping());
        }
        Ok(())
    }

    fn stop(&mut self) {
        if self.stop.take().is_some() {
            self.stopped_at = Some(Instant::now());
        }
    }

    /// The next word from a sending thread; `None` once they have all stopped, or, after the
    /// task stopped them, once [`STOP_GRACE`] has passed (threads with a request hanging are
    /// left to end with it). While they run, the host's stop is looked at every
    /// [`IN_FLIGHT_CHECK`].
    fn next_event(&mut self) -> Result<Option<Event>, PluginError> {
        loop {
            let deadline = match self.stopped_at {
                Some(stopped_at) => stopped_at + STOP_GRACE,
                None => Instant::now() + IN_FLIGHT_CHECK,
            };
            match self.events.recv_deadline(deadline) {
                Ok(event) => return Ok(Some(event)),
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
                Err(RecvTimeoutError::Timeout) if self.stopped_at.is_some() => {
                    datax_plugin_api::log::warn(format!(
                        "stopped without the answers of the PutLogs requests in flight \
                         (waited {} s); their logs count as not confirmed",
                        STOP_GRACE.as_secs()
                    ));
                    return Ok(None);
                }
                Err(RecvTimeoutError::Timeout) => self.stop_if_cancelled()?,
            }
        }
    }

    fn senders_gone(&mut self) -> PluginError {
        if let Err(error) = self.take_returned() {
            return error;
        }
        PluginError::io("the sending threads have stopped")
    }

    /// Waits on the host until `until` (a backoff's end, rounded up to the next millisecond);
    /// stops the sending threads and fails when the job stops meanwhile.
    fn wait_on_the_job(&mut self, until: Instant) -> Result<(), PluginError> {
        let wait = until.saturating_duration_since(Instant::now()) + Duration::from_millis(1);
        if self.context.wait_cancelled(wait) {
            self.stop();
            return Err(job_stopping());
        }
        Ok(())
    }

    /// Waits until the sending threads have sent every queued batch, or stopped; returns the
    /// first error: the encoding side's, else the first a sending thread reported.
    fn wait_for_all(mut self, encoded: Result<(), PluginError>) -> Result<(), PluginError> {
        let mut first_error = encoded.err();
        loop {
            if first_error.is_some() {
                // The records are not all written anyway: stop retrying.
                self.stop();
            }
            let backing_off = self
                .stop
                .as_ref()
                .and(self.backoffs.any_thread(Instant::now()));
            let outcome = match backing_off {
                Some(until) => self.wait_on_the_job(until),
                None => match self.next_event() {
                    Ok(Some(event)) => self.handle(event),
                    Ok(None) => break,
                    Err(error) => Err(error),
                },
            };
            if let Err(error) = outcome {
                first_error.get_or_insert(error);
            }
        }
        self.mark_durable(self.unshipped_from);
        first_error.map_or(Ok(()), Err)
    }
}
fn now_seconds() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs().min(u64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backoff_is_told_first_and_ends_at_once_when_the_task_stops() {
        let (stop, stopped) = crossbeam_channel::bounded::<Never>(0);
        let (events_sender, events) = crossbeam_channel::unbounded();
        let cancellation = SenderCancellation {
            index: 3,
            stop: stopped,
            events: events_sender,
        };
        assert!(!cancellation.wait_cancelled(Duration::from_millis(5)));
        let started = Instant::now();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(stop);
        });
        assert!(cancellation.wait_cancelled(Duration::from_secs(30)));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "woken, not timed out"
        );
        stopper.join().unwrap();
        let told: Vec<usize> = events
            .try_iter()
            .map(|event| match event {
                Event::BackingOff { sender, .. } => sender,
                _ => panic!("only backoffs"),
            })
            .collect();
        assert_eq!(told, [3, 3]);
    }

    #[test]
    fn the_watermark_moves_over_the_acknowledged_prefix_only() {
        let mut watermark = Watermark::default();
        for first in [0, 10, 20] {
            watermark.shipped(first);
        }
        // Records 30.. are still being encoded.
        watermark.acknowledged(10);
        watermark.acknowledged(20);
        assert_eq!(watermark.advance(30), 0, "batch 0 is still in flight");
        assert_eq!(
            watermark.in_window(),
            3,
            "acknowledged past the watermark still count"
        );
        watermark.acknowledged(0);
        assert_eq!(watermark.in_window(), 0);
        assert_eq!(watermark.advance(30), 30);
        assert_eq!(watermark.advance(30), 0, "told once");
        assert_eq!(watermark.advance(35), 5, "dirty records need no batch");
    }

    #[test]
    fn the_host_is_waited_on_only_while_every_thread_backs_off() {
        let now = Instant::now();
        let later = |ms| Some(now + Duration::from_millis(ms));
        let past = Some(now - Duration::from_millis(1));
        assert_eq!(
            Backoffs(vec![later(50), later(20)]).every_thread(now),
            later(20)
        );
        assert_eq!(Backoffs(vec![later(50), None]).every_thread(now), None);
        assert_eq!(Backoffs(vec![later(50), past]).every_thread(now), None);
        assert_eq!(Backoffs(vec![later(50), past]).any_thread(now), later(50));
        assert_eq!(Backoffs(vec![None, past]).any_thread(now), None);
    }
}
