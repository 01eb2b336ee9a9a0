//! Mixing a render's sound once: the voice-over, the music at `music_volume` (looped or cut to the video's exact
//! length with a short fade-out, ducked under the voice-over), and the video scenes' own sound, each at its scene's
//! place and volume; encoded to AAC 48 kHz stereo in an M4A (MP4) file. The chunks carry no audio, so no chunk
//! boundary ever cuts it.

use vidpipe_core::render::{Ducking, SceneSound};

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
    /// How the music is ducked under the voice-over (only when there are both).
    pub ducking: Ducking,
    /// The video scenes' own sound ([`vidpipe_core::render::RenderRequest::scene_sounds`]); a video without an
    /// audio track is silence.
    pub scenes: Vec<SceneSound>,
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
    /// Scenes whose own sound is in the mix (the others' videos have no audio).
    pub scenes_heard: usize,
}

impl MixSpec {
    /// Samples per channel of the video's length, rounded to the nearest sample.
    pub fn samples(&self) -> u64 {
        self.sample_at(self.frames)
    }

    /// The sample where frame `frame` starts, rounded to the nearest sample.
    pub(super) fn sample_at(&self, frame: u64) -> u64 {
        let fps = u64::from(self.fps.max(1));
        (frame * SAMPLE_RATE + fps / 2) / fps
    }

    fn check(&self) -> Result<f64, AssembleError> {
        let invalid = |message: String| Err(AssembleError::InvalidInput(message));
        if self.voiceover.is_none() && self.music.is_none() && self.scenes.is_empty() {
            return invalid("nothing to mix: no voiceover, no music, no video scene".into());
        }
        if self.fps == 0 || self.frames == 0 {
            return invalid(format!(
                "the video must last at least one frame at 1 fps or more (frames {}, fps {})",
                self.frames, self.fps
            ));
        }
        if let Some(scene) = self.scenes.iter().find(|s| {
            s.start_frame + s.frames > self.frames || !(s.volume > 0.0 && s.start_s >= 0.0)
        }) {
            return invalid(format!(
                "scene {} sound does not fit a video of {} frames (frames {}+{}, start {} s, volume {})",
                scene.scene_index,
                self.frames,
                scene.start_frame,
                scene.frames,
                scene.start_s,
                scene.volume
            ));
        }
        match self.music_volume {
            None => Ok(1.0),
            Some(volume) if (0.0..=1.0).contains(&volume) => Ok(volume),
            Some(volume) => invalid(format!("music_volume {volume} must be within [0, 1]")),
        }
    }
}

/// The last filter of every mix: a lookahead limiter at just under full scale. Sounds are summed, not averaged (a
/// call's peers talking at once, music under a voice-over), so the sum can pass full scale, which the AAC encoder
/// would clip into distortion. Below the limit it changes no sample (measured: a tone at -18 dBFS comes out
/// bit-identical); `latency=true` compensates its 5 ms lookahead, so nothing moves in time, and `level=false`
/// keeps it from raising quiet mixes. Three peers at -2.5 dBFS each (a sum of 2.25) come out at 0.99.
const LIMITER: &str = "alimiter=limit=0.99:attack=5:release=50:level=false:latency=true";

/// The filter chain normalizing input `input` to 48 kHz stereo float samples.
fn normalize(input: usize) -> String {
    format!("[{input}:a:0]aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo")
}

/// What the mix graph takes, in input order: the voice-over, the music, the scenes' sound track.
#[derive(Debug, Clone, Copy, PartialEq)]
struct GraphInputs {
    voiceover: bool,
    music: bool,
    scenes: bool,
    music_volume: f64,
    ducking: Ducking,
    samples: u64,
}

/// The `-filter_complex` graph mixing the inputs into `[mix]`, `samples` long.
fn mix_graph(inputs: GraphInputs) -> String {
    let GraphInputs { samples, .. } = inputs;
    let duck = inputs.voiceover && inputs.music && inputs.ducking.is_on();
    let mut chains = Vec::new();
    let mut labels = String::new();
    let mut next_input = 0;
    if inputs.voiceover {
        let outputs = if duck {
            ",asplit=2[voiceover][voicekey]"
        } else {
            "[voiceover]"
        };
        chains.push(format!(
            "{},apad=whole_len={samples},atrim=end_sample={samples}{outputs}",
            normalize(next_input)
        ));
        labels.push_str("[voiceover]");
        next_input += 1;
    }
    if inputs.music {
        let fade = ((MUSIC_FADE_OUT_SECONDS * SAMPLE_RATE as f64) as u64).min(samples / 2);
        let label = if duck { "[bed]" } else { "[music]" };
        chains.push(format!(
            "{},volume={}:precision=float,atrim=end_sample={samples},\
             afade=t=out:start_sample={}:nb_samples={fade}{label}",
            normalize(next_input),
            inputs.music_volume,
            samples - fade
        ));
        if duck {
            let Ducking {
                threshold_db,
                ratio,
                attack_ms,
                release_ms,
            } = inputs.ducking;
            // The compressor's threshold is linear; its floor is 2^-10 (about -60 dBFS).
            let threshold = 10f64.powf(threshold_db / 20.0).max(1.0 / 1024.0);
            chains.push(format!(
                "[bed][voicekey]sidechaincompress=threshold={threshold}:ratio={ratio}:attack={attack_ms}:\
                 release={release_ms}[music]"
            ));
        }
        labels.push_str("[music]");
        next_input += 1;
    }
    if inputs.scenes {
        chains.push(format!(
            "[{next_input}:a:0]aformat=sample_fmts=fltp:channel_layouts=stereo[scenes]"
        ));
        labels.push_str("[scenes]");
    }
    let count = labels.matches('[').count();
    if count > 1 {
        chains.push(format!(
            "{labels}amix=inputs={count}:duration=longest:normalize=0[summed]"
        ));
    } else {
        chains.push(format!("{labels}anull[summed]"));
    }
    chains.push(format!("[summed]{LIMITER}[mix]"));
    chains.join(";")
}

impl Assembler {
    /// Mixes `spec`'s voice-over, music and scenes' sound to exactly the video's length and writes the AAC-LC
    /// 48 kHz stereo M4A to `spec.output_uri`; `None`, with nothing written, when there is no soundtrack and no
    /// scene's video has audio. A missing source is [`AssembleError::SourceMissing`]; nothing is written on
    /// failure.
    pub async fn mix(&self, spec: &MixSpec) -> Result<Option<Mixed>, AssembleError> {
        let music_volume = spec.check()?;
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
        let scenes = self.scene_track(spec, work.path()).await?;
        if let Some(track) = &scenes {
            args.extend(
                [
                    "-f",
                    "f32le",
                    "-ar",
                    &SAMPLE_RATE.to_string(),
                    "-ac",
                    "2",
                    "-i",
                ]
                .map(String::from),
            );
            args.push(track.path.display().to_string());
        }
        if spec.voiceover.is_none() && spec.music.is_none() && scenes.is_none() {
            tracing::info!(output = %spec.output_uri, "no soundtrack and no scene with audio: nothing mixed");
            return Ok(None);
        }
        let samples = spec.samples();
        args.extend([
            "-filter_complex".into(),
            mix_graph(GraphInputs {
                voiceover: spec.voiceover.is_some(),
                music: spec.music.is_some(),
                scenes: scenes.is_some(),
                music_volume,
                ducking: spec.ducking,
                samples,
            }),
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
        let scenes_heard = scenes.map_or(0, |track| track.heard);
        tracing::info!(output = %spec.output_uri, samples, duration_ms, scenes_heard, "mixed soundtrack");
        Ok(Some(Mixed {
            samples,
            duration_ms,
            scenes_heard,
        }))
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
            ducking: Ducking::default(),
            scenes: Vec::new(),
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
        let scene = SceneSound {
            scene_index: 0,
            video: "v.mp4".into(),
            start_s: 0.0,
            start_frame: 60,
            frames: 31,
            volume: 1.0,
        };
        for bad in [
            MixSpec {
                voiceover: None,
                ..spec()
            },
            MixSpec {
                scenes: vec![scene.clone()],
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

    fn inputs(voiceover: bool, music: bool, scenes: bool) -> GraphInputs {
        GraphInputs {
            voiceover,
            music,
            scenes,
            music_volume: 0.25,
            ducking: Ducking::default(),
            samples: 96_000,
        }
    }

    #[test]
    fn the_graph_mixes_only_what_is_there() {
        let both = mix_graph(inputs(true, true, false));
        assert!(both.contains("[1:a:0]") && both.contains("volume=0.25"));
        assert!(both.contains("afade=t=out:start_sample=48000:nb_samples=48000"));
        // The music is ducked under the voice-over: -30 dBFS is 0.0316 linear.
        assert!(both.contains("asplit=2[voiceover][voicekey]"));
        assert!(both.contains(
            "[bed][voicekey]sidechaincompress=threshold=0.03162277660168379:ratio=8:attack=20:release=400[music]"
        ));
        assert!(
            both.ends_with(&format!(
                "[voiceover][music]amix=inputs=2:duration=longest:normalize=0[summed];[summed]{LIMITER}[mix]"
            ))
        );
        let undocked = mix_graph(GraphInputs {
            ducking: Ducking {
                ratio: 1.0,
                ..Ducking::default()
            },
            ..inputs(true, true, false)
        });
        assert!(!undocked.contains("sidechaincompress") && !undocked.contains("asplit"));
        let music = mix_graph(GraphInputs {
            samples: 40_000,
            ..inputs(false, true, false)
        });
        assert!(music.starts_with("[0:a:0]"));
        assert!(music.contains("start_sample=20000:nb_samples=20000"));
        assert!(!music.contains("sidechaincompress"));
        assert!(!mix_graph(inputs(true, false, false)).contains("amix"));
        let all = mix_graph(inputs(true, true, true));
        assert!(all.contains("[2:a:0]aformat=sample_fmts=fltp:channel_layouts=stereo[scenes]"));
        assert!(all.ends_with(&format!(
            "[voiceover][music][scenes]amix=inputs=3:duration=longest:normalize=0[summed];[summed]{LIMITER}[mix]"
        )));
        let scenes_only = mix_graph(inputs(false, false, true));
        assert!(
            scenes_only.starts_with("[0:a:0]")
                && scenes_only.ends_with(&format!("[scenes]anull[summed];[summed]{LIMITER}[mix]"))
        );
    }
}
