//! A small WebDriver client for end-to-end tests in headless Chromium.
//!
//! It starts Debian's `chromedriver` on a free loopback port, opens one
//! headless Chromium session with a throw-away profile, and speaks the W3C
//! WebDriver HTTP API over the display daemon's client
//! ([`display_daemon::http`], hyper-util's), so the tests add no HTTP client
//! of their own. Tests drive pages with [`Browser::execute`] (JavaScript in
//! the page), [`Browser::keys`] (real key events) and wait with
//! [`Browser::wait_for`], which polls a condition until a deadline — never a
//! fixed sleep.
//!
//! It does not install anything: when `chromedriver` is missing,
//! [`find_chromedriver`] returns `None` and tests say they were skipped
//! (`.ci/setup` installs Debian's `chromium` and `chromium-driver`).
//!
//! On drop the session is ended (Chromium exits) and chromedriver killed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use display_daemon::http::{BaseUrl, Client};
use serde_json::{json, Value};

/// How long a wait lasts before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// How long one WebDriver call may take (starting Chromium or loading a
/// page on a busy machine is slower than the kiosk's API).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Finds a program on `PATH` (or Debian's Chromium folder).
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            for name in names {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
    }
    names
        .iter()
        .map(|n| Path::new("/usr/lib/chromium").join(n))
        .find(|p| p.is_file())
}

/// `chromedriver`, if installed.
pub fn find_chromedriver() -> Option<PathBuf> {
    find_program(&["chromedriver"])
}

/// A headless Chromium session driven through chromedriver.
pub struct Browser {
    /// The chromedriver process.
    driver: Child,
    /// Its WebDriver endpoint.
    base: BaseUrl,
    /// The client to it.
    client: Client,
    /// The session's id.
    session: String,
    /// Chromium's profile folder, removed on drop.
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver close Chromium; without it
        // killing chromedriver would leave the browser running.
        end_session_blocking(&self.base, &self.session);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/{id}` over a plain blocking socket (usable in `Drop`).
fn end_session_blocking(base: &BaseUrl, session: &str) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect((base.host.as_str(), base.port)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        base.authority()
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
}

impl Browser {
    /// Starts chromedriver (`program`) and a headless Chromium window of
    /// `width`×`height` CSS pixels.
    pub async fn launch(program: &Path, width: u32, height: u32) -> anyhow::Result<Browser> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let profile = tempfile::tempdir()?;
        let base = BaseUrl::parse(&format!("http://127.0.0.1:{port}"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut browser = Browser {
            driver,
            client: Client::new(base.clone()).with_response_timeout(CALL_TIMEOUT),
            base,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + DEADLINE;
        loop {
            let up = browser
                .client
                .request("GET", "/status", &[("Connection", "close")], &[])
                .await
                .is_ok_and(|(head, _)| head.status == 200);
            if up {
                break;
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not answer on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut options = json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--hide-scrollbars", "--lang=vi",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", browser._profile.path().display()),
            ]
        });
        if let Some(chromium) = find_program(&["chromium", "chromium-browser", "google-chrome"]) {
            options["binary"] = json!(chromium.display().to_string());
        }
        let created = browser
            .call(
                "POST",
                "/session",
                Some(
                    json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": options } } }),
                ),
            )
            .await?;
        browser.session = created["sessionId"]
            .as_str()
            .context("chromedriver gave no session id")?
            .to_owned();
        Ok(browser)
    }

    /// One WebDriver call; returns its `value`.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut headers = vec![("Connection", "close")];
        if method == "POST" {
            headers.push(("Content-Type", "application/json"));
        }
        let (head, mut response) = self
            .client
            .request(method, path, &headers, body.as_bytes())
            .await
            .map_err(|e| anyhow::anyhow!("WebDriver {method} {path}: {e}"))?;
        let bytes = response
            .read_to_end(64 << 20)
            .await
            .map_err(|e| anyhow::anyhow!("WebDriver {method} {path}: {e}"))?;
        let value: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("WebDriver {method} {path}: answer is not JSON"))?;
        if head.status >= 300 {
            bail!("WebDriver {method} {path}: HTTP {}: {value}", head.status);
        }
        Ok(value["value"].clone())
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Makes the page's viewport exactly `width`×`height` CSS pixels (the
    /// window size given to [`Browser::launch`] includes the browser's own
    /// bars, so pages see less than that).
    pub async fn set_viewport(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await
    }

    /// Makes the page a phone's: a `width`×`height` CSS pixel viewport at
    /// twice the density, mobile layout, touch events instead of a mouse.
    pub async fn emulate_phone(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 2, "mobile": true }),
        )
        .await?;
        self.devtools(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": true, "maxTouchPoints": 5 }),
        )
        .await
    }

    /// Makes the page's own time zone `zone` (an IANA name or `UTC`), as if
    /// the machine were set to it.
    pub async fn set_time_zone(&self, zone: &str) -> anyhow::Result<()> {
        self.devtools(
            "Emulation.setTimezoneOverride",
            json!({ "timezoneId": zone }),
        )
        .await
    }

    /// One Chromium DevTools command through chromedriver.
    async fn devtools(&self, cmd: &str, params: Value) -> anyhow::Result<()> {
        self.call(
            "POST",
            &self.session_path("/goog/cdp/execute"),
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
        .map(|_| ())
    }

    /// Turns touch emulation on: the page sees a touch screen
    /// (`maxTouchPoints`, `pointer: coarse`), as on the kiosk's own panel.
    pub async fn emulate_touch(&self) -> anyhow::Result<()> {
        self.devtools(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": true, "maxTouchPoints": 5 }),
        )
        .await
    }

    /// Taps the element matching `selector` with a finger: a real touch
    /// start and end at its centre (Chromium turns them into the click a
    /// touch screen gives), once it is visible and enabled.
    pub async fn tap(&self, selector: &str) -> anyhow::Result<()> {
        let sel = json!(selector);
        self.wait_true(&format!(
            "var e = document.querySelector({sel}); return !!e && !e.disabled && e.offsetParent !== null;"
        ))
        .await?;
        let rect = self
            .execute(&format!(
                "var e = document.querySelector({sel}); e.scrollIntoView({{block: 'center'}});                  var r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2];"
            ))
            .await?;
        let (x, y) = (
            rect[0].as_f64().unwrap_or(0.0),
            rect[1].as_f64().unwrap_or(0.0),
        );
        let point = json!([{ "x": x, "y": y, "radiusX": 4, "radiusY": 4, "force": 1, "id": 1 }]);
        self.devtools(
            "Input.dispatchTouchEvent",
            json!({ "type": "touchStart", "touchPoints": point }),
        )
        .await?;
        self.devtools(
            "Input.dispatchTouchEvent",
            json!({ "type": "touchEnd", "touchPoints": [] }),
        )
        .await
    }

    /// Opens `url` (waits for the page's load event).
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(
            "POST",
            &self.session_path("/url"),
            Some(json!({ "url": url })),
        )
        .await
        .map(|_| ())
    }

    /// The page's current URL.
    pub async fn url(&self) -> anyhow::Result<String> {
        let value = self.call("GET", &self.session_path("/url"), None).await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Runs `js` (a function body; `return` gives the value) in the page.
    pub async fn execute(&self, js: &str) -> anyhow::Result<Value> {
        self.call(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({ "script": js, "args": [] })),
        )
        .await
    }

    /// Polls `js` until it returns `expected`; fails after [`DEADLINE`]
    /// with the last value seen. Errors of the script itself (the page is
    /// navigating) count as "not yet".
    pub async fn wait_for(&self, js: &str, expected: Value) -> anyhow::Result<()> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let last = match self.execute(js).await {
                Ok(value) if value == expected => return Ok(()),
                Ok(value) => value,
                Err(err) => Value::String(format!("{err:#}")),
            };
            if Instant::now() > deadline {
                bail!("the page never gave {expected} for `{js}`; last: {last}");
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    /// Waits until `js` returns `true`.
    pub async fn wait_true(&self, js: &str) -> anyhow::Result<()> {
        self.wait_for(js, Value::Bool(true)).await
    }

    /// Types `text` as real key events into the focused element (or the
    /// page). Special keys use WebDriver's code points (`"\u{E007}"`: Enter).
    pub async fn keys(&self, text: &str) -> anyhow::Result<()> {
        let mut actions = Vec::new();
        for c in text.chars() {
            actions.push(json!({ "type": "keyDown", "value": c.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
        }
        self.call(
            "POST",
            &self.session_path("/actions"),
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await?;
        self.call("DELETE", &self.session_path("/actions"), None)
            .await?;
        Ok(())
    }

    /// Sets an input's value by CSS selector, as typing would (fires
    /// `input` and `change`).
    pub async fn fill(&self, selector: &str, value: &str) -> anyhow::Result<()> {
        let js = format!(
            "var e = document.querySelector({sel}); if (!e) return false; e.value = {val}; \
             e.dispatchEvent(new Event('input', {{bubbles: true}})); \
             e.dispatchEvent(new Event('change', {{bubbles: true}})); return true;",
            sel = json!(selector),
            val = json!(value)
        );
        if self.execute(&js).await? != Value::Bool(true) {
            bail!("no element {selector} to fill");
        }
        Ok(())
    }

    /// Clicks the element matching `selector` once it exists and is enabled.
    pub async fn click(&self, selector: &str) -> anyhow::Result<()> {
        let sel = json!(selector);
        self.wait_true(&format!(
            "var e = document.querySelector({sel}); return !!e && !e.disabled && e.offsetParent !== null;"
        ))
        .await?;
        self.execute(&format!(
            "document.querySelector({sel}).click(); return true;"
        ))
        .await?;
        Ok(())
    }

    /// The text of the element matching `selector` (`null` if none).
    pub async fn text(&self, selector: &str) -> anyhow::Result<Value> {
        self.execute(&format!(
            "var e = document.querySelector({}); return e ? e.textContent : null;",
            json!(selector)
        ))
        .await
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        let value = self
            .call("GET", &self.session_path("/screenshot"), None)
            .await?;
        let png = decode_base64(value.as_str().context("screenshot is not a string")?);
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            bail!("the screenshot is not a PNG");
        }
        Ok(png)
    }
}

/// Standard base64 (WebDriver screenshots); ignores padding and newlines.
pub fn decode_base64(text: &str) -> Vec<u8> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("aGVsbG8="), b"hello");
        assert_eq!(decode_base64("aGVsbG8"), b"hello");
        assert_eq!(decode_base64("YQ=="), b"a");
    }
}
