#!/usr/bin/env bash
# The long profile of issue 18's kill -9 test: the seed job (odps -> loghub, 2 channels)
# against the sandbox, killed with SIGKILL when the logstore holds a random share of the rows,
# then run again with --resume; every row must arrive, with at most channels x maxInFlight x
# batchSize duplicates. Prints the duplicates of each trial.
#   RESUME_SOAK_ROWS (default 1000000), RESUME_SOAK_TRIALS (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace
export RESUME_SOAK_ROWS="${RESUME_SOAK_ROWS:-1000000}"
export RESUME_SOAK_TRIALS="${RESUME_SOAK_TRIALS:-10}"
cargo test --release -p datax-e2e --test resume_kill -- --ignored resume_soak --nocapture \
    2>&1 | grep --line-buffered -E '^(random seed|trial:|[0-9]+ rows,|test result)'
