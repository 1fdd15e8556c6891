//! `kiosk demo`: the whole kiosk on the embedded Phú Xuân configuration with
//! simulated hardware, for anyone without a Pi, a printer or buttons.
//!
//! The demo runs the real daemon ([`crate::daemon::run`]): the same press
//! pipeline, store, printer worker and LAN API. Only the edges are
//! simulated: keys typed in the terminal (and buttons on a local web page)
//! hold [`SimulatedButton`]s down long enough for the ordinary debounce to see
//! a press; the printer is a folder where each ticket lands as the exact
//! ESC/POS bytes and a PNG of them; LEDs are log lines. The center is open
//! all day, every day, so the demo works at any hour.
//!
//! To try the staff console and the admin pages (`/login`), the demo makes
//! an admin `demo` and a staff member `quay1` (counter 1) with a random
//! password printed in its banner — only when its data folder has no
//! account yet, and only in the demo (which listens on 127.0.0.1 unless
//! told otherwise).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fs;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use embedded_hal::digital::{ErrorType, OutputPin};
use jiff::civil::Time;
use kiosk_config::{CenterConfig, DepartmentId, PrinterTransport, Session};
use queue_protocol::{Actor, Event, EventKind};
use ticket_printer::{
    decode_raster, write_png, PaperState, PrinterStatus, Transport, TransportError,
};

use crate::app::{blocking, App};
use crate::buttons::{ButtonInput, ButtonPanel, ButtonWiring, DebounceSettings, SimulatedButton};
use crate::daemon::{open_app, run_with_public, Hardware};
use crate::leds::{Light, StatusLed, StatusLights};
use queue_store::clock::SystemClock;

/// How long a simulated press holds the button: longer than the debounce.
const PRESS_HOLD: Duration = Duration::from_millis(80);

/// Where and how the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Folder for the store and the printed tickets.
    pub dir: PathBuf,
    /// Address of the LAN API and the demo page.
    pub listen: SocketAddr,
    /// Read commands from the terminal (off when stdin is not a terminal).
    pub keyboard: bool,
}

/// The embedded configuration made demo-ready: data and tickets under `dir`,
/// open all day every day, buttons wired the way simulated buttons read.
pub fn demo_config(dir: &Path, listen: SocketAddr) -> anyhow::Result<CenterConfig> {
    let loaded = kiosk_config::parse_center(kiosk_config::examples::PHU_XUAN, "phu-xuan.toml")
        .map_err(|errors| {
            anyhow::anyhow!("the embedded demo configuration is invalid:\n{errors}")
        })?;
    let mut config = loaded.value;
    config.kiosk.data_dir = dir.join("data");
    config.kiosk.listen = listen;
    config.kiosk.printer.transport = PrinterTransport::File {
        path: dir.join("tickets"),
    };
    let all_day = vec![Session {
        name: "Cả ngày".into(),
        start: Time::MIN,
        end: Time::MAX,
    }];
    config.center.sessions = all_day;
    config.center.closed_weekdays.clear();
    config.center.closed_dates.clear();
    // Simulated buttons read high while pressed, whatever the Pi's wiring.
    let simulated = |pin: &mut Option<kiosk_config::ButtonPin>| {
        if let Some(pin) = pin {
            pin.active = kiosk_config::ActiveLevel::High;
        }
    };
    for department in &mut config.departments {
        department.sessions = None;
        simulated(&mut department.button);
        simulated(&mut department.priority_button);
    }
    Ok(config)
}

/// The key that presses each department's button: `a` for the first, `b` for
/// the second, …; the upper-case letter presses its priority button.
fn keys(config: &CenterConfig) -> BTreeMap<char, DepartmentId> {
    ('a'..='z')
        .zip(config.departments.iter().map(|d| d.id.clone()))
        .collect()
}

/// Runs the demo until `shutdown` completes or `q` is typed.
pub async fn run_demo(
    options: DemoOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    fs::create_dir_all(&options.dir)
        .with_context(|| format!("creating the demo folder {}", options.dir.display()))?;
    let mut config = demo_config(&options.dir, options.listen)?;
    // The phone pages on the next port of the same address, so the QR code
    // of every printed ticket opens a real page on this machine.
    let public_listen = SocketAddr::new(
        options.listen.ip(),
        match options.listen.port() {
            0 => 0,
            port => port.wrapping_add(1),
        },
    );
    let public_listener = tokio::net::TcpListener::bind(public_listen)
        .await
        .with_context(|| {
            format!("listening on {public_listen} for the phone pages; is another kiosk running? use --listen to pick another address")
        })?;
    let public_address = public_listener.local_addr()?;
    let public_host = if public_address.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), public_address.port())
    } else {
        public_address
    };
    config.kiosk.public = Some(kiosk_config::PublicSite {
        base_url: format!("http://{public_host}"),
        listen: public_address,
    });
    let config = Arc::new(config);
    let tickets_dir = options.dir.join("tickets");
    fs::create_dir_all(&tickets_dir)
        .with_context(|| format!("creating {}", tickets_dir.display()))?;
    let printer = DemoPrinter::new(tickets_dir.clone());
    let paper_out = Arc::clone(&printer.paper_out);
    let app = open_app(
        Arc::clone(&config),
        Box::new(printer),
        Arc::new(SystemClock),
    )?;

    let mut simulated = BTreeMap::new();
    let wiring = ButtonWiring::from_departments(&config.departments);
    let inputs = wiring
        .into_iter()
        .map(|wiring| {
            let button = SimulatedButton::new();
            simulated.insert((wiring.department.clone(), wiring.priority), button.clone());
            ButtonInput {
                pin: button,
                wiring,
            }
        })
        .collect();
    let buttons = ButtonPanel::new(
        inputs,
        DebounceSettings::with_press_interval(config.kiosk.press_interval),
    );
    let led = |light: Light| {
        Some(StatusLed {
            pin: DemoLed { light, lit: None },
            active: kiosk_config::ActiveLevel::High,
        })
    };
    let lights = StatusLights::new(
        led(Light::Ready),
        led(Light::PaperLow),
        led(Light::Fault),
        led(Light::Closed),
    );
    let simulated = Arc::new(simulated);

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| {
            format!(
                "listening on {}; is another kiosk running? use --listen to pick another address",
                options.listen
            )
        })?;
    let address = listener.local_addr()?;
    let api = crate::daemon::api_state(&app, &config, None)?;
    let public = crate::daemon::PublicListener {
        listener: public_listener,
        site: crate::api::citizen::CitizenSite::new(
            app.clone(),
            crate::api::citizen::CitizenOptions::default(),
        ),
    };
    let router = demo_router(DemoState {
        app: app.clone(),
        buttons: Arc::clone(&simulated),
    });

    let demo_password = demo_accounts(api.accounts())?;
    print_banner(&config, &options, address, &tickets_dir);
    if let Some(password) = demo_password {
        println!(
            "  Staff console and admin pages:  http://{address}/login\n    \
             accounts made for this demo (only because the demo had none): \
             admin `demo`, staff `quay1` (counter 1), both with password {password}\n"
        );
    }
    println!("  Touch screen ticket page (Hộ tịch has its procedures):  http://{address}/touch\n");
    tokio::spawn(print_events(app.clone()));

    let (quit_tx, quit_rx) = tokio::sync::oneshot::channel::<()>();
    if options.keyboard {
        let keyboard = Keyboard {
            app: app.clone(),
            keys: keys(&config),
            buttons: Arc::clone(&simulated),
            paper_out,
            runtime: tokio::runtime::Handle::current(),
        };
        std::thread::Builder::new()
            .name("demo-keys".into())
            .spawn(move || {
                if keyboard.read_lines(std::io::stdin().lock()) {
                    let _ = quit_tx.send(());
                }
            })?;
    }
    let stop = async move {
        tokio::select! {
            _ = shutdown => {}
            Ok(()) = quit_rx => {}
        }
    };
    run_with_public(
        app,
        Hardware { buttons, lights },
        listener,
        Some(public),
        api,
        router,
        stop,
    )
    .await
}

/// Makes a demo admin `demo` and a staff member `quay1` (counter 1) with one
/// random password, only when the demo's accounts file has no account at
/// all: the demo listens on 127.0.0.1 by default and nothing else ever
/// creates accounts by itself. Returns the password when it made them.
fn demo_accounts(accounts: &crate::accounts::Accounts) -> anyhow::Result<Option<String>> {
    if !accounts.users().is_empty() || !accounts.tokens().is_empty() {
        return Ok(None);
    }
    let password: String = crate::auth::new_secret().chars().take(12).collect();
    accounts
        .add_user("demo", crate::auth::Role::Admin, &password, &[])
        .context("creating the demo admin account")?;
    accounts
        .add_user("quay1", crate::auth::Role::Staff, &password, &[1])
        .context("creating the demo staff account")?;
    Ok(Some(password))
}

fn print_banner(config: &CenterConfig, options: &DemoOptions, address: SocketAddr, tickets: &Path) {
    let mut out = String::new();
    out.push_str(&format!(
        "\n  {} — kiosk demo (simulated buttons, printer and LEDs)\n\n",
        config.center.name
    ));
    out.push_str("  Press a department's button: type its letter and Enter (upper case = priority ticket).\n");
    for (key, id) in keys(config) {
        if let Some(department) = config.department(&id) {
            out.push_str(&format!("    {key}  {}\n", department.name));
        }
    }
    out.push_str(&format!("\n  Other commands:  {COMMANDS_HELP}\n"));
    out.push_str(&format!(
        "  Buttons in the browser:  http://{address}/demo\n"
    ));
    if let Some(public) = &config.kiosk.public {
        out.push_str(&format!(
            "  Citizens' phone pages (each ticket's QR code):  {}/t/KEY\n",
            public.base_url
        ));
    }
    out.push_str(&format!(
        "  Printed tickets (PNG and ESC/POS bytes):  {}\n",
        tickets.display()
    ));
    out.push_str(&format!(
        "  Queue data:  {}\n\n",
        options.dir.join("data").display()
    ));
    print!("{out}");
    let _ = std::io::stdout().flush();
}

/// Prints tickets and calls as they happen.
async fn print_events(app: App) {
    let mut events = app.store().subscribe();
    loop {
        match events.recv().await {
            Ok(event) => {
                let config = app.config();
                if let Some(line) = describe(&event, &config) {
                    println!("{line}");
                }
                if let (EventKind::TicketIssued { ticket, .. }, Some(public)) =
                    (&event.kind, &config.kiosk.public)
                {
                    if let Some(key) = app.store().ticket_key(*ticket) {
                        println!("     trang theo dõi: {}/t/{key}", public.base_url);
                    }
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

fn describe(event: &Event, config: &CenterConfig) -> Option<String> {
    Some(match &event.kind {
        EventKind::TicketIssued {
            label,
            department,
            waiting_ahead,
            service,
            ..
        } => {
            let d = config.department(&DepartmentId(department.clone()));
            let name = d.map_or(department.as_str(), |d| d.name.as_str());
            let service = service
                .as_deref()
                .map(|id| {
                    let s = d
                        .and_then(|d| d.service(id))
                        .map_or(id, |s| s.name.as_str());
                    format!(" – {s}")
                })
                .unwrap_or_default();
            format!("  🎫 số {label} ({name}{service}), {waiting_ahead} người chờ trước")
        }
        EventKind::Called {
            label,
            counter,
            recall,
            ..
        } => {
            let again = if *recall { " (gọi lại)" } else { "" };
            format!("  📢 Mời công dân có số {label} đến quầy số {counter}{again}")
        }
        EventKind::Fault { kind, detail } => format!("  ⚠ {kind}: {detail}"),
        EventKind::FaultCleared { kind } => format!("  ✓ {kind} cleared"),
        _ => return None,
    })
}

/// Terminal commands of the demo.
struct Keyboard {
    app: App,
    keys: BTreeMap<char, DepartmentId>,
    buttons: Arc<BTreeMap<(DepartmentId, bool), SimulatedButton>>,
    paper_out: Arc<AtomicBool>,
    runtime: tokio::runtime::Handle,
}

impl Keyboard {
    /// Reads commands until `q` (returns `true`: quit) or the end of input
    /// (returns `false`: the demo goes on, e.g. with stdin closed).
    fn read_lines(&self, input: impl BufRead) -> bool {
        for line in input.lines() {
            let Ok(line) = line else { return false };
            let message = match parse_command(&line, &self.keys) {
                Ok(None) => None,
                Ok(Some(Command::Quit)) => return true,
                Ok(Some(command)) => self.run(command),
                Err(message) => Some(message),
            };
            if let Some(message) = message {
                println!("  {message}");
            }
        }
        false
    }

    fn run(&self, command: Command) -> Option<String> {
        match command {
            Command::Quit => None,
            Command::TogglePaper => {
                let out = !self.paper_out.fetch_xor(true, Ordering::SeqCst);
                Some(if out {
                    "printer: paper out (presses now print nothing and use no number)".into()
                } else {
                    "printer: paper back".into()
                })
            }
            Command::CallNext(counter) => {
                let store = self.app.store().clone();
                let result = self.runtime.block_on(blocking(move || {
                    store.call_next(
                        counter,
                        Actor::Staff {
                            name: "demo".into(),
                        },
                    )
                }));
                match result {
                    Ok(_) => None,
                    Err(err) => Some(format!("counter {counter}: {err}")),
                }
            }
            Command::Press {
                department,
                priority,
            } => match self.buttons.get(&(department.clone(), priority)) {
                Some(button) => {
                    button.press();
                    std::thread::sleep(PRESS_HOLD);
                    button.release();
                    None
                }
                None => Some(format!("{department} has no priority button")),
            },
        }
    }
}

/// One line typed in the demo's terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// Press a department's button (its priority button when upper case).
    Press {
        department: DepartmentId,
        priority: bool,
    },
    /// A counter calls the next number.
    CallNext(u16),
    /// Paper out / paper back.
    TogglePaper,
    /// End the demo.
    Quit,
}

/// What the help says about the commands that are not department letters.
const COMMANDS_HELP: &str =
    ">3 or call 3 = counter 3 calls the next number,  p or paper = paper out / paper back,  q or quit = quit";

/// Reads one line. A single letter is a department's button whenever it is
/// one (so the 14th department's `n` or a 16th's `p` can be pressed); calls
/// are written `>3` or `call 3`, which no department letter can be; the
/// word forms `paper` and `quit` work whatever the letters are. `Ok(None)`:
/// an empty line.
fn parse_command(
    line: &str,
    keys: &BTreeMap<char, DepartmentId>,
) -> Result<Option<Command>, String> {
    let line = line.trim();
    let mut chars = line.chars();
    let Some(first) = chars.next() else {
        return Ok(None);
    };
    if chars.as_str().is_empty() && first.is_alphabetic() {
        if let Some(department) = keys.get(&first.to_ascii_lowercase()) {
            return Ok(Some(Command::Press {
                department: department.clone(),
                priority: first.is_uppercase(),
            }));
        }
    }
    let lower = line.to_lowercase();
    match lower.as_str() {
        "p" | "paper" => return Ok(Some(Command::TogglePaper)),
        "q" | "quit" | "exit" => return Ok(Some(Command::Quit)),
        _ => {}
    }
    let counter = lower
        .strip_prefix('>')
        .or_else(|| lower.strip_prefix("call"))
        .map(str::trim);
    if let Some(counter) = counter {
        return match counter.parse::<u16>() {
            Ok(n) => Ok(Some(Command::CallNext(n))),
            Err(_) => Err(format!(
                "{line:?}: write the counter's number after > or call, e.g. >3 or call 3"
            )),
        };
    }
    Err(format!(
        "unknown command {line:?}: type a department letter, or {COMMANDS_HELP}"
    ))
}

/// A printer that is a folder: each ticket is saved as its raw bytes and as a
/// PNG decoded back from those bytes (so the PNG shows what a printer would).
struct DemoPrinter {
    dir: PathBuf,
    printed: AtomicU32,
    paper_out: Arc<AtomicBool>,
}

impl DemoPrinter {
    fn new(dir: PathBuf) -> Self {
        DemoPrinter {
            dir,
            printed: AtomicU32::new(0),
            paper_out: Arc::new(AtomicBool::new(false)),
        }
    }

    fn save(&self, bytes: &[u8]) -> std::io::Result<()> {
        let n = self.printed.fetch_add(1, Ordering::SeqCst) + 1;
        let stem = self.dir.join(format!("print-{n:04}"));
        fs::write(stem.with_extension("bin"), bytes)?;
        let bitmap = decode_raster(bytes).map_err(std::io::Error::other)?;
        let png = stem.with_extension("png");
        let file = fs::File::create(&png)?;
        write_png(&bitmap, std::io::BufWriter::new(file)).map_err(std::io::Error::other)?;
        println!("     printed → {}", png.display());
        Ok(())
    }
}

impl Transport for DemoPrinter {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        if self.paper_out.load(Ordering::SeqCst) {
            return Err(TransportError::WriteTimeout {
                device: self.describe(),
                timeout: Duration::ZERO,
            });
        }
        self.save(bytes).map_err(|source| TransportError::Write {
            device: self.describe(),
            source,
        })
    }

    fn status(&mut self) -> Result<PrinterStatus, TransportError> {
        let out = self.paper_out.load(Ordering::SeqCst);
        Ok(PrinterStatus {
            online: Some(true),
            cover_open: Some(false),
            paper: if out {
                PaperState::Out
            } else {
                PaperState::Present
            },
        })
    }

    fn describe(&self) -> String {
        format!("demo printer folder {}", self.dir.display())
    }
}

/// An LED that is a log line.
struct DemoLed {
    light: Light,
    lit: Option<bool>,
}

impl ErrorType for DemoLed {
    type Error = Infallible;
}

impl OutputPin for DemoLed {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.set(false);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.set(true);
        Ok(())
    }
}

impl DemoLed {
    fn set(&mut self, lit: bool) {
        if self.lit != Some(lit) {
            self.lit = Some(lit);
            let state = if lit { "on" } else { "off" };
            println!("  💡 LED {}: {state}", self.light.config_name());
        }
    }
}

#[derive(Clone)]
struct DemoState {
    app: App,
    buttons: Arc<BTreeMap<(DepartmentId, bool), SimulatedButton>>,
}

fn demo_router(state: DemoState) -> Router {
    Router::new()
        .route("/demo", get(demo_page))
        .route("/demo/press/{department}", post(demo_press))
        .with_state(state)
}

async fn demo_page(State(state): State<DemoState>) -> Html<String> {
    let config = state.app.config();
    let mut buttons = String::new();
    for department in &config.departments {
        buttons.push_str(&format!(
            "<button onclick=\"press('{id}')\">{name}</button>\n",
            id = html_escape(department.id.as_str()),
            name = html_escape(&department.name)
        ));
    }
    Html(
        DEMO_PAGE
            .replace("{{center}}", &html_escape(&config.center.name))
            .replace("{{buttons}}", &buttons),
    )
}

async fn demo_press(
    State(state): State<DemoState>,
    UrlPath(department): UrlPath<String>,
) -> impl IntoResponse {
    let key = (DepartmentId(department.clone()), false);
    let Some(button) = state.buttons.get(&key).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            format!("no button for department {department:?}"),
        );
    };
    button.press();
    tokio::time::sleep(PRESS_HOLD).await;
    button.release();
    (StatusCode::ACCEPTED, "pressed".to_string())
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const DEMO_PAGE: &str = r#"<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Máy lấy số — demo</title>
<style>
body{font-family:sans-serif;margin:1.5rem;background:#f4f6f8}
h1{font-size:1.4rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.8rem}
button{font-size:1.1rem;padding:1.2rem;border:0;border-radius:.6rem;background:#0b5cad;color:#fff;cursor:pointer}
button:active{background:#073f78}
#msg{margin-top:1rem;min-height:1.5rem}
</style></head><body>
<h1>{{center}} — bấm nút để lấy số</h1>
<div class="grid">{{buttons}}</div>
<p id="msg"></p>
<script>
async function press(id){
  const r = await fetch('/demo/press/' + encodeURIComponent(id), {method:'POST'});
  document.getElementById('msg').textContent = r.ok ? 'Đã bấm — xem phiếu trong thư mục tickets' : await r.text();
}
</script></body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn phu_xuan_keys() -> BTreeMap<char, DepartmentId> {
        let config =
            demo_config(Path::new("/nonexistent"), "127.0.0.1:0".parse().unwrap()).unwrap();
        keys(&config)
    }

    fn parse(line: &str, keys: &BTreeMap<char, DepartmentId>) -> Result<Option<Command>, String> {
        parse_command(line, keys)
    }

    #[test]
    fn a_department_letter_wins_over_a_command_letter() {
        let keys = phu_xuan_keys();
        // The 14th department of Phú Xuân has the letter n.
        assert_eq!(keys[&'n'].as_str(), "quan-ly-do-thi");
        assert_eq!(
            parse("n", &keys),
            Ok(Some(Command::Press {
                department: DepartmentId("quan-ly-do-thi".into()),
                priority: false
            }))
        );
        assert_eq!(
            parse(" N ", &keys),
            Ok(Some(Command::Press {
                department: DepartmentId("quan-ly-do-thi".into()),
                priority: true
            }))
        );
        // A center with a 16th and 17th department: p and q press them; the
        // word forms still reach the printer and quit.
        let mut more = keys.clone();
        more.insert('p', DepartmentId("phong-16".into()));
        more.insert('q', DepartmentId("phong-17".into()));
        assert!(matches!(parse("p", &more), Ok(Some(Command::Press { .. }))));
        assert!(matches!(parse("q", &more), Ok(Some(Command::Press { .. }))));
        assert_eq!(parse("paper", &more), Ok(Some(Command::TogglePaper)));
        assert_eq!(parse("quit", &more), Ok(Some(Command::Quit)));
        assert_eq!(parse("p", &keys), Ok(Some(Command::TogglePaper)));
        assert_eq!(parse("q", &keys), Ok(Some(Command::Quit)));
    }

    #[test]
    fn calls_are_written_so_that_no_letter_collides() {
        let keys = phu_xuan_keys();
        for (line, counter) in [
            (">3", 3),
            ("> 12", 12),
            ("call 3", 3),
            ("CALL 15", 15),
            ("call7", 7),
        ] {
            assert_eq!(
                parse(line, &keys),
                Ok(Some(Command::CallNext(counter))),
                "{line}"
            );
        }
        let err = parse(">x", &keys).unwrap_err();
        assert!(err.contains(">3 or call 3"), "{err}");
        let err = parse("n3", &keys).unwrap_err();
        assert!(err.contains(">3 or call 3"), "{err}");
        assert!(
            parse("z", &keys).is_err(),
            "Phú Xuân has 15 letters, a to o"
        );
        assert_eq!(parse("   ", &keys), Ok(None));
    }
}
