"""Reads the sandbox with the official pyodps client and checks every value.

usage: pyodps_read.py CONFIG_JSON ODPS_ENDPOINT TUNNEL_ENDPOINT

Run by sandbox/tests/odps_official_client.rs. Every table with literal rows in the config
is read through tunnel discovery and compared cell by cell with the config; generated
tables are read through the explicit tunnel endpoint with each compression; bad requests
must fail with MaxCompute's error codes. Exits non-zero on the first mismatch.
"""

import datetime
import decimal
import json
import os
import sys
import time

from checks import check, report

os.environ["TZ"] = "UTC"  # DATETIME is an instant; compare in UTC.
time.tzset()

import pandas  # noqa: E402  (pyodps needs pandas for TIMESTAMP)
from odps import ODPS, options  # noqa: E402
from odps.tunnel import TableTunnel  # noqa: E402
import odps.tunnel.tabletunnel as tabletunnel  # noqa: E402

options.allow_antique_date = True

config_path, odps_endpoint, tunnel_endpoint = sys.argv[1:4]
config = json.load(open(config_path))
credential = config["credentials"][0]
access_id, access_key = credential["access_id"], credential["access_key"]


def parse_time(text):
    """A config literal as naive UTC: UTC unless it ends with an offset like +08:00."""
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z"):
        try:
            parsed = datetime.datetime.strptime(text, fmt)
            return parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise ValueError(text)


def split_type(inner):
    """Splits 'a,map<b,c>' at top-level commas."""
    parts, depth, current = [], 0, ""
    for ch in inner:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts]


def expected(value, type_name):
    """What pyodps should hand back for a literal config value."""
    if value is None:
        return None
    t = type_name.lower()
    if t in ("bigint", "int", "smallint", "tinyint", "boolean", "double"):
        return value
    if t == "float":
        return float(value)
    if t == "string" or t.startswith("varchar") or t.startswith("char"):
        return value
    if t == "binary":
        return value.encode("utf-8")
    if t == "datetime":
        return datetime.datetime.utcfromtimestamp(value / 1000) if isinstance(value, int) else parse_time(value)
    if t == "date":
        return parse_time(value).date()
    if t == "timestamp":
        return pandas.Timestamp(value)
    if t.startswith("decimal"):
        return decimal.Decimal(str(value))
    if t.startswith("array<"):
        return [expected(v, t[6:-1]) for v in value]
    if t.startswith("map<"):
        key_type, value_type = split_type(t[4:-1])
        return {k: expected(v, value_type) for k, v in value.items()}
    if t.startswith("struct<"):
        fields = [f.split(":", 1) for f in split_type(t[7:-1])]
        return tuple(expected(value.get(name), ftype) for name, ftype in fields)
    raise ValueError("unhandled type " + type_name)


def normalise(value):
    if isinstance(value, tuple):  # pyodps STRUCT is a named tuple
        return tuple(normalise(v) for v in value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def same(actual, wanted, type_name):
    if type_name.lower() == "float" and actual is not None and wanted is not None:
        return abs(actual - wanted) < 1e-6
    return normalise(actual) == wanted


# 1. Tunnel discovery (no tunnel endpoint): metadata, partitions and every literal row.
o = ODPS(access_id, access_key, project=config["odps"]["projects"][0]["name"], endpoint=odps_endpoint)
for project in config["odps"]["projects"]:
    for table_config in project["tables"]:
        table = o.get_table(table_config["name"], project=project["name"])
        schema = table.table_schema
        check(
            [c.name for c in schema.simple_columns] == [c["name"] for c in table_config["columns"]],
            "columns of " + table_config["name"],
        )
        check(
            [str(c.type).lower().replace("`", "") for c in schema.simple_columns]
            == [c["type"].lower().replace(" ", "") for c in table_config["columns"]],
            "types of %s: %s" % (table_config["name"], [str(c.type) for c in schema.simple_columns]),
        )
        key_names = [k["name"] for k in table_config.get("partition_keys", [])]
        check([p.name for p in schema.partitions] == key_names, "partition keys of " + table_config["name"])
        if key_names:
            listed = sorted(str(p.partition_spec).replace("'", "") for p in table.partitions)
            wanted_specs = sorted(p["spec"] for p in table_config["partitions"])
            check(listed == wanted_specs, "partitions %s != %s" % (listed, wanted_specs))
            sources = [(p["spec"], p.get("rows")) for p in table_config["partitions"]]
        else:
            sources = [(None, table_config.get("rows"))]
        for spec, rows in sources:
            if not isinstance(rows, list):
                continue
            with table.open_reader(partition=spec) as reader:
                check(reader.count == len(rows), "count of %s %s" % (table_config["name"], spec))
                records = [record.values for record in reader]
            check(len(records) == len(rows), "rows read from " + table_config["name"])
            for row_number, (record, row) in enumerate(zip(records, rows)):
                for column, value, actual in zip(table_config["columns"], row, record):
                    wanted = expected(value, column["type"])
                    check(
                        same(actual, wanted, column["type"]),
                        "%s row %d %s: got %r, want %r"
                        % (table_config["name"], row_number, column["name"], actual, wanted),
                    )
                if spec:  # pyodps appends the partition values
                    check(list(record[len(row):]) == [v.split("=", 1)[1] for v in spec.split(",")], "partition values")

# Catalogue calls DataX-like readers make before reading.
first_project = config["odps"]["projects"][0]
first_table = first_project["tables"][0]
first_spec = first_table["partitions"][0]["spec"]
check(o.exist_table(first_table["name"]) and not o.exist_table("no_such_table"), "exist_table")
check(sorted(t.name for t in o.list_tables()) == sorted(t["name"] for t in first_project["tables"]), "list_tables")
detail = o.get_table(first_table["name"])
check(detail.exist_partition(first_spec) and not detail.exist_partition("pt=19700101"), "exist_partition")
check(detail.get_partition(first_spec).record_num == len(first_table["partitions"][0]["rows"]), "partition record_num")
check(len(list(o.read_table(first_table["name"], partition=first_spec))) == len(first_table["partitions"][0]["rows"]), "read_table")

# 2. Explicit tunnel endpoint, every compression, column subsets and row ranges.
encodings = []
original_stream = tabletunnel.get_decompress_stream


def spy(response, *args, **kwargs):
    encodings.append(response.headers.get("Content-Encoding"))
    return original_stream(response, *args, **kwargs)


tabletunnel.get_decompress_stream = spy
o2 = ODPS(access_id, access_key, project=config["odps"]["projects"][0]["name"], endpoint=odps_endpoint, tunnel_endpoint=tunnel_endpoint)
tunnel = TableTunnel(o2)
for project in config["odps"]["projects"]:
    for table_config in project["tables"]:
        for partition in table_config.get("partitions", [{"spec": None, **table_config}]):
            if not isinstance(partition.get("rows"), int):
                continue
            names = [c["name"] for c in table_config["columns"]]
            table = o2.get_table(table_config["name"], project=project["name"])
            plain = tunnel.create_download_session(table, partition_spec=partition["spec"])
            check(plain.count == partition["rows"], "generated count %s" % plain.count)
            with plain.open_record_reader(100, 500) as reader:
                baseline = [r.values[: len(names)] for r in reader]
            check(len(baseline) == 500, "500 generated rows")
            with plain.open_record_reader(100, 500) as reader:
                check([r.values[: len(names)] for r in reader] == baseline, "generated rows are deterministic")
            with plain.open_record_reader(103, 2, columns=list(reversed(names))) as reader:
                subset = [r.values[: len(names)] for r in reader]
            check(subset == [list(reversed(row)) for row in baseline[3:5]], "reversed column subset")
            last = partition["rows"] - 1
            with plain.open_record_reader(last, 1) as reader:
                check(len(list(reader)) == 1, "last generated row")
            for algo, encoding in (("zlib", "deflate"), ("lz4", "x-lz4-frame"), ("zstd", "zstd")):
                session = tunnel.create_download_session(table, partition_spec=partition["spec"], compress_algo=algo)
                with session.open_record_reader(100, 500, compress=True) as reader:
                    check([r.values[: len(names)] for r in reader] == baseline, algo + " rows")
                check(encodings[-1] == encoding, "%s answered with %s" % (algo, encodings[-1]))


# 3. Errors carry MaxCompute's codes.
def expect_error(action, code):
    try:
        action()
    except Exception as error:  # pyodps raises a class per code
        text = type(error).__name__ + " " + str(error) + " " + str(getattr(error, "code", ""))
        check(code in text, "expected %s, got %s" % (code, text))
        return
    check(False, "expected %s, got success" % code)


table_name = config["odps"]["projects"][0]["tables"][0]["name"]
bad = ODPS(access_id, "wrong-secret", project=config["odps"]["projects"][0]["name"], endpoint=odps_endpoint)
expect_error(lambda: bad.get_table(table_name).reload(), "SignatureNotMatch")
expect_error(lambda: o.get_table("no_such_table").reload(), "NoSuchTable")
expect_error(lambda: tunnel.create_download_session(table_name, partition_spec="pt=19700101"), "NoSuchPartition")
session = tunnel.create_download_session(table_name, partition_spec=config["odps"]["projects"][0]["tables"][0]["partitions"][0]["spec"])
expect_error(lambda: list(session.open_record_reader(0, session.count + 1)), "InvalidRowRange")

report("pyodps")
