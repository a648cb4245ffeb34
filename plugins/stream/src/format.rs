//! How streamwriter prints a record: DataX's `Column.asString()` joined by the delimiter.

use datax_plugin_api::{Column, Record};
use datax_plugin_kit::text::{NotFinite, TextStyle};

/// Appends `record` to `out` as one line: columns in `style` joined by `delimiter`, then `\n`.
/// A column without a DataX text (a `NaN` or infinite double) leaves `out` as it was and says
/// why the record is dirty.
pub fn write_record(
    out: &mut Vec<u8>,
    record: &Record,
    delimiter: &[u8],
    style: &TextStyle,
) -> Result<(), String> {
    let line_start = out.len();
    for (index, column) in record.columns.iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(delimiter);
        }
        if let Err(refused) = write_column(out, column, style) {
            out.truncate(line_start);
            return Err(format!("column {index} (from 0): {refused}"));
        }
    }
    out.push(b'\n');
    Ok(())
}

/// Appends one column as DataX's `asString()` renders it (see [`datax_plugin_kit::text`]);
/// null prints `null`, as DataX appends Java's `null` to its line (keeps null and "" apart).
pub fn write_column(
    out: &mut Vec<u8>,
    column: &Column,
    style: &TextStyle,
) -> Result<(), NotFinite> {
    match column {
        Column::Null => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        other => style.write(out, other),
    }
}

#[cfg(test)]
mod tests {
    use datax_plugin_api::EpochTime;

    use super::*;

    fn printed(column: Column) -> String {
        let mut out = Vec::new();
        write_column(&mut out, &column, &TextStyle::default()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn null_prints_as_null_and_the_rest_as_datax_text() {
        // Every kind's text is tested in `datax_plugin_kit::text`; here, that it is used.
        assert_eq!(printed(Column::Null), "null");
        assert_eq!(printed(Column::string("")), "");
        assert_eq!(printed(Column::Long(i64::MIN)), "-9223372036854775808");
        assert_eq!(printed(Column::Double(100.0)), "100.0");
        assert_eq!(printed(Column::Double(1e7)), "10000000");
        assert_eq!(
            printed(Column::Timestamp(EpochTime {
                seconds: 0,
                nanos: 120_000_000
            })),
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
        let datax = TextStyle::default();
        write_record(&mut out, &record, b"\t", &datax).unwrap();
        write_record(&mut out, &Record::default(), b"\t", &datax).unwrap();
        write_record(&mut out, &record, b"||", &datax).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\t1\tnull\t\n\na||1||null||\n"
        );
    }

    #[test]
    fn a_record_with_a_not_finite_double_has_no_line() {
        let record = Record::new(vec![Column::string("a"), Column::Double(f64::INFINITY)]);
        let mut out = b"before\n".to_vec();
        let reason = write_record(&mut out, &record, b"\t", &TextStyle::default()).unwrap_err();
        assert_eq!(
            reason,
            "column 1 (from 0): Infinity has no DataX text (DataX's BigDecimal rejects it)"
        );
        assert_eq!(out, b"before\n");
    }
}
