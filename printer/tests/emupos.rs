//! Integration with the `emupos` ESC/POS printer emulator on loopback: a
//! ticket sent over TCP comes back from the emulator as the same image, and
//! the emulator's paper-out fault shows in our `DLE EOT` status.
//!
//! The emulator is `$EMUPOS_BIN` or `<workspace>/target/emupos-venv/bin/emupos`,
//! installed by `bash .ci/steps/emupos.sh`. Missing, the tests fail (no skip).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ticket_printer::transport::TcpTransport;
use ticket_printer::{
    encode_raster, read_png, render, sample_ticket, Bitmap, EncodeOptions, PaperState, Transport,
};

const DEVICE: &str = "ticket";

fn emupos_bin() -> PathBuf {
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
struct Emulator {
    child: Child,
    dir: tempfile::TempDir,
    printer_port: u16,
    api_port: u16,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    fn start() -> Emulator {
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

    fn log(&self) -> String {
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

    fn set_fault(&self, fault: &str, active: bool) {
        let method = if active { "PUT" } else { "DELETE" };
        let response = self
            .http(method, &format!("/api/v1/devices/{DEVICE}/faults/{fault}"))
            .expect("fault request");
        assert!(
            response.starts_with("HTTP/1.1 204"),
            "{method} fault {fault}: {response}"
        );
    }

    fn printer(&self) -> TcpTransport {
        TcpTransport::new(
            "127.0.0.1",
            self.printer_port,
            Duration::from_secs(5),
            Duration::from_secs(5),
        )
    }

    /// Waits for the `count`-th receipt and returns its image and metadata.
    fn receipt(&self, count: usize) -> (Bitmap, String) {
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

fn ticket(width: u16) -> Bitmap {
    let at = jiff::civil::date(2025, 3, 5).at(8, 15, 0, 0);
    render(
        &sample_ticket("Trung tâm Phục vụ hành chính công", at),
        width,
    )
}

/// Pixels of `actual` that differ from `expected` placed at its top-left
/// corner, counting everything outside `expected` that is black.
fn differing_dots(expected: &Bitmap, actual: &Bitmap) -> u64 {
    let mut differ = 0;
    for y in 0..expected.height().max(actual.height()) {
        for x in 0..u32::from(expected.width().max(actual.width())) {
            if expected.get(x, y) != actual.get(x, y) {
                differ += 1;
            }
        }
    }
    differ
}

#[test]
fn printed_ticket_comes_back_from_the_emulator_pixel_for_pixel() {
    let emulator = Emulator::start();
    let mut printer = emulator.printer();
    let status = printer.status().expect("status over TCP");
    assert_eq!(status.paper, PaperState::Present, "{status:?}");
    assert_eq!(status.online, Some(true));
    assert!(status.ready_to_print());

    // 80 mm, the emulated printer's own width: the receipt must be our bitmap exactly
    // (the emulator pastes GS v 0 mode 0 images 1:1 and drops trailing feeds).
    let wide = ticket(576);
    let options = EncodeOptions {
        band_height: 100,
        ..EncodeOptions::default()
    };
    printer
        .write_all(&encode_raster(&wide, &options))
        .expect("send 80 mm ticket");
    let (image, meta) = emulator.receipt(1);
    assert!(
        meta.contains("\"boundary\": \"cut\""),
        "receipt should end at our cut: {meta}"
    );
    assert_eq!(
        (image.width(), image.height()),
        (wide.width(), wide.height()),
        "receipt size"
    );
    assert_eq!(
        differing_dots(&wide, &image),
        0,
        "80 mm receipt differs from the bitmap sent"
    );

    // 58 mm on the same 576-dot printer: left-aligned, the rest of the line blank.
    let narrow = ticket(384);
    printer
        .write_all(&encode_raster(
            &narrow,
            &EncodeOptions {
                band_height: 24,
                ..options
            },
        ))
        .expect("send 58 mm ticket");
    let (image, _) = emulator.receipt(2);
    assert_eq!(image.height(), narrow.height());
    assert_eq!(
        differing_dots(&narrow, &image),
        0,
        "58 mm receipt differs from the bitmap sent"
    );
}

#[test]
fn paper_out_fault_is_reported_by_status() {
    let emulator = Emulator::start();
    let mut printer = emulator.printer();
    assert_eq!(printer.status().expect("status").paper, PaperState::Present);

    emulator.set_fault("paper-out", true);
    let status = printer.status().expect("status with paper out");
    assert_eq!(status.paper, PaperState::Out, "{status:?}");
    assert_eq!(status.online, Some(false));
    assert!(!status.ready_to_print());

    emulator.set_fault("paper-out", false);
    emulator.set_fault("paper-near-end", true);
    let status = printer.status().expect("status with paper near end");
    assert_eq!(status.paper, PaperState::NearEnd);
    assert!(status.ready_to_print());

    emulator.set_fault("paper-near-end", false);
    emulator.set_fault("cover-open", true);
    let status = printer.status().expect("status with cover open");
    assert_eq!(status.cover_open, Some(true));
    assert!(!status.ready_to_print());
}
