#!/usr/bin/env bash
# Runs every test: unit tests, the sandbox against the official Python clients, and the
# end-to-end tests that run the real `datax` binary with the real plugin libraries.
set -euo pipefail
cd "$(dirname "$0")/.."

# The official SDKs (pyodps, aliyun-log-python-sdk) are the sandbox tests' real clients.
python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# The end-to-end tests run target/debug/datax and the plugin .so files next to it.
cargo build --workspace --all-targets
cargo test --workspace
