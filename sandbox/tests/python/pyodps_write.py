"""Writes the sandbox with the official pyodps client and reads every row back with it.

usage: pyodps_write.py ODPS_ENDPOINT TUNNEL_ENDPOINT ACCESS_ID ACCESS_KEY PROJECT

Run by sandbox/tests/odps_official_client.rs against its `writes` project: `write_table`
(tunnel upload, default compression), explicit upload sessions with each compression, a
partition created by the upload session, atomic commit (nothing visible before it),
overwrite, and MaxCompute's error codes for bad uploads. Exits non-zero on the first mismatch.
"""

import datetime
import decimal
import os
import sys
import time

from checks import check, report

os.environ["TZ"] = "UTC"
time.tzset()

from odps import ODPS  # noqa: E402
from odps.tunnel import TableTunnel, CompressOption  # noqa: E402

odps_endpoint, tunnel_endpoint, access_id, access_key, project = sys.argv[1:6]
o = ODPS(access_id, access_key, project=project, endpoint=odps_endpoint, tunnel_endpoint=tunnel_endpoint)
tunnel = TableTunnel(o)

ROWS = [
    [1, "a", 1.5, True, datetime.datetime(2016, 12, 26, 10, 0, 0), decimal.Decimal("12.30"), "abcd"],
    [-2, "héllo", -0.25, False, datetime.datetime(1999, 1, 1), decimal.Decimal("-0.01"), ""],
    [None, None, None, None, None, None, None],
]


def read(table, partition=None):
    """The data columns of every row (pyodps appends the partition values)."""
    width = len(o.get_table(table).table_schema.simple_columns)
    with o.get_table(table).open_reader(partition=partition) as reader:
        return [list(r.values)[:width] for r in reader]


# 1. write_table: the high-level path (open_writer underneath), then read back.
o.write_table("plain", ROWS)
check(read("plain") == ROWS, "plain rows read back: %s" % read("plain"))
o.write_table("plain", ROWS[:1])
check(read("plain") == ROWS + ROWS[:1], "a second write appends")

# 2. Upload sessions with each compression into a partition the session creates.
for algo in ("zlib", "zstd", "lz4", None):
    spec = "pt=%s,region=hz" % (algo or "raw")
    option = CompressOption(compress_algo=algo) if algo else None
    session = tunnel.create_upload_session("parts", partition_spec=spec, create_partition=True, compress_option=option)
    with session.open_record_writer(0, compress=algo is not None) as writer:
        for row in ROWS:
            writer.write(session.new_record(row))
    with session.open_record_writer(1, compress=algo is not None) as writer:
        writer.write(session.new_record(ROWS[0]))
    check(o.get_table("parts").exist_partition(spec), spec + " created by the session")
    check(read("parts", spec) == [], spec + " holds nothing before the commit")
    session.commit([0, 1])
    check(read("parts", spec) == ROWS + ROWS[:1], "%s rows after the commit: %s" % (spec, read("parts", spec)))

# 3. A block uploaded twice keeps its last content; uncommitted sessions publish nothing.
session = tunnel.create_upload_session("parts", partition_spec="pt=raw,region=hz")
with session.open_record_writer(5) as writer:
    writer.write(session.new_record(ROWS[1]))
with session.open_record_writer(5) as writer:
    writer.write(session.new_record(ROWS[0]))
check([b for b in session.get_block_list()] == [5], "block list %s" % session.get_block_list())
abandoned = tunnel.create_upload_session("parts", partition_spec="pt=raw,region=hz")
with abandoned.open_record_writer(0) as writer:
    writer.write(abandoned.new_record(ROWS[1]))
session.commit([5])
check(read("parts", "pt=raw,region=hz") == ROWS + ROWS[:1] + ROWS[:1], "re-uploaded block")

# 4. Overwrite replaces a generated table's rows at commit.
session = tunnel.create_upload_session("generated", overwrite=True)
with session.open_record_writer(0) as writer:
    writer.write(session.new_record([7, "x"]))
check(len(read("generated")) == 50, "generated rows stay until the overwrite commits")
session.commit([0])
check(read("generated") == [[7, "x"]], "overwritten: %s" % read("generated"))


# 5. Errors carry MaxCompute's codes.
def expect_error(action, code):
    try:
        action()
    except Exception as error:
        text = type(error).__name__ + " " + str(error) + " " + str(getattr(error, "code", ""))
        check(code in text, "expected %s, got %s" % (code, text))
        return
    check(False, "expected %s, got success" % code)


expect_error(lambda: tunnel.create_upload_session("parts", partition_spec="pt=none,region=hz"), "NoSuchPartition")
expect_error(lambda: tunnel.create_upload_session("plain", upload_id="nope"), "NoSuchUpload")
committed = tunnel.create_upload_session("plain")
committed.commit([])
expect_error(lambda: committed.open_record_writer(0).close(), "StatusConflict")

report("pyodps write")
