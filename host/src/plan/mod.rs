//! Plan once, run shards, finish once (docs/plan-and-shards.md): `datax plan`,
//! `datax run --plan FILE --shard I/N` and `datax finish`.

pub mod format;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Local, Utc};
use datax_job_config::secret_values;
use datax_plugin_api::ffi::LogLevel;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cli::{FinishArgs, JobArgs, ParamArgs, PlanArgs, Summary};
use crate::commands::{
    check_outputs, check_writable, open_state, prepare_source, print_summary, run_prepared,
    JobSource,
};
use crate::engine::stats::{Delivery, PluginCounterTotals, Snapshot, TransformerTotals};
use crate::engine::{self, Outcome};
use crate::logger;
use crate::outputs::{RunOutputs, EXIT_FAILED};
use format::{PlanFile, PlannedJob, PlannedTask, Shard, FORMAT, INDEX_VARIABLE, VERSION};

/// `datax plan`: init, prepare and split both plugins once and write every task's
/// configuration to the plan file.
pub fn plan(args: &PlanArgs, cli_plugin_dirs: &[PathBuf]) -> Result<u8> {
    check_writable(&args.output).with_context(|| format!("-o {}", args.output.display()))?;
    let source = JobSource::read(&args.job, &args.parameters, args.datasources.as_deref())?;
    let prepared = prepare_source(&source, cli_plugin_dirs)?;
    let plugins = prepared.plugins()?;
    let mut job = prepared.job.clone();
    if let Some(tasks) = args.tasks {
        job.speed.channels = tasks as usize;
    }
    let tasks = engine::plan(&job, &plugins)?;
    let now = Utc::now();
    let plan = PlanFile {
        format: FORMAT.to_string(),
        version: VERSION,
        id: format!(
            "{}-{}",
            now.format("%Y%m%dT%H%M%S%.9fZ"),
            std::process::id()
        ),
        created_by: format!("datax {}", env!("CARGO_PKG_VERSION")),
        created_at: now.to_rfc3339(),
        job: PlannedJob {
            file: source.path.clone(),
            text: source.text.clone(),
            datax_params: source.parameters.datax_params.clone(),
            params: source.parameters.params.clone(),
            datasources: source.datasources.is_some(),
            reader: prepared.job.reader.plugin.clone(),
            writer: prepared.job.writer.plugin.clone(),
        },
        tasks: (0u32..)
            .zip(tasks.reader.iter().zip(&tasks.writer))
            .map(|(id, (reader, writer))| PlannedTask {
                id,
                reader: reader.clone(),
                writer: writer.clone(),
            })
            .collect(),
    };
    plan.write(&args.output)?;
    let in_clear = secret_values(&prepared.job)
        .iter()
        .filter(|secret| {
            plan.job.text.contains(secret.as_str())
                || plan.tasks.iter().any(|task| {
                    task.reader.contains(secret.as_str()) || task.writer.contains(secret.as_str())
                })
        })
        .count();
    if in_clear > 0 {
        logger::warn(
            "datax",
            format!(
                "plan {}: holds {in_clear} of the job's credentials in clear (the job file or \
                 the task configurations the plugins wrote); it is written readable by its \
                 owner only: keep it as you keep the credentials (a Kubernetes Secret, not a \
                 ConfigMap)",
                args.output.display()
            ),
        );
    }
    logger::info(
        "datax",
        format!(
            "plan {} written: {} tasks ({} -> {}); run the shards with `datax run --plan {0} \
             --shard I/N --report-json REPORT`, then `datax finish --plan {0} REPORT…`",
            args.output.display(),
            plan.tasks.len(),
            plan.job.reader,
            plan.job.writer
        ),
    );
    Ok(0)
}

/// The job a plan holds, read as `datax plan` read it.
fn source_of(plan: &PlanFile, datasources: Option<&Path>) -> Result<JobSource> {
    if plan.job.datasources && datasources.is_none() {
        bail!(
            "the plan was made with a data sources file, which it does not hold: give the same \
             file (--datasources FILE or DATAX_DATASOURCES)"
        );
    }
    Ok(JobSource {
        path: plan.job.file.clone(),
        text: plan.job.text.clone(),
        parameters: ParamArgs {
            datax_params: plan.job.datax_params.clone(),
            params: plan.job.params.clone(),
        },
        datasources: datasources.map(Path::to_path_buf),
    })
}

/// What a shard's report says of its plan (the `plan` object of its `--report-json`).
pub struct ShardOfPlan {
    plan_id: String,
    shard: Shard,
    tasks: Vec<u32>,
}

impl ShardOfPlan {
    pub fn report(&self, outcome: &Outcome) -> Value {
        json!({
            "id": self.plan_id,
            "shard": self.shard.index,
            "shards": self.shard.count,
            "tasks": self.tasks,
            "tasks_completed": outcome
                .task_counts
                .iter()
                .filter(|task| task.completed)
                .map(|task| task.id)
                .collect::<Vec<_>>(),
            "task_counts": outcome.task_counts,
            "snapshot": outcome.snapshot,
            "records_staged": outcome.staged_records,
        })
    }
}

/// `datax run --plan FILE --shard I/N`: the plan's tasks whose id modulo N is I, without
/// `prepare` or `post`.
pub fn run_shard(args: &JobArgs, cli_plugin_dirs: &[PathBuf]) -> Result<u8> {
    let start = Local::now();
    let plan_path = args
        .plan
        .as_deref()
        .ok_or_else(|| anyhow!("give --plan FILE"))?;
    if !args.parameters.is_empty() {
        bail!("--plan: the plan holds the job's parameters; -p and --param are not taken with it");
    }
    if args.report_json.is_none() {
        bail!("--plan: give --report-json FILE: datax finish reads every shard's report");
    }
    let spec = args
        .shard
        .as_deref()
        .ok_or_else(|| anyhow!("--plan: give --shard I/N"))?;
    let shard = Shard::parse(spec, std::env::var(INDEX_VARIABLE).ok().as_deref())?;
    check_outputs(args)?;
    let plan = PlanFile::read(plan_path)?;
    let mut prepared = prepare_source(
        &source_of(&plan, args.datasources.as_deref())?,
        cli_plugin_dirs,
    )?;
    // The job's rate limits (`byte`, `record`, `mbps`) are the whole job's; the N shards may
    // all run at once, so each takes an Nth. Per-channel limits stay as they are.
    let share = |limit: Option<u64>| limit.map(|limit| limit.div_ceil(shard.count.into()).max(1));
    let speed = &mut prepared.job.speed;
    speed.byte_per_sec = share(speed.byte_per_sec);
    speed.record_per_sec = share(speed.record_per_sec);
    let ids = shard.task_ids(plan.tasks.len());
    logger::info(
        "datax",
        format!(
            "plan {}: shard {}/{} runs tasks {ids:?} of {}",
            plan_path.display(),
            shard.index,
            shard.count,
            plan.tasks.len()
        ),
    );
    let tasks = plan.tasks();
    let of_plan = ShardOfPlan {
        plan_id: plan.id.clone(),
        shard,
        tasks: ids.clone(),
    };
    run_prepared(
        args,
        prepared,
        Some(of_plan),
        open_state(args)?,
        start,
        |job, transformers, plugins, options| {
            engine::run_shard(job, transformers, plugins, options, &tasks, &ids)
        },
    )
}

/// The part of a shard's `--report-json` that `datax finish` reads.
#[derive(Debug, Deserialize)]
struct ShardReport {
    status: String,
    error: Option<String>,
    start_time: String,
    #[serde(default)]
    transfer_seconds: f64,
    #[serde(default)]
    channels: usize,
    records_acknowledged: Option<u64>,
    #[serde(default)]
    records_possibly_duplicated: u64,
    #[serde(default)]
    plugin_counters: PluginCounterTotals,
    #[serde(default)]
    transformers: TransformerTotals,
    dirty_record_file: Option<PathBuf>,
    plan: Option<ShardSection>,
}

#[derive(Debug, Deserialize)]
struct ShardSection {
    id: String,
    shard: u32,
    shards: u32,
    tasks_completed: Vec<u32>,
    snapshot: Snapshot,
    #[serde(default)]
    records_staged: u64,
}

/// A shard's report given to `finish`, read, with its `plan` section.
struct GivenReport {
    file: PathBuf,
    report: ShardReport,
    section: ShardSection,
}

impl GivenReport {
    fn name(&self) -> String {
        format!(
            "shard {}/{} ({})",
            self.section.shard,
            self.section.shards,
            self.file.display()
        )
    }
}

fn read_report(file: &Path, plan: &PlanFile) -> Result<GivenReport, String> {
    let shown = file.display();
    let text = fs::read_to_string(file).map_err(|error| format!("report {shown}: {error}"))?;
    let mut report: ShardReport = serde_json::from_str(&text)
        .map_err(|error| format!("report {shown}: not a shard's report: {error}"))?;
    let section = report.plan.take().ok_or_else(|| {
        format!("report {shown} is not a shard's report (no `plan`: a run without --plan)")
    })?;
    if section.id != plan.id {
        return Err(format!(
            "report {shown} is of another plan ({}, this is {})",
            section.id, plan.id
        ));
    }
    Ok(GivenReport {
        file: file.to_path_buf(),
        report,
        section,
    })
}

/// Why the shards' reports do not add up to the whole plan done once; empty when they do.
fn coverage_problems(plan: &PlanFile, reads: &[GivenReport]) -> Vec<String> {
    let mut problems = Vec::new();
    let shards = reads.first().map_or(0, |read| read.section.shards);
    let mut by_index: BTreeMap<u32, Vec<&GivenReport>> = BTreeMap::new();
    for read in reads {
        if read.section.shards != shards {
            problems.push(format!(
                "{} is of {} shards, {} of {shards}",
                read.name(),
                read.section.shards,
                reads[0].name()
            ));
        }
        by_index.entry(read.section.shard).or_default().push(read);
        match read.report.status.as_str() {
            "succeeded" => {}
            "running" => problems.push(format!(
                "{} did not finish (its report says running: the shard was killed or still runs)",
                read.name()
            )),
            status => problems.push(format!(
                "{} {status}: {}",
                read.name(),
                read.report.error.as_deref().unwrap_or("no reason given")
            )),
        }
    }
    for (index, same) in &by_index {
        if same.len() > 1 {
            let files: Vec<String> = same
                .iter()
                .map(|read| read.file.display().to_string())
                .collect();
            problems.push(format!(
                "shard {index}/{shards} is reported more than once: {}",
                files.join(", ")
            ));
        }
    }
    let mut done: Vec<Vec<&GivenReport>> = vec![Vec::new(); plan.tasks.len()];
    for read in reads {
        for &id in &read.section.tasks_completed {
            match done.get_mut(id as usize) {
                Some(by) => by.push(read),
                None => problems.push(format!(
                    "{} reports task {id}, which the plan does not have (it has {})",
                    read.name(),
                    plan.tasks.len()
                )),
            }
        }
    }
    let mut missing: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (id, by) in done.iter().enumerate() {
        match by.len() {
            0 => missing
                .entry(id as u32 % shards.max(1))
                .or_default()
                .push(id as u32),
            1 => {}
            _ => {
                let names: Vec<String> = by.iter().map(|read| read.name()).collect();
                problems.push(format!(
                    "task {id} is reported done more than once: by {}",
                    names.join(" and ")
                ));
            }
        }
    }
    for (index, ids) in missing {
        let whose = match by_index.get(&index) {
            Some(reads) => reads[0].name(),
            None if shards == 0 => "no shard's report could be read".to_string(),
            None => format!("shard {index}/{shards}: no report given"),
        };
        problems.push(format!("tasks {ids:?} not reported done ({whose})"));
    }
    problems
}

/// `datax finish --plan FILE REPORT…`: every task done exactly once, then the writer's
/// `post` once, then the whole job's summary.
pub fn finish(args: &FinishArgs, cli_plugin_dirs: &[PathBuf]) -> Result<u8> {
    let finish_start = Local::now();
    let datax_layout = args.summary == Summary::Datax;
    logger::set_datax_layout(datax_layout);
    if let Some(path) = &args.report_json {
        check_writable(path).with_context(|| format!("--report-json {}", path.display()))?;
    }
    let plan = PlanFile::read(&args.plan)?;
    let prepared = prepare_source(
        &source_of(&plan, args.datasources.as_deref())?,
        cli_plugin_dirs,
    )?;
    let plugins = prepared.plugins()?;

    let mut problems = Vec::new();
    let mut reads = Vec::new();
    for file in &args.reports {
        match read_report(file, &plan) {
            Ok(read) => reads.push(read),
            Err(problem) => problems.push(problem),
        }
    }
    problems.extend(coverage_problems(&plan, &reads));

    let mut total = Snapshot::default();
    let mut delivery = Delivery::default();
    let mut plugin_counters = PluginCounterTotals::default();
    let mut transformers = TransformerTotals::default();
    let (mut staged, mut channels, mut transfer_seconds) = (0, 0, 0f64);
    let mut start = finish_start;
    let mut dirty_files = Vec::new();
    for read in &reads {
        let (report, section) = (&read.report, &read.section);
        total.add(&section.snapshot);
        staged += section.records_staged;
        if let Some(acknowledged) = report.records_acknowledged {
            *delivery.acknowledged_records.get_or_insert(0) += acknowledged;
        }
        delivery.possibly_duplicated_records += report.records_possibly_duplicated;
        for (side, counters) in [
            (&mut plugin_counters.reader, &report.plugin_counters.reader),
            (&mut plugin_counters.writer, &report.plugin_counters.writer),
        ] {
            for (name, value) in counters {
                *side.entry(name.clone()).or_default() += value;
            }
        }
        transformers.success_records += report.transformers.success_records;
        transformers.failed_records += report.transformers.failed_records;
        transformers.filter_records += report.transformers.filter_records;
        channels += report.channels;
        transfer_seconds = transfer_seconds.max(report.transfer_seconds);
        if let Ok(shard_start) = DateTime::parse_from_rfc3339(&report.start_time) {
            start = start.min(shard_start.with_timezone(&Local));
        }
        if let Some(file) = &report.dirty_record_file {
            logger::info(
                "datax",
                format!("dirty records of {}: {}", read.name(), file.display()),
            );
            dirty_files.push(file.clone());
        }
    }

    let failure = if problems.is_empty() {
        match engine::finish(&prepared.job, &plugins, &plan.tasks(), &total) {
            Ok(()) => {
                if staged > 0 {
                    *delivery.acknowledged_records.get_or_insert(0) += staged;
                }
                None
            }
            Err(error) => Some(error.to_string()),
        }
    } else {
        Some(format!(
            "the shards did not do the plan's tasks exactly once, so nothing was committed \
             (the writer's post did not run): {}",
            problems.join("; ")
        ))
    };
    let outcome = Outcome {
        running: false,
        snapshot: total,
        delivery,
        plugin_counters,
        transformers,
        failure,
        signal: None,
        channels,
        tasks: plan.tasks.len(),
        transfer_time: Duration::from_secs_f64(transfer_seconds.max(0.0)),
        dirty_file: dirty_files.first().cloned(),
        task_counts: Vec::new(),
        staged_records: 0,
    };
    let outputs = Arc::new(RunOutputs {
        report_json: args.report_json.clone(),
        metrics_file: None,
        job_file: plan.job.file.clone(),
        reader: plan.job.reader.clone(),
        writer: plan.job.writer.clone(),
        start,
        plan: None,
    });
    let end = Local::now();
    let mut report = outputs.report(&outcome, end);
    report.plan = Some(json!({
        "id": plan.id,
        "tasks": plan.tasks.len(),
        "reports": reads.iter().map(|read| json!({
            "file": read.file,
            "shard": read.section.shard,
            "shards": read.section.shards,
            "status": read.report.status,
            "tasks_completed": read.section.tasks_completed,
        })).collect::<Vec<_>>(),
        "dirty_record_files": dirty_files,
    }));
    print_summary(&report, datax_layout, &start, &end);
    outputs.write(&report)?;
    match &report.error {
        Some(reason) => {
            let line = format!("datax: finish failed: {}", logger::error_line(reason));
            logger::print_block(LogLevel::Error, logger::ENGINE, &line);
            Ok(EXIT_FAILED)
        }
        None => Ok(0),
    }
}
