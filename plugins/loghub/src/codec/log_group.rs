//! The protobuf `LogGroup` of a PutLogs body, written straight from the records (no message
//! structs in between) (sls-putlogs.md §5).

use std::ops::Range;

/// Wire tags (sls-putlogs.md §5): field number << 3 | wire type.
const TAG_GROUP_LOGS: u8 = 0x0a;
const TAG_GROUP_TOPIC: u8 = 0x1a;
const TAG_GROUP_SOURCE: u8 = 0x22;
const TAG_LOG_TIME: u8 = 0x08;
const TAG_LOG_CONTENTS: u8 = 0x12;
const TAG_LOG_TIME_NS: u8 = 0x25;
const TAG_CONTENT_KEY: u8 = 0x0a;
const TAG_CONTENT_VALUE: u8 = 0x12;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The value length a content written in place makes room for up front.
const SHORT_VALUE: usize = 32;

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// A column's content key, encoded once: its `Key` field (tag, length, bytes) and, for a
/// short key, everything a content writes before its value.
pub struct ContentKey {
    /// The `Key` field: tag, length and the key's bytes.
    field: Vec<u8>,
    /// `Contents` tag and length, the `Key` field, `Value` tag and length, the two lengths
    /// left 0 to be filled in per value, and zeros after: copied whole (a copy of a fixed
    /// size is a few moves, not a `memcpy` call), then cut to `field.len() + 4`.
    prefix: Option<[u8; PREFIX]>,
}

/// The bytes [`ContentKey::prefix`] holds: keys up to 26 bytes fit.
const PREFIX: usize = 32;

impl ContentKey {
    pub fn new(key: &str) -> Self {
        let mut field = Vec::with_capacity(key.len() + 2);
        put_bytes_field(&mut field, TAG_CONTENT_KEY, key.as_bytes());
        let prefix = (field.len() + 4 <= PREFIX).then(|| {
            let mut prefix = [0; PREFIX];
            prefix[0] = TAG_LOG_CONTENTS;
            prefix[2..2 + field.len()].copy_from_slice(&field);
            prefix[2 + field.len()] = TAG_CONTENT_VALUE;
            prefix
        });
        ContentKey { field, prefix }
    }
}

/// The `Topic` and `Source` fields that end every group; an empty one is left out, as the
/// SDKs do.
fn group_trailer(topic: &str, source: &str) -> Vec<u8> {
    let mut trailer = Vec::new();
    if !topic.is_empty() {
        put_bytes_field(&mut trailer, TAG_GROUP_TOPIC, topic.as_bytes());
    }
    if !source.is_empty() {
        put_bytes_field(&mut trailer, TAG_GROUP_SOURCE, source.as_bytes());
    }
    trailer
}

/// Finished logs, each kept as its encoded `Logs` field with its end offset, so that a group
/// can be sent whole or split in parts. Moves to the sending thread as it is.
#[derive(Default)]
pub struct LogBatch {
    /// The logs, then (once taken from the builder) the group's trailer: the whole group's
    /// protobuf as it is sent, so that it needs no copy.
    logs: Vec<u8>,
    log_ends: Vec<usize>,
    /// The task's number (from 0, in the order the writer received them) of the first record
    /// in the batch: the durable watermark cannot pass it until the batch is acknowledged.
    pub first_record: u64,
}

impl LogBatch {
    pub fn len(&self) -> usize {
        self.log_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log_ends.is_empty()
    }

    fn start_of(&self, index: usize) -> usize {
        if index == 0 {
            0
        } else {
            self.log_ends[index - 1]
        }
    }

    /// The LogGroup of the logs `range` (indexes in finish order), topic and source after
    /// them: the batch's own bytes for all of its logs, else written into `part`.
    pub fn encode_group<'a>(&'a self, range: Range<usize>, part: &'a mut Vec<u8>) -> &'a [u8] {
        if range == (0..self.len()) {
            return &self.logs;
        }
        let trailer = &self.logs[self.start_of(self.len())..];
        part.clear();
        part.extend_from_slice(&self.logs[self.start_of(range.start)..self.start_of(range.end)]);
        part.extend_from_slice(trailer);
        part
    }

    /// The content values of log `index`, in order: what a dirty record shows of a log the
    /// service refused (its keys are the `column` names).
    pub fn log_values(&self, index: usize) -> Vec<String> {
        let mut field = &self.logs[self.start_of(index)..self.log_ends[index]];
        let Some((_, mut log)) = read_tag_and_len(&mut field) else {
            return Vec::new();
        };
        let mut values = Vec::new();
        while let Some((tag, mut content)) = read_tag_and_len(&mut log) {
            if tag != TAG_LOG_CONTENTS {
                continue;
            }
            while let Some((tag, bytes)) = read_tag_and_len(&mut content) {
                if tag == TAG_CONTENT_VALUE {
                    values.push(String::from_utf8_lossy(bytes).into_owned());
                }
            }
        }
        values
    }
}

/// Reads one field of a message this module wrote: its tag and, for a length-delimited
/// field, its bytes (empty for the varint and fixed32 fields, which are skipped).
fn read_tag_and_len<'a>(input: &mut &'a [u8]) -> Option<(u8, &'a [u8])> {
    let (&tag, rest) = input.split_first()?;
    *input = rest;
    match tag & 0x07 {
        0 => {
            read_varint(input)?;
            Some((tag, &[]))
        }
        5 => {
            *input = input.get(4..)?;
            Some((tag, &[]))
        }
        _ => {
            let len = usize::try_from(read_varint(input)?).ok()?;
            let bytes = input.get(..len)?;
            *input = &input[len..];
            Some((tag, bytes))
        }
    }
}

fn read_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// Builds logs into a [`LogBatch`], one content at a time, each in place after the ones
/// finished (no copy of a log when it is finished).
pub struct LogGroupBuilder {
    batch: LogBatch,
    /// Where the log begun starts in `batch.logs`: its `Logs` tag, two bytes kept for its
    /// length, then its `Time` and `Contents` fields. Bytes past the last finished log and
    /// before this are a log dropped unfinished.
    current_start: usize,
    current_time_ns: Option<u32>,
    /// The group's `Topic` and `Source` fields, the same for every group.
    trailer: Vec<u8>,
}

/// The bytes kept for a log's length: lengths from 128 to 16,383 (a seed row's, most logs)
/// fill them as they are; others move the log by a byte or two when it is finished.
const LOG_LENGTH_ROOM: usize = 2;

impl LogGroupBuilder {
    pub fn new(topic: &str, source: &str) -> Self {
        LogGroupBuilder {
            batch: LogBatch::default(),
            current_start: 0,
            current_time_ns: None,
            trailer: group_trailer(topic, source),
        }
    }

    /// The end of the last finished log in `batch.logs`.
    fn finished_end(&self) -> usize {
        self.batch.start_of(self.batch.len())
    }

    /// Starts a log, discarding any log begun and not finished.
    pub fn begin_log(&mut self, time: u32, time_ns: Option<u32>) {
        let logs = &mut self.batch.logs;
        logs.truncate(self.batch.log_ends.last().copied().unwrap_or(0));
        self.current_start = logs.len();
        logs.extend_from_slice(&[TAG_GROUP_LOGS, 0, 0, TAG_LOG_TIME]);
        put_varint(logs, u64::from(time));
        self.current_time_ns = time_ns;
    }

    /// Adds `key = value` to the log begun.
    pub fn add_content(&mut self, key: &ContentKey, value: &[u8]) {
        if key.field.len() + 2 + value.len() < 0x80 {
            let value_start = self.begin_content(key, value.len());
            self.batch.logs.extend_from_slice(value);
            self.end_content(key, value_start);
            return;
        }
        let value_len = value.len() as u64;
        let content_len = key.field.len() + 1 + varint_len(value_len) + value.len();
        let out = &mut self.batch.logs;
        out.push(TAG_LOG_CONTENTS);
        put_varint(out, content_len as u64);
        out.extend_from_slice(&key.field);
        out.push(TAG_CONTENT_VALUE);
        put_varint(out, value_len);
        out.extend_from_slice(value);
    }

    /// Adds `key = ` the text `write` appends, written straight into the log (no copy of the
    /// value). Returns what `write` returns; after an error the log begun holds a partial
    /// content and must be dropped (`begin_log` does).
    pub fn add_content_with<T>(
        &mut self,
        key: &ContentKey,
        write: impl FnOnce(&mut Vec<u8>) -> T,
    ) -> T {
        let value_start = self.begin_content(key, SHORT_VALUE);
        let outcome = write(&mut self.batch.logs);
        if !self.end_content(key, value_start) {
            // Too long for one-byte lengths: moved once to make room for longer ones.
            let value = self.batch.logs.split_off(value_start);
            self.batch.logs.truncate(value_start - key.field.len() - 4);
            self.add_content(key, &value);
        }
        outcome
    }

    /// Writes what goes before a value, its lengths left 0, with room for `room` bytes of
    /// value; returns where the value starts.
    #[inline(always)]
    fn begin_content(&mut self, key: &ContentKey, room: usize) -> usize {
        let out = &mut self.batch.logs;
        let value_start = out.len() + key.field.len() + 4;
        out.reserve(PREFIX + room);
        match &key.prefix {
            Some(prefix) => {
                out.extend_from_slice(prefix);
                out.truncate(value_start);
            }
            None => {
                out.extend_from_slice(&[TAG_LOG_CONTENTS, 0]);
                out.extend_from_slice(&key.field);
                out.extend_from_slice(&[TAG_CONTENT_VALUE, 0]);
            }
        }
        value_start
    }

    /// Fills in the lengths of the content whose value starts at `value_start` and ends the
    /// log begun; false (nothing filled in) when they do not fit one byte each.
    #[inline(always)]
    fn end_content(&mut self, key: &ContentKey, value_start: usize) -> bool {
        let out = &mut self.batch.logs;
        let value_len = out.len() - value_start;
        let content_len = key.field.len() + 2 + value_len;
        if content_len >= 0x80 {
            return false;
        }
        out[value_start - 1] = value_len as u8;
        out[value_start - key.field.len() - 3] = content_len as u8;
        true
    }

    /// Adds the log begun to the batch: its length filled in where room was kept for it.
    pub fn finish_log(&mut self) {
        let logs = &mut self.batch.logs;
        if let Some(nanos) = self.current_time_ns {
            // Field 4 comes after the contents (field 2): fields go in number order.
            logs.push(TAG_LOG_TIME_NS);
            logs.extend_from_slice(&nanos.to_le_bytes());
        }
        let length_at = self.current_start + 1;
        let length = logs.len() - length_at - LOG_LENGTH_ROOM;
        if (0x80..0x4000).contains(&length) {
            logs[length_at] = length as u8 | 0x80;
            logs[length_at + 1] = (length >> 7) as u8;
        } else {
            let mut encoded = Vec::with_capacity(10);
            put_varint(&mut encoded, length as u64);
            logs.splice(length_at..length_at + LOG_LENGTH_ROOM, encoded);
        }
        self.batch.log_ends.push(logs.len());
    }

    /// The encoded size the log begun would add to the group.
    pub fn current_log_size(&self) -> usize {
        let time_ns = if self.current_time_ns.is_some() { 5 } else { 0 };
        let len = self.batch.logs.len() - self.current_start - 1 - LOG_LENGTH_ROOM + time_ns;
        1 + varint_len(len as u64) + len
    }

    pub fn log_count(&self) -> usize {
        self.batch.len()
    }

    /// The size of the whole group's protobuf (the `x-log-bodyrawsize`) of the logs finished.
    pub fn raw_size(&self) -> usize {
        self.finished_end() + self.trailer.len()
    }

    /// The logs finished, the group's trailer after them; building goes on in `reused`'s
    /// buffers (emptied here), a log begun and not finished moved there.
    pub fn take_batch(&mut self, mut reused: LogBatch) -> LogBatch {
        reused.logs.clear();
        reused.log_ends.clear();
        let finished_end = self.finished_end();
        reused
            .logs
            .extend_from_slice(&self.batch.logs[finished_end..]);
        self.current_start = self.current_start.saturating_sub(finished_end);
        let mut batch = std::mem::replace(&mut self.batch, reused);
        batch.logs.truncate(finished_end);
        batch.logs.extend_from_slice(&self.trailer);
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::fixtures::{hex, LogGroup, P1_WITHOUT_TAG};
    use prost::Message;

    fn p1_builder() -> LogGroupBuilder {
        let mut builder = LogGroupBuilder::new("datax", "10.0.0.1");
        let (level, msg) = (ContentKey::new("level"), ContentKey::new("msg"));
        builder.begin_log(1_700_000_000, Some(123_456_789));
        builder.add_content(&level, b"INFO");
        builder.add_content(&msg, "hello 世界".as_bytes());
        builder.finish_log();
        builder.begin_log(1_700_000_001, None);
        builder.add_content(&level, b"WARN");
        builder.add_content(&msg, b"");
        builder.finish_log();
        builder
    }

    /// sls-putlogs.md §13 P1: the same bytes as the official SDK, up to the tags.
    #[test]
    fn encodes_the_p1_log_group_byte_for_byte() {
        let mut builder = p1_builder();
        let raw_size = builder.raw_size();
        let batch = builder.take_batch(LogBatch::default());
        let mut part = Vec::new();
        let body = batch.encode_group(0..2, &mut part);
        assert_eq!(body, hex(P1_WITHOUT_TAG));
        assert_eq!(raw_size, body.len());
        assert_eq!(builder.log_count(), 0, "building starts again empty");
        let decoded = LogGroup::decode(body).unwrap();
        assert_eq!(decoded.logs[0].time_ns, Some(123_456_789));
        assert_eq!(decoded.logs[1].contents[1].value, "");
    }

    #[test]
    fn a_group_splits_into_parts_that_decode() {
        let mut builder = p1_builder();
        let batch = builder.take_batch(LogBatch::default());
        let mut part = Vec::new();
        let second = LogGroup::decode(batch.encode_group(1..2, &mut part)).unwrap();
        assert_eq!(second.logs.len(), 1);
        assert_eq!(second.logs[0].time, 1_700_000_001);
        assert_eq!(second.topic.as_deref(), Some("datax"));
        assert_eq!(
            LogGroup::decode(batch.encode_group(0..1, &mut part))
                .unwrap()
                .logs[0]
                .time,
            1_700_000_000
        );
    }

    #[test]
    fn the_log_size_is_known_before_it_is_added() {
        let mut builder = LogGroupBuilder::new("", "");
        builder.begin_log(1, Some(5));
        builder.add_content(&ContentKey::new("k"), &[b'x'; 300]);
        let expected = builder.current_log_size();
        builder.finish_log();
        assert_eq!(builder.raw_size(), expected);
    }

    #[test]
    fn a_logs_values_are_read_back_from_the_batch() {
        let mut builder = p1_builder();
        let batch = builder.take_batch(LogBatch::default());
        assert_eq!(batch.log_values(0), ["INFO", "hello 世界"]);
        assert_eq!(batch.log_values(1), ["WARN", ""]);
        let mut builder = LogGroupBuilder::new("", "");
        builder.begin_log(u32::MAX, None);
        builder.add_content(&ContentKey::new("big"), &[b'x'; 70_000]);
        builder.finish_log();
        let batch = builder.take_batch(LogBatch::default());
        assert_eq!(batch.log_values(0), ["x".repeat(70_000)]);
    }

    /// The protobuf of a content as prost writes it.
    fn prost_content(key: &str, value: &[u8]) -> Vec<u8> {
        use crate::codec::fixtures::{Content, Log};
        let log = Log {
            time: 7,
            contents: vec![Content {
                key: key.to_string(),
                value: String::from_utf8(value.to_vec()).unwrap(),
            }],
            time_ns: None,
        };
        log.encode_to_vec()
    }

    impl LogGroupBuilder {
        /// The `Time` and `Contents` fields of the log begun.
        fn log_begun(&self) -> &[u8] {
            &self.batch.logs[self.current_start + 1 + LOG_LENGTH_ROOM..]
        }
    }

    /// Logs whose lengths take one, two and three bytes decode, each with its own contents,
    /// and the group's size is what was said before each was finished.
    #[test]
    fn logs_of_every_length_size_decode() {
        let key = ContentKey::new("k");
        let mut builder = LogGroupBuilder::new("topic", "");
        let lengths = [0, 100, 120, 121, 122, 200, 16_370, 16_371, 16_372, 70_000];
        for (index, len) in lengths.into_iter().enumerate() {
            let size_before = builder.raw_size();
            builder.begin_log(index as u32, (index % 2 == 0).then_some(9));
            builder.add_content(&key, &vec![b'a' + index as u8; len]);
            let log_size = builder.current_log_size();
            builder.finish_log();
            assert_eq!(
                builder.raw_size(),
                size_before + log_size,
                "value of {len} bytes"
            );
        }
        let raw_size = builder.raw_size();
        let batch = builder.take_batch(LogBatch::default());
        let mut part = Vec::new();
        let body = batch.encode_group(0..lengths.len(), &mut part);
        assert_eq!(body.len(), raw_size);
        let group = LogGroup::decode(body).unwrap();
        assert_eq!(group.topic.as_deref(), Some("topic"));
        for (index, (log, len)) in group.logs.iter().zip(lengths).enumerate() {
            assert_eq!(log.time, index as u32);
            assert_eq!(log.time_ns, (index % 2 == 0).then_some(9));
            let expected = String::from_utf8(vec![b'a' + index as u8; len]).unwrap();
            assert_eq!(log.contents[0].value, expected, "value of {len} bytes");
        }
    }

    /// A batch taken while a log is begun (a log that would pass the byte cap) leaves it out
    /// and goes on building it; a log dropped unfinished (a dirty record) leaves nothing.
    #[test]
    fn a_log_begun_moves_to_the_next_batch_and_a_dropped_one_leaves_nothing() {
        let (level, msg) = (ContentKey::new("level"), ContentKey::new("msg"));
        let mut builder = p1_builder();
        let p1_size = builder.raw_size();
        builder.begin_log(5, None);
        builder.add_content(&level, b"DROPPED");
        builder.begin_log(6, None);
        builder.add_content(&level, b"MOVED");
        assert_eq!(
            builder.raw_size(),
            p1_size,
            "logs begun are not in the size"
        );
        let first = builder.take_batch(LogBatch::default());
        let mut part = Vec::new();
        assert_eq!(first.encode_group(0..2, &mut part), hex(P1_WITHOUT_TAG));
        builder.add_content(&msg, b"after the batch was taken");
        builder.finish_log();
        builder.begin_log(7, None);
        builder.add_content(&level, b"DIRTY, NEVER FINISHED");
        let second = builder.take_batch(LogBatch::default());
        let group = LogGroup::decode(second.encode_group(0..1, &mut part)).unwrap();
        assert_eq!(group.logs.len(), 1);
        assert_eq!(group.logs[0].time, 6);
        assert_eq!(second.log_values(0), ["MOVED", "after the batch was taken"]);
    }

    /// Every way of adding a content gives prost's bytes, for short and long keys and for
    /// values around the one-byte lengths (the value moved when written in place).
    #[test]
    fn contents_are_prost_byte_for_byte() {
        for key in [
            "",
            "col0",
            &"k".repeat(26),
            &"k".repeat(27),
            &"k".repeat(200),
        ] {
            let content_key = ContentKey::new(key);
            for len in [
                0, 1, 33, 97, 98, 99, 113, 114, 115, 116, 117, 118, 127, 128, 300, 20_000,
            ] {
                let value = vec![b'v'; len];
                let expected = prost_content(key, &value);
                let mut whole = LogGroupBuilder::new("", "");
                whole.begin_log(7, None);
                whole.add_content(&content_key, &value);
                assert_eq!(
                    whole.log_begun(),
                    expected,
                    "key {key:?}, value of {len} bytes"
                );
                let mut in_place = LogGroupBuilder::new("", "");
                in_place.begin_log(7, None);
                let returned = in_place.add_content_with(&content_key, |out| {
                    out.extend_from_slice(&value);
                    len
                });
                assert_eq!(returned, len);
                assert_eq!(
                    in_place.log_begun(),
                    expected,
                    "key {key:?}, {len} bytes in place"
                );
            }
        }
    }

    #[test]
    fn varint_lengths() {
        for value in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
        }
    }
}
