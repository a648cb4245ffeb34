//! The odpsreader task: downloads its row range in chunks, the requests for the next chunks
//! in flight while it decodes one (`maxInFlight`), and resumes after failures from the last
//! record it received (datax-engine.md §7.4, odps-tunnel.md §7).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use datax_plugin_api::{
    log, ErrorKind, PluginError, ReaderTask, Record, RecordSender, TaskContext,
};
use datax_plugin_kit::config::{self, LastRead};
use datax_plugin_kit::http::{HttpError, SharedClient};
use datax_plugin_kit::retry::{retry, Cancellation, RetryError, RetryLogic};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::client::{
    describe_table, plugin_error, retry_policy, DataRequest, OdpsClient, OdpsRetries, PendingData,
};
use crate::codec::{DecodeError, RecordDecoder};
use crate::columns::ColumnPlan;
use crate::config::{Parameter, ReaderConfig};
use crate::schema::TableSchema;

/// Rows per data request: small enough to check for cancellation and to keep a retry cheap,
/// large enough that request overhead does not show; the next chunks' requests are sent
/// ahead (`maxInFlight`), so their round trips do not show either.
const CHUNK_ROWS: u64 = 1_000_000;

/// Data requests sent again after a failure, shown in the job's summary.
const RETRIES_COUNTER: &str = "tunnel data retries";
/// Session calls sent again after a failure.
const METADATA_RETRIES_COUNTER: &str = "tunnel session retries";

/// What the job's `split` hands one task; only this plugin writes and reads it. The
/// parameter and the schema are the job's, the same text in every task: `split` writes them
/// once, and [`SharedParts`] reads them once for the tasks that share them (a job of
/// thousands of small partitions spent a twentieth of its CPU reading them again per task).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskConfig {
    /// The job's [`Parameter`], checked again by the task.
    pub parameter: Box<RawValue>,
    /// The tunnel endpoint the job found, so that tasks need not ask again.
    pub tunnel_server: String,
    /// The table's [`TableSchema`].
    pub schema: Box<RawValue>,
    /// The normalised spec; `None` for an unpartitioned table, or a partitioned one with no
    /// partition to read (`successOnNoPartition`).
    pub partition: Option<String>,
    /// `None`: the task opens a session for the whole partition.
    pub session: Option<SessionRange>,
}

/// Rows `start..start + count` of download session `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRange {
    pub id: String,
    pub start: u64,
    pub count: u64,
}

/// What a task reads from its configuration's parameter and schema.
struct TaskParts {
    config: ReaderConfig,
    schema: TableSchema,
}

/// The parameter and schema of the tasks a job made last (their text), read once for every
/// task whose configuration carries the same text (all of a job's tasks, in practice).
#[derive(Default)]
pub struct SharedParts(LastRead<(Box<RawValue>, Box<RawValue>), Arc<TaskParts>>);

impl SharedParts {
    fn read(&self, task: &TaskConfig) -> Result<Arc<TaskParts>, PluginError> {
        self.0.get_or_read(
            |(parameter, schema)| {
                parameter.get() == task.parameter.get() && schema.get() == task.schema.get()
            },
            || {
                let parameter: Parameter = config::task_from_json(task.parameter.get())?;
                let parts = TaskParts {
                    config: ReaderConfig::new(&parameter)?,
                    schema: config::task_from_json(task.schema.get())?,
                };
                let key = (task.parameter.clone(), task.schema.clone());
                Ok::<_, PluginError>((key, Arc::new(parts)))
            },
        )
    }
}

pub struct OdpsReaderTask {
    /// The job's configuration and the table's schema, shared with the job's other tasks.
    parts: Arc<TaskParts>,
    tunnel_server: String,
    partition: Option<String>,
    session: Option<SessionRange>,
    plan: ColumnPlan,
    /// The job's HTTP client, first used when the task starts.
    http: Arc<SharedClient>,
    /// Rows to skip per task id when the host resumes a run (the job's, shared).
    resume_skip: Arc<BTreeMap<u32, u64>>,
}

impl OdpsReaderTask {
    pub fn from_config(
        text: &str,
        shared: &SharedParts,
        http: Arc<SharedClient>,
        resume_skip: Arc<BTreeMap<u32, u64>>,
    ) -> Result<Self, PluginError> {
        let task: TaskConfig = config::task_from_json(text)?;
        let parts = shared.read(&task)?;
        let plan = ColumnPlan::resolve(
            &parts.config.columns,
            &parts.schema,
            task.partition.as_deref(),
        )?;
        Ok(OdpsReaderTask {
            parts,
            tunnel_server: task.tunnel_server,
            partition: task.partition,
            session: task.session,
            plan,
            http,
            resume_skip,
        })
    }

    /// Reads the task's rows of its session (a new one for the whole partition when the job
    /// did not split it).
    fn read_session(
        &self,
        client: &OdpsClient,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        let (session_id, start, count) = match &self.session {
            Some(range) => (range.id.clone(), range.start, range.count),
            None => {
                let partition = self.partition.as_deref();
                let session = client.create_download_session(
                    &self.parts.config.table,
                    partition,
                    &*context,
                )?;
                (session.id, 0, session.record_count)
            }
        };
        // Resuming: the first rows are durable at the writer already; the range's start moves
        // past them, and the host is told before any record is sent.
        let skip = self
            .resume_skip
            .get(&context.task_id())
            .copied()
            .unwrap_or(0)
            .min(count);
        if skip > 0 {
            context.skipped_by_seek(skip);
            log::info(format!(
                "{}: resuming after {skip} rows already written",
                self.describe()
            ));
        }
        let (start, count) = (start + skip, count - skip);
        context.expect_records(count);
        if count == 0 {
            log::info(format!("{} has no rows to read", self.describe()));
            return Ok(());
        }
        let columns = self.plan.columns_parameter(&self.parts.schema);
        let range = RangeReader {
            task: self,
            client,
            session_id: &session_id,
            columns: &columns,
        };
        let end = start + count;
        let mut chunks = (start..end)
            .step_by(CHUNK_ROWS as usize)
            .map(|first| (first, CHUNK_ROWS.min(end - first)));
        // In order: the chunk being read first. Dropped on return, a request still in
        // flight is abandoned (its thread ends with it) and its connection closed.
        let mut in_flight = VecDeque::with_capacity(self.parts.config.max_in_flight);
        loop {
            while in_flight.len() < self.parts.config.max_in_flight {
                let Some((first, rows)) = chunks.next() else {
                    break;
                };
                // The next chunk to read is sent when read, on this thread: no hop.
                let ahead = !in_flight.is_empty();
                in_flight.push_back(range.request_chunk(first, rows, ahead));
            }
            let Some(chunk) = in_flight.pop_front() else {
                return Ok(());
            };
            if context.is_cancelled() {
                return Err(stopping());
            }
            range.read(chunk, sender, context)?;
        }
    }

    fn describe(&self) -> String {
        describe_table(
            &self.parts.config.connection.project,
            &self.parts.config.table,
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
        if self.parts.schema.is_partitioned() && self.partition.is_none() {
            context.expect_records(0);
            return Ok(()); // successOnNoPartition: nothing to read
        }
        let settings = self
            .parts
            .config
            .client_settings(Some(&self.tunnel_server))?;
        let client = OdpsClient::new(settings, &self.http, &*context)?;
        let read = self.read_session(&client, sender, context);
        // Counted whether or not the task succeeded: retries explain a slow or failed task.
        if client.metadata_retries() > 0 {
            context.add_to_counter(METADATA_RETRIES_COUNTER, client.metadata_retries());
        }
        read
    }
}

/// Reads row ranges of one session.
struct RangeReader<'a> {
    task: &'a OdpsReaderTask,
    client: &'a OdpsClient,
    session_id: &'a str,
    columns: &'a str,
}

/// A chunk of rows and its first request, sent before the chunk's turn.
struct Chunk {
    start: u64,
    count: u64,
    first_request: Result<PendingData, HttpError>,
}

/// Why one data request ended early.
enum Cause {
    /// The request failed, or its body broke off with a transport error.
    Http(HttpError),
    /// The body did not hold what it should (CRC, truncation, fewer records): worth asking
    /// for the rest again.
    Broken(String),
    /// Retrying cannot help.
    Fatal(PluginError),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Http(error) => write!(f, "{error}"),
            Cause::Broken(reason) => f.write_str(reason),
            Cause::Fatal(error) => f.write_str(&error.message),
        }
    }
}

/// A data request that ended early after `records` records came.
struct Interruption {
    cause: Cause,
    records: u64,
}

/// The data reads' classifier: the service's ([`OdpsRetries`]) for a failed request, a broken
/// body always worth asking again for the rest; a failure after records came starts the
/// count again (the next request asks for less).
struct DataRetries;

impl RetryLogic for DataRetries {
    type Error = Interruption;

    fn is_retriable(&self, interruption: &Interruption) -> bool {
        match &interruption.cause {
            Cause::Http(error) => OdpsRetries.is_retriable(error),
            Cause::Broken(_) => true,
            Cause::Fatal(_) => false,
        }
    }

    fn max_retries(&self, interruption: &Interruption, policy_max: u32) -> u32 {
        match &interruption.cause {
            Cause::Http(error) => OdpsRetries.max_retries(error, policy_max),
            _ => policy_max,
        }
    }

    fn made_progress(&self, interruption: &Interruption) -> bool {
        interruption.records > 0
    }
}

/// The task's context, shared by the retried read (which reports dirty records through it)
/// and the retry driver's waits (which its cancellation ends); they take turns.
struct SharedContext<'a>(RefCell<&'a mut TaskContext>);

impl Cancellation for SharedContext<'_> {
    fn wait_cancelled(&self, duration: Duration) -> bool {
        self.0.borrow().wait_cancelled(duration)
    }

    fn is_cancelled(&self) -> bool {
        self.0.borrow().is_cancelled()
    }
}

fn stopping() -> PluginError {
    PluginError::new(ErrorKind::CANCELLED, "the job is stopping")
}

impl RangeReader<'_> {
    /// The request for rows `start..start + count`, sent now when `ahead` (else when read),
    /// for [`RangeReader::read`] to read when their turn comes.
    fn request_chunk(&self, start: u64, count: u64, ahead: bool) -> Chunk {
        Chunk {
            start,
            count,
            first_request: self.client.request_data(
                &self.task.parts.config.table,
                &self.data_request(start, count),
                ahead,
            ),
        }
    }

    /// Sends the chunk's rows exactly once each, from its request sent ahead, re-requesting
    /// the rest after a retryable failure.
    fn read(
        &self,
        chunk: Chunk,
        sender: &mut RecordSender,
        context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        let Chunk {
            start,
            count,
            first_request,
        } = chunk;
        let first_request = Cell::new(Some(first_request));
        let done = Cell::new(0u64);
        let retries = Cell::new(0u64);
        let rows = || format!("rows {}..{}", start + done.get(), start + count);
        let on_retry = |interruption: &Interruption, _: u32, wait: Duration| {
            retries.set(retries.get() + 1);
            log::warn(format!(
                "reading {} ({}): {}; retrying in {} s",
                self.task.describe(),
                rows(),
                interruption.cause,
                wait.as_secs()
            ));
        };
        let shared = SharedContext(RefCell::new(context));
        let outcome = retry(
            &retry_policy(self.task.parts.config.connection.max_retries),
            &DataRetries,
            &shared,
            on_retry,
            |_| self.attempt(start, count, &first_request, &done, sender, &shared),
        );
        let context = shared.0.into_inner();
        if retries.get() > 0 {
            context.add_to_counter(RETRIES_COUNTER, retries.get());
        }
        match outcome {
            Ok(()) => Ok(()),
            Err(RetryError::Cancelled { .. }) => Err(stopping()),
            Err(RetryError::Failed { error, retries }) => Err(match error.cause {
                Cause::Fatal(error) => error,
                Cause::Http(error) if !OdpsRetries.is_retriable(&error) => {
                    plugin_error(&error, &format!("reading {}", self.task.describe()))
                }
                cause => PluginError::io(format!(
                    "reading {} ({}): {cause}; gave up after {retries} retries",
                    self.task.describe(),
                    rows()
                )),
            }),
        }
    }

    /// One request for the rows `done` does not count yet: the one sent ahead the first
    /// time, a new one after it.
    fn attempt(
        &self,
        start: u64,
        count: u64,
        first_request: &Cell<Option<Result<PendingData, HttpError>>>,
        done: &Cell<u64>,
        sender: &mut RecordSender,
        context: &SharedContext<'_>,
    ) -> Result<(), Interruption> {
        let before = done.get();
        let pending = first_request.take().unwrap_or_else(|| {
            self.client.request_data(
                &self.task.parts.config.table,
                &self.data_request(start + before, count - before),
                false,
            )
        });
        match self.request(pending, count - before, done, sender, context) {
            Ok(()) => Ok(()),
            Err(cause) if done.get() == count && !matches!(cause, Cause::Fatal(_)) => {
                // Every record arrived intact; only what followed them failed.
                log::warn(format!("reading {}: {cause}", self.task.describe()));
                Ok(())
            }
            Err(cause) => Err(Interruption {
                cause,
                records: done.get() - before,
            }),
        }
    }

    /// Reads the answer to one data request for `count` rows; `done` counts the records
    /// sent. Neither the answer nor its body is waited for once the job stops.
    fn request(
        &self,
        pending: Result<PendingData, HttpError>,
        count: u64,
        done: &Cell<u64>,
        sender: &mut RecordSender,
        context: &SharedContext<'_>,
    ) -> Result<(), Cause> {
        let body = pending
            .and_then(|pending| pending.open(context))
            .map_err(Cause::Http)?;
        let mut decoder = RecordDecoder::new(body, self.task.plan.fields());
        loop {
            match decoder.next_is_record() {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => return Err(Cause::Broken(error.message)),
            }
            if decoder.records() == count {
                return Err(Cause::Fatal(PluginError::data(format!(
                    "reading {}: the service sent more than the {count} records asked for",
                    self.task.describe()
                ))));
            }
            self.send_record(&mut decoder, sender, context)?;
            done.set(done.get() + 1);
        }
        if decoder.records() < count {
            return Err(Cause::Broken(format!(
                "the service sent {} of the {count} records asked for",
                decoder.records()
            )));
        }
        Ok(())
    }

    /// The data request for rows `start..start + count`.
    fn data_request(&self, start: u64, count: u64) -> DataRequest<'_> {
        DataRequest {
            session_id: self.session_id,
            partition: self.task.partition.as_deref(),
            start,
            count,
            columns: self.columns,
            compress: self.task.parts.config.compress,
        }
    }

    /// Decodes the next record straight into the sender's buffer; a dirty one goes to the
    /// dirty collector instead.
    fn send_record<R: Read>(
        &self,
        decoder: &mut RecordDecoder<R>,
        sender: &mut RecordSender,
        context: &SharedContext<'_>,
    ) -> Result<(), Cause> {
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
                .0
                .borrow_mut()
                .collect_dirty(record, reason)
                .map_err(Cause::Fatal),
            (Err(_), Some(RecordFailure::Broken(error))) => Err(Cause::Broken(error.message)),
            (Err(error), None) => Err(Cause::Fatal(error)),
        }
    }
}

/// Why a record was not sent.
enum RecordFailure {
    Dirty(Record, String),
    Broken(DecodeError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::OdpsType;
    use serde_json::{json, Value};

    fn task_config(schema: &TableSchema, partition: &str) -> TaskConfig {
        let parameter: Parameter =
            serde_json::from_value(json!({"accessId": "id", "accessKey": "key",
                "project": "p", "table": "t", "partition": "pt=*", "column": ["*"]}))
            .unwrap();
        let raw = |text: String| RawValue::from_string(text).unwrap();
        TaskConfig {
            parameter: raw(serde_json::to_string(&parameter).unwrap()),
            tunnel_server: "http://127.0.0.1:1".to_string(),
            schema: raw(serde_json::to_string(schema).unwrap()),
            partition: Some(partition.to_string()),
            session: Some(SessionRange {
                id: "s1".to_string(),
                start: 5,
                count: 10,
            }),
        }
    }

    fn schema(column_type: &str) -> TableSchema {
        TableSchema::from_json(&json!({
            "columns": [{"name": "id", "type": column_type}],
            "partitionKeys": [{"name": "pt", "type": "string"}]
        }))
        .unwrap()
    }

    #[test]
    fn a_task_configuration_round_trips_and_names_what_is_wrong() {
        let schema = schema("bigint");
        assert_eq!(schema.columns[0].odps_type, OdpsType::Integer);
        let config = task_config(&schema, "pt=1");
        let text = config::task_to_json(&config).unwrap();
        // The same text as the parameter and schema written in place.
        let typed = json!({
            "parameter": serde_json::from_str::<Value>(config.parameter.get()).unwrap(),
            "tunnelServer": "http://127.0.0.1:1",
            "schema": serde_json::to_value(&schema).unwrap(),
            "partition": "pt=1",
            "session": {"id": "s1", "start": 5, "count": 10}
        });
        assert_eq!(text, typed.to_string());
        let read = config::task_from_json::<TaskConfig>(&text).unwrap();
        assert_eq!(config::task_to_json(&read).unwrap(), text);

        let mut value: Value = serde_json::from_str(&text).unwrap();
        value["session"]["start"] = json!("five");
        let error = config::task_from_json::<TaskConfig>(&value.to_string()).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "task configuration: session.start: expected u64, found \"five\""
        );
    }

    #[test]
    fn tasks_with_the_same_parameter_and_schema_read_them_once() {
        let shared = SharedParts::default();
        let first = shared
            .read(&task_config(&schema("bigint"), "pt=1"))
            .unwrap();
        let second = shared
            .read(&task_config(&schema("bigint"), "pt=2"))
            .unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        let other = shared
            .read(&task_config(&schema("string"), "pt=3"))
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(other.schema.columns[0].odps_type, OdpsType::Text);
    }

    fn interruption(cause: Cause, records: u64) -> Interruption {
        Interruption { cause, records }
    }

    #[test]
    fn broken_bodies_are_retried_and_progress_starts_the_count_again() {
        let busy = HttpError::Service(datax_plugin_kit::http::ServiceError {
            status: 429,
            code: "FlowExceeded".into(),
            message: String::new(),
            request_id: None,
        });
        let broken = interruption(Cause::Broken("CRC".into()), 0);
        assert!(DataRetries.is_retriable(&broken));
        assert!(!DataRetries.made_progress(&broken));
        assert!(DataRetries.made_progress(&interruption(Cause::Broken("CRC".into()), 3)));
        let fatal = interruption(Cause::Fatal(PluginError::data("too many")), 0);
        assert!(!DataRetries.is_retriable(&fatal));
        let flow = interruption(Cause::Http(busy), 0);
        assert!(DataRetries.is_retriable(&flow));
        assert_eq!(DataRetries.max_retries(&flow, 1), 60);
        assert_eq!(DataRetries.max_retries(&broken, 1), 1);
    }
}
