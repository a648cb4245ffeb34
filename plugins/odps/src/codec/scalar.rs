//! Leaf values off the wire (odps-tunnel.md §5.2), each added to the record CRC as §5.3
//! says: shared by the column decoder (decode.rs) and the JSON text of complex values
//! (json.rs). All inline: they sit in the decoder's per-value loop.

use std::io::Read;

use super::bytes::ByteReader;
use super::crc::Crc;
use super::{zigzag, DecodeError};
use crate::schema::OdpsType;

/// A zigzag varint: BIGINT, INT, DATETIME (milliseconds), DATE (days), months.
#[inline(always)]
pub(super) fn read_long<R: Read>(
    input: &mut ByteReader<R>,
    crc: &mut Crc,
) -> Result<i64, DecodeError> {
    let value = zigzag(input.varint()?);
    crc.update(&value.to_le_bytes());
    Ok(value)
}

#[inline(always)]
pub(super) fn read_bool<R: Read>(
    input: &mut ByteReader<R>,
    crc: &mut Crc,
) -> Result<bool, DecodeError> {
    let value = input.varint()? != 0;
    crc.update(&[u8::from(value)]);
    Ok(value)
}

/// DOUBLE (8 bytes) or FLOAT (4 bytes), little-endian.
#[inline(always)]
pub(super) fn read_fixed<R: Read, const N: usize>(
    input: &mut ByteReader<R>,
    crc: &mut Crc,
) -> Result<[u8; N], DecodeError> {
    let bytes = input.fixed::<N>()?;
    crc.update(&bytes);
    Ok(bytes)
}

/// A length-prefixed value handed to `use_bytes` (after the CRC has it): STRING, JSON,
/// BINARY, DECIMAL.
#[inline(always)]
pub(super) fn with_length_prefixed<R: Read, T>(
    input: &mut ByteReader<R>,
    crc: &mut Crc,
    use_bytes: impl FnOnce(&[u8]) -> T,
) -> Result<T, DecodeError> {
    let length = input.varint()? as usize;
    input.with_bytes(length, |bytes| {
        crc.update(bytes);
        use_bytes(bytes)
    })
}

/// Seconds and nanoseconds: TIMESTAMP, TIMESTAMP_NTZ and INTERVAL_DAY_TIME.
#[inline]
pub(super) fn read_seconds_nanos<R: Read>(
    input: &mut ByteReader<R>,
    crc: &mut Crc,
) -> Result<(i64, i32), DecodeError> {
    let seconds = zigzag(input.varint()?);
    let nanos = zigzag(input.varint()?) as i32;
    crc.update(&seconds.to_le_bytes());
    crc.update(&nanos.to_le_bytes());
    Ok((seconds, nanos))
}

/// A TIMESTAMP's or TIMESTAMP_NTZ's instant: seconds since the epoch and nanoseconds.
#[inline]
pub(super) fn read_timestamp<R: Read>(
    odps_type: &OdpsType,
    input: &mut ByteReader<R>,
    crc: &mut Crc,
) -> Result<(i64, i32), DecodeError> {
    let (seconds, nanos) = read_seconds_nanos(input, crc)?;
    match odps_type {
        OdpsType::TimestampNtz => Ok((wall_clock_instant(seconds), nanos)),
        _ => Ok((seconds, nanos)),
    }
}

/// TIMESTAMP_NTZ carries a wall clock as if it were UTC (odps-tunnel.md §6): the instant
/// whose DataX text (GMT+8) shows that same wall clock.
fn wall_clock_instant(utc_wall_clock_seconds: i64) -> i64 {
    utc_wall_clock_seconds.saturating_sub(datax_plugin_kit::calendar::DATAX_DEFAULT_OFFSET_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_clock_at_the_smallest_second_does_not_overflow() {
        // Fuzzing finding `fuzz/regressions/decode_records/timestamp_ntz_at_the_smallest_second`.
        assert_eq!(wall_clock_instant(i64::MIN), i64::MIN);
        assert_eq!(wall_clock_instant(28_800), 0);
    }
}
