//! The camelCase wire form of a CreateJob request (what the SDK sends) turned into the model's PascalCase form.
//!
//! In the MediaConvert model every member's `locationName` is its name with the first letter lowered, so raising the
//! first letter of each key gives the PascalCase form back. Map-valued members (`UserMetadata`, `Tags`,
//! `AudioSelectors`, `AudioSelectorGroups`, `CaptionSelectors`, `DynamicAudioSelectors`) keep their keys, which are
//! names chosen by the user; their values are still normalized.

use serde_json::{Map, Value};

/// Members whose value is a map keyed by user-chosen names.
const MAP_MEMBERS: [&str; 6] = [
    "UserMetadata",
    "Tags",
    "AudioSelectors",
    "AudioSelectorGroups",
    "CaptionSelectors",
    "DynamicAudioSelectors",
];

/// Returns `request` with every member name in PascalCase. A request already in PascalCase comes back unchanged.
pub fn to_pascal_case(request: &Value) -> Value {
    match request {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, value)| {
                    let name = raise_first(key);
                    let value = if MAP_MEMBERS.contains(&name.as_str()) {
                        normalize_map(value)
                    } else {
                        to_pascal_case(value)
                    };
                    (name, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(to_pascal_case).collect()),
        other => other.clone(),
    }
}

fn normalize_map(value: &Value) -> Value {
    match value {
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_pascal_case(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn raise_first(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_form_becomes_pascal_case_and_map_keys_stay() {
        let wire = json!({
            "role": "arn:aws:iam::1:role/r",
            "userMetadata": {"streamId": "abc"},
            "settings": {"inputs": [{
                "fileInput": "s3://b/k.mp4",
                "audioSelectors": {"Audio Selector 1": {"defaultSelection": "DEFAULT"}, "camera": {"tracks": [1]}},
                "videoOverlays": [{"initialPosition": {"xPosition": 1}}]
            }]}
        });
        let pascal = json!({
            "Role": "arn:aws:iam::1:role/r",
            "UserMetadata": {"streamId": "abc"},
            "Settings": {"Inputs": [{
                "FileInput": "s3://b/k.mp4",
                "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}, "camera": {"Tracks": [1]}},
                "VideoOverlays": [{"InitialPosition": {"XPosition": 1}}]
            }]}
        });
        assert_eq!(to_pascal_case(&wire), pascal);
        assert_eq!(to_pascal_case(&pascal), pascal);
    }
}
