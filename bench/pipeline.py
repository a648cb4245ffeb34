#!/usr/bin/env python3
"""The whole seed pipeline, odps -> loghub through the sandbox, against the Python pipeline a
user would otherwise write.

Each run gets a fresh release `datax-sandbox` holding sandbox/examples/seed-demo.json's
generated table aliyun_account.ak_biz_log_detail (partition pt=20161226; string, bigint,
string, double, datetime, time-text string) resized to the run's row count, and the logstore
datax-demo/ak_biz_log. Against it:

  * `datax jobs/odps-to-loghub.json` (the seed, unchanged; a copy with `concurrent: 2` for two
    channels) with jobs/datasources.sandbox.json and -p -Dsandbox=...; records/s and bytes/s
    are datax's own (`records_per_second`, `bytes_per_second`: records and DataX's record
    bytes over the transfer time), peak RSS its `peak_memory_kib`, all from --report-json;
  * the Python pipeline, in a child process: pyodps `open_reader` over the same partition
    (its Cython reader, uncompressed as the seed's isCompress false), each record turned into
    (col0..col5, str(value)) contents, and aliyun-log-python-sdk `put_logs` 1024 logs per
    request (lz4), from one thread, through HTTP_PROXY = the sandbox with TCP_NODELAY given back
    to the proxy pool (common.sandbox_log_client); its rate is rows over the wall time from
    opening the reader to the last PutLogs, its MB/s that rate times datax's bytes per record,
    its peak RSS the child's VmHWM.

Time to first record is from launching the client to the sandbox storing its first logs (the
sandbox's `first_logs_accepted_unix_ms`), the same clock for both. Every run checks that the
sandbox stored every row. Prints a Markdown table.

    python3 bench/pipeline.py [--rows 1000000] [--large-rows 10000000] [--runs 3] [--peer-runs 2]

`--against DIR` compares two builds instead: each run of the release datax is paired with a
run of DIR/datax (an older build, its plugins beside it) right before it, on 1 and 2 channels,
and the pairs' client CPU seconds are printed. Alternating is what tells a 5 % change on a machine
whose speed drifts by more than that from one minute to the next. A DIR/datax-sandbox serves
DIR's runs, for a change to the sandbox: it shares the cores with the client it measures.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (DATAX, ROOT, build, control, cpu_of, human, run_datax_measured,
                    sandbox_log_client, start_sandbox, stop, stored_log_count)

DEMO_CONFIG = ROOT / "sandbox" / "examples" / "seed-demo.json"
SEED_JOB = ROOT / "jobs" / "odps-to-loghub.json"
DATA_SOURCES = ROOT / "jobs" / "datasources.sandbox.json"
PROJECT, TABLE, PARTITION = "aliyun_account", "ak_biz_log_detail", "pt=20161226"
LOG_PROJECT, LOGSTORE = "datax-demo", "ak_biz_log"
PYTHON = "python: pyodps open_reader -> aliyun-log-python-sdk put_logs"


def sized_config(work: Path, rows: int) -> Path:
    config = json.loads(DEMO_CONFIG.read_text())
    table = config["odps"]["projects"][0]["tables"][0]
    table["partitions"][0]["rows"] = rows
    path = work / "sandbox.json"
    path.write_text(json.dumps(config))
    return path


def with_sandbox(rows: int, measure, sandbox_binary: Path = None):
    """Runs `measure(endpoints, sandbox_pid)` against a fresh sandbox of `rows` rows (the
    release one, or `sandbox_binary`); returns its result with the time to first record (s)
    and the sandbox's CPU seconds added."""
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sandbox, endpoints = start_sandbox(work, sized_config(work, rows), binary=sandbox_binary)
        try:
            launched = time.time()
            server = cpu_of(sandbox.pid)
            result = measure(work, endpoints, sandbox.pid)
            server = cpu_of(sandbox.pid) - server
            first = control(endpoints, "/stats")["first_logs_accepted_unix_ms"]
            stored = stored_log_count(endpoints, LOG_PROJECT, LOGSTORE)
            if stored < rows:
                raise SystemExit("the sandbox stored %d logs of %d rows" % (stored, rows))
        finally:
            stop(sandbox)
    return dict(result, first_record_s=first / 1000 - launched, sandbox_cpu=server)


def run_datax(rows: int, channels: int, state: bool = False, datax: Path = DATAX,
              sandbox_binary: Path = None) -> dict:
    def measure(work, endpoints, sandbox_pid):
        job = SEED_JOB
        if channels != 1:
            seed = json.loads(SEED_JOB.read_text())
            seed["configuration"]["setting"]["speed"]["concurrent"] = str(channels)
            job = work / "seed-concurrent.json"
            job.write_text(json.dumps(seed))
        address = "127.0.0.1:%d" % endpoints["port"]
        args = [job, "--datasources", DATA_SOURCES, "-p", "-Dsandbox=" + address]
        if state:
            args += ["--state", work / "state"]
        report, client, _ = run_datax_measured(args, work / "report.json", sandbox_pid, datax)
        if report["records_written"] != rows:
            raise SystemExit("datax wrote %s of %d rows" % (report["records_written"], rows))
        return {"rate": report["records_per_second"], "bytes_rate": report["bytes_per_second"],
                "bytes_per_record": report["bytes_read"] / rows, "client_cpu": client,
                "peak_kib": report["peak_memory_kib"]}
    return with_sandbox(rows, measure, sandbox_binary)


def run_python(rows: int) -> dict:
    def measure(work, endpoints, sandbox_pid):
        child = subprocess.run(
            [sys.executable, __file__, "--python-peer", json.dumps(endpoints)],
            check=True, capture_output=True, text=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        if result["rows"] != rows:
            raise SystemExit("the Python pipeline moved %s of %d rows" % (result["rows"], rows))
        return result
    return with_sandbox(rows, measure)


def python_peer(endpoints: dict) -> None:
    """The Python pipeline itself (run in a child process); prints its numbers as JSON."""
    from aliyun.log import LogItem, PutLogsRequest
    from odps import ODPS

    credential = json.loads(DEMO_CONFIG.read_text())["credentials"][0]
    logs = sandbox_log_client(endpoints, credential)
    odps = ODPS(credential["access_id"], credential["access_key"], PROJECT,
                endpoint=endpoints["odps_endpoint"])
    names = ["col0", "col1", "col2", "col3", "col4", "col5"]
    cpu, start = time.process_time(), time.perf_counter()
    moved = 0
    with odps.get_table(TABLE).open_reader(partition=PARTITION, endpoint=endpoints["tunnel_endpoint"]) as reader:
        batch = []
        for record in reader:
            batch.append(LogItem(timestamp=int(time.time()),
                                 contents=[(name, str(value)) for name, value in zip(names, record.values)]))
            if len(batch) == 1024:
                logs.put_logs(PutLogsRequest(LOG_PROJECT, LOGSTORE, "", "", batch))
                moved += len(batch)
                batch = []
        if batch:
            logs.put_logs(PutLogsRequest(LOG_PROJECT, LOGSTORE, "", "", batch))
            moved += len(batch)
    seconds = time.perf_counter() - start
    peak = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmHWM:"))
    print(json.dumps({"rows": moved, "rate": moved / seconds, "client_cpu": time.process_time() - cpu,
                      "peak_kib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--large-rows", type=int, default=10_000_000,
                        help="rows of the one run per channel count that shows memory stays flat")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-runs", type=int, default=2)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--state", action="store_true",
                        help="also run datax with --state (resume kept), alternating with the runs "
                             "without it")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="alternate runs with DIR/datax and print the pairs' client CPU")
    parser.add_argument("--python-peer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.python_peer:
        python_peer(json.loads(args.python_peer))
        return
    if not args.no_build:
        build("datax-host", "datax-plugin-odps", "datax-plugin-loghub", "datax-sandbox")
    if args.against:
        compare(args.against / "datax", args.rows, args.runs)
        return

    results = {}
    for channels in (1, 2):
        results["datax", channels, args.rows] = []
        if args.state:
            results["datax --state", channels, args.rows] = []
    # One channel count after the other within each round, so that both meet the same minutes
    # of a machine whose speed drifts.
    for _ in range(args.runs):
        for channels in (1, 2):
            results["datax", channels, args.rows].append(run_datax(args.rows, channels))
            if args.state:
                results["datax --state", channels, args.rows].append(
                    run_datax(args.rows, channels, state=True))
    results[PYTHON, 1, args.rows] = [run_python(args.rows) for _ in range(args.peer_runs)]
    if args.large_rows:
        for channels in (1, 2):
            results["datax", channels, args.large_rows] = [run_datax(args.large_rows, channels)]

    bytes_per_record = statistics.median(
        run["bytes_per_record"] for key, runs in results.items() if key[0].startswith("datax")
        for run in runs)
    peer = statistics.median(run["rate"] for run in results[PYTHON, 1, args.rows])
    print("median of the runs (datax %d, Python %d per row count); %d cores shared by client and "
          "sandbox; every run checked that the sandbox stored every row; %.1f bytes per record "
          "(DataX's count)\n" % (args.runs, args.peer_runs, os.cpu_count(), bytes_per_record))
    print("| pipeline | channels | rows | records/s (median) | min | max | MB/s | vs Python "
          "| time to first record | client CPU s | client CPU µs per row | sandbox CPU s | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (pipeline, channels, rows), runs in results.items():
        rates = [run["rate"] for run in runs]
        rate = statistics.median(rates)
        client_cpu = statistics.median(run["client_cpu"] for run in runs)
        print("| %s | %d | %s | %s | %s | %s | %.1f | %.1fx | %.2f s | %.2f | %.2f | %.1f | %.1f MiB |" % (
            pipeline, channels, format(rows, ","), human(rate), human(min(rates)), human(max(rates)),
            rate * bytes_per_record / 1e6, rate / peer,
            statistics.median(run["first_record_s"] for run in runs),
            client_cpu, client_cpu / rows * 1e6,
            statistics.median(run["sandbox_cpu"] for run in runs),
            max(run["peak_kib"] for run in runs) / 1024))


def compare(base: Path, rows: int, runs: int) -> None:
    """Pairs of runs, `base` then the release build, on 1 and 2 channels: client CPU seconds.
    A `datax-sandbox` beside `base` serves its runs (the sandbox is part of what a change to
    it moves: it shares the cores); else the release one serves both."""
    base_sandbox = base.parent / "datax-sandbox"
    base_sandbox = base_sandbox if base_sandbox.exists() else None
    print("client CPU s, %s rows; each pair run back to back; %s's runs against %s\n" % (
        format(rows, ","), base, base_sandbox or "the release sandbox"))
    print("| channels | pair | %s | this build | change |" % base)
    print("| ---: | ---: | ---: | ---: | ---: |")
    for channels in (1, 2):
        pairs = []
        for pair in range(1, runs + 1):
            before = run_datax(rows, channels, datax=base,
                               sandbox_binary=base_sandbox)["client_cpu"]
            after = run_datax(rows, channels)["client_cpu"]
            pairs.append((before, after))
            print("| %d | %d | %.3f | %.3f | %+.1f %% |" % (
                channels, pair, before, after, (after / before - 1) * 100), flush=True)
        for name, average in (("mean", statistics.mean), ("median", statistics.median)):
            before, after = (average(side) for side in zip(*pairs))
            print("| %d | %s | %.3f | %.3f | %+.1f %% |" % (
                channels, name, before, after, (after / before - 1) * 100))
        lower = sum(1 for before, after in pairs if after < before)
        print("| %d | lower | | %d of %d | |" % (channels, lower, len(pairs)))

if __name__ == "__main__":
    main()
