#!/usr/bin/env python3
"""stream -> loghub write throughput into the sandbox, against the official Python SDK as the peer.

Starts the release `datax-sandbox` with sandbox/examples/sandbox.json, then, against that one
sandbox:

  * the real `datax` with streamreader -> loghubwriter (6 columns: string, long, date, bool,
    bytes, random long; batchSize 1024) on 1 and 2 channels, --runs times each; logs/s is
    datax's own `records_per_second`, peak RSS its `peak_memory_kib`, both from `--report-json`;
  * aliyun-log-python-sdk's LogClient.put_logs from one thread, the same logs 1024 per PutLogs
    (lz4, the SDK default), through HTTP_PROXY = the sandbox (the SDK cannot address an IP
    endpoint with a port, sls-putlogs.md §2.2), --runs times; logs/s is logs / wall time of
    the send loop. The SDK is slow, so it sends --sdk-records logs (fewer) and rates are compared.
    urllib3 drops its default TCP_NODELAY on proxied connections, and then every PutLogs (headers
    and body sent apart) waits ~40 ms for the sandbox's delayed ACK, a stall the SDK does not have
    on a direct connection to Log Service. So the peer row mounts an adapter that gives the proxy
    pool urllib3's default socket options back (TCP_NODELAY); the SDK exactly as it is through the
    proxy is measured too, for reference.

At the end the sandbox's stored count must equal everything sent. Prints a Markdown table:
median logs/s, min, max, ratio against the SDK, client and sandbox CPU seconds (median), and
datax's peak RSS. The sandbox shares the machine's cores with the client.

    python3 bench/loghub_write.py [--records 1000000] [--sdk-records 200000] [--runs 3]
"""

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from common import (STREAM_COLUMNS, build, cpu_of, human, run_datax_measured, sandbox_credential,
                    sandbox_log_client, start_sandbox, stop, stored_log_count)

PROJECT, LOGSTORE = "datax-demo", "ak_biz_log"
COLUMNS = STREAM_COLUMNS + [{"type": "long", "random": "1,1000"}]
NAMES = ["col0", "col1", "col2", "col3", "col4", "col5"]
PEER = "aliyun-log-python-sdk put_logs, TCP_NODELAY"
PEER_AS_IS = "aliyun-log-python-sdk put_logs, as is via proxy"


def run_datax(work: Path, endpoints: dict, sandbox_pid: int, credential: dict, records: int, channels: int):
    per_task = records // channels
    job = {"job": {"setting": {"speed": {"channel": channels}}, "content": [{
        "reader": {"name": "streamreader", "parameter": {"column": COLUMNS, "sliceRecordCount": per_task}},
        "writer": {"name": "loghubwriter", "parameter": {
            "endpoint": endpoints["sls_endpoint"], "accessId": credential["access_id"],
            "accessKey": credential["access_key"], "project": PROJECT, "logstore": LOGSTORE,
            "batchSize": 1024, "column": NAMES}}}]}}
    job_path, report_path = work / ("job-%d.json" % channels), work / "report.json"
    job_path.write_text(json.dumps(job))
    report, client, server = run_datax_measured([job_path], report_path, sandbox_pid)
    if report["records_written"] != per_task * channels:
        raise SystemExit("datax wrote %s logs, expected %s" % (report["records_written"], per_task * channels))
    return per_task * channels, report["records_per_second"], client, server, report["peak_memory_kib"]


def run_python_sdk(endpoints: dict, sandbox_pid: int, credential: dict, records: int, nodelay: bool):
    from aliyun.log import LogItem, PutLogsRequest

    client = sandbox_log_client(endpoints, credential, nodelay)
    constant = [("col0", "DataX"), ("col1", "1724154616370"), ("col2", "2024-01-01 00:00:00"),
                ("col3", "true"), ("col4", "TestRawData")]
    cpu, server = time.process_time(), cpu_of(sandbox_pid)
    start = time.perf_counter()
    sent = 0
    while sent < records:
        count = min(1024, records - sent)
        now = int(time.time())
        items = [LogItem(timestamp=now, contents=constant + [("col5", str(random.randint(1, 1000)))])
                 for _ in range(count)]
        client.put_logs(PutLogsRequest(PROJECT, LOGSTORE, "", "", items))
        sent += count
    seconds = time.perf_counter() - start
    return sent, sent / seconds, time.process_time() - cpu, cpu_of(sandbox_pid) - server, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="logs per datax run")
    parser.add_argument("--sdk-records", type=int, default=200_000, help="logs per Python SDK run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        build("datax-host", "datax-plugin-stream", "datax-plugin-loghub", "datax-sandbox")
    credential = sandbox_credential()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sandbox, endpoints = start_sandbox(work)
        try:
            for channels in (1, 2):
                results["datax loghubwriter", channels] = [
                    run_datax(work, endpoints, sandbox.pid, credential, args.records, channels)
                    for _ in range(args.runs)]
            for label, nodelay in ((PEER, True), (PEER_AS_IS, False)):
                results[label, 1] = [
                    run_python_sdk(endpoints, sandbox.pid, credential, args.sdk_records, nodelay)
                    for _ in range(args.runs)]
            expected = sum(run[0] for runs in results.values() for run in runs)
            stored = stored_log_count(endpoints, PROJECT, LOGSTORE)
            if stored != expected:
                raise SystemExit("the sandbox stored %s logs, expected %s" % (stored, expected))
        finally:
            stop(sandbox)

    print("datax sends %s logs per run, the Python SDK %s; median of %d runs; %d cores shared by "
          "client and sandbox; all %s logs verified stored\n"
          % (format(args.records, ","), format(args.sdk_records, ","), args.runs, os.cpu_count(),
             format(expected, ",")))
    print("| writer | channels / threads | logs/s (median) | min | max | vs Python SDK "
          "| client CPU s | sandbox CPU s | client CPU µs per log | datax peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    peer = statistics.median(run[1] for run in results[PEER, 1])
    for (writer, channels), runs in results.items():
        rates = [run[1] for run in runs]
        client = statistics.median(run[2] for run in runs)
        peaks = [run[4] for run in runs if run[4] is not None]
        print("| %s | %d | %s | %s | %s | %.1fx | %.2f | %.2f | %.2f | %s |" % (
            writer, channels, human(statistics.median(rates)), human(min(rates)), human(max(rates)),
            statistics.median(rates) / peer, client, statistics.median(run[3] for run in runs),
            client / runs[0][0] * 1e6, "%.1f MiB" % (max(peaks) / 1024) if peaks else "—"))


if __name__ == "__main__":
    main()
