//! Generated logstores: each log group made up from its shard, its position and a seed when
//! it is pulled, so a logstore of any size costs no memory (for benchmarks). Receive times
//! advance `groups_per_second` groups a second, so time cursors are arithmetic.

use super::proto::{Log, LogContent, LogGroup, LogTag};
use super::GeneratedLogs;
use crate::odps::generator::splitmix64;

const LEVELS: [&str; 4] = ["INFO", "WARN", "ERROR", "DEBUG"];

impl GeneratedLogs {
    /// Checks the sizes, naming the logstore.
    pub(crate) fn validate(&self, logstore: &str) -> Result<(), String> {
        if !(1..=10_000).contains(&self.logs_per_group) {
            return Err(format!(
                "logstore {logstore}: logs_per_group must be 1 to 10000"
            ));
        }
        if self.groups_per_second == 0 {
            return Err(format!(
                "logstore {logstore}: groups_per_second must be 1 or more"
            ));
        }
        Ok(())
    }

    pub(crate) fn receive_time(&self, index: u64) -> u32 {
        let seconds = index / u64::from(self.groups_per_second);
        u32::try_from(u64::from(self.start_time) + seconds).unwrap_or(u32::MAX)
    }

    /// The position of the first group received at or after `time`.
    pub(crate) fn position_at(&self, time: u64) -> u64 {
        let since = time.saturating_sub(u64::from(self.start_time));
        since
            .saturating_mul(u64::from(self.groups_per_second))
            .min(self.groups_per_shard)
    }

    /// Group `index` of `shard`.
    pub(crate) fn group(&self, shard: u32, index: u64) -> LogGroup {
        let receive_time = self.receive_time(index);
        let logs = (0..self.logs_per_group)
            .map(|log| {
                let draw = splitmix64(
                    self.seed
                        ^ splitmix64(
                            (u64::from(shard) << 48)
                                ^ (index * u64::from(self.logs_per_group) + u64::from(log)),
                        ),
                );
                let latency = (draw >> 8) % 1000;
                let content = |key: &'static str, value: String| LogContent {
                    key: Some(key.into()),
                    value: Some(value.into_bytes().into()),
                };
                Log {
                    time: Some(receive_time.saturating_sub((draw % 3) as u32)),
                    contents: vec![
                        content("seq", format!("{shard}-{index}-{log}")),
                        content("level", LEVELS[(draw % 4) as usize].to_string()),
                        content("user", format!("u{:06}", (draw >> 20) % 100_000)),
                        content("latency_ms", latency.to_string()),
                        content("msg", format!("request handled in {latency} ms")),
                    ],
                    time_ns: None,
                }
            })
            .collect();
        let tag = |key: &str, value: String| LogTag {
            key: Some(key.to_string()),
            value: Some(value),
        };
        LogGroup {
            logs,
            reserved: None,
            topic: Some("generated".to_string()),
            source: Some(format!("10.0.{shard}.1")),
            machine_uuid: None,
            log_tags: vec![
                tag("__hostname__", format!("host-{shard}")),
                tag("__receive_time__", receive_time.to_string()),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs() -> GeneratedLogs {
        GeneratedLogs {
            groups_per_shard: 100,
            logs_per_group: 3,
            seed: 7,
            start_time: 1_700_000_000,
            groups_per_second: 4,
        }
    }

    #[test]
    fn groups_are_the_same_every_time_and_differ_by_position() {
        let logs = logs();
        let group = logs.group(1, 9);
        assert_eq!(group, logs.group(1, 9));
        assert_ne!(group.logs, logs.group(0, 9).logs);
        assert_eq!(group.logs.len(), 3);
        assert_eq!(
            group.logs[2].contents[0].value.as_deref(),
            Some(&b"1-9-2"[..])
        );
        assert_eq!(logs.receive_time(9), 1_700_000_002);
    }

    #[test]
    fn a_time_finds_the_first_group_received_at_or_after_it() {
        let logs = logs();
        assert_eq!(logs.position_at(0), 0);
        assert_eq!(logs.position_at(1_700_000_000), 0);
        assert_eq!(logs.position_at(1_700_000_002), 8);
        assert_eq!(logs.receive_time(7), 1_700_000_001);
        assert_eq!(logs.position_at(1_800_000_000), 100);
        assert!(logs.validate("g").is_ok());
        let none = GeneratedLogs {
            logs_per_group: 0,
            ..logs
        };
        assert!(none.validate("g").is_err());
    }
}
