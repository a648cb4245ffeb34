//! The bench tables' values: the sandbox generator's (sandbox/src/odps/generator.rs) for the
//! types the tables use, so that the bytes, and the numbers, stay comparable with earlier
//! runs, without linking the sandbox. Cell `(row, column)` is a pure function of
//! `(seed, row, column)`.

use datax_odps::codec::encode::WireValue;

/// 2016-12-26T00:00:00Z.
const BASE_EPOCH_SECONDS: i64 = 1_482_710_400;
const SECONDS_PER_YEAR: u64 = 365 * 24 * 3600;

/// The seed table's column types (bench/odps_read.py's and bench/odps_write.py's rows).
pub const SEED_SHAPE: &[&str] = &["string", "bigint", "string", "double", "datetime", "string"];

/// One column of every type the plugin reads and writes.
pub const EVERY_TYPE: &[&str] = &[
    "bigint",
    "int",
    "double",
    "float",
    "decimal(18,3)",
    "boolean",
    "string",
    "varchar(16)",
    "binary",
    "datetime",
    "date",
    "timestamp",
    "json",
    "array<bigint>",
    "map<string,double>",
    "struct<a:bigint,b:string>",
];

/// Whether a table named `name` runs: `cargo bench … -- NAME` runs the tables whose name
/// contains NAME (cargo itself adds `--bench`); no NAME runs all.
pub fn chosen(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    filters.is_empty() || filters.iter().any(|filter| name.contains(filter.as_str()))
}

/// One row of `types` (MaxCompute type names), `null_percent` of the cells NULL.
pub fn generated_row(types: &[&str], seed: u64, row: u64, null_percent: u8) -> Vec<WireValue> {
    types
        .iter()
        .enumerate()
        .map(|(column, type_name)| {
            let hash = mix(seed, row, column as u64);
            if null_percent > 0 && splitmix64(hash ^ 0x6e75_6c6c) % 100 < u64::from(null_percent) {
                return WireValue::Null;
            }
            value_from_hash(type_name, hash, row)
        })
        .collect()
}

fn value_from_hash(type_name: &str, hash: u64, row: u64) -> WireValue {
    if let Some(value) = complex_from_hash(type_name, hash, row) {
        return value;
    }
    if let Some(limit) = parameters(type_name, "varchar(") {
        let mut text = generated_text(hash, row);
        text.truncate(limit.parse().expect("a varchar length"));
        return WireValue::Bytes(text.into_bytes());
    }
    if let Some(arguments) = parameters(type_name, "decimal(") {
        let (precision, scale) = arguments.split_once(',').expect("decimal(p,s)");
        let (precision, scale): (u32, u32) = (precision.parse().unwrap(), scale.parse().unwrap());
        return generated_decimal(hash, precision, scale);
    }
    match type_name {
        "bigint" => WireValue::Long((hash % 2_000_000_001) as i64 - 1_000_000_000),
        "int" => WireValue::Long(i64::from(hash as u32 as i32)),
        "double" => WireValue::Double((hash % 2_000_000_000) as f64 / 1000.0 - 1_000_000.0),
        "float" => WireValue::Float((hash % 200_000) as f32 / 100.0 - 1000.0),
        "boolean" => WireValue::Bool(hash & 1 == 1),
        "string" => WireValue::Bytes(generated_text(hash, row).into_bytes()),
        "binary" => WireValue::Bytes(
            (0..4 + hash % 13)
                .map(|i| splitmix64(hash.wrapping_add(i)) as u8)
                .collect(),
        ),
        "json" => WireValue::Bytes(format!("{{\"row\":{row},\"v\":{}}}", hash % 1000).into_bytes()),
        "datetime" => WireValue::Long(
            (BASE_EPOCH_SECONDS + (hash % SECONDS_PER_YEAR) as i64) * 1000
                + ((hash >> 32) % 1000) as i64,
        ),
        "date" => WireValue::Long(BASE_EPOCH_SECONDS / 86_400 + (hash % 3650) as i64),
        "timestamp" => WireValue::Timestamp {
            seconds: BASE_EPOCH_SECONDS + (hash % SECONDS_PER_YEAR) as i64,
            nanos: ((hash >> 32) % 1_000_000_000) as i32,
        },
        other => panic!("the bench generates no {other}"),
    }
}

/// `array<T>`, `map<K,V>` and `struct<name:T,...>` (element types without commas inside).
fn complex_from_hash(type_name: &str, hash: u64, row: u64) -> Option<WireValue> {
    let generics = |prefix: &str| {
        type_name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix('>'))
    };
    if let Some(element) = generics("array<") {
        return Some(WireValue::Array(
            (0..hash % 4)
                .map(|i| value_from_hash(element, mix(hash, i, 1), row))
                .collect(),
        ));
    }
    if let Some(arguments) = generics("map<") {
        let (key, value) = arguments.split_once(',').expect("map<K,V>");
        return Some(WireValue::Map(
            (0..hash % 3)
                .map(|i| {
                    (
                        value_from_hash(key, mix(hash, i, 2), row),
                        value_from_hash(value, mix(hash, i, 3), row),
                    )
                })
                .collect(),
        ));
    }
    let fields = generics("struct<")?;
    Some(WireValue::Struct(
        fields
            .split(',')
            .enumerate()
            .map(|(i, field)| {
                let (_, field_type) = field.split_once(':').expect("name:type");
                value_from_hash(field_type, mix(hash, i as u64, 4), row)
            })
            .collect(),
    ))
}

/// The text between `prefix` and the closing `)`.
fn parameters<'a>(type_name: &'a str, prefix: &str) -> Option<&'a str> {
    type_name.strip_prefix(prefix)?.strip_suffix(')')
}

fn generated_decimal(hash: u64, precision: u32, scale: u32) -> WireValue {
    let integer_digits = precision.saturating_sub(scale).clamp(1, 12);
    let fraction_digits = scale.min(9);
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
    WireValue::Bytes(text.into_bytes())
}

fn generated_text(hash: u64, row: u64) -> String {
    format!("r{row}_{:012x}", hash >> 16)
}

fn mix(seed: u64, a: u64, b: u64) -> u64 {
    splitmix64(seed ^ splitmix64(a ^ splitmix64(b ^ 0x9e37_79b9)))
}

/// SplitMix64 finaliser (Steele, Lea & Flood).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
