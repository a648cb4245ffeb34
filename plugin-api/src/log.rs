//! Logging from inside a plugin into the host's log.
//!
//! Each plugin library carries its own copy of every global, so `log`/`tracing` set up by the
//! host are invisible here (plugin-abi.md §1.9 #8). The host installs its logger into each
//! library once at load time; these functions forward to it.

use std::fmt::Display;
use std::sync::OnceLock;

use abi_stable::std_types::RStr;

use crate::ffi::{FfiLoggerBox, LogLevel};

struct InstalledLogger {
    host: FfiLoggerBox,
    target: &'static str,
}

static LOGGER: OnceLock<InstalledLogger> = OnceLock::new();

#[doc(hidden)]
pub fn install(host: FfiLoggerBox, target: &'static str) {
    // A second install (the host loading the same library twice) keeps the first logger.
    if LOGGER.set(InstalledLogger { host, target }).is_ok() {
        // This library's panic hook is its own: without this one a panic would print
        // straight to stderr. The message itself also reaches the host as the task's error.
        std::panic::set_hook(Box::new(|info| debug(format!("plugin {info}"))));
    }
}

pub fn log(level: LogLevel, message: impl Display) {
    match LOGGER.get() {
        Some(logger) if logger.host.enabled(level) => {
            let text = message.to_string();
            logger
                .host
                .log(level, RStr::from_str(logger.target), RStr::from_str(&text));
        }
        Some(_) => {}
        None => eprintln!("{level:?}: {message}"),
    }
}

pub fn error(message: impl Display) {
    log(LogLevel::Error, message)
}

pub fn warn(message: impl Display) {
    log(LogLevel::Warn, message)
}

pub fn info(message: impl Display) {
    log(LogLevel::Info, message)
}

pub fn debug(message: impl Display) {
    log(LogLevel::Debug, message)
}
