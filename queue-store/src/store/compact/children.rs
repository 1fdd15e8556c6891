//! Compaction in short-lived child processes, a bounded piece each.
//!
//! Why: sled 0.34 keeps every page it read or wrote resident until its
//! cache sees enough accesses to evict (its LRU has 256 shards that each
//! act only after 64 accesses), so a copy made in one process holds about
//! what it copied, read and written: 22.7 MB over a fresh process's 7.6 MB
//! for a 13.8 MB copy (`YEAR_DAYS=30`), 19–40 MB over the kiosk's day in
//! `perf -- year`, and the memory is not given back when the handles are
//! dropped. A process that ends gives everything back.
//!
//! So [`compact_in_children`] runs the copy in processes of the same
//! binary, one at a time, each started with [`CHILD_ENV`] (the binary's
//! `main` calls [`serve_child_if_asked`] first) and killed if it runs
//! past its time limit ([`CHILD_LIMIT`] in the kiosk). A sequence of
//! **readers** each open the old store, read records from a [`Cursor`] on
//! until their keys and values reach [`PIECE_BYTES`], and write them out
//! (the `frames` module) with where the next reader starts; this process
//! appends them to `compact.stream`, the spool. Then one **writer** writes
//! the spool into the copy, flushes, snapshots and syncs it and commits it
//! (steps 1 and 2 of the protocol in the parent module). Reading costs
//! memory in sled (every page read stays), and a reader's goes when it
//! ends. The writer holds what it wrote: in `perf -- year` 27–51 MB for
//! copies of 18–33 MB, against 13–17 MB for a reader. It stays one
//! process because sled writes large records (the packed days) as blob
//! files and forgets deleting those it replaced when its process ends
//! first: writers taking 8 MiB each made copies of 32–56 MB where one
//! writer made 18–28 MB, and were not much smaller (20–33 MB). The next
//! opening swaps the copy in as after any compaction. The store must not
//! be open anywhere while this runs (sled's lock would refuse the
//! readers): `kiosk run` runs it in the service image, before that opens
//! the store.
//!
//! A child dies with the process that started it (`PR_SET_PDEATHSIG`), so
//! a kiosk killed meanwhile leaves no copy being written behind it; the
//! copy it left uncommitted is removed by the next opening.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{
    commit, copy_piece, io, open_copy, record_bytes, seal, sled_bytes, uncommitted_on_error,
    Copied, Cursor, SledSink, Steps, NEW_DIR, READY, STREAM,
};

mod frames;
use crate::store::error::StoreError;

/// Environment variable that makes a binary a compaction child: `piece`
/// or `seal`.
pub const CHILD_ENV: &str = "QUEUE_STORE_COMPACT_CHILD";
/// The data directory, for the child.
const DIR_ENV: &str = "QUEUE_STORE_COMPACT_DIR";
/// sled's cache, bytes, for the child.
const CACHE_ENV: &str = "QUEUE_STORE_COMPACT_CACHE";
/// Where the piece starts ([`Cursor::to_text`]).
const CURSOR_ENV: &str = "QUEUE_STORE_COMPACT_CURSOR";
/// Bytes of keys and values the piece copies.
const PIECE_ENV: &str = "QUEUE_STORE_COMPACT_PIECE";
/// The PID of the process that started the child.
const PARENT_ENV: &str = "QUEUE_STORE_COMPACT_PARENT";

/// Keys and values one reader takes by default.
pub const PIECE_BYTES: u64 = 2 * 1024 * 1024;

/// More pieces than this means the copy makes no progress.
const MAX_PIECES: u32 = 100_000;

/// What [`compact_in_children`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildCompaction {
    /// Records copied (every tree).
    pub records: u64,
    /// sled's files before.
    pub bytes_before: u64,
    /// The copy's files.
    pub bytes_after: u64,
    /// Reader processes (one after the other, each beside the writer).
    pub pieces: u32,
    /// The largest peak resident memory (`VmHWM`) of a reader, bytes.
    pub reader_peak_bytes: u64,
    /// The writer's peak resident memory, bytes.
    pub writer_peak_bytes: u64,
    /// From the first child's start to the commit.
    pub took: Duration,
}

/// Copy the store in `dir` into fresh files and commit the copy, in child
/// processes of `exe` (this binary: its `main` must call
/// [`serve_child_if_asked`]), each reader taking about `piece_bytes` of
/// keys and values ([`PIECE_BYTES`] in the kiosk), each killed after
/// `limit` ([`CHILD_LIMIT`] in the kiosk). The store must not be open. On
/// an error before the commit the copy is removed and the store is as it
/// was.
pub fn compact_in_children(
    dir: &Path,
    cache_bytes: u64,
    exe: &Path,
    piece_bytes: u64,
    limit: Duration,
) -> Result<ChildCompaction, StoreError> {
    let began = Instant::now();
    if dir.join(READY).exists() {
        return Err(StoreError::Inconsistent(
            "a committed compaction waits to be swapped in; open the store first".into(),
        ));
    }
    let bytes_before = sled_bytes(dir).map_err(io("measuring sled's files"))?;
    let done = uncommitted_on_error(dir, |_| {
        run_children(dir, cache_bytes, exe, piece_bytes.max(1), limit)
    })?;
    record_bytes(dir, done.bytes_after);
    Ok(ChildCompaction {
        bytes_before,
        took: began.elapsed(),
        ..done
    })
}

/// A child process of `exe` in `role`, with its standard input and
/// output piped to this process.
fn spawn_child(
    exe: &Path,
    role: &str,
    dir: &Path,
    cache_bytes: u64,
    piece: Option<(&Cursor, u64)>,
    stdin: std::process::Stdio,
) -> Result<std::process::Child, StoreError> {
    let mut command = std::process::Command::new(exe);
    command
        .env(CHILD_ENV, role)
        .env(DIR_ENV, dir)
        .env(CACHE_ENV, cache_bytes.to_string())
        .env(PARENT_ENV, std::process::id().to_string())
        .stdin(stdin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    if let Some((cursor, bytes)) = piece {
        command
            .env(CURSOR_ENV, cursor.to_text())
            .env(PIECE_ENV, bytes.to_string());
    }
    command
        .spawn()
        .map_err(io("starting a compaction child process"))
}

/// How long one child may run: far beyond its work (a reader takes about
/// 50 ms here, the writer of a year's store under a second; a Pi's SD
/// card is several times slower), short enough that a child stuck in sled
/// (0.34 can deadlock waiting for one of its own file truncations) does
/// not keep the kiosk from opening for long. It is then killed, and the
/// compaction fails as any other.
pub const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// A child, killed after its time limit ([`CHILD_LIMIT`] in the kiosk),
/// and killed and reaped when dropped (an error on the way).
struct Reaped(std::process::Child, Option<std::sync::mpsc::Sender<()>>);

impl Reaped {
    #[allow(unsafe_code)] // kill, with its SAFETY comment.
    fn watched(child: std::process::Child, limit: Duration) -> Reaped {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let pid = child.id();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                tracing::error!(
                    pid,
                    "a compaction child ran past {} s; it is killed and the store is used as it is",
                    limit.as_secs()
                );
                if let Ok(pid) = libc::pid_t::try_from(pid) {
                    // SAFETY: kill takes no pointer; `pid` is a child of
                    // this process that is not reaped yet (the sender
                    // is dropped only after it is).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        });
        Reaped(child, Some(done))
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        drop(self.1.take());
    }
}

fn child_failed(role: &str, status: std::process::ExitStatus) -> StoreError {
    StoreError::Inconsistent(format!(
        "the compaction {role} ended with {status}; the store is used as it is (its messages are in the log above; a child that runs too long is killed)"
    ))
}

fn run_children(
    dir: &Path,
    cache_bytes: u64,
    exe: &Path,
    piece_bytes: u64,
    limit: Duration,
) -> Result<ChildCompaction, StoreError> {
    let spool_path = dir.join(STREAM);
    let result =
        read_all(dir, cache_bytes, exe, piece_bytes, limit, &spool_path).and_then(|read| {
            let (bytes_after, writer_peak_bytes) =
                write_all(dir, cache_bytes, exe, limit, &spool_path)?;
            Ok(ChildCompaction {
                bytes_after,
                writer_peak_bytes,
                ..read
            })
        });
    let _ = std::fs::remove_file(&spool_path);
    result
}

/// The readers, one after the other, their records spooled to `spool`.
fn read_all(
    dir: &Path,
    cache_bytes: u64,
    exe: &Path,
    piece_bytes: u64,
    limit: Duration,
    spool: &Path,
) -> Result<ChildCompaction, StoreError> {
    let mut to_spool = std::io::BufWriter::new(
        std::fs::File::create(spool).map_err(io("creating the compaction's record spool"))?,
    );
    let mut cursor = Cursor::START;
    let (mut records, mut pieces, mut peak) = (0u64, 0u32, 0u64);
    loop {
        if pieces == MAX_PIECES {
            return Err(StoreError::Inconsistent(format!(
                "the compaction made no progress after {MAX_PIECES} readers; the store is used as it is"
            )));
        }
        let mut reader = Reaped::watched(
            spawn_child(
                exe,
                "read",
                dir,
                cache_bytes,
                Some((&cursor, piece_bytes)),
                std::process::Stdio::null(),
            )?,
            limit,
        );
        let from_reader = reader
            .0
            .stdout
            .take()
            .ok_or_else(|| bad_answer(&["no reader output".into()]))?;
        let end = frames::relay(&mut std::io::BufReader::new(from_reader), &mut to_spool)?;
        let status = reader
            .0
            .wait()
            .map_err(io("waiting for a compaction reader"))?;
        if !status.success() {
            return Err(child_failed("reader", status));
        }
        pieces += 1;
        records += end.records;
        peak = peak.max(end.peak_bytes);
        match end.next {
            None => break,
            Some(next) if next == cursor => return Err(bad_answer(&[next.to_text()])),
            Some(next) => cursor = next,
        }
    }
    to_spool
        .flush()
        .map_err(io("writing the compaction's record spool"))?;
    Ok(ChildCompaction {
        records,
        bytes_before: 0,
        bytes_after: 0,
        pieces,
        reader_peak_bytes: peak,
        writer_peak_bytes: 0,
        took: Duration::ZERO,
    })
}

/// The writer, fed `spool`: the copy's size and the writer's peak.
fn write_all(
    dir: &Path,
    cache_bytes: u64,
    exe: &Path,
    limit: Duration,
    spool: &Path,
) -> Result<(u64, u64), StoreError> {
    let input = std::fs::File::open(spool).map_err(io("reading the compaction's record spool"))?;
    let mut writer = Reaped::watched(
        spawn_child(exe, "write", dir, cache_bytes, None, input.into())?,
        limit,
    );
    let mut answer = String::new();
    if let Some(mut out) = writer.0.stdout.take() {
        std::io::Read::read_to_string(&mut out, &mut answer)
            .map_err(io("reading the compaction writer's answer"))?;
    }
    let status = writer
        .0
        .wait()
        .map_err(io("waiting for the compaction writer"))?;
    if !status.success() {
        return Err(child_failed("writer", status));
    }
    let words: Vec<String> = answer
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("compact-child "))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let [bytes, hwm] = words.as_slice() else {
        return Err(bad_answer(&words));
    };
    let parse = |word: &String| word.parse::<u64>().map_err(|_| bad_answer(&words));
    Ok((parse(bytes)?, parse(hwm)?))
}

fn bad_answer(answer: &[String]) -> StoreError {
    StoreError::Inconsistent(format!(
        "a compaction child answered {answer:?}; the store is used as it is (is the kiosk binary the one that started it?)"
    ))
}

/// When this process was started by [`compact_in_children`], do the
/// child's work and exit; otherwise return at once. Call it first thing
/// in `main`.
pub fn serve_child_if_asked() {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return;
    };
    crate::store::heap::tune();
    die_with_parent();
    let code = match serve(&role) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: compaction child ({role}): {err}");
            1
        }
    };
    std::process::exit(code);
}

fn serve(role: &str) -> Result<(), StoreError> {
    let dir = std::path::PathBuf::from(std::env::var_os(DIR_ENV).unwrap_or_default());
    let cache_bytes: u64 = std::env::var(CACHE_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8 * 1024 * 1024);
    let new_dir = dir.join(NEW_DIR);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match role {
        "read" => {
            let cursor = std::env::var(CURSOR_ENV)
                .ok()
                .and_then(|text| Cursor::from_text(&text))
                .ok_or_else(|| StoreError::Inconsistent("no cursor given".into()))?;
            let budget = std::env::var(PIECE_ENV)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(PIECE_BYTES);
            let old = super::super::open_sled(&dir, cache_bytes, super::super::LOCK_WAIT).map_err(
                |source| StoreError::Open {
                    dir: dir.clone(),
                    source,
                },
            )?;
            let mut sink = frames::FrameSink::new(&mut out);
            let (mut budget, mut at) = (budget, cursor);
            let next = loop {
                let piece = copy_piece(&old, &at, budget, &mut sink)?;
                budget = budget.saturating_sub(piece.bytes);
                match piece.next {
                    Some(next) if budget > 0 => at = next,
                    other => break other,
                }
            };
            frames::write_end(&mut out, next.as_ref(), peak_bytes())
        }
        "write" => {
            let mut sink = SledSink::new(open_copy(&new_dir, cache_bytes)?);
            frames::apply(
                &mut std::io::BufReader::new(std::io::stdin().lock()),
                &mut sink,
            )?;
            seal(sink.finish()?, &new_dir, cache_bytes)?;
            let mut steps = Steps::ALL;
            match commit(&dir, &new_dir, 0, &mut steps)? {
                Copied::Committed { bytes, .. } => {
                    writeln!(out, "compact-child {bytes} {}", peak_bytes())
                        .and_then(|()| out.flush())
                        .map_err(io("answering the compaction parent"))
                }
                Copied::Stopped => Err(StoreError::Inconsistent(
                    "the commit stopped without a reason".into(),
                )),
            }
        }
        other => Err(StoreError::Inconsistent(format!(
            "unknown compaction child role {other:?}"
        ))),
    }
}

/// This process's peak resident memory, bytes (0 where unknown).
fn peak_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Ask the kernel to kill this child when the process that started it
/// ends, and end now if that already happened.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // prctl and getppid, with their SAFETY comment.
fn die_with_parent() {
    let parent: Option<i32> = std::env::var(PARENT_ENV).ok().and_then(|v| v.parse().ok());
    // SAFETY: PR_SET_PDEATHSIG takes a signal number, no pointer; getppid
    // takes nothing. Both only affect this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if parent.is_some_and(|p| p != libc::getppid()) {
            libc::_exit(1);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent() {}
