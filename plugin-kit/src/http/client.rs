//! The blocking client a plugin's requests go through: `ureq`, which sends on the calling
//! thread and keeps no runtime or thread of its own, with the kit's resolver and TLS roots.
//!
//! A plugin builds a request (`client.post(url).header(…).body(…)`) and hands it to
//! [`super::send_cancellable`] or [`super::send_on_this_thread`]; the answer is a
//! [`Response`] whose body the kit reads ([`super::cancellable_body`],
//! [`super::text_cancellable`]).

use std::io::Read;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH};
use http::{HeaderMap, Method, StatusCode};
use ureq::config::ConfigBuilder;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::typestate::AgentScope;
use ureq::unversioned::transport::{Connector, DefaultConnector};
use ureq::Agent;

use super::watch::WatchConnector;
use super::{proxy, resolve};
use super::{HttpError, TransportKind};

/// Idle connections a job's client keeps per host: enough for every channel's requests in
/// flight on a typical job (channels × requests per task), a bound on sockets held.
pub const IDLE_CONNECTIONS_PER_HOST: usize = 64;

/// A client's settings: ureq's own, which a plugin extends with its timeouts and user agent.
pub type ClientConfig = ConfigBuilder<AgentScope>;

/// The settings every plugin client starts from: error statuses are answers (the plugin reads
/// the service's error body), connections kept for reuse. The TLS roots and the proxy are
/// [`build_client`]'s.
pub fn client_config() -> ClientConfig {
    Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(IDLE_CONNECTIONS_PER_HOST * 2)
        .max_idle_connections_per_host(IDLE_CONNECTIONS_PER_HOST)
        .max_idle_age(Duration::from_secs(30))
}

/// Builds the client the settings `config` makes describe, with the kit's resolver, the OS
/// and the bundled TLS roots and, for `http://` and `https://` URLs each, the proxy the
/// environment names for the scheme ([`super::proxy`]). The `https://` side, and with it the
/// reading of the OS certificate store, waits for the first `https://` request: a job whose
/// endpoints are all `http://` (VPC and intranet endpoints, the sandbox) never pays for it.
pub fn build_client(config: impl Fn() -> ClientConfig + Send + Sync + 'static) -> Client {
    client_resolving_by(config, resolve::getaddrinfo)
}

/// [`build_client`] with the host names looked up by `lookup`.
pub(super) fn client_resolving_by(
    config: impl Fn() -> ClientConfig + Send + Sync + 'static,
    lookup: fn(&str) -> resolve::LookupResult,
) -> Client {
    let agent = move |https: bool| {
        let mut config = config().proxy(proxy::from_env(https));
        // An `http://` request redirected to `https://` stays with its agent: that one
        // trusts ureq's bundled roots, not the OS store.
        if https {
            let tls = TlsConfig::builder()
                .root_certs(RootCerts::Specific(trusted_roots()))
                .build();
            config = config.tls_config(tls);
        }
        Agent::with_parts(
            config.build(),
            DefaultConnector::new().chain(WatchConnector),
            resolve::Resolver { lookup },
        )
    };
    Client {
        plain: agent(false),
        tls: Arc::new(LazyLock::new(Box::new(move || agent(true)))),
    }
}

/// The certificates a TLS connection may chain to: the operating system's store (read when a
/// client is built; `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured) and Mozilla's roots
/// bundled in the library, so a private CA works and a bare container still reaches the cloud.
fn trusted_roots() -> Arc<Vec<Certificate<'static>>> {
    // A certificate the store cannot read is skipped.
    let system = rustls_native_certs::load_native_certs().certs;
    let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter();
    Arc::new(
        system
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
            .chain(bundled.map(|der| Certificate::from_der(der.as_ref()).to_owned()))
            .collect(),
    )
}

/// A job's HTTP client: cheap to clone, the clones share its connection pools.
#[derive(Clone)]
pub struct Client {
    /// For `http://` URLs.
    plain: Agent,
    /// For `https://` URLs (each scheme may have a proxy of its own), made on first use.
    tls: Arc<LazyLock<Agent, MakeAgent>>,
}

type MakeAgent = Box<dyn FnOnce() -> Agent + Send>;

impl Client {
    /// A request of `method` to `url`.
    pub fn request(&self, method: Method, url: impl AsRef<str>) -> RequestBuilder {
        let url = url.as_ref();
        let https = url
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        RequestBuilder {
            agent: if https { &*self.tls } else { &self.plain }.clone(),
            head: http::Request::builder().method(method).uri(url),
            body: Bytes::new(),
        }
    }

    pub fn get(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    pub fn post(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::POST, url)
    }
}

/// A request being built; an invalid header or URL fails when it is sent.
pub struct RequestBuilder {
    agent: Agent,
    head: http::request::Builder,
    body: Bytes,
}

impl RequestBuilder {
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.head = self.head.header(name, value);
        self
    }

    /// Adds every header of `headers`, replacing any of the same name.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        if let Some(own) = self.head.headers_mut() {
            own.extend(headers);
        }
        self
    }

    /// The body, sent with its `Content-Length`; shared, not copied, by a retry's attempts.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Whether the request sends a body.
    pub(crate) fn has_body(&self) -> bool {
        !self.body.is_empty()
    }

    /// Sends the request on this thread and waits for its status and headers (the client's
    /// timeouts bound it).
    pub(crate) fn send(self) -> Result<Response, HttpError> {
        let (head, ()) = self
            .head
            .body(())
            .map_err(|error| HttpError::Transport {
                kind: TransportKind::Connect,
                message: format!("the request is not valid: {error}"),
            })?
            .into_parts();
        let uri = head.uri.clone();
        let request = http::Request::from_parts(head, &self.body[..]);
        let answer = self
            .agent
            .run(request)
            .map_err(|error| HttpError::sending_to(&uri.to_string(), &error))?;
        let (head, body) = answer.into_parts();
        Ok(Response {
            head,
            body: ResponseBody::Streaming {
                read: Vec::new(),
                rest: body.into_reader(),
            },
        })
    }
}

/// An answer: its status and headers, and its body, in memory or still on the connection.
pub struct Response {
    head: http::response::Parts,
    pub(super) body: ResponseBody,
}

pub(super) enum ResponseBody {
    /// Read whole with the headers ([`super::READ_WITH_HEADERS`]).
    InMemory(Vec<u8>),
    /// `read` came with the headers; `rest` is still on the connection.
    Streaming {
        read: Vec<u8>,
        rest: ureq::BodyReader<'static>,
    },
}

/// The status and headers (a body is no one's to print).
impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.head.status)
            .field("headers", &self.head.headers)
            .finish_non_exhaustive()
    }
}

impl Response {
    pub fn status(&self) -> StatusCode {
        self.head.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.head.headers
    }

    /// The body's length by its `Content-Length`.
    pub fn content_length(&self) -> Option<u64> {
        self.head
            .headers
            .get(CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `self` with the first `limit` bytes of its body read: the whole body when it is no
    /// longer (a session's JSON, a PutLogs answer, a small partition's rows, chunked or not).
    /// Bounded by the client's timeouts as any read of the body is.
    pub(super) fn with_body_read_ahead(mut self, limit: usize) -> Result<Response, HttpError> {
        if let ResponseBody::Streaming { read, rest } = &mut self.body {
            // One byte past the limit tells a body of exactly `limit` bytes from a longer one.
            let wanted = limit as u64 + 1 - read.len() as u64;
            rest.take(wanted)
                .read_to_end(read)
                .map_err(|error| HttpError::from_body_read(&error))?;
            if read.len() <= limit {
                self.body = ResponseBody::InMemory(std::mem::take(read));
            }
        }
        Ok(self)
    }
}
