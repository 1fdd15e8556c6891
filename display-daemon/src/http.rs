//! The daemon's HTTP client to the kiosk's LAN API, over hyper-util's
//! client (hyper 1, the same HTTP implementation axum serves with), in plain
//! `http://` or in `https://` through rustls (ring provider).
//!
//! It owns the base URL ([`BaseUrl`]), one [`Client`] per kiosk, and the
//! two shapes of request the daemon makes: a `GET` whose body is read as it
//! arrives ([`Client::request`] and [`Body::chunk`], for the event stream)
//! and a small `POST` for keypad actions ([`Client::post_empty`]). Errors
//! say which address failed and what to check ([`HttpError`]). It does not
//! follow redirects or keep idle connections (each request opens its own,
//! as a keypad press after a long pause should not meet a connection the
//! kiosk already closed).
//!
//! Over `https://` the kiosk's certificate must be signed by a CA in the
//! configured CA file (`ca_file` in the display config, a PEM file of one or
//! more certificates), or, without one, in the system's bundle
//! ([`SYSTEM_CA_BUNDLE`]); its name or address must match the host in
//! `kiosk_url`. A certificate that does not pass is refused with
//! [`HttpError::Tls`], which names the file and what to do. Reconnecting
//! and backoff are the
//! [`link`](crate::link)'s; reading server-sent events is the
//! [`sse`](crate::sse) parser's.

use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{HeaderName, HeaderValue, USER_AGENT};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

/// The largest `POST` response body read.
const MAX_SMALL_BODY: usize = 64 * 1024;
/// The CA bundle trusted over `https://` when no CA file is configured
/// (Debian's, kept by `update-ca-certificates`).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a request may take, connecting included: until the response
/// head, and for [`Client::post_empty`] the whole body too. The kiosk answers a
/// keypad action in milliseconds; a kiosk that accepts connections but
/// never answers (hung, or its disk stalled) must not hold the keypad.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to the kiosk.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The configured base URL is not `http(s)://host[:port][/prefix]`.
    #[error("kiosk URL {url:?} is not usable: {reason}; write it like http://192.168.1.10:8080")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The CA file cannot be used.
    #[error("cannot use the CA file {}: {reason}; set ca_file to a PEM file holding the certificate of the CA that signed the kiosk's certificate", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The kiosk's certificate was refused (not signed by a trusted CA,
    /// expired, or not made for the host in `kiosk_url`).
    #[error("the kiosk at {addr} presented a certificate that was refused ({source}); it must be signed by a CA in {trusted} and name the host of kiosk_url: set ca_file to the CA certificate the kiosk's certificate was made with, or make the kiosk a new certificate from that CA")]
    Tls {
        /// `host:port`.
        addr: String,
        /// What was trusted (the CA file, or the system bundle).
        trusted: String,
        /// Why rustls refused it.
        #[source]
        source: rustls::Error,
    },
    /// A request header name or value cannot be sent.
    #[error("header {name:?} cannot be sent: it has characters HTTP does not allow")]
    InvalidHeader {
        /// The header's name.
        name: String,
    },
    /// The TCP connection could not be made.
    #[error("cannot connect to the kiosk at {addr}; is it running and reachable on the LAN?")]
    Connect {
        /// `host:port`.
        addr: String,
        /// What the connector said.
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// Connecting took longer than [`CONNECT_TIMEOUT`].
    #[error(
        "connecting to the kiosk at {addr} timed out; check the network cable and the address"
    )]
    ConnectTimeout {
        /// `host:port`.
        addr: String,
    },
    /// The kiosk accepted the connection but did not answer in time.
    #[error(
        "the kiosk at {addr} did not answer within {} s; it may be hung or overloaded: check `systemctl status kiosk` and its log on the kiosk's Pi",
        after.as_secs_f64()
    )]
    ResponseTimeout {
        /// `host:port`.
        addr: String,
        /// How long the client waited.
        after: Duration,
    },
    /// The connection was made but the request or its answer failed.
    #[error("the request to the kiosk at {addr} failed before its answer arrived")]
    Request {
        /// `host:port`.
        addr: String,
        /// What hyper said.
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// Reading the response body failed (the connection broke, or the
    /// kiosk's framing was malformed).
    #[error("connection to the kiosk failed while reading the response body")]
    Body(#[source] hyper::Error),
}

/// The kiosk's base URL, split for requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port, 80 (or 443 for `https://`) when not given.
    pub port: u16,
    /// Whether it is `https://`.
    pub https: bool,
    /// Path prefix without a trailing slash (usually empty).
    pub prefix: String,
}

impl BaseUrl {
    /// Parses `http://host[:port][/prefix]` or `https://…`.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let invalid = |reason| HttpError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let (https, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => return Err(invalid("only http:// and https:// are supported")),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if prefix.contains(['?', '#']) {
            return Err(invalid("it must not have a query or fragment"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| invalid("unclosed [ in the host"))?;
            let port = &v6[end + 1..];
            (&v6[..end], port.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.contains('@') {
            return Err(invalid("it has no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| invalid("the port is not a number"))?,
            None if https => 443,
            None => 80,
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            https,
            prefix: prefix.to_owned(),
        })
    }

    /// `host:port` as written in a `Host` header and in messages.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The absolute URL of `path` (which starts with `/`).
    fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}{path}", self.authority(), self.prefix)
    }
}

/// Status line and headers of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response body read as it arrives.
#[derive(Debug)]
pub struct Body {
    /// hyper's body (it keeps the connection open).
    incoming: hyper::body::Incoming,
}

impl Body {
    /// The next piece of the body; `None` once it is complete. Waits for the
    /// network; wrap it in a timeout to detect a silent peer.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        loop {
            let Some(frame) = self.incoming.frame().await else {
                return Ok(None);
            };
            // Trailers carry nothing the daemon reads: skip them.
            if let Ok(data) = frame.map_err(HttpError::Body)?.into_data() {
                if !data.is_empty() {
                    return Ok(Some(data.to_vec()));
                }
            }
        }
    }

    /// The whole rest of the body, at most `limit` bytes (more is dropped).
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, HttpError> {
        let mut all = Vec::new();
        while let Some(piece) = self.chunk().await? {
            let room = limit.saturating_sub(all.len());
            all.extend_from_slice(&piece[..piece.len().min(room)]);
        }
        Ok(all)
    }
}

/// A client for one kiosk; cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    /// Where the kiosk is.
    base: BaseUrl,
    /// hyper-util's client.
    inner: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// What is trusted over `https://`, for messages.
    trusted: Arc<str>,
    /// How long an answer may take ([`RESPONSE_TIMEOUT`] by default).
    response_timeout: Duration,
}

impl Client {
    /// A client for `base` that trusts no CA: for `http://` (an `https://`
    /// kiosk is refused; use [`Client::with_ca_file`]).
    pub fn new(base: BaseUrl) -> Self {
        Self::with_roots(
            base,
            rustls::RootCertStore::empty(),
            "no CA (none configured)",
        )
    }

    /// A client for `base` that, over `https://`, trusts the CAs in
    /// `ca_file`, or without one those of [`SYSTEM_CA_BUNDLE`]. The file is
    /// read now, and only for `https://`.
    pub fn with_ca_file(base: BaseUrl, ca_file: Option<&Path>) -> Result<Self, HttpError> {
        if !base.https {
            return Ok(Self::new(base));
        }
        let path = ca_file.unwrap_or(Path::new(SYSTEM_CA_BUNDLE));
        let roots = load_roots(path)?;
        let trusted = match ca_file {
            Some(file) => format!("the CA file {}", file.display()),
            None => format!("the system's CA bundle {SYSTEM_CA_BUNDLE} (no ca_file is set)"),
        };
        Ok(Self::with_roots(base, roots, &trusted))
    }

    fn with_roots(base: BaseUrl, roots: rustls::RootCertStore, trusted: &str) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        // The TLS layer above decides the scheme; let https:// through.
        http.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        Self {
            base,
            inner,
            trusted: trusted.into(),
            response_timeout: RESPONSE_TIMEOUT,
        }
    }

    /// The same client with another response timeout (see
    /// [`RESPONSE_TIMEOUT`]).
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The kiosk's base URL.
    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// Sends a request and waits for the response head, at most the
    /// response timeout; the body follows (without a timeout: the event
    /// stream's silence is the link's to judge). `headers` are sent as given
    /// (hyper adds `Host` and the body's `Content-Length`).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(ResponseHead, Body), HttpError> {
        let addr = self.base.authority();
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(self.base.url(path))
            .header(USER_AGENT, "display-daemon");
        for (name, value) in headers {
            let invalid = || HttpError::InvalidHeader {
                name: (*name).to_owned(),
            };
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|_| HttpError::InvalidUrl {
                url: self.base.url(path),
                reason: "it is not a valid request target",
            })?;
        let response =
            match tokio::time::timeout(self.response_timeout, self.inner.request(request)).await {
                Ok(response) => response.map_err(|source| self.classify(addr, source))?,
                // A slow connect is reported by the connector within its own
                // (shorter) timeout; reaching this means the kiosk is silent.
                Err(_) => {
                    return Err(HttpError::ResponseTimeout {
                        addr,
                        after: self.response_timeout,
                    })
                }
            };
        let (parts, incoming) = response.into_parts();
        let head = ResponseHead {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
        };
        Ok((head, Body { incoming }))
    }

    /// A `POST` with an empty body; returns the status and the body
    /// (capped). The whole exchange, body included, takes at most the
    /// response timeout after connecting.
    pub async fn post_empty(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), HttpError> {
        let exchange = async {
            let (head, mut body) = self.request("POST", path, headers, &[]).await?;
            let bytes = body.read_to_end(MAX_SMALL_BODY).await?;
            Ok((head.status, bytes))
        };
        // A body that trickles or stops counts against the same timeout.
        tokio::time::timeout(self.response_timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(HttpError::ResponseTimeout {
                    addr: self.base.authority(),
                    after: self.response_timeout,
                })
            })
    }
}

impl Client {
    /// Names what failed: connecting (timed out, refused, or the kiosk's
    /// certificate refused) or the exchange.
    fn classify(&self, addr: String, source: hyper_util::client::legacy::Error) -> HttpError {
        if !source.is_connect() {
            return HttpError::Request { addr, source };
        }
        let mut cause = source.source();
        while let Some(e) = cause {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return HttpError::Tls {
                    addr,
                    trusted: self.trusted.to_string(),
                    source: tls.clone(),
                };
            }
            let io = e.downcast_ref::<std::io::Error>();
            if io.is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
                return HttpError::ConnectTimeout { addr };
            }
            // The connector wraps a refused handshake in io::Errors (the
            // rustls::Error inside), whose `source()` skips what they wrap:
            // look inside them.
            cause = match io.and_then(|io| io.get_ref()) {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => e.source(),
            };
        }
        HttpError::Connect { addr, source }
    }
}

/// The CA certificates in the PEM file `path`.
fn load_roots(path: &Path) -> Result<rustls::RootCertStore, HttpError> {
    let fail = |reason: String| HttpError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("it cannot be read ({e})")))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| fail(format!("it is not a PEM certificate file ({e})")))?;
        roots
            .add(cert)
            .map_err(|e| fail(format!("a certificate in it cannot be used ({e})")))?;
    }
    if roots.is_empty() {
        return Err(fail(
            "it holds no certificate (no -----BEGIN CERTIFICATE----- block)".into(),
        ));
    }
    Ok(roots)
}

/// Sends a request to `base` with a fresh [`Client`] and reads the response
/// head; the body follows.
pub async fn request(
    base: &BaseUrl,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(ResponseHead, Body), HttpError> {
    Client::new(base.clone())
        .request(method, path, headers, body)
        .await
}

/// A `POST` with an empty body to `base` with a fresh [`Client`]; returns
/// the status and the body (capped).
pub async fn post_empty(
    base: &BaseUrl,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, Vec<u8>), HttpError> {
    Client::new(base.clone()).post_empty(path, headers).await
}

/// Parses an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix
/// milliseconds.
pub fn parse_http_date(value: &str) -> Option<i64> {
    let time = httpdate::parse_http_date(value).ok()?;
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since.as_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forms() {
        let u = BaseUrl::parse("http://192.168.1.10:8080").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("192.168.1.10", 8080, "")
        );
        let u = BaseUrl::parse("http://kiosk.local/queue/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("kiosk.local", 80, "/queue")
        );
        let u = BaseUrl::parse("http://[::1]:9000").unwrap();
        assert_eq!(u.authority(), "[::1]:9000");
        let u = BaseUrl::parse("https://kiosk.local/").unwrap();
        assert_eq!((u.port, u.https), (443, true));
        assert_eq!(u.url("/x"), "https://kiosk.local:443/x");
        assert!(BaseUrl::parse("ftp://x").is_err());
        assert!(BaseUrl::parse("http://:80").is_err());
        assert!(BaseUrl::parse("http://x:port").is_err());
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
