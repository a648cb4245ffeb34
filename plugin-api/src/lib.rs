//! The stable ABI between the `datax` host and its reader/writer plugins.
//!
//! A plugin is a `cdylib` built on this crate and on `datax-plugin-kit` (what plugins share
//! that never crosses the boundary: typed configurations, DataX's text form and dates, HTTP
//! with retries). It implements the plain Rust traits
//! in [`plugin`] ([`ReaderJob`]/[`ReaderTask`], [`WriterJob`]/[`WriterTask`]) and calls
//! [`export_plugin!`] once. Everything that crosses the library boundary lives in [`ffi`]
//! (prefixed `Ffi`); the plugin-side wrappers around what the host hands in ([`RecordSender`],
//! [`RecordReceiver`], [`TaskContext`]) are plain types that hide abi_stable.
//!
//! Compatibility: a host loads plugins built against the same major version of this crate.
//! Later minor versions may only append fields after `#[sabi(last_prefix_field)]` to the prefix
//! types (the root module and the trait vtables); `Column`, `Record`, `RecordBatch` are frozen.
//! Fields appended to a vtable the host implements (`FfiTaskContext`) still make the host
//! refuse plugins built before them: see [`ffi`]'s "Evolution".
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

pub use context::{RecordReceiver, RecordSender, TaskContext};
pub use error::{ErrorKind, PluginError};
pub use plugin::{ReaderJob, ReaderTask, WriterJob, WriterTask};
pub use record::{Column, EpochTime, Record, RecordBatch};

/// Re-exported so that plugins can name the FFI-safe containers inside [`Column`] without
/// depending on abi_stable themselves, and so that [`export_plugin!`] can reach it.
pub use abi_stable;
pub use abi_stable::std_types::{RString, RVec};
