//! `datax-sandbox`: one loopback process that serves a MaxCompute (ODPS) REST + Tunnel
//! endpoint and a Log Service (SLS) PutLogs endpoint, faithful enough that the official
//! clients cannot tell it from the real services, with fault injection for reliability
//! tests. Protocol rules come from `docs/odps-tunnel.md` and `docs/sls-putlogs.md`.
//!
//! ```no_run
//! use datax_sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::start(SandboxConfig::default()).unwrap();
//! println!("{}", sandbox.odps_endpoint());
//! // stops when `sandbox` is dropped
//! ```

pub mod config;
mod control;
pub mod faults;
mod http;
pub mod odps;
mod server;
mod signing;
pub mod sls;
pub mod stats;

pub use config::{Credential, SandboxConfig};
pub use faults::{FaultAction, FaultRule, FaultTarget};
pub use server::{Endpoints, Sandbox, SandboxHandle};
pub use sls::store::{AppendedGroup, AppendedLog, StoredLog};
pub use sls::{GeneratedLogs, LogstoreConfig};
pub use stats::Stats;
