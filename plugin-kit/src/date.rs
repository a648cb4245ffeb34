//! Date patterns, one engine for every plugin: Java `SimpleDateFormat` (`yyyy-MM-dd HH:mm:ss`,
//! DataX's), strftime (`%Y-%m-%d %H:%M:%S`, DataWorks' table) and MySQL `DATE_FORMAT`
//! (`%Y_%m_%d %H:%i:%S`, `%i` = minutes) all compile to chrono items (datax-semantics.md §8);
//! plus `bigint`, epoch seconds (datax-engine.md §8.2). Texts without an offset are read in a
//! [`Zone`], DataX's GMT+8 unless a plugin's `timeZone` says otherwise.

use chrono::format::{parse, Item, ParseError, ParseErrorKind, Parsed, StrftimeItems};
use chrono::{DateTime, LocalResult, Offset, TimeZone as _};
use chrono_tz::Tz;

/// A `timeZone`: a fixed offset (`GMT+8`) or an IANA zone (`Asia/Shanghai`), whose offset
/// depends on the date (summer time), as a Java `TimeZone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Seconds east of UTC.
    Fixed(i64),
    Named(Tz),
}

/// A fixed offset in seconds east of UTC.
impl From<i64> for Zone {
    fn from(seconds_east: i64) -> Self {
        Zone::Fixed(seconds_east)
    }
}

impl Zone {
    /// Seconds east of UTC in this zone at the instant `utc_seconds` (for a named zone beyond
    /// chrono's range, its offset at the edge of it).
    pub fn offset_at(&self, utc_seconds: i64) -> i64 {
        let tz = match self {
            Zone::Fixed(offset) => return *offset,
            Zone::Named(tz) => tz,
        };
        let instant = DateTime::from_timestamp(utc_seconds, 0).unwrap_or(if utc_seconds < 0 {
            DateTime::<chrono::Utc>::MIN_UTC
        } else {
            DateTime::<chrono::Utc>::MAX_UTC
        });
        let offset = tz.offset_from_utc_datetime(&instant.naive_utc());
        i64::from(offset.fix().local_minus_utc())
    }

    /// Seconds since the epoch of a wall-clock time in this zone, given as seconds since
    /// 1970-01-01 00:00 on that wall clock. As Java's `ZoneInfo.getOffsetsByWall`: a time in a
    /// spring-forward gap takes the offset before it (so it moves forward) and a repeated
    /// autumn hour the offset after (standard time).
    pub fn utc_of_local(&self, local_seconds: i64) -> i64 {
        let tz = match self {
            Zone::Fixed(offset) => return local_seconds - offset,
            Zone::Named(tz) => tz,
        };
        let Some(wall) = DateTime::from_timestamp(local_seconds, 0).map(|at| at.naive_utc()) else {
            return local_seconds;
        };
        match tz.from_local_datetime(&wall) {
            LocalResult::Single(at) | LocalResult::Ambiguous(_, at) => at.timestamp(),
            LocalResult::None => {
                // A day earlier on the wall clock is before the transition (they are months
                // apart), so its offset is the one before the gap.
                let before = wall - chrono::Duration::days(1);
                let offset = tz.offset_from_utc_datetime(&before).fix().local_minus_utc();
                local_seconds - i64::from(offset)
            }
        }
    }
}

/// DataX's default date pattern (`dateFormat` of streamreader and others).
pub const DATAX_DATE_FORMAT: &str = "yyyy-MM-dd HH:mm:ss";

/// A compiled date pattern.
#[derive(Debug, Clone)]
pub enum DatePattern {
    /// `bigint`: the text is a count of seconds since the epoch.
    EpochSeconds,
    Pattern(Vec<Item<'static>>),
}

impl DatePattern {
    /// Errors say what in the pattern is not understood.
    pub fn compile(format: &str) -> Result<Self, String> {
        let format = format.trim();
        if format.eq_ignore_ascii_case("bigint") {
            return Ok(DatePattern::EpochSeconds);
        }
        let strftime = if format.contains('%') {
            if format.contains("%i") {
                from_mysql(format)?
            } else {
                format.to_string()
            }
        } else {
            from_java(format, Use::Parse)?
        };
        Ok(DatePattern::Pattern(strftime_items(format, &strftime)?))
    }

    /// A Java `SimpleDateFormat` pattern only, as DataX's `common.column` formats are: there
    /// `%` is literal text and `bigint` a pattern of letters.
    pub fn compile_java(format: &str) -> Result<Self, String> {
        let strftime = from_java(format, Use::Parse)?;
        Ok(DatePattern::Pattern(strftime_items(format, &strftime)?))
    }

    /// Seconds since the epoch of `text`, as Java's `SimpleDateFormat.parse` reads it: a prefix
    /// (`2016-12-26 10:00:00.123` matches `yyyy-MM-dd HH:mm:ss`); `None` when it does not
    /// match. Fields the pattern lacks take their start values (midnight, the 1st, 1970); a
    /// text without an offset is read in `zone` (seconds east of UTC, or a [`Zone`]).
    pub fn parse_seconds(&self, text: &str, zone: impl Into<Zone>) -> Option<i64> {
        self.parse_millis_with(text.trim(), zone.into(), Trailing::Ignore)
            .ok()
            .map(|millis| millis.div_euclid(1000))
    }

    /// Milliseconds since the epoch of the whole of `text` (trailing text is an error, as are
    /// out-of-range fields, which `SimpleDateFormat` would roll over); the error says why.
    pub fn parse_millis(&self, text: &str, zone: impl Into<Zone>) -> Result<i64, String> {
        self.parse_millis_with(text, zone.into(), Trailing::Reject)
    }

    fn parse_millis_with(&self, text: &str, zone: Zone, trailing: Trailing) -> Result<i64, String> {
        let items = match self {
            DatePattern::EpochSeconds => {
                let seconds: i64 = text
                    .trim()
                    .parse()
                    .map_err(|_| "expected a whole number of seconds".to_string())?;
                return seconds
                    .checked_mul(1000)
                    .ok_or_else(|| "the number of seconds is out of range".to_string());
            }
            DatePattern::Pattern(items) => items,
        };
        let mut parsed = Parsed::new();
        match parse(&mut parsed, text, items.iter()) {
            Ok(()) => {}
            Err(error) if error.kind() == ParseErrorKind::TooLong => {
                if trailing == Trailing::Reject {
                    return Err(explain(error));
                }
            }
            Err(error) => return Err(explain(error)),
        }
        let millis_of_second = i64::from(parsed.nanosecond().unwrap_or(0) / 1_000_000);
        if let Some(timestamp) = parsed.timestamp() {
            return Ok(timestamp * 1000 + millis_of_second);
        }
        fill_start_values(&mut parsed).map_err(explain)?;
        let date = parsed.to_naive_date().map_err(explain)?;
        let time = parsed.to_naive_time().map_err(explain)?;
        let local = date.and_time(time).and_utc().timestamp();
        let seconds = match parsed.offset() {
            Some(offset) => local - i64::from(offset),
            None => zone.utc_of_local(local),
        };
        Ok(seconds * 1000 + millis_of_second)
    }
}

/// A Java `SimpleDateFormat` pattern that writes dates, as DataX's `DateFormatUtils.format`:
/// one-letter numeric fields unpadded (`d` → `7`), longer runs zero-padded.
#[derive(Debug, Clone)]
pub struct OutputPattern(Vec<Item<'static>>);

impl OutputPattern {
    /// Errors say what in the pattern is not understood or not supported for output.
    pub fn compile(format: &str) -> Result<Self, String> {
        let strftime = from_java(format, Use::Format)?;
        Ok(OutputPattern(strftime_items(format, &strftime)?))
    }

    /// Appends the instant `seconds`.`nanos` since the epoch as seen at `offset` seconds east
    /// of UTC; `false` (nothing appended) beyond chrono's range of ±262 000 years.
    pub fn write(&self, out: &mut Vec<u8>, seconds: i64, nanos: u32, offset: i64) -> bool {
        use std::io::Write as _;
        let Some(zone) = i32::try_from(offset)
            .ok()
            .and_then(chrono::FixedOffset::east_opt)
        else {
            return false;
        };
        let Some(instant) = DateTime::from_timestamp(seconds, nanos) else {
            return false;
        };
        let local = instant.with_timezone(&zone);
        let start = out.len();
        if write!(out, "{}", local.format_with_items(self.0.iter())).is_err() {
            out.truncate(start);
            return false;
        }
        true
    }
}

fn strftime_items(format: &str, strftime: &str) -> Result<Vec<Item<'static>>, String> {
    let items = StrftimeItems::new(strftime)
        .parse_to_owned()
        .map_err(|_| format!("\"{format}\" is not a pattern chrono can read"))?;
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err(format!("\"{format}\" has an unknown %-directive"));
    }
    Ok(items)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trailing {
    Ignore,
    Reject,
}

/// Java's defaults for the fields a pattern lacks: 1970-01-01 00:00:00; `hh` without an am/pm
/// marker reads 12 as midnight, as Java does.
fn fill_start_values(parsed: &mut Parsed) -> Result<(), ParseError> {
    if parsed.year().is_none() && parsed.year_mod_100().is_none() {
        parsed.set_year(1970)?;
    }
    if parsed.month().is_none() {
        parsed.set_month(1)?;
    }
    if parsed.day().is_none() {
        parsed.set_day(1)?;
    }
    match (parsed.hour_div_12(), parsed.hour_mod_12()) {
        (None, None) => parsed.set_hour(0)?,
        (None, Some(_)) => parsed.set_ampm(false)?,
        _ => {}
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0)?;
    }
    Ok(())
}

fn explain(error: ParseError) -> String {
    match error.kind() {
        ParseErrorKind::OutOfRange => "a field is out of range",
        ParseErrorKind::Impossible => "no such date or time",
        ParseErrorKind::NotEnough => "the pattern does not give a whole date",
        ParseErrorKind::Invalid => "the text does not match the pattern",
        ParseErrorKind::TooShort => "the text ends before the pattern does",
        ParseErrorKind::TooLong => "unexpected text after the date",
        _ => "the text does not match the pattern",
    }
    .to_string()
}

/// `timeZone`: an IANA zone name (`Asia/Shanghai`, `America/New_York`, `UTC`), as DataWorks
/// users write them, or a fixed offset: `GMT+8`, `GMT+08:00`, `UTC-3`, `+08:00`, `+0800`,
/// `GMT`, `Z`. Unlike Java, which reads an unknown id as GMT, an unknown one is an error.
pub fn parse_time_zone(text: &str) -> Result<Zone, String> {
    let text = text.trim();
    if let Ok(tz) = text.parse::<Tz>() {
        return Ok(Zone::Named(tz));
    }
    parse_offset(text).map(Zone::Fixed)
}

fn parse_offset(text: &str) -> Result<i64, String> {
    let upper = text.to_ascii_uppercase();
    let offset = upper
        .strip_prefix("GMT")
        .or_else(|| upper.strip_prefix("UTC"))
        .unwrap_or(&upper);
    if offset.is_empty() || offset == "Z" {
        return Ok(0);
    }
    let not_an_offset = || {
        format!(
            "\"{text}\" is neither a zone name such as Asia/Shanghai nor a fixed offset such \
             as GMT+8, GMT+08:00, +08:00 or UTC"
        )
    };
    let (sign, digits) = if let Some(digits) = offset.strip_prefix('+') {
        (1, digits)
    } else if let Some(digits) = offset.strip_prefix('-') {
        (-1, digits)
    } else {
        return Err(not_an_offset());
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((hours, minutes)) => (hours, minutes),
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    let number = |text: &str| {
        (!text.is_empty() && text.len() <= 2 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<i64>().ok())
            .flatten()
    };
    match (number(hours), number(minutes)) {
        // Java's ZoneOffset range.
        (Some(hours), Some(minutes)) if hours <= 18 && minutes < 60 => {
            Ok(sign * (hours * 3600 + minutes * 60))
        }
        _ => Err(not_an_offset()),
    }
}

/// What a Java pattern is compiled for: reading lets `d` take one or two digits; writing
/// pads only runs of two or more, and refuses letters whose output strftime cannot give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Parse,
    Format,
}

/// A Java `SimpleDateFormat` pattern as strftime: letter runs are fields, `'…'` is literal.
fn from_java(pattern: &str, used_for: Use) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // `''` is a quote; otherwise literal text up to the closing quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let end = chars[i + 1..]
                .iter()
                .position(|&q| q == '\'')
                .map(|p| i + 1 + p)
                .ok_or_else(|| format!("\"{pattern}\" has an unclosed quote"))?;
            for &literal in &chars[i + 1..end] {
                push_literal(&mut out, literal);
            }
            i = end + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let unsupported = || {
            format!(
                "\"{pattern}\": the letter run \"{}\" is not supported",
                chars[i..i + run].iter().collect::<String>()
            )
        };
        let directive = match (used_for, c, run) {
            // Java writes `k` (1-24), `K` (0-11) and `X` (`Z` at offset 0) as strftime cannot.
            (Use::Format, 'k' | 'K' | 'X', _) => return Err(unsupported()),
            (Use::Format, 'M', 1) => "%-m",
            (Use::Format, 'd', 1) => "%-d",
            (Use::Format, 'H', 1) => "%-H",
            (Use::Format, 'h', 1) => "%-I",
            (Use::Format, 'm', 1) => "%-M",
            (Use::Format, 's', 1) => "%-S",
            _ => java_directive(c, run).ok_or_else(unsupported)?,
        };
        out.push_str(directive);
        i += run;
    }
    Ok(out)
}

/// The strftime directive of a run of `run` letters `letter`.
fn java_directive(letter: char, run: usize) -> Option<&'static str> {
    Some(match (letter, run) {
        ('y', 2) => "%y",
        ('y', _) => "%Y",
        ('M', 1 | 2) => "%m",
        ('M', 3) => "%b",
        ('M', _) => "%B",
        ('d', _) => "%d",
        ('H' | 'k', _) => "%H",
        ('h' | 'K', _) => "%I",
        ('m', _) => "%M",
        ('s', _) => "%S",
        ('S', 3) => "%3f",
        ('a', _) => "%p",
        ('E', 1..=3) => "%a",
        ('E', _) => "%A",
        ('Z', _) => "%z",
        ('X', _) => "%:z",
        _ => return None,
    })
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// A MySQL `DATE_FORMAT` pattern as strftime: `%i` minutes, `%s` seconds, `%M` month name.
fn from_mysql(pattern: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(code) = chars.next() else {
            return Err(format!("\"{pattern}\" ends with a lone %"));
        };
        let directive = match code {
            'Y' | 'y' | 'm' | 'd' | 'e' | 'H' | 'k' | 'l' | 'p' | 'j' | 'a' | 'b' | 'S' => {
                out.push('%');
                out.push(code);
                continue;
            }
            'i' => "%M",
            's' => "%S",
            'M' => "%B",
            'W' => "%A",
            'c' => "%m",
            'h' | 'I' => "%I",
            'T' => "%H:%M:%S",
            'r' => "%I:%M:%S %p",
            'f' => "%6f",
            '%' => "%%",
            other => return Err(format!("\"{pattern}\": %{other} is not supported")),
        };
        out.push_str(directive);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2016-12-26 10:01:02 in GMT+8.
    const SECONDS: i64 = 1_482_717_662;
    const GMT_PLUS_8: i64 = 8 * 3600;

    fn seconds(format: &str, text: &str) -> Option<i64> {
        DatePattern::compile(format)
            .unwrap()
            .parse_seconds(text, GMT_PLUS_8)
    }

    #[test]
    fn the_three_styles_read_the_same_instant_in_gmt_plus_8() {
        assert_eq!(
            seconds("yyyy-MM-dd HH:mm:ss", "2016-12-26 10:01:02"),
            Some(SECONDS)
        );
        assert_eq!(
            seconds("%Y_%m_%d %H:%M:%S", "2016_12_26 10:01:02"),
            Some(SECONDS)
        );
        assert_eq!(
            seconds("%Y_%m_%d %H:%i:%S", "2016_12_26 10:01:02"),
            Some(SECONDS)
        );
        assert_eq!(seconds("%Y%m%d%H%i%s", "20161226100102"), Some(SECONDS));
    }

    #[test]
    fn texts_without_an_offset_are_read_in_the_time_zone() {
        let format = DatePattern::compile("yyyy-MM-dd HH:mm:ss").unwrap();
        assert_eq!(
            format.parse_seconds("2016-12-26 02:01:02", 0),
            Some(SECONDS)
        );
        assert_eq!(
            format.parse_seconds("2016-12-25 23:01:02", -3 * 3600),
            Some(SECONDS)
        );
        // An offset in the text wins.
        let format = DatePattern::compile("yyyy-MM-dd HH:mm:ssXXX").unwrap();
        assert_eq!(
            format.parse_seconds("2016-12-26 10:01:02+08:00", 0),
            Some(SECONDS)
        );
    }

    #[test]
    fn zone_names_follow_summer_time_as_java() {
        let shanghai = parse_time_zone("Asia/Shanghai").unwrap();
        let format = DatePattern::compile("yyyy-MM-dd HH:mm:ss").unwrap();
        assert_eq!(
            format.parse_seconds("2016-12-26 10:01:02", shanghai),
            Some(SECONDS)
        );
        let new_york = parse_time_zone("America/New_York").unwrap();
        // Winter: UTC-5; summer: UTC-4.
        assert_eq!(
            format.parse_seconds("2016-12-25 21:01:02", new_york),
            Some(SECONDS)
        );
        assert_eq!(
            format.parse_seconds("2016-07-01 08:00:00", new_york),
            Some(1_467_374_400)
        );
        // 2016-03-13 02:30 does not exist there: Java moves it forward to 03:30 EDT (07:30Z).
        assert_eq!(
            format.parse_seconds("2016-03-13 02:30:00", new_york),
            Some(1_457_854_200)
        );
        // 2016-11-06 01:30 happens twice: Java reads it as standard time (06:30Z).
        assert_eq!(
            format.parse_seconds("2016-11-06 01:30:00", new_york),
            Some(1_478_413_800)
        );
        assert_eq!(
            parse_time_zone("UTC"),
            Ok(Zone::Named(chrono_tz::UTC)),
            "an IANA name first"
        );
    }

    #[test]
    fn time_zones_are_fixed_offsets() {
        for (text, offset) in [
            ("GMT+8", GMT_PLUS_8),
            ("gmt+08:00", GMT_PLUS_8),
            ("GMT+0800", GMT_PLUS_8),
            ("+08:00", GMT_PLUS_8),
            ("UTC-3", -3 * 3600),
            ("-03:30", -(3 * 3600 + 1800)),
            ("GMT", 0),
            (" UTC ", 0),
            ("Z", 0),
        ] {
            let zone = parse_time_zone(text).unwrap();
            assert_eq!(zone.utc_of_local(offset), 0, "{text}");
        }
        for text in [
            "Asia/Shanghia",
            "GMT+",
            "+8:5:1",
            "GMT+19",
            "+08:60",
            "8",
            "+123",
            "Ü",
        ] {
            let error = parse_time_zone(text).unwrap_err();
            assert!(error.contains("nor a fixed offset"), "{text}: {error}");
        }
    }

    #[test]
    fn bigint_is_epoch_seconds() {
        assert_eq!(seconds("bigint", " 1482717662 "), Some(SECONDS));
        assert_eq!(seconds("BIGINT", "1.5"), None);
    }

    #[test]
    fn java_patterns_read_a_prefix_and_default_missing_fields() {
        assert_eq!(
            seconds("yyyy-MM-dd HH:mm:ss", "2016-12-26 10:01:02.345"),
            Some(SECONDS)
        );
        assert_eq!(seconds("yyyyMMdd", "20161226"), Some(SECONDS - 36_062));
        assert_eq!(
            seconds("yyyy-MM-dd'T'HH:mm:ssXXX", "2016-12-26T02:01:02+00:00"),
            Some(SECONDS)
        );
        assert_eq!(
            seconds("dd/MMM/yyyy:HH:mm:ss Z", "26/Dec/2016:10:01:02 +0800"),
            Some(SECONDS)
        );
    }

    #[test]
    fn text_that_does_not_match_is_none() {
        assert_eq!(seconds("yyyy-MM-dd HH:mm:ss", "not a time"), None);
        assert_eq!(seconds("%Y_%m_%d %H:%i:%S", "2016-12-26 10:01:02"), None);
        assert_eq!(seconds("yyyy-MM-dd", ""), None);
        assert_eq!(seconds("yyyy-MM-dd HH:mm:ss", "2016-13-26 10:01:02"), None);
    }

    fn millis(format: &str, text: &str) -> Result<i64, String> {
        DatePattern::compile(format)
            .unwrap()
            .parse_millis(text, GMT_PLUS_8)
    }

    #[test]
    fn the_datax_default_reads_gmt_plus_8_wall_clock() {
        // 2024-01-01 00:00:00 in GMT+8 is 2023-12-31 16:00:00 UTC.
        assert_eq!(
            millis(DATAX_DATE_FORMAT, "2024-01-01 00:00:00"),
            Ok(1_704_038_400_000)
        );
        assert_eq!(millis(DATAX_DATE_FORMAT, "1970-01-01 08:00:00"), Ok(0));
    }

    #[test]
    fn whole_texts_with_abutting_fields_millis_and_twelve_hour_clocks() {
        assert_eq!(
            millis("yyyyMMddHHmmss", "20240101000000"),
            Ok(1_704_038_400_000)
        );
        // Without an am/pm marker `hh` reads 12 as midnight, as Java does.
        assert_eq!(
            millis("yyyy/M/d'T'h:mm:ss.SSS", "2024/1/1T12:00:00.250"),
            Ok(1_704_038_400_250)
        );
        assert_eq!(millis("yyyy-MM-dd", "2024-01-01"), Ok(1_704_038_400_000));
        assert_eq!(millis("bigint", "1704038400"), Ok(1_704_038_400_000));
    }

    #[test]
    fn whole_texts_that_do_not_fit_are_explained() {
        assert_eq!(
            millis(DATAX_DATE_FORMAT, "2024-13-01 00:00:00").unwrap_err(),
            "a field is out of range"
        );
        assert!(millis(DATAX_DATE_FORMAT, "2023-02-29 00:00:00").is_err());
        assert_eq!(
            millis(DATAX_DATE_FORMAT, "2024-01-01").unwrap_err(),
            "the text ends before the pattern does"
        );
        assert_eq!(
            millis(DATAX_DATE_FORMAT, "2024-01-01 00:00:00.5").unwrap_err(),
            "unexpected text after the date"
        );
        assert_eq!(
            millis("bigint", "soon").unwrap_err(),
            "expected a whole number of seconds"
        );
    }

    #[test]
    fn unsupported_patterns_are_errors_naming_the_part() {
        let error = DatePattern::compile("yyyy-MM-dd G").unwrap_err();
        assert!(error.contains("\"G\""), "{error}");
        let error = DatePattern::compile("%Y %D %i").unwrap_err();
        assert!(error.contains("%D"), "{error}");
        assert!(DatePattern::compile("%Y-%Q").is_err());
        assert!(DatePattern::compile("yyyy-'MM").is_err());
    }
}
