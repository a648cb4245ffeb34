//! HTTP plumbing shared by both services: the request as handlers see it, response bodies
//! (whole or streamed from a generator thread), query decoding and request ids.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Frame};
use hyper::{HeaderMap, Method, Response, StatusCode};
use tokio::sync::mpsc;

pub(crate) type ResponseBody = BoxBody<Bytes, io::Error>;

/// A request with its body read.
pub(crate) struct SandboxRequest {
    pub method: Method,
    /// Raw path, still percent-encoded.
    pub path: String,
    /// Raw query string, without `?`.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// True when the client sent `Content-Length` (SLS refuses chunked uploads).
    pub has_content_length: bool,
}

impl SandboxRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decoded query parameters, in request order.
    pub fn params(&self) -> Vec<(String, String)> {
        decode_query(&self.query)
    }

    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn has_param(&self, name: &str) -> bool {
        self.params().iter().any(|(k, _)| k == name)
    }
}

/// What a handler answers.
pub(crate) enum Reply {
    Respond(Response<ResponseBody>),
    /// Close the connection without writing any response (a fault).
    Drop,
}

pub(crate) fn full_body(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub(crate) fn response(
    status: StatusCode,
    headers: &[(&str, String)],
    body: impl Into<Bytes>,
) -> Response<ResponseBody> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(full_body(body))
        .unwrap_or_else(|_| Response::new(full_body(Bytes::new())))
}

pub(crate) fn json_response(
    status: StatusCode,
    value: &serde_json::Value,
) -> Response<ResponseBody> {
    response(
        status,
        &[("content-type", "application/json".into())],
        value.to_string(),
    )
}

/// A response body fed chunk by chunk through a bounded channel, so a blocking writer
/// thread produces it at the pace the client reads. An `Err` chunk aborts the response.
pub(crate) struct ChannelBody {
    pub receiver: mpsc::Receiver<io::Result<Bytes>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|result| result.map(Frame::data)))
    }
}

/// Decodes `a=1&b&c=x%20y`: percent escapes and `+` as space, as `parse_qsl` does.
pub(crate) fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect()
}

/// Joins query parameters, in the order given, as `k=v&...`, with a bare name for an empty
/// value: the canonical query of both services' signatures.
pub(crate) fn join_query<K: AsRef<str>, V: AsRef<str>>(
    params: impl IntoIterator<Item = (K, V)>,
) -> String {
    let pairs: Vec<String> = params
        .into_iter()
        .map(|(k, v)| {
            let (k, v) = (k.as_ref(), v.as_ref());
            if v.is_empty() {
                k.to_string()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    pairs.join("&")
}

pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let text = if plus_is_space {
        text.replace('+', " ")
    } else {
        text.to_string()
    };
    percent_encoding::percent_decode_str(&text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A unique request id: 24 upper-case hex digits, the shape SLS uses; MaxCompute's are
/// opaque strings too.
pub(crate) fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:08X}{:016X}",
        seconds as u32,
        n ^ (u64::from(std::process::id()) << 40)
    )
}
