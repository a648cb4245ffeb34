//! `datax-sandbox --config sandbox.json [--port 0] [--ports-file F] [--data-dir D]
//! [--faults JSON] [--latency-ms MS]`:
//! serves until SIGTERM or Ctrl-C.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use datax_sandbox::{FaultRule, Sandbox, SandboxConfig};

#[derive(Parser)]
#[command(
    name = "datax-sandbox",
    about = "Loopback MaxCompute + Log Service endpoints for tests"
)]
struct Args {
    /// JSON configuration: credentials, projects, tables, logstores, fault plan.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port on 127.0.0.1; 0 picks a free one. Overrides the configuration.
    #[arg(long)]
    port: Option<u16>,
    /// Write the endpoints as JSON to this file once listening.
    #[arg(long)]
    ports_file: Option<PathBuf>,
    /// Directory for received logs. Overrides the configuration.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Fault plan as a JSON list of rules, replacing the configuration's.
    #[arg(long)]
    faults: Option<String>,
    /// Simulated round trip in milliseconds added to every MaxCompute and Log Service
    /// request. Overrides the configuration's `latency_ms`.
    #[arg(long)]
    latency_ms: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => SandboxConfig::load(path)?,
        None => SandboxConfig::default(),
    };
    if let Some(port) = args.port {
        config.port = port;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = Some(dir);
    }
    if let Some(latency_ms) = args.latency_ms {
        config.latency_ms = latency_ms;
    }
    if let Some(plan) = &args.faults {
        config.faults = serde_json::from_str::<Vec<FaultRule>>(plan).context("--faults")?;
    }
    // Signal handlers go in before serving, so an early SIGTERM still stops cleanly.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut terminate = {
        let _guard = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?
    };
    let sandbox = Sandbox::start(config)?;
    let endpoints = serde_json::to_string_pretty(sandbox.endpoints())?;
    if let Some(path) = &args.ports_file {
        // Written whole then renamed, so a watcher never reads half a file.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, &endpoints)?;
        std::fs::rename(&partial, path)?;
    }
    say(&format!(
        "datax-sandbox listening on 127.0.0.1:{}\n{endpoints}\nreceived logs go to {}",
        sandbox.port(),
        sandbox.data_dir().display()
    ));

    runtime.block_on(async {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    });
    sandbox.stop();
    say("datax-sandbox stopped");
    Ok(())
}

/// Prints a line; a closed stdout (say, piped into `head`) must not stop the server.
fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}
