//! One HTTP layer for the cloud plugins: a blocking client (`ureq`, [`client_config`]) whose
//! resolver tells an unknown host from a DNS hiccup, one typed error ([`HttpError`]) and one
//! cause-chain formatter ([`cause_chain`]). Retries are [`crate::retry`]'s, with a classifier
//! each plugin writes over [`HttpError`].
//!
//! A plugin job builds one client, on first use, and shares it with its tasks
//! ([`SharedClient`]); each answer becomes its value or an [`HttpError`]: a failed request
//! with [`HttpError::from_ureq`], an error answer with [`HttpError::Service`] from the
//! service's own body (JSON, XML: the plugin's codec).
//!
//! A stop must not wait on the network: a task sends with [`send_cancellable`] and reads
//! bodies with [`cancellable_body`], which return within [`CANCEL_CHECK`] of the task's
//! cancellation.

mod cancel;
mod client;
mod proxy;
mod resolve;
mod shared;
mod watch;
mod workers;

pub use cancel::{
    cancellable_body, send_cancellable, send_in_background, send_on_this_thread, text_cancellable,
    CancellableBody, PendingAnswer, CANCEL_CHECK, READ_WITH_HEADERS,
};
pub use client::{
    build_client, client_config, Client, ClientConfig, RequestBuilder, Response,
    IDLE_CONNECTIONS_PER_HOST,
};
pub use shared::SharedClient;
pub use workers::run_detached;

use std::error::Error;
use std::fmt;
use std::io;

use datax_plugin_api::{ErrorKind, PluginError};

pub use resolve::UnknownHost;

/// An error answer of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub status: u16,
    /// The service's error code (`ServerBusy`, `NoSuchTable`); a body that is not the
    /// service's error format (a proxy's page) gets a code of the plugin's choosing.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

/// `code (HTTP status): message (request id …)`.
impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}): {}", self.code, self.status, self.message)?;
        match self.request_id.as_deref() {
            Some(id) if !id.is_empty() => write!(f, " (request id {id})"),
            _ => Ok(()),
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be made (refused, unreachable, TLS, DNS not answering).
    Connect,
    /// No answer within the client's timeout.
    Timeout,
    /// The connection broke or closed before the whole answer came.
    Closed,
    /// The task was cancelled before the answer came ([`send_cancellable`]); the request may
    /// still reach the service.
    Cancelled,
}

/// Why one request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The service answered with an error.
    #[error("{0}")]
    Service(ServiceError),
    /// No answer; `message` is the whole cause chain.
    #[error("{message}")]
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// The endpoint's host name does not exist (DNS says so): no retry can help.
    #[error("{message}")]
    UnknownHost { host: String, message: String },
}

impl HttpError {
    /// A request that got no whole answer, classified by ureq's error and the I/O error
    /// under it, never by message text.
    pub fn from_ureq(error: &ureq::Error) -> HttpError {
        HttpError::of_ureq(error, None)
    }

    /// [`HttpError::from_ureq`] for a request to `url` that was being sent: the message
    /// names the URL.
    pub(crate) fn sending_to(url: &str, error: &ureq::Error) -> HttpError {
        HttpError::of_ureq(error, Some(url))
    }

    fn of_ureq(error: &ureq::Error, url: Option<&str>) -> HttpError {
        let cause = match error {
            // ureq's own text of an I/O error is "io: …".
            ureq::Error::Io(io) => cause_chain(io),
            other => cause_chain(other),
        };
        let cause = match url {
            Some(url) => format!("error sending request for url ({url}): {cause}"),
            None => cause,
        };
        let kind = match error {
            ureq::Error::Io(io) => {
                if let Some(known) = io.get_ref().and_then(|inner| inner.downcast_ref()) {
                    // The kit's own (a stop ending a read, [`watch`]).
                    return HttpError::clone(known);
                }
                if let Some(unknown) = io.get_ref().and_then(|inner| inner.downcast_ref()) {
                    let UnknownHost { host, .. } = unknown;
                    return HttpError::UnknownHost {
                        host: host.clone(),
                        message: format!("cannot connect: {cause}"),
                    };
                }
                io_kind(io)
            }
            ureq::Error::Timeout(_) => TransportKind::Timeout,
            ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::ConnectProxyFailed(_)
            | ureq::Error::Tls(_)
            | ureq::Error::Pem(_)
            | ureq::Error::Rustls(_) => TransportKind::Connect,
            _ => TransportKind::Closed,
        };
        transport(kind, &cause)
    }

    /// A body read that failed: a [`HttpError`] the kit put in the `io::Error` (a stop, a
    /// body's thread gone), ureq's error under it, or the connection's own.
    pub fn from_body_read(error: &io::Error) -> HttpError {
        let inner = error.get_ref();
        if let Some(known) = inner.and_then(|inner| inner.downcast_ref::<HttpError>()) {
            return known.clone();
        }
        if let Some(failed) = inner.and_then(|inner| inner.downcast_ref::<ureq::Error>()) {
            return HttpError::from_ureq(failed);
        }
        transport(io_kind(error), &cause_chain(error))
    }

    /// The error kind a plugin reports by default: no answer is CONNECT, a refused credential
    /// (401, 403) AUTH, any other service error IO. A plugin that knows its service's codes
    /// better maps them itself.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HttpError::Transport { .. } | HttpError::UnknownHost { .. } => ErrorKind::CONNECT,
            HttpError::Service(service) if matches!(service.status, 401 | 403) => ErrorKind::AUTH,
            HttpError::Service(_) => ErrorKind::IO,
        }
    }

    /// `doing: error` as a plugin error of [`HttpError::kind`] (`doing`: "reading the schema
    /// of table p.t").
    pub fn to_plugin_error(&self, doing: &str) -> PluginError {
        PluginError::new(self.kind(), format!("{doing}: {self}"))
    }

    /// The HTTP status of a service error.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Service(service) => Some(service.status),
            _ => None,
        }
    }

    /// The service's error code of a service error.
    pub fn code(&self) -> Option<&str> {
        match self {
            HttpError::Service(service) => Some(&service.code),
            _ => None,
        }
    }
}

/// `error: cause: cause …`, each message once (an error often repeats its cause's text in
/// its own).
pub fn cause_chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

/// Why an I/O error left a request without its answer.
fn io_kind(error: &io::Error) -> TransportKind {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportKind::Timeout,
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkDown => TransportKind::Connect,
        _ => TransportKind::Closed,
    }
}

/// A transport error of `kind` whose message says what failed, then why.
fn transport(kind: TransportKind, chain: &str) -> HttpError {
    let doing = match kind {
        TransportKind::Timeout => "timed out",
        TransportKind::Connect => "cannot connect",
        TransportKind::Closed | TransportKind::Cancelled => "the connection failed",
    };
    HttpError::Transport {
        kind,
        message: format!("{doing}: {chain}"),
    }
}

#[cfg(test)]
mod tests;
