//! Panics the fuzzers found in dependencies, before any vidpipe code runs: the presign function repairs such events
//! first (`vidpipe_presign::event_guard`, which the HTTP check applies as the function does). These tests fail once a
//! dependency stops panicking on its seed, which says the guard can go.

use std::panic::catch_unwind;

use crate::common::seeds;

fn seed(name: &str) -> String {
    let seed = seeds("presign_http")
        .into_iter()
        .find(|s| s.name == format!("presign_http/{name}"))
        .expect("the regression seed");
    String::from_utf8(seed.data).expect("a JSON seed")
}

#[test]
fn lambda_http_still_panics_on_an_event_whose_url_does_not_parse() {
    let event = seed("regression-empty-forwarded-proto.json");
    assert!(catch_unwind(|| lambda_http::request::from_str(&event)).is_err());
}

#[test]
fn aws_lambda_events_still_panics_on_a_base64_body_that_does_not_decode() {
    let event = seed("regression-body-not-base64.json");
    assert!(catch_unwind(|| lambda_http::request::from_str(&event)).is_err());
}
