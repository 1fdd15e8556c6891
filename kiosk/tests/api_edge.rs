//! The API's edge against anyone on the LAN: login floods, idle sockets,
//! streams that outlive their credential, too many streams from one
//! address, and config uploads aimed at the data directory.
//!
//! Timings are printed (run with `--no-capture` to see them), never
//! asserted.

mod api_support;

use std::time::{Duration, Instant};

use api_support::{
    connect_from, open_stream, open_stream_on, request_from, within, Setup, SseClient, TestKiosk,
    PASSWORD,
};
use kiosk::accounts::Accounts;
use kiosk::api::stream::StreamSettings;
use kiosk::api::ApiOptions;
use kiosk::app::{blocking, PressOutcome};
use kiosk::auth::Role;
use kiosk_config::DepartmentId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JSON: (&str, &str) = ("content-type", "application/json");

async fn add_admin(kiosk: &TestKiosk) {
    let accounts = kiosk.state.accounts().clone();
    blocking(move || accounts.add_user("quantri", Role::Admin, PASSWORD, &[]))
        .await
        .unwrap();
}

/// Presses `n` times; the latencies.
async fn presses(kiosk: &TestKiosk, n: usize) -> Vec<Duration> {
    let department = DepartmentId("ho-tich".into());
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let outcome = kiosk.app.press(&department, false).await;
        assert!(matches!(outcome, PressOutcome::Printed(_)), "{outcome:?}");
        took.push(started.elapsed());
    }
    took
}

fn quantile_ms(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// A login attempt that may be cut off by the server's connection limits:
/// its status, or 0 when the connection was closed without an answer.
async fn attempt(from: &str, addr: std::net::SocketAddr, body: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let Ok(mut stream) = socket.connect(addr).await else {
        return 0;
    };
    let request = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: kiosk\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Logs in from `from`, retrying while every check thread is busy.
async fn login_from(kiosk: &TestKiosk, from: &str, name: &str, password: &str) -> u16 {
    let body = serde_json::json!({ "name": name, "password": password }).to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = request_from(
            from,
            kiosk.addr,
            "POST",
            "/api/v1/login",
            &[JSON],
            Some(&body),
        )
        .await;
        let busy = reply.status == 429 && reply.body.contains("thread is busy");
        if !busy || Instant::now() > deadline {
            return reply.status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_checks_few_passwords_and_the_admin_still_gets_in() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    add_admin(&kiosk).await;
    let mut before = presses(&kiosk, 20).await;
    let rss_before = peak_rss_kib();

    let wrong =
        serde_json::json!({ "name": "quantri", "password": "đoán bừa mật khẩu" }).to_string();
    let flood: Vec<_> = (0..300)
        .map(|_| {
            let (addr, wrong) = (kiosk.addr, wrong.clone());
            tokio::spawn(async move { attempt("127.0.0.1", addr, &wrong).await })
        })
        .collect();
    // During the flood: presses, and the admin from the office.
    let mut during = presses(&kiosk, 20).await;
    let admin = login_from(&kiosk, "127.0.0.2", "quantri", PASSWORD).await;
    let mut statuses = Vec::new();
    for request in flood {
        statuses.push(request.await.unwrap());
    }

    let refused = statuses.iter().filter(|s| **s == 429).count();
    let wrong_answers = statuses.iter().filter(|s| **s == 401).count();
    let cut = statuses.iter().filter(|s| **s == 0).count();
    assert_eq!(refused + wrong_answers + cut, 300, "{statuses:?}");
    assert_eq!(
        admin, 200,
        "the admin's right password from another address was refused"
    );
    let evaluated = kiosk.state.password_checks();
    // Five free attempts for the flooding address, and the admin's one.
    assert!(
        evaluated <= 6,
        "{evaluated} passwords were checked for a 300-request flood"
    );
    assert!(kiosk.state.password_checks_peak() <= 2);
    let rss_after = peak_rss_kib();
    println!(
        "login flood of 300 from one address: {evaluated} passwords checked ({wrong_answers} answered 401, {refused} answered 429, {cut} closed at the connection limit), at most {} at once; peak RSS {} → {} MiB; press p50/p99 before {:.1}/{:.1} ms, during {:.1}/{:.1} ms",
        kiosk.state.password_checks_peak(),
        rss_before / 1024,
        rss_after / 1024,
        quantile_ms(&mut before, 0.5),
        quantile_ms(&mut before, 0.99),
        quantile_ms(&mut during, 0.5),
        quantile_ms(&mut during, 0.99),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_many_addresses_stops_at_the_global_ceiling() {
    let kiosk = TestKiosk::start(Setup {
        options: ApiOptions {
            login_ceiling: (4, 1),
            ..ApiOptions::default()
        },
        ..Setup::default()
    })
    .await;
    add_admin(&kiosk).await;
    let wrong =
        serde_json::json!({ "name": "quantri", "password": "đoán bừa mật khẩu" }).to_string();
    let flood: Vec<_> = (0..120)
        .map(|i| {
            let (addr, wrong) = (kiosk.addr, wrong.clone());
            let from = format!("127.0.3.{}", 1 + i % 40);
            tokio::spawn(async move { attempt(&from, addr, &wrong).await })
        })
        .collect();
    for request in flood {
        let status = request.await.unwrap();
        assert!(matches!(status, 0 | 401 | 429), "{status}");
    }
    let evaluated = kiosk.state.password_checks();
    // The burst of 4, and at most one more from the refill meanwhile.
    assert!(
        evaluated <= 5,
        "{evaluated} passwords checked under a ceiling of 4"
    );
    assert!(kiosk.state.password_checks_peak() <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_are_closed_while_a_reading_stream_stays_open() {
    let kiosk = TestKiosk::start(Setup {
        options: ApiOptions {
            limits: lan_server_limits(),
            stream: StreamSettings {
                keep_alive: Duration::from_millis(200),
                ..StreamSettings::default()
            },
            ..ApiOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let mut display = connect_from("127.0.0.30", kiosk.addr).await;
    let request = format!(
        "GET /api/v1/events HTTP/1.1\r\nHost: kiosk\r\nAuthorization: Bearer {}\r\n\r\n",
        kiosk.display_token
    );
    display.write_all(request.as_bytes()).await.unwrap();
    let mut idle = Vec::new();
    for i in 0..20 {
        let mut socket = connect_from(&format!("127.0.4.{}", i + 1), kiosk.addr).await;
        if i % 2 == 0 {
            // Half a request, then nothing.
            socket
                .write_all(b"POST /api/v1/login HTTP/1.1\r\nHost: kiosk\r\n")
                .await
                .unwrap();
        }
        idle.push(socket);
    }
    let started = Instant::now();
    for mut socket in idle {
        let mut buf = [0u8; 512];
        within(5, "an idle socket to be closed", async {
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
    let closed_after = started.elapsed();
    // The display read all along and is still served.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let reading = Instant::now();
    while reading.elapsed() < Duration::from_millis(1500) {
        let n = within(2, "the stream to send", display.read(&mut buf))
            .await
            .unwrap();
        assert!(n > 0, "the reading stream was closed");
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.matches(": keep-alive").count() >= 5, "{text}");
    println!("20 idle or half-sent sockets closed within {closed_after:?}");
}

fn lan_server_limits() -> lan_server::Limits {
    lan_server::Limits {
        header_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(1),
        ..lan_server::Limits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_only_a_few_streams() {
    let kiosk = TestKiosk::start(Setup {
        options: ApiOptions {
            streams_per_address: 2,
            ..ApiOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let auth = format!("Bearer {}", kiosk.display_token);
    let headers = [("authorization", auth.as_str())];
    let mut open = Vec::new();
    for _ in 0..2 {
        let socket = connect_from("127.0.0.40", kiosk.addr).await;
        let (status, client) = open_stream_on(socket, "/api/v1/events", &headers).await;
        assert_eq!(status, 200);
        open.push(client);
    }
    let socket = connect_from("127.0.0.40", kiosk.addr).await;
    let (status, _) = open_stream_on(socket, "/api/v1/events", &headers).await;
    assert_eq!(status, 429, "a third stream from one address");
    let socket = connect_from("127.0.0.41", kiosk.addr).await;
    let (status, _) = open_stream_on(socket, "/api/v1/events", &headers).await;
    assert_eq!(status, 200, "another address is not held back");
    // Closing one makes room again.
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let socket = connect_from("127.0.0.40", kiosk.addr).await;
        let (status, _) = open_stream_on(socket, "/api/v1/events", &headers).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's slot was not given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads until the stream ends; panics if it does not within `secs`.
async fn ends_within(client: &mut SseClient, secs: u64, what: &str) {
    within(secs, what, async {
        while client.next_event().await.is_some() {}
    })
    .await;
}

fn quick_recheck() -> ApiOptions {
    ApiOptions {
        stream: StreamSettings {
            recheck: Duration::from_millis(200),
            ..StreamSettings::default()
        },
        ..ApiOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_its_token_is_revoked() {
    let kiosk = TestKiosk::start(Setup {
        options: quick_recheck(),
        ..Setup::default()
    })
    .await;
    // Through the API.
    let auth = format!("Bearer {}", kiosk.display_token);
    let (status, mut display) =
        open_stream(kiosk.addr, "/api/v1/events", &[("authorization", &auth)]).await;
    assert_eq!(status, 200);
    assert_eq!(display.next_event().await.unwrap().event, "snapshot");
    let admin = format!("Bearer {}", kiosk.admin_token);
    let reply = kiosk
        .call(
            "DELETE",
            "/api/v1/admin/tokens/bang-san",
            &[("authorization", &admin)],
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    ends_within(&mut display, 2, "the revoked display's stream to end").await;

    // By `kiosk token revoke`, another process writing the file.
    let path = format!("/api/v1/events?token={}", kiosk.keypad_token);
    let (status, mut keypad) = open_stream(kiosk.addr, &path, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(keypad.next_event().await.unwrap().event, "snapshot");
    let cli = Accounts::open(&Accounts::path_in(kiosk.dir.path())).unwrap();
    cli.revoke_token("quay-1").unwrap();
    ends_within(
        &mut keypad,
        5,
        "the keypad's stream to end after a CLI revoke",
    )
    .await;
}

/// Logs `lan` in and opens a stream with the cookie.
async fn staff_stream(kiosk: &TestKiosk) -> (String, String, SseClient) {
    let (cookie, csrf) = kiosk.login("lan").await;
    let (status, mut client) =
        open_stream(kiosk.addr, "/api/v1/events", &[("cookie", &cookie)]).await;
    assert_eq!(status, 200);
    assert_eq!(client.next_event().await.unwrap().event, "snapshot");
    (cookie, csrf, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_stream_ends_at_logout_disable_and_new_password() {
    let kiosk = TestKiosk::start(Setup {
        options: quick_recheck(),
        with_staff: true,
        ..Setup::default()
    })
    .await;
    add_admin(&kiosk).await;
    let admin = format!("Bearer {}", kiosk.admin_token);

    let (cookie, csrf, mut client) = staff_stream(&kiosk).await;
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/logout",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    ends_within(&mut client, 2, "the stream to end at logout").await;

    let (_, _, mut client) = staff_stream(&kiosk).await;
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/admin/users/lan/disable",
            &[("authorization", &admin)],
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    ends_within(
        &mut client,
        2,
        "the stream to end when the account is disabled",
    )
    .await;
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/admin/users/lan/enable",
            &[("authorization", &admin)],
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // `kiosk user passwd lan` in another process.
    let (cookie, _, mut client) = staff_stream(&kiosk).await;
    let cli = Accounts::open(&Accounts::path_in(kiosk.dir.path())).unwrap();
    blocking(move || cli.set_password("lan", "một mật khẩu mới hẳn"))
        .await
        .unwrap();
    ends_within(
        &mut client,
        5,
        "the stream to end after `kiosk user passwd`",
    )
    .await;
    let reply = kiosk
        .call("GET", "/api/v1/me/counters", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(
        reply.status, 401,
        "the old session still works: {}",
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_stream_ends_when_the_session_expires() {
    let kiosk = TestKiosk::start(Setup {
        options: ApiOptions {
            session_lifetime: Duration::from_secs(2),
            ..quick_recheck()
        },
        with_staff: true,
        ..Setup::default()
    })
    .await;
    let started = Instant::now();
    let (_, _, mut client) = staff_stream(&kiosk).await;
    ends_within(&mut client, 10, "the stream to end at session expiry").await;
    assert!(started.elapsed() >= Duration::from_millis(1900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cannot_point_the_printer_into_the_data_directory() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    let admin = format!("Bearer {}", kiosk.admin_token);
    let config_text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples/phu-xuan.toml"),
    );
    let Ok(text) = config_text else {
        panic!("the example center config is missing");
    };
    let accounts = Accounts::path_in(kiosk.dir.path());
    let aimed = retarget_printer(
        &text,
        &format!(
            "transport = \"file\"\npath = {:?}",
            accounts.display().to_string()
        ),
    );
    for route in [
        "/api/v1/admin/config/validate",
        "/api/v1/admin/config/reload",
    ] {
        let reply = kiosk
            .call("POST", route, &[("authorization", &admin)], Some(&aimed))
            .await;
        assert_eq!(reply.status, 422, "{route}: {}", reply.body);
        assert!(reply.body.contains("/dev"), "{}", reply.body);
    }
    let device = retarget_printer(&text, "transport = \"usb\"\npath = \"/dev/usb/lp0\"");
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/admin/config/validate",
            &[("authorization", &admin)],
            Some(&device),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let escape = retarget_printer(
        &text,
        "transport = \"usb\"\npath = \"/dev/../var/lib/kiosk/accounts.json\"",
    );
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/admin/config/validate",
            &[("authorization", &admin)],
            Some(&escape),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
}

/// The example config with its `[kiosk.printer]` transport lines replaced.
fn retarget_printer(text: &str, transport: &str) -> String {
    let mut out = String::new();
    let mut in_printer = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_printer = trimmed.starts_with("[kiosk.printer]");
            out.push_str(line);
            out.push('\n');
            if in_printer {
                out.push_str(transport);
                out.push('\n');
            }
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or("").trim();
        if in_printer && matches!(key, "transport" | "path" | "address" | "baud") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
