//! `kiosk print-test --config FILE [--preview out.png] [--output ticket.bin]`:
//! a sample ticket (every Vietnamese tone on its sample lines) rendered at the
//! configured paper width. With `--preview` and/or `--output` it writes the
//! exact raster as PNG and/or the exact bytes, without a printer; with
//! neither it checks the configured printer's status and prints.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use kiosk_config::{CenterConfig, PrintMode};
use ticket_printer::{escpos, EncodeOptions, TicketContent};

/// Runs the command; exit code 1 when the printer is not ready.
pub fn run(
    config: &Path,
    preview: Option<&Path>,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let loaded = kiosk_config::load_center(config).with_context(|| {
        format!(
            "cannot use {}: fix it (see `kiosk check-config {}`)",
            config.display(),
            config.display()
        )
    })?;
    let center = &loaded.value;
    let settings = &center.kiosk.printer;
    let ticket = sample_for(center);
    let bitmap = ticket_printer::render(&ticket, settings.dots_per_line);
    let options = EncodeOptions::from_settings(settings);
    let bytes = match settings.mode {
        PrintMode::Raster => ticket_printer::encode_raster(&bitmap, &options),
        PrintMode::Text { codepage } => escpos::encode_text(&ticket, codepage, &options),
    };

    if let Some(path) = preview {
        let file = File::create(path)
            .with_context(|| format!("cannot create preview {}", path.display()))?;
        ticket_printer::write_png(&bitmap, BufWriter::new(file))
            .with_context(|| format!("cannot write preview {}", path.display()))?;
        println!(
            "preview: {} ({}x{} dots)",
            path.display(),
            bitmap.width(),
            bitmap.height()
        );
        if let PrintMode::Text { codepage } = settings.mode {
            println!(
                "note: the printer is in text mode (code page {codepage}); the preview shows the raster ticket, which text mode does not send"
            );
        }
    }
    if let Some(path) = output {
        std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write ticket bytes to {}", path.display()))?;
        println!(
            "bytes: {} ({} bytes; send with `cat {} > /dev/usb/lp0` or `nc PRINTER 9100 < {}`)",
            path.display(),
            bytes.len(),
            path.display(),
            path.display()
        );
    }
    if preview.is_some() || output.is_some() {
        return Ok(ExitCode::SUCCESS);
    }

    let mut printer = ticket_printer::open(settings)
        .with_context(|| format!("cannot set up the printer in {}", config.display()))?;
    let device = printer.describe();
    let status = printer
        .status()
        .with_context(|| format!("printer {device} is unreachable"))?;
    if status.is_unknown() {
        println!("printer {device} does not answer status requests; printing anyway");
    } else if !status.ready_to_print() {
        eprintln!(
            "error: printer {device} is not ready ({status:?}); load paper, close the cover and check that it is online, then retry"
        );
        return Ok(ExitCode::FAILURE);
    }
    printer
        .write_all(&bytes)
        .with_context(|| format!("printing the sample ticket on {device} failed"))?;
    println!("sent {} bytes to {device}", bytes.len());
    Ok(ExitCode::SUCCESS)
}

/// The sample ticket with this center's name, header, footer, first
/// department and the local time in its time zone.
fn sample_for(center: &CenterConfig) -> TicketContent {
    let now = jiff::Timestamp::now()
        .to_zoned(center.center.timezone.clone())
        .datetime();
    let mut ticket = ticket_printer::sample_ticket(&center.center.name, now);
    if !center.center.ticket_header.is_empty() {
        ticket.header_lines = center.center.ticket_header.clone();
    }
    if let Some(department) = center.departments.first() {
        ticket.department = department.name.clone();
        ticket.service = department.services.first().map(|s| s.name.clone());
    }
    let time = now.time();
    if let Some(session) = center
        .center
        .sessions
        .iter()
        .find(|s| s.start <= time && time < s.end)
    {
        ticket.session_name = Some(session.name.clone());
    }
    if let Some(url) = &center.center.status_url {
        ticket.qr = Some(url.replace("{ticket}", "PHIEU-1023"));
    }
    if !center.center.ticket_footer.is_empty() {
        let samples = ticket.footer_lines.split_off(1); // keep the tone sample lines
        ticket.footer_lines = center.center.ticket_footer.clone();
        ticket.footer_lines.extend(samples);
    }
    ticket
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_and_output_are_the_same_raster() {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples/phu-xuan.toml");
        let dir = tempfile::tempdir().unwrap();
        let (png, bin) = (dir.path().join("t.png"), dir.path().join("t.bin"));
        let code = run(&config, Some(&png), Some(&bin)).unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let preview = ticket_printer::read_png(File::open(&png).unwrap()).unwrap();
        let sent = ticket_printer::decode_raster(&std::fs::read(&bin).unwrap()).unwrap();
        assert_eq!(preview, sent);
        let width = kiosk_config::load_center(&config)
            .unwrap()
            .value
            .kiosk
            .printer
            .dots_per_line;
        assert_eq!(sent.width(), width);
    }
}
