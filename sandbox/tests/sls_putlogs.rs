//! Log Service PutLogs against the spec's vectors (sls-putlogs.md §3, §5, §6, §13) and
//! over HTTP with every compression and the service's error codes (§7).

mod common;

use std::io::Write;

use common::*;
use datax_sandbox::sls::auth::{signature, string_to_sign};
use datax_sandbox::sls::proto::{Log, LogContent, LogGroup, LogTag};
use datax_sandbox::StoredLog;
use prost::Message;

const S_BODY_MD5: &str = "CE688F8D1AC3ED309BA9BE0A5ABAFCE5";
const P_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const P1_HEX: &str = "0a2f0880e2cfaa06120d0a056c6576656c1204494e464f12130a036d7367120c68656c6c6f20e4b896e7958c2515cd5b07\
0a1e0881e2cfaa06120d0a056c6576656c12045741524e12070a036d73671200\
1a056461746178220831302e302e302e31\
32170a0b5f5f7061636b5f69645f5f12083546324131422d31";
const P2_LZ4_HEX: &str = "fb260a2f0880e2cfaa06120d0a056c6576656c1204494e464f12130a036d7367120c68656c6c6f20e4b896e7958c2515cd5b070a1e08813100625741524e12073100f01c001a056461746178220831302e302e302e3132170a0b5f5f7061636b5f69645f5f12083546324131422d31";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn content(key: &str, value: &str) -> LogContent {
    LogContent {
        key: Some(key.as_bytes().to_vec().into()),
        value: Some(value.as_bytes().to_vec().into()),
    }
}

/// The LogGroup of vectors P1–P3.
fn p1_group() -> LogGroup {
    LogGroup {
        logs: vec![
            Log {
                time: Some(1_700_000_000),
                contents: vec![content("level", "INFO"), content("msg", "hello 世界")],
                time_ns: Some(123_456_789),
            },
            Log {
                time: Some(1_700_000_001),
                contents: vec![content("level", "WARN"), content("msg", "")],
                time_ns: None,
            },
        ],
        topic: Some("datax".into()),
        source: Some("10.0.0.1".into()),
        log_tags: vec![LogTag {
            key: Some("__pack_id__".into()),
            value: Some("5F2A1B-1".into()),
        }],
        ..Default::default()
    }
}

fn s_headers(token: bool) -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![
        ("x-log-apiversion", "0.6.0"),
        ("x-log-signaturemethod", "hmac-sha1"),
        ("Content-Type", "application/json"),
    ];
    if token {
        headers.push(("x-acs-security-token", "test-security-token"));
    }
    headers
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn rust_sdk_signature_vectors_s1_to_s3() {
    let date = "Thu, 01 Jan 1970 00:00:00 GMT";
    let s1 = string_to_sign(
        "POST",
        S_BODY_MD5,
        "application/json",
        date,
        s_headers(false),
        "/logstores/test-logstore",
        &params(&[("type", "log"), ("offset", "0"), ("line", "100")]),
    );
    assert_eq!(
        s1,
        "POST\nCE688F8D1AC3ED309BA9BE0A5ABAFCE5\napplication/json\nThu, 01 Jan 1970 00:00:00 GMT\n\
         x-log-apiversion:0.6.0\nx-log-signaturemethod:hmac-sha1\n/logstores/test-logstore?line=100&offset=0&type=log"
    );
    assert_eq!(
        signature("test-access-key", &s1),
        "4pL2xZJERC3tPKtRiHh9+nMG3tI="
    );
    let s2 = string_to_sign(
        "POST",
        S_BODY_MD5,
        "application/json",
        date,
        s_headers(true),
        "/logstores/test-logstore",
        &params(&[("type", "log"), ("offset", "0"), ("line", "100")]),
    );
    assert_eq!(
        signature("test-access-key", &s2),
        "ZQt+0wIvpd+O9yIJKeKxZTJ2hv0="
    );
    let s3 = string_to_sign(
        "POST",
        S_BODY_MD5,
        "application/json",
        date,
        s_headers(true),
        "/logstores/test/shards/2",
        &params(&[
            ("type", "log"),
            ("count", "1000"),
            ("cursor", "MTczNzY2OTAzNjAxNzIxODQ1NA=="),
        ]),
    );
    assert!(s3.ends_with("?count=1000&cursor=MTczNzY2OTAzNjAxNzIxODQ1NA==&type=log"));
    assert_eq!(
        signature("test-access-key", &s3),
        "K3rw5WXRe77aZ/meSyEa8NNUYFc="
    );
}

#[test]
fn putlogs_vectors_p1_to_p3() {
    let encoded = p1_group().encode_to_vec();
    assert_eq!(encoded, hex(P1_HEX));
    assert_eq!(LogGroup::decode(encoded.as_slice()).unwrap(), p1_group());
    // Compare lz4 by decompressing: encoders may differ (sls-putlogs.md §6).
    assert_eq!(
        lz4_flex::block::decompress(&hex(P2_LZ4_HEX), 123).unwrap(),
        encoded
    );

    let headers = |compress: bool, token: bool| {
        let mut h = vec![
            ("x-log-apiversion", "0.6.0"),
            ("x-log-bodyrawsize", "123"),
            ("x-log-signaturemethod", "hmac-sha1"),
            (
                "x-log-date",
                "not signed: the Python SDK adds it after signing",
            ),
        ];
        if compress {
            h.push(("x-log-compresstype", "lz4"));
        }
        if token {
            h.push(("x-acs-security-token", "sts-token-123"));
        }
        h
    };
    let ct = "application/x-protobuf";
    let p1 = string_to_sign(
        "POST",
        "5DF83B29DF64BA25E2DAAA36CAA47D23",
        ct,
        P_DATE,
        headers(false, false),
        "/logstores/demo-logstore/shards/lb",
        &[],
    );
    assert_eq!(
        p1,
        "POST\n5DF83B29DF64BA25E2DAAA36CAA47D23\napplication/x-protobuf\nTue, 14 Nov 2023 22:13:20 GMT\n\
         x-log-apiversion:0.6.0\nx-log-bodyrawsize:123\nx-log-signaturemethod:hmac-sha1\n/logstores/demo-logstore/shards/lb"
    );
    assert_eq!(
        signature("test-secret", &p1),
        "TyJzWAIYB/5oGOUaHIN/xVUcleo="
    );
    let p2 = string_to_sign(
        "POST",
        "F830413E6E50EE10367B95DF7DD22ECD",
        ct,
        P_DATE,
        headers(true, false),
        "/logstores/demo-logstore/shards/lb",
        &[],
    );
    assert_eq!(
        signature("test-secret", &p2),
        "9a7C+Ae5sErqld0ppjr3mVkPosI="
    );
    let p3 = string_to_sign(
        "POST",
        "F830413E6E50EE10367B95DF7DD22ECD",
        ct,
        P_DATE,
        headers(true, true),
        "/logstores/demo-logstore/shards/route",
        &params(&[("key", "7f000000000000000000000000000000")]),
    );
    assert_eq!(
        signature("test-secret", &p3),
        "xg7qHf/en3DTt455pi3LsrVvi+w="
    );
}

fn assert_ok(reply: &Reply) {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let id = reply.header("x-log-requestid").unwrap();
    assert!(
        id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
}

#[test]
fn every_compression_is_accepted_and_stored() {
    let sandbox = start();
    let endpoint = sandbox.sls_endpoint();
    let raw = hex(P1_HEX);
    assert_ok(&PutLogs::new(endpoint, raw.clone()).send().unwrap());
    assert_ok(
        &PutLogs::new(endpoint, raw.clone())
            .compressed("lz4", hex(P2_LZ4_HEX))
            .send()
            .unwrap(),
    );
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&raw).unwrap();
    assert_ok(
        &PutLogs::new(endpoint, raw.clone())
            .compressed("deflate", zlib.finish().unwrap())
            .send()
            .unwrap(),
    );
    let zstd_body = zstd::encode_all(raw.as_slice(), 1).unwrap();
    assert_ok(
        &PutLogs::new(endpoint, raw.clone())
            .compressed("zstd", zstd_body)
            .send()
            .unwrap(),
    );

    // Hash-routed, with the Host form a client connecting to 127.0.0.1 sends.
    let mut routed = PutLogs::new(endpoint, raw.clone());
    routed.host = format!("{SLS_PROJECT}.{endpoint}");
    routed.path = format!("/logstores/{LOGSTORE}/shards/route");
    routed.query = params(&[("key", "7f000000000000000000000000000000")]);
    assert_ok(&routed.send().unwrap());

    assert_eq!(sandbox.log_count(SLS_PROJECT, LOGSTORE), 10);
    // The same two logs five times over; when each arrived is the sandbox's clock, which may
    // tick between two requests, so it is left out of the comparison.
    let logs: Vec<_> = sandbox
        .logs(SLS_PROJECT, LOGSTORE)
        .into_iter()
        .map(|log| StoredLog {
            receive_time: 0,
            ..log
        })
        .collect();
    assert!(logs
        .chunks(2)
        .all(|pair| pair[0] == logs[0] && pair[1] == logs[1]));
    assert_eq!(logs[0].time, 1_700_000_000);
    assert_eq!(logs[0].time_ns, Some(123_456_789));
    assert_eq!(logs[0].get("msg"), Some("hello 世界"));
    assert_eq!(logs[1].get("msg"), Some(""));
    assert_eq!(logs[1].time_ns, None);
    assert_eq!(
        (logs[0].topic.as_str(), logs[0].source.as_str()),
        ("datax", "10.0.0.1")
    );

    // The same logs through the control API and in the JSON-lines file.
    let listed = finish(
        agent()
            .get(&format!(
                "http://{endpoint}/_sandbox/logstores/{SLS_PROJECT}/{LOGSTORE}/logs"
            ))
            .call(),
    )
    .unwrap();
    assert_eq!(listed.json()["count"], 10);
    assert_eq!(listed.json()["logs"].as_array().unwrap().len(), 10);
    assert_eq!(listed.json()["logs"][0]["contents"]["level"], "INFO");
    let first_two = finish(
        agent()
            .get(&format!(
                "http://{endpoint}/_sandbox/logstores/{SLS_PROJECT}/{LOGSTORE}/logs?limit=2"
            ))
            .call(),
    )
    .unwrap();
    assert_eq!(
        first_two.json()["count"],
        10,
        "the total, whatever the limit"
    );
    assert_eq!(first_two.json()["logs"].as_array().unwrap().len(), 2);
    let counts = finish(
        agent()
            .get(&format!("http://{endpoint}/_sandbox/logstores"))
            .call(),
    )
    .unwrap();
    assert_eq!(counts.json()[0]["count"], 10);
    let file = sandbox
        .data_dir()
        .join(SLS_PROJECT)
        .join(format!("{LOGSTORE}.jsonl"));
    assert_eq!(std::fs::read_to_string(file).unwrap().lines().count(), 10);
    let stats = sandbox.stats();
    assert_eq!(stats.put_logs_accepted, 5);
    let first_stored = stats
        .first_logs_accepted_unix_ms
        .expect("set by the first PutLogs");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(now_ms - first_stored < 60_000, "{first_stored} vs {now_ms}");
}

fn sls_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.json()["errorCode"], code, "{}", reply.text());
    assert!(reply.json()["errorMessage"].is_string());
    assert!(reply.header("x-log-requestid").is_some());
}

fn group_with(logs: Vec<Log>) -> Vec<u8> {
    LogGroup {
        logs,
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn errors_are_log_service_shaped() {
    let sandbox = start();
    let endpoint = sandbox.sls_endpoint();
    let raw = hex(P1_HEX);
    let put = || PutLogs::new(endpoint, raw.clone());

    let mut wrong = put();
    wrong.access_key = "wrong";
    sls_error(&wrong.send().unwrap(), 401, "SignatureNotMatch");
    let mut unknown = put();
    unknown.access_id = "unknown";
    sls_error(&unknown.send().unwrap(), 401, "Unauthorized");
    let mut sts = put();
    sts.access_id = STS_ID;
    sts.access_key = STS_KEY;
    sls_error(&sts.send().unwrap(), 401, "Unauthorized");
    sts.security_token = Some(STS_TOKEN);
    assert_ok(&sts.send().unwrap());
    let mut stale = put();
    stale.date = http_date(-16 * 60);
    sls_error(&stale.send().unwrap(), 400, "RequestTimeExpired");
    let mut no_project = put();
    no_project.host = "nope.cn-hangzhou.log.aliyuncs.com".into();
    sls_error(&no_project.send().unwrap(), 404, "ProjectNotExist");
    let mut no_logstore = put();
    no_logstore.path = "/logstores/nope/shards/lb".into();
    sls_error(&no_logstore.send().unwrap(), 404, "LogStoreNotExist");
    let mut bad_key = put();
    bad_key.path = format!("/logstores/{LOGSTORE}/shards/route");
    bad_key.query = params(&[("key", "not-hex")]);
    sls_error(&bad_key.send().unwrap(), 400, "ParameterInvalid");

    let mut bad_md5 = put();
    bad_md5.content_md5 = Some("00000000000000000000000000000000".into());
    sls_error(&bad_md5.send().unwrap(), 400, "ParameterInvalid");
    let mut wrong_size = put();
    wrong_size.raw_size = 100;
    sls_error(&wrong_size.send().unwrap(), 400, "InvalidBodyRawSize");
    let mut huge = put();
    huge.raw_size = 6 * 1024 * 1024;
    sls_error(&huge.send().unwrap(), 400, "PostBodyTooLarge");
    sls_error(
        &put()
            .compressed("lz4", b"\xff\xff\xff".to_vec())
            .send()
            .unwrap(),
        400,
        "PostBodyUncompressError",
    );
    sls_error(
        &put().compressed("snappy", raw.clone()).send().unwrap(),
        400,
        "InvalidCompressType",
    );
    sls_error(
        &PutLogs::new(endpoint, b"\x0a\xff".to_vec()).send().unwrap(),
        400,
        "PostBodyInvalid",
    );

    let log = |time: Option<u32>, key: &str| Log {
        time,
        contents: vec![content(key, "v")],
        time_ns: None,
    };
    sls_error(
        &PutLogs::new(endpoint, group_with(vec![log(None, "k")]))
            .send()
            .unwrap(),
        400,
        "PostBodyInvalid",
    );
    sls_error(
        &PutLogs::new(endpoint, group_with(vec![log(Some(1), "")]))
            .send()
            .unwrap(),
        400,
        "PostBodyInvalid",
    );
    // A key that is not UTF-8 (a protobuf `string`): the group is refused whole.
    let mut not_utf8 = log(Some(1), "k");
    not_utf8.contents[0].key = Some(b"k\xff".to_vec().into());
    sls_error(
        &PutLogs::new(endpoint, group_with(vec![not_utf8]))
            .send()
            .unwrap(),
        400,
        "PostBodyInvalid",
    );
    let too_many = group_with((0..40_961).map(|_| log(Some(1), "k")).collect());
    sls_error(
        &PutLogs::new(endpoint, too_many).send().unwrap(),
        400,
        "PostBodyTooLarge",
    );
    let most = group_with((0..40_960).map(|_| log(Some(1), "k")).collect());
    assert_ok(&PutLogs::new(endpoint, most).send().unwrap());

    assert_eq!(sandbox.log_count(SLS_PROJECT, LOGSTORE), 2 + 40_960);
    let stats = sandbox.stats();
    assert_eq!(stats.count("sls", "SignatureNotMatch"), 1);
    assert_eq!(stats.count("sls", "PostBodyInvalid"), 4);
}

/// Java SDK `SignerV4Test` vectors V1–V3 (sls-putlogs.md §13).
#[test]
fn signature_v4_vectors() {
    use datax_sandbox::sls::auth::{sha256_hex, signature_v4, v4_canonical_request, EMPTY_SHA256};
    let date = "20220808T032330Z";
    let body_hash = sha256_hex(b"adasd= -asd zcas");
    assert_eq!(
        body_hash,
        "c7a4fd95f1d70933caf91641e8000768cea86100dc5649fd4f16fead718a62e4"
    );
    let v1_params = params(&[(" abc", "efg"), (" agc ", ""), ("", "efg"), ("A-bc", "eFg")]);
    fn v1_headers<'a>(hash: &'a str, date: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("hello", "world"),
            ("hello-Text", "a12X- "),
            (" Ko ", ""),
            ("x-log-test", "het123"),
            ("x-acs-ppp", "dds"),
            ("x-log-content-sha256", hash),
            ("x-log-date", date),
        ]
    }
    let body_hash = body_hash.as_str();
    let v1 = v4_canonical_request(
        "POST",
        "/logstores",
        &v1_params,
        v1_headers(body_hash, date),
        body_hash,
    );
    assert_eq!(
        v1,
        format!(
            "POST\n/logstores\n=efg& abc=efg& agc &A-bc=eFg\nx-acs-ppp:dds\nx-log-content-sha256:{body_hash}\n\
             x-log-date:{date}\nx-log-test:het123\n\nx-acs-ppp;x-log-content-sha256;x-log-date;x-log-test\n{body_hash}"
        )
    );
    assert_eq!(
        signature_v4("zxasdasdasw2", "20220808", "cn-hangzhou", date, &v1),
        "a98f5632e93836e63839cd836a54055f480020a9364ca944e2d34f2eb9bf1bed"
    );
    let v3 = v4_canonical_request(
        "POST",
        "/logstores",
        &v1_params,
        v1_headers(EMPTY_SHA256, date),
        EMPTY_SHA256,
    );
    assert_eq!(
        signature_v4("zxasdasdasw2", "20220808", "cn-hangzhou", date, &v3),
        "5a66d8f8051983e0e9d08e0f960ef9252ef971eead5bb5c7acec8617a2eb2701"
    );
}
