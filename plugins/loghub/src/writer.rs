//! loghubwriter: each record becomes one log (key = `column[i]`, value = the column's text),
//! sent in batches with PutLogs (datax-engine.md §8.3, with our departures from
//! datax-semantics.md §8: a record whose column count differs is dirty and not sent).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use datax_plugin_api::{
    write_text, Column, PluginError, Record, RecordReceiver, TaskContext, WriterJob, WriterTask,
    DATAX_DEFAULT_OFFSET_SECONDS, SECONDS_PER_DAY,
};
use serde_json::{json, Value};

use crate::auth::md5_hex_lowercase;
use crate::client::{shard_for, Shard, Shipper};
use crate::codec::{encode_key, LogBatch, LogGroupBuilder};
use crate::config::{TimeSource, WriterConfig};
use crate::time_format::TimeFormat;
use datax_job_config::value::parse_object;

/// Raw LogGroup bytes per request: under every limit in sls-putlogs.md §9 (5 MB log group).
const MAX_RAW_BYTES: usize = 4 << 20;

/// How often a task blocked on its sending thread looks whether the job is stopping.
const POLL: Duration = Duration::from_millis(100);

pub struct LoghubWriterJob {
    parameter: Value,
}

impl WriterJob for LoghubWriterJob {
    type Task = LoghubWriterTask;

    const DATAX_NAMES: &'static [&'static str] = &["loghubwriter"];

    /// `time` names one of `column` whose value gives the log time, read with `timeFormat`
    /// (`bigint`, `yyyy-MM-dd HH:mm:ss`, `%Y-%m-%d %H:%M:%S` or `%Y-%m-%d %H:%i:%S`); without
    /// it logs get the time they are sent. `securityToken` is for STS credentials only.
    /// `hashKey: true` sends each log to the shard of the MD5 of its last `…_id` column.
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
    "hashKey": false
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
        let shipper = Shipper::new(&config, Vec::new()).map_err(PluginError::config)?;
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
        let builder = LogGroupBuilder::new(&config.topic, &config.source);
        let shipper =
            Shipper::new(&config, builder.trailer().to_vec()).map_err(PluginError::config)?;
        Ok(LoghubWriterTask {
            encoder: Encoder {
                keys: config.columns.iter().map(|name| encode_key(name)).collect(),
                builders: vec![builder],
                shards: Vec::new(),
                value: Vec::with_capacity(256),
                config,
            },
            shipper,
        })
    }
}

/// A task: this thread turns records into logs while a second one sends the batches, one
/// batch queued behind the one in flight.
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
        let (batches, inbox) = crossbeam_channel::bounded::<(LogBatch, Option<String>)>(1);
        let (done, outcomes) = crossbeam_channel::unbounded();
        let cancelled = AtomicBool::new(false);
        let (encoder, shipper) = (&mut self.encoder, &mut self.shipper);
        std::thread::scope(|scope| {
            let cancelled = &cancelled;
            scope.spawn(move || {
                for (batch, route_key) in inbox {
                    let outcome = shipper
                        .ship(&batch, route_key.as_deref(), cancelled)
                        .map(|()| batch);
                    let failed = outcome.is_err();
                    if done.send(outcome).is_err() || failed {
                        break;
                    }
                }
            });
            let mut handoff = Handoff {
                batches: Some(batches),
                outcomes,
                cancelled,
                spare: None,
            };
            let encoded = encoder.encode_all(receiver, context, &mut handoff);
            handoff.finish(context, encoded)
        })?;
        datax_plugin_api::log::info(format!(
            "{} logs sent to logstore {} of project {}",
            self.shipper.sent, self.encoder.config.logstore, self.encoder.config.project
        ));
        Ok(())
    }
}

/// The encoding side's end of the channels to the sending thread.
struct Handoff<'a> {
    /// Batches with the shard key they go to (none: load-balanced).
    batches: Option<Sender<(LogBatch, Option<String>)>>,
    /// Each batch comes back emptied for reuse, or the error that stopped the sender.
    outcomes: Receiver<Result<LogBatch, PluginError>>,
    cancelled: &'a AtomicBool,
    spare: Option<LogBatch>,
}

impl Handoff<'_> {
    /// Queues `batch` for sending; waits while one batch is queued already. Fails with the
    /// sender's error once it has stopped.
    fn send(
        &mut self,
        mut batch: (LogBatch, Option<String>),
        context: &TaskContext,
    ) -> Result<(), PluginError> {
        self.collect()?;
        let Some(batches) = &self.batches else {
            return Err(PluginError::io("the sending thread has stopped"));
        };
        loop {
            match batches.send_timeout(batch, POLL) {
                Ok(()) => return Ok(()),
                Err(SendTimeoutError::Timeout(back)) => {
                    if context.is_cancelled() {
                        self.cancelled.store(true, Ordering::Relaxed);
                    }
                    batch = back;
                }
                Err(SendTimeoutError::Disconnected(_)) => {
                    self.collect()?;
                    return Err(PluginError::io("the sending thread has stopped"));
                }
            }
        }
    }

    /// Takes what the sender returned: emptied batches to reuse, or its error.
    fn collect(&mut self) -> Result<(), PluginError> {
        while let Ok(outcome) = self.outcomes.try_recv() {
            self.spare = Some(outcome?);
        }
        Ok(())
    }

    /// Waits until every queued batch is sent (or the sender stops) and returns the first
    /// error: the encoding side's, else the sender's.
    fn finish(
        mut self,
        context: &TaskContext,
        encoded: Result<(), PluginError>,
    ) -> Result<(), PluginError> {
        self.batches = None;
        let mut first_error = encoded.err();
        if first_error.is_some() {
            // Records are not all written anyway: stop retrying.
            self.cancelled.store(true, Ordering::Relaxed);
        }
        loop {
            match self.outcomes.recv_timeout(POLL) {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if context.is_cancelled() {
                        self.cancelled.store(true, Ordering::Relaxed);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Records to logs, batched by count and size (and shard, with `hashKey`).
struct Encoder {
    config: WriterConfig,
    /// Each column's content key, encoded once.
    keys: Vec<Vec<u8>>,
    /// One per shard of `shards`, or one load-balanced.
    builders: Vec<LogGroupBuilder>,
    shards: Vec<Shard>,
    /// A reused buffer for one value's text.
    value: Vec<u8>,
}

impl Encoder {
    fn encode_all(
        &mut self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
        handoff: &mut Handoff<'_>,
    ) -> Result<(), PluginError> {
        while let Some(batch) = receiver.recv()? {
            let now = now_seconds();
            for record in batch.records.iter_mut() {
                let shard = match self.begin_log(record, now) {
                    Ok(shard) => shard,
                    Err(reason) => {
                        context.collect_dirty(std::mem::take(record), reason)?;
                        continue;
                    }
                };
                let builder = &self.builders[shard];
                if builder.log_count() > 0
                    && builder.raw_size() + builder.current_log_size() > MAX_RAW_BYTES
                {
                    self.hand_off(shard, handoff, context)?;
                }
                self.builders[shard].finish_log();
                if self.builders[shard].log_count() >= self.config.batch_size {
                    self.hand_off(shard, handoff, context)?;
                }
            }
        }
        for shard in 0..self.builders.len() {
            if self.builders[shard].log_count() > 0 {
                self.hand_off(shard, handoff, context)?;
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

    fn hand_off(
        &mut self,
        shard: usize,
        handoff: &mut Handoff<'_>,
        context: &TaskContext,
    ) -> Result<(), PluginError> {
        let batch = self.builders[shard].take_batch(handoff.spare.take().unwrap_or_default());
        let route_key = self.shards.get(shard).map(|shard| shard.begin_key.clone());
        handoff.send((batch, route_key), context)
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
            } => log_time(&columns[*index], name, format, &mut self.value)?,
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

/// The log time from the time column: datetimes and dates directly, anything else through
/// its text and `timeFormat`. `scratch` is a reusable buffer.
fn log_time(
    column: &Column,
    name: &str,
    format: &TimeFormat,
    scratch: &mut Vec<u8>,
) -> Result<(u32, Option<u32>), String> {
    let (seconds, nanos) = match column {
        Column::Null => return Err(format!("the time column {name} is null")),
        Column::DateTime(instant) | Column::Timestamp(instant) => {
            (instant.seconds, Some(instant.nanos).filter(|&n| n != 0))
        }
        Column::Date(days) => (
            i64::from(*days) * SECONDS_PER_DAY - DATAX_DEFAULT_OFFSET_SECONDS,
            None,
        ),
        Column::Long(seconds) if matches!(format, TimeFormat::EpochSeconds) => (*seconds, None),
        other => {
            scratch.clear();
            write_text(scratch, other);
            let text = String::from_utf8_lossy(scratch);
            let seconds = format.parse_seconds(&text).ok_or_else(|| {
                format!("the time column {name} = \"{text}\" does not match timeFormat")
            })?;
            (seconds, None)
        }
    };
    let seconds = u32::try_from(seconds).map_err(|_| {
        format!("the time column {name} is outside what a log time holds (1970 to 2106)")
    })?;
    Ok((seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datax_plugin_api::EpochTime;

    fn time(column: Column, format: &str) -> Result<(u32, Option<u32>), String> {
        let format = TimeFormat::compile(format).unwrap();
        log_time(&column, "t", &format, &mut Vec::new())
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
    }

    #[test]
    fn unusable_times_say_why() {
        let error = time(Column::Null, "bigint").unwrap_err();
        assert_eq!(error, "the time column t is null");
        let error = time(Column::string("yesterday"), "yyyy-MM-dd").unwrap_err();
        assert_eq!(
            error,
            "the time column t = \"yesterday\" does not match timeFormat"
        );
        assert!(time(Column::Long(-1), "bigint")
            .unwrap_err()
            .contains("1970 to 2106"));
    }

    #[test]
    fn the_template_is_a_valid_parameter_once_filled() {
        let mut template: Value = serde_json::from_str(LoghubWriterJob::TEMPLATE).unwrap();
        for key in ["accessId", "accessKey", "project", "logstore"] {
            template[key] = json!("x");
        }
        let mut job = LoghubWriterJob::init(&template.to_string()).unwrap();
        let tasks = job.split(3).unwrap();
        assert_eq!(tasks.len(), 3);
        let task = job.task(&tasks[2]).unwrap();
        assert_eq!(task.encoder.keys.len(), 2);
    }
}
