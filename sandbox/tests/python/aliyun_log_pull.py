"""Reads the sandbox's logstores back with the official aliyun-log-python-sdk: list_shards,
get_cursor (begin, end, Unix time), pull_logs (lz4 and uncompressed, count, end_cursor) and
pull_log, after putting logs with the same SDK.

usage: aliyun_log_pull.py SLS_ENDPOINT PROJECT SHARDED_LOGSTORE SHARDS TIMED_LOGSTORE SPLIT_LOGSTORE GENERATED_LOGSTORE ACCESS_ID ACCESS_KEY

Run by sandbox/tests/sls_pull_official_client.rs, which gave TIMED_LOGSTORE's shard 0 three
groups through the control API, received at 1700000000, 1700000010 and 1700000020, holding
logs `t` = 0, 1 and 2. SPLIT_LOGSTORE's one shard was split in two (shards 1 and 2). GENERATED_LOGSTORE has 2 shards
of 50 generated groups of 10 logs, 2 groups a second from 1700000000. Routed as aliyun_log_put.py is: through HTTP_PROXY = the sandbox.
Exits non-zero on the first mismatch.
"""

import os
import sys

from checks import check, report

sls_endpoint, project, sharded, shards, timed, split, generated, access_id, access_key = sys.argv[1:10]
shards = int(shards)
for name in ("NO_PROXY", "no_proxy"):
    os.environ.pop(name, None)
os.environ["HTTP_PROXY"] = os.environ["http_proxy"] = "http://" + sls_endpoint

from aliyun.log import LogClient, LogException, LogItem, PutLogsRequest  # noqa: E402

ENDPOINT = "cn-hangzhou.log.aliyuncs.com"
client = LogClient(ENDPOINT, access_id, access_key)


def items(first, count):
    return [LogItem(timestamp=1700000000 + i, contents=[("seq", str(i)), ("msg", "hello 世界 %d" % i)]) for i in range(first, first + count)]


# One load-balanced request per shard, then more: round robin spreads them.
PUTS = 2 * shards
for put in range(PUTS):
    client.put_logs(PutLogsRequest(project, sharded, "topic-%d" % put, "10.0.0.%d" % put, items(10 * put, 10), logtags=[("put", str(put))]))

listed = client.list_shards(project, sharded).get_shards_info()
check([shard["shardID"] for shard in listed] == list(range(shards)), "list_shards ids %s" % listed)
check(all(shard["status"] == "readwrite" for shard in listed), "read-write shards")
check(listed[0]["inclusiveBeginKey"] == "0" * 32 and listed[-1]["exclusiveEndKey"] == "f" * 32, "the hash space is covered")
check(all(a["exclusiveEndKey"] == b["inclusiveBeginKey"] for a, b in zip(listed, listed[1:])), "ranges are contiguous")


def pull_all(shard, count, compress=None):
    """Every log of a shard with pull_logs from begin to end, count groups at a time."""
    begin = client.get_cursor(project, sharded, shard, "begin").get_cursor()
    end = client.get_cursor(project, sharded, shard, "end").get_cursor()
    logs, cursor, pulls = [], begin, 0
    while True:
        response = client.pull_logs(project, sharded, shard, cursor, count=count, end_cursor=end, compress=compress)
        pulls += 1
        check(response.get_loggroup_count() <= count, "at most count groups")
        for group in response.get_loggroup_list().LogGroups:
            tags = {tag.Key: tag.Value for tag in group.LogTags}
            for log in group.Logs:
                contents = {content.Key: content.Value for content in log.Contents}
                logs.append((group.Topic, group.Source, tags["put"], log.Time, contents["seq"], contents["msg"]))
        if response.get_next_cursor() == end:
            return logs, pulls
        cursor = response.get_next_cursor()


seen = []
for shard in range(shards):
    logs, pulls = pull_all(shard, 1)
    check(pulls == PUTS // shards, "shard %d: one pull per group, %d" % (shard, pulls))
    plain, _ = pull_all(shard, 1000, compress=False)
    check(plain == logs, "uncompressed pulls read the same")
    puts = sorted({int(log[2]) for log in logs})
    check(puts == [p for p in range(PUTS) if p % shards == shard], "shard %d holds puts %s" % (shard, puts))
    seen.extend(logs)
check(len(seen) == 10 * PUTS, "every log once: %d" % len(seen))
check(sorted(int(log[4]) for log in seen) == list(range(10 * PUTS)), "the seqs put")
check(all(log[5] == "hello 世界 %s" % log[4] and log[3] == 1700000000 + int(log[4]) for log in seen), "contents and times")
check(all(log[0] == "topic-%s" % log[2] and log[1] == "10.0.0.%s" % log[2] for log in seen), "topic and source")

# pull_log: the SDK's own loop over get_cursor and pull_logs.
pulled = sum(response.get_log_count() for response in client.pull_log(project, sharded, 0, "begin", "end", batch_size=1))
check(pulled == 10 * PUTS // shards, "pull_log reads shard 0: %d" % pulled)

# Receive times: a time cursor is the first group received at or after it.
def times(from_time, to_time):
    logs = []
    for response in client.pull_log(project, timed, 0, from_time, to_time):
        for group in response.get_loggroup_list().LogGroups:
            logs.extend(int(content.Value) for log in group.Logs for content in log.Contents if content.Key == "t")
    return logs


check(times(1700000000, 1700000020) == [0, 1], "[begin, end): the group at begin in, at end out")
check(times(1700000001, 1700000021) == [1, 2], "between receive times")
check(times(1699999999, 1800000000) == [0, 1, 2], "a wide range reads all")
check(times(1700000030, 1800000000) == [], "a range after the last group reads nothing")
check(client.get_cursor(project, timed, 0, 1800000000).get_cursor() == client.get_cursor(project, timed, 0, "end").get_cursor(), "a future time is the end")


# A split shard is listed read-only; writes go to its two halves only.
listed = client.list_shards(project, split).get_shards_info()
check([(shard["shardID"], shard["status"]) for shard in listed] == [(0, "readonly"), (1, "readwrite"), (2, "readwrite")], "split shards %s" % listed)
check(listed[1]["inclusiveBeginKey"] == listed[0]["inclusiveBeginKey"] and listed[2]["exclusiveEndKey"] == listed[0]["exclusiveEndKey"], "the halves cover the parent")
for put in range(4):
    client.put_logs(PutLogsRequest(project, split, "", "", items(put, 1)))
per_shard = [sum(r.get_log_count() for r in client.pull_log(project, split, shard, "begin", "end")) for shard in range(3)]
check(per_shard == [0, 2, 2], "writes skip the read-only shard: %s" % per_shard)


# A generated logstore: made up as it is pulled, the same each time.
def generated_seqs(from_time, to_time):
    seqs = []
    for response in client.pull_log(project, generated, 1, from_time, to_time, batch_size=7):
        for group in response.get_loggroup_list().LogGroups:
            check(group.Topic == "generated" and group.Source == "10.0.1.1", "generated topic and source")
            seqs.extend(content.Value for log in group.Logs for content in log.Contents if content.Key == "seq")
    return seqs


everything = generated_seqs("begin", "end")
check(len(everything) == 500 and len(set(everything)) == 500, "500 generated logs, each once")
check(everything[:2] == ["1-0-0", "1-0-1"] and everything[-1] == "1-49-9", "in order")
check(generated_seqs("begin", "end") == everything, "the same every time")
window = generated_seqs(1700000005, 1700000010)
check(window == ["1-%d-%d" % (group, log) for group in range(10, 20) for log in range(10)], "5 seconds: groups 10 to 19")


def expect_error(action, code):
    try:
        action()
    except LogException as error:
        check(error.get_error_code() == code, "expected %s, got %s" % (code, error.get_error_code()))
        check(bool(error.get_request_id()), "error carries x-log-requestid")
        return
    check(False, "expected %s, got success" % code)


end = client.get_cursor(project, sharded, 0, "end").get_cursor()
expect_error(lambda: client.get_cursor(project, sharded, shards, "begin"), "ShardNotExist")
expect_error(lambda: client.pull_logs(project, sharded, shards, end), "ShardNotExist")
expect_error(lambda: client.get_cursor(project, "no_such_logstore", 0, "begin"), "LogStoreNotExist")
expect_error(lambda: client.pull_logs(project, sharded, 0, "bm90IGEgY3Vyc29y"), "InvalidCursor")
expect_error(lambda: client.pull_logs(project, sharded, 0, "OTk5OTk5"), "InvalidCursor")
expect_error(lambda: LogClient(ENDPOINT, access_id, "wrong").get_cursor(project, sharded, 0, "begin"), "SignatureNotMatch")
expect_error(lambda: LogClient(ENDPOINT, access_id, "wrong").pull_logs(project, sharded, 0, end), "SignatureNotMatch")
expect_error(lambda: client.put_logs(PutLogsRequest(project, generated, "", "", items(0, 1))), "ParameterInvalid")
at_end = client.pull_logs(project, sharded, 0, end)
check(at_end.get_loggroup_count() == 0 and at_end.get_next_cursor() == end, "pulling at the end reads nothing and stays")

report("aliyun-log pull")
