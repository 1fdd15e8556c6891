//! `kiosk report`: the figures of a range of service days (see
//! [`queue_store::report`]) as a table, CSV or JSON on standard output;
//! with `--ratings`, the per-officer table of citizens' ratings.
//!
//! The running daemon holds the sled store's lock (sled allows one process),
//! so the command first tries to open the store in `kiosk.data_dir`
//! itself — that works while the kiosk is stopped, or on a copy of the data
//! directory — and when the store is locked (or absent from this machine)
//! it asks the running kiosk for the same report at `GET /api/v1/reports`,
//! with an admin token (`--token` or `KIOSK_TOKEN`), and formats the answer
//! locally. With `[kiosk.tls]` in the config, or an `https://` address in
//! `--kiosk`, the request goes over TLS and the kiosk's certificate must be
//! signed by the CA in `--ca-file` (the center's own CA, see
//! `docs/security.md`); no system roots are trusted. Opening the store takes its lock for a second or two: a kiosk
//! started in that moment fails and systemd restarts it.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use kiosk_config::CenterConfig;

use queue_store::clock::SystemClock;
use queue_store::report::format::{write, write_ratings_csv, write_ratings_table, Format};
use queue_store::report::{from_store, Report, ReportRequest};
use queue_store::store::{Store, StoreError, StoreOptions};

/// Arguments of `kiosk report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The center's TOML file (data directory, names, time zone, address).
    #[arg(long)]
    pub config: PathBuf,
    /// First service day, YYYY-MM-DD (included).
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last service day, YYYY-MM-DD (included).
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Rows per department, service (touch-screen procedure), counter, staff member or hour of the day.
    #[arg(long, default_value = "department", value_parser = ["department", "service", "counter", "staff", "hour"])]
    pub by: String,
    /// table (terminal), csv (spreadsheet) or json.
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
    pub format: String,
    /// Also give one row per service day.
    #[arg(long)]
    pub daily: bool,
    /// The per-officer ratings table (officer, ratings, each level's count,
    /// share satisfied) instead of the full report; implies --by staff.
    /// With --format csv it is CSV (with the BOM unless --no-bom).
    #[arg(long)]
    pub ratings: bool,
    /// CSV without the UTF-8 byte order mark (Excel needs it for Vietnamese).
    #[arg(long)]
    pub no_bom: bool,
    /// Admin token for asking the running kiosk when it holds the store
    /// (default: the KIOSK_TOKEN environment variable).
    #[arg(long)]
    pub token: Option<String>,
    /// The running kiosk's address: HOST:PORT, http://HOST:PORT or
    /// https://HOST:PORT (default: kiosk.listen of the config, 127.0.0.1
    /// when it listens on every address; https when [kiosk.tls] is set).
    #[arg(long, value_name = "URL")]
    pub kiosk: Option<String>,
    /// The CA certificate (PEM) that signed the kiosk's certificate, for
    /// an https address.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

/// Runs `kiosk report`, writing the report to standard output.
pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let config = super::run::load_config(&args.config)?;
    let by = if args.ratings { "staff" } else { &args.by };
    let request = ReportRequest::parse(&args.from, &args.to, Some(by), args.daily)?;
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let report = make_report(&config, &request, args)?;
    let mut out = std::io::stdout().lock();
    let written = match (args.ratings, format) {
        (false, _) => write(&report, format, !args.no_bom, &mut out),
        (true, Format::Table) => write_ratings_table(&report, &mut out),
        (true, Format::Csv) => write_ratings_csv(&report, !args.no_bom, &mut out),
        (true, Format::Json) => write(&report, format, false, &mut out),
    };
    written.context("writing the report")?;
    out.flush().context("writing the report")?;
    Ok(ExitCode::SUCCESS)
}

/// The report from the local store, or from the running kiosk when the
/// store is locked by it or not on this machine.
pub fn make_report(
    config: &CenterConfig,
    request: &ReportRequest,
    args: &ReportArgs,
) -> anyhow::Result<Report> {
    let dir = &config.kiosk.data_dir;
    let why_remote = if !dir.join("db").is_file() {
        format!(
            "there is no queue store in {} on this machine",
            dir.display()
        )
    } else {
        match open_store(dir, config) {
            Ok(store) => {
                return from_store(&store, config, request.clone())
                    .with_context(|| format!("reading the queue store in {}", dir.display()));
            }
            Err(err) if is_locked(&err) => format!(
                "the running kiosk holds the queue store in {} (only one process may open it)",
                dir.display()
            ),
            Err(err) => return Err(err).context("opening the queue store for a report"),
        }
    };
    let address = match &args.kiosk {
        Some(text) => text.clone(),
        None if config.kiosk.tls.is_some() => {
            format!("https://{}", local_address(config.kiosk.listen))
        }
        None => local_address(config.kiosk.listen).to_string(),
    };
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("KIOSK_TOKEN").ok())
        .filter(|t| !t.trim().is_empty());
    let Some(token) = token.as_deref() else {
        bail!(
            "{why_remote}. Ask the running kiosk instead: make an admin token once with \
             `kiosk token add report --role admin --config {}` and run this again with \
             --token TOKEN (or KIOSK_TOKEN=TOKEN); or stop the kiosk (systemctl stop kiosk), \
             run the report, and start it again",
            args.config.display()
        );
    };
    fetch_report_from(&address, args.ca_file.as_deref(), token, request).with_context(|| {
        format!("{why_remote}, so the report was asked of the kiosk at {address}, which failed")
    })
}

fn open_store(dir: &Path, config: &CenterConfig) -> Result<Store, StoreError> {
    Store::open(
        dir,
        Arc::new(config.clone()),
        Arc::new(SystemClock),
        &StoreOptions {
            cache_bytes: 4 * 1024 * 1024,
            ..StoreOptions::from_settings(&config.kiosk)
        },
    )
}

/// Whether sled refused because another process holds the store.
fn is_locked(err: &StoreError) -> bool {
    matches!(err, StoreError::Open { source, .. } if source.to_string().contains("could not acquire lock"))
}

/// Where to reach a kiosk listening on `listen` from this machine.
pub fn local_address(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), listen.port())
        }
        _ => listen,
    }
}

/// Percent-encodes a query value (dates and words need none, but a typo
/// must not break the request line).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `GET /api/v1/reports` on the kiosk at `address` (`HOST:PORT` or an
/// `http://` URL), with a plain HTTP/1.0 request: the answer is one JSON
/// body ended by the close.
pub fn fetch_report(address: &str, token: &str, request: &ReportRequest) -> anyhow::Result<Report> {
    fetch_report_from(address, None, token, request)
}

/// A kiosk's address as given: TLS or not, and `HOST:PORT`.
fn split_url(address: &str) -> (bool, &str) {
    if let Some(rest) = address.strip_prefix("https://") {
        (true, rest.trim_end_matches('/'))
    } else if let Some(rest) = address.strip_prefix("http://") {
        (false, rest.trim_end_matches('/'))
    } else {
        (false, address)
    }
}

/// The host part of `HOST:PORT` (brackets of an IPv6 address removed).
fn host_of(host_port: &str) -> &str {
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Like [`fetch_report`]; an `https://` address is reached over TLS,
/// trusting only the CA certificate in `ca_file`.
pub fn fetch_report_from(
    address: &str,
    ca_file: Option<&Path>,
    token: &str,
    request: &ReportRequest,
) -> anyhow::Result<Report> {
    let (tls, host_port) = split_url(address);
    let target = host_port
        .to_socket_addrs()
        .with_context(|| format!("{address} is not a HOST:PORT address"))?
        .next()
        .with_context(|| format!("{address} resolves to no address"))?;
    let timeout = Duration::from_secs(60);
    let tcp = TcpStream::connect_timeout(&target, Duration::from_secs(5)).with_context(|| {
        format!("cannot connect to the kiosk at {target}; is it running (systemctl status kiosk)?")
    })?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    let mut stream: Box<dyn ReadWrite> = if tls {
        let Some(ca_file) = ca_file else {
            bail!(
                "{address} is https: give the center's CA certificate with --ca-file FILE (see docs/security.md)"
            );
        };
        let config = lan_server::tls::client_config(ca_file)?;
        let name = rustls::pki_types::ServerName::try_from(host_of(host_port).to_string())
            .with_context(|| format!("{host_port} has no valid host name for TLS"))?;
        let connection = rustls::ClientConnection::new(Arc::new(config), name)
            .context("starting a TLS connection")?;
        Box::new(rustls::StreamOwned::new(connection, tcp))
    } else {
        Box::new(tcp)
    };
    let stream = &mut stream;
    let path = format!(
        "/api/v1/reports?from={}&to={}&by={}&daily={}",
        encode(&request.from.to_string()),
        encode(&request.to.to_string()),
        request.by.as_str(),
        request.daily
    );
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    read_all(stream, &mut raw)
        .with_context(|| format!("reading the kiosk's answer from {target}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("the answer from {target} is not HTTP"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("the answer from {target} has no status"))?;
    match status {
        200 => serde_json::from_str(body)
            .with_context(|| format!("the kiosk at {target} sent a report this version cannot read")),
        401 | 403 => bail!(
            "the kiosk refused the token (HTTP {status}): give an admin token (kiosk token add NAME --role admin)"
        ),
        404 => bail!("the kiosk at {target} has no /api/v1/reports (HTTP 404): update it to this version"),
        _ => bail!("the kiosk answered HTTP {status}: {}", body.trim()),
    }
}

/// A plain or TLS stream.
trait ReadWrite: Read + Write {}

impl<T: Read + Write> ReadWrite for T {}

/// Reads to the end; a TLS peer that closes without `close_notify` after a
/// whole HTTP/1.0 answer is an ordinary end here (the body length is the
/// close itself, and a cut body fails to parse as JSON).
fn read_all(stream: &mut dyn ReadWrite, out: &mut Vec<u8>) -> std::io::Result<()> {
    match stream.read_to_end(out) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listen_addresses_become_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(local_address(any).to_string(), "127.0.0.1:8080");
        let lan: SocketAddr = "192.168.1.10:80".parse().unwrap();
        assert_eq!(local_address(lan), lan);
    }

    #[test]
    fn addresses_may_be_urls() {
        assert_eq!(
            split_url("https://kiosk.lan:8443/"),
            (true, "kiosk.lan:8443")
        );
        assert_eq!(split_url("http://10.0.0.2:8080"), (false, "10.0.0.2:8080"));
        assert_eq!(split_url("10.0.0.2:8080"), (false, "10.0.0.2:8080"));
        assert_eq!(host_of("kiosk.lan:8443"), "kiosk.lan");
        assert_eq!(host_of("[::1]:8443"), "::1");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("2026-11-01"), "2026-11-01");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
