#!/usr/bin/env python3
"""DataX's launcher, for schedulers that call `python datax.py [options] job.json`.

DolphinScheduler, DataX-Web and many cron scripts start DataX as

    python datax.py --jvm="-Xms1G -Xmx1G" --loglevel=info -p "-Dbizdate='20240101'" job.json

and read the summary it prints at the end (任务启动时刻, 读出记录总数, …). This script takes the
same options and runs the job with `datax`, which then prints DataX's summary and log layout
(`--summary datax`). Options that only mean something to a JVM (`--jvm`, `--jobid`, `--mode`,
`--debug`) are accepted and ignored. `-r READER -w WRITER` prints a job skeleton, as DataX's.

Exit codes are DataX's: 0 done, 1 the job failed, 143 stopped by a signal, 255 (DataX's -1)
for a command line it cannot run. It looks for `datax` beside itself (an installed bin/),
then on PATH; DATAX_BIN names it explicitly.
"""

import optparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request

EXIT_OK = 0
EXIT_FAIL = 255  # DataX's RET_STATE["FAIL"] = -1
EXIT_KILLED = 143  # DataX's RET_STATE["KILL"]

# DataX's --loglevel values, as `datax --log-level` names them ("all" is DataX's most verbose).
LOG_LEVELS = {"all": "trace", "trace": "trace", "debug": "debug", "info": "info",
              "warn": "warn", "error": "error", "off": "off"}


def option_parser() -> optparse.OptionParser:
    """DataX's own options (core/src/main/bin/datax.py), with the same names and meanings."""
    parser = optparse.OptionParser(usage="usage: %prog [options] job-url-or-path")
    ignored = "accepted for compatibility with DataX's launcher; datax-rs has no JVM"
    parser.add_option("-j", "--jvm", dest="jvm", metavar="<jvm parameters>", help=ignored)
    parser.add_option("--jobid", dest="jobid", metavar="<job unique id>", help=ignored)
    parser.add_option("-m", "--mode", dest="mode", metavar="<job runtime mode>",
                      help="standalone or local (the same here); " + ignored)
    parser.add_option("-p", "--params", dest="params", metavar="<parameter used in job config>",
                      help='job parameters, e.g. -p"-DtableName=t1 -Dbizdate=20240101"')
    parser.add_option("-r", "--reader", dest="reader", metavar="<reader>",
                      help="with -w: print a job template for this reader")
    parser.add_option("-w", "--writer", dest="writer", metavar="<writer>",
                      help="with -r: print a job template for this writer")
    parser.add_option("-d", "--debug", dest="debug", action="store_true", help=ignored)
    parser.add_option("--loglevel", dest="loglevel", metavar="<log level>", default="info",
                      help="debug, info, warn, error or all")
    return parser


def find_datax() -> str:
    explicit = os.environ.get("DATAX_BIN")
    if explicit:
        return explicit
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), "datax")
    if os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("datax")
    if on_path:
        return on_path
    sys.stderr.write("datax.py: no `datax` binary beside this script or on PATH (set DATAX_BIN)\n")
    sys.exit(EXIT_FAIL)


def local_job(resource: str, scratch: str) -> str:
    """The job as a local file: DataX also takes an http(s) URL, which is fetched once."""
    if resource.lower().startswith(("http://", "https://")):
        path = os.path.join(scratch, "job.json")
        with urllib.request.urlopen(resource, timeout=60) as answer, open(path, "wb") as out:
            shutil.copyfileobj(answer, out)
        return path
    if resource.lower().startswith("file://"):
        resource = resource[len("file://"):]
    return os.path.abspath(resource)


def run(command: list) -> int:
    """Runs `datax`, passing Ctrl-C and SIGTERM on, so that it stops its tasks and still writes
    its summary; the exit code is then DataX's for a killed job."""
    child = subprocess.Popen(command)
    stopped = []

    def forward(signum, _frame):
        stopped.append(signum)
        child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    code = child.wait()
    if stopped or code in (130, 143) or code < 0:
        return EXIT_KILLED
    return EXIT_OK if code == 0 else 1


def main(argv: list) -> int:
    parser = option_parser()
    options, args = parser.parse_args(argv)
    datax = find_datax()
    if options.reader is not None and options.writer is not None:
        return subprocess.call([datax, "template", "-r", options.reader, "-w", options.writer])
    if len(args) != 1:
        parser.print_help()
        return EXIT_FAIL
    if options.mode not in (None, "standalone", "local"):
        sys.stderr.write(f"datax.py: --mode {options.mode} is not supported; "
                         "datax-rs runs standalone (see `datax plan` for many machines)\n")
        return EXIT_FAIL
    level = LOG_LEVELS.get(options.loglevel.lower())
    if level is None:
        sys.stderr.write(f"datax.py: unknown --loglevel {options.loglevel!r}; "
                         f"use one of {', '.join(sorted(LOG_LEVELS))}\n")
        return EXIT_FAIL
    with tempfile.TemporaryDirectory(prefix="datax-py-") as scratch:
        command = [datax, "run", local_job(args[0], scratch), "--summary", "datax",
                   "--log-level", level]
        if options.params:
            command += ["-p", options.params]
        return run(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
