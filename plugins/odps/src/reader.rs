//! odpsreader: the job resolves the table, its partitions and download sessions and cuts row
//! ranges (datax-engine.md §7.2, §7.3); each task downloads its range in chunks and resumes
//! after failures from the last record it received (§7.4, odps-tunnel.md §7).

use std::time::{Duration, Instant};

use datax_plugin_api::{
    log, ErrorKind, PluginError, ReaderJob, ReaderTask, Record, RecordSender, TaskContext,
};
use serde_json::{json, Value};

use crate::client::{
    backoff, describe_table, ClientSettings, DataRequest, OdpsClient, FLOW_CONTROL_RETRIES,
};
use crate::codec::{DecodeError, RecordDecoder};
use crate::columns::ColumnPlan;
use crate::config::{ReaderConfig, SplitMode, PUBLIC_ODPS_SERVER};
use crate::partition;
use crate::schema::TableSchema;
use datax_job_config::value::unknown_keys;

/// Rows per data request: small enough to check for cancellation and to keep a retry cheap,
/// large enough that request overhead does not show.
const CHUNK_ROWS: u64 = 1_000_000;
/// How many existing partitions an error about unmatched patterns lists.
const PARTITIONS_SHOWN: usize = 10;

pub struct OdpsReaderJob {
    parameter: Value,
    config: ReaderConfig,
    /// Resolved in `prepare`.
    resolved: Option<Resolved>,
}

struct Resolved {
    client: OdpsClient,
    schema: TableSchema,
    /// Normalised specs; empty for an unpartitioned table.
    partitions: Vec<String>,
}

fn parse_object(text: &str, what: &str) -> Result<Value, PluginError> {
    datax_job_config::value::parse_object(text, what)
        .map_err(|error| PluginError::config(error.to_string()))
}

/// Retries of each metadata request during `datax check`.
const CHECK_RETRIES: u32 = 1;

/// Data requests sent again after a failure, shown in the job's summary.
const RETRIES_COUNTER: &str = "tunnel data retries";

/// Every key DataX's odpsreader reads, and DataWorks' `datasource`.
const KNOWN_KEYS: &[&str] = &[
    "accessId",
    "accessKey",
    "securityToken",
    "accountType",
    "odpsServer",
    "tunnelServer",
    "project",
    "packageAuthorizedProject",
    "table",
    "partition",
    "column",
    "splitMode",
    "isCompress",
    "maxRetryTime",
    "successOnNoPartition",
    "preSql",
    "postSql",
    "datasource",
];

impl ReaderJob for OdpsReaderJob {
    type Task = OdpsReaderTask;

    const DATAX_NAMES: &'static [&'static str] = &["odpsreader"];

    const TEMPLATE: &'static str = r#"{
    "accessId": "",
    "accessKey": "",
    "securityToken": "",
    "odpsServer": "http://service.cn-hangzhou.maxcompute.aliyun.com/api",
    "tunnelServer": "",
    "project": "",
    "packageAuthorizedProject": "",
    "table": "",
    "partition": ["pt=20240101,ds=*"],
    "column": ["*"],
    "splitMode": "record",
    "isCompress": false,
    "maxRetryTime": 7,
    "successOnNoPartition": false
}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parameter = parse_object(parameter, "parameter")?;
        for warning in unknown_keys(&parameter, "parameter", KNOWN_KEYS) {
            datax_plugin_api::log::warn(warning);
        }
        let config = ReaderConfig::parse(&parameter)?;
        if config.odps_server == PUBLIC_ODPS_SERVER {
            log::info(format!(
                "odpsServer is not set: using the public endpoint {PUBLIC_ODPS_SERVER}"
            ));
        }
        config.client_settings(None)?;
        Ok(OdpsReaderJob {
            parameter,
            config,
            resolved: None,
        })
    }

    /// What `prepare` does only reads metadata (sessions wait for `split`): the table, its
    /// columns and the partitions the patterns select. A check should answer soon, so it
    /// retries a failed request once instead of spending the run's whole budget.
    fn check(&mut self) -> Result<(), PluginError> {
        self.resolve(CHECK_RETRIES).map(drop)
    }

    fn prepare(&mut self) -> Result<(), PluginError> {
        self.resolved = Some(self.resolve(self.config.max_retries)?);
        Ok(())
    }

    fn split(&mut self, advice: usize) -> Result<Vec<String>, PluginError> {
        let resolved = self
            .resolved
            .as_ref()
            .ok_or_else(|| PluginError::io("split before prepare"))?;
        let advice = advice.max(1);
        let base = json!({
            "parameter": self.parameter,
            "tunnelServer": resolved.client.tunnel_endpoint().url(),
            "schema": resolved.schema.to_json(),
        });
        let task = |partition: Option<&str>, session: Option<(&str, u64, u64)>| {
            let mut config = base.clone();
            config["partition"] = json!(partition);
            if let Some((id, start, count)) = session {
                config["sessionId"] = json!(id);
                config["start"] = json!(start);
                config["count"] = json!(count);
            }
            config.to_string()
        };
        let table = &self.config.table;
        if !resolved.schema.is_partitioned() {
            let session = resolved.client.create_download_session(table, None)?;
            return Ok(split_ranges(session.record_count, advice)
                .into_iter()
                .map(|(start, count)| task(None, Some((&session.id, start, count))))
                .collect());
        }
        if resolved.partitions.is_empty() {
            // successOnNoPartition: one task that reads nothing.
            return Ok(vec![task(None, None)]);
        }
        let partitions = &resolved.partitions;
        if partitions.len() > advice || self.config.split_mode == SplitMode::Partition {
            // Each task opens its own session (datax-engine.md §7.3).
            return Ok(partitions
                .iter()
                .map(|spec| task(Some(spec), None))
                .collect());
        }
        let per_partition = advice.div_ceil(partitions.len());
        let mut tasks = Vec::new();
        for spec in partitions {
            let session = resolved.client.create_download_session(table, Some(spec))?;
            for (start, count) in split_ranges(session.record_count, per_partition) {
                tasks.push(task(Some(spec), Some((&session.id, start, count))));
            }
        }
        Ok(tasks)
    }

    fn task(&self, task_config: &str) -> Result<OdpsReaderTask, PluginError> {
        OdpsReaderTask::from_config(task_config)
    }
}

impl OdpsReaderJob {
    /// The client, the table's schema and the partitions to read, after checking the columns.
    fn resolve(&self, max_retries: u32) -> Result<Resolved, PluginError> {
        let config = &self.config;
        let settings = ClientSettings {
            max_retries,
            ..config.client_settings(None)?
        };
        let client = OdpsClient::new(settings)?;
        let schema = client.table_schema(&config.table)?;
        // Unknown columns fail here, before any session exists.
        ColumnPlan::resolve(&config.columns, &schema, None)?;
        let partitions = self.resolve_partitions(&client, &schema)?;
        Ok(Resolved {
            client,
            schema,
            partitions,
        })
    }

    /// Expands the patterns against the table's partitions (datax-engine.md §7.2).
    fn resolve_partitions(
        &self,
        client: &OdpsClient,
        schema: &TableSchema,
    ) -> Result<Vec<String>, PluginError> {
        let config = &self.config;
        let described = describe_table(&config.project, &config.table, None);
        let keys = schema.partition_key_names();
        if !schema.is_partitioned() {
            if !config.partitions.is_empty() {
                return Err(PluginError::config(format!(
                    "partition: {described} is not partitioned; remove partition"
                )));
            }
            return Ok(Vec::new());
        }
        if config.partitions.is_empty() {
            let example = keys
                .iter()
                .map(|key| format!("{key}=*"))
                .collect::<Vec<_>>()
                .join(",");
            return Err(PluginError::config(format!(
                "partition: required, {described} is partitioned by {}; e.g. [\"{example}\"]",
                keys.join(", ")
            )));
        }
        let existing: Vec<String> = client
            .partitions(&config.table)?
            .iter()
            .map(|levels| partition::normalise(&partition::spec_text(levels)))
            .collect();
        let (matched, unmatched) =
            partition::expand(&config.partitions, &keys, &existing).map_err(PluginError::config)?;
        if matched.is_empty() {
            let shown: Vec<&str> = existing
                .iter()
                .take(PARTITIONS_SHOWN)
                .map(String::as_str)
                .collect();
            let more = existing.len().saturating_sub(PARTITIONS_SHOWN);
            let listing = match (shown.is_empty(), more) {
                (true, _) => "it has no partitions".to_string(),
                (false, 0) => format!("it has {}", shown.join("; ")),
                (false, more) => format!("it has {} and {more} more", shown.join("; ")),
            };
            let message = format!(
                "partition: no partition of {described} matches {}; {listing}",
                unmatched
                    .iter()
                    .map(|pattern| format!("\"{pattern}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if config.success_on_no_partition {
                log::warn(format!("{message} (successOnNoPartition: reading nothing)"));
                return Ok(Vec::new());
            }
            return Err(PluginError::config(message));
        }
        for pattern in unmatched {
            log::warn(format!(
                "partition pattern \"{pattern}\" matches no partition of {described}"
            ));
        }
        log::info(format!(
            "reading {} partition(s) of {described}: {}",
            matched.len(),
            matched.join("; ")
        ));
        Ok(matched)
    }
}

/// DataX's `splitRecordCount` over `RangeSplitUtil.doLongSplit` (datax-engine.md §7.3):
/// `(start, count)` ranges covering `0..records`.
pub fn split_ranges(records: u64, wanted: usize) -> Vec<(u64, u64)> {
    if records == 0 {
        return vec![(0, 0)];
    }
    let gap = records - 1;
    let mut slices = wanted.max(1) as u64;
    let step = gap / slices;
    let remainder = gap % slices;
    if step == 0 {
        slices = remainder;
    }
    if slices == 0 {
        return vec![(0, records)];
    }
    let mut bounds = vec![0u64];
    for index in 1..slices {
        let previous = bounds[bounds.len() - 1];
        bounds.push(previous + step + u64::from(remainder >= index));
    }
    bounds.push(records);
    bounds
        .windows(2)
        .map(|pair| (pair[0], pair[1] - pair[0]))
        .collect()
}

pub struct OdpsReaderTask {
    config: ReaderConfig,
    tunnel_server: String,
    schema: TableSchema,
    partition: Option<String>,
    /// `(session id, start, count)`; `None`: open a session for the whole partition.
    session: Option<(String, u64, u64)>,
    plan: ColumnPlan,
}

impl OdpsReaderTask {
    fn from_config(text: &str) -> Result<Self, PluginError> {
        let task = parse_object(text, "task configuration")?;
        let config = ReaderConfig::parse(&task["parameter"])?;
        let missing = |key: &str| PluginError::config(format!("task configuration: {key} missing"));
        let tunnel_server = task["tunnelServer"]
            .as_str()
            .ok_or_else(|| missing("tunnelServer"))?
            .to_string();
        let schema = TableSchema::from_json(&task["schema"])
            .map_err(|error| PluginError::config(format!("task configuration: {error}")))?;
        let partition = task["partition"].as_str().map(str::to_string);
        let session = match task["sessionId"].as_str() {
            Some(id) => Some((
                id.to_string(),
                task["start"].as_u64().ok_or_else(|| missing("start"))?,
                task["count"].as_u64().ok_or_else(|| missing("count"))?,
            )),
            None => None,
        };
        let plan = ColumnPlan::resolve(&config.columns, &schema, partition.as_deref())?;
        Ok(OdpsReaderTask {
            config,
            tunnel_server,
            schema,
            partition,
            session,
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
            Some((id, start, count)) => (id.clone(), *start, *count),
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
        let task = self.task;
        let body = self
            .client
            .open_data(
                &task.config.table,
                &DataRequest {
                    session_id: self.session_id,
                    partition: task.partition.as_deref(),
                    start,
                    count,
                    columns: self.columns,
                    compress: task.config.compress,
                },
            )
            .map_err(|error| match error {
                error if error.is_retryable() => Interrupted::Retryable {
                    flow_control: error.is_flow_control(),
                    reason: error.to_string(),
                },
                error => Interrupted::Fatal(
                    error.into_plugin_error(&format!("reading {}", task.describe())),
                ),
            })?;
        let mut decoder = RecordDecoder::new(body, task.plan.fields());
        loop {
            match decoder.next_is_record() {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => return Err(Interrupted::retry(error.message)),
            }
            if decoder.records() == count {
                return Err(Interrupted::Fatal(PluginError::data(format!(
                    "reading {}: the service sent more than the {count} records asked for",
                    task.describe()
                ))));
            }
            let mut failure: Option<RecordFailure> = None;
            let sent = sender.send_with(|record| {
                task.plan.shape(record);
                match decoder.read_record(record) {
                    Ok(Ok(())) => {
                        task.plan.complete(record);
                        Ok(())
                    }
                    Ok(Err(reason)) => {
                        task.plan.complete(record);
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
                (Ok(()), _) => *done += 1,
                (Err(_), Some(RecordFailure::Dirty(record, reason))) => {
                    context
                        .collect_dirty(record, reason)
                        .map_err(Interrupted::Fatal)?;
                    *done += 1;
                }
                (Err(_), Some(RecordFailure::Broken(error))) => {
                    return Err(Interrupted::retry(error.message))
                }
                (Err(error), None) => return Err(Interrupted::Fatal(error)),
            }
        }
        if decoder.records() < count {
            return Err(Interrupted::retry(format!(
                "the service sent {} of the {count} records asked for",
                decoder.records()
            )));
        }
        Ok(())
    }
}

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

    #[test]
    fn splits_row_ranges_like_datax() {
        assert_eq!(split_ranges(10, 4), vec![(0, 3), (3, 2), (5, 2), (7, 3)]);
        assert_eq!(split_ranges(10, 3), vec![(0, 3), (3, 3), (6, 4)]);
        assert_eq!(split_ranges(3, 8), vec![(0, 1), (1, 2)]);
        assert_eq!(split_ranges(1, 4), vec![(0, 1)]);
        assert_eq!(split_ranges(0, 4), vec![(0, 0)]);
        assert_eq!(split_ranges(2, 1), vec![(0, 2)]);
        assert_eq!(split_ranges(100, 1), vec![(0, 100)]);
    }
}
