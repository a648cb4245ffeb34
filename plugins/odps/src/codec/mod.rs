//! The tunnel record stream (odps-tunnel.md §5): protobuf-style fields, a CRC32C per record,
//! and a footer with the record count and a CRC32C over the record CRCs. Decoded straight
//! into reused [`Record`](datax_plugin_api::Record)s.
//!
//! * `bytes.rs`: the buffered reader (varints, fixed-width values, length-prefixed bytes);
//! * `crc.rs`: the record and stream CRC32C;
//! * `scalar.rs`: leaf values off the wire, each into the record CRC;
//! * `decode.rs`: [`RecordDecoder`], records into columns, and the footer;
//! * `json.rs`: ARRAY, MAP and STRUCT values as JSON text;
//! * `decimal.rs`: DECIMAL text without an exponent;
//! * `encode.rs`: the record stream writer of odpswriter's blocks, tests and the decode
//!   benchmark.

mod bytes;
mod crc;
mod decimal;
mod decode;
pub mod encode;
mod json;
mod scalar;

use std::io;

pub use decimal::plain_decimal;
pub use decode::RecordDecoder;

use crate::schema::OdpsType;

/// Field numbers of the stream's own tags (odps-tunnel.md §5.1).
const END_RECORD: u64 = 33_553_408;
const META_COUNT: u64 = 33_554_430;
const METRICS_END: u64 = 33_554_176;
const META_CHECKSUM: u64 = 33_554_431;
/// The metrics block after `META_COUNT`: field 1, wire type 2.
const METRICS_TAG: u64 = (1 << 3) | 2;

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_BYTES: u8 = 2;
const WIRE_FIXED32: u8 = 5;

/// Why a stream could not be read. Every such failure is worth a retry of the rows not yet
/// received: connections drop, bodies get cut, bytes get flipped.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub message: String,
}

impl DecodeError {
    fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
        }
    }
}

impl From<io::Error> for DecodeError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            DecodeError::new("the stream ended in the middle of a record (truncated body)")
        } else {
            DecodeError::new(format!("reading the body failed: {error}"))
        }
    }
}

/// Where a wire field goes: its type and the record column it fills.
#[derive(Debug, Clone)]
pub struct FieldTarget {
    pub name: String,
    pub odps_type: OdpsType,
    pub column: usize,
}

#[inline(always)]
fn zigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}
