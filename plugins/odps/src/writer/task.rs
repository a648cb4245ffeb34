//! An odpswriter task (DataX's `OdpsWriterProxy`): records → the table's column types →
//! the tunnel record stream, cut into blocks of `blockSizeInMB` and uploaded into the job's
//! session (or, with dynamic partitions, the session of each record's partition:
//! `sessions.rs`). A block's bytes are kept until the service acknowledges it, so a failed
//! upload is sent again from its start. In the job's one session task `i` of `n` uses block ids
//! `i`, `i + n`, `i + 2n` … (DataX's `consistencyCommit` numbering), so tasks never overwrite
//! each other's blocks.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use datax_plugin_api::{log, PluginError, Record, RecordReceiver, TaskContext, WriterTask};
use datax_plugin_kit::config;
use datax_plugin_kit::http::{HttpError, SharedClient};
use serde::{Deserialize, Serialize};

use crate::client::OdpsClient;
use crate::codec::encode::{RecordEncoder, WireValue};
use crate::schema::TableSchema;

use super::config::{Compression, Parameter, WriterConfig};
use super::convert::Converter;
use super::job::column_positions;
use super::limits::{Refusal, ValueLimit};
use super::partitions::PartitionRouter;
use super::sessions::{PartitionBlocks, PartitionSessions};
use super::upload::{Block, UploadTarget};
use datax_plugin_kit::text::{ColumnSettings, TextStyle};

/// The service takes block ids 0 to 19999.
pub const MAX_BLOCK_ID: u64 = 19_999;
const RETRIES_COUNTER: &str = "tunnel block retries";
const BLOCKS_COUNTER: &str = "tunnel blocks";

/// What the job's `split` hands one task; only this plugin writes and reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskConfig {
    /// The job's parameter, checked again by the task.
    pub parameter: Parameter,
    /// The job's `common.column`: how strings are read as dates and values written as text.
    #[serde(default)]
    pub common_column: ColumnSettings,
    /// The tunnel endpoint the job found.
    pub tunnel_server: String,
    pub schema: TableSchema,
    /// The spec with the table's key names; `None` when not partitioned or partitions come
    /// from the records.
    pub partition: Option<String>,
    /// The job's session; `None` with dynamic partitions (the job's [`PartitionSessions`]).
    pub session_id: Option<String>,
    pub task_index: u64,
    pub task_count: u64,
}

pub struct OdpsWriterTask {
    config: WriterConfig,
    task: TaskConfig,
    /// The table column each record column fills; `None` for a partition key.
    positions: Vec<Option<usize>>,
    /// What each table column takes.
    limits: Vec<ValueLimit>,
    /// With dynamic partitions, the job's sessions.
    sessions: Option<Arc<PartitionSessions>>,
    /// The job's HTTP client, first used when the task starts.
    http: Arc<SharedClient>,
}

impl OdpsWriterTask {
    pub fn from_config(
        task_config: &str,
        sessions: Option<Arc<PartitionSessions>>,
        http: Arc<SharedClient>,
    ) -> Result<Self, PluginError> {
        let task: TaskConfig = config::task_from_json(task_config)?;
        let config = WriterConfig::new(&task.parameter)?;
        let positions =
            column_positions(config.columns.as_deref(), &task.schema, sessions.is_some())?;
        let limits = task
            .schema
            .columns
            .iter()
            .map(|column| ValueLimit::of(column, config.max_field_bytes))
            .collect();
        Ok(OdpsWriterTask {
            config,
            task,
            positions,
            limits,
            sessions,
            http,
        })
    }

    /// Where the task's blocks go: the job's one session, or a session per partition.
    fn blocks<'a>(
        &'a self,
        uploader: BlockUploader<'a>,
        text_style: &TextStyle,
    ) -> Result<Blocks<'a>, PluginError> {
        let block_bytes = self.config.block_bytes;
        match (&self.sessions, &self.task.session_id) {
            (Some(sessions), _) => {
                let names = self.config.columns.as_deref().unwrap_or_default();
                let router = PartitionRouter::new(
                    names,
                    &self.task.schema,
                    &self.config.partition_mapping,
                    text_style.clone(),
                )?;
                Ok(Blocks::ByPartition(PartitionBlocks::new(
                    sessions.clone(),
                    router,
                    uploader,
                    block_bytes,
                )))
            }
            (None, Some(session_id)) => Ok(Blocks::Single(BlockWriter {
                uploader,
                session_id,
                partition: self.task.partition.as_deref(),
                task_index: self.task.task_index,
                task_count: self.task.task_count,
                // Room for a full block and its last record, so the buffer never grows by
                // copying.
                encoder: RecordEncoder::with_capacity(block_bytes + (4 << 20)),
                block_bytes,
                next_block: 0,
            })),
            (None, None) => Err(PluginError::io(
                "odpswriter task: dynamic partitions without the job's sessions",
            )),
        }
    }
}

impl WriterTask for OdpsWriterTask {
    fn start_write(
        &mut self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        let settings = self
            .config
            .client_settings(Some(&self.task.tunnel_server))?;
        let uploader = BlockUploader {
            client: OdpsClient::new(settings, &self.http, &*context)?,
            table: &self.config.table,
            compression: self.config.compression,
        };
        let text_style = TextStyle::new(&self.task.common_column)?;
        let mut blocks = self.blocks(uploader, &text_style)?;
        // Declares that this writer reports acknowledgement, before any block is stored.
        context.acknowledge_at_post(0);
        let converter = Converter::new(self.config.empty_as_null, text_style);
        let mut row = vec![WireValue::Null; self.task.schema.columns.len()];
        while let Some(batch) = receiver.recv()? {
            for record in batch.records.iter() {
                let written = match self.fill_row(&converter, record, &mut row)? {
                    Ok(()) => blocks.write(record, &row, context)?,
                    Err(reason) => Err(reason),
                };
                if let Err(reason) = written {
                    context.collect_dirty(record.clone(), reason)?;
                }
            }
        }
        blocks.finish(context)
    }
}

/// Where a task's rows go.
enum Blocks<'a> {
    Single(BlockWriter<'a>),
    ByPartition(PartitionBlocks<'a>),
}

impl Blocks<'_> {
    /// Adds a row; the inner error is the reason the record is dirty (its partition).
    fn write(
        &mut self,
        record: &Record,
        row: &[WireValue],
        context: &mut TaskContext,
    ) -> Result<Result<(), String>, PluginError> {
        match self {
            Blocks::Single(block) => {
                block.encoder.write_record(row);
                if block.encoder.bytes_written() >= block.block_bytes {
                    block.upload(context)?;
                }
                Ok(Ok(()))
            }
            Blocks::ByPartition(blocks) => blocks.write(record, row, context),
        }
    }

    /// Uploads what is left.
    fn finish(&mut self, context: &mut TaskContext) -> Result<(), PluginError> {
        match self {
            Blocks::Single(block) if block.encoder.records() > 0 => block.upload(context),
            Blocks::Single(_) => Ok(()),
            Blocks::ByPartition(blocks) => blocks.finish(context),
        }
    }
}

impl OdpsWriterTask {
    /// The record's values in table order, columns not named NULL. The outer error fails the
    /// task (more record columns than `column` names); the inner one makes the record dirty.
    fn fill_row(
        &self,
        converter: &Converter,
        record: &Record,
        row: &mut [WireValue],
    ) -> Result<Result<(), String>, PluginError> {
        if record.columns.len() > self.positions.len() {
            return Err(PluginError::config(format!(
                "column: the reader sends {} columns but column names {}; name one table \
                 column for each",
                record.columns.len(),
                self.positions.len()
            )));
        }
        row.fill(WireValue::Null);
        for (column, position) in record.columns.iter().zip(&self.positions) {
            let Some(position) = *position else {
                continue;
            };
            let target = &self.task.schema.columns[position];
            let value = converter
                .convert(column, &target.odps_type)
                .map_err(Refusal::Dirty)
                .and_then(|value| self.limits[position].apply(value, self.config.over_length_rule));
            match value {
                Ok(value) => row[position] = value,
                Err(Refusal::Dirty(reason)) => {
                    return Ok(Err(format!("column {}: {reason}", target.name)))
                }
                Err(Refusal::Fatal(reason)) => {
                    return Err(PluginError::config(format!(
                        "column {} ({}): {reason}",
                        target.name, target.type_name
                    )))
                }
            }
        }
        Ok(Ok(()))
    }
}

/// The static partition's (or the table's) block being filled: task `i` of `n` numbers its
/// blocks `i`, `i + n`, …
struct BlockWriter<'a> {
    uploader: BlockUploader<'a>,
    session_id: &'a str,
    partition: Option<&'a str>,
    task_index: u64,
    task_count: u64,
    encoder: RecordEncoder,
    block_bytes: usize,
    /// This task's blocks so far.
    next_block: u64,
}

impl BlockWriter<'_> {
    /// Uploads the records encoded so far as the task's next block.
    fn upload(&mut self, context: &mut TaskContext) -> Result<(), PluginError> {
        let block_id = self.task_index + self.task_count * self.next_block;
        if block_id > MAX_BLOCK_ID {
            return Err(PluginError::config(format!(
                "blockSizeInMB: this task needs more than {} blocks (the session holds block \
                 ids up to {MAX_BLOCK_ID}); raise blockSizeInMB",
                self.next_block
            )));
        }
        let target = UploadTarget {
            table: self.uploader.table,
            partition: self.partition,
        };
        self.uploader.upload(
            &target,
            self.session_id,
            block_id,
            &mut self.encoder,
            context,
        )?;
        self.next_block += 1;
        Ok(())
    }
}

/// Sends a task's blocks: compressed, retried whole, counted and acknowledged.
pub struct BlockUploader<'a> {
    client: OdpsClient,
    table: &'a str,
    compression: Option<Compression>,
}

impl BlockUploader<'_> {
    pub fn client(&self) -> &OdpsClient {
        &self.client
    }

    pub fn table(&self) -> &str {
        self.table
    }

    /// Uploads the records of `encoder` as block `block_id` of the session, retrying it whole;
    /// returns how many records the service stored.
    pub fn upload(
        &self,
        target: &UploadTarget<'_>,
        session_id: &str,
        block_id: u64,
        encoder: &mut RecordEncoder,
        context: &mut TaskContext,
    ) -> Result<u64, PluginError> {
        let record_count = encoder.records();
        let records = encoder.take_block();
        let (body, encoding) = match self.compression {
            Some(compression) => (
                compress(&records, compression)?,
                Some(compression.content_encoding()),
            ),
            None => (records, None),
        };
        let mut retries = 0u64;
        let on_retry = |error: &HttpError, retry: u32, wait: Duration| {
            retries += 1;
            log::warn(format!(
                "uploading block {block_id}: {error}; sending it again in {} s (retry {retry})",
                wait.as_secs()
            ));
        };
        let block = Block {
            session_id,
            id: block_id,
            body: bytes::Bytes::from(body),
            content_encoding: encoding,
        };
        let outcome = self
            .client
            .upload_block(target, &block, &*context, on_retry);
        context.add_to_counter(RETRIES_COUNTER, retries);
        outcome?;
        context.add_to_counter(BLOCKS_COUNTER, 1);
        // The tunnel stored the block; it becomes part of the table at the job's commit
        // (`post`), and the host counts it as acknowledged only once that commit succeeded.
        // A block sent again overwrites its earlier attempt (same block id): retries never
        // duplicate.
        context.acknowledge_at_post(record_count);
        Ok(record_count)
    }
}

/// A block's body as the tunnel takes it: `deflate` is the zlib container, `x-lz4-frame` an
/// LZ4 frame (odps-tunnel.md §4); the fastest level of each, as the SDKs send.
fn compress(records: &[u8], compression: Compression) -> Result<Vec<u8>, PluginError> {
    let out = Vec::with_capacity(records.len() / 4);
    let compressed = match compression {
        Compression::Deflate => {
            let mut encoder = flate2::write::ZlibEncoder::new(out, flate2::Compression::fast());
            encoder.write_all(records).and_then(|()| encoder.finish())
        }
        Compression::Zstd => zstd::stream::encode_all(records, 1),
        Compression::Lz4 => {
            let mut encoder = lz4_flex::frame::FrameEncoder::new(out);
            encoder
                .write_all(records)
                .and_then(|()| encoder.finish().map_err(std::io::Error::other))
        }
    };
    compressed.map_err(|error| PluginError::io(format!("compressing a block: {error}")))
}
