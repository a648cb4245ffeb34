//! Request-level cancellation for the blocking client.
//!
//! Ownership: the request moves to a thread of its own (an idle one of a pool's, see
//! [`super::workers`]), which sends it and hands the answer back over a one-slot channel.
//! The task's thread waits on that channel and looks at its cancellation every
//! [`CANCEL_CHECK`] (a host's cancellation and a channel cannot be waited on at once). Once
//! cancelled it returns and drops its end: the request's thread then ends with its request
//! (the client's own timeouts bound it), and its answer, if one comes, is dropped with the
//! connection.
//!
//! A body can stall after its headers as well: [`cancellable_body`] reads it on a thread of
//! its own the same way, chunk by chunk into a bounded channel. The request's thread reads
//! the first [`READ_WITH_HEADERS`] bytes of every body before it hands the answer over, so a
//! small body (a session's JSON, a PutLogs answer, a small partition's rows, chunked or not)
//! comes with its headers in one wake-up and needs no thread: a job of many small partitions
//! sends a few such requests per partition, and each hop between threads costs more CPU than
//! the request itself.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use super::client::{RequestBuilder, Response, ResponseBody};
use super::workers::WORKERS;
use super::{HttpError, TransportKind};
use crate::retry::Cancellation;

/// How often a request waiting for its answer looks at the task's cancellation: the most a
/// stop waits on a request in flight.
pub const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// Sends `request` and waits for its answer (its status and headers; the caller reads the
/// body, with [`cancellable_body`] or [`text_cancellable`]), unless `cancellation` says the
/// task stops first: then [`TransportKind::Cancelled`] at once. Any answer, an error status
/// included, is the caller's to read. The body's first [`READ_WITH_HEADERS`] bytes come read
/// already: a break or stall in them is this call's error (or cancellation), not the body's.
pub fn send_cancellable(
    request: RequestBuilder,
    cancellation: &dyn Cancellation,
) -> Result<Response, HttpError> {
    if cancellation.is_cancelled() {
        return Err(cancelled());
    }
    send_in_background(request)?.wait(cancellation)
}

/// Sends `request` on the calling thread and waits for its answer, as [`send_cancellable`]
/// does but without a thread of its own and without looking at any cancellation: only for a
/// thread that a stop does not wait on (a writer's sending thread the task leaves behind
/// after a grace period). The client's timeout bounds the wait.
pub fn send_on_this_thread(request: RequestBuilder) -> Result<Response, HttpError> {
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
            let _ = answer.send(send_on_this_thread(request));
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

/// The bytes of a body the request's thread reads with the headers ([`send_cancellable`]): a
/// body no longer comes whole; the rest of a longer one streams through [`cancellable_body`].
pub const READ_WITH_HEADERS: usize = BODY_CHUNK;

fn cancelled() -> HttpError {
    HttpError::Transport {
        kind: TransportKind::Cancelled,
        message: "the job is stopping; the request was left unanswered".to_string(),
    }
}

/// The most a body's reader thread reads at once: one chunk in flight.
pub const BODY_CHUNK: usize = 64 * 1024;

/// Chunks read ahead of the task: a body holds at most `BODY_CHUNKS_AHEAD + 1` chunks of
/// [`BODY_CHUNK`] (the channel's and the one being filled).
const BODY_CHUNKS_AHEAD: usize = 4;

/// A response body a stop does not wait on: a thread of its own reads it in chunks of at most
/// [`BODY_CHUNK`] into a channel of [`BODY_CHUNKS_AHEAD`] chunks, and the task's reads wait on
/// that channel, looking at `cancellation` every [`CANCEL_CHECK`]. Once the task is
/// cancelled, a read fails at once; dropping the body drops the channel, and the thread ends
/// with its next chunk or the client's timeout, closing the connection.
pub fn cancellable_body(
    response: Response,
    cancellation: &dyn Cancellation,
) -> Result<CancellableBody<'_>, HttpError> {
    spawn_body_reader(response, cancellation, ChunkBy::Read)
}

/// [`cancellable_body`] for a caller that reads the whole body before using any of it: the
/// thread hands over full chunks rather than each network read, so the task wakes once per
/// [`BODY_CHUNK`] instead of once per packet burst.
pub fn cancellable_whole_body(
    response: Response,
    cancellation: &dyn Cancellation,
) -> Result<CancellableBody<'_>, HttpError> {
    spawn_body_reader(response, cancellation, ChunkBy::Fill)
}

/// What makes a chunk for the task.
#[derive(Clone, Copy)]
enum ChunkBy {
    /// Each network read: bytes reach the task as they arrive.
    Read,
    /// Reads until [`BODY_CHUNK`] bytes or the end of the body.
    Fill,
}

fn spawn_body_reader(
    response: Response,
    cancellation: &dyn Cancellation,
    chunk_by: ChunkBy,
) -> Result<CancellableBody<'_>, HttpError> {
    let body = match response.body {
        // Reading a body in memory does not wait on the network.
        ResponseBody::InMemory(body) => {
            return Ok(CancellableBody {
                arriving: None,
                chunk: body,
                position: 0,
                ended: true,
                cancellation,
            })
        }
        ResponseBody::Streaming { read, rest } => (read, rest),
    };
    let (read, rest) = body;
    let (chunks, arriving) = mpsc::sync_channel(BODY_CHUNKS_AHEAD);
    WORKERS
        .run("http-body", move || read_chunks(rest, chunks, chunk_by))
        .map_err(|error| HttpError::Transport {
            kind: TransportKind::Closed,
            message: format!("cannot start a body thread: {error}"),
        })?;
    Ok(CancellableBody {
        arriving: Some(arriving),
        chunk: read,
        position: 0,
        ended: false,
        cancellation,
    })
}

/// The whole body as text (lossy UTF-8, as reqwest's `text` without a charset), unless the
/// task is cancelled first.
pub fn text_cancellable(
    response: Response,
    cancellation: &dyn Cancellation,
) -> Result<String, HttpError> {
    let mut body = Vec::new();
    cancellable_whole_body(response, cancellation)?
        .read_to_end(&mut body)
        .map_err(|error| HttpError::from_body_read(&error))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The body thread: chunks as `chunk_by` says, then an empty chunk at the end (a disconnect
/// without it is a failure), or the read's error as an [`HttpError`].
fn read_chunks(mut body: impl Read, chunks: SyncSender<io::Result<Vec<u8>>>, chunk_by: ChunkBy) {
    loop {
        let read = read_chunk(&mut body, chunk_by)
            .map_err(|error| io::Error::other(HttpError::from_body_read(&error)));
        let last = !matches!(&read, Ok(chunk) if !chunk.is_empty());
        // A send fails when the task dropped the body: the response closes with this thread.
        if chunks.send(read).is_err() || last {
            return;
        }
    }
}

/// One chunk, empty only at the end of the body.
fn read_chunk(body: &mut impl Read, chunk_by: ChunkBy) -> io::Result<Vec<u8>> {
    let mut chunk = vec![0; BODY_CHUNK];
    let mut filled = 0;
    while filled < chunk.len() {
        match body.read(&mut chunk[filled..]) {
            Ok(0) => break,
            Ok(size) => {
                filled += size;
                if matches!(chunk_by, ChunkBy::Read) {
                    break;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    chunk.truncate(filled);
    Ok(chunk)
}

/// A response body read by a thread of its own ([`cancellable_body`]).
pub struct CancellableBody<'a> {
    /// The body thread's chunks; `None` when the whole body is `chunk` already.
    arriving: Option<Receiver<io::Result<Vec<u8>>>>,
    chunk: Vec<u8>,
    /// What of `chunk` the task has read.
    position: usize,
    ended: bool,
    cancellation: &'a dyn Cancellation,
}

impl CancellableBody<'_> {
    /// The next chunk, empty at the end of the body.
    fn next_chunk(&mut self) -> io::Result<Vec<u8>> {
        let Some(arriving) = &self.arriving else {
            return Ok(Vec::new());
        };
        loop {
            match arriving.recv_timeout(CANCEL_CHECK) {
                Ok(read) => return read,
                Err(RecvTimeoutError::Timeout) if self.cancellation.is_cancelled() => {
                    return Err(io::Error::other(cancelled()))
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other(HttpError::Transport {
                        kind: TransportKind::Closed,
                        message: "the body's thread ended before the body did".to_string(),
                    }))
                }
            }
        }
    }
}

impl Read for CancellableBody<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.position == self.chunk.len() && !self.ended && !out.is_empty() {
            self.chunk = self.next_chunk()?;
            self.position = 0;
            self.ended = self.chunk.is_empty();
        }
        let size = out.len().min(self.chunk.len() - self.position);
        out[..size].copy_from_slice(&self.chunk[self.position..self.position + size]);
        self.position += size;
        Ok(size)
    }
}
