//! The status line redrawn on a terminal (only when stderr is one, and not in DataX's layout
//! or JSON): records, rate and, when the reader knows how many records it will read, percent
//! and ETA by records. Log lines lift it while they are written.

use std::sync::RwLock;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static BAR: RwLock<Option<ProgressBar>> = RwLock::new(None);

/// Redraws at most this often: the monitor updates it once a second anyway.
const REFRESH_PER_SECOND: u8 = 4;

/// Without a known total: records and their rate.
const RECORDS: &str = "{human_pos} records | {per_sec} | {msg}";
/// With one: how far, and how long to go.
const RECORDS_OF_TOTAL: &str =
    "{bar:20} {percent:>3}% {human_pos}/{human_len} records | {per_sec} | ETA {eta} | {msg}";

/// Shows the status line until [`finish`].
pub fn start() {
    let bar =
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(REFRESH_PER_SECOND))
            .with_style(style(RECORDS));
    *BAR.write().unwrap_or_else(|p| p.into_inner()) = Some(bar);
}

/// Records read so far, out of `expected` when the reader said how many it will read.
pub fn update(records: u64, expected: Option<u64>, message: String) {
    let guard = BAR.read().unwrap_or_else(|p| p.into_inner());
    let Some(bar) = guard.as_ref() else {
        return;
    };
    // A reader may read more than it said (rows added meanwhile): never over 100 %.
    let total = expected.map(|total| total.max(records));
    if bar.length() != total {
        match total {
            Some(total) => {
                bar.set_length(total);
                bar.set_style(style(RECORDS_OF_TOTAL));
            }
            None => {
                bar.unset_length();
                bar.set_style(style(RECORDS));
            }
        }
    }
    bar.set_position(records);
    bar.set_message(message);
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Removes the status line for good.
pub fn finish() {
    if let Some(bar) = BAR.write().unwrap_or_else(|p| p.into_inner()).take() {
        bar.finish_and_clear();
    }
}

/// Runs `write` with the status line lifted, so a log line never lands inside it.
pub fn suspend<T>(write: impl FnOnce() -> T) -> T {
    let guard = BAR.read().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}
