//! vidpipe's AWS adapters.

pub mod mediaconvert;
pub mod objects;
