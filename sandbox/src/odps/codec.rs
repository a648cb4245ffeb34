//! The tunnel record stream (odps-tunnel.md §5): protobuf-style fields, a CRC32C per
//! record, a stream CRC over the record CRCs and the count footer. The writer produces
//! download bodies; the reader checks them in tests and in plugins' end-to-end tests.

use std::io::{self, Write};

use super::types::{OdpsType, Value};

// odps-tunnel.md §5.1
pub const TUNNEL_END_RECORD: u32 = 33_553_408;
pub const TUNNEL_META_COUNT: u32 = 33_554_430;
pub const TUNNEL_META_CHECKSUM: u32 = 33_554_431;
pub const TUNNEL_END_METRICS: u32 = 33_554_176;
/// The metrics block reuses field number 1, after `META_COUNT` only.
const METRICS_TAG: u32 = 1;

/// Wire variants a strict reader must accept (odps-tunnel.md §5.3, §10). Both off by
/// default; turn them on to test a reader against the other forms real servers may send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireOptions {
    /// Send the metrics block (`PanguIOCost`, …) and its CRC between the count and the
    /// stream checksum.
    #[serde(default)]
    pub metrics_block: bool,
    /// Write CRCs with the top bit set as 10-byte sign-extended varints, as pyodps's C
    /// writer does, instead of 5 bytes.
    #[serde(default)]
    pub long_crc_varints: bool,
}

/// The metrics JSON the sandbox reports when asked to.
const METRICS_JSON: &str =
    r#"{"PanguIOCost":0,"RateLimitCost":0,"ServerIOCost":0,"ServerTotalCost":1}"#;

const WIRE_VARINT: u32 = 0;
const WIRE_FIXED64: u32 = 1;
const WIRE_LENGTH_DELIMITED: u32 = 2;
const WIRE_FIXED32: u32 = 5;

/// Writes records and, on `finish`, the `META_COUNT` + `META_CHECKSUM` footer.
pub struct RecordWriter<W: Write> {
    out: W,
    options: WireOptions,
    record: Vec<u8>,
    record_crc: u32,
    stream_crc: u32,
    count: u64,
}

impl<W: Write> RecordWriter<W> {
    pub fn new(out: W) -> Self {
        Self::with_options(out, WireOptions::default())
    }

    pub fn with_options(out: W, options: WireOptions) -> Self {
        RecordWriter {
            out,
            options,
            record: Vec::with_capacity(256),
            record_crc: 0,
            stream_crc: 0,
            count: 0,
        }
    }

    /// Writes one record. `fields` pairs each 1-based field number (the column's position in
    /// the requested column list, odps-tunnel.md §4) with its type and value; NULLs are
    /// skipped entirely (§5.2).
    pub fn write_record<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (u32, &'a OdpsType, &'a Value)>,
    ) -> io::Result<()> {
        self.record.clear();
        self.record_crc = 0;
        for (field_number, odps_type, value) in fields {
            if matches!(value, Value::Null) {
                continue;
            }
            // odps-tunnel.md §5.3: the record CRC takes int32 LE(field number) first.
            self.crc(&(field_number as i32).to_le_bytes());
            put_varint(
                &mut self.record,
                u64::from(field_number << 3 | wire_type(odps_type)),
            );
            self.put_value(odps_type, value)?;
        }
        put_varint(
            &mut self.record,
            u64::from(TUNNEL_END_RECORD << 3 | WIRE_VARINT),
        );
        put_crc(&mut self.record, self.record_crc, self.options);
        self.stream_crc = crc32c::crc32c_append(self.stream_crc, &self.record_crc.to_le_bytes());
        self.count += 1;
        self.out.write_all(&self.record)
    }

    /// Writes records that an earlier `write_record` encoded (a cache's copy), given their
    /// CRCs as int32 LE each, in order: the stream CRC and count take them as if they were
    /// written here (odps-tunnel.md §5.3).
    pub fn write_encoded(&mut self, records: &[u8], record_crcs: &[u8]) -> io::Result<()> {
        self.stream_crc = crc32c::crc32c_append(self.stream_crc, record_crcs);
        self.count += (record_crcs.len() / 4) as u64;
        self.out.write_all(records)
    }

    /// The CRC of the record written last.
    pub fn last_record_crc(&self) -> u32 {
        self.record_crc
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Writes the `META_COUNT` + `META_CHECKSUM` footer.
    pub fn finish(&mut self) -> io::Result<()> {
        let mut footer = Vec::with_capacity(24);
        put_varint(&mut footer, u64::from(TUNNEL_META_COUNT << 3 | WIRE_VARINT));
        put_varint(&mut footer, zigzag(self.count as i64));
        if self.options.metrics_block {
            let json = METRICS_JSON.as_bytes();
            put_varint(
                &mut footer,
                u64::from(METRICS_TAG << 3 | WIRE_LENGTH_DELIMITED),
            );
            put_varint(&mut footer, json.len() as u64);
            footer.extend_from_slice(json);
            put_varint(
                &mut footer,
                u64::from(TUNNEL_END_METRICS << 3 | WIRE_VARINT),
            );
            let crc = crc32c::crc32c_append(crc32c::crc32c(&1i32.to_le_bytes()), json);
            put_crc(&mut footer, crc, self.options);
        }
        put_varint(
            &mut footer,
            u64::from(TUNNEL_META_CHECKSUM << 3 | WIRE_VARINT),
        );
        put_crc(&mut footer, self.stream_crc, self.options);
        self.out.write_all(&footer)
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn crc(&mut self, bytes: &[u8]) {
        self.record_crc = crc32c::crc32c_append(self.record_crc, bytes);
    }

    fn put_long(&mut self, v: i64) {
        self.crc(&v.to_le_bytes());
        put_varint(&mut self.record, zigzag(v));
    }

    fn put_bytes(&mut self, bytes: &[u8]) {
        self.crc(bytes);
        put_varint(&mut self.record, bytes.len() as u64);
        self.record.extend_from_slice(bytes);
    }

    /// One value without its tag (§5.2). Nested values use the same encoding.
    fn put_value(&mut self, odps_type: &OdpsType, value: &Value) -> io::Result<()> {
        match (odps_type, value) {
            (_, Value::Int(v)) | (_, Value::Datetime(v)) | (_, Value::Date(v)) => self.put_long(*v),
            (_, Value::Bool(b)) => {
                self.crc(&[u8::from(*b)]);
                self.record.push(u8::from(*b));
            }
            (_, Value::Double(v)) => {
                self.crc(&v.to_le_bytes());
                self.record.extend_from_slice(&v.to_le_bytes());
            }
            (_, Value::Float(v)) => {
                self.crc(&v.to_le_bytes());
                self.record.extend_from_slice(&v.to_le_bytes());
            }
            (_, Value::Bytes(bytes)) => self.put_bytes(bytes),
            (_, Value::Timestamp { seconds, nanos }) => {
                self.put_long(*seconds);
                self.crc(&nanos.to_le_bytes());
                put_varint(&mut self.record, zigzag(i64::from(*nanos)));
            }
            (OdpsType::Array(element), Value::Array(items)) => self.put_array(element, items)?,
            (OdpsType::Map(key_type, value_type), Value::Map(entries)) => {
                let keys: Vec<Value> = entries.iter().map(|(k, _)| k.clone()).collect();
                let values: Vec<Value> = entries.iter().map(|(_, v)| v.clone()).collect();
                self.put_array(key_type, &keys)?;
                self.put_array(value_type, &values)?;
            }
            (OdpsType::Struct(fields), Value::Struct(values)) if fields.len() == values.len() => {
                for ((_, field_type), field_value) in fields.iter().zip(values) {
                    self.put_nullable(field_type, field_value)?;
                }
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("value {value:?} does not fit type {odps_type}"),
                ))
            }
        }
        Ok(())
    }

    fn put_array(&mut self, element: &OdpsType, items: &[Value]) -> io::Result<()> {
        put_varint(&mut self.record, items.len() as u64);
        for item in items {
            self.put_nullable(element, item)?;
        }
        Ok(())
    }

    /// Null flag (`1` = NULL), then the value when present; flags are not in the CRC.
    fn put_nullable(&mut self, odps_type: &OdpsType, value: &Value) -> io::Result<()> {
        if matches!(value, Value::Null) {
            self.record.push(1);
            Ok(())
        } else {
            self.record.push(0);
            self.put_value(odps_type, value)
        }
    }
}

/// A uint32 CRC: 5 bytes at most, as Java's `writeUInt32` writes it, or sign-extended to
/// 10 bytes when its top bit is set, as pyodps's C writer does (odps-tunnel.md §5.3).
fn put_crc(out: &mut Vec<u8>, crc: u32, options: WireOptions) {
    if options.long_crc_varints {
        put_varint(out, crc as i32 as i64 as u64);
    } else {
        put_varint(out, u64::from(crc));
    }
}

fn wire_type(odps_type: &OdpsType) -> u32 {
    match odps_type {
        OdpsType::Bigint
        | OdpsType::Int
        | OdpsType::Smallint
        | OdpsType::Tinyint
        | OdpsType::Boolean
        | OdpsType::Datetime
        | OdpsType::Date => WIRE_VARINT,
        OdpsType::Double => WIRE_FIXED64,
        OdpsType::Float => WIRE_FIXED32,
        _ => WIRE_LENGTH_DELIMITED,
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Why a record stream failed to decode.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("stream ends inside a record or footer")]
    Truncated,
    #[error("record {record}: CRC mismatch (wire {wire:#010x}, computed {computed:#010x})")]
    RecordCrc {
        record: u64,
        wire: u32,
        computed: u32,
    },
    #[error("stream CRC mismatch (wire {wire:#010x}, computed {computed:#010x})")]
    StreamCrc { wire: u32, computed: u32 },
    #[error("footer counts {footer} records, stream held {read}")]
    Count { footer: i64, read: u64 },
    #[error("stream has no META_COUNT/META_CHECKSUM footer")]
    MissingFooter,
    #[error("unexpected field {0}")]
    UnexpectedField(u32),
    #[error("malformed value: {0}")]
    Malformed(String),
}

/// Decodes a whole record stream against the types of the requested columns, checking every
/// CRC and the footer the way odps-tunnel.md §5.3 asks a strict reader to.
pub fn decode_records(body: &[u8], columns: &[OdpsType]) -> Result<Vec<Vec<Value>>, DecodeError> {
    let mut reader = Reader {
        body,
        pos: 0,
        crc: 0,
    };
    let mut rows = Vec::new();
    let mut row = vec![Value::Null; columns.len()];
    let mut stream_crc = 0u32;
    let mut footer_count = None;
    while reader.pos < body.len() {
        let tag = reader.varint()?;
        let field = (tag >> 3) as u32;
        match field {
            TUNNEL_END_RECORD => {
                let wire = reader.varint()? as u32;
                let computed = reader.crc;
                if wire != computed {
                    return Err(DecodeError::RecordCrc {
                        record: rows.len() as u64,
                        wire,
                        computed,
                    });
                }
                stream_crc = crc32c::crc32c_append(stream_crc, &computed.to_le_bytes());
                reader.crc = 0;
                rows.push(std::mem::replace(
                    &mut row,
                    vec![Value::Null; columns.len()],
                ));
            }
            TUNNEL_META_COUNT => footer_count = Some(unzigzag(reader.varint()?)),
            METRICS_TAG if footer_count.is_some() => {
                let length = reader.varint()? as usize;
                let json = reader.take(length)?.to_vec();
                let end_tag = reader.varint()?;
                if end_tag >> 3 != u64::from(TUNNEL_END_METRICS) {
                    return Err(DecodeError::Malformed(
                        "metrics block without its end tag".into(),
                    ));
                }
                let wire = reader.varint()? as u32;
                let computed = crc32c::crc32c_append(crc32c::crc32c(&1i32.to_le_bytes()), &json);
                if wire != computed {
                    return Err(DecodeError::Malformed("metrics CRC mismatch".into()));
                }
            }
            TUNNEL_META_CHECKSUM => {
                let wire = reader.varint()? as u32;
                if wire != stream_crc {
                    return Err(DecodeError::StreamCrc {
                        wire,
                        computed: stream_crc,
                    });
                }
                let footer = footer_count.ok_or(DecodeError::MissingFooter)?;
                if footer != rows.len() as i64 {
                    return Err(DecodeError::Count {
                        footer,
                        read: rows.len() as u64,
                    });
                }
                if reader.pos != body.len() {
                    return Err(DecodeError::Malformed("bytes after the footer".into()));
                }
                return Ok(rows);
            }
            n if n >= 1 && (n as usize) <= columns.len() => {
                reader.crc(&(n as i32).to_le_bytes());
                row[n as usize - 1] = reader.value(&columns[n as usize - 1])?;
            }
            other => return Err(DecodeError::UnexpectedField(other)),
        }
    }
    Err(DecodeError::MissingFooter)
}

struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
    crc: u32,
}

impl Reader<'_> {
    fn crc(&mut self, bytes: &[u8]) {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
    }

    /// Up to 10 bytes, so the sign-extended CRC form of pyodps's C writer is read too.
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = *self.body.get(self.pos).ok_or(DecodeError::Truncated)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed("varint longer than 10 bytes".into()))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let bytes = self.body.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn long(&mut self) -> Result<i64, DecodeError> {
        let v = unzigzag(self.varint()?);
        self.crc(&v.to_le_bytes());
        Ok(v)
    }

    fn value(&mut self, odps_type: &OdpsType) -> Result<Value, DecodeError> {
        Ok(match odps_type {
            OdpsType::Bigint | OdpsType::Int | OdpsType::Smallint | OdpsType::Tinyint => {
                Value::Int(self.long()?)
            }
            OdpsType::Datetime => Value::Datetime(self.long()?),
            OdpsType::Date => Value::Date(self.long()?),
            OdpsType::Boolean => {
                let b = self.varint()? != 0;
                self.crc(&[u8::from(b)]);
                Value::Bool(b)
            }
            OdpsType::Double => {
                let bytes: [u8; 8] = self
                    .take(8)?
                    .try_into()
                    .map_err(|_| DecodeError::Truncated)?;
                self.crc(&bytes);
                Value::Double(f64::from_le_bytes(bytes))
            }
            OdpsType::Float => {
                let bytes: [u8; 4] = self
                    .take(4)?
                    .try_into()
                    .map_err(|_| DecodeError::Truncated)?;
                self.crc(&bytes);
                Value::Float(f32::from_le_bytes(bytes))
            }
            OdpsType::Timestamp | OdpsType::TimestampNtz => {
                let seconds = self.long()?;
                let nanos = unzigzag(self.varint()?) as i32;
                self.crc(&nanos.to_le_bytes());
                Value::Timestamp { seconds, nanos }
            }
            OdpsType::Array(element) => Value::Array(self.array(element)?),
            OdpsType::Map(key_type, value_type) => {
                let keys = self.array(key_type)?;
                let values = self.array(value_type)?;
                if keys.len() != values.len() {
                    return Err(DecodeError::Malformed("map key/value counts differ".into()));
                }
                Value::Map(keys.into_iter().zip(values).collect())
            }
            OdpsType::Struct(fields) => Value::Struct(
                fields
                    .iter()
                    .map(|(_, field_type)| self.nullable(field_type))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                let length = self.varint()? as usize;
                let bytes = self.take(length)?.to_vec();
                self.crc(&bytes);
                Value::Bytes(bytes)
            }
        })
    }

    fn array(&mut self, element: &OdpsType) -> Result<Vec<Value>, DecodeError> {
        let count = self.varint()? as usize;
        if count > self.body.len() {
            return Err(DecodeError::Malformed("array count exceeds body".into()));
        }
        (0..count).map(|_| self.nullable(element)).collect()
    }

    fn nullable(&mut self, odps_type: &OdpsType) -> Result<Value, DecodeError> {
        if self.varint()? != 0 {
            Ok(Value::Null)
        } else {
            self.value(odps_type)
        }
    }
}
