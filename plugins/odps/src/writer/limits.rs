//! The checks the tunnel makes of every value (odps-tunnel.md §8), made here first: the service
//! refuses a whole block for one value that does not fit its column, which would fail the job,
//! so such a value makes its record dirty instead (or, for text and binary over length, is cut
//! or nulled as `overLengthRule` says, DataX's `OdpsUtil.processOverLengthData`).
//!
//! * TINYINT, SMALLINT, INT: the value's range (DataX's `Byte.valueOf` refuses, its
//!   `shortValue()`/`intValue()` wrap silently; a wrapped value is a wrong value, so here both
//!   are dirty);
//! * VARCHAR(n), CHAR(n): at most n characters; STRING, BINARY, JSON: at most `maxFieldLength`
//!   bytes (the service's 8 MiB by default);
//! * DECIMAL(p,s): at most p − s integer digits (the service rounds the fraction).

use std::ops::RangeInclusive;

use crate::codec::encode::WireValue;
use crate::schema::SchemaColumn;

use super::config::OverLengthRule;

/// What one table column takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueLimit {
    None,
    Range(RangeInclusive<i64>),
    /// Text or bytes: at most this many bytes, and for VARCHAR / CHAR this many characters.
    Length {
        bytes: usize,
        chars: Option<usize>,
    },
    /// DECIMAL(p,s): at most this many integer digits.
    IntegerDigits(usize),
}

/// Why a value was refused: the record is dirty, or (`overLengthRule: error`) the job fails.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Dirty(String),
    Fatal(String),
}

impl ValueLimit {
    /// The limit of `column`, its type as the service names it; STRING and BINARY values up to
    /// `max_field_bytes`.
    pub fn of(column: &SchemaColumn, max_field_bytes: usize) -> ValueLimit {
        let type_name = column.type_name.trim().to_ascii_lowercase();
        let (base, arguments) = match type_name.split_once('(') {
            Some((base, rest)) => (base.trim(), rest.trim_end_matches(')')),
            None => (type_name.as_str(), ""),
        };
        let number = |text: &str| text.trim().parse::<usize>().ok();
        match base {
            "tinyint" => ValueLimit::Range(i64::from(i8::MIN)..=i64::from(i8::MAX)),
            "smallint" => ValueLimit::Range(i64::from(i16::MIN)..=i64::from(i16::MAX)),
            "int" => ValueLimit::Range(i64::from(i32::MIN)..=i64::from(i32::MAX)),
            "varchar" | "char" => ValueLimit::Length {
                bytes: max_field_bytes,
                chars: number(arguments),
            },
            "string" | "binary" | "json" => ValueLimit::Length {
                bytes: max_field_bytes,
                chars: None,
            },
            "decimal" => {
                let mut parts = arguments.split(',');
                match (parts.next().and_then(number), parts.next().and_then(number)) {
                    (Some(precision), Some(scale)) if scale <= precision => {
                        ValueLimit::IntegerDigits(precision - scale)
                    }
                    // `decimal` alone is MaxCompute 1.0's decimal(54,18).
                    _ => ValueLimit::IntegerDigits(36),
                }
            }
            _ => ValueLimit::None,
        }
    }

    /// `value` as the column takes it, or why not.
    pub fn apply(&self, value: WireValue, rule: OverLengthRule) -> Result<WireValue, Refusal> {
        match (self, value) {
            (ValueLimit::Range(range), WireValue::Long(number)) if !range.contains(&number) => {
                Err(Refusal::Dirty(format!(
                    "{number} is outside {}..={}",
                    range.start(),
                    range.end()
                )))
            }
            (ValueLimit::Length { bytes, chars }, WireValue::Bytes(data)) => {
                over_length(data, *bytes, *chars, rule)
            }
            (ValueLimit::IntegerDigits(allowed), WireValue::Bytes(text)) => {
                let digits = integer_digits(&text);
                if digits > *allowed {
                    return Err(Refusal::Dirty(format!(
                        "{} has {digits} integer digits, more than the {allowed} the decimal \
                         column takes",
                        String::from_utf8_lossy(&text)
                    )));
                }
                Ok(WireValue::Bytes(text))
            }
            (_, value) => Ok(value),
        }
    }
}

/// Text or bytes over `max_bytes` (or `max_chars` characters) handled as `rule` says.
fn over_length(
    data: Vec<u8>,
    max_bytes: usize,
    max_chars: Option<usize>,
    rule: OverLengthRule,
) -> Result<WireValue, Refusal> {
    let char_count = || String::from_utf8_lossy(&data).chars().count();
    let too_many_chars = max_chars.filter(|&limit| data.len() > limit && char_count() > limit);
    if data.len() <= max_bytes && too_many_chars.is_none() {
        return Ok(WireValue::Bytes(data));
    }
    let what = match too_many_chars {
        Some(limit) => format!(
            "{} characters, more than its column's {limit}",
            char_count()
        ),
        None => format!(
            "{} bytes, more than maxFieldLength ({max_bytes})",
            data.len()
        ),
    };
    match rule {
        OverLengthRule::Dirty => Err(Refusal::Dirty(format!(
            "the value has {what} (overLengthRule: dirty)"
        ))),
        OverLengthRule::Error => Err(Refusal::Fatal(format!(
            "the value has {what} (overLengthRule: error)"
        ))),
        OverLengthRule::SetNull => Ok(WireValue::Null),
        OverLengthRule::Truncate => Ok(WireValue::Bytes(truncated(
            data,
            max_bytes,
            max_chars.unwrap_or(usize::MAX),
        ))),
    }
}

/// At most `max_bytes` bytes and `max_chars` characters, cut where a UTF-8 character starts;
/// bytes that are not UTF-8 (BINARY) are cut at `max_bytes`.
fn truncated(mut data: Vec<u8>, max_bytes: usize, max_chars: usize) -> Vec<u8> {
    let end = match std::str::from_utf8(&data) {
        Ok(text) => text
            .char_indices()
            .map(|(at, _)| at)
            .chain(std::iter::once(text.len()))
            .take(max_chars.saturating_add(1))
            .take_while(|&at| at <= max_bytes)
            .last()
            .unwrap_or(0),
        Err(_) => max_bytes.min(data.len()),
    };
    data.truncate(end);
    data
}

/// The digits before the point of a decimal's plain text, leading zeros not counted.
fn integer_digits(text: &[u8]) -> usize {
    let unsigned = text.strip_prefix(b"-").unwrap_or(text);
    unsigned
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .skip_while(|&&b| b == b'0')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::OdpsType;

    fn limit(type_name: &str, max_field_bytes: usize) -> ValueLimit {
        let column = SchemaColumn {
            name: "c".into(),
            type_name: type_name.into(),
            odps_type: OdpsType::parse(type_name).unwrap(),
        };
        ValueLimit::of(&column, max_field_bytes)
    }

    fn text(value: &str) -> WireValue {
        WireValue::Bytes(value.as_bytes().to_vec())
    }

    #[test]
    fn integers_outside_their_type_are_dirty() {
        let tinyint = limit("tinyint", 8);
        assert_eq!(
            tinyint.apply(WireValue::Long(-128), OverLengthRule::Dirty),
            Ok(WireValue::Long(-128))
        );
        assert_eq!(
            tinyint.apply(WireValue::Long(128), OverLengthRule::Truncate),
            Err(Refusal::Dirty("128 is outside -128..=127".into()))
        );
        assert!(limit("smallint", 8)
            .apply(WireValue::Long(40_000), OverLengthRule::Dirty)
            .is_err());
        assert!(limit("INT", 8)
            .apply(WireValue::Long(1 << 31), OverLengthRule::Dirty)
            .is_err());
        assert_eq!(
            limit("bigint", 8).apply(WireValue::Long(i64::MIN), OverLengthRule::Dirty),
            Ok(WireValue::Long(i64::MIN))
        );
    }

    #[test]
    fn over_length_text_follows_the_rule() {
        let varchar = limit("varchar(3)", 100);
        assert_eq!(
            varchar.apply(text("héé"), OverLengthRule::Dirty),
            Ok(text("héé"))
        );
        let refused = varchar.apply(text("héllo"), OverLengthRule::Dirty);
        assert_eq!(
            refused,
            Err(Refusal::Dirty(
                "the value has 5 characters, more than its column's 3 (overLengthRule: dirty)"
                    .into()
            ))
        );
        assert_eq!(
            varchar.apply(text("héllo"), OverLengthRule::Truncate),
            Ok(text("hél"))
        );
        assert_eq!(
            varchar.apply(text("héllo"), OverLengthRule::SetNull),
            Ok(WireValue::Null)
        );
        assert!(matches!(
            varchar.apply(text("héllo"), OverLengthRule::Error),
            Err(Refusal::Fatal(_))
        ));
        // STRING: bytes, cut where a character starts.
        let string = limit("string", 4);
        assert_eq!(
            string.apply(text("abcé"), OverLengthRule::Truncate),
            Ok(text("abc"))
        );
        assert_eq!(
            string.apply(text("abcd"), OverLengthRule::Dirty),
            Ok(text("abcd"))
        );
        let binary = limit("binary", 2);
        assert_eq!(
            binary.apply(
                WireValue::Bytes(vec![0xff, 0xfe, 0xfd]),
                OverLengthRule::Truncate
            ),
            Ok(WireValue::Bytes(vec![0xff, 0xfe]))
        );
    }

    #[test]
    fn decimals_keep_to_their_integer_digits() {
        let decimal = limit("decimal(5,2)", 8);
        assert_eq!(
            decimal.apply(text("-123.456"), OverLengthRule::Dirty),
            Ok(text("-123.456"))
        );
        assert_eq!(
            decimal.apply(text("0001.5"), OverLengthRule::Dirty),
            Ok(text("0001.5"))
        );
        assert!(decimal
            .apply(text("1234"), OverLengthRule::Truncate)
            .is_err());
        assert_eq!(limit("decimal", 8), ValueLimit::IntegerDigits(36));
    }
}
