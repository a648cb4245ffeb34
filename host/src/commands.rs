//! The `datax` subcommands.

use std::fs::{self, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use chrono::Local;
use datax_job_config::{
    load_job, masked, short_secret_keys, DataSources, JobConfig, JobShape, Params, Scrubber, Step,
    MIN_SUBSTRING_SECRET_CHARS,
};
use datax_plugin_api::ffi::LogLevel;
use serde_json::json;

use crate::cli::{CheckArgs, JobArgs, ParamArgs, Summary};
use crate::engine::resume::StateOptions;
use crate::engine::transform::Chain;
use crate::engine::{self, JobPlugins, RunOptions};
use crate::logger;
use crate::outputs::{exit_code, RunOutputs, EXIT_FAILED};
use crate::plugins::{plugin_dirs, Kind, LoadedPlugin, Registry};

pub(crate) struct PreparedJob {
    pub path: PathBuf,
    pub job: JobConfig,
    pub transformers: Chain,
    registry: Registry,
}

/// A job as given: its file's text and the parameters and data sources it is read with.
pub(crate) struct JobSource {
    pub path: PathBuf,
    pub text: String,
    pub parameters: ParamArgs,
    pub datasources: Option<PathBuf>,
}

impl JobSource {
    pub fn read(
        path: &Path,
        parameters: &ParamArgs,
        datasources: Option<&Path>,
    ) -> Result<JobSource> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read job file {}", path.display()))?;
        Ok(JobSource {
            path: path.to_path_buf(),
            text,
            parameters: parameters.clone(),
            datasources: datasources.map(Path::to_path_buf),
        })
    }
}

impl PreparedJob {
    pub fn plugins(&self) -> Result<JobPlugins<'_>> {
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
    let source = JobSource::read(&path, &args.parameters, args.datasources.as_deref())?;
    prepare_source(&source, cli_plugin_dirs)
}

/// [`prepare`] for a job already read (`datax plan`, or the job a plan holds).
pub(crate) fn prepare_source(
    source: &JobSource,
    cli_plugin_dirs: &[PathBuf],
) -> Result<PreparedJob> {
    let (path, text) = (source.path.clone(), &source.text);
    let mut params = Params::new();
    for datax_args in &source.parameters.datax_params {
        params.add_datax_args(datax_args).context("-p")?;
    }
    for pair in &source.parameters.params {
        params.add_pair(pair).context("--param")?;
    }
    let data_sources = source
        .datasources
        .as_deref()
        .map(|file| {
            let text = fs::read_to_string(file)
                .with_context(|| format!("cannot read data sources file {}", file.display()))?;
            DataSources::parse(&text, &params, |name| std::env::var(name).ok())
                .with_context(|| format!("data sources file {}", file.display()))
        })
        .transpose()?;
    let loaded = load_job(text, &params, data_sources.as_ref())
        .with_context(|| format!("job file {}", path.display()))?;
    let scrubber = Scrubber::for_job(&loaded.job);
    logger::set_scrubber(move |text| scrubber.scrub(text));
    for key in short_secret_keys(&loaded.job) {
        logger::warn(
            "datax",
            format!(
                "{}: {key} is shorter than {MIN_SUBSTRING_SECRET_CHARS} characters, which is \
                 suspicious for a secret; it is masked in the log only where it stands alone",
                path.display()
            ),
        );
    }
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
            let line = format!(
                "datax: check failed: not finished within {} s (the services did not answer \
                 in time; --timeout SECONDS gives it longer)",
                deadline.as_secs()
            );
            logger::print_block(LogLevel::Error, logger::ENGINE, &line);
            std::process::exit(i32::from(EXIT_FAILED));
        });
    if let Err(error) = timer {
        logger::warn("datax", format!("check runs without its deadline: {error}"));
    }
}

pub fn run(args: &JobArgs, cli_plugin_dirs: &[PathBuf]) -> Result<u8> {
    let start = Local::now();
    check_outputs(args)?;
    let state = open_state(args)?;
    if let Some(finished) = state.as_ref().and_then(already_committed) {
        logger::info("datax", finished);
        return Ok(0);
    }
    let prepared = prepare(args, cli_plugin_dirs)?;
    run_prepared(args, prepared, None, state, start, engine::run)
}

/// Output paths are checked before anything moves: a report that cannot be written after
/// the data moved would have a scheduler rerun, and so duplicate, the whole job.
pub(crate) fn check_outputs(args: &JobArgs) -> Result<()> {
    for (flag, path) in [
        ("--report-json", &args.report_json),
        ("--metrics-file", &args.metrics_file),
        ("--dirty-file", &args.dirty_file),
    ] {
        if let Some(path) = path {
            check_writable(path).with_context(|| format!("{flag} {}", path.display()))?;
        }
    }
    Ok(())
}

/// Runs a prepared job (or a plan's shard, `plan` describing it in the report) with
/// `engine_run`, then writes the summary and the report files.
pub(crate) fn run_prepared(
    args: &JobArgs,
    mut prepared: PreparedJob,
    plan: Option<crate::plan::ShardOfPlan>,
    state: Option<StateOptions>,
    start: chrono::DateTime<Local>,
    engine_run: impl FnOnce(&JobConfig, Chain, &JobPlugins<'_>, &RunOptions) -> crate::engine::Outcome,
) -> Result<u8> {
    let datax_layout = args.summary == Summary::Datax;
    logger::set_datax_layout(datax_layout);
    let transformers = std::mem::take(&mut prepared.transformers);
    let plugins = prepared.plugins()?;
    let outputs = Arc::new(RunOutputs {
        report_json: args.report_json.clone(),
        metrics_file: args.metrics_file.clone(),
        job_file: prepared.path.clone(),
        reader: prepared.job.reader.plugin.clone(),
        writer: prepared.job.writer.plugin.clone(),
        start,
        plan,
    });
    let options = RunOptions {
        dirty_file: dirty_file(args, &prepared.path, &start),
        report_interval: Duration::from_secs(args.report_interval.max(1)),
        stall_timeout: Duration::from_secs(args.stall_timeout.max(1)),
        // DataX has no status line (its scrapers read the log), nor has a log shipper.
        status_bar: std::io::stderr().is_terminal() && !datax_layout && !logger::json_lines(),
        on_interval: outputs.observer(),
        state,
    };
    let outcome = engine_run(&prepared.job, transformers, &plugins, &options);
    let end = Local::now();
    let report = outputs.report(&outcome, end);
    print_summary(&report, datax_layout, &start, &end);
    outputs.write(&report)?;
    match &report.error {
        Some(reason) => {
            let line = format!("datax: job failed: {}", logger::error_line(reason));
            logger::print_block(LogLevel::Error, logger::ENGINE, &line);
            Ok(exit_code(&outcome))
        }
        None => Ok(0),
    }
}

/// `--state DIR`, with the state found there on `--resume`.
pub(crate) fn open_state(args: &JobArgs) -> Result<Option<StateOptions>> {
    let Some(dir) = &args.state else {
        return Ok(None);
    };
    let state = StateOptions::open(dir, args.resume)?;
    match (&state.previous, args.resume) {
        (None, true) => logger::info(
            "datax",
            format!(
                "--resume: no state in {} yet; the run starts from the beginning",
                dir.display()
            ),
        ),
        (None, false) if state.path().exists() => logger::warn(
            "datax",
            format!(
                "--state {}: the state there is replaced; the run starts from the beginning \
                 (give --resume to continue it)",
                dir.display()
            ),
        ),
        _ => {}
    }
    Ok(Some(state))
}

/// What to say instead of running when the state to resume records a committed job: its
/// data is all written, and running it again (its `prepare` included) would only harm.
fn already_committed(state: &StateOptions) -> Option<String> {
    state
        .previous
        .as_ref()
        .filter(|previous| previous.committed)?;
    Some(format!(
        "--resume: the state in {} records a job that finished and was committed; nothing \
         to resume (remove the state file to run the job again)",
        state.path().display()
    ))
}

/// The summary block at the end of a run, in the layout asked for.
pub(crate) fn print_summary(
    report: &crate::engine::report::JobReport,
    datax_layout: bool,
    start: &chrono::DateTime<Local>,
    end: &chrono::DateTime<Local>,
) {
    if datax_layout {
        // DataX logs its block as one line of JobContainer's, starting on the next line.
        let block = report.datax_summary_block(start, end);
        logger::info(logger::ENGINE, format!("\n{block}\n"));
    } else {
        let block = report.summary_block(start, end);
        logger::print_block(LogLevel::Info, logger::ENGINE, &format!("\n{block}\n"));
    }
}

/// `--dirty-file`, or `datax-dirty-<job>-<time>-<pid>.jsonl` here (with a warning when it
/// could not be written: the job still runs, as long as no record is dirty).
fn dirty_file(args: &JobArgs, job_path: &Path, start: &chrono::DateTime<Local>) -> PathBuf {
    if let Some(path) = &args.dirty_file {
        return path.clone();
    }
    let path = default_dirty_file(job_path, start);
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

/// Whether a file can be written at `path`, without truncating one that is there or leaving
/// an empty one behind (a failed job leaves no empty report; the dirty-record file is only
/// created for a first dirty record).
pub(crate) fn check_writable(path: &Path) -> std::io::Result<()> {
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
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "{:<12} {:<14} {:<6} {:<28} {:<36} PATH",
        "NAME", "KINDS", "API", "BUILT BY", "DATAX NAMES"
    ));
    for plugin in &registry.plugins {
        let datax_names: Vec<&str> = plugin.datax_names().collect();
        line(format!(
            "{:<12} {:<14} {:<6} {:<28} {:<36} {}",
            plugin.name,
            plugin.kinds_label(),
            plugin.api_version,
            plugin.built_by.as_deref().unwrap_or("unknown"),
            datax_names.join(","),
            plugin.path.display()
        ));
        line(format!("{:<12} {}", "", plugin.description));
    }
    if registry.plugins.is_empty() {
        line("(no plugins found)".to_string());
    }
    for refusal in &registry.refused {
        line(format!(
            "refused {}: {}",
            refusal.path.display(),
            refusal.reason
        ));
    }
    let searched: Vec<String> = registry
        .searched
        .iter()
        .map(|dir| dir.path.display().to_string())
        .collect();
    line(format!("searched: {}", searched.join(":")));
    print_out(&out)
}

/// Writes `text` to stdout. A reader that went away early (`datax plugins | head`) is not a
/// failure: what it wanted was written.
fn print_out(text: &str) -> Result<u8> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        written => written.map(|()| 0).context("writing to stdout"),
    }
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
    print_out(&format!("{}\n", serde_json::to_string_pretty(&job)?))
}
