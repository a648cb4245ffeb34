//! The Log Service side: PutLogs (`/logstores/{ls}/shards/lb`, `/shards/route?key=`) and
//! ListShards, with the project taken from `Host: {project}.{endpoint}` (sls-putlogs.md §2).

pub mod auth;
pub mod proto;
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
    pub logstores: Vec<String>,
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

pub(crate) async fn handle(state: &State, request: &SandboxRequest) -> Reply {
    let request_id = new_request_id();
    let Some(admitted) = take_fault(
        state,
        RequestKind::PutLogs,
        &request.path,
        "sls",
        SlsError::new,
    )
    .await
    else {
        return Reply::Drop;
    };
    let outcome =
        admitted.and_then(|fault| putlogs::serve(state, request).map(|body| (body, fault)));
    match outcome {
        Ok((_, Some(FaultAction::DropReply))) => {
            state.stats.request("sls", "fault:drop_reply");
            Reply::Drop
        }
        Ok((body, _)) => {
            state.stats.request("sls", "ok");
            let mut headers = vec![("x-log-requestid", request_id)];
            if !body.is_empty() {
                headers.push(("content-type", "application/json".into()));
            }
            Reply::Respond(response(StatusCode::OK, &headers, body))
        }
        Err(error) => {
            state.stats.request("sls", &error.code);
            Reply::Respond(error.into_response(&request_id))
        }
    }
}
