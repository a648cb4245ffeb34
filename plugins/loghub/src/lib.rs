//! DataX's loghubwriter: records become logs in an Alibaba Cloud Log Service (SLS) logstore,
//! sent with PutLogs (signature v1, protobuf LogGroup, lz4 by default) as the official SDKs
//! send them. Retries may send a batch twice (the service does not deduplicate); they never
//! lose one.

mod auth;
mod client;
mod codec;
mod config;
mod writer;

/// The encode path as a task runs it, for `benches/encode.rs`: records → protobuf →
/// compression → MD5 → signed request.
#[doc(hidden)]
pub mod encode_path {
    pub use crate::client::{SendBuffers, Shipper};
    pub use crate::codec::LogBatch;
    pub use crate::config::WriterConfig;
    pub use crate::writer::{BatchSink, Encoder};
}

datax_plugin_api::export_plugin! {
    name: "loghub",
    description: "loghubwriter sends records as logs to Alibaba Cloud Log Service (SLS)",
    writer: writer::LoghubWriterJob,
}
