#!/usr/bin/env python3
"""Instructions per row of the seed pipeline (odps -> loghub through the sandbox), counted by
valgrind's callgrind: the one figure of this machine that does not drift with its load.

CPU seconds per row on the shared 2-core VM move by a fifth from one minute to the next (see
BENCHMARKS.md), so a change of a few percent shows only in many alternated runs. Callgrind
counts the instructions the client executes, the same for the same binary and input whatever
else the machine does. What it does not see: the kernel's work (socket copies, scheduling) and
how long each instruction waits on memory, so it complements client CPU seconds, it does not
replace them.

The seed job runs on one channel under `valgrind --tool=callgrind`, against a fresh sandbox, at
two row counts; the difference in instructions over the difference in rows is what one more row
costs, without the start (plugin loading and its ABI checks, connections, the first buffers).
The same difference is taken of a few parts, by callgrind's inclusive counts:

  * lz4: the PutLogs body's compression (`lz4_flex` `compress_internal`);
  * Content-MD5: the MD5 of the compressed body that the signature needs (`md5_hex`);
  * odps decoding: the tunnel records read into DataX records (`RecordDecoder::read_record`);
  * loghub encoding: records to logs in the LogGroup (`Encoder::encode`);
  * the rest: channels, the HTTP requests and answers, the LogGroup's assembly, allocation.

    python3 bench/instructions.py [--rows 100000,300000] [--against DIR] [--no-build]

`--against DIR` counts DIR/datax too (an older build, its plugins beside it), for a change's
effect in instructions.
"""

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from common import DATAX, build
from pipeline import DATA_SOURCES, SEED_JOB, with_sandbox

PARTS = [
    ("lz4", "lz4_flex::block::compress::compress_internal"),
    ("Content-MD5", "datax_loghub::auth::md5_hex"),
    ("odps decoding", "datax_odps::codec::decode::RecordDecoder<R>::read_record"),
    ("loghub encoding", "datax_loghub::codec::encoder::Encoder::encode"),
]
# `  1,234 (12.34%)  file:function [object]`, as `callgrind_annotate --inclusive=yes` prints.
LINE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+\*?\s*[^:]*:(.+?)(?: \[[^\]]*\])?$")


def counted(rows: int, datax: Path) -> dict:
    """Instructions of one run of `rows` rows: the total and each of PARTS."""
    def measure(work, endpoints, _sandbox_pid):
        output = work / "callgrind.out"
        address = "127.0.0.1:%d" % endpoints["port"]
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % output,
                        str(datax), str(SEED_JOB), "--datasources", str(DATA_SOURCES),
                        "-p", "-Dsandbox=" + address, "--report-json", str(work / "report.json")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(output)],
                                   capture_output=True, text=True, check=True).stdout
        return inclusive_counts(annotated)
    return with_sandbox(rows, measure)


def inclusive_counts(annotated: str) -> dict:
    """The program's total and each part's inclusive count: a function inlined into others is
    listed once per source file, and its own entry is the largest."""
    counts = {"total": None, **{name: 0 for name, _ in PARTS}}
    for line in annotated.splitlines():
        if "PROGRAM TOTALS" in line and counts["total"] is None:
            counts["total"] = int(line.split()[0].replace(",", ""))
            continue
        match = LINE.match(line)
        if not match:
            continue
        value, function = int(match.group(1).replace(",", "")), match.group(2).strip()
        for name, wanted in PARTS:
            if function == wanted:
                counts[name] = max(counts[name], value)
    if counts["total"] is None:
        raise SystemExit("callgrind_annotate printed no PROGRAM TOTALS")
    return counts


def per_row(small: dict, large: dict, rows: int) -> dict:
    return {key: (large[key] - small[key]) / rows for key in small if key in large
            and isinstance(small[key], int)}


def table(builds: list) -> str:
    names = [name for name, _ in PARTS]
    lines = ["| build | instructions per row | " + " | ".join(names) + " | the rest |",
             "| --- | ---: | " + " | ".join("---:" for _ in names) + " | ---: |"]
    for label, cost in builds:
        rest = cost["total"] - sum(cost[name] for name in names)
        cells = ["%.0f (%.0f %%)" % (value, 100 * value / cost["total"])
                 for value in [cost[name] for name in names] + [rest]]
        lines.append("| %s | %.0f | %s |" % (label, cost["total"], " | ".join(cells)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,300000",
                        help="the two row counts whose difference is measured")
    parser.add_argument("--against", type=Path, metavar="DIR")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    small_rows, large_rows = sorted(int(count) for count in args.rows.split(","))
    if small_rows == large_rows:
        raise SystemExit("--rows needs two different row counts")
    for tool in ("valgrind", "callgrind_annotate"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is not installed (Debian's valgrind package)" % tool)
    if not args.no_build:
        build("datax-host", "datax-plugin-odps", "datax-plugin-loghub", "datax-sandbox")
    builds = [("release", DATAX)]
    if args.against:
        builds.insert(0, (str(args.against), args.against / "datax"))
    results = []
    for label, datax in builds:
        small, large = counted(small_rows, datax), counted(large_rows, datax)
        results.append((label, per_row(small, large, large_rows - small_rows)))
        print("%s: %d instructions at %d rows, %d at %d" % (
            label, small["total"], small_rows, large["total"], large_rows), file=sys.stderr)
    print("Seed pipeline, 1 channel: instructions per row = (count at %d rows - count at %d "
          "rows) / %d, user space only (callgrind)\n" % (large_rows, small_rows,
                                                         large_rows - small_rows))
    print(table(results))


if __name__ == "__main__":
    main()
