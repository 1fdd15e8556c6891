//! The daily re-execution of `kiosk run` (see `kiosk::daemon`): the real
//! binary, asked with `SIGUSR2` (the same path as the day roll), keeps its
//! PID and its listening socket; requests made during the window are
//! answered, none is refused, and an event stream resumed with
//! `Last-Event-ID` misses nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
}

fn center_file(data_dir: &Path, printer: &Path, listen: SocketAddr) -> String {
    format!(
        "[center]\nname = \"Trung tâm thử nghiệm\"\nshort_name = \"TT thử\"\n\n\
         [[departments]]\nid = \"ho-tich\"\nname = \"Hộ tịch\"\nblock = {{ first = 1, last = 999, prefix = \"A\" }}\n\n\
         [[counters]]\nnumber = 1\nserves = [\"ho-tich\"]\n\n\
         [kiosk]\ndata_dir = {:?}\nlisten = \"{listen}\"\n\n\
         [kiosk.printer]\ntransport = \"file\"\npath = {:?}\n",
        data_dir.display().to_string(),
        printer.display().to_string(),
    )
}

fn token(config: &Path, name: &str, role: &str) -> String {
    let out = kiosk()
        .args(["token", "add", name, "--role", role, "--config"])
        .arg(config)
        .output()
        .expect("kiosk token add runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// One request on a connection of its own; the status code.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: kiosk\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    answer
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {answer:?}")))
}

/// An open event stream: the events it delivers, as (id, event name).
struct Stream {
    events: mpsc::Receiver<(u64, String)>,
}

impl Stream {
    fn open(addr: SocketAddr, token: &str, last_event_id: Option<u64>) -> Stream {
        let mut stream = TcpStream::connect(addr).expect("stream connects");
        let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        write!(
            stream,
            "GET /api/v1/events HTTP/1.1\r\nHost: kiosk\r\nAuthorization: Bearer {token}\r\n{resume}\r\n"
        )
        .unwrap();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            let reader = BufReader::new(stream);
            let (mut id, mut name) = (None, String::from("message"));
            for line in reader.lines().map_while(Result::ok) {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    name = v.trim().to_owned();
                } else if line.is_empty() {
                    if let Some(id) = id.take() {
                        if tx
                            .send((id, std::mem::replace(&mut name, "message".into())))
                            .is_err()
                        {
                            return;
                        }
                    }
                    name = "message".into();
                }
            }
        });
        Stream { events }
    }

    /// The next event, or None once the stream ended.
    fn next(&self) -> Option<(u64, String)> {
        match self.events.recv_timeout(DEADLINE) {
            Ok(event) => Some(event),
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("no event within {DEADLINE:?}"),
        }
    }
}

/// The kiosk's log lines, as they come.
fn watch_log(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn wait_for_line(log: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        if let Ok(line) = log.recv_timeout(Duration::from_millis(200)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return;
            }
        }
    }
    panic!("the kiosk never logged {needle:?}:\n{}", seen.join("\n"));
}

#[allow(unsafe_code)] // kill, with its SAFETY comment.
fn signal(child: &Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill takes no pointer; `pid` is our own child, not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

#[test]
fn a_reexecuted_kiosk_keeps_its_pid_socket_and_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = dir.path().join("center.toml");
    std::fs::write(
        &config,
        center_file(
            &dir.path().join("data"),
            &dir.path().join("tickets.bin"),
            addr,
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let display = token(&config, "bang", "display");
    let admin = token(&config, "script", "admin");

    let mut child = kiosk()
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let log = watch_log(&mut child);
    let mut seen = Vec::new();
    wait_for_line(&log, "kiosk ready", &mut seen);

    let stream = Stream::open(addr, &display, None);
    let (snapshot_id, name) = stream.next().expect("a snapshot first");
    assert_eq!(name, "snapshot");
    assert_eq!(
        request(addr, "POST", "/api/v1/admin/config/reload", Some(&admin)).unwrap(),
        200
    );
    let (before, _) = stream.next().expect("the reload's event");
    assert!(before > snapshot_id);

    // Requests keep coming, each on a new connection, through the window.
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (stop, answered, failed) = (stop.clone(), answered.clone(), failed.clone());
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                match request(addr, "GET", "/api/v1/summary", None) {
                    Ok(200) => answered.fetch_add(1, Ordering::SeqCst),
                    other => {
                        failures.push(format!("{other:?}"));
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
            failures
        })
    };
    while answered.load(Ordering::SeqCst) < 5 {
        std::thread::sleep(Duration::from_millis(5));
    }

    signal(&child, libc::SIGUSR2);
    // A change asked for during the window: answered by one process or the
    // other, never refused, and its event is in the resumed stream.
    assert_eq!(
        request(addr, "POST", "/api/v1/admin/config/reload", Some(&admin)).unwrap(),
        200
    );
    // The old process ends the stream (its clients reconnect).
    let mut last_seen = before;
    while let Some((id, _)) = stream.next() {
        assert_eq!(id, last_seen + 1, "events arrive in order, none skipped");
        last_seen = id;
    }
    wait_for_line(&log, "handed over by the previous process", &mut seen);
    wait_for_line(&log, "kiosk ready", &mut seen);
    let during = answered.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::SeqCst);
    let failures = load.join().unwrap();
    assert!(
        failures.is_empty(),
        "requests during the re-execution failed: {failures:?}"
    );
    assert!(
        answered.load(Ordering::SeqCst) > during,
        "the new process answers"
    );
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "same process, still running"
    );
    assert_eq!(child.id(), pid);

    // Resumed from the last event seen: the change made during the window
    // arrives (once) if the old stream had not delivered it, then a new one.
    let resumed = Stream::open(addr, &display, Some(last_seen));
    assert_eq!(
        request(addr, "POST", "/api/v1/admin/config/reload", Some(&admin)).unwrap(),
        200
    );
    // Reload events: `before`, the window's (before + 1), the later one
    // (before + 2). Whatever came on the old stream, the resumed one goes on
    // from the next id, without a gap or a repeat, up to the later one.
    let mut next = last_seen + 1;
    while next <= before + 2 {
        let (id, name) = resumed.next().expect("the resumed stream goes on");
        assert_ne!(name, "snapshot", "a resumed client needs no snapshot");
        assert_eq!(
            id, next,
            "no event lost or repeated across the re-execution"
        );
        next += 1;
    }

    signal(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// A kiosk killed (SIGKILL, as a power cut ends it) at moments spread over
/// its re-execution window: the data directory always opens again, with
/// every acknowledged change, and the next kiosk starts on it.
#[test]
fn a_kill_during_the_reexecution_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = dir.path().join("center.toml");
    std::fs::write(
        &config,
        center_file(&data, &dir.path().join("tickets.bin"), addr),
    )
    .unwrap();
    let admin = token(&config, "script", "admin");
    let mut acknowledged = 0u64;
    for round in 0..12u64 {
        let mut child = kiosk()
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = watch_log(&mut child);
        let mut seen = Vec::new();
        wait_for_line(&log, "kiosk ready", &mut seen);
        for _ in 0..3 {
            assert_eq!(
                request(addr, "POST", "/api/v1/admin/config/reload", Some(&admin)).unwrap(),
                200
            );
            acknowledged += 1;
        }
        signal(&child, libc::SIGUSR2);
        // 0 to 110 ms after the request: before, during and after the stop,
        // the exec and the new image's opening of the store.
        std::thread::sleep(Duration::from_millis(round * 10));
        signal(&child, libc::SIGKILL);
        let _ = child.wait();

        let center = kiosk_config::load_center(&config).expect("config").value;
        let store = queue_store::store::Store::open(
            &data,
            Arc::new(center),
            Arc::new(queue_store::clock::SystemClock),
            &queue_store::store::StoreOptions::default(),
        )
        .unwrap_or_else(|e| panic!("round {round}: the store does not open after the kill: {e}"));
        let events = match store.events_since(0, usize::MAX).unwrap() {
            queue_store::store::EventsSince::Events(events) => events,
            gap => panic!("round {round}: {gap:?}"),
        };
        let admin_actions = events
            .iter()
            .filter(|e| matches!(e.kind, queue_protocol::EventKind::AdminAction { .. }))
            .count() as u64;
        assert!(
            admin_actions >= acknowledged,
            "round {round}: {acknowledged} reloads acknowledged, {admin_actions} on disk"
        );
        for (a, b) in events.iter().zip(events.iter().skip(1)) {
            assert_eq!(b.seq, a.seq + 1, "round {round}: the event log has a gap");
        }
    }
}
