//! What was learned from Keystone and Swift, as veldr keeps it: its own types, not the HTTP
//! client's (`crate::openstack`), so that changing the client cannot silently change a bundle.
//! `collect::openstack` converts the client's answers into these. Field names are the bundle's
//! (schema 1 and 2 alike): snake_case inside a token, a head, `/info` or a probe; camelCase around.

use crate::facts::digest::Digest;
use crate::upstream::openstack_plugin::PluginConfig;
use crate::secret::Secret;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use super::problem::{Outcome, Problem, ProblemKind};

/// What was learned from Keystone and Swift.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenStackFacts {
    /// Why nothing was asked of OpenStack, when nothing was.
    pub not_attempted: Option<String>,
    /// Where the credentials were read from, for messages.
    pub credentials_from: String,
    pub auth: Option<AuthFacts>,
    /// One per OpenStack BSL selected.
    pub targets: Vec<SwiftTarget>,
    /// `--insecure` was given: certificates were not verified.
    pub insecure: bool,
    /// The Keystone and Swift certificates checked under the plugin's own trust (credentials.tls);
    /// absent in bundles older than 0.2 and when the velero container's settings are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_tls: Option<PluginTls>,
    /// The results objects of the failed backups (`None`: not read, e.g. a bundle older than 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_results: Option<super::results::BackupResultsFacts>,
    /// The newest finished backup of each Schedule: its objects' HEADs and its volumeinfo (`None`:
    /// not read, e.g. a bundle older than 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_backups: Option<super::backup_objects::NewestBackupsFacts>,
}

/// The TLS handshakes made with the trust velero-plugin-for-openstack will use (`crate::upstream::plugin_trust`):
/// Mozilla's roots as a stand-in for the velero image's CA bundle, plus the CA files its
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` name that veldr could read; never veldr's own `OS_CACERT` or
/// `--insecure`. One handshake per distinct `host:port`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginTls {
    /// Whether the image's bundle stays in the trust (false when the CA settings replace both of
    /// Go's default places).
    pub image_roots: bool,
    /// The CA files loaded into the trust, as read from the Secrets and ConfigMaps behind them.
    pub cas: Vec<LoadedCa>,
    pub endpoints: Vec<TlsEndpoint>,
    pub elapsed_ms: u64,
}

/// A CA file of the plugin's trust that veldr read (its certificates only; any other PEM block,
/// such as a private key stored next to it, is dropped unread).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedCa {
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR`, `a mount over /etc/ssl/certs/ca-certificates.crt`.
    pub via: String,
    pub path: String,
    /// `Secret velero-ca key ca.crt`.
    pub from: String,
    pub certificates: usize,
}

/// One Keystone or Swift host and how its certificate fared under the plugin's trust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsEndpoint {
    pub host_port: String,
    /// `Keystone`, `Swift (BSL default)`.
    pub used_by: Vec<String>,
    pub result: TlsResult,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TlsResult {
    /// The chain and the host name verify.
    Verified,
    /// They do not: why, and the error Go (the plugin) reports for it.
    Untrusted { reason: String, go_error: String },
    /// No certificate to judge: unreachable, a plain-HTTP port, no answer in time.
    NoHandshake { problem: Problem },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthFacts {
    pub auth_url: String,
    pub method: String,
    pub token: Outcome<KeystoneToken>,
    /// The application credential's own `expires_at` (`None`: never expires), read with its token.
    #[serde(default)]
    pub credential_expires_at: Option<Outcome<Option<Timestamp>>>,
    pub elapsed_ms: u64,
}

/// A Keystone token and what its body says; the token itself only as a fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeystoneToken {
    pub value: Secret,
    pub expires_at: Timestamp,
    pub issued_at: Option<Timestamp>,
    pub methods: Vec<String>,
    pub roles: Vec<String>,
    pub project: Option<ProjectInfo>,
    pub user: UserInfo,
    pub catalog: Vec<CatalogEntry>,
    pub application_credential: Option<AppCredentialInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInfo {
    pub id: String,
    pub name: String,
    pub domain: Option<DomainInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub name: String,
    pub domain: Option<DomainInfo>,
}

/// One service of the token's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    #[serde(rename = "type")]
    pub service_type: String,
    pub name: String,
    pub endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEndpoint {
    pub interface: String,
    pub region: Option<String>,
    pub region_id: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCredentialInfo {
    pub id: String,
    pub name: String,
    /// A restricted credential cannot create other credentials or trusts (Keystone's default).
    pub restricted: bool,
    /// The credential carries access rules: it can only call the APIs they list.
    pub access_rules: bool,
}

/// Which key the plugin signs temp URLs with (it never uses the `-2` keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "from", content = "key")]
pub enum SigningKey {
    /// `OS_SWIFT_TEMP_URL_KEY`.
    Env(Secret),
    /// `X-Container-Meta-Temp-URL-Key`.
    Container(Secret),
    /// `X-Account-Meta-Temp-URL-Key`.
    Account(Secret),
    /// None: the plugin fails with "Unable to obtain the Temp URL key".
    None,
}

impl SigningKey {
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            SigningKey::Env(s) | SigningKey::Container(s) | SigningKey::Account(s) => Some(s),
            SigningKey::None => None,
        }
    }
    pub fn source(&self) -> &'static str {
        match self {
            SigningKey::Env(_) => "OS_SWIFT_TEMP_URL_KEY",
            SigningKey::Container(_) => "the container's Temp-URL-Key",
            SigningKey::Account(_) => "the account's Temp-URL-Key",
            SigningKey::None => "none",
        }
    }
}

/// One BSL's Swift side: endpoint, container, keys, `/info` and the live temp-URL probe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwiftTarget {
    pub bsl: String,
    pub container: String,
    pub plugin: PluginConfig,
    pub endpoint: Option<Outcome<String>>,
    pub container_head: Option<Outcome<ContainerHead>>,
    pub account_head: Option<Outcome<AccountHead>>,
    pub info: Option<Outcome<SwiftInfo>>,
    pub signing_key: Option<SigningKey>,
    /// The probe URL without its signature.
    pub probe_url: Option<String>,
    pub probe: Option<Outcome<ProbeOutcome>>,
    /// Milliseconds each call took: `container`, `account`, `info`, `probe`, `listing`.
    pub timings_ms: BTreeMap<String, u64>,
    /// The BSL's backups as one bounded container listing shows them (swift.capacity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_listing: Option<Outcome<BackupListing>>,
    /// The same listing, backup by backup (backup.inventory; `None`: not listed, e.g. a bundle older
    /// than 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_objects: Option<Outcome<super::backup_objects::BackupObjects>>,
}

/// `GET <container>?format=json&prefix=<prefix>backups/&limit=N`: how many objects, and the largest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupListing {
    /// `backups/`, or `<BSL prefix>/backups/`.
    pub prefix: String,
    pub limit: u64,
    /// Objects in the answer (at most `limit`).
    pub listed: u64,
    /// The answer held `limit` objects: there may be more, not looked at.
    pub capped: bool,
    pub largest: Option<ListedObject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedObject {
    pub name: String,
    pub bytes: u64,
}

/// Whether veldr's credential is the Swift owner, as far as an answer shows: the proxy shows its
/// owner-only headers (temp-URL keys, ACLs) to the owner alone, so seeing one proves ownership
/// and seeing none proves nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Ownership {
    /// Owner-only headers were present (their names, lower case).
    Owner { evidence: Vec<String> },
    /// None was present: either not the owner, or the owner of something with none set.
    Unknown,
}

impl Ownership {
    pub fn is_owner(&self) -> bool {
        matches!(self, Ownership::Owner { .. })
    }
}

/// `HEAD` of the Swift account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountHead {
    pub status: u16,
    pub container_count: Option<u64>,
    pub object_count: Option<u64>,
    pub bytes_used: Option<u64>,
    pub temp_url_key: Option<Secret>,
    pub temp_url_key_2: Option<Secret>,
    /// Swift's `Date` header.
    pub date: Option<Timestamp>,
    pub ownership: Ownership,
    /// `X-Account-Meta-Quota-Bytes` (account_quotas, set by a reseller admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<u64>,
}

/// `HEAD` of the BSL's container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerHead {
    pub status: u16,
    pub object_count: Option<u64>,
    pub bytes_used: Option<u64>,
    pub temp_url_key: Option<Secret>,
    pub temp_url_key_2: Option<Secret>,
    /// `X-Container-Read`, when shown (owner only).
    pub read_acl: Option<String>,
    pub storage_policy: Option<String>,
    pub date: Option<Timestamp>,
    pub ownership: Ownership,
    /// `X-Container-Meta-Quota-Bytes` and `-Count` (container_quotas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_count: Option<u64>,
}

/// What Swift's `/info` says about the capabilities that matter here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwiftInfo {
    pub version: Option<String>,
    /// `None`: no `tempurl` section, the middleware is not in the pipeline.
    pub tempurl: Option<TempUrlInfo>,
    /// Names of all capability sections (middlewares), for the record.
    pub sections: Vec<String>,
    /// `swift.max_file_size`: the largest object one PUT may create (Swift's default 5 GiB + 2 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    /// `swift.container_listing_limit`: the most objects one listing answers (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_listing_limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TempUrlInfo {
    pub methods: Vec<String>,
    /// Allowed digests; `["sha1"]` when the section lists none (Swift before digests were
    /// configurable supported only SHA-1).
    pub allowed_digests: Vec<String>,
    /// Whether `allowed_digests` was listed or inferred.
    pub allowed_digests_listed: bool,
    /// Allowed but deprecated.
    pub deprecated_digests: Vec<String>,
}

impl TempUrlInfo {
    pub fn allows(&self, digest: Digest) -> bool {
        self.allowed_digests.iter().any(|d| d == digest.name())
    }
    pub fn deprecates(&self, digest: Digest) -> bool {
        self.deprecated_digests.iter().any(|d| d == digest.name())
    }
}

/// How Swift judged a URL signed as the plugin signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProbeVerdict {
    /// 404: the signature was accepted and the probe object does not exist.
    Accepted,
    /// 200: accepted, and the object exists.
    AcceptedObjectExists,
    /// 401 `Temp URL invalid`: tempurl judged and refused it.
    Rejected,
    /// 401/403 without that text: tempurl did not judge it.
    NotJudgedByTempurl,
    Unexpected { status: u16 },
}

/// The temp-URL probe's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeOutcome {
    pub verdict: ProbeVerdict,
    pub status: u16,
    /// Start of the body of a refusal; empty for a 2xx (object data is never kept).
    pub body_excerpt: String,
    /// Swift's `Date` header.
    pub swift_date: Option<Timestamp>,
    /// Local time when the answer arrived, to compare with `swift_date`.
    pub local_date: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_kinds_keep_their_bundle_names() {
        for (kind, name) in [
            (ProblemKind::Unauthorized, "unauthorized"),
            (ProblemKind::NotFound, "not-found"),
            (ProblemKind::Forbidden, "forbidden"),
            (ProblemKind::Unreachable, "unreachable"),
            (ProblemKind::Timeout, "timeout"),
            (ProblemKind::Tls, "tls"),
            (ProblemKind::Http, "http"),
            (ProblemKind::BadBody, "bad-body"),
            (ProblemKind::InfoDisabled, "info-disabled"),
            (ProblemKind::BadUrl, "bad-url"),
            (ProblemKind::NoRegion, "no-region"),
            (ProblemKind::NoService, "no-service"),
            (ProblemKind::NotAttempted, "not-attempted"),
        ] {
            let json = serde_json::to_value(Problem::new(kind, "m")).unwrap();
            assert_eq!(json, serde_json::json!({"kind": name, "message": "m"}));
            assert_eq!(serde_json::from_value::<Problem>(json).unwrap().kind, kind);
        }
    }

    #[test]
    fn a_token_keeps_its_bundle_shape_and_never_its_value() {
        let json = r#"{"value":"sha256:7c907c92","expires_at":"2026-11-29T10:59:19Z","issued_at":null,
            "methods":["application_credential"],"roles":["member"],"project":{"id":"p","name":"veldr","domain":null},
            "user":{"id":"u","name":"velero-user","domain":{"id":"default","name":"Default"}},
            "catalog":[{"type":"object-store","name":"swift","endpoints":[{"interface":"public","region":"R","region_id":"R","url":"http://s/v1/AUTH_p"}]}],
            "application_credential":{"id":"ac","name":"velero","restricted":true,"access_rules":false}}"#;
        let t: KeystoneToken = serde_json::from_str(json).unwrap();
        assert_eq!(t.catalog[0].endpoints[0].region_id.as_deref(), Some("R"));
        let back: serde_json::Value = serde_json::to_value(&t).unwrap();
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(json).unwrap());
        let secret = KeystoneToken { value: Secret::new("gAAAAAtokenvalue"), ..t };
        assert!(!serde_json::to_string(&secret).unwrap().contains("gAAAAAtokenvalue"));
    }
}
