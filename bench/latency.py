#!/usr/bin/env python3
"""Per-channel throughput behind a simulated WAN round trip, with the requests in flight that
achieved it, against the Python peers in the same run.

For each --latencies value (milliseconds; default 0 and 30) it starts the release
`datax-sandbox` with sandbox/examples/sandbox.json and `latency_ms` set to it (every MaxCompute
and Log Service request waits that long before it is served, each on its own timer), the
generated table `aliyun_account.ak_biz_log_generated` cut down to --odps-records rows and a
record cache big enough for all of them (one unmeasured datax run fills it). Then, against
that one sandbox, --runs times each:

  * odps -> null: the real `datax`, odpsreader -> streamwriter print=false, 1 and 2 channels,
    odpsreader's `maxInFlight` (data requests a task keeps in flight) from --odps-in-flight;
    peer: pyodps `open_reader` reading --pyodps-records rows (one request at a time);
  * stream -> loghub: the real `datax`, streamreader -> loghubwriter (6 columns, batchSize 1024),
    1 and 2 channels, loghubwriter's `maxInFlight` from --loghub-in-flight; peer:
    aliyun-log-python-sdk `put_logs` from one thread, 1024 logs per PutLogs, --sdk-records logs
    (one request at a time; TCP_NODELAY adapter as in bench/loghub_write.py).

datax's records/s is its report's `records_per_second` (records over the tasks' transfer time,
so the job's own metadata round trips before the tasks start are not in it); a peer's is
records over the wall time of its read or send loop (pyodps' includes its session's round
trips). Per channel = records/s / channels. Client CPU is datax's (or the Python process') user
+ system CPU seconds, per row in µs. The sandbox must have stored every log sent.

Prints one Markdown table (medians of --runs).

    python3 bench/latency.py [--latencies 0,30] [--odps-records 4000000] [--pyodps-records 500000]
        [--loghub-records 400000] [--sdk-records 100000] [--odps-in-flight 1,2]
        [--loghub-in-flight 1,4,16] [--pipelines odps,loghub] [--runs 3] [--no-build]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import (CONFIG, DATAX, build, children_cpu, human, sandbox_credential, start_sandbox,
                    stop, stored_log_count)
from loghub_write import COLUMNS as LOGHUB_COLUMNS, NAMES as LOGHUB_NAMES, run_python_sdk
from odps_read import PARTITION, PROJECT, TABLE, run_pyodps, scratch_config as odps_scratch_config

SLS_PROJECT, LOGSTORE = "datax-demo", "ak_biz_log"
# About 106 bytes a row of the generated table (with block overhead): room for all of them.
CACHE_BYTES_PER_ROW = 128


def scratch_config(work: Path, latency_ms: int, records: int) -> Path:
    """odps_read's scratch sandbox (the generated partition at `records` rows, all cached),
    every request held `latency_ms`."""
    path = odps_scratch_config(work, records, max(64, records * CACHE_BYTES_PER_ROW >> 20))
    config = json.loads(path.read_text())
    config["latency_ms"] = latency_ms
    path.write_text(json.dumps(config))
    return path


def run_job(work: Path, job: dict):
    """(report, client CPU s) of one datax run of `job`; its log's end if it fails."""
    job_path, report_path = work / "job.json", work / "report.json"
    job_path.write_text(json.dumps(job))
    client = children_cpu()
    run = subprocess.run([str(DATAX), str(job_path), "--report-json", str(report_path)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    client = children_cpu() - client
    if run.returncode != 0:
        raise SystemExit("datax exited with %d:\n%s" % (run.returncode, run.stderr[-4000:]))
    return json.loads(report_path.read_text()), client


def odps_to_null(work: Path, endpoints: dict, credential: dict, records: int,
                 channels: int, in_flight: int):
    job = {"job": {"setting": {"speed": {"channel": channels}}, "content": [{
        "reader": {"name": "odpsreader", "parameter": {
            "accessId": credential["access_id"], "accessKey": credential["access_key"],
            "odpsServer": endpoints["odps_endpoint"], "tunnelServer": endpoints["tunnel_endpoint"],
            "project": PROJECT, "table": TABLE, "partition": [PARTITION], "column": ["*"],
            "maxInFlight": in_flight}},
        "writer": {"name": "streamwriter", "parameter": {"print": False}}}]}}
    report, client = run_job(work, job)
    if report["records_read"] != records or report["records_written"] != records:
        raise SystemExit("datax read %s records, expected %s" % (report["records_read"], records))
    return records, report["records_per_second"], client


def stream_to_loghub(work: Path, endpoints: dict, credential: dict, records: int,
                     channels: int, in_flight: int):
    per_task = records // channels
    job = {"job": {"setting": {"speed": {"channel": channels}}, "content": [{
        "reader": {"name": "streamreader", "parameter": {
            "column": LOGHUB_COLUMNS, "sliceRecordCount": per_task}},
        "writer": {"name": "loghubwriter", "parameter": {
            "endpoint": endpoints["sls_endpoint"], "accessId": credential["access_id"],
            "accessKey": credential["access_key"], "project": SLS_PROJECT, "logstore": LOGSTORE,
            "batchSize": 1024, "column": LOGHUB_NAMES, "maxInFlight": in_flight}}}]}}
    report, client = run_job(work, job)
    if report["records_written"] != per_task * channels:
        raise SystemExit("datax wrote %s logs, expected %s" % (report["records_written"], per_task * channels))
    return per_task * channels, report["records_per_second"], client


def numbers(text: str) -> list:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", type=numbers, default=[0, 30], help="ms, comma-separated")
    parser.add_argument("--odps-records", type=int, default=4_000_000)
    parser.add_argument("--pyodps-records", type=int, default=500_000)
    parser.add_argument("--loghub-records", type=int, default=400_000)
    parser.add_argument("--sdk-records", type=int, default=100_000)
    parser.add_argument("--odps-in-flight", type=numbers, default=[1, 2])
    parser.add_argument("--loghub-in-flight", type=numbers, default=[1, 4, 16])
    parser.add_argument("--pipelines", default="odps,loghub",
                        help="comma-separated: odps (odps -> null), loghub (stream -> loghub)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    pipelines = set(args.pipelines.split(","))
    if not pipelines or not pipelines <= {"odps", "loghub"}:
        raise SystemExit("--pipelines: odps and/or loghub")
    if args.pyodps_records > args.odps_records:
        raise SystemExit("--pyodps-records cannot exceed --odps-records")
    if not args.no_build:
        build("datax-host", "datax-plugin-stream", "datax-plugin-odps", "datax-plugin-loghub",
              "datax-sandbox")
    credential = sandbox_credential()
    # (latency, pipeline, client, channels, in flight) -> [(records, records/s, client CPU s)]
    results = {}
    for latency in args.latencies:
        # The SDK's client sends through HTTP_PROXY = the sandbox it was made for (see
        # common.sandbox_log_client); the next sandbox's clients, datax included, go direct.
        for name in ("HTTP_PROXY", "http_proxy"):
            os.environ.pop(name, None)
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            log = work / "sandbox.log"
            sandbox, endpoints = start_sandbox(work, scratch_config(work, latency, args.odps_records), log)
            try:
                if "odps" in pipelines:
                    print("%d ms: odps → null" % latency, file=sys.stderr, flush=True)
                    odps_to_null(work, endpoints, credential, args.odps_records, 1, 2)  # fills the cache
                    for channels in (1, 2):
                        for in_flight in args.odps_in_flight:
                            results[latency, "odps → null", "datax odpsreader", channels, in_flight] = [
                                odps_to_null(work, endpoints, credential, args.odps_records,
                                             channels, in_flight)
                                for _ in range(args.runs)]
                    results[latency, "odps → null", "pyodps open_reader", 1, 1] = [
                        (args.pyodps_records, *run_pyodps(
                            endpoints, sandbox.pid, credential["access_id"], credential["access_key"],
                            args.pyodps_records, False)[:2])
                        for _ in range(args.runs)]
                if "loghub" in pipelines:
                    print("%d ms: stream → loghub" % latency, file=sys.stderr, flush=True)
                    for channels in (1, 2):
                        for in_flight in args.loghub_in_flight:
                            results[latency, "stream → loghub", "datax loghubwriter", channels, in_flight] = [
                                stream_to_loghub(work, endpoints, credential,
                                                 args.loghub_records, channels, in_flight)
                                for _ in range(args.runs)]
                    results[latency, "stream → loghub", "aliyun-log-python-sdk put_logs", 1, 1] = [
                        run_python_sdk(endpoints, sandbox.pid, credential, args.sdk_records, True)[:3]
                        for _ in range(args.runs)]
                sent = sum(run[0] for key, runs in results.items()
                           if key[0] == latency and key[1] == "stream → loghub" for run in runs)
                stored = stored_log_count(endpoints, SLS_PROJECT, LOGSTORE)
                if stored != sent:
                    raise SystemExit("the sandbox stored %s logs, expected %s" % (stored, sent))
            except SystemExit:
                if sandbox.poll() is not None:
                    print("the sandbox exited with %s:\n%s" % (sandbox.returncode, log.read_text()[-4000:]),
                          file=sys.stderr)
                raise
            finally:
                stop(sandbox)

    print("odps: datax reads %s rows, pyodps %s; loghub: datax sends %s logs, the SDK %s; median of %d "
          "runs; %d cores shared by client and sandbox; every log sent verified stored\n"
          % (format(args.odps_records, ","), format(args.pyodps_records, ","),
             format(args.loghub_records, ","), format(args.sdk_records, ","), args.runs, os.cpu_count()))
    print("| round trip | pipeline | client | channels | requests in flight per channel "
          "| records/s per channel (median) | min | max | vs Python peer | client CPU µs per row |")
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (latency, pipeline, client, channels, in_flight), runs in results.items():
        peer = next(runs for key, runs in results.items()
                    if key[:2] == (latency, pipeline) and not key[2].startswith("datax"))
        peer_rate = statistics.median(run[1] for run in peer)
        per_channel = [run[1] / channels for run in runs]
        print("| %d ms | %s | %s | %d | %d | %s | %s | %s | %.1fx | %.2f |" % (
            latency, pipeline, client, channels, in_flight, human(statistics.median(per_channel)),
            human(min(per_channel)), human(max(per_channel)),
            statistics.median(per_channel) / peer_rate,
            statistics.median(run[2] / run[0] * 1e6 for run in runs)))


if __name__ == "__main__":
    main()
