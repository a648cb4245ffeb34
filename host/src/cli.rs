use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// Runs DataX and DataWorks job files with reader/writer plugins loaded at run time.
#[derive(Debug, Parser)]
#[command(name = "datax", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: JobArgs,

    /// Also look for plugins in DIR (repeatable; searched before DATAX_PLUGIN_PATH and the
    /// folder of this executable).
    #[arg(long = "plugin-dir", value_name = "DIR", global = true)]
    pub plugin_dirs: Vec<PathBuf>,

    /// The least severe lines logged, for every target; `RUST_LOG` directives refine it
    /// (`RUST_LOG=odps=debug`). `--loglevel` and DataX's `all` are accepted as in datax.py.
    #[arg(long, alias = "loglevel", value_name = "LEVEL", value_enum,
          default_value_t = Verbosity::Info, global = true)]
    pub log_level: Verbosity,

    /// `text` (timestamped lines, English or DataX's layout) or `json` (one JSON object per
    /// line: timestamp, level, target, message) for log shippers.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Verbosity {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    #[value(alias = "all")]
    Trace,
}

impl Verbosity {
    /// The level as an `EnvFilter` directive.
    pub fn directive(self) -> &'static str {
        match self {
            Verbosity::Off => "off",
            Verbosity::Error => "error",
            Verbosity::Warn => "warn",
            Verbosity::Info => "info",
            Verbosity::Debug => "debug",
            Verbosity::Trace => "trace",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a job (`datax JOB` does the same).
    Run(JobArgs),
    /// Parse a job, substitute its parameters, resolve its plugins and run their `init`
    /// validation, without moving data.
    Check(CheckArgs),
    /// List the plugins found, and the files refused with the reason.
    Plugins,
    /// Write plugins of your own: `datax plugin new NAME --reader --writer`.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Plan a job for shards: parse it, prepare and split both plugins once, and write every
    /// task's configuration to a plan file (docs/plan-and-shards.md). Run the shards with
    /// `datax run --plan FILE --shard I/N`, then `datax finish`.
    Plan(PlanArgs),
    /// Finish a planned job once its shards have run: check that every task was reported
    /// done exactly once, run the writer's commit (`post`) and print the job's summary.
    Finish(FinishArgs),
    /// Print a job skeleton from the plugins' own templates.
    Template {
        /// The reader's data source type or DataX name (`odps`, `streamreader`).
        #[arg(short, long)]
        reader: String,
        /// The writer's data source type or DataX name (`loghub`, `streamwriter`).
        #[arg(short, long)]
        writer: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Write a plugin crate that builds outside this repository: Cargo.toml, src/ with a
    /// typed parameter and a unit test per kind, and a README on building and installing.
    New(NewPluginArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("kinds").required(true).multiple(true)))]
pub struct NewPluginArgs {
    /// The data source type, lowercase: `demo` makes demoreader, demowriter and
    /// libdatax_demo.so.
    pub name: String,

    /// The plugin provides a reader.
    #[arg(long, group = "kinds")]
    pub reader: bool,

    /// The plugin provides a writer.
    #[arg(long, group = "kinds")]
    pub writer: bool,

    /// The plugin provides a transformer (named NAME in a job's `transformer` chain).
    #[arg(long, group = "kinds")]
    pub transformer: bool,

    /// The crate's folder, created (default ./datax-plugin-NAME); it must not exist.
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// The datax-rs checkout to build against (holding plugin-api/ and plugin-kit/); default
    /// the one this datax was built from.
    #[arg(long, value_name = "DIR")]
    pub api_path: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub struct JobArgs {
    /// The job file (DataX, DataWorks 1.0 or 2.0 shape).
    pub job: Option<PathBuf>,

    /// Run one shard of a plan written by `datax plan` instead of a job file (with --shard
    /// and --report-json; the plan holds the job and its parameters).
    #[arg(long, value_name = "FILE", conflicts_with = "job", requires = "shard")]
    pub plan: Option<PathBuf>,

    /// With --plan: run the plan's tasks whose id modulo N is I (I from 0 to N-1). `/N` takes
    /// I from the JOB_COMPLETION_INDEX environment variable, as a Kubernetes Indexed Job sets it.
    #[arg(long, value_name = "I/N", requires = "plan")]
    pub shard: Option<String>,

    #[command(flatten)]
    pub parameters: ParamArgs,

    /// Data sources that DataWorks jobs name by `datasource` (JSON: {"NAME": {"type", "parameter"}}).
    #[arg(long, value_name = "FILE", env = "DATAX_DATASOURCES")]
    pub datasources: Option<PathBuf>,

    /// Write a JSON report of the run here (for schedulers): rewritten whole (a temporary
    /// file renamed over it) at every report interval with `"status": "running"`, then once
    /// more at the end.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,

    /// Write the run's metrics here in Prometheus' text format (for node-exporter's textfile
    /// collector): records and bytes, dirty records, retries and other plugin counters,
    /// tasks, times; rewritten whole at every report interval and at the end.
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Where dirty records go (JSON lines); default datax-dirty-<job>-<time>.jsonl here.
    #[arg(long, value_name = "FILE")]
    pub dirty_file: Option<PathBuf>,

    /// Fail the job when no record moves for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub stall_timeout: u64,

    /// Seconds between progress lines.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub report_interval: u64,

    /// The layout of the log and the final summary: `english`, or `datax` for DataX's own
    /// (Chinese labels, `[job-0] INFO  JobContainer - …` lines) that schedulers scrape.
    #[arg(long, value_name = "LAYOUT", value_enum, default_value_t = Summary::English)]
    pub summary: Summary,

    /// Keep the run's state in DIR/state.json (created; see docs/resume.md): per task, how
    /// many records the writer made durable. Written atomically at most every second, when a
    /// task ends and at the end, so that a run killed at any instant can be resumed.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// Continue the run whose state is in --state DIR: finished tasks are skipped, the others
    /// start after what their writer made durable. Without a state there, the run starts
    /// from the beginning.
    #[arg(long, requires = "state")]
    pub resume: bool,
}

/// A job's parameters, substituted for `${name}` in its file (`datax run`, `datax plan`).
#[derive(Debug, Args, Default, Clone)]
pub struct ParamArgs {
    /// Parameters in DataX's style: -p "-Dbizdate=20240101 -Dtable=t1".
    #[arg(
        short = 'p',
        long = "params",
        value_name = "ARGS",
        allow_hyphen_values = true
    )]
    pub datax_params: Vec<String>,

    /// A parameter: --param bizdate=20240101 (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

impl ParamArgs {
    pub fn is_empty(&self) -> bool {
        self.datax_params.is_empty() && self.params.is_empty()
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The job file (DataX, DataWorks 1.0 or 2.0 shape).
    pub job: PathBuf,

    #[command(flatten)]
    pub parameters: ParamArgs,

    /// Data sources that DataWorks jobs name by `datasource`; not copied into the plan: the
    /// shards and `datax finish` are given the same file.
    #[arg(long, value_name = "FILE", env = "DATAX_DATASOURCES")]
    pub datasources: Option<PathBuf>,

    /// How many tasks to ask the reader's `split` for (1 to 10000; default the job's channel
    /// count): a plan for N shards wants at least N. The reader decides in the end (odps: one
    /// row range each; loghub: one per shard of the logstore). Each shard still runs up to
    /// the job's channel count of tasks at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub tasks: Option<u64>,

    /// Where the plan is written (mode 0600: task configurations may hold credentials).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct FinishArgs {
    /// The plan the shards ran.
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,

    /// Every shard's --report-json file.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    /// The data sources file the plan was made with, when it was made with one.
    #[arg(long, value_name = "FILE", env = "DATAX_DATASOURCES")]
    pub datasources: Option<PathBuf>,

    /// Write the whole job's JSON report here.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,

    /// The layout of the log and the final summary (as for `datax run`).
    #[arg(long, value_name = "LAYOUT", value_enum, default_value_t = Summary::English)]
    pub summary: Summary,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub job: JobArgs,

    /// Fail the check when it has not finished within this many seconds (1 to 3600): a
    /// service that does not answer must not hold a deployment check for minutes.
    #[arg(long, value_name = "SECONDS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Summary {
    #[default]
    English,
    Datax,
}
