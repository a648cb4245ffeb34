//! What datax plugins share beyond the ABI: typed lenient configurations ([`config`]),
//! DataX's text form of a column ([`text`]) and its calendar ([`calendar`]), one Java
//! date-pattern engine ([`date`]), and one HTTP layer with a retry policy for the cloud
//! plugins ([`http`], [`retry`]). The HTTP layer is the default feature `http`; a plugin that
//! speaks no HTTP leaves it out (`default-features = false`) and builds without ureq and
//! rustls.
//!
//! A plugin's `parameter` is one struct, declared once; its doc comments are the docs:
//!
//! ```
//! use datax_plugin_kit::config::{self, lenient, ConfigError};
//! use serde::Deserialize;
//!
//! /// The `parameter` of a hypothetical `echowriter`.
//! #[derive(Debug, Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Parameter {
//!     /// Where to send the records (required).
//!     #[serde(default, deserialize_with = "lenient::string")]
//!     endpoint: Option<String>,
//!     /// Records per request, 1 to 4096 (default 1024).
//!     #[serde(default, deserialize_with = "lenient::u64")]
//!     batch_size: Option<u64>,
//!     /// The access key id; `accessId` is read too.
//!     #[serde(default, alias = "accessId", deserialize_with = "lenient::string")]
//!     access_key_id: Option<String>,
//! }
//!
//! let text = r#"{"endpoint": "http://127.0.0.1:1", "batchSize": "512", "batchSise": 1}"#;
//! let parsed = config::parse::<Parameter>(text, "parameter").unwrap();
//! assert_eq!(parsed.value.batch_size, Some(512));
//! assert_eq!(
//!     parsed.warnings,
//!     ["parameter.batchSise: unknown key, ignored; did you mean \"batchSize\"?"]
//! );
//! // What no type can say is checked after parsing, naming the key the same way.
//! let endpoint = parsed.value.endpoint.ok_or(ConfigError::new("endpoint", "required"));
//! assert!(endpoint.is_ok());
//! ```

pub mod calendar;
pub mod config;
pub mod date;
#[cfg(feature = "http")]
pub mod http;
pub mod retry;
pub mod text;

pub use text::write_text;

/// This crate's version, for `datax plugin new` to pin in the crates it writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
