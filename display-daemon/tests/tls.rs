//! Following a kiosk over `https://`: a loopback TLS server made here with
//! certificates from rcgen (a center CA and the kiosk's certificate signed
//! by it), the daemon trusting that CA through `ca_file`, and a certificate
//! from another CA refused with an error that names the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use display_daemon::http::{BaseUrl, Client, HttpError};
use display_daemon::Change;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// How long any wait of these tests may last before it fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// A CA: its certificate (PEM) and what signs with it.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn make_ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// The kiosk's certificate for 127.0.0.1, signed by `ca`, and its key.
fn kiosk_cert(ca: &Ca) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "kiosk.test");
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.der().clone(), key)
}

/// A kiosk on loopback over TLS with `cert`: every connection whose
/// handshake succeeds gets `GET /api/v1/events` answered with one snapshot
/// (`last_seq` 7) and is then held open, as the real stream is. The
/// request heads it read are sent on the returned channel.
async fn tls_kiosk(
    cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::task::JoinHandle<()>,
) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.0], cert.1)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (heads_tx, heads_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let heads_tx = heads_tx.clone();
            held.push(tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let _ = heads_tx.send(String::from_utf8_lossy(&head).into_owned());
                let snapshot = r#"{"last_seq":7,"center":"Trung tâm Hành chính công","service_day":null,"counters":[],"departments":[],"last_calls":[]}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 7\nevent: snapshot\ndata: {snapshot}\n\n"
                );
                if tls.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
                let _ = tls.flush().await;
                // Held open until the test ends the server.
                let mut rest = [0u8; 64];
                while matches!(tls.read(&mut rest).await, Ok(n) if n > 0) {}
            }));
        }
    });
    (addr, heads_rx, server)
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_follows_the_stream_over_https_trusting_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca("Test center CA");
    let ca_file = write_file(dir.path(), "center-ca.pem", &ca.pem);
    let (addr, mut heads, server) = tls_kiosk(kiosk_cert(&ca)).await;

    let text = format!(
        "kiosk_url = \"https://{addr}\"\nca_file = \"{}\"\ntoken = \"display-token\"\nlisten = \"127.0.0.1:0\"\n[voice]\nenabled = false\n",
        ca_file.display()
    );
    let config = kiosk_config::parse_display(&text, "display.toml")
        .unwrap()
        .value;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let daemon = display_daemon::start(config, listener).await.unwrap();
    let mut changes = daemon.shared().changes();
    let snapshot_seen = tokio::time::timeout(DEADLINE, async {
        loop {
            if daemon.shared().state().last_seq == 7 {
                return;
            }
            match changes.recv().await {
                Ok(Change::Snapshot { last_seq: 7, .. }) => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("changes ended: {e}"),
            }
        }
    })
    .await;
    assert!(
        snapshot_seen.is_ok(),
        "the snapshot sent over TLS never reached the state"
    );
    let head = heads.recv().await.unwrap().to_ascii_lowercase();
    assert!(
        head.starts_with("get /api/v1/events http/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains("authorization: bearer display-token\r\n"));

    daemon.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_naming_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = make_ca("Test center CA");
    let ca_file = write_file(dir.path(), "center-ca.pem", &trusted.pem);
    let stranger = make_ca("Someone else's CA");
    let (addr, mut heads, server) = tls_kiosk(kiosk_cert(&stranger)).await;

    let base = BaseUrl::parse(&format!("https://{addr}")).unwrap();
    let client = Client::with_ca_file(base, Some(&ca_file)).unwrap();
    let err = tokio::time::timeout(DEADLINE, client.request("GET", "/api/v1/events", &[], &[]))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, HttpError::Tls { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&addr.to_string()), "{message}");
    assert!(
        message.contains(&ca_file.display().to_string()),
        "{message}"
    );
    assert!(message.contains("set ca_file"), "{message}");
    // Nothing was sent over a connection the client did not trust.
    assert!(heads.try_recv().is_err());
    server.abort();
}

#[tokio::test]
async fn an_https_client_without_a_ca_trusts_no_one() {
    let ca = make_ca("Test center CA");
    let (addr, _heads, server) = tls_kiosk(kiosk_cert(&ca)).await;
    let base = BaseUrl::parse(&format!("https://{addr}")).unwrap();
    let err = tokio::time::timeout(
        DEADLINE,
        Client::new(base).request("GET", "/api/v1/events", &[], &[]),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(matches!(err, HttpError::Tls { .. }), "{err:?}");
    server.abort();
}

#[tokio::test]
async fn a_ca_file_that_is_missing_or_not_pem_stops_the_daemon_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let base = BaseUrl::parse("https://127.0.0.1:8443").unwrap();
    let missing = dir.path().join("missing.pem");
    let err = Client::with_ca_file(base.clone(), Some(&missing)).unwrap_err();
    assert!(matches!(err, HttpError::CaFile { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    let garbage = write_file(dir.path(), "notes.txt", "not a certificate\n");
    let err = Client::with_ca_file(base, Some(&garbage)).unwrap_err();
    assert!(
        err.to_string().contains("notes.txt") && err.to_string().contains("no certificate"),
        "{err}"
    );

    let text = format!(
        "kiosk_url = \"https://127.0.0.1:8443\"\nca_file = \"{}\"\ntoken = \"t\"\nlisten = \"127.0.0.1:0\"\n[voice]\nenabled = false\n",
        missing.display()
    );
    let config = kiosk_config::parse_display(&text, "display.toml")
        .unwrap()
        .value;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = display_daemon::start(config, listener).await.unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
}
