//! DataX's streamreader and streamwriter: records generated from constants, random ranges or
//! sequences, and a writer that prints them, writes them to files or discards them.
//!
//! The example plugin: `config.rs` declares each `parameter` once as a typed struct (its doc
//! comments are the docs) read by `datax_plugin_kit::config`; `reader.rs` and `writer.rs`
//! implement the jobs and tasks of `datax_plugin_api`, with typed task configurations.

mod config;
mod format;
mod reader;
mod writer;

datax_plugin_api::export_plugin! {
    name: "stream",
    description: "streamreader generates records; streamwriter prints, saves or discards them",
    reader: reader::StreamReaderJob,
    writer: writer::StreamWriterJob,
}
