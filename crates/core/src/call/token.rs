//! Single-use composition tokens: minted by `POST /recordings/{recording_id}/composition/token` after the access
//! check, presented with the caller's own credentials in [`TOKEN_HEADER`], and burned by the first use that passes
//! every check.
//!
//! A token is 32 random bytes, as a stream capability is ([`crate::capability`]: the same issue, digest and
//! constant-time comparison); only its SHA-256 digest is stored, with its [`TokenGrant`]. [`TokenGrant::check`] is
//! the rule a use must pass, in the order the API answers it: unknown (never minted, or used: burning deletes the
//! grant), expired, another audience, another recording or another caller are `401`; a scope that does not cover
//! the route is `403`, and does not burn the token (the grant is read and checked before the burn, and the burn's
//! condition repeats every check, scope included, so a racing use cannot burn it either).

use crate::capability::{CAPABILITY_BYTES, CapabilityDigest, StreamCapability};
use crate::validate::{FieldError, JsonFields};

/// The request header that carries a composition token.
pub const TOKEN_HEADER: &str = "x-composition-token";
/// The only audience tokens are minted for: the composition routes.
pub const AUDIENCE: &str = "composition-service";
/// How long a token lives, in ms (30 minutes).
pub const TOKEN_TTL_MS: u64 = 30 * 60 * 1000;

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Create or read previews (`POST .../preview`, not built yet).
    PreviewRead,
    /// Save the Composition State (`PUT .../composition`).
    CompositionWrite,
    /// Start an export (`POST .../export`, not built yet).
    ExportCreate,
}

impl Scope {
    /// Every scope, in the order a token lists them.
    pub const ALL: [Self; 3] = [
        Self::PreviewRead,
        Self::CompositionWrite,
        Self::ExportCreate,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreviewRead => "preview:read",
            Self::CompositionWrite => "composition:write",
            Self::ExportCreate => "export:create",
        }
    }

    /// A scope by its wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// The scopes a mint request asks for: `{}` or an empty body for all of them, `{"scope": [...]}` for some.
pub fn requested_scopes(body: &[u8]) -> Result<Vec<Scope>, FieldError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Scope::ALL.to_vec());
    }
    let mut f = JsonFields::parse(body)?;
    let asked = match f.opt_array("scope")? {
        None => return f.finish().map(|()| Scope::ALL.to_vec()),
        Some(asked) => asked,
    };
    f.finish()?;
    if asked.is_empty() {
        return Err(FieldError::new("scope", "must name at least one scope"));
    }
    let mut scopes = Vec::new();
    for (i, value) in asked.iter().enumerate() {
        let scope = value.as_str().and_then(Scope::parse).ok_or_else(|| {
            FieldError::new(
                format!("scope[{i}]"),
                "must be preview:read, composition:write or export:create",
            )
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    // Listed in the canonical order, whatever order they were asked in.
    Ok(Scope::ALL
        .into_iter()
        .filter(|s| scopes.contains(s))
        .collect())
}

/// A token as its holder has it. Its `Debug` output hides the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositionToken(StreamCapability);

impl CompositionToken {
    /// A new token from `entropy`, drawn by the caller from the operating system's CSPRNG.
    pub fn issue(entropy: [u8; CAPABILITY_BYTES]) -> Self {
        Self(StreamCapability::issue(entropy))
    }

    /// The token a client presented.
    pub fn presented(value: &str) -> Self {
        Self(StreamCapability::presented(value))
    }

    /// The value to hand to the client, once; never to a log.
    pub fn reveal(&self) -> &str {
        self.0.reveal()
    }

    /// The digest stored in its place, and by which its grant is found.
    pub fn digest(&self) -> CapabilityDigest {
        self.0.digest()
    }
}

/// What a token was minted for, as stored under its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The token's digest.
    pub digest: CapabilityDigest,
    /// What it may be used for.
    pub scopes: Vec<Scope>,
    /// Who it is for ([`AUDIENCE`]).
    pub audience: String,
    /// The call recording it is bound to.
    pub recording_id: String,
    /// That recording's room.
    pub room_id: String,
    /// The caller it was minted for; only that caller may use it.
    pub caller: String,
    /// When it expires, epoch ms.
    pub expires_at_ms: u64,
}

/// One use of a token: what the route needs it to cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenUse<'a> {
    /// The recording the route acts on.
    pub recording_id: &'a str,
    /// The caller presenting it.
    pub caller: &'a str,
    /// The scope the route needs.
    pub scope: Scope,
    /// Now, epoch ms.
    pub now_ms: u64,
}

/// Why a token does not authorize a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// No such token: never minted, already used (burning deletes its grant), or expired and gone.
    #[error("unknown or already used token")]
    Unknown,
    /// Past its expiry.
    #[error("the token expired")]
    Expired,
    /// Minted for another audience.
    #[error("the token is for another audience")]
    Audience,
    /// Minted for another recording.
    #[error("the token is for another recording")]
    Recording,
    /// Minted for another caller.
    #[error("the token was minted for another caller")]
    Caller,
    /// Its scopes do not cover the route: the only refusal answered `403`.
    #[error("the token's scope does not include {}", .0.as_str())]
    Scope(Scope),
}

impl TokenRefusal {
    /// Whether the refusal is about the token's validity (`401`), rather than what it allows (`403`).
    pub fn is_unauthorized(self) -> bool {
        !matches!(self, Self::Scope(_))
    }
}

impl TokenGrant {
    /// A new grant for `scopes` on `recording_id` in `room_id`, to `caller`, minted at `now_ms`.
    pub fn mint(
        digest: CapabilityDigest,
        scopes: Vec<Scope>,
        recording_id: &str,
        room_id: &str,
        caller: &str,
        now_ms: u64,
    ) -> Self {
        Self {
            digest,
            scopes,
            audience: AUDIENCE.to_owned(),
            recording_id: recording_id.to_owned(),
            room_id: room_id.to_owned(),
            caller: caller.to_owned(),
            expires_at_ms: now_ms + TOKEN_TTL_MS,
        }
    }

    /// Whether the grant authorizes `use_` (the store's burn condition says the same).
    pub fn check(&self, use_: &TokenUse<'_>) -> Result<(), TokenRefusal> {
        if use_.now_ms >= self.expires_at_ms {
            Err(TokenRefusal::Expired)
        } else if self.audience != AUDIENCE {
            Err(TokenRefusal::Audience)
        } else if self.recording_id != use_.recording_id {
            Err(TokenRefusal::Recording)
        } else if self.caller != use_.caller {
            Err(TokenRefusal::Caller)
        } else if !self.scopes.contains(&use_.scope) {
            Err(TokenRefusal::Scope(use_.scope))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scopes: Vec<Scope>) -> TokenGrant {
        let token = CompositionToken::issue([7; CAPABILITY_BYTES]);
        TokenGrant::mint(token.digest(), scopes, "rec-1", "room-1", "jwt:a", 1_000)
    }

    fn use_(scope: Scope, now_ms: u64) -> TokenUse<'static> {
        TokenUse {
            recording_id: "rec-1",
            caller: "jwt:a",
            scope,
            now_ms,
        }
    }

    #[test]
    fn a_use_passes_only_within_its_grant() {
        let g = grant(vec![Scope::CompositionWrite]);
        assert_eq!(g.expires_at_ms, 1_000 + TOKEN_TTL_MS);
        assert_eq!(g.check(&use_(Scope::CompositionWrite, 2_000)), Ok(()));
        assert_eq!(
            g.check(&use_(Scope::ExportCreate, 2_000)),
            Err(TokenRefusal::Scope(Scope::ExportCreate))
        );
        assert!(!TokenRefusal::Scope(Scope::ExportCreate).is_unauthorized());
        assert_eq!(
            g.check(&use_(Scope::CompositionWrite, g.expires_at_ms)),
            Err(TokenRefusal::Expired)
        );
        let other = TokenUse {
            recording_id: "rec-2",
            ..use_(Scope::CompositionWrite, 2_000)
        };
        assert_eq!(g.check(&other), Err(TokenRefusal::Recording));
        let stranger = TokenUse {
            caller: "jwt:b",
            ..use_(Scope::CompositionWrite, 2_000)
        };
        assert_eq!(g.check(&stranger), Err(TokenRefusal::Caller));
        let elsewhere = TokenGrant {
            audience: "playback".into(),
            ..g.clone()
        };
        assert_eq!(
            elsewhere.check(&use_(Scope::CompositionWrite, 2_000)),
            Err(TokenRefusal::Audience)
        );
        assert!(TokenRefusal::Expired.is_unauthorized());
    }

    #[test]
    fn a_mint_request_names_known_scopes_or_gets_them_all() {
        assert_eq!(requested_scopes(b"").unwrap(), Scope::ALL);
        assert_eq!(requested_scopes(b"{}").unwrap(), Scope::ALL);
        assert_eq!(
            requested_scopes(br#"{"scope":["export:create","preview:read","export:create"]}"#)
                .unwrap(),
            [Scope::PreviewRead, Scope::ExportCreate]
        );
        for (body, field) in [
            (&br#"{"scope":["export:create","admin"]}"#[..], "scope[1]"),
            (br#"{"scope":[7]}"#, "scope[0]"),
            (br#"{"scope":[]}"#, "scope"),
            (br#"{"scope":"export:create"}"#, "scope"),
            (br#"{"scopes":["export:create"]}"#, "scopes"),
            (b"{", "body"),
        ] {
            assert_eq!(requested_scopes(body).unwrap_err().field, field);
        }
        assert_eq!(
            Scope::ALL.map(Scope::as_str),
            ["preview:read", "composition:write", "export:create"]
        );
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = CompositionToken::presented("secret-value");
        assert!(!format!("{token:?}").contains("secret-value"));
    }
}
