#!/usr/bin/env python3
"""odps -> null read throughput from the sandbox, against pyodps as the peer in the same run.

Starts the release `datax-sandbox` with sandbox/examples/sandbox.json, its generated table
`aliyun_account.ak_biz_log_generated` (6 columns: string, bigint, string, double, datetime,
string) cut down to --records rows (odpsreader has no row limit, so a scratch copy of the config
sets the partition's row count, and gives the sandbox's record cache room for all of it). One
unmeasured datax run first fills that cache, so that every measured run, the peer's included,
is served copies of encoded records rather than rows generated on the spot. Then, against that
one sandbox:

  * the real `datax` with bench/odps_read.json (odpsreader -> streamwriter print=false) on 1
    and 2 channels, isCompress false and true (zstd), --runs times each; records/s is datax's
    own `records_per_second`, peak RSS its `peak_memory_kib`, both from `--report-json`;
  * pyodps (`ODPS(...).get_table(...).open_reader(partition=..., endpoint=tunnel)`, iterating
    every record, Cython reader) uncompressed and with compress_algo=zstd, --runs times each;
    records/s is records / wall time from open_reader to the last record.

Prints a Markdown table: median records/s, min, max, ratio against pyodps with the same
compression, client and sandbox CPU seconds (median), and datax's peak RSS. The sandbox
shares the machine's cores with the client.

    python3 bench/odps_read.py [--records 5000000] [--pyodps-records N] [--runs 3] [--cache-mib 1024]
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import (CONFIG, ROOT, build, cpu_of, run_datax_measured, sandbox_credential,
                    start_sandbox, stop)

JOB = ROOT / "bench" / "odps_read.json"
PROJECT, TABLE, PARTITION = "aliyun_account", "ak_biz_log_generated", "pt=20161226"


def scratch_config(work: Path, records: int, cache_mib: int) -> Path:
    config = json.loads(CONFIG.read_text())
    config["odps"]["record_cache_mib"] = cache_mib
    for project in config["odps"]["projects"]:
        for table in project["tables"]:
            if project["name"] == PROJECT and table["name"] == TABLE:
                for partition in table["partitions"]:
                    if partition["spec"] == PARTITION:
                        partition["rows"] = records
    path = work / "sandbox.json"
    path.write_text(json.dumps(config))
    return path


def run_datax(work: Path, endpoints: dict, sandbox_pid: int, records: int, channels: int, compress: bool):
    report_path = work / "report.json"
    params = "-Dport=%d -Dchannels=%d -Dcompress=%s" % (endpoints["port"], channels, str(compress).lower())
    report, client, server = run_datax_measured([JOB, "-p", params], report_path, sandbox_pid)
    if report["records_read"] != records or report["records_written"] != records:
        raise SystemExit("datax read %s records, expected %s" % (report["records_read"], records))
    return report["records_per_second"], client, server, report["peak_memory_kib"]


def run_pyodps(endpoints: dict, sandbox_pid: int, access_id: str, secret: str, records: int, compress: bool):
    from odps import ODPS
    odps = ODPS(access_id, secret, project=PROJECT, endpoint=endpoints["odps_endpoint"])
    table = odps.get_table(TABLE)
    client, server = time.process_time(), cpu_of(sandbox_pid)
    start = time.perf_counter()
    extra = {"compress_algo": "zstd"} if compress else {}
    count = 0
    with table.open_reader(partition=PARTITION, endpoint=endpoints["tunnel_endpoint"], **extra) as reader:
        for _record in reader.read(count=records, compress=compress):
            count += 1
    seconds = time.perf_counter() - start
    client, server = time.process_time() - client, cpu_of(sandbox_pid) - server
    if count != records:
        raise SystemExit("pyodps read %d records, expected %d" % (count, records))
    return count / seconds, client, server, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--pyodps-records", type=int, help="rows pyodps reads (default: --records)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache-mib", type=int, default=1024,
                        help="the sandbox's record cache (about 106 bytes a row of this table)")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    peer_records = args.pyodps_records or args.records
    if peer_records > args.records:
        raise SystemExit("--pyodps-records cannot exceed --records")
    if not args.no_build:
        build("datax-host", "datax-plugin-stream", "datax-plugin-odps", "datax-sandbox")
    credential = sandbox_credential()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sandbox, endpoints = start_sandbox(work, scratch_config(work, args.records, args.cache_mib))
        try:
            run_datax(work, endpoints, sandbox.pid, args.records, 1, False)  # fills the cache
            for compress in (False, True):
                results[("pyodps", 1, compress)] = [
                    run_pyodps(endpoints, sandbox.pid, credential["access_id"], credential["access_key"],
                               peer_records, compress)
                    for _ in range(args.runs)]
                for channels in (1, 2):
                    results[("datax", channels, compress)] = [
                        run_datax(work, endpoints, sandbox.pid, args.records, channels, compress)
                        for _ in range(args.runs)]
        finally:
            stop(sandbox)

    print("datax reads %s rows, pyodps %s rows; median of %d runs; %d cores shared by client and sandbox\n"
          % (format(args.records, ","), format(peer_records, ","), args.runs, os.cpu_count()))
    print("| reader | channels | compress | records/s (median) | min | max | vs pyodps "
          "| client CPU s | sandbox CPU s | datax peak RSS |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for compress in (False, True):
        peer = statistics.median(r[0] for r in results[("pyodps", 1, compress)])
        for reader, channels in (("datax odpsreader", 1), ("datax odpsreader", 2), ("pyodps open_reader", 1)):
            runs = results[(reader.split()[0], channels, compress)]
            rates = [r[0] for r in runs]
            peaks = [r[3] for r in runs if r[3] is not None]
            print("| %s | %d | %s | %s | %s | %s | %.1fx | %.2f | %.2f | %s |" % (
                reader, channels, "zstd" if compress else "no",
                human(statistics.median(rates)), human(min(rates)), human(max(rates)),
                statistics.median(rates) / peer,
                statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs),
                "%.1f MiB" % (max(peaks) / 1024) if peaks else "—"))


def human(rate: float) -> str:
    return "%.2f M" % (rate / 1e6) if rate >= 1e6 else "%.0f k" % (rate / 1e3)


if __name__ == "__main__":
    main()
