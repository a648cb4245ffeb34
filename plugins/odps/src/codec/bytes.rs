//! The buffered byte reader under the decoder: varints, fixed-width values and
//! length-prefixed bytes, with fast paths that work on the buffer directly.

use std::io::{self, Read};

use super::DecodeError;

const BUFFER_SIZE: usize = 256 * 1024;
/// The buffer's first size: a small answer (a small partition's rows) needs no more, and a
/// long stream that fills it grows it to [`BUFFER_SIZE`] in two more reads.
const FIRST_BUFFER_SIZE: usize = 16 * 1024;
/// No MaxCompute value is larger (STRING and BINARY top out at 256 MiB); a larger length is
/// a damaged stream, not a reason to allocate.
const MAX_VALUE_BYTES: usize = 256 * 1024 * 1024;

/// A buffered reader with the few primitives the wire format needs; the fast paths work on
/// the buffer directly.
pub(super) struct ByteReader<R> {
    inner: R,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
}

impl<R: Read> ByteReader<R> {
    pub(super) fn new(inner: R) -> Self {
        ByteReader {
            inner,
            buffer: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// Makes at least `wanted` bytes (at most the buffer size) available; false at the end of
    /// the input with fewer.
    #[inline]
    fn fill_to(&mut self, wanted: usize) -> io::Result<bool> {
        if self.end - self.start >= wanted {
            return Ok(true);
        }
        self.refill(wanted)
    }

    /// Once per buffer of input: out of the way of the inlined fast path.
    #[cold]
    fn refill(&mut self, wanted: usize) -> io::Result<bool> {
        // Input that filled the buffer to the end comes faster than the buffer takes it: only
        // then is it grown, so that a small answer's end is found without a larger buffer
        // zeroed for nothing (a tenth of a small partition's instructions).
        let filled = self.end == self.buffer.len();
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buffer.len() < BUFFER_SIZE && (filled || self.buffer.len() < wanted) {
            let grown = (self.buffer.len() * 4).clamp(FIRST_BUFFER_SIZE, BUFFER_SIZE);
            self.buffer.resize(grown.max(wanted), 0);
        }
        while self.end < wanted {
            match self.inner.read(&mut self.buffer[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(read) => self.end += read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(true)
    }

    #[inline]
    pub(super) fn at_end(&mut self) -> io::Result<bool> {
        Ok(!self.fill_to(1)?)
    }

    fn byte(&mut self) -> io::Result<u8> {
        if !self.fill_to(1)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let byte = self.buffer[self.start];
        self.start += 1;
        Ok(byte)
    }

    /// A varint of up to 10 bytes (odps-tunnel.md §5.3: CRCs may come sign-extended).
    #[inline(always)]
    pub(super) fn varint(&mut self) -> Result<u64, DecodeError> {
        // Field tags, lengths and small values: most varints are one byte.
        if self.start < self.end && self.buffer[self.start] < 0x80 {
            let byte = self.buffer[self.start];
            self.start += 1;
            return Ok(u64::from(byte));
        }
        self.long_varint()
    }

    /// Kept out of line so that the one-byte path inlines everywhere.
    #[inline(never)]
    fn long_varint(&mut self) -> Result<u64, DecodeError> {
        if self.end - self.start >= 10 {
            let bytes = &self.buffer[self.start..self.start + 10];
            let mut value = 0u64;
            for (index, byte) in bytes.iter().enumerate() {
                value |= u64::from(byte & 0x7f) << (7 * index);
                if byte & 0x80 == 0 {
                    self.start += index + 1;
                    return Ok(value);
                }
            }
            return Err(DecodeError::new("a varint is longer than 10 bytes"));
        }
        let mut value = 0u64;
        for index in 0..10 {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::new("a varint is longer than 10 bytes"))
    }

    #[inline]
    pub(super) fn fixed<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        if !self.fill_to(N)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(&self.buffer[self.start..self.start + N]);
        self.start += N;
        Ok(bytes)
    }

    /// Hands `length` bytes to `use_bytes`, from the buffer when they fit in it.
    #[inline]
    pub(super) fn with_bytes<T>(
        &mut self,
        length: usize,
        use_bytes: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, DecodeError> {
        if length <= BUFFER_SIZE {
            if !self.fill_to(length)? {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            let value = use_bytes(&self.buffer[self.start..self.start + length]);
            self.start += length;
            return Ok(value);
        }
        if length > MAX_VALUE_BYTES {
            return Err(DecodeError::new(format!(
                "a value claims {length} bytes, more than MaxCompute allows (corrupt stream)"
            )));
        }
        // Grown as the bytes arrive, so that a damaged length costs no more memory than the
        // body holds (a fuzzing finding: fuzz/regressions/).
        let mut large = self.buffer[self.start..self.end].to_vec();
        self.start = self.end;
        let missing = (length - large.len()) as u64;
        (&mut self.inner).take(missing).read_to_end(&mut large)?;
        if large.len() < length {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        Ok(use_bytes(&large))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_to_end(reader: &mut ByteReader<&[u8]>) {
        while !reader.at_end().unwrap() {
            reader.byte().unwrap();
        }
    }

    #[test]
    fn the_buffer_grows_only_while_the_input_fills_it() {
        let short = [7u8; 100];
        let mut reader = ByteReader::new(&short[..]);
        read_to_end(&mut reader);
        assert_eq!(reader.buffer.len(), FIRST_BUFFER_SIZE);

        // A slice fills every buffer it is given, as a fast connection does.
        let long = vec![7u8; 1 << 20];
        let mut reader = ByteReader::new(&long[..]);
        read_to_end(&mut reader);
        assert_eq!(reader.buffer.len(), BUFFER_SIZE);
    }
}
