//! `vidpipe`: the command line for developers and ops.

fn main() {}
