//! Loads every example configuration in the repository: the commented ones in
//! `config/examples` and any `*.toml` under `deploy/`. A file with a
//! top-level `kiosk_url` key is a display daemon's file; the others are
//! center files. Examples must load without warnings.

use std::fs;
use std::path::{Path, PathBuf};

fn tomls_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            tomls_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn is_display_file(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().starts_with("kiosk_url"))
}

#[test]
fn every_example_in_the_repository_loads_without_warnings() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    tomls_under(&crate_dir.join("examples"), &mut files);
    tomls_under(&crate_dir.join("../deploy"), &mut files);
    files.sort();
    assert!(files.len() >= 5, "examples not found: {files:?}");
    let mut failures = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let name = path.display().to_string();
        let warnings = if is_display_file(&text) {
            kiosk_config::parse_display(&text, &name).map(|l| l.warnings)
        } else {
            kiosk_config::parse_center(&text, &name).map(|l| l.warnings)
        };
        match warnings {
            Ok(w) if w.is_empty() => {}
            Ok(w) => failures.push(format!(
                "{name}: warnings:\n{}",
                w.iter().map(|w| format!("{w:#}\n")).collect::<String>()
            )),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn phu_xuan_is_the_center_the_issue_describes() {
    let config = kiosk_config::parse_center(kiosk_config::examples::PHU_XUAN, "phu-xuan.toml")
        .unwrap()
        .value;
    assert_eq!(
        config.center.name,
        "Trung tâm Hành chính công quận Phú Xuân"
    );
    assert_eq!(config.departments.len(), 15);
    assert_eq!(config.counters.len(), 15);
    assert!(config.departments.iter().all(|d| d.button.is_some()));
    let names: Vec<&str> = config.departments.iter().map(|d| d.name.as_str()).collect();
    for field in [
        "Hộ tịch",
        "Chứng thực",
        "Đất đai",
        "Xây dựng",
        "Đăng ký kinh doanh",
        "Lao động – Thương binh và Xã hội",
        "Trả kết quả",
    ] {
        assert!(names.contains(&field), "{field} missing from {names:?}");
    }
    assert_eq!(config.center.timezone_name, "Asia/Ho_Chi_Minh");
    assert!(config.unserved_departments().is_empty());
    let ho_tich = config.department(&"ho-tich".into()).unwrap();
    let services: Vec<&str> = ho_tich.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(&services[..3], ["Khai sinh", "Kết hôn", "Khai tử"]);
    let cccd = config
        .kiosk
        .touch
        .cccd
        .as_ref()
        .expect("the CCCD scan grants priority");
    assert_eq!((cccd.class.as_str(), cccd.min_age), ("nguoi-cao-tuoi", 75));
}

#[test]
fn embedded_examples_are_the_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for (name, text) in [
        ("phu-xuan.toml", kiosk_config::examples::PHU_XUAN),
        ("thuan-hoa.toml", kiosk_config::examples::THUAN_HOA),
        ("minimal.toml", kiosk_config::examples::MINIMAL),
        ("display-hall.toml", kiosk_config::examples::DISPLAY_HALL),
        (
            "display-counter.toml",
            kiosk_config::examples::DISPLAY_COUNTER,
        ),
    ] {
        assert_eq!(fs::read_to_string(dir.join(name)).unwrap(), text, "{name}");
    }
}
