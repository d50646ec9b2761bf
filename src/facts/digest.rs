//! The HMAC digests of Swift temp URLs: their names, and which one the OpenStack plugin signs with for a
//! given `OS_SWIFT_TEMP_URL_DIGEST`. Shared by the facts (`/info`'s allowed digests, the plugin's
//! configuration) and the signing code in `openstack::tempurl`. A leaf.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// The HMAC digest of a temp-URL signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Digest {
    Sha1,
    Sha256,
    Sha512,
}

/// `OS_SWIFT_TEMP_URL_DIGEST` holds a value the plugin refuses; the text is gophercloud's own
/// (`ErrTempURLDigestNotValid`), so a user can grep Velero's log for it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("The requested {0:?} digest is not supported.")]
pub struct UnsupportedDigest(pub String);

impl Digest {
    pub const ALL: [Digest; 3] = [Digest::Sha1, Digest::Sha256, Digest::Sha512];

    /// The digest the plugin signs with for a given `OS_SWIFT_TEMP_URL_DIGEST`.
    ///
    /// Mirrors gophercloud's `switch opts.Digest`: unset or empty and `sha1` give SHA-1 (so the
    /// plugin's default is SHA-1, which many clusters no longer allow), `sha256`, `sha512`; the
    /// match is exact and case-sensitive (`SHA256` is refused, as by the plugin).
    pub fn from_plugin_setting(value: Option<&str>) -> Result<Digest, UnsupportedDigest> {
        match value.unwrap_or("") {
            "" | "sha1" => Ok(Digest::Sha1),
            "sha256" => Ok(Digest::Sha256),
            "sha512" => Ok(Digest::Sha512),
            other => Err(UnsupportedDigest(other.to_string())),
        }
    }

    /// The name Swift uses (`/info` `allowed_digests`, `<algo>:` signature prefix).
    pub fn name(self) -> &'static str {
        match self {
            Digest::Sha1 => "sha1",
            Digest::Sha256 => "sha256",
            Digest::Sha512 => "sha512",
        }
    }

    /// Parses a Swift digest name (lower case, as `/info` lists them).
    pub fn from_name(name: &str) -> Option<Digest> {
        Digest::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Swift infers the digest of a hex signature from its length: 40, 64 or 128 characters.
    pub fn from_hex_len(len: usize) -> Option<Digest> {
        Digest::ALL.into_iter().find(|d| d.hex_len() == len)
    }

    /// Size of the raw HMAC in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Digest::Sha1 => 20,
            Digest::Sha256 => 32,
            Digest::Sha512 => 64,
        }
    }

    pub fn hex_len(self) -> usize {
        self.output_len() * 2
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
