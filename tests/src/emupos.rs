//! The `emupos` ESC/POS printer emulator on loopback, for tests: started on
//! free ports in a temporary folder, faults injected through its API, and
//! receipts read back as bitmaps. Killed when dropped (also when a test
//! fails).
//!
//! The emulator is `$EMUPOS_BIN` or `<workspace>/target/emupos-venv/bin/emupos`,
//! installed by `bash .ci/steps/emupos.sh`. When it is missing the tests
//! that need it fail with that instruction (no silent skip).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ticket_printer::transport::TcpTransport;
use ticket_printer::{read_png, Bitmap};

/// The device id of the emulated printer.
const DEVICE: &str = "ticket";

/// The emulator's executable: `$EMUPOS_BIN` or the venv `.ci/steps/emupos.sh` makes.
pub fn emupos_bin() -> PathBuf {
    let path = std::env::var_os("EMUPOS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/emupos-venv/bin/emupos")
        });
    assert!(
        path.exists(),
        "the emupos printer emulator is not installed at {}: run `bash .ci/steps/emupos.sh` \
         from the workspace root (or set EMUPOS_BIN)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A running emulator, killed when dropped (also when a test fails).
pub struct Emulator {
    /// The emulator process.
    child: Child,
    /// Its config, log and receipts.
    dir: tempfile::TempDir,
    /// Where it accepts ESC/POS over TCP.
    pub printer_port: u16,
    /// Its control API (faults, receipts).
    api_port: u16,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    /// Starts an emulated 80 mm printer on free loopback ports and waits until it answers.
    pub fn start() -> Emulator {
        let bin = emupos_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let (printer_port, api_port) = (free_port(), free_port());
        let config = format!(
            "schema: 1\napi: {{ host: 127.0.0.1, port: {api_port} }}\ndevices:\n  - id: {DEVICE}\n    \
             type: printer\n    profile: epson-tm-t20iii\n    receipts_dir: ./receipts\n    \
             connections: [{{ tcp: {{ host: 127.0.0.1, port: {printer_port} }} }}]\n"
        );
        let config_path = dir.path().join("emupos.yaml");
        std::fs::write(&config_path, config).expect("write emupos.yaml");
        let log = std::fs::File::create(dir.path().join("emupos.log")).expect("log file");
        let child = Command::new(&bin)
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut emulator = Emulator {
            child,
            dir,
            printer_port,
            api_port,
        };
        emulator.wait_ready();
        emulator
    }

    /// The emulator's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("emupos.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll emulator") {
                panic!(
                    "emupos exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            if self
                .http("GET", &format!("/api/v1/devices/{DEVICE}/receipts"))
                .is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "emupos not ready after 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn http(&self, method: &str, path: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.api_port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.api_port
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }

    /// Injects (`true`) or clears a fault: `paper-out`, `paper-near-end`, `cover-open`.
    pub fn set_fault(&self, fault: &str, active: bool) {
        let method = if active { "PUT" } else { "DELETE" };
        let response = self
            .http(method, &format!("/api/v1/devices/{DEVICE}/faults/{fault}"))
            .expect("fault request");
        assert!(
            response.starts_with("HTTP/1.1 204"),
            "{method} fault {fault}: {response}"
        );
    }

    /// Our TCP transport to the emulated printer.
    pub fn printer(&self) -> TcpTransport {
        TcpTransport::new(
            "127.0.0.1",
            self.printer_port,
            Duration::from_secs(5),
            Duration::from_secs(5),
        )
    }

    /// How many receipts the emulator has finished so far.
    pub fn receipt_count(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("receipts"))
            .map(|entries| {
                entries
                    .filter_map(std::result::Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Waits for the `count`-th receipt and returns its image and metadata.
    pub fn receipt(&self, count: usize) -> (Bitmap, String) {
        let dir = self.dir.path().join("receipts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut metas: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "json"))
                        .collect()
                })
                .unwrap_or_default();
            if metas.len() >= count {
                metas.sort(); // ids start with the completion time
                let meta = &metas[count - 1];
                let json = std::fs::read_to_string(meta).expect("receipt metadata");
                let png = std::fs::File::open(meta.with_extension("png")).expect("receipt image");
                return (read_png(png).expect("receipt PNG decodes"), json);
            }
            assert!(
                Instant::now() < deadline,
                "no receipt {count} after 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
