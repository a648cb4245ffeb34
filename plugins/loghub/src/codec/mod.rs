//! The wire format of a PutLogs body (sls-putlogs.md §5, §6): records become logs
//! ([`encoder`]), written straight into a protobuf `LogGroup` ([`log_group`]), compressed as
//! `compress` says ([`compression`]).

mod compression;
mod encoder;
#[cfg(test)]
pub(crate) mod fixtures;
mod log_group;

pub use compression::{Compression, Compressor};
pub use encoder::{BatchSink, Encoder};
pub use log_group::{ContentKey, LogBatch, LogGroupBuilder};
