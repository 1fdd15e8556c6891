//! The "ding-dong" played before an announcement, generated, not recorded.
//!
//! Owns only the synthesis: two decaying tones (E5 then C5) followed by a
//! short pause, in whatever format the speech that follows uses, so that the
//! two can be joined into one WAV.

use super::wav::{Wav, WavFormat};

/// Length of each tone, in seconds.
const TONE_SECS: f64 = 0.45;
/// Pause after the chime before the speech starts, in seconds.
const PAUSE_SECS: f64 = 0.3;
/// Tone frequencies in Hz: E5 then C5.
const TONES_HZ: [f64; 2] = [659.25, 523.25];
/// Peak amplitude as a fraction of full scale; the chime should not be louder
/// than the voice.
const PEAK: f64 = 0.4;

/// Length of the chime in frames at `sample_rate`.
pub fn chime_frames(sample_rate: u32) -> usize {
    let rate = f64::from(sample_rate);
    2 * (TONE_SECS * rate).round() as usize + (PAUSE_SECS * rate).round() as usize
}

/// The chime in `format` (each channel gets the same signal).
pub fn chime(format: WavFormat) -> Wav {
    let rate = f64::from(format.sample_rate);
    let tone_frames = (TONE_SECS * rate).round() as usize;
    let mut wav = Wav::new(format);
    wav.data
        .reserve(chime_frames(format.sample_rate) * format.block_align());
    for hz in TONES_HZ {
        for i in 0..tone_frames {
            let t = i as f64 / rate;
            // A fast attack avoids a click; the exponential decay sounds like a bell.
            let attack = (t / 0.005).min(1.0);
            let envelope = attack * (-t * 6.0).exp();
            let value = PEAK * envelope * (2.0 * std::f64::consts::PI * hz * t).sin();
            let sample = (value * f64::from(i16::MAX)).round() as i16;
            for _ in 0..format.channels {
                wav.data.extend_from_slice(&sample.to_le_bytes());
            }
        }
    }
    wav.push_silence(PAUSE_SECS);
    wav
}
