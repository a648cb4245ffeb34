//! The text of a column, as DataX's `Column.asString()` gives it (datax-semantics.md §5), for
//! every plugin that turns columns into text:
//! - long → decimal; decimal and string as they are; bool → `true`/`false`
//! - double → Java 8's `Double.toString` digits through `BigDecimal.toPlainString`
//!   ([`java_double`]: `100.0`, `10000000`, `0.00010`); `NaN` and `±Infinity` have no text
//!   ([`NotFinite`]: DataX's `BigDecimal` throws, so the record is dirty)
//! - datetime and timestamp → `yyyy-MM-dd HH:mm:ss` in GMT+8: DataX turns both into a
//!   `DateColumn` and formats it with its datetime format, so the fraction is dropped
//! - date → `yyyy-MM-dd`; time → `HH:mm:ss`
//!
//!   (DataX's defaults: a job's `common.column` changes the formats and the zone, see
//!   [`style`]; [`write_text`] is the text under the defaults, [`TextStyle::write`] under a
//!   job's settings)
//! - bytes → UTF-8 text, invalid sequences replaced
//! - null → nothing: what null looks like is the caller's (streamwriter prints `null`,
//!   loghubwriter writes `""`)
//!
//! Digits are written by hand: `core::fmt` padding dominated the cost of printing a record.
//! Every value has a text: the calendar arithmetic covers all of `i64`.

pub mod java_double;
pub mod style;

pub use java_double::{
    write_java_double, write_java_double_string, write_java_float, write_java_float_string,
    NotFinite,
};
pub use style::{ColumnSettings, TextStyle};

use crate::calendar::{civil_from_days, LocalDateTime, DATAX_DEFAULT_OFFSET_SECONDS};
use datax_plugin_api::Column;

/// Appends the text of `column` to `out`; [`Column::Null`] appends nothing. A double without
/// a DataX text (`NaN`, `±Infinity`) appends nothing and says so: the caller names the column
/// and makes the record dirty.
pub fn write_text(out: &mut Vec<u8>, column: &Column) -> Result<(), NotFinite> {
    match column {
        Column::Null => {}
        Column::Bool(value) => out.extend_from_slice(if *value { b"true" } else { b"false" }),
        Column::Long(value) => write_long(out, *value),
        Column::Double(value) => return write_java_double(out, *value),
        Column::Decimal(text) | Column::String(text) => out.extend_from_slice(text.as_bytes()),
        Column::Bytes(bytes) => out.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes()),
        Column::Date(days) => write_date(out, i64::from(*days)),
        Column::Time(nanos_of_day) => {
            let seconds = nanos_of_day / 1_000_000_000;
            write_clock(out, seconds / 3600, seconds / 60 % 60, seconds % 60);
        }
        Column::DateTime(instant) | Column::Timestamp(instant) => {
            write_local_date_time(out, instant.seconds)
        }
    }
    Ok(())
}

/// Appends `yyyy-MM-dd` for `days` since 1970-01-01 (a year before 1 as `-yyyy`).
pub fn write_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    write_civil_date(out, year, month, day);
}

/// Appends `yyyy-MM-dd HH:mm:ss` in GMT+8 for `seconds` since the epoch.
pub fn write_local_date_time(out: &mut Vec<u8>, seconds: i64) {
    write_date_time_at(out, seconds, DATAX_DEFAULT_OFFSET_SECONDS);
}

/// Appends `yyyy-MM-dd HH:mm:ss` for `seconds` since the epoch, `offset` seconds east of UTC.
pub(crate) fn write_date_time_at(out: &mut Vec<u8>, seconds: i64, offset: i64) {
    let local = LocalDateTime::at_offset(seconds, offset);
    write_civil_date(out, local.year, local.month, local.day);
    out.push(b' ');
    write_clock(
        out,
        local.hour.into(),
        local.minute.into(),
        local.second.into(),
    );
}

/// Generic so that this file still builds when `Column::Long` is not `i64`: the ABI tests
/// (tests/tests/plugins_loading.rs) build a copy of this crate with `Long(i32)`.
fn write_long(out: &mut Vec<u8>, value: impl Into<i64>) {
    out.extend_from_slice(itoa::Buffer::new().format(value.into()).as_bytes());
}

/// `value` in decimal, zero-padded to at least `width` digits.
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

/// `value` (below 100) as two ASCII digits.
#[inline]
fn two_digits(value: u16) -> [u8; 2] {
    [b'0' + (value / 10) as u8, b'0' + (value % 10) as u8]
}

fn write_civil_date(out: &mut Vec<u8>, year: i64, month: u32, day: u32) {
    // Every date a table holds: written at once, not digit group by digit group.
    if let (Ok(year @ 0..=9999), 1..=12, 1..=31) = (u16::try_from(year), month, day) {
        let [y1, y2] = two_digits(year / 100);
        let [y3, y4] = two_digits(year % 100);
        let [m1, m2] = two_digits(month as u16);
        let [d1, d2] = two_digits(day as u16);
        out.extend_from_slice(&[y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2]);
        return;
    }
    if year < 0 {
        out.push(b'-');
    }
    push_digits(out, year.unsigned_abs(), 4);
    out.push(b'-');
    push_digits(out, month.into(), 2);
    out.push(b'-');
    push_digits(out, day.into(), 2);
}

fn write_clock(out: &mut Vec<u8>, hour: u64, minute: u64, second: u64) {
    if hour < 100 && minute < 100 && second < 100 {
        let [h1, h2] = two_digits(hour as u16);
        let [m1, m2] = two_digits(minute as u16);
        let [s1, s2] = two_digits(second as u16);
        out.extend_from_slice(&[h1, h2, b':', m1, m2, b':', s1, s2]);
        return;
    }
    push_digits(out, hour, 2);
    out.push(b':');
    push_digits(out, minute, 2);
    out.push(b':');
    push_digits(out, second, 2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use datax_plugin_api::EpochTime;

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
        assert_eq!(text(Column::Long(0)), "0");
        assert_eq!(text(Column::Long(i64::MIN)), "-9223372036854775808");
        assert_eq!(text(Column::Long(u32::MAX.into())), "4294967295");
        assert_eq!(text(Column::decimal("-12.3400")), "-12.3400");
        assert_eq!(text(Column::string("DataX")), "DataX");
        assert_eq!(text(Column::string("日志")), "日志");
        assert_eq!(text(Column::bytes(b"TestRawData".to_vec())), "TestRawData");
        assert_eq!(text(Column::bytes(b"raw".to_vec())), "raw");
        assert_eq!(text(Column::bytes(vec![b'a', 0xff])), "a\u{fffd}");
        assert_eq!(text(Column::Date(19_723)), "2024-01-01");
        assert_eq!(text(Column::Date(-719_162)), "0001-01-01");
        assert_eq!(text(Column::Time(3_723_000_000_000)), "01:02:03");
    }

    #[test]
    fn doubles_are_plain_decimals() {
        assert_eq!(text(Column::Double(1.5)), "1.5");
        assert_eq!(text(Column::Double(100.0)), "100.0");
        assert_eq!(text(Column::Double(3.141592653578)), "3.141592653578");
        // Java's `1.0E20`, `-1.0E-7`, `1.0E7`, `-0.0` through `BigDecimal.toPlainString`.
        assert_eq!(text(Column::Double(1e20)), "100000000000000000000");
        assert_eq!(text(Column::Double(-1e-7)), "-0.00000010");
        assert_eq!(text(Column::Double(1e7)), "10000000");
        assert_eq!(text(Column::Double(-0.0)), "0.0");
    }

    #[test]
    fn not_finite_doubles_have_no_text() {
        let mut out = b"kept".to_vec();
        let refused = write_text(&mut out, &Column::Double(f64::NAN)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "NaN has no DataX text (DataX's BigDecimal rejects it)"
        );
        assert_eq!(
            write_text(&mut out, &Column::Double(f64::NEG_INFINITY)),
            Err(NotFinite("-Infinity"))
        );
        assert_eq!(out, b"kept");
    }

    #[test]
    fn datetimes_are_in_gmt_plus_8() {
        let new_year = EpochTime::from_millis(1_704_038_400_123);
        assert_eq!(text(Column::DateTime(new_year)), "2024-01-01 00:00:00");
        let fraction = EpochTime {
            seconds: 0,
            nanos: 120_000_000,
        };
        // DataX's odpsreader makes a DateColumn of a TIMESTAMP; the datetime format drops
        // the fraction.
        assert_eq!(text(Column::Timestamp(fraction)), "1970-01-01 08:00:00");
        assert_eq!(
            text(Column::Timestamp(EpochTime::from_millis(0))),
            "1970-01-01 08:00:00"
        );
        let nano = EpochTime {
            seconds: 1_482_746_400,
            nanos: 1,
        };
        assert_eq!(text(Column::Timestamp(nano)), "2016-12-26 18:00:00");
    }

    #[test]
    fn dates_beyond_any_calendar_library_still_have_a_text() {
        // chrono stops at ±262 000 years; the arithmetic here covers every i64.
        let far = EpochTime {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert_eq!(text(Column::DateTime(far)), "292277026596-12-04 23:30:07");
        assert_eq!(text(Column::Date(i32::MAX)), "5881580-07-11");
        assert_eq!(text(Column::Date(i32::MIN)), "-5877641-06-23");
        let mut out = Vec::new();
        write_date(&mut out, -719_468);
        assert_eq!(out, b"0000-03-01");
    }
}
