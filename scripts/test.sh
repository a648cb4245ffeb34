#!/usr/bin/env bash
# Runs every test: unit tests, the sandbox against the official Python clients, and the
# end-to-end tests that run the real `datax` binary with the real plugin libraries.
set -euo pipefail
cd "$(dirname "$0")/.."

# The official SDKs (pyodps, aliyun-log-python-sdk) are the sandbox tests' real clients. They go
# into a venv of the project's own, never the system Python (PEP 668 forbids that on Debian), and
# are installed again only when requirements-dev.txt or the Python it runs on changed.
venv=.venv-test
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "scripts/test.sh: requirements-dev.txt (pandas) needs Python >= 3.11; python3 is $(python3 --version 2>&1)" >&2
    exit 1
}
wanted=$( (python3 -c 'import sys; print(sys.version)'; cat requirements-dev.txt) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$venv/installed.sha256" 2>/dev/null)" != "$wanted" ]; then
    python3 -m venv --clear "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$wanted" > "$venv/installed.sha256"
fi
export PYTHON="$PWD/$venv/bin/python"

# The end-to-end tests run target/debug/datax and the plugin .so files next to it. Every test
# binary runs even when one fails, so a run shows all the failures at once.
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast
