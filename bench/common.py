"""What the benchmark scripts share: the release build, the sandbox process and its control API,
CPU accounting, runs of the real `datax` with `--report-json`, and the Log Service Python SDK's
client set up to reach the sandbox.

The scripts run as `python3 bench/<name>.py`, so this folder is on their import path.
"""

import json
import os
import resource
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
DATAX = RELEASE / "datax"
CONFIG = ROOT / "sandbox" / "examples" / "sandbox.json"
TICKS = os.sysconf("SC_CLK_TCK")

# DataX's default stream job columns: string, long, date, bool, bytes.
STREAM_COLUMNS = [
    {"type": "string", "value": "DataX"},
    {"type": "long", "value": 1724154616370},
    {"type": "date", "value": "2024-01-01 00:00:00"},
    {"type": "bool", "value": True},
    {"type": "bytes", "value": "TestRawData"},
]


def build(*packages: str) -> None:
    """`cargo build --release --quiet` of the given workspace packages."""
    command = ["cargo", "build", "--release", "--quiet"]
    for package in packages:
        command += ["-p", package]
    subprocess.run(command, cwd=ROOT, check=True)


def sandbox_credential(config: Path = CONFIG) -> dict:
    """The first credential of a sandbox configuration (`access_id`, `access_key`)."""
    return json.loads(config.read_text())["credentials"][0]


def start_sandbox(work: Path, config: Path = CONFIG, log: Path = None, binary: Path = None):
    """The release `datax-sandbox` (or `binary`) with `config` on a free port, its data under
    `work`, its output to `log` (if given); returns the process and its endpoints (the ports
    file)."""
    ports = work / "ports.json"
    output = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(binary or RELEASE / "datax-sandbox"), "--config", str(config), "--port", "0",
         "--ports-file", str(ports), "--data-dir", str(work / "data")],
        stdout=output, stderr=subprocess.STDOUT if log else subprocess.DEVNULL)
    if log:
        output.close()  # the sandbox has its own copy
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit("the sandbox exited with %s" % process.returncode)
        if ports.exists() and ports.stat().st_size > 0:
            try:
                return process, json.loads(ports.read_text())
            except json.JSONDecodeError:
                pass
        time.sleep(0.05)
    stop(process)
    raise SystemExit("the sandbox did not start")


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_of(pid: int) -> float:
    """utime + stime of a running process, in seconds."""
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _datax(args: list, report_path: Path, datax: Path = DATAX) -> None:
    subprocess.run([str(datax), *map(str, args), "--report-json", str(report_path)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def run_datax(args: list, report_path: Path) -> dict:
    """Runs `datax <args> --report-json <report_path>` quietly; returns its report."""
    _datax(args, report_path)
    return json.loads(report_path.read_text())


def run_datax_measured(args: list, report_path: Path, sandbox_pid: int, datax: Path = DATAX):
    """`run_datax` (of the `datax` binary given), with the CPU seconds datax and the sandbox
    spent on it: (report, client CPU, sandbox CPU)."""
    client, server = children_cpu(), cpu_of(sandbox_pid)
    _datax(args, report_path, datax)
    client, server = children_cpu() - client, cpu_of(sandbox_pid) - server
    return json.loads(report_path.read_text()), client, server


def control(endpoints: dict, path: str):
    """GET the sandbox's control API at `path` (e.g. `/stats`), bypassing any HTTP proxy."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(endpoints["control_endpoint"] + path) as reply:
        return json.loads(reply.read())


def stored_log_count(endpoints: dict, project: str, logstore: str) -> int:
    """How many logs the sandbox stored in `project`/`logstore`."""
    counts = control(endpoints, "/logstores")
    for entry in counts:
        if (entry["project"], entry["logstore"]) == (project, logstore):
            return entry["count"]
    raise SystemExit("no count for %s in %s" % (logstore, counts))


def sandbox_log_client(endpoints: dict, credential: dict, nodelay: bool = True):
    """aliyun-log-python-sdk's LogClient sending to the sandbox.

    The SDK cannot address an IP endpoint with a port (sls-putlogs.md §2.2), so it goes through
    HTTP_PROXY = the sandbox. urllib3 drops its default TCP_NODELAY on proxied connections, and
    then every PutLogs (headers and body sent apart) waits ~40 ms for the sandbox's delayed ACK,
    a stall the SDK does not have on a direct connection to Log Service; `nodelay` mounts an
    adapter on the SDK's own requests.Session that gives the proxy pool those options back.
    """
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    os.environ["HTTP_PROXY"] = os.environ["http_proxy"] = "http://" + endpoints["sls_endpoint"]
    import requests
    import urllib3.connection
    from aliyun.log import LogClient

    class NoDelayAdapter(requests.adapters.HTTPAdapter):
        def proxy_manager_for(self, proxy, **proxy_kwargs):
            proxy_kwargs.setdefault("socket_options", urllib3.connection.HTTPConnection.default_socket_options)
            return super().proxy_manager_for(proxy, **proxy_kwargs)

    client = LogClient("cn-hangzhou.log.aliyuncs.com", credential["access_id"], credential["access_key"])
    if nodelay:
        client._session.mount("http://", NoDelayAdapter())
    return client


def human(rate: float) -> str:
    """A rate as `1.23 M` or `456.7 k`."""
    return "%.2f M" % (rate / 1e6) if rate >= 1e6 else "%.1f k" % (rate / 1e3)
