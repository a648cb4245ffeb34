//! DataX's loghubwriter: records become logs in an Alibaba Cloud Log Service (SLS) logstore,
//! sent with PutLogs (signature v1, protobuf LogGroup, lz4) as the official SDKs send them.
//! Retries may send a batch twice (the service does not deduplicate); they never lose one.

mod auth;
mod client;
mod codec;
mod config;
mod time_format;
mod writer;

datax_plugin_api::export_plugin! {
    name: "loghub",
    description: "loghubwriter sends records as logs to Alibaba Cloud Log Service (SLS)",
    writer: writer::LoghubWriterJob,
}
