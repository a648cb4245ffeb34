//! Java `SimpleDateFormat`-style patterns read in DataX's time zone (the calendar itself is
//! [`datax_plugin_api::calendar`]).

use datax_plugin_api::{
    days_from_civil, days_in_month, DATAX_DEFAULT_OFFSET_SECONDS, SECONDS_PER_DAY,
};

#[derive(Debug, Clone, PartialEq)]
enum PatternPart {
    /// A run of one pattern letter, e.g. `yyyy` is `('y', 4)`.
    Field(char, usize),
    Literal(String),
}

/// A compiled `SimpleDateFormat` pattern restricted to the numeric letters DataX jobs use:
/// `y` year, `M` month, `d` day, `H` hour 0-23, `h` hour 1-12, `m` minute, `s` second,
/// `S` millisecond; other text and `'quoted'` text must match literally.
#[derive(Debug, Clone, PartialEq)]
pub struct DatePattern {
    parts: Vec<PatternPart>,
}

pub const DEFAULT_DATE_FORMAT: &str = "yyyy-MM-dd HH:mm:ss";

impl DatePattern {
    pub fn compile(pattern: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                // `''` is a quote; `'text'` is literal text.
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                    continue;
                }
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(quoted) => literal.push(quoted),
                        None => return Err(format!("unclosed quote in \"{pattern}\"")),
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !"yMdHhmsS".contains(c) {
                    return Err(format!(
                        "unsupported letter '{c}' in \"{pattern}\" (supported: y M d H h m s S)"
                    ));
                }
                let mut width = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    width += 1;
                }
                if c == 'M' && width > 2 {
                    return Err(format!(
                        "month names (\"{}\") are not supported in \"{pattern}\"; use MM",
                        "M".repeat(width)
                    ));
                }
                if !literal.is_empty() {
                    parts.push(PatternPart::Literal(std::mem::take(&mut literal)));
                }
                parts.push(PatternPart::Field(c, width));
            } else {
                literal.push(c);
            }
        }
        if !literal.is_empty() {
            parts.push(PatternPart::Literal(literal));
        }
        Ok(DatePattern { parts })
    }

    /// Milliseconds since the epoch of `text`, read as a GMT+8 wall-clock time. Unlike
    /// `SimpleDateFormat` out-of-range fields and trailing text are errors, not silently
    /// rolled over or ignored.
    pub fn parse_millis(&self, text: &str) -> Result<i64, String> {
        let (mut year, mut month, mut day) = (1970_i64, 1_u32, 1_u32);
        let (mut hour, mut minute, mut second, mut millis) = (0_u32, 0_u32, 0_u32, 0_u32);
        let mut rest = text;
        for (index, part) in self.parts.iter().enumerate() {
            match part {
                PatternPart::Literal(expected) => {
                    rest = rest
                        .strip_prefix(expected.as_str())
                        .ok_or_else(|| format!("expected \"{expected}\" at \"{rest}\""))?;
                }
                PatternPart::Field(letter, width) => {
                    // Like SimpleDateFormat: a field directly followed by another field takes
                    // exactly its pattern width (`yyyyMMdd`), otherwise all its digits.
                    let abuts_next_field =
                        matches!(self.parts.get(index + 1), Some(PatternPart::Field(..)));
                    let available = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let digits = if abuts_next_field {
                        *width
                    } else {
                        available.min(9)
                    };
                    if digits == 0 || available < digits {
                        return Err(format!(
                            "expected {} digits for '{}' at \"{rest}\"",
                            width,
                            letter.to_string().repeat(*width)
                        ));
                    }
                    let value: u32 = rest[..digits].parse().expect("ASCII digits");
                    rest = &rest[digits..];
                    match letter {
                        'y' => year = i64::from(value),
                        'M' => month = value,
                        'd' => day = value,
                        'H' => hour = value,
                        // Without an am/pm marker `hh` reads 12 as midnight, as Java does.
                        'h' if (1..=12).contains(&value) => hour = value % 12,
                        'h' => return Err(format!("hour {value} is not in 1..=12 (h)")),
                        'm' => minute = value,
                        's' => second = value,
                        'S' => millis = value,
                        _ => unreachable!("compile admits only the letters matched here"),
                    }
                }
            }
        }
        if !rest.is_empty() {
            return Err(format!("unexpected trailing text \"{rest}\""));
        }
        let out_of_range = |what: &str, value: i64| Err(format!("{what} {value} is out of range"));
        if !(1..=12).contains(&month) {
            return out_of_range("month", month.into());
        }
        if day == 0 || day > days_in_month(year, month) {
            return out_of_range("day", day.into());
        }
        if hour > 23 {
            return out_of_range("hour", hour.into());
        }
        if minute > 59 {
            return out_of_range("minute", minute.into());
        }
        if second > 59 {
            return out_of_range("second", second.into());
        }
        if millis > 999 {
            return out_of_range("millisecond", millis.into());
        }
        let local_seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY
            + i64::from(hour * 3600 + minute * 60 + second);
        Ok((local_seconds - DATAX_DEFAULT_OFFSET_SECONDS) * 1000 + i64::from(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pattern_reads_gmt_plus_8_wall_clock() {
        let pattern = DatePattern::compile(DEFAULT_DATE_FORMAT).unwrap();
        // 2024-01-01 00:00:00 in GMT+8 is 2023-12-31 16:00:00 UTC.
        assert_eq!(
            pattern.parse_millis("2024-01-01 00:00:00").unwrap(),
            1_704_038_400_000
        );
        assert_eq!(
            pattern.parse_millis("1970-01-01 08:00:00").unwrap(),
            0,
            "the epoch is 08:00 in GMT+8"
        );
    }

    #[test]
    fn other_patterns_and_abutting_fields() {
        let compact = DatePattern::compile("yyyyMMddHHmmss").unwrap();
        assert_eq!(
            compact.parse_millis("20240101000000").unwrap(),
            1_704_038_400_000
        );
        let with_millis = DatePattern::compile("yyyy/M/d'T'h:mm:ss.SSS").unwrap();
        assert_eq!(
            with_millis.parse_millis("2024/1/1T12:00:00.250").unwrap(),
            1_704_038_400_250
        );
        let date_only = DatePattern::compile("yyyy-MM-dd").unwrap();
        assert_eq!(
            date_only.parse_millis("2024-01-01").unwrap(),
            1_704_038_400_000
        );
    }

    #[test]
    fn bad_text_and_bad_patterns_are_explained() {
        let pattern = DatePattern::compile(DEFAULT_DATE_FORMAT).unwrap();
        assert_eq!(
            pattern.parse_millis("2024-13-01 00:00:00").unwrap_err(),
            "month 13 is out of range"
        );
        assert_eq!(
            pattern.parse_millis("2023-02-29 00:00:00").unwrap_err(),
            "day 29 is out of range"
        );
        assert_eq!(
            pattern.parse_millis("2024-01-01").unwrap_err(),
            "expected \" \" at \"\""
        );
        assert_eq!(
            pattern.parse_millis("2024-01-01 00:00:00.5").unwrap_err(),
            "unexpected trailing text \".5\""
        );
        assert_eq!(
            DatePattern::compile("EEE yyyy").unwrap_err(),
            "unsupported letter 'E' in \"EEE yyyy\" (supported: y M d H h m s S)"
        );
        assert!(DatePattern::compile("dd MMM yyyy").is_err());
        assert!(DatePattern::compile("yyyy 'unclosed").is_err());
    }
}
