//! Speed limits (datax-semantics.md §9.3). A sender obeys two throttles: the job-wide one
//! shared by all channels (`setting.speed.{byte,record}` in a dimension without a
//! `core.transport.channel.speed` value) and its channel's own (the core value, DataX's
//! `Channel.statPush`). A throttle only ever delays a sender, so throttling is backpressure
//! and never drops a record.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use datax_job_config::Speed;
use datax_plugin_api::ffi::BatchLimits;

/// How many batches per second the limiter aims for under a limit: small batches keep the
/// achieved rate smooth at the scale of a report interval.
const BATCHES_PER_SECOND: u64 = 50;
pub const MAX_BATCH_RECORDS: u32 = 1024;
pub const MAX_BATCH_BYTES: u64 = 1 << 20;

pub struct Throttle {
    bytes_per_sec: Option<u64>,
    records_per_sec: Option<u64>,
    /// The instant from which the next batch may go: a virtual clock advanced by each batch's
    /// cost, so the long-run rate is exact whatever the batch sizes.
    next_free: Mutex<Option<Instant>>,
}

impl Throttle {
    pub fn new(bytes_per_sec: Option<u64>, records_per_sec: Option<u64>) -> Self {
        Throttle {
            bytes_per_sec: bytes_per_sec.filter(|limit| *limit > 0),
            records_per_sec: records_per_sec.filter(|limit| *limit > 0),
            next_free: Mutex::new(None),
        }
    }

    pub fn is_limited(&self) -> bool {
        self.bytes_per_sec.is_some() || self.records_per_sec.is_some()
    }

    pub fn batch_limits(&self) -> BatchLimits {
        let per_batch = |limit: u64| (limit / BATCHES_PER_SECOND).max(1);
        BatchLimits {
            max_records: self.records_per_sec.map_or(MAX_BATCH_RECORDS, |limit| {
                per_batch(limit).min(u64::from(MAX_BATCH_RECORDS)) as u32
            }),
            max_bytes: self.bytes_per_sec.map_or(MAX_BATCH_BYTES, |limit| {
                per_batch(limit).min(MAX_BATCH_BYTES)
            }),
        }
    }

    /// The batch limits of a sender obeying both `self` and `other`: the smaller of each.
    pub fn batch_limits_with(&self, other: &Throttle) -> BatchLimits {
        let (mine, theirs) = (self.batch_limits(), other.batch_limits());
        BatchLimits {
            max_records: mine.max_records.min(theirs.max_records),
            max_bytes: mine.max_bytes.min(theirs.max_bytes),
        }
    }

    /// Reserves a batch on `self` and `other`: when it may be sent under both (`None`: now).
    pub fn reserve_with(&self, other: &Throttle, records: u64, bytes: u64) -> Option<Instant> {
        // `None` (now) orders before any instant, so the later start wins.
        self.reserve(records, bytes)
            .max(other.reserve(records, bytes))
    }

    /// When a batch of this size may be sent: `None` means now.
    pub fn reserve(&self, records: u64, bytes: u64) -> Option<Instant> {
        if !self.is_limited() {
            return None;
        }
        let seconds = |amount: u64, limit: Option<u64>| {
            limit.map_or(0.0, |limit| amount as f64 / limit as f64)
        };
        let cost = Duration::from_secs_f64(
            seconds(bytes, self.bytes_per_sec).max(seconds(records, self.records_per_sec)),
        );
        let now = Instant::now();
        let mut next_free = self.next_free.lock().unwrap_or_else(|p| p.into_inner());
        // Time nobody used is not saved up: after an idle spell the clock restarts at now.
        let start = next_free.map_or(now, |next| next.max(now));
        *next_free = Some(start + cost);
        (start > now).then_some(start)
    }
}

/// The log line saying which limiter acts on a job, per dimension.
pub fn describe(speed: &Speed) -> String {
    let dimension = |unit: &str, job: Option<u64>, channel: Option<u64>, key: &str| {
        match (
        job, channel,
    ) {
        (_, Some(limit)) => format!(
            "each channel limited to {limit} {unit}/s on its own (core.transport.channel.speed.{key}, as DataX)"
        ),
        (Some(limit), None) => format!(
            "one job-wide limit of {limit} {unit}/s shared by all channels (setting.speed.{key}; \
             DataX would require core.transport.channel.speed.{key})"
        ),
        (None, None) => format!("no {unit} limit"),
    }
    };
    format!(
        "speed: {}; {}",
        dimension("bytes", speed.byte_per_sec, speed.byte_per_channel, "byte"),
        dimension(
            "records",
            speed.record_per_sec,
            speed.record_per_channel,
            "record"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_under_two_throttles_waits_for_the_later_and_batches_for_the_smaller() {
        let job = Throttle::new(Some(1000), None);
        let channel = Throttle::new(None, Some(100));
        assert_eq!(job.reserve_with(&channel, 50, 10), None);
        let next = job
            .reserve_with(&channel, 50, 10)
            .expect("the channel's limit holds it");
        let wait = next - Instant::now();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        let limits = job.batch_limits_with(&channel);
        assert_eq!((limits.max_records, limits.max_bytes), (2, 20));
    }

    #[test]
    fn the_log_names_the_limiter_of_each_dimension() {
        let speed = Speed {
            channels: 2,
            byte_per_sec: Some(4096),
            record_per_sec: None,
            byte_per_channel: None,
            record_per_channel: Some(500),
        };
        assert_eq!(
            describe(&speed),
            "speed: one job-wide limit of 4096 bytes/s shared by all channels (setting.speed.byte; \
             DataX would require core.transport.channel.speed.byte); each channel limited to 500 \
             records/s on its own (core.transport.channel.speed.record, as DataX)"
        );
    }

    #[test]
    fn unlimited_never_waits() {
        let throttle = Throttle::new(None, Some(0));
        assert!(!throttle.is_limited());
        assert_eq!(throttle.reserve(1_000_000, 1 << 30), None);
        assert_eq!(throttle.batch_limits().max_records, MAX_BATCH_RECORDS);
    }

    #[test]
    fn reservations_are_spaced_by_their_cost() {
        let throttle = Throttle::new(None, Some(100));
        assert_eq!(throttle.reserve(50, 0), None);
        let second = throttle.reserve(50, 0).expect("the second batch must wait");
        let third = throttle.reserve(50, 0).expect("the third batch must wait");
        let gap = third - second;
        assert!(
            (gap.as_secs_f64() - 0.5).abs() < 1e-6,
            "50 records at 100/s are half a second apart, got {gap:?}"
        );
    }

    #[test]
    fn the_tighter_of_two_limits_sets_the_pace() {
        let throttle = Throttle::new(Some(1000), Some(1_000_000));
        throttle.reserve(1, 500);
        let next = throttle.reserve(1, 500).unwrap();
        let wait = next - Instant::now();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        assert_eq!(throttle.batch_limits().max_bytes, 20);
    }
}
