//! How a PutLogs body is compressed: `compress` (sls-putlogs.md §6); and how a PullLogs
//! answer is decompressed, as its `x-log-compresstype` says.

use std::io::{Read, Write};
use std::sync::Arc;

use bytes::Bytes;

/// `compress`: how a request body is compressed (sls-putlogs.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A raw LZ4 block, no frame and no size prefix: every SDK's default.
    Lz4,
    None,
    /// A zlib stream (RFC 1950) at zlib's default level, as Java's `Deflater` writes it.
    Deflate,
    /// A zstd frame at level 1, as the Python SDK and the Rust producer send it.
    Zstd,
}

impl Compression {
    /// The accepted `compress` values, for messages.
    pub const NAMES: &'static str = "lz4, none, deflate or zstd";

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "lz4" => Some(Compression::Lz4),
            "none" => Some(Compression::None),
            "deflate" => Some(Compression::Deflate),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// `bytes` decompressed into `out` (its memory reused), which then holds the `raw_size`
    /// bytes they hold; more or fewer is an error, so a body cut short or a lying size shows
    /// (and a bomb cannot inflate past the size).
    pub fn decompress_into(
        self,
        bytes: &[u8],
        raw_size: usize,
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        match self {
            Compression::None => {
                out.clear();
                out.extend_from_slice(bytes);
            }
            Compression::Lz4 => {
                // Overwritten: only a buffer shorter than the answer is lengthened (zeroed).
                out.resize(raw_size, 0);
                let written = lz4_flex::block::decompress_into(bytes, out)
                    .map_err(|error| std::io::Error::other(error.to_string()))?;
                out.truncate(written);
            }
            Compression::Deflate => {
                read_at_most(flate2::read::ZlibDecoder::new(bytes), raw_size, out)?
            }
            Compression::Zstd => {
                read_at_most(zstd::stream::read::Decoder::new(bytes)?, raw_size, out)?
            }
        }
        if out.len() != raw_size {
            return Err(std::io::Error::other(format!(
                "{} bytes where x-log-bodyrawsize says {raw_size}",
                out.len()
            )));
        }
        Ok(())
    }

    /// The `x-log-compresstype` header; none for an uncompressed body.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Compression::Lz4 => Some("lz4"),
            Compression::None => None,
            Compression::Deflate => Some("deflate"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// Reads at most one byte past `raw_size`, enough to tell a body larger than it says.
fn read_at_most(reader: impl Read, raw_size: usize, out: &mut Vec<u8>) -> std::io::Result<()> {
    out.clear();
    out.reserve(raw_size);
    reader.take(raw_size as u64 + 1).read_to_end(out)?;
    Ok(())
}

/// One sending thread's compression buffer (and zstd context), reused for every request.
///
/// The request's body is this buffer itself, not a copy: [`Compressor::compress`] returns
/// [`Bytes`] that share it, and the next call writes into it again once they are gone (every
/// attempt of a request has ended). If some are still alive, it starts a new buffer.
#[derive(Default)]
pub struct Compressor {
    out: Arc<Vec<u8>>,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

/// The buffer to write into: `buffer` if no body shares it any more, else a new one.
fn unshared(buffer: &mut Arc<Vec<u8>>) -> &mut Vec<u8> {
    if Arc::get_mut(buffer).is_none() {
        *buffer = Arc::default();
    }
    Arc::get_mut(buffer).expect("a buffer no body shares")
}

/// The first `len` bytes of a compressor's buffer, as a body's [`Bytes`].
struct Compressed {
    buffer: Arc<Vec<u8>>,
    len: usize,
}

impl AsRef<[u8]> for Compressed {
    fn as_ref(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

impl Compressor {
    /// `raw` compressed as `compression` says (a copy of `raw` for none).
    pub fn compress(&mut self, compression: Compression, raw: &[u8]) -> std::io::Result<Bytes> {
        let len = match compression {
            Compression::None => return Ok(Bytes::copy_from_slice(raw)),
            Compression::Lz4 => {
                let out = unshared(&mut self.out);
                // Only lengthened (zeroed) when too short: the block overwrites what it needs.
                let bound = lz4_flex::block::get_maximum_output_size(raw.len());
                if out.len() < bound {
                    out.resize(bound, 0);
                }
                lz4_flex::block::compress_into(raw, out)
                    .map_err(|error| std::io::Error::other(error.to_string()))?
            }
            Compression::Deflate => {
                let out = unshared(&mut self.out);
                out.clear();
                let mut encoder = flate2::write::ZlibEncoder::new(
                    std::mem::take(out),
                    flate2::Compression::default(),
                );
                encoder.write_all(raw)?;
                *out = encoder.finish()?;
                out.len()
            }
            Compression::Zstd => {
                let zstd = match &mut self.zstd {
                    Some(zstd) => zstd,
                    None => self.zstd.insert(zstd::bulk::Compressor::new(1)?),
                };
                let out = unshared(&mut self.out);
                out.clear();
                out.reserve(zstd::zstd_safe::compress_bound(raw.len()));
                zstd.compress_to_buffer(raw, out)?;
                out.len()
            }
        };
        Ok(Bytes::from_owner(Compressed {
            buffer: Arc::clone(&self.out),
            len,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::fixtures::{hex, P1_WITHOUT_TAG};

    /// sls-putlogs.md §6: a raw block; compare by decompressing, and the spec's python-lz4
    /// block decompresses to the same P1 bytes.
    #[test]
    fn lz4_blocks_decompress_to_the_raw_group() {
        let raw = hex(P1_WITHOUT_TAG);
        let mut compressor = Compressor::default();
        let compressed = compressor.compress(Compression::Lz4, &raw).unwrap();
        assert_eq!(
            lz4_flex::block::decompress(&compressed, raw.len()).unwrap(),
            raw
        );
        let python = hex("fb260a2f0880e2cfaa06120d0a056c6576656c1204494e464f12130a036d7367120c68656c6c6f20e4b896e7958c2515cd5b070a1e08813100625741524e12073100f01c001a056461746178220831302e302e302e3132170a0b5f5f7061636b5f69645f5f12083546324131422d31");
        let p1 = lz4_flex::block::decompress(&python, 123).unwrap();
        assert!(p1.starts_with(&raw));
        assert_eq!(
            crate::auth::content_md5(&python),
            "F830413E6E50EE10367B95DF7DD22ECD"
        );
    }

    /// sls-putlogs.md §6: deflate is a zlib stream, zstd a frame, none the raw bytes; the same
    /// compressor serves request after request.
    #[test]
    fn every_compression_decompresses_to_the_raw_group() {
        use std::io::Read;
        let raw = hex(P1_WITHOUT_TAG).repeat(50);
        let mut compressor = Compressor::default();
        for _ in 0..2 {
            let body = compressor.compress(Compression::None, &raw).unwrap();
            assert_eq!(body, raw);
            let body = compressor.compress(Compression::Deflate, &raw).unwrap();
            assert!(body.len() < raw.len() / 4, "{}", body.len());
            let mut inflated = Vec::new();
            flate2::read::ZlibDecoder::new(&body[..])
                .read_to_end(&mut inflated)
                .unwrap();
            assert_eq!(inflated, raw);
            let body = compressor.compress(Compression::Zstd, &raw).unwrap();
            assert!(body.len() < raw.len() / 4, "{}", body.len());
            assert_eq!(zstd::stream::decode_all(&body[..]).unwrap(), raw);
        }
        assert_eq!(Compression::from_name(" ZSTD "), Some(Compression::Zstd));
        assert_eq!(Compression::from_name("gzip"), None);
        assert_eq!(Compression::None.header(), None);
    }

    /// A body shares the compressor's buffer: compressing the next one leaves a body still
    /// alive (an attempt not ended) as it was, and the buffer is written again once no body
    /// holds it.
    #[test]
    fn a_body_keeps_its_bytes_and_gives_the_buffer_back_when_dropped() {
        let first = hex(P1_WITHOUT_TAG).repeat(10);
        let second = hex(P1_WITHOUT_TAG).repeat(3);
        let mut compressor = Compressor::default();
        let alive = compressor.compress(Compression::Lz4, &first).unwrap();
        let as_sent = alive.to_vec();
        let next = compressor.compress(Compression::Lz4, &second).unwrap();
        assert_eq!(alive, as_sent);
        let decompressed = |body: &Bytes, len| lz4_flex::block::decompress(body, len).unwrap();
        assert_eq!(decompressed(&alive, first.len()), first);
        assert_eq!(decompressed(&next, second.len()), second);
        let buffer = next.as_ptr();
        drop(alive);
        drop(next);
        // No larger than the last, so that the buffer needs no growing.
        let again = compressor.compress(Compression::Lz4, &second).unwrap();
        assert_eq!(again.as_ptr(), buffer, "the buffer is reused, not copied");
        assert_eq!(decompressed(&again, second.len()), second);
    }

    /// What PullLogs answers decompress to, checked against their declared size.
    #[test]
    fn answers_decompress_to_exactly_their_raw_size() {
        let raw = hex(P1_WITHOUT_TAG).repeat(20);
        for compression in [
            Compression::Lz4,
            Compression::None,
            Compression::Deflate,
            Compression::Zstd,
        ] {
            let compressed = Compressor::default()
                .compress(compression, &raw)
                .unwrap()
                .to_vec();
            // A buffer that held something else (a longer answer) is reused.
            let mut out = vec![7; 3 * raw.len()];
            compression
                .decompress_into(&compressed, raw.len(), &mut out)
                .unwrap();
            assert_eq!(out, raw, "{compression:?}");
            let short = &compressed[..compressed.len() / 2];
            let short = compression.decompress_into(short, raw.len(), &mut out);
            assert!(short.is_err(), "{compression:?} cut short");
            let lying = compression.decompress_into(&compressed, raw.len() - 1, &mut out);
            assert!(lying.is_err(), "{compression:?} with a lying size");
        }
    }
}
