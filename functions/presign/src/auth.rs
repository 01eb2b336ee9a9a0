//! Who is calling: from the API Gateway JWT authorizer, a bearer token checked here, or nobody.
//!
//! Owners are namespaced by the auth mode that identified them: `jwt:{sub}`, `hs256:{sub}`. The anonymous owner,
//! [`ANONYMOUS_OWNER`], has no colon, so no token makes its holder the anonymous owner (a `sub` of `anonymous` is
//! `jwt:anonymous`), and tokens of one mode never own what another mode's tokens did. Every anonymous caller is
//! the same owner, so an anonymous caller shows that a stream is its own with the stream's capability
//! ([`vidpipe_core::capability`]), sent in the [`CAPABILITY_HEADER`] header: a header rather than a body field, so
//! the same way works on every route, `GET` included, and the capability never travels in a URL (which access logs
//! keep).

use std::time::Duration;

use crate::config::{AuthMode, Hs256};
use crate::http::ApiError;
use lambda_http::http::{StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use vidpipe_core::capability::{CapabilityDigest, StreamCapability};
use vidpipe_core::upload::UploadKind;

/// The request header that carries a stream capability.
pub const CAPABILITY_HEADER: &str = "x-stream-capability";

/// The owner recorded for anonymous uploads. Unlike every identified owner, it has no `:`.
pub const ANONYMOUS_OWNER: &str = "anonymous";

/// Leeway for clock skew between the token's issuer and this function, in seconds.
const CLOCK_LEEWAY_SECONDS: u64 = 30;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An identified caller, by its owner: its `sub` namespaced by the mode that identified it
    /// ([`Caller::user`]). It lists and reads its own recordings and streams.
    User(String),
    /// Nobody in particular: may upload only some kinds, never list, and read a stream only with its capability.
    Anonymous {
        /// Kinds it may upload.
        kinds: Vec<UploadKind>,
        /// The stream capability it presented, if any.
        capability: Option<StreamCapability>,
    },
}

impl Caller {
    /// The caller that `mode` (`jwt`, `hs256`) identified as `sub`.
    pub fn user(mode: &str, sub: &str) -> Self {
        Self::User(format!("{mode}:{sub}"))
    }

    /// The owner stored on the caller's recordings and streams.
    pub fn owner(&self) -> &str {
        match self {
            Self::User(owner) => owner,
            Self::Anonymous { .. } => ANONYMOUS_OWNER,
        }
    }

    /// Refuses an upload of `kind` the caller may not make.
    pub fn may_upload(&self, kind: UploadKind) -> Result<(), ApiError> {
        match self {
            Self::Anonymous { kinds, .. } if !kinds.contains(&kind) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("anonymous callers may not upload kind {}", kind.as_str()),
            )),
            _ => Ok(()),
        }
    }

    /// The owner of an identified caller, or 403 for an anonymous one (listing and reading recordings need an
    /// identity).
    pub fn user_owner(&self) -> Result<&str, ApiError> {
        match self {
            Self::User(owner) => Ok(owner),
            Self::Anonymous { .. } => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "anonymous callers may not list or read",
            )),
        }
    }

    /// Whether the caller may sign or read again a stream that `owner` holds, claimed with `capability`: only its
    /// owner may; and since every anonymous caller is the same owner, an anonymous one only with the capability
    /// the stream was claimed with (a stream of the anonymous owner without one admits nobody).
    pub fn holds(&self, owner: &str, capability: Option<&CapabilityDigest>) -> bool {
        match self {
            Self::User(me) => me == owner,
            Self::Anonymous {
                capability: presented,
                ..
            } => {
                owner == ANONYMOUS_OWNER
                    && capability
                        .zip(presented.as_ref())
                        .is_some_and(|(digest, presented)| digest.matches(presented))
            }
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
            sub.map(|sub| Caller::user("jwt", &sub))
                .ok_or_else(|| unauthorized("no JWT authorizer claims (sub) on the request"))
        }
        AuthMode::Hs256(hs256) => {
            let token = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .ok_or_else(|| unauthorized("missing Authorization: Bearer token"))?;
            let now = vidpipe_core::clock::now_ms() / 1000;
            match verify_hs256(token.trim(), hs256, now) {
                Ok(sub) => Ok(Caller::user("hs256", &sub)),
                Err(e) => {
                    // The reason is for the operator; the client only learns that the token was refused.
                    tracing::info!(reason = %e, "bearer token refused");
                    Err(unauthorized("invalid token"))
                }
            }
        }
        AuthMode::Anonymous { kinds } => Ok(Caller::Anonymous {
            kinds: kinds.clone(),
            capability: request
                .headers()
                .get(CAPABILITY_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(StreamCapability::presented),
        }),
    }
}

/// Why an HS256 token is refused. Each message is fixed (or names a claim), so logging it never logs the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a well-formed HS256 JWT with the expected claim types.
    #[error("malformed token")]
    Malformed,
    /// The signature is not the secret's.
    #[error("bad signature")]
    Signature,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `nbf` is still to come.
    #[error("not valid yet (nbf)")]
    NotYetValid,
    /// A required claim is missing.
    #[error("missing claim {0}")]
    MissingClaim(String),
    /// `aud` is not the configured audience.
    #[error("wrong audience")]
    Audience,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    Issuer,
    /// The token lives longer than allowed.
    #[error("lifetime over the {max_seconds} s allowed")]
    LifetimeTooLong {
        /// The configured maximum, in seconds.
        max_seconds: u64,
    },
    /// `sub` is empty.
    #[error("empty sub")]
    EmptySubject,
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature => Self::Signature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::MissingRequiredClaim(claim) => Self::MissingClaim(claim.clone()),
            ErrorKind::InvalidAudience => Self::Audience,
            ErrorKind::InvalidIssuer => Self::Issuer,
            _ => Self::Malformed,
        }
    }
}

/// The claims read beyond what `jsonwebtoken` validates. Times are NumericDates, which may have fractions. Every
/// field is optional here because `jsonwebtoken` reads them before it checks the required ones: a missing claim is
/// then told as missing, not as a malformed token.
#[derive(serde::Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<f64>,
    iat: Option<f64>,
}

/// Checks an HS256 token at `now` (epoch seconds) and returns its `sub`: the signature; `exp` (required) and
/// `nbf`, with 30 s of leeway; a lifetime within `hs256.max_lifetime`; and `aud` and `iss`, required when
/// configured.
pub fn verify_hs256(token: &str, hs256: &Hs256, now: u64) -> Result<String, TokenError> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = CLOCK_LEEWAY_SECONDS;
    validation.validate_nbf = true;
    let mut required = vec!["exp", "sub"];
    // Without these, jsonwebtoken checks `aud`/`iss` only when the token carries them.
    validation.validate_aud = hs256.audience.is_some();
    if let Some(aud) = &hs256.audience {
        validation.set_audience(&[aud]);
        required.push("aud");
    }
    if let Some(iss) = &hs256.issuer {
        validation.set_issuer(&[iss]);
        required.push("iss");
    }
    validation.set_required_spec_claims(&required);
    let claims =
        decode::<Claims>(token, &DecodingKey::from_secret(&hs256.secret), &validation)?.claims;
    check_lifetime(&claims, hs256.max_lifetime, now)?;
    claims
        .sub
        .filter(|sub| !sub.is_empty())
        .ok_or(TokenError::EmptySubject)
}

/// A token's lifetime runs from its `iat` (or from now, when it has none or a later one, so that a future `iat`
/// cannot stretch it) to its `exp`.
fn check_lifetime(claims: &Claims, max: Duration, now: u64) -> Result<(), TokenError> {
    // Saturating float-to-integer casts: a negative or huge date becomes 0 or u64::MAX, never wraps.
    let exp = claims
        .exp
        .ok_or_else(|| TokenError::MissingClaim("exp".into()))? as u64;
    let start = claims.iat.map_or(now, |iat| (iat as u64).min(now));
    let max_seconds = max.as_secs();
    if exp.saturating_sub(start) > max_seconds.saturating_add(CLOCK_LEEWAY_SECONDS) {
        return Err(TokenError::LifetimeTooLong { max_seconds });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::{Value, json};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn hs256(audience: Option<&str>, issuer: Option<&str>) -> Hs256 {
        Hs256 {
            secret: SECRET.into(),
            audience: audience.map(str::to_owned),
            issuer: issuer.map(str::to_owned),
            max_lifetime: Duration::from_secs(3600),
        }
    }

    fn token(claims: Value) -> String {
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        encode(&Header::default(), &claims, &key).unwrap()
    }

    /// Now, as jsonwebtoken reads it for `exp` and `nbf`.
    fn now() -> u64 {
        vidpipe_core::clock::now_ms() / 1000
    }

    fn verify(claims: Value, config: &Hs256) -> Result<String, TokenError> {
        verify_hs256(&token(claims), config, now())
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let now = now();
        let exp = now + 3600;
        let strict = hs256(Some("vidpipe"), Some("https://id.example.com"));
        let good = json!({"sub": "carol", "iat": now, "exp": exp, "aud": "vidpipe", "iss": "https://id.example.com"});
        assert_eq!(verify(good.clone(), &strict), Ok("carol".to_owned()));
        let with = |claim: &str, value: Value| {
            let mut claims = good.clone();
            claims[claim] = value;
            claims
        };
        let without = |claim: &str| {
            let mut claims = good.clone();
            claims.as_object_mut().unwrap().remove(claim);
            claims
        };
        for (claims, reason) in [
            (without("aud"), TokenError::MissingClaim("aud".into())),
            (without("iss"), TokenError::MissingClaim("iss".into())),
            (without("sub"), TokenError::MissingClaim("sub".into())),
            (without("exp"), TokenError::MissingClaim("exp".into())),
            (with("aud", "other".into()), TokenError::Audience),
            (with("iss", "https://evil".into()), TokenError::Issuer),
            (with("sub", "".into()), TokenError::EmptySubject),
            (with("sub", 5.into()), TokenError::Malformed),
            (with("nbf", (now + 600).into()), TokenError::NotYetValid),
            (with("exp", (now - 600).into()), TokenError::Expired),
            (
                with("exp", (now + 3600 + 60).into()),
                TokenError::LifetimeTooLong { max_seconds: 3600 },
            ),
        ] {
            assert_eq!(verify(claims.clone(), &strict), Err(reason), "{claims}");
        }
        let other_key = EncodingKey::from_secret(b"another-secret-another-secret-xx");
        let forged = encode(&Header::default(), &good, &other_key).unwrap();
        assert_eq!(
            verify_hs256(&forged, &strict, now),
            Err(TokenError::Signature)
        );
        // Without a configured audience or issuer, tokens need neither.
        let open = hs256(None, None);
        assert_eq!(
            verify(json!({"sub": "carol", "exp": exp}), &open),
            Ok("carol".to_owned())
        );
    }

    #[test]
    fn a_tokens_lifetime_runs_from_its_iat_or_from_now() {
        const NOW: u64 = 1_800_000_000;
        let max = Duration::from_secs(3600);
        let lifetime = |iat: Option<u64>, exp: u64| {
            check_lifetime(
                &Claims {
                    sub: Some("carol".into()),
                    exp: Some(exp as f64),
                    iat: iat.map(|t| t as f64),
                },
                max,
                NOW,
            )
        };
        let too_long = Err(TokenError::LifetimeTooLong { max_seconds: 3600 });
        assert_eq!(lifetime(Some(NOW - 600), NOW + 3000), Ok(()));
        assert_eq!(lifetime(None, NOW + 3600 + 30), Ok(()), "30 s of leeway");
        assert_eq!(lifetime(None, NOW + 3600 + 31), too_long);
        assert_eq!(
            lifetime(Some(NOW - 86_400), NOW + 60),
            too_long,
            "a day-long token, even near its end"
        );
        assert_eq!(
            lifetime(Some(NOW + 86_400), NOW + 86_400 + 60),
            too_long,
            "a future iat does not shorten it"
        );
    }

    #[test]
    fn owners_never_meet_across_modes() {
        let jwt = Caller::user("jwt", "anonymous");
        assert_eq!(jwt.owner(), "jwt:anonymous");
        assert_ne!(jwt.owner(), ANONYMOUS_OWNER);
        assert_ne!(
            Caller::user("hs256", "alice").owner(),
            Caller::user("jwt", "alice").owner()
        );
        assert!(!jwt.holds(ANONYMOUS_OWNER, None));
    }
}
