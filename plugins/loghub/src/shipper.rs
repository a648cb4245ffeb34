//! Sends a batch of logs as PutLogs requests, retrying as sls-putlogs.md §8 says: backoff
//! for busy or unreachable services, one retry for clock skew, halves for a body too large.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use datax_plugin_api::{ErrorKind, PluginError};
use datax_plugin_kit::http::{HttpError, SharedClient, TransportKind};
use datax_plugin_kit::retry::{retry, Cancellation, RetryError};

use crate::client::{
    classify, retries_exhausted, retry_policy, Body, LoghubClient, LoghubRetries, Retry, Shard,
};
use crate::codec::{Compression, Compressor, LogBatch};
use crate::config::WriterConfig;

/// A log the service refused on its own (`PostBodyTooLarge` for a request of that one log):
/// it becomes a dirty record, the rest of its batch is sent.
pub struct RejectedLog {
    /// The log's index in its batch.
    pub index: usize,
    pub reason: String,
}

/// How a PutLogs of some logs ended, short of a failure.
enum Sent {
    Accepted,
    /// `PostBodyTooLarge` for a body of `raw_size` bytes of protobuf.
    TooLarge {
        error: HttpError,
        raw_size: usize,
    },
}

/// One sending thread's reused buffers: the protobuf of a part of a batch (a whole batch is
/// sent from its own bytes) and the compressed body.
#[derive(Default)]
pub struct SendBuffers {
    part: Vec<u8>,
    compressor: Compressor,
}

/// Sends batches of logs as PutLogs requests, retrying as sls-putlogs.md §8 says. Shared by
/// a task's sending threads, each with its own [`SendBuffers`], so that several requests
/// are in flight while the task's thread encodes the next batch.
pub struct Shipper {
    client: LoghubClient,
    /// `logstore L of project P at URL`, for messages.
    target: String,
    compression: Compression,
    max_retries: u32,
    /// Logs the service accepted.
    accepted: AtomicU64,
    /// Attempts that repeated a failed PutLogs.
    retries: AtomicU64,
    /// Attempts that repeated a failed ListShards.
    list_shards_retries: AtomicU64,
    /// Copies of accepted logs that earlier attempts of their request may have stored.
    possible_duplicates: AtomicU64,
}

/// What ends a batch's sending: its retries (`retrying`), and its waits for an answer
/// (`waiting`, which a stopped task gives a grace period, [`crate::task`]).
struct Stops<'a> {
    retrying: &'a dyn Cancellation,
    waiting: &'a dyn Cancellation,
}

impl Shipper {
    /// A task's shipper on the job's HTTP client.
    pub fn new(config: &WriterConfig, http: &SharedClient) -> Result<Self, PluginError> {
        Ok(Shipper {
            client: LoghubClient::new(config, http)?,
            target: format!(
                "logstore {} of project {} at {}",
                config.logstore, config.project, config.endpoint.base_url
            ),
            compression: config.compression,
            max_retries: config.max_retries,
            accepted: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            list_shards_retries: AtomicU64::new(0),
            possible_duplicates: AtomicU64::new(0),
        })
    }

    pub fn client(&self) -> &LoghubClient {
        &self.client
    }

    /// Logs the service accepted so far, over every sending thread.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// PutLogs requests sent again after a failure so far, over every sending thread.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// ListShards requests sent again after a failure.
    pub fn list_shards_retries(&self) -> u64 {
        self.list_shards_retries.load(Ordering::Relaxed)
    }

    /// Copies of accepted logs that earlier attempts may have stored: each attempt that timed
    /// out or lost its connection after sending may have been stored too.
    pub fn possible_duplicates(&self) -> u64 {
        self.possible_duplicates.load(Ordering::Relaxed)
    }

    /// The logstore's shards, for hash-key routing; a busy service gets a few short retries.
    pub fn list_shards(&self, cancellation: &dyn Cancellation) -> Result<Vec<Shard>, PluginError> {
        const RETRIES: u32 = 2;
        retry(
            &retry_policy(RETRIES),
            &LoghubRetries::default(),
            cancellation,
            |error, retry, wait| {
                self.list_shards_retries.fetch_add(1, Ordering::Relaxed);
                datax_plugin_api::log::warn(format!(
                    "ListShards of {}: {error}; retry {retry} of {RETRIES} in {} ms",
                    self.target,
                    wait.as_millis()
                ));
            },
            |_| self.client.list_shards(cancellation),
        )
        .map_err(|failed| self.failure("ListShards", failed))
    }

    /// The body of the logs `range` of `batch`: their LogGroup, compressed as configured.
    pub fn encode_body(
        &self,
        batch: &LogBatch,
        range: Range<usize>,
        buffers: &mut SendBuffers,
    ) -> Result<Body, PluginError> {
        let raw = batch.encode_group(range, &mut buffers.part);
        let bytes = buffers
            .compressor
            .compress(self.compression, raw)
            .map_err(|error| PluginError::io(format!("cannot compress a PutLogs body: {error}")))?;
        Ok(Body::new(bytes, raw.len(), self.compression))
    }

    /// Sends every log of `batch` to the shard of `route_key` (load-balanced without one);
    /// stops retrying once `cancellation` says so, and waiting for an answer once `waiting`
    /// does. Returns the logs the service refused one by one; any other failure fails the
    /// whole batch.
    pub fn ship(
        &self,
        batch: &LogBatch,
        route_key: Option<&str>,
        buffers: &mut SendBuffers,
        cancellation: &dyn Cancellation,
        waiting: &dyn Cancellation,
    ) -> Result<Vec<RejectedLog>, PluginError> {
        let mut rejected = Vec::new();
        let stops = Stops {
            retrying: cancellation,
            waiting,
        };
        self.send(
            batch,
            0..batch.len(),
            route_key,
            buffers,
            &stops,
            &mut rejected,
        )?;
        Ok(rejected)
    }

    /// Sends the logs `range` of `batch`: in halves while the service finds the body too
    /// large, a single log it refuses alone going to `rejected`.
    fn send(
        &self,
        batch: &LogBatch,
        range: Range<usize>,
        route_key: Option<&str>,
        buffers: &mut SendBuffers,
        stops: &Stops<'_>,
        rejected: &mut Vec<RejectedLog>,
    ) -> Result<(), PluginError> {
        let (error, raw_size) =
            match self.put_with_retries(batch, range.clone(), route_key, buffers, stops)? {
                Sent::Accepted => return Ok(()),
                Sent::TooLarge { error, raw_size } => (error, raw_size),
            };
        if range.len() > 1 {
            let middle = range.start + range.len() / 2;
            datax_plugin_api::log::warn(format!(
                "{error}; sending the {} logs in two requests",
                range.len()
            ));
            self.send(
                batch,
                range.start..middle,
                route_key,
                buffers,
                stops,
                rejected,
            )?;
            return self.send(
                batch,
                middle..range.end,
                route_key,
                buffers,
                stops,
                rejected,
            );
        }
        // sls-putlogs.md §9: a log the service refuses alone is dirty, not a failure.
        rejected.push(RejectedLog {
            index: range.start,
            reason: format!(
                "PutLogs: {error}; this log alone ({raw_size} bytes of protobuf) \
                 is larger than Log Service accepts"
            ),
        });
        Ok(())
    }

    /// One PutLogs of the logs `range` of `batch`, attempted again as long as the retry
    /// policy allows; a body too large is for the caller to split.
    fn put_with_retries(
        &self,
        batch: &LogBatch,
        range: Range<usize>,
        route_key: Option<&str>,
        buffers: &mut SendBuffers,
        stops: &Stops<'_>,
    ) -> Result<Sent, PluginError> {
        let body = self.encode_body(batch, range.clone(), buffers)?;
        // Each earlier attempt that may have been stored is one more possible copy.
        let mut attempts_maybe_stored = 0u64;
        let on_retry = |error: &HttpError, retry: u32, wait: Duration| {
            self.retries.fetch_add(1, Ordering::Relaxed);
            attempts_maybe_stored += u64::from(may_have_been_stored(error));
            datax_plugin_api::log::warn(format!(
                "PutLogs attempt {retry} of {} failed: {error}; retrying in {} ms",
                self.max_retries + 1,
                wait.as_millis()
            ));
        };
        let sent = retry(
            &retry_policy(self.max_retries),
            &LoghubRetries::default(),
            stops.retrying,
            on_retry,
            |_| self.client.put_logs(&body, route_key, stops.waiting),
        );
        match sent {
            Ok(request_id) => {
                datax_plugin_api::log::debug(format!(
                    "PutLogs: {} logs, request id {request_id}",
                    range.len()
                ));
                self.accepted
                    .fetch_add(range.len() as u64, Ordering::Relaxed);
                self.possible_duplicates.fetch_add(
                    range.len() as u64 * attempts_maybe_stored,
                    Ordering::Relaxed,
                );
                Ok(Sent::Accepted)
            }
            Err(RetryError::Failed { error, .. }) if classify(&error) == Retry::Split => {
                let raw_size = body.raw_size();
                Ok(Sent::TooLarge { error, raw_size })
            }
            Err(failed) => Err(self.failure("PutLogs", failed)),
        }
    }

    /// `call to <target> failed after N attempts: error`, with a hint where one helps.
    fn failure(&self, call: &str, failed: RetryError<HttpError>) -> PluginError {
        let (error, after) = match retries_exhausted(call, failed) {
            Ok(exhausted) => exhausted,
            Err(cancelled) => return cancelled,
        };
        let mut message = format!("{call} to {} failed{after}: {error}", self.target);
        let kind = match &error {
            HttpError::Transport { .. } => ErrorKind::CONNECT,
            HttpError::UnknownHost { .. } => {
                message.push_str(&format!(
                    "; the host {} does not exist: check endpoint",
                    self.client.host_name()
                ));
                ErrorKind::CONNECT
            }
            HttpError::Service(service) => {
                if service.code == "SignatureNotMatch" {
                    message.push_str("; check accessId and accessKey");
                } else if classify(&error) == Retry::ClockSkew {
                    message.push_str("; this machine's clock is more than 15 minutes off");
                }
                let refused =
                    ["SignatureNotMatch", "Unauthorized"].contains(&service.code.as_str());
                if service.status == 401 || refused {
                    ErrorKind::AUTH
                } else {
                    ErrorKind::IO
                }
            }
        };
        PluginError::new(kind, message)
    }
}

/// Whether a failed attempt may have been stored all the same: the request went out but its
/// answer never came (a timeout, a connection closed before the reply). A refused connection
/// sent nothing; a service error answered that nothing was stored.
fn may_have_been_stored(error: &HttpError) -> bool {
    matches!(
        error,
        HttpError::Transport {
            kind: TransportKind::Timeout | TransportKind::Closed,
            ..
        }
    )
}
