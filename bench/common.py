"""What the benchmark scripts share: the release build, the sandbox process, CPU accounting and
runs of the real `datax` with `--report-json`.

The scripts run as `python3 bench/<name>.py`, so this folder is on their import path.
"""

import json
import os
import resource
import subprocess
import time
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


def start_sandbox(work: Path, config: Path = CONFIG):
    """The release `datax-sandbox` with `config` on a free port, its data under `work`;
    returns the process and its endpoints (the ports file)."""
    ports = work / "ports.json"
    process = subprocess.Popen(
        [str(RELEASE / "datax-sandbox"), "--config", str(config), "--port", "0",
         "--ports-file", str(ports), "--data-dir", str(work / "data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def _datax(args: list, report_path: Path) -> None:
    subprocess.run([str(DATAX), *map(str, args), "--report-json", str(report_path)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def run_datax(args: list, report_path: Path) -> dict:
    """Runs `datax <args> --report-json <report_path>` quietly; returns its report."""
    _datax(args, report_path)
    return json.loads(report_path.read_text())


def run_datax_measured(args: list, report_path: Path, sandbox_pid: int):
    """`run_datax`, with the CPU seconds datax and the sandbox spent on it:
    (report, client CPU, sandbox CPU)."""
    client, server = children_cpu(), cpu_of(sandbox_pid)
    _datax(args, report_path)
    client, server = children_cpu() - client, cpu_of(sandbox_pid) - server
    return json.loads(report_path.read_text()), client, server
