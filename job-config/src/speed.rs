//! `setting.speed`: how many channels run at once and the job-wide rate limits (spec §2, §9.3).

use serde_json::Value;

use crate::error::JobError;
use crate::value::{as_bool, as_f64, as_i64, join, optional, optional_object};

/// Concurrency and limits. `None` means no limit.
///
/// DataX enforces a rate only per channel (`Channel.statPush`, at
/// `core.transport.channel.speed.{byte,record}`); the job-level `setting.speed.{byte,record}`
/// only sizes the channel count (job ÷ core), and DataX refuses a job-level limit without the
/// core value. `datax` keeps such a job running with one limiter shared by all channels at the
/// job value: `byte_per_sec`/`record_per_sec` are those job-wide limits, set only for a
/// dimension with no per-channel value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speed {
    pub channels: usize,
    /// Job-wide limits, shared by all channels.
    pub byte_per_sec: Option<u64>,
    pub record_per_sec: Option<u64>,
    /// Per-channel limits (`core.transport.channel.speed`): each channel on its own.
    pub byte_per_channel: Option<u64>,
    pub record_per_channel: Option<u64>,
}

const MIB: f64 = 1_048_576.0;

/// The most channels a job may run at once. DataX has no maximum; every channel is a pair
/// of threads and a task queue entry, so an absurd count (`2^31`) would exhaust memory or
/// threads long before it ran. 1,024 is far above what a source or sink serves usefully.
pub const MAX_CHANNELS: usize = 1024;

impl Speed {
    /// DataX: `channel`, `byte`, `record` under `setting.speed`; `core.transport.channel.speed`
    /// caps each channel and divides the job-level values into a channel count. Zero or
    /// negative values (DataX's `-1`) mean "not set", as in DataX, which tests `> 0`.
    pub(crate) fn from_datax(
        setting: Option<&Value>,
        setting_path: &str,
        core: Option<&Value>,
        warnings: &mut Vec<String>,
    ) -> Result<Speed, JobError> {
        let per_channel_path = "core.transport.channel.speed";
        let per_channel = core
            .and_then(|c| c.get("transport"))
            .and_then(|t| t.get("channel"))
            .and_then(|c| c.get("speed"))
            .filter(|s| s.is_object());
        let per_channel_value = |key| -> Result<Option<u64>, JobError> {
            per_channel.map_or(Ok(None), |s| {
                optional(s, key, per_channel_path, as_i64).map(positive)
            })
        };
        let (byte_per_channel, record_per_channel) =
            (per_channel_value("byte")?, per_channel_value("record")?);
        let Some((speed, speed_path)) = speed_object(setting, setting_path, warnings)? else {
            return Ok(Speed {
                byte_per_channel,
                record_per_channel,
                ..Speed::unlimited(1)
            });
        };
        let channel = optional(speed, "channel", &speed_path, as_i64)?;
        let byte = rate_limit(speed, "byte", &speed_path, warnings)?;
        let record = rate_limit(speed, "record", &speed_path, warnings)?;

        // DataX: channels = job limit / per-channel limit (at least 1); with both, the smaller.
        let by_byte = channels_for(byte, byte_per_channel).map(|n| (n, "byte"));
        let by_record = channels_for(record, record_per_channel).map(|n| (n, "record"));
        let derived = match (by_byte, by_record) {
            (Some((a, a_key)), Some((b, b_key))) => {
                Some(if a <= b { (a, a_key) } else { (b, b_key) })
            }
            (Some(n), None) | (None, Some(n)) => Some(n),
            (None, None) => None,
        };
        let channels = match derived {
            Some((n, key)) => {
                if let Some(written) = channel {
                    warnings.push(format!(
                        "{speed_path}.channel ({written}) is ignored: the job limits divided by \
                         {per_channel_path} give {n} channels (as DataX)"
                    ));
                }
                bounded(n, &join(&speed_path, key))?
            }
            None => match channel {
                Some(n) if n > 0 => bounded(n as u64, &join(&speed_path, "channel"))?,
                Some(n) => {
                    warnings.push(format!("{speed_path}.channel is {n}: running 1 channel"));
                    1
                }
                None => {
                    if byte.is_none() && record.is_none() {
                        warnings.push(format!(
                            "{speed_path}: no channel, byte or record, running 1 channel without rate limit"
                        ));
                    }
                    1
                }
            },
        };
        Ok(Speed {
            channels,
            // A dimension with a per-channel value is enforced per channel only, as in DataX.
            byte_per_sec: byte.filter(|_| byte_per_channel.is_none()),
            record_per_sec: record.filter(|_| record_per_channel.is_none()),
            byte_per_channel,
            record_per_channel,
        })
    }

    /// DataWorks: `concurrent` (or a DataX `channel` copied by Alibaba's converter) is the channel
    /// count; `throttle: false` means no limit; `mbps` is MiB/s for the whole job, applied when
    /// `throttle` is true or absent (old 1.0 files have no `throttle`); `dmu` is ignored.
    pub(crate) fn from_dataworks(
        setting: Option<&Value>,
        setting_path: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Speed, JobError> {
        let Some((speed, speed_path)) = speed_object(setting, setting_path, warnings)? else {
            return Ok(Speed::unlimited(1));
        };
        let (concurrent, concurrent_key) = match optional(speed, "concurrent", &speed_path, as_i64)?
        {
            Some(n) => (Some(n), "concurrent"),
            None => (optional(speed, "channel", &speed_path, as_i64)?, "channel"),
        };
        let concurrent_path = join(&speed_path, concurrent_key);
        let channels = match concurrent {
            Some(n) if n > 0 => bounded(n as u64, &concurrent_path)?,
            Some(n) => {
                warnings.push(format!("{speed_path}.concurrent is {n}: running 1 channel"));
                1
            }
            None => {
                warnings.push(format!("{speed_path}: no concurrent, running 1 channel"));
                1
            }
        };
        let mbps = optional(speed, "mbps", &speed_path, as_f64)?.filter(|m| *m > 0.0);
        let byte_per_sec = match optional(speed, "throttle", &speed_path, as_bool)? {
            Some(false) => None,
            Some(true) if mbps.is_none() => {
                warnings.push(format!(
                    "{speed_path}: throttle is true but no mbps is given, so there is no rate limit"
                ));
                None
            }
            Some(true) | None => mbps.map(|m| (m * MIB).round() as u64),
        };
        Ok(Speed {
            byte_per_sec,
            ..Speed::unlimited(channels)
        })
    }

    fn unlimited(channels: usize) -> Speed {
        Speed {
            channels,
            byte_per_sec: None,
            record_per_sec: None,
            byte_per_channel: None,
            record_per_channel: None,
        }
    }
}

/// `setting.speed` and its path; `None`, with a warning, when there is none.
fn speed_object<'a>(
    setting: Option<&'a Value>,
    setting_path: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<(&'a Value, String)>, JobError> {
    let speed_path = join(setting_path, "speed");
    let speed = setting.map_or(Ok(None), |s| optional_object(s, "speed", setting_path))?;
    if speed.is_none() {
        warnings.push(format!(
            "{speed_path}: no speed setting, running 1 channel without rate limit"
        ));
    }
    Ok(speed.map(|speed| (speed, speed_path)))
}

/// `setting.speed.byte` / `record`: DataX limits only values above 0 (`getInt(..., 0) > 0` in
/// `JobContainer.adjustChannelNumber`), so `0` and `-1` mean "no limit", said in a warning.
fn rate_limit(
    speed: &Value,
    key: &str,
    speed_path: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<u64>, JobError> {
    let value = optional(speed, key, speed_path, as_i64)?;
    if let Some(n) = value.filter(|n| *n <= 0) {
        warnings.push(format!(
            "{speed_path}.{key} is {n}: no {key} limit (DataX limits only values above 0)"
        ));
    }
    Ok(positive(value))
}

/// A channel count from `path`, refused above [`MAX_CHANNELS`].
fn bounded(channels: u64, path: &str) -> Result<usize, JobError> {
    match usize::try_from(channels) {
        Ok(n) if n <= MAX_CHANNELS => Ok(n),
        _ => Err(JobError::invalid(
            path,
            format!("{channels} channels is more than the maximum of {MAX_CHANNELS}"),
        )),
    }
}

/// DataX's `core.transport.channel.byteCapacity`: the bytes a channel holds before its reader
/// waits (DataX's `core.json` sets 64 MiB). `None` when the job does not set it, or sets it to
/// zero or less: the engine's own default applies.
pub(crate) fn channel_byte_capacity(core: Option<&Value>) -> Result<Option<u64>, JobError> {
    let channel = core
        .and_then(|c| c.get("transport"))
        .and_then(|t| t.get("channel"))
        .filter(|c| c.is_object());
    channel.map_or(Ok(None), |channel| {
        optional(channel, "byteCapacity", "core.transport.channel", as_i64).map(positive)
    })
}

fn positive(value: Option<i64>) -> Option<u64> {
    value.filter(|v| *v > 0).map(|v| v as u64)
}

fn channels_for(job_limit: Option<u64>, per_channel: Option<u64>) -> Option<u64> {
    Some((job_limit? / per_channel?).max(1))
}
