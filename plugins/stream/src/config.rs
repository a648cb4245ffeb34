//! The `parameter` objects of streamreader and streamwriter, declared once as typed structs
//! whose doc comments are their docs, read leniently as DataX does (numbers and booleans may
//! be written as strings, `null` and blank count as absent, unknown keys are warnings) by
//! [`datax_plugin_kit::config`]. What the types cannot say (a column's value read by its
//! type, `path` needing `fileName`) is checked here; every error names the key it is about.

use std::path::PathBuf;

use datax_plugin_api::{Column, EpochTime};
use datax_plugin_kit::calendar::DATAX_DEFAULT_OFFSET_SECONDS;
use datax_plugin_kit::config::lenient::{self, as_bool, as_f64, as_i64, as_string};
use datax_plugin_kit::config::{join, ConfigError};
use datax_plugin_kit::date::{DatePattern, DATAX_DATE_FORMAT};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A lenient reader's `expected …, found …` at `path`.
fn at<T>(path: &str, read: Result<T, String>) -> Result<T, ConfigError> {
    read.map_err(|message| ConfigError::new(path, message))
}

// ---- streamreader -------------------------------------------------------------------------

/// streamreader's `parameter`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReaderParameter {
    /// The columns of every record, in order (required, at least one).
    #[serde(default)]
    pub column: Option<Vec<ColumnParameter>>,
    /// The number of records each task produces (required, at least 1).
    #[serde(default, deserialize_with = "lenient::u64")]
    pub slice_record_count: Option<u64>,
}

/// One generated column: a constant `value`, a `random` range or an `incr` sequence.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object like {\"type\": \"long\", \"value\": 1}"
)]
pub struct ColumnParameter {
    /// long, double, string, date, bool or bytes, in any case (default string, as DataX).
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub column_type: Option<String>,
    /// A constant, read as the column's type (`"12"` is a long in a long column). Wins over
    /// `random` and `incr`, as in DataX, unless blank.
    #[serde(default)]
    pub value: Option<Value>,
    /// `"min,max"`: a new value in that range for every record (lengths for string and bytes,
    /// weights of false and true for bool).
    #[serde(default, deserialize_with = "lenient::string")]
    pub random: Option<String>,
    /// `"start[,step]"` (long) or `"start[,step[,unit]]"` (date; unit s, m, h, d or w): a
    /// sequence within each task.
    #[serde(default, deserialize_with = "lenient::string")]
    pub incr: Option<String>,
    /// The pattern of a date column's texts (default `yyyy-MM-dd HH:mm:ss`), read in GMT+8.
    #[serde(default, deserialize_with = "lenient::string")]
    pub date_format: Option<String>,
}

// ---- streamreader -------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct ReaderConfig {
    pub columns: Vec<ColumnSpec>,
    /// Records each task produces.
    pub slice_record_count: u64,
}

/// Where a generated column's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSpec {
    Constant(Column),
    Random(RandomSpec),
    Increment(IncrementSpec),
}

/// `"random": "a,b"`: a new value for every record.
#[derive(Debug, Clone, PartialEq)]
pub enum RandomSpec {
    /// Uniform in `min..=max`.
    Long { min: i64, max: i64 },
    /// Uniform in `min..max` (just `min` when they are equal).
    Double { min: f64, max: f64 },
    /// Alphanumeric text with a length in `min_len..=max_len`.
    String { min_len: u32, max_len: u32 },
    /// Alphanumeric text as above, as its UTF-8 bytes.
    Bytes { min_len: u32, max_len: u32 },
    /// Uniform in `min_millis..=max_millis`.
    DateTime { min_millis: i64, max_millis: i64 },
    /// `false` and `true` in the ratio `false_weight : true_weight` (DataX's reading of `a,b`).
    Bool { false_weight: u64, true_weight: u64 },
}

/// `"incr": "start,step"`: `start`, `start + step`, … within each task (as Addax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrementSpec {
    Long { start: i64, step: i64 },
    DateTime { start_millis: i64, step_millis: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    Long,
    Double,
    String,
    Date,
    Bool,
    Bytes,
}

const TYPE_NAMES: &str = "long, double, string, date, bool, bytes";

impl ColumnType {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "long" => ColumnType::Long,
            "double" => ColumnType::Double,
            "string" => ColumnType::String,
            "date" => ColumnType::Date,
            "bool" => ColumnType::Bool,
            "bytes" => ColumnType::Bytes,
            _ => return None,
        })
    }
}

impl ReaderConfig {
    /// Checks the parameter and compiles its columns.
    pub fn new(parameter: &ReaderParameter) -> Result<Self, ConfigError> {
        let columns = match &parameter.column {
            None => return Err(ConfigError::new("column", "required, a list of columns")),
            Some(columns) if columns.is_empty() => {
                return Err(ConfigError::new("column", "the list is empty"))
            }
            Some(columns) => columns,
        };
        let columns = columns
            .iter()
            .enumerate()
            .map(|(index, column)| compile_column(column, &format!("column[{index}]")))
            .collect::<Result<_, _>>()?;
        let slice_record_count = parameter.slice_record_count.ok_or_else(|| {
            ConfigError::new(
                "sliceRecordCount",
                "required, the number of records each task produces",
            )
        })?;
        if slice_record_count == 0 {
            return Err(ConfigError::new("sliceRecordCount", "must be at least 1"));
        }
        Ok(ReaderConfig {
            columns,
            slice_record_count,
        })
    }
}

fn compile_column(column: &ColumnParameter, path: &str) -> Result<ColumnSpec, ConfigError> {
    let key = |name: &str| join(path, name);
    // DataX makes a column without a type a string column.
    let column_type = match &column.column_type {
        None => ColumnType::String,
        Some(name) => ColumnType::from_name(name).ok_or_else(|| {
            ConfigError::new(
                key("type"),
                format!("unknown type \"{name}\" (expected {TYPE_NAMES})"),
            )
        })?,
    };
    let date_pattern = if column_type == ColumnType::Date {
        let format = column.date_format.as_deref().unwrap_or(DATAX_DATE_FORMAT);
        Some(
            DatePattern::compile(format)
                .map_err(|reason| ConfigError::new(key("dateFormat"), reason))?,
        )
    } else {
        None
    };
    let parse_date = |text: &str, path: &str| {
        let pattern = date_pattern.as_ref().expect("date columns have a pattern");
        pattern
            .parse_millis(text.trim(), DATAX_DEFAULT_OFFSET_SECONDS)
            .map_err(|reason| {
                ConfigError::new(
                    path,
                    format!("\"{text}\" does not match dateFormat: {reason}"),
                )
            })
    };

    let value = column.value.as_ref();
    if let Some(value) = value.filter(|value| !lenient::is_absent(value)) {
        if column.random.is_some() || column.incr.is_some() {
            datax_plugin_api::log::warn(format!(
                "{path}: both a value and random/incr are set; the value wins (as DataX)"
            ));
        }
        return parse_constant(column_type, value, &key("value"), &parse_date)
            .map(ColumnSpec::Constant);
    }
    if let Some(text) = &column.random {
        let path = key("random");
        let (low, high) = text
            .split_once(',')
            .map(|(low, high)| (low.trim(), high.trim()))
            .filter(|(low, high)| !low.is_empty() && !high.is_empty() && !high.contains(','))
            .ok_or_else(|| {
                ConfigError::new(&path, format!("expected \"min,max\", found \"{text}\""))
            })?;
        return parse_random(column_type, low, high, &path, &parse_date).map(ColumnSpec::Random);
    }
    if let Some(text) = &column.incr {
        let path = key("incr");
        return parse_increment(column_type, text, &path, &parse_date).map(ColumnSpec::Increment);
    }
    match value {
        // A blank value is DataX's "not set", but for text it is a fine constant.
        Some(value) => {
            parse_constant(column_type, value, &key("value"), &parse_date).map(ColumnSpec::Constant)
        }
        None => Err(ConfigError::new(
            path,
            "needs a \"value\", a \"random\" range or an \"incr\" sequence",
        )),
    }
}

fn parse_constant(
    column_type: ColumnType,
    value: &Value,
    path: &str,
    parse_date: &dyn Fn(&str, &str) -> Result<i64, ConfigError>,
) -> Result<Column, ConfigError> {
    Ok(match column_type {
        ColumnType::Long => Column::Long(at(path, as_i64(value))?),
        // DataX's DoubleColumn also takes "NaN" and "Infinity", which `as_f64` refuses.
        ColumnType::Double => Column::Double(at(
            path,
            as_f64(value).or_else(|error| {
                value
                    .as_str()
                    .and_then(|text| text.trim().parse().ok())
                    .ok_or(error)
            }),
        )?),
        ColumnType::String => Column::string(at(path, as_string(value))?),
        ColumnType::Bytes => Column::bytes(at(path, as_string(value))?.into_bytes()),
        ColumnType::Bool => Column::Bool(at(path, as_bool(value))?),
        ColumnType::Date => match value {
            Value::String(text) => {
                Column::DateTime(EpochTime::from_millis(parse_date(text, path)?))
            }
            other => {
                return Err(ConfigError::new(
                    path,
                    lenient::wrong(other, "a date text matching dateFormat"),
                ))
            }
        },
    })
}

fn parse_random(
    column_type: ColumnType,
    low: &str,
    high: &str,
    path: &str,
    parse_date: &dyn Fn(&str, &str) -> Result<i64, ConfigError>,
) -> Result<RandomSpec, ConfigError> {
    fn bound<T: std::str::FromStr>(
        text: &str,
        path: &str,
        expected: &str,
    ) -> Result<T, ConfigError> {
        text.parse()
            .map_err(|_| ConfigError::new(path, format!("expected {expected}, found \"{text}\"")))
    }
    let ordered = |in_order: bool| {
        if in_order {
            Ok(())
        } else {
            Err(ConfigError::new(
                path,
                format!("the minimum {low} is greater than the maximum {high}"),
            ))
        }
    };
    Ok(match column_type {
        ColumnType::Long => {
            let (min, max) = (
                bound(low, path, "an integer")?,
                bound(high, path, "an integer")?,
            );
            ordered(min <= max)?;
            RandomSpec::Long { min, max }
        }
        ColumnType::Double => {
            let (min, max): (f64, f64) = (
                bound(low, path, "a number")?,
                bound(high, path, "a number")?,
            );
            if !(min.is_finite() && max.is_finite()) {
                return Err(ConfigError::new(path, "the bounds must be finite numbers"));
            }
            ordered(min <= max)?;
            RandomSpec::Double { min, max }
        }
        ColumnType::String | ColumnType::Bytes => {
            let expected = "a length (a non-negative integer)";
            let (min_len, max_len) = (bound(low, path, expected)?, bound(high, path, expected)?);
            ordered(min_len <= max_len)?;
            if column_type == ColumnType::String {
                RandomSpec::String { min_len, max_len }
            } else {
                RandomSpec::Bytes { min_len, max_len }
            }
        }
        ColumnType::Date => {
            let (min_millis, max_millis) = (parse_date(low, path)?, parse_date(high, path)?);
            ordered(min_millis <= max_millis)?;
            RandomSpec::DateTime {
                min_millis,
                max_millis,
            }
        }
        ColumnType::Bool => {
            let expected = "a weight (a non-negative integer)";
            RandomSpec::Bool {
                false_weight: bound(low, path, expected)?,
                true_weight: bound(high, path, expected)?,
            }
        }
    })
}

/// Long: `start[,step]` (step 1). Date: `start[,step[,unit]]`, unit `s`, `m`, `h`, `d` (the
/// default) or `w`, or spelt out (`second`, …, `week`); months and years have no fixed length
/// and are not supported.
fn parse_increment(
    column_type: ColumnType,
    text: &str,
    path: &str,
    parse_date: &dyn Fn(&str, &str) -> Result<i64, ConfigError>,
) -> Result<IncrementSpec, ConfigError> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    let step = |index: usize| -> Result<i64, ConfigError> {
        match fields.get(index) {
            None => Ok(1),
            Some(step) => step.parse().map_err(|_| {
                ConfigError::new(path, format!("the step \"{step}\" is not an integer"))
            }),
        }
    };
    match column_type {
        ColumnType::Long if fields.len() <= 2 => {
            let start = fields[0].parse().map_err(|_| {
                ConfigError::new(
                    path,
                    format!("the start \"{}\" is not an integer", fields[0]),
                )
            })?;
            Ok(IncrementSpec::Long {
                start,
                step: step(1)?,
            })
        }
        ColumnType::Long => Err(ConfigError::new(
            path,
            format!("expected \"start,step\", found \"{text}\""),
        )),
        ColumnType::Date if fields.len() <= 3 => {
            let unit_millis: i64 = match fields.get(2).copied().unwrap_or("d") {
                "s" | "second" => 1_000,
                "m" | "minute" => 60_000,
                "h" | "hour" => 3_600_000,
                "d" | "day" => 86_400_000,
                "w" | "week" => 604_800_000,
                unit => {
                    return Err(ConfigError::new(
                        path,
                        format!("unsupported unit \"{unit}\" (expected s, m, h, d or w)"),
                    ))
                }
            };
            let step_millis = step(1)?
                .checked_mul(unit_millis)
                .ok_or_else(|| ConfigError::new(path, "the step is too large"))?;
            Ok(IncrementSpec::DateTime {
                start_millis: parse_date(fields[0], path)?,
                step_millis,
            })
        }
        ColumnType::Date => Err(ConfigError::new(
            path,
            format!("expected \"start,step,unit\", found \"{text}\""),
        )),
        _ => Err(ConfigError::new(
            path,
            "only long and date columns can increment",
        )),
    }
}

// ---- streamwriter -------------------------------------------------------------------------

/// streamwriter's `parameter`. DataX's `recordNumBeforeSleep`/`sleepTime` are not read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriterParameter {
    /// Print the records on stdout (default true); false drops them. Ignored when `path` and
    /// `fileName` are set, as in DataX.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub print: Option<bool>,
    /// Between the columns of a line (default a tab; `\t` written as two characters is a tab
    /// too; blank is a legitimate delimiter).
    #[serde(default, deserialize_with = "lenient::string_keep_blank")]
    pub field_delimiter: Option<String>,
    /// Only UTF-8.
    #[serde(default, deserialize_with = "lenient::string")]
    pub encoding: Option<String>,
    /// With `fileName`: the directory to write files in instead of printing.
    #[serde(default, deserialize_with = "lenient::string")]
    pub path: Option<String>,
    /// With `path`: the file to write (`fileName-<task>` when several tasks write).
    #[serde(default, deserialize_with = "lenient::string")]
    pub file_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WriterConfig {
    pub print: bool,
    pub field_delimiter: String,
    /// `path` + `fileName`: write to files instead of stdout (whatever `print` says, as DataX).
    pub file: Option<FileTarget>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileTarget {
    pub directory: PathBuf,
    pub file_name: String,
}

impl FileTarget {
    /// `directory/fileName` for a single task, `directory/fileName-<task>` when several
    /// tasks write at once (DataX would have them all append to one file).
    pub fn file_for_task(&self, task_index: usize, task_count: usize) -> PathBuf {
        if task_count <= 1 {
            self.directory.join(&self.file_name)
        } else {
            self.directory
                .join(format!("{}-{task_index}", self.file_name))
        }
    }
}

impl WriterConfig {
    /// Checks the parameter and applies the defaults.
    pub fn new(parameter: &WriterParameter) -> Result<Self, ConfigError> {
        // Job files often spell a tab as the two characters `\t`.
        let field_delimiter = match parameter.field_delimiter.as_deref() {
            None | Some("\\t") => "\t".to_string(),
            Some(delimiter) => delimiter.to_string(),
        };
        if let Some(encoding) = &parameter.encoding {
            if !matches!(
                encoding.trim().to_ascii_lowercase().as_str(),
                "utf-8" | "utf8"
            ) {
                return Err(ConfigError::new(
                    "encoding",
                    format!("\"{encoding}\" is not supported (only UTF-8)"),
                ));
            }
        }
        let file = match (&parameter.path, &parameter.file_name) {
            (None, None) => None,
            (Some(directory), Some(file_name)) => Some(FileTarget {
                directory: PathBuf::from(directory),
                file_name: plain_file_name(file_name)?,
            }),
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "fileName",
                    "required with path (the file to write in that directory)",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "path",
                    "required with fileName (the directory to write the file in)",
                ))
            }
        };
        Ok(WriterConfig {
            print: parameter.print.unwrap_or(true),
            field_delimiter,
            file,
        })
    }
}

/// `fileName` names a file inside `path`, never a path of its own: no separator, not `.` or
/// `..`, so a job (or a `-p` value) cannot write outside the folder it names.
fn plain_file_name(file_name: &str) -> Result<String, ConfigError> {
    if file_name.contains(['/', '\\', '\0']) || matches!(file_name, "." | "..") {
        return Err(ConfigError::new(
            "fileName",
            format!(
                "\"{file_name}\" must be a file name in `path`, without a folder \
                 (no `/`, not `.` or `..`)"
            ),
        ));
    }
    Ok(file_name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datax_plugin_kit::config;
    use serde_json::json;

    fn reader(parameter: Value) -> Result<ReaderConfig, String> {
        let parsed = config::from_value::<ReaderParameter>(parameter, "parameter")
            .map_err(|error| error.to_string())?;
        ReaderConfig::new(&parsed.value).map_err(|error| error.to_string())
    }

    fn one_column(column: Value) -> Result<ColumnSpec, String> {
        reader(json!({"column": [column], "sliceRecordCount": 1}))
            .map(|config| config.columns.into_iter().next().unwrap())
    }

    #[test]
    fn the_shipped_self_check_job_parses() {
        let config = reader(json!({
            "column": [
                {"value": "DataX", "type": "string"},
                {"value": 1724154616370_i64, "type": "long"},
                {"value": "2024-01-01 00:00:00", "type": "date"},
                {"value": true, "type": "bool"},
                {"value": "TestRawData", "type": "bytes"}
            ],
            "sliceRecordCount": 100
        }))
        .unwrap();
        assert_eq!(config.slice_record_count, 100);
        assert_eq!(
            config.columns,
            vec![
                ColumnSpec::Constant(Column::string("DataX")),
                ColumnSpec::Constant(Column::Long(1_724_154_616_370)),
                ColumnSpec::Constant(Column::DateTime(EpochTime::from_millis(1_704_038_400_000))),
                ColumnSpec::Constant(Column::Bool(true)),
                ColumnSpec::Constant(Column::bytes(b"TestRawData".to_vec())),
            ]
        );
    }

    #[test]
    fn numbers_and_booleans_may_be_strings() {
        let config = reader(json!({
            "column": [
                {"value": "-7", "type": "LONG"},
                {"value": "2.5", "type": "double"},
                {"value": "TRUE", "type": "bool"},
                {"value": 12},
                {"value": 3, "type": "double"}
            ],
            "sliceRecordCount": "100",
            "unknownKey": [1, 2]
        }))
        .unwrap();
        assert_eq!(config.slice_record_count, 100);
        assert_eq!(
            config.columns,
            vec![
                ColumnSpec::Constant(Column::Long(-7)),
                ColumnSpec::Constant(Column::Double(2.5)),
                ColumnSpec::Constant(Column::Bool(true)),
                ColumnSpec::Constant(Column::string("12")),
                ColumnSpec::Constant(Column::Double(3.0)),
            ]
        );
    }

    #[test]
    fn double_constants_may_be_nan_or_infinite() {
        let double = |value: &str| match one_column(json!({"type": "double", "value": value})) {
            Ok(ColumnSpec::Constant(Column::Double(double))) => double,
            other => panic!("{other:?}"),
        };
        assert!(double("NaN").is_nan());
        assert_eq!(double("-Infinity"), f64::NEG_INFINITY);
        assert_eq!(
            one_column(json!({"type": "double", "value": "x"})).unwrap_err(),
            "column[0].value: expected a number, found \"x\""
        );
    }

    #[test]
    fn reader_errors_name_the_key() {
        let column = |column: Value| one_column(column).unwrap_err();
        assert_eq!(
            reader(json!({"column": [{"value": 1, "type": "long"}]})).unwrap_err(),
            "sliceRecordCount: required, the number of records each task produces"
        );
        assert_eq!(
            reader(json!({"column": [], "sliceRecordCount": 1})).unwrap_err(),
            "column: the list is empty"
        );
        assert_eq!(
            reader(json!({"sliceRecordCount": 1})).unwrap_err(),
            "column: required, a list of columns"
        );
        assert_eq!(
            reader(json!({"column": [{"value": 1}], "sliceRecordCount": "ten"})).unwrap_err(),
            "sliceRecordCount: expected a non-negative integer, found \"ten\""
        );
        assert_eq!(
            reader(json!({"column": [{"value": 1}], "sliceRecordCount": 0})).unwrap_err(),
            "sliceRecordCount: must be at least 1"
        );
        let third_bad = json!({
            "column": [{"value": 1}, {"value": 2}, {"value": 3, "type": "foo"}],
            "sliceRecordCount": 1
        });
        assert_eq!(
            reader(third_bad).unwrap_err(),
            "column[2].type: unknown type \"foo\" (expected long, double, string, date, bool, bytes)"
        );
        assert_eq!(
            column(json!({"type": "long", "value": "12x"})),
            "column[0].value: expected an integer, found \"12x\""
        );
        assert_eq!(
            column(json!({"type": "bool", "value": "yes"})),
            "column[0].value: expected true or false, found \"yes\""
        );
        assert_eq!(
            column(json!({"type": "date", "value": "2024-01-01"})),
            "column[0].value: \"2024-01-01\" does not match dateFormat: the text ends before the pattern does"
        );
        assert_eq!(
            column(json!({"type": "date", "value": "x", "dateFormat": "GGG"})),
            "column[0].dateFormat: \"GGG\": the letter run \"GGG\" is not supported"
        );
        assert_eq!(
            column(json!({"type": "long"})),
            "column[0]: needs a \"value\", a \"random\" range or an \"incr\" sequence"
        );
        assert_eq!(
            column(json!("long")),
            "column[0]: expected an object like {\"type\": \"long\", \"value\": 1}, found \"long\""
        );
        assert_eq!(
            column(json!({"type": "long", "random": "5"})),
            "column[0].random: expected \"min,max\", found \"5\""
        );
        assert_eq!(
            column(json!({"type": "long", "random": "9,1"})),
            "column[0].random: the minimum 9 is greater than the maximum 1"
        );
        assert_eq!(
            column(json!({"type": "string", "random": "-1,3"})),
            "column[0].random: expected a length (a non-negative integer), found \"-1\""
        );
        assert_eq!(
            column(json!({"type": "bool", "incr": "1"})),
            "column[0].incr: only long and date columns can increment"
        );
        assert_eq!(
            column(json!({"type": "date", "incr": "2024-01-01 00:00:00,1,M"})),
            "column[0].incr: unsupported unit \"M\" (expected s, m, h, d or w)"
        );
    }

    #[test]
    fn misspelt_keys_are_warned_about_with_a_did_you_mean() {
        let text = r#"{"column": [{"value": 1, "dateFromat": "x"}], "sliceRecordCont": 1}"#;
        let parsed = config::parse::<ReaderParameter>(text, "parameter").unwrap();
        assert_eq!(
            parsed.warnings,
            [
                "parameter.column[0].dateFromat: unknown key, ignored; did you mean \"dateFormat\"?",
                "parameter.sliceRecordCont: unknown key, ignored; did you mean \"sliceRecordCount\"?"
            ]
        );
    }

    #[test]
    fn dates_follow_their_date_format() {
        assert_eq!(
            one_column(json!({"type": "date", "value": "2024/01/01", "dateFormat": "yyyy/MM/dd"})),
            Ok(ColumnSpec::Constant(Column::DateTime(
                EpochTime::from_millis(1_704_038_400_000)
            )))
        );
        assert_eq!(
            one_column(json!({
                "type": "date",
                "random": "2024-01-01 00:00:00,2024-01-02 00:00:00"
            })),
            Ok(ColumnSpec::Random(RandomSpec::DateTime {
                min_millis: 1_704_038_400_000,
                max_millis: 1_704_124_800_000
            }))
        );
    }

    #[test]
    fn random_and_increment_specs() {
        assert_eq!(
            one_column(json!({"type": "long", "random": " 1 , 100 "})),
            Ok(ColumnSpec::Random(RandomSpec::Long { min: 1, max: 100 }))
        );
        assert_eq!(
            one_column(json!({"type": "double", "random": "0,1.5"})),
            Ok(ColumnSpec::Random(RandomSpec::Double {
                min: 0.0,
                max: 1.5
            }))
        );
        assert_eq!(
            one_column(json!({"random": "2,8"})),
            Ok(ColumnSpec::Random(RandomSpec::String {
                min_len: 2,
                max_len: 8
            }))
        );
        assert_eq!(
            one_column(json!({"type": "bool", "random": "3,1"})),
            Ok(ColumnSpec::Random(RandomSpec::Bool {
                false_weight: 3,
                true_weight: 1
            }))
        );
        assert_eq!(
            one_column(json!({"type": "long", "incr": "100"})),
            Ok(ColumnSpec::Increment(IncrementSpec::Long {
                start: 100,
                step: 1
            }))
        );
        assert_eq!(
            one_column(json!({"type": "date", "incr": "2024-01-01 00:00:00,-2,h"})),
            Ok(ColumnSpec::Increment(IncrementSpec::DateTime {
                start_millis: 1_704_038_400_000,
                step_millis: -7_200_000
            }))
        );
        // A value wins over random, as in DataX; a blank value does not count.
        assert_eq!(
            one_column(json!({"type": "long", "value": 5, "random": "1,2"})),
            Ok(ColumnSpec::Constant(Column::Long(5)))
        );
        assert_eq!(
            one_column(json!({"type": "long", "value": "", "random": "1,2"})),
            Ok(ColumnSpec::Random(RandomSpec::Long { min: 1, max: 2 }))
        );
        assert_eq!(
            one_column(json!({"type": "string", "value": ""})),
            Ok(ColumnSpec::Constant(Column::string("")))
        );
    }

    fn writer(parameter: Value) -> Result<WriterConfig, String> {
        let parsed = config::from_value::<WriterParameter>(parameter, "parameter")
            .map_err(|error| error.to_string())?;
        WriterConfig::new(&parsed.value).map_err(|error| error.to_string())
    }

    #[test]
    fn writer_defaults_and_lenient_values() {
        assert_eq!(
            writer(json!({})).unwrap(),
            WriterConfig {
                print: true,
                field_delimiter: "\t".to_string(),
                file: None
            }
        );
        // DataX's perf job gives streamwriter a column list: ignored.
        let config = writer(json!({
            "print": "false",
            "encoding": "utf-8",
            "fieldDelimiter": "\\t",
            "column": [{"value": "x"}]
        }))
        .unwrap();
        assert!(!config.print);
        assert_eq!(config.field_delimiter, "\t");
        assert_eq!(
            writer(json!({"fieldDelimiter": " "}))
                .unwrap()
                .field_delimiter,
            " "
        );
        let to_file = writer(json!({"path": "/tmp/out", "fileName": "result"})).unwrap();
        let target = to_file.file.unwrap();
        assert_eq!(target.file_for_task(0, 1), PathBuf::from("/tmp/out/result"));
        assert_eq!(
            target.file_for_task(2, 3),
            PathBuf::from("/tmp/out/result-2")
        );
        assert!(writer(json!({"path": "", "fileName": ""}))
            .unwrap()
            .file
            .is_none());
    }

    #[test]
    fn writer_errors_name_the_key() {
        assert_eq!(
            writer(json!({"print": "yes"})).unwrap_err(),
            "print: expected true or false, found \"yes\""
        );
        assert_eq!(
            writer(json!({"encoding": "GBK"})).unwrap_err(),
            "encoding: \"GBK\" is not supported (only UTF-8)"
        );
        assert_eq!(
            writer(json!({"path": "/tmp/out"})).unwrap_err(),
            "fileName: required with path (the file to write in that directory)"
        );
        for escaping in ["../../x", "/etc/passwd", "/", "a/b", "..", "."] {
            let message = writer(json!({"path": "/tmp/out", "fileName": escaping})).unwrap_err();
            assert!(
                message.starts_with(&format!(
                    "fileName: \"{escaping}\" must be a file name in `path`"
                )),
                "{message}"
            );
        }
        assert_eq!(
            config::parse::<WriterParameter>("[1]", "parameter")
                .unwrap_err()
                .to_string(),
            "parameter: expected an object, found [..]"
        );
    }
}
