//! odpswriter: writes a MaxCompute table or partition through the tunnel upload protocol
//! (odps-tunnel.md §8), as DataX's odpswriter does: one upload session per job (per partition
//! with dynamic partitions), blocks from every task, committed when all tasks succeeded.
//!
//! * `config.rs`: the `parameter`, declared once;
//! * `job.rs`: prepare (table, columns, partition, the session), split, commit;
//! * `task.rs`: records into blocks, uploaded with retries;
//! * `convert.rs`: DataX's column conversions to the table's types;
//! * `limits.rs`: the service's per-value checks, made first (`overLengthRule`);
//! * `partitions.rs`: dynamic partitions, a record's partition from its values;
//! * `sessions.rs`: their upload sessions, one per partition, shared by the job's tasks;
//! * `upload.rs`: the upload session calls on the reader's client.

mod config;
mod convert;
mod job;
mod limits;
mod partitions;
mod sessions;
mod task;
mod upload;

pub use job::OdpsWriterJob;
