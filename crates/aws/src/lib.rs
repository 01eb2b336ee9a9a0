//! vidpipe's AWS adapters.
