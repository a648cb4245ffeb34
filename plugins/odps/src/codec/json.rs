//! The JSON text of ARRAY, MAP and STRUCT values (datax-engine.md §7.5), rendered while
//! they are read: numbers stay numbers, datetimes become `yyyy-MM-dd HH:mm:ss` (GMT+8),
//! binary becomes Base64, other scalars become strings.

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

/// Renders a value, complex or leaf, as JSON text.
pub(super) fn render_value<R: Read>(
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
            outcome = render_map(input, key_type, value_type, crc, out)?
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

/// Keys as an array, then values as an array (odps-tunnel.md §5.2); a JSON object.
fn render_map<R: Read>(
    input: &mut ByteReader<R>,
    key_type: &OdpsType,
    value_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
) -> Result<Result<(), String>, DecodeError> {
    let mut outcome = Ok(());
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
    render_value(input, odps_type, crc, out)
}

/// A leaf value inside a complex one.
fn render_scalar<R: Read>(
    input: &mut ByteReader<R>,
    odps_type: &OdpsType,
    crc: &mut Crc,
    out: &mut String,
) -> Result<Result<(), String>, DecodeError> {
    match odps_type {
        OdpsType::Integer => {
            let _ = write!(out, "{}", read_long(input, crc)?);
        }
        OdpsType::Boolean => out.push_str(if read_bool(input, crc)? {
            "true"
        } else {
            "false"
        }),
        OdpsType::Double => push_json_number(out, f64::from_le_bytes(read_fixed(input, crc)?)),
        OdpsType::Float => push_json_float(out, f32::from_le_bytes(read_fixed(input, crc)?)),
        OdpsType::Datetime => {
            let epoch = EpochTime::from_millis(read_long(input, crc)?);
            push_quoted(out, |text| {
                text::write_local_date_time(text, epoch.seconds, 0)
            });
        }
        OdpsType::Date => {
            let days = read_long(input, crc)?;
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
            let months = read_long(input, crc)?;
            let (years, months) = (months / 12, months % 12);
            let _ = write!(out, "{{\"years\":{years},\"months\":{months}}}");
        }
        OdpsType::Decimal => {
            return with_length_prefixed(input, crc, |bytes| render_decimal(bytes, out))
        }
        OdpsType::Binary => with_length_prefixed(input, crc, |bytes| {
            out.push('"');
            base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
            out.push('"');
        })?,
        OdpsType::Text | OdpsType::Json => {
            return with_length_prefixed(input, crc, |bytes| render_text(bytes, out))
        }
        OdpsType::Array(_) | OdpsType::Map(..) | OdpsType::Struct(_) => {
            return render_value(input, odps_type, crc, out)
        }
    }
    Ok(Ok(()))
}

#[inline]
fn render_decimal(bytes: &[u8], out: &mut String) -> Result<(), String> {
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
}

#[inline]
fn render_text(bytes: &[u8], out: &mut String) -> Result<(), String> {
    push_json_string(out, &String::from_utf8_lossy(bytes));
    if std::str::from_utf8(bytes).is_ok() {
        Ok(())
    } else {
        Err("the text is not valid UTF-8".to_string())
    }
}

fn push_json_float(out: &mut String, value: f32) {
    if value.is_finite() {
        let _ = write!(out, "{value}");
    } else {
        push_json_string(out, &value.to_string());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
