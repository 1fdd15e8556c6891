//! Announcing calls aloud in Vietnamese.
//!
//! This module owns everything between "ticket 1005 is called to counter 3"
//! and sound from the speakers:
//!
//! - [`number`]: reading numbers and labels ("một nghìn không trăm linh năm");
//! - [`phrase`](mod@phrase): the configured sentence around them;
//! - [`audio`]: a WAV from `espeak-ng` or from recorded clips, the chime and
//!   repetitions, and the player command;
//! - [`wav`]: a small 16-bit PCM WAV reader and writer;
//! - [`announcer`]: the queue that says calls one after another.
//!
//! It does not follow the kiosk's stream nor decide which events are
//! announced; the daemon calls [`Announcer::announce`] for each live call.
//!
//! # Troubleshooting
//!
//! - No sound and "cannot start player command `aplay`": install
//!   `alsa-utils`; check the output with `speaker-test -c 2`.
//! - "cannot start text-to-speech command `espeak-ng`": install `espeak-ng`.
//! - A clip folder missing words: `display-daemon voice-clips --config FILE`
//!   lists the words still to record.
//! - Try the wording and the audio without a kiosk:
//!   `display-daemon say 1005 3 --wav /tmp/call.wav && aplay /tmp/call.wav`.

pub mod announcer;
pub mod audio;
pub mod chime;
pub mod number;
pub mod phrase;
pub mod wav;

use std::collections::BTreeSet;
use std::path::PathBuf;

use kiosk_config::{VoiceBackend, VoiceSettings};

pub use announcer::{AnnounceError, Announcement, Announcer};
pub use audio::{play, render, DEFAULT_PLAYER, DEFAULT_TTS_COMMAND};
pub use number::{read_label, read_number, NumberStyle};
pub use phrase::{phrase, DEFAULT_PHRASE};
pub use wav::{Wav, WavError, WavFormat};

/// Why no audio could be produced or played.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The command list in the config is empty.
    #[error("the {what} command is empty; set it in the voice section of the config")]
    EmptyCommand {
        /// "text-to-speech" or "player".
        what: &'static str,
    },
    /// The program could not be started (usually: not installed).
    #[error("cannot start {what} command `{program}`; is it installed and on PATH?")]
    Spawn {
        /// "text-to-speech" or "player".
        what: &'static str,
        /// The program named first in the command.
        program: String,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },
    /// The program ran past its deadline and was killed.
    #[error("{what} command `{program}` did not finish within {secs} s and was killed")]
    Timeout {
        /// "text-to-speech" or "player".
        what: &'static str,
        /// The program named first in the command.
        program: String,
        /// The deadline in seconds.
        secs: u64,
    },
    /// The program exited with an error.
    #[error("{what} command `{program}` failed ({status}): {stderr}")]
    Failed {
        /// "text-to-speech" or "player".
        what: &'static str,
        /// The program named first in the command.
        program: String,
        /// Its exit status.
        status: String,
        /// The end of what it wrote to standard error.
        stderr: String,
    },
    /// The text-to-speech command did not leave its WAV file.
    #[error("cannot read the WAV that `{program}` should have written to {path}")]
    TtsOutput {
        /// The program named first in the command.
        program: String,
        /// The file it was asked to write.
        path: PathBuf,
        /// The error reading it.
        #[source]
        source: std::io::Error,
    },
    /// The text-to-speech command produced something that is not 16-bit PCM WAV.
    #[error("the text-to-speech command `{program}` produced no usable WAV")]
    TtsWav {
        /// The program named first in the command.
        program: String,
        /// What is wrong with it.
        #[source]
        source: WavError,
    },
    /// The clip folder cannot be listed.
    #[error("cannot list the voice clip folder {dir}")]
    ClipDir {
        /// The configured folder.
        dir: PathBuf,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },
    /// Words of the sentence have no recording.
    #[error("voice clip folder {dir} has no recording for: {}; record each as WORD.wav (see display-daemon/voice/CLIPS.md)", .words.join(", "))]
    MissingClips {
        /// The configured folder.
        dir: PathBuf,
        /// The words without a clip, in order of first use.
        words: Vec<String>,
    },
    /// A clip cannot be read.
    #[error("cannot read voice clip {path}")]
    ClipRead {
        /// The clip file.
        path: PathBuf,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },
    /// A clip is not 16-bit PCM WAV.
    #[error("voice clip {path} is not usable")]
    ClipWav {
        /// The clip file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: WavError,
    },
    /// Two clips of one sentence differ in format.
    #[error("voice clip {path} is {found} but {first} is {expected}; convert every clip to one format, e.g. `sox IN.wav -r 22050 -c 1 -b 16 OUT.wav`")]
    ClipFormat {
        /// The clip that differs.
        path: PathBuf,
        /// Its format.
        found: WavFormat,
        /// The first clip of the sentence.
        first: PathBuf,
        /// The first clip's format.
        expected: WavFormat,
    },
    /// The sentence is empty (an empty phrase template).
    #[error("nothing to say: the phrase has no words; check the phrase in the voice section")]
    NothingToSay,
}

/// The voice settings used when a config does not say otherwise: enabled,
/// [`DEFAULT_PHRASE`], numbers read as numbers, `espeak-ng`, `aplay`, chime
/// on, said once.
pub fn default_settings() -> VoiceSettings {
    VoiceSettings {
        enabled: true,
        phrase: DEFAULT_PHRASE.to_owned(),
        digit_by_digit: false,
        backend: VoiceBackend::Command(DEFAULT_TTS_COMMAND.map(str::to_owned).to_vec()),
        player: DEFAULT_PLAYER.map(str::to_owned).to_vec(),
        chime: true,
        repeat: 1,
    }
}

/// Every word a clip folder needs for `template`: the words of the template
/// itself and every word numbers and letter names can use, sorted.
pub fn clip_words(template: &str) -> Vec<String> {
    let fixed = template.replace("{number}", " ").replace("{counter}", " ");
    let mut all: BTreeSet<String> = phrase::words(&fixed).into_iter().collect();
    all.extend(number::number_words().into_iter().map(str::to_owned));
    all.extend(number::letter_words().into_iter().map(str::to_owned));
    all.into_iter().collect()
}
