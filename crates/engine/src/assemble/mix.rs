//! Mixing a render's soundtrack once: voice-over plus music at `music_volume`, the music looped or cut to the
//! video's exact length with a short fade-out, encoded to AAC 48 kHz stereo in an M4A (MP4) file.

use super::{AssembleError, Assembler, work_dir};

/// Sample rate of the mixed soundtrack, in Hz.
pub const SAMPLE_RATE: u64 = 48_000;
/// Length of the music's fade-out at the end of the video, in seconds (at most half the video).
pub const MUSIC_FADE_OUT_SECONDS: f64 = 1.0;
/// AAC bit rate of the mixed soundtrack, in bits per second.
const AAC_BITRATE: &str = "192k";

/// What to mix.
#[derive(Debug, Clone, PartialEq)]
pub struct MixSpec {
    /// The voice-over, played once from the start, padded with silence or cut to the video's length.
    pub voiceover: Option<String>,
    /// The music, looped or cut to the video's length, faded out over its last [`MUSIC_FADE_OUT_SECONDS`].
    pub music: Option<String>,
    /// Gain of the music in [0, 1]; none keeps the music at its own level (1).
    pub music_volume: Option<f64>,
    /// Frames of the video.
    pub frames: u64,
    /// Frames per second of the video.
    pub fps: u32,
    /// Where the M4A goes.
    pub output_uri: String,
}

/// The mixed soundtrack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mixed {
    /// Samples per channel, at [`SAMPLE_RATE`].
    pub samples: u64,
    /// Length in milliseconds (the video's).
    pub duration_ms: u64,
}

impl MixSpec {
    /// Samples per channel of the video's length, rounded to the nearest sample.
    pub fn samples(&self) -> u64 {
        let fps = u64::from(self.fps.max(1));
        (self.frames * SAMPLE_RATE + fps / 2) / fps
    }

    fn check(&self) -> Result<f64, AssembleError> {
        let invalid = |message: String| Err(AssembleError::InvalidInput(message));
        if self.voiceover.is_none() && self.music.is_none() {
            return invalid("a soundtrack needs a voiceover, a music, or both".into());
        }
        if self.fps == 0 || self.frames == 0 {
            return invalid(format!(
                "the video must last at least one frame at 1 fps or more (frames {}, fps {})",
                self.frames, self.fps
            ));
        }
        match self.music_volume {
            None => Ok(1.0),
            Some(volume) if (0.0..=1.0).contains(&volume) => Ok(volume),
            Some(volume) => invalid(format!("music_volume {volume} must be within [0, 1]")),
        }
    }
}

/// The filter chain normalizing input `input` to 48 kHz stereo float samples.
fn normalize(input: usize) -> String {
    format!("[{input}:a:0]aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo")
}

/// The `-filter_complex` graph mixing the inputs (voice-over first when present) into `[mix]`, `samples` long.
fn mix_graph(has_voiceover: bool, has_music: bool, volume: f64, samples: u64) -> String {
    let mut chains = Vec::new();
    let mut labels = String::new();
    if has_voiceover {
        chains.push(format!(
            "{},apad=whole_len={samples},atrim=end_sample={samples}[voiceover]",
            normalize(0)
        ));
        labels.push_str("[voiceover]");
    }
    if has_music {
        let fade = ((MUSIC_FADE_OUT_SECONDS * SAMPLE_RATE as f64) as u64).min(samples / 2);
        chains.push(format!(
            "{},volume={volume}:precision=float,atrim=end_sample={samples},\
             afade=t=out:start_sample={}:nb_samples={fade}[music]",
            normalize(usize::from(has_voiceover)),
            samples - fade
        ));
        labels.push_str("[music]");
    }
    if has_voiceover && has_music {
        chains.push(format!(
            "{labels}amix=inputs=2:duration=longest:normalize=0[mix]"
        ));
    } else {
        chains.push(format!("{labels}anull[mix]"));
    }
    chains.join(";")
}

impl Assembler {
    /// Mixes `spec`'s voice-over and music to exactly the video's length and writes the AAC-LC 48 kHz stereo M4A
    /// to `spec.output_uri`. A missing source is [`AssembleError::SourceMissing`]; nothing is written on failure.
    pub async fn mix(&self, spec: &MixSpec) -> Result<Mixed, AssembleError> {
        let volume = spec.check()?;
        let work = work_dir()?;
        let mut args = Vec::new();
        for (uri, looped) in [(&spec.voiceover, false), (&spec.music, true)] {
            let Some(uri) = uri else { continue };
            let path = self.fetch_source(uri, work.path()).await?;
            if !self.has_audio(&path).await? {
                return Err(AssembleError::InvalidInput(format!(
                    "[{uri}] has no audio stream"
                )));
            }
            if looped {
                args.extend(["-stream_loop".into(), "-1".into()]);
            }
            args.extend(["-i".into(), path.display().to_string()]);
        }
        let samples = spec.samples();
        args.extend([
            "-filter_complex".into(),
            mix_graph(
                spec.voiceover.is_some(),
                spec.music.is_some(),
                volume,
                samples,
            ),
        ]);
        let mixed = work.path().join("soundtrack.m4a");
        args.extend(
            [
                "-map",
                "[mix]",
                "-c:a",
                "aac",
                "-b:a",
                AAC_BITRATE,
                "-ar",
                "48000",
                "-ac",
                "2",
                "-movflags",
                "+faststart",
                "-map_metadata",
                "-1",
                "-f",
                "mp4",
            ]
            .map(String::from),
        );
        args.push(mixed.display().to_string());
        self.ffmpeg(&args).await?;
        self.store(&mixed, &spec.output_uri).await?;
        let duration_ms = (samples * 1000 + SAMPLE_RATE / 2) / SAMPLE_RATE;
        tracing::info!(output = %spec.output_uri, samples, duration_ms, "mixed soundtrack");
        Ok(Mixed {
            samples,
            duration_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MixSpec {
        MixSpec {
            voiceover: Some("vo.wav".into()),
            music: None,
            music_volume: None,
            frames: 90,
            fps: 30,
            output_uri: "out.m4a".into(),
        }
    }

    #[test]
    fn the_length_is_the_videos_in_samples() {
        assert_eq!(spec().samples(), 144_000);
        let odd = MixSpec {
            frames: 10,
            fps: 7,
            ..spec()
        };
        assert_eq!(odd.samples(), 68_571);
    }

    #[test]
    fn bad_specs_are_invalid_input() {
        for bad in [
            MixSpec {
                voiceover: None,
                ..spec()
            },
            MixSpec {
                music_volume: Some(1.5),
                ..spec()
            },
            MixSpec {
                music_volume: Some(f64::NAN),
                ..spec()
            },
            MixSpec { fps: 0, ..spec() },
            MixSpec {
                frames: 0,
                ..spec()
            },
        ] {
            assert_eq!(bad.check().unwrap_err().error_type(), "InvalidInput");
        }
        assert_eq!(spec().check().unwrap(), 1.0);
    }

    #[test]
    fn the_graph_mixes_only_what_is_there() {
        let both = mix_graph(true, true, 0.25, 96_000);
        assert!(both.contains("[1:a:0]") && both.contains("volume=0.25"));
        assert!(both.contains("afade=t=out:start_sample=48000:nb_samples=48000"));
        assert!(
            both.ends_with("[voiceover][music]amix=inputs=2:duration=longest:normalize=0[mix]")
        );
        let music = mix_graph(false, true, 1.0, 40_000);
        assert!(music.starts_with("[0:a:0]"));
        assert!(music.contains("start_sample=20000:nb_samples=20000"));
        assert!(!mix_graph(true, false, 1.0, 40_000).contains("amix"));
    }
}
