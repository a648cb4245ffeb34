//! The stable ABI between the `datax` host and its reader/writer plugins.
//!
//! A plugin is a `cdylib` that depends on this crate only. It implements the plain Rust traits
//! in [`plugin`] ([`ReaderJob`]/[`ReaderTask`], [`WriterJob`]/[`WriterTask`]) and calls
//! [`export_plugin!`] once. Everything that crosses the library boundary lives in [`ffi`]
//! (prefixed `Ffi`); the plugin-side wrappers around what the host hands in ([`RecordSender`],
//! [`RecordReceiver`], [`TaskContext`]) are plain types that hide abi_stable.
//!
//! Compatibility: a host loads plugins built against the same major version of this crate.
//! Later minor versions may only append fields after `#[sabi(last_prefix_field)]` to the prefix
//! types (the root module and the trait vtables); `Column`, `Record`, `RecordBatch` are frozen.
//!
//! Plain helpers every plugin shares, which never cross the boundary: [`text`], the DataX text
//! of a column ([`write_text`]), and [`calendar`], dates in DataX's GMT+8 without a date library.

// abi_stable's derive output trips these lints on current rustc (plugin-abi.md §1.7).
#![allow(non_local_definitions, non_camel_case_types)]

pub mod calendar;
mod context;
mod error;
pub mod export;
pub mod ffi;
pub mod log;
pub mod plugin;
mod record;
pub mod text;

pub use calendar::{
    civil_from_days, days_from_civil, days_in_month, LocalDateTime, DATAX_DEFAULT_OFFSET_SECONDS,
    SECONDS_PER_DAY,
};
pub use context::{RecordReceiver, RecordSender, TaskContext};
pub use error::{ErrorKind, PluginError};
pub use plugin::{ReaderJob, ReaderTask, WriterJob, WriterTask};
pub use record::{Column, EpochTime, Record, RecordBatch};
pub use text::write_text;

/// Re-exported so that plugins can name the FFI-safe containers inside [`Column`] without
/// depending on abi_stable themselves, and so that [`export_plugin!`] can reach it.
pub use abi_stable;
pub use abi_stable::std_types::{RString, RVec};
