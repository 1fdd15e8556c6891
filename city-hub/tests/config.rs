//! Walks the config fixtures: every file in `config/valid/` (and the
//! example config) loads; every file in `config/invalid/` is refused with
//! the message its first line (`# expect: …`) names.

use std::path::Path;

use city_hub::HubConfig;

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

#[test]
fn valid_configs_and_the_example_load() {
    let mut all = files("tests/config/valid");
    all.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("hub.example.toml"));
    for path in all {
        let config = HubConfig::load(&path)
            .unwrap_or_else(|e| panic!("{} should load: {e}", path.display()));
        assert!(!config.centers.is_empty());
    }
}

#[test]
fn invalid_configs_are_refused_saying_why() {
    for path in files("tests/config/invalid") {
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks its `# expect:` line", path.display()));
        let error = HubConfig::load(&path)
            .err()
            .unwrap_or_else(|| panic!("{} should be refused", path.display()))
            .to_string();
        assert!(
            error.contains(expect),
            "{}: expected {expect:?} in {error:?}",
            path.display()
        );
    }
}

#[test]
fn every_problem_is_listed_at_once() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/invalid/bad-url-and-token.toml");
    let error = HubConfig::load(&path).unwrap_err().to_string();
    assert!(error.contains("token is empty"), "{error}");
    assert!(error.contains("ftp://"), "{error}");
}
