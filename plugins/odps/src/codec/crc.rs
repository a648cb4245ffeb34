//! The CRC32C (Castagnoli) of odps-tunnel.md §5.3: one per record over its field numbers
//! and leaf values, one over the stream's record CRCs, one over the metrics block.

/// A CRC32C whose input is gathered and checksummed in one call: fed a few bytes at a time,
/// the crate's per-call cost was a fifth of the reader's time.
#[derive(Default)]
pub(super) struct Crc {
    input: Vec<u8>,
}

impl Crc {
    /// Starts over, keeping the buffer.
    #[inline]
    pub(super) fn clear(&mut self) {
        self.input.clear();
    }

    #[inline]
    pub(super) fn update(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
    }

    pub(super) fn value(&self) -> u32 {
        crc32c::crc32c(&self.input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_castagnoli() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        let mut crc = Crc::default();
        crc.update(b"1234");
        crc.update(b"56789");
        assert_eq!(crc.value(), 0xE306_9283);
        crc.clear();
        assert_eq!(crc.value(), 0);
    }
}
