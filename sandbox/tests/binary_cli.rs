//! The `datax-sandbox` binary: `--config`, `--port 0`, `--ports-file`, clean SIGTERM stop,
//! and no secret in its output.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use datax_sandbox::Endpoints;

#[test]
fn binary_serves_the_example_config_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ports_file = dir.path().join("ports.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_datax-sandbox"))
        .arg("--config")
        .arg(common::crate_dir().join("examples/sandbox.json"))
        .args(["--port", "0", "--ports-file"])
        .arg(&ports_file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ports_file.exists() {
        assert!(started.elapsed() < Duration::from_secs(10), "no ports file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let endpoints: Endpoints =
        serde_json::from_str(&std::fs::read_to_string(&ports_file).unwrap()).unwrap();
    assert_eq!(
        endpoints.odps_endpoint,
        format!("http://127.0.0.1:{}/api", endpoints.port)
    );
    let served = common::finish(
        common::agent()
            .get(&format!("{}/endpoints", endpoints.control_endpoint))
            .call(),
    )
    .unwrap()
    .json();
    assert_eq!(served["sls_endpoint"], endpoints.sls_endpoint);
    let discovery = common::OdpsRequest::new(
        &endpoints.odps_endpoint,
        "GET",
        "/projects/aliyun_account/tunnel",
        "service",
    )
    .send()
    .unwrap();
    assert_eq!(discovery.text(), format!("127.0.0.1:{}", endpoints.port));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(exit.success(), "{exit}: {stdout}");
    assert!(stdout.contains("datax-sandbox stopped"), "{stdout}");
    assert!(
        !stdout.contains(common::ACCESS_KEY),
        "secret printed: {stdout}"
    );
    assert!(dir.path().join("data/datax-demo/ak_biz_log.jsonl").exists());
}
