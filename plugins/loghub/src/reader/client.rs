//! The reader's calls (ListShards, GetCursor, PullLogs) through the shared
//! [`LoghubClient`], each retried with the kit's policy and the reader's classifier: busy
//! services, broken connections and answers cut short are retried; an `InvalidCursor` is too,
//! which re-reads from the last cursor that succeeded (a task only moves on after a pull's
//! logs are sent); names, keys and shards that do not exist fail at once with the service's
//! code, message and request id.

use std::cell::Cell;
use std::time::Duration;

use super::codec;
use super::config::ReaderConfig;
use crate::client::{
    classify, next_quota_delay, retries_exhausted, retry_policy, ListedShard, LoghubClient,
    PullBuffers, Retry,
};
use datax_plugin_api::PluginError;
use datax_plugin_kit::http::{HttpError, ServiceError, SharedClient};
use datax_plugin_kit::retry::{retry, Cancellation, RetryError, RetryLogic, RetryPolicy};

/// Where a cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorAt {
    /// The shard's first log (`begin`) or its end (`end`).
    Begin,
    End,
    /// The first log group received at or after these Unix seconds.
    Time(i64),
}

impl CursorAt {
    fn query_value(self) -> String {
        match self {
            CursorAt::Begin => "begin".to_string(),
            CursorAt::End => "end".to_string(),
            CursorAt::Time(seconds) => seconds.to_string(),
        }
    }
}

/// One PullLogs: its `LogGroupList`, uncompressed and checked ([`codec::check`]), and where
/// the next pull starts.
pub struct Pull {
    pub log_group_list: Vec<u8>,
    pub next_cursor: String,
}

/// The reader's retry classifier, one per call: a clock skew is retried once, quota errors
/// wait longer each time.
#[derive(Default)]
pub struct ReaderRetries {
    clock_retried: Cell<bool>,
    quota_errors: Cell<u32>,
}

fn is_quota(error: &HttpError) -> bool {
    matches!(
        error.code(),
        Some("ReadQuotaExceed" | "ShardReadQuotaExceed" | "ExceedQuota")
    )
}

impl RetryLogic for ReaderRetries {
    type Error = HttpError;

    fn is_retriable(&self, error: &HttpError) -> bool {
        match error.code() {
            // The cursor is retried as it is: the last one that succeeded.
            Some("InvalidCursor") => return true,
            // A 200 whose body is cut short or does not decode.
            Some("BadResponse") if error.status() == Some(200) => return true,
            _ if is_quota(error) => return true,
            _ => {}
        }
        match classify(error) {
            Retry::Backoff | Retry::Quota => true,
            Retry::ClockSkew => !self.clock_retried.replace(true),
            Retry::Split | Retry::Fail => false,
        }
    }

    fn min_delay(&self, error: &HttpError) -> Option<Duration> {
        if !is_quota(error) && classify(error) != Retry::Quota {
            return None;
        }
        Some(next_quota_delay(&self.quota_errors))
    }
}

/// A logstore's shards, cursors and logs, with retries. Counts its retries.
pub struct LogstoreReader {
    client: LoghubClient,
    policy: RetryPolicy,
    /// `logstore L of project P at URL`, for messages.
    target: String,
    retries: Cell<u64>,
}

impl LogstoreReader {
    /// A reader of `config`'s logstore on the job's HTTP client.
    pub fn new(config: &ReaderConfig, http: &SharedClient) -> Result<Self, PluginError> {
        let client = LoghubClient::connect(&config.client_settings(), http)?;
        Ok(LogstoreReader {
            target: client.describe(&config.project),
            client,
            policy: retry_policy(config.max_retries),
            retries: Cell::new(0),
        })
    }

    /// Attempts that repeated a failed call.
    pub fn retries(&self) -> u64 {
        self.retries.get()
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// Every shard, read-only ones too.
    pub fn shards(&self, cancellation: &dyn Cancellation) -> Result<Vec<ListedShard>, PluginError> {
        self.call("ListShards", cancellation, || {
            self.client
                .list_all_shards(cancellation)
                .map(|(shards, _)| shards)
        })
    }

    pub fn cursor(
        &self,
        shard: u32,
        at: CursorAt,
        cancellation: &dyn Cancellation,
    ) -> Result<String, PluginError> {
        let from = at.query_value();
        self.call(&format!("GetCursor of shard {shard}"), cancellation, || {
            self.client.get_cursor(shard, &from, cancellation)
        })
    }

    /// Up to `count` groups from `cursor`, not past `end_cursor` (sls-pulllogs.md §4), read
    /// with `buffers` (the pull takes its `log_group_list`); a body that does not decode, or
    /// holds another number of groups than `x-log-count`, is pulled again.
    pub fn pull(
        &self,
        shard: u32,
        cursor: &str,
        count: u32,
        end_cursor: &str,
        buffers: &mut PullBuffers,
        cancellation: &dyn Cancellation,
    ) -> Result<Pull, PluginError> {
        self.call(&format!("PullLogs of shard {shard}"), cancellation, || {
            let pulled =
                (self.client).pull_logs(shard, cursor, count, end_cursor, buffers, cancellation)?;
            let bad = |message: String| {
                HttpError::Service(ServiceError {
                    status: 200,
                    code: "BadResponse".to_string(),
                    message,
                    request_id: Some(pulled.request_id.clone()),
                })
            };
            let groups = codec::check(&buffers.log_group_list)
                .map_err(|error| bad(format!("PullLogs: not a LogGroupList: {error}")))?;
            if groups != pulled.group_count {
                return Err(bad(format!(
                    "PullLogs: {groups} log groups where x-log-count says {}",
                    pulled.group_count
                )));
            }
            Ok(Pull {
                log_group_list: std::mem::take(&mut buffers.log_group_list),
                next_cursor: pulled.next_cursor,
            })
        })
    }

    fn call<T>(
        &self,
        call: &str,
        cancellation: &dyn Cancellation,
        mut attempt: impl FnMut() -> Result<T, HttpError>,
    ) -> Result<T, PluginError> {
        retry(
            &self.policy,
            &ReaderRetries::default(),
            cancellation,
            |error, retry, wait| {
                self.retries.set(self.retries.get() + 1);
                datax_plugin_api::log::warn(format!(
                    "{call} of {}: {error}; retry {retry} in {} ms",
                    self.target,
                    wait.as_millis()
                ));
            },
            |_| attempt(),
        )
        .map_err(|failed| self.failure(call, failed))
    }

    fn failure(&self, call: &str, failed: RetryError<HttpError>) -> PluginError {
        let (error, after) = match retries_exhausted(call, failed) {
            Ok(exhausted) => exhausted,
            Err(cancelled) => return cancelled,
        };
        let mut message = format!("{call} of {} failed{after}: {error}", self.target);
        match &error {
            HttpError::UnknownHost { .. } => message.push_str(&format!(
                "; the host {} does not exist: check endpoint",
                self.client.host_name()
            )),
            HttpError::Service(service) if service.code == "SignatureNotMatch" => {
                message.push_str("; check accessId and accessKey")
            }
            _ => {}
        }
        PluginError::new(error.kind(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datax_plugin_kit::http::TransportKind;

    fn service(status: u16, code: &str) -> HttpError {
        HttpError::Service(ServiceError {
            status,
            code: code.to_string(),
            message: String::new(),
            request_id: None,
        })
    }

    #[test]
    fn the_reader_retries_what_another_attempt_can_fix() {
        let logic = ReaderRetries::default();
        for (status, code) in [
            (400, "InvalidCursor"),
            (200, "BadResponse"),
            (502, "BadResponse"),
            (503, "ServerBusy"),
            (500, "InternalServerError"),
            (403, "ReadQuotaExceed"),
            (403, "ShardReadQuotaExceed"),
        ] {
            assert!(logic.is_retriable(&service(status, code)), "{code}");
        }
        assert!(logic.is_retriable(&HttpError::Transport {
            kind: TransportKind::Closed,
            message: "reset".into(),
        }));
        for (status, code) in [
            (404, "ShardNotExist"),
            (404, "LogStoreNotExist"),
            (404, "ProjectNotExist"),
            (401, "SignatureNotMatch"),
            (401, "Unauthorized"),
            (400, "ParameterInvalid"),
        ] {
            assert!(!logic.is_retriable(&service(status, code)), "{code}");
        }
        let skew = service(400, "RequestTimeExpired");
        assert!(logic.is_retriable(&skew));
        assert!(!logic.is_retriable(&skew));
        let quota = service(403, "ReadQuotaExceed");
        assert_eq!(logic.min_delay(&quota), Some(Duration::from_millis(500)));
        assert_eq!(logic.min_delay(&quota), Some(Duration::from_millis(1000)));
        assert_eq!(logic.min_delay(&service(503, "ServerBusy")), None);
    }
}
