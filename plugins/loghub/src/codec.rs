//! The PutLogs body: a protobuf `LogGroup` written straight from the records (no message
//! structs in between), then compressed as `compress` says (sls-putlogs.md §5, §6).

use std::io::Write;
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

pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
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

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// A content key as written before each value: its tag, length and bytes, encoded once.
pub fn encode_key(key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 2);
    put_bytes_field(&mut out, TAG_CONTENT_KEY, key.as_bytes());
    out
}

/// The `Topic` and `Source` fields that end every group; an empty one is left out, as the
/// SDKs do.
pub fn group_trailer(topic: &str, source: &str) -> Vec<u8> {
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
    logs: Vec<u8>,
    log_ends: Vec<usize>,
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

    /// Writes into `out` the LogGroup of the logs `range` (indexes in finish order) followed
    /// by `trailer` (from [`LogGroupBuilder::trailer`]).
    pub fn encode_group(&self, range: Range<usize>, trailer: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.logs[self.start_of(range.start)..self.start_of(range.end)]);
        out.extend_from_slice(trailer);
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

/// Builds logs into a [`LogBatch`], one content at a time.
pub struct LogGroupBuilder {
    batch: LogBatch,
    /// The log being built: its `Time` and `Contents` fields.
    current: Vec<u8>,
    current_time_ns: Option<u32>,
    /// The group's `Topic` and `Source` fields, the same for every group.
    trailer: Vec<u8>,
}

impl LogGroupBuilder {
    pub fn new(topic: &str, source: &str) -> Self {
        LogGroupBuilder {
            batch: LogBatch::default(),
            current: Vec::with_capacity(1024),
            current_time_ns: None,
            trailer: group_trailer(topic, source),
        }
    }

    /// Starts a log, discarding any log begun and not finished.
    pub fn begin_log(&mut self, time: u32, time_ns: Option<u32>) {
        self.current.clear();
        self.current.push(TAG_LOG_TIME);
        put_varint(&mut self.current, u64::from(time));
        self.current_time_ns = time_ns;
    }

    /// Adds `key = value` to the log begun; `encoded_key` comes from [`encode_key`].
    pub fn add_content(&mut self, encoded_key: &[u8], value: &[u8]) {
        let value_len = value.len() as u64;
        let content_len = encoded_key.len() + 1 + varint_len(value_len) + value.len();
        self.current.push(TAG_LOG_CONTENTS);
        put_varint(&mut self.current, content_len as u64);
        self.current.extend_from_slice(encoded_key);
        self.current.push(TAG_CONTENT_VALUE);
        put_varint(&mut self.current, value_len);
        self.current.extend_from_slice(value);
    }

    /// Adds the log begun to the batch.
    pub fn finish_log(&mut self) {
        if let Some(nanos) = self.current_time_ns {
            // Field 4 comes after the contents (field 2): fields go in number order.
            self.current.push(TAG_LOG_TIME_NS);
            self.current.extend_from_slice(&nanos.to_le_bytes());
        }
        put_bytes_field(&mut self.batch.logs, TAG_GROUP_LOGS, &self.current);
        self.batch.log_ends.push(self.batch.logs.len());
    }

    /// The encoded size the log begun would add to the group.
    pub fn current_log_size(&self) -> usize {
        let len = self.current.len() + if self.current_time_ns.is_some() { 5 } else { 0 };
        1 + varint_len(len as u64) + len
    }

    pub fn log_count(&self) -> usize {
        self.batch.len()
    }

    /// The size of the whole group's protobuf (the `x-log-bodyrawsize`).
    pub fn raw_size(&self) -> usize {
        self.batch.logs.len() + self.trailer.len()
    }

    /// The logs built so far; building goes on in `reused`'s buffers (emptied here).
    pub fn take_batch(&mut self, mut reused: LogBatch) -> LogBatch {
        reused.logs.clear();
        reused.log_ends.clear();
        std::mem::replace(&mut self.batch, reused)
    }
}

/// `compress`: how a request body is compressed (sls-putlogs.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A raw LZ4 block, no frame and no size prefix: every SDK's default.
    Lz4,
    None,
    /// A zlib stream (RFC 1950) at zlib's default level, as Java's `Deflater` writes it.
    Deflate,
    /// A zstd frame at level 1, as the Python SDK and the Rust producer send it.
    Zstd,
}

impl Compression {
    /// The accepted `compress` values, for messages.
    pub const NAMES: &'static str = "lz4, none, deflate or zstd";

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "lz4" => Some(Compression::Lz4),
            "none" => Some(Compression::None),
            "deflate" => Some(Compression::Deflate),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The `x-log-compresstype` header; none for an uncompressed body.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Compression::Lz4 => Some("lz4"),
            Compression::None => None,
            Compression::Deflate => Some("deflate"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// One sending thread's compression buffer (and zstd context), reused for every request.
#[derive(Default)]
pub struct Compressor {
    out: Vec<u8>,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl Compressor {
    /// `raw` compressed as `compression` says (`raw` itself for none).
    pub fn compress<'a>(
        &'a mut self,
        compression: Compression,
        raw: &'a [u8],
    ) -> std::io::Result<&'a [u8]> {
        let out = &mut self.out;
        out.clear();
        match compression {
            Compression::None => return Ok(raw),
            Compression::Lz4 => {
                out.resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
                let written = lz4_flex::block::compress_into(raw, out)
                    .map_err(|error| std::io::Error::other(error.to_string()))?;
                out.truncate(written);
            }
            Compression::Deflate => {
                let mut encoder = flate2::write::ZlibEncoder::new(
                    std::mem::take(out),
                    flate2::Compression::default(),
                );
                encoder.write_all(raw)?;
                *out = encoder.finish()?;
            }
            Compression::Zstd => {
                let zstd = match &mut self.zstd {
                    Some(zstd) => zstd,
                    None => self.zstd.insert(zstd::bulk::Compressor::new(1)?),
                };
                out.reserve(zstd::zstd_safe::compress_bound(raw.len()));
                zstd.compress_to_buffer(raw, out)?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use prost::Message;

    /// The LogGroup of sls-putlogs.md §5, to decode what the builder wrote.
    #[derive(Clone, PartialEq, Message)]
    pub struct LogGroup {
        #[prost(message, repeated, tag = "1")]
        pub logs: Vec<Log>,
        #[prost(string, optional, tag = "3")]
        pub topic: Option<String>,
        #[prost(string, optional, tag = "4")]
        pub source: Option<String>,
        #[prost(message, repeated, tag = "6")]
        pub log_tags: Vec<LogTag>,
    }

    #[derive(Clone, PartialEq, Message)]
    pub struct Log {
        #[prost(uint32, required, tag = "1")]
        pub time: u32,
        #[prost(message, repeated, tag = "2")]
        pub contents: Vec<Content>,
        #[prost(fixed32, optional, tag = "4")]
        pub time_ns: Option<u32>,
    }

    #[derive(Clone, PartialEq, Message)]
    pub struct Content {
        #[prost(string, required, tag = "1")]
        pub key: String,
        #[prost(string, required, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, Message)]
    pub struct LogTag {
        #[prost(string, required, tag = "1")]
        pub key: String,
        #[prost(string, required, tag = "2")]
        pub value: String,
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// P1's bytes without the trailing `__pack_id__` tag, which this writer does not send.
    const P1_WITHOUT_TAG: &str = "0a2f0880e2cfaa06120d0a056c6576656c1204494e464f12130a036d7367120c68656c6c6f20e4b896e7958c2515cd5b07\
        0a1e0881e2cfaa06120d0a056c6576656c12045741524e12070a036d73671200\
        1a056461746178220831302e302e302e31";

    fn p1_builder() -> LogGroupBuilder {
        let mut builder = LogGroupBuilder::new("datax", "10.0.0.1");
        let (level, msg) = (encode_key("level"), encode_key("msg"));
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
        let mut body = Vec::new();
        batch.encode_group(0..2, &group_trailer("datax", "10.0.0.1"), &mut body);
        assert_eq!(body, hex(P1_WITHOUT_TAG));
        assert_eq!(raw_size, body.len());
        assert_eq!(builder.log_count(), 0, "building starts again empty");
        let decoded = LogGroup::decode(body.as_slice()).unwrap();
        assert_eq!(decoded.logs[0].time_ns, Some(123_456_789));
        assert_eq!(decoded.logs[1].contents[1].value, "");
    }

    #[test]
    fn a_group_splits_into_parts_that_decode() {
        let mut builder = p1_builder();
        let batch = builder.take_batch(LogBatch::default());
        let mut body = Vec::new();
        batch.encode_group(1..2, &group_trailer("datax", "10.0.0.1"), &mut body);
        let second = LogGroup::decode(body.as_slice()).unwrap();
        assert_eq!(second.logs.len(), 1);
        assert_eq!(second.logs[0].time, 1_700_000_001);
        assert_eq!(second.topic.as_deref(), Some("datax"));
        batch.encode_group(0..1, &group_trailer("datax", "10.0.0.1"), &mut body);
        assert_eq!(
            LogGroup::decode(body.as_slice()).unwrap().logs[0].time,
            1_700_000_000
        );
    }

    #[test]
    fn the_log_size_is_known_before_it_is_added() {
        let mut builder = LogGroupBuilder::new("", "");
        builder.begin_log(1, Some(5));
        builder.add_content(&encode_key("k"), &[b'x'; 300]);
        let expected = builder.current_log_size();
        builder.finish_log();
        assert_eq!(builder.raw_size(), expected);
    }

    /// sls-putlogs.md §6: a raw block; compare by decompressing, and the spec's python-lz4
    /// block decompresses to the same P1 bytes.
    #[test]
    fn lz4_blocks_decompress_to_the_raw_group() {
        let raw = hex(P1_WITHOUT_TAG);
        let mut compressor = Compressor::default();
        let compressed = compressor.compress(Compression::Lz4, &raw).unwrap();
        assert_eq!(
            lz4_flex::block::decompress(compressed, raw.len()).unwrap(),
            raw
        );
        let python = hex("fb260a2f0880e2cfaa06120d0a056c6576656c1204494e464f12130a036d7367120c68656c6c6f20e4b896e7958c2515cd5b070a1e08813100625741524e12073100f01c001a056461746178220831302e302e302e3132170a0b5f5f7061636b5f69645f5f12083546324131422d31");
        let p1 = lz4_flex::block::decompress(&python, 123).unwrap();
        assert!(p1.starts_with(&raw));
        assert_eq!(
            crate::auth::content_md5(&python),
            "F830413E6E50EE10367B95DF7DD22ECD"
        );
    }

    /// sls-putlogs.md §6: deflate is a zlib stream, zstd a frame, none the raw bytes; the same
    /// compressor serves request after request.
    #[test]
    fn every_compression_decompresses_to_the_raw_group() {
        use std::io::Read;
        let raw = hex(P1_WITHOUT_TAG).repeat(50);
        let mut compressor = Compressor::default();
        for _ in 0..2 {
            let body = compressor.compress(Compression::None, &raw).unwrap();
            assert_eq!(body, raw);
            let body = compressor.compress(Compression::Deflate, &raw).unwrap();
            assert!(body.len() < raw.len() / 4, "{}", body.len());
            let mut inflated = Vec::new();
            flate2::read::ZlibDecoder::new(body)
                .read_to_end(&mut inflated)
                .unwrap();
            assert_eq!(inflated, raw);
            let body = compressor.compress(Compression::Zstd, &raw).unwrap();
            assert!(body.len() < raw.len() / 4, "{}", body.len());
            assert_eq!(zstd::stream::decode_all(body).unwrap(), raw);
        }
        assert_eq!(Compression::from_name(" ZSTD "), Some(Compression::Zstd));
        assert_eq!(Compression::from_name("gzip"), None);
        assert_eq!(Compression::None.header(), None);
    }

    #[test]
    fn a_logs_values_are_read_back_from_the_batch() {
        let mut builder = p1_builder();
        let batch = builder.take_batch(LogBatch::default());
        assert_eq!(batch.log_values(0), ["INFO", "hello 世界"]);
        assert_eq!(batch.log_values(1), ["WARN", ""]);
        let mut builder = LogGroupBuilder::new("", "");
        builder.begin_log(u32::MAX, None);
        builder.add_content(&encode_key("big"), &[b'x'; 70_000]);
        builder.finish_log();
        let batch = builder.take_batch(LogBatch::default());
        assert_eq!(batch.log_values(0), ["x".repeat(70_000)]);
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
