//! Keystone tokens kept between runs of `veldr serve`, in memory only.
//!
//! A `veldr doctor` asks for one token per run. An exporter running every few minutes would ask
//! Keystone for a new token each time (and make Swift validate each new one against Keystone), so
//! it keeps its token until shortly before it expires. Kept by credential: a changed secret, user
//! or auth URL is another entry, so a rotated credential is used from the first run after the
//! change. The cache is never serialized: `KeystoneToken`'s value is a `Secret`, and this type has
//! neither `Serialize` nor a `Debug` that shows a token.

use crate::openstack::keystone::{AuthMethod, Token};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long before its expiry a kept token is no longer used: a run must not start with a token
/// that runs out while it is reading.
pub const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// Tokens by credential. Cloning shares the cache (one per `veldr serve`).
#[derive(Clone, Default)]
pub struct TokenCache {
    kept: Arc<Mutex<BTreeMap<CredentialKey, Token>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenCache({} kept)", self.lock().len())
    }
}

/// Identifies a credential set without holding it: SHA-256 over the auth URL, the method and its
/// identifiers, and the secret.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CredentialKey(String);

impl CredentialKey {
    pub fn of(auth_url: &str, method: &AuthMethod) -> Self {
        let mut h = Sha256::new();
        for part in [auth_url, &method.describe(), method.secret_value().unwrap_or("")] {
            h.update(part.as_bytes());
            // A separator that cannot occur in the parts keeps ("ab", "c") apart from ("a", "bc").
            h.update([0u8]);
        }
        if let AuthMethod::Password { project, .. } = method {
            h.update(format!("{project:?}").as_bytes());
        }
        CredentialKey(hex::encode(h.finalize()))
    }
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<CredentialKey, Token>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept token for `key` when it stays valid for the whole run (`run` long) and
    /// [`RENEW_BEFORE`] beyond; an older one is dropped.
    pub fn fresh(&self, key: &CredentialKey, run: Duration) -> Option<Token> {
        let mut kept = self.lock();
        let token = kept.get(key)?;
        let margin = jiff::SignedDuration::try_from(run + RENEW_BEFORE).unwrap_or(jiff::SignedDuration::MAX);
        let usable_until = jiff::Timestamp::now().checked_add(margin).unwrap_or(jiff::Timestamp::MAX);
        if token.expires_at > usable_until {
            Some(token.clone())
        } else {
            kept.remove(key);
            None
        }
    }

    pub fn keep(&self, key: CredentialKey, token: Token) {
        self.lock().insert(key, token);
    }

    /// Forgets the token for `key` (Keystone or Swift refused it: revoked, or new Keystone keys).
    pub fn forget(&self, key: &CredentialKey) {
        self.lock().remove(key);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openstack::keystone::UserRef;
    use crate::secret::Secret;

    fn token(expires_in: jiff::SignedDuration) -> Token {
        let body = serde_json::json!({"token": {
            "expires_at": (jiff::Timestamp::now() + expires_in).to_string(),
            "user": {"id": "u1", "name": "velero"},
        }});
        crate::openstack::keystone::parse_token_body(Secret::new("gAAAA-token"), &body.to_string()).unwrap()
    }

    fn app(id: &str, secret: &str) -> AuthMethod {
        AuthMethod::AppCredentialId { id: id.into(), secret: Secret::new(secret) }
    }

    #[test]
    fn a_kept_token_is_used_until_shortly_before_it_expires() {
        let cache = TokenCache::default();
        let key = CredentialKey::of("http://ks/v3", &app("id1", "s3cret"));
        let run = Duration::from_secs(30);
        assert!(cache.fresh(&key, run).is_none());
        cache.keep(key.clone(), token(jiff::SignedDuration::from_hours(1)));
        assert!(cache.fresh(&key, run).is_some());
        // Within RENEW_BEFORE + the run of its expiry: dropped, a new one is asked for.
        cache.keep(key.clone(), token(jiff::SignedDuration::from_mins(5)));
        assert!(cache.fresh(&key, run).is_none());
        assert!(cache.is_empty(), "an expiring token is not kept");
    }

    #[test]
    fn a_changed_credential_is_another_entry() {
        let key = CredentialKey::of("http://ks/v3", &app("id1", "s3cret"));
        assert!(key == CredentialKey::of("http://ks/v3", &app("id1", "s3cret")));
        assert!(key != CredentialKey::of("http://ks/v3", &app("id1", "n3w-secret")), "rotated secret");
        assert!(key != CredentialKey::of("http://ks/v3", &app("id2", "s3cret")), "other credential");
        assert!(key != CredentialKey::of("http://other/v3", &app("id1", "s3cret")), "other Keystone");
        let pw = |p: &str| AuthMethod::Password { user: UserRef::Id("u".into()), password: Secret::new(p), project: None };
        assert!(CredentialKey::of("http://ks/v3", &pw("a")) != CredentialKey::of("http://ks/v3", &pw("b")));
        assert!(!key.0.contains("s3cret"));
    }

    #[test]
    fn the_cache_never_shows_a_token() {
        let cache = TokenCache::default();
        cache.keep(CredentialKey::of("u", &app("i", "s")), token(jiff::SignedDuration::from_hours(1)));
        assert_eq!(format!("{cache:?}"), "TokenCache(1 kept)");
    }
}
