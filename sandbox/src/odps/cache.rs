//! Encoded records of generated tables, kept so that repeated and overlapping downloads copy
//! bytes instead of generating and encoding every row again: the benchmarks read the same
//! partition many times, and the sandbox should cost less than the readers it measures.
//! Every request still gets its own count, stream CRC (from the cached record CRCs,
//! odps-tunnel.md §5.3), compression, faults and signature check.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use super::codec::{RecordWriter, WireOptions};
use super::types::{OdpsType, Value};

/// Rows per cached block: a request encodes at most two blocks of rows it does not need.
pub(crate) const BLOCK_ROWS: u64 = 16_384;

/// Consecutive records of one column selection, as `RecordWriter::write_record` wrote them.
pub(crate) struct EncodedBlock {
    /// The records, back to back.
    records: Vec<u8>,
    /// Where each record ends in `records`.
    ends: Vec<u32>,
    /// Each record's CRC as int32 LE, the input of the stream CRC.
    crcs: Vec<u8>,
}

impl EncodedBlock {
    /// Encodes `rows`; `value(row, column, type)` gives each cell of the selected columns.
    pub fn encode(
        rows: Range<u64>,
        columns: &[(usize, OdpsType)],
        wire: WireOptions,
        value: impl Fn(u64, usize, &OdpsType) -> Value,
    ) -> io::Result<Self> {
        let count = (rows.end - rows.start) as usize;
        let mut writer = RecordWriter::with_options(Vec::new(), wire);
        let mut ends = Vec::with_capacity(count);
        let mut crcs = Vec::with_capacity(4 * count);
        let mut values = Vec::with_capacity(columns.len());
        for row in rows {
            write_row(&mut writer, row, columns, &value, &mut values)?;
            ends.push(u32::try_from(writer.get_ref().len()).map_err(io::Error::other)?);
            crcs.extend_from_slice(&writer.last_record_crc().to_le_bytes());
        }
        Ok(EncodedBlock {
            records: writer.into_inner(),
            ends,
            crcs,
        })
    }

    /// Records `range` (indexes within the block): their bytes and their CRCs.
    pub fn records(&self, range: Range<usize>) -> (&[u8], &[u8]) {
        let start = match range.start {
            0 => 0,
            index => self.ends[index - 1] as usize,
        };
        let end = match range.end {
            0 => 0,
            index => self.ends[index - 1] as usize,
        };
        (
            &self.records[start..end],
            &self.crcs[4 * range.start..4 * range.end],
        )
    }

    fn memory(&self) -> usize {
        self.records.capacity() + 4 * self.ends.capacity() + self.crcs.capacity()
    }
}

/// Writes `row` as one record: field `i + 1` is `columns[i]` (odps-tunnel.md §4).
pub(crate) fn write_row<W: io::Write>(
    writer: &mut RecordWriter<W>,
    row: u64,
    columns: &[(usize, OdpsType)],
    value: impl Fn(u64, usize, &OdpsType) -> Value,
    values: &mut Vec<Value>,
) -> io::Result<()> {
    values.clear();
    values.extend(columns.iter().map(|(index, ty)| value(row, *index, ty)));
    writer.write_record(
        columns
            .iter()
            .zip(values.iter())
            .enumerate()
            .map(|(i, ((_, ty), v))| (i as u32 + 1, ty, v)),
    )
}

/// Names a block: its table (`Table::cache_id`: generated rows never change under it),
/// partition, column selection and position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BlockKey {
    pub table: u64,
    pub partition: Option<usize>,
    pub columns: Vec<usize>,
    /// Rows `block * BLOCK_ROWS ..`.
    pub block: u64,
}

/// The blocks, least recently used dropped first once they hold more than the limit
/// (always keeping the block just encoded).
pub(crate) struct RecordCache {
    limit_bytes: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    blocks: HashMap<BlockKey, Entry>,
    used_bytes: usize,
    /// Ticks once per lookup, to order entries by last use.
    clock: u64,
}

struct Entry {
    /// Filled by the first request that needs the block; others wait on its lock.
    block: Arc<Mutex<Option<Arc<EncodedBlock>>>>,
    /// 0 until encoded.
    bytes: usize,
    last_used: u64,
}

impl RecordCache {
    /// A cache of at most `limit_bytes` (plus the block being served); 0 keeps nothing.
    pub fn new(limit_bytes: usize) -> Self {
        RecordCache {
            limit_bytes,
            entries: Mutex::default(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.limit_bytes > 0
    }

    /// The block named by `key`, encoded by `encode` unless it is cached.
    pub fn block(
        &self,
        key: &BlockKey,
        encode: impl FnOnce() -> io::Result<EncodedBlock>,
    ) -> io::Result<Arc<EncodedBlock>> {
        let slot = {
            let mut entries = self.lock();
            entries.clock += 1;
            let now = entries.clock;
            let entry = entries.blocks.entry(key.clone()).or_insert_with(|| Entry {
                block: Arc::default(),
                bytes: 0,
                last_used: now,
            });
            entry.last_used = now;
            entry.block.clone()
        };
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(block) = slot.as_ref() {
            return Ok(block.clone());
        }
        let block = Arc::new(encode()?);
        *slot = Some(block.clone());
        drop(slot);
        self.account(key, block.memory());
        Ok(block)
    }

    /// Counts a newly encoded block and drops the least recently used others beyond the
    /// limit. Blocks still being encoded count 0 and stay.
    fn account(&self, key: &BlockKey, bytes: usize) {
        let mut entries = self.lock();
        let Some(entry) = entries.blocks.get_mut(key) else {
            return;
        };
        entry.bytes = bytes;
        entries.used_bytes += bytes;
        while entries.used_bytes > self.limit_bytes {
            let oldest = entries
                .blocks
                .iter()
                .filter(|(other, entry)| *other != key && entry.bytes > 0)
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(other, _)| other.clone());
            let Some(oldest) = oldest else { break };
            if let Some(evicted) = entries.blocks.remove(&oldest) {
                entries.used_bytes -= evicted.bytes;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn cached_blocks(&self) -> Vec<u64> {
        let mut blocks: Vec<u64> = self.lock().blocks.keys().map(|key| key.block).collect();
        blocks.sort();
        blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odps::generator::generated_value;

    fn columns() -> Vec<(usize, OdpsType)> {
        vec![(0, OdpsType::String), (1, OdpsType::Bigint)]
    }

    fn encode(rows: Range<u64>) -> io::Result<EncodedBlock> {
        EncodedBlock::encode(
            rows,
            &columns(),
            WireOptions::default(),
            |row, column, ty| generated_value(ty, 5, row, column, 20),
        )
    }

    fn key(block: u64) -> BlockKey {
        BlockKey {
            table: 1,
            partition: None,
            columns: vec![0, 1],
            block,
        }
    }

    #[test]
    fn a_block_slices_into_the_records_written_one_by_one() {
        let block = encode(100..110).unwrap();
        let mut writer = RecordWriter::new(Vec::new());
        let mut values = Vec::new();
        let mut crcs = Vec::new();
        for row in 103..107 {
            write_row(
                &mut writer,
                row,
                &columns(),
                |row, column, ty| generated_value(ty, 5, row, column, 20),
                &mut values,
            )
            .unwrap();
            crcs.extend_from_slice(&writer.last_record_crc().to_le_bytes());
        }
        assert_eq!(
            block.records(3..7),
            (writer.get_ref().as_slice(), &crcs[..])
        );
        assert_eq!(block.records(0..0), (&[][..], &[][..]));
        assert_eq!(block.records(0..10).0.len(), block.records.len());
    }

    #[test]
    fn keeps_the_most_recently_used_blocks_within_its_limit() {
        let size = encode(0..100).unwrap().memory();
        let cache = RecordCache::new(2 * size);
        for block in [0, 1, 0, 2] {
            cache.block(&key(block), || encode(0..100)).unwrap();
        }
        assert_eq!(cache.cached_blocks(), [0, 2]);
        // A hit does not encode again.
        cache
            .block(&key(0), || panic!("block 0 is cached"))
            .unwrap();
        // Smaller than one block: only the block just encoded stays.
        let tiny = RecordCache::new(1);
        for block in [0, 1] {
            tiny.block(&key(block), || encode(0..100)).unwrap();
        }
        assert_eq!(tiny.cached_blocks(), [1]);
    }
}
