//! One retry policy for every plugin: exponential backoff with jitter ([`RetryPolicy`]), a
//! classifier each plugin writes ([`RetryLogic`], as Vector's), and a driver ([`retry`]) that
//! counts the retries and sleeps between attempts in a sleep that cancellation ends at once
//! ([`Cancellation`]).
//!
//! ```
//! use std::time::Duration;
//! use datax_plugin_kit::http::HttpError;
//! use datax_plugin_kit::retry::{retry, NeverCancelled, RetryLogic, RetryPolicy};
//!
//! /// 5xx, 429 and network trouble are worth another try; 429 waits at least a second.
//! struct TunnelRetries;
//!
//! impl RetryLogic for TunnelRetries {
//!     type Error = HttpError;
//!     fn is_retriable(&self, error: &HttpError) -> bool {
//!         match error {
//!             HttpError::Service(service) => service.status >= 500 || service.status == 429,
//!             HttpError::Transport { .. } => true,
//!             HttpError::UnknownHost { .. } => false,
//!         }
//!     }
//!     fn min_delay(&self, error: &HttpError) -> Option<Duration> {
//!         (error.status() == Some(429)).then(|| Duration::from_secs(1))
//!     }
//! }
//!
//! let policy = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_millis(5));
//! let mut calls = 0;
//! let answer = retry(&policy, &TunnelRetries, &NeverCancelled, |_, _, _| {}, |_attempt| {
//!     calls += 1;
//!     if calls < 3 {
//!         Err(HttpError::Transport {
//!             kind: datax_plugin_kit::http::TransportKind::Closed,
//!             message: "reset".into(),
//!         })
//!     } else {
//!         Ok("answer")
//!     }
//! });
//! assert_eq!(answer.unwrap(), "answer");
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use datax_plugin_api::TaskContext;

/// A sleep that ends early when the work is cancelled.
pub trait Cancellation {
    /// Sleeps for `duration` unless cancelled first: true when cancelled (at once), false
    /// when the whole duration passed.
    fn wait_cancelled(&self, duration: Duration) -> bool;

    /// Whether the work is cancelled, without waiting.
    fn is_cancelled(&self) -> bool {
        self.wait_cancelled(Duration::ZERO)
    }
}

/// A task's sleep ends as soon as the job is cancelled.
impl Cancellation for TaskContext {
    fn wait_cancelled(&self, duration: Duration) -> bool {
        TaskContext::wait_cancelled(self, duration)
    }

    fn is_cancelled(&self) -> bool {
        TaskContext::is_cancelled(self)
    }
}

/// Job-level work (`init`, `prepare`, `split`, `post`): cancelled when the job stops (the
/// host's job stop, [`datax_plugin_api::job_stop`]).
pub struct JobStop;

impl Cancellation for JobStop {
    fn wait_cancelled(&self, duration: Duration) -> bool {
        datax_plugin_api::job_stop::wait_stopped(duration)
    }

    fn is_cancelled(&self) -> bool {
        datax_plugin_api::job_stop::is_stopping()
    }
}

/// Work that nothing cancels: sleeps the whole time.
pub struct NeverCancelled;

impl Cancellation for NeverCancelled {
    fn wait_cancelled(&self, duration: Duration) -> bool {
        std::thread::sleep(duration);
        false
    }

    fn is_cancelled(&self) -> bool {
        false
    }
}

/// How the wait grows between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// `min(cap, base × 2^retry)` exactly: for tests, and for services whose SDKs document
    /// a fixed schedule (MaxCompute's 1, 2, 4 … 64 s).
    None,
    /// Uniform in `0..=min(cap, base × 2^retry)` (AWS's "full jitter").
    Full,
    /// Uniform in `base..=min(cap, 3 × the previous wait)` (AWS's "decorrelated jitter").
    Decorrelated,
}

/// At most `max_retries` retries after the first attempt, waiting per [`Jitter`] between
/// `base` and `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base: Duration,
    pub cap: Duration,
    pub jitter: Jitter,
}

impl RetryPolicy {
    /// Full jitter, so that a job's channels do not retry in step.
    pub fn new(max_retries: u32, base: Duration, cap: Duration) -> Self {
        RetryPolicy {
            max_retries,
            base,
            cap,
            jitter: Jitter::Full,
        }
    }

    /// The wait before retry number `retry` (1-based), after a wait of `previous`.
    pub fn delay(&self, retry: u32, previous: Duration) -> Duration {
        let exponential = self
            .base
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20))
            .min(self.cap);
        match self.jitter {
            Jitter::None => exponential,
            Jitter::Full => uniform(Duration::ZERO, exponential),
            Jitter::Decorrelated => {
                let high = previous.saturating_mul(3).clamp(self.base, self.cap);
                uniform(self.base.min(high), high)
            }
        }
    }
}

/// Uniform in `low..=high`. The randomness of std's hasher keys is plenty for jitter.
fn uniform(low: Duration, high: Duration) -> Duration {
    let span = high.saturating_sub(low).as_nanos() as u64;
    if span == 0 {
        return low;
    }
    let random = RandomState::new().build_hasher().finish();
    low + Duration::from_nanos(random % (span + 1))
}

/// What a plugin says about its errors (Vector's `RetryLogic`).
pub trait RetryLogic {
    type Error;

    /// Whether another attempt may succeed (busy server, network trouble), as opposed to
    /// errors no retry can fix (credentials, names, the request itself).
    fn is_retriable(&self, error: &Self::Error) -> bool;

    /// A wait this error needs at least (throttling, quota): the backoff is never shorter.
    fn min_delay(&self, _error: &Self::Error) -> Option<Duration> {
        None
    }

    /// How many retries this error may have in all, when it differs from the policy's
    /// `max_retries` (flow control that the service resolves by itself).
    fn max_retries(&self, _error: &Self::Error, policy_max: u32) -> u32 {
        policy_max
    }

    /// Whether this failure came after progress (a read that resumes where it broke off got
    /// records before failing): the count of retries and the backoff start again, since the
    /// next attempt asks for less than the one before. Default: never.
    fn made_progress(&self, _error: &Self::Error) -> bool {
        false
    }
}

/// How a retried call ended without success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryError<E> {
    /// Not retriable, or out of retries: the last error.
    Failed { error: E, retries: u32 },
    /// Cancelled while waiting to retry: the error that was to be retried.
    Cancelled { error: E, retries: u32 },
}

impl<E> RetryError<E> {
    /// The last error, however the call ended.
    pub fn into_error(self) -> E {
        match self {
            RetryError::Failed { error, .. } | RetryError::Cancelled { error, .. } => error,
        }
    }

    /// Retries made before giving up.
    pub fn retries(&self) -> u32 {
        match self {
            RetryError::Failed { retries, .. } | RetryError::Cancelled { retries, .. } => *retries,
        }
    }
}

/// Calls `call(attempt)` (attempt 0, 1, …) until it succeeds or `logic` and `policy` say stop
/// (an error after progress, [`RetryLogic::made_progress`], starts the count again), or
/// `cancellation` is cancelled. Before each retry, `on_retry(error, retry, wait)` (to log and count it; `retry` is 1-based),
/// then a wait that `cancellation` ends at once.
pub fn retry<T, L: RetryLogic>(
    policy: &RetryPolicy,
    logic: &L,
    cancellation: &dyn Cancellation,
    mut on_retry: impl FnMut(&L::Error, u32, Duration),
    mut call: impl FnMut(u32) -> Result<T, L::Error>,
) -> Result<T, RetryError<L::Error>> {
    let mut retries = 0;
    let mut previous = policy.base;
    loop {
        let error = match call(retries) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if logic.made_progress(&error) {
            retries = 0;
            previous = policy.base;
        }
        if !logic.is_retriable(&error) || retries >= logic.max_retries(&error, policy.max_retries) {
            return Err(RetryError::Failed { error, retries });
        }
        // A task that stops sends nothing more (its request may have been left unanswered).
        if cancellation.is_cancelled() {
            return Err(RetryError::Cancelled { error, retries });
        }
        retries += 1;
        let mut wait = policy.delay(retries, previous);
        if let Some(floor) = logic.min_delay(&error) {
            wait = wait.max(floor);
        }
        previous = wait;
        on_retry(&error, retries, wait);
        if cancellation.wait_cancelled(wait) {
            return Err(RetryError::Cancelled { error, retries });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Errors are numbers: even ones are retriable, 7 needs 50 ms, 9 may retry 5 times.
    struct Numbers;

    impl RetryLogic for Numbers {
        type Error = u32;
        fn is_retriable(&self, error: &u32) -> bool {
            error % 2 == 0 || *error == 7 || *error == 9
        }
        fn min_delay(&self, error: &u32) -> Option<Duration> {
            (*error == 7).then_some(Duration::from_millis(50))
        }
        fn max_retries(&self, error: &u32, policy_max: u32) -> u32 {
            if *error == 9 {
                5
            } else {
                policy_max
            }
        }
    }

    fn exact(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(4),
            jitter: Jitter::None,
        }
    }

    /// Records the waits instead of sleeping; cancels on the `cancel_at`-th wait.
    struct Recorder {
        waits: std::cell::RefCell<Vec<Duration>>,
        cancel_at: usize,
    }

    impl Cancellation for Recorder {
        fn wait_cancelled(&self, duration: Duration) -> bool {
            self.waits.borrow_mut().push(duration);
            self.waits.borrow().len() == self.cancel_at
        }

        fn is_cancelled(&self) -> bool {
            false
        }
    }

    fn recorder(cancel_at: usize) -> Recorder {
        Recorder {
            waits: Default::default(),
            cancel_at,
        }
    }

    #[test]
    fn retries_until_success_counting_and_backing_off() {
        let sleeper = recorder(usize::MAX);
        let mut seen = Vec::new();
        let outcome = retry(
            &exact(5),
            &Numbers,
            &sleeper,
            |error, retry, wait| seen.push((*error, retry, wait)),
            |attempt| if attempt < 4 { Err(2) } else { Ok(attempt) },
        );
        assert_eq!(outcome, Ok(4));
        let ms = Duration::from_millis;
        assert_eq!(*sleeper.waits.borrow(), [ms(1), ms(2), ms(4), ms(4)]);
        assert_eq!(seen[0], (2, 1, ms(1)));
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn stops_at_the_limit_or_at_an_error_no_retry_fixes() {
        let sleeper = recorder(usize::MAX);
        let always = |error| move |_| Err::<(), u32>(error);
        assert_eq!(
            retry(&exact(2), &Numbers, &sleeper, |_, _, _| {}, always(4)),
            Err(RetryError::Failed {
                error: 4,
                retries: 2
            })
        );
        assert_eq!(
            retry(&exact(2), &Numbers, &sleeper, |_, _, _| {}, always(3)),
            Err(RetryError::Failed {
                error: 3,
                retries: 0
            })
        );
        // The classifier may allow an error more retries than the policy.
        let outcome = retry(&exact(2), &Numbers, &sleeper, |_, _, _| {}, always(9));
        assert_eq!(outcome.unwrap_err().retries(), 5);
    }

    #[test]
    fn throttling_waits_at_least_its_minimum() {
        let sleeper = recorder(usize::MAX);
        let calls = Cell::new(0);
        let outcome = retry(
            &exact(3),
            &Numbers,
            &sleeper,
            |_, _, _| {},
            |_| {
                calls.set(calls.get() + 1);
                if calls.get() == 1 {
                    Err(7)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(outcome, Ok(()));
        assert_eq!(*sleeper.waits.borrow(), [Duration::from_millis(50)]);
    }

    #[test]
    fn cancellation_ends_the_wait_and_the_retries() {
        let sleeper = recorder(2);
        let outcome = retry(
            &exact(10),
            &Numbers,
            &sleeper,
            |_, _, _| {},
            |_| Err::<(), _>(2),
        );
        assert_eq!(
            outcome,
            Err(RetryError::Cancelled {
                error: 2,
                retries: 2
            })
        );
    }

    /// Errors are the records a resumed read got before failing.
    struct Resumed;

    impl RetryLogic for Resumed {
        type Error = u32;
        fn is_retriable(&self, _error: &u32) -> bool {
            true
        }
        fn made_progress(&self, records: &u32) -> bool {
            *records > 0
        }
    }

    #[test]
    fn progress_starts_the_count_and_the_backoff_again() {
        let sleeper = recorder(usize::MAX);
        // Two empty failures, one after progress, two empty ones more: five failures in all
        // with a budget of three retries.
        let mut failures = [0, 0, 3, 0, 0].into_iter();
        let mut retries = Vec::new();
        let outcome = retry(
            &exact(3),
            &Resumed,
            &sleeper,
            |_, retry, _| retries.push(retry),
            |_| failures.next().map_or(Ok(()), Err),
        );
        assert_eq!(outcome, Ok(()));
        assert_eq!(retries, [1, 2, 1, 2, 3]);
        let ms = Duration::from_millis;
        assert_eq!(*sleeper.waits.borrow(), [ms(1), ms(2), ms(1), ms(2), ms(4)]);
        let always_empty = retry(
            &exact(2),
            &Resumed,
            &sleeper,
            |_, _, _| {},
            |_| Err::<(), _>(0),
        );
        assert_eq!(always_empty.unwrap_err().retries(), 2);
    }

    #[test]
    fn jittered_delays_stay_in_their_bounds() {
        let ms = Duration::from_millis;
        let full = RetryPolicy::new(10, ms(100), ms(1000));
        let decorrelated = RetryPolicy {
            jitter: Jitter::Decorrelated,
            ..full
        };
        let mut previous = ms(100);
        for retry in 1..=12 {
            let wait = full.delay(retry, previous);
            let ceiling = ms(100 * (1 << (retry - 1).min(4))).min(ms(1000));
            assert!(wait <= ceiling, "{retry}: {wait:?} > {ceiling:?}");
            let next = decorrelated.delay(retry, previous);
            assert!(
                next >= ms(100) && next <= (previous * 3).min(ms(1000)),
                "{next:?}"
            );
            previous = next;
        }
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| full.delay(4, ms(100))).collect();
        assert!(waits.len() > 1, "the jitter varies");
    }

    #[test]
    fn never_cancelled_sleeps_the_whole_time() {
        assert!(!NeverCancelled.wait_cancelled(Duration::from_millis(1)));
    }
}
