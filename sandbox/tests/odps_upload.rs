//! The tunnel upload protocol over HTTP (odps-tunnel.md §8): blocks are checked as the
//! service checks them (record and stream CRCs, count, value sizes), commits are atomic and
//! may be retried, and errors carry MaxCompute's codes.

mod common;

use common::*;
use datax_sandbox::odps::auth as odps_auth;
use datax_sandbox::odps::codec::RecordWriter;
use datax_sandbox::odps::types::{OdpsType, Value};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

const PATH: &str = "/projects/w/tables/t";

fn sandbox() -> SandboxHandle {
    let config: SandboxConfig = serde_json::from_value(serde_json::json!({
        "port": 0,
        "credentials": [{"access_id": ACCESS_ID, "access_key": ACCESS_KEY}],
        "odps": {"projects": [{"name": "w", "tables": [
            {"name": "t",
             "columns": [{"name": "v", "type": "varchar(3)"}, {"name": "d", "type": "decimal(4,2)"}],
             "partition_keys": [{"name": "pt", "type": "string"}],
             "partitions": [{"spec": "pt=1", "rows": [["old", "1.00"]]}]}
        ]}]}
    }))
    .unwrap();
    Sandbox::start(config).unwrap()
}

/// A signed tunnel request with `body` (pyodps's signing: odps-tunnel.md §2.1).
fn send(sandbox: &SandboxHandle, method: &str, query: &str, body: &[u8]) -> Reply {
    let date = http_date(0);
    let headers = [("x-odps-tunnel-version", "6"), ("date", date.as_str())];
    let string_to_sign = odps_auth::string_to_sign(method, headers, PATH, query);
    let signature = odps_auth::signature_v2(ACCESS_KEY, &string_to_sign);
    let url = format!("{}{PATH}?{query}", sandbox.tunnel_endpoint());
    let request = agent()
        .request(method, &url)
        .set("Date", &date)
        .set("x-odps-tunnel-version", "6")
        .set("Authorization", &format!("ODPS {ACCESS_ID}:{signature}"));
    finish(request.send_bytes(body)).unwrap()
}

fn create(sandbox: &SandboxHandle, partition: &str, extra: &str) -> String {
    let reply = send(
        sandbox,
        "POST",
        &format!("uploads=&partition={partition}{extra}"),
        &[],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["UploadID"].as_str().unwrap().to_string()
}

fn block(rows: &[[&str; 2]]) -> Vec<u8> {
    let types = [
        OdpsType::Varchar(3),
        OdpsType::Decimal {
            precision: 4,
            scale: 2,
        },
    ];
    let mut writer = RecordWriter::new(Vec::new());
    for row in rows {
        let values = row.map(|text| Value::Bytes(text.as_bytes().to_vec()));
        writer
            .write_record((1..).zip(&types).zip(&values).map(|((n, t), v)| (n, t, v)))
            .unwrap();
    }
    writer.finish().unwrap();
    writer.into_inner()
}

fn error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.json()["Code"], code, "{}", reply.text());
}

/// The rows a fresh download session of `pt=1` counts.
fn downloadable(sandbox: &SandboxHandle) -> u64 {
    let reply = send(sandbox, "POST", "downloads=&partition=pt%3D1", &[]);
    reply.json()["RecordCount"].as_u64().unwrap()
}

#[test]
fn blocks_are_checked_as_the_service_checks_them() {
    let sandbox = sandbox();
    let id = create(&sandbox, "pt%3D1", "");
    let put = |block_id: &str, body: &[u8]| {
        send(
            &sandbox,
            "PUT",
            &format!("uploadid={id}&blockid={block_id}&partition=pt%3D1"),
            body,
        )
    };
    let good = block(&[["abc", "12.34"]]);
    assert_eq!(put("0", &good).status, 200);

    let mut flipped = good.clone();
    flipped[3] ^= 0x01; // inside the first value: the record CRC no longer matches
    error(&put("1", &flipped), 400, "MalformedDataStream");
    error(
        &put("1", &good[..good.len() - 3]),
        400,
        "MalformedDataStream",
    );
    error(
        &put("1", &block(&[["abcd", "1.00"]])),
        400,
        "InvalidColumnValue",
    );
    error(
        &put("1", &block(&[["a", "123.4"]])),
        400,
        "InvalidColumnValue",
    );
    error(&put("1", &block(&[["a", "x"]])), 400, "InvalidColumnValue");
    error(&put("20000", &good), 400, "InvalidBlockID");

    let reply = send(
        &sandbox,
        "GET",
        &format!("uploadid={id}&partition=pt%3D1"),
        &[],
    );
    assert_eq!(
        reply.json()["UploadedBlockList"],
        serde_json::json!([{"BlockID": 0,
        "CreateTime": reply.json()["UploadedBlockList"][0]["CreateTime"]}])
    );
}

#[test]
fn a_commit_publishes_every_block_at_once_and_may_be_retried() {
    let sandbox = sandbox();
    let id = create(&sandbox, "pt%3D1", "");
    let query = |extra: &str| format!("uploadid={id}&partition=pt%3D1{extra}");
    assert_eq!(
        send(
            &sandbox,
            "PUT",
            &query("&blockid=3"),
            &block(&[["a", "1"], ["b", "2"]])
        )
        .status,
        200
    );
    assert_eq!(
        send(&sandbox, "PUT", &query("&blockid=1"), &block(&[["c", "3"]])).status,
        200
    );
    assert_eq!(
        downloadable(&sandbox),
        1,
        "nothing is visible before the commit"
    );

    let committed = send(&sandbox, "POST", &query(""), &[]);
    assert_eq!(committed.status, 200, "{}", committed.text());
    assert_eq!(committed.json()["Status"], "closed");
    assert_eq!(downloadable(&sandbox), 4);
    // The reply of a commit may be lost: committing again changes nothing.
    assert_eq!(send(&sandbox, "POST", &query(""), &[]).status, 200);
    assert_eq!(downloadable(&sandbox), 4);
    error(
        &send(&sandbox, "PUT", &query("&blockid=5"), &block(&[["d", "4"]])),
        409,
        "StatusConflict",
    );
}

#[test]
fn sessions_create_partitions_and_overwrite_on_request() {
    let sandbox = sandbox();
    let reply = send(&sandbox, "POST", "uploads=&partition=pt%3D2", &[]);
    error(&reply, 404, "NoSuchPartition");
    let id = create(&sandbox, "pt%3D2", "&create_partition=true");
    let partitions = send(&sandbox, "POST", "downloads=&partition=pt%3D2", &[]);
    assert_eq!(
        partitions.json()["RecordCount"],
        0,
        "created empty, at once"
    );
    send(
        &sandbox,
        "POST",
        &format!("uploadid={id}&partition=pt%3D2"),
        &[],
    );

    let id = create(&sandbox, "pt%3D1", "&overwrite=true");
    let query = format!("uploadid={id}&partition=pt%3D1");
    send(
        &sandbox,
        "PUT",
        &format!("{query}&blockid=0"),
        &block(&[["x", "0.5"]]),
    );
    assert_eq!(downloadable(&sandbox), 1);
    send(&sandbox, "POST", &query, &[]);
    assert_eq!(downloadable(&sandbox), 1, "the old row is replaced");

    let reply = send(
        &sandbox,
        "PUT",
        "uploadid=nope&blockid=0&partition=pt%3D1",
        &[],
    );
    error(&reply, 404, "NoSuchUpload");
}
