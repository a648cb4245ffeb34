//! The MaxCompute endpoints over HTTP: discovery, metadata, sessions, data in every
//! encoding, and service-shaped errors (odps-tunnel.md §1–§4, §7, §11).

mod common;

use std::io::Read;

use common::*;
use datax_sandbox::odps::codec::decode_records;
use datax_sandbox::odps::generator::generated_value;
use datax_sandbox::odps::types::{OdpsType, Value};
use datax_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

fn enc(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn table_path(table: &str) -> String {
    format!("/projects/{PROJECT}/tables/{table}")
}

fn create_session(endpoint: &str, table: &str, partition: Option<&str>) -> serde_json::Value {
    let path = table_path(table);
    let mut query = format!("downloads=&curr_project={PROJECT}");
    if let Some(spec) = partition {
        query.push_str(&format!("&partition={}", enc(spec)));
    }
    let reply = OdpsRequest::new(endpoint, "POST", &path, &query)
        .header("Content-Length", "0")
        .send()
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn data_query(id: &str, range: (u64, u64), columns: Option<&str>) -> String {
    let mut query = format!(
        "data&downloadid={id}&rowrange={}&partition={}&curr_project={PROJECT}",
        enc(&format!("({},{})", range.0, range.1)),
        enc(PARTITION)
    );
    if let Some(columns) = columns {
        query.push_str(&format!("&columns={}", enc(columns)));
    }
    query
}

#[test]
fn discovery_and_rest_metadata() {
    let sandbox = start();
    let rest = sandbox.odps_endpoint();
    let reply = OdpsRequest::new(
        rest,
        "GET",
        &format!("/projects/{PROJECT}/tunnel"),
        "service&curr_project=aliyun_account",
    )
    .send()
    .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), format!("127.0.0.1:{}", sandbox.port()));

    let reply = OdpsRequest::new(
        rest,
        "GET",
        &table_path(TABLE),
        "curr_project=aliyun_account",
    )
    .send()
    .unwrap();
    assert_eq!(reply.status, 200);
    let xml = reply.text();
    assert!(xml.contains("<Name>ak_biz_log_detail</Name>"), "{xml}");
    assert!(
        xml.contains(r#""partitionKeys":[{"name":"pt","type":"string""#),
        "{xml}"
    );
    assert!(xml.contains(r#"{"name":"col4","type":"datetime""#), "{xml}");

    let reply = OdpsRequest::new(
        rest,
        "GET",
        &table_path(TABLE),
        "partitions&expectmarker=true&curr_project=aliyun_account",
    )
    .send()
    .unwrap();
    let xml = reply.text();
    assert!(
        xml.contains(r#"<Column Name="pt" Value="20161226"/>"#),
        "{xml}"
    );
    assert!(xml.contains("<Marker></Marker>"), "{xml}");
    assert!(xml.contains(r#""partitionRecordNum":10"#), "{xml}");
    assert!(reply.header("x-odps-request-id").is_some());

    // One partition, as pyodps's Partition.reload asks for it.
    let reply = OdpsRequest::new(rest, "GET", &table_path(TABLE), "partition=pt%3D20161226")
        .send()
        .unwrap();
    assert!(reply
        .text()
        .contains("<PartitionRecordCount>10</PartitionRecordCount>"));
    let missing = OdpsRequest::new(rest, "GET", &table_path(TABLE), "partition=pt%3D1")
        .send()
        .unwrap();
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("<Code>NoSuchPartition</Code>"));
}

#[test]
fn session_create_reload_and_data() {
    let sandbox = start();
    let tunnel = sandbox.tunnel_endpoint();
    let session = create_session(tunnel, TABLE, Some(PARTITION));
    assert_eq!(session["Status"], "normal");
    assert_eq!(session["RecordCount"], 10);
    assert_eq!(session["Schema"]["columns"][5]["name"], "col5");
    let id = session["DownloadID"].as_str().unwrap();

    let reloaded = OdpsRequest::new(
        tunnel,
        "GET",
        &table_path(TABLE),
        &format!("downloadid={id}&partition={}", enc(PARTITION)),
    )
    .send()
    .unwrap();
    assert_eq!(reloaded.status, 200);
    assert_eq!(reloaded.json()["DownloadID"], id);

    let reply = OdpsRequest::new(
        tunnel,
        "GET",
        &table_path(TABLE),
        &data_query(id, (0, 10), None),
    )
    .send()
    .unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-encoding").is_none());
    let rows = decode_records(&reply.body, &detail_types()).unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[3][0], Value::Bytes(b"ak_1003".to_vec()));
    assert_eq!(rows[3][1], Value::Int(20161226003));
    assert_eq!(rows[3][3], Value::Double(4.75));
    // 2016-12-26 10:03:00+08:00 (the example's literal) in milliseconds.
    assert_eq!(rows[3][4], Value::Datetime(1_482_717_780_000));
    assert_eq!(rows[3][5], Value::Bytes(b"2016_12_26 10:03:00".to_vec()));

    // Field numbers follow the requested column list.
    let reply = OdpsRequest::new(
        tunnel,
        "GET",
        &table_path(TABLE),
        &data_query(id, (2, 3), Some("col5,col1")),
    )
    .send()
    .unwrap();
    let subset = decode_records(&reply.body, &[OdpsType::String, OdpsType::Bigint]).unwrap();
    assert_eq!(subset.len(), 3);
    assert_eq!(subset[0], vec![rows[2][5].clone(), rows[2][1].clone()]);
}

#[test]
fn every_encoding_carries_the_same_records() {
    let sandbox = start();
    let tunnel = sandbox.tunnel_endpoint();
    let session = create_session(tunnel, GENERATED_TABLE, Some(PARTITION));
    assert_eq!(session["RecordCount"], 100_000_000u64);
    let id = session["DownloadID"].as_str().unwrap();
    let query = data_query(id, (99_990_000, 10_000), None);
    let plain = OdpsRequest::new(tunnel, "GET", &table_path(GENERATED_TABLE), &query)
        .send()
        .unwrap();
    let types = detail_types();
    let rows = decode_records(&plain.body, &types).unwrap();
    assert_eq!(rows.len(), 10_000);
    assert_eq!(
        rows[0][1],
        generated_value(&OdpsType::Bigint, 20161226, 99_990_000, 1, 0)
    );

    for (accept, encoding) in [
        ("deflate", "deflate"),
        ("zstd", "zstd"),
        ("x-lz4-frame", "x-lz4-frame"),
        ("gzip, deflate", "deflate"),
    ] {
        let reply = OdpsRequest::new(tunnel, "GET", &table_path(GENERATED_TABLE), &query)
            .header("Accept-Encoding", accept)
            .send()
            .unwrap();
        assert_eq!(reply.header("content-encoding"), Some(encoding));
        assert!(reply.body.len() < plain.body.len());
        let mut raw = Vec::new();
        match encoding {
            "deflate" => {
                flate2::read::ZlibDecoder::new(reply.body.as_slice()).read_to_end(&mut raw)
            }
            "zstd" => zstd::stream::read::Decoder::new(reply.body.as_slice())
                .unwrap()
                .read_to_end(&mut raw),
            _ => lz4_flex::frame::FrameDecoder::new(reply.body.as_slice()).read_to_end(&mut raw),
        }
        .unwrap();
        assert_eq!(raw, plain.body, "{encoding}");
    }
    assert_eq!(sandbox.stats().records_served, 50_000);
}

#[test]
fn unpartitioned_table_and_v4_signature() {
    let sandbox = start();
    let tunnel = sandbox.tunnel_endpoint();
    let session = create_session(tunnel, "all_types", None);
    assert_eq!(session["RecordCount"], 3);
    // v4: HMAC-SHA256-derived key, scope in the Authorization header (odps-tunnel.md §2.2).
    let date = http_date(0);
    let path = table_path("all_types");
    let query = format!("downloadid={}", session["DownloadID"].as_str().unwrap());
    let text =
        datax_sandbox::odps::auth::string_to_sign("GET", [("date", date.as_str())], &path, &query);
    let signature =
        datax_sandbox::odps::auth::signature_v4(ACCESS_KEY, "20240101", "cn-hangzhou", &text);
    let reply = finish(
        agent()
            .get(&format!("{tunnel}{path}?{query}"))
            .set("Date", &date)
            .set(
                "Authorization",
                &format!(
                    "ODPS {ACCESS_ID}/20240101/cn-hangzhou/odps/aliyun_v4_request:{signature}"
                ),
            )
            .call(),
    )
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
}

fn tunnel_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["Code"], code, "{body}");
    assert!(!body["Message"].as_str().unwrap().is_empty());
    assert_eq!(
        body["RequestId"].as_str(),
        reply.header("x-odps-request-id")
    );
}

#[test]
fn tunnel_errors_are_maxcompute_shaped() {
    let sandbox = start();
    let tunnel = sandbox.tunnel_endpoint();
    let post = |path: &str, query: &str| {
        OdpsRequest::new(tunnel, "POST", path, query)
            .send()
            .unwrap()
    };
    tunnel_error(
        &post("/projects/nope/tables/t", "downloads"),
        404,
        "NoSuchProject",
    );
    tunnel_error(&post(&table_path("nope"), "downloads"), 404, "NoSuchTable");
    tunnel_error(
        &post(&table_path(TABLE), "downloads"),
        400,
        "MissingPartitionSpec",
    );
    tunnel_error(
        &post(&table_path(TABLE), "downloads&partition=pt%3D1"),
        404,
        "NoSuchPartition",
    );
    tunnel_error(
        &post(&table_path(TABLE), "downloads&partition=ds%3D20161226"),
        400,
        "InvalidPartitionSpec",
    );

    let id = create_session(tunnel, TABLE, Some(PARTITION))["DownloadID"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |query: String| {
        OdpsRequest::new(tunnel, "GET", &table_path(TABLE), &query)
            .send()
            .unwrap()
    };
    tunnel_error(
        &get(data_query("unknown", (0, 1), None)),
        404,
        "NoSuchDownload",
    );
    tunnel_error(&get(data_query(&id, (5, 6), None)), 400, "InvalidRowRange");
    tunnel_error(
        &get(format!("data&downloadid={id}&rowrange=0-1")),
        400,
        "InvalidRowRange",
    );
    tunnel_error(
        &get(data_query(&id, (0, 1), Some("col1,nope"))),
        400,
        "InvalidColumnSpec",
    );

    let mut wrong = OdpsRequest::new(
        tunnel,
        "GET",
        &table_path(TABLE),
        &format!("downloadid={id}"),
    );
    wrong.access_key = "wrong";
    tunnel_error(&wrong.send().unwrap(), 401, "SignatureNotMatch");
    wrong.access_id = "unknown";
    tunnel_error(&wrong.send().unwrap(), 401, "InvalidAccessKeyId");
    let mut stale = OdpsRequest::new(
        tunnel,
        "GET",
        &table_path(TABLE),
        &format!("downloadid={id}"),
    );
    stale.date = http_date(-20 * 60);
    tunnel_error(&stale.send().unwrap(), 403, "RequestTimeTooSkewed");
    let unsigned = finish(
        agent()
            .get(&format!("{tunnel}{}?downloadid={id}", table_path(TABLE)))
            .call(),
    )
    .unwrap();
    tunnel_error(&unsigned, 401, "Unauthorized");
}

#[test]
fn sts_credentials_need_their_token() {
    let sandbox = start();
    let tunnel = sandbox.tunnel_endpoint();
    let mut request = OdpsRequest::new(tunnel, "POST", &table_path("all_types"), "downloads");
    request.access_id = STS_ID;
    request.access_key = STS_KEY;
    tunnel_error(&request.send().unwrap(), 401, "InvalidSecurityToken");
    // The token header is not signed (odps-tunnel.md §2.3).
    let reply = request
        .header("authorization-sts-token", STS_TOKEN)
        .send()
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[test]
fn rest_errors_are_xml() {
    let sandbox = start();
    let rest = sandbox.odps_endpoint();
    let reply = OdpsRequest::new(rest, "GET", &table_path("nope"), "")
        .send()
        .unwrap();
    assert_eq!(reply.status, 404);
    let xml = reply.text();
    assert!(xml.contains("<Code>NoSuchTable</Code>"), "{xml}");
    let request_id = reply.header("x-odps-request-id").unwrap();
    assert!(
        xml.contains(&format!("<RequestId>{request_id}</RequestId>")),
        "{xml}"
    );

    let mut wrong = OdpsRequest::new(rest, "GET", &table_path(TABLE), "");
    wrong.access_key = "wrong";
    let reply = wrong.send().unwrap();
    assert_eq!(reply.status, 401);
    assert!(reply.text().contains("<Code>SignatureNotMatch</Code>"));
    // Signing the /api prefix is a mistake the service rejects.
    let reply = finish(agent().get(&format!("{rest}/projects/{PROJECT}")).call()).unwrap();
    assert_eq!(reply.status, 401);
}

#[test]
fn cached_records_are_the_bytes_encoded_afresh() {
    let fetch = |sandbox: &SandboxHandle, range: (u64, u64), columns: Option<&str>| {
        let tunnel = sandbox.tunnel_endpoint();
        let session = create_session(tunnel, GENERATED_TABLE, Some(PARTITION));
        let id = session["DownloadID"].as_str().unwrap();
        let query = data_query(id, range, columns);
        let reply = OdpsRequest::new(tunnel, "GET", &table_path(GENERATED_TABLE), &query)
            .send()
            .unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.body
    };
    for wire in [
        serde_json::json!({}),
        serde_json::json!({"metrics_block": true, "long_crc_varints": true}),
    ] {
        let start_with = |cache_mib: u64| {
            let mut config = test_config_json();
            config["odps"]["wire"] = wire.clone();
            config["odps"]["record_cache_mib"] = cache_mib.into();
            Sandbox::start(SandboxConfig::from_json(&config.to_string()).unwrap()).unwrap()
        };
        let (cached, fresh) = (start_with(64), start_with(0));
        // Within, across and at both ends of the cache's blocks of 16,384 rows.
        for range in [(0, 10), (16_380, 10), (5, 40_000), (99_999_990, 10), (7, 0)] {
            for columns in [None, Some("col5,col1")] {
                let expected = fetch(&fresh, range, columns);
                assert_eq!(
                    fetch(&cached, range, columns),
                    expected,
                    "{range:?} {columns:?}"
                );
                // Again, now from the cache.
                assert_eq!(
                    fetch(&cached, range, columns),
                    expected,
                    "{range:?} {columns:?}"
                );
            }
        }
        let rows = decode_records(&fetch(&cached, (16_380, 10), None), &detail_types()).unwrap();
        assert_eq!(
            rows[4][1],
            generated_value(&OdpsType::Bigint, 20161226, 16_384, 1, 0)
        );
    }
}
