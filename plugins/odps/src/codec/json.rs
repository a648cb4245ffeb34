//! The JSON text of ARRAY, MAP and STRUCT values, rendered while they are read, as DataX's
//! odpsreader builds it: `ReaderProxy.transOdps{Array,Map,Struct}…` turns the value into Java
//! lists and `HashMap`s, then fastjson's `JSON.toJSONString` writes them (datax-engine.md
//! §7.5):
//! - array elements of BIGINT/INT/…, DOUBLE, FLOAT and DECIMAL stay JSON numbers; every other
//!   scalar becomes its `toString()` (`["true","false",null]`); null elements stay `null`
//! - map values and struct fields: every scalar becomes its `toString()` (`{"x":"1"}`, a
//!   double as `1.0E7`); a null value is left out (fastjson skips null map values)
//! - maps and structs are `HashMap`s: entries in Java's `HashMap` iteration order
//! - DATETIME `yyyy-MM-dd HH:mm:ss`; TIMESTAMP `java.sql.Timestamp.toString()`
//!   (`2016-12-26 10:00:00.0`); DATE `yyyy-MM-dd` (all in GMT+8, datax-semantics.md §5)
//! - BINARY: commons-codec `Base64.encodeBase64` gives bytes, which fastjson (with
//!   `WriteByteArrayAsBase64`) writes as Base64 again
//! - intervals: `HashMap`s of numbers, `totalSeconds`/`nanos` and `years`/`months`

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;

use base64::Engine as _;
use datax_plugin_api::EpochTime;
use datax_plugin_kit::text;

use super::bytes::ByteReader;
use super::crc::Crc;
use super::decimal::plain_decimal;
use super::scalar::{
    read_bool, read_fixed, read_long, read_seconds_nanos, read_timestamp, with_length_prefixed,
};
use super::DecodeError;
use crate::schema::OdpsType;

/// Whether a value is fine, or why its record is dirty.
type Outcome = Result<(), String>;

/// How the scalars of a complex value are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scalars {
    /// Array elements: numbers as numbers, other scalars as strings.
    InArray,
    /// Map values and struct fields: every scalar as a string.
    AsStrings,
}

/// Renders a complex value (a scalar as a map value would be) as JSON text.
pub(super) fn render_value<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
) -> Result<Outcome, DecodeError> {
    match odps_type {
        OdpsType::Array(element) => render_array(input, element, crc, out),
        OdpsType::Map(key_type, value_type) => render_map(input, key_type, value_type, crc, out),
        OdpsType::Struct(fields) => render_struct(input, fields, crc, out),
        scalar => render_scalar(input, scalar, crc, out, Scalars::AsStrings),
    }
}

fn render_array<R: Read>(
    input: &mut ByteReader<R>,
    element: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
) -> Result<Outcome, DecodeError> {
    let mut outcome = Ok(());
    out.push('[');
    let count = input.varint()?;
    for index in 0..count {
        if index > 0 {
            out.push(',');
        }
        if is_null(input)? {
            out.push_str("null");
        } else {
            outcome = outcome.and(render_element(input, element, crc, out, Scalars::InArray)?);
        }
    }
    out.push(']');
    Ok(outcome)
}

/// A struct is a `HashMap` of field name to value; null fields are left out.
fn render_struct<R: Read>(
    input: &mut ByteReader<R>,
    fields: &[(String, OdpsType)],
    crc: &mut Crc,
    out: &mut String,
) -> Result<Outcome, DecodeError> {
    let mut outcome = Ok(());
    let mut entries = Vec::with_capacity(fields.len());
    for (name, field_type) in fields {
        let mut key = String::new();
        push_json_string(&mut key, name);
        let value = if is_null(input)? {
            None
        } else {
            let mut value = String::new();
            outcome = outcome.and(render_element(
                input,
                field_type,
                crc,
                &mut value,
                Scalars::AsStrings,
            )?);
            Some(value)
        };
        entries.push(Entry {
            key,
            hash: java_string_hash(name),
            value,
        });
    }
    write_hash_map(out, entries);
    Ok(outcome)
}

/// Keys as an array, then values as an array (odps-tunnel.md §5.2); a `HashMap` where a
/// repeated key keeps its first place and its last value.
fn render_map<R: Read>(
    input: &mut ByteReader<R>,
    key_type: &OdpsType,
    value_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
) -> Result<Outcome, DecodeError> {
    let mut outcome = Ok(());
    let key_count = input.varint()?;
    let mut keys = Vec::new();
    for _ in 0..key_count {
        let (key, key_outcome) = map_key(input, key_type, crc)?;
        outcome = outcome.and(key_outcome);
        keys.push(key);
    }
    let value_count = input.varint()?;
    if value_count != key_count {
        return Err(DecodeError::new(format!(
            "a map has {key_count} keys but {value_count} values (corrupt stream)"
        )));
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(keys.len());
    let mut places: HashMap<String, usize> = HashMap::with_capacity(keys.len());
    for (key, hash) in keys {
        let value = if is_null(input)? {
            None
        } else {
            let mut value = String::new();
            outcome = outcome.and(render_element(
                input,
                value_type,
                crc,
                &mut value,
                Scalars::AsStrings,
            )?);
            Some(value)
        };
        match places.get(&key) {
            Some(&place) => entries[place].value = value,
            None => {
                places.insert(key.clone(), entries.len());
                entries.push(Entry { key, hash, value });
            }
        }
    }
    write_hash_map(out, entries);
    Ok(outcome)
}

/// A map key as fastjson writes it, and its Java `hashCode`: numbers and booleans bare
/// (fastjson writes non-string keys unquoted), the rest as strings.
fn map_key<R: Read>(
    input: &mut ByteReader<R>,
    key_type: &OdpsType,
    crc: &mut Crc,
) -> Result<((String, i32), Outcome), DecodeError> {
    if is_null(input)? {
        // HashMap keeps a null key in bucket 0.
        return Ok((("null".to_string(), 0), Ok(())));
    }
    let mut text = String::new();
    let (kind, outcome) = scalar_text(input, key_type, crc, &mut text)?;
    let hash = match kind {
        ScalarKind::Long(value) => (value ^ ((value as u64) >> 32) as i64) as i32,
        ScalarKind::Boolean(value) => {
            if value {
                1231
            } else {
                1237
            }
        }
        ScalarKind::Double(bits) => (bits ^ (bits >> 32)) as i32,
        ScalarKind::Float(bits) => bits as i32,
        // A byte[] key hashes by identity: no order to reproduce; keep the stream's.
        ScalarKind::Binary => 0,
        ScalarKind::Text | ScalarKind::Decimal | ScalarKind::Complex => java_string_hash(&text),
    };
    let key = match kind {
        ScalarKind::Long(_) | ScalarKind::Boolean(_) => text,
        ScalarKind::Double(_) | ScalarKind::Float(_) if is_json_number(&text) => text,
        _ => {
            let mut quoted = String::with_capacity(text.len() + 2);
            push_json_string(&mut quoted, &text);
            quoted
        }
    };
    Ok(((key, hash), outcome))
}

/// One `HashMap` entry: its key's JSON, the key's Java `hashCode`, its value's JSON (none:
/// null, counted in the map's size but not written).
struct Entry {
    key: String,
    hash: i32,
    value: Option<String>,
}

/// Writes `entries` (in insertion order) as a JSON object in Java 8 `HashMap` iteration
/// order: by bucket (the spread hash modulo the table size, 16 doubled while the entries
/// pass three quarters of it), insertion order within a bucket.
fn write_hash_map(out: &mut String, mut entries: Vec<Entry>) {
    let mut table_size = 16usize;
    while entries.len() > table_size / 4 * 3 {
        table_size *= 2;
    }
    let bucket = |hash: i32| {
        let hash = hash as u32;
        (hash ^ (hash >> 16)) as usize & (table_size - 1)
    };
    entries.sort_by_key(|entry| bucket(entry.hash));
    out.push('{');
    let mut first = true;
    for entry in &entries {
        let Some(value) = &entry.value else { continue };
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&entry.key);
        out.push(':');
        out.push_str(value);
    }
    out.push('}');
}

/// Java's `String.hashCode`: over UTF-16 code units.
fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

fn is_null<R: Read>(input: &mut ByteReader<R>) -> Result<bool, DecodeError> {
    Ok(input.varint()? != 0)
}

/// A value inside a complex one: complex values nest, scalars as `scalars` says.
fn render_element<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
    scalars: Scalars,
) -> Result<Outcome, DecodeError> {
    match odps_type {
        OdpsType::Array(_) | OdpsType::Map(..) | OdpsType::Struct(_) => {
            render_value(input, odps_type, crc, out)
        }
        scalar => render_scalar(input, scalar, crc, out, scalars),
    }
}

fn render_scalar<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
    scalars: Scalars,
) -> Result<Outcome, DecodeError> {
    let mut text = String::new();
    let (kind, outcome) = scalar_text(input, odps_type, crc, &mut text)?;
    let numeric = matches!(
        kind,
        ScalarKind::Long(_) | ScalarKind::Double(_) | ScalarKind::Float(_) | ScalarKind::Decimal
    );
    let bare = match kind {
        ScalarKind::Complex => true,
        _ => scalars == Scalars::InArray && numeric && is_json_number(&text),
    };
    if bare {
        out.push_str(&text);
    } else {
        push_json_string(out, &text);
    }
    Ok(outcome)
}

/// What a scalar was, for its key hash and whether it may stay a JSON number.
enum ScalarKind {
    Long(i64),
    Boolean(bool),
    /// `Double.doubleToLongBits`.
    Double(u64),
    /// `Float.floatToIntBits`.
    Float(u32),
    Decimal,
    Binary,
    Text,
    /// An interval: already JSON.
    Complex,
}

/// Appends the Java `toString()` (or DataX's form) of a scalar to `text`, unquoted.
fn scalar_text<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    crc: &mut Crc,
    text: &mut String,
) -> Result<(ScalarKind, Outcome), DecodeError> {
    let kind = match odps_type {
        OdpsType::Integer => {
            let value = read_long(input, crc)?;
            let _ = write!(text, "{value}");
            ScalarKind::Long(value)
        }
        OdpsType::Boolean => {
            let value = read_bool(input, crc)?;
            text.push_str(if value { "true" } else { "false" });
            ScalarKind::Boolean(value)
        }
        OdpsType::Double => {
            let value = f64::from_le_bytes(read_fixed(input, crc)?);
            push_ascii(text, |out| text::write_java_double_string(out, value));
            let bits = if value.is_nan() { f64::NAN } else { value }.to_bits();
            ScalarKind::Double(bits)
        }
        OdpsType::Float => {
            let value = f32::from_le_bytes(read_fixed(input, crc)?);
            push_ascii(text, |out| text::write_java_float_string(out, value));
            ScalarKind::Float(if value.is_nan() { f32::NAN } else { value }.to_bits())
        }
        OdpsType::Datetime => {
            let epoch = EpochTime::from_millis(read_long(input, crc)?);
            push_ascii(text, |out| text::write_local_date_time(out, epoch.seconds));
            ScalarKind::Text
        }
        OdpsType::Date => {
            let days = read_long(input, crc)?;
            push_ascii(text, |out| text::write_date(out, days));
            ScalarKind::Text
        }
        OdpsType::Timestamp | OdpsType::TimestampNtz => {
            let (seconds, nanos) = read_timestamp(odps_type, input, crc)?;
            push_timestamp_string(text, seconds, nanos.max(0) as u32);
            ScalarKind::Text
        }
        OdpsType::IntervalDayTime => {
            let (seconds, nanos) = read_seconds_nanos(input, crc)?;
            push_number_map(text, [("totalSeconds", seconds), ("nanos", nanos.into())]);
            ScalarKind::Complex
        }
        OdpsType::IntervalYearMonth => {
            let months = read_long(input, crc)?;
            push_number_map(text, [("years", months / 12), ("months", months % 12)]);
            ScalarKind::Complex
        }
        OdpsType::Decimal => {
            let outcome = with_length_prefixed(input, crc, |bytes| decimal_text(bytes, text))?;
            return Ok((ScalarKind::Decimal, outcome));
        }
        OdpsType::Binary => {
            with_length_prefixed(input, crc, |bytes| {
                let once = base64::engine::general_purpose::STANDARD.encode(bytes);
                base64::engine::general_purpose::STANDARD.encode_string(once, text);
            })?;
            ScalarKind::Binary
        }
        OdpsType::Text | OdpsType::Json => {
            let outcome = with_length_prefixed(input, crc, |bytes| utf8_text(bytes, text))?;
            return Ok((ScalarKind::Text, outcome));
        }
        OdpsType::Array(_) | OdpsType::Map(..) | OdpsType::Struct(_) => {
            let outcome = render_value(input, odps_type, crc, text)?;
            return Ok((ScalarKind::Complex, outcome));
        }
    };
    Ok((kind, Ok(())))
}

/// `java.sql.Timestamp.toString()`: `yyyy-MM-dd HH:mm:ss.f`, the nanoseconds without
/// trailing zeros but at least one digit.
fn push_timestamp_string(text: &mut String, seconds: i64, nanos: u32) {
    push_ascii(text, |out| text::write_local_date_time(out, seconds));
    let fraction = format!("{nanos:09}");
    text.push('.');
    text.push_str(fraction.trim_end_matches('0').max("0"));
}

fn push_number_map<const N: usize>(text: &mut String, fields: [(&str, i64); N]) {
    let entries = fields
        .iter()
        .map(|(name, value)| Entry {
            key: format!("\"{name}\""),
            hash: java_string_hash(name),
            value: Some(value.to_string()),
        })
        .collect();
    write_hash_map(text, entries);
}

fn decimal_text(bytes: &[u8], text: &mut String) -> Outcome {
    let raw = String::from_utf8_lossy(bytes);
    match plain_decimal(raw.trim()) {
        Some(plain) => {
            text.push_str(&plain);
            Ok(())
        }
        None => {
            text.push_str(&raw);
            Err(format!("\"{raw}\" is not a decimal number"))
        }
    }
}

fn utf8_text(bytes: &[u8], text: &mut String) -> Outcome {
    text.push_str(&String::from_utf8_lossy(bytes));
    if std::str::from_utf8(bytes).is_ok() {
        Ok(())
    } else {
        Err("the text is not valid UTF-8".to_string())
    }
}

/// Whether Java's text of a number is also a JSON number (`NaN` and `Infinity` are not).
fn is_json_number(text: &str) -> bool {
    text.bytes()
        .all(|byte| byte.is_ascii_digit() || b"-.E".contains(&byte))
}

/// Appends what `write` writes (ASCII: DataX's text of dates and numbers).
fn push_ascii(text: &mut String, write: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = Vec::with_capacity(32);
    write(&mut bytes);
    text.push_str(&String::from_utf8_lossy(&bytes));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode::put_varint;

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

    /// The wire form of one complex value, built by the test.
    #[derive(Default)]
    struct Wire(Vec<u8>);

    impl Wire {
        fn varint(mut self, value: u64) -> Self {
            put_varint(&mut self.0, value);
            self
        }
        fn long(self, value: i64) -> Self {
            self.varint(((value << 1) ^ (value >> 63)) as u64)
        }
        fn present(self) -> Self {
            self.varint(0)
        }
        fn null(self) -> Self {
            self.varint(1)
        }
        fn bytes(self, bytes: &[u8]) -> Self {
            let mut wire = self.varint(bytes.len() as u64);
            wire.0.extend_from_slice(bytes);
            wire
        }
        fn fixed(mut self, bytes: &[u8]) -> Self {
            self.0.extend_from_slice(bytes);
            self
        }
    }

    fn rendered(type_name: &str, wire: Wire) -> String {
        let odps_type = OdpsType::parse(type_name).unwrap();
        let mut input = ByteReader::new(wire.0.as_slice());
        let mut out = String::new();
        render_value(&mut input, &odps_type, &mut Crc::default(), &mut out)
            .unwrap()
            .unwrap();
        out
    }

    /// `transOdpsArrayToJavaList`, case BOOLEAN: `object.toString()` per element, null kept
    /// (`NULL_INDICATOR`); fastjson writes a list's nulls.
    #[test]
    fn array_of_booleans_holds_strings_and_nulls() {
        let wire = Wire::default()
            .varint(3)
            .present()
            .varint(1)
            .present()
            .varint(0)
            .null();
        assert_eq!(rendered("array<boolean>", wire), r#"["true","false",null]"#);
    }

    /// Case BIGINT/DOUBLE/…: the element object itself, which fastjson writes as a number.
    #[test]
    fn array_of_numbers_holds_numbers() {
        let wire = Wire::default()
            .varint(2)
            .present()
            .long(-3)
            .present()
            .long(7);
        assert_eq!(rendered("array<bigint>", wire), "[-3,7]");
        let wire = Wire::default()
            .varint(2)
            .present()
            .fixed(&1.5f64.to_le_bytes())
            .null();
        assert_eq!(rendered("array<double>", wire), "[1.5,null]");
    }

    /// Case DATETIME: `dateFormat.format` (`yyyy-MM-dd HH:mm:ss`); TIMESTAMP:
    /// `Timestamp.toString()`, its nanoseconds kept (`.0` when there are none).
    #[test]
    fn array_of_dates_and_timestamps_holds_their_java_text() {
        // 2016-12-26 10:00:00 GMT+8.
        let wire = Wire::default().varint(1).present().long(1_482_717_600_000);
        assert_eq!(
            rendered("array<datetime>", wire),
            r#"["2016-12-26 10:00:00"]"#
        );
        let wire = Wire::default()
            .varint(2)
            .present()
            .long(1_482_717_600)
            .long(123_456_789)
            .present()
            .long(1_482_717_600)
            .long(0);
        assert_eq!(
            rendered("array<timestamp>", wire),
            r#"["2016-12-26 10:00:00.123456789","2016-12-26 10:00:00.0"]"#
        );
        let wire = Wire::default().varint(1).present().long(17_161);
        assert_eq!(rendered("array<date>", wire), r#"["2016-12-26"]"#);
    }

    /// Case BINARY: `Base64.encodeBase64(bytes)` is a byte[] (the Base64 text's bytes), and
    /// fastjson writes a byte[] as Base64: `[1,2,3]` → `AQID` → `QVFJRA==`.
    #[test]
    fn binary_is_base64_twice() {
        let wire = Wire::default().varint(1).present().bytes(&[1, 2, 3]);
        assert_eq!(rendered("array<binary>", wire), r#"["QVFJRA=="]"#);
    }

    /// `transOdpsMapToJavaMap`, scalar values: `value.toString()` (a double as Java's
    /// `1.0E7`), null values left out by fastjson; keys in HashMap order: "b" (98) lands in
    /// bucket 2, "a" (97) in 1, "x" (120) in 8.
    #[test]
    fn map_values_are_strings_in_hash_map_order_without_nulls() {
        let wire = Wire::default()
            .varint(3)
            .present()
            .bytes(b"x")
            .present()
            .bytes(b"b")
            .present()
            .bytes(b"a")
            .varint(3)
            .present()
            .fixed(&1e7f64.to_le_bytes())
            .present()
            .fixed(&0.5f64.to_le_bytes())
            .null();
        assert_eq!(
            rendered("map<string,double>", wire),
            r#"{"b":"0.5","x":"1.0E7"}"#
        );
        let wire = Wire::default()
            .varint(1)
            .present()
            .bytes(b"x")
            .varint(1)
            .present()
            .long(1);
        assert_eq!(rendered("map<string,bigint>", wire), r#"{"x":"1"}"#);
    }

    /// Non-string keys are written bare by fastjson; a Long key hashes as `v ^ (v >>> 32)`.
    #[test]
    fn map_with_bigint_keys_writes_them_bare() {
        let wire = Wire::default()
            .varint(2)
            .present()
            .long(17)
            .present()
            .long(2)
            .varint(2)
            .present()
            .bytes(b"p")
            .present()
            .bytes(b"q");
        // 17 & 15 = 1 comes before nothing; 2 is bucket 2: 17 first.
        assert_eq!(rendered("map<bigint,string>", wire), r#"{17:"p",2:"q"}"#);
    }

    /// `transOdpsStructToJavaMap`: a HashMap of field name to `toString()`, null fields left
    /// out, nested values converted the same way, DATETIME formatted.
    #[test]
    fn struct_fields_are_strings_in_hash_map_order() {
        let wire = Wire::default()
            .present()
            .long(9)
            .null()
            .present()
            .varint(2)
            .present()
            .bytes(b"p")
            .null()
            .present()
            .long(1_482_717_600_000);
        assert_eq!(
            rendered(
                "struct<name:bigint,b:string,c:array<string>,at:datetime>",
                wire
            ),
            // "c" (99) and then "at" (3123) in bucket 3, "name" (3373707) in 8.
            r#"{"c":["p",null],"at":"2016-12-26 10:00:00","name":"9"}"#
        );
    }

    /// `transIntervalDayTimeToJavaMap`: a HashMap of two numbers; "nanos" lands in bucket
    /// 4, "totalSeconds" in 9.
    #[test]
    fn intervals_are_maps_of_numbers() {
        let wire = Wire::default().varint(1).present().long(90).long(5);
        assert_eq!(
            rendered("array<interval_day_time>", wire),
            r#"[{"nanos":5,"totalSeconds":90}]"#
        );
    }

    /// Java 8 HashMap order: 13 entries grow the table to 32 buckets.
    #[test]
    fn hash_map_order_follows_the_table_size() {
        let keys: Vec<String> = (0..13).map(|n| format!("k{n}")).collect();
        let entries = keys
            .iter()
            .map(|key| Entry {
                key: key.clone(),
                hash: java_string_hash(key),
                value: Some("1".into()),
            })
            .collect();
        let mut out = String::new();
        write_hash_map(&mut out, entries);
        let order: Vec<&str> = out[1..out.len() - 1]
            .split(',')
            .map(|entry| entry.split(':').next().unwrap())
            .collect();
        let mut expected = keys.clone();
        expected.sort_by_key(|key| {
            let hash = java_string_hash(key) as u32;
            (hash ^ (hash >> 16)) & 31
        });
        assert_eq!(order, expected);
        assert_eq!(java_string_hash("k0"), 3365);
        assert_eq!(java_string_hash("日志"), 26_085 * 31 + 24_535);
    }
}
