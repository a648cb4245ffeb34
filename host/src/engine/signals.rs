//! Ctrl-C and SIGTERM stop the tasks gracefully (the report is still printed); a second
//! Ctrl-C exits at once.

use std::sync::Arc;
use std::thread;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use super::Runtime;
use crate::logger;

pub struct SignalWatch {
    handle: Option<Handle>,
}

impl SignalWatch {
    pub fn stop(self) {
        if let Some(handle) = self.handle {
            handle.close();
        }
    }
}

pub fn watch(runtime: Arc<Runtime>) -> SignalWatch {
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => {
            logger::warn(
                "datax",
                format!("cannot watch for Ctrl-C / SIGTERM: {error}"),
            );
            return SignalWatch { handle: None };
        }
    };
    let handle = signals.handle();
    let spawned = thread::Builder::new()
        .name("signals".to_string())
        .spawn(move || {
            for signal in signals.forever() {
                if runtime.state.signal().is_some() && signal == SIGINT {
                    std::process::exit(130);
                }
                logger::warn(
                    "datax",
                    "stopping the job's tasks (press Ctrl-C again to exit at once)",
                );
                runtime.state.stop_by_signal(signal);
            }
        });
    if let Err(error) = spawned {
        logger::warn(
            "datax",
            format!("cannot watch for Ctrl-C / SIGTERM: {error}"),
        );
    }
    SignalWatch {
        handle: Some(handle),
    }
}
