//! What every port's error shares: the adapter's cause, kept for its source chain, and a way to show that chain.

use std::error::Error;
use std::fmt;

/// A cause from an adapter (an SDK, HTTP or I/O error), kept for its message and source chain.
pub type Cause = Box<dyn Error + Send + Sync + 'static>;

/// An error and its sources, separated by `": "`. An SDK error's own message says only "service error"; its
/// sources say what failed. Errors that carry a [`Cause`] show it through this, so a log line or a Lambda
/// `errorMessage` that prints only `Display` still says what went wrong, while `source()` keeps the chain.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("service error")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_shows_every_cause() {
        let error = Outer(std::io::Error::other("connection reset"));
        assert_eq!(Chain(&error).to_string(), "service error: connection reset");
    }
}
