//! Velero's and the snapshot API's objects, as veldr keeps them: the fields veldr judges, with
//! Kubernetes' JSON names (so a bundle reads like `kubectl get -o json`). Unknown fields are
//! dropped at decode time; that is what keeps memory proportional to what is judged.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// Velero's `config` maps are `map[string]string`; manifests written by hand sometimes hold
/// `true` or `3` there, which the API server stores as given. They are read as their text.
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Null => None,
            other => Some((k, other.to_string())),
        })
        .collect())
}

/// `null` reads as the default (Go's omitempty writes absent, hand-written YAML writes `~`).
pub(crate) fn or_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupStorageLocation {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: BslSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: BslStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BslSpec {
    #[serde(default, deserialize_with = "or_default")]
    pub provider: String,
    #[serde(default, deserialize_with = "or_default")]
    pub object_storage: ObjectStorage,
    #[serde(default, deserialize_with = "string_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<SecretKeyRef>,
    #[serde(default, deserialize_with = "or_default")]
    pub default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_frequency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectStorage {
    #[serde(default, deserialize_with = "or_default")]
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Only whether one is set matters to the judges; the PEM itself is public data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecretKeyRef {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BslStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_validation_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_time: Option<Timestamp>,
}

impl BackupStorageLocation {
    /// The OpenStack plugin's object store (Swift), by its current and its legacy provider name.
    /// (`openstack-cinder`/`-manila` are the plugin's volume snapshotters, never a BSL's store.)
    pub fn is_openstack(&self) -> bool {
        matches!(self.spec.provider.as_str(), "community.openstack.org/openstack" | "openstack")
    }
}

/// The BSLs `--bsl` selects (all of them when it names none); collect and the judges both use it.
pub fn select_bsls<'a>(all: &'a [BackupStorageLocation], filter: &[String]) -> Vec<&'a BackupStorageLocation> {
    use super::list::Object;
    all.iter().filter(|b| filter.is_empty() || filter.iter().any(|f| f == b.name())).collect()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotLocation {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: VslSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: PhaseStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VslSpec {
    #[serde(default, deserialize_with = "or_default")]
    pub provider: String,
    #[serde(default, deserialize_with = "string_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

/// The part of a Backup's spec veldr judges; a Schedule's `template` has the same shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupSpec {
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Vec::is_empty")]
    pub included_namespaces: Vec<String>,
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Vec::is_empty")]
    pub excluded_namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Vec::is_empty")]
    pub or_label_selectors: Vec<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_volumes: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_move_data: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_volumes_to_fs_backup: Option<bool>,
    /// The pre-1.10 name of `defaultVolumesToFsBackup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_volumes_to_restic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_location: Option<String>,
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Vec::is_empty")]
    pub volume_snapshot_locations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_snapshot_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_operation_timeout: Option<String>,
    /// `{kind: configmap, name}`: the ConfigMap in Velero's namespace holding the resource policies
    /// (`volumePolicies`) its backups apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<TypedObjectRef>,
}

/// `corev1.TypedLocalObjectReference` (`apiGroup` aside).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TypedObjectRef {
    #[serde(default, deserialize_with = "or_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: ScheduleSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: ScheduleStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    #[serde(default, deserialize_with = "or_default")]
    pub schedule: String,
    #[serde(default, deserialize_with = "or_default")]
    pub paused: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub template: BackupSpec,
    /// Its Backups get an ownerReference to it: deleting the Schedule deletes them (with their data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_owner_references_in_backup: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<Timestamp>,
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: BackupSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: BackupStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<String>,
    /// Items backed up so far and in all, while it runs (Velero updates it as it goes).
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Option::is_none")]
    pub progress: Option<BackupProgress>,
    /// CSI VolumeSnapshots taken, and those whose snapshot completed (set when it finalizes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume_snapshots_attempted: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume_snapshots_completed: Option<i64>,
    /// Its place in Velero's backup queue while `Queued` (Velero 1.17+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<i64>,
}

/// `status.progress` of a Backup (pkg/apis/velero/v1/backup_types.go `BackupProgress`, v1.18.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupProgress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_items: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_backed_up: Option<i64>,
}

/// The API server version of the cluster that made a Backup (`pkg/apis/velero/v1/labels_annotations.go`,
/// set by `pkg/controller/backup_controller.go` from discovery); kept when the sync controller copies
/// the Backup into another cluster.
pub const SOURCE_CLUSTER_GITVERSION: &str = "velero.io/source-cluster-k8s-gitversion";

impl Backup {
    /// The Schedule that made this backup (label `velero.io/schedule-name`).
    pub fn schedule(&self) -> Option<&str> {
        use super::list::Object;
        self.label("velero.io/schedule-name")
    }

    /// The API server version of the cluster that made it (annotation [`SOURCE_CLUSTER_GITVERSION`]).
    pub fn source_gitversion(&self) -> Option<&str> {
        use super::list::Object;
        self.annotation(SOURCE_CLUSTER_GITVERSION).filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodVolumeBackup {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: PodVolumeSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: PhaseStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodVolumeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_storage_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_identifier: Option<String>,
    /// The pod whose volume is backed up or restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
}

/// `corev1.ObjectReference`, the part that names an object.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `status.phase` + `status.message`, the shape several Velero kinds share.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRepository {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: BackupRepositorySpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: PhaseStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRepositorySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_storage_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_type: Option<String>,
}

/// A Restore: the part of its spec that names what it restores and how long it may wait.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restore {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: RestoreSpec,
    /// Velero's RestoreStatus has the fields of BackupStatus that veldr keeps (`expiration` aside).
    #[serde(default, deserialize_with = "or_default")]
    pub status: BackupStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_operation_timeout: Option<String>,
}

/// `velero backup delete` asks for a deletion with one of these; the server processes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteBackupRequest {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: DeleteBackupRequestSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: DeleteBackupRequestStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteBackupRequestSpec {
    #[serde(default, deserialize_with = "or_default")]
    pub backup_name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteBackupRequestStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// A file-system restore of one pod volume (node-agent); same spec fields as a PodVolumeBackup.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodVolumeRestore {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: PodVolumeSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: PhaseStatus,
}

/// `velero.io/v2alpha1` DataUpload: the data mover copying one CSI snapshot to the BSL.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataUpload {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: DataUploadSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: PhaseStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataUploadSpec {
    #[serde(default, rename = "sourcePVC", skip_serializing_if = "Option::is_none")]
    pub source_pvc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_storage_location: Option<String>,
}

/// `velero.io/v2alpha1` DataDownload: the data mover restoring one volume from the BSL.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataDownload {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: DataDownloadSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: PhaseStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataDownloadSpec {
    #[serde(default, deserialize_with = "or_default")]
    pub target_volume: TargetVolume,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_storage_location: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `snapshot.storage.k8s.io/v1` VolumeSnapshotClass: its fields sit at the top level (no `spec`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotClass {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub driver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
}

crate::impl_object! {
    BackupStorageLocation => "BackupStorageLocation";
    VolumeSnapshotLocation => "VolumeSnapshotLocation";
    Schedule => "Schedule";
    // Backups are the kind that grows with time: only the source cluster's version is read.
    Backup => "Backup", keeps_annotation: |k: &str| k == SOURCE_CLUSTER_GITVERSION;
    PodVolumeBackup => "PodVolumeBackup";
    BackupRepository => "BackupRepository";
    // Like Backups, these accumulate with every run (one per backup, restore or volume).
    Restore => "Restore", keeps_annotation: |_: &str| false;
    DeleteBackupRequest => "DeleteBackupRequest", keeps_annotation: |_: &str| false;
    PodVolumeRestore => "PodVolumeRestore", keeps_annotation: |_: &str| false;
    DataUpload => "DataUpload", keeps_annotation: |_: &str| false;
    DataDownload => "DataDownload", keeps_annotation: |_: &str| false;
    VolumeSnapshotClass => "VolumeSnapshotClass";
    k8s_openapi::api::apps::v1::Deployment => "Deployment";
    k8s_openapi::api::apps::v1::DaemonSet => "DaemonSet";
    k8s_openapi::api::core::v1::Pod => "Pod";
    k8s_openapi::api::core::v1::Event => "Event";
    k8s_openapi::api::core::v1::Namespace => "Namespace";
    k8s_openapi::api::storage::v1::CSIDriver => "CSIDriver";
    k8s_openapi::api::storage::v1::StorageClass => "StorageClass";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_config_values_read_as_text() {
        let b: BackupStorageLocation = serde_json::from_str(
            r#"{"metadata":{"name":"default"},"spec":{"provider":"community.openstack.org/openstack",
                "objectStorage":{"bucket":"b"},"config":{"s3ForcePathStyle":true,"region":null,"x":3}},"status":null}"#,
        )
        .unwrap();
        assert_eq!(b.spec.config.get("s3ForcePathStyle").map(String::as_str), Some("true"));
        assert_eq!(b.spec.config.get("x").map(String::as_str), Some("3"));
        assert!(!b.spec.config.contains_key("region"));
        assert!(b.is_openstack());
    }

    #[test]
    fn operation_kinds_keep_what_is_judged_and_drop_the_rest() {
        use crate::facts::List;
        let mut uploads: List<DataUpload> = List::default();
        uploads.push_json(
            r#"{"apiVersion":"velero.io/v2alpha1","kind":"DataUpload","metadata":{"name":"b-x","namespace":"velero",
                "annotations":{"a":"b"},"labels":{"velero.io/backup-name":"b"}},
                "spec":{"sourcePVC":"data-0","sourceNamespace":"shop","operationTimeout":"10m0s","csiSnapshot":{"volumeSnapshot":"vs"}},
                "status":{"phase":"Failed","message":"boom","progress":{"totalBytes":10}}}"#,
        );
        let u = &uploads[0];
        assert_eq!((u.spec.source_pvc.as_deref(), u.status.phase.as_deref(), u.status.message.as_deref()), (Some("data-0"), Some("Failed"), Some("boom")));
        assert!(u.metadata.annotations.is_none(), "annotations of accumulating kinds are dropped");
        let text = serde_json::to_string(u).unwrap();
        assert!(text.contains("\"sourcePVC\":\"data-0\"") && !text.contains("csiSnapshot") && !text.contains("operationTimeout"), "{text}");

        let r: Restore = serde_json::from_str(
            r#"{"metadata":{"name":"r"},"spec":{"backupName":"b","itemOperationTimeout":"4h0m0s"},
                "status":{"phase":"FailedValidation","validationErrors":["backup not found"],"errors":1}}"#,
        )
        .unwrap();
        assert_eq!((r.spec.backup_name.as_deref(), r.spec.item_operation_timeout.as_deref()), (Some("b"), Some("4h0m0s")));
        assert_eq!((r.status.validation_errors.len(), r.status.errors), (1, Some(1)));
        let d: DeleteBackupRequest = serde_json::from_str(r#"{"metadata":{"name":"d"},"spec":{"backupName":"b"},"status":{"phase":"Processed","errors":null}}"#).unwrap();
        assert_eq!((d.spec.backup_name.as_str(), d.status.phase.as_deref(), d.status.errors.len()), ("b", Some("Processed"), 0));
        let dd: DataDownload = serde_json::from_str(r#"{"metadata":{"name":"x"},"spec":{"targetVolume":{"pvc":"p","pv":"","namespace":"n"}}}"#).unwrap();
        assert_eq!((dd.spec.target_volume.pvc.as_deref(), dd.spec.target_volume.namespace.as_deref()), (Some("p"), Some("n")));
        let pvr: PodVolumeRestore = serde_json::from_str(r#"{"metadata":{"name":"x"},"spec":{"pod":{"kind":"Pod","namespace":"shop","name":"db-0"},"volume":"data"}}"#).unwrap();
        assert_eq!(pvr.spec.pod.and_then(|p| p.name).as_deref(), Some("db-0"));
    }

    #[test]
    fn a_schedule_template_is_a_backup_spec() {
        let s: Schedule = serde_json::from_str(
            r#"{"metadata":{"name":"daily"},"spec":{"schedule":"0 1 * * *","template":{"ttl":"240h0m0s","snapshotVolumes":false,
                "includedNamespaces":["shop"],"labelSelector":{"matchLabels":{"app":"db"}}}}}"#,
        )
        .unwrap();
        assert_eq!(s.spec.template.ttl.as_deref(), Some("240h0m0s"));
        assert_eq!(s.spec.template.snapshot_volumes, Some(false));
        assert_eq!(s.spec.template.included_namespaces, ["shop"]);
        assert!(s.spec.template.label_selector.is_some());
    }
}
