//! Keeps the wiring tables of `docs/raspberry-pi.md` true to the example
//! configurations: every button and LED of a config appears in the table that
//! follows its `<!-- wiring: FILE -->` marker, with the right BCM GPIO, the
//! right physical header pin and the right pin for the other side of the
//! switch or LED (the nearest ground, or 3.3 V for an active-high button or
//! active-low LED), and the table lists nothing else.
//!
//! On a mismatch the test prints the table as it should be, ready to paste.

use std::collections::BTreeMap;
use std::path::Path;

use kiosk_config::{ActiveLevel, CenterConfig};

/// Configs whose wiring the guide documents.
const DOCUMENTED: &[&str] = &["phu-xuan.toml", "thuan-hoa.toml"];

/// BCM GPIO number → physical pin of the 40-pin header (every Pi since the B+).
const BCM_TO_PHYSICAL: &[(u8, u8)] = &[
    (2, 3),
    (3, 5),
    (4, 7),
    (5, 29),
    (6, 31),
    (7, 26),
    (8, 24),
    (9, 21),
    (10, 19),
    (11, 23),
    (12, 32),
    (13, 33),
    (14, 8),
    (15, 10),
    (16, 36),
    (17, 11),
    (18, 12),
    (19, 35),
    (20, 38),
    (21, 40),
    (22, 15),
    (23, 16),
    (24, 18),
    (25, 22),
    (26, 37),
    (27, 13),
];

/// Ground pins of the header.
const GROUND: &[u8] = &[6, 9, 14, 20, 25, 30, 34, 39];
/// 3.3 V pins of the header.
const THREE_V3: &[u8] = &[1, 17];

fn physical(bcm: u8) -> Option<u8> {
    BCM_TO_PHYSICAL
        .iter()
        .find(|(b, _)| *b == bcm)
        .map(|(_, p)| *p)
}

/// The pin of `candidates` closest to `pin` on the header (two columns, odd
/// pins on the left): fewest rows away, then the same column, then the lower.
fn nearest(pin: u8, candidates: &[u8]) -> u8 {
    let row = |p: u8| i32::from(p.div_ceil(2));
    *candidates
        .iter()
        .min_by_key(|&&c| ((row(c) - row(pin)).abs(), (c % 2 != pin % 2), c))
        .expect("candidates")
}

/// Where the other side of a switch or LED goes.
fn other_side(pin: u8, to_three_v3: bool) -> String {
    if to_three_v3 {
        format!("3.3 V pin {}", nearest(pin, THREE_V3))
    } else {
        format!("GND pin {}", nearest(pin, GROUND))
    }
}

/// One wired part: (what, name, BCM, header pin, other side).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    name: String,
    bcm: u8,
    header: u8,
    other_side: String,
}

fn expected_rows(config: &CenterConfig) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    let mut add = |what: String, name: &str, bcm: u8, to_three_v3: bool| {
        let header = physical(bcm).unwrap_or_else(|| panic!("BCM {bcm} is not on the header"));
        rows.insert(
            what,
            Row {
                name: name.to_string(),
                bcm,
                header,
                other_side: other_side(header, to_three_v3),
            },
        );
    };
    for d in &config.departments {
        if let Some(b) = d.button {
            add(
                format!("button `{}`", d.id.0),
                &d.name,
                b.pin,
                b.active == ActiveLevel::High,
            );
        }
        if let Some(b) = d.priority_button {
            add(
                format!("priority button `{}`", d.id.0),
                &format!("{} (ưu tiên)", d.name),
                b.pin,
                b.active == ActiveLevel::High,
            );
        }
    }
    let leds = &config.kiosk.leds;
    for (key, meaning, led) in [
        ("ready", "sẵn sàng: tickets can be issued", leds.ready),
        (
            "paper_low",
            "sắp hết giấy: change the roll soon",
            leds.paper_low,
        ),
        (
            "fault",
            "lỗi máy in: paper out, cover open, unreachable",
            leds.fault,
        ),
        ("closed", "ngoài giờ: outside opening hours", leds.closed),
    ] {
        if let Some(led) = led {
            // An active-high LED goes from the pin (through its resistor) to
            // ground; an active-low one from 3.3 V to the pin.
            add(
                format!("LED `{key}`"),
                meaning,
                led.pin,
                led.active == ActiveLevel::Low,
            );
        }
    }
    rows
}

fn render(rows: &BTreeMap<String, Row>) -> String {
    let mut sorted: Vec<_> = rows.iter().collect();
    sorted.sort_by_key(|(what, row)| (what.starts_with("LED"), row.header, (*what).clone()));
    let mut out = String::from(
        "| What | Name | BCM GPIO | Header pin | Other side to |\n|---|---|---|---|---|\n",
    );
    for (what, row) in sorted {
        out.push_str(&format!(
            "| {what} | {} | {} | {} | {} |\n",
            row.name, row.bcm, row.header, row.other_side
        ));
    }
    out
}

/// The table rows after `<!-- wiring: FILE -->`, keyed by the "What" cell.
fn documented_rows(doc: &str, file: &str) -> Result<BTreeMap<String, Row>, String> {
    let marker = format!("<!-- wiring: {file} -->");
    let start = doc
        .find(&marker)
        .ok_or_else(|| format!("marker {marker} missing"))?;
    let mut rows = BTreeMap::new();
    let lines = doc[start + marker.len()..]
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.trim_start().starts_with('|'));
    for line in lines.skip(2) {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let [what, name, bcm, header, other] = cells[..] else {
            return Err(format!("{file}: a row needs 5 cells: {line}"));
        };
        let number = |s: &str| {
            s.parse::<u8>()
                .map_err(|_| format!("{file}: '{s}' is not a pin number in: {line}"))
        };
        let row = Row {
            name: name.to_string(),
            bcm: number(bcm)?,
            header: number(header)?,
            other_side: other.to_string(),
        };
        if rows.insert(what.to_string(), row).is_some() {
            return Err(format!("{file}: '{what}' listed twice"));
        }
    }
    Ok(rows)
}

#[test]
fn the_guide_wiring_tables_match_the_example_configs() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc_path = crate_dir.join("../docs/raspberry-pi.md");
    let doc = std::fs::read_to_string(&doc_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", doc_path.display()));
    let mut failures = Vec::new();
    for file in DOCUMENTED {
        let path = crate_dir.join("examples").join(file);
        let config = kiosk_config::load_center(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .value;
        let expected = expected_rows(&config);
        match documented_rows(&doc, file) {
            Ok(found) if found == expected => {}
            Ok(found) => {
                let mut diff = String::new();
                for (what, row) in &expected {
                    match found.get(what) {
                        None => diff.push_str(&format!("  missing: {what}\n")),
                        Some(f) if f != row => {
                            diff.push_str(&format!("  wrong: {what}: doc {f:?}, config {row:?}\n"));
                        }
                        Some(_) => {}
                    }
                }
                for what in found.keys().filter(|w| !expected.contains_key(*w)) {
                    diff.push_str(&format!("  not in the config: {what}\n"));
                }
                failures.push(format!(
                    "{file}: the table in docs/raspberry-pi.md is out of date:\n{diff}\
                     It should read:\n\n<!-- wiring: {file} -->\n\n{}",
                    render(&expected)
                ));
            }
            Err(e) => failures.push(format!(
                "{e}\nIt should read:\n\n<!-- wiring: {file} -->\n\n{}",
                render(&expected)
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_pin_map_is_the_40_pin_header() {
    // Every usable BCM GPIO has one distinct header pin, none of them a
    // power or ground pin.
    let mut seen = std::collections::BTreeSet::new();
    for bcm in 2..=27u8 {
        let pin = physical(bcm).unwrap_or_else(|| panic!("BCM {bcm} unmapped"));
        assert!((1..=40).contains(&pin));
        assert!(!GROUND.contains(&pin) && !THREE_V3.contains(&pin) && ![2, 4].contains(&pin));
        assert!(seen.insert(pin), "header pin {pin} mapped twice");
    }
    assert_eq!(
        nearest(7, GROUND),
        9,
        "GPIO 4 (pin 7) is next to ground pin 9"
    );
    assert_eq!(nearest(40, GROUND), 39);
    assert_eq!(nearest(11, THREE_V3), 17);
    assert_eq!(nearest(3, THREE_V3), 1);
}
