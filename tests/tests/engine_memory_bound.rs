//! Memory stays bounded by design as rows widen: a channel holds at most its byte capacity
//! (`core.transport.channel.byteCapacity`, 8 MiB unset) besides its batch count, a batch ends
//! at 1 MiB, and a reader keeps at most two batches' bytes of spare records. A stream ->
//! loghub job of 1 MiB rows must stay under the documented bound (BENCHMARKS.md, "Memory";
//! `bench/memory.py` computes the same): before, a channel of 8 batches could hold 8 MiB and
//! more, and the reader kept up to 2,048 spare records alive, whatever their size.

use datax_e2e::{datax_job, start_sandbox, Workspace};
use serde_json::json;

const MIB: u64 = 1 << 20;
const CHANNELS: u64 = 2;
const ROWS_PER_CHANNEL: u64 = 32;
const ROW_BYTES: u64 = MIB;

/// The documented bound for `channels` of rows of `row_bytes`, in bytes (BENCHMARKS.md,
/// "Memory"): a fixed base, and per channel the host's budget (the channel's byte capacity
/// plus a row, and four batches in hands: the reader's, the writer's and two of spares, each
/// a batch plus a row) and loghubwriter's (its `maxInFlight` 4 requests, one queued and one
/// being encoded, each up to 4 MiB plus a row, in three copies: logs, protobuf, compressed).
fn bound(channels: u64, row_bytes: u64) -> u64 {
    let base = 40 * MIB;
    let host = 8 * MIB + row_bytes + 4 * (MIB + row_bytes);
    let writer = (4 + 2) * 3 * (4 * MIB + row_bytes);
    base + channels * (host + writer)
}

#[test]
fn a_wide_row_job_stays_within_the_memory_bound() {
    let sandbox = start_sandbox();
    let workspace = Workspace::new();
    let width = usize::try_from(ROW_BYTES).unwrap();
    let reader = json!({"name": "streamreader", "parameter": {
        "column": [{"type": "string", "value": "x".repeat(width)}],
        "sliceRecordCount": ROWS_PER_CHANNEL,
    }});
    let writer = json!({"name": "loghubwriter", "parameter": {
        "endpoint": sandbox.sls_endpoint(),
        "accessId": "sandbox-access-id",
        "accessKey": "sandbox-access-key",
        "project": "datax-demo",
        "logstore": "ak_biz_log",
        "column": ["payload"],
    }});
    let setting = json!({"speed": {"channel": CHANNELS}});
    workspace
        .run_reported(&datax_job(reader, writer, setting))
        .assert_success();

    let rows = CHANNELS * ROWS_PER_CHANNEL;
    assert_eq!(sandbox.log_count("datax-demo", "ak_biz_log"), rows);
    let report = workspace.report();
    let peak = report["peak_memory_kib"]
        .as_u64()
        .expect("a peak in the report")
        * 1024;
    let limit = bound(CHANNELS, ROW_BYTES);
    assert!(
        peak <= limit,
        "peak RSS {} MiB for {rows} rows of {ROW_BYTES} bytes on {CHANNELS} channels, above \
         the bound of {} MiB",
        peak / MIB,
        limit / MIB
    );
}
