//! Request-level cancellation for the blocking client.
//!
//! A request without a body is sent on the task's own thread, and every body is read there:
//! the task's cancellation is lent to the connection's reads ([`super::watch`]), so a stop
//! ends a wait on the network within [`CANCEL_CHECK`], and no other thread takes part (a job
//! of many small partitions sends a few requests per partition, and each hop between threads
//! costs more CPU than the request itself).
//!
//! A request with a body (an upload: a write cut short cannot be resumed, so it is never cut
//! in pieces) and a request sent ahead ([`send_in_background`]) run on a pooled thread
//! ([`super::workers`]) instead, which hands the answer back over a one-slot channel. The
//! task waits on that channel, looking at its cancellation every [`CANCEL_CHECK`] (a host's
//! cancellation and a channel cannot be waited on at once). Once cancelled it returns and
//! drops its end: the request's thread then ends with its request (the client's own timeouts
//! bound it), and its answer, if one comes, is dropped with the connection.
//!
//! Each answer comes with the first [`READ_WITH_HEADERS`] bytes of its body read, so a small
//! body (a session's JSON, a PutLogs answer, a small partition's rows, chunked or not) is in
//! memory when the task gets its answer.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use super::client::{RequestBuilder, Response, ResponseBody};
use super::watch::watching;
use super::workers::WORKERS;
use super::{HttpError, TransportKind};
use crate::retry::Cancellation;

/// How often a request waiting for its answer looks at the task's cancellation: the most a
/// stop waits on a request in flight.
pub const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// Sends `request` and waits for its answer (its status and headers; the caller reads the
/// body, with [`cancellable_body`] or [`text_cancellable`]), unless `cancellation` says the
/// task stops first: then [`TransportKind::Cancelled`] within [`CANCEL_CHECK`]. Any answer,
/// an error status included, is the caller's to read. The body's first [`READ_WITH_HEADERS`]
/// bytes come read already: a break or stall in them is this call's error (or cancellation),
/// not the body's.
pub fn send_cancellable(
    request: RequestBuilder,
    cancellation: &dyn Cancellation,
) -> Result<Response, HttpError> {
    if cancellation.is_cancelled() {
        return Err(cancelled());
    }
    if request.has_body() {
        return send_in_background(request)?.wait(cancellation);
    }
    send_on_this_thread(request, cancellation)
}

/// Sends `request` on the calling thread, its body too, and waits for its answer; the waits
/// for the answer end within [`CANCEL_CHECK`] of `waiting`'s cancellation, as
/// [`send_cancellable`]'s do, but a write is never cut (the client's timeouts bound it). For
/// a thread that sends a body itself rather than hand it to a pooled thread: a writer's
/// sending thread, which nothing cancels ([`crate::retry::NeverCancelled`]), or a task that
/// sends its one small batch.
pub fn send_on_this_thread(
    request: RequestBuilder,
    waiting: &dyn Cancellation,
) -> Result<Response, HttpError> {
    watching(waiting, || send_here(request))
}

/// Sends `request` on this thread, nothing lent to its reads: they wait the client's timeouts.
fn send_here(request: RequestBuilder) -> Result<Response, HttpError> {
    request.send()?.with_body_read_ahead(READ_WITH_HEADERS)
}

/// A request sent by [`send_in_background`], its answer not waited for yet.
pub struct PendingAnswer {
    answered: Receiver<Result<Response, HttpError>>,
}

/// Sends `request` on a thread of its own and returns at once, so that the caller can do
/// other work (read the previous answer's body) while the request makes its round trip;
/// [`PendingAnswer::wait`] then waits as [`send_cancellable`] does. Dropping the pending
/// answer drops the answer when it comes, and its connection.
pub fn send_in_background(request: RequestBuilder) -> Result<PendingAnswer, HttpError> {
    let (answer, answered) = mpsc::sync_channel(1);
    WORKERS
        .run("http-request", move || {
            // The receiver is gone when the task stopped waiting: nothing to do then.
            let _ = answer.send(send_here(request));
        })
        .map_err(|error| HttpError::Transport {
            kind: TransportKind::Connect,
            message: format!("cannot start a request thread: {error}"),
        })?;
    Ok(PendingAnswer { answered })
}

impl PendingAnswer {
    /// The answer (its status and headers), unless `cancellation` says the task stops
    /// first: then [`TransportKind::Cancelled`] within [`CANCEL_CHECK`].
    pub fn wait(self, cancellation: &dyn Cancellation) -> Result<Response, HttpError> {
        loop {
            match self.answered.recv_timeout(CANCEL_CHECK) {
                Ok(sent) => return sent,
                Err(RecvTimeoutError::Timeout) if cancellation.is_cancelled() => {
                    return Err(cancelled())
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(HttpError::Transport {
                        kind: TransportKind::Closed,
                        message: "the request's thread ended without an answer".to_string(),
                    })
                }
            }
        }
    }
}

/// The bytes of a body that come read with its headers ([`send_cancellable`]): a body no
/// longer comes whole; the rest of a longer one is read through [`cancellable_body`].
pub const READ_WITH_HEADERS: usize = 64 * 1024;

/// The error of a request or a read the task's cancellation ended.
pub(super) fn cancelled() -> HttpError {
    HttpError::Transport {
        kind: TransportKind::Cancelled,
        message: "the job is stopping; the request was left unanswered".to_string(),
    }
}

/// A response body a stop does not wait on: read on the task's thread, each wait on the
/// network looking at `cancellation` every [`CANCEL_CHECK`]. Once the task is cancelled a
/// read fails with a cancelled [`HttpError`] in its `io::Error`; dropping the body before its
/// end closes the connection.
pub fn cancellable_body(
    response: Response,
    cancellation: &dyn Cancellation,
) -> Result<CancellableBody<'_>, HttpError> {
    let (read, rest) = match response.body {
        ResponseBody::InMemory(body) => (body, None),
        ResponseBody::Streaming { read, rest } => (read, Some(rest)),
    };
    Ok(CancellableBody {
        read,
        position: 0,
        rest,
        cancellation,
    })
}

/// The whole body as text (lossy UTF-8), unless the
/// task is cancelled first.
pub fn text_cancellable(
    response: Response,
    cancellation: &dyn Cancellation,
) -> Result<String, HttpError> {
    let mut body = Vec::new();
    cancellable_body(response, cancellation)?
        .read_to_end(&mut body)
        .map_err(|error| HttpError::from_body_read(&error))?;
    // Valid UTF-8, as answers are, becomes the text without a copy.
    Ok(String::from_utf8(body)
        .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned()))
}

/// A response body read on the task's thread ([`cancellable_body`]).
pub struct CancellableBody<'a> {
    /// What came with the headers.
    read: Vec<u8>,
    /// What of `read` the task has read.
    position: usize,
    /// The rest, still on the connection; `None` when `read` is the whole body.
    rest: Option<ureq::BodyReader<'static>>,
    cancellation: &'a dyn Cancellation,
}

impl Read for CancellableBody<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.position < self.read.len() {
            let size = out.len().min(self.read.len() - self.position);
            out[..size].copy_from_slice(&self.read[self.position..self.position + size]);
            self.position += size;
            return Ok(size);
        }
        let Some(rest) = &mut self.rest else {
            return Ok(0);
        };
        if self.cancellation.is_cancelled() {
            return Err(io::Error::other(cancelled()));
        }
        watching(self.cancellation, || rest.read(out))
            .map_err(|error| io::Error::other(HttpError::from_body_read(&error)))
    }
}
