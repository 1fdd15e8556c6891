//! HTTPS for the LAN servers: a certificate chain and its private key, read
//! from PEM files, become a [`TlsAcceptor`] (rustls with the `ring`
//! provider, so the kiosk still cross-builds for the Pi without a C++ or
//! CMake toolchain).
//!
//! Making the certificate is described in `docs/security.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Accepts TLS connections with one certificate; cheap to clone.
#[derive(Clone)]
pub struct TlsAcceptor(tokio_rustls::TlsAcceptor);

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsAcceptor")
    }
}

impl TlsAcceptor {
    /// An acceptor with this rustls configuration.
    pub fn new(config: Arc<rustls::ServerConfig>) -> TlsAcceptor {
        TlsAcceptor(tokio_rustls::TlsAcceptor::from(config))
    }

    /// Runs the TLS handshake on `stream`.
    pub(crate) fn accept<IO>(&self, stream: IO) -> tokio_rustls::Accept<IO>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        self.0.accept(stream)
    }
}

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read or holds no PEM item of the expected kind.
    #[error("cannot read the {what} from {path}: {detail}; give a PEM file ({hint})")]
    File {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
        /// What the file should hold.
        hint: &'static str,
    },
    /// rustls refused the pair (the key does not match the certificate, …).
    #[error("the certificate {cert} and the key {key} cannot be used together: {detail}")]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls reported.
        detail: String,
    },
}

/// The provider every TLS object of the workspace uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads every certificate of a PEM file (the server's first, then its CA
/// chain).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |detail: String| TlsError::File {
        what: "certificate",
        path: path.to_owned(),
        detail,
        hint: "-----BEGIN CERTIFICATE-----",
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no certificate in the file".into()));
    }
    Ok(certs)
}

/// An acceptor serving the certificate chain in `cert` with the key in
/// `key` (PKCS#8, PKCS#1 or SEC1 PEM).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let chain = read_certificates(cert)?;
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::File {
        what: "private key",
        path: key.to_owned(),
        detail: e.to_string(),
        hint: "-----BEGIN PRIVATE KEY-----",
    })?;
    let pair = |detail: String| TlsError::Pair {
        cert: cert.to_owned(),
        key: key.to_owned(),
        detail,
    };
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| pair(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| pair(e.to_string()))?;
    Ok(TlsAcceptor::new(Arc::new(config)))
}

/// A client configuration trusting only the CA certificates in `ca_file`
/// (for `kiosk report` and the display daemon talking to a center's own
/// CA).
pub fn client_config(ca_file: &Path) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certificates(ca_file)? {
        roots.add(cert).map_err(|e| TlsError::File {
            what: "certificate",
            path: ca_file.to_owned(),
            detail: e.to_string(),
            hint: "the CA certificate, -----BEGIN CERTIFICATE-----",
        })?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::File {
            what: "certificate",
            path: ca_file.to_owned(),
            detail: e.to_string(),
            hint: "a CA certificate",
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}
