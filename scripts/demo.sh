#!/usr/bin/env bash
# Builds everything and runs the mission's seed job (../shared/jobs/seed-odps-to-loghub.json,
# unchanged) against the sandbox: MaxCompute table -> Log Service logstore, on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release
scratch=$(mktemp -d)
target/release/datax-sandbox --config sandbox/examples/sandbox.json --port 0 \
    --ports-file "$scratch/ports.json" --data-dir "$scratch/logs" >/dev/null &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null; rm -rf "$scratch"' EXIT
for _ in $(seq 100); do [ -s "$scratch/ports.json" ] && break; sleep 0.1; done
endpoint() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$scratch/ports.json" "$1"; }

# The seed names its data sources instead of carrying endpoints and keys: point them here.
export DATAX_SANDBOX_ODPS=$(endpoint odps_endpoint)
export DATAX_SANDBOX_TUNNEL=$(endpoint tunnel_endpoint)
export DATAX_SANDBOX_SLS=$(endpoint sls_endpoint)
export DATAX_SANDBOX_ACCESS_KEY=sandbox-access-key
target/release/datax ../shared/jobs/seed-odps-to-loghub.json --datasources jobs/sandbox-datasources.json

python3 - "$(endpoint control_endpoint)" <<'PY'
import json, sys, urllib.request
stored = json.load(urllib.request.urlopen(sys.argv[1] + "/logstores/datax-demo/ak_biz_log/logs"))
print(f"Log Service sandbox: {stored['count']} logs in datax-demo/ak_biz_log; the first:")
print(json.dumps(stored["logs"][0], ensure_ascii=False) if stored["logs"] else "(none)")
PY
