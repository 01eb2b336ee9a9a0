//! What every function's `Config::from_env` shares: [`Vars`] to read variables (required, optional, parsed, whole
//! numbers in a range, flags), and [`ConfigError`], which variable is wrong and why.

use std::ops::RangeInclusive;

/// A configuration variable with a bad value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}: {message}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// The variable `name` is wrong: `message`.
    pub fn new(name: &'static str, message: impl Into<String>) -> Self {
        Self {
            name,
            message: message.into(),
        }
    }
}

/// The variables of one function's configuration, read through a lookup: `|name| std::env::var(name).ok()` in
/// `main`, a list of pairs in tests. A blank value counts as unset.
pub struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// Variables read through `lookup`.
    pub fn new(lookup: F) -> Self {
        Self(lookup)
    }

    /// The value of `name`, or `None` when it is unset or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    /// The value of `name`, which must be set.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::new(name, "must be set"))
    }

    /// `name` as a comma-separated list, each item trimmed, blanks dropped; unset is empty.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `name` as a flag ([`parse_flag`]); unset is `false`.
    pub fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        self.optional(name).map_or(Ok(false), |value| {
            parse_flag(&value).ok_or_else(|| {
                ConfigError::new(name, format!("must be true or false, not {value:?}"))
            })
        })
    }

    /// `name` parsed by its type's `FromStr` (whose error says what is accepted), or `default` when unset.
    pub fn parsed<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        self.optional(name).map_or(Ok(default), |value| {
            value
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::new(name, e.to_string()))
        })
    }

    /// `name` as a whole number within `range`, or `default` when unset.
    pub fn whole_number(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        self.optional(name).map_or(Ok(default), |value| {
            value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    let bounds = match (range.start(), range.end()) {
                        (min, &u64::MAX) => format!("at least {min}"),
                        (min, max) => format!("from {min} to {max}"),
                    };
                    ConfigError::new(
                        name,
                        format!("must be a whole number {bounds}, not {value:?}"),
                    )
                })
        })
    }
}

/// Where a secret key comes from: Secrets Manager (how the template deploys every key, read once per cold start) or
/// the value itself (local development; on AWS it would sit in plain text in the function's configuration).
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A Secrets Manager secret, by ARN or name.
    SecretsManager(String),
    /// The key itself.
    Value(Vec<u8>),
}

/// The key stays out of any `Debug` output, so a logged configuration never leaks it.
impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretsManager(arn) => f.debug_tuple("SecretsManager").field(arn).finish(),
            Self::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// The secret named by `arn_name` (its Secrets Manager ARN) or given by `value_name` (the key, at least
    /// `min_len` bytes); `None` when neither is set, an error when both are.
    pub fn secret(
        &self,
        arn_name: &'static str,
        value_name: &'static str,
        min_len: usize,
    ) -> Result<Option<SecretSource>, ConfigError> {
        match (self.optional(arn_name), self.optional(value_name)) {
            (Some(arn), None) => Ok(Some(SecretSource::SecretsManager(arn))),
            (None, Some(value)) => {
                check_secret(value_name, value.as_bytes(), min_len)?;
                Ok(Some(SecretSource::Value(value.into_bytes())))
            }
            (Some(_), Some(_)) => Err(ConfigError::new(
                value_name,
                format!("set {arn_name} or {value_name}, not both"),
            )),
            (None, None) => Ok(None),
        }
    }
}

/// A key read from `name` (or the secret its ARN variable names) is at least `min_len` bytes, wherever it comes from.
pub fn check_secret(name: &'static str, key: &[u8], min_len: usize) -> Result<(), ConfigError> {
    if key.len() < min_len {
        return Err(ConfigError::new(
            name,
            format!(
                "must be at least {min_len} bytes (the value, or the secret its _ARN variable names)"
            ),
        ));
    }
    Ok(())
}

/// The one boolean parser of configuration: `true` or `false`, in any case, around spaces.
pub fn parse_flag(value: &str) -> Option<bool> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(
        pairs: &'static [(&'static str, &'static str)],
    ) -> Vars<impl Fn(&str) -> Option<String>> {
        Vars::new(move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn blank_values_are_unset_and_required_ones_are_named() {
        let vars = vars(&[("SET", "value"), ("BLANK", "  ")]);
        assert_eq!(vars.optional("SET").as_deref(), Some("value"));
        assert_eq!(vars.optional("BLANK"), None);
        assert_eq!(
            vars.required("BLANK"),
            Err(ConfigError::new("BLANK", "must be set"))
        );
    }

    #[test]
    fn flags_are_true_or_false_and_anything_else_is_refused() {
        let vars = vars(&[
            ("ON", "true"),
            ("UPPER", " TRUE "),
            ("OFF", "false"),
            ("ONE", "1"),
        ]);
        assert_eq!(vars.flag("ON"), Ok(true));
        assert_eq!(vars.flag("UPPER"), Ok(true));
        assert_eq!(vars.flag("OFF"), Ok(false));
        assert_eq!(vars.flag("UNSET"), Ok(false));
        assert_eq!(
            vars.flag("ONE").unwrap_err().to_string(),
            "ONE: must be true or false, not \"1\""
        );
    }

    #[test]
    fn whole_numbers_are_checked_against_their_range() {
        let vars = vars(&[("N", " 12 "), ("LOW", "0"), ("NEG", "-1"), ("HIGH", "11")]);
        assert_eq!(vars.whole_number("N", 3, 1..=u64::MAX), Ok(12));
        assert_eq!(vars.whole_number("UNSET", 3, 1..=10), Ok(3));
        assert_eq!(
            vars.whole_number("LOW", 3, 1..=u64::MAX)
                .unwrap_err()
                .to_string(),
            "LOW: must be a whole number at least 1, not \"0\""
        );
        assert_eq!(vars.whole_number("NEG", 3, 0..=10).unwrap_err().name, "NEG");
        assert_eq!(
            vars.whole_number("HIGH", 3, 1..=10)
                .unwrap_err()
                .to_string(),
            "HIGH: must be a whole number from 1 to 10, not \"11\""
        );
    }

    #[test]
    fn a_secret_is_named_by_arn_or_given_but_not_both_and_never_shown() {
        let arn = vars(&[("KEY_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:k")]);
        assert_eq!(
            arn.secret("KEY_ARN", "KEY", 32),
            Ok(Some(SecretSource::SecretsManager(
                "arn:aws:secretsmanager:us-east-1:1:secret:k".into()
            )))
        );
        let value = vars(&[("KEY", "0123456789abcdef0123456789abcdef")]);
        let source = value.secret("KEY_ARN", "KEY", 32).unwrap().unwrap();
        assert_eq!(format!("{source:?}"), "Value(<redacted>)");
        let short = vars(&[("KEY", "short")]);
        assert_eq!(short.secret("KEY_ARN", "KEY", 32).unwrap_err().name, "KEY");
        let both = vars(&[
            ("KEY_ARN", "arn"),
            ("KEY", "0123456789abcdef0123456789abcdef"),
        ]);
        assert_eq!(
            both.secret("KEY_ARN", "KEY", 32).unwrap_err().to_string(),
            "KEY: set KEY_ARN or KEY, not both"
        );
        assert_eq!(vars(&[]).secret("KEY_ARN", "KEY", 32), Ok(None));
    }

    #[test]
    fn parsed_values_fall_back_to_the_default_and_name_the_variable() {
        let vars = vars(&[("N", "12"), ("BAD", "x")]);
        assert_eq!(vars.parsed("N", 3u32), Ok(12));
        assert_eq!(vars.parsed("UNSET", 3u32), Ok(3));
        assert!(
            vars.parsed("BAD", 3u32)
                .unwrap_err()
                .to_string()
                .starts_with("BAD: ")
        );
    }
}
