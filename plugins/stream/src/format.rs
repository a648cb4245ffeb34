//! How streamwriter prints a record: DataX's `Column.asString()` joined by the delimiter.

use datax_plugin_api::{Column, Record};
use datax_plugin_kit::write_text;

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

/// Appends one column as DataX's `asString()` renders it (see [`datax_plugin_kit::text`]);
/// null prints `null`, as DataX appends Java's `null` to its line (keeps null and "" apart).
pub fn write_column(out: &mut Vec<u8>, column: &Column) {
    match column {
        Column::Null => out.extend_from_slice(b"null"),
        other => write_text(out, other),
    }
}

#[cfg(test)]
mod tests {
    use datax_plugin_api::EpochTime;

    use super::*;

    fn printed(column: Column) -> String {
        let mut out = Vec::new();
        write_column(&mut out, &column);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn null_prints_as_null_and_the_rest_as_datax_text() {
        // Every kind's text is tested in `datax_plugin_kit::text`; here, that it is used.
        assert_eq!(printed(Column::Null), "null");
        assert_eq!(printed(Column::string("")), "");
        assert_eq!(printed(Column::Long(i64::MIN)), "-9223372036854775808");
        assert_eq!(printed(Column::Double(100.0)), "100.0");
        assert_eq!(
            printed(Column::Timestamp(EpochTime {
                seconds: 0,
                nanos: 120_000_000
            })),
            "1970-01-01 08:00:00.12"
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
