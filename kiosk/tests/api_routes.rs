//! Walks every row of the API's route table: without credentials each
//! protected route answers 401, with a role it does not list or another
//! staff member's counter 403, and a cookie session without its CSRF token
//! cannot change anything. A route added to the table is walked too.

mod api_support;

use std::collections::BTreeSet;

use api_support::{Setup, TestKiosk};
use kiosk::api::{Access, Method, ROUTES};
use kiosk::auth::Role;

/// The path with its parameters filled: counter 3 (not lan's, not the
/// keypad's), a name and a ticket that do not exist.
fn concrete(path: &str) -> String {
    path.replace("{n}", "3")
        .replace("{name}", "nobody")
        .replace("{id}", "424242")
        .replace("{day}", "2026-01-05")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_credentials_roles_and_counters() {
    let kiosk = TestKiosk::start(Setup {
        with_staff: true,
        ..Setup::default()
    })
    .await;
    let (cookie, csrf) = kiosk.login("lan").await;
    let admin = format!("Bearer {}", kiosk.admin_token);
    let display = format!("Bearer {}", kiosk.display_token);
    let keypad = format!("Bearer {}", kiosk.keypad_token);
    let reader = format!("Bearer {}", kiosk.reader_token);
    let touch_token = kiosk
        .state
        .accounts()
        .add_token("cua-vao", Role::Touch, None)
        .unwrap();
    let touch = format!("Bearer {touch_token}");
    let principals: Vec<(Role, Vec<(&str, &str)>)> = vec![
        (Role::Admin, vec![("authorization", admin.as_str())]),
        (Role::Display, vec![("authorization", display.as_str())]),
        (Role::Keypad, vec![("authorization", keypad.as_str())]),
        (Role::Reader, vec![("authorization", reader.as_str())]),
        (Role::Touch, vec![("authorization", touch.as_str())]),
        (
            Role::Staff,
            vec![("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())],
        ),
    ];

    let public: BTreeSet<String> = ROUTES
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| format!("{} {}", r.method.as_str(), r.path))
        .collect();
    assert_eq!(
        public,
        BTreeSet::from([
            "GET /healthz".to_string(),
            "GET /metrics".to_string(),
            "GET /api/v1/summary".to_string(),
            "POST /api/v1/login".to_string(),
        ]),
        "a new public route must be a deliberate choice"
    );

    let mut walked = 0;
    for route in ROUTES {
        if route.access == Access::Public {
            continue;
        }
        walked += 1;
        let method = route.method.as_str();
        let path = concrete(route.path);
        let body = route.method.is_mutating().then_some("{}");
        let json = [("content-type", "application/json")];

        let reply = kiosk.call(method, &path, &json, body).await;
        if matches!(route.access, Access::Touch(_)) {
            // The kiosk's own screen: loopback without credentials (the
            // test client is on loopback); see the test below for the rest.
            assert!(
                ![401, 403].contains(&reply.status) && reply.status < 500,
                "{route:?} from loopback without credentials: {} {}",
                reply.status,
                reply.body
            );
        } else {
            assert_eq!(
                reply.status, 401,
                "{route:?} without credentials: {}",
                reply.body
            );
            assert!(reply.json()["error"].is_string(), "{route:?}: JSON error");
        }

        let bogus = [("authorization", "Bearer not-a-token")];
        let reply = kiosk.call(method, &path, &bogus, body).await;
        assert_eq!(reply.status, 401, "{route:?} with a bogus token");

        for (role, headers) in &principals {
            let mut headers = headers.clone();
            headers.push(json[0]);
            let allowed_role = route.access.roles().contains(role);
            let allowed_counter = match route.access {
                // Counter 3 belongs neither to lan nor to the keypad.
                Access::Counter(_) => *role == Role::Admin,
                _ => true,
            };
            if allowed_role && allowed_counter {
                if matches!(route.access, Access::Stream(_)) {
                    continue; // never ends; the stream tests cover it
                }
                if route.path == "/api/v1/logout" && *role == Role::Staff {
                    continue; // would end the session the walk still needs
                }
                let reply = kiosk.call(method, &path, &headers, body).await;
                assert!(
                    reply.status != 401 && reply.status != 403,
                    "{route:?} as {role:?} should be allowed, got {}: {}",
                    reply.status,
                    reply.body
                );
                assert!(reply.status < 500, "{route:?} as {role:?}: {}", reply.body);
            } else {
                let reply = kiosk.call(method, &path, &headers, body).await;
                assert_eq!(reply.status, 403, "{route:?} as {role:?}: {}", reply.body);
                assert!(reply.json()["error"].is_string());
            }
        }

        // A cookie session without its CSRF token changes nothing.
        if route.method.is_mutating() {
            let no_csrf = [("cookie", cookie.as_str()), json[0]];
            let reply = kiosk
                .call(method, &path.replace("/3/", "/1/"), &no_csrf, body)
                .await;
            assert_eq!(reply.status, 403, "{route:?} without CSRF: {}", reply.body);
        }
    }
    assert!(walked >= 20, "the table lost routes: {walked}");
}

/// With `[kiosk.touch] loopback = false` the touch routes need a token like
/// any other route; a touch token reaches the touch routes only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn touch_routes_need_a_token_once_loopback_is_off() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    let mut config = (*kiosk.app.config()).clone();
    config.kiosk.touch.loopback = false;
    kiosk
        .app
        .reload_config(config, queue_protocol::Actor::System)
        .unwrap();
    let touch_routes: Vec<_> = ROUTES
        .iter()
        .filter(|r| matches!(r.access, Access::Touch(_)))
        .collect();
    assert_eq!(touch_routes.len(), 3, "{touch_routes:?}");
    let token = kiosk
        .state
        .accounts()
        .add_token("cua-vao", Role::Touch, None)
        .unwrap();
    let bearer = format!("Bearer {token}");
    for route in touch_routes {
        let body = route.method.is_mutating().then_some("{}");
        let json = [("content-type", "application/json")];
        let reply = kiosk
            .call(route.method.as_str(), route.path, &json, body)
            .await;
        assert_eq!(reply.status, 401, "{route:?}: {}", reply.body);
        let with_token = [json[0], ("authorization", bearer.as_str())];
        let reply = kiosk
            .call(route.method.as_str(), route.path, &with_token, body)
            .await;
        assert!(
            ![401, 403].contains(&reply.status),
            "{route:?}: {}",
            reply.body
        );
    }
    let touchable: BTreeSet<String> = ROUTES
        .iter()
        .filter(|r| r.access.roles().contains(&Role::Touch))
        .map(|r| r.path.to_string())
        .collect();
    assert!(
        touchable.iter().all(|p| p.starts_with("/api/v1/touch/")),
        "{touchable:?}"
    );
}

/// The city hub's reader token reaches exactly the event stream and the
/// day export: a new route that lists `Reader` is a deliberate choice.
#[test]
fn the_reader_role_reads_the_stream_and_day_exports_only() {
    let readable: BTreeSet<String> = ROUTES
        .iter()
        .filter(|r| r.access.roles().contains(&Role::Reader))
        .map(|r| format!("{} {}", r.method.as_str(), r.path))
        .collect();
    assert_eq!(
        readable,
        BTreeSet::from([
            "GET /api/v1/events".to_string(),
            "GET /api/v1/days/{day}/export".to_string(),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_export_gives_the_kept_tickets_or_the_summaries_once_pruned() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    kiosk.issue("ho-tich").await;
    kiosk.issue("ho-tich").await;
    let today = kiosk.app.store().service_day().expect("a day started");
    let reader = format!("Bearer {}", kiosk.reader_token);
    let auth = [("authorization", reader.as_str())];

    let reply = kiosk
        .call("GET", &format!("/api/v1/days/{today}/export"), &auth, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["source"], "tickets");
    assert_eq!(body["service_day"], today.to_string());
    let labels: Vec<&str> = body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["1001", "1002"]);

    let reply = kiosk
        .call("GET", "/api/v1/days/2001-02-03/export", &auth, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["source"], "none");
    assert_eq!(reply.json()["tickets"].as_array().unwrap().len(), 0);

    let reply = kiosk
        .call("GET", "/api/v1/days/yesterday/export", &auth, None)
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains("YYYY-MM-DD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_act_at_their_own_counter_only() {
    let kiosk = TestKiosk::start(Setup {
        with_staff: true,
        ..Setup::default()
    })
    .await;
    kiosk.issue("ho-tich").await;
    let (cookie, csrf) = kiosk.login("lan").await;
    let staff = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let reply = kiosk
        .call("POST", "/api/v1/counters/1/next", &staff, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["ticket"]["label"], "1001");
    let reply = kiosk
        .call("POST", "/api/v1/counters/2/next", &staff, None)
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let reply = kiosk
        .call("POST", "/api/v1/counters/abc/next", &staff, None)
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_answer_json() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    let reply = kiosk.call("GET", "/api/v1/nothing-here", &[], None).await;
    assert_eq!(reply.status, 404);
    assert!(reply.json()["error"].is_string());
    let reply = kiosk.call("DELETE", "/api/v1/summary", &[], None).await;
    assert_eq!(reply.status, 405);
    assert!(reply.json()["error"].is_string());
    let reply = kiosk.call("GET", "/healthz", &[], None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["ok"], true);
}

#[test]
fn methods_and_paths_are_unique() {
    let mut seen = BTreeSet::new();
    for route in ROUTES {
        assert!(
            seen.insert((route.method.as_str(), route.path)),
            "{route:?} twice"
        );
        assert!(
            ["/healthz", "/metrics"].contains(&route.path) || route.path.starts_with("/api/v1/"),
            "{route:?}"
        );
        if matches!(route.access, Access::Counter(_)) {
            assert!(route.path.contains("{n}"), "{route:?} needs {{n}}");
        }
        let _ = Method::Get;
    }
}
