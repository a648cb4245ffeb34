//! The odpsreader job: resolves the table, its partitions and download sessions and cuts
//! row ranges into task configurations (datax-engine.md §7.2, §7.3).

use std::collections::BTreeMap;
use std::sync::Arc;

use datax_plugin_api::{log, PluginError, ReaderJob};
use datax_plugin_kit::config;
use datax_plugin_kit::http::SharedClient;
use datax_plugin_kit::retry::JobStop;
use serde_json::value::RawValue;

use crate::client::{self, describe_table, ClientSettings, OdpsClient};
use crate::columns::ColumnPlan;
use crate::config::{Parameter, ReaderConfig, SplitMode};
use crate::partition;
use crate::schema::TableSchema;
use crate::task::{OdpsReaderTask, SessionRange, SharedParts, TaskConfig};

/// How many existing partitions an error about unmatched patterns lists.
const PARTITIONS_SHOWN: usize = 10;

pub struct OdpsReaderJob {
    parameter: Parameter,
    /// Rows each task skips when the host resumes a run: task id to its durable watermark.
    resume_skip: Arc<BTreeMap<u32, u64>>,
    config: ReaderConfig,
    /// Resolved in `prepare`.
    resolved: Option<Resolved>,
    /// The job's one HTTP client, shared by its tasks.
    http: Arc<SharedClient>,
    /// The parameter and schema its tasks' configurations carry, read once.
    task_parts: SharedParts,
}

struct Resolved {
    client: OdpsClient,
    schema: TableSchema,
    /// Normalised specs; empty for an unpartitioned table.
    partitions: Vec<String>,
}

/// Retries of each metadata request during `datax check`.
const CHECK_RETRIES: u32 = 1;

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
    "successOnNoPartition": false,
    "maxInFlight": 2
}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parsed = config::parse::<Parameter>(parameter, "parameter")?;
        let resume_skip = Arc::new(parsed.resume_skip.clone());
        let parameter = parsed.log_warnings();
        let config = ReaderConfig::new(&parameter)?;
        config.connection.note_public_endpoint();
        config.client_settings(None)?;
        Ok(OdpsReaderJob {
            parameter,
            resume_skip,
            config,
            resolved: None,
            http: client::shared_http(),
            task_parts: SharedParts::default(),
        })
    }

    /// What `prepare` does only reads metadata (sessions wait for `split`): the table, its
    /// columns and the partitions the patterns select. A check should answer soon, so it
    /// retries a failed request once instead of spending the run's whole budget.
    fn check(&mut self) -> Result<(), PluginError> {
        self.resolve(CHECK_RETRIES).map(drop)
    }

    fn prepare(&mut self) -> Result<(), PluginError> {
        self.resolved = Some(self.resolve(self.config.connection.max_retries)?);
        Ok(())
    }

    fn split(&mut self, advice: usize) -> Result<Vec<String>, PluginError> {
        let resolved = self
            .resolved
            .as_ref()
            .ok_or_else(|| PluginError::io("split before prepare"))?;
        // Written once: every task carries the same text.
        let parameter = raw_json(&self.parameter)?;
        let schema = raw_json(&resolved.schema)?;
        let task = |partition: Option<&str>, session: Option<SessionRange>| {
            config::task_to_json(&TaskConfig {
                parameter: parameter.clone(),
                tunnel_server: resolved.client.tunnel_endpoint().url().to_string(),
                schema: schema.clone(),
                partition: partition.map(str::to_string),
                session,
            })
        };
        let advice = advice.max(1);
        let table = &self.config.table;
        if !resolved.schema.is_partitioned() {
            let session = resolved
                .client
                .create_download_session(table, None, &JobStop)?;
            return session_ranges(&session.id, session.record_count, advice)
                .into_iter()
                .map(|range| task(None, Some(range)))
                .collect();
        }
        if resolved.partitions.is_empty() {
            // successOnNoPartition: one task that reads nothing.
            return Ok(vec![task(None, None)?]);
        }
        let partitions = &resolved.partitions;
        if partitions.len() > advice || self.config.split_mode == SplitMode::Partition {
            // Each task opens its own session (datax-engine.md §7.3).
            return partitions
                .iter()
                .map(|spec| task(Some(spec), None))
                .collect();
        }
        let per_partition = advice.div_ceil(partitions.len());
        let mut tasks = Vec::new();
        for spec in partitions {
            let session = resolved
                .client
                .create_download_session(table, Some(spec), &JobStop)?;
            for range in session_ranges(&session.id, session.record_count, per_partition) {
                tasks.push(task(Some(spec), Some(range))?);
            }
        }
        Ok(tasks)
    }

    fn task(&self, task_config: &str) -> Result<OdpsReaderTask, PluginError> {
        OdpsReaderTask::from_config(
            task_config,
            &self.task_parts,
            Arc::clone(&self.http),
            Arc::clone(&self.resume_skip),
        )
    }
}

impl OdpsReaderJob {
    /// The client, the table's schema and the partitions to read, after checking the columns.
    /// Job-level work: nothing cancels its retries, `max_retries` bounds them.
    fn resolve(&self, max_retries: u32) -> Result<Resolved, PluginError> {
        let config = &self.config;
        let settings = ClientSettings {
            max_retries,
            ..config.client_settings(None)?
        };
        let client = OdpsClient::new(settings, &self.http, &JobStop)?;
        let schema = client.table_schema(&config.table, &JobStop)?;
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
        let described = describe_table(&config.connection.project, &config.table, None);
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
            .partitions(&config.table, &JobStop)?
            .iter()
            .map(|levels| partition::normalise(&partition::spec_text(levels)))
            .collect();
        let (matched, unmatched) =
            partition::expand(&config.partitions, &keys, &existing).map_err(PluginError::config)?;
        if matched.is_empty() {
            let message = no_partition_matched(&described, &unmatched, &existing);
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

/// Why no partition is read: the patterns and some of the partitions that exist.
fn no_partition_matched(described: &str, unmatched: &[&str], existing: &[String]) -> String {
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
    let patterns = unmatched
        .iter()
        .map(|pattern| format!("\"{pattern}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!("partition: no partition of {described} matches {patterns}; {listing}")
}

/// `value`'s JSON text, to be written into task configurations as it is.
fn raw_json(value: &impl serde::Serialize) -> Result<Box<RawValue>, PluginError> {
    RawValue::from_string(config::task_to_json(value)?)
        .map_err(|error| PluginError::config(format!("task configuration: {error}")))
}

/// The row ranges of one download session, as tasks read them.
fn session_ranges(session_id: &str, records: u64, wanted: usize) -> Vec<SessionRange> {
    split_ranges(records, wanted)
        .into_iter()
        .map(|(start, count)| SessionRange {
            id: session_id.to_string(),
            start,
            count,
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn the_template_is_a_valid_parameter_once_filled() {
        config::assert_template_matches::<Parameter>(OdpsReaderJob::TEMPLATE);
        let mut template: Value = serde_json::from_str(OdpsReaderJob::TEMPLATE).unwrap();
        for key in ["accessId", "accessKey", "project", "table"] {
            template[key] = json!("x");
        }
        let job = OdpsReaderJob::init(&template.to_string()).unwrap();
        assert_eq!(job.config.connection.max_retries, 7);
        assert_eq!(job.config.partitions, ["pt=20240101,ds=*"]);
    }

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

    #[test]
    fn lists_a_few_partitions_when_none_matches() {
        let existing: Vec<String> = (0..12).map(|day| format!("pt={day}")).collect();
        let message = no_partition_matched("p.t", &["pt=x"], &existing);
        assert_eq!(
            message,
            "partition: no partition of p.t matches \"pt=x\"; it has pt=0; pt=1; pt=2; pt=3; \
             pt=4; pt=5; pt=6; pt=7; pt=8; pt=9 and 2 more"
        );
        let message = no_partition_matched("p.t", &["pt=x"], &[]);
        assert!(message.ends_with("it has no partitions"), "{message}");
    }
}
