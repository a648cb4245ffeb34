//! Records as they cross the boundary: frozen `repr(C)` layouts, owned by the library that
//! allocated them (abi_stable's `RVec`/`RString` carry their own deallocator).

use abi_stable::std_types::{RString, RVec};
use abi_stable::StableAbi;

/// An instant as seconds since 1970-01-01T00:00:00Z plus nanoseconds (0..1e9).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EpochTime {
    pub seconds: i64,
    pub nanos: u32,
}

impl EpochTime {
    pub fn from_millis(millis: i64) -> Self {
        EpochTime {
            seconds: millis.div_euclid(1000),
            nanos: (millis.rem_euclid(1000) * 1_000_000) as u32,
        }
    }

    pub fn as_millis(&self) -> i64 {
        self.seconds * 1000 + i64::from(self.nanos / 1_000_000)
    }
}

/// One value. Covers DataX's column kinds without loss; the set is frozen by the ABI, so a
/// kind that does not fit one of these travels as `String`, `Decimal` or `Bytes`.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum Column {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    /// An exact decimal or an integer beyond `i64`, as plain text (`-12.3400`).
    Decimal(RString),
    String(RString),
    Bytes(RVec<u8>),
    /// A calendar date: days since 1970-01-01.
    Date(i32),
    /// A time of day: nanoseconds since midnight.
    Time(u64),
    /// A datetime with millisecond precision (DataX's `Date`, MaxCompute `DATETIME`).
    DateTime(EpochTime),
    /// A timestamp with nanosecond precision (MaxCompute `TIMESTAMP`).
    Timestamp(EpochTime),
}

impl Column {
    pub fn string(value: impl Into<String>) -> Self {
        Column::String(RString::from(value.into()))
    }

    pub fn bytes(value: impl Into<Vec<u8>>) -> Self {
        Column::Bytes(RVec::from(value.into()))
    }

    pub fn decimal(text: impl Into<String>) -> Self {
        Column::Decimal(RString::from(text.into()))
    }

    /// The size DataX counts for `speed.byte` and reports (datax-engine.md §5.2), except that
    /// text counts its UTF-8 bytes rather than Java's UTF-16 units: that is what moves.
    pub fn byte_size(&self) -> u64 {
        match self {
            Column::Null => 0,
            Column::Bool(_) => 1,
            Column::Long(_)
            | Column::Double(_)
            | Column::Date(_)
            | Column::Time(_)
            | Column::DateTime(_)
            | Column::Timestamp(_) => 8,
            Column::Decimal(text) | Column::String(text) => text.len() as u64,
            Column::Bytes(bytes) => bytes.len() as u64,
        }
    }

    /// Makes this column equal to `source`, reusing its text or bytes buffer when both are
    /// of the same kind (see [`crate::RecordSender::send_with`]).
    pub fn assign(&mut self, source: &Column) {
        match (&mut *self, source) {
            (Column::String(to), Column::String(from))
            | (Column::Decimal(to), Column::Decimal(from)) => {
                to.clear();
                to.push_str(from);
            }
            (Column::Bytes(to), Column::Bytes(from)) => {
                to.clear();
                to.extend_from_slice(from);
            }
            (to, from) => *to = from.clone(),
        }
    }

    /// The kind's name as DataX and users spell it, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Column::Null => "null",
            Column::Bool(_) => "bool",
            Column::Long(_) => "long",
            Column::Double(_) => "double",
            Column::Decimal(_) => "decimal",
            Column::String(_) => "string",
            Column::Bytes(_) => "bytes",
            Column::Date(_) => "date",
            Column::Time(_) => "time",
            Column::DateTime(_) => "datetime",
            Column::Timestamp(_) => "timestamp",
        }
    }
}

/// What a transformer did with a record.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The record goes on, changed or not.
    Keep,
    /// The record leaves the job: not written, not dirty, counted as filtered (DataX's
    /// transformer returned `null`).
    Filter,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Default)]
pub struct Record {
    pub columns: RVec<Column>,
}

impl Record {
    pub fn new(columns: Vec<Column>) -> Self {
        Record {
            columns: RVec::from(columns),
        }
    }

    pub fn byte_size(&self) -> u64 {
        self.columns.iter().map(Column::byte_size).sum()
    }

    /// Makes this record equal to `source`, reusing its buffers (see [`Column::assign`]).
    pub fn assign(&mut self, source: &Record) {
        self.columns.truncate(source.columns.len());
        let reused = self.columns.len();
        for (to, from) in self.columns.iter_mut().zip(source.columns.iter()) {
            to.assign(from);
        }
        for from in &source.columns[reused..] {
            self.columns.push(from.clone());
        }
    }
}

/// Records moved together through a channel. `byte_size` is the sum of the records' byte sizes,
/// computed once by the producer so that throttling and statistics cost nothing downstream.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Default)]
pub struct RecordBatch {
    pub records: RVec<Record>,
    pub byte_size: u64,
}

impl RecordBatch {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Asks the CPU to start loading every value's bytes (their first and last cache lines)
    /// and, on the way, loads the records' columns. A batch arrives from the reader's thread,
    /// its memory in another core's cache: fetched as the writer reaches each value, every
    /// load was waited on alone (a fifth of the seed's loghub writer thread); asked for all
    /// at once, the loads overlap. Wide values are not fetched whole: the rest of a value
    /// streams in as it is copied.
    pub(crate) fn prefetch(&self) {
        for record in self.records.iter() {
            for column in record.columns.iter() {
                let bytes = match column {
                    Column::String(text) | Column::Decimal(text) => text.as_bytes(),
                    Column::Bytes(bytes) => bytes.as_slice(),
                    _ => continue,
                };
                if let (Some(first), Some(last)) = (bytes.first(), bytes.last()) {
                    prefetch_line(first);
                    prefetch_line(last);
                }
            }
        }
    }
}

/// A hint to load the cache line holding `byte`; it never faults and changes nothing.
#[inline(always)]
fn prefetch_line(byte: &u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` only hints the cache; `byte` is a valid reference anyway.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = byte;
}

impl From<Vec<Record>> for RecordBatch {
    fn from(records: Vec<Record>) -> Self {
        let byte_size = records.iter().map(Record::byte_size).sum();
        RecordBatch {
            records: RVec::from(records),
            byte_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_time_round_trips_negative_millis() {
        let before_epoch = EpochTime::from_millis(-1);
        assert_eq!(
            before_epoch,
            EpochTime {
                seconds: -1,
                nanos: 999_000_000
            }
        );
        assert_eq!(before_epoch.as_millis(), -1);
    }

    #[test]
    fn assign_reuses_buffers_and_matches_the_source() {
        let source = Record::new(vec![Column::string("abc"), Column::Long(7)]);
        let mut reused = Record::new(vec![
            Column::string("a longer old value"),
            Column::Null,
            Column::Bool(true),
        ]);
        let buffer = match &reused.columns[0] {
            Column::String(text) => text.as_ptr(),
            _ => unreachable!(),
        };
        reused.assign(&source);
        assert_eq!(reused, source);
        match &reused.columns[0] {
            Column::String(text) => assert_eq!(text.as_ptr(), buffer, "the text buffer is reused"),
            other => panic!("{other:?}"),
        }
        let mut grown = Record::default();
        grown.assign(&source);
        assert_eq!(grown, source);
    }

    #[test]
    fn batch_byte_size_sums_its_records() {
        let batch = RecordBatch::from(vec![
            Record::new(vec![Column::Long(1), Column::string("héllo"), Column::Null]),
            Record::new(vec![Column::Bool(true), Column::bytes(vec![1, 2, 3])]),
        ]);
        assert_eq!(batch.byte_size, 8 + 6 + 1 + 3);
        assert_eq!(batch.len(), 2);
    }
}
