//! The odpswriter job (DataX's `OdpsWriter.Job`): `prepare` checks the table, its columns and
//! the partition, then opens the one upload session of the job, which creates a missing
//! partition and, with `truncate`, replaces the rows at commit; `split` hands every task the
//! session and its own block ids; `post` commits every block once all tasks succeeded. A job
//! that fails never reaches `post`, so the table stays as it was. With dynamic partitions
//! (`partitions.rs`) `prepare` opens no session: the tasks open one per partition in the job's
//! registry (`sessions.rs`), and `post` commits each.

use datax_plugin_api::{log, PluginError, WriterJob};
use datax_plugin_kit::config::{self, Restore};
use datax_plugin_kit::http::SharedClient;
use datax_plugin_kit::retry::JobStop;

use crate::client::{self, describe_table, ClientSettings, OdpsClient};
use crate::partition;
use crate::schema::TableSchema;

use std::sync::Arc;

use super::config::{Parameter, WriterConfig};
use super::convert::Converter;
use super::partitions::{dynamic_mode, PartitionRouter};
use super::sessions::{PartitionSession, PartitionSessions};
use super::task::{OdpsWriterTask, TaskConfig};
use super::upload::UploadTarget;
use datax_plugin_kit::text::{ColumnSettings, TextStyle};

/// Retries of each metadata request during `datax check`.
const CHECK_RETRIES: u32 = 1;

pub struct OdpsWriterJob {
    parameter: Parameter,
    common_column: ColumnSettings,
    config: WriterConfig,
    /// Set by `prepare`.
    prepared: Option<Prepared>,
    /// The job's one HTTP client, shared by its tasks.
    http: Arc<SharedClient>,
}

struct Prepared {
    client: OdpsClient,
    resolved: Resolved,
    sessions: Sessions,
}

/// The job's upload sessions.
enum Sessions {
    /// The table's or the named partition's.
    Single(String),
    /// One per partition the records name, created by the tasks.
    ByPartition(Arc<PartitionSessions>),
}

/// What the parameter names, checked against the table.
struct Resolved {
    schema: TableSchema,
    /// The spec with the table's key names, in key order; `None` when not partitioned or
    /// `dynamic`.
    partition: Option<String>,
    /// Partitions from the records' values.
    dynamic: bool,
}

impl WriterJob for OdpsWriterJob {
    type Task = OdpsWriterTask;

    const DATAX_NAMES: &'static [&'static str] = &["odpswriter"];

    const TEMPLATE: &'static str = r#"{
    "accessId": "",
    "accessKey": "",
    "securityToken": "",
    "odpsServer": "http://service.cn-hangzhou.maxcompute.aliyun.com/api",
    "tunnelServer": "",
    "project": "",
    "table": "",
    "partition": "pt=20240101,region=hz",
    "column": ["*"],
    "truncate": false,
    "emptyAsNull": false,
    "isCompress": false,
    "blockSizeInMB": 64,
    "maxRetryTime": 7
}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parsed = config::parse::<Parameter>(parameter, "parameter")?;
        let common_column = parsed.common_column.clone();
        let restore = parsed.restore.clone();
        let parameter = parsed.log_warnings();
        let config = WriterConfig::new(&parameter)?;
        config.connection.note_public_endpoint();
        config.client_settings(None)?;
        TextStyle::new(&common_column)?;
        let mut job = OdpsWriterJob {
            parameter,
            common_column,
            config,
            prepared: None,
            http: client::shared_http(),
        };
        if let Some(restore) = restore {
            job.prepared = Some(job.restored(&restore)?);
        }
        Ok(job)
    }

    /// Reads the table's metadata and checks the columns and the partition; changes nothing.
    fn check(&mut self) -> Result<(), PluginError> {
        let client = self.client(CHECK_RETRIES)?;
        self.resolve(&client).map(drop)
    }

    fn prepare(&mut self) -> Result<(), PluginError> {
        let client = self.client(self.config.connection.max_retries)?;
        let resolved = self.resolve(&client)?;
        let sessions = if resolved.dynamic {
            log::info(format!(
                "partitions of {} from the records' values (supportDynamicPartition): a session \
                 for each, opened by the first record{}",
                self.described(&resolved),
                if self.config.truncate {
                    "; truncate replaces each written partition's rows at commit"
                } else {
                    ""
                }
            ));
            Sessions::ByPartition(Arc::new(PartitionSessions::new(
                &self.config.connection.project,
                &self.config.table,
                self.config.truncate,
            )))
        } else {
            Sessions::Single(self.open_session(&client, &resolved)?)
        };
        self.prepared = Some(Prepared {
            client,
            resolved,
            sessions,
        });
        Ok(())
    }

    fn split(&mut self, reader_tasks: usize) -> Result<Vec<String>, PluginError> {
        let prepared = self.prepared()?;
        let task_count = reader_tasks.max(1);
        (0..task_count)
            .map(|task_index| {
                config::task_to_json(&TaskConfig {
                    parameter: self.parameter.clone(),
                    common_column: self.common_column.clone(),
                    tunnel_server: prepared.client.tunnel_endpoint().url().to_string(),
                    schema: prepared.resolved.schema.clone(),
                    partition: prepared.resolved.partition.clone(),
                    session_id: match &prepared.sessions {
                        Sessions::Single(id) => Some(id.clone()),
                        Sessions::ByPartition(_) => None,
                    },
                    task_index: task_index as u64,
                    task_count: task_count as u64,
                })
            })
            .collect()
    }

    fn task(&self, task_config: &str) -> Result<OdpsWriterTask, PluginError> {
        let sessions = match &self.prepared()?.sessions {
            Sessions::Single(_) => None,
            Sessions::ByPartition(sessions) => Some(sessions.clone()),
        };
        OdpsWriterTask::from_config(task_config, sessions, Arc::clone(&self.http))
    }

    /// Every task succeeded: publish their blocks.
    fn post(&mut self) -> Result<(), PluginError> {
        let prepared = self.prepared()?;
        match &prepared.sessions {
            Sessions::Single(id) => {
                let target = UploadTarget {
                    table: &self.config.table,
                    partition: prepared.resolved.partition.as_deref(),
                };
                self.commit(&prepared.client, &target, id, None)
            }
            Sessions::ByPartition(sessions) => self.commit_partitions(&prepared.client, sessions),
        }
    }
}

impl OdpsWriterJob {
    /// A plan's shard or its `datax finish` (another process than the one that ran
    /// `prepare`): the session, table schema and partition `prepare` found, read back from the
    /// task configurations `split` wrote. Dynamic partitions cannot run so: their sessions are
    /// opened by the tasks and known only to the process that ran them.
    fn restored(&self, restore: &Restore) -> Result<Prepared, PluginError> {
        let mut tasks = restore
            .task_configs
            .iter()
            .map(|text| config::task_from_json::<TaskConfig>(text));
        let first = tasks
            .next()
            .ok_or_else(|| PluginError::config("the plan has no writer task"))??;
        let Some(session_id) = first.session_id else {
            return Err(PluginError::config(
                "supportDynamicPartition: a job whose partitions come from the records' values \
                 cannot run from a plan (each task opens its partitions' sessions, which only \
                 its own process could commit); run it as one process",
            ));
        };
        for task in tasks {
            if task?.session_id.as_deref() != Some(session_id.as_str()) {
                return Err(PluginError::config(
                    "the plan's writer tasks name different upload sessions: it was not written \
                     by one `datax plan`",
                ));
            }
        }
        let settings = ClientSettings {
            max_retries: self.config.connection.max_retries,
            ..self.config.client_settings(Some(&first.tunnel_server))?
        };
        Ok(Prepared {
            client: OdpsClient::new(settings, &self.http, &JobStop)?,
            resolved: Resolved {
                schema: first.schema,
                partition: first.partition,
                dynamic: false,
            },
            sessions: Sessions::Single(session_id),
        })
    }

    /// The one session of a job without dynamic partitions.
    fn open_session(
        &self,
        client: &OdpsClient,
        resolved: &Resolved,
    ) -> Result<String, PluginError> {
        let target = UploadTarget {
            table: &self.config.table,
            partition: resolved.partition.as_deref(),
        };
        let session = client.create_upload_session(
            &target,
            &self.config.connection.project,
            self.config.truncate,
            &JobStop,
        )?;
        log::info(format!(
            "upload session {} for {}{}",
            session.id,
            self.described(resolved),
            if self.config.truncate {
                " (truncate: its rows are replaced at commit)"
            } else {
                ""
            }
        ));
        Ok(session.id)
    }

    /// Commits one session: reads it back (its blocks), then publishes them.
    fn commit(
        &self,
        client: &OdpsClient,
        target: &UploadTarget<'_>,
        id: &str,
        records: Option<u64>,
    ) -> Result<(), PluginError> {
        let project = &self.config.connection.project;
        let held = client.upload_session(target, project, id, &JobStop)?;
        let committed = client.commit_upload(target, project, id, &JobStop)?;
        log::info(format!(
            "committed {} blocks{} to {} (session {id}, {})",
            held.blocks.len(),
            records.map_or(String::new(), |records| format!(" ({records} records)")),
            describe_table(project, target.table, target.partition),
            committed.status
        ));
        Ok(())
    }

    /// Commits every partition's session, in spec order. The service commits one session at
    /// a time: when one fails, those before it are in the table and the rest are not, and
    /// the error names both.
    fn commit_partitions(
        &self,
        client: &OdpsClient,
        sessions: &PartitionSessions,
    ) -> Result<(), PluginError> {
        let all = sessions.all();
        for (index, session) in all.iter().enumerate() {
            let target = session.target(&self.config.table);
            if let Err(error) = self.commit(client, &target, &session.id, Some(session.records())) {
                let specs = |list: &[Arc<PartitionSession>]| {
                    list.iter()
                        .map(|s| s.spec.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                let committed = match index {
                    0 => "no partition was committed".to_string(),
                    _ => format!("already committed: {}", specs(&all[..index])),
                };
                return Err(PluginError::io(format!(
                    "{}; {committed}; not committed: {}",
                    error.message,
                    specs(&all[index..])
                )));
            }
        }
        log::info(format!(
            "committed {} partitions of {}",
            all.len(),
            describe_table(&self.config.connection.project, &self.config.table, None)
        ));
        Ok(())
    }

    fn prepared(&self) -> Result<&Prepared, PluginError> {
        self.prepared
            .as_ref()
            .ok_or_else(|| PluginError::io("split or post before prepare"))
    }

    fn client(&self, max_retries: u32) -> Result<OdpsClient, PluginError> {
        let settings = ClientSettings {
            max_retries,
            ..self.config.client_settings(None)?
        };
        OdpsClient::new(settings, &self.http, &JobStop)
    }

    fn described(&self, resolved: &Resolved) -> String {
        describe_table(
            &self.config.connection.project,
            &self.config.table,
            resolved.partition.as_deref(),
        )
    }

    /// The table's schema, the columns checked against it and the partition spec.
    fn resolve(&self, client: &OdpsClient) -> Result<Resolved, PluginError> {
        let schema = client.table_schema(&self.config.table, &JobStop)?;
        let dynamic = dynamic_mode(&self.config, &schema)?;
        column_positions(self.config.columns.as_deref(), &schema, dynamic)?;
        if dynamic {
            let names = self.config.columns.as_deref().unwrap_or_default();
            PartitionRouter::new(
                names,
                &schema,
                &self.config.partition_mapping,
                TextStyle::new(&self.common_column)?,
            )?;
            if let Some(spec) = &self.config.partition {
                log::warn(format!(
                    "partition \"{spec}\" is ignored: the records' values name the partitions \
                     (supportDynamicPartition)"
                ));
            }
            return Ok(Resolved {
                schema,
                partition: None,
                dynamic,
            });
        }
        if !self.config.partition_mapping.is_empty() {
            log::warn("partitionColumnMapping is ignored: the job writes one partition");
        }
        let partition =
            partition_spec(self.config.partition.as_deref(), &schema).map_err(|message| {
                PluginError::config(format!(
                    "partition: {} {message}",
                    describe_table(&self.config.connection.project, &self.config.table, None)
                ))
            })?;
        Ok(Resolved {
            schema,
            partition,
            dynamic,
        })
    }
}

/// The table column each record column fills, in record order, `None` for a partition key
/// (named only with `dynamic` partitions); every other named column must be a data column of a
/// type this writer writes.
pub fn column_positions(
    names: Option<&[String]>,
    schema: &TableSchema,
    dynamic: bool,
) -> Result<Vec<Option<usize>>, PluginError> {
    let positions: Vec<Option<usize>> = match names {
        None => (0..schema.columns.len()).map(Some).collect(),
        Some(names) => names
            .iter()
            .enumerate()
            .map(|(index, name)| match schema.column_index(name) {
                Some(position) => Ok(Some(position)),
                None if dynamic && schema.partition_key_index(name).is_some() => Ok(None),
                None => Err(unknown_column(index, name, schema)),
            })
            .collect::<Result<_, _>>()?,
    };
    for (index, position) in positions.iter().enumerate() {
        let Some(position) = *position else {
            continue;
        };
        let column = &schema.columns[position];
        if !Converter::supports(&column.odps_type) {
            return Err(PluginError::config(format!(
                "column[{index}]: {} is {}, which odpswriter cannot write yet",
                column.name, column.type_name
            )));
        }
    }
    Ok(positions)
}

fn unknown_column(index: usize, name: &str, schema: &TableSchema) -> PluginError {
    let columns: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    let why = if schema.partition_key_index(name).is_some() {
        "is a partition key: name the partition in partition instead".to_string()
    } else {
        format!("is not a column of the table ({})", columns.join(", "))
    };
    PluginError::config(format!("column[{index}]: \"{name}\" {why}"))
}

/// The spec with the table's key names, every key named in order; `None` for a table that is
/// not partitioned. The error completes "partition: {table} …".
fn partition_spec(spec: Option<&str>, schema: &TableSchema) -> Result<Option<String>, String> {
    let keys = schema.partition_key_names();
    match spec {
        None if keys.is_empty() => Ok(None),
        None => Err(format!(
            "is partitioned by {}: name one partition, e.g. \"{}\"",
            keys.join(", "),
            keys.iter()
                .map(|key| format!("{key}=..."))
                .collect::<Vec<_>>()
                .join(",")
        )),
        Some(_) if keys.is_empty() => Err("is not partitioned: remove partition".into()),
        Some(spec) => {
            let levels: Vec<(&str, &str)> = spec
                .split(',')
                .map(|level| level.split_once('=').unwrap_or((level, "")))
                .collect();
            let named_in_order = levels.len() == keys.len()
                && levels.iter().zip(&keys).all(|((key, value), wanted)| {
                    key.eq_ignore_ascii_case(wanted) && !value.is_empty()
                });
            if !named_in_order {
                return Err(format!(
                    "is partitioned by {}: \"{spec}\" must give each a value, in that order",
                    keys.join(", ")
                ));
            }
            let levels: Vec<(String, String)> = keys
                .iter()
                .zip(levels)
                .map(|(key, (_, value))| (key.to_string(), value.to_string()))
                .collect();
            Ok(Some(partition::spec_text(&levels)))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> TableSchema {
        TableSchema::from_json(&json!({
            "columns": [{"name": "id", "type": "bigint"}, {"name": "Name", "type": "string"},
                        {"name": "tags", "type": "array<string>"}],
            "partitionKeys": [{"name": "pt", "type": "string"}, {"name": "region", "type": "string"}]
        }))
        .unwrap()
    }

    #[test]
    fn the_template_is_a_valid_parameter() {
        config::assert_template_matches::<Parameter>(OdpsWriterJob::TEMPLATE);
        let parameter = config::parse::<Parameter>(OdpsWriterJob::TEMPLATE, "parameter")
            .unwrap()
            .value;
        assert!(WriterConfig::new(&parameter).is_err(), "accessId is blank");
    }

    #[test]
    fn columns_map_by_name_in_any_order() {
        let names = vec!["name".to_string(), "ID".to_string()];
        assert_eq!(
            column_positions(Some(&names), &schema(), false).unwrap(),
            vec![Some(1), Some(0)]
        );
        let error = column_positions(Some(&["pt".to_string()]), &schema(), false).unwrap_err();
        assert!(error.message.contains("partition key"), "{error:?}");
        let with_key = vec!["PT".to_string(), "id".to_string()];
        assert_eq!(
            column_positions(Some(&with_key), &schema(), true).unwrap(),
            vec![None, Some(0)]
        );
        let error = column_positions(Some(&["nope".to_string()]), &schema(), true).unwrap_err();
        assert!(error.message.contains("column[0]") && error.message.contains("id, Name"));
        let error = column_positions(None, &schema(), false).unwrap_err();
        assert!(error.message.contains("array<string>"), "{error:?}");
    }

    #[test]
    fn the_partition_names_every_key_in_order() {
        let spec = partition_spec(Some("PT=1,region=hz"), &schema()).unwrap();
        assert_eq!(spec.as_deref(), Some("pt=1,region=hz"));
        assert!(partition_spec(Some("region=hz,pt=1"), &schema()).is_err());
        assert!(partition_spec(Some("pt=1"), &schema()).is_err());
        assert!(partition_spec(None, &schema())
            .unwrap_err()
            .contains("pt=...,region=..."));
        let plain =
            TableSchema::from_json(&json!({"columns": [{"name": "a", "type": "bigint"}]})).unwrap();
        assert_eq!(partition_spec(None, &plain), Ok(None));
        assert!(partition_spec(Some("pt=1"), &plain).is_err());
    }
}
