//! A loghubreader task: one shard, from the cursor of the range's begin to the cursor of its
//! end, pull after pull; each log becomes a record as `column` says. The task's thread pulls
//! (the next cursor is in each answer's headers, so the next pull starts at once) while a
//! converting thread turns the previous pull's logs into records and sends them, then gives
//! the pull's buffer back for another pull (sls-pulllogs.md §5).
//!
//! A pull moves on from a cursor only once it succeeded, so a pull retried (an
//! `InvalidCursor`, an answer cut short) starts again from the last cursor that succeeded:
//! nothing is lost or read twice.
//!
//! Cancellation is waited on, never polled: the task's thread waits out its backoffs in the
//! host's wait, and the converting thread learns it from a send that fails; either one
//! stopping ends the other at its next hand-over. A request in flight, or its body, is left
//! at once ([`crate::client`]).

use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};
use datax_plugin_api::{ErrorKind, PluginError, ReaderTask, RecordSender, TaskContext};
use datax_plugin_kit::http::SharedClient;

use super::client::{CursorAt, LogstoreReader, Pull};
use super::codec::{self, Group, Log, RecordBuilder};
use super::config::ReaderConfig;
use crate::client::PullBuffers;

/// Pulls waiting for the converting thread: with the one it converts and the one being
/// pulled, a task holds at most three pulls' logs.
const PULLS_QUEUED: usize = 1;
/// The `LogGroupList` buffers a task makes, then passes around: one being pulled, the queued
/// ones, one being converted. A fixed set, so that memory stays flat however long the range.
const PULL_BUFFERS: usize = PULLS_QUEUED + 2;

/// The buffers a job's tasks hand on to the tasks after them (one task's set, with the body
/// buffer), so that a channel reading shard after shard reuses one set: the allocator would
/// keep a finished task's memory where a later task's threads do not find it.
#[derive(Clone, Default)]
pub struct BufferPool(Arc<Mutex<Vec<Vec<u8>>>>);

impl BufferPool {
    fn take(&self) -> Vec<u8> {
        let pooled = self.0.lock().ok().and_then(|mut pool| pool.pop());
        pooled.unwrap_or_default()
    }

    fn give(&self, buffer: Vec<u8>) {
        if let Ok(mut pool) = self.0.lock() {
            if pool.len() <= PULL_BUFFERS && buffer.capacity() > 0 {
                pool.push(buffer);
            }
        }
    }
}

/// This plugin's counter: "Reader <name>" in the job's summary, `plugin_counters.reader` in
/// its report.
pub const RETRIES_COUNTER: &str = "GetCursor and PullLogs retries";

pub struct LoghubReaderTask {
    reader: LogstoreReader,
    pool: BufferPool,
    records: RecordBuilder,
    shard: u32,
    batch_size: u32,
    begin: CursorAt,
    end: CursorAt,
}

impl LoghubReaderTask {
    pub fn new(
        config: ReaderConfig,
        http: &SharedClient,
        shard: u32,
        pool: BufferPool,
    ) -> Result<Self, PluginError> {
        Ok(LoghubReaderTask {
            reader: LogstoreReader::new(&config, http)?,
            pool,
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
        let begin = self.reader.cursor(self.shard, self.begin, context)?;
        let end = self.reader.cursor(self.shard, self.end, context)?;
        let (queue, pulls) = crossbeam_channel::bounded(PULLS_QUEUED);
        // Every buffer fits: the converting thread never waits to give one back.
        let (spent, returned) = crossbeam_channel::bounded(PULL_BUFFERS);
        let records = &self.records;
        let mut buffers = PullBuffers {
            received: self.pool.take(),
            log_group_list: Vec::new(),
        };
        let read = std::thread::scope(|scope| {
            let converter = scope.spawn(move || send_records(pulls, spent, records, sender));
            let pulled = self.pull_range(begin, &end, (queue, &returned), &mut buffers, context);
            let sent = converter.join().unwrap_or_else(|_| {
                Err(PluginError::new(
                    ErrorKind::PANIC,
                    "the thread turning logs into records panicked",
                ))
            });
            // The converting thread stopping (the job cancelled) ends the pulls quietly: its
            // error is the one that says why.
            pulled.and(sent)
        });
        let PullBuffers {
            received,
            log_group_list,
        } = buffers;
        for buffer in [received, log_group_list]
            .into_iter()
            .chain(returned.try_iter())
        {
            self.pool.give(buffer);
        }
        read
    }

    /// Pulls from `cursor` to `end`, handing each pull to the converting thread and reusing
    /// the buffers it gives back; stops early, without an error, when that thread is gone.
    fn pull_range(
        &self,
        mut cursor: String,
        end: &str,
        (queue, returned): (Sender<Pull>, &Receiver<Vec<u8>>),
        buffers: &mut PullBuffers,
        context: &TaskContext,
    ) -> Result<(), PluginError> {
        let mut made = 0;
        while cursor != end {
            if made == PULL_BUFFERS {
                // All made: wait for the converting thread to give one back (it has, unless it
                // is still converting); none comes once it is gone.
                match returned.recv() {
                    Ok(spare) => buffers.log_group_list = spare,
                    Err(_) => break,
                }
            } else if let Ok(spare) = returned.try_recv() {
                buffers.log_group_list = spare;
            } else {
                buffers.log_group_list = self.pool.take();
                made += 1;
            }
            let (shard, count) = (self.shard, self.batch_size);
            let pull = (self.reader).pull(shard, &cursor, count, end, buffers, context)?;
            // No progress short of the end would pull forever: the service says it is done.
            let done = pull.next_cursor == cursor;
            cursor = pull.next_cursor.clone();
            if queue.send(pull).is_err() || done {
                break;
            }
        }
        Ok(())
    }
}

/// The converting thread: every log of every pull as a record, in order; how many. Records
/// reuse the memory of those the writer has finished with, and the pull's bytes are read in
/// place: nothing is allocated per log.
fn send_records(
    pulls: Receiver<Pull>,
    spent: Sender<Vec<u8>>,
    records: &RecordBuilder,
    sender: &mut RecordSender,
) -> Result<u64, PluginError> {
    let mut logs = 0;
    for pull in pulls {
        let (mut group, mut log) = (Group::default(), Log::default());
        for message in codec::groups(&pull.log_group_list) {
            group.read(message.map_err(malformed)?).map_err(malformed)?;
            for message in &group.logs {
                log.read(message).map_err(malformed)?;
                sender.send_with(|record| {
                    records.fill(&group, &log, record);
                    Ok(())
                })?;
                logs += 1;
            }
        }
        // Full only if the pulling thread stopped taking them back: then the buffer is freed.
        let _ = spent.try_send(pull.log_group_list);
    }
    Ok(logs)
}

/// A log the service sent malformed inside a sound group ([`codec::check`] passed on its
/// pull): pulling again would not change it.
fn malformed(error: codec::Malformed) -> PluginError {
    PluginError::new(
        ErrorKind::DATA,
        format!("PullLogs: a log group holds a log that is not a Log message: {error}"),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_hands_buffers_on_and_keeps_one_tasks_set_at_most() {
        let pool = BufferPool::default();
        assert_eq!(pool.take().capacity(), 0, "empty: a new buffer");
        let given: Vec<*const u8> = (0..PULL_BUFFERS + 3)
            .map(|_| {
                let buffer = Vec::with_capacity(64);
                let at = buffer.as_ptr();
                pool.give(buffer);
                at
            })
            .collect();
        pool.give(Vec::new());
        let mut taken = Vec::new();
        loop {
            let buffer = pool.take();
            if buffer.capacity() == 0 {
                break;
            }
            assert!(given.contains(&buffer.as_ptr()), "a buffer given back");
            taken.push(buffer);
        }
        assert_eq!(
            taken.len(),
            PULL_BUFFERS + 1,
            "one task's set and its body buffer"
        );
    }
}
