#!/usr/bin/env bash
# The chaos test's long profile: odps → loghub and loghub → odps through the sandbox with
# random faults, signals and restarts, for CHAOS_SECONDS per direction (default 900; CI runs
# 60). Every run prints its seed; a failure prints how to replay it:
#   CHAOS_SEED=<seed> CHAOS_RUNS=1 scripts/chaos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CHAOS_SECONDS="${CHAOS_SECONDS:-900}"
if [ -n "${CHAOS_SEED:-}" ] && [ -n "${CHAOS_RUNS:-}" ]; then
    export CHAOS_SECONDS=0 # a replay: just the runs asked for
fi
export PYTHON="${PYTHON:-python3}"
cargo build --workspace
cargo test -p datax-e2e --test engine_chaos -- --nocapture "$@"
