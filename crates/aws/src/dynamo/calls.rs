//! Call recordings, their tracks and composition tokens in the table.
//!
//! - A call recording's head is `pk = CALL#{recording_id}`, `sk = CALL` (room, owner, the saved composition as
//!   JSON with its version and time). It is created by the first track's registration with an `if_not_exists`
//!   update, so registrations that race both land and the first becomes the owner.
//! - Each track is its own item, `pk = CALL#{recording_id}`, `sk = TRACK#{created_at_ms, 13 digits}#{track_id}`: no
//!   registration ever rewrites another's, so none is lost, and one query reads a call with its tracks.
//! - Its previews are one JSON attribute of the head, `preview`, with their revision in `preview_revision`: each
//!   write is conditional on the revision read, so the compositor's job ids and the notifier's concurrent job
//!   events never overwrite each other, and reading them needs the head only (no query of the tracks).
//! - Its latest export is the JSON attribute `export`, with `export_revision`, written the same way.
//! - A token grant is `pk = CTOK#{sha256 of the token}`, `sk = CTOK`, with the DynamoDB TTL at its expiry (the TTL
//!   deletes late; the burn's condition checks the expiry itself). The burn deletes it, with the old item returned:
//!   only the call that got the item back burned it (on DynamoDB the condition alone admits one; moto, which does
//!   not serialize conditions, still removes the item once).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use vidpipe_core::call::composition::{CompositionState, SavedComposition};
use vidpipe_core::call::export::ExportState;
use vidpipe_core::call::preview::PreviewState;
use vidpipe_core::call::token::{Scope, TokenGrant, TokenUse};
use vidpipe_core::call::{Call, CallTrack, PeerId, TrackRole};
use vidpipe_core::capability::CapabilityDigest;
use vidpipe_core::ports::{
    CallExports, CallPreviews, CallTracks, CompositionStore, CompositionTokens, SaveOutcome,
    StoreError, StoredPreview, VersionMatch,
};

use super::TTL_ATTRIBUTE;
use super::conditional::{applied, conditional, unavailable};
use super::item::{Item, get_n, get_s, n, s};

const HEAD: &str = "CALL";
const TRACK: &str = "TRACK#";
const GRANT: &str = "CTOK";

/// Call recordings, tracks and token grants, in the table.
#[derive(Debug, Clone)]
pub struct DynamoCalls {
    client: Client,
    table: String,
}

impl DynamoCalls {
    /// The call items of `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn head(&self, recording_id: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk(recording_id)))
            .key("sk", s(HEAD))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item().cloned())
    }
}

fn pk(recording_id: &str) -> String {
    format!("CALL#{recording_id}")
}

fn grant_pk(digest: &CapabilityDigest) -> String {
    format!("{GRANT}#{}", digest.to_stored())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("call item: missing or bad {what}"))
}

fn track_item(recording_id: &str, t: &CallTrack, expires_at: u64) -> Item {
    Item::from([
        ("pk".to_owned(), s(pk(recording_id))),
        (
            "sk".to_owned(),
            s(format!("{TRACK}{:013}#{}", t.created_at_ms, t.track_id)),
        ),
        ("entity".to_owned(), s("call_track")),
        ("track_id".to_owned(), s(&t.track_id)),
        ("peer_id".to_owned(), s(t.peer_id.as_str())),
        ("role".to_owned(), s(t.role.as_str())),
        ("started_at".to_owned(), n(t.started_at)),
        ("uploader".to_owned(), s(&t.uploader)),
        ("s3_key".to_owned(), s(&t.key)),
        ("created_at".to_owned(), n(t.created_at_ms)),
        (TTL_ATTRIBUTE.to_owned(), n(expires_at)),
    ])
}

fn track_from(item: &Item) -> Result<CallTrack, StoreError> {
    let text = |name: &str| get_s(item, name).ok_or_else(|| corrupt(name));
    let number = |name: &str| get_n::<u64>(item, name).ok_or_else(|| corrupt(name));
    Ok(CallTrack {
        track_id: text("track_id")?,
        peer_id: PeerId::parse("peer_id", &text("peer_id")?).map_err(|_| corrupt("peer_id"))?,
        role: TrackRole::parse("role", &text("role")?).map_err(|_| corrupt("role"))?,
        started_at: number("started_at")?,
        uploader: text("uploader")?,
        key: text("s3_key")?,
        created_at_ms: number("created_at")?,
    })
}

fn composition_from(item: &Item) -> Result<Option<SavedComposition>, StoreError> {
    let (Some(json), Some(version), Some(updated_at_ms)) = (
        get_s(item, "composition"),
        get_n(item, "composition_version"),
        get_n(item, "composition_updated_at"),
    ) else {
        return Ok(None);
    };
    let state: CompositionState =
        serde_json::from_str(&json).map_err(|_| corrupt("composition"))?;
    Ok(Some(SavedComposition {
        state,
        version,
        updated_at_ms,
    }))
}

fn preview_from(item: &Item) -> Result<Option<PreviewState>, StoreError> {
    get_s(item, "preview")
        .map(|json| serde_json::from_str(&json).map_err(|_| corrupt("preview")))
        .transpose()
}

fn export_from(item: &Item) -> Result<Option<ExportState>, StoreError> {
    get_s(item, "export")
        .map(|json| serde_json::from_str(&json).map_err(|_| corrupt("export")))
        .transpose()
}

fn call_from(head: &Item, tracks: Vec<CallTrack>) -> Result<Call, StoreError> {
    let text = |name: &str| get_s(head, name).ok_or_else(|| corrupt(name));
    let number = |name: &str| get_n::<u64>(head, name).ok_or_else(|| corrupt(name));
    Ok(Call {
        recording_id: text("recording_id")?,
        room_id: text("room_id")?,
        owner: text("owner")?,
        created_at_ms: number("created_at")?,
        expires_at: number(TTL_ATTRIBUTE)?,
        tracks,
        composition: composition_from(head)?,
        preview: preview_from(head)?,
        export: export_from(head)?,
    })
}

impl CallTracks for DynamoCalls {
    async fn get_call(&self, recording_id: &str) -> Result<Option<Call>, StoreError> {
        let mut head = None;
        let mut tracks = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk(recording_id)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                match get_s(item, "sk").as_deref() {
                    Some(HEAD) => head = Some(item.clone()),
                    Some(sk) if sk.starts_with(TRACK) => tracks.push(track_from(item)?),
                    _ => {}
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        head.map(|h| call_from(&h, tracks)).transpose()
    }

    async fn register_track(
        &self,
        room_id: &str,
        recording_id: &str,
        track: &CallTrack,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(recording_id)))
            .key("sk", s(HEAD))
            .update_expression(
                "SET entity = :entity, recording_id = :rec, room_id = if_not_exists(room_id, :room), \
                 #owner = if_not_exists(#owner, :owner), created_at = if_not_exists(created_at, :now), \
                 #ttl = :ttl",
            )
            .condition_expression("attribute_not_exists(pk) OR room_id = :room")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":entity", s("call"))
            .expression_attribute_values(":rec", s(recording_id))
            .expression_attribute_values(":room", s(room_id))
            .expression_attribute_values(":owner", s(&track.uploader))
            .expression_attribute_values(":now", n(track.created_at_ms))
            .expression_attribute_values(":ttl", n(expires_at))
            .send()
            .await;
        conditional(result, "the call recording is in another room")?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(track_item(recording_id, track, expires_at)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result, "this track is already registered")
    }
}

impl CompositionStore for DynamoCalls {
    async fn save_composition(
        &self,
        recording_id: &str,
        state: &CompositionState,
        expected: VersionMatch,
        now_ms: u64,
    ) -> Result<SaveOutcome, StoreError> {
        let json =
            serde_json::to_string(state).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(recording_id)))
            .key("sk", s(HEAD))
            .update_expression(
                "SET composition = :state, composition_updated_at = :now, \
                 composition_version = if_not_exists(composition_version, :zero) + :one",
            )
            .expression_attribute_values(":state", s(json))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew);
        update = match expected {
            VersionMatch::Any => update.condition_expression("attribute_exists(pk)"),
            VersionMatch::Exists => update.condition_expression(
                "attribute_exists(pk) AND attribute_exists(composition_version)",
            ),
            VersionMatch::Absent => update.condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(composition_version)",
            ),
            VersionMatch::Version(v) => update
                .condition_expression("attribute_exists(pk) AND composition_version = :expected")
                .expression_attribute_values(":expected", n(v)),
        };
        let result = update.send().await;
        let version = result
            .as_ref()
            .ok()
            .and_then(|out| out.attributes())
            .and_then(|a| a.get("composition_version"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok());
        if applied(result)? {
            return Ok(SaveOutcome::Saved(SavedComposition {
                state: state.clone(),
                version: version.ok_or_else(|| corrupt("composition_version"))?,
                updated_at_ms: now_ms,
            }));
        }
        match self.head(recording_id).await? {
            None => Err(StoreError::Conflict("no such call recording")),
            Some(head) => Ok(SaveOutcome::Mismatch {
                current: get_n(&head, "composition_version"),
            }),
        }
    }
}

impl CallPreviews for DynamoCalls {
    async fn get_preview(&self, recording_id: &str) -> Result<Option<StoredPreview>, StoreError> {
        let Some(head) = self.head(recording_id).await? else {
            return Ok(None);
        };
        let Some(state) = preview_from(&head)? else {
            return Ok(None);
        };
        let room_id = get_s(&head, "room_id").ok_or_else(|| corrupt("room_id"))?;
        Ok(Some(StoredPreview { room_id, state }))
    }

    async fn replace_preview(
        &self,
        recording_id: &str,
        state: &PreviewState,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.replace_revised(recording_id, "preview", state, state.revision, expected)
            .await
    }
}

impl CallExports for DynamoCalls {
    async fn replace_export(
        &self,
        recording_id: &str,
        state: &ExportState,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.replace_revised(recording_id, "export", state, state.revision, expected)
            .await
    }
}

impl DynamoCalls {
    /// Stores `value` as the JSON attribute `name` of the call's head, with its revision in `{name}_revision`, with
    /// one conditional write: only if the stored revision is `expected` (`None`: none stored yet). `false` when
    /// another write came first; a [`StoreError::Conflict`] if there is no such call.
    async fn replace_revised(
        &self,
        recording_id: &str,
        name: &str,
        value: &impl serde::Serialize,
        revision: u64,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let json =
            serde_json::to_string(value).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(recording_id)))
            .key("sk", s(HEAD))
            .update_expression("SET #value = :value, #revision = :revision")
            .expression_attribute_names("#value", name)
            .expression_attribute_names("#revision", format!("{name}_revision"))
            .expression_attribute_values(":value", s(json))
            .expression_attribute_values(":revision", n(revision));
        let update = match expected {
            None => update
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(#revision)"),
            Some(revision) => update
                .condition_expression("attribute_exists(pk) AND #revision = :expected")
                .expression_attribute_values(":expected", n(revision)),
        };
        if applied(update.send().await)? {
            return Ok(true);
        }
        match self.head(recording_id).await? {
            None => Err(StoreError::Conflict("no such call recording")),
            Some(_) => Ok(false),
        }
    }
}

fn grant_item(g: &TokenGrant) -> Item {
    let scopes: Vec<String> = g.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    Item::from([
        ("pk".to_owned(), s(grant_pk(&g.digest))),
        ("sk".to_owned(), s(GRANT)),
        ("entity".to_owned(), s("composition_token")),
        ("scopes".to_owned(), AttributeValue::Ss(scopes)),
        ("audience".to_owned(), s(&g.audience)),
        ("recording_id".to_owned(), s(&g.recording_id)),
        ("room_id".to_owned(), s(&g.room_id)),
        ("caller".to_owned(), s(&g.caller)),
        ("expires_at_ms".to_owned(), n(g.expires_at_ms)),
        // The TTL in whole seconds, never before the expiry.
        (TTL_ATTRIBUTE.to_owned(), n(g.expires_at_ms.div_ceil(1000))),
    ])
}

fn grant_from(digest: &CapabilityDigest, item: &Item) -> Result<TokenGrant, StoreError> {
    let text = |name: &str| get_s(item, name).ok_or_else(|| corrupt(name));
    let scopes = item
        .get("scopes")
        .and_then(|v| v.as_ss().ok())
        .ok_or_else(|| corrupt("scopes"))?
        .iter()
        .map(|name| Scope::parse(name).ok_or_else(|| corrupt("scopes")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TokenGrant {
        digest: digest.clone(),
        scopes: Scope::ALL
            .into_iter()
            .filter(|s| scopes.contains(s))
            .collect(),
        audience: text("audience")?,
        recording_id: text("recording_id")?,
        room_id: text("room_id")?,
        caller: text("caller")?,
        expires_at_ms: get_n(item, "expires_at_ms").ok_or_else(|| corrupt("expires_at_ms"))?,
    })
}

impl CompositionTokens for DynamoCalls {
    async fn put_grant(&self, grant: &TokenGrant) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(grant_item(grant)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result, "a token with this digest exists")
    }

    async fn get_grant(&self, digest: &CapabilityDigest) -> Result<Option<TokenGrant>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(grant_pk(digest)))
            .key("sk", s(GRANT))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(|item| grant_from(digest, item)).transpose()
    }

    async fn burn(
        &self,
        digest: &CapabilityDigest,
        use_: &TokenUse<'_>,
    ) -> Result<bool, StoreError> {
        // TokenGrant::check, as one condition: the burn applies only if every check still passes.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(grant_pk(digest)))
            .key("sk", s(GRANT))
            .condition_expression(
                "attribute_exists(pk) AND expires_at_ms > :now AND audience = :audience \
                 AND recording_id = :rec AND caller = :caller AND contains(scopes, :scope)",
            )
            .return_values(ReturnValue::AllOld)
            .expression_attribute_values(":now", n(use_.now_ms))
            .expression_attribute_values(":audience", s(vidpipe_core::call::token::AUDIENCE))
            .expression_attribute_values(":rec", s(use_.recording_id))
            .expression_attribute_values(":caller", s(use_.caller))
            .expression_attribute_values(":scope", s(use_.scope.as_str()))
            .send()
            .await;
        let deleted = result
            .as_ref()
            .ok()
            .and_then(|out| out.attributes())
            .is_some_and(|old| !old.is_empty());
        Ok(applied(result)? && deleted)
    }
}
