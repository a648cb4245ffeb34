//! The sandbox configuration: credentials, the MaxCompute catalogue, the Log Service
//! projects and the initial fault plan. Loaded from JSON (`--config sandbox.json`) or built
//! in Rust by tests.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::faults::FaultRule;
use crate::odps::config::OdpsConfig;
use crate::sls::SlsConfig;

/// Everything one sandbox process serves.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// TCP port on 127.0.0.1; `0` picks a free one.
    #[serde(default)]
    pub port: u16,
    /// Access keys both services accept.
    #[serde(default)]
    pub credentials: Vec<Credential>,
    #[serde(default)]
    pub odps: OdpsConfig,
    #[serde(default)]
    pub sls: SlsConfig,
    /// Faults active from the start; the control endpoint can replace them later.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// Where received logs are appended; a temporary directory (removed on stop) when unset.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Largest accepted difference between a request's `Date` and the sandbox clock.
    /// Both services allow 15 minutes (odps-tunnel.md §7, sls-putlogs.md §2.3).
    #[serde(default = "default_max_clock_skew_secs")]
    pub max_clock_skew_secs: u64,
    /// A simulated network round trip: every MaxCompute and Log Service request waits this
    /// long (after its body arrived) before it is served; the control API does not. Each
    /// request waits on its own timer, so requests in flight together are each delayed
    /// once, not one after another. `0` (default): answer at once.
    #[serde(default)]
    pub latency_ms: u64,
}

fn default_max_clock_skew_secs() -> u64 {
    15 * 60
}

/// One AccessKey pair. With `security_token` set the key behaves like an STS temporary
/// credential: requests must carry that token as well.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub access_id: String,
    pub access_key: String,
    #[serde(default)]
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Credential {
    // Secrets are never printed, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_id", &self.access_id)
            .field("access_key", &"***")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

impl Credential {
    pub fn new(access_id: impl Into<String>, access_key: impl Into<String>) -> Self {
        Credential {
            access_id: access_id.into(),
            access_key: access_key.into(),
            security_token: None,
        }
    }
}

impl SandboxConfig {
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let config: SandboxConfig = serde_json::from_str(text)?;
        config.odps.validate()?;
        Ok(config)
    }

    /// The shipped `examples/sandbox.json`: project `aliyun_account` with the demo job's
    /// table `ak_biz_log_detail` (partition `pt=20161226`) and a 100 M-row generated twin,
    /// Log Service project `datax-demo` with logstore `ak_biz_log`, and one credential.
    pub fn example() -> Self {
        Self::from_json(include_str!("../examples/sandbox.json"))
            .expect("the shipped example config is valid")
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub(crate) fn credential(&self, access_id: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.access_id == access_id)
    }
}
