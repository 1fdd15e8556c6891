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
