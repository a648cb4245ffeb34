//! Deterministic row generator. Cell `(row, column)` is a pure function of
//! `(seed, row, column)`, so a download of any row range is produced on the fly while the
//! body is written, with no memory held per row: 100 M-row tables cost nothing until read.

use super::types::{OdpsType, Value};

/// 2016-12-26T00:00:00Z, the date the demo job's partition is named after.
const BASE_EPOCH_SECONDS: i64 = 1_482_710_400;
const SECONDS_PER_YEAR: u64 = 365 * 24 * 3600;

/// The generated value of one cell.
pub fn generated_value(
    odps_type: &OdpsType,
    seed: u64,
    row: u64,
    column: usize,
    null_percent: u8,
) -> Value {
    let hash = mix(seed, row, column as u64);
    if null_percent > 0 && splitmix64(hash ^ 0x6e75_6c6c) % 100 < u64::from(null_percent) {
        return Value::Null;
    }
    value_from_hash(odps_type, hash, row)
}

/// A `time_text` strftime pattern, parsed once: parsing it again for every row was a tenth
/// of the sandbox's work on a download.
pub type TimeTextPattern = std::sync::Arc<[chrono::format::Item<'static>]>;

/// Parses a `time_text` pattern; `None` when chrono cannot write it.
pub fn time_text_pattern(pattern: &str) -> Option<TimeTextPattern> {
    chrono::format::StrftimeItems::new(pattern)
        .parse_to_owned()
        .ok()
        .map(Into::into)
}

/// A generated time written with a strftime `pattern` in GMT+8 (a string column's
/// `time_text`): the same instants a datetime column would get, never null.
pub fn generated_time_text(pattern: &TimeTextPattern, seed: u64, row: u64, column: usize) -> Value {
    let seconds = BASE_EPOCH_SECONDS + (mix(seed, row, column as u64) % SECONDS_PER_YEAR) as i64;
    let gmt8 = chrono::FixedOffset::east_opt(8 * 3600).expect("GMT+8 is a valid offset");
    let text = chrono::DateTime::from_timestamp(seconds, 0)
        .expect("generated times are within chrono's range")
        .with_timezone(&gmt8)
        .format_with_items(pattern.iter())
        .to_string();
    Value::Bytes(text.into_bytes())
}

/// The whole generated row.
pub fn generated_row(
    columns: impl Iterator<Item = OdpsType>,
    seed: u64,
    row: u64,
    null_percent: u8,
) -> Vec<Value> {
    columns
        .enumerate()
        .map(|(column, odps_type)| generated_value(&odps_type, seed, row, column, null_percent))
        .collect()
}

fn value_from_hash(odps_type: &OdpsType, hash: u64, row: u64) -> Value {
    match odps_type {
        OdpsType::Bigint => Value::Int((hash % 2_000_000_001) as i64 - 1_000_000_000),
        OdpsType::Int => Value::Int(i64::from(hash as u32 as i32)),
        OdpsType::Smallint => Value::Int(i64::from(hash as u16 as i16)),
        OdpsType::Tinyint => Value::Int(i64::from(hash as u8 as i8)),
        // Three decimals keep doubles exact through any client's text formatting.
        OdpsType::Double => Value::Double((hash % 2_000_000_000) as f64 / 1000.0 - 1_000_000.0),
        OdpsType::Float => Value::Float((hash % 200_000) as f32 / 100.0 - 1000.0),
        OdpsType::Boolean => Value::Bool(hash & 1 == 1),
        OdpsType::String => Value::Bytes(generated_text(hash, row).into_bytes()),
        OdpsType::Varchar(limit) | OdpsType::Char(limit) => {
            let mut text = generated_text(hash, row);
            text.truncate(*limit as usize);
            Value::Bytes(text.into_bytes())
        }
        OdpsType::Binary => {
            let length = 4 + (hash % 13) as usize;
            let bytes = (0..length)
                .map(|i| splitmix64(hash.wrapping_add(i as u64)) as u8)
                .collect();
            Value::Bytes(bytes)
        }
        OdpsType::Json => {
            Value::Bytes(format!("{{\"row\":{row},\"v\":{}}}", hash % 1000).into_bytes())
        }
        OdpsType::Datetime => Value::Datetime(
            (BASE_EPOCH_SECONDS + (hash % SECONDS_PER_YEAR) as i64) * 1000
                + ((hash >> 32) % 1000) as i64,
        ),
        OdpsType::Date => Value::Date(BASE_EPOCH_SECONDS / 86_400 + (hash % 3650) as i64),
        OdpsType::Timestamp | OdpsType::TimestampNtz => Value::Timestamp {
            seconds: BASE_EPOCH_SECONDS + (hash % SECONDS_PER_YEAR) as i64,
            nanos: ((hash >> 32) % 1_000_000_000) as i32,
        },
        OdpsType::Decimal { precision, scale } => {
            let integer_digits = precision.saturating_sub(*scale).clamp(1, 12);
            let fraction_digits = (*scale).min(9);
            let integer = hash % 10u64.pow(integer_digits);
            let mut text = if hash >> 63 == 1 && integer != 0 {
                format!("-{integer}")
            } else {
                integer.to_string()
            };
            if fraction_digits > 0 {
                let fraction = (hash >> 20) % 10u64.pow(fraction_digits);
                text.push_str(&format!(
                    ".{fraction:0width$}",
                    width = fraction_digits as usize
                ));
            }
            Value::Bytes(text.into_bytes())
        }
        OdpsType::Array(element) => Value::Array(
            (0..hash % 4)
                .map(|i| value_from_hash(element, mix(hash, i, 1), row))
                .collect(),
        ),
        OdpsType::Map(key, value) => Value::Map(
            (0..hash % 3)
                .map(|i| {
                    (
                        value_from_hash(key, mix(hash, i, 2), row),
                        value_from_hash(value, mix(hash, i, 3), row),
                    )
                })
                .collect(),
        ),
        OdpsType::Struct(fields) => Value::Struct(
            fields
                .iter()
                .enumerate()
                .map(|(i, (_, field_type))| {
                    value_from_hash(field_type, mix(hash, i as u64, 4), row)
                })
                .collect(),
        ),
    }
}

fn generated_text(hash: u64, row: u64) -> String {
    use std::fmt::Write;
    // Sized up front: `format!` would grow (reallocate) the string on nearly every call.
    let mut text = String::with_capacity(34);
    let _ = write!(text, "r{row}_{:012x}", hash >> 16);
    text
}

fn mix(seed: u64, a: u64, b: u64) -> u64 {
    splitmix64(seed ^ splitmix64(a ^ splitmix64(b ^ 0x9e37_79b9)))
}

/// SplitMix64 finaliser (Steele, Lea & Flood): a cheap, well-distributed, random-access
/// hash, which a stateful RNG cannot offer for "row i alone".
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
