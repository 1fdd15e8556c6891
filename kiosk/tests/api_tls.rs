//! HTTPS: the API over TLS with a certificate from a small test CA (made
//! here with rcgen), `Secure` session cookies, `kiosk report` trusting the
//! CA file, and no plain HTTP on the TLS port.

mod api_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use api_support::{Setup, TestKiosk, PASSWORD};
use kiosk::api::ApiOptions;
use kiosk::commands::report::fetch_report_from;
use queue_store::report::ReportRequest;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A CA and a kiosk certificate for `localhost` and 127.0.0.1, as PEM files
/// in `dir`: (CA certificate, kiosk certificate chain, kiosk key).
fn make_certificates(dir: &Path, ca_name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let mut kiosk =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    kiosk
        .distinguished_name
        .push(DnType::CommonName, "kiosk.trung-tam.lan");
    let kiosk_key = KeyPair::generate().unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let kiosk_cert = kiosk.signed_by(&kiosk_key, &issuer).unwrap();
    let ca_file = dir.join(format!("{ca_name}.crt"));
    let cert_file = dir.join("kiosk.crt");
    let key_file = dir.join("kiosk.key");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    std::fs::write(&cert_file, kiosk_cert.pem() + &ca_cert.pem()).unwrap();
    std::fs::write(&key_file, kiosk_key.serialize_pem()).unwrap();
    (ca_file, cert_file, key_file)
}

/// One HTTPS request (blocking), trusting only `ca_file`; the raw answer.
fn https(addr: std::net::SocketAddr, ca_file: &Path, request: &str) -> String {
    let config = lan_server::tls::client_config(ca_file).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut stream = rustls::StreamOwned::new(connection, TcpStream::connect(addr).unwrap());
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(err) => panic!("reading the answer: {err}"),
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_speaks_https_with_secure_cookies_and_the_report_trusts_the_ca_file() {
    let certs = tempfile::tempdir().unwrap();
    let (ca_file, cert_file, key_file) = make_certificates(certs.path(), "trung-tam-ca");
    let acceptor = lan_server::tls::acceptor(&cert_file, &key_file).unwrap();
    let kiosk = TestKiosk::start(Setup {
        options: ApiOptions {
            tls: Some(acceptor),
            ..ApiOptions::default()
        },
        with_staff: true,
        ..Setup::default()
    })
    .await;
    let addr = kiosk.addr;

    let body = serde_json::json!({ "name": "lan", "password": PASSWORD }).to_string();
    let login = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let ca = ca_file.clone();
    let answer = tokio::task::spawn_blocking(move || https(addr, &ca, &login))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");

    // `kiosk report --kiosk https://… --ca-file CA`.
    let request = ReportRequest::parse("2026-11-26", "2026-11-26", Some("counter"), false).unwrap();
    let (token, ca, asked) = (kiosk.admin_token.clone(), ca_file.clone(), request.clone());
    let url = format!("https://localhost:{}", addr.port());
    let report =
        tokio::task::spawn_blocking(move || fetch_report_from(&url, Some(&ca), &token, &asked))
            .await
            .unwrap();
    assert!(report.is_ok(), "{:#}", report.unwrap_err());

    // Another CA's certificate is not trusted, and https needs a CA file.
    let (other_ca, _, _) = make_certificates(certs.path(), "ca-khac");
    let (token, asked) = (kiosk.admin_token.clone(), request.clone());
    let url = format!("https://localhost:{}", addr.port());
    let refused = tokio::task::spawn_blocking(move || {
        let wrong = fetch_report_from(&url, Some(&other_ca), &token, &asked);
        let without = fetch_report_from(&url, None, &token, &asked);
        (wrong, without)
    })
    .await
    .unwrap();
    let wrong = refused.0.unwrap_err();
    assert!(
        format!("{wrong:#}").to_lowercase().contains("certificate"),
        "{wrong:#}"
    );
    let without = refused.1.unwrap_err();
    assert!(format!("{without:#}").contains("--ca-file"), "{without:#}");

    // Plain HTTP on the TLS port gets no answer.
    let plain = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: k\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(!plain.contains("200 OK"), "{plain}");
}
