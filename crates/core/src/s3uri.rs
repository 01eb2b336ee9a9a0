//! `s3://bucket/key` URIs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An S3 object location, written `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct S3Uri {
    bucket: String,
    key: String,
}

/// Why a string is not an `s3://bucket/key` URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3UriError {
    /// The scheme is not `s3://`.
    #[error("`{0}` is not an s3:// URI")]
    NotS3(String),
    /// The bucket name is not a valid S3 bucket name.
    #[error("`{0}` has an invalid bucket name (3..=63 of a-z, 0-9, '.', '-')")]
    InvalidBucket(String),
    /// The key is empty or longer than S3 allows.
    #[error("`{0}` has an empty or over-long key")]
    InvalidKey(String),
}

impl S3Uri {
    /// A URI from a bucket and a key, both checked.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Result<Self, S3UriError> {
        let (bucket, key) = (bucket.into(), key.into());
        let uri = format!("s3://{bucket}/{key}");
        if !valid_bucket(&bucket) {
            return Err(S3UriError::InvalidBucket(uri));
        }
        if key.is_empty() || key.len() > 1024 {
            return Err(S3UriError::InvalidKey(uri));
        }
        Ok(Self { bucket, key })
    }

    /// Parses `s3://bucket/key` (the same as `str::parse`).
    pub fn parse_str(s: &str) -> Result<Self, S3UriError> {
        s.parse()
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The folder holding the object (`s3://bkt/a/` for `s3://bkt/a/c.mp4`: its key up to the last `/`); `None` for an
    /// object outside a folder.
    pub fn folder(&self) -> Option<S3Uri> {
        let end = self.key.rfind('/')?;
        Some(Self {
            bucket: self.bucket.clone(),
            key: self.key[..=end].to_owned(),
        })
    }

    /// The key's file extension in lower case (`png` for `a/b.PNG`), if any.
    pub fn extension(&self) -> Option<String> {
        let name = self.key.rsplit('/').next().unwrap_or_default();
        name.rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .filter(|e| !e.is_empty())
    }
}

fn valid_bucket(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl FromStr for S3Uri {
    type Err = S3UriError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| S3UriError::NotS3(s.to_owned()))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        Self::new(bucket, key)
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl Serialize for S3Uri {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for S3Uri {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_objects_folder_is_its_key_up_to_the_last_slash() {
        let folder = |uri: &str| {
            S3Uri::parse_str(uri)
                .unwrap()
                .folder()
                .map(|f| f.to_string())
        };
        assert_eq!(
            folder("s3://bkt/a/w/c.mp4").as_deref(),
            Some("s3://bkt/a/w/")
        );
        assert_eq!(folder("s3://bkt/a/").as_deref(), Some("s3://bkt/a/"));
        assert_eq!(folder("s3://bkt/c.mp4"), None);
    }

    #[test]
    fn parses_and_prints_bucket_and_key() {
        let uri: S3Uri = "s3://my-bucket/uploads/a b/s1.mp4".parse().unwrap();
        assert_eq!(
            (uri.bucket(), uri.key()),
            ("my-bucket", "uploads/a b/s1.mp4")
        );
        assert_eq!(uri.to_string(), "s3://my-bucket/uploads/a b/s1.mp4");
        assert_eq!(uri.extension().as_deref(), Some("mp4"));
    }

    #[test]
    fn rejects_other_schemes_bad_buckets_and_empty_keys() {
        assert_eq!(
            "https://x/y".parse::<S3Uri>(),
            Err(S3UriError::NotS3("https://x/y".into()))
        );
        assert!(matches!(
            "s3://Bad_Bucket/k".parse::<S3Uri>(),
            Err(S3UriError::InvalidBucket(_))
        ));
        assert!(matches!(
            "s3://bucket".parse::<S3Uri>(),
            Err(S3UriError::InvalidKey(_))
        ));
        assert!(matches!(
            "s3://bucket/".parse::<S3Uri>(),
            Err(S3UriError::InvalidKey(_))
        ));
    }

    #[test]
    fn serde_uses_the_string_form() {
        let uri: S3Uri = serde_json::from_str(r#""s3://bucket/k.png""#).unwrap();
        assert_eq!(
            serde_json::to_string(&uri).unwrap(),
            r#""s3://bucket/k.png""#
        );
        assert!(serde_json::from_str::<S3Uri>(r#""/tmp/k.png""#).is_err());
    }
}
