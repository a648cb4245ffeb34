//! Plugin-side wrappers around the objects the host hands to a running task.

use abi_stable::std_types::{ROption, RString, RVec};

use crate::ffi::{BatchLimits, FfiRecordReceiverBox, FfiRecordSenderBox, FfiTaskContextBox};
use crate::{PluginError, Record, RecordBatch};

/// Where a reader task puts its records. Records are grouped into batches as the host asks
/// ([`BatchLimits`]); call [`RecordSender::flush`] only to push a partial batch early.
pub struct RecordSender {
    host: FfiRecordSenderBox,
    limits: BatchLimits,
    pending: Vec<Record>,
    pending_bytes: u64,
    /// Records of batches the writer has finished with, for [`RecordSender::send_with`].
    spare: RVec<Record>,
    /// The bytes of the batches put in `spare` since it was last empty: what it may keep
    /// alive (its records keep their column buffers).
    spare_bytes: u64,
    reusing: bool,
}

impl RecordSender {
    pub(crate) fn new(host: FfiRecordSenderBox) -> Self {
        let limits = host.batch_limits();
        RecordSender {
            host,
            limits,
            pending: Vec::with_capacity(limits.max_records as usize),
            pending_bytes: 0,
            spare: RVec::new(),
            spare_bytes: 0,
            reusing: false,
        }
    }

    /// Queues one record; blocks when the channel is full or the speed limit says wait.
    /// Fails with `CANCELLED` when the job is stopping: return that error.
    pub fn send(&mut self, record: Record) -> Result<(), PluginError> {
        self.pending_bytes += record.byte_size();
        self.pending.push(record);
        if self.pending.len() >= self.limits.max_records as usize
            || self.pending_bytes >= self.limits.max_bytes
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Like [`RecordSender::send`], but fills a record whose memory is reused from records the
    /// writer has finished with: no allocation in the steady state when `fill` overwrites the
    /// record with [`Record::assign`] or in place. The record given to `fill` holds stale
    /// columns (or none): `fill` must set every column.
    pub fn send_with(
        &mut self,
        fill: impl FnOnce(&mut Record) -> Result<(), PluginError>,
    ) -> Result<(), PluginError> {
        self.reusing = true;
        if self.spare.is_empty() {
            self.spare_bytes = 0;
            if let ROption::RSome(batch) = self.host.reclaim() {
                self.spare = batch.records;
                self.spare_bytes = batch.byte_size;
            }
        }
        let mut record = self.spare.pop().unwrap_or_default();
        fill(&mut record)?;
        self.send(record)
    }

    pub fn flush(&mut self) -> Result<(), PluginError> {
        // Free what the writer handed back here, on the thread that allocated it, unless
        // `send_with` will reuse it (up to two batches' worth, in records and in bytes: wide
        // records kept for reuse would otherwise hold their buffers).
        let spare_limit = 2 * self.limits.max_records as usize;
        let spare_bytes_limit = 2 * self.limits.max_bytes;
        if self.spare.is_empty() {
            self.spare_bytes = 0;
        }
        while let ROption::RSome(batch) = self.host.reclaim() {
            if self.reusing
                && self.spare.len() < spare_limit
                && self.spare_bytes + batch.byte_size <= spare_bytes_limit
            {
                self.spare_bytes += batch.byte_size;
                self.spare.extend(batch.records);
            }
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let records = std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(self.limits.max_records as usize),
        );
        let batch = RecordBatch {
            records: RVec::from(records),
            byte_size: std::mem::take(&mut self.pending_bytes),
        };
        self.host.send(batch).into_result()
    }
}

/// Where a writer task takes its records from. Each batch is lent until the next `recv`, then
/// goes back to the reader so that its memory is freed or reused where it was allocated; take
/// a record out with `std::mem::take` to keep it.
pub struct RecordReceiver {
    host: FfiRecordReceiverBox,
    current: Option<RecordBatch>,
}

impl RecordReceiver {
    pub(crate) fn new(host: FfiRecordReceiverBox) -> Self {
        RecordReceiver {
            host,
            current: None,
        }
    }

    /// The next batch, or `None` once the reader task has finished. Fails with `CANCELLED`
    /// when the job is stopping (e.g. the reader failed): return that error without committing.
    pub fn recv(&mut self) -> Result<Option<&mut RecordBatch>, PluginError> {
        self.release_current();
        self.current = self.host.recv().into_result()?.into_option();
        if let Some(batch) = &self.current {
            batch.prefetch();
        }
        Ok(self.current.as_mut())
    }

    fn release_current(&mut self) {
        if let Some(batch) = self.current.take() {
            self.host.release(batch);
        }
    }
}

impl Drop for RecordReceiver {
    fn drop(&mut self) {
        self.release_current();
    }
}

/// What a running task may ask of the host besides records.
pub struct TaskContext {
    host: FfiTaskContextBox,
}

/// The counter a reader task reports the records it will read to ([`TaskContext::expect_records`]):
/// the host takes it as the job's total, not as a counter of the plugin's own.
pub const EXPECTED_RECORDS_COUNTER: &str = "records expected";

/// The counter a writer task reports records to that its service stored but publishes only at
/// the writer's `post` ([`TaskContext::acknowledge_at_post`]).
pub const ACKNOWLEDGED_AT_POST_COUNTER: &str = "records acknowledged at post";

/// The counter a writer task reports its durable watermark to ([`TaskContext::mark_durable`]):
/// the host keeps it per task for `--state`, not as a counter of the plugin's own.
pub const DURABLE_RECORDS_COUNTER: &str = "records durable";

/// The counter a reader task reports the records it skipped itself to
/// ([`TaskContext::skipped_by_seek`]) when the host asked it to resume after a watermark.
pub const SKIPPED_BY_SEEK_COUNTER: &str = "records skipped by seek";

impl TaskContext {
    pub(crate) fn new(host: FfiTaskContextBox) -> Self {
        TaskContext { host }
    }

    pub fn task_id(&self) -> u32 {
        self.host.task_id()
    }

    pub fn is_cancelled(&self) -> bool {
        self.host.is_cancelled()
    }

    /// Sleeps for `duration` unless the job is cancelled first: true when it was (the sleep
    /// then ends at once), false when the whole duration passed.
    pub fn wait_cancelled(&self, duration: std::time::Duration) -> bool {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self.host.wait_cancelled(millis)
    }

    /// Reports a record that could not be read or written; it is counted against the job's
    /// errorLimit and kept in the dirty-record file, never written. Fails once the limit is
    /// exceeded: return that error.
    pub fn collect_dirty(
        &mut self,
        record: Record,
        reason: impl Into<String>,
    ) -> Result<(), PluginError> {
        self.host
            .collect_dirty(record, RString::from(reason.into()))
            .into_result()
    }

    /// Adds `amount` to this plugin's counter `name` (e.g. "PutLogs retries"); the job's
    /// summary and report show every counter summed over the tasks. Each call crosses into the
    /// host and takes a lock: add up locally in per-record loops.
    pub fn add_to_counter(&mut self, name: &str, amount: u64) {
        self.host.add_to_counter(name.into(), amount);
    }

    /// Tells the host how many records this reader task will read, once, as soon as it
    /// knows (0 too): once every task has, the terminal's status line shows percent and ETA
    /// and the report the total. Carried by [`Self::add_to_counter`], so older hosts show it
    /// as a counter.
    pub fn expect_records(&mut self, records: u64) {
        self.add_to_counter(EXPECTED_RECORDS_COUNTER, records);
    }

    /// Adds `records` the writer's service acknowledged: a writer reports each request the
    /// service accepted, so that the summary gives what was delivered and not only what was
    /// handed over. A writer that reports acknowledgement calls this once with 0 when it
    /// starts, so that a task which delivered nothing shows 0 rather than "not reported".
    pub fn acknowledge(&mut self, records: u64) {
        self.host.acknowledge(records);
    }

    /// Adds `records` the writer's service stored but makes part of the destination only when
    /// the writer's `post` succeeds (a tunnel upload session's commit): the host counts them
    /// as acknowledged once `post` succeeded, and as not confirmed otherwise. Carried by
    /// [`Self::add_to_counter`] (no vtable grows), so older hosts show it as a counter.
    pub fn acknowledge_at_post(&mut self, records: u64) {
        self.add_to_counter(ACKNOWLEDGED_AT_POST_COUNTER, records);
    }

    /// Adds `records` to the task's durable watermark: the first records of the task (in the
    /// order the writer received them) whose delivery the service has confirmed, counting
    /// dirty ones as done. Only a contiguous prefix may be reported: after a crash, a resumed
    /// run (`datax run --state DIR --resume`) starts the task after it. A writer whose
    /// records become durable only at its `post` reports nothing. Carried by
    /// [`Self::add_to_counter`] (no vtable grows), so older hosts show it as a counter.
    pub fn mark_durable(&mut self, records: u64) {
        self.add_to_counter(DURABLE_RECORDS_COUNTER, records);
    }

    /// Tells the host that this reader task, resuming, skipped its first `records` itself
    /// (e.g. by moving a row range's start), before sending any record: the host then drops
    /// only the rest of the watermark. Carried by [`Self::add_to_counter`].
    pub fn skipped_by_seek(&mut self, records: u64) {
        self.add_to_counter(SKIPPED_BY_SEEK_COUNTER, records);
    }

    /// Adds `records` a retried request may have stored twice: its earlier attempt timed out
    /// or lost its reply, so the service may have kept it. The summary gives the total as
    /// "possibly duplicated by retries".
    pub fn add_possible_duplicates(&mut self, records: u64) {
        self.host.add_possible_duplicates(records);
    }
}
