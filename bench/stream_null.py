#!/usr/bin/env python3
"""stream -> null throughput and peak memory of the real `datax` binary and plugins.

Runs DataX's default stream job shape (5 constant columns: string, long, date, bool, bytes)
into streamwriter with print=false, on 1 and 2 channels, several times each, and prints a
Markdown table of the median records/s and the peak RSS (datax's own VmHWM).

    python3 bench/stream_null.py [--records 50000000] [--runs 5]
"""

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from common import STREAM_COLUMNS as COLUMNS, build, run_datax


def job(channels: int, records: int) -> dict:
    return {
        "job": {
            "setting": {"speed": {"channel": channels}},
            "content": [
                {
                    "reader": {
                        "name": "streamreader",
                        "parameter": {"column": COLUMNS, "sliceRecordCount": records // channels},
                    },
                    "writer": {"name": "streamwriter", "parameter": {"print": False}},
                }
            ],
        }
    }


def run_once(job_path: Path, report_path: Path) -> tuple[float, int]:
    """Records/s and peak resident memory (KiB), from datax's own report."""
    report = run_datax([job_path], report_path)
    return report["records_per_second"], report["peak_memory_kib"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    build("datax-host", "datax-plugin-stream")
    print(f"{args.records:,} records, median of {args.runs} runs, {os.cpu_count()} cores\n")
    print("| channels | records/s (median) | min | max | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as scratch:
        for channels in (1, 2):
            job_path = Path(scratch) / f"stream-{channels}.json"
            job_path.write_text(json.dumps(job(channels, args.records)))
            rates, peaks = [], []
            for _ in range(args.runs):
                rate, peak = run_once(job_path, Path(scratch) / "report.json")
                rates.append(rate)
                peaks.append(peak)
            print(
                f"| {channels} | {statistics.median(rates) / 1e6:.2f} M | "
                f"{min(rates) / 1e6:.2f} M | {max(rates) / 1e6:.2f} M | {max(peaks) / 1024:.1f} MiB |"
            )


if __name__ == "__main__":
    main()
