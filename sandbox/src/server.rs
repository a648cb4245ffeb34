//! The HTTP server: one loopback port serving MaxCompute REST (`/api/...`), the tunnel
//! (`/projects/...`), Log Service (`/logstores/...`) and the control API (`/_sandbox/...`).

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::config::SandboxConfig;
use crate::faults::{FaultAction, FaultInjector, FaultRule, RequestKind};
use crate::http::{response, Reply, ResponseBody, SandboxRequest};
use crate::odps::cache::RecordCache;
use crate::odps::tunnel::DownloadSessions;
use crate::odps::Catalog;
use crate::sls::store::{AppendedGroup, LogStore, Route, StoredLog};
use crate::stats::{Stats, StatsRecorder};
use crate::{control, odps, sls};

/// Request bodies above this are refused before being read (PutLogs bodies are far smaller).
const MAX_REQUEST_BODY: usize = 64 * 1024 * 1024;

pub(crate) struct State {
    pub config: SandboxConfig,
    pub port: u16,
    pub catalog: Catalog,
    pub sessions: DownloadSessions,
    pub record_cache: Arc<RecordCache>,
    pub log_store: LogStore,
    pub faults: FaultInjector,
    pub stats: Arc<StatsRecorder>,
}

/// What the fault plan decided for a request to `service` (its stats label): `None` when the
/// connection is to be closed without a reply (counted as `fault:close`); otherwise the body
/// fault to serve with, if any, or the injected error, shaped by the service's `error`.
pub(crate) async fn take_fault<E>(
    state: &State,
    kind: RequestKind,
    path: &str,
    service: &str,
    error: impl FnOnce(StatusCode, String, String) -> E,
) -> Option<Result<Option<FaultAction>, E>> {
    let Some(action) = state.faults.pick(kind, path) else {
        return Some(Ok(None));
    };
    state.stats.fault_injected();
    match action {
        FaultAction::Error {
            status,
            code,
            message,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = if message.is_empty() {
                format!("{code} (injected by the sandbox fault plan)")
            } else {
                message
            };
            Some(Err(error(status, code, message)))
        }
        FaultAction::Close => {
            state.stats.request(service, "fault:close");
            None
        }
        FaultAction::Delay { millis } => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Some(Ok(None))
        }
        body_fault => Some(Ok(Some(body_fault))),
    }
}

/// The addresses a client needs, as printed by the binary and written to `--ports-file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub port: u16,
    /// MaxCompute REST endpoint, `http://127.0.0.1:PORT/api`.
    pub odps_endpoint: String,
    /// MaxCompute tunnel endpoint, `http://127.0.0.1:PORT`.
    pub tunnel_endpoint: String,
    /// Log Service endpoint, `127.0.0.1:PORT`; clients send `Host: {project}.{endpoint}`.
    pub sls_endpoint: String,
    /// Control API, `http://127.0.0.1:PORT/_sandbox`.
    pub control_endpoint: String,
}

impl Endpoints {
    fn for_port(port: u16) -> Self {
        Endpoints {
            port,
            odps_endpoint: format!("http://127.0.0.1:{port}/api"),
            tunnel_endpoint: format!("http://127.0.0.1:{port}"),
            sls_endpoint: format!("127.0.0.1:{port}"),
            control_endpoint: format!("http://127.0.0.1:{port}/_sandbox"),
        }
    }
}

/// Starts sandboxes.
pub struct Sandbox;

impl Sandbox {
    /// Binds 127.0.0.1 (the configured port, or a free one for `0`) and serves on a
    /// background runtime until the handle is dropped.
    pub fn start(config: SandboxConfig) -> anyhow::Result<SandboxHandle> {
        let catalog = Catalog::new(&config.odps)?;
        let (temp_dir, data_dir) = match &config.data_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("datax-sandbox-")
                    .tempdir()?;
                let path = temp.path().to_path_buf();
                (Some(temp), path)
            }
        };
        let log_store = LogStore::open(&data_dir, &config.sls)?;
        let listener = StdTcpListener::bind(SocketAddr::from(([127, 0, 0, 1], config.port)))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();

        let state = Arc::new(State {
            faults: FaultInjector::new(config.faults.clone()),
            record_cache: Arc::new(RecordCache::new(config.odps.record_cache_bytes())),
            config,
            port,
            catalog,
            sessions: DownloadSessions::default(),
            log_store,
            stats: Arc::default(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("datax-sandbox")
            .enable_all()
            .build()?;
        let (shutdown_sender, shutdown_receiver) = oneshot::channel();
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        runtime.spawn(accept_loop(listener, state.clone(), shutdown_receiver));
        Ok(SandboxHandle {
            endpoints: Endpoints::for_port(port),
            state,
            data_dir,
            shutdown: Some(shutdown_sender),
            runtime: Some(runtime),
            _temp_dir: temp_dir,
        })
    }
}

/// A running sandbox; dropping it stops the server.
pub struct SandboxHandle {
    endpoints: Endpoints,
    state: Arc<State>,
    data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
    _temp_dir: Option<tempfile::TempDir>,
}

impl SandboxHandle {
    pub fn port(&self) -> u16 {
        self.endpoints.port
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn odps_endpoint(&self) -> &str {
        &self.endpoints.odps_endpoint
    }

    pub fn tunnel_endpoint(&self) -> &str {
        &self.endpoints.tunnel_endpoint
    }

    pub fn sls_endpoint(&self) -> &str {
        &self.endpoints.sls_endpoint
    }

    pub fn control_endpoint(&self) -> &str {
        &self.endpoints.control_endpoint
    }

    /// Where received logs are stored, one `{project}/{logstore}.jsonl` file per logstore.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Every log a logstore received, in arrival order (duplicates included).
    pub fn logs(&self, project: &str, logstore: &str) -> Vec<StoredLog> {
        self.state
            .log_store
            .read(project, logstore, None)
            .unwrap_or_default()
    }

    /// Appends a log group to a shard with the receive time it gives (the control API's
    /// `POST .../shards/{shard}/groups`); errors name an unknown logstore or shard.
    pub fn append_group(
        &self,
        project: &str,
        logstore: &str,
        shard: u32,
        group: &AppendedGroup,
    ) -> Result<u64, String> {
        if !self.state.log_store.has_logstore(project, logstore) {
            return Err(format!("no logstore {project}/{logstore}"));
        }
        self.state
            .log_store
            .append(
                project,
                logstore,
                Route::Shard(shard),
                &group.to_log_group(),
                group.receive_time,
            )
            .map_err(|error| error.message)
    }

    /// How many logs a logstore received.
    pub fn log_count(&self, project: &str, logstore: &str) -> u64 {
        self.state.log_store.count(project, logstore)
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.state.faults.replace(rules);
    }

    /// The fault rules still active.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.state.faults.current()
    }

    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    /// Stops serving and waits (briefly) for open connections to finish.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.shut_down();
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        // As the services do: an answer's head and body go out without waiting for the
        // client's delayed ACK (40 ms on a kept-alive connection under Nagle).
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| serve(state.clone(), request));
            // Errors here are clients going away or injected drops: nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A block upload an `abort_body` rule cuts short: the bytes to read first.
fn upload_abort(state: &State, parts: &hyper::http::request::Parts) -> Option<u64> {
    let query = parts.uri.query().unwrap_or_default();
    let is_upload = parts.method == hyper::Method::PUT
        && parts.uri.path().starts_with("/projects/")
        && query.split('&').any(|pair| pair.starts_with("blockid="));
    if !is_upload {
        return None;
    }
    let after_bytes = state.faults.pick_upload_abort(parts.uri.path())?;
    state.stats.fault_injected();
    state.stats.request("tunnel", "fault:abort_body");
    Some(after_bytes)
}

/// Returned to hyper to close a connection without a response.
#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the sandbox fault plan")
    }
}

impl std::error::Error for DroppedByFault {}

async fn serve(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, DroppedByFault> {
    let (parts, mut body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let has_content_length = parts.headers.contains_key(CONTENT_LENGTH);
    if let Some(after_bytes) = upload_abort(&state, &parts) {
        // Read part of the block, then close while the client is still sending.
        let mut read = 0u64;
        while read < after_bytes {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
                _ => break,
            }
        }
        return Err(DroppedByFault);
    }
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) if path.starts_with("/logstores") => {
            return Ok(sls::body_too_large());
        }
        Err(_) => {
            return Ok(response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &[],
                "request body too large or unreadable",
            ))
        }
    };
    let request = SandboxRequest {
        method: parts.method,
        query: parts.uri.query().unwrap_or_default().to_string(),
        path,
        headers: parts.headers,
        body,
        has_content_length,
    };
    let is_control = request.path.starts_with("/_sandbox/") || request.path == "/_sandbox";
    if !is_control && state.config.latency_ms > 0 {
        // A timer, not a blocked worker: requests delayed together finish together.
        tokio::time::sleep(Duration::from_millis(state.config.latency_ms)).await;
    }
    let reply = if is_control {
        control::handle(&state, &request)
    } else if request.path.starts_with("/api/") {
        odps::handle_rest(&state, &request).await
    } else if request.path.starts_with("/projects/") {
        odps::tunnel::handle(&state, &request).await
    } else if request.path.starts_with("/logstores") {
        sls::handle(&state, &request).await
    } else {
        Reply::Respond(response(
            StatusCode::NOT_FOUND,
            &[],
            "not a sandbox path: use /api/..., /projects/..., /logstores/... or /_sandbox/...",
        ))
    };
    match reply {
        Reply::Respond(response) => Ok(response),
        Reply::Drop => Err(DroppedByFault),
    }
}
