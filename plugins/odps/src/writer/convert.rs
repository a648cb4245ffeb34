//! A record's columns to the tunnel values of the table's column types, as DataX's
//! `OdpsWriterProxy.dataxRecordToOdpsRecord` converts them through `Column.asLong()`,
//! `asDouble()`, `asBoolean()`, `asDate()` and `asString()` (datax-semantics.md §5): a string
//! is parsed (`"12.7"` → bigint 12), a long is a datetime's milliseconds, a date string is read
//! with the job's `common.column` formats in its zone (DataX's: GMT+8). A value that does not
//! convert gives the reason, and the record is dirty.

use datax_plugin_api::Column;
use datax_plugin_kit::calendar::{DATAX_DEFAULT_OFFSET_SECONDS, SECONDS_PER_DAY};
use datax_plugin_kit::text::{write_text, TextStyle};

use crate::codec::encode::WireValue;
use crate::schema::OdpsType;

const MILLIS_PER_DAY: i64 = SECONDS_PER_DAY * 1000;

/// Converts columns for one table, as the job's `common.column` says.
pub struct Converter {
    text_style: TextStyle,
    empty_as_null: bool,
}

impl Converter {
    pub fn new(empty_as_null: bool, text_style: TextStyle) -> Self {
        Converter {
            text_style,
            empty_as_null,
        }
    }

    /// Whether this writer can write a column of `odps_type`.
    pub fn supports(odps_type: &OdpsType) -> bool {
        !matches!(
            odps_type,
            OdpsType::Array(_)
                | OdpsType::Map(..)
                | OdpsType::Struct(_)
                | OdpsType::IntervalDayTime
                | OdpsType::IntervalYearMonth
                | OdpsType::TimestampNtz
        )
    }

    /// The wire value of `column` for a table column of `odps_type`; the error says why not.
    pub fn convert(&self, column: &Column, odps_type: &OdpsType) -> Result<WireValue, String> {
        match column {
            Column::Null => return Ok(WireValue::Null),
            Column::String(text) if self.empty_as_null && text.is_empty() => {
                return Ok(WireValue::Null)
            }
            _ => {}
        }
        Ok(match odps_type {
            OdpsType::Integer => WireValue::Long(as_long(column)?),
            OdpsType::Double => WireValue::Double(as_double(column)?),
            OdpsType::Float => WireValue::Float(as_double(column)? as f32),
            OdpsType::Boolean => WireValue::Bool(as_bool(column)?),
            OdpsType::Text | OdpsType::Json => WireValue::Bytes(self.as_text(column)?),
            OdpsType::Binary => WireValue::Bytes(match column {
                Column::Bytes(bytes) => bytes.to_vec(),
                other => self.as_text(other)?,
            }),
            OdpsType::Decimal => WireValue::Bytes(as_decimal(column)?.into_bytes()),
            OdpsType::Datetime => WireValue::Long(self.as_millis(column)?),
            OdpsType::Date => WireValue::Long(self.as_days(column)?),
            OdpsType::Timestamp => {
                let (seconds, nanos) = self.as_instant(column)?;
                WireValue::Timestamp {
                    seconds,
                    nanos: nanos as i32,
                }
            }
            other => return Err(format!("writing {other:?} columns is not supported yet")),
        })
    }

    /// DataX's `asDate()` in milliseconds.
    fn as_millis(&self, column: &Column) -> Result<i64, String> {
        let (seconds, nanos) = self.as_instant(column)?;
        Ok(seconds * 1000 + i64::from(nanos / 1_000_000))
    }

    /// A date is the GMT+8 calendar day of the instant (DataX's JVM zone).
    fn as_days(&self, column: &Column) -> Result<i64, String> {
        if let Column::Date(days) = column {
            return Ok(i64::from(*days));
        }
        let millis = self.as_millis(column)?;
        Ok((millis + DATAX_DEFAULT_OFFSET_SECONDS * 1000).div_euclid(MILLIS_PER_DAY))
    }

    /// Seconds and nanoseconds since the epoch.
    fn as_instant(&self, column: &Column) -> Result<(i64, u32), String> {
        Ok(match column {
            Column::DateTime(time) | Column::Timestamp(time) => (time.seconds, time.nanos),
            Column::Date(days) => (
                i64::from(*days) * SECONDS_PER_DAY - DATAX_DEFAULT_OFFSET_SECONDS,
                0,
            ),
            Column::Long(millis) => (
                millis.div_euclid(1000),
                (millis.rem_euclid(1000) * 1_000_000) as u32,
            ),
            Column::String(text) => {
                let millis = self
                    .text_style
                    .parse_date_millis(text)
                    .ok_or_else(|| cannot(column, "datetime"))?;
                (millis.div_euclid(1000), 0)
            }
            other => return Err(cannot(other, "datetime")),
        })
    }
}

fn cannot(column: &Column, target: &str) -> String {
    let mut text = Vec::new();
    let text = match (write_text(&mut text, column), column) {
        // NaN and the infinities have no DataX text; Rust's names them.
        (Err(_), Column::Double(value)) => value.to_string(),
        _ => String::from_utf8_lossy(&text).into_owned(),
    };
    let shown: String = text.chars().take(64).collect();
    format!(
        "cannot convert {} \"{shown}\" to {target}",
        column.kind_name()
    )
}

/// DataX's `asLong()`: decimals truncate toward zero, booleans are 1 and 0, times their
/// milliseconds.
fn as_long(column: &Column) -> Result<i64, String> {
    match column {
        Column::Long(value) => Ok(*value),
        Column::Bool(value) => Ok(i64::from(*value)),
        Column::Double(value) => truncate(*value).ok_or_else(|| cannot(column, "bigint")),
        Column::String(text) | Column::Decimal(text) => {
            parse_long(text).ok_or_else(|| cannot(column, "bigint"))
        }
        Column::DateTime(time) | Column::Timestamp(time) => Ok(time.as_millis()),
        other => Err(cannot(other, "bigint")),
    }
}

/// A finite double's integer part, when it fits.
fn truncate(value: f64) -> Option<i64> {
    let whole = value.trunc();
    (whole.is_finite() && whole >= i64::MIN as f64 && whole < i64::MAX as f64)
        .then_some(whole as i64)
}

/// An integer, or a decimal number's integer part (`-12.9` → -12; `BigDecimal` semantics).
fn parse_long(text: &str) -> Option<i64> {
    if let Ok(value) = text.parse::<i64>() {
        return Some(value);
    }
    let (integer, fraction) = text.split_once('.')?;
    let digits = integer.trim_start_matches(['-', '+']);
    let valid = !(digits.is_empty() && fraction.is_empty())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    match integer {
        "" | "-" | "+" => Some(0),
        _ => integer.parse().ok(),
    }
}

/// DataX's `asDouble()`: strings as Java's `Double.valueOf` reads them (`NaN`, `Infinity`).
fn as_double(column: &Column) -> Result<f64, String> {
    match column {
        Column::Double(value) => Ok(*value),
        Column::Long(value) => Ok(*value as f64),
        Column::String(text) | Column::Decimal(text) => match text.trim() {
            "NaN" => Ok(f64::NAN),
            "Infinity" | "+Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            trimmed if !trimmed.to_ascii_lowercase().contains("inf") => {
                trimmed.parse().map_err(|_| cannot(column, "double"))
            }
            _ => Err(cannot(column, "double")),
        },
        other => Err(cannot(other, "double")),
    }
}

/// DataX's `asBoolean()`: `true`/`false` in any case, a long is true when not 0.
fn as_bool(column: &Column) -> Result<bool, String> {
    match column {
        Column::Bool(value) => Ok(*value),
        Column::Long(value) => Ok(*value != 0),
        Column::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Column::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(cannot(other, "boolean")),
    }
}

impl Converter {
    /// DataX's `asString()` (the kit's text in the job's style); bytes as they are. A NaN or
    /// infinite double has no text (DataX's BigDecimal rejects it): the record is dirty.
    fn as_text(&self, column: &Column) -> Result<Vec<u8>, String> {
        match column {
            Column::String(text) => Ok(text.as_bytes().to_vec()),
            Column::Bytes(bytes) => Ok(bytes.to_vec()),
            other => {
                let mut text = Vec::new();
                self.text_style
                    .write(&mut text, other)
                    .map_err(|_| cannot(other, "string"))?;
                Ok(text)
            }
        }
    }
}

/// A decimal's plain text: `[-]digits[.digits]`.
fn as_decimal(column: &Column) -> Result<String, String> {
    let text = match column {
        Column::Long(value) => return Ok(value.to_string()),
        Column::Double(value) if value.is_finite() => {
            let mut text = Vec::new();
            write_text(&mut text, column).map_err(|_| cannot(column, "decimal"))?;
            return Ok(String::from_utf8_lossy(&text).into_owned());
        }
        Column::String(text) | Column::Decimal(text) => text.trim(),
        other => return Err(cannot(other, "decimal")),
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let valid = !(integer.is_empty() && fraction.is_empty())
        && integer.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(cannot(column, "decimal"));
    }
    Ok(text.strip_prefix('+').unwrap_or(text).to_string())
}

#[cfg(test)]
mod tests {
    use datax_plugin_api::EpochTime;

    use super::*;

    fn convert(column: Column, odps_type: OdpsType) -> Result<WireValue, String> {
        Converter::new(false, TextStyle::default()).convert(&column, &odps_type)
    }

    #[test]
    fn strings_convert_as_datax_parses_them() {
        assert_eq!(
            convert(Column::string("42"), OdpsType::Integer),
            Ok(WireValue::Long(42))
        );
        assert_eq!(
            convert(Column::string("-12.9"), OdpsType::Integer),
            Ok(WireValue::Long(-12))
        );
        assert_eq!(
            convert(Column::string("2.5"), OdpsType::Double),
            Ok(WireValue::Double(2.5))
        );
        assert_eq!(
            convert(Column::string("TRUE"), OdpsType::Boolean),
            Ok(WireValue::Bool(true))
        );
        assert_eq!(
            convert(Column::string("12.30"), OdpsType::Decimal),
            Ok(WireValue::Bytes(b"12.30".to_vec()))
        );
        // 2016-12-26 10:00:00 at GMT+8.
        assert_eq!(
            convert(Column::string("2016-12-26 10:00:00"), OdpsType::Datetime),
            Ok(WireValue::Long(1_482_717_600_000))
        );
        assert_eq!(
            convert(Column::string("2016-12-26"), OdpsType::Date),
            Ok(WireValue::Long(17_161))
        );
    }

    #[test]
    fn the_jobs_common_column_reads_and_writes_dates() {
        let settings = serde_json::from_value(serde_json::json!({
            "datetimeFormat": "dd/MM/yyyy HH:mm", "timeZone": "UTC", "extraFormats": ["yyyy.MM.dd"]
        }))
        .unwrap();
        let converter = Converter::new(false, TextStyle::new(&settings).unwrap());
        let convert = |column, odps_type| converter.convert(&column, &odps_type);
        // StringCast.asDate: the datetime format in UTC, then the extra format.
        assert_eq!(
            convert(Column::string("26/12/2016 02:00"), OdpsType::Datetime),
            Ok(WireValue::Long(1_482_717_600_000))
        );
        assert_eq!(
            convert(Column::string("2016.12.26"), OdpsType::Datetime),
            Ok(WireValue::Long(1_482_710_400_000))
        );
        assert!(convert(Column::string("20161226"), OdpsType::Datetime).is_err());
        // DateCast: a datetime to a STRING column in the datetime format and zone.
        let instant = EpochTime::from_millis(1_482_717_600_000);
        assert_eq!(
            convert(Column::DateTime(instant), OdpsType::Text),
            Ok(WireValue::Bytes(b"26/12/2016 02:00".to_vec()))
        );
        // DataX's default extra format, yyyyMMdd.
        assert_eq!(
            super::tests::convert(Column::string("20161226"), OdpsType::Date),
            Ok(WireValue::Long(17_161))
        );
    }

    #[test]
    fn other_kinds_convert_as_datax_does() {
        assert_eq!(
            convert(Column::Bool(true), OdpsType::Integer),
            Ok(WireValue::Long(1))
        );
        assert_eq!(
            convert(Column::Double(-3.7), OdpsType::Integer),
            Ok(WireValue::Long(-3))
        );
        assert_eq!(
            convert(Column::Long(7), OdpsType::Text),
            Ok(WireValue::Bytes(b"7".to_vec()))
        );
        let time = EpochTime {
            seconds: 60,
            nanos: 5,
        };
        assert_eq!(
            convert(Column::Timestamp(time), OdpsType::Timestamp),
            Ok(WireValue::Timestamp {
                seconds: 60,
                nanos: 5
            })
        );
        assert_eq!(
            convert(Column::Timestamp(time), OdpsType::Datetime),
            Ok(WireValue::Long(60_000))
        );
        assert_eq!(
            convert(Column::Long(1_000), OdpsType::Datetime),
            Ok(WireValue::Long(1_000))
        );
        assert_eq!(
            convert(Column::Null, OdpsType::Integer),
            Ok(WireValue::Null)
        );
    }

    #[test]
    fn what_does_not_convert_says_why() {
        let error = convert(Column::string("abc"), OdpsType::Integer).unwrap_err();
        assert_eq!(error, "cannot convert string \"abc\" to bigint");
        assert!(convert(Column::string("yes"), OdpsType::Boolean).is_err());
        assert!(convert(Column::Double(1.0), OdpsType::Boolean).is_err());
        assert!(convert(Column::string("1e3x"), OdpsType::Decimal).is_err());
        assert!(convert(Column::string("26/12/2016"), OdpsType::Datetime).is_err());
        assert!(convert(Column::Double(f64::NAN), OdpsType::Integer).is_err());
    }

    #[test]
    fn empty_as_null_applies_to_empty_strings_only() {
        let converter = Converter::new(true, TextStyle::default());
        assert_eq!(
            converter.convert(&Column::string(""), &OdpsType::Text),
            Ok(WireValue::Null)
        );
        assert_eq!(
            converter.convert(&Column::string(" "), &OdpsType::Text),
            Ok(WireValue::Bytes(b" ".to_vec()))
        );
        assert_eq!(
            Converter::new(false, TextStyle::default())
                .convert(&Column::string(""), &OdpsType::Text),
            Ok(WireValue::Bytes(Vec::new()))
        );
    }
}
