//! The fuzz targets' checks on stable Rust, without libFuzzer: the committed seed corpus (`fuzz/corpus/`), and
//! inputs mutated from it by proptest.

mod common;
mod corpus;
mod mutate;
mod mutations;
mod upstream;
