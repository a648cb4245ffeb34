#!/usr/bin/env python3
"""loghub -> null read throughput from the sandbox, against aliyun-log-python-sdk as the peer.

Starts the release `datax-sandbox` with a scratch copy of sandbox/examples/sandbox.json that
adds a generated logstore `datax-demo/generated_read`: --shards shards, each a sequence of log
groups of --logs-per-group logs (5 keys: seq, level, user, latency_ms, msg; topic, source and
two tags per group) made up from a seed when pulled, so the logstore costs the sandbox no
memory; 10 groups are received each second from START. The range read is the first
--records logs (split evenly over the shards), by receive time. Then, against that one sandbox:

  * the real `datax` with loghubreader (every key, topic, source and `__receive_time__` as
    columns; batchSize 256, DataWorks' default; lz4) -> streamwriter print=false, on 1 and
    2 channels (one task per shard), --runs times each; records/s is datax's own
    `records_per_second`, peak RSS its `peak_memory_kib`, both from `--report-json`; then as
    many runs with the range 10x as long, to show memory stays flat;
  * aliyun-log-python-sdk in a child Python process: for each shard `LogClient.pull_log` over
    the same range (GetCursor for both ends, then `pull_logs` 256 groups at a time, lz4, the
    SDK's default), each answer decoded into one dict per log with `get_flatten_logs_json()`
    (upb protobuf), --runs times; records/s is logs / wall time of the pull loop.

Both sides must read exactly the range's logs. Client CPU seconds: datax's whole process (its
rusage as a child, start-up included); the Python peer's pull loop alone (`process_time`,
imports excluded), which favours the peer. The sandbox's CPU is read from /proc. The sandbox
shares the machine's cores with the client.

    python3 bench/loghub_read.py [--records 2000000] [--sdk-records N] [--runs 3]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (CONFIG, build, children_cpu, cpu_of, human, run_datax_measured,
                    sandbox_credential, sandbox_log_client, start_sandbox, stop)

PROJECT, LOGSTORE = "datax-demo", "generated_read"
START, GROUPS_PER_SECOND, BATCH = 1_700_000_000, 10, 256
COLUMNS = ["seq", "level", "user", "latency_ms", "msg", "C_Topic", "C_Source", "__receive_time__"]
PEER = "aliyun-log-python-sdk pull_log + get_flatten_logs_json"


def seconds_for(records: int, shards: int, logs_per_group: int) -> int:
    """The range's length for `records` logs over `shards` shards."""
    per_second = shards * GROUPS_PER_SECOND * logs_per_group
    if records % per_second:
        raise SystemExit("--records must be a multiple of %d" % per_second)
    return records // per_second


def scratch_config(work: Path, shards: int, logs_per_group: int, longest_seconds: int) -> Path:
    config = json.loads(CONFIG.read_text())
    for project in config["sls"]["projects"]:
        if project["name"] == PROJECT:
            project["logstores"].append({
                "name": LOGSTORE, "shards": shards,
                "generated": {"groups_per_shard": longest_seconds * GROUPS_PER_SECOND,
                              "logs_per_group": logs_per_group, "seed": 20261207,
                              "start_time": START, "groups_per_second": GROUPS_PER_SECOND}})
    path = work / "sandbox.json"
    path.write_text(json.dumps(config))
    return path


def run_datax(work: Path, endpoints: dict, sandbox_pid: int, credential: dict, seconds: int,
              records: int, channels: int):
    job = {"job": {"setting": {"speed": {"channel": channels}}, "content": [{
        "reader": {"name": "loghubreader", "parameter": {
            "endpoint": endpoints["sls_endpoint"], "accessId": credential["access_id"],
            "accessKey": credential["access_key"], "project": PROJECT, "logstore": LOGSTORE,
            "beginTimestampMillis": START * 1000, "endTimestampMillis": (START + seconds) * 1000,
            "batchSize": BATCH, "column": COLUMNS}},
        "writer": {"name": "streamwriter", "parameter": {"print": False}}}]}}
    job_path, report_path = work / "job.json", work / "report.json"
    job_path.write_text(json.dumps(job))
    report, client, server = run_datax_measured([job_path], report_path, sandbox_pid)
    if report["records_read"] != records or report["records_written"] != records:
        raise SystemExit("datax read %s logs, expected %s" % (report["records_read"], records))
    return records, report["records_per_second"], client, server, report["peak_memory_kib"]


def peer_main(endpoints: dict, credential: dict, shards: int, seconds: int) -> None:
    """The child process: pulls the range shard by shard, decoding every log; prints its
    count, wall seconds and CPU seconds of the pull loop, and its peak RSS, as JSON."""
    client = sandbox_log_client(endpoints, credential)
    cpu, start = time.process_time(), time.perf_counter()
    logs = 0
    for shard in range(shards):
        for answer in client.pull_log(PROJECT, LOGSTORE, shard, START, START + seconds,
                                      batch_size=BATCH):
            logs += len(answer.get_flatten_logs_json())
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"logs": logs, "wall": wall, "cpu": cpu, "peak_kib": peak_kib}))


def run_python_sdk(work: Path, endpoints: dict, sandbox_pid: int, shards: int, seconds: int,
                   records: int):
    arguments = work / "peer.json"
    arguments.write_text(json.dumps({"endpoints": endpoints, "shards": shards, "seconds": seconds}))
    server = cpu_of(sandbox_pid)
    answer = subprocess.run([sys.executable, __file__, "--peer", str(arguments)],
                            check=True, capture_output=True, text=True)
    server = cpu_of(sandbox_pid) - server
    result = json.loads(answer.stdout.strip().splitlines()[-1])
    if result["logs"] != records:
        raise SystemExit("the Python SDK read %s logs, expected %s" % (result["logs"], records))
    return records, records / result["wall"], result["cpu"], server, result["peak_kib"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000, help="logs in the range (1x)")
    parser.add_argument("--sdk-records", type=int, help="logs the Python SDK reads (default --records)")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--logs-per-group", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        peer = json.loads(Path(args.peer).read_text())
        peer_main(peer["endpoints"], sandbox_credential(), peer["shards"], peer["seconds"])
        return
    seconds = seconds_for(args.records, args.shards, args.logs_per_group)
    sdk_records = args.sdk_records or args.records
    sdk_seconds = seconds_for(sdk_records, args.shards, args.logs_per_group)
    if not args.no_build:
        build("datax-host", "datax-plugin-stream", "datax-plugin-loghub", "datax-sandbox")
    credential = sandbox_credential()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        config = scratch_config(work, args.shards, args.logs_per_group, 10 * seconds)
        sandbox, endpoints = start_sandbox(work, config)
        try:
            for channels in (1, 2):
                results["datax loghubreader", channels, 1] = [
                    run_datax(work, endpoints, sandbox.pid, credential, seconds, args.records, channels)
                    for _ in range(args.runs)]
            results[PEER, 1, 1] = [
                run_python_sdk(work, endpoints, sandbox.pid, args.shards, sdk_seconds, sdk_records)
                for _ in range(args.runs)]
            for channels in (1, 2):
                results["datax loghubreader", channels, 10] = [
                    run_datax(work, endpoints, sandbox.pid, credential, 10 * seconds, 10 * args.records,
                              channels)
                    for _ in range(args.runs)]
        finally:
            stop(sandbox)

    print("range: %s logs (%d shards x %d s x %d groups/s x %d logs), 10x: %s; datax median of %d "
          "runs at 1x and at 10x; the Python SDK reads %s logs, median of %d runs; %d cores "
          "shared by client and sandbox\n"
          % (format(args.records, ","), args.shards, seconds, GROUPS_PER_SECOND, args.logs_per_group,
             format(10 * args.records, ","), args.runs, format(sdk_records, ","), args.runs,
             os.cpu_count()))
    print("| reader | channels | logs | logs/s (median) | min | max | vs Python SDK "
          "| client CPU s | client CPU µs per log | per CPU-second vs SDK | sandbox CPU s "
          "| peak RSS, median (max) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    peer_runs = results[PEER, 1, 1]
    peer_rate = statistics.median(run[1] for run in peer_runs)
    peer_cost = statistics.median(run[2] / run[0] for run in peer_runs)
    for (reader, channels, _), runs in results.items():
        rates = [run[1] for run in runs]
        cost = statistics.median(run[2] / run[0] for run in runs)
        print("| %s | %d | %s | %s | %s | %s | %.1fx | %.2f | %.2f | %.1fx | %.2f | %s |" % (
            reader, channels, format(runs[0][0], ","), human(statistics.median(rates)),
            human(min(rates)), human(max(rates)), statistics.median(rates) / peer_rate,
            statistics.median(run[2] for run in runs), cost * 1e6, peer_cost / cost,
            statistics.median(run[3] for run in runs),
            "%.1f (%.1f) MiB" % (statistics.median(run[4] for run in runs) / 1024,
                                 max(run[4] for run in runs) / 1024)))


if __name__ == "__main__":
    main()
