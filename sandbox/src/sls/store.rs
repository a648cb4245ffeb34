//! Received logs: appended as JSON lines to `{data_dir}/{project}/{logstore}.jsonl` and
//! counted per logstore, so tests (and people) can read back exactly what arrived.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::proto::LogGroup;
use super::SlsConfig;

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
}

impl StoredLog {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.contents.get(key).map(String::as_str)
    }
}

struct LogstoreFile {
    path: PathBuf,
    file: File,
    count: u64,
}

pub(crate) struct LogStore {
    logstores: HashMap<(String, String), Mutex<LogstoreFile>>,
}

impl LogStore {
    /// Creates (truncating) one file per configured logstore.
    pub fn open(data_dir: &Path, config: &SlsConfig) -> anyhow::Result<Self> {
        let mut logstores = HashMap::new();
        for project in &config.projects {
            let dir = data_dir.join(&project.name);
            std::fs::create_dir_all(&dir)?;
            for logstore in &project.logstores {
                let path = dir.join(format!("{logstore}.jsonl"));
                let file = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(true)
                    .open(&path)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
                logstores.insert(
                    (project.name.clone(), logstore.clone()),
                    Mutex::new(LogstoreFile {
                        path,
                        file,
                        count: 0,
                    }),
                );
            }
        }
        Ok(LogStore { logstores })
    }

    pub fn has_project(&self, project: &str) -> bool {
        self.logstores.keys().any(|(p, _)| p == project)
    }

    pub fn has_logstore(&self, project: &str, logstore: &str) -> bool {
        self.logstores
            .contains_key(&(project.to_string(), logstore.to_string()))
    }

    /// Appends a group's logs; returns how many were stored.
    pub fn append(&self, project: &str, logstore: &str, group: &LogGroup) -> std::io::Result<u64> {
        let Some(entry) = self
            .logstores
            .get(&(project.to_string(), logstore.to_string()))
        else {
            return Ok(0);
        };
        let tags: BTreeMap<String, String> = group
            .log_tags
            .iter()
            .map(|tag| {
                (
                    tag.key.clone().unwrap_or_default(),
                    tag.value.clone().unwrap_or_default(),
                )
            })
            .collect();
        let mut lines = Vec::new();
        for log in &group.logs {
            let stored = StoredLog {
                time: log.time.unwrap_or_default(),
                time_ns: log.time_ns,
                topic: group.topic.clone().unwrap_or_default(),
                source: group.source.clone().unwrap_or_default(),
                tags: tags.clone(),
                contents: log
                    .contents
                    .iter()
                    .map(|c| {
                        (
                            c.key.clone().unwrap_or_default(),
                            String::from_utf8_lossy(c.value.as_deref().unwrap_or_default())
                                .into_owned(),
                        )
                    })
                    .collect(),
            };
            serde_json::to_writer(&mut lines, &stored)?;
            lines.push(b'\n');
        }
        let mut file = entry.lock().unwrap_or_else(|e| e.into_inner());
        file.file.write_all(&lines)?;
        file.count += group.logs.len() as u64;
        Ok(group.logs.len() as u64)
    }

    pub fn count(&self, project: &str, logstore: &str) -> u64 {
        self.logstores
            .get(&(project.to_string(), logstore.to_string()))
            .map(|entry| entry.lock().unwrap_or_else(|e| e.into_inner()).count)
            .unwrap_or(0)
    }

    /// `(project, logstore, count)` for every logstore.
    pub fn counts(&self) -> Vec<(String, String, u64)> {
        let mut counts: Vec<_> = self
            .logstores
            .iter()
            .map(|((p, l), entry)| {
                let count = entry.lock().unwrap_or_else(|e| e.into_inner()).count;
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
        let entry = self
            .logstores
            .get(&(project.to_string(), logstore.to_string()))?;
        // Holding the lock keeps a concurrent append from showing half-written.
        let file = entry.lock().unwrap_or_else(|e| e.into_inner());
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
