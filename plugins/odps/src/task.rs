//! The odpsreader task: downloads its row range in chunks and resumes after failures from
//! the last record it received (datax-engine.md §7.4, odps-tunnel.md §7).

use std::io::Read;
use std::time::{Duration, Instant};

use datax_plugin_api::{
    log, ErrorKind, PluginError, ReaderTask, Record, RecordSender, TaskContext,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{backoff, describe_table, DataRequest, OdpsClient, FLOW_CONTROL_RETRIES};
use crate::codec::{DecodeError, RecordDecoder};
use crate::columns::ColumnPlan;
use crate::config::ReaderConfig;
use crate::schema::TableSchema;

/// Rows per data request: small enough to check for cancellation and to keep a retry cheap,
/// large enough that request overhead does not show.
const CHUNK_ROWS: u64 = 1_000_000;

/// Data requests sent again after a failure, shown in the job's summary.
const RETRIES_COUNTER: &str = "tunnel data retries";

/// What the job's `split` hands one task; only this plugin writes and reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskConfig {
    /// The job's parameter, as written.
    pub parameter: Value,
    /// The tunnel endpoint the job found, so that tasks need not ask again.
    pub tunnel_server: String,
    pub schema: TableSchema,
    /// The normalised spec; `None` for an unpartitioned table, or a partitioned one with no
    /// partition to read (`successOnNoPartition`).
    pub partition: Option<String>,
    /// `None`: the task opens a session for the whole partition.
    pub session: Option<SessionRange>,
}

/// Rows `start..start + count` of download session `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRange {
    pub id: String,
    pub start: u64,
    pub count: u64,
}

impl TaskConfig {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a task configuration serialises")
    }

    pub fn from_json(text: &str) -> Result<Self, PluginError> {
        serde_json::from_str(text)
            .map_err(|error| PluginError::config(format!("task configuration: {error}")))
    }
}

pub struct OdpsReaderTask {
    config: ReaderConfig,
    tunnel_server: String,
    schema: TableSchema,
    partition: Option<String>,
    session: Option<SessionRange>,
    plan: ColumnPlan,
}

impl OdpsReaderTask {
    pub fn from_config(text: &str) -> Result<Self, PluginError> {
        let task = TaskConfig::from_json(text)?;
        let config = ReaderConfig::parse(&task.parameter)?;
        let plan = ColumnPlan::resolve(&config.columns, &task.schema, task.partition.as_deref())?;
        Ok(OdpsReaderTask {
            config,
            tunnel_server: task.tunnel_server,
            schema: task.schema,
            partition: task.partition,
            session: task.session,
            plan,
        })
    }

    fn describe(&self) -> String {
        describe_table(
            &self.config.project,
            &self.config.table,
            self.partition.as_deref(),
        )
    }
}

impl ReaderTask for OdpsReaderTask {
    fn start_read(
        &mut self,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        if self.schema.is_partitioned() && self.partition.is_none() {
            return Ok(()); // successOnNoPartition: nothing to read
        }
        let client = OdpsClient::new(self.config.client_settings(Some(&self.tunnel_server))?)?;
        let (session_id, start, count) = match &self.session {
            Some(range) => (range.id.clone(), range.start, range.count),
            None => {
                let session = client
                    .create_download_session(&self.config.table, self.partition.as_deref())?;
                (session.id, 0, session.record_count)
            }
        };
        if count == 0 {
            log::info(format!("{} has no rows to read", self.describe()));
            return Ok(());
        }
        let columns = self.plan.columns_parameter(&self.schema);
        let range = RangeReader {
            task: self,
            client: &client,
            session_id: &session_id,
            columns: &columns,
        };
        let end = start + count;
        let mut next = start;
        while next < end {
            if context.is_cancelled() {
                return Err(PluginError::new(
                    ErrorKind::CANCELLED,
                    "the job is stopping",
                ));
            }
            let chunk = CHUNK_ROWS.min(end - next);
            range.read(next, chunk, sender, context)?;
            next += chunk;
        }
        Ok(())
    }
}

/// Reads row ranges of one session.
struct RangeReader<'a> {
    task: &'a OdpsReaderTask,
    client: &'a OdpsClient,
    session_id: &'a str,
    columns: &'a str,
}

/// Why one data request ended early.
enum Interrupted {
    /// Worth requesting the rest again; flow control (429, 308) is retried longer.
    Retryable {
        reason: String,
        flow_control: bool,
    },
    Fatal(PluginError),
}

impl Interrupted {
    fn retry(reason: String) -> Self {
        Interrupted::Retryable {
            reason,
            flow_control: false,
        }
    }
}

impl RangeReader<'_> {
    /// Sends rows `start..start + count` exactly once each, re-requesting the rest after a
    /// retryable failure.
    fn read(
        &self,
        start: u64,
        count: u64,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        let mut done = 0u64;
        let mut failures = 0u32;
        loop {
            let before = done;
            match self.request(start + done, count - done, &mut done, sender, context) {
                Ok(()) => return Ok(()),
                Err(Interrupted::Fatal(error)) => return Err(error),
                Err(Interrupted::Retryable {
                    reason,
                    flow_control,
                }) => {
                    if done == count {
                        // Every record arrived intact; only what followed them failed.
                        log::warn(format!("reading {}: {reason}", self.task.describe()));
                        return Ok(());
                    }
                    if done > before {
                        failures = 0;
                    }
                    let rows = format!("rows {}..{}", start + done, start + count);
                    let limit = if flow_control {
                        FLOW_CONTROL_RETRIES
                    } else {
                        self.task.config.max_retries
                    };
                    if failures >= limit {
                        return Err(PluginError::io(format!(
                            "reading {} ({rows}): {reason}; gave up after {failures} retries",
                            self.task.describe()
                        )));
                    }
                    let wait = backoff(failures);
                    log::warn(format!(
                        "reading {} ({rows}): {reason}; retrying in {} s",
                        self.task.describe(),
                        wait.as_secs()
                    ));
                    sleep_unless_cancelled(wait, context)?;
                    context.add_to_counter(RETRIES_COUNTER, 1);
                    failures += 1;
                }
            }
        }
    }

    /// One data request for rows `start..start + count`; `done` counts the records sent.
    fn request(
        &self,
        start: u64,
        count: u64,
        done: &mut u64,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), Interrupted> {
        let body = self.open(start, count)?;
        let mut decoder = RecordDecoder::new(body, self.task.plan.fields());
        loop {
            match decoder.next_is_record() {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => return Err(Interrupted::retry(error.message)),
            }
            if decoder.records() == count {
                return Err(Interrupted::Fatal(PluginError::data(format!(
                    "reading {}: the service sent more than the {count} records asked for",
                    self.task.describe()
                ))));
            }
            self.send_record(&mut decoder, sender, context)?;
            *done += 1;
        }
        if decoder.records() < count {
            return Err(Interrupted::retry(format!(
                "the service sent {} of the {count} records asked for",
                decoder.records()
            )));
        }
        Ok(())
    }

    /// The body of rows `start..start + count`.
    fn open(&self, start: u64, count: u64) -> Result<impl Read, Interrupted> {
        let task = self.task;
        let request = DataRequest {
            session_id: self.session_id,
            partition: task.partition.as_deref(),
            start,
            count,
            columns: self.columns,
            compress: task.config.compress,
        };
        self.client
            .open_data(&task.config.table, &request)
            .map_err(|error| match error {
                error if error.is_retryable() => Interrupted::Retryable {
                    flow_control: error.is_flow_control(),
                    reason: error.to_string(),
                },
                error => Interrupted::Fatal(
                    error.into_plugin_error(&format!("reading {}", task.describe())),
                ),
            })
    }

    /// Decodes the next record straight into the sender's buffer; a dirty one goes to the
    /// dirty collector instead.
    fn send_record<R: Read>(
        &self,
        decoder: &mut RecordDecoder<R>,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), Interrupted> {
        let plan = &self.task.plan;
        let mut failure: Option<RecordFailure> = None;
        let sent = sender.send_with(|record| {
            plan.shape(record);
            match decoder.read_record(record) {
                Ok(Ok(())) => {
                    plan.complete(record);
                    Ok(())
                }
                Ok(Err(reason)) => {
                    plan.complete(record);
                    failure = Some(RecordFailure::Dirty(record.clone(), reason));
                    Err(PluginError::data("dirty record"))
                }
                Err(error) => {
                    failure = Some(RecordFailure::Broken(error));
                    Err(PluginError::data("broken stream"))
                }
            }
        });
        match (sent, failure) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(RecordFailure::Dirty(record, reason))) => context
                .collect_dirty(record, reason)
                .map_err(Interrupted::Fatal),
            (Err(_), Some(RecordFailure::Broken(error))) => Err(Interrupted::retry(error.message)),
            (Err(error), None) => Err(Interrupted::Fatal(error)),
        }
    }
}

/// Why a record was not sent.
enum RecordFailure {
    Dirty(Record, String),
    Broken(DecodeError),
}

fn sleep_unless_cancelled(wait: Duration, context: &TaskContext) -> Result<(), PluginError> {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if context.is_cancelled() {
            return Err(PluginError::new(
                ErrorKind::CANCELLED,
                "the job is stopping",
            ));
        }
        std::thread::sleep(Duration::from_millis(100).min(until - Instant::now()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::OdpsType;

    #[test]
    fn a_task_configuration_round_trips_and_names_what_is_wrong() {
        let schema = TableSchema::from_json(&serde_json::json!({
            "columns": [{"name": "id", "type": "bigint"}],
            "partitionKeys": [{"name": "pt", "type": "string"}]
        }))
        .unwrap();
        assert_eq!(schema.columns[0].odps_type, OdpsType::Integer);
        let config = TaskConfig {
            parameter: serde_json::json!({"project": "p", "table": "t"}),
            tunnel_server: "http://127.0.0.1:1".to_string(),
            schema,
            partition: Some("pt=1".to_string()),
            session: Some(SessionRange {
                id: "s1".to_string(),
                start: 5,
                count: 10,
            }),
        };
        let text = config.to_json();
        assert_eq!(TaskConfig::from_json(&text).unwrap(), config);

        let mut value: Value = serde_json::from_str(&text).unwrap();
        value["session"]["start"] = serde_json::json!("five");
        let error = TaskConfig::from_json(&value.to_string()).unwrap_err();
        assert!(
            error.message.contains("task configuration: invalid type"),
            "{error:?}"
        );
    }
}
