#!/usr/bin/env bash
# The product's main job, offline: builds everything, starts the sandbox with a generated
# MaxCompute table (aliyun_account.ak_biz_log_detail, partition pt=20161226, 1,000,000 rows)
# and a Log Service logstore (datax-demo/ak_biz_log), runs the mission's seed job
# (jobs/odps-to-loghub.json, byte for byte the DataWorks file) through `datax`, prints a few of
# the logs that arrived, and stops the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release
scratch=$(mktemp -d)
target/release/datax-sandbox --config sandbox/examples/seed-demo.json --port 0 \
    --ports-file "$scratch/ports.json" --data-dir "$scratch/logs" >/dev/null &
sandbox=$!
stop_sandbox() {
    kill "$sandbox" 2>/dev/null || true
    wait "$sandbox" 2>/dev/null || true
    rm -rf "$scratch"
}
trap stop_sandbox EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 100); do [ -s "$scratch/ports.json" ] && break; sleep 0.1; done
address=$(python3 -c "import json,sys; print('127.0.0.1:%d' % json.load(open(sys.argv[1]))['port'])" \
    "$scratch/ports.json")

# The seed names its data sources instead of carrying endpoints and keys; this file points
# them at the sandbox, whose address is a parameter.
target/release/datax jobs/odps-to-loghub.json \
    --datasources jobs/datasources.sandbox.json -p "-Dsandbox=$address" --report-interval 1

python3 - "http://$address/_sandbox/logstores/datax-demo/ak_biz_log/logs?limit=3" <<'PY'
import json, sys, urllib.request
stored = json.load(urllib.request.urlopen(sys.argv[1]))
print(f"\nLog Service sandbox: {stored['count']} logs in datax-demo/ak_biz_log; the first three:")
for log in stored["logs"]:
    print(json.dumps(log, ensure_ascii=False))
PY
