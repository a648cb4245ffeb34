//! A loghubreader task: one shard, from the cursor of the range's begin to the cursor of its
//! end, pull after pull; each log becomes a record as `column` says. A pull's next cursor
//! is only taken once its logs are sent, so a pull retried (an `InvalidCursor`, an answer cut
//! short) starts again from the last cursor that succeeded: nothing is lost or read twice.

use datax_plugin_api::{PluginError, ReaderTask, Record, RecordSender, TaskContext};

use super::client::{CursorAt, LogstoreReader};
use super::codec::RecordBuilder;
use super::config::ReaderConfig;

/// This plugin's counter: "Reader <name>" in the job's summary, `plugin_counters.reader` in
/// its report.
pub const RETRIES_COUNTER: &str = "GetCursor and PullLogs retries";

pub struct LoghubReaderTask {
    reader: LogstoreReader,
    records: RecordBuilder,
    shard: u32,
    batch_size: u32,
    begin: CursorAt,
    end: CursorAt,
}

impl LoghubReaderTask {
    pub fn new(config: ReaderConfig, shard: u32) -> Result<Self, PluginError> {
        Ok(LoghubReaderTask {
            reader: LogstoreReader::new(&config)?,
            shard,
            batch_size: config.batch_size,
            begin: config.begin.map_or(CursorAt::Begin, CursorAt::Time),
            end: config.end.map_or(CursorAt::End, CursorAt::Time),
            records: RecordBuilder::new(config.columns),
        })
    }

    /// Sends every log between the range's cursors; returns how many.
    fn read_shard(
        &self,
        sender: &mut RecordSender,
        context: &TaskContext,
    ) -> Result<u64, PluginError> {
        let shard = self.shard;
        let begin = self.reader.cursor(shard, self.begin, context)?;
        let end = self.reader.cursor(shard, self.end, context)?;
        let mut cursor = begin;
        let mut logs = 0;
        while cursor != end {
            let pull = self
                .reader
                .pull(shard, &cursor, self.batch_size, &end, context)?;
            for group in &pull.list.log_groups {
                for log in &group.logs {
                    sender.send(Record::new(self.records.record(group, log)))?;
                    logs += 1;
                }
            }
            // No progress short of the end would pull forever: the service says it is done.
            if pull.next_cursor == cursor {
                break;
            }
            cursor = pull.next_cursor;
        }
        Ok(logs)
    }
}

impl ReaderTask for LoghubReaderTask {
    fn start_read(
        &mut self,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        let read = self.read_shard(sender, context);
        // Counted whether or not the task succeeded: retries explain a slow or failed task.
        if self.reader.retries() > 0 {
            context.add_to_counter(RETRIES_COUNTER, self.reader.retries());
        }
        let logs = read?;
        datax_plugin_api::log::info(format!(
            "{logs} logs read from shard {} of {}",
            self.shard,
            self.reader.target()
        ));
        Ok(())
    }
}
