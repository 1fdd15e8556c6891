//! `[kiosk]`: data directory, listen address, printer and its transport,
//! status LEDs, press interval, priority policy, store and retention.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::departments::valid_id;
use super::*;
use crate::model::*;
use crate::raw::*;
use crate::source::FieldPath;
use crate::validate::Checker;

pub(super) fn kiosk(
    raw: &RawCenterFile,
    departments: Option<&[Department]>,
    c: &mut Checker<'_>,
) -> Option<KioskSettings> {
    let p = FieldPath::root().key("kiosk");
    let default = RawKiosk::default();
    let k = raw.kiosk.as_ref().unwrap_or(&default);
    let data_dir = match k.data_dir.as_deref().map(str::trim) {
        None => Some(PathBuf::from(DEFAULT_DATA_DIR)),
        Some("") => {
            c.error(
                &p.key("data_dir"),
                "`data_dir` is empty",
                format!("write e.g. data_dir = \"{DEFAULT_DATA_DIR}\""),
            );
            None
        }
        Some(dir) => Some(PathBuf::from(dir)),
    };
    let listen = c.socket_addr(&k.listen, DEFAULT_LISTEN, &p.key("listen"));
    let press_interval = c
        .int_in::<u64>(
            k.press_interval_ms,
            DEFAULT_PRESS_INTERVAL_MS,
            100..=60_000,
            &p.key("press_interval_ms"),
            "one ticket per button per 100 ms to 60 s; 1500 suits most centers",
        )
        .map(Duration::from_millis);
    let store_cache_bytes = c
        .int_in::<u64>(
            k.store_cache_mib,
            DEFAULT_STORE_CACHE_MIB,
            1..=1024,
            &p.key("store_cache_mib"),
            "a Pi needs only 8 MiB",
        )
        .map(|mib| mib * 1024 * 1024);
    let retention_days = c.int_in::<u32>(
        k.retention_days,
        DEFAULT_RETENTION_DAYS,
        1..=3650,
        &p.key("retention_days"),
        "keep between 1 day and 10 years of history",
    );
    let printer = c
        .required(
            &k.printer,
            &p.key("printer"),
            "add a [kiosk.printer] section with transport and address or path",
        )
        .and_then(|pr| printer(pr, &p.key("printer"), c));
    let leds = leds(k.leds.as_ref(), &p.key("leds"), c);
    let priority = priority(k.priority.as_ref(), departments, &p.key("priority"), c);
    let tls = crate::validate::tls::tls(k.tls.as_ref(), &p.key("tls"), c);
    let public = match &k.public {
        None => Some(None),
        Some(raw) => public(raw, listen, &p.key("public"), c).map(Some),
    };
    let touch = touch(k.touch.as_ref(), priority.as_ref(), &p.key("touch"), c);
    Some(KioskSettings {
        data_dir: data_dir?,
        listen: listen?,
        printer: printer?,
        leds: leds?,
        press_interval: press_interval?,
        priority: priority?,
        store_cache_bytes: store_cache_bytes?,
        retention_days: retention_days?,
        daily_reexec: k.daily_reexec.unwrap_or(true),
        tls: tls?,
        public: public?,
        touch: touch?,
    })
}

/// `[kiosk.public]`: the URL phones use and the listener it reaches.
fn public(
    raw: &RawPublic,
    staff_listen: Option<std::net::SocketAddr>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<PublicSite> {
    let listen = c.socket_addr(&raw.listen, DEFAULT_PUBLIC_LISTEN, &p.key("listen"));
    let clash = match (listen, staff_listen) {
        (Some(public), Some(staff)) => {
            public.port() == staff.port()
                && (public.ip() == staff.ip()
                    || public.ip().is_unspecified()
                    || staff.ip().is_unspecified())
        }
        _ => false,
    };
    if let (true, Some(public), Some(staff)) = (clash, listen, staff_listen) {
        c.error(
            &p.key("listen"),
            format!("`{public}` is the staff API's own address ({staff})"),
            "give the phone pages a port of their own, e.g. \"0.0.0.0:8081\"",
        );
    }
    let base_url = c.required(
        &raw.base_url,
        &p.key("base_url"),
        "write the address phones on the guest Wi-Fi use, e.g. base_url = \"http://192.168.50.10:8081\"",
    )?;
    let base_url = base_url.trim().trim_end_matches('/');
    let scheme_ok = base_url
        .strip_prefix("http://")
        .or_else(|| base_url.strip_prefix("https://"))
        .is_some_and(|rest| !rest.is_empty());
    let odd = |ch: char| ch.is_whitespace() || matches!(ch, '?' | '#' | '"' | '<' | '>');
    if !scheme_ok || base_url.contains(odd) {
        c.error(
            &p.key("base_url"),
            format!("`{base_url}` is not an http:// or https:// address"),
            "write e.g. base_url = \"http://192.168.50.10:8081\" (no query, no spaces)",
        );
        return None;
    }
    if clash {
        return None;
    }
    Some(PublicSite {
        base_url: base_url.to_owned(),
        listen: listen?,
    })
}

/// `[kiosk.touch]`: the touch page's idle time, self-declared priority and
/// the class a citizen ID card grants by age.
fn touch(
    raw: Option<&RawTouch>,
    priority: Option<&PriorityPolicy>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<TouchSettings> {
    let default = RawTouch::default();
    let raw = raw.unwrap_or(&default);
    let defaults = TouchSettings::default();
    let idle_return = c
        .int_in::<u64>(
            raw.idle_seconds,
            defaults.idle_return.as_secs() as i64,
            3..=600,
            &p.key("idle_seconds"),
            "the page returns to its start after 3 s to 10 min without a touch; 8 suits most citizens",
        )
        .map(Duration::from_secs);
    let min_age = c.int_in::<u8>(
        raw.cccd_min_age,
        DEFAULT_CCCD_MIN_AGE,
        1..=120,
        &p.key("cccd_min_age"),
        "an age in whole years, e.g. cccd_min_age = 75",
    );
    let cccd = match raw.cccd_priority_class.as_deref().map(str::trim) {
        None => {
            if raw.cccd_min_age.is_some() {
                c.error(
                    &p.key("cccd_min_age"),
                    "cccd_min_age is set but no cccd_priority_class",
                    "add cccd_priority_class = \"nguoi-cao-tuoi\" (a [[kiosk.priority.classes]] id), or remove cccd_min_age",
                );
                None
            } else {
                Some(None)
            }
        }
        Some(class) => match priority {
            Some(policy) if policy.classes.iter().any(|k| k.id == class) => {
                min_age.map(|min_age| {
                    Some(CccdPriority {
                        class: class.to_owned(),
                        min_age,
                    })
                })
            }
            Some(policy) => {
                let known: Vec<&str> = policy.classes.iter().map(|k| k.id.as_str()).collect();
                c.error(
                    &p.key("cccd_priority_class"),
                    format!("`{class}` is not a priority class"),
                    format!(
                        "use one of the [[kiosk.priority.classes]] ids: {}",
                        known.join(", ")
                    ),
                );
                None
            }
            // The classes themselves are wrong; that is reported there.
            None => None,
        },
    };
    Some(TouchSettings {
        loopback: raw.loopback.unwrap_or(defaults.loopback),
        self_declared_priority: raw
            .self_declared_priority
            .unwrap_or(defaults.self_declared_priority),
        idle_return: idle_return?,
        cccd: cccd?,
    })
}

/// Standard serial speeds a receipt printer may use.
pub(super) const BAUD_RATES: [u32; 8] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200];

pub(super) fn printer(
    raw: &RawPrinter,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<PrinterSettings> {
    let transport = printer_transport(raw, p, c);
    let paper_width_mm = match raw.paper_width_mm.unwrap_or(80) {
        w @ (58 | 80) => Some(w as u8),
        other => {
            c.error(
                &p.key("paper_width_mm"),
                format!("paper width {other} mm is not supported"),
                "write paper_width_mm = 80 or 58",
            );
            None
        }
    };
    let dots_per_line = paper_width_mm.and_then(|width| {
        let max: i64 = if width == 58 { 384 } else { 576 };
        let dots = raw.dots_per_line.unwrap_or(max);
        if dots > max || dots < 64 {
            c.error(
                &p.key("dots_per_line"),
                format!("{dots} dots per line do not fit {width} mm paper"),
                format!("{width} mm printers print at most {max} dots per line at 203 dpi; write dots_per_line = {max}"),
            );
            return None;
        }
        if dots % 8 != 0 {
            c.error(
                &p.key("dots_per_line"),
                format!("{dots} dots per line is not a whole number of bytes"),
                format!("raster lines are sent in bytes of 8 dots; write dots_per_line = {}", dots / 8 * 8),
            );
            return None;
        }
        u16::try_from(dots).ok()
    });
    let band_height = c.int_in::<u16>(
        raw.band_height,
        DEFAULT_BAND_HEIGHT,
        1..=1024,
        &p.key("band_height"),
        "bands of 24 to 255 dots suit every printer; 64 is a safe default",
    );
    let mode = match raw.mode.as_deref() {
        None | Some("raster") => {
            if raw.codepage.is_some() {
                c.error(
                    &p.key("codepage"),
                    "codepage is only used with mode = \"text\"",
                    "remove codepage, or write mode = \"text\"",
                );
                None
            } else {
                Some(PrintMode::Raster)
            }
        }
        Some("text") => c
            .required(
                &raw.codepage,
                &p.key("codepage"),
                "text mode needs the printer's Vietnamese code page (ESC t n), e.g. codepage = 30",
            )
            .copied()
            .and_then(|n| {
                c.int_in::<u8>(
                    Some(n),
                    0,
                    0..=255,
                    &p.key("codepage"),
                    "a code page number is 0 to 255",
                )
            })
            .map(|codepage| PrintMode::Text { codepage }),
        Some(other) => {
            c.error(
                &p.key("mode"),
                format!("`{other}` is not a print mode"),
                "write mode = \"raster\" (works on every printer) or \"text\"",
            );
            None
        }
    };
    let ms = |c: &mut Checker<'_>, v: Option<i64>, default: i64, key: &str| {
        c.int_in::<u64>(
            v,
            default,
            100..=600_000,
            &p.key(key),
            "write milliseconds between 100 and 600000",
        )
        .map(Duration::from_millis)
    };
    let connect_timeout = ms(c, raw.connect_timeout_ms, 3000, "connect_timeout_ms");
    let io_timeout = ms(c, raw.io_timeout_ms, 5000, "io_timeout_ms");
    let status_interval = ms(c, raw.status_interval_ms, 2000, "status_interval_ms");
    Some(PrinterSettings {
        transport: transport?,
        paper_width_mm: paper_width_mm?,
        dots_per_line: dots_per_line?,
        cut: raw.cut.unwrap_or(true),
        band_height: band_height?,
        mode: mode?,
        connect_timeout: connect_timeout?,
        io_timeout: io_timeout?,
        status_interval: status_interval?,
    })
}

pub(super) fn printer_transport(
    raw: &RawPrinter,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<PrinterTransport> {
    let transport = c.required(
        &raw.transport,
        &p.key("transport"),
        "write transport = \"tcp\", \"usb\", \"serial\" or \"file\"",
    )?;
    let not_for = |c: &mut Checker<'_>, present: bool, key: &str, what: &str| {
        if present {
            c.error(
                &p.key(key),
                format!("`{key}` is not used by the {transport} transport"),
                format!("remove it; {what}"),
            );
        }
    };
    match transport.as_str() {
        "tcp" => {
            not_for(
                c,
                raw.path.is_some(),
                "path",
                "a network printer is reached by `address`",
            );
            not_for(
                c,
                raw.baud.is_some(),
                "baud",
                "only serial printers have a baud rate",
            );
            let address = c.text(
                &raw.address,
                &p.key("address"),
                "write address = \"192.168.1.50:9100\"",
            )?;
            let (host, port) = match address.rsplit_once(':') {
                Some((host, port)) => {
                    (host.to_owned(), port.parse::<u16>().ok().filter(|p| *p > 0))
                }
                None => (address.clone(), Some(9100)),
            };
            match port {
                Some(port) if !host.is_empty() && !host.contains(char::is_whitespace) => {
                    Some(PrinterTransport::Tcp { host, port })
                }
                _ => {
                    c.error(
                        &p.key("address"),
                        format!("`{address}` is not host:port"),
                        "write address = \"192.168.1.50:9100\" (port 9100 when left out)",
                    );
                    None
                }
            }
        }
        "usb" | "file" | "serial" => {
            not_for(
                c,
                raw.address.is_some(),
                "address",
                "`address` is for network (tcp) printers",
            );
            if transport != "serial" {
                not_for(
                    c,
                    raw.baud.is_some(),
                    "baud",
                    "only serial printers have a baud rate",
                );
            }
            let example = match transport.as_str() {
                "usb" => "path = \"/dev/usb/lp0\"",
                "serial" => "path = \"/dev/ttyUSB0\"",
                _ => "path = \"/tmp/tickets.bin\"",
            };
            let path =
                PathBuf::from(c.text(&raw.path, &p.key("path"), &format!("write {example}"))?);
            match transport.as_str() {
                "usb" => Some(PrinterTransport::Usb { path }),
                "file" => Some(PrinterTransport::File { path }),
                _ => {
                    let baud = raw.baud.unwrap_or(9600);
                    match u32::try_from(baud).ok().filter(|b| BAUD_RATES.contains(b)) {
                        Some(baud) => Some(PrinterTransport::Serial { path, baud }),
                        None => {
                            c.error(
                                &p.key("baud"),
                                format!("{baud} is not a standard baud rate"),
                                "receipt printers use 9600, 19200, 38400 or 115200; check the printer's self-test page",
                            );
                            None
                        }
                    }
                }
            }
        }
        other => {
            c.error(
                &p.key("transport"),
                format!("`{other}` is not a printer transport"),
                "write transport = \"tcp\", \"usb\", \"serial\" or \"file\"",
            );
            None
        }
    }
}

pub(super) fn leds(
    raw: Option<&RawLeds>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<StatusLeds> {
    let Some(raw) = raw else {
        return Some(StatusLeds::default());
    };
    let mut out = StatusLeds::default();
    let mut ok = true;
    for (key, led) in led_slots(raw) {
        let Some(led) = led else { continue };
        let pin = c.led(led, &p.key(key));
        ok &= pin.is_some();
        let slot = match key {
            "ready" => &mut out.ready,
            "paper_low" => &mut out.paper_low,
            "fault" => &mut out.fault,
            _ => &mut out.closed,
        };
        *slot = pin;
    }
    ok.then_some(out)
}

/// The classes of citizens Vietnamese law puts first at public offices.
pub(super) fn default_priority_classes() -> Vec<PriorityClass> {
    [
        ("nguoi-cao-tuoi", "Người cao tuổi"),
        ("nguoi-khuyet-tat", "Người khuyết tật"),
        ("phu-nu-mang-thai", "Phụ nữ mang thai"),
        ("nguoi-co-con-nho", "Người có con nhỏ dưới 36 tháng tuổi"),
        ("nguoi-co-cong", "Người có công với cách mạng"),
    ]
    .into_iter()
    .map(|(id, name)| PriorityClass {
        id: id.to_owned(),
        name: name.to_owned(),
    })
    .collect()
}

pub(super) fn priority(
    raw: Option<&RawPriority>,
    departments: Option<&[Department]>,
    p: &FieldPath,
    c: &mut Checker<'_>,
) -> Option<PriorityPolicy> {
    let default = RawPriority::default();
    let raw = raw.unwrap_or(&default);
    let max_in_a_row = c.int_in::<u32>(
        raw.max_in_a_row,
        DEFAULT_MAX_PRIORITY_IN_A_ROW,
        1..=100,
        &p.key("max_in_a_row"),
        "after this many priority calls a waiting normal ticket is called; 2 is usual",
    );
    let classes = match &raw.classes {
        None => Some(default_priority_classes()),
        Some(list) => {
            let cp = p.key("classes");
            let mut out = Vec::new();
            let mut seen = BTreeSet::new();
            let mut ok = true;
            for (i, class) in list.iter().enumerate() {
                let id = c.text(
                    &class.id,
                    &cp.index(i).key("id"),
                    "write e.g. id = \"nguoi-cao-tuoi\"",
                );
                let name = c.text(
                    &class.name,
                    &cp.index(i).key("name"),
                    "write e.g. name = \"Người cao tuổi\"",
                );
                let (Some(id), Some(name)) = (id, name) else {
                    ok = false;
                    continue;
                };
                if !valid_id(&id) {
                    c.error(
                        &cp.index(i).key("id"),
                        format!("`{id}` is not a valid id"),
                        "use lowercase letters without diacritics, digits and single dashes",
                    );
                    ok = false;
                } else if !seen.insert(id.clone()) {
                    c.error(
                        &cp.index(i).key("id"),
                        format!("class `{id}` is listed twice"),
                        "give each class its own id",
                    );
                    ok = false;
                } else {
                    out.push(PriorityClass { id, name });
                }
            }
            let offered = departments.is_some_and(|ds| ds.iter().any(|d| d.priority));
            if list.is_empty() && offered {
                c.error(
                    &cp,
                    "departments offer priority tickets but no priority class is defined",
                    "add [[kiosk.priority.classes]] entries, or leave `classes` out for the standard ones",
                );
                ok = false;
            }
            ok.then_some(out)
        }
    };
    Some(PriorityPolicy {
        classes: classes?,
        max_in_a_row: max_in_a_row?,
    })
}
