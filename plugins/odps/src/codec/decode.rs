//! The record decoder: one response body's records straight into reused [`Record`]s,
//! each checked against its CRC32C, then the footer's count and stream CRC.

use std::io::Read;

use datax_plugin_api::{Column, EpochTime, RString, RVec, Record};

use datax_plugin_kit::text::write_java_float;

use super::bytes::ByteReader;
use super::crc::Crc;
use super::decimal::plain_decimal;
use super::json::render_value;
use super::scalar::{read_bool, read_fixed, read_long, read_timestamp, with_length_prefixed};
use super::{zigzag, DecodeError, FieldTarget};
use super::{END_RECORD, META_CHECKSUM, META_COUNT, METRICS_END, METRICS_TAG};
use super::{WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT};
use crate::schema::OdpsType;

/// Record CRCs gathered before they go into the stream CRC.
const UNSUMMED_CRC_BYTES: usize = 4 * 1024;

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
    ///
    /// Never inlined (one call per record): the decoder stays one function in a profile, the
    /// one `bench/instructions.py` counts it by.
    #[inline(never)]
    pub fn read_record(&mut self, record: &mut Record) -> Result<Result<(), String>, DecodeError> {
        let number = self.records + 1;
        let mut crc = std::mem::take(&mut self.record_crc);
        crc.clear();
        let fields_read = self.read_fields(number, record, &mut crc);
        // The buffer goes back whatever happened, to be reused by the next record.
        let computed = crc.value();
        self.record_crc = crc;
        let (carried, dirty) = fields_read?;
        let expected = self.input.varint()? as u32;
        if expected != computed {
            return Err(DecodeError::new(format!(
                "record {number} fails its CRC32C check (sent {expected:#010x}, computed {computed:#010x})"
            )));
        }
        if carried < self.fields.len() {
            self.null_fields_not_carried(number, record);
        }
        self.add_record_crc(computed);
        self.records += 1;
        Ok(dirty.map_or(Ok(()), Err))
    }

    /// The fields of record `number` up to its END_RECORD tag: how many it carried and the
    /// first value that did not convert.
    #[inline]
    fn read_fields(
        &mut self,
        number: u64,
        record: &mut Record,
        crc: &mut Crc,
    ) -> Result<(usize, Option<String>), DecodeError> {
        let mut carried = 0;
        let mut dirty: Option<String> = None;
        let mut tag = match self.pending_tag.take() {
            Some(tag) => tag,
            None => self.input.varint()?,
        };
        while tag != (END_RECORD << 3) | u64::from(WIRE_VARINT) {
            let field = tag >> 3;
            let index = self.field_index(field, number)?;
            carried += 1;
            crc.update(&(field as u32).to_le_bytes());
            let target = &self.fields[index];
            let slot = &mut record.columns[target.column];
            let wire_type = (tag & 7) as u8;
            let odps_type = &target.odps_type;
            if let Err(reason) = read_value(
                &mut self.input,
                odps_type,
                wire_type,
                slot,
                crc,
                &mut self.text,
            )? {
                dirty.get_or_insert_with(|| format!("column {}: {reason}", target.name));
            }
            tag = self.input.varint()?;
        }
        Ok((carried, dirty))
    }

    /// The index of wire field `field` (numbered from 1), which record `number` must carry
    /// at most once.
    #[inline]
    fn field_index(&mut self, field: u64, number: u64) -> Result<usize, DecodeError> {
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
        Ok(index)
    }

    /// NULL fields are not on the wire: their columns become `Null`.
    fn null_fields_not_carried(&self, number: u64, record: &mut Record) {
        for (field, carried_by) in self.fields.iter().zip(&self.carried_by) {
            if *carried_by != number {
                record.columns[field.column] = Column::Null;
            }
        }
    }

    #[inline]
    fn add_record_crc(&mut self, crc: u32) {
        self.unsummed_crcs.extend_from_slice(&crc.to_le_bytes());
        if self.unsummed_crcs.len() >= UNSUMMED_CRC_BYTES {
            self.sum_record_crcs();
        }
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
#[inline(always)]
fn read_value<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    wire_type: u8,
    slot: &mut Column,
    crc: &mut Crc,
    text: &mut String,
) -> Result<Result<(), String>, DecodeError> {
    let wire = |expected| expect_wire(odps_type, wire_type, expected);
    match odps_type {
        OdpsType::Integer => {
            wire(WIRE_VARINT)?;
            *slot = Column::Long(read_long(input, crc)?);
        }
        OdpsType::Boolean => {
            wire(WIRE_VARINT)?;
            *slot = Column::Bool(read_bool(input, crc)?);
        }
        OdpsType::Datetime => {
            wire(WIRE_VARINT)?;
            *slot = Column::DateTime(EpochTime::from_millis(read_long(input, crc)?));
        }
        OdpsType::Date => {
            wire(WIRE_VARINT)?;
            return Ok(set_date(slot, read_long(input, crc)?));
        }
        OdpsType::Double => {
            wire(WIRE_FIXED64)?;
            *slot = Column::Double(f64::from_le_bytes(read_fixed(input, crc)?));
        }
        OdpsType::Float => {
            wire(WIRE_FIXED32)?;
            let value = f32::from_le_bytes(read_fixed(input, crc)?);
            set_float(slot, value, text);
        }
        OdpsType::Timestamp | OdpsType::TimestampNtz => {
            wire(WIRE_BYTES)?;
            let (seconds, nanos) = read_timestamp(odps_type, input, crc)?;
            return Ok(set_timestamp(slot, seconds, nanos));
        }
        OdpsType::Text | OdpsType::Json => {
            wire(WIRE_BYTES)?;
            return with_length_prefixed(input, crc, |bytes| set_text(slot, bytes));
        }
        OdpsType::Binary => {
            wire(WIRE_BYTES)?;
            with_length_prefixed(input, crc, |bytes| set_binary(slot, bytes))?;
        }
        OdpsType::Decimal => {
            wire(WIRE_BYTES)?;
            return with_length_prefixed(input, crc, |bytes| set_decimal(slot, bytes));
        }
        OdpsType::IntervalDayTime | OdpsType::IntervalYearMonth => {
            return Err(DecodeError::new(format!(
                "{odps_type:?} columns are not supported"
            )))
        }
        OdpsType::Array(_) | OdpsType::Map(..) | OdpsType::Struct(_) => {
            wire(WIRE_BYTES)?;
            text.clear();
            let outcome = render_value(input, odps_type, crc, text)?;
            set_string(slot, text);
            return Ok(outcome);
        }
    }
    Ok(Ok(()))
}

fn set_date(slot: &mut Column, days: i64) -> Result<(), String> {
    match i32::try_from(days) {
        Ok(days) => {
            *slot = Column::Date(days);
            Ok(())
        }
        Err(_) => Err(format!("date {days} days from 1970 is out of range")),
    }
}

fn set_timestamp(slot: &mut Column, seconds: i64, nanos: i32) -> Result<(), String> {
    match u32::try_from(nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
    {
        Some(nanos) => {
            *slot = Column::Timestamp(EpochTime { seconds, nanos });
            Ok(())
        }
        None => Err(format!("timestamp nanoseconds {nanos} out of range")),
    }
}

/// STRING and JSON: text that is not UTF-8 is kept (lossily) and makes the record dirty.
#[inline]
fn set_text(slot: &mut Column, bytes: &[u8]) -> Result<(), String> {
    // Most values are short ASCII: checked a word at a time, without `from_utf8`'s setup
    // (a tenth of the decoder's instructions on the seed table).
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        set_string(slot, unsafe { std::str::from_utf8_unchecked(bytes) });
        return Ok(());
    }
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
}

#[inline]
fn set_string(slot: &mut Column, value: &str) {
    match slot {
        Column::String(buffer) => {
            buffer.clear();
            buffer.push_str(value);
        }
        other => *other = Column::String(RString::from(value)),
    }
}

#[inline]
fn set_binary(slot: &mut Column, bytes: &[u8]) {
    match slot {
        Column::Bytes(buffer) => {
            buffer.clear();
            buffer.extend_from_slice(bytes);
        }
        other => *other = Column::Bytes(RVec::from(bytes)),
    }
}

/// DECIMAL travels as text; DataX holds it without an exponent.
#[inline]
fn set_decimal(slot: &mut Column, bytes: &[u8]) -> Result<(), String> {
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
}

/// FLOAT: DataX's `DoubleColumn(Float)` holds `BigDecimal(String.valueOf(f)).toPlainString()`
/// (`1.1f` → `1.1`). No double carries that text for every float (Java prints the double
/// nearest `4.266744E21` with 17 digits), so the float travels as its text, a decimal. NaN
/// and the infinities stay doubles, which writers refuse as DataX's `BigDecimal` does.
fn set_float(slot: &mut Column, value: f32, text: &mut String) {
    let mut digits = std::mem::take(text).into_bytes();
    digits.clear();
    if write_java_float(&mut digits, value).is_err() {
        *slot = Column::Double(f64::from(value));
    } else {
        // ASCII digits, sign and point.
        let plain = std::str::from_utf8(&digits).unwrap_or_default();
        match slot {
            Column::Decimal(buffer) => {
                buffer.clear();
                buffer.push_str(plain);
            }
            other => *other = Column::Decimal(RString::from(plain)),
        }
    }
    *text = String::from_utf8(digits).unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::codec::encode::put_varint as push_varint;

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

    #[test]
    fn a_float_keeps_datax_text_of_it() {
        let mut text = String::new();
        let mut slot = Column::Null;
        // The double nearest 4.266744E21 has 17 Java digits; the float has 7.
        set_float(&mut slot, 4.266_744e21, &mut text);
        assert_eq!(slot, Column::decimal("4266744000000000000000"));
        set_float(&mut slot, 1e-4, &mut text);
        assert_eq!(slot, Column::decimal("0.00010"));
        set_float(&mut slot, f32::NAN, &mut text);
        assert!(matches!(slot, Column::Double(value) if value.is_nan()));
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
        datax_plugin_kit::write_text(&mut text, &ntz[0].columns[0]).unwrap();
        assert!(
            String::from_utf8(text)
                .unwrap()
                .starts_with("2024-01-02 03:04:05"),
            "{:?}",
            ntz[0].columns[0]
        );
        // DataX's ReaderProxy: map values and struct fields as strings, nulls left out.
        assert_eq!(columns[2], Column::string(r#"{"x":"1.0"}"#));
        assert_eq!(columns[3], Column::string(r#"{"a":"9","c":["p",null]}"#));
    }
}
