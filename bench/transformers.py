#!/usr/bin/env python3
"""stream -> null with and without transformers, through the real `datax` binary.

Three jobs on DataX's default stream columns (string, long, date, bool, bytes), one channel,
in one run: no transformer; DataX's doc chain of three built-ins (dx_substr, dx_replace,
dx_digest md5); and a dx_script doing the same to every record. Prints a Markdown table of the
median records/s (datax's own) and the CPU seconds per record (datax's user + system time over
the run, divided by the records).

    python3 bench/transformers.py [--records 2000000] [--runs 3]
"""

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from common import STREAM_COLUMNS as COLUMNS, build, children_cpu, run_datax

BUILT_INS = [
    {"name": "dx_substr", "parameter": {"columnIndex": 0, "paras": ["1", "3"]}},
    {"name": "dx_replace", "parameter": {"columnIndex": 4, "paras": ["3", "4", "****"]}},
    {"name": "dx_digest", "parameter": {"columnIndex": 3, "paras": ["md5", "toLowerCase"]}},
]

# The same three changes (the columns are ASCII, so characters and UTF-16 units agree).
SCRIPT = [
    {
        "name": "dx_script",
        "parameter": {
            "code": "record[0] = record[0].sub_string(1, 3);\n"
            "record[4] = record[4].as_string().sub_string(0, 3) + \"****\";\n"
            "record[3] = md5(record[3].to_string());"
        },
    }
]

CASES = [("no transformer", []), ("dx_substr + dx_replace + dx_digest", BUILT_INS), ("dx_script, the same", SCRIPT)]


def job(records: int, transformers: list) -> dict:
    content = {
        "reader": {"name": "streamreader", "parameter": {"column": COLUMNS, "sliceRecordCount": records}},
        "writer": {"name": "streamwriter", "parameter": {"print": False}},
    }
    if transformers:
        content["transformer"] = transformers
    return {"job": {"setting": {"speed": {"channel": 1}}, "content": [content]}}


def run_once(job_path: Path, report_path: Path, records: int) -> tuple[float, float]:
    """Records/s from datax's report, and datax's CPU seconds per record."""
    before = children_cpu()
    report = run_datax([job_path], report_path)
    cpu = children_cpu() - before
    assert report["records_written"] == records, report
    return report["records_per_second"], cpu / records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    build("datax-host", "datax-plugin-stream")
    print(f"{args.records:,} records, 1 channel, median of {args.runs} runs, {os.cpu_count()} cores\n")
    print("| transformers | records/s (median) | min | max | CPU per record |")
    print("| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as scratch:
        for name, transformers in CASES:
            job_path = Path(scratch) / "job.json"
            job_path.write_text(json.dumps(job(args.records, transformers)))
            runs = [run_once(job_path, Path(scratch) / "report.json", args.records) for _ in range(args.runs)]
            rates = [rate for rate, _ in runs]
            cpu = statistics.median(cpu for _, cpu in runs)
            print(
                f"| {name} | {statistics.median(rates) / 1e6:.2f} M | {min(rates) / 1e6:.2f} M | "
                f"{max(rates) / 1e6:.2f} M | {cpu * 1e6:.2f} µs |"
            )


if __name__ == "__main__":
    main()
