//! DataX's loghubreader: the logs a logstore received in a time range become records, read
//! shard by shard (one task each) with GetCursor and PullLogs, as the official SDKs read them.
//! The range is closed on the left and open on the right, by receive time, as the service's
//! cursors define it. The calls and the wire facts this relies on: sls-pulllogs.md.
//!
//! The same folder shape as the writer: `config.rs` (the `parameter`), `client.rs` (the calls,
//! retried), `codec.rs` (`LogGroupList` → records), `job.rs`, `task.rs`. Signing, the
//! endpoint and the HTTP client are the writer's ([`crate::auth`], [`crate::config`],
//! [`crate::client`]), shared.

mod client;
mod codec;
mod config;
mod job;
mod task;

pub use job::LoghubReaderJob;
