//! A whole kiosk daemon with its public listener on loopback, for the
//! phone page tests and `perf -- public`: the embedded Phú Xuân center open
//! all day, a loopback printer, the staff API and the citizens' pages each
//! on their own `127.0.0.1:0` port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk::api::citizen::{CitizenOptions, CitizenSite};
use kiosk::api::{ApiOptions, ApiState};
use kiosk::app::{App, PressOutcome};
use kiosk::buttons::{ButtonPanel, DebounceSettings};
use kiosk::commands::run::NoPin;
use kiosk::daemon::{open_app, run_with_public, Hardware, PublicListener};
use kiosk::leds::StatusLights;
use kiosk_config::{DepartmentId, PrinterTransport, PublicSite};
use queue_store::clock::SystemClock;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::loopback_printer::{LoopbackPrinter, ReceivedTicket};

/// The kiosk daemon with its phone pages.
pub struct PhoneCenter {
    /// The staff API.
    pub staff: SocketAddr,
    /// The public listener.
    pub public: SocketAddr,
    /// The running kiosk.
    pub app: App,
    /// The phone pages' site.
    pub site: CitizenSite,
    /// The printer on loopback (its tickets, in order).
    pub printer: LoopbackPrinter,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl PhoneCenter {
    /// Starts it with `options` on the public listener.
    pub async fn start(options: CitizenOptions) -> anyhow::Result<PhoneCenter> {
        let dir = tempfile::tempdir()?;
        let mut config = kiosk::demo::demo_config(dir.path(), "127.0.0.1:0".parse()?)?;
        let printer = LoopbackPrinter::start()?;
        config.kiosk.printer.transport = PrinterTransport::Tcp {
            host: "127.0.0.1".into(),
            port: printer.address.port(),
        };
        config.kiosk.printer.status_interval = Duration::from_millis(50);
        let public_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let public = public_listener.local_addr()?;
        config.kiosk.public = Some(PublicSite {
            base_url: format!("http://{public}"),
            listen: public,
        });
        let config = Arc::new(config);
        let transport = ticket_printer::open(&config.kiosk.printer)?;
        let app = open_app(Arc::clone(&config), transport, Arc::new(SystemClock))?;
        let accounts = kiosk::accounts::Accounts::open(&kiosk::accounts::Accounts::path_in(
            &config.kiosk.data_dir,
        ))?;
        let api = ApiState::new(app.clone(), accounts, ApiOptions::default());
        let site = CitizenSite::new(app.clone(), options);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let staff = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_with_public(
            app.clone(),
            Hardware {
                buttons: ButtonPanel::<NoPin>::new(
                    Vec::new(),
                    DebounceSettings::with_press_interval(Duration::from_millis(1)),
                ),
                lights: StatusLights::<NoPin>::new(None, None, None, None),
            },
            listener,
            Some(PublicListener {
                listener: public_listener,
                site: site.clone(),
            }),
            api,
            axum::Router::new(),
            async move {
                let _ = stopped.await;
            },
        ));
        let center = PhoneCenter {
            staff,
            public,
            app,
            site,
            printer,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !center.app.printer().health().ready() {
            anyhow::ensure!(Instant::now() < deadline, "the printer never became ready");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(center)
    }

    /// The public URL of `path`.
    pub fn public_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.public)
    }

    /// A citizen presses `department`'s button: the real press pipeline
    /// (printer check, durable issue, render, print). Returns the ticket
    /// the printer received.
    pub async fn press(&self, department: &str) -> anyhow::Result<ReceivedTicket> {
        match self
            .app
            .press(&DepartmentId(department.into()), false)
            .await
        {
            PressOutcome::Printed(_) => {}
            other => anyhow::bail!("the press printed nothing: {other:?}"),
        }
        let tickets = &self.printer.tickets;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match tickets.try_recv() {
                Ok(ticket) => return Ok(ticket),
                Err(std::sync::mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err(err) => anyhow::bail!("no ticket reached the printer: {err}"),
            }
        }
    }

    /// Stops the daemon.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

/// A phone's ticket stream, read raw: HTTP/1.0 from a chosen loopback
/// source address (every 127.0.0.0/8 address is this machine's), so tests
/// and the perf harness act as many phones.
pub struct PhoneStream {
    /// The answer's status.
    pub status: u16,
    reader: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl PhoneStream {
    /// Opens `path` on `to` from address `from`; returns once the answer's
    /// head is read.
    pub async fn open(
        from: std::net::IpAddr,
        to: SocketAddr,
        path: &str,
    ) -> std::io::Result<PhoneStream> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let socket = match from {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(from, 0))?;
        let mut stream = socket.connect(to).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: {to}\r\n\r\n").as_bytes())
            .await?;
        let mut reader = tokio::io::BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                break;
            }
        }
        Ok(PhoneStream { status, reader })
    }

    /// The data of the next `ticket` event (keep-alives skipped), or `None`
    /// when the stream ended.
    pub async fn next_page(&mut self) -> std::io::Result<Option<serde_json::Value>> {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        let mut is_ticket = false;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).await? == 0 {
                return Ok(None);
            }
            let text = line.trim_end();
            if text == "event: ticket" {
                is_ticket = true;
            } else if let (true, Some(data)) = (is_ticket, text.strip_prefix("data: ")) {
                return Ok(serde_json::from_str(data).ok());
            } else if text.is_empty() {
                is_ticket = false;
            }
        }
    }

    /// The rest of the answer (for refusals).
    pub async fn body(mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut out = String::new();
        let _ = self.reader.read_to_string(&mut out).await;
        out
    }
}
