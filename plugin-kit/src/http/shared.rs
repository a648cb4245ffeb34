//! One HTTP client per plugin job.
//!
//! Ownership: a job makes one [`SharedClient`] from its settings and gives each task it
//! creates a clone of the `Arc` (the job creates its tasks in the same library: nothing
//! crosses the ABI). The reqwest client is built on the first [`SharedClient::get`], so a job
//! whose tasks are all created at its start pays for none until one sends a request. Every
//! `get` returns a clone of that one client: the clones share its connection pool (a task's
//! connection is kept alive for the next task, and the pool holds at most as many
//! connections as requests were in flight at once, about channels × requests per task) and
//! its one runtime thread, which ends when the last clone is dropped.

use std::sync::{Arc, Mutex, PoisonError};

use datax_plugin_api::PluginError;
use reqwest::blocking::{Client, ClientBuilder};

use super::client_builder;

type Configure = dyn Fn(ClientBuilder) -> ClientBuilder + Send + Sync;

/// A job's HTTP client, built on first use and shared by the job and its tasks.
pub struct SharedClient {
    /// The plugin's timeouts and headers over [`client_builder`].
    configure: Box<Configure>,
    built: Mutex<Option<Client>>,
}

impl SharedClient {
    /// A client that `configure` sets up over [`client_builder`] when first asked for.
    pub fn new(
        configure: impl Fn(ClientBuilder) -> ClientBuilder + Send + Sync + 'static,
    ) -> Arc<SharedClient> {
        Arc::new(SharedClient {
            configure: Box::new(configure),
            built: Mutex::new(None),
        })
    }

    /// The job's client (a clone sharing its pool and runtime thread), built now if no one
    /// asked before. A build that fails is tried again by the next call.
    pub fn get(&self) -> Result<Client, PluginError> {
        // A panic elsewhere while holding the lock leaves `None` or a whole client: usable.
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = built.as_ref() {
            return Ok(client.clone());
        }
        let client = (self.configure)(client_builder())
            .build()
            .map_err(|error| PluginError::io(format!("cannot set up the HTTP client: {error}")))?;
        *built = Some(client.clone());
        Ok(client)
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
    fn the_client_is_built_once_on_first_use() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&builds);
        let shared = SharedClient::new(move |builder| {
            counted.fetch_add(1, Ordering::Relaxed);
            builder
        });
        assert_eq!(
            builds.load(Ordering::Relaxed),
            0,
            "nothing built before use"
        );
        shared.get().unwrap();
        shared.get().unwrap();
        assert_eq!(builds.load(Ordering::Relaxed), 1);
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
        let shared = SharedClient::new(|builder| builder.timeout(Duration::from_secs(2)));
        for task in 0..2 {
            let client = shared.get().unwrap();
            let answer = client.get(format!("http://127.0.0.1:{port}/")).send();
            assert_eq!(answer.unwrap().text().unwrap(), "ok", "task {task}");
        }
        server.join().unwrap();
    }
}
