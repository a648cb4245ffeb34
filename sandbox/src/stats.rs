//! Request and log counters, reported by `GET /_sandbox/stats` and `SandboxHandle::stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests by service (`odps`, `tunnel`, `sls`, `control`) and outcome: `ok`, an error
    /// code such as `SignatureNotMatch` (injected error faults included), or `fault:close` /
    /// `fault:drop_reply` / `fault:truncate_body` / `fault:abort_body` / `fault:stall_body` /
    /// `fault:flip_byte` for the other faults.
    pub requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// PutLogs requests whose logs were stored (including those whose reply was dropped).
    pub put_logs_accepted: u64,
    /// The same requests by `x-log-compresstype` (lower case; `none` without the header).
    #[serde(default)]
    pub put_logs_by_compression: BTreeMap<String, u64>,
    /// Logs stored, duplicates from retried requests included.
    pub logs_accepted: u64,
    /// When the first logs were stored (Unix milliseconds): a client's time to first record.
    #[serde(default)]
    pub first_logs_accepted_unix_ms: Option<u64>,
    /// Tunnel records sent in full data responses.
    pub records_served: u64,
    pub faults_injected: u64,
}

impl Stats {
    /// Requests of one service with one outcome.
    pub fn count(&self, service: &str, outcome: &str) -> u64 {
        self.requests
            .get(service)
            .and_then(|outcomes| outcomes.get(outcome))
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Default)]
pub(crate) struct StatsRecorder {
    stats: Mutex<Stats>,
}

impl StatsRecorder {
    fn update(&self, change: impl FnOnce(&mut Stats)) {
        change(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn request(&self, service: &str, outcome: &str) {
        self.update(|stats| {
            *stats
                .requests
                .entry(service.to_string())
                .or_default()
                .entry(outcome.to_string())
                .or_default() += 1;
        });
    }

    pub fn fault_injected(&self) {
        self.update(|stats| stats.faults_injected += 1);
    }

    pub fn logs_stored(&self, logs: u64, compression: &str) {
        self.update(|stats| {
            stats.put_logs_accepted += 1;
            *stats
                .put_logs_by_compression
                .entry(compression.to_string())
                .or_default() += 1;
            stats.logs_accepted += logs;
            stats.first_logs_accepted_unix_ms.get_or_insert_with(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.as_millis() as u64)
            });
        });
    }

    pub fn records_served(&self, records: u64) {
        self.update(|stats| stats.records_served += records);
    }

    pub fn snapshot(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
