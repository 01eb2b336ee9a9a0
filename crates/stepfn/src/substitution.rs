//! `${Name}` placeholders, replaced before loading as AWS SAM's `DefinitionSubstitutions` replace them.

use std::collections::HashMap;

use crate::error::DefinitionError;

/// Replaces every `${Name}` in a definition's text with `values[Name]`. A placeholder without a value is an
/// error naming every missing one, so a definition never runs with an unresolved ARN.
pub fn substitute(text: &str, values: &HashMap<String, String>) -> Result<String, DefinitionError> {
    let mut output = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        output.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(DefinitionError::invalid(
                "definition",
                "a \"${\" placeholder is not closed with '}'",
            ));
        };
        let name = &after[..end];
        match values.get(name) {
            Some(value) => output.push_str(value),
            None => missing.push(name.to_owned()),
        }
        rest = &after[end + 1..];
    }
    output.push_str(rest);
    if missing.is_empty() {
        Ok(output)
    } else {
        Err(DefinitionError::invalid(
            "definition",
            format!("no value for the substitutions {missing:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_placeholder_and_names_the_missing_ones() {
        let values = HashMap::from([
            (
                "ChunkerArn".to_owned(),
                "arn:aws:lambda:us-east-1:1:function:chunker".to_owned(),
            ),
            ("Max".to_owned(), "10".to_owned()),
        ]);
        assert_eq!(
            substitute(
                r#"{"Resource": "${ChunkerArn}", "MaxConcurrency": ${Max}}"#,
                &values
            )
            .unwrap(),
            r#"{"Resource": "arn:aws:lambda:us-east-1:1:function:chunker", "MaxConcurrency": 10}"#
        );
        let error = substitute("${A} ${ChunkerArn} ${B}", &values).unwrap_err();
        assert!(error.to_string().contains(r#"["A", "B"]"#), "{error}");
        assert!(substitute("${Open", &values).is_err());
        assert_eq!(substitute("$.a and $$.b", &values).unwrap(), "$.a and $$.b");
    }
}
