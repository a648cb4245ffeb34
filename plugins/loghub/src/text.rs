//! Every column becomes text, as DataX's `Column.asString()` gives it (datax-semantics.md §5):
//! long → decimal; double → plain decimal, never an exponent (`100.0`, as Java); bool →
//! `true`/`false`; datetime → `yyyy-MM-dd HH:mm:ss` in GMT+8; date → `yyyy-MM-dd`; time →
//! `HH:mm:ss`; timestamp → like datetime, with its fraction when there is one; bytes → UTF-8;
//! null → `""` (datax-semantics.md §9.6). The same text streamwriter prints, except null.

use std::io::Write;

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use datax_plugin_api::{Column, EpochTime};

use crate::time_format::DEFAULT_OFFSET_SECONDS;

/// Appends the text of `column` to `out`; a date or time beyond the calendar's range
/// (±262 000 years) has none, and the error says so.
pub fn write_text(out: &mut Vec<u8>, column: &Column) -> Result<(), String> {
    match column {
        Column::Null => {}
        Column::Bool(value) => out.extend_from_slice(if *value { b"true" } else { b"false" }),
        Column::Long(value) => {
            if *value < 0 {
                out.push(b'-');
            }
            push_digits(out, value.unsigned_abs(), 1);
        }
        Column::Double(value) => write_double(out, *value),
        Column::Decimal(text) | Column::String(text) => out.extend_from_slice(text.as_bytes()),
        Column::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => out.extend_from_slice(text.as_bytes()),
            Err(_) => out.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes()),
        },
        Column::Date(days) => {
            let date = NaiveDate::from_epoch_days(*days)
                .ok_or_else(|| format!("date {days} days from 1970 is out of range"))?;
            write_date(out, date);
        }
        Column::Time(nanos_of_day) => {
            let seconds = nanos_of_day / 1_000_000_000;
            write_time(out, seconds / 3600, seconds / 60 % 60, seconds % 60);
        }
        Column::DateTime(instant) => write_local_date_time(out, instant)?,
        Column::Timestamp(instant) => {
            write_local_date_time(out, instant)?;
            if instant.nanos != 0 {
                let fraction = format!(".{:09}", instant.nanos);
                out.extend_from_slice(fraction.trim_end_matches('0').as_bytes());
            }
        }
    }
    Ok(())
}

/// `value` in decimal, zero-padded to `width` digits: cheaper than `core::fmt` per value.
fn push_digits(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while value > 0 || start > digits.len() - width {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&digits[start..]);
}

fn write_double(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if value.is_infinite() {
        out.extend_from_slice(if value < 0.0 {
            b"-Infinity"
        } else {
            b"Infinity"
        });
    } else {
        // Rust's `Display` is the shortest text that reads back exactly, never an exponent.
        let start = out.len();
        let _ = write!(out, "{value}");
        if !out[start..].contains(&b'.') {
            out.extend_from_slice(b".0");
        }
    }
}

fn write_date(out: &mut Vec<u8>, date: NaiveDate) {
    let year = date.year();
    if year < 0 {
        out.push(b'-');
    }
    push_digits(out, u64::from(year.unsigned_abs()), 4);
    out.push(b'-');
    push_digits(out, date.month().into(), 2);
    out.push(b'-');
    push_digits(out, date.day().into(), 2);
}

fn write_time(out: &mut Vec<u8>, hour: u64, minute: u64, second: u64) {
    push_digits(out, hour, 2);
    out.push(b':');
    push_digits(out, minute, 2);
    out.push(b':');
    push_digits(out, second, 2);
}

fn write_local_date_time(out: &mut Vec<u8>, instant: &EpochTime) -> Result<(), String> {
    let local = instant
        .seconds
        .checked_add(DEFAULT_OFFSET_SECONDS)
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or_else(|| format!("{} seconds from 1970 is out of range", instant.seconds))?
        .naive_utc();
    write_date(out, local.date());
    out.push(b' ');
    write_time(
        out,
        local.hour().into(),
        local.minute().into(),
        local.second().into(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(column: Column) -> String {
        let mut out = Vec::new();
        write_text(&mut out, &column).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_column_kind_as_datax_text() {
        assert_eq!(text(Column::Null), "");
        assert_eq!(text(Column::Bool(true)), "true");
        assert_eq!(text(Column::Bool(false)), "false");
        assert_eq!(text(Column::Long(-1_724_154_616_370)), "-1724154616370");
        assert_eq!(text(Column::Long(i64::MIN)), "-9223372036854775808");
        assert_eq!(text(Column::Long(0)), "0");
        assert_eq!(text(Column::decimal("-12.3400")), "-12.3400");
        assert_eq!(text(Column::string("日志")), "日志");
        assert_eq!(text(Column::bytes(b"raw".to_vec())), "raw");
        assert_eq!(text(Column::bytes(vec![b'a', 0xff])), "a\u{fffd}");
        assert_eq!(text(Column::Date(19_723)), "2024-01-01");
        assert_eq!(text(Column::Time(3_723_000_000_000)), "01:02:03");
    }

    #[test]
    fn doubles_are_plain_decimals() {
        assert_eq!(text(Column::Double(1.5)), "1.5");
        assert_eq!(text(Column::Double(100.0)), "100.0");
        assert_eq!(text(Column::Double(1e20)), "100000000000000000000.0");
        assert_eq!(text(Column::Double(-1e-7)), "-0.0000001");
        assert_eq!(text(Column::Double(f64::NAN)), "NaN");
    }

    #[test]
    fn datetimes_are_in_gmt_plus_8() {
        let new_year = EpochTime::from_millis(1_704_038_400_123);
        assert_eq!(text(Column::DateTime(new_year)), "2024-01-01 00:00:00");
        let fraction = EpochTime {
            seconds: 0,
            nanos: 120_000_000,
        };
        assert_eq!(text(Column::Timestamp(fraction)), "1970-01-01 08:00:00.12");
        let far = EpochTime {
            seconds: i64::MAX,
            nanos: 0,
        };
        let error = write_text(&mut Vec::new(), &Column::DateTime(far)).unwrap_err();
        assert!(error.contains("out of range"), "{error}");
        assert!(write_text(&mut Vec::new(), &Column::Date(i32::MAX)).is_err());
    }
}
