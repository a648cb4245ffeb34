//! One HTTP client per plugin job.
//!
//! Ownership: a job makes one [`SharedClient`] from its settings and gives each task it
//! creates a clone of the `Arc` (the job creates its tasks in the same library: nothing
//! crosses the ABI). The client is built on the first [`SharedClient::get`], so a job whose
//! tasks are all created at its start pays for none until one sends a request. Every `get`
//! returns a clone of that one client: the clones share its connection pool (a task's
//! connection is kept alive for the next task; the pool keeps at most
//! [`super::IDLE_CONNECTIONS_PER_HOST`] idle connections per host). The client has no thread
//! of its own: each request runs on the thread that sends it.

use std::sync::{Arc, Mutex, PoisonError};

use super::client::{build_client, client_config, Client, ClientConfig};

type Configure = dyn Fn(ClientConfig) -> ClientConfig + Send + Sync;

/// A job's HTTP client, built on first use and shared by the job and its tasks.
pub struct SharedClient {
    /// The plugin's timeouts and user agent over [`client_config`].
    configure: Arc<Configure>,
    built: Mutex<Option<Client>>,
}

impl SharedClient {
    /// A client that `configure` sets up over [`client_config`] when first asked for.
    pub fn new(
        configure: impl Fn(ClientConfig) -> ClientConfig + Send + Sync + 'static,
    ) -> Arc<SharedClient> {
        Arc::new(SharedClient {
            configure: Arc::new(configure),
            built: Mutex::new(None),
        })
    }

    /// The job's client (a clone sharing its pool), built now if no one asked before.
    pub fn get(&self) -> Client {
        // A panic elsewhere while holding the lock leaves `None` or a whole client: usable.
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        let client = built.get_or_insert_with(|| {
            let configure = Arc::clone(&self.configure);
            build_client(move || configure(client_config()))
        });
        client.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_scheme_is_set_up_once_on_first_use() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&builds);
        let shared = SharedClient::new(move |config| {
            counted.fetch_add(1, Ordering::Relaxed);
            config
        });
        assert_eq!(
            builds.load(Ordering::Relaxed),
            0,
            "nothing built before use"
        );
        shared.get().get("http://127.0.0.1:9/");
        assert_eq!(
            builds.load(Ordering::Relaxed),
            1,
            "http set up, https not yet"
        );
        shared.get().get("https://127.0.0.1:9/");
        assert_eq!(
            builds.load(Ordering::Relaxed),
            2,
            "https set up on its first request"
        );
        shared.get().get("https://127.0.0.1:9/");
        shared.get().get("http://127.0.0.1:9/");
        assert_eq!(builds.load(Ordering::Relaxed), 2, "neither again");
    }

    /// The server keeps one connection and answers two requests on it: a second client that
    /// opened a connection of its own would get no answer.
    #[test]
    fn tasks_reuse_one_kept_alive_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            for _ in 0..2 {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
            }
        });
        let shared =
            SharedClient::new(|config| config.timeout_global(Some(Duration::from_secs(2))));
        for task in 0..2 {
            let request = shared.get().get(format!("http://127.0.0.1:{port}/"));
            let answer =
                crate::http::send_on_this_thread(request, &crate::retry::NeverCancelled).unwrap();
            let text = crate::http::text_cancellable(answer, &crate::retry::NeverCancelled);
            assert_eq!(text.unwrap(), "ok", "task {task}");
        }
        server.join().unwrap();
    }
}
