//! The odpswriter job (DataX's `OdpsWriter.Job`): `prepare` checks the table, its columns and
//! the partition, then opens the one upload session of the job, which creates a missing
//! partition and, with `truncate`, replaces the rows at commit; `split` hands every task the
//! session and its own block ids; `post` commits every block once all tasks succeeded. A job
//! that fails never reaches `post`, so the table stays as it was.

use datax_plugin_api::{log, PluginError, WriterJob};
use datax_plugin_kit::config;
use datax_plugin_kit::retry::JobStop;

use crate::client::{describe_table, ClientSettings, OdpsClient};
use crate::partition;
use crate::schema::TableSchema;

use super::config::{Parameter, WriterConfig};
use super::convert::Converter;
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
}

struct Prepared {
    client: OdpsClient,
    resolved: Resolved,
    session_id: String,
}

/// What the parameter names, checked against the table.
struct Resolved {
    schema: TableSchema,
    /// The spec with the table's key names, in key order; `None` when not partitioned.
    partition: Option<String>,
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
        let parameter = parsed.log_warnings();
        let config = WriterConfig::new(&parameter)?;
        config.connection.note_public_endpoint();
        config.client_settings(None)?;
        TextStyle::new(&common_column)?;
        Ok(OdpsWriterJob {
            parameter,
            common_column,
            config,
            prepared: None,
        })
    }

    /// Reads the table's metadata and checks the columns and the partition; changes nothing.
    fn check(&mut self) -> Result<(), PluginError> {
        let client = self.client(CHECK_RETRIES)?;
        self.resolve(&client).map(drop)
    }

    fn prepare(&mut self) -> Result<(), PluginError> {
        let client = self.client(self.config.connection.max_retries)?;
        let resolved = self.resolve(&client)?;
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
            self.described(&resolved),
            if self.config.truncate {
                " (truncate: its rows are replaced at commit)"
            } else {
                ""
            }
        ));
        self.prepared = Some(Prepared {
            client,
            resolved,
            session_id: session.id,
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
                    session_id: prepared.session_id.clone(),
                    task_index: task_index as u64,
                    task_count: task_count as u64,
                })
            })
            .collect()
    }

    fn task(&self, task_config: &str) -> Result<OdpsWriterTask, PluginError> {
        OdpsWriterTask::from_config(task_config)
    }

    /// Every task succeeded: publish their blocks, all at once.
    fn post(&mut self) -> Result<(), PluginError> {
        let prepared = self.prepared()?;
        let target = UploadTarget {
            table: &self.config.table,
            partition: prepared.resolved.partition.as_deref(),
        };
        let project = &self.config.connection.project;
        let id = &prepared.session_id;
        let held = prepared
            .client
            .upload_session(&target, project, id, &JobStop)?;
        let committed = prepared
            .client
            .commit_upload(&target, project, id, &JobStop)?;
        log::info(format!(
            "committed {} blocks to {} (session {id}, {})",
            held.blocks.len(),
            self.described(&prepared.resolved),
            committed.status
        ));
        Ok(())
    }
}

impl OdpsWriterJob {
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
        OdpsClient::new(settings, &JobStop)
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
        column_positions(self.config.columns.as_deref(), &schema)?;
        let partition =
            partition_spec(self.config.partition.as_deref(), &schema).map_err(|message| {
                PluginError::config(format!(
                    "partition: {} {message}",
                    describe_table(&self.config.connection.project, &self.config.table, None)
                ))
            })?;
        Ok(Resolved { schema, partition })
    }
}

/// The table column each record column fills, in record order; every named column must be a
/// data column of a type this writer writes.
pub fn column_positions(
    names: Option<&[String]>,
    schema: &TableSchema,
) -> Result<Vec<usize>, PluginError> {
    let positions: Vec<usize> = match names {
        None => (0..schema.columns.len()).collect(),
        Some(names) => names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                schema
                    .column_index(name)
                    .ok_or_else(|| unknown_column(index, name, schema))
            })
            .collect::<Result<_, _>>()?,
    };
    for (index, &position) in positions.iter().enumerate() {
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
            column_positions(Some(&names), &schema()).unwrap(),
            vec![1, 0]
        );
        let error = column_positions(Some(&["pt".to_string()]), &schema()).unwrap_err();
        assert!(error.message.contains("partition key"), "{error:?}");
        let error = column_positions(Some(&["nope".to_string()]), &schema()).unwrap_err();
        assert!(error.message.contains("column[0]") && error.message.contains("id, Name"));
        let error = column_positions(None, &schema()).unwrap_err();
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
