//! A technician's summary of a validated center: what `kiosk check-config`
//! prints. Plain English text, one fact per line; no I/O.

use std::fmt::Write as _;

use crate::model::*;
use crate::validate::hh_mm;

fn level(active: ActiveLevel) -> &'static str {
    match active {
        ActiveLevel::Low => "active low",
        ActiveLevel::High => "active high",
    }
}

fn sessions(list: &[Session]) -> String {
    list.iter()
        .map(|s| format!("{} {}–{}", s.name, hh_mm(s.start), hh_mm(s.end)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn weekday(day: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match day {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}

/// The block as printed: `1001–1999` or `A001–A999`.
fn block(b: &NumberBlock) -> String {
    format!("{}–{}", b.label(b.first), b.label(b.last))
}

/// A readable summary: departments with their numbers and buttons, counters
/// with what they serve, printer, LEDs and the kiosk's own settings.
pub fn summary(config: &CenterConfig) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(&mut out, config);
    out
}

fn write_summary(out: &mut String, config: &CenterConfig) -> std::fmt::Result {
    let c = &config.center;
    writeln!(out, "Center:      {} ({})", c.name, c.short_name)?;
    if !c.address.is_empty() {
        writeln!(out, "Address:     {}", c.address)?;
    }
    writeln!(
        out,
        "Time zone:   {}; numbers restart every day at {}",
        c.timezone_name,
        hh_mm(c.day_starts_at)
    )?;
    writeln!(out, "Open:        {}", sessions(&c.sessions))?;
    let mut closed: Vec<String> = c
        .closed_weekdays
        .iter()
        .map(|d| weekday(*d).to_owned())
        .collect();
    if !c.closed_dates.is_empty() {
        let n = c.closed_dates.len();
        closed.push(format!("{n} listed date{}", if n == 1 { "" } else { "s" }));
    }
    if !closed.is_empty() {
        writeln!(out, "Closed:      {}", closed.join(", "))?;
    }

    writeln!(out)?;
    writeln!(out, "Departments ({}):", config.departments.len())?;
    let id_width = config
        .departments
        .iter()
        .map(|d| d.id.0.len())
        .max()
        .unwrap_or(0);
    let name_width = config
        .departments
        .iter()
        .map(|d| d.name.chars().count())
        .max()
        .unwrap_or(0);
    for d in &config.departments {
        let mut line = format!(
            "  {:<id_width$}  {:<name_width$}  {}",
            d.id.0,
            d.name,
            block(&d.block)
        );
        if d.block.on_exhausted == Exhaustion::Wrap {
            line.push_str(" (wraps)");
        }
        if let Some(cap) = d.daily_cap {
            let _ = write!(line, ", at most {cap}/day");
        }
        match d.button {
            Some(b) => {
                let _ = write!(line, ", button GPIO {} ({})", b.pin, level(b.active));
            }
            None => line.push_str(", no button"),
        }
        if let Some(b) = d.priority_button {
            let _ = write!(
                line,
                ", priority button GPIO {} ({})",
                b.pin,
                level(b.active)
            );
        } else if d.priority {
            line.push_str(", priority tickets");
        }
        if let Some(own) = &d.sessions {
            let _ = write!(line, ", own hours {}", sessions(own));
        }
        writeln!(out, "{line}")?;
    }

    writeln!(out)?;
    writeln!(out, "Counters ({}):", config.counters.len())?;
    for k in &config.counters {
        let serves: Vec<String> = k
            .serves
            .iter()
            .map(|id| match config.department(id) {
                Some(d) => format!("{} ({})", id, d.name),
                None => id.to_string(),
            })
            .collect();
        writeln!(
            out,
            "  {:>3}  {}: serves {}",
            k.number,
            k.name,
            serves.join(", ")
        )?;
    }
    let unserved = config.unserved_departments();
    if !unserved.is_empty() {
        let ids: Vec<String> = unserved.iter().map(|d| d.id.to_string()).collect();
        writeln!(out, "  not served by any counter: {}", ids.join(", "))?;
    }

    let k = &config.kiosk;
    let p = &k.printer;
    writeln!(out)?;
    let transport = match &p.transport {
        PrinterTransport::Tcp { host, port } => format!("network {host}:{port}"),
        PrinterTransport::Usb { path } => format!("USB {}", path.display()),
        PrinterTransport::Serial { path, baud } => {
            format!("serial {} at {baud} baud", path.display())
        }
        PrinterTransport::File { path } => format!("file {}", path.display()),
    };
    let mode = match p.mode {
        PrintMode::Raster => "raster".to_owned(),
        PrintMode::Text { codepage } => format!("text, code page {codepage}"),
    };
    writeln!(
        out,
        "Printer:     {transport}, {} mm paper, {} dots per line, {mode}, bands of {} dots, {}",
        p.paper_width_mm,
        p.dots_per_line,
        p.band_height,
        if p.cut { "cuts each ticket" } else { "no cut" }
    )?;
    let leds = [
        ("ready", k.leds.ready),
        ("paper low", k.leds.paper_low),
        ("fault", k.leds.fault),
        ("closed", k.leds.closed),
    ];
    let leds: Vec<String> = leds
        .iter()
        .map(|(name, led)| match led {
            Some(l) => format!("{name} GPIO {} ({})", l.pin, level(l.active)),
            None => format!("{name} not wired"),
        })
        .collect();
    writeln!(out, "Status LEDs: {}", leds.join(", "))?;
    let used = config.used_pins();
    writeln!(
        out,
        "GPIO:        {} of {} header pins used",
        used.len(),
        crate::validate::USABLE_GPIO.count()
    )?;
    writeln!(
        out,
        "Store:       {} (cache {} MiB, history kept {} days)",
        k.data_dir.display(),
        k.store_cache_bytes / (1024 * 1024),
        k.retention_days
    )?;
    writeln!(out, "API:         http://{}", k.listen)?;
    writeln!(
        out,
        "Buttons:     at most one ticket per {} ms per button",
        k.press_interval.as_millis()
    )?;
    let classes: Vec<&str> = k.priority.classes.iter().map(|c| c.name.as_str()).collect();
    writeln!(
        out,
        "Priority:    at most {} in a row while normal tickets wait; classes: {}",
        k.priority.max_in_a_row,
        classes.join(", ")
    )?;
    Ok(())
}
