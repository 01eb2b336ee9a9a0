//! `vidpipe render`'s progress on stderr: a bar redrawn in place on a terminal (chunks done, the running chunks'
//! percent, overall percent), plain lines otherwise (a log, a pipe, CI).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};

use vidpipe_engine::{Job, JobObserver};

/// Characters of the bar itself.
const BAR_WIDTH: usize = 30;

/// The render's progress, shared by the tasks that report it.
pub struct Progress {
    tty: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    chunks: Option<usize>,
    done: usize,
    /// Percent complete of each running chunk job, by chunk label.
    running: BTreeMap<String, u32>,
    /// The highest overall percent drawn: the bar never goes back.
    shown: u32,
}

/// The bar's line: `[#####.....]  42%  2/5 chunks`.
pub fn bar_line(percent: u32, done: usize, chunks: usize) -> String {
    let filled = BAR_WIDTH * percent.min(100) as usize / 100;
    format!(
        "[{}{}] {percent:>3}%  {done}/{chunks} chunks",
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH - filled)
    )
}

/// The percent to draw: never below what was drawn before.
fn shown(state: &mut State) -> u32 {
    state.shown = overall(state).max(state.shown);
    state.shown
}

/// Overall percent: chunks done count whole, running ones by their job's percent.
fn overall(state: &State) -> u32 {
    let Some(chunks) = state.chunks.filter(|n| *n > 0) else {
        return 0;
    };
    let running: u32 = state.running.values().map(|p| (*p).min(100)).sum();
    let units = state.done as u64 * 100 + u64::from(running);
    u32::try_from(units / chunks as u64).unwrap_or(100).min(100)
}

impl Progress {
    /// Progress on stderr, as a bar when stderr is a terminal.
    pub fn on_stderr() -> Arc<Self> {
        Arc::new(Self {
            tty: std::io::stderr().is_terminal(),
            state: Mutex::default(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Prints a line of its own (above the bar on a terminal).
    pub fn line(&self, message: &str) {
        let mut state = self.state();
        let mut stderr = std::io::stderr().lock();
        if self.tty {
            let _ = write!(stderr, "\r\x1b[2K{message}\n");
            self.draw(&mut state, &mut stderr);
        } else {
            let _ = writeln!(stderr, "{message}");
        }
    }

    /// The plan is known: `chunks` chunks.
    pub fn planned(&self, chunks: usize) {
        self.state().chunks = Some(chunks);
    }

    /// A chunk job's percent complete changed.
    pub fn running(&self, label: &str, percent: u32) {
        let mut state = self.state();
        state.running.insert(label.to_owned(), percent);
        if self.tty {
            self.draw(&mut state, &mut std::io::stderr().lock());
        }
    }

    /// A chunk job ended (`ok`: it completed); `message` says how.
    pub fn finished(&self, label: &str, ok: bool, message: &str) {
        {
            let mut state = self.state();
            state.running.remove(label);
            if ok {
                state.done += 1;
            }
        }
        self.line(message);
        if !self.tty {
            let mut state = self.state();
            if let Some(chunks) = state.chunks {
                eprintln!("{}", bar_line(shown(&mut state), state.done, chunks));
            }
        }
    }

    /// Ends the bar's line, so what follows starts on a line of its own.
    pub fn close(&self) {
        if self.tty {
            eprintln!();
        }
    }

    fn draw(&self, state: &mut State, out: &mut impl Write) {
        let Some(chunks) = state.chunks else {
            return;
        };
        let percent = shown(state);
        let _ = write!(out, "\r\x1b[2K{}", bar_line(percent, state.done, chunks));
        let _ = out.flush();
    }
}

/// Reports one chunk job's percent to the progress.
pub struct ChunkObserver {
    /// The progress reported to.
    pub progress: Arc<Progress>,
    /// The chunk's label.
    pub label: String,
}

impl JobObserver for ChunkObserver {
    fn job_changed(&mut self, job: &Job) {
        if let Some(percent) = job.job_percent_complete {
            self.progress.running(&self.label, percent);
        }
    }

    fn event(&mut self, _event: &serde_json::Value) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_done_chunks_whole_and_running_ones_by_percent() {
        let mut state = State {
            chunks: Some(4),
            done: 1,
            ..State::default()
        };
        state.running.insert("chunk 1".into(), 50);
        state.running.insert("chunk 2".into(), 50);
        assert_eq!(overall(&state), 50);
        assert_eq!(
            bar_line(50, 1, 4),
            format!("[{}{}]  50%  1/4 chunks", "#".repeat(15), ".".repeat(15))
        );
        assert_eq!(
            bar_line(100, 4, 4),
            format!("[{}] 100%  4/4 chunks", "#".repeat(30))
        );
        assert_eq!(overall(&State::default()), 0);
    }
}
