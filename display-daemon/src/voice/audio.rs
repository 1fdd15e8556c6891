//! Turning a sentence into one WAV and playing it.
//!
//! Owns the two audio backends — a text-to-speech command (default
//! `espeak-ng -v vi -w {wav} {text}`) and a folder of recorded clips, one per
//! word — the chime and repeat assembly, and running the player command. It
//! does not decide what to say ([`super::phrase`](mod@super::phrase)) or when
//! ([`super::announcer`]). Every external command runs with a timeout and is
//! killed when it overruns.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use kiosk_config::{VoiceBackend, VoiceSettings};
use unicode_normalization::UnicodeNormalization;

use super::chime::chime;
use super::phrase::words;
use super::wav::Wav;
use super::VoiceError;

/// The default text-to-speech command. `{wav}` is replaced by the file to
/// write and `{text}` by the sentence.
pub const DEFAULT_TTS_COMMAND: [&str; 6] = ["espeak-ng", "-v", "vi", "-w", "{wav}", "{text}"];
/// The default player command; `{wav}` is replaced by the file to play.
pub const DEFAULT_PLAYER: [&str; 3] = ["aplay", "-q", "{wav}"];
/// How long the text-to-speech command may run.
pub const TTS_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the player may run for one announcement.
pub const PLAYER_TIMEOUT: Duration = Duration::from_secs(120);
/// Silence between two repetitions of the sentence, in seconds.
pub const REPEAT_GAP_SECS: f64 = 0.8;

/// The audio for `text` as configured: speech from the backend, the chime in
/// front when enabled, the sentence `repeat` times (at least once) with
/// [`REPEAT_GAP_SECS`] of silence between.
pub fn render(settings: &VoiceSettings, text: &str) -> Result<Wav, VoiceError> {
    let speech = speak(&settings.backend, text)?;
    Ok(assemble(&speech, settings.chime, settings.repeat))
}

/// Joins chime and repetitions of `speech` (see [`render`]).
pub fn assemble(speech: &Wav, with_chime: bool, repeat: u8) -> Wav {
    let mut out = if with_chime {
        chime(speech.format)
    } else {
        Wav::new(speech.format)
    };
    for i in 0..repeat.max(1) {
        if i > 0 {
            out.push_silence(REPEAT_GAP_SECS);
        }
        out.data.extend_from_slice(&speech.data);
    }
    out
}

/// The sentence alone, from the configured backend.
pub fn speak(backend: &VoiceBackend, text: &str) -> Result<Wav, VoiceError> {
    match backend {
        VoiceBackend::Command(argv) => speak_command(argv, text),
        VoiceBackend::Clips(dir) => speak_clips(dir, text),
    }
}

/// Runs a text-to-speech command. In `argv`, `{text}` becomes the sentence
/// (without it the sentence goes to the command's standard input) and
/// `{wav}` a temporary file the command must write (without it the WAV is
/// read from standard output, as with `espeak-ng --stdout`).
pub fn speak_command(argv: &[String], text: &str) -> Result<Wav, VoiceError> {
    let program = argv
        .first()
        .ok_or(VoiceError::EmptyCommand {
            what: "text-to-speech",
        })?
        .clone();
    let wants_file = argv.iter().any(|a| a.contains("{wav}"));
    let wants_text_arg = argv.iter().any(|a| a.contains("{text}"));
    let path = temp_wav_path("tts");
    let path_text = path.to_string_lossy();
    let args: Vec<String> = argv
        .iter()
        .map(|a| a.replace("{wav}", &path_text).replace("{text}", text))
        .collect();
    let stdin = (!wants_text_arg).then(|| text.as_bytes().to_vec());
    let result = run("text-to-speech", &args, stdin, !wants_file, TTS_TIMEOUT);
    let outcome = (|| {
        let finished = result?;
        let bytes = if wants_file {
            std::fs::read(&path).map_err(|source| VoiceError::TtsOutput {
                program: program.clone(),
                path: path.clone(),
                source,
            })?
        } else {
            finished.stdout
        };
        Wav::parse(&bytes).map_err(|source| VoiceError::TtsWav {
            program: program.clone(),
            source,
        })
    })();
    let _ = std::fs::remove_file(&path);
    outcome
}

/// Joins the recorded clips of the words of `text`, read from `dir`
/// (`WORD.wav`, matched after NFC normalization and lower-casing, so clips
/// saved with decomposed names or capitals are found). Every missing word is
/// reported at once; all clips must share one format.
pub fn speak_clips(dir: &Path, text: &str) -> Result<Wav, VoiceError> {
    let words = words(text);
    if words.is_empty() {
        return Err(VoiceError::NothingToSay);
    }
    let index = clip_index(dir)?;
    let mut missing: Vec<String> = Vec::new();
    for word in &words {
        if !index.contains_key(word) && !missing.contains(word) {
            missing.push(word.clone());
        }
    }
    if !missing.is_empty() {
        return Err(VoiceError::MissingClips {
            dir: dir.to_owned(),
            words: missing,
        });
    }
    let mut loaded: HashMap<&str, Wav> = HashMap::new();
    let mut out: Option<(Wav, PathBuf)> = None;
    for word in &words {
        let path = &index[word];
        if !loaded.contains_key(word.as_str()) {
            let bytes = std::fs::read(path).map_err(|source| VoiceError::ClipRead {
                path: path.clone(),
                source,
            })?;
            let clip = Wav::parse(&bytes).map_err(|source| VoiceError::ClipWav {
                path: path.clone(),
                source,
            })?;
            loaded.insert(word, clip);
        }
        let clip = &loaded[word.as_str()];
        match &mut out {
            None => out = Some((clip.clone(), path.clone())),
            Some((joined, first)) => {
                if clip.format != joined.format {
                    return Err(VoiceError::ClipFormat {
                        path: path.clone(),
                        found: clip.format,
                        first: first.clone(),
                        expected: joined.format,
                    });
                }
                joined.data.extend_from_slice(&clip.data);
            }
        }
    }
    // `words` is not empty, so at least one clip was joined.
    out.map(|(wav, _)| wav).ok_or(VoiceError::NothingToSay)
}

/// The clips in `dir`: NFC lower-case file stem → path, for `*.wav` files.
pub fn clip_index(dir: &Path) -> Result<HashMap<String, PathBuf>, VoiceError> {
    let entries = std::fs::read_dir(dir).map_err(|source| VoiceError::ClipDir {
        dir: dir.to_owned(),
        source,
    })?;
    let mut index = HashMap::new();
    for entry in entries {
        let entry = entry.map_err(|source| VoiceError::ClipDir {
            dir: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        let is_wav = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if is_wav {
            let key: String = stem
                .nfc()
                .collect::<String>()
                .to_lowercase()
                .nfc()
                .collect();
            index.insert(key, path);
        }
    }
    Ok(index)
}

/// Plays `wav` with the player command: `{wav}` in `argv` becomes the path,
/// or the path is appended when no argument mentions it.
pub fn play(argv: &[String], wav: &Path) -> Result<(), VoiceError> {
    if argv.is_empty() {
        return Err(VoiceError::EmptyCommand { what: "player" });
    }
    let path = wav.to_string_lossy();
    let mut args: Vec<String> = argv.iter().map(|a| a.replace("{wav}", &path)).collect();
    if !argv.iter().any(|a| a.contains("{wav}")) {
        args.push(path.into_owned());
    }
    run("player", &args, None, false, PLAYER_TIMEOUT).map(|_| ())
}

/// A fresh path in the temporary directory for a WAV file.
pub(crate) fn temp_wav_path(tag: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "display-daemon-{}-{n}-{tag}.wav",
        std::process::id()
    ))
}

/// What a finished command left behind.
struct Finished {
    /// Its standard output, when captured.
    stdout: Vec<u8>,
}

/// Runs `args` with a deadline; a non-zero exit is an error carrying the end
/// of its standard error.
fn run(
    what: &'static str,
    args: &[String],
    stdin: Option<Vec<u8>>,
    capture_stdout: bool,
    timeout: Duration,
) -> Result<Finished, VoiceError> {
    let program = args[0].clone();
    let mut child = Command::new(&args[0])
        .args(&args[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(if capture_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| VoiceError::Spawn {
            what,
            program: program.clone(),
            source,
        })?;
    // Feed and drain the pipes on their own threads so that a chatty command
    // cannot block on a full pipe while we wait for it.
    let feeder = child.stdin.take().zip(stdin).map(|(mut pipe, input)| {
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    let stdout_reader = child.stdout.take().map(drain);
    let stderr_reader = child.stderr.take().map(drain);
    let status = wait_with_deadline(&mut child, timeout);
    let Some(status) = status else {
        // Not joining the pipe threads: a grandchild may still hold the
        // pipes open, and they end by themselves when it does.
        return Err(VoiceError::Timeout {
            what,
            program,
            secs: timeout.as_secs(),
        });
    };
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let stdout = stdout_reader
        .and_then(|r| r.join().ok())
        .unwrap_or_default();
    let stderr = stderr_reader
        .and_then(|r| r.join().ok())
        .unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr.trim();
        // Keep the end, where the reason usually is.
        let tail: String = {
            let chars: Vec<char> = stderr.chars().collect();
            chars[chars.len().saturating_sub(400)..].iter().collect()
        };
        return Err(VoiceError::Failed {
            what,
            program,
            status: status.to_string(),
            stderr: tail,
        });
    }
    Ok(Finished { stdout })
}

fn drain<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Waits for `child`; kills it and returns `None` when `timeout` passes.
fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}
