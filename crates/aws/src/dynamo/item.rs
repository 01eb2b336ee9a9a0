//! Items as DynamoDB holds them: building attribute values, and reading them back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

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
