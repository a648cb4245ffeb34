//! The kit's HTTP client trusts the operating system's certificate store, not only the bundled
//! roots (issue 11): a private CA, or a TLS-inspecting proxy's, works once the system trusts it.
//! `SSL_CERT_FILE` stands for the system store here (the OS store's loader reads it, the
//! bundled roots never would), so this test has a process of its own.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use datax_plugin_kit::http::{self, HttpError};
use datax_plugin_kit::retry::NeverCancelled;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

struct PrivateCa {
    pem: String,
    server: rustls::ServerConfig,
}

/// A CA of our own and a server certificate for 127.0.0.1 it signed.
fn private_ca() -> PrivateCa {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "datax-rs test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca_cert, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(server_cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .unwrap();
    PrivateCa {
        pem: ca_cert.pem(),
        server,
    }
}

/// Answers one HTTPS connection on loopback with `200 ok`, a moment after the request, then
/// stops.
fn serve_once(config: rustls::ServerConfig) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, socket);
        let mut request = Vec::new();
        let mut buffer = [0; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            match tls.read(&mut buffer) {
                Ok(0) | Err(_) => return, // the client refused the certificate
                Ok(read) => request.extend_from_slice(&buffer[..read]),
            }
        }
        // Longer than a task's wait on the network between looks at its cancellation: the
        // TLS connection's reads wait in pieces and resume.
        std::thread::sleep(3 * http::CANCEL_CHECK + Duration::from_millis(50));
        let _ =
            tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        let _ = tls.flush();
    });
    (port, server)
}

fn get(port: u16) -> Result<String, HttpError> {
    let config = || http::client_config().timeout_global(Some(Duration::from_secs(10)));
    let request = http::build_client(config).get(format!("https://127.0.0.1:{port}/"));
    let answer = http::send_cancellable(request, &NeverCancelled)?;
    assert!(answer.status().is_success(), "{answer:?}");
    http::text_cancellable(answer, &NeverCancelled)
}

#[test]
fn a_private_ca_trusted_by_the_system_store_is_trusted() {
    let ca = private_ca();
    let folder = std::env::temp_dir().join(format!("datax-os-roots-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let bundle = folder.join("ca.pem");
    std::fs::write(&bundle, &ca.pem).unwrap();

    // An empty store: the bundled roots alone do not know the CA.
    std::env::set_var("SSL_CERT_FILE", folder.join("empty.pem"));
    std::fs::write(folder.join("empty.pem"), "").unwrap();
    let (port, server) = serve_once(ca.server.clone());
    let refused = get(port).expect_err("a CA nobody trusts");
    assert!(
        format!("{refused:?}").contains("UnknownIssuer"),
        "{refused:?}"
    );
    server.join().unwrap();

    std::env::set_var("SSL_CERT_FILE", &bundle);
    let (port, server) = serve_once(ca.server);
    assert_eq!(get(port).unwrap(), "ok");
    server.join().unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
}
