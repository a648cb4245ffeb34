//! The record stream writer (odps-tunnel.md §5, §8): odpswriter's upload blocks, and the
//! download bodies of tests and the decode benchmark, built from [`WireValue`]s. The value's
//! shape picks its wire encoding, so no schema is needed.

use super::{END_RECORD, META_CHECKSUM, META_COUNT};
use super::{WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT};

/// One value as it goes on the wire. BIGINT, INT, DATETIME (milliseconds), DATE (days) and
/// INTERVAL_YEAR_MONTH are `Long`; STRING, VARCHAR, JSON, BINARY and DECIMAL (its text) are
/// `Bytes`; TIMESTAMP and INTERVAL_DAY_TIME are `Timestamp`.
#[derive(Debug, Clone, PartialEq)]
pub enum WireValue {
    Null,
    Long(i64),
    Bool(bool),
    Double(f64),
    Float(f32),
    Bytes(Vec<u8>),
    Timestamp {
        seconds: i64,
        nanos: i32,
    },
    Array(Vec<WireValue>),
    /// Keys then values, each as an array (§5.2).
    Map(Vec<(WireValue, WireValue)>),
    /// Every field, in declared order.
    Struct(Vec<WireValue>),
}

impl WireValue {
    fn wire_type(&self) -> u8 {
        match self {
            WireValue::Long(_) | WireValue::Bool(_) | WireValue::Null => WIRE_VARINT,
            WireValue::Double(_) => WIRE_FIXED64,
            WireValue::Float(_) => WIRE_FIXED32,
            _ => WIRE_BYTES,
        }
    }
}

/// Writes records into one body; [`RecordEncoder::finish`] adds the footer.
#[derive(Default)]
pub struct RecordEncoder {
    out: Vec<u8>,
    /// The current record's CRC input: field numbers and leaf values (§5.3).
    record_crc: Vec<u8>,
    /// Every record CRC so far (int32 LE), the stream CRC's input.
    record_crcs: Vec<u8>,
    count: i64,
}

impl RecordEncoder {
    /// An encoder whose body has room for `capacity` bytes: a block filled to its size is
    /// never copied into a larger buffer on the way, and a buffer grown by doubling would
    /// hold up to twice the block while it is copied.
    pub fn with_capacity(capacity: usize) -> Self {
        RecordEncoder {
            out: Vec::with_capacity(capacity),
            ..RecordEncoder::default()
        }
    }

    /// One record: value `i` is field `i + 1`; `Null` values are left out.
    pub fn write_record(&mut self, values: &[WireValue]) {
        self.record_crc.clear();
        for (index, value) in values.iter().enumerate() {
            if matches!(value, WireValue::Null) {
                continue;
            }
            let field = index as u64 + 1;
            put_varint(&mut self.out, field << 3 | u64::from(value.wire_type()));
            self.record_crc
                .extend_from_slice(&(field as u32).to_le_bytes());
            self.put_value(value);
        }
        put_varint(&mut self.out, END_RECORD << 3 | u64::from(WIRE_VARINT));
        let crc = crc32c::crc32c(&self.record_crc);
        put_varint(&mut self.out, u64::from(crc));
        self.record_crcs.extend_from_slice(&crc.to_le_bytes());
        self.count += 1;
    }

    /// Bytes written so far, the footer not counted.
    pub fn bytes_written(&self) -> usize {
        self.out.len()
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.count as u64
    }

    /// The body so far, finished; the encoder starts the next one with the same room.
    pub fn take_block(&mut self) -> Vec<u8> {
        let room = self.out.capacity();
        std::mem::replace(self, RecordEncoder::with_capacity(room)).finish()
    }

    /// The body: every record, then the count and the stream CRC.
    pub fn finish(mut self) -> Vec<u8> {
        put_varint(&mut self.out, META_COUNT << 3 | u64::from(WIRE_VARINT));
        put_varint(&mut self.out, zigzag_encode(self.count));
        put_varint(&mut self.out, META_CHECKSUM << 3 | u64::from(WIRE_VARINT));
        put_varint(&mut self.out, u64::from(crc32c::crc32c(&self.record_crcs)));
        self.out
    }

    #[inline]
    fn put_long(&mut self, value: i64) {
        self.record_crc.extend_from_slice(&value.to_le_bytes());
        put_varint(&mut self.out, zigzag_encode(value));
    }

    #[inline]
    fn put_leaf(&mut self, bytes: &[u8]) {
        self.record_crc.extend_from_slice(bytes);
        self.out.extend_from_slice(bytes);
    }

    fn put_value(&mut self, value: &WireValue) {
        match value {
            WireValue::Null => {}
            WireValue::Long(value) => self.put_long(*value),
            WireValue::Bool(value) => self.put_leaf(&[u8::from(*value)]),
            WireValue::Double(value) => self.put_leaf(&value.to_le_bytes()),
            WireValue::Float(value) => self.put_leaf(&value.to_le_bytes()),
            WireValue::Bytes(bytes) => {
                put_varint(&mut self.out, bytes.len() as u64);
                self.record_crc.extend_from_slice(bytes);
                self.out.extend_from_slice(bytes);
            }
            WireValue::Timestamp { seconds, nanos } => {
                self.put_long(*seconds);
                self.record_crc.extend_from_slice(&nanos.to_le_bytes());
                put_varint(&mut self.out, zigzag_encode(i64::from(*nanos)));
            }
            WireValue::Array(items) => self.put_array(items.iter()),
            WireValue::Map(entries) => {
                self.put_array(entries.iter().map(|(key, _)| key));
                self.put_array(entries.iter().map(|(_, value)| value));
            }
            WireValue::Struct(fields) => fields.iter().for_each(|field| self.put_nullable(field)),
        }
    }

    fn put_array<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a WireValue>) {
        put_varint(&mut self.out, items.len() as u64);
        items.for_each(|item| self.put_nullable(item));
    }

    /// The null flag (`1` = NULL; not in the CRC), then the value when present.
    fn put_nullable(&mut self, value: &WireValue) {
        self.out.push(u8::from(matches!(value, WireValue::Null)));
        self.put_value(value);
    }
}

fn zigzag_encode(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

#[inline]
pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    if value < 0x80 {
        out.push(value as u8);
        return;
    }
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use datax_plugin_api::{Column, EpochTime, Record};

    use super::*;
    use crate::codec::{FieldTarget, RecordDecoder};
    use crate::schema::OdpsType;

    #[test]
    fn the_decoder_reads_what_the_encoder_writes() {
        let types = [
            "bigint",
            "double",
            "float",
            "boolean",
            "string",
            "binary",
            "datetime",
            "date",
            "timestamp",
            "decimal(10,2)",
            "array<bigint>",
            "map<string,double>",
            "struct<a:bigint,b:string>",
        ];
        let fields: Vec<FieldTarget> = types
            .iter()
            .enumerate()
            .map(|(column, name)| FieldTarget {
                name: format!("c{column}"),
                odps_type: OdpsType::parse(name).unwrap(),
                column,
            })
            .collect();
        let text = |text: &str| WireValue::Bytes(text.as_bytes().to_vec());
        let mut encoder = RecordEncoder::default();
        encoder.write_record(&[
            WireValue::Long(-7),
            WireValue::Double(2.5),
            WireValue::Float(1.5),
            WireValue::Bool(true),
            text("héllo"),
            WireValue::Bytes(vec![0, 255]),
            WireValue::Long(1_000),
            WireValue::Long(-1),
            WireValue::Timestamp {
                seconds: 60,
                nanos: 5,
            },
            text("12.50"),
            WireValue::Array(vec![WireValue::Long(1), WireValue::Null]),
            WireValue::Map(vec![(text("k"), WireValue::Double(0.5))]),
            WireValue::Struct(vec![WireValue::Null, text("x")]),
        ]);
        encoder.write_record(&vec![WireValue::Null; types.len()]);
        let body = encoder.finish();

        let mut decoder = RecordDecoder::new(body.as_slice(), fields);
        let mut record = Record::new(vec![Column::Null; types.len()]);
        assert!(decoder.next_is_record().unwrap());
        decoder.read_record(&mut record).unwrap().unwrap();
        assert_eq!(
            record.columns,
            vec![
                Column::Long(-7),
                Column::Double(2.5),
                // A FLOAT travels as DataX's text of it (decode.rs `set_float`).
                Column::decimal("1.5"),
                Column::Bool(true),
                Column::string("héllo"),
                Column::Bytes(vec![0u8, 255].into()),
                Column::DateTime(EpochTime::from_millis(1_000)),
                Column::Date(-1),
                Column::Timestamp(EpochTime {
                    seconds: 60,
                    nanos: 5
                }),
                Column::Decimal("12.50".into()),
                Column::string("[1,null]"),
                // Map values and struct fields as strings, null fields left out (json.rs).
                Column::string(r#"{"k":"0.5"}"#),
                Column::string(r#"{"b":"x"}"#),
            ]
        );
        assert!(decoder.next_is_record().unwrap());
        decoder.read_record(&mut record).unwrap().unwrap();
        assert!(record.columns.iter().all(|column| *column == Column::Null));
        assert!(!decoder.next_is_record().unwrap());
        assert_eq!(decoder.records(), 2);
    }
}
