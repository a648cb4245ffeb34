//! The stable ABI between the `datax` host and its reader, writer and transformer plugins.
//!
//! A plugin is a `cdylib` built on this crate and on `datax-plugin-kit` (what plugins share
//! that never crosses the boundary: typed configurations, DataX's text form and dates, HTTP
//! with retries). It implements the plain Rust traits
//! in [`plugin`] ([`ReaderJob`]/[`ReaderTask`], [`WriterJob`]/[`WriterTask`], [`Transformer`])
//! and calls
//! [`export_plugin!`] once. Everything that crosses the library boundary lives in [`ffi`]
//! (prefixed `Ffi`); the plugin-side wrappers around what the host hands in ([`RecordSender`],
//! [`RecordReceiver`], [`TaskContext`]) are plain types that hide abi_stable.
//!
//! Compatibility: a host loads plugins built against the same major version of this crate.
//! Later minor versions may only append fields after `#[sabi(last_prefix_field)]` to the prefix
//! types (the root module and the trait vtables); `Column`, `Record`, `RecordBatch`, `Verdict`
//! are frozen.
//! abi_stable refuses a library with fewer fields than the host's: the host checks an older
//! library against the root module it was built with ([`ffi::v1_0`]); see [`ffi`]'s
//! "Evolution".
//!
//! This crate holds the ABI alone and depends on abi_stable alone.

// abi_stable's derive output trips these lints on current rustc (plugin-abi.md §1.7).
#![allow(non_local_definitions, non_camel_case_types)]

mod context;
mod error;
pub mod export;
pub mod ffi;
pub mod job_stop;
pub mod log;
pub mod plugin;
mod record;

pub use context::{
    RecordReceiver, RecordSender, TaskContext, ACKNOWLEDGED_AT_POST_COUNTER,
    DURABLE_RECORDS_COUNTER, EXPECTED_RECORDS_COUNTER, SKIPPED_BY_SEEK_COUNTER,
};
pub use error::{ErrorKind, PluginError};
pub use plugin::{ReaderJob, ReaderTask, Transformer, WriterJob, WriterTask};
pub use record::{Column, EpochTime, Record, RecordBatch, Verdict};

/// Re-exported so that plugins can name the FFI-safe containers inside [`Column`] without
/// depending on abi_stable themselves, and so that [`export_plugin!`] can reach it.
pub use abi_stable;
pub use abi_stable::std_types::{RString, RVec};
