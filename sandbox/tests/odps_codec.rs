//! The tunnel record format against the spec's bytes (odps-tunnel.md §5), and the generator.

use datax_sandbox::odps::codec::{decode_records, DecodeError, RecordWriter, WireOptions};
use datax_sandbox::odps::generator::{generated_row, generated_value};
use datax_sandbox::odps::types::{OdpsType, Value};

fn hex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

fn simple_rows() -> Vec<Vec<Value>> {
    (0..2)
        .map(|i| {
            vec![
                Value::Int(i),
                Value::Bytes(format!("name_{i}").into_bytes()),
            ]
        })
        .collect()
}

fn write(types: &[OdpsType], rows: &[Vec<Value>]) -> Vec<u8> {
    let mut writer = RecordWriter::new(Vec::new());
    for row in rows {
        writer
            .write_record(
                types
                    .iter()
                    .zip(row)
                    .enumerate()
                    .map(|(i, (t, v))| (i as u32 + 1, t, v)),
            )
            .unwrap();
    }
    writer.finish().unwrap();
    writer.into_inner()
}

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
}

#[test]
fn worked_example_bytes() {
    let types = [OdpsType::Bigint, OdpsType::String];
    let body = write(&types, &simple_rows());
    // odps-tunnel.md §5.4, with the second record CRC in the 5-byte form Java writes.
    let expected = hex("08 00 12 06 6e616d655f30 80c0ff7f 93c2d3e804
         08 02 12 06 6e616d655f31 80c0ff7f bbc0d9800b
         f0ffff7f 04 f8ffff7f 9896e7c803");
    assert_eq!(body, expected);
    assert_eq!(decode_records(&body, &types).unwrap(), simple_rows());
}

#[test]
fn long_crc_varints_and_metrics_block_match_the_spec() {
    let types = [OdpsType::Bigint, OdpsType::String];
    let options = WireOptions {
        metrics_block: true,
        long_crc_varints: true,
    };
    let mut writer = RecordWriter::with_options(Vec::new(), options);
    for row in simple_rows() {
        writer
            .write_record([(1, &types[0], &row[0]), (2, &types[1], &row[1])])
            .unwrap();
    }
    writer.finish().unwrap();
    let body = writer.into_inner();
    // The records are byte for byte the pyodps C writer's (odps-tunnel.md §5.4).
    let records = hex("08 00 12 06 6e616d655f30 80c0ff7f 93c2d3e804
         08 02 12 06 6e616d655f31 80c0ff7f bbc0d980fbffffffff01
         f0ffff7f 04 0a");
    assert_eq!(&body[..records.len()], records.as_slice());
    assert!(body.ends_with(&hex("f8ffff7f 9896e7c803")));
    let json_len = body[records.len()] as usize;
    let json = &body[records.len() + 1..records.len() + 1 + json_len];
    assert!(serde_json::from_slice::<serde_json::Value>(json).unwrap()["ServerIOCost"].is_number());
    assert_eq!(
        &body[records.len() + 1 + json_len..records.len() + 5 + json_len],
        &hex("80f0ff7f")[..]
    );
    assert_eq!(decode_records(&body, &types).unwrap(), simple_rows());
}

#[test]
fn decoder_accepts_the_ten_byte_crc_form_of_pyodps() {
    let types = [OdpsType::Bigint, OdpsType::String];
    let spec_bytes = hex("08 00 12 06 6e616d655f30 80c0ff7f 93c2d3e804
         08 02 12 06 6e616d655f31 80c0ff7f bbc0d980fbffffffff01
         f0ffff7f 04 f8ffff7f 9896e7c803");
    assert_eq!(decode_records(&spec_bytes, &types).unwrap(), simple_rows());
}

#[test]
fn complex_example_bytes() {
    let types = [
        OdpsType::parse("timestamp").unwrap(),
        OdpsType::parse("array<bigint>").unwrap(),
        OdpsType::parse("MAP<STRING,DOUBLE>").unwrap(),
        OdpsType::parse("struct<a:bigint,`b`:string,c:array<string>>").unwrap(),
    ];
    let row = vec![
        Value::Timestamp {
            seconds: 1_704_164_645,
            nanos: 123_456_789,
        },
        Value::Array(vec![Value::Int(1), Value::Null, Value::Int(-3)]),
        Value::Map(vec![
            (Value::Bytes(b"x".to_vec()), Value::Double(1.0)),
            (Value::Bytes(b"y".to_vec()), Value::Null),
        ]),
        Value::Struct(vec![
            Value::Int(9),
            Value::Null,
            Value::Array(vec![Value::Bytes(b"p".to_vec()), Value::Null]),
        ]),
    ];
    let body = write(&types, std::slice::from_ref(&row));
    let mut fields =
        hex("0a caf49bd90c aab4de75 12 03 00 02 01 00 05 1a 02 00 01 78 00 01 79 02 00");
    fields.extend_from_slice(&1.0f64.to_le_bytes());
    fields.extend(hex("01 22 00 12 01 00 02 00 01 70 01"));
    assert_eq!(&body[..fields.len()], fields.as_slice());
    assert_eq!(&body[fields.len()..fields.len() + 4], &hex("80c0ff7f")[..]);
    assert_eq!(decode_records(&body, &types).unwrap(), vec![row]);
}

#[test]
fn nulls_are_absent_and_an_all_null_record_has_crc_zero() {
    let types = [OdpsType::Bigint, OdpsType::String];
    let body = write(&types, &[vec![Value::Null, Value::Null]]);
    assert_eq!(&body[..5], &hex("80c0ff7f 00")[..]);
    assert_eq!(
        decode_records(&body, &types).unwrap(),
        vec![vec![Value::Null, Value::Null]]
    );
}

#[test]
fn decoder_catches_corruption_truncation_and_bad_counts() {
    let types = [OdpsType::Bigint, OdpsType::String];
    let body = write(&types, &simple_rows());
    let mut flipped = body.clone();
    flipped[5] ^= 0xff; // inside "name_0"
    assert!(matches!(
        decode_records(&flipped, &types),
        Err(DecodeError::RecordCrc { record: 0, .. })
    ));
    assert!(decode_records(&body[..20], &types).is_err());
    // A clean cut between records loses the footer.
    assert_eq!(
        decode_records(&body[..19], &types),
        Err(DecodeError::MissingFooter)
    );
}

#[test]
fn every_type_round_trips() {
    let names = [
        "bigint",
        "int",
        "smallint",
        "tinyint",
        "double",
        "float",
        "boolean",
        "string",
        "varchar(8)",
        "char(3)",
        "binary",
        "json",
        "datetime",
        "date",
        "timestamp",
        "timestamp_ntz",
        "decimal(38,18)",
        "decimal",
        "array<map<bigint,string>>",
        "struct<x:date,y:array<double>>",
    ];
    let types: Vec<OdpsType> = names.iter().map(|n| OdpsType::parse(n).unwrap()).collect();
    for (name, parsed) in names.iter().zip(&types) {
        let display = parsed.to_string();
        assert_eq!(OdpsType::parse(&display).unwrap(), *parsed, "{name}");
    }
    let rows: Vec<Vec<Value>> = (0..200)
        .map(|row| generated_row(types.iter().cloned(), 99, row, 10))
        .collect();
    let body = write(&types, &rows);
    assert_eq!(decode_records(&body, &types).unwrap(), rows);
    assert!(rows.iter().flatten().any(|v| *v == Value::Null));
}

#[test]
fn generator_is_a_pure_function_of_seed_row_and_column() {
    let bigint = OdpsType::Bigint;
    let far = generated_value(&bigint, 7, 99_999_999, 1, 0);
    assert_eq!(far, generated_value(&bigint, 7, 99_999_999, 1, 0));
    assert_ne!(far, generated_value(&bigint, 8, 99_999_999, 1, 0));
    assert_ne!(
        generated_value(&bigint, 7, 0, 1, 0),
        generated_value(&bigint, 7, 1, 1, 0)
    );
    let text = generated_value(&OdpsType::String, 7, 12, 0, 0);
    assert!(matches!(text, Value::Bytes(ref b) if b.starts_with(b"r12_")));
    assert_eq!(
        generated_value(&OdpsType::Varchar(3), 7, 12, 0, 0),
        Value::Bytes(b"r12".to_vec())
    );
}
