//! The chunker's integration tests, in one binary so that the AWS SDK is linked once.

mod handler;

mod confine;
