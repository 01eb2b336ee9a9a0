//! What a job costs: the one rule for the estimates vidpipe stores and announces.
//!
//! - MediaConvert (on-demand): every output is billed per minute of output, in 1-second increments with a
//!   10-second minimum, at the rate of its tier (Basic, or Professional when the job uses a Professional feature),
//!   its resolution class (SD below 720 lines, HD 720 to 1080, UHD above) and frame rate (up to 30 fps, or above);
//!   an audio-only output has its own rate. A job's rate per output minute is computed from its `CreateJob`
//!   document when the job is built ([`job_rate`]) and travels in its `UserMetadata`; the notifier multiplies it
//!   by the billed length of the outputs the COMPLETE event reports ([`JobRate::cost`]), so the estimate is
//!   deterministic (the document) and exact in length (the event).
//! - The ffmpeg backend on Lambda (arm64): billed GB-seconds (memory x duration, 1 ms increments) at Lambda's
//!   price, plus the per-request price ([`lambda_cost_micro_usd`]). The transcoder function prices the invocation
//!   that ran a job and puts the figure in its COMPLETE event's `userMetadata` ([`METADATA_LAMBDA_COST`]), which
//!   then prices the event instead of the MediaConvert rate.
//!
//! Amounts are integer micro-dollars (millionths of a US dollar), so sums never drift. The rates are US East
//! (N. Virginia) list prices for the first monthly volume band; `docs/cost.md` says where each comes from and
//! which could not be verified.

use serde::{Deserialize, Serialize};

use crate::job::{
    AccelerationMode, CreateJobRequest, FrameRate, H264FramerateControl, H264QualityTuningLevel,
    Output,
};

/// `UserMetadata` key: the job's MediaConvert rate, micro-dollars per minute of the job's output timeline (the
/// sum of its outputs' rates).
pub const METADATA_RATE: &str = "cost_rate_micro_usd";
/// `UserMetadata` key: how many outputs the job writes (each is billed for the timeline's length).
pub const METADATA_OUTPUTS: &str = "cost_outputs";
/// `userMetadata` key of a COMPLETE event of the ffmpeg backend on Lambda: what the invocation that ran the job
/// cost, in micro-dollars ([`lambda_cost_micro_usd`] of its duration and memory).
pub const METADATA_LAMBDA_COST: &str = "cost_lambda_micro_usd";

/// What an estimate is based on (its `basis` in items, events and the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CostBasis {
    /// MediaConvert's on-demand per-minute rates for the job's outputs ([`RATES`]).
    #[serde(rename = "mediaconvert-on-demand")]
    MediaConvertOnDemand,
    /// What a custom renderer reported for its chunks (`cost_usd`).
    #[serde(rename = "renderer-reported")]
    RendererReported,
    /// Some chunks by each of the above.
    #[serde(rename = "mixed")]
    Mixed,
    /// The ffmpeg backend on Lambda: the invocation's billed GB-seconds and request on arm64
    /// ([`lambda_cost_micro_usd`]).
    #[serde(rename = "lambda-arm64")]
    LambdaArm64,
}

impl CostBasis {
    /// The stored and announced name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MediaConvertOnDemand => "mediaconvert-on-demand",
            Self::RendererReported => "renderer-reported",
            Self::Mixed => "mixed",
            Self::LambdaArm64 => "lambda-arm64",
        }
    }

    /// The basis named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::MediaConvertOnDemand,
            Self::RendererReported,
            Self::Mixed,
            Self::LambdaArm64,
        ]
        .into_iter()
        .find(|b| b.as_str() == name)
    }
}

/// A job's (or a render's) estimated cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCost {
    /// The estimate, in micro-dollars.
    pub micro_usd: u64,
    /// Billed output seconds, summed over the outputs (0 when the basis does not count minutes).
    pub output_seconds: u64,
    /// Where the figure comes from.
    pub basis: CostBasis,
}

impl JobCost {
    /// The estimate in dollars (for display only: sums are made in micro-dollars).
    pub fn usd(&self) -> f64 {
        self.micro_usd as f64 / 1e6
    }

    /// `{estimated_usd, output_minutes, basis}`: how items' costs are shown in events and the API.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "estimated_usd": self.usd(),
            "output_minutes": self.output_seconds as f64 / 60.0,
            "basis": self.basis.as_str(),
        })
    }

    /// The sum of two estimates; the basis is `mixed` when theirs differ.
    pub fn plus(self, other: Self) -> Self {
        Self {
            micro_usd: self.micro_usd + other.micro_usd,
            output_seconds: self.output_seconds + other.output_seconds,
            basis: if self.basis == other.basis {
                self.basis
            } else {
                CostBasis::Mixed
            },
        }
    }
}

/// MediaConvert's on-demand pricing tier: a job is Professional when it uses any Professional feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// AVC single pass (speed-optimized or balanced), clipping, stitching, static overlays.
    Basic,
    /// Everything else (for vidpipe's model: accelerated transcoding, `MULTI_PASS_HQ`).
    Professional,
}

/// The resolution class of a video output, by its picture's smaller side (a portrait 1080x1920 phone video is
/// an HD picture turned on its side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Fewer than 720 lines.
    Sd,
    /// 720 to 1080 lines.
    Hd,
    /// More than 1080 lines.
    Uhd,
}

impl Resolution {
    /// The class of a `width` x `height` picture.
    pub fn of(width: u32, height: u32) -> Self {
        match width.min(height) {
            0..720 => Self::Sd,
            720..=1080 => Self::Hd,
            _ => Self::Uhd,
        }
    }
}

/// One tier's rates, micro-dollars per output minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierRates {
    /// SD, HD, UHD video at up to 30 fps.
    pub video_30: [u64; 3],
    /// SD, HD, UHD video above 30 fps (to 60).
    pub video_60: [u64; 3],
    /// An output with audio and no video.
    pub audio_only: u64,
}

/// The on-demand rates (US East, first volume band), micro-dollars per output minute: Basic, then Professional.
/// Sources and what is unverified: `docs/cost.md` (figures as of 2026-12).
pub const RATES: [TierRates; 2] = [
    // Basic: $0.0075 per normalized minute; HD counts 2 minutes, UHD 4, above 30 fps twice as many.
    TierRates {
        video_30: [7_500, 15_000, 30_000],
        video_60: [15_000, 30_000, 60_000],
        audio_only: 3_600,
    },
    // Professional, AVC: $0.012 per normalized minute, same multipliers (unverified, see docs/cost.md).
    TierRates {
        video_30: [12_000, 24_000, 48_000],
        video_60: [24_000, 48_000, 96_000],
        audio_only: 3_600,
    },
];

/// The tier a job is billed at.
pub fn tier(job: &CreateJobRequest) -> Tier {
    let accelerated = job.acceleration_settings.as_ref().is_some_and(|a| {
        matches!(
            a.mode,
            AccelerationMode::Enabled | AccelerationMode::Preferred
        )
    });
    let multi_pass = outputs(job).any(|o| {
        video_h264(o)
            .is_some_and(|h| h.quality_tuning_level == Some(H264QualityTuningLevel::MultiPassHq))
    });
    if accelerated || multi_pass {
        Tier::Professional
    } else {
        Tier::Basic
    }
}

fn outputs(job: &CreateJobRequest) -> impl Iterator<Item = &Output> {
    job.settings
        .output_groups
        .iter()
        .flatten()
        .flat_map(|g| g.outputs.iter().flatten())
}

fn video_h264(output: &Output) -> Option<&crate::job::H264Settings> {
    output
        .video_description
        .as_ref()?
        .codec_settings
        .as_ref()?
        .h264_settings
        .as_ref()
}

/// One output's rate, micro-dollars per minute, at `tier`; `source_rate` is the frame rate of an output that
/// follows its source (the probed rate; 30 fps when unknown). An output with neither video nor audio costs nothing.
pub fn output_rate(output: &Output, tier: Tier, source_rate: Option<FrameRate>) -> u64 {
    let rates = &RATES[tier as usize];
    let Some(video) = &output.video_description else {
        return if output
            .audio_descriptions
            .as_ref()
            .is_some_and(|a| !a.is_empty())
        {
            rates.audio_only
        } else {
            0
        };
    };
    let (width, height) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
    let class = Resolution::of(width.max(0) as u32, height.max(0) as u32) as usize;
    let specified = video_h264(output).and_then(|h| {
        (h.framerate_control == Some(H264FramerateControl::Specified))
            .then(|| {
                Some(FrameRate {
                    numerator: u32::try_from(h.framerate_numerator?).ok()?,
                    denominator: u32::try_from(h.framerate_denominator?).ok()?,
                })
            })
            .flatten()
    });
    let rate = specified
        .or(source_rate)
        .filter(|r| r.is_recording_rate())
        .unwrap_or(FrameRate::FALLBACK);
    if rate.fps() > 30.0 {
        rates.video_60[class]
    } else {
        rates.video_30[class]
    }
}

/// A job's MediaConvert rate: what a minute of its output timeline costs, and over how many outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobRate {
    /// Micro-dollars per minute of the timeline (the outputs' rates summed).
    pub micro_usd_per_minute: u64,
    /// The job's outputs.
    pub outputs: u32,
}

/// The rate of `job` from its document (`source_rate` as for [`output_rate`]).
pub fn job_rate(job: &CreateJobRequest, source_rate: Option<FrameRate>) -> JobRate {
    let tier = tier(job);
    JobRate {
        micro_usd_per_minute: outputs(job)
            .map(|o| output_rate(o, tier, source_rate))
            .sum(),
        outputs: outputs(job).count() as u32,
    }
}

/// Seconds MediaConvert bills for an output of `duration_ms`: whole seconds rounded up, at least 10.
pub fn billed_seconds(duration_ms: u64) -> u64 {
    duration_ms.div_ceil(1000).max(10)
}

impl JobRate {
    /// The rate as `UserMetadata` entries ([`METADATA_RATE`], [`METADATA_OUTPUTS`]).
    pub fn metadata(&self) -> [(&'static str, String); 2] {
        [
            (METADATA_RATE, self.micro_usd_per_minute.to_string()),
            (METADATA_OUTPUTS, self.outputs.to_string()),
        ]
    }

    /// The rate a job's `UserMetadata` carries, if it carries one.
    pub fn from_metadata(metadata: &std::collections::BTreeMap<String, String>) -> Option<Self> {
        Some(Self {
            micro_usd_per_minute: metadata.get(METADATA_RATE)?.parse().ok()?,
            outputs: metadata.get(METADATA_OUTPUTS)?.parse().ok()?,
        })
    }

    /// What the job cost when its outputs ran `duration_ms` (every output of a job lasts its timeline).
    pub fn cost(&self, duration_ms: u64) -> JobCost {
        let seconds = billed_seconds(duration_ms);
        JobCost {
            // Every rate in RATES is a whole number of micro-dollars per second; the rounding is for others.
            micro_usd: (seconds * self.micro_usd_per_minute + 30) / 60,
            output_seconds: seconds * u64::from(self.outputs),
            basis: CostBasis::MediaConvertOnDemand,
        }
    }
}

impl crate::jobevent::JobStateDetail {
    /// The cost of a COMPLETE job: what the ffmpeg backend on Lambda says its invocation cost
    /// ([`METADATA_LAMBDA_COST`]), or else the job's rate times the billed length of its longest output (the event's
    /// `durationInMs`). `None` for other states, jobs without either, and rated events without durations.
    pub fn cost(&self) -> Option<JobCost> {
        let crate::jobevent::JobState::Complete {
            output_group_details,
        } = &self.state
        else {
            return None;
        };
        if let Some(micro_usd) = self
            .user_metadata
            .get(METADATA_LAMBDA_COST)
            .and_then(|v| v.parse().ok())
        {
            return Some(JobCost {
                micro_usd,
                output_seconds: 0,
                basis: CostBasis::LambdaArm64,
            });
        }
        let duration_ms = output_group_details
            .iter()
            .flat_map(|g| &g.output_details)
            .filter_map(|o| o.duration_in_ms)
            .max()?;
        Some(JobRate::from_metadata(&self.user_metadata)?.cost(duration_ms))
    }

    /// The stream update this event asks for (`JobState::stream_update`), a `Ready` one with the job's cost.
    pub fn priced_stream_update(&self) -> Option<crate::jobevent::StreamUpdate> {
        let mut update = self.state.stream_update()?;
        if let crate::jobevent::StreamUpdate::Ready { cost, .. } = &mut update {
            *cost = self.cost();
        }
        Some(update)
    }
}

/// Lambda's arm64 duration price, in units of 1e-10 dollars per GB-second ($0.0000133334).
pub const LAMBDA_ARM64_PER_GB_SECOND_E10: u64 = 133_334;
/// Lambda's request price, in units of 1e-10 dollars per request ($0.20 per million).
pub const LAMBDA_PER_REQUEST_E10: u64 = 2_000;
/// The memory size at which a function has the equivalent of one vCPU (CPU is allocated in proportion).
pub const LAMBDA_MB_PER_VCPU: u64 = 1_769;

/// What one Lambda invocation of `duration_ms` (billed in 1 ms increments) at `memory_mb` costs on arm64,
/// in micro-dollars: GB-seconds (memory in MB / 1024) at the duration price, plus one request, rounded to the
/// nearest micro-dollar.
pub fn lambda_cost_micro_usd(duration_ms: u64, memory_mb: u64) -> u64 {
    let duration_e10 = u128::from(duration_ms)
        * u128::from(memory_mb)
        * u128::from(LAMBDA_ARM64_PER_GB_SECOND_E10)
        / (1024 * 1000);
    let total_e10 = duration_e10 + u128::from(LAMBDA_PER_REQUEST_E10);
    ((total_e10 + 5_000) / 10_000) as u64
}

/// How long a CPU-bound run that took `cpu_ms` of CPU time (user + system) lasts on a function of `memory_mb`:
/// the function gets `memory_mb / 1769` vCPU-seconds per second, so the run lasts `cpu_ms * 1769 / memory_mb`
/// when its work spreads over the vCPUs it is given (ffmpeg's encoder threads do).
pub fn lambda_duration_ms(cpu_ms: u64, memory_mb: u64) -> u64 {
    (cpu_ms * LAMBDA_MB_PER_VCPU).div_ceil(memory_mb.max(1))
}

#[cfg(test)]
mod tests;
