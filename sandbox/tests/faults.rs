//! The fault plan: injected errors, dropped connections, delays, damaged tunnel bodies and
//! dropped PutLogs replies, set from the config, the Rust API or the control endpoint.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::*;
use datax_sandbox::odps::codec::{decode_records, DecodeError};
use datax_sandbox::{FaultAction, FaultRule, FaultTarget, Sandbox, SandboxHandle};

fn rule(target: FaultTarget, action: FaultAction, count: Option<u64>) -> FaultRule {
    FaultRule {
        target,
        path_contains: None,
        action,
        count,
        probability: None,
        seed: 0,
    }
}

/// Opens a session on the 10-row table and fetches all of it.
fn fetch_detail(sandbox: &SandboxHandle, accept: Option<&str>) -> Result<Reply, NoReply> {
    detail_request(sandbox, accept).send()
}

/// A session on the 10-row table and the request for all of it.
fn detail_request<'a>(sandbox: &'a SandboxHandle, accept: Option<&'a str>) -> OdpsRequest<'a> {
    let tunnel = sandbox.tunnel_endpoint();
    let path = format!("/projects/{PROJECT}/tables/{TABLE}");
    let session = OdpsRequest::new(tunnel, "POST", &path, "downloads&partition=pt%3D20161226")
        .send()
        .unwrap()
        .json();
    let id = session["DownloadID"].as_str().unwrap();
    let mut request = OdpsRequest::new(
        tunnel,
        "GET",
        &path,
        &format!("data&downloadid={id}&rowrange=%280%2C10%29"),
    );
    if let Some(accept) = accept {
        request = request.header("Accept-Encoding", accept);
    }
    request
}

#[test]
fn error_for_the_next_k_requests_then_recovery() {
    let sandbox = start();
    sandbox.set_faults(vec![rule(
        FaultTarget::Sls,
        FaultAction::Error {
            status: 503,
            code: "ServerBusy".into(),
            message: String::new(),
        },
        Some(2),
    )]);
    for _ in 0..2 {
        let reply = put_one_log(&sandbox).unwrap();
        assert_eq!(reply.status, 503);
        assert_eq!(reply.json()["errorCode"], "ServerBusy");
        assert!(reply.header("x-log-requestid").is_some());
    }
    assert_eq!(put_one_log(&sandbox).unwrap().status, 200);
    assert!(sandbox.faults().is_empty());
    let stats = sandbox.stats();
    assert_eq!(stats.faults_injected, 2);
    assert_eq!(stats.count("sls", "ServerBusy"), 2);
    assert_eq!(stats.logs_accepted, 1);
}

#[test]
fn tunnel_errors_use_the_tunnel_shape_and_spare_other_targets() {
    let sandbox = start();
    sandbox.set_faults(vec![rule(
        FaultTarget::TunnelData,
        FaultAction::Error {
            status: 429,
            code: "FlowExceeded".into(),
            message: "slow down".into(),
        },
        Some(1),
    )]);
    let reply = fetch_detail(&sandbox, None).unwrap();
    assert_eq!(reply.status, 429);
    assert_eq!(reply.json()["Code"], "FlowExceeded");
    assert_eq!(reply.json()["Message"], "slow down");
    assert_eq!(fetch_detail(&sandbox, None).unwrap().status, 200);
}

#[test]
fn close_without_reply_and_delay() {
    let sandbox = start();
    sandbox.set_faults(vec![
        rule(FaultTarget::Sls, FaultAction::Close, Some(1)),
        rule(
            FaultTarget::Sls,
            FaultAction::Delay { millis: 300 },
            Some(1),
        ),
    ]);
    let closed = put_one_log(&sandbox);
    assert!(closed.is_err(), "{:?}", closed.map(|r| r.status));
    let started = Instant::now();
    assert_eq!(put_one_log(&sandbox).unwrap().status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(sandbox.stats().count("sls", "fault:close"), 1);
}

#[test]
fn truncated_and_flipped_bodies_are_caught_by_the_reader() {
    let sandbox = start();
    let types = detail_types();
    sandbox.set_faults(vec![
        rule(
            FaultTarget::TunnelData,
            FaultAction::TruncateBody { after_bytes: 100 },
            Some(1),
        ),
        rule(
            FaultTarget::TunnelData,
            FaultAction::FlipByte { offset: 4 },
            Some(1),
        ),
        rule(
            FaultTarget::TunnelData,
            FaultAction::TruncateBody { after_bytes: 150 },
            Some(1),
        ),
    ]);
    let truncated = fetch_detail(&sandbox, None).unwrap();
    assert_eq!(truncated.status, 200);
    assert_eq!(truncated.body.len(), 100);
    assert!(decode_records(&truncated.body, &types).is_err());

    let flipped = fetch_detail(&sandbox, None).unwrap();
    assert!(matches!(
        decode_records(&flipped.body, &types),
        Err(DecodeError::RecordCrc { record: 0, .. })
    ));

    // Damage is applied before compression, so the body still inflates.
    let compressed = fetch_detail(&sandbox, Some("deflate")).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::ZlibDecoder::new(compressed.body.as_slice()),
        &mut raw,
    )
    .unwrap();
    assert_eq!(raw.len(), 150);
    assert!(decode_records(&raw, &types).is_err());

    let intact = fetch_detail(&sandbox, None).unwrap();
    assert_eq!(decode_records(&intact.body, &types).unwrap().len(), 10);
    let stats = sandbox.stats();
    assert_eq!(stats.count("tunnel", "fault:truncate_body"), 2);
    assert_eq!(stats.count("tunnel", "fault:flip_byte"), 1);
    assert_eq!(stats.faults_injected, 3);
}

#[test]
fn aborted_body_breaks_the_connection_mid_stream() {
    let sandbox = start();
    sandbox.set_faults(vec![rule(
        FaultTarget::TunnelData,
        FaultAction::AbortBody { after_bytes: 100 },
        Some(2),
    )]);
    assert!(fetch_detail(&sandbox, None).is_err());
    assert!(fetch_detail(&sandbox, Some("deflate")).is_err());
    assert_eq!(fetch_detail(&sandbox, None).unwrap().status, 200);
    assert_eq!(sandbox.stats().count("tunnel", "fault:abort_body"), 2);
}

#[test]
fn stalled_body_sends_its_start_then_nothing_until_the_client_goes_away() {
    let sandbox = start();
    sandbox.set_faults(vec![rule(
        FaultTarget::TunnelData,
        FaultAction::StallBody { after_bytes: 100 },
        Some(1),
    )]);
    let impatient = ureq::AgentBuilder::new()
        .timeout_read(Duration::from_millis(500))
        .build();
    let response = detail_request(&sandbox, None).call(&impatient).unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_reader();
    let mut start = [0u8; 100];
    body.read_exact(&mut start).unwrap();
    let waited = Instant::now();
    let stalled = body.read(&mut [0u8; 1]);
    assert!(stalled.is_err(), "{stalled:?}");
    assert!(waited.elapsed() >= Duration::from_millis(400));
    drop(body);
    assert_eq!(fetch_detail(&sandbox, None).unwrap().status, 200);
    assert_eq!(sandbox.stats().count("tunnel", "fault:stall_body"), 1);
    // The stalled writer ended with the client: stopping does not wait out its 2 s grace.
    let stopping = Instant::now();
    drop(sandbox);
    assert!(
        stopping.elapsed() < Duration::from_secs(1),
        "{:?}",
        stopping.elapsed()
    );
}

#[test]
fn dropped_putlogs_reply_makes_countable_duplicates() {
    let sandbox = start();
    sandbox.set_faults(vec![rule(
        FaultTarget::Sls,
        FaultAction::DropReply,
        Some(1),
    )]);
    let first = put_one_log(&sandbox);
    assert!(first.is_err(), "the reply must be dropped");
    // The client retries; the service does not deduplicate.
    assert_eq!(put_one_log(&sandbox).unwrap().status, 200);
    let logs = sandbox.logs(SLS_PROJECT, LOGSTORE);
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0], logs[1]);
    let stats = sandbox.stats();
    assert_eq!(stats.put_logs_accepted, 2);
    assert_eq!(stats.count("sls", "fault:drop_reply"), 1);
}

fn failures_with_probability(seed: u64) -> Vec<bool> {
    let mut config = test_config();
    config.faults = vec![FaultRule {
        probability: Some(0.5),
        seed,
        ..rule(
            FaultTarget::Odps,
            FaultAction::Error {
                status: 500,
                code: "InternalServerError".into(),
                message: String::new(),
            },
            None,
        )
    }];
    let sandbox = Sandbox::start(config).unwrap();
    (0..20)
        .map(|_| {
            OdpsRequest::new(
                sandbox.odps_endpoint(),
                "GET",
                &format!("/projects/{PROJECT}"),
                "",
            )
            .send()
            .unwrap()
            .status
                == 500
        })
        .collect()
}

#[test]
fn probability_is_seeded_and_configurable_at_start() {
    let first = failures_with_probability(42);
    assert_eq!(first, failures_with_probability(42));
    let failures = first.iter().filter(|f| **f).count();
    assert!((3..=17).contains(&failures), "{first:?}");
    assert_ne!(first, failures_with_probability(43));
}

#[test]
fn control_endpoint_sets_lists_and_clears_faults() {
    let sandbox = start();
    let control = sandbox.control_endpoint();
    let plan = r#"{"rules": [{"target": "tunnel", "path_contains": "all_types",
        "action": {"type": "error", "status": 500, "code": "InternalServerError"}, "count": 3}]}"#;
    let set = finish(agent().put(&format!("{control}/faults")).send_string(plan)).unwrap();
    assert_eq!(set.status, 200, "{}", set.text());
    assert_eq!(sandbox.faults()[0].count, Some(3));
    // Only the matching path is hit.
    let path = format!("/projects/{PROJECT}/tables/all_types");
    let reply = OdpsRequest::new(sandbox.tunnel_endpoint(), "POST", &path, "downloads")
        .send()
        .unwrap();
    assert_eq!(reply.json()["Code"], "InternalServerError");
    assert!(fetch_detail(&sandbox, None).unwrap().status == 200);
    let listed = finish(agent().get(&format!("{control}/faults")).call())
        .unwrap()
        .json();
    assert_eq!(listed[0]["count"], 2);
    let bad = finish(
        agent()
            .put(&format!("{control}/faults"))
            .send_string("{\"rules\": 1}"),
    )
    .unwrap();
    assert_eq!(bad.status, 400);
    finish(agent().delete(&format!("{control}/faults")).call()).unwrap();
    assert!(sandbox.faults().is_empty());
    let stats = finish(agent().get(&format!("{control}/stats")).call())
        .unwrap()
        .json();
    assert_eq!(stats["faults_injected"], 1);
    assert_eq!(stats["requests"]["tunnel"]["InternalServerError"], 1);
}
