//! One HTTP layer for the cloud plugins: a blocking reqwest client whose resolver tells an
//! unknown host from a DNS hiccup ([`client_builder`]), one typed error ([`HttpError`]) and
//! one cause-chain formatter ([`cause_chain`]). Retries are [`crate::retry`]'s, with a
//! classifier each plugin writes over [`HttpError`].
//!
//! A plugin job builds one client, on first use, and shares it with its tasks
//! ([`SharedClient`]); each answer becomes its value or an [`HttpError`]: a reqwest error with
//! [`HttpError::from_reqwest`], an error answer with [`HttpError::Service`] from the service's
//! own body (JSON, XML: the plugin's codec).
//!
//! A blocking request cannot be interrupted, and a stop must not wait on the network: a task
//! sends with [`send_cancellable`], which waits for the answer on the task's thread while the
//! request runs on a thread of its own, and returns as soon as the task is cancelled; its
//! body is read the same way ([`cancellable_body`]).

mod cancel;
mod resolve;
mod shared;
mod workers;

pub use cancel::{
    cancellable_body, cancellable_whole_body, send_cancellable, send_in_background,
    send_on_this_thread, text_cancellable, CancellableBody, PendingAnswer, BODY_CHUNK,
    CANCEL_CHECK, READ_WITH_HEADERS,
};
pub use shared::SharedClient;
pub use workers::run_detached;

use std::error::Error;
use std::fmt;
use std::sync::Arc;

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
    /// A reqwest error (no answer, or an answer that broke off), classified by its kind and
    /// its source chain, never by message text.
    pub fn from_reqwest(error: &reqwest::Error) -> HttpError {
        if let Some(unknown) = find_source::<UnknownHost>(error) {
            // The whole chain: reqwest's top line names the URL asked for.
            return HttpError::UnknownHost {
                host: unknown.host.clone(),
                message: format!("cannot connect: {}", cause_chain(error)),
            };
        }
        let (kind, doing) = if error.is_timeout() {
            (TransportKind::Timeout, "timed out")
        } else if error.is_connect() {
            (TransportKind::Connect, "cannot connect")
        } else {
            (TransportKind::Closed, "the connection failed")
        };
        HttpError::Transport {
            kind,
            message: format!("{doing}: {}", cause_chain(error)),
        }
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

/// `error: cause: cause …`, each message once (reqwest's own text is often only "error
/// sending request"; hyper repeats its cause's text in its own).
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

/// The first error of type `E` in `error`'s source chain (itself included).
pub fn find_source<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// A blocking client builder with the kit's resolver; the plugin adds its timeouts and
/// headers. It trusts the operating system's certificate store as well as the bundled roots
/// (reqwest's `rustls-tls-native-roots`), so private CAs and TLS-inspecting proxies work.
pub fn client_builder() -> reqwest::blocking::ClientBuilder {
    reqwest::blocking::Client::builder().dns_resolver(Arc::new(resolve::Resolver {
        lookup: resolve::getaddrinfo,
    }))
}

#[cfg(test)]
mod tests;
