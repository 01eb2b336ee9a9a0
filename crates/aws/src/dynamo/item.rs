//! Items as DynamoDB holds them: building attribute values, and reading them back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use vidpipe_core::cost::{CostBasis, JobCost};
use vidpipe_core::ports::StoreError;

/// One item: attribute name to value.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The string attribute `name`, if present.
pub(crate) fn get_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// The number attribute `name`, if present and of type `T`.
pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// `item` with the attributes of `optional` that are set.
pub(crate) fn with_optional<const N: usize>(
    mut item: Item,
    optional: [(&str, Option<AttributeValue>); N],
) -> Item {
    item.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))),
    );
    item
}

/// The key attributes a page of the owner index continues from.
const CURSOR_KEYS: [&str; 4] = ["pk", "sk", "gsi1pk", "gsi1sk"];

/// The opaque cursor of the owner-index page that ends at `key`.
pub(crate) fn encode_cursor(key: &Item) -> Option<String> {
    let values: Option<Vec<String>> = CURSOR_KEYS.iter().map(|k| get_s(key, k)).collect();
    let json = serde_json::to_vec(&values?).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

/// The owner-index key of `cursor`, refused unless it was issued for the partition `owner_pk` (so a cursor never
/// reads another caller's items).
pub(crate) fn decode_cursor(cursor: &str, owner_pk: &str) -> Result<Item, StoreError> {
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let values: Vec<String> =
        serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
    if values.len() != CURSOR_KEYS.len() || values[2] != owner_pk {
        return Err(StoreError::InvalidCursor);
    }
    Ok(CURSOR_KEYS
        .iter()
        .map(|k| (*k).to_owned())
        .zip(values.into_iter().map(s))
        .collect())
}

/// A job's cost as an item's attributes: `cost_micro_usd`, `cost_output_seconds`, `cost_basis`.
pub(crate) fn cost_attributes(cost: &JobCost) -> [(&'static str, AttributeValue); 3] {
    [
        ("cost_micro_usd", n(cost.micro_usd)),
        ("cost_output_seconds", n(cost.output_seconds)),
        ("cost_basis", s(cost.basis.as_str())),
    ]
}

/// The cost an item holds ([`cost_attributes`]), if it holds one.
pub(crate) fn cost_from_item(item: &Item) -> Option<JobCost> {
    Some(JobCost {
        micro_usd: get_n(item, "cost_micro_usd")?,
        output_seconds: get_n(item, "cost_output_seconds").unwrap_or(0),
        basis: CostBasis::parse(&get_s(item, "cost_basis")?)?,
    })
}
