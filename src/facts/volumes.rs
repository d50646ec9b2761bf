//! PersistentVolumes and PersistentVolumeClaims as veldr keeps them: the fields judged, with the
//! Kubernetes JSON names and the same paths as k8s-openapi's types.
//!
//! These two are the core kinds that grow with a cluster (thousands of volumes). k8s-openapi's
//! `PersistentVolumeSpec` holds every volume source inline, about 6 KB per object even when
//! empty (measured: 6,000 of them took ~35 MiB at the benchmark's 100×), so they get structs of
//! their own, like Velero's kinds. A field of the wrong type still makes the object malformed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Set on an in-tree PV whose operations go to a CSI driver (CSI migration); its spec keeps the
/// in-tree source and has no `spec.csi`, so Velero's CSI action skips it.
pub const MIGRATED_TO: &str = "pv.kubernetes.io/migrated-to";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PersistentVolume {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PersistentVolumeSpec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi: Option<CsiVolumeSource>,
    /// The in-tree Cinder source (only whether it is there matters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cinder: Option<CinderVolumeSource>,
    /// The in-tree vSphere source (also on volumes migrated to CSI: `pv.kubernetes.io/migrated-to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vsphere_volume: Option<VsphereVolumeSource>,
    /// The in-tree NFS source (Velero's resource policies match on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<NfsVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// `capacity.storage` and the like, as the quantities are written (`10Gi`).
    #[serde(default, deserialize_with = "crate::facts::velero::or_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "crate::facts::velero::or_default", skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
}

impl PersistentVolumeSpec {
    /// Velero's name for the volume's source (`internal/resourcepolicies/volume_types_conditions.go`
    /// `getVolumeTypeFromPV`), for the sources veldr keeps; `None` for the others.
    pub fn volume_type(&self) -> Option<&'static str> {
        if self.cinder.is_some() {
            Some("cinder")
        } else if self.csi.is_some() {
            Some("csi")
        } else if self.nfs.is_some() {
            Some("nfs")
        } else if self.vsphere_volume.is_some() {
            Some("vsphereVolume")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CsiVolumeSource {
    pub driver: String,
    pub volume_handle: String,
    /// vSphere CSI sets `type: vSphere CNS Block Volume` or `vSphere CNS File Volume`.
    #[serde(default, deserialize_with = "crate::facts::velero::or_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsphereVolumeSource {
    #[serde(default)]
    pub volume_path: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NfsVolumeSource {
    #[serde(default)]
    pub server: String,
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CinderVolumeSource {
    #[serde(rename = "volumeID")]
    pub volume_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PersistentVolumeClaim {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PersistentVolumeClaimSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PersistentVolumeClaimStatus>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaimSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PersistentVolumeClaimStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

// Thousands of each, with annotations the provisioner writes: only Velero's own are read (on claims),
// and CSI migration's (on volumes).
crate::impl_object! {
    PersistentVolume => "PersistentVolume", keeps_annotation: |k: &str| k == MIGRATED_TO;
    PersistentVolumeClaim => "PersistentVolumeClaim", keeps_annotation: |k: &str| k.starts_with("velero.io/");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Object;

    #[test]
    fn a_volume_keeps_what_is_judged_and_a_wrong_type_is_still_malformed() {
        let pv: PersistentVolume = serde_json::from_str(
            r#"{"metadata":{"name":"pv-a"},"spec":{"csi":{"driver":"csi.vsphere.vmware.com","volumeHandle":"h","fsType":"ext4"},
                "capacity":{"storage":"1Gi"},"nfs":{"server":"x"}}}"#,
        )
        .unwrap();
        assert_eq!(pv.spec.and_then(|s| s.csi).map(|c| c.driver).as_deref(), Some("csi.vsphere.vmware.com"));
        assert!(serde_json::from_str::<PersistentVolume>(r#"{"spec":{"csi":"csi.vsphere.vmware.com"}}"#).is_err());
        assert!(serde_json::from_str::<PersistentVolumeClaim>(r#"{"spec":{"volumeName":3}}"#).is_err());
        assert!(std::mem::size_of::<PersistentVolume>() < 1024, "kept small on purpose");
    }

    #[test]
    fn only_velero_annotations_of_a_claim_are_kept() {
        let mut list: crate::facts::List<PersistentVolumeClaim> = Default::default();
        list.push_json(r#"{"metadata":{"name":"data","uid":"u","resourceVersion":"7","annotations":{"pv.kubernetes.io/bind-completed":"yes",
            "velero.io/csi-volumesnapshot-class":"vsphere"}}}"#);
        let meta = &list[0].metadata;
        assert_eq!(meta.annotations.as_ref().map(|a| a.keys().cloned().collect::<Vec<_>>()), Some(vec!["velero.io/csi-volumesnapshot-class".to_string()]));
        assert!(meta.uid.is_none() && meta.resource_version.is_none(), "bookkeeping no check reads is dropped");
        let mut pvs: crate::facts::List<PersistentVolume> = Default::default();
        pvs.push_json(r#"{"metadata":{"name":"pv","annotations":{"pv.kubernetes.io/provisioned-by":"csi.vsphere.vmware.com"}}}"#);
        assert!(pvs[0].metadata.annotations.is_none());
        pvs.push_json(r#"{"metadata":{"name":"old","annotations":{"pv.kubernetes.io/migrated-to":"csi.vsphere.vmware.com","x":"y"}},
            "spec":{"vsphereVolume":{"volumePath":"[ds] kubevols/a.vmdk","fsType":"ext4"},"capacity":{"storage":"5Gi"},"accessModes":["ReadWriteOnce"]}}"#);
        assert_eq!(pvs[1].annotation(MIGRATED_TO), Some("csi.vsphere.vmware.com"));
        assert_eq!(pvs[1].metadata.annotations.as_ref().map(|a| a.len()), Some(1));
        let spec = pvs[1].spec.as_ref().unwrap();
        assert_eq!((spec.volume_type(), spec.capacity.get("storage").map(String::as_str)), (Some("vsphereVolume"), Some("5Gi")));
    }
}
