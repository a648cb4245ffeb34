#!/usr/bin/env python3
"""stream -> odps and loghub -> odps write throughput into the sandbox, against pyodps as the peer.

Starts the release `datax-sandbox` with sandbox/examples/sandbox.json plus two empty tables and a
generated logstore (a scratch copy of the config), then, against that one sandbox:

  * the real `datax` with streamreader -> odpswriter into `bench_write` (6 columns of the seed
    table's shape: string, bigint, string, double, datetime, string; one upload session, blocks
    of the default 64 MiB, `truncate` so every run replaces the last one's rows) on 1 and 2
    channels, isCompress false and true (deflate), --runs times each;
  * the real `datax` with loghubreader -> odpswriter: the generated logstore `bench_logs` (2
    shards, --records logs; keys seq, level, user, latency_ms, msg, and the log time) into
    `bench_logs` (string, string, string, bigint, string, bigint), 2 channels, uncompressed;
  * pyodps's `Table.open_writer` (tunnel upload, `overwrite=True`) writing the stream job's rows,
    built in Python as streamreader builds them, from one thread, --runs times.

records/s is datax's own `records_per_second` (records / transfer time) and pyodps's records /
wall time from open_writer to the commit; MB/s applies DataX's record byte count (the figure its
summary prints, `bytes_read`) to both, since they write the same rows; client CPU is datax's
process CPU (all threads) or the Python process's, per record in µs; peak RSS is datax's
`peak_memory_kib`. After each run the sandbox's table must hold exactly the rows written. The
sandbox shares the machine's cores with the client.

    python3 bench/odps_write.py [--records 1000000] [--pyodps-records 200000] [--runs 3]
"""

import argparse
import datetime
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import (CONFIG, build, cpu_of, human, run_datax, run_datax_measured, sandbox_credential,
                    start_sandbox, stop)

PROJECT, TABLE, LOG_TABLE, LOGSTORE = "aliyun_account", "bench_write", "bench_logs", "bench_logs"
LOGS_PER_GROUP = 100
STREAM_COLUMNS = [
    {"type": "string", "value": "ak_000001"},
    {"type": "long", "incr": "20161226000000"},
    {"type": "string", "value": "login"},
    {"type": "double", "value": 1.25},
    {"type": "date", "value": "2016-12-26 10:00:00"},
    {"type": "string", "value": "2016_12_26 10:00:00"},
]
LOG_KEYS = ["seq", "level", "user", "latency_ms", "msg", "C_LogTime"]


def scratch_config(work: Path, records: int) -> Path:
    config = json.loads(CONFIG.read_text())
    column = lambda name, kind: {"name": name, "type": kind}
    project = next(p for p in config["odps"]["projects"] if p["name"] == PROJECT)
    project["tables"] += [
        {"name": TABLE, "rows": [], "columns": [
            column("col0", "string"), column("col1", "bigint"), column("col2", "string"),
            column("col3", "double"), column("col4", "datetime"), column("col5", "string")]},
        {"name": LOG_TABLE, "rows": [], "columns": [
            column("seq", "string"), column("level", "string"), column("user", "string"),
            column("latency_ms", "bigint"), column("msg", "string"), column("log_time", "bigint")]},
    ]
    groups = records // 2 // LOGS_PER_GROUP
    config["sls"]["projects"][0]["logstores"].append({
        "name": LOGSTORE, "shards": 2,
        "generated": {"groups_per_shard": groups, "logs_per_group": LOGS_PER_GROUP, "seed": 7,
                      "groups_per_second": 100}})
    path = work / "sandbox.json"
    path.write_text(json.dumps(config))
    return path


def odps_writer(endpoints: dict, credential: dict, table: str, compress: bool) -> dict:
    return {"name": "odpswriter", "parameter": {
        "accessId": credential["access_id"], "accessKey": credential["access_key"],
        "odpsServer": endpoints["odps_endpoint"], "tunnelServer": endpoints["tunnel_endpoint"],
        "project": PROJECT, "table": table, "column": ["*"], "truncate": True,
        "isCompress": compress}}


def table_rows(work: Path, endpoints: dict, credential: dict, table: str) -> int:
    """The rows the sandbox's table holds, counted by odpsreader -> streamwriter."""
    reader = dict(odps_writer(endpoints, credential, table, False), name="odpsreader")
    for key in ("truncate", "isCompress"):
        reader["parameter"].pop(key)
    job = {"job": {"setting": {"speed": {"channel": 1}}, "content": [{
        "reader": reader, "writer": {"name": "streamwriter", "parameter": {"print": False}}}]}}
    path = work / "count.json"
    path.write_text(json.dumps(job))
    return run_datax([path], work / "count-report.json")["records_written"]


def run_datax_job(work: Path, endpoints: dict, sandbox_pid: int, credential: dict, job: dict,
                  table: str, records: int):
    job_path, report_path = work / "job.json", work / "report.json"
    job_path.write_text(json.dumps(job))
    report, client, server = run_datax_measured([job_path], report_path, sandbox_pid)
    if report["records_written"] != records or report["write_failed_records"] != 0:
        raise SystemExit("datax wrote %s records, expected %s" % (report["records_written"], records))
    stored = table_rows(work, endpoints, credential, table)
    if stored != records:
        raise SystemExit("the table holds %d rows after writing %d" % (stored, records))
    return (report["records_per_second"], report["bytes_read"] / records, client, server,
            report["peak_memory_kib"])


def stream_job(endpoints: dict, credential: dict, records: int, channels: int, compress: bool) -> dict:
    return {"job": {"setting": {"speed": {"channel": channels}}, "content": [{
        "reader": {"name": "streamreader", "parameter": {
            "column": STREAM_COLUMNS, "sliceRecordCount": records // channels}},
        "writer": odps_writer(endpoints, credential, TABLE, compress)}]}}


def loghub_job(endpoints: dict, credential: dict, channels: int) -> dict:
    return {"job": {"setting": {"speed": {"channel": channels}}, "content": [{
        "reader": {"name": "loghubreader", "parameter": {
            "endpoint": endpoints["sls_endpoint"], "accessId": credential["access_id"],
            "accessKey": credential["access_key"], "project": "datax-demo", "logstore": LOGSTORE,
            "batchSize": 256, "column": LOG_KEYS}},
        "writer": odps_writer(endpoints, credential, LOG_TABLE, False)}]}}


def run_pyodps(work: Path, endpoints: dict, sandbox_pid: int, credential: dict, records: int,
               record_bytes: float):
    from odps import ODPS
    odps = ODPS(credential["access_id"], credential["access_key"], project=PROJECT,
                endpoint=endpoints["odps_endpoint"])
    table = odps.get_table(TABLE)
    when = datetime.datetime(2016, 12, 26, 10, 0, 0)
    client, server = time.process_time(), cpu_of(sandbox_pid)
    start = time.perf_counter()
    with table.open_writer(endpoint=endpoints["tunnel_endpoint"], overwrite=True) as writer:
        for i in range(records):
            writer.write(["ak_000001", 20161226000000 + i, "login", 1.25, when, "2016_12_26 10:00:00"])
    seconds = time.perf_counter() - start
    client, server = time.process_time() - client, cpu_of(sandbox_pid) - server
    stored = table_rows(work, endpoints, credential, TABLE)
    if stored != records:
        raise SystemExit("the table holds %d rows after pyodps wrote %d" % (stored, records))
    return records / seconds, record_bytes, client, server, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--pyodps-records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        build("datax-host", "datax-plugin-stream", "datax-plugin-loghub", "datax-plugin-odps",
              "datax-sandbox")
    credential = sandbox_credential()
    logs = args.records // 2 // LOGS_PER_GROUP * 2 * LOGS_PER_GROUP
    rows = []  # (label, channels, compress, records, runs)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sandbox, endpoints = start_sandbox(work, scratch_config(work, args.records))
        measure = lambda job, table, records: run_datax_job(
            work, endpoints, sandbox.pid, credential, job, table, records)
        try:
            for compress in (False, True):
                for channels in (1, 2):
                    job = stream_job(endpoints, credential, args.records, channels, compress)
                    rows.append(("datax stream → odps", channels, compress, args.records,
                                 [measure(job, TABLE, args.records) for _ in range(args.runs)]))
            record_bytes = rows[0][4][0][1]
            rows.append(("pyodps open_writer", 1, False, args.pyodps_records,
                         [run_pyodps(work, endpoints, sandbox.pid, credential, args.pyodps_records,
                                     record_bytes) for _ in range(args.runs)]))
            job = loghub_job(endpoints, credential, 2)
            rows.append(("datax loghub → odps", 2, False, logs,
                         [measure(job, LOG_TABLE, logs) for _ in range(args.runs)]))
        finally:
            stop(sandbox)

    peer = next(r for r in rows if r[0].startswith("pyodps"))
    peer_cpu = statistics.median(run[2] / peer[3] for run in peer[4])
    print("datax writes %s rows (loghub → odps %s logs), pyodps %s rows; median of %d runs; "
          "%d cores shared by client and sandbox\n"
          % (format(args.records, ","), format(logs, ","), format(args.pyodps_records, ","),
             args.runs, os.cpu_count()))
    print("| writer | channels | compress | records/s (median) | min | max | MB/s | client CPU µs/record "
          "| records per client CPU s vs pyodps | sandbox CPU s | datax peak RSS |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, channels, compress, records, runs in rows:
        rates = [run[0] for run in runs]
        cpu_per_record = statistics.median(run[2] / records for run in runs)
        peaks = [run[4] for run in runs if run[4] is not None]
        print("| %s | %d | %s | %s | %s | %s | %.1f | %.2f | %.1fx | %.2f | %s |" % (
            label, channels, "deflate" if compress else "no",
            human(statistics.median(rates)), human(min(rates)), human(max(rates)),
            statistics.median(rates) * statistics.median(run[1] for run in runs) / 1e6,
            cpu_per_record * 1e6, peer_cpu / cpu_per_record,
            statistics.median(run[3] for run in runs),
            "%.1f MiB" % (max(peaks) / 1024) if peaks else "—"))


if __name__ == "__main__":
    main()
