//! DataX's streamreader and streamwriter: records generated from constants, random ranges or
//! sequences, and a writer that prints them, writes them to files or discards them.

mod config;
mod date;
mod format;
mod reader;
mod writer;

datax_plugin_api::export_plugin! {
    name: "stream",
    description: "streamreader generates records; streamwriter prints, saves or discards them",
    reader: reader::StreamReaderJob,
    writer: writer::StreamWriterJob,
}
