//! odpswriter: writes a MaxCompute table or partition through the tunnel upload protocol
//! (odps-tunnel.md §8), as DataX's odpswriter does: one upload session per job, blocks from
//! every task, one commit when all succeeded.
//!
//! * `config.rs`: the `parameter`, declared once;
//! * `job.rs`: prepare (table, columns, partition, the session), split, commit;
//! * `task.rs`: records into blocks, uploaded with retries;
//! * `convert.rs`: DataX's column conversions to the table's types;
//! * `limits.rs`: the service's per-value checks, made first (`overLengthRule`);
//! * `upload.rs`: the upload session calls on the reader's client.

mod config;
mod convert;
mod job;
mod limits;
mod task;
mod upload;

pub use job::OdpsWriterJob;
