//! Received logs: appended as JSON lines to `{data_dir}/{project}/{logstore}.jsonl` and
//! counted per logstore, so tests (and people) can read back exactly what arrived; and kept
//! per shard as the log groups received (their protobuf appended to
//! `{logstore}.shard-{id}.loggroups`, indexed in memory with each group's receive time: 24
//! bytes a group), for GetCursor and PullLogs. A cursor is a group's position in its shard.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hyper::StatusCode;
use prost::Message;
use serde::{Deserialize, Serialize};

use super::proto::LogGroup;
use super::{GeneratedLogs, SlsConfig, SlsError};

/// One stored log with its group's topic, source and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLog {
    pub time: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ns: Option<u32>,
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Content keys and values; a value that is not UTF-8 is stored lossily.
    pub contents: BTreeMap<String, String>,
    /// The shard the log went to.
    #[serde(default)]
    pub shard: u32,
    /// When the sandbox received it, Unix seconds: what GetCursor's times refer to.
    #[serde(default)]
    pub receive_time: u32,
}

impl StoredLog {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.contents.get(key).map(String::as_str)
    }
}

/// A log group appended directly to a shard (the control API, [`crate::SandboxHandle`]), with
/// the receive time it is to have: what reader tests need to place logs in time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendedGroup {
    pub receive_time: u32,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub logs: Vec<AppendedLog>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendedLog {
    pub time: u32,
    pub contents: BTreeMap<String, String>,
}

impl AppendedGroup {
    pub(crate) fn to_log_group(&self) -> LogGroup {
        use super::proto::{Log, LogContent, LogTag};
        LogGroup {
            logs: self
                .logs
                .iter()
                .map(|log| Log {
                    time: Some(log.time),
                    contents: log
                        .contents
                        .iter()
                        .map(|(key, value)| LogContent {
                            key: Some(key.clone().into()),
                            value: Some(value.clone().into_bytes().into()),
                        })
                        .collect(),
                    time_ns: None,
                })
                .collect(),
            reserved: None,
            topic: self.topic.clone(),
            source: self.source.clone(),
            machine_uuid: None,
            log_tags: self
                .tags
                .iter()
                .map(|(key, value)| LogTag {
                    key: Some(key.clone()),
                    value: Some(value.clone()),
                })
                .collect(),
        }
    }
}

struct LogstoreFile {
    path: PathBuf,
    file: File,
    count: u64,
}

/// One logstore: its file, its shards' ranges, and per shard the groups received in order.
struct Logstore {
    file: Mutex<LogstoreFile>,
    layout: Vec<ShardRange>,
    shards: Vec<Mutex<ShardGroups>>,
    /// A generated logstore: its groups are made up when pulled, none are stored.
    generated: Option<GeneratedLogs>,
    /// The next read-write shard a load-balanced PutLogs goes to, modulo their count.
    next_balanced: AtomicU64,
}

/// A shard's groups: their protobuf in a file, where each is and when it arrived in memory.
struct ShardGroups {
    /// `None` for a generated logstore.
    file: Option<File>,
    index: Vec<StoredGroup>,
    size: u64,
}

/// Where a group's protobuf `LogGroup` is in its shard's file, and when it arrived.
struct StoredGroup {
    receive_time: u32,
    offset: u64,
    len: u32,
}

impl ShardGroups {
    fn create(path: Option<PathBuf>) -> anyhow::Result<Self> {
        let file = match path {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .read(true)
                    .write(true)
                    .truncate(true)
                    .open(&path)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?,
            ),
            None => None,
        };
        Ok(ShardGroups {
            file,
            index: Vec::new(),
            size: 0,
        })
    }

    fn push(&mut self, receive_time: u32, encoded: &[u8]) -> std::io::Result<()> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| std::io::Error::other("no file"))?;
        let len = u32::try_from(encoded.len()).map_err(std::io::Error::other)?;
        file.write_all_at(encoded, self.size)?;
        self.index.push(StoredGroup {
            receive_time,
            offset: self.size,
            len,
        });
        self.size += u64::from(len);
        Ok(())
    }

    /// The protobuf of groups `[start, stop)`, read at once (they follow each other), and
    /// each group's part of it.
    fn read(&self, start: u64, stop: u64) -> std::io::Result<(Vec<u8>, Vec<Range<usize>>)> {
        let groups = &self.index[start as usize..stop as usize];
        let (Some(first), Some(last), Some(file)) = (groups.first(), groups.last(), &self.file)
        else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut bytes = vec![0; (last.offset + u64::from(last.len) - first.offset) as usize];
        file.read_exact_at(&mut bytes, first.offset)?;
        let parts = groups
            .iter()
            .map(|group| {
                let at = (group.offset - first.offset) as usize;
                at..at + group.len as usize
            })
            .collect();
        Ok((bytes, parts))
    }
}

/// Which shard a PutLogs goes to (sls-putlogs.md §2.1).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Route {
    /// `/shards/lb`: round robin over the shards.
    Balanced,
    /// `/shards/route?key=`: the shard whose hash range holds the 128-bit key.
    HashKey(u128),
    /// The control API: this shard.
    Shard(u32),
}

/// Where GetCursor starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CursorFrom {
    Begin,
    End,
    /// The first group received at or after these Unix seconds.
    Time(u64),
}

/// What one PullLogs returns: the groups as a `LogGroupList`, how many, and the next cursor.
pub(crate) struct Pulled {
    pub list: Vec<u8>,
    pub groups: u64,
    pub next: u64,
}

/// A shard's hash range, as ListShards shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShardRange {
    pub id: u32,
    pub begin_key: u128,
    /// Exclusive, except that the last shard's `ffff…` also holds `ffff…` itself.
    pub end_key: u128,
    /// Split: still read, never written.
    pub read_only: bool,
}

/// `count` shards splitting the 128-bit hash space evenly, then each of `split` split in
/// two: it turns read-only, and two read-write shards with the halves of its range get the
/// next ids, as the service numbers them.
pub(crate) fn shard_layout(count: u32, split: &[u32]) -> Result<Vec<ShardRange>, String> {
    if !(1..=super::MAX_SHARDS).contains(&count) {
        return Err(format!("shards must be 1 to {}", super::MAX_SHARDS));
    }
    let width = u128::MAX / u128::from(count);
    let mut layout: Vec<ShardRange> = (0..count)
        .map(|id| ShardRange {
            id,
            begin_key: width * u128::from(id),
            end_key: if id + 1 == count {
                u128::MAX
            } else {
                width * u128::from(id + 1)
            },
            read_only: false,
        })
        .collect();
    for &parent in split {
        let range = match layout.get_mut(parent as usize) {
            Some(range) if !range.read_only => range,
            _ => {
                return Err(format!(
                    "split: shard {parent} does not exist or is split already"
                ))
            }
        };
        range.read_only = true;
        let (begin, end) = (range.begin_key, range.end_key);
        let middle = begin + (end - begin) / 2;
        for (begin_key, end_key) in [(begin, middle), (middle, end)] {
            let id = layout.len() as u32;
            layout.push(ShardRange {
                id,
                begin_key,
                end_key,
                read_only: false,
            });
        }
    }
    if layout.len() > super::MAX_SHARDS as usize {
        return Err(format!("more than {} shards", super::MAX_SHARDS));
    }
    Ok(layout)
}

pub(crate) struct LogStore {
    logstores: HashMap<(String, String), Logstore>,
}

impl LogStore {
    /// Creates (truncating) one file per configured logstore.
    pub fn open(data_dir: &Path, config: &SlsConfig) -> anyhow::Result<Self> {
        let mut logstores = HashMap::new();
        for project in &config.projects {
            let dir = data_dir.join(&project.name);
            std::fs::create_dir_all(&dir)?;
            for logstore in &project.logstores {
                let name = logstore.name();
                let layout = shard_layout(logstore.shards(), logstore.split())
                    .map_err(|e| anyhow::anyhow!("logstore {name}: {e}"))?;
                let generated = logstore.generated().cloned();
                if let Some(generated) = &generated {
                    generated.validate(name).map_err(anyhow::Error::msg)?;
                }
                let path = dir.join(format!("{name}.jsonl"));
                let file = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(true)
                    .open(&path)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
                logstores.insert(
                    (project.name.clone(), name.to_string()),
                    Logstore {
                        file: Mutex::new(LogstoreFile {
                            path,
                            file,
                            count: 0,
                        }),
                        shards: layout
                            .iter()
                            .map(|range| {
                                let file = format!("{name}.shard-{}.loggroups", range.id);
                                let path = generated.is_none().then(|| dir.join(file));
                                ShardGroups::create(path).map(Mutex::new)
                            })
                            .collect::<anyhow::Result<_>>()?,
                        layout,
                        generated,
                        next_balanced: AtomicU64::new(0),
                    },
                );
            }
        }
        Ok(LogStore { logstores })
    }

    fn logstore(&self, project: &str, logstore: &str) -> Option<&Logstore> {
        self.logstores
            .get(&(project.to_string(), logstore.to_string()))
    }

    pub fn has_project(&self, project: &str) -> bool {
        self.logstores.keys().any(|(p, _)| p == project)
    }

    pub fn has_logstore(&self, project: &str, logstore: &str) -> bool {
        self.logstore(project, logstore).is_some()
    }

    /// The shards of a logstore; empty for an unknown one.
    pub fn shard_ranges(&self, project: &str, logstore: &str) -> Vec<ShardRange> {
        self.logstore(project, logstore)
            .map_or_else(Vec::new, |entry| entry.layout.clone())
    }

    /// Appends a group received at `receive_time` to the shard `route` picks; returns how
    /// many logs were stored.
    pub fn append(
        &self,
        project: &str,
        logstore: &str,
        route: Route,
        group: &LogGroup,
        receive_time: u32,
    ) -> Result<u64, SlsError> {
        let Some(entry) = self.logstore(project, logstore) else {
            return Ok(0);
        };
        if entry.generated.is_some() {
            return Err(SlsError::bad_request(
                "ParameterInvalid",
                format!("logstore {logstore} is generated by the sandbox: it takes no writes"),
            ));
        }
        let writable: Vec<&ShardRange> = entry
            .layout
            .iter()
            .filter(|range| !range.read_only)
            .collect();
        let shard = match route {
            Route::Balanced => {
                let turn = entry.next_balanced.fetch_add(1, Ordering::Relaxed);
                writable[(turn % writable.len() as u64) as usize].id
            }
            Route::HashKey(key) => writable
                .iter()
                .find(|range| range.begin_key <= key && key < range.end_key)
                .or(writable.last())
                .map_or(0, |range| range.id),
            Route::Shard(shard) if (shard as usize) < entry.layout.len() => shard,
            Route::Shard(shard) => return Err(shard_not_exist(shard)),
        };
        let lines = json_lines(group, shard, receive_time).map_err(internal)?;
        let mut file = entry.file.lock().unwrap_or_else(|e| e.into_inner());
        file.file.write_all(&lines).map_err(internal)?;
        file.count += group.logs.len() as u64;
        // Under the file's lock, so that a shard's groups are in the file's order.
        entry.shards[shard as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(receive_time, &group.encode_to_vec())
            .map_err(internal)?;
        Ok(group.logs.len() as u64)
    }

    /// GetCursor: the position of the first group `from` designates.
    pub fn cursor(
        &self,
        project: &str,
        logstore: &str,
        shard: u32,
        from: CursorFrom,
    ) -> Result<u64, SlsError> {
        let (entry, groups) = self.shard(project, logstore, shard)?;
        if let Some(generated) = &entry.generated {
            return Ok(match from {
                CursorFrom::Begin => 0,
                CursorFrom::End => generated.groups_per_shard,
                CursorFrom::Time(time) => generated.position_at(time),
            });
        }
        let groups = &groups.lock().unwrap_or_else(|e| e.into_inner()).index;
        Ok(match from {
            CursorFrom::Begin => 0,
            CursorFrom::End => groups.len() as u64,
            // Receive times only grow within a shard (but for the control API's groups):
            // the first group at or after the time.
            CursorFrom::Time(time) => groups
                .iter()
                .position(|group| u64::from(group.receive_time) >= time)
                .unwrap_or(groups.len()) as u64,
        })
    }

    /// PullLogs: up to `count` groups from `start`, stopping at `end` (exclusive).
    pub fn pull(
        &self,
        project: &str,
        logstore: &str,
        shard: u32,
        start: u64,
        count: u64,
        end: Option<u64>,
    ) -> Result<Pulled, SlsError> {
        let (entry, groups) = self.shard(project, logstore, shard)?;
        if let Some(generated) = &entry.generated {
            let (start, stop) = window(start, count, end, generated.groups_per_shard)?;
            let encoded = (start..stop).map(|index| generated.group(shard, index).encode_to_vec());
            return Ok(group_list(encoded, start, stop));
        }
        let groups = groups.lock().unwrap_or_else(|e| e.into_inner());
        let (start, stop) = window(start, count, end, groups.index.len() as u64)?;
        let (bytes, parts) = groups.read(start, stop).map_err(internal)?;
        let encoded = parts.into_iter().map(|part| &bytes[part]);
        Ok(group_list(encoded, start, stop))
    }

    fn shard(
        &self,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<(&Logstore, &Mutex<ShardGroups>), SlsError> {
        let entry = self
            .logstore(project, logstore)
            .ok_or_else(|| logstore_not_exist(logstore))?;
        let groups = entry
            .shards
            .get(shard as usize)
            .ok_or_else(|| shard_not_exist(shard))?;
        Ok((entry, groups))
    }

    pub fn count(&self, project: &str, logstore: &str) -> u64 {
        self.logstore(project, logstore)
            .map(|entry| entry.file.lock().unwrap_or_else(|e| e.into_inner()).count)
            .unwrap_or(0)
    }

    /// `(project, logstore, count)` for every logstore.
    pub fn counts(&self) -> Vec<(String, String, u64)> {
        let mut counts: Vec<_> = self
            .logstores
            .iter()
            .map(|((p, l), entry)| {
                let count = entry.file.lock().unwrap_or_else(|e| e.into_inner()).count;
                (p.clone(), l.clone(), count)
            })
            .collect();
        counts.sort();
        counts
    }

    /// Reads a logstore's file back, the first `limit` logs or all; `None` for an unknown
    /// logstore.
    pub fn read(
        &self,
        project: &str,
        logstore: &str,
        limit: Option<usize>,
    ) -> Option<Vec<StoredLog>> {
        let entry = self.logstore(project, logstore)?;
        // Holding the lock keeps a concurrent append from showing half-written.
        let file = entry.file.lock().unwrap_or_else(|e| e.into_inner());
        let reader = BufReader::new(File::open(&file.path).ok()?);
        Some(
            reader
                .lines()
                .map_while(Result::ok)
                .take(limit.unwrap_or(usize::MAX))
                .filter_map(|line| serde_json::from_str(&line).ok())
                .collect(),
        )
    }
}

/// The positions `[start, stop)` a pull of `count` from `start` to `end` (default the shard's
/// `len`) reads; a cursor past the shard's end is invalid.
fn window(start: u64, count: u64, end: Option<u64>, len: u64) -> Result<(u64, u64), SlsError> {
    if start > len {
        return Err(invalid_cursor(start));
    }
    let end = match end {
        Some(end) if end > len => return Err(invalid_cursor(end)),
        Some(end) => end.max(start),
        None => len,
    };
    Ok((start, end.min(start.saturating_add(count))))
}

/// Encoded groups as a `LogGroupList` (`repeated LogGroup logGroupList = 1`): each its field
/// 1, length-delimited.
fn group_list<B: AsRef<[u8]>>(encoded: impl Iterator<Item = B>, start: u64, stop: u64) -> Pulled {
    let mut list = Vec::new();
    for group in encoded {
        let group = group.as_ref();
        prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut list);
        prost::encoding::encode_varint(group.len() as u64, &mut list);
        list.extend_from_slice(group);
    }
    Pulled {
        list,
        groups: stop - start,
        next: stop,
    }
}

/// A [`StoredLog`] as it is written: borrowed from the received group, so that a log costs
/// no copies of its strings (they were most of the sandbox's work on a PutLogs).
#[derive(Serialize)]
struct StoredLogLine<'a> {
    time: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_ns: Option<u32>,
    topic: &'a str,
    source: &'a str,
    tags: &'a BTreeMap<&'a str, &'a str>,
    contents: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    shard: u32,
    receive_time: u32,
}

/// The group's logs as JSON lines, each with its group's topic, source and tags.
fn json_lines(group: &LogGroup, shard: u32, receive_time: u32) -> std::io::Result<Vec<u8>> {
    let tags: BTreeMap<&str, &str> = group
        .log_tags
        .iter()
        .map(|tag| {
            (
                tag.key.as_deref().unwrap_or_default(),
                tag.value.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    let mut lines = Vec::new();
    for log in &group.logs {
        let line = StoredLogLine {
            time: log.time.unwrap_or_default(),
            time_ns: log.time_ns,
            topic: group.topic.as_deref().unwrap_or_default(),
            source: group.source.as_deref().unwrap_or_default(),
            tags: &tags,
            contents: log
                .contents
                .iter()
                .map(|c| {
                    (
                        String::from_utf8_lossy(c.key.as_deref().unwrap_or_default()),
                        String::from_utf8_lossy(c.value.as_deref().unwrap_or_default()),
                    )
                })
                .collect(),
            shard,
            receive_time,
        };
        serde_json::to_writer(&mut lines, &line)?;
        lines.push(b'\n');
    }
    Ok(lines)
}

fn internal(error: impl std::fmt::Display) -> SlsError {
    SlsError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        format!("cannot store logs: {error}"),
    )
}

pub(crate) fn logstore_not_exist(logstore: &str) -> SlsError {
    SlsError::new(
        StatusCode::NOT_FOUND,
        "LogStoreNotExist",
        format!("logstore {logstore} does not exist"),
    )
}

pub(crate) fn shard_not_exist(shard: u32) -> SlsError {
    SlsError::new(
        StatusCode::NOT_FOUND,
        "ShardNotExist",
        format!("shard {shard} does not exist"),
    )
}

pub(crate) fn invalid_cursor(position: u64) -> SlsError {
    SlsError::bad_request(
        "InvalidCursor",
        format!("cursor at {position} is beyond the shard's end"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_shard_turns_read_only_and_its_halves_get_the_next_ids() {
        let layout = shard_layout(2, &[1, 3]).unwrap();
        let half = u128::MAX / 2;
        let shown: Vec<(u32, u128, u128, bool)> = layout
            .iter()
            .map(|r| (r.id, r.begin_key, r.end_key, r.read_only))
            .collect();
        let quarter = half + (u128::MAX - half) / 2;
        assert_eq!(
            shown,
            [
                (0, 0, half, false),
                (1, half, u128::MAX, true),
                (2, half, quarter, false),
                (3, quarter, u128::MAX, true),
                (4, quarter, quarter + (u128::MAX - quarter) / 2, false),
                (5, quarter + (u128::MAX - quarter) / 2, u128::MAX, false),
            ]
        );
        assert!(shard_layout(2, &[1, 1]).is_err());
        assert!(shard_layout(2, &[2]).is_err());
        assert!(shard_layout(0, &[]).is_err());
        assert!(shard_layout(256, &[0]).is_err());
    }

    #[test]
    fn a_json_line_reads_back_as_the_stored_log_it_stands_for() {
        use super::super::proto::{Log, LogContent, LogTag};
        let content = |key: &str, value: &[u8]| LogContent {
            key: Some(key.as_bytes().to_vec().into()),
            value: Some(value.to_vec().into()),
        };
        let group = LogGroup {
            logs: vec![Log {
                time: Some(1_700_000_000),
                // A repeated key keeps its last value; a value that is not UTF-8, lossily.
                contents: vec![
                    content("b", b"first"),
                    content("a", b"\"quoted\"\n"),
                    content("b", b"last"),
                    content("c", b"\xff"),
                ],
                time_ns: Some(5),
            }],
            topic: Some("topic".into()),
            log_tags: vec![LogTag {
                key: Some("tag".into()),
                value: Some("value".into()),
            }],
            ..Default::default()
        };
        let lines = json_lines(&group, 3, 1_700_000_001).unwrap();
        let read: StoredLog = serde_json::from_slice(lines.strip_suffix(b"\n").unwrap()).unwrap();
        let owned = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            read,
            StoredLog {
                time: 1_700_000_000,
                time_ns: Some(5),
                topic: "topic".into(),
                source: String::new(),
                tags: owned(&[("tag", "value")]),
                contents: owned(&[("a", "\"quoted\"\n"), ("b", "last"), ("c", "\u{fffd}")]),
                shard: 3,
                receive_time: 1_700_000_001,
            }
        );
    }
}
