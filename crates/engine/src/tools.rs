//! Running ffmpeg and ffprobe: binary paths from the environment, progress from `-progress`, errors with the tool's
//! own message.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

/// An ffmpeg or ffprobe run that failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The binary could not be started (missing, not executable).
    #[error("cannot start {binary}: {source} (install ffmpeg, or set FFMPEG_PATH/FFPROBE_PATH)")]
    Missing {
        /// The binary that was tried.
        binary: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The tool ran and exited with an error.
    #[error("{binary} failed: {message}")]
    Failed {
        /// The binary that failed.
        binary: String,
        /// The last lines of its error output.
        message: String,
    },
}

/// The ffmpeg and ffprobe binaries the engine runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// The ffmpeg binary.
    pub ffmpeg: PathBuf,
    /// The ffprobe binary.
    pub ffprobe: PathBuf,
}

impl Default for Tools {
    /// `ffmpeg` and `ffprobe` on `PATH`.
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
        }
    }
}

impl Tools {
    /// The binaries named by `FFMPEG_PATH` and `FFPROBE_PATH` in `var` (a variable lookup such as
    /// `|name| std::env::var(name).ok()`), each defaulting to the one on `PATH`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let default = Self::default();
        Self {
            ffmpeg: var("FFMPEG_PATH").map_or(default.ffmpeg, PathBuf::from),
            ffprobe: var("FFPROBE_PATH").map_or(default.ffprobe, PathBuf::from),
        }
    }

    /// Runs ffprobe with `args` and returns its standard output.
    pub async fn ffprobe(&self, args: &[String]) -> Result<String, ToolError> {
        let binary = self.ffprobe.display().to_string();
        let output = Command::new(&self.ffprobe)
            .args(["-v", "error"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| ToolError::Missing {
                binary: binary.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(ToolError::Failed {
                binary,
                message: last_lines(&output.stderr),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs ffmpeg with `args`, reporting progress as the media time written so far through `on_progress`.
    pub async fn ffmpeg(
        &self,
        args: &[String],
        on_progress: &mut (dyn FnMut(Duration) + Send),
    ) -> Result<(), ToolError> {
        let binary = self.ffmpeg.display().to_string();
        tracing::debug!(command = %format!("{binary} {}", args.join(" ")), "running ffmpeg");
        let mut child = Command::new(&self.ffmpeg)
            .args([
                "-y",
                "-hide_banner",
                "-nostdin",
                "-nostats",
                "-loglevel",
                "error",
                "-progress",
                "pipe:1",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ToolError::Missing {
                binary: binary.clone(),
                source,
            })?;
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr_task = tokio::spawn(async move {
            let mut buf = Vec::new();
            stderr.read_to_end(&mut buf).await.ok();
            buf
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(micros) = line
                .strip_prefix("out_time_us=")
                .and_then(|v| v.trim().parse::<u64>().ok())
            {
                on_progress(Duration::from_micros(micros));
            }
        }
        let status = child.wait().await.map_err(|source| ToolError::Missing {
            binary: binary.clone(),
            source,
        })?;
        let stderr = stderr_task.await.unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(ToolError::Failed {
                binary,
                message: last_lines(&stderr),
            })
        }
    }
}

fn last_lines(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join("; ")
}
