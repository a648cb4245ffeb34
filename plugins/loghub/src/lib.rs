//! DataX's loghubwriter: records become logs in an Alibaba Cloud Log Service (SLS) logstore,
//! sent with PutLogs (signature v1, protobuf LogGroup, lz4 by default) as the official SDKs
//! send them. Retries may send a batch twice (the service does not deduplicate); they never
//! lose one.
//!
//! And DataX's loghubreader ([`reader`]): a time range of a logstore, shard by shard, read
//! with GetCursor and PullLogs.

mod auth;
mod client;
mod codec;
mod config;
mod connection;
mod job;
mod reader;
mod shipper;
mod task;

/// The encode path as a task runs it, for `benches/encode.rs`: records → protobuf →
/// compression → MD5 → signed request.
#[doc(hidden)]
pub mod encode_path {
    pub use crate::client::ClientSettings;
    pub use crate::codec::{BatchSink, Encoder, LogBatch};
    pub use crate::config::WriterConfig;
    pub use crate::shipper::{SendBuffers, Shipper};
}

datax_plugin_api::export_plugin! {
    name: "loghub",
    description: "loghubreader reads logs from Alibaba Cloud Log Service (SLS); loghubwriter sends records as logs to it",
    reader: reader::LoghubReaderJob,
    writer: job::LoghubWriterJob,
}
