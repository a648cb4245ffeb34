mod cli;
mod commands;
mod engine;
mod logger;
mod plugin_new;
mod plugins;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, PluginCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::set_max_level(cli.log_level.into());
    let outcome = match cli.command {
        Some(Command::Run(args)) => commands::run(&args, &cli.plugin_dirs),
        None if cli.run.job.is_some() => commands::run(&cli.run, &cli.plugin_dirs),
        None => {
            eprintln!("datax: give a job file (datax JOB) or a command; see datax --help");
            return ExitCode::from(2);
        }
        Some(Command::Check(args)) => commands::check(&args, &cli.plugin_dirs),
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
            eprintln!("datax: {}", logger::error_line(&format!("{error:#}")));
            ExitCode::from(1)
        }
    }
}
