//! streamwriter: prints records to stdout, writes them to files, or drops them (`print: false`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use datax_plugin_api::{PluginError, RecordReceiver, TaskContext, WriterJob, WriterTask};
use datax_plugin_kit::config;
use datax_plugin_kit::text::{ColumnSettings, TextStyle};
use serde::{Deserialize, Serialize};

use crate::config::{WriterConfig, WriterParameter};
use crate::format::write_record;

pub struct StreamWriterJob {
    parameter: WriterParameter,
    config: WriterConfig,
    common_column: ColumnSettings,
}

/// What `split` hands each task: the parameter, the job's `common.column` and which of how
/// many tasks it is (to name its file).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskConfig {
    parameter: WriterParameter,
    #[serde(default)]
    common_column: ColumnSettings,
    task_index: usize,
    task_count: usize,
}

impl WriterJob for StreamWriterJob {
    type Task = StreamWriterTask;

    const DATAX_NAMES: &'static [&'static str] = &["streamwriter"];

    /// `path` and `fileName` left blank print to stdout; set both to write files instead.
    const TEMPLATE: &'static str = r#"{
    "print": true,
    "fieldDelimiter": "\t",
    "encoding": "UTF-8",
    "path": "",
    "fileName": ""
}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parsed = config::parse::<WriterParameter>(parameter, "parameter")?;
        let common_column = parsed.common_column.clone();
        let parameter = parsed.log_warnings();
        let config = WriterConfig::new(&parameter)?;
        TextStyle::new(&common_column)?;
        Ok(StreamWriterJob {
            parameter,
            config,
            common_column,
        })
    }

    /// Creates the folder and proves a file can be written in it, before any reader task
    /// starts: a job that cannot keep its output fails with no record read.
    fn prepare(&mut self) -> Result<(), PluginError> {
        if let Some(target) = &self.config.file {
            let directory = &target.directory;
            if directory.is_file() {
                return Err(PluginError::config(format!(
                    "path: {} is a file, not a directory",
                    directory.display()
                )));
            }
            std::fs::create_dir_all(directory).map_err(|error| {
                PluginError::io(format!("cannot create {}: {error}", directory.display()))
            })?;
            let taken = target.file_for_task(0, 1);
            if taken.is_dir() {
                return Err(PluginError::config(format!(
                    "fileName: {} is a folder, not a file",
                    taken.display()
                )));
            }
            probe_writable(directory)?;
        }
        Ok(())
    }

    fn split(&mut self, reader_tasks: usize) -> Result<Vec<String>, PluginError> {
        (0..reader_tasks)
            .map(|task_index| {
                config::task_to_json(&TaskConfig {
                    parameter: self.parameter.clone(),
                    common_column: self.common_column.clone(),
                    task_index,
                    task_count: reader_tasks,
                })
            })
            .collect()
    }

    fn task(&self, task_config: &str) -> Result<StreamWriterTask, PluginError> {
        let task: TaskConfig = config::task_from_json(task_config)?;
        let config = WriterConfig::new(&task.parameter)?;
        let sink = match &config.file {
            Some(target) => Sink::File(target.file_for_task(task.task_index, task.task_count)),
            None if config.print => Sink::Stdout,
            None => Sink::Discard,
        };
        Ok(StreamWriterTask {
            sink,
            field_delimiter: config.field_delimiter.into_bytes(),
            text_style: TextStyle::new(&task.common_column)?,
        })
    }
}

enum Sink {
    Stdout,
    File(PathBuf),
    /// `print: false`: take batches as fast as they come and drop them.
    Discard,
}

pub struct StreamWriterTask {
    sink: Sink,
    field_delimiter: Vec<u8>,
    text_style: TextStyle,
}

impl WriterTask for StreamWriterTask {
    /// Acknowledges what reached its destination: each batch once stdout took it, a file's
    /// records once the file was flushed, discarded records (as asked) as they come.
    fn start_write(
        &mut self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        let mut written = 0;
        let outcome = match &self.sink {
            Sink::Discard => discard_all(receiver, context, &mut written),
            Sink::Stdout => {
                let durable = true;
                self.write_batches(
                    receiver,
                    context,
                    "stdout",
                    &mut written,
                    durable,
                    |lines| {
                        // One locked write per batch: lines from concurrent tasks never mix.
                        let mut stdout = io::stdout().lock();
                        stdout.write_all(lines)?;
                        stdout.flush()
                    },
                )
            }
            Sink::File(path) => self.write_file(path, receiver, context, &mut written),
        };
        context.acknowledge(written);
        outcome
    }
}

/// Discarded records are as done as they will ever be: each batch is durable at once.
fn discard_all(
    receiver: &mut RecordReceiver,
    context: &mut TaskContext,
    written: &mut u64,
) -> Result<(), PluginError> {
    while let Some(batch) = receiver.recv()? {
        let records = batch.records.len() as u64;
        *written += records;
        context.mark_durable(records);
    }
    Ok(())
}

impl StreamWriterTask {
    /// Writes every record to the file at `path`; `written` counts them only once the file
    /// was flushed.
    fn write_file(
        &self,
        path: &Path,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
        written: &mut u64,
    ) -> Result<(), PluginError> {
        let target = path.display().to_string();
        let file = File::create(path).map_err(|error| io_error(error, &target))?;
        datax_plugin_api::log::info(format!("writing to {target}"));
        let mut file = BufWriter::with_capacity(1 << 20, file);
        let mut buffered = 0;
        // A file is written anew by every run, so none of it is durable for a resumed run.
        let durable = false;
        let outcome = self.write_batches(
            receiver,
            context,
            &target,
            &mut buffered,
            durable,
            |lines| file.write_all(lines),
        );
        file.flush().map_err(|error| io_error(error, &target))?;
        *written = buffered;
        outcome
    }

    /// Formats each batch into one buffer and hands it to `write`, counting its records in
    /// `written` once it took them; a record without a text (a `NaN` or infinite double) is
    /// dirty. With `durable` (`write` flushes), each batch is reported durable once written.
    fn write_batches(
        &self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
        target: &str,
        written: &mut u64,
        durable: bool,
        mut write: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<(), PluginError> {
        let mut lines = Vec::with_capacity(1 << 16);
        while let Some(batch) = receiver.recv()? {
            lines.clear();
            let mut records = 0;
            let received = batch.records.len() as u64;
            for record in batch.records.iter_mut() {
                match write_record(&mut lines, record, &self.field_delimiter, &self.text_style) {
                    Ok(()) => records += 1,
                    Err(reason) => context.collect_dirty(std::mem::take(record), reason)?,
                }
            }
            write(&lines).map_err(|error| io_error(error, target))?;
            *written += records;
            if durable {
                context.mark_durable(received);
            }
        }
        Ok(())
    }
}

/// Creates and removes a file in `directory`: the check `access(W_OK)` would make, by doing it.
fn probe_writable(directory: &Path) -> Result<(), PluginError> {
    let probe = directory.join(format!(".datax-write-check-{}", std::process::id()));
    File::create(&probe)
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|error| {
            PluginError::io(format!(
                "cannot write files in {}: {error}",
                directory.display()
            ))
        })
}

fn io_error(error: io::Error, target: &str) -> PluginError {
    PluginError::io(format!("writing to {target}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(task: &StreamWriterTask) -> Option<&PathBuf> {
        match &task.sink {
            Sink::File(path) => Some(path),
            _ => None,
        }
    }

    #[test]
    fn the_template_is_a_valid_parameter_that_prints() {
        config::assert_template_matches::<WriterParameter>(StreamWriterJob::TEMPLATE);
        let job = StreamWriterJob::init(StreamWriterJob::TEMPLATE).unwrap();
        assert!(job.config.print);
        assert!(job.config.file.is_none());
    }

    #[test]
    fn split_names_one_file_per_task() {
        let directory = std::env::temp_dir().join(format!("datax-stream-{}", std::process::id()));
        let parameter = serde_json::json!({"path": directory, "fileName": "out", "print": false});
        let mut job = StreamWriterJob::init(&parameter.to_string()).unwrap();
        job.prepare().unwrap();
        assert!(directory.is_dir());

        let single = job.split(1).unwrap();
        let task = job.task(&single[0]).unwrap();
        assert_eq!(file_of(&task), Some(&directory.join("out")));

        let several = job.split(2).unwrap();
        let task = job.task(&several[1]).unwrap();
        assert_eq!(file_of(&task), Some(&directory.join("out-1")));
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn print_false_without_a_path_discards() {
        let mut job = StreamWriterJob::init(r#"{"print": "false"}"#).unwrap();
        let configs = job.split(1).unwrap();
        let task = job.task(&configs[0]).unwrap();
        assert!(matches!(task.sink, Sink::Discard));
    }
}
