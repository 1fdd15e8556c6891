//! Logins, CSRF, bad input and admin actions through the API.

mod api_support;

use std::time::Duration;

use api_support::{Setup, TestKiosk, PASSWORD};
use kiosk::api::ApiOptions;
use queue_protocol::EventKind;

const JSON: (&str, &str) = ("content-type", "application/json");

/// Headers, body, expected status.
type Case<'a> = (&'a [(&'a str, &'a str)], String, u16);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_throttled_with_retry_after() {
    let kiosk = TestKiosk::start(Setup {
        with_staff: true,
        options: ApiOptions {
            free_login_attempts: 2,
            login_base_delay: Duration::from_secs(60),
            ..ApiOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let wrong = r#"{"name":"lan","password":"không đúng mật khẩu"}"#;
    for _ in 0..2 {
        let reply = kiosk
            .call("POST", "/api/v1/login", &[JSON], Some(wrong))
            .await;
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
    let right = serde_json::json!({"name": "lan", "password": PASSWORD}).to_string();
    let reply = kiosk
        .call("POST", "/api/v1/login", &[JSON], Some(&right))
        .await;
    assert_eq!(reply.status, 429, "{}", reply.body);
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert!(reply.json()["error"].as_str().unwrap().contains("giây"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_need_csrf_and_end_at_logout() {
    let kiosk = TestKiosk::start(Setup {
        with_staff: true,
        ..Setup::default()
    })
    .await;
    kiosk.issue("ho-tich").await;
    let right = serde_json::json!({"name": "lan", "password": PASSWORD}).to_string();
    let reply = kiosk
        .call("POST", "/api/v1/login", &[JSON], Some(&right))
        .await;
    let cookie_attrs = reply.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie_attrs.contains(attr), "{cookie_attrs}");
    }
    assert_eq!(reply.json()["role"], "staff");
    assert_eq!(reply.json()["counters"], serde_json::json!([1]));
    let (cookie, csrf) = kiosk.login("lan").await;
    let c = ("cookie", cookie.as_str());
    let reply = kiosk.call("GET", "/api/v1/me/counters", &[c], None).await;
    assert_eq!(reply.status, 200, "reads need no CSRF: {}", reply.body);
    assert_eq!(reply.json()["counters"][0]["counter"], 1);
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/next", &[c], None)
        .await;
    assert_eq!(reply.status, 403);
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/counters/1/next",
            &[c, ("x-csrf-token", "guess")],
            None,
        )
        .await;
    assert_eq!(reply.status, 403);
    let with_csrf = [c, ("x-csrf-token", csrf.as_str())];
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/next", &with_csrf, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/next", &with_csrf, None)
        .await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.json()["error"], "không còn ai đang chờ");
    assert!(reply.json()["detail"]
        .as_str()
        .unwrap()
        .contains("nobody is waiting"));
    let reply = kiosk.call("POST", "/api/v1/logout", &with_csrf, None).await;
    assert_eq!(reply.status, 200);
    let reply = kiosk.call("GET", "/api/v1/me/counters", &[c], None).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_actions_and_keypads() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    for _ in 0..3 {
        kiosk.issue("ho-tich").await;
    }
    let keypad = format!("Bearer {}", kiosk.keypad_token);
    let k = [("authorization", keypad.as_str()), JSON];
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/next", &k, None)
        .await;
    assert_eq!(reply.json()["ticket"]["label"], "1001");
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/recall", &k, Some(""))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/start", &k, None)
        .await;
    assert_eq!(reply.status, 403, "keypads do not start service");
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/counters/1/finish",
            &k,
            Some(r#"{"ticket": 999}"#),
        )
        .await;
    assert!(reply.status == 404 || reply.status == 409, "{}", reply.body);
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/no-show", &k, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = kiosk
        .call("GET", "/api/v1/counters/1/current", &k, None)
        .await;
    assert_eq!(reply.json()["current"], serde_json::Value::Null);

    let admin = format!("Bearer {}", kiosk.admin_token);
    let a = [("authorization", admin.as_str()), JSON];
    kiosk
        .call("POST", "/api/v1/counters/2/next", &a, None)
        .await;
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/counters/2/transfer",
            &a,
            Some(r#"{"department":"dat-dai"}"#),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["ticket"]["department"], "dat-dai");
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/counters/2/transfer",
            &a,
            Some(r#"{"department":"dat-dai","counter":3}"#),
        )
        .await;
    assert_eq!(reply.status, 422);
    let reply = kiosk
        .call("POST", "/api/v1/counters/99/next", &a, None)
        .await;
    assert_eq!(reply.status, 404);

    let summary = kiosk.call("GET", "/api/v1/summary", &[], None).await.json();
    assert_eq!(summary["departments"][0]["department"], "ho-tich");
    assert!(summary["last_calls"].as_array().unwrap().len() >= 2);
    let queue = kiosk.call("GET", "/api/v1/queue", &a, None).await.json();
    assert_eq!(queue["departments"][1]["waiting"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_bodies_get_json_4xx() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    let admin = format!("Bearer {}", kiosk.admin_token);
    let a = ("authorization", admin.as_str());
    let with_json = [a, JSON];
    let without = [a];
    let cases: Vec<Case> = vec![
        (&with_json, "{not json".into(), 400),
        (&with_json, r#"{"name": 5}"#.into(), 422),
        (
            &without,
            r#"{"name":"x","role":"staff","password":"12345678"}"#.into(),
            415,
        ),
        (
            &with_json,
            r#"{"name":"x y","role":"staff","password":"mật khẩu dài","counters":[1]}"#.into(),
            422,
        ),
        (
            &with_json,
            r#"{"name":"x","role":"staff","password":"ngắn","counters":[1]}"#.into(),
            422,
        ),
        (&with_json, "x".repeat(70 * 1024), 413),
    ];
    for (headers, body, status) in cases {
        let reply = kiosk
            .call("POST", "/api/v1/admin/users", headers, Some(&body))
            .await;
        assert_eq!(reply.status, status, "{:.60}: {}", body, reply.body);
        assert!(reply.json()["error"].is_string());
    }
    let reply = kiosk
        .call(
            "POST",
            "/api/v1/admin/config/validate",
            &[a],
            Some(&"#".repeat(70 * 1024)),
        )
        .await;
    assert_eq!(reply.status, 413);
    let reply = kiosk
        .call("POST", "/api/v1/admin/tickets/abc/reprint", &[a], None)
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.json()["error"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_actions_are_recorded_and_bad_configs_keep_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("center.toml");
    std::fs::write(&config_path, kiosk_config::examples::MINIMAL).unwrap();
    let kiosk = TestKiosk::start(Setup {
        options: ApiOptions {
            config_path: Some(config_path.clone()),
            ..ApiOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let admin = format!("Bearer {}", kiosk.admin_token);
    let a = [("authorization", admin.as_str()), JSON];
    let old_name = kiosk.app.config().center.name.clone();

    let bad = "[center]\nname = \"x\"\n[[departments]]\nid = \"a\"\nblock = { first = 5, last = 1 }\nbogus = 1\n";
    for route in [
        "/api/v1/admin/config/validate",
        "/api/v1/admin/config/reload",
    ] {
        let reply = kiosk.call("POST", route, &a, Some(bad)).await;
        assert_eq!(reply.status, 422, "{}", reply.body);
        let problems = reply.json()["problems"].as_array().unwrap().clone();
        assert!(!problems.is_empty());
        let first = problems[0].as_str().unwrap();
        assert!(
            first.starts_with(&format!("{}:", config_path.display())),
            "{first}"
        );
    }
    assert_eq!(kiosk.app.config().center.name, old_name);
    assert_eq!(
        std::fs::read_to_string(&config_path).unwrap(),
        kiosk_config::examples::MINIMAL
    );

    let good = kiosk_config::examples::THUAN_HOA;
    let reply = kiosk
        .call("POST", "/api/v1/admin/config/validate", &a, Some(good))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = kiosk
        .call("POST", "/api/v1/admin/config/reload", &a, Some(good))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_ne!(kiosk.app.config().center.name, old_name);
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), good);

    let reply = kiosk
        .call(
            "POST",
            "/api/v1/admin/tokens",
            &a,
            Some(r#"{"name":"quay-2","role":"keypad","counter":2}"#),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let token = reply.json()["token"].as_str().unwrap().to_string();
    let reply = kiosk
        .call("DELETE", "/api/v1/admin/tokens/quay-2", &a, None)
        .await;
    assert_eq!(reply.status, 200);
    let t = format!("Bearer {token}");
    let reply = kiosk
        .call("GET", "/api/v1/queue", &[("authorization", &t)], None)
        .await;
    assert_eq!(reply.status, 401, "a revoked token is refused");

    let status = kiosk
        .call("GET", "/api/v1/admin/status", &a, None)
        .await
        .json();
    assert!(status["printer"]["state"].is_string());
    assert!(status["store"]["last_seq"].as_u64().unwrap() >= 3);

    let store = kiosk.app.store().clone();
    let queue_store::store::EventsSince::Events(events) = store.events_since(0, 100).unwrap()
    else {
        panic!("gap")
    };
    let actions: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AdminAction { action, .. } => Some(action.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            "configuration reloaded".to_string(),
            "added keypad token quay-2".to_string(),
            "revoked token quay-2".to_string(),
        ]
    );
}
