//! Secret values: they never print, never serialize, and compare by fingerprint.
//!
//! Everything veldr reads that could open a door (application-credential secrets, passwords, tokens,
//! temp-URL keys, signatures) is held in a [`Secret`]. `Debug` and `Display` show only the fingerprint,
//! and serialization writes only the fingerprint, so a bundle or a log line can never carry the value.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// A secret string. The value is reachable only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: Option<String>,
    fingerprint: String,
}

/// First 8 hex digits of the SHA-256 of `bytes`: enough to tell two values apart, useless to guess one.
pub fn fingerprint(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    hex::encode(&digest[..4])
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        let fingerprint = fingerprint(value.as_bytes());
        Secret { value: Some(value), fingerprint }
    }

    /// A secret known only by its fingerprint (read back from a bundle).
    pub fn from_fingerprint(fingerprint: impl Into<String>) -> Self {
        Secret { value: None, fingerprint: fingerprint.into() }
    }

    /// The value, when it is known (not when replayed from a bundle).
    pub fn expose(&self) -> Option<&str> {
        self.value.as_deref()
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn is_empty(&self) -> bool {
        self.value.as_deref().is_some_and(str::is_empty)
    }

    /// `sha256:1a2b3c4d`, the form shown to people.
    pub fn label(&self) -> String {
        format!("sha256:{}", self.fingerprint)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.label())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let fp = s.strip_prefix("sha256:").unwrap_or(&s);
        if fp.len() != 8 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(serde::de::Error::custom("a secret in a bundle must be a fingerprint like sha256:1a2b3c4d"));
        }
        Ok(Secret::from_fingerprint(fp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_the_value() {
        let s = Secret::new("hunter2-very-secret");
        let shown = format!("{s} {s:?} {}", serde_json::to_string(&s).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(s.fingerprint()));
    }

    #[test]
    fn round_trips_as_fingerprint_only() {
        let s = Secret::new("abc");
        let back: Secret = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.fingerprint(), s.fingerprint());
        assert_eq!(back.expose(), None);
    }

    #[test]
    fn rejects_a_value_in_place_of_a_fingerprint() {
        assert!(serde_json::from_str::<Secret>("\"plain-secret-value\"").is_err());
    }
}
