//! The loghubreader job: checks the parameter at init, the connection with `datax check`, and
//! splits the logstore into one task per shard with logs in the range.

use std::sync::Arc;

use datax_plugin_api::{PluginError, ReaderJob};
use datax_plugin_kit::config;
use datax_plugin_kit::http::SharedClient;
use datax_plugin_kit::retry::JobStop;
use serde::{Deserialize, Serialize};

use super::client::{CursorAt, LogstoreReader};
use super::config::{Parameter, ReaderConfig};
use super::task::{BufferPool, LoghubReaderTask};

/// What `split` gives a task: the job's `parameter` and the shard it reads.
#[derive(Serialize, Deserialize)]
struct TaskConfig {
    parameter: Parameter,
    shard: u32,
}

pub struct LoghubReaderJob {
    parameter: Parameter,
    /// Shared by the job's tasks, in turn.
    buffers: BufferPool,
    /// The job's one HTTP client, shared by its tasks.
    http: Arc<SharedClient>,
}

impl ReaderJob for LoghubReaderJob {
    type Task = LoghubReaderTask;

    const DATAX_NAMES: &'static [&'static str] = &["loghubreader"];

    /// The range is by receive time, `[beginDateTime, endDateTime)`, as `yyyyMMddHHmmss` or
    /// `yyyyMMdd` in `timeZone` (or `beginTimestampMillis`/`endTimestampMillis`). `column`:
    /// log keys, meta columns (`C_Topic`, `C_Source`, `C_LogTime`, …), tags (`__tag__:key`).
    /// `batchSize`: log groups per PullLogs (1 to 1000). `shard`: read one shard only.
    const TEMPLATE: &'static str = r#"{
    "endpoint": "cn-hangzhou.log.aliyuncs.com",
    "accessId": "",
    "accessKey": "",
    "securityToken": "",
    "project": "",
    "logstore": "",
    "beginDateTime": "20240101000000",
    "endDateTime": "20240102000000",
    "timeZone": "GMT+8",
    "batchSize": 256,
    "column": ["key1", "key2", "C_Topic", "C_Source", "C_LogTime"],
    "maxRetries": 7,
    "connectTimeout": 10,
    "requestTimeout": 60
}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parameter = config::parse::<Parameter>(parameter, "parameter")?.log_warnings();
        let http = ReaderConfig::new(&parameter)?
            .client_settings()
            .shared_http();
        Ok(LoghubReaderJob {
            parameter,
            buffers: BufferPool::default(),
            http,
        })
    }

    /// ListShards: the endpoint answers, the keys sign, the project and logstore exist.
    fn check(&mut self) -> Result<(), PluginError> {
        let config = ReaderConfig::new(&self.parameter)?;
        let reader = LogstoreReader::new(&config, &self.http)?;
        let shards = reader.shards(&JobStop)?;
        datax_plugin_api::log::info(format!("{} has {} shards", reader.target(), shards.len()));
        Ok(())
    }

    /// One task per shard (or the one `shard` names), read-only shards included; with both
    /// ends of the range set, shards whose begin and end cursors are equal hold nothing in it
    /// and are skipped, but one task always stays (as DataX).
    fn split(&mut self, _advice: usize) -> Result<Vec<String>, PluginError> {
        let config = ReaderConfig::new(&self.parameter)?;
        let reader = LogstoreReader::new(&config, &self.http)?;
        let listed: Vec<u32> = reader
            .shards(&JobStop)?
            .iter()
            .map(|shard| shard.id)
            .collect();
        let shards = match config.shard {
            Some(shard) if listed.contains(&shard) => vec![shard],
            Some(shard) => {
                return Err(PluginError::config(format!(
                    "shard: {} has no shard {shard} (it has {listed:?})",
                    reader.target()
                )))
            }
            None => listed,
        };
        if shards.is_empty() {
            return Err(PluginError::config(format!(
                "{} has no shard",
                reader.target()
            )));
        }
        let mut tasks = Vec::with_capacity(shards.len());
        for (index, &shard) in shards.iter().enumerate() {
            if let (Some(begin), Some(end)) = (config.begin, config.end) {
                let begin = reader.cursor(shard, CursorAt::Time(begin), &JobStop)?;
                let end = reader.cursor(shard, CursorAt::Time(end), &JobStop)?;
                let last = index + 1 == shards.len();
                if begin == end && !(last && tasks.is_empty()) {
                    datax_plugin_api::log::info(format!(
                        "shard {shard} has no logs in the range: skipped"
                    ));
                    continue;
                }
            }
            tasks.push(config::task_to_json(&TaskConfig {
                parameter: self.parameter.clone(),
                shard,
            })?);
        }
        Ok(tasks)
    }

    fn task(&self, task_config: &str) -> Result<LoghubReaderTask, PluginError> {
        let TaskConfig { parameter, shard } = config::task_from_json(task_config)?;
        let config = ReaderConfig::new(&parameter)?;
        LoghubReaderTask::new(config, &self.http, shard, self.buffers.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn the_template_is_a_valid_parameter_once_filled() {
        config::assert_template_matches::<Parameter>(LoghubReaderJob::TEMPLATE);
        let mut template: Value = serde_json::from_str(LoghubReaderJob::TEMPLATE).unwrap();
        for key in ["accessId", "accessKey", "project", "logstore"] {
            template[key] = json!("x");
        }
        let job = LoghubReaderJob::init(&template.to_string()).unwrap();
        let task = config::task_to_json(&TaskConfig {
            parameter: job.parameter.clone(),
            shard: 2,
        })
        .unwrap();
        job.task(&task).unwrap();
    }

    #[test]
    fn a_task_configuration_that_is_not_one_says_so() {
        let job = LoghubReaderJob {
            parameter: Parameter::default(),
            buffers: BufferPool::default(),
            http: SharedClient::new(|builder| builder),
        };
        let error = job.task(r#"{"parameter": {}}"#).err().unwrap();
        assert!(
            error.message.starts_with("task configuration: "),
            "{}",
            error.message
        );
    }
}
