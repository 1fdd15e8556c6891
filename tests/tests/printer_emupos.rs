//! Integration with the `emupos` ESC/POS printer emulator on loopback: a
//! ticket sent over TCP comes back from the emulator as the same image, and
//! the emulator's paper-out fault shows in our `DLE EOT` status.

use system_tests::emupos::Emulator;
use ticket_printer::{
    encode_raster, render, sample_ticket, Bitmap, EncodeOptions, PaperState, Transport,
};

fn ticket(width: u16) -> Bitmap {
    let at = jiff::civil::date(2025, 3, 5).at(8, 15, 0, 0);
    render(
        &sample_ticket("Trung tâm Phục vụ hành chính công", at),
        width,
    )
}

/// Pixels of `actual` that differ from `expected` placed at its top-left
/// corner, counting everything outside `expected` that is black.
fn differing_dots(expected: &Bitmap, actual: &Bitmap) -> u64 {
    let mut differ = 0;
    for y in 0..expected.height().max(actual.height()) {
        for x in 0..u32::from(expected.width().max(actual.width())) {
            if expected.get(x, y) != actual.get(x, y) {
                differ += 1;
            }
        }
    }
    differ
}

#[test]
fn printed_ticket_comes_back_from_the_emulator_pixel_for_pixel() {
    let emulator = Emulator::start();
    let mut printer = emulator.printer();
    let status = printer.status().expect("status over TCP");
    assert_eq!(status.paper, PaperState::Present, "{status:?}");
    assert_eq!(status.online, Some(true));
    assert!(status.ready_to_print());

    // 80 mm, the emulated printer's own width: the receipt must be our bitmap exactly
    // (the emulator pastes GS v 0 mode 0 images 1:1 and drops trailing feeds).
    let wide = ticket(576);
    let options = EncodeOptions {
        band_height: 100,
        ..EncodeOptions::default()
    };
    printer
        .write_all(&encode_raster(&wide, &options))
        .expect("send 80 mm ticket");
    let (image, meta) = emulator.receipt(1);
    assert!(
        meta.contains("\"boundary\": \"cut\""),
        "receipt should end at our cut: {meta}"
    );
    assert_eq!(
        (image.width(), image.height()),
        (wide.width(), wide.height()),
        "receipt size"
    );
    assert_eq!(
        differing_dots(&wide, &image),
        0,
        "80 mm receipt differs from the bitmap sent"
    );

    // 58 mm on the same 576-dot printer: left-aligned, the rest of the line blank.
    let narrow = ticket(384);
    printer
        .write_all(&encode_raster(
            &narrow,
            &EncodeOptions {
                band_height: 24,
                ..options
            },
        ))
        .expect("send 58 mm ticket");
    let (image, _) = emulator.receipt(2);
    assert_eq!(image.height(), narrow.height());
    assert_eq!(
        differing_dots(&narrow, &image),
        0,
        "58 mm receipt differs from the bitmap sent"
    );
}

#[test]
fn paper_out_fault_is_reported_by_status() {
    let emulator = Emulator::start();
    let mut printer = emulator.printer();
    assert_eq!(printer.status().expect("status").paper, PaperState::Present);

    emulator.set_fault("paper-out", true);
    let status = printer.status().expect("status with paper out");
    assert_eq!(status.paper, PaperState::Out, "{status:?}");
    assert_eq!(status.online, Some(false));
    assert!(!status.ready_to_print());

    emulator.set_fault("paper-out", false);
    emulator.set_fault("paper-near-end", true);
    let status = printer.status().expect("status with paper near end");
    assert_eq!(status.paper, PaperState::NearEnd);
    assert!(status.ready_to_print());

    emulator.set_fault("paper-near-end", false);
    emulator.set_fault("cover-open", true);
    let status = printer.status().expect("status with cover open");
    assert_eq!(status.cover_open, Some(true));
    assert!(!status.ready_to_print());
}
