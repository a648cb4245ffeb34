//! Against servers on loopback that each serve one connection and stop by themselves.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use super::*;

/// A server for one connection: reads the request head, then does `answer` with the socket.
fn serve_once(answer: impl FnOnce(std::net::TcpStream) + Send + 'static) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        answer(socket);
    });
    (port, server)
}

fn client() -> Client {
    build_client(|| client_config().timeout_global(Some(Duration::from_millis(500))))
}

/// A client that gives up on a request after 10 s.
fn patient_client() -> Client {
    build_client(|| client_config().timeout_global(Some(Duration::from_secs(10))))
}

fn get(url: &str) -> Result<Response, HttpError> {
    send_on_this_thread(client().get(url), &crate::retry::NeverCancelled)
}

fn text(response: Response) -> String {
    text_cancellable(response, &crate::retry::NeverCancelled).unwrap()
}

/// The text of a 200 answer carrying `body`, fetched from `localhost` (through the resolver).
fn text_of_answer(body: &'static [u8]) -> String {
    let (port, server) = serve_once(move |mut socket| {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).unwrap();
        socket.write_all(body).unwrap();
    });
    let response = get(&format!("http://localhost:{port}/")).unwrap();
    let text = text(response);
    server.join().unwrap();
    text
}

#[test]
fn an_answer_comes_back_through_the_resolver() {
    assert_eq!(text_of_answer(b"ok"), "ok");
}

#[test]
fn an_answer_that_is_not_utf8_reads_as_lossy_text() {
    assert_eq!(text_of_answer(b"ok\xff!"), "ok\u{fffd}!");
}

#[test]
fn a_refused_connection_is_a_connect_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = get(&format!("http://127.0.0.1:{port}/")).unwrap_err();
    match &error {
        HttpError::Transport { kind, message } => {
            assert_eq!(*kind, TransportKind::Connect);
            assert!(message.starts_with("cannot connect: "), "{message}");
            assert!(message.contains("refused"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_connection_closed_without_an_answer_is_closed() {
    let (port, server) = serve_once(drop);
    let error = get(&format!("http://127.0.0.1:{port}/")).unwrap_err();
    assert!(
        matches!(
            error,
            HttpError::Transport {
                kind: TransportKind::Closed,
                ..
            }
        ),
        "{error:?}"
    );
    server.join().unwrap();
}

#[test]
fn no_answer_in_time_is_a_timeout() {
    let (port, server) = serve_once(|socket| {
        std::thread::sleep(Duration::from_millis(1500));
        drop(socket);
    });
    let error = get(&format!("http://127.0.0.1:{port}/")).unwrap_err();
    assert!(
        matches!(
            error,
            HttpError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{error:?}"
    );
    server.join().unwrap();
}

#[test]
fn an_unknown_host_is_found_by_its_error_type() {
    let client = client::client_resolving_by(client_config, resolve::unknown_host_for_tests);
    let error = send_on_this_thread(
        client.get("http://no-such-host.example:1/"),
        &crate::retry::NeverCancelled,
    )
    .unwrap_err();
    match error {
        HttpError::UnknownHost { host, message } => {
            assert_eq!(host, "no-such-host.example");
            assert!(
                message.contains("unknown host no-such-host.example"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn service_errors_read_as_code_status_message_and_request_id() {
    let mut service = ServiceError {
        status: 503,
        code: "ServerBusy".to_string(),
        message: "try later".to_string(),
        request_id: Some("42".to_string()),
    };
    assert_eq!(
        HttpError::Service(service.clone()).to_string(),
        "ServerBusy (HTTP 503): try later (request id 42)"
    );
    service.request_id = None;
    let error = HttpError::Service(service);
    assert_eq!(error.to_string(), "ServerBusy (HTTP 503): try later");
    assert_eq!(
        (error.status(), error.code()),
        (Some(503), Some("ServerBusy"))
    );
}

#[test]
fn the_cause_chain_names_each_cause_once() {
    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] Middle);
    #[derive(Debug, thiserror::Error)]
    #[error("connection reset: {0}")]
    struct Middle(#[source] std::io::Error);
    let error = Outer(Middle(std::io::Error::other("peer gone")));
    assert_eq!(
        cause_chain(&error),
        "error sending request: connection reset: peer gone"
    );
}

/// Cancelled once `after` has passed since it was made.
struct CancelledAfter(std::time::Instant);

impl crate::retry::Cancellation for CancelledAfter {
    fn wait_cancelled(&self, duration: Duration) -> bool {
        let now = std::time::Instant::now();
        if now >= self.0 {
            return true;
        }
        std::thread::sleep(duration.min(self.0 - now));
        std::time::Instant::now() >= self.0
    }
}

#[test]
fn a_cancelled_task_stops_waiting_for_an_answer_at_once() {
    // The server holds the request for 3 s; the task is cancelled after 300 ms.
    let (port, server) = serve_once(|socket| {
        std::thread::sleep(Duration::from_secs(3));
        drop(socket);
    });
    assert_send_cancelled_after_300_ms(port);
    server.join().unwrap();
}

#[test]
fn a_cancelled_task_stops_waiting_for_the_answer_to_an_upload_at_once() {
    // An upload runs on a pool thread; the server holds it for 3 s.
    let (port, server) = serve_once(|socket| {
        std::thread::sleep(Duration::from_secs(3));
        drop(socket);
    });
    assert_cancelled_after_300_ms(
        patient_client()
            .post(format!("http://127.0.0.1:{port}/"))
            .body(vec![7u8; 1000]),
    );
    server.join().unwrap();
}

#[test]
fn an_answer_before_cancellation_is_returned_whole() {
    let (port, server) = serve_once(|mut socket| {
        std::thread::sleep(Duration::from_millis(250));
        socket
            .write_all(b"HTTP/1.1 503 Busy\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy")
            .unwrap();
    });
    let request = client().get(format!("http://127.0.0.1:{port}/"));
    let response = send_cancellable(request, &crate::retry::NeverCancelled).unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(text(response), "busy");
    server.join().unwrap();
    // Already cancelled: nothing is sent.
    let cancelled = CancelledAfter(std::time::Instant::now());
    let request = client().get("http://127.0.0.1:9/");
    assert!(matches!(
        send_cancellable(request, &cancelled),
        Err(HttpError::Transport {
            kind: TransportKind::Cancelled,
            ..
        })
    ));
}

#[test]
fn a_request_sent_in_the_background_makes_its_round_trip_while_the_caller_works() {
    // The server answers 400 ms after the request came.
    let (port, server) = serve_once(|mut socket| {
        std::thread::sleep(Duration::from_millis(400));
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .unwrap();
    });
    let client = patient_client();
    let started = std::time::Instant::now();
    let pending = send_in_background(client.get(format!("http://127.0.0.1:{port}/"))).unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "returned before the answer: {:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(1000)); // the caller's other work
    let waiting = std::time::Instant::now();
    let response = pending.wait(&crate::retry::NeverCancelled).unwrap();
    assert!(
        waiting.elapsed() < Duration::from_millis(300),
        "the answer had come meanwhile: {:?}",
        waiting.elapsed()
    );
    assert_eq!(text(response), "ok");
    server.join().unwrap();
}

#[test]
fn a_cancelled_task_stops_waiting_for_a_body_that_stalls_after_its_headers() {
    // Headers and more of a body than comes with them, then nothing for 3 s.
    let (port, server) = serve_once(|mut socket| {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            2 * READ_WITH_HEADERS
        );
        socket.write_all(head.as_bytes()).unwrap();
        socket.write_all(&[b'.'; READ_WITH_HEADERS]).unwrap();
        socket.write_all(b"hello").unwrap();
        std::thread::sleep(Duration::from_secs(3));
    });
    let client = patient_client();
    let started = std::time::Instant::now();
    let cancellation = CancelledAfter(started + Duration::from_millis(300));
    let request = client.get(format!("http://127.0.0.1:{port}/"));
    let response = send_cancellable(request, &cancellation).unwrap();
    let mut body = cancellable_body(response, &cancellation).unwrap();
    let mut start = vec![0u8; READ_WITH_HEADERS + 5];
    body.read_exact(&mut start).unwrap();
    assert!(start.ends_with(b".hello"));
    let error = body.read(&mut [0u8; 5]).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            error.get_ref().and_then(|inner| inner.downcast_ref()),
            Some(HttpError::Transport {
                kind: TransportKind::Cancelled,
                ..
            })
        ),
        "{error:?}"
    );
    assert!(
        took < Duration::from_millis(300) + 2 * CANCEL_CHECK,
        "{took:?}"
    );
    server.join().unwrap();
}

#[test]
fn a_body_longer_than_what_comes_with_its_headers_comes_whole_and_in_order() {
    let sent: Vec<u8> = (0..5 * READ_WITH_HEADERS + 123)
        .map(|i| (i % 251) as u8)
        .collect();
    let answer = sent.clone();
    let (port, server) = serve_once(move |mut socket| {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        socket.write_all(head.as_bytes()).unwrap();
        socket.write_all(&answer).unwrap();
    });
    let never = crate::retry::NeverCancelled;
    let request = client().get(format!("http://127.0.0.1:{port}/"));
    let response = send_cancellable(request, &never).unwrap();
    let mut received = Vec::new();
    cancellable_body(response, &never)
        .unwrap()
        .read_to_end(&mut received)
        .unwrap();
    assert!(
        received == sent,
        "{} of {} bytes",
        received.len(),
        sent.len()
    );
    server.join().unwrap();
    // A body cut short is an error, not an end.
    let (port, server) = serve_once(|mut socket| {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            2 * READ_WITH_HEADERS
        );
        socket.write_all(head.as_bytes()).unwrap();
        socket.write_all(&[b'.'; READ_WITH_HEADERS + 5]).unwrap();
    });
    let request = client().get(format!("http://127.0.0.1:{port}/"));
    let response = send_cancellable(request, &never).unwrap();
    server.join().unwrap();
    assert!(text_cancellable(response, &never).is_err());
}

#[test]
fn a_small_body_comes_with_its_headers_and_reads_whole() {
    let (port, server) = serve_once(|mut socket| {
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-id: 7\r\n\r\nhello")
            .unwrap();
    });
    let never = crate::retry::NeverCancelled;
    let request = client().get(format!("http://127.0.0.1:{port}/"));
    let response = send_cancellable(request, &never).unwrap();
    server.join().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-id"], "7");
    let mut body = cancellable_body(response, &never).unwrap();
    let mut received = Vec::new();
    body.read_to_end(&mut received).unwrap();
    assert_eq!(received, b"hello");
    assert_eq!(
        body.read(&mut [0u8; 4]).unwrap(),
        0,
        "the end stays the end"
    );
}

#[test]
fn a_small_chunked_body_comes_with_its_headers() {
    // The whole body, then the connection stays open (kept alive) for a second.
    let (port, server) = serve_once(|mut socket| {
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            )
            .unwrap();
        std::thread::sleep(Duration::from_secs(1));
    });
    let request = client().get(format!("http://127.0.0.1:{port}/"));
    let response = send_cancellable(request, &crate::retry::NeverCancelled).unwrap();
    // In memory: read whole even by a task that stops now.
    let stopping = CancelledAfter(std::time::Instant::now());
    let mut received = Vec::new();
    cancellable_body(response, &stopping)
        .unwrap()
        .read_to_end(&mut received)
        .unwrap();
    assert_eq!(received, b"hello");
    server.join().unwrap();
}

#[test]
fn a_small_body_cut_short_or_stalled_is_the_sends_error() {
    let never = crate::retry::NeverCancelled;
    // Cut short: the connection closes after 5 of 10 bytes.
    let (port, server) = serve_once(|mut socket| {
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello")
            .unwrap();
    });
    let request = client().get(format!("http://127.0.0.1:{port}/"));
    let error = send_cancellable(request, &never).unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(
            error,
            HttpError::Transport {
                kind: TransportKind::Closed | TransportKind::Timeout,
                ..
            }
        ),
        "{error:?}"
    );
    // Stalled: nothing after the 5 bytes for 3 s; the task is cancelled after 300 ms.
    let (port, server) = serve_once(|mut socket| {
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello")
            .unwrap();
        std::thread::sleep(Duration::from_secs(3));
    });
    assert_send_cancelled_after_300_ms(port);
    server.join().unwrap();
}

/// Sends a GET to the server on `port` (which holds its answer for seconds) from a task
/// cancelled after 300 ms: see [`assert_cancelled_after_300_ms`].
fn assert_send_cancelled_after_300_ms(port: u16) {
    assert_cancelled_after_300_ms(patient_client().get(format!("http://127.0.0.1:{port}/")));
}

/// Sends `request` (to a server that holds its answer for seconds) from a task cancelled
/// after 300 ms: the send ends cancelled, within one cancellation check of it.
fn assert_cancelled_after_300_ms(request: RequestBuilder) {
    let started = std::time::Instant::now();
    let cancellation = CancelledAfter(started + Duration::from_millis(300));
    let error = send_cancellable(request, &cancellation).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            error,
            HttpError::Transport {
                kind: TransportKind::Cancelled,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        took < Duration::from_millis(300) + 2 * CANCEL_CHECK,
        "{took:?}"
    );
}
