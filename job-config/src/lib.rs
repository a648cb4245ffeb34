//! Reads Alibaba DataX and DataWorks (script mode 1.0 and 2.0) job files, unchanged, into one
//! normalized job: a reader step, a writer step, the speed and the error limit.
//!
//! Pure functions: the caller reads the files and the environment and passes their text in.

mod common;
mod datasources;
mod error;
mod error_limit;
mod job;
mod lenient;
mod params;
mod secrets;
mod shape;
mod speed;
mod unused;
pub mod value;

pub use datasources::{DataSource, DataSources};
pub use error::JobError;
pub use error_limit::ErrorLimit;
pub use job::{load_job, parse_lenient, JobConfig, JobShape, Loaded, Step, TransformerStep};
pub use params::Params;
pub use secrets::{
    is_masked, is_secret_key, masked, secret_values, short_secret_keys, Scrubber, MASK,
    MIN_SUBSTRING_SECRET_CHARS,
};
pub use speed::Speed;
pub use value::{as_bool, as_f64, as_i64, as_string, as_u64};
