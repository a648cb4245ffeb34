//! `testkitreader` / `testkitwriter`: plugins that panic, fail, stall or report dirty records
//! where a test asks them to, so the engine's handling of each can be checked end to end.
//!
//! Both take the same `parameter` keys:
//! - `records` (reader): records per task, each `[long i, string "row-i"]`;
//! - `panicAt` / `failAt`: a stage (`init`, `prepare`, `split`, `task`, `run`, `post`) at which
//!   to panic or return an error;
//! - `dirtyEvery`: report every k-th record dirty instead of passing it on;
//! - `stallAfter`: after that many records, wait without progress until the job is cancelled;
//! - `pauseAfter` / `pauseMs`: after that many records, wait `pauseMs` milliseconds (or until
//!   the job is cancelled), then go on, or fail if `failAt` is `pause`: a slow side;
//! - `leakIntoError`: put the `password` / `accessKey` value into the `failAt` error and the
//!   dirty reasons (the host must scrub them);
//! - `valueBytes`: records get a third column, a string of that many `x`, which a `failAt`
//!   error echoes too (as a service quoting the record it refused);
//! - `taskInitMs` (reader): each task's `init` takes that many milliseconds (a slow setup);
//! - `countDir` (writer): each task writes the number of records it wrote to `task-<id>`.
//!
//! Every task also adds what it sent (reader) or wrote (writer) to the plugin counter
//! `testkit records`, every reader task tells the host how many records it will read
//! (`expect_records`), and `check` is a stage like the others.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use datax_job_config::value::{as_bool, as_string, as_u64, optional};
use datax_plugin_api::{
    Column, PluginError, ReaderJob, ReaderTask, Record, RecordReceiver, RecordSender, TaskContext,
    WriterJob, WriterTask,
};
use serde_json::Value;

datax_plugin_api::export_plugin! {
    name: "testkit",
    description: "misbehaves on request, for the engine's end-to-end tests",
    reader: TestkitReaderJob,
    writer: TestkitWriterJob,
}

#[derive(Clone)]
struct Behaviour {
    records: u64,
    panic_at: Option<String>,
    fail_at: Option<String>,
    dirty_every: Option<u64>,
    stall_after: Option<u64>,
    pause_after: Option<u64>,
    pause: Duration,
    leak_into_error: bool,
    password: Option<String>,
    access_key: Option<String>,
    value_bytes: Option<u64>,
    task_init: Duration,
    count_dir: Option<PathBuf>,
    parameter: String,
}

impl Behaviour {
    fn parse(parameter: &str) -> Result<Behaviour, PluginError> {
        let value: Value =
            serde_json::from_str(parameter).map_err(|e| PluginError::config(e.to_string()))?;
        let config = |e: datax_job_config::JobError| PluginError::config(e.to_string());
        Ok(Behaviour {
            records: optional(&value, "records", "parameter", as_u64)
                .map_err(config)?
                .unwrap_or(0),
            panic_at: optional(&value, "panicAt", "parameter", as_string).map_err(config)?,
            fail_at: optional(&value, "failAt", "parameter", as_string).map_err(config)?,
            dirty_every: optional(&value, "dirtyEvery", "parameter", as_u64).map_err(config)?,
            stall_after: optional(&value, "stallAfter", "parameter", as_u64).map_err(config)?,
            pause_after: optional(&value, "pauseAfter", "parameter", as_u64).map_err(config)?,
            pause: Duration::from_millis(
                optional(&value, "pauseMs", "parameter", as_u64)
                    .map_err(config)?
                    .unwrap_or(0),
            ),
            leak_into_error: optional(&value, "leakIntoError", "parameter", as_bool)
                .map_err(config)?
                .unwrap_or(false),
            password: optional(&value, "password", "parameter", as_string).map_err(config)?,
            access_key: optional(&value, "accessKey", "parameter", as_string).map_err(config)?,
            value_bytes: optional(&value, "valueBytes", "parameter", as_u64).map_err(config)?,
            task_init: Duration::from_millis(
                optional(&value, "taskInitMs", "parameter", as_u64)
                    .map_err(config)?
                    .unwrap_or(0),
            ),
            count_dir: optional(&value, "countDir", "parameter", as_string)
                .map_err(config)?
                .map(PathBuf::from),
            parameter: parameter.to_string(),
        })
    }

    /// Panics or fails if the test asked for it at `stage`.
    fn stage(&self, stage: &str) -> Result<(), PluginError> {
        if self.panic_at.as_deref() == Some(stage) {
            panic!("testkit panics at {stage} as asked");
        }
        if self.fail_at.as_deref() == Some(stage) {
            let echoed = self
                .value_bytes
                .map(|bytes| format!(" (value {})", "x".repeat(bytes as usize)))
                .unwrap_or_default();
            return Err(PluginError::io(format!(
                "testkit fails at {stage} as asked{}{echoed}",
                self.leaked()
            )));
        }
        Ok(())
    }

    /// ` (password was …)` / ` (accessKey was …)` when asked to leak a secret, else nothing.
    fn leaked(&self) -> String {
        if !self.leak_into_error {
            return String::new();
        }
        match (&self.password, &self.access_key) {
            (Some(password), _) => format!(" (password was {password})"),
            (None, Some(access_key)) => format!(" (accessKey was {access_key})"),
            (None, None) => String::new(),
        }
    }

    fn record(&self, index: u64) -> Record {
        let mut columns = vec![
            Column::Long(index as i64),
            Column::string(format!("row-{index}")),
        ];
        if let Some(bytes) = self.value_bytes {
            columns.push(Column::string("x".repeat(bytes as usize)));
        }
        Record::new(columns)
    }

    fn is_dirty(&self, index: u64) -> bool {
        self.dirty_every
            .is_some_and(|every| every > 0 && (index + 1) % every == 0)
    }

    /// Stalls or pauses before record `index` if asked; a pause may then fail as asked.
    fn wait_if_asked(&self, index: u64, context: &TaskContext) -> Result<(), PluginError> {
        if self.stall_after == Some(index) {
            context.wait_cancelled(Duration::MAX);
        }
        if self.pause_after == Some(index) {
            context.wait_cancelled(self.pause);
            // Timestamped in the log, for tests that time what follows.
            datax_plugin_api::log::info(format!("the pause before record {index} is over"));
            self.stage("pause")?;
        }
        Ok(())
    }
}

pub struct TestkitReaderJob(Behaviour);

impl ReaderJob for TestkitReaderJob {
    type Task = TestkitReaderTask;
    const DATAX_NAMES: &'static [&'static str] = &["testkitreader"];
    const TEMPLATE: &'static str = r#"{"records": 10, "dirtyEvery": 0}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let behaviour = Behaviour::parse(parameter)?;
        behaviour.stage("init")?;
        Ok(TestkitReaderJob(behaviour))
    }

    fn check(&mut self) -> Result<(), PluginError> {
        self.0.stage("check")
    }

    fn prepare(&mut self) -> Result<(), PluginError> {
        self.0.stage("prepare")
    }

    fn split(&mut self, advice: usize) -> Result<Vec<String>, PluginError> {
        self.0.stage("split")?;
        Ok(vec![self.0.parameter.clone(); advice])
    }

    fn task(&self, task_config: &str) -> Result<Self::Task, PluginError> {
        let behaviour = Behaviour::parse(task_config)?;
        std::thread::sleep(behaviour.task_init);
        behaviour.stage("task")?;
        Ok(TestkitReaderTask(behaviour))
    }

    fn post(&mut self) -> Result<(), PluginError> {
        self.0.stage("post")
    }
}

pub struct TestkitReaderTask(Behaviour);

impl ReaderTask for TestkitReaderTask {
    fn start_read(
        &mut self,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        self.0.stage("run")?;
        context.expect_records(self.0.records);
        let mut sent = 0;
        for index in 0..self.0.records {
            self.0.wait_if_asked(index, context)?;
            if self.0.is_dirty(index) {
                let reason = format!("record {index} is dirty as asked{}", self.0.leaked());
                context.collect_dirty(self.0.record(index), reason)?;
            } else {
                sender.send(self.0.record(index))?;
                sent += 1;
            }
        }
        context.add_to_counter("testkit records", sent);
        Ok(())
    }
}

pub struct TestkitWriterJob(Behaviour);

impl WriterJob for TestkitWriterJob {
    type Task = TestkitWriterTask;
    const DATAX_NAMES: &'static [&'static str] = &["testkitwriter"];
    const TEMPLATE: &'static str = r#"{"dirtyEvery": 0, "countDir": "/tmp/counts"}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let behaviour = Behaviour::parse(parameter)?;
        behaviour.stage("init")?;
        Ok(TestkitWriterJob(behaviour))
    }

    fn check(&mut self) -> Result<(), PluginError> {
        self.0.stage("check")
    }

    fn prepare(&mut self) -> Result<(), PluginError> {
        self.0.stage("prepare")
    }

    fn split(&mut self, reader_tasks: usize) -> Result<Vec<String>, PluginError> {
        self.0.stage("split")?;
        Ok(vec![self.0.parameter.clone(); reader_tasks])
    }

    fn task(&self, task_config: &str) -> Result<Self::Task, PluginError> {
        let behaviour = Behaviour::parse(task_config)?;
        behaviour.stage("task")?;
        Ok(TestkitWriterTask(behaviour))
    }

    fn post(&mut self) -> Result<(), PluginError> {
        self.0.stage("post")
    }
}

pub struct TestkitWriterTask(Behaviour);

impl WriterTask for TestkitWriterTask {
    fn start_write(
        &mut self,
        receiver: &mut RecordReceiver,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        self.0.stage("run")?;
        let mut index = 0;
        let mut written = 0u64;
        while let Some(batch) = receiver.recv()? {
            for record in batch.records.iter_mut() {
                self.0.wait_if_asked(index, context)?;
                if self.0.is_dirty(index) {
                    let record = std::mem::take(record);
                    let reason = format!("record {index} refused as asked{}", self.0.leaked());
                    context.collect_dirty(record, reason)?;
                } else {
                    written += 1;
                }
                index += 1;
            }
        }
        context.add_to_counter("testkit records", written);
        if let Some(dir) = &self.0.count_dir {
            fs::create_dir_all(dir).map_err(|e| PluginError::io(e.to_string()))?;
            fs::write(
                dir.join(format!("task-{}", context.task_id())),
                written.to_string(),
            )
            .map_err(|e| PluginError::io(e.to_string()))?;
        }
        Ok(())
    }
}
