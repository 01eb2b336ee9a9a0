//! Configurations built from a list of variables, for the functions' `Config::from_env` tests.

/// A variable lookup over `pairs`, as `Config::from_env` takes it:
/// `Config::from_env(vars(&[("MEDIACONVERT_ROLE_ARN", "arn:...")]))`. Unlisted variables are unset.
pub fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}
