//! The control API under `/_sandbox/`: stats, the fault plan and the stored logs.
//! Unauthenticated: the sandbox listens on loopback only.
//!
//! * `GET /_sandbox/endpoints`
//! * `GET /_sandbox/stats`
//! * `GET /_sandbox/faults`, `PUT|POST /_sandbox/faults` (a JSON list of rules, or
//!   `{"rules": [...]}`), `DELETE /_sandbox/faults`
//! * `GET /_sandbox/logstores` (counts), `GET /_sandbox/logstores/{project}/{logstore}/logs`
//!   (`?limit=N`: the first N logs; `count` is always the total)
//! * `POST /_sandbox/logstores/{project}/{logstore}/shards/{shard}/groups`: appends a log
//!   group (an [`AppendedGroup`]) to a shard with the receive time it gives

use hyper::{Method, StatusCode};
use serde_json::json;

use crate::faults::FaultRule;
use crate::http::{json_response, Reply, SandboxRequest};
use crate::server::State;
use crate::sls::store::{AppendedGroup, Route};

pub(crate) fn handle(state: &State, request: &SandboxRequest) -> Reply {
    let segments: Vec<&str> = request
        .path
        .trim_end_matches('/')
        .split('/')
        .skip(2)
        .collect();
    let method = &request.method;
    let (status, body) = match (segments.as_slice(), method) {
        (["endpoints"], &Method::GET) => (
            StatusCode::OK,
            json!({
                "port": state.port,
                "odps_endpoint": format!("http://127.0.0.1:{}/api", state.port),
                "tunnel_endpoint": format!("http://127.0.0.1:{}", state.port),
                "sls_endpoint": format!("127.0.0.1:{}", state.port),
            }),
        ),
        (["stats"], &Method::GET) => (StatusCode::OK, json!(state.stats.snapshot())),
        (["faults"], &Method::GET) => (StatusCode::OK, json!(state.faults.current())),
        (["faults"], &Method::PUT) | (["faults"], &Method::POST) => {
            match parse_rules(&request.body) {
                Ok(rules) => {
                    state.faults.replace(rules);
                    (StatusCode::OK, json!(state.faults.current()))
                }
                Err(message) => (StatusCode::BAD_REQUEST, json!({ "error": message })),
            }
        }
        (["faults"], &Method::DELETE) => {
            state.faults.replace(Vec::new());
            (StatusCode::OK, json!([]))
        }
        (["logstores"], &Method::GET) => {
            let counts: Vec<_> = state
                .log_store
                .counts()
                .into_iter()
                .map(|(project, logstore, count)| {
                    json!({ "project": project, "logstore": logstore, "count": count })
                })
                .collect();
            (StatusCode::OK, json!(counts))
        }
        (["logstores", project, logstore, "logs"], &Method::GET) => {
            let limit = request.param("limit").and_then(|limit| limit.parse().ok());
            match state.log_store.read(project, logstore, limit) {
                Some(logs) => (
                    StatusCode::OK,
                    json!({ "count": state.log_store.count(project, logstore), "logs": logs }),
                ),
                None => (
                    StatusCode::NOT_FOUND,
                    json!({ "error": format!("no logstore {project}/{logstore}") }),
                ),
            }
        }
        (["logstores", project, logstore, "shards", shard, "groups"], &Method::POST) => {
            append_group(state, project, logstore, shard, &request.body)
        }
        _ => (
            StatusCode::NOT_FOUND,
            json!({ "error": format!("unknown control request {method} {}", request.path) }),
        ),
    };
    state
        .stats
        .request("control", if status.is_success() { "ok" } else { "error" });
    Reply::Respond(json_response(status, &body))
}

fn append_group(
    state: &State,
    project: &str,
    logstore: &str,
    shard: &str,
    body: &[u8],
) -> (StatusCode, serde_json::Value) {
    let group: AppendedGroup = match serde_json::from_slice(body) {
        Ok(group) => group,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                json!({ "error": format!("not a group: {e}") }),
            )
        }
    };
    let Ok(shard) = shard.parse() else {
        return (
            StatusCode::BAD_REQUEST,
            json!({ "error": format!("shard {shard} is not a number") }),
        );
    };
    if !state.log_store.has_logstore(project, logstore) {
        return (
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no logstore {project}/{logstore}") }),
        );
    }
    let appended = state.log_store.append(
        project,
        logstore,
        Route::Shard(shard),
        &group.to_log_group(),
        group.receive_time,
    );
    match appended {
        Ok(logs) => (StatusCode::OK, json!({ "logs": logs })),
        Err(error) => (error.status, json!({ "error": error.message })),
    }
}

fn parse_rules(body: &[u8]) -> Result<Vec<FaultRule>, String> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Plan {
        Rules(Vec<FaultRule>),
        Wrapped { rules: Vec<FaultRule> },
    }
    match serde_json::from_slice::<Plan>(body) {
        Ok(Plan::Rules(rules)) | Ok(Plan::Wrapped { rules }) => Ok(rules),
        Err(e) => Err(format!("not a fault plan: {e}")),
    }
}
