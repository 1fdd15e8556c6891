//! How bytes reach the printer: one [`Transport`] trait with TCP (port 9100),
//! USB printer-class device (`/dev/usb/lp0`), serial port and file
//! implementations, and the `DLE EOT` status exchange over each. Connections
//! and devices are opened on first use and reopened after an error, so a
//! printer that was unplugged or rebooted comes back by itself. What the bytes
//! mean is `escpos`'s business; when to poll is the kiosk's.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiosk_config::{PrinterSettings, PrinterTransport};

use crate::escpos::{parse_status, status_request, StatusRequest};
use crate::PrinterStatus;

/// Why bytes could not reach the printer, naming the device or address.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The printer's host name did not resolve.
    #[error("cannot resolve printer address {address}: {source}")]
    Resolve {
        /// `host:port` as configured.
        address: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// No TCP connection could be made within the connect timeout.
    #[error("cannot connect to printer at {address} (timeout {timeout:?}): {source}; check that it is powered on and on the network")]
    Connect {
        /// `host:port` as configured.
        address: String,
        /// The connect timeout used.
        timeout: Duration,
        /// The last connect error.
        source: io::Error,
    },
    /// The device file exists but this user may not open it.
    #[error("permission denied opening printer device {}; add the kiosk's user to the `lp` group (USB) or `dialout` group (serial)", path.display())]
    PermissionDenied {
        /// The device path.
        path: PathBuf,
    },
    /// The device or file could not be opened.
    #[error("cannot open printer device {}: {source}; check that the printer is plugged in and powered on", path.display())]
    Open {
        /// The device or file path.
        path: PathBuf,
        /// The open error.
        source: io::Error,
    },
    /// The serial port's baud rate is not one this platform supports.
    #[error("baud rate {baud} for serial printer {} is not supported; use 9600, 19200, 38400, 57600 or 115200", path.display())]
    UnsupportedBaud {
        /// The serial device.
        path: PathBuf,
        /// The configured baud rate.
        baud: u32,
    },
    /// Setting the serial port's line parameters failed.
    #[error("cannot configure serial printer {} at {baud} baud: {source}", path.display())]
    SerialSetup {
        /// The serial device.
        path: PathBuf,
        /// The configured baud rate.
        baud: u32,
        /// The termios error.
        source: io::Error,
    },
    /// The printer took no data for the whole I/O timeout.
    #[error("printer {device} accepted no data for {timeout:?}; check paper, cover and cable")]
    WriteTimeout {
        /// The device or address.
        device: String,
        /// The I/O timeout.
        timeout: Duration,
    },
    /// Writing failed.
    #[error("writing to printer {device} failed: {source}")]
    Write {
        /// The device or address.
        device: String,
        /// The write error.
        source: io::Error,
    },
    /// Asking for the status failed (not: the printer did not answer).
    #[error("status request to printer {device} failed: {source}")]
    Status {
        /// The device or address.
        device: String,
        /// The I/O error.
        source: io::Error,
    },
}

/// A way to send bytes to a printer and ask its status.
pub trait Transport: Send {
    /// Sends all of `bytes`; fails if the printer takes nothing for the I/O timeout.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;

    /// Asks `DLE EOT 1`, `2` and `4`. A printer that does not answer gives
    /// [`PrinterStatus::UNKNOWN`], not an error; an unreachable one is an error.
    fn status(&mut self) -> Result<PrinterStatus, TransportError>;

    /// The device or address, for messages: `tcp 10.0.0.5:9100`, `/dev/usb/lp0`.
    fn describe(&self) -> String;
}

/// The transport the settings describe. Nothing is opened yet: the connection
/// or device is opened on first use.
pub fn open(settings: &PrinterSettings) -> Result<Box<dyn Transport>, TransportError> {
    let io_timeout = settings.io_timeout.max(Duration::from_millis(1));
    Ok(match &settings.transport {
        PrinterTransport::Tcp { host, port } => Box::new(TcpTransport::new(
            host,
            *port,
            settings.connect_timeout.max(Duration::from_millis(1)),
            io_timeout,
        )),
        PrinterTransport::Usb { path } => Box::new(DeviceTransport::usb(path, io_timeout)),
        PrinterTransport::Serial { path, baud } => {
            Box::new(DeviceTransport::serial(path, *baud, io_timeout)?)
        }
        PrinterTransport::File { path } => Box::new(FileTransport::new(path)),
    })
}

/// A network printer (raw TCP, usually port 9100). One connection is kept
/// open and reopened after an error.
pub struct TcpTransport {
    address: String,
    connect_timeout: Duration,
    io_timeout: Duration,
    stream: Option<TcpStream>,
}

impl TcpTransport {
    /// A printer at `host:port`; nothing is connected yet.
    pub fn new(host: &str, port: u16, connect_timeout: Duration, io_timeout: Duration) -> Self {
        let address = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        TcpTransport {
            address,
            connect_timeout,
            io_timeout,
            stream: None,
        }
    }

    fn connect(&mut self) -> Result<&mut TcpStream, TransportError> {
        if self.stream.is_none() {
            let addresses: Vec<_> = self
                .address
                .to_socket_addrs()
                .map_err(|source| TransportError::Resolve {
                    address: self.address.clone(),
                    source,
                })?
                .collect();
            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
            for address in addresses {
                match TcpStream::connect_timeout(&address, self.connect_timeout) {
                    Ok(stream) => {
                        let setup = stream
                            .set_write_timeout(Some(self.io_timeout))
                            .and_then(|()| stream.set_read_timeout(Some(self.io_timeout)))
                            .and_then(|()| stream.set_nodelay(true));
                        match setup {
                            Ok(()) => {
                                self.stream = Some(stream);
                                break;
                            }
                            Err(error) => last = error,
                        }
                    }
                    Err(error) => last = error,
                }
            }
            if self.stream.is_none() {
                return Err(TransportError::Connect {
                    address: self.address.clone(),
                    timeout: self.connect_timeout,
                    source: last,
                });
            }
        }
        // Set just above when it was None.
        self.stream.as_mut().ok_or_else(|| TransportError::Connect {
            address: self.address.clone(),
            timeout: self.connect_timeout,
            source: io::Error::new(io::ErrorKind::NotConnected, "not connected"),
        })
    }

    fn query(&mut self) -> io::Result<PrinterStatus> {
        let timeout = self.io_timeout;
        let Some(stream) = self.stream.as_mut() else {
            return Ok(PrinterStatus::UNKNOWN);
        };
        drain_tcp(stream)?;
        let mut answers = [None; 3];
        for (answer, request) in answers.iter_mut().zip([
            StatusRequest::Printer,
            StatusRequest::OfflineCause,
            StatusRequest::PaperSensor,
        ]) {
            stream.write_all(&status_request(request))?;
            *answer = read_byte_tcp(stream, timeout)?;
            if answer.is_none() {
                break; // a printer that ignores one request ignores them all; don't wait thrice
            }
        }
        Ok(parse_status(answers[0], answers[1], answers[2]))
    }
}

impl Transport for TcpTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let timeout = self.io_timeout;
        let started = std::time::Instant::now();
        let result = self
            .connect()?
            .write_all(bytes)
            .and_then(|()| self.stream.as_mut().map_or(Ok(()), std::io::Write::flush))
            .and_then(|()| {
                let left = timeout.saturating_sub(started.elapsed());
                self.stream
                    .as_ref()
                    .map_or(Ok(()), |stream| wait_until_taken(stream, left))
            });
        result.map_err(|source| {
            self.stream = None;
            write_error(self.describe(), timeout, source)
        })
    }

    fn status(&mut self) -> Result<PrinterStatus, TransportError> {
        self.connect()?;
        self.query().map_err(|source| {
            self.stream = None;
            TransportError::Status {
                device: self.describe(),
                source,
            }
        })
    }

    fn describe(&self) -> String {
        format!("tcp {}", self.address)
    }
}

/// Waits until every byte written has been sent to the printer (nothing
/// left unsent in the socket's queue), or fails with `TimedOut`.
///
/// A write returns as soon as the bytes are in the kernel's buffers, which
/// hold a whole ticket; a printer that accepts the connection and never
/// reads (jammed, or its buffer stuck) would otherwise look like a printer
/// that printed. Its small receive window fills and the rest stays unsent
/// here. A printer taking bytes as fast as it prints lets them go in about
/// the time the ticket takes to print. Unsent, not unacknowledged, bytes are
/// counted, so the receiver's delayed ACK (up to 40 ms) adds nothing.
#[allow(unsafe_code)] // libc calls, each with its SAFETY comment.
fn wait_until_taken(stream: &TcpStream, timeout: Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let mut queued: libc::c_int = 0;
        // SAFETY: SIOCOUTQNSD writes one int (bytes not yet sent) for a TCP socket.
        let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::SIOCOUTQNSD, &mut queued) };
        if rc != 0 {
            // Not knowable on this system: the write itself is all we have.
            return Ok(());
        }
        if queued == 0 {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the printer took no more data; {queued} bytes still unsent"),
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn write_error(device: String, timeout: Duration, source: io::Error) -> TransportError {
    if matches!(
        source.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        TransportError::WriteTimeout { device, timeout }
    } else {
        TransportError::Write { device, source }
    }
}

/// Discards answers that arrived after an earlier request timed out, so they
/// are not taken for answers to the next one.
fn drain_tcp(stream: &mut TcpStream) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    let mut buffer = [0u8; 64];
    let result = loop {
        match stream.read(&mut buffer) {
            Ok(0) => {
                break Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "printer closed the connection",
                ))
            }
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => break Err(error),
        }
    };
    stream.set_nonblocking(false)?;
    result
}

fn read_byte_tcp(stream: &mut TcpStream, timeout: Duration) -> io::Result<Option<u8>> {
    stream.set_read_timeout(Some(timeout))?;
    let mut byte = [0u8];
    loop {
        return match stream.read(&mut byte) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "printer closed the connection",
            )),
            Ok(_) => Ok(Some(byte[0])),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => Err(error),
        };
    }
}

/// A USB printer-class device (`/dev/usb/lp0`) or a serial port, opened
/// read-write and non-blocking so every write and status read has a deadline.
pub struct DeviceTransport {
    path: PathBuf,
    baud: Option<(u32, libc::speed_t)>,
    io_timeout: Duration,
    file: Option<File>,
}

impl DeviceTransport {
    /// A USB printer-class device; nothing is opened yet.
    pub fn usb(path: &Path, io_timeout: Duration) -> Self {
        DeviceTransport {
            path: path.to_path_buf(),
            baud: None,
            io_timeout,
            file: None,
        }
    }

    /// A serial port at `baud`, 8N1, no flow control; nothing is opened yet.
    pub fn serial(path: &Path, baud: u32, io_timeout: Duration) -> Result<Self, TransportError> {
        let speed = baud_constant(baud).ok_or_else(|| TransportError::UnsupportedBaud {
            path: path.to_path_buf(),
            baud,
        })?;
        Ok(DeviceTransport {
            path: path.to_path_buf(),
            baud: Some((baud, speed)),
            io_timeout,
            file: None,
        })
    }

    fn file(&mut self) -> Result<&mut File, TransportError> {
        if self.file.is_none() {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(&self.path)
                .map_err(|source| open_error(&self.path, source))?;
            if let Some((baud, speed)) = self.baud {
                configure_serial(&file, speed).map_err(|source| TransportError::SerialSetup {
                    path: self.path.clone(),
                    baud,
                    source,
                })?;
            }
            self.file = Some(file);
        }
        self.file.as_mut().ok_or_else(|| TransportError::Open {
            path: self.path.clone(),
            source: io::Error::new(io::ErrorKind::NotConnected, "not open"),
        })
    }

    fn query(&mut self) -> io::Result<PrinterStatus> {
        let timeout = self.io_timeout;
        let Some(file) = self.file.as_mut() else {
            return Ok(PrinterStatus::UNKNOWN);
        };
        // Late answers to an earlier, timed-out request must not be taken for new ones.
        while read_byte_fd(file, Duration::ZERO)?.is_some() {}
        let mut answers = [None; 3];
        for (answer, request) in answers.iter_mut().zip([
            StatusRequest::Printer,
            StatusRequest::OfflineCause,
            StatusRequest::PaperSensor,
        ]) {
            write_all_fd(file, &status_request(request), timeout)?;
            *answer = read_byte_fd(file, timeout)?;
            if answer.is_none() {
                break;
            }
        }
        Ok(parse_status(answers[0], answers[1], answers[2]))
    }
}

impl Transport for DeviceTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let timeout = self.io_timeout;
        let result = write_all_fd(self.file()?, bytes, timeout);
        result.map_err(|source| {
            self.file = None;
            write_error(self.describe(), timeout, source)
        })
    }

    fn status(&mut self) -> Result<PrinterStatus, TransportError> {
        self.file()?;
        self.query().map_err(|source| {
            self.file = None;
            TransportError::Status {
                device: self.describe(),
                source,
            }
        })
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

fn open_error(path: &Path, source: io::Error) -> TransportError {
    if source.kind() == io::ErrorKind::PermissionDenied {
        TransportError::PermissionDenied {
            path: path.to_path_buf(),
        }
    } else {
        TransportError::Open {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Waits until `fd` is ready for `events`, at most `timeout`. False on timeout.
#[allow(unsafe_code)] // libc calls, each with its SAFETY comment.
fn poll_fd(file: &File, events: libc::c_short, timeout: Duration) -> io::Result<bool> {
    let mut pollfd = libc::pollfd {
        fd: file.as_raw_fd(),
        events,
        revents: 0,
    };
    let millis = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    loop {
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut pollfd, 1, millis) };
        if ready < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        return Ok(ready > 0);
    }
}

/// Writes everything; fails when the device takes nothing for `timeout`
/// (the deadline restarts with every accepted chunk, so slow serial lines work).
fn write_all_fd(file: &mut File, mut bytes: &[u8], timeout: Duration) -> io::Result<()> {
    let mut deadline = Instant::now() + timeout;
    while !bytes.is_empty() {
        match file.write(bytes) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                bytes = &bytes[n..];
                deadline = Instant::now() + timeout;
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !poll_fd(file, libc::POLLOUT, left)? {
                    return Err(io::Error::from(io::ErrorKind::TimedOut));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// One byte, or `None` when nothing arrives within `timeout`.
fn read_byte_fd(file: &mut File, timeout: Duration) -> io::Result<Option<u8>> {
    if !poll_fd(file, libc::POLLIN, timeout)? {
        return Ok(None);
    }
    let mut byte = [0u8];
    loop {
        return match file.read(&mut byte) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(byte[0])),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => Err(error),
        };
    }
}

fn baud_constant(baud: u32) -> Option<libc::speed_t> {
    Some(match baud {
        1200 => libc::B1200,
        2400 => libc::B2400,
        4800 => libc::B4800,
        9600 => libc::B9600,
        19200 => libc::B19200,
        38400 => libc::B38400,
        57600 => libc::B57600,
        115200 => libc::B115200,
        230400 => libc::B230400,
        _ => return None,
    })
}

/// Raw 8N1 at `speed`, no flow control, modem lines ignored.
#[allow(unsafe_code)] // libc calls, each with its SAFETY comment.
fn configure_serial(file: &File, speed: libc::speed_t) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it before it is used.
    let mut tio: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is an open descriptor owned by `file`; tio is a valid termios.
    unsafe {
        if libc::tcgetattr(fd, &mut tio) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::cfmakeraw(&mut tio);
        if libc::cfsetispeed(&mut tio, speed) != 0 || libc::cfsetospeed(&mut tio, speed) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    tio.c_cflag |= libc::CLOCAL | libc::CREAD | libc::CS8;
    tio.c_cflag &= !(libc::CSTOPB | libc::PARENB | libc::CRTSCTS);
    // SAFETY: as above.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &tio) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Appends every ticket's bytes to a file (demos, tests, a printer spool).
/// It has no status: [`PrinterStatus::UNKNOWN`].
pub struct FileTransport {
    path: PathBuf,
}

impl FileTransport {
    /// Appends to `path`, created on first write.
    pub fn new(path: &Path) -> Self {
        FileTransport {
            path: path.to_path_buf(),
        }
    }
}

impl Transport for FileTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|source| open_error(&self.path, source))?;
        file.write_all(bytes)
            .and_then(|()| file.flush())
            .map_err(|source| TransportError::Write {
                device: self.describe(),
                source,
            })
    }

    fn status(&mut self) -> Result<PrinterStatus, TransportError> {
        Ok(PrinterStatus::UNKNOWN)
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}
