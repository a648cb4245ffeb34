//! Counters shared by every task of a job, read by the monitor for reports and checks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::plugins::Kind;

#[derive(Default)]
pub struct Counters {
    /// Records and bytes the reader tasks sent into their channels.
    pub sent_records: AtomicU64,
    pub sent_bytes: AtomicU64,
    /// Records the writer tasks took out of their channels (written or dirty).
    pub received_records: AtomicU64,
    pub received_bytes: AtomicU64,
    pub read_dirty_records: AtomicU64,
    pub read_dirty_bytes: AtomicU64,
    pub write_dirty_records: AtomicU64,
    pub write_dirty_bytes: AtomicU64,
    /// Time readers spent blocked on a full channel (DataX's WaitWriterTime).
    pub wait_writer_nanos: AtomicU64,
    /// Time writers spent waiting on an empty channel (DataX's WaitReaderTime).
    pub wait_reader_nanos: AtomicU64,
    pub finished_tasks: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> Snapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Snapshot {
            sent_records: load(&self.sent_records),
            sent_bytes: load(&self.sent_bytes),
            received_records: load(&self.received_records),
            received_bytes: load(&self.received_bytes),
            read_dirty_records: load(&self.read_dirty_records),
            read_dirty_bytes: load(&self.read_dirty_bytes),
            write_dirty_records: load(&self.write_dirty_records),
            write_dirty_bytes: load(&self.write_dirty_bytes),
            wait_writer_nanos: load(&self.wait_writer_nanos),
            wait_reader_nanos: load(&self.wait_reader_nanos),
            finished_tasks: load(&self.finished_tasks),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Snapshot {
    pub sent_records: u64,
    pub sent_bytes: u64,
    pub received_records: u64,
    pub received_bytes: u64,
    pub read_dirty_records: u64,
    pub read_dirty_bytes: u64,
    pub write_dirty_records: u64,
    pub write_dirty_bytes: u64,
    pub wait_writer_nanos: u64,
    pub wait_reader_nanos: u64,
    pub finished_tasks: u64,
}

impl Snapshot {
    /// Every record a reader produced, good or dirty: DataX's "records read".
    pub fn records_read(&self) -> u64 {
        self.sent_records + self.read_dirty_records
    }

    pub fn bytes_read(&self) -> u64 {
        self.sent_bytes + self.read_dirty_bytes
    }

    pub fn records_written(&self) -> u64 {
        self.received_records - self.write_dirty_records
    }

    pub fn dirty_records(&self) -> u64 {
        self.read_dirty_records + self.write_dirty_records
    }

    pub fn dirty_bytes(&self) -> u64 {
        self.read_dirty_bytes + self.write_dirty_bytes
    }

    /// Whether any record moved between two snapshots.
    pub fn moved_since(&self, earlier: &Snapshot) -> bool {
        self.records_read() != earlier.records_read()
            || self.received_records != earlier.received_records
    }
}

/// The counters plugins keep themselves (`TaskContext::add_to_counter`), summed over tasks.
#[derive(Default)]
pub struct PluginCounters {
    totals: Mutex<PluginCounterTotals>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PluginCounterTotals {
    pub reader: BTreeMap<String, u64>,
    pub writer: BTreeMap<String, u64>,
}

impl PluginCounters {
    pub fn add(&self, side: Kind, name: &str, amount: u64) {
        let mut totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        let side = match side {
            Kind::Reader => &mut totals.reader,
            Kind::Writer => &mut totals.writer,
        };
        match side.get_mut(name) {
            Some(total) => *total = total.saturating_add(amount),
            None => {
                side.insert(name.to_string(), amount);
            }
        }
    }

    pub fn totals(&self) -> PluginCounterTotals {
        self.totals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
