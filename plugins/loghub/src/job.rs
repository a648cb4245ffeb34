//! The loghubwriter job: checks the parameter at init, the connection with `datax check`, and
//! gives every task the same parameter and the job's one HTTP client.

use std::sync::Arc;

use datax_plugin_api::{PluginError, WriterJob};
use datax_plugin_kit::config::{self, LastRead};
use datax_plugin_kit::http::SharedClient;
use datax_plugin_kit::retry::JobStop;
use datax_plugin_kit::text::ColumnSettings;
use serde::{Deserialize, Serialize};

use crate::client::ClientSettings;
use crate::config::{Parameter, WriterConfig};
use crate::shipper::Shipper;
use crate::task::LoghubWriterTask;

/// What `split` gives a task: the job's `parameter` and `common.column`, checked again by
/// the task.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskConfig {
    parameter: Parameter,
    #[serde(default)]
    common_column: ColumnSettings,
}

pub struct LoghubWriterJob {
    parameter: Parameter,
    common_column: ColumnSettings,
    /// The job's one HTTP client, shared by its tasks, built when first used.
    http: Arc<SharedClient>,
    /// The last task configuration read, and the configuration it made: every task of a job
    /// has the same one (the job's parameter).
    last_task: LastRead<String, WriterConfig>,
}

impl WriterJob for LoghubWriterJob {
    type Task = LoghubWriterTask;

    const DATAX_NAMES: &'static [&'static str] = &["loghubwriter"];

    /// `time` names one of `column` whose value gives the log time, read with `timeFormat`
    /// (`bigint`, `yyyy-MM-dd HH:mm:ss`, `%Y-%m-%d %H:%M:%S` or `%Y-%m-%d %H:%i:%S`) in
    /// `timeZone` (a fixed offset); without it logs get the time they are sent.
    /// `securityToken` is for STS credentials only. `hashKey: true` sends each log to the
    /// shard of the MD5 of its last `…_id` column. `compress`: lz4, none, deflate or zstd.
    /// `maxInFlight`: PutLogs requests each task keeps in flight (1 to 16). `maxRetries`
    /// counts the retries of one request; the timeouts are seconds.
    const TEMPLATE: &'static str = r#"{
    "endpoint": "cn-hangzhou.log.aliyuncs.com",
    "accessId": "",
    "accessKey": "",
    "securityToken": "",
    "project": "",
    "logstore": "",
    "topic": "",
    "source": "",
    "batchSize": 1024,
    "column": ["col0", "col1"],
    "time": "",
    "timeFormat": "yyyy-MM-dd HH:mm:ss",
    "timeZone": "GMT+8",
    "hashKey": false,
    "compress": "lz4",
    "maxInFlight": 4,
    "maxRetries": 7,
    "connectTimeout": 10,
    "requestTimeout": 60
}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parsed = config::parse::<Parameter>(parameter, "parameter")?;
        let common_column = parsed.common_column.clone();
        let parameter = parsed.log_warnings();
        let config = WriterConfig::new(&parameter, &common_column, true)?;
        let http = ClientSettings::of_writer(&config).shared_http();
        Ok(LoghubWriterJob {
            parameter,
            common_column,
            http,
            last_task: LastRead::default(),
        })
    }

    /// ListShards: the endpoint answers, the keys sign, the project and logstore exist.
    fn check(&mut self) -> Result<(), PluginError> {
        let config = WriterConfig::new(&self.parameter, &self.common_column, false)?;
        let shipper = Shipper::new(&config, &self.http)?;
        let shards = shipper.list_shards(&JobStop)?;
        datax_plugin_api::log::info(format!(
            "logstore {} of project {} has {} writable shards",
            config.logstore,
            config.project,
            shards.len()
        ));
        Ok(())
    }

    /// Every task writes with the job's parameter.
    fn split(&mut self, reader_tasks: usize) -> Result<Vec<String>, PluginError> {
        let task = TaskConfig {
            parameter: self.parameter.clone(),
            common_column: self.common_column.clone(),
        };
        Ok(vec![config::task_to_json(&task)?; reader_tasks])
    }

    fn task(&self, task_config: &str) -> Result<LoghubWriterTask, PluginError> {
        let config = self.last_task.get_or_read(
            |text| text == task_config,
            || {
                let read: TaskConfig = config::task_from_json(task_config)?;
                let config = WriterConfig::new(&read.parameter, &read.common_column, false)?;
                Ok::<_, PluginError>((task_config.to_string(), config))
            },
        )?;
        Ok(LoghubWriterTask::new(config, Arc::clone(&self.http)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn the_template_is_a_valid_parameter_once_filled() {
        config::assert_template_matches::<Parameter>(LoghubWriterJob::TEMPLATE);
        let mut template: Value = serde_json::from_str(LoghubWriterJob::TEMPLATE).unwrap();
        for key in ["accessId", "accessKey", "project", "logstore"] {
            template[key] = json!("x");
        }
        let mut job = LoghubWriterJob::init(&template.to_string()).unwrap();
        let tasks = job.split(3).unwrap();
        assert_eq!(tasks.len(), 3);
        let task_config: TaskConfig = config::task_from_json(&tasks[2]).unwrap();
        assert_eq!(task_config.parameter, job.parameter);
        assert_eq!(task_config.parameter.access_key.as_deref(), Some("x"));
        job.task(&tasks[2]).unwrap();
    }

    #[test]
    fn tasks_get_the_jobs_common_column() {
        let mut parameter: Value = serde_json::from_str(LoghubWriterJob::TEMPLATE).unwrap();
        for key in ["accessId", "accessKey", "project", "logstore"] {
            parameter[key] = json!("x");
        }
        parameter["_datax"] = json!({"column": {"timeZone": "UTC"}});
        let mut job = LoghubWriterJob::init(&parameter.to_string()).unwrap();
        let tasks = job.split(1).unwrap();
        let task_config: TaskConfig = config::task_from_json(&tasks[0]).unwrap();
        assert_eq!(task_config.common_column.time_zone.as_deref(), Some("UTC"));
    }

    #[test]
    fn a_task_configuration_that_is_not_one_says_so() {
        let job = LoghubWriterJob {
            parameter: Parameter::default(),
            common_column: ColumnSettings::default(),
            http: SharedClient::new(|config| config),
            last_task: LastRead::default(),
        };
        let error = job.task(r#"{"parameters": {}}"#).err().unwrap();
        assert!(
            error
                .message
                .starts_with("task configuration: parameter: required"),
            "{}",
            error.message
        );
    }
}
