//! How streamwriter prints a record: DataX's `Column.asString()` joined by the delimiter.

use std::io::Write;

use datax_plugin_api::{Column, EpochTime, Record};

use crate::date::{civil_from_days, LocalDateTime};

/// Appends `record` to `out` as one line: columns joined by `delimiter`, then `\n`.
pub fn write_record(out: &mut Vec<u8>, record: &Record, delimiter: &[u8]) {
    for (index, column) in record.columns.iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(delimiter);
        }
        write_column(out, column);
    }
    out.push(b'\n');
}

/// Appends one column as DataX's `asString()` renders it:
/// - null → `null` (DataX appends Java's `null` to its line; keeps null and "" apart)
/// - double → plain decimal, never an exponent, whole numbers as `100.0` (Java's
///   `Double.toString` passed through `BigDecimal.toPlainString`)
/// - datetime → `yyyy-MM-dd HH:mm:ss` in GMT+8 (DataX drops the milliseconds)
/// - date → `yyyy-MM-dd`; time → `HH:mm:ss`
/// - timestamp → like datetime, with its fraction of a second when there is one
/// - bytes → UTF-8 text, invalid sequences replaced
pub fn write_column(out: &mut Vec<u8>, column: &Column) {
    match column {
        Column::Null => out.extend_from_slice(b"null"),
        Column::Bool(true) => out.extend_from_slice(b"true"),
        Column::Bool(false) => out.extend_from_slice(b"false"),
        Column::Long(value) => {
            if *value < 0 {
                out.push(b'-');
            }
            push_digits(out, value.unsigned_abs(), 1);
        }
        Column::Double(value) => write_double(out, *value),
        Column::Decimal(text) | Column::String(text) => out.extend_from_slice(text.as_bytes()),
        Column::Bytes(bytes) => {
            out.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes());
        }
        Column::Date(days) => {
            let (year, month, day) = civil_from_days(i64::from(*days));
            write_date(out, year, month, day);
        }
        Column::Time(nanos_of_day) => {
            let seconds = (nanos_of_day / 1_000_000_000) as u32;
            write_time(out, seconds / 3600, seconds / 60 % 60, seconds % 60);
        }
        Column::DateTime(instant) => write_local_date_time(out, instant),
        Column::Timestamp(instant) => {
            write_local_date_time(out, instant);
            if instant.nanos != 0 {
                let fraction = format!(".{:09}", instant.nanos);
                out.extend_from_slice(fraction.trim_end_matches('0').as_bytes());
            }
        }
    }
}

/// `value` in decimal, zero-padded to at least `width` digits. Hand-written because
/// `core::fmt` padding dominated the cost of printing a record.
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
        // Rust's `Display` for f64 is the shortest text that reads back exactly, never in
        // exponent form; Java adds `.0` to whole numbers.
        let start = out.len();
        write!(out, "{value}").expect("writing to a Vec cannot fail");
        if !out[start..].contains(&b'.') {
            out.extend_from_slice(b".0");
        }
    }
}

fn write_date(out: &mut Vec<u8>, year: i64, month: u32, day: u32) {
    if year < 0 {
        out.push(b'-');
    }
    push_digits(out, year.unsigned_abs(), 4);
    out.push(b'-');
    push_digits(out, month.into(), 2);
    out.push(b'-');
    push_digits(out, day.into(), 2);
}

fn write_time(out: &mut Vec<u8>, hour: u32, minute: u32, second: u32) {
    push_digits(out, hour.into(), 2);
    out.push(b':');
    push_digits(out, minute.into(), 2);
    out.push(b':');
    push_digits(out, second.into(), 2);
}

fn write_local_date_time(out: &mut Vec<u8>, instant: &EpochTime) {
    let local = LocalDateTime::from_epoch_seconds(instant.seconds);
    write_date(out, local.year, local.month, local.day);
    out.push(b' ');
    write_time(out, local.hour, local.minute, local.second);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(column: Column) -> String {
        let mut out = Vec::new();
        write_column(&mut out, &column);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_column_kind_prints_as_datax_does() {
        assert_eq!(printed(Column::Null), "null");
        assert_eq!(printed(Column::Bool(true)), "true");
        assert_eq!(printed(Column::Bool(false)), "false");
        assert_eq!(printed(Column::Long(-1_724_154_616_370)), "-1724154616370");
        assert_eq!(printed(Column::Long(0)), "0");
        assert_eq!(printed(Column::Long(i64::MIN)), "-9223372036854775808");
        assert_eq!(printed(Column::Long(u32::MAX.into())), "4294967295");
        assert_eq!(printed(Column::decimal("-12.3400")), "-12.3400");
        assert_eq!(printed(Column::string("DataX")), "DataX");
        assert_eq!(
            printed(Column::bytes(b"TestRawData".to_vec())),
            "TestRawData"
        );
        assert_eq!(printed(Column::bytes(vec![b'a', 0xff])), "a\u{fffd}");
        assert_eq!(printed(Column::Date(19_723)), "2024-01-01");
        assert_eq!(printed(Column::Date(-719_162)), "0001-01-01");
        assert_eq!(printed(Column::Time(3_723_000_000_000)), "01:02:03");
    }

    #[test]
    fn doubles_are_plain_decimals() {
        assert_eq!(printed(Column::Double(1.5)), "1.5");
        assert_eq!(printed(Column::Double(100.0)), "100.0");
        assert_eq!(printed(Column::Double(3.141592653578)), "3.141592653578");
        assert_eq!(printed(Column::Double(1e20)), "100000000000000000000.0");
        assert_eq!(printed(Column::Double(-1e-7)), "-0.0000001");
        assert_eq!(printed(Column::Double(f64::NAN)), "NaN");
        assert_eq!(printed(Column::Double(f64::NEG_INFINITY)), "-Infinity");
    }

    #[test]
    fn datetimes_print_in_gmt_plus_8() {
        let new_year = EpochTime::from_millis(1_704_038_400_123);
        assert_eq!(printed(Column::DateTime(new_year)), "2024-01-01 00:00:00");
        assert_eq!(
            printed(Column::Timestamp(EpochTime {
                seconds: 0,
                nanos: 120_000_000
            })),
            "1970-01-01 08:00:00.12"
        );
        assert_eq!(
            printed(Column::Timestamp(EpochTime::from_millis(0))),
            "1970-01-01 08:00:00"
        );
    }

    #[test]
    fn a_record_is_one_delimited_line() {
        let record = Record::new(vec![
            Column::string("a"),
            Column::Long(1),
            Column::Null,
            Column::string(""),
        ]);
        let mut out = Vec::new();
        write_record(&mut out, &record, b"\t");
        write_record(&mut out, &Record::default(), b"\t");
        write_record(&mut out, &record, b"||");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\t1\tnull\t\n\na||1||null||\n"
        );
    }
}
