use std::fmt;

use abi_stable::std_types::RString;
use abi_stable::StableAbi;

/// What went wrong, as an open set of codes: a newer plugin may send a code this host does not
/// know, which it shows by number (a `repr(transparent)` integer keeps the ABI extensible
/// where an exhaustive enum would be frozen).
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorKind(pub u16);

impl ErrorKind {
    /// The job's `parameter` is wrong: missing, mistyped or contradictory keys.
    pub const CONFIG: ErrorKind = ErrorKind(1);
    /// The remote service could not be reached.
    pub const CONNECT: ErrorKind = ErrorKind(2);
    /// The remote service refused the credentials.
    pub const AUTH: ErrorKind = ErrorKind(3);
    /// Reading or writing failed after connecting.
    pub const IO: ErrorKind = ErrorKind(4);
    /// The data itself is unusable (corrupt, wrong schema).
    pub const DATA: ErrorKind = ErrorKind(5);
    /// The plugin panicked; the message is the panic's.
    pub const PANIC: ErrorKind = ErrorKind(6);
    /// The job is being stopped; not a failure of the task itself.
    pub const CANCELLED: ErrorKind = ErrorKind(7);
    /// The plugin does not provide what was asked (e.g. a writer from a reader-only library).
    pub const UNSUPPORTED: ErrorKind = ErrorKind(8);
    /// Too many dirty records: the job's errorLimit is exceeded.
    pub const ERROR_LIMIT: ErrorKind = ErrorKind(9);

    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            ErrorKind::CONFIG => "configuration error",
            ErrorKind::CONNECT => "connection error",
            ErrorKind::AUTH => "authentication error",
            ErrorKind::IO => "I/O error",
            ErrorKind::DATA => "data error",
            ErrorKind::PANIC => "plugin panicked",
            ErrorKind::CANCELLED => "cancelled",
            ErrorKind::UNSUPPORTED => "unsupported",
            ErrorKind::ERROR_LIMIT => "errorLimit exceeded",
            _ => return None,
        })
    }
}

impl fmt::Debug for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "error kind {}", self.0),
        }
    }
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginError {
    pub kind: ErrorKind,
    pub message: RString,
}

impl PluginError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: RString::from(message.into()),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::CONFIG, message)
    }

    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::IO, message)
    }

    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::DATA, message)
    }

    pub fn is_cancelled(&self) -> bool {
        self.kind == ErrorKind::CANCELLED
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for PluginError {}
