//! `dx_filter`: `paras: [operator, value]`; a record whose column matches is dropped and
//! counted as filtered (DataX's transformer returns `null`).
//!
//! As DataX's `FilterTransformer`:
//! - `like` / `not like`: the value is a regular expression that must match the whole text
//!   (Java's `String.matches`). A null never matches `like`, so `not like` drops it. The
//!   regex engine is Rust's `regex`: look-around and back-references are refused at start.
//! - `>`, `<`, `>=`, `<=`, `=` (or `==`), `!=`: doubles and decimals compare as doubles,
//!   longs and dates as longs (a date as its epoch milliseconds), strings, bytes and
//!   booleans as text in UTF-16 order. A value that is not a number where the column is one
//!   fails the record. A null is never `>`/`<`; it is `=` only to the value `null` (any
//!   case), and `!=` to everything else.
//! - Operators in any case; an unknown one is refused at start (DataX fails every record).

use std::cmp::Ordering;

use datax_plugin_api::Column;
use regex::Regex;

use super::params::Parameter;
use super::utf16::compare;
use super::{column_text, Transform, Verdict};

/// DataX keeps dates as `java.util.Date` in the job's zone, which the text of a datetime is
/// written in (GMT+8, plugin-kit's `text`): a calendar date is its local midnight.
const ZONE_OFFSET_MILLIS: i64 = 8 * 3600 * 1000;
const DAY_MILLIS: i64 = 86_400_000;

enum Operator {
    Like(Regex),
    NotLike(Regex),
    /// Drops the record when the comparison's ordering is one of these.
    Compare(&'static [Ordering]),
    /// `!=`: drops what is not equal (incomparable doubles included, as Java's `!=`).
    NotEqual,
}

pub struct Filter {
    operator: Operator,
    value: String,
}

impl Filter {
    pub fn new(parameter: &Parameter) -> Result<Self, String> {
        let paras = parameter.expect(&["operator", "value"])?;
        let value = paras[1].clone();
        if value.is_empty() {
            return Err("paras[1] (value) must not be empty".to_string());
        }
        let like = || {
            Regex::new(&format!("^(?:{value})$")).map_err(|error| {
                format!("paras[1] is not a regular expression we can run: {error}")
            })
        };
        let operator = match paras[0].to_ascii_lowercase().as_str() {
            "like" => Operator::Like(like()?),
            "not like" => Operator::NotLike(like()?),
            ">" => Operator::Compare(&[Ordering::Greater]),
            ">=" => Operator::Compare(&[Ordering::Greater, Ordering::Equal]),
            "<" => Operator::Compare(&[Ordering::Less]),
            "<=" => Operator::Compare(&[Ordering::Less, Ordering::Equal]),
            "=" | "==" => Operator::Compare(&[Ordering::Equal]),
            "!=" => Operator::NotEqual,
            other => {
                return Err(format!(
                    "paras[0] must be one of like, not like, >, <, =, !=, >=, <=; found {other:?}"
                ))
            }
        };
        Ok(Filter { operator, value })
    }

    /// The column against the value: `None` for doubles that do not compare (NaN).
    fn ordering(&self, column: &Column) -> Result<Option<Ordering>, String> {
        let not_a_number = |kind: &str| {
            format!(
                "dx_filter value {:?} is not a {kind} (For input string)",
                self.value
            )
        };
        match column {
            Column::Double(_) | Column::Decimal(_) => {
                let ori = match column {
                    Column::Double(value) => *value,
                    _ => column_text(column)?
                        .unwrap_or_default()
                        .parse::<f64>()
                        .map_err(|error| error.to_string())?,
                };
                let value: f64 = self
                    .value
                    .trim()
                    .parse()
                    .map_err(|_| not_a_number("double"))?;
                Ok(ori.partial_cmp(&value))
            }
            Column::Long(_)
            | Column::Date(_)
            | Column::Time(_)
            | Column::DateTime(_)
            | Column::Timestamp(_) => {
                let value: i64 = self.value.parse().map_err(|_| not_a_number("long"))?;
                Ok(Some(as_long(column).cmp(&value)))
            }
            _ => {
                let text = column_text(column)?.unwrap_or_default();
                Ok(Some(compare(&text, &self.value)))
            }
        }
    }
}

/// DataX's `asLong` of a long or a date column (epoch milliseconds).
fn as_long(column: &Column) -> i64 {
    match column {
        Column::Long(value) => *value,
        Column::Date(days) => i64::from(*days) * DAY_MILLIS - ZONE_OFFSET_MILLIS,
        Column::Time(nanos) => (*nanos / 1_000_000) as i64 - ZONE_OFFSET_MILLIS,
        Column::DateTime(instant) | Column::Timestamp(instant) => instant.as_millis(),
        _ => 0,
    }
}

fn verdict(drop: bool) -> Verdict {
    if drop {
        Verdict::Filter
    } else {
        Verdict::Keep
    }
}

impl Transform for Filter {
    fn apply(&self, column: &mut Column) -> Result<Verdict, String> {
        let is_null = matches!(column, Column::Null);
        let null_value = self.value.eq_ignore_ascii_case("null");
        Ok(verdict(match &self.operator {
            Operator::Like(regex) => column_text(column)?.is_some_and(|text| regex.is_match(&text)),
            Operator::NotLike(regex) => {
                !column_text(column)?.is_some_and(|text| regex.is_match(&text))
            }
            Operator::Compare(drop_on) if is_null => drop_on == &[Ordering::Equal] && null_value,
            Operator::NotEqual if is_null => !null_value,
            Operator::Compare(drop_on) => self
                .ordering(column)?
                .is_some_and(|ordering| drop_on.contains(&ordering)),
            Operator::NotEqual => self.ordering(column)? != Some(Ordering::Equal),
        }))
    }
}

#[cfg(test)]
mod tests {
    use datax_plugin_api::EpochTime;

    use super::*;

    fn filtered(operator: &str, value: &str, column: Column) -> Result<bool, String> {
        let parameter = Parameter {
            column_index: 0,
            paras: vec![operator.into(), value.into()],
        };
        let mut column = column;
        Ok(Filter::new(&parameter)?.apply(&mut column)? == Verdict::Filter)
    }

    #[test]
    fn like_matches_the_whole_text() {
        let text = || Column::string("DataX");
        assert_eq!(filtered("like", "Data", text()), Ok(false));
        assert_eq!(filtered("like", "Da.*", text()), Ok(true));
        assert_eq!(
            filtered("LIKE", "d.*", text()),
            Ok(false),
            "case-sensitive regex"
        );
        assert_eq!(filtered("not like", "Da.*", text()), Ok(false));
        assert_eq!(filtered("not like", "x", text()), Ok(true));
        assert_eq!(filtered("like", ".*", Column::Null), Ok(false));
        assert_eq!(filtered("not like", ".*", Column::Null), Ok(true));
        assert_eq!(filtered("like", "1[0-9]", Column::Long(12)), Ok(true));
    }

    #[test]
    fn numbers_compare_as_numbers() {
        assert_eq!(
            filtered(">", "9", Column::Long(10)),
            Ok(true),
            "not as text"
        );
        assert_eq!(
            filtered(">", "9", Column::string("10")),
            Ok(false),
            "text: \"10\" < \"9\""
        );
        assert_eq!(filtered(">=", "10", Column::Long(10)), Ok(true));
        assert_eq!(filtered("<", "10", Column::Long(10)), Ok(false));
        assert_eq!(filtered("<=", "10", Column::Long(10)), Ok(true));
        assert_eq!(filtered("=", "1.50", Column::Double(1.5)), Ok(true));
        assert_eq!(filtered("==", "2", Column::decimal("2.000")), Ok(true));
        assert_eq!(filtered("!=", "3", Column::Long(3)), Ok(false));
        assert_eq!(filtered("!=", "4", Column::Long(3)), Ok(true));
        assert!(filtered(">", "1.5", Column::Long(3))
            .unwrap_err()
            .contains("not a long"));
        assert!(filtered(">", "x", Column::Double(3.0))
            .unwrap_err()
            .contains("not a double"));
        let noon = Column::DateTime(EpochTime::from_millis(43_200_000));
        assert_eq!(filtered(">", "43199999", noon), Ok(true));
    }

    #[test]
    fn text_compares_in_utf16_order() {
        assert_eq!(filtered(">", "abc", Column::string("abd")), Ok(true));
        assert_eq!(filtered("<", "\u{FF01}", Column::string("😀")), Ok(true));
        assert_eq!(filtered("=", "true", Column::Bool(true)), Ok(true));
        assert_eq!(filtered("=", "ab", Column::bytes(b"ab".to_vec())), Ok(true));
    }

    #[test]
    fn nulls_as_datax() {
        for operator in [">", ">=", "<", "<="] {
            assert_eq!(
                filtered(operator, "1", Column::Null),
                Ok(false),
                "{operator}"
            );
        }
        assert_eq!(filtered("=", "NULL", Column::Null), Ok(true));
        assert_eq!(filtered("=", "1", Column::Null), Ok(false));
        assert_eq!(filtered("!=", "null", Column::Null), Ok(false));
        assert_eq!(filtered("!=", "1", Column::Null), Ok(true));
        assert_eq!(
            filtered("=", "null", Column::string("null")),
            Ok(true),
            "the text"
        );
    }

    #[test]
    fn bad_paras_are_refused() {
        assert!(filtered("~", "1", Column::Null)
            .unwrap_err()
            .starts_with("paras[0] must be one of"));
        assert!(filtered("=", "", Column::Null)
            .unwrap_err()
            .contains("must not be empty"));
        assert!(filtered("like", "(a", Column::Null)
            .unwrap_err()
            .contains("regular expression"));
    }
}
