//! aliyun-log-python-sdk, the official Log Service client, writes to the sandbox (lz4,
//! uncompressed, hash-routed, STS, signature v4) and the stored logs read back exactly.

mod common;

use common::*;

#[test]
fn aliyun_log_sdk_puts_logs_that_read_back_exactly() {
    let sandbox = common::start();
    run_python(
        "aliyun_log_put.py",
        &[
            sandbox.sls_endpoint(),
            SLS_PROJECT,
            LOGSTORE,
            ACCESS_ID,
            ACCESS_KEY,
            STS_ID,
            STS_KEY,
            STS_TOKEN,
        ],
    );
    assert_eq!(sandbox.log_count(SLS_PROJECT, LOGSTORE), 119);
    let logs = sandbox.logs(SLS_PROJECT, LOGSTORE);
    assert_eq!(logs[7].get("seq"), Some("7"));
    assert_eq!(
        logs[0].tags.get("__pack_id__").map(String::as_str),
        Some("5F2A1B-1")
    );
    let stats = sandbox.stats();
    assert_eq!(stats.logs_accepted, 119);
    assert_eq!(stats.count("sls", "SignatureNotMatch"), 2);
    assert_eq!(stats.count("sls", "LogStoreNotExist"), 1);
}
