//! Transports against local stand-ins: a fake TCP printer that answers (or
//! ignores) `DLE EOT`, an address nobody listens on, and the file transport.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use kiosk_config::{PrintMode, PrinterSettings, PrinterTransport};
use ticket_printer::transport::TcpTransport;
use ticket_printer::{open, PaperState, PrinterStatus, Transport, TransportError};

/// Accepts one connection; answers DLE EOT n with `answer(n)` (None: silence)
/// and returns every byte that is not a status request.
fn fake_printer(answer: fn(u8) -> Option<u8>) -> (u16, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buffer[..n]);
            while let Some(at) = pending.windows(2).position(|w| w == [0x10, 0x04]) {
                if pending.len() < at + 3 {
                    break;
                }
                received.extend_from_slice(&pending[..at]);
                if let Some(byte) = answer(pending[at + 2]) {
                    stream.write_all(&[byte]).unwrap();
                }
                pending.drain(..at + 3);
            }
        }
        received.extend_from_slice(&pending);
        received
    });
    (port, handle)
}

fn tcp(port: u16) -> TcpTransport {
    TcpTransport::new(
        "127.0.0.1",
        port,
        Duration::from_secs(2),
        Duration::from_millis(300),
    )
}

#[test]
fn tcp_status_and_bytes_reach_the_printer() {
    let (port, printer) = fake_printer(|n| Some(if n == 4 { 0x1E } else { 0x12 }));
    let mut transport = tcp(port);
    let status = transport.status().unwrap();
    assert_eq!(
        status,
        PrinterStatus {
            online: Some(true),
            cover_open: Some(false),
            paper: PaperState::NearEnd
        }
    );
    let ticket: Vec<u8> = (0..200_000u32)
        .map(|i| (i % 251) as u8 & 0x7F)
        .filter(|b| *b != 0x10)
        .collect();
    transport.write_all(&ticket).unwrap();
    assert_eq!(transport.describe(), format!("tcp 127.0.0.1:{port}"));
    drop(transport);
    assert_eq!(printer.join().unwrap(), ticket);
}

#[test]
fn a_printer_that_never_answers_has_unknown_status_not_an_error() {
    let (port, _printer) = fake_printer(|_| None);
    let mut transport = tcp(port);
    let status = transport.status().expect("silence is not an error");
    assert!(status.is_unknown());
    assert!(status.ready_to_print(), "unknown counts as ready");
}

#[test]
fn an_unreachable_printer_is_an_error_naming_the_address() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut transport = tcp(port);
    let error = transport.status().unwrap_err();
    assert!(matches!(error, TransportError::Connect { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert!(transport.write_all(b"x").is_err());
}

fn settings(transport: PrinterTransport) -> PrinterSettings {
    PrinterSettings {
        transport,
        paper_width_mm: 80,
        dots_per_line: 576,
        cut: true,
        band_height: 64,
        mode: PrintMode::Raster,
        connect_timeout: Duration::from_secs(1),
        io_timeout: Duration::from_millis(200),
        status_interval: Duration::from_secs(5),
    }
}

#[test]
fn file_transport_appends_and_has_unknown_status() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool.bin");
    let mut transport = open(&settings(PrinterTransport::File { path: path.clone() })).unwrap();
    transport.write_all(b"one").unwrap();
    transport.write_all(b"two").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"onetwo");
    assert!(transport.status().unwrap().is_unknown());
}

#[test]
fn missing_usb_device_is_an_error_naming_the_device() {
    let path = PathBuf::from("/dev/usb/lp-does-not-exist");
    let mut transport = open(&settings(PrinterTransport::Usb { path })).unwrap();
    let error = transport.write_all(b"x").unwrap_err();
    assert!(
        error.to_string().contains("/dev/usb/lp-does-not-exist"),
        "{error}"
    );
}

#[test]
#[allow(unsafe_code)] // a pty from libc, with its SAFETY comment.
fn usb_like_device_answers_status_through_a_pty() {
    // A pseudo-terminal stands in for a bidirectional device file.
    // SAFETY: plain libc calls on descriptors owned by this test.
    let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY) };
    assert!(master >= 0);
    // SAFETY: `master` is the pty just opened.
    unsafe {
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
    }
    // SAFETY: ptsname returns a NUL-terminated name for an open pty master.
    let name = unsafe { std::ffi::CStr::from_ptr(libc::ptsname(master)) }
        .to_str()
        .unwrap()
        .to_string();
    use std::os::fd::FromRawFd;
    // SAFETY: the descriptor is owned by nothing else; the File closes it.
    let mut master = unsafe { std::fs::File::from_raw_fd(master) };
    let mut transport = open(&settings(PrinterTransport::Serial {
        path: name.into(),
        baud: 9600,
    }))
    .unwrap();
    let printer = thread::spawn(move || {
        let mut request = [0u8; 3];
        for _ in 0..3 {
            master.read_exact(&mut request).unwrap();
            assert_eq!(&request[..2], &[0x10, 0x04]);
            let answer = match request[2] {
                1 => 0x1A,
                2 => 0x32,
                _ => 0x7E,
            };
            master.write_all(&[answer]).unwrap();
        }
        master
    });
    let status = transport.status().unwrap();
    assert_eq!(status.paper, PaperState::Out);
    assert!(!status.ready_to_print());
    drop(printer.join().unwrap());
}

#[test]
fn unsupported_baud_rate_is_refused_up_front() {
    let error = open(&settings(PrinterTransport::Serial {
        path: "/dev/ttyS0".into(),
        baud: 12345,
    }))
    .err()
    .expect("12345 baud is refused");
    assert!(matches!(
        error,
        TransportError::UnsupportedBaud { baud: 12345, .. }
    ));
}

/// Shrinks a listening socket's receive buffer to what a cheap printer has,
/// so its accepted connections stop taking data once it is full.
#[allow(unsafe_code)] // setsockopt, with its SAFETY comment.
fn small_receive_buffer(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 4096;
    // SAFETY: SO_RCVBUF takes one int; the fd is the live listener's.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt SO_RCVBUF");
}

#[test]
fn a_printer_that_accepts_and_never_reads_is_a_write_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    small_receive_buffer(&listener);
    let port = listener.local_addr().unwrap().port();
    // Accept and hold the connection without ever reading it.
    let holder = thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let mut printer = TcpTransport::new(
        "127.0.0.1",
        port,
        Duration::from_secs(2),
        Duration::from_millis(300),
    );
    // A ticket is tens of kilobytes; a printer that takes none of it must
    // not count as printed.
    let ticket = vec![0u8; 64 * 1024];
    let err = printer.write_all(&ticket).unwrap_err();
    assert!(
        matches!(err, TransportError::WriteTimeout { .. }),
        "expected a write timeout, got {err}"
    );
    drop(holder.join().unwrap());
}

#[test]
fn a_reading_printer_takes_a_whole_ticket() {
    let (port, printer_thread) = fake_printer(|_| None);
    let mut printer = tcp(port);
    let ticket = vec![0x55u8; 80 * 1024];
    printer
        .write_all(&ticket)
        .expect("a reading printer takes every byte");
    drop(printer);
    assert_eq!(printer_thread.join().unwrap().len(), ticket.len());
}
