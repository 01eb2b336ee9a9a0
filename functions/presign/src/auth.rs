//! Who is calling: from the API Gateway JWT authorizer, a bearer token checked here, or nobody.

use crate::config::AuthMode;
use crate::http::ApiError;
use lambda_http::http::{StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use vidpipe_core::upload::UploadKind;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A known subject: lists and reads its own recordings.
    User(String),
    /// Nobody in particular: may upload only some kinds, and never list or read.
    Anonymous {
        /// Kinds it may upload.
        kinds: Vec<UploadKind>,
    },
}

/// The owner recorded for anonymous uploads.
pub const ANONYMOUS_OWNER: &str = "anonymous";

impl Caller {
    /// The owner stored on the caller's recordings.
    pub fn owner(&self) -> &str {
        match self {
            Self::User(sub) => sub,
            Self::Anonymous { .. } => ANONYMOUS_OWNER,
        }
    }

    /// Refuses an upload of `kind` the caller may not make.
    pub fn may_upload(&self, kind: UploadKind) -> Result<(), ApiError> {
        match self {
            Self::Anonymous { kinds } if !kinds.contains(&kind) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("anonymous callers may not upload kind {}", kind.as_str()),
            )),
            _ => Ok(()),
        }
    }

    /// The subject, or 403 for an anonymous caller (listing and reading need an identity).
    pub fn subject(&self) -> Result<&str, ApiError> {
        match self {
            Self::User(sub) => Ok(sub),
            Self::Anonymous { .. } => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "anonymous callers may not list or read",
            )),
        }
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Identifies the caller of `request` under `mode`.
pub fn authenticate(mode: &AuthMode, request: &Request) -> Result<Caller, ApiError> {
    match mode {
        AuthMode::Jwt => {
            let sub = match request.request_context_ref() {
                Some(RequestContext::ApiGatewayV2(ctx)) => ctx
                    .authorizer
                    .as_ref()
                    .and_then(|a| a.jwt.as_ref())
                    .and_then(|jwt| jwt.claims.get("sub"))
                    .filter(|s| !s.is_empty())
                    .cloned(),
                _ => None,
            };
            sub.map(Caller::User)
                .ok_or_else(|| unauthorized("no JWT authorizer claims (sub) on the request"))
        }
        AuthMode::Hs256 {
            secret,
            audience,
            issuer,
        } => {
            let token = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .ok_or_else(|| unauthorized("missing Authorization: Bearer token"))?;
            verify_hs256(token.trim(), secret, audience.as_deref(), issuer.as_deref())
                .map(Caller::User)
        }
        AuthMode::Anonymous { kinds } => Ok(Caller::Anonymous {
            kinds: kinds.clone(),
        }),
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
}

/// Checks an HS256 token's signature, `exp`, and `aud`/`iss` when configured; returns its `sub`.
pub fn verify_hs256(
    token: &str,
    secret: &[u8],
    audience: Option<&str>,
    issuer: Option<&str>,
) -> Result<String, ApiError> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 30;
    validation.validate_aud = audience.is_some();
    if let Some(aud) = audience {
        validation.set_audience(&[aud]);
    }
    if let Some(iss) = issuer {
        validation.set_issuer(&[iss]);
    }
    let data = decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
        .map_err(|e| unauthorized(&format!("invalid token: {e}")))?;
    if data.claims.sub.is_empty() {
        return Err(unauthorized("invalid token: empty sub"));
    }
    Ok(data.claims.sub)
}
