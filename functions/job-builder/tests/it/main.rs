//! The job-builder's integration tests, in one binary so that the AWS SDK is linked once.

mod handler;
