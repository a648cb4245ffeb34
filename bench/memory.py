#!/usr/bin/env python3
"""Peak memory as channels and row width grow: stream -> loghub through the sandbox.

Each run is one `datax` job: streamreader making rows of one constant string column of the
given width (`sliceRecordCount` rows per channel, so every channel moves about the same bytes)
into loghubwriter (default settings: `batchSize` 1024, `maxInFlight` 4, lz4) on a fresh
sandbox, over 1 / 2 / 4 / 8 channels and 100 B / 10 KB / 1 MiB rows. Peak RSS is the report's
`peak_memory_kib` (VmHWM); the bound beside it is the engine's documented one
(BENCHMARKS.md, "Memory"): a fixed base plus, per channel, the host's channel budget and the
loghub writer's requests in flight, each sized by the row width. Every run checks that the
sandbox stored every row. Prints a Markdown table; exits non-zero if a run passes its bound.

    python3 bench/memory.py [--channels 1,2,4,8] [--widths 100,10240,1048576]
                            [--mib-per-channel 32] [--runs 1] [--no-build] [--bin-dir DIR]
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import DATAX, ROOT, build, children_cpu, start_sandbox, stop, stored_log_count

DATA_SOURCES = ROOT / "jobs" / "datasources.sandbox.json"
LOG_PROJECT, LOGSTORE = "datax-demo", "ak_biz_log"
MIB = 1 << 20

# The documented bound (BENCHMARKS.md, "Memory"), in bytes.
BASE = 40 * MIB
"""The process with its plugins loaded, its threads' stacks in use, the shared HTTP clients."""
CHANNEL_BYTES = 8 * MIB
"""A channel's byte capacity (`core.transport.channel.byteCapacity` unset)."""
BATCH_BYTES = 1 * MIB
"""A batch ends once its bytes reach 1 MiB."""
LOGHUB_REQUEST_BYTES = 4 * MIB
"""A PutLogs request stays under 4 MiB of protobuf, unless one log is larger."""
LOGHUB_REQUESTS = 4 + 2
"""`maxInFlight` requests, one queued, one being encoded."""
LOGHUB_COPIES = 3
"""A request's logs, its protobuf and its compressed body."""


def channel_budget(row_bytes: int) -> int:
    """What one channel may hold for rows of `row_bytes`: the channel's queue (its byte
    capacity, plus one row a batch may pass its limit by), the batch the reader fills, the one
    the writer holds and the reader's spare records (two batches), each up to a batch plus a
    row; and loghubwriter's requests, each up to a request plus a row, in three copies."""
    host = CHANNEL_BYTES + row_bytes + 4 * (BATCH_BYTES + row_bytes)
    writer = LOGHUB_REQUESTS * LOGHUB_COPIES * (LOGHUB_REQUEST_BYTES + row_bytes)
    return host + writer


def bound(channels: int, row_bytes: int) -> int:
    return BASE + channels * channel_budget(row_bytes)


def job(channels: int, rows_per_channel: int, width: int) -> dict:
    return {
        "job": {
            "setting": {"speed": {"channel": channels}},
            "content": [{
                "reader": {
                    "name": "streamreader",
                    "parameter": {
                        "column": [{"type": "string", "value": "x" * width}],
                        "sliceRecordCount": rows_per_channel,
                    },
                },
                "writer": {
                    "name": "loghubwriter",
                    "parameter": {"datasource": "sls", "column": ["payload"]},
                },
            }],
        }
    }


def run_once(datax: Path, channels: int, width: int, rows_per_channel: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sandbox, endpoints = start_sandbox(work)
        try:
            job_path, report_path = work / "job.json", work / "report.json"
            job_path.write_text(json.dumps(job(channels, rows_per_channel, width)))
            command = [job_path, "--datasources", DATA_SOURCES,
                       "-p", "-Dsandbox=127.0.0.1:%d" % endpoints["port"],
                       "--report-json", report_path]
            cpu, started = children_cpu(), time.perf_counter()
            subprocess.run([str(datax), *map(str, command)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            wall, cpu = time.perf_counter() - started, children_cpu() - cpu
            report = json.loads(report_path.read_text())
            rows = channels * rows_per_channel
            stored = stored_log_count(endpoints, LOG_PROJECT, LOGSTORE)
            if stored != rows:
                raise SystemExit("the sandbox stored %d logs of %d" % (stored, rows))
        finally:
            stop(sandbox)
    return {"wall": wall, "cpu": cpu, "peak": report["peak_memory_kib"] * 1024}


def width_name(width: int) -> str:
    if width >= MIB:
        return "%d MiB" % (width // MIB)
    if width >= 1024:
        return "%d KB" % (width // 1024)
    return "%d B" % width


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", default="1,2,4,8")
    parser.add_argument("--widths", default="100,10240,1048576")
    parser.add_argument("--mib-per-channel", type=int, default=32,
                        help="the bytes each channel moves (rows = this / width)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--bin-dir", type=Path,
                        help="run DIR/datax (with its plugin libraries) instead of the release build")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        build("datax-host", "datax-plugin-stream", "datax-plugin-loghub", "datax-sandbox")
    datax = args.bin_dir / "datax" if args.bin_dir else DATAX
    print("stream -> loghub, %d MiB per channel, peak RSS the highest of %d run(s); bound = "
          "%d MiB + channels x channel budget\n" % (args.mib_per_channel, args.runs, BASE // MIB))
    print("| row width | channels | rows | wall s | client CPU s | peak RSS | bound | "
          "peak / bound |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    over = []
    for width in [int(w) for w in args.widths.split(",")]:
        rows_per_channel = max(1, args.mib_per_channel * MIB // width)
        for channels in [int(c) for c in args.channels.split(",")]:
            runs = [run_once(datax, channels, width, rows_per_channel) for _ in range(args.runs)]
            peak = max(run["peak"] for run in runs)
            limit = bound(channels, width)
            print("| %s | %d | %s | %.2f | %.2f | %.1f MiB | %.0f MiB | %.2f |" % (
                width_name(width), channels, format(channels * rows_per_channel, ","),
                statistics.median(run["wall"] for run in runs),
                statistics.median(run["cpu"] for run in runs),
                peak / MIB, limit / MIB, peak / limit), flush=True)
            if peak > limit:
                over.append((width, channels))
    if over:
        raise SystemExit("peak RSS above the bound: %s" % over)


if __name__ == "__main__":
    main()
