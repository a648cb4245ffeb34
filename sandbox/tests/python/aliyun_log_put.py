"""Writes to the sandbox with the official aliyun-log-python-sdk and reads the logs back.

usage: aliyun_log_put.py SLS_ENDPOINT PROJECT LOGSTORE ACCESS_ID ACCESS_KEY STS_ID STS_KEY STS_TOKEN

Run by sandbox/tests/sls_official_client.rs. The SDK cannot send to an IP endpoint with a
port (sls-putlogs.md §2.2), so, as its users do behind a proxy, it is pointed at a real
endpoint name through HTTP_PROXY = the sandbox; the request then carries
`Host: {project}.cn-hangzhou.log.aliyuncs.com` like any production request.
Exits non-zero on the first mismatch.
"""

import json
import os
import sys
import urllib.request

from checks import check, report

sls_endpoint, project, logstore, access_id, access_key, sts_id, sts_key, sts_token = sys.argv[1:9]
for name in ("NO_PROXY", "no_proxy"):
    os.environ.pop(name, None)
os.environ["HTTP_PROXY"] = os.environ["http_proxy"] = "http://" + sls_endpoint

from aliyun.log import LogClient, LogException, LogItem, PutLogsRequest  # noqa: E402

ENDPOINT = "cn-hangzhou.log.aliyuncs.com"


def stored_logs():
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = "http://%s/_sandbox/logstores/%s/%s/logs" % (sls_endpoint, project, logstore)
    return json.loads(direct.open(url).read())


def items(first, count):
    return [
        LogItem(timestamp=1700000000 + i, contents=[("seq", str(i)), ("msg", "hello 世界 %d" % i), ("empty", "")])
        for i in range(first, first + count)
    ]


client = LogClient(ENDPOINT, access_id, access_key)
# lz4 (the SDK default), uncompressed, and hash-routed.
client.put_logs(PutLogsRequest(project, logstore, "topic-a", "10.0.0.1", items(0, 100), logtags=[("__pack_id__", "5F2A1B-1")]))
client.put_logs(PutLogsRequest(project, logstore, "topic-b", "10.0.0.2", items(100, 10), compress=False))
client.put_logs(PutLogsRequest(project, logstore, "", "", items(110, 5), hashKey="14d2f850ad6ea48e46e4547edbbb27e0"))
# Temporary (STS) credentials sign the x-acs-security-token header.
LogClient(ENDPOINT, sts_id, sts_key, securityToken=sts_token).put_logs(PutLogsRequest(project, logstore, "sts", "", items(115, 1)))
# Signature v4 (SLS4-HMAC-SHA256), with and without STS.
LogClient(ENDPOINT, access_id, access_key, auth_version="v4", region="cn-hangzhou").put_logs(
    PutLogsRequest(project, logstore, "v4", "", items(116, 2))
)
LogClient(ENDPOINT, sts_id, sts_key, securityToken=sts_token, auth_version="v4", region="cn-hangzhou").put_logs(
    PutLogsRequest(project, logstore, "v4", "", items(118, 1))
)

shards = client.list_shards(project, logstore).get_shards_info()
check(len(shards) == 1 and shards[0]["status"] == "readwrite", "list_shards %s" % shards)

stored = stored_logs()
check(stored["count"] == 119, "stored count %s" % stored["count"])
logs = stored["logs"]
check([int(log["contents"]["seq"]) for log in logs] == list(range(119)), "order and completeness")
check(all(log["contents"]["msg"] == "hello 世界 %d" % i for i, log in enumerate(logs)), "UTF-8 values")
check(all(log["contents"]["empty"] == "" for log in logs), "empty values kept")
check(all(log["time"] == 1700000000 + i for i, log in enumerate(logs)), "log times")
check(logs[0]["topic"] == "topic-a" and logs[0]["source"] == "10.0.0.1", "topic and source")
check(logs[0]["tags"] == {"__pack_id__": "5F2A1B-1"}, "tags %s" % logs[0]["tags"])
check(logs[100]["topic"] == "topic-b" and logs[115]["topic"] == "sts" and logs[118]["topic"] == "v4", "per-request topics")


def expect_error(action, code):
    try:
        action()
    except LogException as error:
        check(error.get_error_code() == code, "expected %s, got %s" % (code, error.get_error_code()))
        check(bool(error.get_request_id()), "error carries x-log-requestid")
        return
    check(False, "expected %s, got success" % code)


expect_error(lambda: LogClient(ENDPOINT, access_id, "wrong").put_logs(PutLogsRequest(project, logstore, "", "", items(0, 1))), "SignatureNotMatch")
expect_error(
    lambda: LogClient(ENDPOINT, access_id, "wrong", auth_version="v4", region="cn-hangzhou").put_logs(PutLogsRequest(project, logstore, "", "", items(0, 1))),
    "SignatureNotMatch",
)
expect_error(lambda: LogClient(ENDPOINT, sts_id, sts_key, securityToken="stale").put_logs(PutLogsRequest(project, logstore, "", "", items(0, 1))), "Unauthorized")
expect_error(lambda: client.put_logs(PutLogsRequest(project, "no_such_logstore", "", "", items(0, 1))), "LogStoreNotExist")
expect_error(lambda: client.put_logs(PutLogsRequest("no-such-project", logstore, "", "", items(0, 1))), "ProjectNotExist")
check(stored_logs()["count"] == 119, "rejected requests stored nothing")

report("aliyun-log")
