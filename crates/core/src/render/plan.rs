//! Chunk planning: a render request's frames cut into chunks that are rendered in parallel and joined.
//!
//! Rules, all in integer frames of the output:
//! - the chunks cover `[0, total)` exactly, in order, with no gap or overlap;
//! - a chunk lasts at most `max_chunk_s` (`floor(max_chunk_s * fps)` frames, at least one);
//! - the plan uses the fewest chunks those limits allow, and sizes are balanced: every chunk holds at least half
//!   the mean chunk length, so there is never a one-frame tail;
//! - no chunk is shorter than `min_chunk_s` (`ceil(min_chunk_s * fps)` frames) unless the whole video is one chunk;
//! - cuts fall on scene boundaries wherever a boundary keeps every other rule; a scene is split only when none does;
//! - a chunk spans at most [`MAX_INPUTS_PER_JOB`] scenes, because each scene segment is one input of the chunk's
//!   MediaConvert job and a job takes at most 150 inputs;
//! - a plan has at most [`MAX_CHUNKS`] chunks, because of the Map's execution history (see there).

use super::{Chunk, Problem, RenderError, RenderRequest};

/// Most inputs of one MediaConvert job (MediaConvert User Guide, assembly workflows): a chunk spans at most this
/// many scenes.
pub const MAX_INPUTS_PER_JOB: usize = 150;

/// Most chunks in one plan. A Step Functions execution keeps at most 25,000 history events, and each chunk's Map
/// iteration writes about 15 (iteration start and end, the renderer Choice, the job-builder Task and the
/// `createJob.sync` Task with their scheduled, started, submitted, succeeded and exit events): 1,000 chunks leave
/// room for retries and the other states.
pub const MAX_CHUNKS: u64 = 1_000;

/// Most chunks rendered at once: an inline Map runs at most 40 iterations concurrently.
pub const MAX_MAP_CONCURRENCY: u32 = 40;

/// The chunk limits of a request, in frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Longest chunk: `floor(max_chunk_s * fps)`, at least 1.
    pub max_frames: u64,
    /// Shortest chunk unless the whole video is one chunk: `ceil(min_chunk_s * fps)`.
    pub min_frames: u64,
}

impl ChunkLimits {
    /// The limits of a valid request's `chunking` at its frame rate.
    ///
    /// `min_chunk_s` may be at most half of `max_chunk_s` (in frames, rounded up): with a larger minimum, some
    /// lengths could not be cut into chunks that respect both limits.
    pub fn of(request: &RenderRequest) -> Result<Self, RenderError> {
        let fps = f64::from(request.output.fps);
        let max_frames = ((request.chunking.max_chunk_s * fps).floor() as u64).max(1);
        let min_frames = (request.chunking.min_chunk_s * fps).ceil() as u64;
        if min_frames > max_frames.div_ceil(2) {
            return Err(invalid(
                "chunking.min_chunk_s",
                format!(
                    "{} s ({min_frames} frames) is more than half of max_chunk_s ({max_frames} frames): some \
                     lengths could not be cut into chunks within both limits",
                    request.chunking.min_chunk_s
                ),
            ));
        }
        Ok(Self {
            max_frames,
            min_frames,
        })
    }

    /// The shortest chunk allowed in a plan of `chunks` chunks over `total` frames: `min_frames`, and at least
    /// half the mean chunk length (the balance rule).
    pub fn floor_frames(&self, total: u64, chunks: u64) -> u64 {
        self.min_frames.max(total.div_ceil(2 * chunks))
    }
}

fn invalid(path: &str, message: String) -> RenderError {
    RenderError::Invalid(vec![Problem {
        path: path.to_owned(),
        message,
    }])
}

impl RenderRequest {
    /// Plans the chunks of a valid request (see the module documentation for the rules).
    pub fn plan(&self) -> Result<Vec<Chunk>, RenderError> {
        plan_chunks(&self.scene_frames(), ChunkLimits::of(self)?)
    }

    /// Chunks rendered at once: the request's `max_concurrency`, capped at [`MAX_MAP_CONCURRENCY`].
    pub fn map_concurrency(&self) -> u32 {
        self.chunking.max_concurrency.min(MAX_MAP_CONCURRENCY)
    }
}

/// Plans chunks over scenes of `scene_frames` frames each (every scene at least one frame).
pub fn plan_chunks(scene_frames: &[u64], limits: ChunkLimits) -> Result<Vec<Chunk>, RenderError> {
    let boundaries: Vec<u64> = std::iter::once(0)
        .chain(scene_frames.iter().scan(0u64, |end, &frames| {
            *end += frames;
            Some(*end)
        }))
        .collect();
    let total = *boundaries.last().unwrap_or(&0);
    if total == 0 || scene_frames.contains(&0) {
        return Err(invalid(
            "scenes",
            "every scene needs at least one frame".to_owned(),
        ));
    }
    let fewest = total.div_ceil(limits.max_frames);
    if fewest > MAX_CHUNKS {
        return Err(invalid(
            "chunking.max_chunk_s",
            format!(
                "{total} frames in chunks of at most {} frames make {fewest} chunks, more than {MAX_CHUNKS}",
                limits.max_frames
            ),
        ));
    }
    for chunks in fewest..=MAX_CHUNKS {
        if chunks > 1 && chunks * limits.floor_frames(total, chunks) > total {
            break;
        }
        if let Some(plan) = plan_with(&boundaries, limits, chunks) {
            return Ok(plan);
        }
    }
    Err(invalid(
        "scenes",
        format!(
            "the scenes are too short for chunks of at least {} frames that span at most {MAX_INPUTS_PER_JOB} \
             scenes (one MediaConvert input each)",
            limits.min_frames
        ),
    ))
}

/// A plan of exactly `chunks` chunks, or `None` when the scene-count limit leaves no room for one.
fn plan_with(boundaries: &[u64], limits: ChunkLimits, chunks: u64) -> Option<Vec<Chunk>> {
    let total = *boundaries.last()?;
    let floor = if chunks == 1 {
        0
    } else {
        limits.floor_frames(total, chunks)
    };
    let mut plan = Vec::with_capacity(chunks as usize);
    let mut start = 0;
    for index in 1..chunks {
        let left = chunks - index;
        let ideal =
            (u128::from(index) * u128::from(total) + u128::from(chunks) / 2) / u128::from(chunks);
        let ideal = ideal as u64;
        let low = (start + floor).max(total.saturating_sub(left * limits.max_frames));
        let high = (start + limits.max_frames)
            .min(total - left * floor)
            .min(scene_limit_end(boundaries, start));
        if low > high {
            return None;
        }
        let target = ideal.clamp(low, high);
        let end = nearest_boundary(boundaries, low, high, target).unwrap_or(target);
        plan.push(Chunk {
            index: (index - 1) as u32,
            start_frame: start,
            end_frame: end,
        });
        start = end;
    }
    if total > scene_limit_end(boundaries, start) {
        return None;
    }
    plan.push(Chunk {
        index: (chunks - 1) as u32,
        start_frame: start,
        end_frame: total,
    });
    Some(plan)
}

/// The furthest end of a chunk starting at `start` that spans at most [`MAX_INPUTS_PER_JOB`] scenes.
fn scene_limit_end(boundaries: &[u64], start: u64) -> u64 {
    let scene = boundaries.partition_point(|&b| b <= start) - 1;
    boundaries[(scene + MAX_INPUTS_PER_JOB).min(boundaries.len() - 1)]
}

/// The scene boundary in `[low, high]` nearest to `target` (itself in that range), if there is one.
fn nearest_boundary(boundaries: &[u64], low: u64, high: u64, target: u64) -> Option<u64> {
    let at = boundaries.partition_point(|&b| b < target);
    let within = |b: &u64| (low..=high).contains(b);
    let after = boundaries.get(at).copied().filter(within);
    let before = at.checked_sub(1).map(|i| boundaries[i]).filter(within);
    match (before, after) {
        (Some(b), Some(a)) => Some(if target - b <= a - target { b } else { a }),
        (b, a) => b.or(a),
    }
}

#[cfg(test)]
mod tests;
