//! pyodps, the official MaxCompute client, reads the sandbox and cannot tell the
//! difference: metadata, partitions, every type, compression and error codes.

mod common;

#[test]
fn pyodps_reads_every_table_and_gets_maxcompute_errors() {
    let sandbox = common::start();
    common::run_pyodps_read(&sandbox);
    let stats = sandbox.stats();
    assert!(stats.records_served > 2000, "{stats:?}");
    assert!(stats.count("odps", "SignatureNotMatch") >= 1, "{stats:?}");
    assert_eq!(stats.count("tunnel", "NoSuchPartition"), 1, "{stats:?}");
}

/// The other wire forms real servers may send (odps-tunnel.md §5.3, §10): the metrics block
/// and 10-byte CRC varints. pyodps must read them just the same.
#[test]
fn pyodps_reads_the_metrics_block_and_long_crc_varints() {
    let mut config = common::test_config();
    config.odps.wire = datax_sandbox::odps::codec::WireOptions {
        metrics_block: true,
        long_crc_varints: true,
    };
    let sandbox = datax_sandbox::Sandbox::start(config).unwrap();
    common::run_pyodps_read(&sandbox);
}
