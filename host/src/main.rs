mod cli;
mod commands;
mod engine;
mod logger;
mod outputs;
mod plan;
mod plugin_new;
mod plugins;

use std::path::Path;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use datax_plugin_api::ffi::LogLevel;
use datax_plugin_kit::config::did_you_mean;

use cli::{Cli, Command, JobArgs, PluginCommand};

/// A command-line mistake (clap's own code for them): a scheduler tells it from a failed job.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = parse_command_line();
    if let Err(error) = logger::init(cli.log_level, cli.log_format) {
        eprintln!("datax: {error}");
        return ExitCode::from(EXIT_USAGE);
    }
    let outcome = match cli.command {
        Some(Command::Run(args)) if args.plan.is_some() => plan::run_shard(&args, &cli.plugin_dirs),
        Some(Command::Run(args)) => commands::run(with_job(&args), &cli.plugin_dirs),
        None if cli.run.plan.is_some() => plan::run_shard(&cli.run, &cli.plugin_dirs),
        None if cli.run.job.is_some() => commands::run(&cli.run, &cli.plugin_dirs),
        None => usage_error(
            ErrorKind::MissingRequiredArgument,
            "give a job file (datax JOB) or a command",
        ),
        Some(Command::Check(args)) => {
            with_job(&args.job);
            commands::check(&args, &cli.plugin_dirs)
        }
        Some(Command::Plan(args)) => plan::plan(&args, &cli.plugin_dirs),
        Some(Command::Finish(args)) => plan::finish(&args, &cli.plugin_dirs),
        Some(Command::Plugins) => commands::plugins(&cli.plugin_dirs),
        Some(Command::Plugin {
            command: PluginCommand::New(args),
        }) => plugin_new::run(&args),
        Some(Command::Template { reader, writer }) => {
            commands::template(&reader, &writer, &cli.plugin_dirs)
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            // The cause is the last line, scrubbed of any secret of the job and of bounded length.
            let line = format!("datax: {}", logger::error_line(&format!("{error:#}")));
            logger::print_block(LogLevel::Error, logger::ENGINE, &line);
            ExitCode::from(1)
        }
    }
}

/// The command line, or exit 2 with clap's message: an unknown option, a missing value, or a
/// first word that is no file but nearly a command (`datax chek job.json`).
fn parse_command_line() -> Cli {
    if let Some(first) = std::env::args().nth(1) {
        let cli = Cli::command();
        let commands: Vec<&str> = cli
            .get_subcommands()
            .map(|command| command.get_name())
            .collect();
        let meant = did_you_mean(&first, &commands);
        if meant.is_some_and(|meant| meant != first) && !Path::new(&first).exists() {
            usage_error(
                ErrorKind::InvalidSubcommand,
                &format!(
                    "unknown command `{first}`: did you mean `{}`?",
                    meant.unwrap_or_default()
                ),
            );
        }
    }
    Cli::parse()
}

/// `args` when they name a job; `datax run` or `datax check` alone is a usage mistake.
fn with_job(args: &JobArgs) -> &JobArgs {
    if args.job.is_none() {
        usage_error(ErrorKind::MissingRequiredArgument, "give a job file");
    }
    args
}

fn usage_error(kind: ErrorKind, message: &str) -> ! {
    Cli::command().error(kind, message).exit()
}
