//! Makes an API Gateway event safe for `lambda_http`'s conversion before it runs.
//!
//! `lambda_http` (1.3) turns the event into an `http::Request` with `expect` and `unwrap`: a raw query string with a
//! space, a `"` or a control character (curl sends `?a="b"` as typed, and API Gateway passes `rawQueryString` as
//! received), a `host` or `x-forwarded-proto` that do not make a URL, a path that does not start with `/`, or a body
//! marked base64 that does not decode, each panic. Release builds abort on panic, so one such request killed the
//! function: a 502 for the caller and a cold start for the next. Found by fuzzing (`docs/fuzzing.md`). The event is
//! repaired instead, as a lenient server would read it: the query's offending bytes are percent-encoded, a bad `host`
//! or `x-forwarded-proto` is dropped (the request context's domain name stands in), a bad base64 body is passed on as
//! text (the routes then refuse it as any malformed body). The handler answers it like any other request.

use lambda_http::LambdaEvent;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::http::{HeaderName, Uri, header};
use lambda_http::request::LambdaRequest;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// The bytes of a query that `http::Uri` refuses, beside non-ASCII (always encoded) and controls.
const QUERY_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\');

/// Repairs the event of one invocation (see the module documentation), logging what it changed.
pub fn guard(mut event: LambdaEvent<LambdaRequest>) -> LambdaEvent<LambdaRequest> {
    if let LambdaRequest::ApiGatewayV2(request) = &mut event.payload {
        let repaired = repair(request);
        if !repaired.is_empty() {
            tracing::warn!(
                ?repaired,
                "repaired an API Gateway event lambda_http could not read"
            );
        }
    }
    event
}

/// Repairs `request` in place so `lambda_http` converts it without panicking; returns what it changed.
pub fn repair(request: &mut ApiGatewayV2httpRequest) -> Vec<&'static str> {
    let mut repaired = Vec::new();
    let raw_path = request.raw_path.get_or_insert_with(String::new);
    if !raw_path.starts_with('/') {
        raw_path.insert(0, '/');
        repaired.push("rawPath");
    }
    let path = stage_path(request);
    let forwarded_proto = HeaderName::from_static("x-forwarded-proto");
    let scheme = header_text(request, &forwarded_proto);
    if let Some(scheme) = scheme
        && !makes_url(&scheme, "localhost", &path)
    {
        request.headers.remove(&forwarded_proto);
        repaired.push("x-forwarded-proto");
    }
    let scheme = header_text(request, &forwarded_proto).unwrap_or_else(|| "https".into());
    if let Some(host) = header_text(request, &header::HOST)
        && !makes_url(&scheme, &host, &path)
    {
        request.headers.remove(header::HOST);
        repaired.push("host");
    }
    if request.headers.get(header::HOST).is_none()
        && let Some(domain) = &request.request_context.domain_name
        && !makes_url(&scheme, domain, &path)
    {
        request.request_context.domain_name = None;
        repaired.push("requestContext.domainName");
    }
    if let Some(query) = &request.raw_query_string
        && format!("/?{query}").parse::<Uri>().is_err()
    {
        request.raw_query_string = Some(utf8_percent_encode(query, QUERY_ESCAPES).to_string());
        repaired.push("rawQueryString");
    }
    if request.is_base64_encoded
        && let Some(body) = &request.body
        && base64_decodes(body).is_err()
    {
        request.is_base64_encoded = false;
        repaired.push("body");
    }
    repaired
}

/// The path `lambda_http` puts in the URL: the raw path, under the stage unless it is `$default` or already there.
fn stage_path(request: &ApiGatewayV2httpRequest) -> String {
    let raw_path = request.raw_path.as_deref().unwrap_or_default();
    match request.request_context.stage.as_deref() {
        None | Some("$default") => raw_path.to_owned(),
        Some(stage) if raw_path.starts_with(&format!("/{stage}/")) => raw_path.to_owned(),
        Some(stage) => format!("/{stage}{raw_path}"),
    }
}

/// A header's value as text, if it has one.
fn header_text(request: &ApiGatewayV2httpRequest, name: &HeaderName) -> Option<String> {
    request
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Whether `scheme://host{path}` parses as the URL `lambda_http` builds (and unwraps), and that URL as the
/// `http::Uri` it then expects (`url` accepts a host `http` refuses, such as one in quotes).
fn makes_url(scheme: &str, host: &str, path: &str) -> bool {
    url::Url::parse(&format!("{scheme}://{host}{path}"))
        .is_ok_and(|url| url.as_str().parse::<Uri>().is_ok())
}

fn base64_decodes(body: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(body)
}
