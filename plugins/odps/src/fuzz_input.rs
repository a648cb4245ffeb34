//! How the fuzz target `decode_records` (fuzz/) reads its input, shared with the unit test
//! that replays the checked-in seeds and regressions: a schema and a read size from the first
//! bytes, then the record stream they describe, decoded as a task decodes a body.
//!
//! Input layout:
//! * byte 0: the most bytes one `read` returns (0: all at once), to move buffer refills
//!   across every position in the stream;
//! * byte 1: `1 + b % 6` fields;
//! * per field, a type: one byte picks one of the 14 scalar types, ARRAY, MAP or STRUCT
//!   (`1 + b % 3` fields, one more byte); element types follow the same way, nested at most
//!   [`MAX_DEPTH`] deep;
//! * the rest: the record stream (odps-tunnel.md §5).

use std::io::{self, Read};

use datax_plugin_api::{Column, Record};

use crate::codec::{DecodeError, FieldTarget, RecordDecoder};
use crate::schema::OdpsType;

/// Complex types nest at most this deep; the decoder recurses once per level.
const MAX_DEPTH: usize = 3;
const MAX_FIELDS: u8 = 6;

/// Decodes `input` as laid out above; `None` when it is too short to hold a schema. Decoding
/// errors are expected (almost every input is a damaged stream); panics, hangs and large
/// allocations are the bugs.
pub fn decode(input: &[u8]) -> Option<Result<u64, DecodeError>> {
    let (&read_size, rest) = input.split_first()?;
    let (&field_count, mut rest) = rest.split_first()?;
    let mut fields = Vec::new();
    for column in 0..usize::from(1 + field_count % MAX_FIELDS) {
        let odps_type = parse_type(&mut rest, 0)?;
        fields.push(FieldTarget {
            name: format!("c{column}"),
            odps_type,
            column,
        });
    }
    let width = fields.len();
    let body = ChunkedReader {
        rest,
        read_size: usize::from(read_size),
    };
    let mut decoder = RecordDecoder::new(body, fields);
    let mut record = Record::new(vec![Column::Null; width]);
    let outcome = (|| {
        while decoder.next_is_record()? {
            // A value that does not convert is a dirty record, not the end of the stream.
            let _dirty = decoder.read_record(&mut record)?;
        }
        Ok(decoder.records())
    })();
    Some(outcome)
}

fn parse_type(input: &mut &[u8], depth: usize) -> Option<OdpsType> {
    let (&byte, rest) = input.split_first()?;
    *input = rest;
    const SCALARS: [OdpsType; 14] = [
        OdpsType::Integer,
        OdpsType::Double,
        OdpsType::Float,
        OdpsType::Boolean,
        OdpsType::Text,
        OdpsType::Json,
        OdpsType::Binary,
        OdpsType::Datetime,
        OdpsType::Date,
        OdpsType::Timestamp,
        OdpsType::TimestampNtz,
        OdpsType::Decimal,
        OdpsType::IntervalDayTime,
        OdpsType::IntervalYearMonth,
    ];
    let kinds = if depth < MAX_DEPTH {
        SCALARS.len() + 3
    } else {
        SCALARS.len()
    };
    Some(match usize::from(byte) % kinds {
        scalar if scalar < SCALARS.len() => SCALARS[scalar].clone(),
        14 => OdpsType::Array(Box::new(parse_type(input, depth + 1)?)),
        15 => OdpsType::Map(
            Box::new(parse_type(input, depth + 1)?),
            Box::new(parse_type(input, depth + 1)?),
        ),
        _ => {
            let (&count, rest) = input.split_first()?;
            *input = rest;
            let fields = (0..1 + count % 3)
                .map(|field| Some((format!("f{field}"), parse_type(input, depth + 1)?)))
                .collect::<Option<_>>()?;
            OdpsType::Struct(fields)
        }
    })
}

/// Hands out the stream at most `read_size` bytes per `read`, as a network body arrives.
struct ChunkedReader<'a> {
    rest: &'a [u8],
    read_size: usize,
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let mut length = buffer.len().min(self.rest.len());
        if self.read_size > 0 {
            length = length.min(self.read_size);
        }
        let (now, later) = self.rest.split_at(length);
        buffer[..length].copy_from_slice(now);
        self.rest = later;
        Ok(length)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every file in `fuzz/<folder>/decode_records`, by name.
    fn inputs(folder: &str) -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(folder)
            .join("decode_records");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn the_seeds_are_intact_streams() {
        let seeds = inputs("seeds");
        assert!(!seeds.is_empty());
        for (name, input) in seeds {
            match decode(&input) {
                Some(Ok(records)) => assert!(records > 0, "{name}"),
                other => panic!("seed {name}: {other:?}"),
            }
        }
    }

    /// What the fuzzer once found (fuzz/regressions/), each also reproduced by a unit test
    /// of its own: decoding returns, whatever it returns.
    #[test]
    fn the_fuzzer_findings_stay_fixed() {
        for (name, input) in inputs("regressions") {
            eprintln!("{name}: {:?}", decode(&input));
        }
    }

    #[test]
    fn every_type_can_be_chosen() {
        let mut seen = std::collections::BTreeSet::new();
        for byte in 0..=u8::MAX {
            let mut input: &[u8] = &[byte, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            seen.insert(format!("{:?}", parse_type(&mut input, 0).unwrap()));
        }
        assert_eq!(seen.len(), 17, "{seen:?}");
    }
}
