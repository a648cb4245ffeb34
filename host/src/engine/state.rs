//! Whether the job should go on, and if not, why: the first failure wins, later ones (often
//! consequences of stopping) are only logged. A consequence that comes first (the reader told
//! that the writer left, before the writer's own error arrives) holds the place only until a
//! cause arrives.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use abi_stable::sabi_trait::TD_Opaque;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use datax_plugin_api::ffi::{FfiJobStop, FfiJobStopBox, FfiJobStop_TO};

use crate::logger;

pub struct JobState {
    cancelled: AtomicBool,
    /// Dropped when the job is cancelled, which disconnects [`JobState::cancellation`]: every
    /// thread waiting on it wakes at once, with no timed polling.
    cancel_sender: Mutex<Option<Sender<Never>>>,
    cancellation: Receiver<Never>,
    failure: Mutex<Option<Failure>>,
    /// The signal that stopped the job, or 0.
    signal: AtomicI32,
}

impl JobState {
    pub fn new() -> Self {
        let (sender, cancellation) = crossbeam_channel::bounded(0);
        JobState {
            cancelled: AtomicBool::new(false),
            cancel_sender: Mutex::new(Some(sender)),
            cancellation,
            failure: Mutex::new(None),
            signal: AtomicI32::new(0),
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// A channel that never carries a value and disconnects when the job is cancelled: wait on
    /// it in a `select!` beside the channel a thread is blocked on.
    pub fn cancellation(&self) -> &Receiver<Never> {
        &self.cancellation
    }

    /// Waits up to `timeout` for cancellation: true as soon as the job is cancelled.
    pub fn wait_cancelled(&self, timeout: Duration) -> bool {
        wait_disconnected(&self.cancellation, timeout)
    }

    /// Records why the job fails (if it is the first cause) and stops every task.
    pub fn fail(&self, reason: impl fmt::Display) {
        self.record_failure(reason.to_string(), false);
    }

    /// Records a failure that is a consequence of another side stopping (a task told the job
    /// is ending), and stops every task: the job's reason unless a cause is recorded, before
    /// or after.
    pub fn fail_as_consequence(&self, reason: impl fmt::Display) {
        self.record_failure(reason.to_string(), true);
    }

    fn record_failure(&self, reason: String, consequence: bool) {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        match &*failure {
            Some(first) if first.consequence && !consequence => {
                logger::debug("datax", format!("before the cause: {}", first.reason));
                *failure = Some(Failure {
                    reason,
                    consequence,
                });
            }
            Some(_) => logger::debug("datax", format!("after the job failed: {reason}")),
            None => {
                *failure = Some(Failure {
                    reason,
                    consequence,
                })
            }
        }
        drop(failure);
        self.cancelled.store(true, Ordering::SeqCst);
        drop(
            self.cancel_sender
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }

    pub fn stop_by_signal(&self, signal: i32) {
        self.signal.store(signal, Ordering::SeqCst);
        let name = if signal == signal_hook::consts::SIGINT {
            "interrupted (Ctrl-C)"
        } else {
            "terminated (SIGTERM)"
        };
        self.fail(format!("job {name}: tasks stopped"));
    }

    pub fn failure(&self) -> Option<String> {
        let failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.as_ref().map(|failure| failure.reason.clone())
    }

    pub fn signal(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::SeqCst)).filter(|signal| *signal != 0)
    }
}

struct Failure {
    reason: String,
    /// A task's "cancelled" error: it stopped because something else did.
    consequence: bool,
}

/// Sleeps until `deadline`, returning early (false) if the job is cancelled.
pub fn sleep_until(state: &JobState, deadline: std::time::Instant) -> bool {
    !state.wait_cancelled(deadline.saturating_duration_since(std::time::Instant::now()))
}

/// A type with no values: what the cancellation channel (never) carries.
pub enum Never {}

/// The job's stop as the plugins' job-level work sees it (`FfiJobStop`): a clone of the
/// cancellation channel, which disconnects when the job is cancelled.
struct HostJobStop {
    cancellation: Receiver<Never>,
}

impl FfiJobStop for HostJobStop {
    fn wait_stopped(&self, timeout_ms: u64) -> bool {
        wait_disconnected(&self.cancellation, Duration::from_millis(timeout_ms))
    }
}

/// Waits up to `timeout` for the cancellation channel to disconnect: true as soon as it does.
fn wait_disconnected(cancellation: &Receiver<Never>, timeout: Duration) -> bool {
    match cancellation.recv_timeout(timeout) {
        Ok(never) => match never {},
        Err(RecvTimeoutError::Disconnected) => true,
        Err(RecvTimeoutError::Timeout) => false,
    }
}

/// What tells the plugins' job-level work (`init`, `prepare`, `split`, `post`) that the job
/// stops.
pub fn job_stop(state: &JobState) -> FfiJobStopBox {
    FfiJobStop_TO::from_value(
        HostJobStop {
            cancellation: state.cancellation.clone(),
        },
        TD_Opaque,
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_throttle_sleep_ends_when_the_job_is_cancelled() {
        let state = Arc::new(JobState::new());
        let sleeper = {
            let state = Arc::clone(&state);
            thread::spawn(move || sleep_until(&state, Instant::now() + Duration::from_secs(60)))
        };
        thread::sleep(Duration::from_millis(100));
        let cancelled_at = Instant::now();
        state.fail("stop");
        assert!(
            !sleeper.join().unwrap(),
            "the sleep reports the cancellation"
        );
        assert!(cancelled_at.elapsed() < Duration::from_millis(50));
        assert!(
            state.wait_cancelled(Duration::from_secs(60)),
            "and stays cancelled"
        );
    }

    #[test]
    fn the_first_failure_wins() {
        let state = JobState::new();
        assert!(!state.wait_cancelled(Duration::from_millis(1)));
        state.fail("first");
        state.fail("second");
        assert_eq!(state.failure().as_deref(), Some("first"));
        assert!(state.is_cancelled());
    }

    #[test]
    fn a_cause_arriving_after_its_consequence_is_the_reason() {
        let state = JobState::new();
        state.fail_as_consequence("reader: the writer stopped taking records");
        assert!(state.is_cancelled(), "a consequence stops the job too");
        state.fail("writer: the service refused the block");
        state.fail_as_consequence("another consequence");
        state.fail("a later cause");
        assert_eq!(
            state.failure().as_deref(),
            Some("writer: the service refused the block")
        );
    }
}
