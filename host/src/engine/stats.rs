//! Counters shared by every task of a job, read by the monitor for reports and checks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

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
    /// Task pairs whose reader and writer both ended without failing (a stopped job's
    /// cancelled tasks are not among them), as DataX counts its Percentage at `markSuccess`
    /// (datax-engine.md).
    pub finished_tasks: AtomicU64,
    /// What the reader tasks said they will read (`TaskContext::expect_records`).
    pub expected_records: AtomicU64,
    pub expecting_tasks: AtomicU64,
    /// Times an engine thread woke from a blocking wait (a side of a channel, the monitor).
    /// Nothing polls, so this follows the batches that had to wait and the monitor's
    /// deadlines, never the time spent idle; the debug log shows it at the end of a job.
    pub wakeups: AtomicU64,
    pub last_move: MoveClock,
    pub delivery: DeliveryCounters,
}

/// What the writers' services acknowledged, as the writers report it
/// (`TaskContext::acknowledge`, `TaskContext::add_possible_duplicates`): records handed to a
/// writer are not yet delivered.
#[derive(Default)]
pub struct DeliveryCounters {
    /// Whether any writer task reported acknowledgement at all (even of 0 records).
    pub acknowledgement_reported: AtomicBool,
    pub acknowledged_records: AtomicU64,
    pub possibly_duplicated_records: AtomicU64,
    /// What the writer's service stored but publishes only at the writer's `post`
    /// (`TaskContext::acknowledge_at_post`): acknowledged once `post` succeeded.
    staged_records: AtomicU64,
}

/// What the writers said was delivered, at the end of a job.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Delivery {
    /// `None` when no writer task reports acknowledgement (older plugins, testkit).
    pub acknowledged_records: Option<u64>,
    pub possibly_duplicated_records: u64,
}

impl DeliveryCounters {
    pub fn acknowledge(&self, records: u64) {
        self.acknowledgement_reported.store(true, Ordering::Relaxed);
        self.acknowledged_records
            .fetch_add(records, Ordering::Relaxed);
    }

    /// Records stored by the service but published only by the writer's `post`: acknowledged
    /// at [`DeliveryCounters::publish_staged`].
    pub fn stage(&self, records: u64) {
        self.acknowledgement_reported.store(true, Ordering::Relaxed);
        self.staged_records.fetch_add(records, Ordering::Relaxed);
    }

    /// The writer's `post` succeeded: what was staged is acknowledged.
    pub fn publish_staged(&self) {
        let staged = self.staged_records.swap(0, Ordering::Relaxed);
        self.acknowledged_records
            .fetch_add(staged, Ordering::Relaxed);
    }

    pub fn add_possible_duplicates(&self, records: u64) {
        self.possibly_duplicated_records
            .fetch_add(records, Ordering::Relaxed);
    }

    /// Records staged and not yet published by a `post`.
    pub fn staged(&self) -> u64 {
        self.staged_records.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> Delivery {
        Delivery {
            acknowledged_records: self
                .acknowledgement_reported
                .load(Ordering::Relaxed)
                .then(|| self.acknowledged_records.load(Ordering::Relaxed)),
            possibly_duplicated_records: self.possibly_duplicated_records.load(Ordering::Relaxed),
        }
    }
}

/// When a record last moved: the channels stamp it as batches pass, so the monitor can sleep
/// until exactly `last move + stall timeout` instead of looking at the counters on a tick.
pub struct MoveClock {
    epoch: Instant,
    /// Nanoseconds from `epoch` to the latest move.
    latest: AtomicU64,
}

impl Default for MoveClock {
    fn default() -> Self {
        MoveClock {
            epoch: Instant::now(),
            latest: AtomicU64::new(0),
        }
    }
}

impl MoveClock {
    pub fn stamp(&self) {
        let nanos = self.epoch.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        self.latest.fetch_max(nanos, Ordering::Relaxed);
    }

    pub fn latest(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.latest.load(Ordering::Relaxed))
    }
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
            expected_records: load(&self.expected_records),
            expecting_tasks: load(&self.expecting_tasks),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
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
    pub expected_records: u64,
    pub expecting_tasks: u64,
}

impl Snapshot {
    /// Adds another part's counts (a plan's shards, summed by `datax finish`).
    pub fn add(&mut self, part: &Snapshot) {
        self.sent_records += part.sent_records;
        self.sent_bytes += part.sent_bytes;
        self.received_records += part.received_records;
        self.received_bytes += part.received_bytes;
        self.read_dirty_records += part.read_dirty_records;
        self.read_dirty_bytes += part.read_dirty_bytes;
        self.write_dirty_records += part.write_dirty_records;
        self.write_dirty_bytes += part.write_dirty_bytes;
        self.wait_writer_nanos += part.wait_writer_nanos;
        self.wait_reader_nanos += part.wait_reader_nanos;
        self.finished_tasks += part.finished_tasks;
        self.expected_records += part.expected_records;
        self.expecting_tasks += part.expecting_tasks;
    }

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

    /// The records the readers will read, once every one of `tasks` has said.
    pub fn expected_records(&self, tasks: u64) -> Option<u64> {
        (tasks > 0 && self.expecting_tasks >= tasks).then_some(self.expected_records)
    }
}

/// The counters plugins keep themselves (`TaskContext::add_to_counter`), summed over tasks.
#[derive(Default)]
pub struct PluginCounters {
    totals: Mutex<PluginCounterTotals>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// DataX's transformer counters (`TransformerExchanger.doStat`), summed over reader tasks.
#[derive(Default)]
pub struct TransformerCounters {
    /// Records the whole chain ran on without failing; as DataX counts it, filtered ones too.
    pub success_records: AtomicU64,
    /// Records a transformer failed on: each is also a dirty record on the reader's side.
    pub failed_records: AtomicU64,
    /// Records a filter dropped: never sent, never dirty.
    pub filter_records: AtomicU64,
    /// Time the reader tasks spent in the chain (DataX's "Transformer usedTime").
    pub used_nanos: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TransformerTotals {
    pub success_records: u64,
    pub failed_records: u64,
    pub filter_records: u64,
    /// For the progress line only.
    #[serde(skip)]
    pub used_nanos: u64,
}

impl TransformerTotals {
    /// DataX prints its transformer lines only when one of them is not zero.
    pub fn any(&self) -> bool {
        self.success_records + self.failed_records + self.filter_records > 0
    }
}

impl TransformerCounters {
    pub fn totals(&self) -> TransformerTotals {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TransformerTotals {
            success_records: load(&self.success_records),
            failed_records: load(&self.failed_records),
            filter_records: load(&self.filter_records),
            used_nanos: load(&self.used_nanos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_held_until_post_count_once_published() {
        let delivery = DeliveryCounters::default();
        delivery.stage(0);
        delivery.stage(40);
        assert_eq!(delivery.snapshot().acknowledged_records, Some(0));
        delivery.publish_staged();
        assert_eq!(delivery.snapshot().acknowledged_records, Some(40));
        delivery.publish_staged();
        assert_eq!(delivery.snapshot().acknowledged_records, Some(40));
    }
}
