//! A throw-away PostgreSQL cluster for the hub's tests: `initdb` and
//! `pg_ctl` from Debian's `postgresql` package (`/usr/lib/postgresql/*/bin`),
//! data and Unix socket in a temporary directory, no TCP listener, trust
//! authentication for the superuser `hub`. PostgreSQL refuses to run as
//! root, so when the tests run as root (CI) the server runs as the
//! `postgres` system user through `runuser`, and the directory is handed to
//! it. The cluster is stopped when dropped.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use city_hub::config::RawDatabase;

/// A running (or stopped) test cluster.
pub struct PgCluster {
    /// Holds data, socket and log.
    dir: tempfile::TempDir,
    /// `/usr/lib/postgresql/N/bin`.
    bin: PathBuf,
}

/// The newest installed PostgreSQL's `bin` directory.
fn find_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed: run `bash .ci/setup` (apt-get install postgresql)")
        .filter_map(std::result::Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("no initdb under /usr/lib/postgresql/*/bin: run `bash .ci/setup`")
}

#[allow(unsafe_code)] // geteuid, with its SAFETY comment.
fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl PgCluster {
    /// Makes and starts a new cluster.
    pub fn start() -> PgCluster {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("city-hub-pg")
            .tempdir()
            .expect("temp dir");
        if as_root() {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "cannot hand the test cluster to postgres");
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .expect("chmod");
        }
        let cluster = PgCluster { dir, bin };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "--auth=trust",
                "--username=hub",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        cluster.start_again();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The socket directory.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut command = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let output = command.args(args).output().expect("PostgreSQL tool runs");
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}\nserver log: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-k {} -c listen_addresses='' -c fsync=off -c max_connections=40",
            self.socket_dir().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-l",
                &self.dir.path().join("log").display().to_string(),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        );
    }

    /// Stops the server at once, as a crash would (`-m immediate`: no
    /// checkpoint, recovery at the next start).
    pub fn crash(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    /// Settings for the hub.
    pub fn database(&self) -> RawDatabase {
        RawDatabase {
            host: self.socket_dir().display().to_string(),
            port: 5432,
            user: "hub".into(),
            dbname: "postgres".into(),
            password: None,
            pool_size: 4,
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let mut command = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        // Already stopped is fine; never panic in drop.
        let _ = command
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}
