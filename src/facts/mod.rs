//! The collected facts: everything the judges look at, and exactly what a bundle holds.
//!
//! Collect fills a [`Facts`]; judges only read it. Kubernetes objects are typed: core kinds as
//! k8s-openapi types, Velero's and the snapshot API's as veldr's own structs holding the fields
//! veldr judges ([`velero`]). Each object is decoded on its own, so one that does not decode is
//! kept as [`list::Malformed`] and judged as such, never failing its whole list.
//! Secret values never enter `Facts` except wrapped in [`Secret`], which serializes as a fingerprint.

pub mod backup_objects;
pub mod bundle;
pub mod crds;
pub mod digest;
pub mod list;
pub mod logs;
pub mod openstack;
pub mod problem;
pub mod restore;
pub mod results;
pub mod snapshots;
pub mod velero;
pub mod verify;
pub mod volumes;

pub use backup_objects::*;
pub use crds::InstalledCrd;
pub use list::{List, Malformed, Object};
pub use openstack::*;
pub use problem::{Outcome, Problem, ProblemKind};
pub use results::{BackupResultsFacts, Messages, ResultsRead, VeleroResults};
pub use snapshots::*;
pub use velero::*;
pub use volumes::{PersistentVolume, PersistentVolumeClaim};

use crate::secret::Secret;
pub use crate::upstream::velero_resource_policy::ResourcePolicy;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use k8s_openapi::api::storage::v1::{CSIDriver, StorageClass};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The bundle's shape. 2: typed objects (`{items, malformed}` lists, veldr's own OpenStack facts).
/// Loaders read 1 and 2 (a 1 bundle's lists are plain arrays of the same objects) and refuse newer.
pub const BUNDLE_SCHEMA: u32 = 2;

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
    /// `veldr restore-check`'s facts (absent from the doctor's runs and bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<restore::RestoreFacts>,
    /// What `veldr verify` did: its test Backup, watched, judged and cleaned up (`None` for doctor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<verify::VerifyFacts>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Target {
    pub context: Option<String>,
    pub server: Option<String>,
    pub namespace: String,
    /// Why this namespace: "from -n", "from VELERO_NAMESPACE", the only Velero Deployment, ...
    #[serde(rename = "namespaceSource", default, skip_serializing_if = "Option::is_none")]
    pub namespace_source: Option<String>,
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
    /// Not read: no selected check needs it (`--only`/`--skip`).
    NotNeeded,
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

    /// A kind that no selected check needs, so it was not read.
    pub fn not_needed(resource: &str) -> Self {
        Self::new(ReadErrorKind::NotNeeded, "list", resource, None, "not read: no selected check needs it")
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

/// A fact a check needs collected. Checks declare theirs; collect reads only what the selected
/// checks need (the API server's version and groups are always read: every check needs a cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    Namespace,
    Deployments,
    DaemonSets,
    Pods,
    Events,
    BackupStorageLocations,
    VolumeSnapshotLocations,
    Schedules,
    Backups,
    PodVolumeBackups,
    BackupRepositories,
    Restores,
    DeleteBackupRequests,
    PodVolumeRestores,
    /// `velero.io/v2alpha1` (Velero 1.12+); an older Velero does not serve it.
    DataUploads,
    DataDownloads,
    VolumeSnapshotClasses,
    CsiDrivers,
    StorageClasses,
    PersistentVolumes,
    PersistentVolumeClaims,
    /// Cluster-wide, `snapshot.storage.k8s.io/v1`.
    VolumeSnapshots,
    VolumeSnapshotContents,
    /// The `[Snapshot]` limits of the vSphere CSI config secret (one GET by name per candidate namespace).
    VsphereConfig,
    /// The vSphere CSI feature-states ConfigMap (one GET by name per candidate namespace).
    VsphereFeatureStates,
    /// The velero container's environment: its Deployment, and the secrets and config maps it names.
    VeleroEnv,
    /// Velero's CustomResourceDefinitions (labelled `component=velero`), reduced to their enums.
    VeleroCrds,
    /// The velero container's log (`get pods/log`) of the Velero Deployment's pods: the last hour, and the
    /// previous container's when it restarted; implies Deployments and Pods.
    VeleroLogs,
    HelmReleases,
    /// Keystone and Swift (token, catalog, container, keys, `/info`, the temp-URL probe).
    OpenStack,
    /// The results objects of the failed backups, from Swift with the token (implies OpenStack and Backups).
    BackupResults,
    /// The results objects of the failed restores, from their backups' BSLs with the token (implies
    /// OpenStack, Restores and Backups: a restore's BSL is its backup's).
    RestoreResults,
    /// The resource-policy ConfigMaps the Schedules name (`spec.template.resourcePolicy`), each by name
    /// (implies Schedules).
    ResourcePolicies,
    /// The newest finished backup of each Schedule, from Swift with the token: the HEADs of its objects
    /// and its volumeinfo (implies OpenStack, Backups and Schedules). Read only when Swift is asked at
    /// all: `--skip openstack` (or swift.container) leaves it out ([`Need::through_swift`]).
    NewestBackups,
}

impl Need {
    /// Read from Swift by a check that judges the cluster too: when the selection skips
    /// swift.container (`--skip openstack`), these are not read and the check judges without them.
    pub fn through_swift(self) -> bool {
        matches!(self, Need::NewestBackups | Need::RestoreResults)
    }
}

/// The OpenStack reads a check's time can be attributed to (`CheckDef::timed_by`). The Swift ones
/// are the slowest over the BSLs, which run concurrently; their names are `SwiftTarget::timings_ms`'s keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpenStackRead {
    Token,
    Container,
    Account,
    Info,
    Probe,
    /// The results objects of the failed backups (`backup.failures`), read concurrently.
    Results,
    /// The bounded listing of the BSL's `backups/` (swift.capacity).
    Listing,
    /// The TLS handshakes under the plugin's trust (credentials.tls), all hosts at once.
    PluginTls,
}

impl OpenStackRead {
    pub const SWIFT: [OpenStackRead; 5] =
        [OpenStackRead::Container, OpenStackRead::Account, OpenStackRead::Info, OpenStackRead::Probe, OpenStackRead::Listing];

    /// The key of this read in `SwiftTarget::timings_ms` (not for the token, timed in `AuthFacts`,
    /// nor the plugin-trust handshakes, timed in `PluginTls`).
    pub fn key(self) -> &'static str {
        match self {
            OpenStackRead::Token => "token",
            OpenStackRead::Container => "container",
            OpenStackRead::Account => "account",
            OpenStackRead::Info => "info",
            OpenStackRead::Probe => "probe",
            OpenStackRead::Results => "results",
            OpenStackRead::Listing => "listing",
            OpenStackRead::PluginTls => "plugin-tls",
        }
    }
}

/// Everything read from the Kubernetes API. Each kind is listed once per run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeFacts {
    pub version: Read<ServerVersion>,
    pub api_groups: Read<Vec<ApiGroup>>,
    /// The Velero namespace object (labels carry Pod Security).
    pub namespace: Read<Option<Namespace>>,
    /// All Deployments, cluster-wide (Velero's, the snapshot-controller, the CSI controller).
    pub deployments: Read<List<Deployment>>,
    /// In the Velero namespace.
    pub daemonsets: Read<List<DaemonSet>>,
    pub pods: Read<List<Pod>>,
    pub events: Read<List<Event>>,
    pub backup_storage_locations: Read<List<BackupStorageLocation>>,
    pub volume_snapshot_locations: Read<List<VolumeSnapshotLocation>>,
    pub schedules: Read<List<Schedule>>,
    pub backups: Read<List<Backup>>,
    pub pod_volume_backups: Read<List<PodVolumeBackup>>,
    pub backup_repositories: Read<List<BackupRepository>>,
    // Added in 0.2: bundles written before lack them, and load as "not read".
    #[serde(default = "not_read::velero::<Restore>")]
    pub restores: Read<List<Restore>>,
    #[serde(default = "not_read::velero::<DeleteBackupRequest>")]
    pub delete_backup_requests: Read<List<DeleteBackupRequest>>,
    #[serde(default = "not_read::velero::<PodVolumeRestore>")]
    pub pod_volume_restores: Read<List<PodVolumeRestore>>,
    #[serde(default = "not_read::velero::<DataUpload>")]
    pub data_uploads: Read<List<DataUpload>>,
    #[serde(default = "not_read::velero::<DataDownload>")]
    pub data_downloads: Read<List<DataDownload>>,
    /// Cluster-wide.
    pub volume_snapshot_classes: Read<List<VolumeSnapshotClass>>,
    pub csi_drivers: Read<List<CSIDriver>>,
    pub storage_classes: Read<List<StorageClass>>,
    pub persistent_volumes: Read<List<PersistentVolume>>,
    pub persistent_volume_claims: Read<List<PersistentVolumeClaim>>,
    // Added in 0.2: bundles written before load them as not read.
    #[serde(default = "not_read::volume_snapshots")]
    pub volume_snapshots: Read<List<VolumeSnapshot>>,
    #[serde(default = "not_read::volume_snapshot_contents")]
    pub volume_snapshot_contents: Read<List<VolumeSnapshotContent>>,
    /// What veldr keeps of `vsphere-config-secret`: where it is and its `[Snapshot]` limits (`None`: not found).
    #[serde(default = "not_read::vsphere_config")]
    pub vsphere_config: Read<Option<VsphereConfig>>,
    #[serde(default = "not_read::vsphere_feature_states")]
    pub vsphere_feature_states: Read<Option<VsphereFeatureStates>>,
    /// The resource-policy ConfigMaps the Schedules name, by name, parsed as Velero reads them
    /// (`None`: no such ConfigMap). Added in 0.3.
    #[serde(default = "not_read::resource_policies")]
    pub resource_policies: Read<BTreeMap<String, Read<Option<ResourcePolicy>>>>,
    /// Secrets named by the velero container, by name; metadata only (values never leave collect).
    pub secrets: BTreeMap<String, Read<Option<SecretInfo>>>,
    /// ConfigMaps named by the velero container, by name: their keys only.
    pub config_maps: BTreeMap<String, Read<Option<Vec<String>>>>,
    /// Helm 3 release records in the Velero namespace, newest revision first, values redacted.
    pub helm_releases: Read<Vec<HelmRelease>>,
    // Added in 0.3: bundles written before load them as not read.
    /// Velero's CRDs (label `component=velero`), each version's schema reduced to its enums.
    #[serde(default = "not_read::velero_crds")]
    pub velero_crds: Read<List<InstalledCrd>>,
    /// What veldr keeps of the velero container's log: counts and scrubbed telltale lines (`None`: no current pod).
    #[serde(default = "not_read::velero_logs")]
    pub velero_logs: Read<Option<logs::VeleroLogs>>,
}

/// Defaults for facts added after bundle schema 2 was set: a bundle without them did not read them.
mod not_read {
    use super::*;

    /// Velero kinds added in 0.2 (`restores.velero.io`, ...).
    pub fn velero<T: Object>() -> Read<List<T>> {
        Err(ReadError::not_needed(&format!("{}s.velero.io", T::KIND.to_lowercase())))
    }
    pub fn volume_snapshots() -> Read<List<VolumeSnapshot>> {
        Err(ReadError::not_needed("volumesnapshots.snapshot.storage.k8s.io"))
    }
    pub fn volume_snapshot_contents() -> Read<List<VolumeSnapshotContent>> {
        Err(ReadError::not_needed("volumesnapshotcontents.snapshot.storage.k8s.io"))
    }
    pub fn vsphere_config() -> Read<Option<VsphereConfig>> {
        Err(ReadError::new(ReadErrorKind::NotNeeded, "get", "secrets", None, "not read: no selected check needs it"))
    }
    pub fn velero_logs() -> Read<Option<super::logs::VeleroLogs>> {
        Err(ReadError::new(ReadErrorKind::NotNeeded, "get", "pods/log", None, "not read: no selected check needs it"))
    }
    pub fn velero_crds() -> Read<List<InstalledCrd>> {
        Err(ReadError::not_needed("customresourcedefinitions.apiextensions.k8s.io"))
    }
    pub fn vsphere_feature_states() -> Read<Option<VsphereFeatureStates>> {
        Err(ReadError::new(ReadErrorKind::NotNeeded, "get", "configmaps", None, "not read: no selected check needs it"))
    }
    pub fn resource_policies() -> Read<BTreeMap<String, Read<Option<ResourcePolicy>>>> {
        Err(ReadError::new(ReadErrorKind::NotNeeded, "get", "configmaps", None, "not read: a bundle from before veldr 0.3, or no selected check needs it"))
    }
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

impl KubeFacts {
    /// The objects of a listed kind that did not decode (`None` for a need that is not a list, or a
    /// list that could not be read).
    pub fn malformed(&self, need: Need) -> Option<&[Malformed]> {
        fn of<T>(read: &Read<List<T>>) -> Option<&[Malformed]> {
            read.as_ref().ok().map(|l| l.malformed.as_slice())
        }
        match need {
            Need::Deployments => of(&self.deployments),
            Need::DaemonSets => of(&self.daemonsets),
            Need::Pods => of(&self.pods),
            Need::Events => of(&self.events),
            Need::BackupStorageLocations => of(&self.backup_storage_locations),
            Need::VolumeSnapshotLocations => of(&self.volume_snapshot_locations),
            Need::Schedules => of(&self.schedules),
            Need::Backups => of(&self.backups),
            Need::PodVolumeBackups => of(&self.pod_volume_backups),
            Need::BackupRepositories => of(&self.backup_repositories),
            Need::Restores => of(&self.restores),
            Need::DeleteBackupRequests => of(&self.delete_backup_requests),
            Need::PodVolumeRestores => of(&self.pod_volume_restores),
            Need::DataUploads => of(&self.data_uploads),
            Need::DataDownloads => of(&self.data_downloads),
            Need::VolumeSnapshotClasses => of(&self.volume_snapshot_classes),
            Need::CsiDrivers => of(&self.csi_drivers),
            Need::StorageClasses => of(&self.storage_classes),
            Need::PersistentVolumes => of(&self.persistent_volumes),
            Need::PersistentVolumeClaims => of(&self.persistent_volume_claims),
            Need::VolumeSnapshots => of(&self.volume_snapshots),
            Need::VolumeSnapshotContents => of(&self.volume_snapshot_contents),
            Need::VeleroCrds => of(&self.velero_crds),
            _ => None,
        }
    }
}

impl Need {
    /// Whether veldr reads this kind in the Velero namespace only (or, for Deployments, looks for
    /// Velero's there): a malformed object elsewhere is none of the judges' business.
    pub fn in_velero_namespace(self) -> bool {
        !matches!(
            self,
            Need::VolumeSnapshotClasses
                | Need::CsiDrivers
                | Need::StorageClasses
                | Need::PersistentVolumes
                | Need::PersistentVolumeClaims
                | Need::VolumeSnapshots
                | Need::VolumeSnapshotContents
                | Need::VeleroCrds
        )
    }
}

impl Facts {
    /// Facts of a cluster where every read succeeded and found nothing: the base for unit tests
    /// of judges, which then set only the fields they are about.
    pub fn empty(namespace: &str) -> Facts {
        
        Facts {
            schema_version: BUNDLE_SCHEMA,
            veldr: env!("CARGO_PKG_VERSION").to_string(),
            collected_at: "2026-11-29T08:00:00Z".parse().expect("valid timestamp"),
            target: Target { context: Some("test".into()), server: Some("https://127.0.0.1:6443".into()), namespace: namespace.into(), namespace_source: None },
            kube: KubeFacts {
                version: Ok(ServerVersion { git_version: "v1.31.4".into(), major: "1".into(), minor: "31".into(), platform: "linux/amd64".into() }),
                api_groups: Ok(vec![
                    ApiGroup { name: "velero.io".into(), versions: vec!["v1".into(), "v2alpha1".into()] },
                    ApiGroup { name: "snapshot.storage.k8s.io".into(), versions: vec!["v1".into()] },
                ]),
                namespace: Ok(None),
                deployments: Ok(List::default()),
                daemonsets: Ok(List::default()),
                pods: Ok(List::default()),
                events: Ok(List::default()),
                backup_storage_locations: Ok(List::default()),
                volume_snapshot_locations: Ok(List::default()),
                schedules: Ok(List::default()),
                backups: Ok(List::default()),
                pod_volume_backups: Ok(List::default()),
                backup_repositories: Ok(List::default()),
                restores: Ok(List::default()),
                delete_backup_requests: Ok(List::default()),
                pod_volume_restores: Ok(List::default()),
                data_uploads: Ok(List::default()),
                data_downloads: Ok(List::default()),
                volume_snapshot_classes: Ok(List::default()),
                csi_drivers: Ok(List::default()),
                storage_classes: Ok(List::default()),
                persistent_volumes: Ok(List::default()),
                persistent_volume_claims: Ok(List::default()),
                volume_snapshots: Ok(List::default()),
                volume_snapshot_contents: Ok(List::default()),
                vsphere_config: Ok(None),
                vsphere_feature_states: Ok(None),
                resource_policies: Ok(BTreeMap::new()),
                secrets: BTreeMap::new(),
                config_maps: BTreeMap::new(),
                helm_releases: Ok(Vec::new()),
                velero_crds: Ok(List::default()),
                velero_logs: Ok(None),
            },
            velero_env: None,
            credentials_source: "cluster".into(),
            openstack: None,
            restore: None,
            verify: None,
        }
    }
}
