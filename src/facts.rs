//! The collected facts: everything the judges look at, and exactly what a bundle holds.
//!
//! Collect fills a [`Facts`]; judges only read it. Objects are kept as JSON (lossless, tolerant of
//! odd objects, stable across Kubernetes versions) and read through small typed views where judged.
//! Secret values never enter `Facts` except wrapped in [`Secret`], which serializes as a fingerprint.

use crate::secret::Secret;
use jiff::Timestamp;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Bumped only when a bundle's shape changes incompatibly; loaders refuse newer bundles.
pub const BUNDLE_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    pub schema_version: u32,
    pub veldr: String,
    pub collected_at: Timestamp,
    pub target: Target,
    pub kube: KubeFacts,
    /// The velero container's effective environment, resolved from env, envFrom and the objects they name.
    pub velero_env: Option<ResolvedEnv>,
    /// Where the OpenStack credentials were taken from (`cluster`, `env`, `cloud:NAME`).
    pub credentials_source: String,
    #[serde(default)]
    pub openstack: Option<OpenStackFacts>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Target {
    pub context: Option<String>,
    pub server: Option<String>,
    pub namespace: String,
}

/// One read from the API server: what came back, or why nothing did.
pub type Read<T> = Result<T, ReadError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadErrorKind {
    /// 403: RBAC refuses the read.
    Forbidden,
    /// 401: credentials refused.
    Unauthorized,
    /// The API (a CRD) is not served by this cluster.
    NotServed,
    /// The read did not finish within its timeout.
    Timeout,
    /// No connection (refused, DNS, TLS).
    Unreachable,
    /// The answer could not be decoded.
    Malformed,
    /// The server answered with an error (5xx or unexpected status).
    Server,
    /// The read was not attempted (a read it needs failed first).
    NotAttempted,
}

/// Why a read failed, with what a person can grant or fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadError {
    pub kind: ReadErrorKind,
    pub verb: String,
    /// `secrets`, `deployments.apps`, `backupstoragelocations.velero.io`.
    pub resource: String,
    pub namespace: Option<String>,
    pub message: String,
}

impl ReadError {
    pub fn new(kind: ReadErrorKind, verb: &str, resource: &str, namespace: Option<&str>, message: impl Into<String>) -> Self {
        ReadError { kind, verb: verb.into(), resource: resource.into(), namespace: namespace.map(str::to_string), message: message.into() }
    }

    /// A 403 as RBAC answers it: for tests and for reads refused before they are sent.
    pub fn forbidden(verb: &str, resource: &str, namespace: Option<&str>) -> Self {
        Self::new(ReadErrorKind::Forbidden, verb, resource, namespace, "HTTP 403")
    }

    /// The sentence to show: what failed and, for RBAC, the permission to grant.
    pub fn explain(&self) -> String {
        let scope = match &self.namespace {
            Some(ns) => format!("in namespace {ns}"),
            None => "cluster-wide".to_string(),
        };
        match self.kind {
            ReadErrorKind::Forbidden => format!(
                "forbidden: veldr may not {} {} {scope}; grant it (see `veldr explain kube.rbac`)",
                self.verb, self.resource
            ),
            ReadErrorKind::Timeout => format!("{} {} {scope} timed out ({}); raise --timeout or check the API server", self.verb, self.resource, self.message),
            ReadErrorKind::NotServed => format!("{} is not served by this cluster (its CRD is not installed)", self.resource),
            _ => format!("{} {} {scope} failed: {}", self.verb, self.resource, self.message),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerVersion {
    pub git_version: String,
    pub major: String,
    pub minor: String,
    pub platform: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiGroup {
    pub name: String,
    pub versions: Vec<String>,
}

/// Everything read from the Kubernetes API. Each kind is listed once per run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeFacts {
    pub version: Read<ServerVersion>,
    pub api_groups: Read<Vec<ApiGroup>>,
    /// The Velero namespace object (labels carry Pod Security).
    pub namespace: Read<Option<Value>>,
    /// All Deployments, cluster-wide (Velero's, the snapshot-controller, the CSI controller).
    pub deployments: Read<Vec<Value>>,
    /// In the Velero namespace.
    pub daemonsets: Read<Vec<Value>>,
    pub pods: Read<Vec<Value>>,
    pub events: Read<Vec<Value>>,
    pub backup_storage_locations: Read<Vec<Value>>,
    pub volume_snapshot_locations: Read<Vec<Value>>,
    pub schedules: Read<Vec<Value>>,
    pub backups: Read<Vec<Value>>,
    pub pod_volume_backups: Read<Vec<Value>>,
    pub backup_repositories: Read<Vec<Value>>,
    /// Cluster-wide.
    pub volume_snapshot_classes: Read<Vec<Value>>,
    pub csi_drivers: Read<Vec<Value>>,
    pub storage_classes: Read<Vec<Value>>,
    pub persistent_volumes: Read<Vec<Value>>,
    pub persistent_volume_claims: Read<Vec<Value>>,
    /// Secrets named by the velero container, by name; metadata only (values never leave collect).
    pub secrets: BTreeMap<String, Read<Option<SecretInfo>>>,
    /// ConfigMaps named by the velero container, by name: their keys only.
    pub config_maps: BTreeMap<String, Read<Option<Vec<String>>>>,
    /// Helm 3 release records in the Velero namespace, newest revision first, values redacted.
    pub helm_releases: Read<Vec<HelmRelease>>,
}

/// A Secret without its values.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    pub name: String,
    pub type_: Option<String>,
    pub keys: Vec<String>,
    pub created: Option<Timestamp>,
    /// The newest write seen in `managedFields` (Kubernetes keeps no other change time).
    pub last_changed: Option<Timestamp>,
    pub resource_version: Option<String>,
}

/// A Helm 3 release record, decoded, with its values redacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmRelease {
    pub name: String,
    pub revision: i64,
    pub status: String,
    pub chart: String,
    pub chart_version: String,
    pub app_version: String,
    /// The user-supplied values (`helm get values`), secret-looking leaves replaced by fingerprints.
    pub user_values: Value,
    /// Set when the record could not be decoded (not gzip, not JSON): the reason.
    pub decode_error: Option<String>,
}

/// The velero container's environment as the process will see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedEnv {
    pub deployment: String,
    pub container: String,
    pub vars: BTreeMap<String, EnvVar>,
    /// References that break the pod or silently drop variables.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub value: EnvValue,
    /// Where it comes from, as a person would write it: `env`, `secret cloud-credentials key OS_AUTH_URL`.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "value")]
pub enum EnvValue {
    Plain(String),
    Secret(Secret),
    /// The value could not be read: the reason (forbidden, missing key…).
    Unresolved(String),
}

impl EnvValue {
    /// The usable text of the variable, when veldr could read it.
    pub fn text(&self) -> Option<&str> {
        match self {
            EnvValue::Plain(s) => Some(s),
            EnvValue::Secret(s) => s.expose(),
            EnvValue::Unresolved(_) => None,
        }
    }
    pub fn is_set(&self) -> bool {
        match self {
            EnvValue::Plain(s) => !s.is_empty(),
            EnvValue::Secret(s) => !s.is_empty(),
            EnvValue::Unresolved(_) => false,
        }
    }
}

impl ResolvedEnv {
    pub fn get(&self, name: &str) -> Option<&EnvVar> {
        self.vars.get(name)
    }
    /// A non-empty plain value.
    pub fn plain(&self, name: &str) -> Option<&str> {
        self.vars.get(name).and_then(|v| v.value.text()).filter(|s| !s.is_empty())
    }
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.get(name).is_some_and(|v| v.value.is_set())
    }
}

/// Typed views over JSON objects: a malformed object is reported, never a panic.
pub fn typed<T: DeserializeOwned>(items: &[Value]) -> (Vec<T>, Vec<String>) {
    let mut ok = Vec::with_capacity(items.len());
    let mut bad = Vec::new();
    for item in items {
        match serde_json::from_value::<T>(item.clone()) {
            Ok(t) => ok.push(t),
            Err(e) => bad.push(format!("{}: malformed object ({e})", object_ref(item))),
        }
    }
    (ok, bad)
}

/// `namespace/name` of a JSON object, for messages.
pub fn object_ref(item: &Value) -> String {
    let name = item.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("<unnamed>");
    match item.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// A failed OpenStack call, kept as text so a bundle can carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// `unauthorized`, `not-found`, `forbidden`, `unreachable`, `timeout`, `tls`, `http`, `bad-body`,
    /// `info-disabled`, `bad-url`, `no-region`, `no-service`, `not-attempted`.
    pub kind: String,
    pub message: String,
}

impl Problem {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Problem { kind: kind.to_string(), message: message.into() }
    }
}

pub type Outcome<T> = Result<T, Problem>;

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthFacts {
    pub auth_url: String,
    pub method: String,
    pub token: Outcome<crate::openstack::keystone::Token>,
    /// The application credential's own `expires_at` (`None`: never expires), read with its token.
    #[serde(default)]
    pub credential_expires_at: Option<Outcome<Option<jiff::Timestamp>>>,
    pub elapsed_ms: u64,
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
    pub plugin: crate::plugin::PluginConfig,
    pub endpoint: Option<Outcome<String>>,
    pub container_head: Option<Outcome<crate::openstack::swift::ContainerHead>>,
    pub account_head: Option<Outcome<crate::openstack::swift::AccountHead>>,
    pub info: Option<Outcome<crate::openstack::swift::SwiftInfo>>,
    pub signing_key: Option<SigningKey>,
    /// The probe URL without its signature.
    pub probe_url: Option<String>,
    pub probe: Option<Outcome<crate::openstack::swift::ProbeOutcome>>,
    pub timings_ms: BTreeMap<String, u64>,
}

impl Facts {
    /// Facts of a cluster where every read succeeded and found nothing: the base for unit tests
    /// of judges, which then set only the fields they are about.
    pub fn empty(namespace: &str) -> Facts {
        let none = || Ok(Vec::new());
        Facts {
            schema_version: BUNDLE_SCHEMA,
            veldr: env!("CARGO_PKG_VERSION").to_string(),
            collected_at: "2026-11-29T08:00:00Z".parse().expect("valid timestamp"),
            target: Target { context: Some("test".into()), server: Some("https://127.0.0.1:6443".into()), namespace: namespace.into() },
            kube: KubeFacts {
                version: Ok(ServerVersion { git_version: "v1.31.4".into(), major: "1".into(), minor: "31".into(), platform: "linux/amd64".into() }),
                api_groups: Ok(vec![
                    ApiGroup { name: "velero.io".into(), versions: vec!["v1".into(), "v2alpha1".into()] },
                    ApiGroup { name: "snapshot.storage.k8s.io".into(), versions: vec!["v1".into()] },
                ]),
                namespace: Ok(None),
                deployments: none(),
                daemonsets: none(),
                pods: none(),
                events: none(),
                backup_storage_locations: none(),
                volume_snapshot_locations: none(),
                schedules: none(),
                backups: none(),
                pod_volume_backups: none(),
                backup_repositories: none(),
                volume_snapshot_classes: none(),
                csi_drivers: none(),
                storage_classes: none(),
                persistent_volumes: none(),
                persistent_volume_claims: none(),
                secrets: BTreeMap::new(),
                config_maps: BTreeMap::new(),
                helm_releases: Ok(Vec::new()),
            },
            velero_env: None,
            credentials_source: "cluster".into(),
            openstack: None,
        }
    }
}
