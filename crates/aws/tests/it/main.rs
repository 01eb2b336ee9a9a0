//! vidpipe-aws's adapters against moto (and, for MediaConvert, a loopback listener): one test binary, one module per
//! adapter.

mod calls;
mod cloudfront;
mod eventbridge;
mod lambda;
mod mediaconvert;
mod playback;
mod provision;
mod publisher;
mod renders;
mod s3_reads;
mod sdk;
mod secrets;
mod stream_pairing;
mod stream_status;
