//! Records to logs: each record becomes one log (key = `column[i]`, value = the column's
//! text), batched by count and size, and by shard with `hashKey` (datax-engine.md §8.3, with
//! our departure from datax-semantics.md §8: a record whose column count differs is dirty and
//! not sent).

use std::borrow::Cow;

use datax_plugin_api::{Column, PluginError, Record};
use datax_plugin_kit::calendar::SECONDS_PER_DAY;
use datax_plugin_kit::date::{DatePattern as TimeFormat, Zone};
use datax_plugin_kit::write_text;

use super::{ContentKey, LogBatch, LogGroupBuilder};
use crate::auth::md5_hex_lowercase;
use crate::client::{shard_for, Shard};
use crate::config::{TimeSource, WriterConfig};
use crate::task::UNPARSEABLE_TIME_COUNTER;

/// Raw LogGroup bytes per request: under every limit in sls-putlogs.md §9 (5 MB log group).
/// A single log larger than this goes alone (§9).
pub const MAX_RAW_BYTES: usize = 4 << 20;

/// Unparseable times a task warns about, with their value, before it only counts them.
const UNPARSEABLE_TIME_WARNINGS: u64 = 3;

/// Where full batches go: a task's sending threads, or the signing step of the encode bench.
pub trait BatchSink {
    /// An emptied batch to build the next one in.
    fn empty_batch(&mut self) -> LogBatch;

    fn ship(&mut self, batch: LogBatch, route_key: Option<String>) -> Result<(), PluginError>;
}

/// Records to logs, batched by count and size (and shard, with `hashKey`).
pub struct Encoder {
    config: WriterConfig,
    /// Each column's content key, encoded once.
    keys: Vec<ContentKey>,
    /// One per shard of `shards`, or one load-balanced.
    builders: Vec<LogGroupBuilder>,
    shards: Vec<Shard>,
    /// A reused buffer for one value's text.
    value: Vec<u8>,
    /// Logs that got the current time because their time column did not parse.
    unparseable_times: u64,
    /// Records given to [`Encoder::encode`] so far (dirty ones too): the next one's number.
    next_record: u64,
    /// Per builder, the number of the first record of the batch it is building.
    first_records: Vec<Option<u64>>,
}

impl Encoder {
    pub fn new(config: WriterConfig) -> Self {
        Encoder {
            keys: config
                .columns
                .iter()
                .map(|name| ContentKey::new(name))
                .collect(),
            builders: vec![LogGroupBuilder::new(&config.topic, &config.source)],
            shards: Vec::new(),
            value: Vec::with_capacity(256),
            unparseable_times: 0,
            next_record: 0,
            first_records: vec![None],
            config,
        }
    }

    /// Encodes `record` as a log in its shard's batch, shipping a batch once it holds
    /// `batchSize` logs or would pass [`MAX_RAW_BYTES`]; `now` is the time of logs without
    /// one. Returns why the record is dirty, if it is.
    ///
    /// Never inlined (one call per record): the encoder stays one function in a profile, the
    /// one `bench/instructions.py` counts it by.
    #[inline(never)]
    pub fn encode(
        &mut self,
        record: &Record,
        now: u32,
        sink: &mut impl BatchSink,
    ) -> Result<Option<String>, PluginError> {
        let number = self.next_record;
        self.next_record += 1;
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
        self.first_records[shard].get_or_insert(number);
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

    pub fn config(&self) -> &WriterConfig {
        &self.config
    }

    /// The number of the first record not yet in a shipped batch nor dirty: every record
    /// before it was shipped or found dirty.
    pub fn unshipped_from(&self) -> u64 {
        self.first_records
            .iter()
            .flatten()
            .copied()
            .fold(self.next_record, u64::min)
    }

    /// Logs so far that got the current time because their time column did not parse.
    pub fn unparseable_times(&self) -> u64 {
        self.unparseable_times
    }

    /// Routes logs by hash to `shards` (datax-engine.md §8.4).
    pub fn route_to(&mut self, shards: Vec<Shard>) {
        let builder = || LogGroupBuilder::new(&self.config.topic, &self.config.source);
        self.builders = shards.iter().map(|_| builder()).collect();
        self.first_records = vec![None; shards.len()];
        self.shards = shards;
    }

    fn ship(&mut self, shard: usize, sink: &mut impl BatchSink) -> Result<(), PluginError> {
        let mut batch = self.builders[shard].take_batch(sink.empty_batch());
        // A shipped batch always holds a record; 0 would only hold the watermark back.
        batch.first_record = self.first_records[shard].take().unwrap_or(0);
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
            // A double without a text routes as "": its record is dirty anyway (begin_log).
            let _ = self.config.text_style.write(&mut self.value, column);
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
        let (time, time_ns) = self.time_of(columns, now);
        let shard = self.shard_of(record);
        let builder = &mut self.builders[shard];
        builder.begin_log(time, time_ns);
        for (index, (key, column)) in self.keys.iter().zip(columns.iter()).enumerate() {
            // Text is its own text in every style: it goes from the record straight into the
            // log, not through `value` (a copy per value was a tenth of the writer's time).
            if let Column::String(text) | Column::Decimal(text) = column {
                builder.add_content(key, text.as_bytes());
                continue;
            }
            // Other values are written straight into the log too. On an error the log
            // begun is dropped by the next `begin_log`.
            let style = &self.config.text_style;
            builder
                .add_content_with(key, |out| style.write(out, column))
                .map_err(|refused| format!("column {}: {refused}", self.config.columns[index]))?;
        }
        Ok(shard)
    }

    /// The log's time and nanoseconds: from the time column, else `now`.
    fn time_of(&mut self, columns: &[Column], now: u32) -> (u32, Option<u32>) {
        let TimeSource::Column {
            index,
            name,
            format,
            zone,
        } = &self.config.time
        else {
            return (now, None);
        };
        match log_time(&columns[*index], format, *zone, &mut self.value) {
            Ok(time) => time,
            // DataX uses the current time then (datax-engine.md §8.2).
            Err(problem) => {
                self.unparseable_times += 1;
                warn_unparseable_time(self.unparseable_times, name, &problem);
                (now, None)
            }
        }
    }
}

/// Warns about the first [`UNPARSEABLE_TIME_WARNINGS`] unparseable times of a task (`count`
/// so far), saying at the last one that further ones are only counted.
fn warn_unparseable_time(count: u64, column: &str, problem: &str) {
    if count > UNPARSEABLE_TIME_WARNINGS {
        return;
    }
    let further = if count == UNPARSEABLE_TIME_WARNINGS {
        format!("; further ones are only counted (\"Writer {UNPARSEABLE_TIME_COUNTER}\")")
    } else {
        String::new()
    };
    datax_plugin_api::log::warn(format!(
        "the time column {column} {problem}: the log gets the current time, as in DataX{further}"
    ));
}

/// The log time from the time column: datetimes directly, dates at midnight in the time
/// zone, anything else through its text and `timeFormat`. `scratch` is a reusable buffer.
/// The error says what is wrong with the value, after the column's name.
fn log_time(
    column: &Column,
    format: &TimeFormat,
    zone: Zone,
    scratch: &mut Vec<u8>,
) -> Result<(u32, Option<u32>), String> {
    let (seconds, nanos) = match column {
        Column::Null => return Err("is null".to_string()),
        Column::DateTime(instant) | Column::Timestamp(instant) => {
            (instant.seconds, Some(instant.nanos).filter(|&n| n != 0))
        }
        Column::Date(days) => (zone.utc_of_local(i64::from(*days) * SECONDS_PER_DAY), None),
        Column::Long(seconds) if matches!(format, TimeFormat::EpochSeconds) => (*seconds, None),
        other => {
            // Text is its own text (as in `begin_log`): parsed in place, not copied and checked.
            let text = match other {
                Column::String(text) | Column::Decimal(text) => Cow::Borrowed(text.as_str()),
                _ => {
                    scratch.clear();
                    write_text(scratch, other).map_err(|refused| format!("is {}", refused.0))?;
                    String::from_utf8_lossy(scratch)
                }
            };
            let seconds = format
                .parse_seconds(&text, zone)
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
    use crate::codec::fixtures::{Log, LogGroup};
    use datax_plugin_api::EpochTime;
    use prost::Message;
    use serde_json::{json, Value};

    const GMT_PLUS_8: i64 = 8 * 3600;

    fn time(column: Column, format: &str) -> Result<(u32, Option<u32>), String> {
        let format = TimeFormat::compile(format).unwrap();
        log_time(&column, &format, Zone::Fixed(GMT_PLUS_8), &mut Vec::new())
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
            log_time(
                &Column::Date(17_161),
                &format,
                Zone::Fixed(0),
                &mut Vec::new()
            ),
            Ok((seconds - 36_062 + GMT_PLUS_8 as u32, None))
        );
        // In a named zone, midnight at that date's offset: 2016-07-01 in New York is UTC-4.
        let new_york = Zone::Named(chrono_tz::America::New_York);
        assert_eq!(
            log_time(&Column::Date(16_983), &format, new_york, &mut Vec::new()),
            Ok((1_467_345_600, None))
        );
        let format = TimeFormat::compile("yyyy-MM-dd HH:mm:ss").unwrap();
        let shanghai = Zone::Named(chrono_tz::Asia::Shanghai);
        assert_eq!(
            log_time(
                &Column::string("2016-12-26 10:01:02"),
                &format,
                shanghai,
                &mut Vec::new()
            ),
            Ok((seconds, None))
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

        fn logs(&self) -> Vec<Log> {
            let mut group = Vec::new();
            let mut logs = Vec::new();
            for batch in &self.batches {
                let group = batch.encode_group(0..batch.len(), &mut group);
                logs.extend(LogGroup::decode(group).unwrap().logs);
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
    fn batches_know_their_first_record_and_dirty_records_are_not_held_back() {
        let mut encoder = encoder(json!({"batchSize": 2}));
        let mut shipped = Shipped::default();
        let good = |id| record(id, Column::string("x"));
        let dirty = Record::new(vec![Column::string("only one column")]);
        for record in [good("0"), dirty.clone(), good("2"), good("3")] {
            encoder.encode(&record, 7, &mut shipped).unwrap();
        }
        assert_eq!(shipped.sizes(), [2]);
        assert_eq!(shipped.batches[0].first_record, 0);
        assert_eq!(encoder.unshipped_from(), 3, "record 3 waits in a batch");
        encoder.encode(&dirty, 7, &mut shipped).unwrap();
        assert_eq!(encoder.unshipped_from(), 3);
        encoder.flush(&mut shipped).unwrap();
        assert_eq!(shipped.batches[1].first_record, 3);
        assert_eq!(encoder.unshipped_from(), 5, "all shipped or dirty");
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
    fn a_record_with_a_not_finite_double_is_dirty_and_not_sent() {
        let mut encoder = encoder(json!({}));
        let mut shipped = Shipped::default();
        let reason = encoder
            .encode(&record("nan", Column::Double(f64::NAN)), 7, &mut shipped)
            .unwrap();
        assert_eq!(
            reason.as_deref(),
            Some("column payload: NaN has no DataX text (DataX's BigDecimal rejects it)")
        );
        let good = record("fine", Column::Double(1e7));
        assert_eq!(encoder.encode(&good, 7, &mut shipped).unwrap(), None);
        encoder.flush(&mut shipped).unwrap();
        assert_eq!(shipped.sizes(), [1]);
        assert_eq!(shipped.batches[0].log_values(0), ["fine", "10000000"]);
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
    fn values_are_written_as_the_jobs_common_column_says() {
        // The host passes `common.column` under `_datax`; DataX's DateCast writes a datetime
        // with its datetimeFormat in its timeZone.
        let mut encoder = encoder(json!({"_datax": {"column": {
            "datetimeFormat": "yyyy/MM/dd HH:mm", "timeZone": "UTC"
        }}}));
        let instant = datax_plugin_api::EpochTime::from_millis(1_482_717_662_345);
        let logs = encode_all(&mut encoder, &[record("a", Column::DateTime(instant))]).logs();
        assert_eq!(logs[0].contents[1].value, "2016/12/26 02:01");
    }
}
