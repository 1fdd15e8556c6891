//! A minimal WAV (RIFF/WAVE) reader and writer for 16-bit PCM.
//!
//! It owns the container only: parsing `RIFF`/`fmt `/`data` chunks into
//! samples bytes and writing them back. It accepts plain PCM (format tag 1)
//! and `WAVE_FORMAT_EXTENSIBLE` carrying PCM, skips unknown chunks, and
//! tolerates the oversized length fields that streaming writers such as
//! `espeak-ng --stdout` leave in the header (the data is clamped to what is
//! present). Anything other than 16-bit PCM is refused with a message that
//! says how to convert the file.
//!
//! Why not the `hound` crate: the default text-to-speech may be run as
//! `espeak-ng --stdout`, whose header carries a streaming writer's
//! placeholder lengths (`0x7ffff000`). hound takes them at their word: it
//! reports about 2^30 samples (13.5 hours) for a three-second sentence and
//! its sample iterator ends in an I/O error where the speech ends, so a
//! cut-off file cannot be told from a normal one, and anything sized from
//! its length tries to allocate gigabytes. The test
//! `espeak_ng_stdout_is_read_whole_where_hound_misreads_it` (in
//! `display-daemon/tests/voice.rs`) shows it with the installed espeak-ng
//! and fails once hound reads such a file cleanly.

use std::fmt;
use std::io::{self, Write};

/// The shape of the samples in a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Number of interleaved channels (1 mono, 2 stereo).
    pub channels: u16,
    /// Frames per second.
    pub sample_rate: u32,
    /// Bits per sample; always 16 for what this module reads and writes.
    pub bits_per_sample: u16,
}

impl WavFormat {
    /// 16-bit mono PCM at `sample_rate` Hz.
    pub fn mono16(sample_rate: u32) -> Self {
        Self {
            channels: 1,
            sample_rate,
            bits_per_sample: 16,
        }
    }

    /// Bytes per frame (one sample for every channel).
    pub fn block_align(&self) -> usize {
        usize::from(self.channels) * usize::from(self.bits_per_sample / 8)
    }
}

impl fmt::Display for WavFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels = match self.channels {
            1 => "mono".to_owned(),
            2 => "stereo".to_owned(),
            n => format!("{n} channels"),
        };
        write!(
            f,
            "{} Hz {channels} {}-bit PCM",
            self.sample_rate, self.bits_per_sample
        )
    }
}

/// What is wrong with a WAV file.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    /// The file does not start with `RIFF....WAVE`.
    #[error("not a WAV file (no RIFF/WAVE header)")]
    NotWav,
    /// A chunk header or the `fmt ` chunk is cut short.
    #[error("truncated WAV file: the {0} chunk is cut short")]
    Truncated(&'static str),
    /// No `fmt ` chunk before the `data` chunk.
    #[error("WAV file has no 'fmt ' chunk before its 'data' chunk")]
    MissingFormat,
    /// No `data` chunk.
    #[error("WAV file has no 'data' chunk")]
    MissingData,
    /// Compressed or floating-point audio.
    #[error("WAV format tag {0:#06x} is not PCM; convert it with `sox IN.wav -e signed-integer -b 16 OUT.wav`")]
    NotPcm(u16),
    /// PCM with another sample size than 16 bits.
    #[error("WAV file is {0}-bit; only 16-bit PCM is supported: convert it with `sox IN.wav -b 16 OUT.wav`")]
    UnsupportedBits(u16),
    /// A zero channel count or sample rate.
    #[error("WAV file declares {channels} channels at {sample_rate} Hz, which is not playable")]
    BadFormat {
        /// Declared channel count.
        channels: u16,
        /// Declared sample rate.
        sample_rate: u32,
    },
    /// The audio is too long for a WAV header (over 4 GiB).
    #[error("audio of {0} bytes is too long for a WAV file")]
    TooLong(usize),
}

/// 16-bit PCM audio held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wav {
    /// Sample format.
    pub format: WavFormat,
    /// Interleaved little-endian samples; always a whole number of frames.
    pub data: Vec<u8>,
}

impl Wav {
    /// Empty audio in `format`.
    pub fn new(format: WavFormat) -> Self {
        Self {
            format,
            data: Vec::new(),
        }
    }

    /// Builds audio from mono samples.
    pub fn from_mono_samples(sample_rate: u32, samples: &[i16]) -> Self {
        let mut data = Vec::with_capacity(samples.len() * 2);
        for s in samples {
            data.extend_from_slice(&s.to_le_bytes());
        }
        Self {
            format: WavFormat::mono16(sample_rate),
            data,
        }
    }

    /// Parses a WAV file held in memory.
    pub fn parse(bytes: &[u8]) -> Result<Self, WavError> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(WavError::NotWav);
        }
        let mut pos = 12;
        let mut format = None;
        while pos + 8 <= bytes.len() {
            let id = &bytes[pos..pos + 4];
            let declared = u32_at(bytes, pos + 4) as usize;
            let body_start = pos + 8;
            let available = bytes.len() - body_start;
            if id == b"fmt " {
                if declared < 16 || available < 16 {
                    return Err(WavError::Truncated("fmt "));
                }
                let body = &bytes[body_start..body_start + declared.min(available)];
                format = Some(parse_format(body)?);
            } else if id == b"data" {
                let format = format.ok_or(WavError::MissingFormat)?;
                // Streaming writers put 0x7fff_f000 or 0xffff_ffff here.
                let len = declared.min(available);
                let len = len - len % format.block_align();
                return Ok(Self {
                    format,
                    data: bytes[body_start..body_start + len].to_vec(),
                });
            }
            // Chunks are padded to an even length.
            let next = body_start
                .saturating_add(declared)
                .saturating_add(declared & 1);
            if next > bytes.len() {
                break;
            }
            pos = next;
        }
        Err(if format.is_some() {
            WavError::MissingData
        } else {
            WavError::MissingFormat
        })
    }

    /// The whole file as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WavError> {
        let mut out = Vec::with_capacity(44 + self.data.len());
        self.write_to(&mut out)
            .map_err(|_| WavError::TooLong(self.data.len()))?;
        Ok(out)
    }

    /// Writes the file (44-byte header then the samples) to `out`.
    pub fn write_to<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let data_len = u32::try_from(self.data.len())
            .ok()
            .filter(|len| *len <= u32::MAX - 36)
            .ok_or_else(|| io::Error::other(WavError::TooLong(self.data.len())))?;
        let f = &self.format;
        let block_align = f.block_align() as u16;
        let byte_rate = f.sample_rate * u32::from(block_align);
        let mut header = Vec::with_capacity(44);
        header.extend_from_slice(b"RIFF");
        header.extend_from_slice(&(36 + data_len).to_le_bytes());
        header.extend_from_slice(b"WAVEfmt ");
        header.extend_from_slice(&16u32.to_le_bytes());
        header.extend_from_slice(&1u16.to_le_bytes());
        header.extend_from_slice(&f.channels.to_le_bytes());
        header.extend_from_slice(&f.sample_rate.to_le_bytes());
        header.extend_from_slice(&byte_rate.to_le_bytes());
        header.extend_from_slice(&block_align.to_le_bytes());
        header.extend_from_slice(&f.bits_per_sample.to_le_bytes());
        header.extend_from_slice(b"data");
        header.extend_from_slice(&data_len.to_le_bytes());
        out.write_all(&header)?;
        out.write_all(&self.data)
    }

    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.data.len() / self.format.block_align()
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.frames() as f64 / f64::from(self.format.sample_rate)
    }

    /// The samples, all channels interleaved.
    pub fn samples(&self) -> impl Iterator<Item = i16> + '_ {
        self.data
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
    }

    /// Root mean square of all samples, 0.0 (silence) to about 32768.0.
    pub fn rms(&self) -> f64 {
        let (sum, count) = self.samples().fold((0f64, 0usize), |(sum, n), s| {
            (sum + f64::from(s).powi(2), n + 1)
        });
        if count == 0 {
            0.0
        } else {
            (sum / count as f64).sqrt()
        }
    }

    /// Appends `seconds` of silence.
    pub fn push_silence(&mut self, seconds: f64) {
        let frames = (seconds * f64::from(self.format.sample_rate)).round() as usize;
        self.data
            .resize(self.data.len() + frames * self.format.block_align(), 0);
    }
}

fn parse_format(body: &[u8]) -> Result<WavFormat, WavError> {
    let mut tag = u16_at(body, 0);
    let channels = u16_at(body, 2);
    let sample_rate = u32_at(body, 4);
    let bits_per_sample = u16_at(body, 14);
    const EXTENSIBLE: u16 = 0xfffe;
    if tag == EXTENSIBLE {
        // cbSize(2) validBits(2) channelMask(4) then the sub-format GUID,
        // whose first two bytes are the real format tag.
        if body.len() < 26 {
            return Err(WavError::Truncated("fmt "));
        }
        tag = u16_at(body, 24);
    }
    if tag != 1 {
        return Err(WavError::NotPcm(tag));
    }
    if bits_per_sample != 16 {
        return Err(WavError::UnsupportedBits(bits_per_sample));
    }
    if channels == 0 || sample_rate == 0 {
        return Err(WavError::BadFormat {
            channels,
            sample_rate,
        });
    }
    Ok(WavFormat {
        channels,
        sample_rate,
        bits_per_sample,
    })
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}
