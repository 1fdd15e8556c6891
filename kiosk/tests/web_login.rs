//! `login.js` leads on only to a page of this kiosk: its `safeNext` is run
//! in Node against the redirects browsers would take off-site.

use std::process::Command;

const ORIGIN: &str = "http://kiosk.lan:8080";

/// What `safeNext(next, ORIGIN)` answers for each input (JSON `null` for
/// a refusal).
fn safe_next(inputs: &[&str]) -> Vec<serde_json::Value> {
    let script = format!(
        r#"
const fs = require('fs');
globalThis.Kiosk = {{ api() {{}}, $: () => ({{ addEventListener() {{}} }}), notice() {{}} }};
globalThis.location = {{ search: '', origin: {origin:?} }};
require('vm').runInThisContext(fs.readFileSync({file:?}, 'utf8'));
const inputs = JSON.parse(process.argv[1]);
console.log(JSON.stringify(inputs.map((n) => safeNext(n, {origin:?}))));
"#,
        origin = ORIGIN,
        file = concat!(env!("CARGO_MANIFEST_DIR"), "/web/login.js"),
    );
    let output = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(serde_json::to_string(inputs).unwrap())
        .output()
        .expect("node runs the login page's script; install it with `bash .ci/setup` (apt-get install nodejs)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON array")
}

#[test]
fn off_site_redirects_are_refused() {
    let hostile = [
        "/\\evil.example",
        "/\\/evil.example",
        "//evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/login?next=//evil.example",
        "",
        "evil.example",
    ];
    for (input, answer) in hostile.iter().zip(safe_next(&hostile)) {
        assert!(answer.is_null(), "{input:?} led to {answer}");
    }
}

#[test]
fn pages_of_the_kiosk_are_kept() {
    let pages = [
        "/console",
        "/admin?tab=users#top",
        "/console/%5Cevil.example",
    ];
    let answers = safe_next(&pages);
    assert_eq!(answers[0], "/console");
    assert_eq!(answers[1], "/admin?tab=users#top");
    // An escaped backslash stays a path on this kiosk.
    assert_eq!(answers[2], "/console/%5Cevil.example");
}
