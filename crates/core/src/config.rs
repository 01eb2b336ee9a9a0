//! The error of the functions' `Config::from_env`: which environment variable is wrong, and why.

/// A configuration variable with a bad value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}: {message}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// The variable `name` is wrong: `message`.
    pub fn new(name: &'static str, message: impl Into<String>) -> Self {
        Self {
            name,
            message: message.into(),
        }
    }
}
