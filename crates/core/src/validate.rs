//! Field validation shared by every entry point: one error type that names the field at fault.

use std::fmt;

/// A request field that failed validation. `field` is the JSON name the client sent (or should have sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The JSON field name, for example `size` or `parts[2].etag`.
    pub field: String,
    /// What is wrong with it, for a human.
    pub message: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, message: impl fmt::Display) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// This error of a field of the object at the JSON path `path`: `export` and `fps` make `export.fps`.
    pub fn within(self, path: &str) -> Self {
        Self {
            field: format!("{path}.{}", self.field),
            ..self
        }
    }
}

/// Checks `value` is 1..=`max` characters of `[A-Za-z0-9_-]`: the identifier rule for stream names and room ids.
pub fn identifier(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() || value.len() > max {
        return Err(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(FieldError::new(
            field,
            format!("may only contain letters, digits, '_' and '-' (found {bad:?})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_accept_the_documented_alphabet_only() {
        assert!(identifier("stream_name", "Abc_12-x", 128).is_ok());
        assert!(identifier("stream_name", &"a".repeat(128), 128).is_ok());
        for bad in ["", "a/b", "..", "a b", "é", "a\u{0}", "a.b", "%2F"] {
            let err = identifier("stream_name", bad, 128).unwrap_err();
            assert_eq!(err.field, "stream_name", "{bad:?}");
        }
        assert!(identifier("stream_name", &"a".repeat(129), 128).is_err());
    }
}

/// A JSON object read field by field, so that every error names its field. Unknown fields are refused by
/// [`JsonFields::finish`].
#[derive(Debug)]
pub struct JsonFields {
    fields: serde_json::Map<String, serde_json::Value>,
}

impl JsonFields {
    /// Parses `body` as a JSON object. Errors name the field `body`.
    pub fn parse(body: &[u8]) -> Result<Self, FieldError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| FieldError::new("body", format!("is not valid JSON ({e})")))?;
        match value {
            serde_json::Value::Object(fields) => Ok(Self { fields }),
            _ => Err(FieldError::new("body", "must be a JSON object")),
        }
    }

    /// The JSON object `value` found at the JSON path `path` (an element of an array, a nested object). Errors
    /// name `path`; errors of its fields name only the field, so callers prefix them with [`FieldError::within`].
    pub fn object(path: &str, value: serde_json::Value) -> Result<Self, FieldError> {
        match value {
            serde_json::Value::Object(fields) => Ok(Self { fields }),
            _ => Err(FieldError::new(path, "must be an object")),
        }
    }

    /// A required boolean.
    pub fn bool(&mut self, name: &str) -> Result<bool, FieldError> {
        self.opt_bool(name)?
            .ok_or_else(|| FieldError::new(name, "is required"))
    }

    /// An optional boolean.
    pub fn opt_bool(&mut self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.take(name) {
            Some(serde_json::Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(FieldError::new(name, "must be true or false")),
            None => Ok(None),
        }
    }

    /// A required nested object, read field by field.
    pub fn nested(&mut self, name: &str) -> Result<Self, FieldError> {
        match self.take(name) {
            Some(value) => Self::object(name, value),
            None => Err(FieldError::new(name, "is required")),
        }
    }

    fn take(&mut self, name: &str) -> Option<serde_json::Value> {
        self.fields.remove(name).filter(|v| !v.is_null())
    }

    /// An optional string of at most `max` bytes.
    pub fn opt_str(&mut self, name: &str, max: usize) -> Result<Option<String>, FieldError> {
        match self.take(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) if s.len() <= max => Ok(Some(s)),
            Some(serde_json::Value::String(_)) => Err(FieldError::new(
                name,
                format!("must be at most {max} bytes"),
            )),
            Some(_) => Err(FieldError::new(name, "must be a string")),
        }
    }

    /// A required string of at most `max` bytes.
    pub fn str(&mut self, name: &str, max: usize) -> Result<String, FieldError> {
        self.opt_str(name, max)?
            .ok_or_else(|| FieldError::new(name, "is required"))
    }

    /// An optional non-negative integer.
    pub fn opt_u64(&mut self, name: &str) -> Result<Option<u64>, FieldError> {
        match self.take(name) {
            None => Ok(None),
            Some(serde_json::Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| FieldError::new(name, "must be a non-negative integer")),
            Some(_) => Err(FieldError::new(name, "must be a non-negative integer")),
        }
    }

    /// A required non-negative integer.
    pub fn u64(&mut self, name: &str) -> Result<u64, FieldError> {
        self.opt_u64(name)?
            .ok_or_else(|| FieldError::new(name, "is required"))
    }

    /// A required array.
    pub fn array(&mut self, name: &str) -> Result<Vec<serde_json::Value>, FieldError> {
        self.opt_array(name)?
            .ok_or_else(|| FieldError::new(name, "is required"))
    }

    /// An optional array.
    pub fn opt_array(&mut self, name: &str) -> Result<Option<Vec<serde_json::Value>>, FieldError> {
        match self.take(name) {
            Some(serde_json::Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(FieldError::new(name, "must be an array")),
            None => Ok(None),
        }
    }

    /// Refuses any field not read so far.
    pub fn finish(self) -> Result<(), FieldError> {
        match self.fields.keys().next() {
            Some(name) => Err(FieldError::new(name.clone(), "is not a known field")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod json_fields_tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        assert_eq!(JsonFields::parse(b"{").unwrap_err().field, "body");
        assert_eq!(JsonFields::parse(b"[1]").unwrap_err().field, "body");
        let mut f = JsonFields::parse(br#"{"a":1,"b":"x","c":-1,"d":1.5,"e":"long"}"#).unwrap();
        assert_eq!(f.str("a", 10).unwrap_err().field, "a");
        assert_eq!(f.u64("b").unwrap_err().field, "b");
        assert_eq!(f.u64("c").unwrap_err().field, "c");
        assert_eq!(f.u64("d").unwrap_err().field, "d");
        assert_eq!(
            f.str("e", 3).unwrap_err().message,
            "must be at most 3 bytes"
        );
        assert_eq!(f.str("missing", 3).unwrap_err().message, "is required");
        let mut f = JsonFields::parse(br#"{"a":"x","zzz":null,"extra":true}"#).unwrap();
        assert_eq!(f.str("a", 3).unwrap(), "x");
        assert_eq!(f.finish().unwrap_err().field, "extra");
    }
}
