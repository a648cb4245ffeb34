//! Plugin-side wrappers around the objects the host hands to a running task.

use abi_stable::std_types::{RString, RVec};

use crate::ffi::{BatchLimits, FfiRecordReceiverBox, FfiRecordSenderBox, FfiTaskContextBox};
use crate::{PluginError, Record, RecordBatch};

/// Where a reader task puts its records. Records are grouped into batches as the host asks
/// ([`BatchLimits`]); call [`RecordSender::flush`] only to push a partial batch early.
pub struct RecordSender {
    host: FfiRecordSenderBox,
    limits: BatchLimits,
    pending: Vec<Record>,
    pending_bytes: u64,
}

impl RecordSender {
    pub(crate) fn new(host: FfiRecordSenderBox) -> Self {
        let limits = host.batch_limits();
        RecordSender {
            host,
            limits,
            pending: Vec::with_capacity(limits.max_records as usize),
            pending_bytes: 0,
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

    pub fn flush(&mut self) -> Result<(), PluginError> {
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

/// Where a writer task takes its records from.
pub struct RecordReceiver {
    host: FfiRecordReceiverBox,
}

impl RecordReceiver {
    pub(crate) fn new(host: FfiRecordReceiverBox) -> Self {
        RecordReceiver { host }
    }

    /// The next batch, or `None` once the reader task has finished. Fails with `CANCELLED`
    /// when the job is stopping (e.g. the reader failed): return that error without committing.
    pub fn recv(&mut self) -> Result<Option<RecordBatch>, PluginError> {
        self.host.recv().into_result().map(Into::into)
    }
}

/// What a running task may ask of the host besides records.
pub struct TaskContext {
    host: FfiTaskContextBox,
}

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
}
