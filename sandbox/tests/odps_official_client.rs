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

/// pyodps writes through the tunnel upload protocol and reads its rows back: `write_table`,
/// upload sessions with each compression, partitions the session creates, atomic commits,
/// overwrite and the upload error codes (pyodps_write.py).
#[test]
fn pyodps_writes_and_reads_back_through_the_upload_protocol() {
    let config: datax_sandbox::SandboxConfig = serde_json::from_value(serde_json::json!({
        "port": 0,
        "credentials": [{"access_id": "writer-id", "access_key": "writer-key"}],
        "odps": {"projects": [{"name": "writes", "tables": [
            {"name": "plain",
             "columns": [
                {"name": "id", "type": "bigint"}, {"name": "name", "type": "string"},
                {"name": "x", "type": "double"}, {"name": "ok", "type": "boolean"},
                {"name": "t", "type": "datetime"}, {"name": "d", "type": "decimal(10,2)"},
                {"name": "v", "type": "varchar(4)"}],
             "rows": []},
            {"name": "parts",
             "columns": [
                {"name": "id", "type": "bigint"}, {"name": "name", "type": "string"},
                {"name": "x", "type": "double"}, {"name": "ok", "type": "boolean"},
                {"name": "t", "type": "datetime"}, {"name": "d", "type": "decimal(10,2)"},
                {"name": "v", "type": "varchar(4)"}],
             "partition_keys": [{"name": "pt", "type": "string"}, {"name": "region", "type": "string"}],
             "partitions": []},
            {"name": "generated",
             "columns": [{"name": "n", "type": "bigint"}, {"name": "s", "type": "string"}],
             "rows": 50, "seed": 3}
        ]}]}
    }))
    .unwrap();
    let sandbox = datax_sandbox::Sandbox::start(config).unwrap();
    common::run_python(
        "pyodps_write.py",
        &[
            sandbox.odps_endpoint(),
            sandbox.tunnel_endpoint(),
            "writer-id",
            "writer-key",
            "writes",
        ],
    );
}
