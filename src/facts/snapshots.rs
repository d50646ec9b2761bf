//! The snapshot API's VolumeSnapshots and VolumeSnapshotContents, and what veldr keeps of the vSphere
//! CSI driver's configuration: the fields judged, with Kubernetes' JSON names.
//!
//! The vSphere config secret (`csi-vsphere.conf`) also holds the vCenter user and password: collect
//! parses only its `[Snapshot]` section and keeps the numbers, never the file (see `crate::upstream::vsphere_csi`).

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use super::velero::or_default;
use serde::{Deserialize, Serialize};

/// `snapshot.storage.k8s.io/v1` VolumeSnapshot (namespaced).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshot {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: VolumeSnapshotSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SnapshotStatus>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotSpec {
    #[serde(default, deserialize_with = "or_default")]
    pub source: VolumeSnapshotSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_class_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_content_name: Option<String>,
}

/// The status both kinds share (`boundVolumeSnapshotContentName` only on VolumeSnapshots).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_to_use: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SnapshotError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_volume_snapshot_content_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SnapshotError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
}

/// `snapshot.storage.k8s.io/v1` VolumeSnapshotContent (cluster-scoped).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotContent {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: VolumeSnapshotContentSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SnapshotStatus>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotContentSpec {
    #[serde(default, deserialize_with = "or_default")]
    pub driver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub volume_snapshot_ref: SnapshotRef,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SnapshotRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl SnapshotStatus {
    pub fn ready(&self) -> bool {
        self.ready_to_use == Some(true)
    }
    pub fn error_message(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.message.as_deref().unwrap_or("(an error without a message)"))
    }
}

crate::impl_object! {
    // Snapshots pile up with backups; no check reads their annotations.
    VolumeSnapshot => "VolumeSnapshot", keeps_annotation: |_: &str| false;
    VolumeSnapshotContent => "VolumeSnapshotContent", keeps_annotation: |_: &str| false;
}

/// What veldr read of the vSphere CSI config secret (`vsphere-config-secret`, key `csi-vsphere.conf`):
/// where it was found and the `[Snapshot]` limits, nothing else of the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsphereConfig {
    /// The namespace the secret was found in.
    pub namespace: String,
    /// The secret has no `csi-vsphere.conf` key (the driver then has no config file).
    #[serde(default)]
    pub key_absent: bool,
    #[serde(default)]
    pub snapshot: SnapshotLimits,
}

/// The `[Snapshot]` section of `csi-vsphere.conf`, as the driver reads it (gcfg).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotLimits {
    /// Whether the file has a `[Snapshot]` section at all.
    #[serde(default)]
    pub section: bool,
    /// `global-max-snapshots-per-block-volume`; absent (or 0): the driver's default, 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_max: Option<i64>,
    /// `granular-max-snapshots-per-block-volume-vsan`: overrides the global one on vSAN datastores when > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granular_vsan: Option<i64>,
    /// `granular-max-snapshots-per-block-volume-vvol`: the same on vVol datastores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granular_vvol: Option<i64>,
    /// What did not parse, by line number and key only: never a line's content (other sections hold
    /// the vCenter password).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// The ConfigMap `internal-feature-states.csi.vsphere.vmware.com`: where it was found and the one
/// feature state judged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsphereFeatureStates {
    pub namespace: String,
    /// `data["block-volume-snapshot"]`, as written (`None`: the key is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_volume_snapshot: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Facts, List, ReadErrorKind};

    #[test]
    fn snapshots_decode_with_their_errors_and_labels() {
        let mut l: List<VolumeSnapshotContent> = List::default();
        l.push_json(r#"{"metadata":{"name":"snapcontent-1","labels":{"velero.io/backup-name":"daily-1"},"annotations":{"x":"y"}},
            "spec":{"driver":"csi.vsphere.vmware.com","deletionPolicy":"Retain","volumeSnapshotRef":{"namespace":"shop","name":"vs-1"},"source":{"volumeHandle":"h"}},
            "status":{"readyToUse":false,"error":{"message":"boom","time":"2026-11-29T07:00:00Z"},"snapshotHandle":"h+s"}}"#);
        l.push_json(r#"{"metadata":{"name":"odd"},"status":{"readyToUse":"yes"}}"#);
        assert_eq!((l.len(), l.malformed.len()), (1, 1));
        let c = &l[0];
        assert_eq!(c.status.as_ref().and_then(SnapshotStatus::error_message), Some("boom"));
        assert!(!c.status.as_ref().unwrap().ready());
        assert_eq!(c.spec.volume_snapshot_ref.name.as_deref(), Some("vs-1"));
        assert!(c.metadata.annotations.is_none(), "annotations are trimmed");
    }

    #[test]
    fn a_bundle_without_the_new_facts_loads_them_as_not_read() {
        let mut v = serde_json::to_value(Facts::empty("velero")).unwrap();
        let kube = v["kube"].as_object_mut().unwrap();
        for k in ["volumeSnapshots", "volumeSnapshotContents", "vsphereConfig", "vsphereFeatureStates"] {
            assert!(kube.remove(k).is_some(), "{k}");
        }
        let f: Facts = serde_json::from_value(v).unwrap();
        assert_eq!(f.kube.volume_snapshots.unwrap_err().kind, ReadErrorKind::NotNeeded);
        assert_eq!(f.kube.vsphere_config.unwrap_err().kind, ReadErrorKind::NotNeeded);
    }
}
