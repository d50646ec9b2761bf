//! Bundles: the collected facts in a file, so a report can be replayed offline.
//!
//! Secrets are already fingerprints inside [`Facts`]; writing is a plain serialization.

use crate::facts::{Facts, BUNDLE_SCHEMA};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read bundle {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("bundle {path} is not a veldr bundle: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("bundle {path} has schema version {found}; this veldr reads up to {BUNDLE_SCHEMA}: upgrade veldr")]
    Newer { path: String, found: u64 },
    #[error("cannot write bundle {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

pub fn load(path: &Path) -> Result<Facts, BundleError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| BundleError::Io { path: p.clone(), source })?;
    parse(&text).map_err(|e| match e {
        ParseError::Newer(found) => BundleError::Newer { path: p.clone(), found },
        ParseError::Corrupt(reason) => BundleError::Corrupt { path: p.clone(), reason },
    })
}

#[derive(Debug)]
pub enum ParseError {
    Newer(u64),
    Corrupt(String),
}

/// Parses bundle text; the schema version is read first so a newer bundle gets the right message.
pub fn parse(text: &str) -> Result<Facts, ParseError> {
    let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError::Corrupt(e.to_string()))?;
    let version = raw.get("schemaVersion").and_then(serde_json::Value::as_u64).ok_or_else(|| ParseError::Corrupt("no schemaVersion".into()))?;
    if version > BUNDLE_SCHEMA as u64 {
        return Err(ParseError::Newer(version));
    }
    // Schema 1 (veldr 0.1) kept lists as plain arrays of the same objects: they decode into the
    // typed lists object by object. Anything else that fails says which schema it was.
    serde_json::from_value(raw).map_err(|e| {
        if version < BUNDLE_SCHEMA as u64 {
            ParseError::Corrupt(format!(
                "an older bundle (schema {version}) that this veldr cannot read ({e}); record it again with `veldr doctor --save-bundle`"
            ))
        } else {
            ParseError::Corrupt(e.to_string())
        }
    })
}

/// A line for stderr when a bundle was written by an older veldr (it is read, and judged the same).
pub fn age_note(path: &Path, facts: &Facts) -> Option<String> {
    (facts.schema_version < BUNDLE_SCHEMA).then(|| {
        format!(
            "veldr: note: {} is a schema {} bundle (veldr {}); it was read as schema {BUNDLE_SCHEMA}. Record it again with --save-bundle to keep it current",
            path.display(),
            facts.schema_version,
            facts.veldr
        )
    })
}

/// Writes atomically (temporary file beside it, then rename), so a failed write keeps the old file.
pub fn save(path: &Path, facts: &Facts) -> Result<(), BundleError> {
    let text = serde_json::to_string_pretty(facts).expect("facts always serialize");
    crate::util::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| BundleError::Write { path: path.display().to_string(), source })
}
