//! The plan file `datax plan` writes and the shards and `datax finish` read
//! (docs/plan-and-shards.md): a versioned JSON document.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::SplitTasks;

/// The value of a plan's `format`.
pub const FORMAT: &str = "datax-plan";
/// The one version of the format this datax reads and writes.
pub const VERSION: u64 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub version: u64,
    /// Unique to one `datax plan`: each shard's report names it, so that `datax finish` takes
    /// no report of another plan.
    pub id: String,
    /// `datax <version>`.
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
    pub job: PlannedJob,
    /// Every task of the job, ids 0 to n-1 in order.
    pub tasks: Vec<PlannedTask>,
}

/// The job as it was given to `datax plan`: shards and `finish` read it the same way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedJob {
    /// The job file's path as given (for messages and reports only).
    pub file: PathBuf,
    /// The job file's text.
    pub text: String,
    /// `-p` arguments, in order.
    #[serde(default)]
    pub datax_params: Vec<String>,
    /// `--param` pairs, in order.
    #[serde(default)]
    pub params: Vec<String>,
    /// Whether the job was planned with a data sources file. The file is not copied into the
    /// plan: shards and `finish` must be given it (`--datasources`, `DATAX_DATASOURCES`).
    #[serde(default)]
    pub datasources: bool,
    /// The plugins' names in the job (for people reading the plan).
    pub reader: String,
    pub writer: String,
}

/// One task pair: each side's configuration as its plugin's `split` wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTask {
    pub id: u32,
    pub reader: String,
    pub writer: String,
}

impl PlanFile {
    pub fn tasks(&self) -> SplitTasks {
        SplitTasks {
            reader: self.tasks.iter().map(|task| task.reader.clone()).collect(),
            writer: self.tasks.iter().map(|task| task.writer.clone()).collect(),
        }
    }

    /// Reads a plan, refusing another format or version before anything else.
    pub fn read(path: &Path) -> Result<PlanFile> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read plan {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("plan {}", path.display()))
    }

    fn parse(text: &str) -> Result<PlanFile> {
        let value: Value =
            serde_json::from_str(text).map_err(|error| anyhow!("not valid JSON: {error}"))?;
        let format = value.get("format").and_then(Value::as_str);
        let version = value.get("version").and_then(Value::as_u64);
        if format != Some(FORMAT) || version != Some(VERSION) {
            let shown = |field: Option<&Value>| field.map_or("none".to_string(), Value::to_string);
            bail!(
                "is format {} version {}; this datax ({}) reads format \"{FORMAT}\" version \
                 {VERSION} only: make the plan again with this datax",
                shown(value.get("format")),
                shown(value.get("version")),
                env!("CARGO_PKG_VERSION")
            );
        }
        let plan: PlanFile =
            serde_json::from_value(value).map_err(|error| anyhow!("malformed: {error}"))?;
        if plan.tasks.is_empty() {
            bail!("has no task");
        }
        for (index, task) in plan.tasks.iter().enumerate() {
            if task.id as usize != index {
                bail!(
                    "tasks[{index}] has id {}: ids must be 0, 1, 2, … in order",
                    task.id
                );
            }
        }
        Ok(plan)
    }

    /// Writes the plan readable by its owner only (task configurations may hold credentials),
    /// whole or not at all: a temporary file beside it, synced, then renamed over it.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        let name = path
            .file_name()
            .map_or_else(|| "plan".into(), |name| name.to_string_lossy().into_owned());
        let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&temporary).and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
        let renamed = written.and_then(|()| fs::rename(&temporary, path));
        if let Err(error) = renamed {
            let _ = fs::remove_file(&temporary);
            return Err(error).with_context(|| format!("cannot write plan {}", path.display()));
        }
        Ok(())
    }
}

/// `--shard I/N`, or `/N` with I from `JOB_COMPLETION_INDEX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// The variable a Kubernetes Indexed Job sets to each pod's index.
pub const INDEX_VARIABLE: &str = "JOB_COMPLETION_INDEX";

impl Shard {
    pub fn parse(spec: &str, index_variable: Option<&str>) -> Result<Shard> {
        let (index, count) = spec
            .split_once('/')
            .ok_or_else(|| anyhow!("--shard {spec}: expected I/N (e.g. 0/4) or /N"))?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|&count| count > 0)
            .ok_or_else(|| anyhow!("--shard {spec}: N must be a whole number from 1"))?;
        let index = match index.trim() {
            "" => index_variable
                .ok_or_else(|| {
                    anyhow!("--shard {spec}: I is not given and {INDEX_VARIABLE} is not set")
                })?
                .trim()
                .parse::<u32>()
                .map_err(|_| anyhow!("--shard {spec}: {INDEX_VARIABLE} is not a whole number"))?,
            given => given
                .parse::<u32>()
                .map_err(|_| anyhow!("--shard {spec}: I must be a whole number"))?,
        };
        if index >= count {
            bail!("--shard {spec}: I is {index}, it must be below N ({count})");
        }
        Ok(Shard { index, count })
    }

    /// The task ids this shard runs: those whose id modulo N is I (round robin, so that each
    /// shard gets tasks from the whole range of a split in order).
    pub fn task_ids(&self, tasks: usize) -> Vec<u32> {
        (0..tasks as u32)
            .filter(|id| id % self.count == self.index)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan_text(format: &str, version: u64) -> String {
        json!({
            "format": format, "version": version, "id": "x", "created_by": "datax 0",
            "created_at": "2026-01-01T00:00:00Z",
            "job": {"file": "j.json", "text": "{}", "reader": "r", "writer": "w"},
            "tasks": [{"id": 0, "reader": "{}", "writer": "{}"}]
        })
        .to_string()
    }

    #[test]
    fn another_format_or_version_is_refused_naming_both() {
        assert!(PlanFile::parse(&plan_text(FORMAT, VERSION)).is_ok());
        let error = PlanFile::parse(&plan_text(FORMAT, 2))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("version 2") && error.contains("version 1"),
            "{error}"
        );
        let error = PlanFile::parse(&plan_text("other", 1))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("\"other\"") && error.contains("datax-plan"),
            "{error}"
        );
        let error = PlanFile::parse("{}").unwrap_err().to_string();
        assert!(error.contains("format none version none"), "{error}");
    }

    #[test]
    fn shards_take_every_nth_task_and_the_index_from_kubernetes() {
        let shard = Shard::parse("1/4", None).unwrap();
        assert_eq!(shard.task_ids(10), [1, 5, 9]);
        assert_eq!(Shard::parse("/4", Some("3")).unwrap().index, 3);
        assert!(Shard::parse("/4", None)
            .unwrap_err()
            .to_string()
            .contains(INDEX_VARIABLE));
        assert!(Shard::parse("4/4", None).is_err());
        assert!(Shard::parse("0/0", None).is_err());
        assert!(Shard::parse("2", None).is_err());
        assert!(Shard::parse("x/2", None).is_err());
        let all: Vec<u32> = (0..3)
            .flat_map(|index| Shard { index, count: 3 }.task_ids(7))
            .collect();
        assert_eq!(all.len(), 7);
    }
}
