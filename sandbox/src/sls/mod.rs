//! The Log Service side: PutLogs (`/logstores/{ls}/shards/lb`, `/shards/route?key=`),
//! ListShards, GetCursor and PullLogs, with the project taken from
//! `Host: {project}.{endpoint}` (sls-putlogs.md §2).

pub mod auth;
mod generator;
pub mod proto;
mod pull;
pub(crate) mod putlogs;
pub mod store;

use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::faults::{FaultAction, RequestKind};
use crate::http::{new_request_id, response, Reply, ResponseBody, SandboxRequest};
use crate::server::{take_fault, State};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlsConfig {
    #[serde(default)]
    pub projects: Vec<SlsProjectConfig>,
    /// Largest accepted uncompressed LogGroup. 5 MiB, the server figure in go-sdk #74 and the
    /// documented log-group limit (sls-putlogs.md §9).
    #[serde(default = "default_max_raw_body_bytes")]
    pub max_raw_body_bytes: u64,
    /// Most logs accepted in one LogGroup; the producers' cap (sls-putlogs.md §9).
    #[serde(default = "default_max_logs_per_group")]
    pub max_logs_per_group: u64,
}

impl Default for SlsConfig {
    fn default() -> Self {
        SlsConfig {
            projects: Vec::new(),
            max_raw_body_bytes: default_max_raw_body_bytes(),
            max_logs_per_group: default_max_logs_per_group(),
        }
    }
}

fn default_max_raw_body_bytes() -> u64 {
    5 * 1024 * 1024
}

fn default_max_logs_per_group() -> u64 {
    40_960
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlsProjectConfig {
    pub name: String,
    #[serde(default)]
    pub logstores: Vec<LogstoreConfig>,
}

/// A logstore: its name alone (one shard), or `{"name": .., "shards": N, "split": [..]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum LogstoreConfig {
    Name(String),
    Sharded {
        name: String,
        /// Shards splitting the hash space evenly, 1 to 256 (default 1).
        #[serde(default = "one_shard")]
        shards: u32,
        /// Shards split in two, in order, as the service splits them: each becomes read-only
        /// and two read-write shards with the halves of its range get the next ids.
        #[serde(default)]
        split: Vec<u32>,
        /// Logs made up from a seed as they are pulled, in constant memory (for benchmarks);
        /// such a logstore takes no writes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        generated: Option<GeneratedLogs>,
    },
}

/// A generated logstore's content: every shard holds `groups_per_shard` groups of
/// `logs_per_group` logs, received `groups_per_second` a second from `start_time`. Log `j` of
/// group `i` of shard `s` has `seq` = `s-i-j` and values drawn from `seed`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GeneratedLogs {
    pub groups_per_shard: u64,
    /// 1 to 10000 (default 100).
    #[serde(default = "default_logs_per_group")]
    pub logs_per_group: u32,
    #[serde(default)]
    pub seed: u64,
    /// The receive time of each shard's first group, Unix seconds (default 1700000000).
    #[serde(default = "default_start_time")]
    pub start_time: u32,
    /// 1 or more (default 1).
    #[serde(default = "one_group_a_second")]
    pub groups_per_second: u32,
}

fn default_logs_per_group() -> u32 {
    100
}

fn default_start_time() -> u32 {
    1_700_000_000
}

fn one_group_a_second() -> u32 {
    1
}

/// The most shards a sandbox logstore has (the service's default limit per logstore).
pub const MAX_SHARDS: u32 = 256;

fn one_shard() -> u32 {
    1
}

impl LogstoreConfig {
    pub fn name(&self) -> &str {
        match self {
            LogstoreConfig::Name(name) | LogstoreConfig::Sharded { name, .. } => name,
        }
    }

    pub fn shards(&self) -> u32 {
        match self {
            LogstoreConfig::Name(_) => 1,
            LogstoreConfig::Sharded { shards, .. } => *shards,
        }
    }

    pub fn split(&self) -> &[u32] {
        match self {
            LogstoreConfig::Name(_) => &[],
            LogstoreConfig::Sharded { split, .. } => split,
        }
    }

    pub fn generated(&self) -> Option<&GeneratedLogs> {
        match self {
            LogstoreConfig::Name(_) => None,
            LogstoreConfig::Sharded { generated, .. } => generated.as_ref(),
        }
    }
}

/// A successful answer: its body and the headers that describe it.
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn empty() -> Self {
        Answer {
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn json(value: serde_json::Value) -> Self {
        Answer {
            body: value.to_string().into_bytes(),
            headers: vec![("content-type", "application/json".into())],
        }
    }
}

/// A Log Service error: JSON `{errorCode, errorMessage}` plus `x-log-requestid`
/// (sls-putlogs.md §7).
#[derive(Debug)]
pub(crate) struct SlsError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl SlsError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        SlsError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        SlsError::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn into_response(self, request_id: &str) -> Response<ResponseBody> {
        let body = serde_json::json!({
            "errorCode": self.code,
            "errorMessage": self.message,
        });
        response(
            self.status,
            &[
                ("content-type", "application/json".into()),
                ("x-log-requestid", request_id.into()),
            ],
            body.to_string(),
        )
    }
}

/// The answer to a body too large to even read.
pub(crate) fn body_too_large() -> Response<ResponseBody> {
    SlsError::bad_request("PostBodyTooLarge", "body size exceeds the sandbox limit")
        .into_response(&new_request_id())
}

/// Which kind of Log Service request this is, for the fault plan: GetCursor and PullLogs by
/// their `type`; everything else (PutLogs, ListShards) as PutLogs.
fn request_kind(request: &SandboxRequest) -> RequestKind {
    if request.method != hyper::Method::GET {
        return RequestKind::PutLogs;
    }
    match request.param("type").as_deref() {
        Some("cursor") => RequestKind::GetCursor,
        Some("log") => RequestKind::PullLogs,
        _ => RequestKind::PutLogs,
    }
}

pub(crate) async fn handle(state: &State, request: &SandboxRequest) -> Reply {
    let request_id = new_request_id();
    let Some(admitted) = take_fault(
        state,
        request_kind(request),
        &request.path,
        "sls",
        SlsError::new,
    )
    .await
    else {
        return Reply::Drop;
    };
    let outcome =
        admitted.and_then(|fault| putlogs::serve(state, request).map(|answer| (answer, fault)));
    match outcome {
        Ok((_, Some(FaultAction::DropReply))) => {
            state.stats.request("sls", "fault:drop_reply");
            Reply::Drop
        }
        Ok((mut answer, fault)) => {
            let outcome = match fault {
                Some(FaultAction::TruncateBody { after_bytes }) => {
                    let keep = usize::try_from(after_bytes).unwrap_or(usize::MAX);
                    answer.body.truncate(keep);
                    "fault:truncate_body"
                }
                _ => "ok",
            };
            state.stats.request("sls", outcome);
            let mut headers = vec![("x-log-requestid", request_id)];
            headers.extend(answer.headers);
            Reply::Respond(response(StatusCode::OK, &headers, answer.body))
        }
        Err(error) => {
            state.stats.request("sls", &error.code);
            Reply::Respond(error.into_response(&request_id))
        }
    }
}
