//! Golden images of the sample ticket at 58 and 80 mm: a layout change shows up
//! as a failing test with the actual image and a diff image under `target/`.
//! `UPDATE_GOLDEN=1 cargo test -p ticket-printer --test golden` rewrites them.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use ticket_printer::{read_png, render, sample_ticket, write_png, Bitmap};

fn fixed_time() -> jiff::civil::DateTime {
    jiff::civil::date(2025, 3, 5).at(8, 15, 0, 0)
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/golden-failures");
    std::fs::create_dir_all(&dir).expect("create target/golden-failures");
    dir
}

/// Red: only in the golden image; blue: only in the actual image; black: both.
fn write_diff(expected: &Bitmap, actual: &Bitmap, path: &Path) {
    let width = u32::from(expected.width().max(actual.width()));
    let height = expected.height().max(actual.height());
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            rgb.extend_from_slice(match (expected.get(x, y), actual.get(x, y)) {
                (true, true) => &[0, 0, 0],
                (true, false) => &[255, 0, 0],
                (false, true) => &[0, 0, 255],
                (false, false) => &[255, 255, 255],
            });
        }
    }
    let file = BufWriter::new(File::create(path).expect("create diff image"));
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("diff header");
    writer.write_image_data(&rgb).expect("diff data");
}

fn check_golden(name: &str, width: u16) {
    let actual = render(
        &sample_ticket(
            "Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
            fixed_time(),
        ),
        width,
    );
    let golden = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        write_png(
            &actual,
            BufWriter::new(File::create(&golden).expect("create golden")),
        )
        .expect("write golden");
        return;
    }
    let expected = File::open(&golden)
        .map_err(|e| e.to_string())
        .and_then(|f| read_png(f).map_err(|e| e.to_string()));
    let matches = matches!(&expected, Ok(expected) if *expected == actual);
    if !matches {
        let actual_path = out_dir().join(format!("{name}.actual.png"));
        write_png(
            &actual,
            BufWriter::new(File::create(&actual_path).expect("create actual")),
        )
        .expect("write actual");
        let mut message = format!(
            "{name}: rendered ticket differs from {}\n  actual image: {}",
            golden.display(),
            actual_path.display()
        );
        match &expected {
            Ok(expected) => {
                let diff_path = out_dir().join(format!("{name}.diff.png"));
                write_diff(expected, &actual, &diff_path);
                message += &format!(
                    "\n  diff image (red: only golden, blue: only actual): {}\n  golden {}x{}, actual {}x{}",
                    diff_path.display(),
                    expected.width(),
                    expected.height(),
                    actual.width(),
                    actual.height()
                );
            }
            Err(error) => message += &format!("\n  golden unreadable: {error}"),
        }
        message += "\n  if the change is intended: UPDATE_GOLDEN=1 cargo test -p ticket-printer --test golden";
        panic!("{message}");
    }
}

#[test]
fn sample_ticket_80mm_matches_golden() {
    check_golden("sample-80mm", 576);
}

#[test]
fn sample_ticket_58mm_matches_golden() {
    check_golden("sample-58mm", 384);
}
