//! vidpipe-lambda: what every function's entrypoint shares.
//!
//! A function fails an invocation with a [`Diagnostic`] whose `error_type` is a stable name: the `Error` that a Step
//! Functions `Retry` or `Catch` matches, and what Lambda's logs and metrics group by. A plain boxed error would
//! report its Rust type name instead. Each function's error enum says its names once, by implementing
//! [`ErrorType`], and [`diagnostic`] turns any such error into the Lambda answer.
//!
//! ```
//! use vidpipe_lambda::{ErrorType, diagnostic};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum TaskError {
//!     #[error("the request has no scenes")]
//!     Invalid,
//!     #[error("S3 is unavailable")]
//!     Unavailable,
//! }
//!
//! impl ErrorType for TaskError {
//!     fn error_type(&self) -> &'static str {
//!         match self {
//!             Self::Invalid => "InvalidRequest",
//!             Self::Unavailable => "RequestUnavailable",
//!         }
//!     }
//! }
//!
//! let answer = diagnostic(&TaskError::Invalid);
//! assert_eq!(answer.error_type, "InvalidRequest");
//! assert_eq!(answer.error_message, "the request has no scenes");
//! ```

use std::fmt::Display;

pub use lambda_runtime::Diagnostic;

/// An error that names itself for Lambda and Step Functions.
pub trait ErrorType {
    /// The stable name a state machine's `Retry` and `Catch` match (`InvalidRenderRequest`, `StorageFailed`, ...).
    fn error_type(&self) -> &'static str;
}

/// The Lambda answer for `error`: its [`ErrorType::error_type`] and its message.
pub fn diagnostic<E: ErrorType + Display + ?Sized>(error: &E) -> Diagnostic {
    Diagnostic {
        error_type: error.error_type().to_owned(),
        error_message: error.to_string(),
    }
}
