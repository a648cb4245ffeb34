//! odpsreader: reads MaxCompute (ODPS) tables through the tunnel download service, as
//! DataX's odpsreader does (datax-engine.md §7), speaking the wire protocol of
//! odps-tunnel.md; odpswriter (`writer/`): writes them through tunnel upload sessions.

mod auth;
mod client;
pub mod codec;
mod columns;
mod config;
#[cfg(any(test, fuzzing))]
pub mod fuzz_input;
mod job;
mod partition;
mod query;
pub mod schema;
mod task;
mod writer;
mod xml;

datax_plugin_api::export_plugin! {
    name: "odps",
    description: "odpsreader and odpswriter: read and write MaxCompute tables through the tunnel",
    reader: job::OdpsReaderJob,
    writer: writer::OdpsWriterJob,
}
