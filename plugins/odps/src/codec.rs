//! The tunnel record stream (odps-tunnel.md §5): protobuf-style fields, a CRC32C per record,
//! and a footer with the record count and a CRC32C over the record CRCs. Decoded straight
//! into reused [`Record`]s.

use std::fmt::Write as _;
use std::io::{self, Read};

use base64::Engine as _;
use datax_plugin_api::{Column, EpochTime, RString, RVec, Record};
use datax_plugin_kit::calendar::DATAX_DEFAULT_OFFSET_SECONDS;
use datax_plugin_kit::text;

use crate::schema::OdpsType;

/// Field numbers of the stream's own tags (odps-tunnel.md §5.1).
const END_RECORD: u64 = 33_553_408;
const META_COUNT: u64 = 33_554_430;
const METRICS_END: u64 = 33_554_176;
const META_CHECKSUM: u64 = 33_554_431;
/// The metrics block after `META_COUNT`: field 1, wire type 2.
const METRICS_TAG: u64 = (1 << 3) | 2;

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_BYTES: u8 = 2;
const WIRE_FIXED32: u8 = 5;

/// Why a stream could not be read. Every such failure is worth a retry of the rows not yet
/// received: connections drop, bodies get cut, bytes get flipped.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub message: String,
}

impl DecodeError {
    fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
        }
    }
}

impl From<io::Error> for DecodeError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            DecodeError::new("the stream ended in the middle of a record (truncated body)")
        } else {
            DecodeError::new(format!("reading the body failed: {error}"))
        }
    }
}

/// A buffered reader with the few primitives the wire format needs; the fast paths work on
/// the buffer directly.
struct ByteReader<R> {
    inner: R,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
}

const BUFFER_SIZE: usize = 256 * 1024;
/// Record CRCs gathered before they go into the stream CRC.
const UNSUMMED_CRC_BYTES: usize = 4 * 1024;
/// No MaxCompute value is larger (STRING and BINARY top out at 256 MiB); a larger length is
/// a damaged stream, not a reason to allocate.
const MAX_VALUE_BYTES: usize = 256 * 1024 * 1024;

impl<R: Read> ByteReader<R> {
    fn new(inner: R) -> Self {
        ByteReader {
            inner,
            buffer: vec![0; BUFFER_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Makes at least `wanted` bytes (at most the buffer size) available; false at the end of
    /// the input with fewer.
    #[inline]
    fn fill_to(&mut self, wanted: usize) -> io::Result<bool> {
        if self.end - self.start >= wanted {
            return Ok(true);
        }
        self.refill(wanted)
    }

    /// Once per buffer of input: out of the way of the inlined fast path.
    #[cold]
    fn refill(&mut self, wanted: usize) -> io::Result<bool> {
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end < wanted {
            match self.inner.read(&mut self.buffer[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(read) => self.end += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(true)
    }

    fn at_end(&mut self) -> io::Result<bool> {
        Ok(!self.fill_to(1)?)
    }

    fn byte(&mut self) -> io::Result<u8> {
        if !self.fill_to(1)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let byte = self.buffer[self.start];
        self.start += 1;
        Ok(byte)
    }

    /// A varint of up to 10 bytes (odps-tunnel.md §5.3: CRCs may come sign-extended).
    #[inline(always)]
    fn varint(&mut self) -> Result<u64, DecodeError> {
        // Field tags, lengths and small values: most varints are one byte.
        if self.start < self.end && self.buffer[self.start] < 0x80 {
            let byte = self.buffer[self.start];
            self.start += 1;
            return Ok(u64::from(byte));
        }
        self.long_varint()
    }

    /// Kept out of line so that the one-byte path inlines everywhere.
    #[inline(never)]
    fn long_varint(&mut self) -> Result<u64, DecodeError> {
        if self.end - self.start >= 10 {
            let bytes = &self.buffer[self.start..self.start + 10];
            let mut value = 0u64;
            for (index, byte) in bytes.iter().enumerate() {
                value |= u64::from(byte & 0x7f) << (7 * index);
                if byte & 0x80 == 0 {
                    self.start += index + 1;
                    return Ok(value);
                }
            }
            return Err(DecodeError::new("a varint is longer than 10 bytes"));
        }
        let mut value = 0u64;
        for index in 0..10 {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::new("a varint is longer than 10 bytes"))
    }

    fn fixed<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        if !self.fill_to(N)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(&self.buffer[self.start..self.start + N]);
        self.start += N;
        Ok(bytes)
    }

    /// Hands `length` bytes to `use_bytes`, from the buffer when they fit in it.
    fn with_bytes<T>(
        &mut self,
        length: usize,
        use_bytes: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, DecodeError> {
        if length <= self.buffer.len() {
            if !self.fill_to(length)? {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            let value = use_bytes(&self.buffer[self.start..self.start + length]);
            self.start += length;
            return Ok(value);
        }
        if length > MAX_VALUE_BYTES {
            return Err(DecodeError::new(format!(
                "a value claims {length} bytes, more than MaxCompute allows (corrupt stream)"
            )));
        }
        // Grown as the bytes arrive, so that a damaged length costs no more memory than the
        // body holds (a fuzzing finding: fuzz/regressions/).
        let mut large = self.buffer[self.start..self.end].to_vec();
        self.start = self.end;
        let missing = (length - large.len()) as u64;
        (&mut self.inner).take(missing).read_to_end(&mut large)?;
        if large.len() < length {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        Ok(use_bytes(&large))
    }
}

fn zigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// A CRC32C (odps-tunnel.md §5.3) whose input is gathered and checksummed in one call: fed
/// a few bytes at a time, the crate's per-call cost was a fifth of the reader's time.
#[derive(Default)]
struct Crc {
    input: Vec<u8>,
}

impl Crc {
    #[inline]
    fn update(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    fn value(&self) -> u32 {
        crc32c::crc32c(&self.input)
    }
}

/// Where a wire field goes: its type and the record column it fills.
#[derive(Debug, Clone)]
pub struct FieldTarget {
    pub name: String,
    pub odps_type: OdpsType,
    pub column: usize,
}

/// Decodes one response body. Call [`RecordDecoder::next_is_record`] before each record, then
/// [`RecordDecoder::read_record`] to fill it.
pub struct RecordDecoder<R> {
    input: ByteReader<R>,
    /// Index `field number - 1`.
    fields: Vec<FieldTarget>,
    /// The CRC over the record CRCs so far, but for those in `unsummed_crcs`.
    stream_crc: u32,
    /// Record CRCs (int32 LE) not yet in `stream_crc`: added a few thousand at a time, as a
    /// CRC call per record costs more than the 4 bytes it checksums.
    unsummed_crcs: Vec<u8>,
    /// Reused for each record's CRC.
    record_crc: Crc,
    records: u64,
    /// The tag read by `next_is_record` that starts the next record.
    pending_tag: Option<u64>,
    /// By field index, the number of the last record that carried the field (non-NULL):
    /// compared with the current record's number, it needs no clearing between records.
    carried_by: Vec<u64>,
    /// Scratch for rendering complex values and reading float text.
    text: String,
}

impl<R: Read> RecordDecoder<R> {
    pub fn new(input: R, fields: Vec<FieldTarget>) -> Self {
        let carried_by = vec![0; fields.len()];
        RecordDecoder {
            input: ByteReader::new(input),
            fields,
            stream_crc: 0,
            unsummed_crcs: Vec::with_capacity(UNSUMMED_CRC_BYTES),
            record_crc: Crc::default(),
            records: 0,
            pending_tag: None,
            carried_by,
            text: String::new(),
        }
    }

    /// Records fully read and verified so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// `Ok(true)` when a record follows; `Ok(false)` once the footer was read and verified.
    pub fn next_is_record(&mut self) -> Result<bool, DecodeError> {
        if self.input.at_end()? {
            return Err(DecodeError::new(format!(
                "the stream ended after {} records without its footer (truncated body)",
                self.records
            )));
        }
        let tag = self.input.varint()?;
        if tag == META_COUNT << 3 {
            self.read_footer()?;
            return Ok(false);
        }
        self.pending_tag = Some(tag);
        Ok(true)
    }

    /// Reads the next record into `record`, which must have at least as many columns as the
    /// highest target column; columns of NULL fields become `Null`. `Ok(Err(reason))` is a
    /// record read intact whose values do not convert (a dirty record).
    pub fn read_record(&mut self, record: &mut Record) -> Result<Result<(), String>, DecodeError> {
        let number = self.records + 1;
        let mut carried = 0;
        let mut crc = std::mem::take(&mut self.record_crc);
        crc.input.clear();
        let mut dirty: Option<String> = None;
        let mut tag = match self.pending_tag.take() {
            Some(tag) => tag,
            None => self.input.varint()?,
        };
        loop {
            let field = tag >> 3;
            let wire_type = (tag & 7) as u8;
            if field == END_RECORD && wire_type == WIRE_VARINT {
                break;
            }
            let index = field
                .checked_sub(1)
                .map(|index| index as usize)
                .filter(|index| *index < self.fields.len())
                .ok_or_else(|| {
                    DecodeError::new(format!(
                        "unexpected field {field} in record {number} (corrupt stream)"
                    ))
                })?;
            if std::mem::replace(&mut self.carried_by[index], number) == number {
                return Err(DecodeError::new(format!(
                    "field {field} appears twice in record {number} (corrupt stream)"
                )));
            }
            carried += 1;
            crc.update(&(field as u32).to_le_bytes());
            let target = &self.fields[index];
            let slot = &mut record.columns[target.column];
            if let Err(reason) = read_value(
                &mut self.input,
                &target.odps_type,
                wire_type,
                slot,
                &mut crc,
                &mut self.text,
            )? {
                dirty.get_or_insert_with(|| format!("column {}: {reason}", target.name));
            }
            tag = self.input.varint()?;
        }
        let expected = self.input.varint()? as u32;
        let computed = crc.value();
        self.record_crc = crc;
        if expected != computed {
            return Err(DecodeError::new(format!(
                "record {number} fails its CRC32C check (sent {expected:#010x}, computed {computed:#010x})"
            )));
        }
        if carried < self.fields.len() {
            for (field, carried_by) in self.fields.iter().zip(&self.carried_by) {
                if *carried_by != number {
                    record.columns[field.column] = Column::Null;
                }
            }
        }
        self.unsummed_crcs
            .extend_from_slice(&computed.to_le_bytes());
        if self.unsummed_crcs.len() >= UNSUMMED_CRC_BYTES {
            self.sum_record_crcs();
        }
        self.records += 1;
        Ok(dirty.map_or(Ok(()), Err))
    }

    fn sum_record_crcs(&mut self) {
        self.stream_crc = crc32c::crc32c_append(self.stream_crc, &self.unsummed_crcs);
        self.unsummed_crcs.clear();
    }

    /// `META_COUNT` (already read), optional metrics, `META_CHECKSUM`, then nothing.
    fn read_footer(&mut self) -> Result<(), DecodeError> {
        let count = zigzag(self.input.varint()?);
        let mut tag = self.input.varint()?;
        if tag == METRICS_TAG {
            let length = self.input.varint()? as usize;
            let mut metrics_crc = Crc::default();
            metrics_crc.update(&1u32.to_le_bytes());
            self.input
                .with_bytes(length, |json| metrics_crc.update(json))?;
            if self.input.varint()? != METRICS_END << 3 {
                return Err(DecodeError::new("the metrics block has no end tag"));
            }
            if self.input.varint()? as u32 != metrics_crc.value() {
                return Err(DecodeError::new("the metrics block fails its CRC32C check"));
            }
            tag = self.input.varint()?;
        }
        if tag != META_CHECKSUM << 3 {
            return Err(DecodeError::new(format!(
                "unexpected tag {tag} in the stream footer"
            )));
        }
        let checksum = self.input.varint()? as u32;
        self.sum_record_crcs();
        if count != self.records as i64 {
            return Err(DecodeError::new(format!(
                "the footer counts {count} records but {} were read",
                self.records
            )));
        }
        if checksum != self.stream_crc {
            return Err(DecodeError::new(format!(
                "the stream checksum does not match (sent {checksum:#010x}, computed {:#010x})",
                self.stream_crc
            )));
        }
        if !self.input.at_end()? {
            return Err(DecodeError::new("bytes follow the stream footer"));
        }
        Ok(())
    }
}

#[inline]
fn expect_wire(odps_type: &OdpsType, wire_type: u8, expected: u8) -> Result<(), DecodeError> {
    if wire_type == expected {
        Ok(())
    } else {
        Err(wrong_wire_type(odps_type, wire_type))
    }
}

#[cold]
fn wrong_wire_type(odps_type: &OdpsType, wire_type: u8) -> DecodeError {
    DecodeError::new(format!(
        "a {odps_type:?} value came with wire type {wire_type} (corrupt stream)"
    ))
}

/// Reads one top-level value into `slot`, reusing its buffer. `Ok(Err(reason))` when the value
/// was read but cannot be converted.
fn read_value<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    wire_type: u8,
    slot: &mut Column,
    crc: &mut Crc,
    text: &mut String,
) -> Result<Result<(), String>, DecodeError> {
    match odps_type {
        OdpsType::Integer => {
            expect_wire(odps_type, wire_type, WIRE_VARINT)?;
            let value = zigzag(input.varint()?);
            crc.update(&value.to_le_bytes());
            *slot = Column::Long(value);
        }
        OdpsType::Boolean => {
            expect_wire(odps_type, wire_type, WIRE_VARINT)?;
            let value = input.varint()? != 0;
            crc.update(&[u8::from(value)]);
            *slot = Column::Bool(value);
        }
        OdpsType::Datetime => {
            expect_wire(odps_type, wire_type, WIRE_VARINT)?;
            let millis = zigzag(input.varint()?);
            crc.update(&millis.to_le_bytes());
            *slot = Column::DateTime(EpochTime::from_millis(millis));
        }
        OdpsType::Date => {
            expect_wire(odps_type, wire_type, WIRE_VARINT)?;
            let days = zigzag(input.varint()?);
            crc.update(&days.to_le_bytes());
            match i32::try_from(days) {
                Ok(days) => *slot = Column::Date(days),
                Err(_) => return Ok(Err(format!("date {days} days from 1970 is out of range"))),
            }
        }
        OdpsType::Double => {
            expect_wire(odps_type, wire_type, WIRE_FIXED64)?;
            let bytes = input.fixed::<8>()?;
            crc.update(&bytes);
            *slot = Column::Double(f64::from_le_bytes(bytes));
        }
        OdpsType::Float => {
            expect_wire(odps_type, wire_type, WIRE_FIXED32)?;
            let bytes = input.fixed::<4>()?;
            crc.update(&bytes);
            *slot = Column::Double(float_as_double(f32::from_le_bytes(bytes), text));
        }
        OdpsType::Timestamp | OdpsType::TimestampNtz => {
            expect_wire(odps_type, wire_type, WIRE_BYTES)?;
            let (seconds, nanos) = read_timestamp(odps_type, input, crc)?;
            match u32::try_from(nanos)
                .ok()
                .filter(|nanos| *nanos < 1_000_000_000)
            {
                Some(nanos) => *slot = Column::Timestamp(EpochTime { seconds, nanos }),
                None => return Ok(Err(format!("timestamp nanoseconds {nanos} out of range"))),
            }
        }
        OdpsType::Text | OdpsType::Json => {
            expect_wire(odps_type, wire_type, WIRE_BYTES)?;
            let length = input.varint()? as usize;
            return input.with_bytes(length, |bytes| {
                crc.update(bytes);
                match std::str::from_utf8(bytes) {
                    Ok(value) => {
                        set_string(slot, value);
                        Ok(())
                    }
                    Err(_) => {
                        set_string(slot, &String::from_utf8_lossy(bytes));
                        Err("the text is not valid UTF-8".to_string())
                    }
                }
            });
        }
        OdpsType::Binary => {
            expect_wire(odps_type, wire_type, WIRE_BYTES)?;
            let length = input.varint()? as usize;
            input.with_bytes(length, |bytes| {
                crc.update(bytes);
                match slot {
                    Column::Bytes(buffer) => {
                        buffer.clear();
                        buffer.extend_from_slice(bytes);
                    }
                    other => *other = Column::Bytes(RVec::from(bytes)),
                }
            })?;
        }
        OdpsType::Decimal => {
            expect_wire(odps_type, wire_type, WIRE_BYTES)?;
            let length = input.varint()? as usize;
            return input.with_bytes(length, |bytes| {
                crc.update(bytes);
                let raw = String::from_utf8_lossy(bytes);
                match plain_decimal(raw.trim()) {
                    Some(plain) => {
                        match slot {
                            Column::Decimal(buffer) => {
                                buffer.clear();
                                buffer.push_str(&plain);
                            }
                            other => *other = Column::Decimal(RString::from(plain.as_ref())),
                        }
                        Ok(())
                    }
                    None => {
                        *slot = Column::string(raw.as_ref());
                        Err(format!("\"{raw}\" is not a decimal number"))
                    }
                }
            });
        }
        OdpsType::IntervalDayTime | OdpsType::IntervalYearMonth => {
            return Err(DecodeError::new(format!(
                "{odps_type:?} columns are not supported"
            )))
        }
        OdpsType::Array(_) | OdpsType::Map(..) | OdpsType::Struct(_) => {
            expect_wire(odps_type, wire_type, WIRE_BYTES)?;
            text.clear();
            let outcome = render_complex(input, odps_type, crc, text)?;
            set_string(slot, text);
            return Ok(outcome);
        }
    }
    Ok(Ok(()))
}

fn set_string(slot: &mut Column, value: &str) {
    match slot {
        Column::String(buffer) => {
            buffer.clear();
            buffer.push_str(value);
        }
        other => *other = Column::String(RString::from(value)),
    }
}

/// DataX builds its double from the float's own text (`1.1f` → `1.1`), not its binary value.
fn float_as_double(value: f32, text: &mut String) -> f64 {
    text.clear();
    let _ = write!(text, "{value}");
    text.parse().unwrap_or(f64::from(value))
}

fn read_seconds_nanos<R: Read>(
    input: &mut ByteReader<R>,
    crc: &mut Crc,
) -> Result<(i64, i32), DecodeError> {
    let seconds = zigzag(input.varint()?);
    let nanos = zigzag(input.varint()?) as i32;
    crc.update(&seconds.to_le_bytes());
    crc.update(&nanos.to_le_bytes());
    Ok((seconds, nanos))
}

/// A TIMESTAMP's or TIMESTAMP_NTZ's instant: seconds since the epoch and nanoseconds.
fn read_timestamp<R: Read>(
    odps_type: &OdpsType,
    input: &mut ByteReader<R>,
    crc: &mut Crc,
) -> Result<(i64, i32), DecodeError> {
    let (seconds, nanos) = read_seconds_nanos(input, crc)?;
    match odps_type {
        OdpsType::TimestampNtz => Ok((wall_clock_instant(seconds), nanos)),
        _ => Ok((seconds, nanos)),
    }
}

/// Decimal text without an exponent (`1.5E+3` → `1500`), as Java's `toPlainString`; `None`
/// for text that is not a finite decimal number.
pub fn plain_decimal(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if integer.is_empty() && fraction.is_empty()
        || !all_digits(integer)
        || !all_digits(fraction)
        || exponent.unsigned_abs() > 10_000
    {
        return None;
    }
    if exponent == 0 && !text.starts_with('+') && !integer.is_empty() {
        return Some(std::borrow::Cow::Borrowed(text));
    }
    // Shift the decimal point by the exponent over the digit string.
    let all: String = format!("{integer}{fraction}");
    let point = integer.len() as i64 + i64::from(exponent);
    let mut plain = String::new();
    if negative {
        plain.push('-');
    }
    if point <= 0 {
        plain.push_str("0.");
        plain.extend(std::iter::repeat_n('0', (-point) as usize));
        plain.push_str(&all);
    } else if point as usize >= all.len() {
        plain.push_str(&all);
        plain.extend(std::iter::repeat_n('0', point as usize - all.len()));
    } else {
        plain.push_str(&all[..point as usize]);
        plain.push('.');
        plain.push_str(&all[point as usize..]);
    }
    // Leading zeros of the integer part, but keep one before the point.
    let sign = usize::from(negative);
    let trimmed_start = plain[sign..]
        .find(|c: char| c != '0')
        .map_or(plain.len(), |at| at + sign);
    let keep_from = if plain[trimmed_start..].starts_with('.') || trimmed_start == plain.len() {
        trimmed_start.saturating_sub(1).max(sign)
    } else {
        trimmed_start
    };
    plain.replace_range(sign..keep_from, "");
    Some(std::borrow::Cow::Owned(plain))
}

/// Renders an ARRAY, MAP or STRUCT value as JSON text (datax-engine.md §7.5): numbers stay
/// numbers, datetimes become `yyyy-MM-dd HH:mm:ss` (GMT+8), binary becomes Base64, other
/// scalars become strings.
fn render_complex<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
) -> Result<Result<(), String>, DecodeError> {
    let mut outcome = Ok(());
    match odps_type {
        OdpsType::Array(element) => {
            out.push('[');
            let count = input.varint()?;
            for index in 0..count {
                if index > 0 {
                    out.push(',');
                }
                outcome = outcome.and(render_nullable(input, element, crc, out)?);
            }
            out.push(']');
        }
        OdpsType::Map(key_type, value_type) => {
            // Keys as an array, then values as an array (odps-tunnel.md §5.2).
            let mut keys = Vec::new();
            let key_count = input.varint()?;
            for _ in 0..key_count {
                let mut key = String::new();
                outcome = outcome.and(render_nullable(input, key_type, crc, &mut key)?);
                keys.push(key);
            }
            let value_count = input.varint()?;
            if value_count != key_count {
                return Err(DecodeError::new(format!(
                    "a map has {key_count} keys but {value_count} values (corrupt stream)"
                )));
            }
            out.push('{');
            for (index, key) in keys.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                // JSON keys are strings: quote keys that are not already.
                if key.starts_with('"') {
                    out.push_str(key);
                } else {
                    push_json_string(out, key);
                }
                out.push(':');
                outcome = outcome.and(render_nullable(input, value_type, crc, out)?);
            }
            out.push('}');
        }
        OdpsType::Struct(fields) => {
            out.push('{');
            for (index, (name, field_type)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                push_json_string(out, name);
                out.push(':');
                outcome = outcome.and(render_nullable(input, field_type, crc, out)?);
            }
            out.push('}');
        }
        scalar => outcome = render_scalar(input, scalar, crc, out)?,
    }
    Ok(outcome)
}

/// An element preceded by its null flag (`1` = NULL).
fn render_nullable<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
) -> Result<Result<(), String>, DecodeError> {
    if input.varint()? != 0 {
        out.push_str("null");
        return Ok(Ok(()));
    }
    render_complex(input, odps_type, crc, out)
}

fn render_scalar<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
) -> Result<Result<(), String>, DecodeError> {
    match odps_type {
        OdpsType::Integer => {
            let value = zigzag(input.varint()?);
            crc.update(&value.to_le_bytes());
            let _ = write!(out, "{value}");
        }
        OdpsType::Boolean => {
            let value = input.varint()? != 0;
            crc.update(&[u8::from(value)]);
            out.push_str(if value { "true" } else { "false" });
        }
        OdpsType::Double => {
            let bytes = input.fixed::<8>()?;
            crc.update(&bytes);
            push_json_number(out, f64::from_le_bytes(bytes));
        }
        OdpsType::Float => {
            let bytes = input.fixed::<4>()?;
            crc.update(&bytes);
            let value = f32::from_le_bytes(bytes);
            if value.is_finite() {
                let _ = write!(out, "{value}");
            } else {
                push_json_string(out, &value.to_string());
            }
        }
        OdpsType::Datetime => {
            let millis = zigzag(input.varint()?);
            crc.update(&millis.to_le_bytes());
            let epoch = EpochTime::from_millis(millis);
            push_quoted(out, |text| {
                text::write_local_date_time(text, epoch.seconds, 0)
            });
        }
        OdpsType::Date => {
            let days = zigzag(input.varint()?);
            crc.update(&days.to_le_bytes());
            push_quoted(out, |text| text::write_date(text, days));
        }
        OdpsType::Timestamp | OdpsType::TimestampNtz => {
            let (seconds, nanos) = read_timestamp(odps_type, input, crc)?;
            let nanos = nanos.max(0) as u32;
            push_quoted(out, |text| {
                text::write_local_date_time(text, seconds, nanos)
            });
        }
        OdpsType::IntervalDayTime => {
            let (seconds, nanos) = read_seconds_nanos(input, crc)?;
            let _ = write!(out, "{{\"totalSeconds\":{seconds},\"nanos\":{nanos}}}");
        }
        OdpsType::IntervalYearMonth => {
            let months = zigzag(input.varint()?);
            crc.update(&months.to_le_bytes());
            let _ = write!(
                out,
                "{{\"years\":{},\"months\":{}}}",
                months / 12,
                months % 12
            );
        }
        OdpsType::Decimal => {
            let length = input.varint()? as usize;
            return input.with_bytes(length, |bytes| {
                crc.update(bytes);
                let raw = String::from_utf8_lossy(bytes);
                match plain_decimal(raw.trim()) {
                    Some(plain) => {
                        out.push_str(&plain);
                        Ok(())
                    }
                    None => {
                        push_json_string(out, &raw);
                        Err(format!("\"{raw}\" is not a decimal number"))
                    }
                }
            });
        }
        OdpsType::Binary => {
            let length = input.varint()? as usize;
            input.with_bytes(length, |bytes| {
                crc.update(bytes);
                out.push('"');
                base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
                out.push('"');
            })?;
        }
        OdpsType::Text | OdpsType::Json => {
            let length = input.varint()? as usize;
            return input.with_bytes(length, |bytes| {
                crc.update(bytes);
                push_json_string(out, &String::from_utf8_lossy(bytes));
                if std::str::from_utf8(bytes).is_ok() {
                    Ok(())
                } else {
                    Err("the text is not valid UTF-8".to_string())
                }
            });
        }
        OdpsType::Array(_) | OdpsType::Map(..) | OdpsType::Struct(_) => {
            return render_complex(input, odps_type, crc, out)
        }
    }
    Ok(Ok(()))
}

fn push_json_number(out: &mut String, value: f64) {
    if value.is_finite() {
        let _ = write!(out, "{value}");
    } else {
        push_json_string(out, &value.to_string());
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it, without its allocations.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    let mut plain_from = 0;
    for (at, byte) in text.bytes().enumerate() {
        // ASCII only, so `at` is always a character boundary.
        if !matches!(byte, b'"' | b'\\' | 0x00..=0x1f) {
            continue;
        }
        out.push_str(&text[plain_from..at]);
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                let _ = write!(out, "\\u{byte:04x}");
            }
        }
        plain_from = at + 1;
    }
    out.push_str(&text[plain_from..]);
    out.push('"');
}

/// A JSON string of DataX's text of a date or time (datax-semantics.md §5: GMT+8), which
/// [`datax_plugin_api::text`] writes; it is ASCII, so needs no escaping.
fn push_quoted(out: &mut String, write: impl FnOnce(&mut Vec<u8>)) {
    let mut text = Vec::with_capacity(32);
    write(&mut text);
    out.push('"');
    out.push_str(&String::from_utf8_lossy(&text));
    out.push('"');
}

/// TIMESTAMP_NTZ carries a wall clock as if it were UTC (odps-tunnel.md §6): the instant
/// whose DataX text (GMT+8) shows that same wall clock.
fn wall_clock_instant(utc_wall_clock_seconds: i64) -> i64 {
    utc_wall_clock_seconds.saturating_sub(DATAX_DEFAULT_OFFSET_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let digits: String = text.split_whitespace().collect();
        (0..digits.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&digits[at..at + 2], 16).unwrap())
            .collect()
    }

    /// odps-tunnel.md §5.4: table `simple`, `columns=id,name`, rowrange (0,2).
    const WORKED_EXAMPLE: &str = "0800 1206 6e616d655f30 80c0ff7f 93c2d3e804
        0802 1206 6e616d655f31 80c0ff7f bbc0d980fbffffffff01
        f0ffff7f 04 f8ffff7f 9896e7c803";

    fn id_name_fields() -> Vec<FieldTarget> {
        vec![
            FieldTarget {
                name: "id".into(),
                odps_type: OdpsType::Integer,
                column: 0,
            },
            FieldTarget {
                name: "name".into(),
                odps_type: OdpsType::Text,
                column: 1,
            },
        ]
    }

    fn decode_all(
        bytes: &[u8],
        fields: Vec<FieldTarget>,
        width: usize,
    ) -> Result<Vec<Record>, DecodeError> {
        let mut decoder = RecordDecoder::new(bytes, fields);
        let mut records = Vec::new();
        while decoder.next_is_record()? {
            let mut record = Record::new(vec![Column::Null; width]);
            decoder
                .read_record(&mut record)?
                .map_err(DecodeError::new)?;
            records.push(record);
        }
        Ok(records)
    }

    #[test]
    fn crc32c_is_castagnoli() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn decodes_the_worked_example() {
        let records = decode_all(&hex(WORKED_EXAMPLE), id_name_fields(), 2).unwrap();
        assert_eq!(
            records,
            vec![
                Record::new(vec![Column::Long(0), Column::string("name_0")]),
                Record::new(vec![Column::Long(1), Column::string("name_1")]),
            ]
        );
    }

    #[test]
    fn a_flipped_byte_fails_the_record_crc() {
        let mut bytes = hex(WORKED_EXAMPLE);
        bytes[5] ^= 0xff; // inside "name_0"
        let error = decode_all(&bytes, id_name_fields(), 2).unwrap_err();
        assert!(
            error.message.contains("record 1 fails its CRC32C check"),
            "{error:?}"
        );
    }

    #[test]
    fn a_missing_footer_is_a_truncation() {
        let bytes = hex(WORKED_EXAMPLE);
        let cut = &bytes[..bytes.len() - 14];
        let error = decode_all(cut, id_name_fields(), 2).unwrap_err();
        assert_eq!(
            error.message,
            "the stream ended after 2 records without its footer (truncated body)"
        );
        let error = decode_all(&bytes[..7], id_name_fields(), 2).unwrap_err();
        assert!(error.message.contains("truncated body"), "{error:?}");
    }

    #[test]
    fn an_absurd_length_is_corruption_not_an_allocation() {
        // Field 2 (name) claiming 2^40 bytes.
        let bytes = hex("0800 12 8080808080 20");
        let error = decode_all(&bytes, id_name_fields(), 2).unwrap_err();
        assert_eq!(
            error.message,
            "a value claims 1099511627776 bytes, more than MaxCompute allows (corrupt stream)"
        );
    }

    /// Hands out `body`, remembering the largest read it was asked for: the decoder's
    /// buffer for a value, since it reads straight into it.
    struct RequestSizes<'a> {
        body: &'a [u8],
        largest_request: usize,
    }

    impl Read for RequestSizes<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            self.largest_request = self.largest_request.max(buffer.len());
            self.body.read(buffer)
        }
    }

    #[test]
    fn a_large_length_prefix_allocates_only_what_arrives() {
        // Field 2 (name) claiming 100 MB, within MaxCompute's limit, then 1 MB of it.
        let mut body = hex("0800 12");
        push_varint(&mut body, 100_000_000);
        body.resize(body.len() + 1_000_000, b'n');
        let mut input = RequestSizes {
            body: &body,
            largest_request: 0,
        };
        let mut decoder = RecordDecoder::new(&mut input, id_name_fields());
        let mut record = Record::new(vec![Column::Null; 2]);
        assert!(decoder.next_is_record().unwrap());
        let error = decoder.read_record(&mut record).unwrap_err();
        assert!(error.message.contains("truncated body"), "{error:?}");
        drop(decoder);
        assert!(
            input.largest_request <= 4 * 1024 * 1024,
            "read into a buffer of {} bytes",
            input.largest_request
        );
    }

    #[test]
    fn a_wrong_count_or_stream_checksum_is_a_footer_error() {
        let mut bytes = hex(WORKED_EXAMPLE);
        let count_at = bytes.len() - 10;
        assert_eq!(bytes[count_at], 0x04);
        bytes[count_at] = 0x06;
        let error = decode_all(&bytes, id_name_fields(), 2).unwrap_err();
        assert_eq!(error.message, "the footer counts 3 records but 2 were read");

        let mut bytes = hex(WORKED_EXAMPLE);
        let last = bytes.len() - 2;
        bytes[last] ^= 0x01;
        let error = decode_all(&bytes, id_name_fields(), 2).unwrap_err();
        assert!(error.message.contains("stream checksum"), "{error:?}");
    }

    #[test]
    fn accepts_the_metrics_block() {
        let json = br#"{"ServerIOCost":1}"#;
        let mut metrics_crc = Crc::default();
        metrics_crc.update(&1u32.to_le_bytes());
        metrics_crc.update(json);
        let mut bytes = hex(WORKED_EXAMPLE);
        let checksum = bytes.split_off(bytes.len() - 9);
        bytes.push(0x0a);
        bytes.push(json.len() as u8);
        bytes.extend_from_slice(json);
        bytes.extend_from_slice(&hex("80f0ff7f"));
        let mut crc = metrics_crc.value();
        while crc >= 0x80 {
            bytes.push((crc as u8) | 0x80);
            crc >>= 7;
        }
        bytes.push(crc as u8);
        bytes.extend_from_slice(&checksum);
        assert_eq!(decode_all(&bytes, id_name_fields(), 2).unwrap().len(), 2);
    }

    fn push_varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    #[test]
    fn decodes_timestamps_and_complex_values() {
        // odps-tunnel.md §5.4's complex example: its fields, then END_RECORD and the footer.
        let fields_bytes = hex("0a caf49bd90c aab4de75 12 03 00 02 01 00 05
            1a 02 00 01 78 00 01 79 02 00 000000000000f03f 01
            22 00 12 01 00 02 00 01 70 01");
        // The record CRC over the field numbers and leaf values (§5.3), built by hand.
        let mut crc = Crc::default();
        crc.update(&1u32.to_le_bytes());
        crc.update(&1_704_164_645i64.to_le_bytes());
        crc.update(&123_456_789i32.to_le_bytes());
        crc.update(&2u32.to_le_bytes());
        crc.update(&1i64.to_le_bytes());
        crc.update(&(-3i64).to_le_bytes());
        crc.update(&3u32.to_le_bytes());
        crc.update(b"x");
        crc.update(b"y");
        crc.update(&1.0f64.to_le_bytes());
        crc.update(&4u32.to_le_bytes());
        crc.update(&9i64.to_le_bytes());
        crc.update(b"p");
        let mut stream = fields_bytes;
        stream.extend_from_slice(&hex("80c0ff7f"));
        push_varint(&mut stream, u64::from(crc.value()));
        let stream_crc = crc32c::crc32c(&crc.value().to_le_bytes());
        stream.extend_from_slice(&hex("f0ffff7f 02 f8ffff7f"));
        push_varint(&mut stream, u64::from(stream_crc));

        let target = |name: &str, type_name: &str, column| FieldTarget {
            name: name.into(),
            odps_type: OdpsType::parse(type_name).unwrap(),
            column,
        };
        let fields = vec![
            target("ts", "timestamp", 0),
            target("a", "array<bigint>", 1),
            target("m", "map<string,double>", 2),
            target("s", "struct<a:bigint,b:string,c:array<string>>", 3),
        ];
        let fields_as_ntz = fields.clone();
        let records = decode_all(&stream, fields, 4).unwrap();
        assert_eq!(records.len(), 1);
        let columns = &records[0].columns;
        // 2024-01-02T03:04:05.123456789Z
        assert_eq!(
            columns[0],
            Column::Timestamp(EpochTime {
                seconds: 1_704_164_645,
                nanos: 123_456_789
            })
        );
        assert_eq!(columns[1], Column::string("[1,null,-3]"));

        // The same bytes as TIMESTAMP_NTZ: the wall clock 2024-01-02 03:04:05, whatever the zone.
        let mut fields = fields_as_ntz;
        fields[0].odps_type = OdpsType::TimestampNtz;
        let ntz = decode_all(&stream, fields, 4).unwrap();
        let mut text = Vec::new();
        datax_plugin_kit::write_text(&mut text, &ntz[0].columns[0]);
        assert!(
            String::from_utf8(text)
                .unwrap()
                .starts_with("2024-01-02 03:04:05"),
            "{:?}",
            ntz[0].columns[0]
        );
        assert_eq!(columns[2], Column::string(r#"{"x":1,"y":null}"#));
        assert_eq!(
            columns[3],
            Column::string(r#"{"a":9,"b":null,"c":["p",null]}"#)
        );
    }

    #[test]
    fn a_wall_clock_at_the_smallest_second_does_not_overflow() {
        // Fuzzing finding `fuzz/regressions/decode_records/timestamp_ntz_at_the_smallest_second`.
        assert_eq!(wall_clock_instant(i64::MIN), i64::MIN);
        assert_eq!(wall_clock_instant(28_800), 0);
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        for text in [
            "",
            "plain",
            "q\"b\\",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "héllo ✓",
        ] {
            let mut out = String::from("[");
            push_json_string(&mut out, text);
            assert_eq!(out[1..], serde_json::Value::from(text).to_string());
        }
    }

    #[test]
    fn decimals_become_plain_text() {
        let plain = |text: &str| plain_decimal(text).map(|p| p.into_owned());
        assert_eq!(plain("-12.3400").as_deref(), Some("-12.3400"));
        assert_eq!(plain("1.5E+3").as_deref(), Some("1500"));
        assert_eq!(plain("1.5e-3").as_deref(), Some("0.0015"));
        assert_eq!(plain("-2E2").as_deref(), Some("-200"));
        assert_eq!(plain(".5").as_deref(), Some("0.5"));
        assert_eq!(plain("inf"), None);
        assert_eq!(plain("NaN"), None);
        assert_eq!(plain(""), None);
    }

    #[test]
    fn renders_dates_in_gmt_plus_8() {
        let mut out = String::new();
        push_quoted(&mut out, |text| {
            text::write_local_date_time(text, 1_482_746_400, 0)
        });
        assert_eq!(out, "\"2016-12-26 18:00:00\"");
        out.clear();
        push_quoted(&mut out, |text| text::write_date(text, -1));
        assert_eq!(out, "\"1969-12-31\"");
    }
}
