//! HTTP plumbing: JSON responses, the error body every route uses, and CORS.

use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use vidpipe_core::error::Chain;
use vidpipe_core::ports::{ObjectStoreError, StoreError};
use vidpipe_core::validate::FieldError;

/// An error answered as `{"error":{"code","message"[,"field"]}}` with its status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// The request field at fault, for validation errors.
    pub field: Option<String>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 404 for anything the caller may not see, so existence is never leaked.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500: the cause is logged with its whole chain, the client hears only that it may retry.
    pub(crate) fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %Chain(cause), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error, retry later",
        )
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        let code = if e.field == "body" {
            "invalid_json"
        } else {
            "invalid_field"
        };
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: e.to_string(),
            field: Some(e.field),
        }
    }
}

impl From<ObjectStoreError> for ApiError {
    fn from(e: ObjectStoreError) -> Self {
        match e {
            ObjectStoreError::AlreadyExists => {
                Self::conflict("already_exists", "an object with this key already exists")
            }
            ObjectStoreError::NoSuchUpload => {
                Self::conflict("no_such_upload", "the multipart upload is no longer open")
            }
            ObjectStoreError::InvalidParts(m) => Self {
                field: Some("parts".into()),
                ..Self::new(StatusCode::BAD_REQUEST, "invalid_parts", m)
            },
            ObjectStoreError::Unavailable(_) => Self::internal(&e),
        }
    }
}

impl From<getrandom::Error> for ApiError {
    fn from(e: getrandom::Error) -> Self {
        Self::internal(&e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::conflict("conflict", m),
            StoreError::InvalidCursor => Self {
                field: Some("cursor".into()),
                ..Self::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_field",
                    "cursor: is not a cursor this API issued to you",
                )
            },
            StoreError::Corrupt(_) | StoreError::Unavailable(_) => Self::internal(&e),
        }
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The JSON error response for `e`.
pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut error = json!({"code": e.code, "message": e.message});
    if let Some(field) = &e.field {
        error["field"] = json!(field);
    }
    json_response(e.status, &json!({ "error": error }))
}

/// CORS policy: only configured origins; `*` only when configured.
#[derive(Debug, Clone)]
pub struct Cors<'a> {
    /// Allowed origins.
    pub allowed_origins: &'a [String],
}

impl Cors<'_> {
    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    pub fn allow(&self, origin: Option<&str>) -> Option<String> {
        let origin = origin?;
        if self.allowed_origins.iter().any(|o| o == "*") {
            return Some("*".to_owned());
        }
        self.allowed_origins
            .iter()
            .find(|o| o.as_str() == origin)
            .cloned()
    }

    /// Answers a preflight: 204 with the CORS headers for an allowed origin, 403 otherwise.
    pub fn preflight(&self, origin: Option<&str>) -> Response<Body> {
        let Some(allowed) = self.allow(origin) else {
            return error_response(&ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "origin not allowed",
            ));
        };
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        let h = response.headers_mut();
        insert(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allowed);
        insert(
            h,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "GET, POST, PUT, DELETE, OPTIONS",
        );
        insert(
            h,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "authorization, content-type, if-match, if-none-match, x-stream-capability, x-composition-token",
        );
        insert(h, header::ACCESS_CONTROL_MAX_AGE, "600");
        insert(h, header::VARY, "Origin");
        response
    }

    /// Adds the CORS headers to a normal response.
    pub fn decorate(&self, origin: Option<&str>, response: &mut Response<Body>) {
        let h = response.headers_mut();
        insert(h, header::VARY, "Origin");
        if let Some(allowed) = self.allow(origin) {
            insert(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allowed);
            // A saved composition's version, for the page's next If-Match.
            insert(h, header::ACCESS_CONTROL_EXPOSE_HEADERS, "etag");
        }
    }
}

fn insert(h: &mut lambda_http::http::HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// True for a CORS preflight request.
pub fn is_preflight(method: &Method) -> bool {
    method == Method::OPTIONS
}

/// The `cursor` query parameter of a list route: absent or empty is the first page; longer than any cursor the API
/// issues is refused by name, before the store sees it.
pub(crate) fn page_cursor(query: &QueryMap) -> Result<Option<&str>, ApiError> {
    let cursor = query.first("cursor").filter(|c| !c.is_empty());
    if cursor.is_some_and(|c| c.len() > 2048) {
        return Err(FieldError::new("cursor", "is not a cursor this API issued to you").into());
    }
    Ok(cursor)
}
