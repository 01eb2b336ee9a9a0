//! Amazon States Language definitions, as vidpipe-stepfn loads them (after SAM-style substitution).

use std::collections::HashMap;

use vidpipe_stepfn::{StateMachine, substitute};

/// Checks loading a definition: substitution and loading never panic and refuse with a `DefinitionError` (by their
/// types); substitution fails without a value for every placeholder and succeeds with one unless a placeholder is
/// left open; and loading the text and loading its JSON value agree.
pub fn asl_definition(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let names = placeholders(text);
    let plain = substitute(text, &HashMap::new());
    if !names.is_empty() {
        assert!(
            plain.is_err(),
            "placeholders {names:?} substituted by nothing"
        );
    }
    let values = names
        .iter()
        .map(|name| {
            let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
            (name.clone(), arn)
        })
        .collect();
    let Ok(definition) = substitute(text, &values) else {
        assert!(
            text.contains("${"),
            "substitution failed without a placeholder"
        );
        return;
    };
    let from_text = StateMachine::from_json(&definition);
    let from_value = serde_json::from_str(&definition)
        .ok()
        .map(|value| StateMachine::from_value(&value));
    match (&from_text, &from_value) {
        (Ok(_), Some(Ok(_))) | (Err(_), Some(Err(_)) | None) => {}
        _ => panic!("loading the text gives {from_text:?}, loading its value {from_value:?}"),
    }
}

/// The names of the closed `${Name}` placeholders in `text`.
fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        names.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    names
}
