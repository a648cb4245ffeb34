//! Whether the job is stopping, for job-level work (`init`, `prepare`, `split`, `post`), which
//! runs outside any task and so has no [`crate::TaskContext`] to ask.
//!
//! Like the logger, each plugin library has its own copy of this global: the host installs its
//! job stop into each library at the start of a job. A host that does not (one older than
//! this) leaves nothing installed: the job then never looks stopped, and waits sleep through.

use std::sync::RwLock;
use std::time::Duration;

use crate::ffi::FfiJobStopBox;

static JOB_STOP: RwLock<Option<FfiJobStopBox>> = RwLock::new(None);

#[doc(hidden)]
pub fn install(stop: FfiJobStopBox) {
    *JOB_STOP.write().unwrap_or_else(|e| e.into_inner()) = Some(stop);
}

/// Sleeps for `duration` unless the job stops first: true when it did (the sleep then ends at
/// once), false when the whole duration passed.
pub fn wait_stopped(duration: Duration) -> bool {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    match &*JOB_STOP.read().unwrap_or_else(|e| e.into_inner()) {
        Some(stop) => stop.wait_stopped(millis),
        None => {
            std::thread::sleep(duration);
            false
        }
    }
}

/// Whether the job is stopping, without waiting.
pub fn is_stopping() -> bool {
    wait_stopped(Duration::ZERO)
}
