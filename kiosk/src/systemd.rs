//! Tells systemd how the kiosk is doing (`sd_notify`): `READY=1` once the
//! buttons, printer and LAN API are live, `WATCHDOG=1` at half the unit's
//! `WatchdogSec`, `RELOADING=1` before the daily re-execution (the new
//! process, same PID, sends `READY=1` again) and `STOPPING=1` when shutdown
//! starts.
//!
//! It owns only the datagrams sent to `$NOTIFY_SOCKET`; it does not decide
//! when the kiosk is ready (the daemon does) and it never fails the kiosk:
//! without `NOTIFY_SOCKET` (a terminal, the demo, tests) every call is a
//! no-op, and a send error is logged once and otherwise ignored, since a
//! missed notification is systemd's business (it restarts a unit that never
//! becomes ready or stops feeding the watchdog).
//!
//! The protocol is a plain text datagram on a Unix socket, so this is a few
//! lines of std rather than a `libsystemd` binding. A socket path starting
//! with `@` lives in the abstract namespace.
//!
//! # Troubleshooting
//!
//! `systemctl status kiosk` showing "activating (start)" until a timeout
//! means the kiosk never got to "kiosk ready" — the journal says why
//! (`journalctl -u kiosk`). "Watchdog timeout" means the runtime stalled for
//! `WatchdogSec`; systemd restarts the kiosk and the store keeps every issued
//! number.

use std::ffi::OsString;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Environment variable naming the socket systemd listens on.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// Environment variable holding the watchdog interval in microseconds.
pub const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
/// Environment variable naming the process the watchdog is meant for.
pub const WATCHDOG_PID: &str = "WATCHDOG_PID";

/// Sends one notification (`"READY=1"`, `"WATCHDOG=1"`, …) to the socket
/// `socket` names: a filesystem path, or `@name` for an abstract socket.
pub fn notify_to(socket: &std::ffi::OsStr, state: &str) -> io::Result<()> {
    let sender = UnixDatagram::unbound()?;
    let bytes = socket.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        send_abstract(&sender, name, state)
    } else {
        sender.send_to(state.as_bytes(), socket).map(|_| ())
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_abstract(sender: &UnixDatagram, name: &[u8], state: &str) -> io::Result<()> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    sender.send_to_addr(state.as_bytes(), &address).map(|_| ())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_abstract(_: &UnixDatagram, _: &[u8], _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract notify sockets exist only on Linux",
    ))
}

/// Sends `state` to `$NOTIFY_SOCKET`; does nothing when it is not set.
/// Returns whether a notification was sent.
pub fn notify(state: &str) -> bool {
    let Some(socket) = std::env::var_os(NOTIFY_SOCKET) else {
        return false;
    };
    match notify_to(&socket, state) {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(
                error = %err,
                socket = %socket.to_string_lossy(),
                state,
                "could not notify systemd; check the unit's NotifyAccess and Type=notify"
            );
            false
        }
    }
}

/// Tells systemd the kiosk is ready (`Type=notify` units leave "activating").
pub fn notify_ready() -> bool {
    notify("READY=1\nSTATUS=buttons, printer and LAN API are live")
}

/// Tells systemd the kiosk is about to re-execute itself (same PID): it
/// sends `READY=1` again once the new process is live.
pub fn notify_reloading() -> bool {
    notify(&format!(
        "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=starting the new service day as a fresh process",
        monotonic_usec()
    ))
}

/// `CLOCK_MONOTONIC` in microseconds, which `RELOADING=1` carries.
#[allow(unsafe_code)] // clock_gettime, with its SAFETY comment.
fn monotonic_usec() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec that outlives the call;
    // CLOCK_MONOTONIC always exists on Linux.
    let _ = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000
        + u64::try_from(now.tv_nsec).unwrap_or(0) / 1000
}

/// Tells systemd the kiosk is shutting down on purpose.
pub fn notify_stopping() -> bool {
    notify("STOPPING=1")
}

/// How often to feed the watchdog, from the unit's environment: half of
/// `WATCHDOG_USEC`, or `None` when the watchdog is off or meant for another
/// process (`WATCHDOG_PID` set to a different pid).
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_interval_from(
        std::env::var_os(WATCHDOG_USEC),
        std::env::var_os(WATCHDOG_PID),
        std::process::id(),
    )
}

/// [`watchdog_interval`] on explicit values, for tests.
pub fn watchdog_interval_from(
    usec: Option<OsString>,
    pid: Option<OsString>,
    own_pid: u32,
) -> Option<Duration> {
    if let Some(pid) = pid {
        let pid: u32 = pid.to_str()?.trim().parse().ok()?;
        if pid != own_pid {
            return None;
        }
    }
    let usec: u64 = usec?.to_str()?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

/// Spawns a task that sends `WATCHDOG=1` every half watchdog interval for as
/// long as the runtime runs it. Returns `None` (and spawns nothing) when the
/// unit has no watchdog. Abort the handle at shutdown.
///
/// The feeder runs on the same runtime as the daemon's work, so a runtime
/// that stalls stops feeding and systemd restarts the kiosk.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let interval = watchdog_interval()?;
    tracing::info!(
        every_ms = interval.as_millis() as u64,
        "feeding the systemd watchdog"
    );
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            notify("WATCHDOG=1");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(socket: &UnixDatagram) -> String {
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).expect("a notification within 5 s");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_the_state_to_a_socket_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        notify_to(path.as_os_str(), "READY=1").unwrap();
        assert_eq!(receive(&listener), "READY=1");
        notify_to(path.as_os_str(), "WATCHDOG=1").unwrap();
        assert_eq!(receive(&listener), "WATCHDOG=1");
        notify_to(path.as_os_str(), "STOPPING=1").unwrap();
        assert_eq!(receive(&listener), "STOPPING=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket_named_with_an_at_sign() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("kiosk-notify-test-{}", std::process::id());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&address).unwrap();
        notify_to(format!("@{name}").as_ref(), "READY=1").unwrap();
        assert_eq!(receive(&listener), "READY=1");
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let err = notify_to(dir.path().join("absent").as_os_str(), "READY=1").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn without_notify_socket_nothing_is_sent() {
        // Tests never run under systemd with NOTIFY_SOCKET set; if they did,
        // this would still only send a harmless status line.
        if std::env::var_os(NOTIFY_SOCKET).is_none() {
            assert!(!notify_ready());
            assert!(!notify_stopping());
        }
    }

    #[test]
    fn watchdog_interval_is_half_the_unit_setting() {
        let own = 4242;
        assert_eq!(
            watchdog_interval_from(Some("30000000".into()), None, own),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval_from(Some("30000000".into()), Some("4242".into()), own),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval_from(Some("30000000".into()), Some("1".into()), own),
            None,
            "the watchdog of another process is not ours to feed"
        );
        assert_eq!(watchdog_interval_from(None, None, own), None);
        assert_eq!(watchdog_interval_from(Some("0".into()), None, own), None);
        assert_eq!(watchdog_interval_from(Some("soon".into()), None, own), None);
    }
}
