//! odpsreader's `parameter` (datax-engine.md §7.1), read leniently as DataX does: numbers and
//! booleans may be strings, `null` and blank count as absent. Errors name the key and never
//! show a secret.

use datax_job_config::value::{as_bool, as_string, as_u64, describe, optional, present};
use datax_job_config::JobError;
use datax_plugin_api::PluginError;
use serde_json::Value;

use crate::auth::Credentials;
use crate::client::{ClientSettings, Endpoint};

/// How tasks are cut (datax-engine.md §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitMode {
    /// Row ranges of a session per partition (DataX's default).
    Record,
    /// One task per partition.
    Partition,
}

/// One entry of `column`.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSpec {
    /// `*`: every data column in table order.
    All,
    /// A data or partition column, matched case-insensitively.
    Name(String),
    /// `'text'`: a constant string column.
    Constant(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReaderConfig {
    pub credentials: Credentials,
    pub project: String,
    pub table: String,
    pub columns: Vec<ColumnSpec>,
    /// Partition patterns as written; empty for an unpartitioned table.
    pub partitions: Vec<String>,
    pub odps_server: String,
    pub tunnel_server: Option<String>,
    pub split_mode: SplitMode,
    pub compress: bool,
    pub package_authorized_project: Option<String>,
    pub max_retries: u32,
    pub success_on_no_partition: bool,
}

impl ReaderConfig {
    pub fn parse(parameter: &Value) -> Result<Self, PluginError> {
        parse(parameter).map_err(|error| PluginError::config(error.to_string()))
    }

    /// The client settings; `tunnel` overrides `tunnelServer` (tasks get the discovered one).
    pub fn client_settings(&self, tunnel: Option<&str>) -> Result<ClientSettings, PluginError> {
        let rest =
            Endpoint::parse(&self.odps_server, "odpsServer", false).map_err(PluginError::config)?;
        let tunnel = tunnel
            .or(self.tunnel_server.as_deref())
            .map(|url| Endpoint::parse(url, "tunnelServer", true).map_err(PluginError::config))
            .transpose()?;
        Ok(ClientSettings {
            credentials: self.credentials.clone(),
            rest,
            tunnel,
            project: self.project.clone(),
            default_project: self
                .package_authorized_project
                .clone()
                .unwrap_or_else(|| self.project.clone()),
            max_retries: self.max_retries,
        })
    }
}

fn invalid(path: &str, message: impl Into<String>) -> JobError {
    JobError::Invalid {
        path: path.to_string(),
        message: message.into(),
    }
}

/// A value the host could have filled from a data source: absent, blank or masked (`*****`)
/// means the user still has to supply it. The message never shows the value.
fn supplied(parameter: &Value, key: &str, what: &str) -> Result<Option<String>, JobError> {
    let Some(value) = optional(parameter, key, "", as_string)? else {
        return Ok(None);
    };
    if value.trim().chars().all(|c| c == '*') {
        return Err(invalid(
            key,
            format!(
                "is masked (\"*****\"): supply the real {what} with --datasources \
                 (a data source of type odps) or in the job"
            ),
        ));
    }
    Ok(Some(value.trim().to_string()))
}

fn required(parameter: &Value, key: &str, what: &str) -> Result<String, JobError> {
    supplied(parameter, key, what)?.ok_or_else(|| {
        invalid(
            key,
            format!("required ({what}); set it in the job or supply it with --datasources"),
        )
    })
}

fn parse(parameter: &Value) -> Result<ReaderConfig, JobError> {
    let access_id = required(parameter, "accessId", "AccessKey ID")?;
    let access_key = required(parameter, "accessKey", "AccessKey secret")?;
    let security_token = supplied(parameter, "securityToken", "STS token")?;
    let odps_server = supplied(parameter, "odpsServer", "MaxCompute endpoint, http://…/api")?
        .unwrap_or_else(|| PUBLIC_ODPS_SERVER.to_string());
    let tunnel_server = supplied(parameter, "tunnelServer", "tunnel endpoint")?;
    let project = required(parameter, "project", "the project holding the table")?;
    let table = required(parameter, "table", "the table to read")?;
    let package_authorized_project =
        optional(parameter, "packageAuthorizedProject", "", as_string)?
            .map(|project| project.trim().to_string());

    let columns = parse_columns(parameter)?;
    let partitions = match present(parameter, "partition") {
        None => Vec::new(),
        // DataWorks writes a single pattern as a string (datax-semantics.md §9.7).
        Some(Value::String(pattern)) => vec![pattern.trim().to_string()],
        Some(Value::Array(patterns)) => patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| as_string(pattern, &format!("partition[{index}]")))
            .filter(|pattern| !matches!(pattern, Ok(text) if text.trim().is_empty()))
            .map(|pattern| pattern.map(|text| text.trim().to_string()))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(JobError::WrongType {
                path: "partition".into(),
                expected: "a partition pattern or a list of them",
                found: describe(other),
            })
        }
    };
    let split_mode = match optional(parameter, "splitMode", "", as_string)? {
        None => SplitMode::Record,
        Some(mode) if mode.trim().eq_ignore_ascii_case("record") => SplitMode::Record,
        Some(mode) if mode.trim().eq_ignore_ascii_case("partition") => SplitMode::Partition,
        Some(mode) => {
            return Err(invalid(
                "splitMode",
                format!("\"{mode}\" is not record or partition"),
            ))
        }
    };
    let compress = optional(parameter, "isCompress", "", as_bool)?.unwrap_or(false);
    let max_retries = match optional(parameter, "maxRetryTime", "", as_u64)? {
        None => DEFAULT_MAX_RETRIES,
        Some(retries @ 1..=10) => retries as u32,
        Some(retries) => {
            return Err(invalid(
                "maxRetryTime",
                format!("{retries} is outside 1..10"),
            ))
        }
    };
    let success_on_no_partition =
        optional(parameter, "successOnNoPartition", "", as_bool)?.unwrap_or(false);
    for key in ["preSql", "postSql"] {
        let has_sql = match present(parameter, key) {
            Some(Value::Array(statements)) => !statements.is_empty(),
            Some(_) => true,
            None => false,
        };
        if has_sql {
            return Err(invalid(key, "running SQL is not supported by this reader"));
        }
    }

    Ok(ReaderConfig {
        credentials: Credentials {
            access_id,
            access_key,
            security_token,
        },
        project,
        table,
        columns,
        partitions,
        odps_server,
        tunnel_server,
        split_mode,
        compress,
        package_authorized_project,
        max_retries,
        success_on_no_partition,
    })
}

/// The service's public endpoint, for a job that names none (DataX requires `odpsServer`).
pub const PUBLIC_ODPS_SERVER: &str = "http://service.odps.aliyun.com/api";

/// The SDKs retry a 5xx answer at most 7 times (odps-tunnel.md §7).
const DEFAULT_MAX_RETRIES: u32 = 7;

fn parse_columns(parameter: &Value) -> Result<Vec<ColumnSpec>, JobError> {
    let entries = match present(parameter, "column") {
        None => {
            return Err(invalid(
                "column",
                "required: a list of column names, or [\"*\"] for every column",
            ))
        }
        Some(Value::Array(entries)) if entries.is_empty() => {
            return Err(invalid(
                "column",
                "the list is empty (use [\"*\"] for every column)",
            ))
        }
        Some(Value::Array(entries)) => entries.clone(),
        Some(Value::String(single)) => vec![Value::String(single.clone())],
        Some(other) => {
            return Err(JobError::WrongType {
                path: "column".into(),
                expected: "a list of column names",
                found: describe(other),
            })
        }
    };
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let path = format!("column[{index}]");
            let name = match entry {
                Value::String(name) => name.trim().to_string(),
                Value::Object(object) => match object.get("name") {
                    Some(Value::String(name)) => name.trim().to_string(),
                    _ => {
                        return Err(invalid(
                            &path,
                            "expected a column name (or an object with \"name\")",
                        ))
                    }
                },
                other => {
                    return Err(JobError::WrongType {
                        path,
                        expected: "a column name",
                        found: describe(other),
                    })
                }
            };
            if name.is_empty() {
                return Err(invalid(&path, "the column name is empty"));
            }
            Ok(if name == "*" {
                ColumnSpec::All
            } else if name.len() >= 2 && name.starts_with('\'') && name.ends_with('\'') {
                ColumnSpec::Constant(name[1..name.len() - 1].to_string())
            } else {
                ColumnSpec::Name(name)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "accessId": "id", "accessKey": "secret-value", "odpsServer": "http://h/api",
            "project": "p", "table": "t", "column": ["*"]
        })
    }

    fn parse_with(changes: Value) -> Result<ReaderConfig, String> {
        let mut parameter = base();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                parameter.as_object_mut().unwrap().remove(key);
            } else {
                parameter[key] = value.clone();
            }
        }
        ReaderConfig::parse(&parameter).map_err(|error| error.message.to_string())
    }

    #[test]
    fn reads_datax_and_dataworks_forms() {
        let config = parse_with(json!({
            "partition": "pt=1", "isCompress": "true", "splitMode": "Partition",
            "column": ["a", "'const'", "PT"], "maxRetryTime": "3",
            "packageAuthorizedProject": "other"
        }))
        .unwrap();
        assert_eq!(config.partitions, vec!["pt=1"]);
        assert!(config.compress);
        assert_eq!(config.split_mode, SplitMode::Partition);
        assert_eq!(
            config.columns,
            vec![
                ColumnSpec::Name("a".into()),
                ColumnSpec::Constant("const".into()),
                ColumnSpec::Name("PT".into())
            ]
        );
        assert_eq!(config.max_retries, 3);
        let settings = config.client_settings(None).unwrap();
        assert_eq!(settings.default_project, "other");
        assert!(settings.tunnel.is_none());

        let config = parse_with(json!({"partition": ["pt=1", " pt=2 "]})).unwrap();
        assert_eq!(config.partitions, vec!["pt=1", "pt=2"]);
        assert_eq!(config.columns, vec![ColumnSpec::All]);
        assert_eq!(config.split_mode, SplitMode::Record);
        assert!(!config.compress);
    }

    #[test]
    fn masked_or_missing_keys_say_how_to_supply_them() {
        let error = parse_with(json!({"accessKey": "*****"})).unwrap_err();
        assert_eq!(
            error,
            "accessKey: is masked (\"*****\"): supply the real AccessKey secret with \
             --datasources (a data source of type odps) or in the job"
        );
        let error = parse_with(json!({"project": ""})).unwrap_err();
        assert_eq!(
            error,
            "project: required (the project holding the table); set it in the job or supply \
             it with --datasources"
        );
        let config = parse_with(json!({"odpsServer": ""})).unwrap();
        assert_eq!(config.odps_server, PUBLIC_ODPS_SERVER);
        assert!(!parse_with(json!({"accessId": "****"}))
            .unwrap_err()
            .contains("secret-value"));
    }

    #[test]
    fn wrong_values_name_the_key() {
        assert_eq!(
            parse_with(json!({"splitMode": "fast"})).unwrap_err(),
            "splitMode: \"fast\" is not record or partition"
        );
        assert_eq!(
            parse_with(json!({"column": []})).unwrap_err(),
            "column: the list is empty (use [\"*\"] for every column)"
        );
        assert_eq!(
            parse_with(json!({"maxRetryTime": 11})).unwrap_err(),
            "maxRetryTime: 11 is outside 1..10"
        );
        assert_eq!(
            parse_with(json!({"isCompress": "yes"})).unwrap_err(),
            "isCompress: expected true or false, found \"yes\""
        );
        assert_eq!(
            parse_with(json!({"preSql": ["drop table x"]})).unwrap_err(),
            "preSql: running SQL is not supported by this reader"
        );
    }
}
