//! Reads a task's thread can be stopped in: a request sent, or a body read, on the task's own
//! thread looks at the task's cancellation while it waits on the network.
//!
//! Design: every connection of a kit client is wrapped in a [`Watched`] transport (the
//! outermost layer, over TLS). A thread that sends for a task runs the send inside
//! [`watching`], which lends the task's cancellation to this thread for that long. While one
//! is lent, a read that waits on the network waits [`CANCEL_CHECK`] at a time and looks at
//! the cancellation between waits: once the task is cancelled the read fails with a
//! cancelled [`HttpError`] and ureq drops the connection. A read outside [`watching`] (a
//! request on a pool thread, sent ahead) waits its whole timeout as ureq's own transport
//! does. A write is never cut in pieces: it cannot be resumed after a partial timeout, and a
//! request sent this way is headers only (a body is sent from a pool thread,
//! [`super::send_cancellable`]).
//!
//! Ownership: the lent cancellation is a borrowed `&dyn Cancellation`; this thread's slot
//! holds it as a raw pointer only while [`watching`] runs, and only this thread reads it.

use std::cell::Cell;
use std::io;
use std::time::Instant;

use ureq::unversioned::transport::time::Duration;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

use super::cancel::{cancelled, CANCEL_CHECK};
use crate::retry::Cancellation;

thread_local! {
    /// The cancellation lent to this thread by [`watching`], while it runs.
    static LENT: Cell<Option<*const (dyn Cancellation + 'static)>> = const { Cell::new(None) };
}

/// Runs `send` with `cancellation` lent to this thread: a kit transport's read in it ends
/// within [`CANCEL_CHECK`] of the task's cancellation.
pub(super) fn watching<T>(cancellation: &dyn Cancellation, send: impl FnOnce() -> T) -> T {
    /// Gives the slot back its earlier value, on return and on unwinding alike.
    struct Restore(Option<*const (dyn Cancellation + 'static)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LENT.set(self.0);
        }
    }
    let borrowed: *const (dyn Cancellation + '_) = cancellation;
    // SAFETY: only the pointer's lifetime bound changes (same layout). The pointer is read
    // by `is_lent_cancelled` on this thread alone, and `Restore` takes it out of the slot
    // before this function returns or unwinds, while `cancellation` is still borrowed.
    let lent = unsafe {
        std::mem::transmute::<*const (dyn Cancellation + '_), *const (dyn Cancellation + 'static)>(
            borrowed,
        )
    };
    let _restore = Restore(LENT.replace(Some(lent)));
    send()
}

/// Whether a cancellation is lent to this thread: `Some(cancelled)`.
fn is_lent_cancelled() -> Option<bool> {
    let lent = LENT.get()?;
    // SAFETY: a pointer in the slot is alive: `watching` put it there from a borrow that
    // outlives its own call and takes it out before returning (see there).
    Some(unsafe { &*lent }.is_cancelled())
}

/// Wraps each connection the connectors before it make in a [`Watched`] transport.
#[derive(Debug)]
pub(super) struct WatchConnector;

impl Connector<Box<dyn Transport>> for WatchConnector {
    type Out = Watched;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Watched>, ureq::Error> {
        Ok(chained.map(Watched))
    }
}

/// A connection whose reads look at the cancellation lent to the reading thread.
#[derive(Debug)]
pub(super) struct Watched(Box<dyn Transport>);

impl Transport for Watched {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.0.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let whole = timeout.for_read();
        if is_lent_cancelled().is_none() || *whole.after <= CANCEL_CHECK {
            return self.0.await_input(timeout);
        }
        let deadline = Instant::now().checked_add(*whole.after);
        loop {
            if is_lent_cancelled() == Some(true) {
                return Err(ureq::Error::Io(io::Error::other(cancelled())));
            }
            let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left <= CANCEL_CHECK) {
                // The last piece: its timeout is the read's own.
                let last = NextTimeout {
                    after: Duration::Exact(left.unwrap_or(CANCEL_CHECK)),
                    per_read: None,
                    ..whole
                };
                return self.0.await_input(last);
            }
            let piece = NextTimeout {
                after: Duration::Exact(CANCEL_CHECK),
                per_read: None,
                ..whole
            };
            match self.0.await_input(piece) {
                Err(ureq::Error::Timeout(_)) => {}
                Err(ureq::Error::Io(error))
                    if matches!(
                        error.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) => {}
                other => return other,
            }
        }
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}
