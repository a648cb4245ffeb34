//! The threads that run requests and read bodies for [`super::send_cancellable`] and
//! [`super::cancellable_body`]: a cached pool, as Java's `newCachedThreadPool`. A job goes to
//! an idle thread when there is one and to a new thread otherwise, so a request that hangs
//! never waits behind another and the threads alive are at most the requests and bodies in
//! flight at once plus the ones idle; a thread idle for [`IDLE_FOR`] ends. A job of many
//! small partitions sends a few requests per partition: without the pool each one started
//! and ended a thread. A plugin's own detached threads run on it too ([`run_detached`]).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a thread waits for its next job before it ends.
const IDLE_FOR: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce() + Send>;

/// An idle thread, waiting on its own one-slot inbox.
struct Idle {
    id: u64,
    inbox: SyncSender<Job>,
}

/// A pool: its idle threads, the most recently idle last (taken first, the others age out).
pub struct Workers {
    idle: Mutex<Vec<Idle>>,
    next_id: AtomicU64,
}

/// The pool of a plugin library's requests.
pub static WORKERS: Workers = Workers::new();

/// Runs `job` on an idle thread of the pool the library's requests and bodies run on, or on a
/// new thread named `name` when none is idle: for a plugin's own detached threads (a writer
/// task's sending threads), so that a job of many short tasks does not start and end a thread
/// per task. The thread is not joined; `job` must end by itself.
pub fn run_detached(name: &str, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
    WORKERS.run(name, job)
}

impl Workers {
    const fn new() -> Self {
        Workers {
            idle: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `job` on an idle thread, or on a new one (named `name`) when none is idle.
    pub fn run(&'static self, name: &str, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let mut job: Job = Box::new(job);
        loop {
            let Some(thread) = self.idle().pop() else {
                break;
            };
            match thread.inbox.send(job) {
                Ok(()) => return Ok(()),
                // Its thread is gone (a job panicked on it): try the next.
                Err(mpsc::SendError(back)) => job = back,
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (inbox, jobs) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || self.work(id, &inbox, &jobs, job))
            .map(drop)
    }

    /// A pool thread: runs its job, then waits idle for the next one or ends.
    fn work(&self, id: u64, inbox: &SyncSender<Job>, jobs: &Receiver<Job>, first: Job) {
        let mut job = first;
        loop {
            job();
            self.idle().push(Idle {
                id,
                inbox: inbox.clone(),
            });
            job = match jobs.recv_timeout(IDLE_FOR) {
                Ok(next) => next,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let mut idle = self.idle();
                    if let Some(at) = idle.iter().position(|thread| thread.id == id) {
                        idle.remove(at);
                        return;
                    }
                    drop(idle);
                    // Taken off the idle list just now: its job is on the way.
                    match jobs.recv() {
                        Ok(next) => next,
                        Err(_) => return,
                    }
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread::ThreadId;

    use super::*;

    /// A pool of the test's own: the other tests' requests use [`WORKERS`] meanwhile.
    static POOL: Workers = Workers::new();

    fn thread_of_a_job() -> ThreadId {
        let (done, ran_on) = mpsc::channel();
        POOL.run("test-worker", move || {
            done.send(std::thread::current().id()).unwrap();
        })
        .unwrap();
        ran_on.recv().unwrap()
    }

    #[test]
    fn an_idle_thread_takes_the_next_job_and_a_busy_one_does_not_hold_it_up() {
        let first = thread_of_a_job();
        // The thread goes idle right after its job: give it the moment to.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(thread_of_a_job(), first, "the idle thread is reused");

        let (release, blocked) = mpsc::channel::<()>();
        POOL.run("test-worker", move || {
            let _ = blocked.recv();
        })
        .unwrap();
        let started = std::time::Instant::now();
        thread_of_a_job();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "not queued behind"
        );
        drop(release);
    }
}
