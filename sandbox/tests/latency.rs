//! `latency_ms`: every service request waits the simulated round trip, each on its own timer.

mod common;

use std::time::{Duration, Instant};

use common::*;
use datax_sandbox::{Sandbox, SandboxHandle};

const LATENCY: Duration = Duration::from_millis(400);

fn start_with_latency() -> SandboxHandle {
    let mut config = test_config();
    config.latency_ms = LATENCY.as_millis() as u64;
    Sandbox::start(config).unwrap()
}

#[test]
fn every_service_request_waits_the_latency_and_the_control_api_does_not() {
    let sandbox = start_with_latency();
    let started = Instant::now();
    assert_eq!(put_one_log(&sandbox).unwrap().status, 200);
    assert!(started.elapsed() >= LATENCY, "{:?}", started.elapsed());

    let started = Instant::now();
    let path = format!("/projects/{PROJECT}/tables/{TABLE}");
    let session = OdpsRequest::new(
        sandbox.tunnel_endpoint(),
        "POST",
        &path,
        "downloads&partition=pt%3D20161226",
    )
    .send()
    .unwrap();
    assert_eq!(session.status, 200, "{}", session.text());
    assert!(started.elapsed() >= LATENCY, "{:?}", started.elapsed());

    let started = Instant::now();
    let stats = agent()
        .get(&format!("{}/stats", sandbox.control_endpoint()))
        .call()
        .unwrap();
    assert_eq!(stats.status(), 200);
    assert!(started.elapsed() < LATENCY, "{:?}", started.elapsed());
}

/// Eight requests at once on eight connections take about one latency: with the sandbox's
/// two worker threads each blocked per delayed request they would take four.
#[test]
fn requests_in_flight_together_are_delayed_together() {
    let sandbox = start_with_latency();
    let started = Instant::now();
    std::thread::scope(|scope| {
        let senders: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| put_one_log(&sandbox).unwrap().status))
            .collect();
        for sender in senders {
            assert_eq!(sender.join().unwrap(), 200);
        }
    });
    let elapsed = started.elapsed();
    assert!(elapsed >= LATENCY, "{elapsed:?}");
    assert!(elapsed < LATENCY * 2, "serialised: {elapsed:?}");
    assert_eq!(sandbox.log_count(SLS_PROJECT, LOGSTORE), 8);
}
