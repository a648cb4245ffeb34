//! The upload sessions of a job with dynamic partitions: one per partition, created (with the
//! partition, when it is missing) by the first task that writes a record to it, shared by
//! every task of the job and committed by the job's `post` once all tasks succeeded.
//!
//! Ownership: the job owns [`PartitionSessions`] behind an `Arc` and hands a clone to each
//! task it builds (`WriterJob::task`); a task caches the sessions it met and holds at most
//! [`MAX_OPEN_PARTITIONS`] blocks being filled ([`PartitionBlocks`]), so its memory stays
//! under `2 × blockSizeInMB` whatever the number of partitions. Block ids come from one
//! counter per session, so tasks never collide and the session's 20,000 ids go to real blocks.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use datax_plugin_api::{log, PluginError, Record, TaskContext};
use datax_plugin_kit::retry::Cancellation;

use crate::client::OdpsClient;
use crate::codec::encode::{RecordEncoder, WireValue};

use super::partitions::PartitionRouter;
use super::task::{BlockUploader, MAX_BLOCK_ID};
use super::upload::UploadTarget;

/// The most partitions one job writes: past it the records most likely name the wrong column
/// (a timestamp instead of a day), and the job fails saying so. DataX's floor is 200.
pub const MAX_PARTITIONS: usize = 1000;
/// The most partitions a task fills blocks for at once; the least recently used one's block is
/// uploaded to make room. Records sorted or grouped by partition keep their blocks full.
pub const MAX_OPEN_PARTITIONS: usize = 16;

/// Every partition session of the job, by spec.
pub struct PartitionSessions {
    project: String,
    table: String,
    /// `truncate`: each session replaces its partition's rows at commit.
    overwrite: bool,
    sessions: Mutex<BTreeMap<String, Arc<PartitionSession>>>,
}

/// One partition's upload session.
pub struct PartitionSession {
    pub spec: String,
    pub id: String,
    next_block: AtomicU64,
    /// Records in blocks the service stored (what its commit publishes).
    records: AtomicU64,
}

impl PartitionSession {
    pub fn target<'a>(&'a self, table: &'a str) -> UploadTarget<'a> {
        UploadTarget {
            table,
            partition: Some(&self.spec),
        }
    }

    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// The next block id of the session, whichever task asks.
    fn next_block_id(&self) -> Result<u64, PluginError> {
        let id = self.next_block.fetch_add(1, Ordering::Relaxed);
        if id > MAX_BLOCK_ID {
            return Err(PluginError::config(format!(
                "blockSizeInMB: partition {} needs more than {} blocks (a session's limit); \
                 raise blockSizeInMB, or group the records by partition so blocks fill up",
                self.spec,
                MAX_BLOCK_ID + 1
            )));
        }
        Ok(id)
    }
}

impl PartitionSessions {
    pub fn new(project: &str, table: &str, overwrite: bool) -> Self {
        PartitionSessions {
            project: project.to_string(),
            table: table.to_string(),
            overwrite,
            sessions: Mutex::new(BTreeMap::new()),
        }
    }

    /// The session of `spec`, created on first use. Creation holds the registry so that two
    /// tasks never open two sessions for one partition; the tasks that know their sessions
    /// already never wait for it.
    fn session(
        &self,
        client: &OdpsClient,
        spec: &str,
        cancellation: &dyn Cancellation,
    ) -> Result<Arc<PartitionSession>, PluginError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = sessions.get(spec) {
            return Ok(session.clone());
        }
        if sessions.len() >= MAX_PARTITIONS {
            return Err(PluginError::config(format!(
                "supportDynamicPartition: the records name more than {MAX_PARTITIONS} partitions \
                 (the latest {spec}); check that column names the right partition columns and \
                 partitionColumnMapping their formats"
            )));
        }
        let target = UploadTarget {
            table: &self.table,
            partition: Some(spec),
        };
        let created =
            client.create_upload_session(&target, &self.project, self.overwrite, cancellation)?;
        log::info(format!(
            "upload session {} for partition {spec}{}",
            created.id,
            if self.overwrite {
                " (truncate: its rows are replaced at commit)"
            } else {
                ""
            }
        ));
        let session = Arc::new(PartitionSession {
            spec: spec.to_string(),
            id: created.id,
            next_block: AtomicU64::new(0),
            records: AtomicU64::new(0),
        });
        sessions.insert(spec.to_string(), session.clone());
        Ok(session)
    }

    /// Every session, in spec order (the order `post` commits them).
    pub fn all(&self) -> Vec<Arc<PartitionSession>> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.values().cloned().collect()
    }
}

/// A task's blocks being filled, one per partition, least recently used first.
pub struct PartitionBlocks<'a> {
    sessions: Arc<PartitionSessions>,
    router: PartitionRouter,
    uploader: BlockUploader<'a>,
    /// Every session this task met, so a known partition never waits on the registry.
    known: HashMap<String, Arc<PartitionSession>>,
    open: Vec<OpenBlock>,
    block_bytes: usize,
}

struct OpenBlock {
    session: Arc<PartitionSession>,
    encoder: RecordEncoder,
}

impl<'a> PartitionBlocks<'a> {
    pub fn new(
        sessions: Arc<PartitionSessions>,
        router: PartitionRouter,
        uploader: BlockUploader<'a>,
        block_bytes: usize,
    ) -> Self {
        PartitionBlocks {
            sessions,
            router,
            uploader,
            known: HashMap::new(),
            open: Vec::with_capacity(MAX_OPEN_PARTITIONS + 1),
            block_bytes,
        }
    }

    /// Adds the row to the block of the record's partition; uploads that block when full, and
    /// the least recently used ones while more than [`MAX_OPEN_PARTITIONS`] are open or they
    /// hold more than a block's size together. The inner error: the record names no partition.
    pub fn write(
        &mut self,
        record: &Record,
        row: &[WireValue],
        context: &mut TaskContext,
    ) -> Result<Result<(), String>, PluginError> {
        let spec = match self.router.spec(record) {
            Ok(spec) => spec,
            Err(reason) => return Ok(Err(reason)),
        };
        self.make_latest(&spec, context)?;
        let latest = self.open.last_mut().expect("make_latest opened it");
        latest.encoder.write_record(row);
        if latest.encoder.bytes_written() >= self.block_bytes {
            let full = self.open.pop().expect("the latest block");
            self.upload(full, context)?;
        }
        while self.open.len() > MAX_OPEN_PARTITIONS || self.buffered() > self.block_bytes {
            let least_recent = self.open.remove(0);
            self.upload(least_recent, context)?;
        }
        Ok(Ok(()))
    }

    /// Uploads every block still open.
    pub fn finish(&mut self, context: &mut TaskContext) -> Result<(), PluginError> {
        for block in std::mem::take(&mut self.open) {
            self.upload(block, context)?;
        }
        Ok(())
    }

    /// Moves `spec`'s block to the end (most recent), opening it when there is none.
    fn make_latest(&mut self, spec: &str, context: &mut TaskContext) -> Result<(), PluginError> {
        if self
            .open
            .last()
            .is_some_and(|block| block.session.spec == spec)
        {
            return Ok(());
        }
        if let Some(index) = self
            .open
            .iter()
            .position(|block| block.session.spec == spec)
        {
            let block = self.open.remove(index);
            self.open.push(block);
            return Ok(());
        }
        let session = match self.known.get(spec) {
            Some(session) => session.clone(),
            None => {
                let session = self
                    .sessions
                    .session(self.uploader.client(), spec, &*context)?;
                self.known.insert(spec.to_string(), session.clone());
                session
            }
        };
        self.open.push(OpenBlock {
            session,
            encoder: RecordEncoder::default(),
        });
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.open
            .iter()
            .map(|block| block.encoder.bytes_written())
            .sum()
    }

    fn upload(
        &mut self,
        mut block: OpenBlock,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        if block.encoder.records() == 0 {
            return Ok(());
        }
        let session = &block.session;
        let block_id = session.next_block_id()?;
        let target = session.target(self.uploader.table());
        let stored =
            self.uploader
                .upload(&target, &session.id, block_id, &mut block.encoder, context)?;
        session.records.fetch_add(stored, Ordering::Relaxed);
        Ok(())
    }
}
