//! Request-level cancellation for the blocking client.
//!
//! Ownership: the request moves to a thread of its own, which sends it and hands the answer
//! back over a one-slot channel. The task's thread waits on that channel and looks at its
//! cancellation every [`CANCEL_CHECK`] (a host's cancellation and a channel cannot be waited
//! on at once). Once cancelled it returns and drops its end: the request's thread then ends
//! with its request (the blocking client's own timeout bounds it), and its answer, if one
//! comes, is dropped with the connection.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use reqwest::blocking::{RequestBuilder, Response};

use super::{HttpError, TransportKind};
use crate::retry::Cancellation;

/// How often a request waiting for its answer looks at the task's cancellation: the most a
/// stop waits on a request in flight.
pub const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// Sends `request` and waits for its answer (its status and headers; the body is read by the
/// caller), unless `cancellation` says the task stops first: then
/// [`TransportKind::Cancelled`] at once. Any answer, an error status included, is the
/// caller's to read.
pub fn send_cancellable(
    request: RequestBuilder,
    cancellation: &dyn Cancellation,
) -> Result<Response, HttpError> {
    if cancellation.is_cancelled() {
        return Err(cancelled());
    }
    let (answer, answered) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("http-request".to_string())
        .spawn(move || {
            // The receiver is gone when the task stopped waiting: nothing to do then.
            let _ = answer.send(request.send());
        })
        .map_err(|error| HttpError::Transport {
            kind: TransportKind::Connect,
            message: format!("cannot start a request thread: {error}"),
        })?;
    loop {
        match answered.recv_timeout(CANCEL_CHECK) {
            Ok(sent) => return sent.map_err(|error| HttpError::from_reqwest(&error)),
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

fn cancelled() -> HttpError {
    HttpError::Transport {
        kind: TransportKind::Cancelled,
        message: "the job is stopping; the request was left unanswered".to_string(),
    }
}
