//! The `datax` subcommands.

use std::fs::{self, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use chrono::Local;
use datax_job_config::{
    load_job, masked, DataSources, JobConfig, JobShape, Params, Scrubber, Step,
};
use serde_json::json;

use crate::cli::{CheckArgs, JobArgs, Summary};
use crate::engine::report::{self, DeliveryReport, JobReport};
use crate::engine::transform::Chain;
use crate::engine::{self, JobPlugins, RunOptions};
use crate::logger;
use crate::plugins::{plugin_dirs, Kind, LoadedPlugin, Registry};

const EXIT_FAILED: u8 = 1;
const EXIT_INTERRUPTED: u8 = 130;
const EXIT_TERMINATED: u8 = 143;

struct PreparedJob {
    path: PathBuf,
    job: JobConfig,
    transformers: Chain,
    registry: Registry,
}

impl PreparedJob {
    fn plugins(&self) -> Result<JobPlugins<'_>> {
        let name_key = match self.job.shape {
            JobShape::DataX => "name",
            JobShape::DataWorks1 => "plugin",
            JobShape::DataWorks2 => "stepType",
        };
        let find = |kind, step: &Step| {
            self.registry
                .find(kind, &step.plugin)
                .with_context(|| format!("{}.{name_key}", step.path))
        };
        Ok(JobPlugins {
            reader: find(Kind::Reader, &self.job.reader)?,
            writer: find(Kind::Writer, &self.job.writer)?,
        })
    }
}

/// Reads, substitutes and normalises the job, installs its secret scrubber, loads plugins.
fn prepare(args: &JobArgs, cli_plugin_dirs: &[PathBuf]) -> Result<PreparedJob> {
    let path = args.job.clone().ok_or_else(|| anyhow!("give a job file"))?;
    let text = fs::read_to_string(&path)
        .with_context(|| format!("cannot read job file {}", path.display()))?;
    let mut params = Params::new();
    for datax_args in &args.datax_params {
        params.add_datax_args(datax_args).context("-p")?;
    }
    for pair in &args.params {
        params.add_pair(pair).context("--param")?;
    }
    let data_sources = args
        .datasources
        .as_deref()
        .map(|file| {
            let text = fs::read_to_string(file)
                .with_context(|| format!("cannot read data sources file {}", file.display()))?;
            DataSources::parse(&text, &params, |name| std::env::var(name).ok())
                .with_context(|| format!("data sources file {}", file.display()))
        })
        .transpose()?;
    let loaded = load_job(&text, &params, data_sources.as_ref())
        .with_context(|| format!("job file {}", path.display()))?;
    let scrubber = Scrubber::for_job(&loaded.job);
    logger::set_scrubber(move |text| scrubber.scrub(text));
    for warning in &loaded.warnings {
        logger::warn("datax", format!("{}: {warning}", path.display()));
    }
    let job = loaded.job;
    logger::info(
        "datax",
        format!(
            "job {}: reader {} {}, writer {} {}",
            path.display(),
            job.reader.plugin,
            logger::shortened(&masked(&job.reader.parameter)),
            job.writer.plugin,
            logger::shortened(&masked(&job.writer.parameter))
        ),
    );
    let registry = Registry::load(plugin_dirs(cli_plugin_dirs)?);
    let transformers = Chain::build(&job.transformer, &registry)
        .map_err(|reason| anyhow!("job file {}: {reason}", path.display()))?;
    Ok(PreparedJob {
        path,
        job,
        transformers,
        registry,
    })
}

pub fn check(check_args: &CheckArgs, cli_plugin_dirs: &[PathBuf]) -> Result<u8> {
    exit_after(Duration::from_secs(check_args.timeout));
    let args = &check_args.job;
    let prepared = prepare(args, cli_plugin_dirs)?;
    let plugins = prepared.plugins()?;
    engine::check(&prepared.job, &plugins)?;
    println!(
        "{}: ok ({} {} -> {} {}, {} channel(s))",
        prepared.path.display(),
        plugins.reader.name,
        prepared.job.reader.plugin,
        plugins.writer.name,
        prepared.job.writer.plugin,
        prepared.job.speed.channels
    );
    Ok(0)
}

/// `datax check`'s overall deadline: a plugin call that hangs on the network cannot be
/// interrupted, so a timer thread ends the process (nothing was moved, nothing to clean up).
fn exit_after(deadline: Duration) {
    let timer = std::thread::Builder::new()
        .name("check-deadline".into())
        .spawn(move || {
            std::thread::sleep(deadline);
            eprintln!(
                "datax: check failed: not finished within {} s (the services did not answer \
                 in time; --timeout SECONDS gives it longer)",
                deadline.as_secs()
            );
            std::process::exit(i32::from(EXIT_FAILED));
        });
    if let Err(error) = timer {
        logger::warn("datax", format!("check runs without its deadline: {error}"));
    }
}

pub fn run(args: &JobArgs, cli_plugin_dirs: &[PathBuf]) -> Result<u8> {
    let start = Local::now();
    let datax_layout = args.summary == Summary::Datax;
    logger::set_datax_layout(datax_layout);
    // Output paths are checked before anything moves: a report that cannot be written after
    // the data moved would have a scheduler rerun, and so duplicate, the whole job.
    for (flag, path) in [
        ("--report-json", &args.report_json),
        ("--dirty-file", &args.dirty_file),
    ] {
        if let Some(path) = path {
            check_writable(path).with_context(|| format!("{flag} {}", path.display()))?;
        }
    }
    let mut prepared = prepare(args, cli_plugin_dirs)?;
    let transformers = std::mem::take(&mut prepared.transformers);
    let plugins = prepared.plugins()?;
    let dirty_file = match &args.dirty_file {
        Some(path) => path.clone(),
        None => {
            let path = default_dirty_file(&prepared.path, &start);
            if let Err(error) = check_writable(&path) {
                logger::warn(
                    "datax",
                    format!(
                        "dirty records could not be kept in {}: {error} (give --dirty-file)",
                        path.display()
                    ),
                );
            }
            path
        }
    };
    let options = RunOptions {
        dirty_file,
        report_interval: Duration::from_secs(args.report_interval.max(1)),
        stall_timeout: Duration::from_secs(args.stall_timeout.max(1)),
        // DataX has no status line; its scrapers read the log.
        status_bar: std::io::stderr().is_terminal() && !datax_layout,
    };
    let outcome = engine::run(&prepared.job, transformers, &plugins, &options);
    let end = Local::now();

    let snapshot = &outcome.snapshot;
    let transfer_seconds = outcome.transfer_time.as_secs_f64().max(1e-3);
    let exit_code = match (outcome.signal, &outcome.failure) {
        (Some(signal), _) if signal == signal_hook::consts::SIGINT => EXIT_INTERRUPTED,
        (Some(_), _) => EXIT_TERMINATED,
        (None, Some(_)) => EXIT_FAILED,
        (None, None) => 0,
    };
    let error = outcome.failure.as_deref().map(logger::scrub);
    let report = JobReport {
        status: if exit_code == 0 {
            "succeeded"
        } else {
            "failed"
        },
        exit_code: i32::from(exit_code),
        error: error.clone(),
        job_file: prepared.path.clone(),
        reader: prepared.job.reader.plugin.clone(),
        writer: prepared.job.writer.plugin.clone(),
        start_time: start.to_rfc3339(),
        end_time: end.to_rfc3339(),
        total_seconds: (end - start).as_seconds_f64(),
        transfer_seconds,
        channels: outcome.channels,
        tasks: outcome.tasks,
        records_read: snapshot.records_read(),
        bytes_read: snapshot.bytes_read(),
        records_written: snapshot.records_written(),
        delivery: DeliveryReport::new(snapshot, &outcome.delivery, exit_code != 0),
        bytes_per_second: snapshot.bytes_read() as f64 / transfer_seconds,
        records_per_second: snapshot.records_read() as f64 / transfer_seconds,
        read_failed_records: snapshot.read_dirty_records,
        write_failed_records: snapshot.write_dirty_records,
        wait_writer_seconds: snapshot.wait_writer_nanos as f64 / 1e9,
        wait_reader_seconds: snapshot.wait_reader_nanos as f64 / 1e9,
        dirty_record_file: outcome.dirty_file.clone(),
        peak_memory_kib: report::peak_memory_kib(),
        plugin_counters: outcome.plugin_counters.clone(),
        transformers: outcome.transformers,
    };
    if datax_layout {
        // DataX logs its block as one line of JobContainer's, starting on the next line.
        logger::info(
            logger::ENGINE,
            format!("\n{}\n", report.datax_summary_block(&start, &end)),
        );
    } else {
        eprintln!("\n{}\n", logger::scrub(&report.summary_block(&start, &end)));
    }
    if let Some(report_path) = &args.report_json {
        // Scrubbed whole: plugin counters and errors are text a plugin chose.
        let text = logger::scrub(&serde_json::to_string_pretty(&report)?);
        fs::write(report_path, text + "\n")
            .with_context(|| format!("cannot write the report to {}", report_path.display()))?;
    }
    match error {
        Some(reason) => {
            eprintln!("datax: job failed: {}", logger::error_line(&reason));
            Ok(exit_code)
        }
        None => Ok(0),
    }
}

/// Whether a file can be written at `path`, without truncating one that is there or leaving
/// an empty one behind (a failed job leaves no empty report; the dirty-record file is only
/// created for a first dirty record).
fn check_writable(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return OpenOptions::new().append(true).open(path).map(drop);
    }
    OpenOptions::new().write(true).create_new(true).open(path)?;
    fs::remove_file(path)
}

fn default_dirty_file(job_path: &Path, start: &chrono::DateTime<Local>) -> PathBuf {
    let stem = job_path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "job".to_string());
    PathBuf::from(format!(
        "datax-dirty-{stem}-{}-{}.jsonl",
        start.format("%Y%m%d-%H%M%S"),
        std::process::id()
    ))
}

pub fn plugins(cli_plugin_dirs: &[PathBuf]) -> Result<u8> {
    let registry = Registry::load(plugin_dirs(cli_plugin_dirs)?);
    println!(
        "{:<12} {:<14} {:<10} {:<36} PATH",
        "NAME", "KINDS", "VERSION", "DATAX NAMES"
    );
    for plugin in &registry.plugins {
        let datax_names: Vec<&str> = plugin.datax_names().collect();
        println!(
            "{:<12} {:<14} {:<10} {:<36} {}",
            plugin.name,
            plugin.kinds_label(),
            plugin.version,
            datax_names.join(","),
            plugin.path.display()
        );
        println!("{:<12} {}", "", plugin.description);
    }
    if registry.plugins.is_empty() {
        println!("(no plugins found)");
    }
    for refusal in &registry.refused {
        println!("refused {}: {}", refusal.path.display(), refusal.reason);
    }
    let searched: Vec<String> = registry
        .searched
        .iter()
        .map(|dir| dir.path.display().to_string())
        .collect();
    println!("searched: {}", searched.join(":"));
    Ok(0)
}

pub fn template(reader: &str, writer: &str, cli_plugin_dirs: &[PathBuf]) -> Result<u8> {
    let registry = Registry::load(plugin_dirs(cli_plugin_dirs)?);
    let step = |kind: Kind, name: &str| -> Result<serde_json::Value> {
        let plugin: &LoadedPlugin = registry.find(kind, name)?;
        let info = plugin
            .kind(kind)
            .expect("find returns plugins providing the kind");
        let parameter: serde_json::Value = serde_json::from_str(&info.template)
            .with_context(|| format!("plugin {} has an invalid {kind} template", plugin.name))?;
        let datax_name = info
            .datax_names
            .first()
            .cloned()
            .unwrap_or(plugin.name.clone());
        Ok(json!({"name": datax_name, "parameter": parameter}))
    };
    let job = json!({
        "job": {
            "setting": {"speed": {"channel": 1}, "errorLimit": {"record": 0, "percentage": 0.02}},
            "content": [{"reader": step(Kind::Reader, reader)?, "writer": step(Kind::Writer, writer)?}]
        }
    });
    println!("{}", serde_json::to_string_pretty(&job)?);
    Ok(0)
}
