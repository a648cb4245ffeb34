//! Whether the job should go on, and if not, why: the first failure wins, later ones (often
//! consequences of stopping) are only logged.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use crate::logger;

pub struct JobState {
    cancelled: AtomicBool,
    failure: Mutex<Option<String>>,
    /// The signal that stopped the job, or 0.
    signal: AtomicI32,
}

impl JobState {
    pub fn new() -> Self {
        JobState {
            cancelled: AtomicBool::new(false),
            failure: Mutex::new(None),
            signal: AtomicI32::new(0),
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Records why the job fails (if it is the first reason) and stops every task.
    pub fn fail(&self, reason: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        match &*failure {
            None => *failure = Some(reason),
            Some(_) => logger::debug("datax", format!("after the job failed: {reason}")),
        }
        self.cancelled.store(true, Ordering::SeqCst);
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
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn signal(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::SeqCst)).filter(|signal| *signal != 0)
    }
}

/// How far one side of a channel has got, for the writer's end-of-data decision.
#[derive(Default)]
pub struct ReaderOutcome(AtomicU8);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderStatus {
    Running,
    Finished,
    Failed,
}

impl ReaderOutcome {
    pub fn set(&self, status: ReaderStatus) {
        self.0.store(status as u8, Ordering::SeqCst);
    }

    pub fn get(&self) -> ReaderStatus {
        match self.0.load(Ordering::SeqCst) {
            0 => ReaderStatus::Running,
            1 => ReaderStatus::Finished,
            _ => ReaderStatus::Failed,
        }
    }
}

/// Sleeps until `deadline` in short steps, returning early (false) if the job is cancelled.
pub fn sleep_until(state: &JobState, deadline: std::time::Instant) -> bool {
    const STEP: Duration = Duration::from_millis(50);
    loop {
        if state.is_cancelled() {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return true;
        }
        thread::sleep((deadline - now).min(STEP));
    }
}
