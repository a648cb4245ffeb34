//! The job's `common.column`: how DataX turns dates into text and text into dates for every
//! plugin (`ColumnCast.bind`, datax-semantics.md §5). DataX reads six keys, merged over
//! `core.json`:
//! - `datetimeFormat`, `dateFormat`, `timeFormat` and `timeZone`: a DATETIME (and a
//!   TIMESTAMP, which DataX's readers make a datetime) is written with `datetimeFormat`, a
//!   DATE with `dateFormat`, a TIME with `timeFormat`, all in `timeZone` (`DateCast`); a
//!   string is read as a date with the same three formats in turn, then each of
//!   `extraFormats`, in `timeZone` (`StringCast.asDate`).
//! - `extraFormats`: only for reading. `core.json` gives `["yyyyMMdd"]`; a job's non-empty
//!   list takes its place (DataX's merge fills only the indexes the job lacks, so an empty list
//!   keeps the default).
//! - `encoding`: bytes to text and back. Only UTF-8 is supported here; another is an error.
//!
//! The host hands the job's settings to each plugin inside its parameter under [`HOST_KEY`]
//! (`{"_datax": {"column": {...}}}`); [`crate::config::parse`] takes them out before the
//! plugin's own declaration sees them and returns them as [`Parsed::common_column`].
//!
//! [`Parsed::common_column`]: crate::config::Parsed::common_column

use datax_plugin_api::Column;
use serde::{Deserialize, Serialize};

use super::{write_civil_date, write_clock, write_date_time_at, write_text, NotFinite};
use crate::calendar::SECONDS_PER_DAY;
use crate::calendar::{civil_from_days, LocalDateTime, DATAX_DEFAULT_OFFSET_SECONDS};
use crate::config::{lenient, ConfigError};
use crate::date::{
    parse_time_zone, DatePattern, OutputPattern, Zone, DATAX_DATE_FORMAT as DATAX_DATETIME_FORMAT,
};

/// The key of a plugin's parameter under which the host passes job-wide settings.
pub const HOST_KEY: &str = "_datax";

/// DataX's defaults (`core.json`); the datetime format is [`DATAX_DATETIME_FORMAT`].
const DATAX_DAY_FORMAT: &str = "yyyy-MM-dd";
const DATAX_TIME_FORMAT: &str = "HH:mm:ss";
const DATAX_EXTRA_FORMATS: [&str; 1] = ["yyyyMMdd"];

/// The job's `common.column` as written; an absent key is DataX's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnSettings {
    /// How a datetime is written and first tried when a string is read as a date
    /// (default `yyyy-MM-dd HH:mm:ss`).
    #[serde(default, deserialize_with = "lenient::string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datetime_format: Option<String>,
    /// How a date is written; tried second (default `yyyy-MM-dd`).
    #[serde(default, deserialize_with = "lenient::string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// How a time is written; tried third (default `HH:mm:ss`).
    #[serde(default, deserialize_with = "lenient::string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_format: Option<String>,
    /// Further formats a string is tried with, in order (default `["yyyyMMdd"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_formats: Option<Vec<String>>,
    /// The zone dates are written and read in: an IANA name or an offset (default `GMT+8`).
    #[serde(default, deserialize_with = "lenient::string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The charset of bytes as text (default and only `UTF-8`).
    #[serde(default, deserialize_with = "lenient::string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

impl ColumnSettings {
    pub fn is_default(&self) -> bool {
        *self == ColumnSettings::default()
    }
}

/// `common.column` compiled: writes columns as text ([`TextStyle::write`]) and reads text
/// as dates ([`TextStyle::parse_date_millis`]). The default is DataX's.
#[derive(Debug, Clone)]
pub struct TextStyle {
    /// `None`: DataX's default pattern, written by hand (the fast path).
    datetime: Option<OutputPattern>,
    date: Option<OutputPattern>,
    time: Option<OutputPattern>,
    zone: Zone,
    /// What a string is read with, in `StringCast.asDate`'s order.
    date_readers: Vec<DatePattern>,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle::new(&ColumnSettings::default()).expect("DataX's defaults compile")
    }
}

impl TextStyle {
    /// Errors name the key: `common.column.timeZone: "Mars/Base" is neither …`.
    pub fn new(settings: &ColumnSettings) -> Result<Self, ConfigError> {
        let error = |key: &str| {
            let path = format!("common.column.{key}");
            move |message: String| ConfigError::new(path, message)
        };
        let output = |key: &str, given: &Option<String>, default: &str| match given {
            Some(format) if format != default => {
                OutputPattern::compile(format).map(Some).map_err(error(key))
            }
            _ => Ok(None),
        };
        let datetime = output(
            "datetimeFormat",
            &settings.datetime_format,
            DATAX_DATETIME_FORMAT,
        )?;
        let date = output("dateFormat", &settings.date_format, DATAX_DAY_FORMAT)?;
        let time = output("timeFormat", &settings.time_format, DATAX_TIME_FORMAT)?;
        let zone = match &settings.time_zone {
            Some(zone) => parse_time_zone(zone).map_err(error("timeZone"))?,
            None => Zone::Fixed(DATAX_DEFAULT_OFFSET_SECONDS),
        };
        if let Some(encoding) = &settings.encoding {
            let name = encoding.trim().to_ascii_lowercase();
            if name != "utf-8" && name != "utf8" {
                return Err(error("encoding")(format!(
                    "\"{encoding}\" is not supported (only UTF-8)"
                )));
            }
        }
        let date_readers = date_readers(settings).map_err(|(key, message)| error(&key)(message))?;
        Ok(TextStyle {
            datetime,
            date,
            time,
            zone,
            date_readers,
        })
    }

    /// Appends the text of `column` as DataX's `asString()` gives it under these settings
    /// (see [`write_text`] for the other kinds and for null).
    pub fn write(&self, out: &mut Vec<u8>, column: &Column) -> Result<(), NotFinite> {
        let default_zone = self.zone == Zone::Fixed(DATAX_DEFAULT_OFFSET_SECONDS);
        match column {
            Column::DateTime(instant) | Column::Timestamp(instant)
                if self.datetime.is_some() || !default_zone =>
            {
                let offset = self.zone.offset_at(instant.seconds);
                if !write_with(&self.datetime, out, instant.seconds, instant.nanos, offset) {
                    write_date_time_at(out, instant.seconds, offset);
                }
            }
            Column::Date(days) if self.date.is_some() || !default_zone => {
                // DataX's readers make a date midnight in the JVM's zone, GMT+8.
                let seconds = i64::from(*days) * SECONDS_PER_DAY - DATAX_DEFAULT_OFFSET_SECONDS;
                let offset = self.zone.offset_at(seconds);
                if !write_with(&self.date, out, seconds, 0, offset) {
                    let local_days = (seconds + offset).div_euclid(SECONDS_PER_DAY);
                    let (year, month, day) = civil_from_days(local_days);
                    write_civil_date(out, year, month, day);
                }
            }
            Column::Time(nanos_of_day) if self.time.is_some() || !default_zone => {
                // A time is that time on 1970-01-01 in the JVM's zone.
                let whole_seconds = (nanos_of_day / 1_000_000_000) as i64;
                let seconds = whole_seconds - DATAX_DEFAULT_OFFSET_SECONDS;
                let nanos = (nanos_of_day % 1_000_000_000) as u32;
                let offset = self.zone.offset_at(seconds);
                if !write_with(&self.time, out, seconds, nanos, offset) {
                    let local = LocalDateTime::at_offset(seconds, offset);
                    write_clock(
                        out,
                        local.hour.into(),
                        local.minute.into(),
                        local.second.into(),
                    );
                }
            }
            other => return write_text(out, other),
        }
        Ok(())
    }

    /// Milliseconds since the epoch of `text` read as DataX's `StringCast.asDate` reads it:
    /// the datetime, date and time formats, then the extra formats, each matching a prefix,
    /// in the zone; `None` when none matches.
    pub fn parse_date_millis(&self, text: &str) -> Option<i64> {
        self.date_readers
            .iter()
            .find_map(|format| format.parse_seconds(text, self.zone))
            .map(|seconds| seconds.saturating_mul(1000))
    }
}

/// Writes with `pattern`; `false` when there is none or chrono cannot (far dates).
fn write_with(
    pattern: &Option<OutputPattern>,
    out: &mut Vec<u8>,
    seconds: i64,
    nanos: u32,
    offset: i64,
) -> bool {
    pattern
        .as_ref()
        .is_some_and(|pattern| pattern.write(out, seconds, nanos, offset))
}

/// The formats `StringCast.asDate` tries; an error names the key and says why.
fn date_readers(settings: &ColumnSettings) -> Result<Vec<DatePattern>, (String, String)> {
    let mut formats = vec![
        (
            "datetimeFormat".to_string(),
            settings
                .datetime_format
                .clone()
                .unwrap_or_else(|| DATAX_DATETIME_FORMAT.to_string()),
        ),
        (
            "dateFormat".to_string(),
            settings
                .date_format
                .clone()
                .unwrap_or_else(|| DATAX_DAY_FORMAT.to_string()),
        ),
        (
            "timeFormat".to_string(),
            settings
                .time_format
                .clone()
                .unwrap_or_else(|| DATAX_TIME_FORMAT.to_string()),
        ),
    ];
    match settings.extra_formats.as_deref() {
        Some(extra) if !extra.is_empty() => formats.extend(
            extra
                .iter()
                .enumerate()
                .map(|(index, format)| (format!("extraFormats[{index}]"), format.clone())),
        ),
        _ => formats.extend(
            DATAX_EXTRA_FORMATS.map(|format| ("extraFormats[0]".to_string(), format.to_string())),
        ),
    }
    formats
        .into_iter()
        .map(|(key, format)| DatePattern::compile_java(&format).map_err(|message| (key, message)))
        .collect()
}

#[cfg(test)]
mod tests {
    use datax_plugin_api::EpochTime;
    use serde_json::json;

    use super::*;

    fn style(settings: serde_json::Value) -> TextStyle {
        let settings: ColumnSettings = serde_json::from_value(settings).unwrap();
        TextStyle::new(&settings).unwrap()
    }

    fn text(style: &TextStyle, column: Column) -> String {
        let mut out = Vec::new();
        style.write(&mut out, &column).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// 2016-12-26 10:01:02.345 in GMT+8.
    const INSTANT: EpochTime = EpochTime {
        seconds: 1_482_717_662,
        nanos: 345_000_000,
    };

    #[test]
    fn the_default_is_datax_text() {
        let datax = TextStyle::default();
        for column in [
            Column::DateTime(INSTANT),
            Column::Timestamp(INSTANT),
            Column::Date(17_161),
            Column::Time(36_062_000_000_000),
            Column::Double(1e7),
            Column::string("x"),
        ] {
            let mut expected = Vec::new();
            write_text(&mut expected, &column).unwrap();
            assert_eq!(text(&datax, column).as_bytes(), expected);
        }
    }

    #[test]
    fn formats_follow_java_date_format_utils() {
        // DateFormatUtils.format(date, "yyyy/MM/dd HH:mm", GMT+8) and friends.
        let style = style(json!({
            "datetimeFormat": "yyyy/MM/dd HH:mm",
            "dateFormat": "d.M.yy",
            "timeFormat": "h:mm:ss.SSS a",
        }));
        assert_eq!(text(&style, Column::DateTime(INSTANT)), "2016/12/26 10:01");
        assert_eq!(text(&style, Column::Timestamp(INSTANT)), "2016/12/26 10:01");
        assert_eq!(text(&style, Column::Date(17_161)), "26.12.16");
        assert_eq!(text(&style, Column::Date(17_143)), "8.12.16");
        // 22:01:02.345 on a 12-hour clock.
        assert_eq!(
            text(&style, Column::Time(79_262_345_000_000)),
            "10:01:02.345 PM"
        );
    }

    #[test]
    fn the_time_zone_moves_the_wall_clock() {
        let utc = style(json!({"timeZone": "UTC"}));
        assert_eq!(text(&utc, Column::DateTime(INSTANT)), "2016-12-26 02:01:02");
        // A date is GMT+8 midnight: the day before in UTC.
        assert_eq!(text(&utc, Column::Date(17_161)), "2016-12-25");
        assert_eq!(text(&utc, Column::Time(36_062_000_000_000)), "02:01:02");
        let new_york = style(
            json!({"timeZone": "America/New_York", "datetimeFormat": "yyyy-MM-dd HH:mm:ss Z"}),
        );
        assert_eq!(
            text(&new_york, Column::DateTime(INSTANT)),
            "2016-12-25 21:01:02 -0500"
        );
    }

    #[test]
    fn strings_are_read_with_each_format_in_turn() {
        let datax = TextStyle::default();
        let millis = |style: &TextStyle, text| style.parse_date_millis(text);
        assert_eq!(
            millis(&datax, "2016-12-26 10:01:02"),
            Some(1_482_717_662_000)
        );
        assert_eq!(millis(&datax, "2016-12-26"), Some(1_482_681_600_000));
        assert_eq!(millis(&datax, "10:01:02"), Some(7_262_000));
        // core.json's extra format.
        assert_eq!(millis(&datax, "20161226"), Some(1_482_681_600_000));
        assert_eq!(millis(&datax, "26/12/2016"), None);
        let custom = style(json!({"extraFormats": ["dd/MM/yyyy"], "timeZone": "GMT"}));
        assert_eq!(millis(&custom, "26/12/2016"), Some(1_482_710_400_000));
        assert_eq!(millis(&custom, "20161226"), None, "the job's list replaces");
        let empty = style(json!({"extraFormats": []}));
        assert_eq!(millis(&empty, "20161226"), Some(1_482_681_600_000));
    }

    #[test]
    fn bad_settings_name_their_key() {
        let error = |settings| {
            let settings: ColumnSettings = serde_json::from_value(settings).unwrap();
            TextStyle::new(&settings).unwrap_err().to_string()
        };
        assert!(error(json!({"timeZone": "Mars/Base"}))
            .starts_with("common.column.timeZone: \"Mars/Base\" is neither"));
        assert_eq!(
            error(json!({"encoding": "GBK"})),
            "common.column.encoding: \"GBK\" is not supported (only UTF-8)"
        );
        assert!(
            error(json!({"datetimeFormat": "yyyy G"})).starts_with("common.column.datetimeFormat:")
        );
        assert!(error(json!({"extraFormats": ["yyyy", "'"]}))
            .starts_with("common.column.extraFormats[1]:"));
        assert!(error(json!({"timeFormat": "kk:mm"})).contains("\"kk\" is not supported"));
    }
}
