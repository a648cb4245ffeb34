//! A plugin's requests go through the proxy the environment names for their scheme:
//! `HTTP_PROXY` carries a plain `http://` request, `HTTPS_PROXY` does not. The variables are
//! the process's, so this test has a process of its own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use datax_plugin_kit::http;
use datax_plugin_kit::retry::NeverCancelled;

/// Reads one request head from `socket`; its first line.
fn request_line(socket: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    head.lines().next().unwrap_or_default().to_string()
}

#[test]
fn a_plain_http_request_goes_through_http_proxy_not_https_proxy() {
    // A proxy on loopback for one connection: a tunnel (CONNECT) or a forwarded request, then
    // one answer; it hands back the request lines it saw.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut lines = vec![request_line(&mut socket)];
        if lines[0].starts_with("CONNECT ") {
            socket
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            lines.push(request_line(&mut socket));
        }
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nvia proxy",
            )
            .unwrap();
        lines
    });
    std::env::set_var("HTTP_PROXY", format!("http://127.0.0.1:{port}"));
    // Nothing listens on port 9: a request sent there would fail.
    std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9");
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    let client =
        http::build_client(|| http::client_config().timeout_global(Some(Duration::from_secs(10))));
    let request = client.get("http://odps.datax-proxy-test.invalid/api/projects");
    let answer = http::send_on_this_thread(request, &NeverCancelled).unwrap();
    assert_eq!(
        http::text_cancellable(answer, &NeverCancelled).unwrap(),
        "via proxy"
    );
    let lines = proxy.join().unwrap();
    assert!(
        lines
            .iter()
            .any(|line| line.contains("odps.datax-proxy-test.invalid")),
        "the proxy was asked for the endpoint: {lines:?}"
    );
}
