//! loghubwriter: each record becomes one log (key = `column[i]`, value = the column's text),
//! sent in batches with PutLogs (datax-engine.md §8.3, with our departures from
//! datax-semantics.md §8: a record whose column count differs is dirty and not sent).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use datax_plugin_api::{
    Column, ErrorKind, PluginError, Record, RecordReceiver, TaskContext, WriterJob, WriterTask,
};
use datax_plugin_kit::calendar::SECONDS_PER_DAY;
use datax_plugin_kit::write_text;
use serde_json::{json, Value};

use crate::auth::md5_hex_lowercase;
use crate::client::{shard_for, RejectedLog, SendBuffers, Shard, Shipper};
use crate::codec::{encode_key, LogBatch, LogGroupBuilder};
use crate::config::{TimeSource, WriterConfig};
use datax_job_config::value::parse_object;
use datax_plugin_kit::date::DatePattern as TimeFormat;

/// Raw LogGroup bytes per request: under every limit in sls-putlogs.md §9 (5 MB log group).
/// A single log larger than this goes alone (§9).
pub const MAX_RAW_BYTES: usize = 4 << 20;

/// How often a task waiting for its sending threads looks whether the job is stopping.
const POLL: Duration = Duration::from_millis(100);

/// This plugin's counters: "Writer <name>" in the job's summary, `plugin_counters.writer`
/// in its report.
pub const RETRIES_COUNTER: &str = "PutLogs retries";
pub const UNPARSEABLE_TIME_COUNTER: &str = "logs with an unparseable time";

/// Unparseable times a task warns about, with their value, before it only counts them.
const UNPARSEABLE_TIME_WARNINGS: u64 = 3;

pub struct LoghubWriterJob {
    parameter: Value,
}

impl WriterJob for LoghubWriterJob {
    type Task = LoghubWriterTask;

    const DATAX_NAMES: &'static [&'static str] = &["loghubwriter"];

    /// `time` names one of `column` whose value gives the log time, read with `timeFormat`
    /// (`bigint`, `yyyy-MM-dd HH:mm:ss`, `%Y-%m-%d %H:%M:%S` or `%Y-%m-%d %H:%i:%S`) in
    /// `timeZone` (a fixed offset); without it logs get the time they are sent.
    /// `securityToken` is for STS credentials only. `hashKey: true` sends each log to the
    /// shard of the MD5 of its last `…_id` column. `compress`: lz4, none, deflate or zstd.
    /// `maxInFlight`: PutLogs requests each task keeps in flight (1 to 16). `maxRetries`
    /// counts the retries of one request; the timeouts are seconds.
    const TEMPLATE: &'static str = r#"{
    "endpoint": "cn-hangzhou.log.aliyuncs.com",
    "accessId": "",
    "accessKey": "",
    "securityToken": "",
    "project": "",
    "logstore": "",
    "topic": "",
    "source": "",
    "batchSize": 1024,
    "column": ["col0", "col1"],
    "time": "",
    "timeFormat": "yyyy-MM-dd HH:mm:ss",
    "timeZone": "GMT+8",
    "hashKey": false,
    "compress": "lz4",
    "maxInFlight": 4,
    "maxRetries": 7,
    "connectTimeout": 10,
    "requestTimeout": 60
}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parameter = parse_object(parameter, "parameter")
            .map_err(|error| PluginError::config(error.to_string()))?;
        WriterConfig::parse(&parameter, true)?;
        Ok(LoghubWriterJob { parameter })
    }

    /// ListShards: the endpoint answers, the keys sign, the project and logstore exist.
    fn check(&mut self) -> Result<(), PluginError> {
        let config = WriterConfig::parse(&self.parameter, false)?;
        let shipper = Shipper::new(&config).map_err(PluginError::config)?;
        let shards = shipper.list_shards()?;
        datax_plugin_api::log::info(format!(
            "logstore {} of project {} has {} writable shards",
            config.logstore,
            config.project,
            shards.len()
        ));
        Ok(())
    }

    fn split(&mut self, reader_tasks: usize) -> Result<Vec<String>, PluginError> {
        let task = json!({ "parameter": self.parameter }).to_string();
        Ok(vec![task; reader_tasks])
    }

    fn task(&self, task_config: &str) -> Result<LoghubWriterTask, PluginError> {
        let task_config = parse_object(task_config, "task configuration")
            .map_err(|error| PluginError::config(error.to_string()))?;
        let config = WriterConfig::parse(&task_config["parameter"], false)?;
        let shipper = Shipper::new(&config).map_err(PluginError::config)?;
        Ok(LoghubWriterTask {
            encoder: Encoder::new(config),
            shipper,
        })
    }
}

/// A task: this thread turns records into batches of logs while `maxInFlight` sending
/// threads send them, each with one request in flight; one more batch waits queued.
pub struct LoghubWriterTask {
    encoder: Encoder,
    shipper: Shipper,
}

impl WriterTask for LoghubWriterTask {
    fn start_write(
        &mut self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        if self.encoder.config.hash_key {
            let shards = self.shipper.list_shards()?;
            self.encoder.route_to(shards);
        }
        let written = encode_while_sending(&mut self.encoder, &self.shipper, receiver, context);
        // Counted whether or not the task succeeded: retries explain a slow or failed task.
        for (name, amount) in [
            (RETRIES_COUNTER, self.shipper.retries()),
            (UNPARSEABLE_TIME_COUNTER, self.encoder.unparseable_times),
        ] {
            if amount > 0 {
                context.add_to_counter(name, amount);
            }
        }
        written?;
        datax_plugin_api::log::info(format!(
            "{} logs sent to logstore {} of project {}",
            self.shipper.accepted(),
            self.encoder.config.logstore,
            self.encoder.config.project
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
        for _ in 0..encoder.config.max_in_flight {
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

/// Where full batches go: a task's sending threads, or the signing step of the encode bench.
pub trait BatchSink {
    /// An emptied batch to build the next one in.
    fn empty_batch(&mut self) -> LogBatch;

    fn ship(&mut self, batch: LogBatch, route_key: Option<String>) -> Result<(), PluginError>;
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

/// Records to logs, batched by count and size (and shard, with `hashKey`).
pub struct Encoder {
    config: WriterConfig,
    /// Each column's content key, encoded once.
    keys: Vec<Vec<u8>>,
    /// One per shard of `shards`, or one load-balanced.
    builders: Vec<LogGroupBuilder>,
    shards: Vec<Shard>,
    /// A reused buffer for one value's text.
    value: Vec<u8>,
    /// Logs that got the current time because their time column did not parse.
    unparseable_times: u64,
}

impl Encoder {
    pub fn new(config: WriterConfig) -> Self {
        Encoder {
            keys: config.columns.iter().map(|name| encode_key(name)).collect(),
            builders: vec![LogGroupBuilder::new(&config.topic, &config.source)],
            shards: Vec::new(),
            value: Vec::with_capacity(256),
            unparseable_times: 0,
            config,
        }
    }

    /// Encodes `record` as a log in its shard's batch, shipping a batch once it holds
    /// `batchSize` logs or would pass [`MAX_RAW_BYTES`]; `now` is the time of logs without
    /// one. Returns why the record is dirty, if it is.
    pub fn encode(
        &mut self,
        record: &Record,
        now: u32,
        sink: &mut impl BatchSink,
    ) -> Result<Option<String>, PluginError> {
        let shard = match self.begin_log(record, now) {
            Ok(shard) => shard,
            Err(reason) => return Ok(Some(reason)),
        };
        let builder = &self.builders[shard];
        if builder.log_count() > 0
            && builder.raw_size() + builder.current_log_size() > MAX_RAW_BYTES
        {
            self.ship(shard, sink)?;
        }
        let builder = &mut self.builders[shard];
        builder.finish_log();
        // A log over the cap fills a batch on its own.
        if builder.log_count() >= self.config.batch_size || builder.raw_size() >= MAX_RAW_BYTES {
            self.ship(shard, sink)?;
        }
        Ok(None)
    }

    /// Ships every batch begun.
    pub fn flush(&mut self, sink: &mut impl BatchSink) -> Result<(), PluginError> {
        for shard in 0..self.builders.len() {
            if self.builders[shard].log_count() > 0 {
                self.ship(shard, sink)?;
            }
        }
        Ok(())
    }

    /// Routes logs by hash to `shards` (datax-engine.md §8.4).
    fn route_to(&mut self, shards: Vec<Shard>) {
        let builder = || LogGroupBuilder::new(&self.config.topic, &self.config.source);
        self.builders = shards.iter().map(|_| builder()).collect();
        self.shards = shards;
    }

    fn ship(&mut self, shard: usize, sink: &mut impl BatchSink) -> Result<(), PluginError> {
        let batch = self.builders[shard].take_batch(sink.empty_batch());
        let route_key = self.shards.get(shard).map(|shard| shard.begin_key.clone());
        sink.ship(batch, route_key)
    }

    /// The shard of `record`: the hash of its routing column's text (DataX's MD5 of the last
    /// `…_id` column, `""` without one) placed among the shards' ranges.
    fn shard_of(&mut self, record: &Record) -> usize {
        if self.shards.is_empty() {
            return 0;
        }
        self.value.clear();
        if let Some(column) = self.config.route_column.map(|index| &record.columns[index]) {
            write_text(&mut self.value, column);
        }
        shard_for(&self.shards, &md5_hex_lowercase(&self.value))
    }

    /// Encodes `record` as the log being built in the builder of its shard, which it returns;
    /// the error is why it is dirty.
    fn begin_log(&mut self, record: &Record, now: u32) -> Result<usize, String> {
        let columns = &record.columns;
        if columns.len() != self.keys.len() {
            return Err(format!(
                "the record has {} columns but `column` names {}",
                columns.len(),
                self.keys.len()
            ));
        }
        let (time, time_ns) = match &self.config.time {
            TimeSource::Now => (now, None),
            TimeSource::Column {
                index,
                name,
                format,
                zone_offset,
            } => match log_time(&columns[*index], format, *zone_offset, &mut self.value) {
                Ok(time) => time,
                // DataX uses the current time then (datax-engine.md §8.2).
                Err(problem) => {
                    self.unparseable_times += 1;
                    if self.unparseable_times <= UNPARSEABLE_TIME_WARNINGS {
                        let further = if self.unparseable_times == UNPARSEABLE_TIME_WARNINGS {
                            format!("; further ones are only counted (\"Writer {UNPARSEABLE_TIME_COUNTER}\")")
                        } else {
                            String::new()
                        };
                        datax_plugin_api::log::warn(format!(
                            "the time column {name} {problem}: the log gets the current time, \
                             as in DataX{further}"
                        ));
                    }
                    (now, None)
                }
            },
        };
        let shard = self.shard_of(record);
        let builder = &mut self.builders[shard];
        builder.begin_log(time, time_ns);
        for (key, column) in self.keys.iter().zip(columns.iter()) {
            self.value.clear();
            write_text(&mut self.value, column);
            builder.add_content(key, &self.value);
        }
        Ok(shard)
    }
}

fn now_seconds() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs().min(u64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}

/// The log time from the time column: datetimes directly, dates at midnight in the time
/// zone, anything else through its text and `timeFormat`. `scratch` is a reusable buffer.
/// The error says what is wrong with the value, after the column's name.
fn log_time(
    column: &Column,
    format: &TimeFormat,
    zone_offset: i64,
    scratch: &mut Vec<u8>,
) -> Result<(u32, Option<u32>), String> {
    let (seconds, nanos) = match column {
        Column::Null => return Err("is null".to_string()),
        Column::DateTime(instant) | Column::Timestamp(instant) => {
            (instant.seconds, Some(instant.nanos).filter(|&n| n != 0))
        }
        Column::Date(days) => (i64::from(*days) * SECONDS_PER_DAY - zone_offset, None),
        Column::Long(seconds) if matches!(format, TimeFormat::EpochSeconds) => (*seconds, None),
        other => {
            scratch.clear();
            write_text(scratch, other);
            let text = String::from_utf8_lossy(scratch);
            let seconds = format
                .parse_seconds(&text, zone_offset)
                .ok_or_else(|| format!("= \"{text}\" does not match timeFormat"))?;
            (seconds, None)
        }
    };
    let seconds = u32::try_from(seconds)
        .map_err(|_| format!("gives {seconds}, outside what a log time holds (1970 to 2106)"))?;
    Ok((seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::LogGroup;
    use datax_plugin_api::EpochTime;
    use prost::Message;

    const GMT_PLUS_8: i64 = 8 * 3600;

    fn time(column: Column, format: &str) -> Result<(u32, Option<u32>), String> {
        let format = TimeFormat::compile(format).unwrap();
        log_time(&column, &format, GMT_PLUS_8, &mut Vec::new())
    }

    #[test]
    fn log_times_from_each_column_kind() {
        // 2016-12-26 10:01:02 GMT+8.
        let seconds = 1_482_717_662;
        assert_eq!(
            time(Column::string("2016_12_26 10:01:02"), "%Y_%m_%d %H:%i:%S"),
            Ok((seconds, None))
        );
        assert_eq!(
            time(Column::Long(seconds.into()), "bigint"),
            Ok((seconds, None))
        );
        assert_eq!(
            time(Column::string("1482717662"), "bigint"),
            Ok((seconds, None))
        );
        let instant = EpochTime {
            seconds: seconds.into(),
            nanos: 5,
        };
        assert_eq!(
            time(Column::Timestamp(instant), "yyyy"),
            Ok((seconds, Some(5)))
        );
        assert_eq!(
            time(Column::Date(17_161), "yyyy-MM-dd"),
            Ok((seconds - 36_062, None))
        );
        assert_eq!(
            time(Column::Long(20_161_226), "yyyyMMdd"),
            Ok((seconds - 36_062, None))
        );
        // A date is midnight in the time zone, as its text would be.
        let format = TimeFormat::compile("yyyy-MM-dd").unwrap();
        assert_eq!(
            log_time(&Column::Date(17_161), &format, 0, &mut Vec::new()),
            Ok((seconds - 36_062 + GMT_PLUS_8 as u32, None))
        );
    }

    #[test]
    fn unusable_times_say_why() {
        assert_eq!(time(Column::Null, "bigint").unwrap_err(), "is null");
        assert_eq!(
            time(Column::string("yesterday"), "yyyy-MM-dd").unwrap_err(),
            "= \"yesterday\" does not match timeFormat"
        );
        assert!(time(Column::Long(-1), "bigint")
            .unwrap_err()
            .contains("1970 to 2106"));
    }

    /// Collects what the encoder ships.
    #[derive(Default)]
    struct Shipped {
        batches: Vec<LogBatch>,
    }

    impl BatchSink for Shipped {
        fn empty_batch(&mut self) -> LogBatch {
            LogBatch::default()
        }

        fn ship(&mut self, batch: LogBatch, route_key: Option<String>) -> Result<(), PluginError> {
            assert_eq!(route_key, None);
            self.batches.push(batch);
            Ok(())
        }
    }

    impl Shipped {
        fn sizes(&self) -> Vec<usize> {
            self.batches.iter().map(LogBatch::len).collect()
        }

        fn logs(&self) -> Vec<crate::codec::tests::Log> {
            let mut group = Vec::new();
            let mut logs = Vec::new();
            for batch in &self.batches {
                batch.encode_group(0..batch.len(), &[], &mut group);
                logs.extend(LogGroup::decode(group.as_slice()).unwrap().logs);
            }
            logs
        }
    }

    fn encoder(extra: Value) -> Encoder {
        let mut parameter = json!({
            "endpoint": "127.0.0.1:1", "accessId": "id", "accessKey": "key",
            "project": "p", "logstore": "ls", "column": ["id", "payload"],
        });
        for (key, value) in extra.as_object().unwrap() {
            parameter[key] = value.clone();
        }
        Encoder::new(WriterConfig::parse(&parameter, false).unwrap())
    }

    fn encode_all(encoder: &mut Encoder, records: &[Record]) -> Shipped {
        let mut shipped = Shipped::default();
        for record in records {
            assert_eq!(encoder.encode(record, 7, &mut shipped).unwrap(), None);
        }
        encoder.flush(&mut shipped).unwrap();
        shipped
    }

    fn record(id: &str, payload: Column) -> Record {
        Record::new(vec![Column::string(id), payload])
    }

    #[test]
    fn batches_hold_batch_size_logs() {
        let mut encoder = encoder(json!({"batchSize": 2}));
        let records: Vec<Record> = (0..5)
            .map(|id| record(&id.to_string(), Column::Long(id)))
            .collect();
        assert_eq!(encode_all(&mut encoder, &records).sizes(), [2, 2, 1]);
    }

    /// sls-putlogs.md §9: at most 4 MiB of protobuf a request; a log over that goes alone.
    #[test]
    fn a_log_over_the_byte_cap_goes_alone() {
        let mut encoder = encoder(json!({}));
        let small = record("small", Column::string("x"));
        let big = record("big", Column::string("x".repeat(MAX_RAW_BYTES)));
        let records = [small.clone(), small.clone(), big, small.clone()];
        let shipped = encode_all(&mut encoder, &records);
        assert_eq!(shipped.sizes(), [2, 1, 1]);
        assert_eq!(shipped.batches[1].log_values(0)[0], "big");
        // Logs just under the cap fill batches up to it, never over.
        let half = record("half", Column::string("x".repeat(MAX_RAW_BYTES / 2 - 100)));
        let shipped = encode_all(&mut encoder, &[half.clone(), half.clone(), half]);
        assert_eq!(shipped.sizes(), [2, 1]);
    }

    #[test]
    fn a_record_with_another_column_count_is_dirty() {
        let mut encoder = encoder(json!({}));
        let mut shipped = Shipped::default();
        let reason = encoder
            .encode(&Record::new(vec![Column::Null]), 7, &mut shipped)
            .unwrap();
        assert_eq!(
            reason.as_deref(),
            Some("the record has 1 columns but `column` names 2")
        );
        encoder.flush(&mut shipped).unwrap();
        assert!(shipped.batches.is_empty());
    }

    /// datax-engine.md §8.2: a time that does not parse gives the current time, counted.
    #[test]
    fn an_unparseable_time_gives_the_current_time_and_is_counted() {
        let mut encoder = encoder(json!({"time": "payload", "timeFormat": "yyyy-MM-dd"}));
        let records = [
            record("a", Column::string("yesterday")),
            record("b", Column::Null),
            record("c", Column::string("2016-12-26")),
            record("d", Column::string("2200-01-01")),
        ];
        let logs = encode_all(&mut encoder, &records).logs();
        let times: Vec<u32> = logs.iter().map(|log| log.time).collect();
        assert_eq!(times, [7, 7, 1_482_681_600, 7]);
        assert_eq!(encoder.unparseable_times, 3);
        assert_eq!(logs[1].contents[1].value, "");
    }

    #[test]
    fn the_template_is_a_valid_parameter_once_filled() {
        let mut template: Value = serde_json::from_str(LoghubWriterJob::TEMPLATE).unwrap();
        for key in ["accessId", "accessKey", "project", "logstore"] {
            template[key] = json!("x");
        }
        assert_eq!(
            datax_job_config::value::unknown_keys(
                &template,
                "parameter",
                crate::config::KNOWN_KEYS
            ),
            Vec::<String>::new()
        );
        let mut job = LoghubWriterJob::init(&template.to_string()).unwrap();
        let tasks = job.split(3).unwrap();
        assert_eq!(tasks.len(), 3);
        let task = job.task(&tasks[2]).unwrap();
        assert_eq!(task.encoder.keys.len(), 2);
    }
}
