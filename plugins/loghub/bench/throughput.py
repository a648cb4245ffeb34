#!/usr/bin/env python3
"""stream -> loghub throughput into the sandbox, against the official Python SDK as the peer.

Starts the release `datax-sandbox`, runs the real `datax` with streamreader -> loghubwriter
(6 columns: string, long, date, bool, bytes, random long; batchSize 1024) on 1 and 2
channels, then sends the same logs, 1024 per PutLogs (lz4, the SDK default), with
aliyun-log-python-sdk's LogClient.put_logs from one thread, through HTTP_PROXY = the sandbox
(the SDK cannot address an IP endpoint with a port, sls-putlogs.md §2.2). Prints logs/s and
the ratio, all measured in the same run.

    cargo build --release -p datax-host -p datax-plugin-stream -p datax-plugin-loghub -p datax-sandbox
    python3 plugins/loghub/bench/throughput.py [--records 1000000] [--target target]
"""

import argparse
import json
import os
import random
import resource
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROJECT, LOGSTORE = "datax-demo", "ak_biz_log"
ACCESS_ID, ACCESS_KEY = "sandbox-access-id", "sandbox-access-key"
COLUMNS = [
    {"type": "string", "value": "DataX"},
    {"type": "long", "value": 1724154616370},
    {"type": "date", "value": "2024-01-01 00:00:00"},
    {"type": "bool", "value": True},
    {"type": "bytes", "value": "TestRawData"},
    {"type": "long", "random": "1,1000"},
]
NAMES = ["col0", "col1", "col2", "col3", "col4", "col5"]


def start_sandbox(release, work):
    ports = work / "ports.json"
    process = subprocess.Popen(
        [str(release / "datax-sandbox"), "--config", str(ROOT / "sandbox/examples/sandbox.json"),
         "--port", "0", "--ports-file", str(ports), "--data-dir", str(work / "data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if ports.exists() and ports.stat().st_size > 0:
            try:
                return process, json.loads(ports.read_text())
            except json.JSONDecodeError:
                pass
        time.sleep(0.05)
    raise SystemExit("the sandbox did not start")


def stored_count(endpoints):
    import urllib.request
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(endpoints["control_endpoint"] + "/logstores") as reply:
        counts = json.loads(reply.read())
    for entry in counts:
        if entry["project"] == PROJECT and entry["logstore"] == LOGSTORE:
            return entry["count"]
    raise SystemExit("no count for %s in %s" % (LOGSTORE, counts))


def run_datax(release, work, endpoints, records, channels):
    per_task = records // channels
    job = {"job": {"setting": {"speed": {"channel": channels}}, "content": [{
        "reader": {"name": "streamreader", "parameter": {"column": COLUMNS, "sliceRecordCount": per_task}},
        "writer": {"name": "loghubwriter", "parameter": {
            "endpoint": endpoints["sls_endpoint"], "accessId": ACCESS_ID, "accessKey": ACCESS_KEY,
            "project": PROJECT, "logstore": LOGSTORE, "batchSize": 1024, "column": NAMES}}}]}}
    path = work / ("job-%d.json" % channels)
    path.write_text(json.dumps(job))
    before = children_cpu()
    start = time.perf_counter()
    subprocess.run([str(release / "datax"), str(path)], check=True, stderr=subprocess.DEVNULL)
    return per_task * channels, time.perf_counter() - start, children_cpu() - before


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_python_sdk(endpoints, records):
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    os.environ["HTTP_PROXY"] = os.environ["http_proxy"] = "http://" + endpoints["sls_endpoint"]
    from aliyun.log import LogClient, LogItem, PutLogsRequest
    client = LogClient("cn-hangzhou.log.aliyuncs.com", ACCESS_ID, ACCESS_KEY)
    constant = [("col0", "DataX"), ("col1", "1724154616370"), ("col2", "2024-01-01 00:00:00"),
                ("col3", "true"), ("col4", "TestRawData")]
    cpu = time.process_time()
    start = time.perf_counter()
    sent = 0
    while sent < records:
        count = min(1024, records - sent)
        now = int(time.time())
        items = [LogItem(timestamp=now, contents=constant + [("col5", str(random.randint(1, 1000)))])
                 for _ in range(count)]
        client.put_logs(PutLogsRequest(PROJECT, LOGSTORE, "", "", items))
        sent += count
    return sent, time.perf_counter() - start, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--target", default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")))
    args = parser.parse_args()
    release = Path(args.target) / "release"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sandbox, endpoints = start_sandbox(release, work)
        try:
            expected = 0
            for channels in (1, 2):
                sent, seconds, cpu = run_datax(release, work, endpoints, args.records, channels)
                expected += sent
                rows.append(("datax loghubwriter, %d channel(s)" % channels, sent, seconds, cpu))
            sent, seconds, cpu = run_python_sdk(endpoints, args.records)
            expected += sent
            rows.append(("aliyun-log-python-sdk put_logs, 1 thread", sent, seconds, cpu))
            stored = stored_count(endpoints)
            if stored != expected:
                raise SystemExit("the sandbox stored %s logs, expected %s" % (stored, expected))
        finally:
            sandbox.terminate()
            sandbox.wait()
    # The sandbox shares the 2 cores and is usually the bottleneck: the client's own CPU
    # seconds show what the writer costs.
    peer = rows[-1][1] / rows[-1][2]
    print("| writer | logs | seconds | logs/s | vs Python SDK | client CPU s | logs per client CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, sent, seconds, cpu in rows:
        rate = sent / seconds
        print("| %s | %d | %.2f | %.0f | %.1fx | %.2f | %.0f |"
              % (name, sent, seconds, rate, rate / peer, cpu, sent / cpu))


if __name__ == "__main__":
    main()
