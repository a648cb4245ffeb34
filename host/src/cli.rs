use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use datax_plugin_api::ffi::LogLevel;

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

    #[arg(long, value_name = "LEVEL", value_enum, default_value_t = Verbosity::Info, global = true)]
    pub log_level: Verbosity,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Verbosity {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<Verbosity> for LogLevel {
    fn from(verbosity: Verbosity) -> Self {
        match verbosity {
            Verbosity::Error => LogLevel::Error,
            Verbosity::Warn => LogLevel::Warn,
            Verbosity::Info => LogLevel::Info,
            Verbosity::Debug => LogLevel::Debug,
            Verbosity::Trace => LogLevel::Trace,
        }
    }
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

    /// Not yet available: the plugin API has no transformer plugins yet.
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

    /// Data sources that DataWorks jobs name by `datasource` (JSON: {"NAME": {"type", "parameter"}}).
    #[arg(long, value_name = "FILE", env = "DATAX_DATASOURCES")]
    pub datasources: Option<PathBuf>,

    /// Write a JSON report of the run here (for schedulers).
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,

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
