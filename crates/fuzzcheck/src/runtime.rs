//! Running the async handlers from a synchronous check.

use std::future::Future;

thread_local! {
    /// One runtime per thread, built once: libFuzzer calls a check millions of times, and the in-memory ports never
    /// wait on I/O or timers, so a current-thread runtime with no drivers is all a handler needs.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds");
}

/// Runs `future` to completion.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}
