//! MediaConvert jobs: the `CreateJob` model and the builders that produce vidpipe's jobs.

mod model;

pub use model::*;

#[cfg(test)]
mod tests;
