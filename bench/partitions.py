#!/usr/bin/env python3
"""What a partition costs: the seed pipeline, odps -> loghub through the sandbox, over a table of
1 / 500 / 2,000 partitions of a few rows each (`pt=*`).

Each run gets a fresh release `datax-sandbox` holding sandbox/examples/seed-demo.json's table
aliyun_account.ak_biz_log_detail with its one partition replaced by N partitions pt=00000 ...
of `--rows-per-partition` rows, and runs the seed job (jobs/odps-to-loghub.json) reading
`pt=*` on `--channels` channels. One reader task per partition (DataX splits by partition when
there are more partitions than channels), each paired with a writer task.

Measured on the datax process: wall time from launch to exit, client CPU seconds (its
utime + stime, from the wait), CPU per partition (client CPU over partitions, in ms, the
1-partition run's CPU subtracted as the job's fixed cost), peak threads (`Threads:` of
/proc/<pid>/status sampled every 5 ms while it runs) and peak RSS (the report's
`peak_memory_kib`). Every run checks that the sandbox stored every row. Prints a Markdown table.

    python3 bench/partitions.py [--partitions 1,500,2000] [--channels 4] [--runs 3]
        [--bin-dir DIR]   # a datax with its plugins beside it, e.g. a copy of an older build
        [--against DIR]   # pairs of runs, DIR/datax then the release build, on the largest count
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import (DATAX, ROOT, build, children_cpu, start_sandbox, stop, stored_log_count)

DEMO_CONFIG = ROOT / "sandbox" / "examples" / "seed-demo.json"
SEED_JOB = ROOT / "jobs" / "odps-to-loghub.json"
DATA_SOURCES = ROOT / "jobs" / "datasources.sandbox.json"
LOG_PROJECT, LOGSTORE = "datax-demo", "ak_biz_log"
SAMPLE_EVERY = 0.005


def partitioned_config(work: Path, partitions: int, rows: int) -> Path:
    config = json.loads(DEMO_CONFIG.read_text())
    table = config["odps"]["projects"][0]["tables"][0]
    table["partitions"] = [{"spec": "pt=%05d" % index, "rows": rows, "seed": index}
                           for index in range(partitions)]
    path = work / "sandbox.json"
    path.write_text(json.dumps(config))
    return path


def partitioned_job(work: Path, channels: int) -> Path:
    job = json.loads(SEED_JOB.read_text())
    job["configuration"]["setting"]["speed"]["concurrent"] = channels
    job["configuration"]["reader"]["parameter"]["partition"] = ["pt=*"]
    path = work / "job.json"
    path.write_text(json.dumps(job))
    return path


def threads_of(pid: int) -> int:
    """The process's live threads, 0 once it is gone."""
    try:
        status = Path("/proc/%d/status" % pid).read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("Threads:")), 0)


def run_once(datax: Path, partitions: int, rows: int, channels: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sandbox, endpoints = start_sandbox(work, partitioned_config(work, partitions, rows))
        try:
            report_path = work / "report.json"
            command = [str(datax), str(partitioned_job(work, channels)), "--datasources",
                       str(DATA_SOURCES), "-p", "-Dsandbox=127.0.0.1:%d" % endpoints["port"],
                       "--report-json", str(report_path)]
            cpu, started = children_cpu(), time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            peak_threads = 0
            while process.poll() is None:
                peak_threads = max(peak_threads, threads_of(process.pid))
                time.sleep(SAMPLE_EVERY)
            wall = time.perf_counter() - started
            cpu = children_cpu() - cpu
            if process.returncode != 0:
                raise SystemExit("datax exited with %d" % process.returncode)
            report = json.loads(report_path.read_text())
            stored = stored_log_count(endpoints, LOG_PROJECT, LOGSTORE)
            if stored != partitions * rows:
                raise SystemExit("the sandbox stored %d logs of %d" % (stored, partitions * rows))
        finally:
            stop(sandbox)
    return {"wall": wall, "cpu": cpu, "threads": peak_threads,
            "peak_kib": report["peak_memory_kib"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", default="1,500,2000")
    parser.add_argument("--rows-per-partition", type=int, default=10)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bin-dir", type=Path, help="run DIR/datax instead of the release build")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="alternate runs with DIR/datax and print the pairs' CPU per partition")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        build("datax-host", "datax-plugin-odps", "datax-plugin-loghub", "datax-sandbox")
    datax = args.bin_dir / "datax" if args.bin_dir else DATAX
    counts = [int(count) for count in args.partitions.split(",")]
    if args.against:
        compare(args.against / "datax", datax, max(counts), args)
        return

    results = {count: [run_once(datax, count, args.rows_per_partition, args.channels)
                       for _ in range(args.runs)] for count in counts}
    median = {count: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
              for count, runs in results.items()}
    base = median[min(counts)]["cpu"]
    print("median of %d runs; %d channels; %d rows per partition; CPU per partition = (client "
          "CPU - the %d-partition run's) / partitions\n"
          % (args.runs, args.channels, args.rows_per_partition, min(counts)))
    print("| partitions | wall s | client CPU s | CPU per partition | peak threads | peak RSS |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for count in counts:
        row = median[count]
        extra = (row["cpu"] - base) / (count - min(counts)) * 1000 if count > min(counts) else None
        print("| %s | %.2f | %.2f | %s | %d | %.1f MiB |" % (
            format(count, ","), row["wall"], row["cpu"],
            "-" if extra is None else "%.2f ms" % extra,
            max(run["threads"] for run in results[count]),
            max(run["peak_kib"] for run in results[count]) / 1024))


def compare(base: Path, datax: Path, partitions: int, args) -> None:
    """Pairs of runs, `base` then `datax`: CPU per partition, each build's 1-partition run
    (made right before its large one) subtracted. Alternating is what tells a 5 % change on a
    machine whose speed drifts by more than that from one minute to the next."""
    def per_partition(binary: Path) -> float:
        fixed = run_once(binary, 1, args.rows_per_partition, args.channels)["cpu"]
        large = run_once(binary, partitions, args.rows_per_partition, args.channels)["cpu"]
        return (large - fixed) / (partitions - 1) * 1000
    print("CPU per partition (ms), %s partitions, %d channels; each pair run back to back\n"
          % (format(partitions, ","), args.channels))
    print("| pair | %s | this build | change |" % base)
    print("| ---: | ---: | ---: | ---: |")
    pairs = []
    for pair in range(1, args.runs + 1):
        pairs.append((per_partition(base), per_partition(datax)))
        before, after = pairs[-1]
        print("| %d | %.3f | %.3f | %+.1f %% |" % (pair, before, after, (after / before - 1) * 100),
              flush=True)
    before, after = (statistics.mean(side) for side in zip(*pairs))
    print("| mean | %.3f | %.3f | %+.1f %% |" % (before, after, (after / before - 1) * 100))


if __name__ == "__main__":
    main()
