pub mod driver;
pub mod snapshot_class;
pub mod snapshot_limit;
pub mod snapshots;

// Area-wide: the csi checks judge the CSI drivers of the cluster's Bound volumes, found the way
// Velero finds them.

use crate::checks::{read_failed, Ctx};
use crate::facts::Object;
use crate::model::Verdict;
use crate::facts::{PersistentVolume, PersistentVolumeClaim};
use std::collections::BTreeMap;

/// One Bound PVC whose volume Velero would snapshot through CSI.
struct CsiVolume<'a> {
    pvc: &'a PersistentVolumeClaim,
    id: String,
    /// What Velero matches VolumeSnapshotClasses against: the StorageClass provisioner (else the PV's driver).
    driver: String,
}

/// The CSI volumes in use. PVCs, PVs and StorageClasses that did not decode (they may hide CSI
/// volumes) are named by the engine's malformed policy.
struct InUse<'a> {
    volumes: Vec<CsiVolume<'a>>,
    notes: Vec<String>,
}

impl InUse<'_> {
    fn by_driver(&self) -> BTreeMap<&str, Vec<&CsiVolume<'_>>> {
        let mut m: BTreeMap<&str, Vec<&CsiVolume>> = BTreeMap::new();
        for v in &self.volumes {
            m.entry(v.driver.as_str()).or_default().push(v);
        }
        m
    }
}

/// The CSI volumes; or the check's verdict when there is nothing to judge: the PVCs could not be
/// read, or no CSI volume is in use (`none`: the skip's summary).
/// (The verdict is boxed: it is large.)
fn volumes_or_verdict<'a>(ctx: &Ctx<'a>, none: &str) -> Result<InUse<'a>, Box<Verdict>> {
    let in_use = csi_in_use(ctx)?;
    if in_use.volumes.is_empty() {
        return Err(Box::new(Verdict::skip(none).details(in_use.notes)));
    }
    Ok(in_use)
}

/// The CSI volumes, or the verdict (boxed: it is large) when the PVCs cannot be read.
fn csi_in_use<'a>(ctx: &Ctx<'a>) -> Result<InUse<'a>, Box<Verdict>> {
    let k = &ctx.facts.kube;
    let pvcs = k.persistent_volume_claims.as_ref().map_err(|e| Box::new(read_failed(e)))?;
    let mut notes = Vec::new();
    let storage_classes: Option<BTreeMap<&str, &str>> = match &k.storage_classes {
        Ok(list) => {
            Some(list.iter().filter_map(|sc| Some((sc.metadata.name.as_deref()?, sc.provisioner.as_str()))).collect())
        }
        Err(e) => {
            notes.push(format!("StorageClasses unreadable ({}): drivers taken from the PVs", e.explain()));
            None
        }
    };
    let pvs: Option<BTreeMap<&str, &PersistentVolume>> = match &k.persistent_volumes {
        Ok(list) => {
            Some(list.iter().filter_map(|pv| Some((pv.metadata.name.as_deref()?, pv))).collect())
        }
        Err(e) => {
            if storage_classes.is_none() {
                return Err(Box::new(read_failed(e)));
            }
            notes.push(format!("PersistentVolumes unreadable ({}): drivers taken from the PVCs' StorageClasses", e.explain()));
            None
        }
    };
    let mut volumes = Vec::new();
    for pvc in pvcs.iter() {
        if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound") {
            continue;
        }
        let id = format!("{}/{}", pvc.namespace().unwrap_or("?"), pvc.name());
        let spec = pvc.spec.as_ref();
        let sc_name = spec.and_then(|s| s.storage_class_name.as_deref()).filter(|s| !s.is_empty());
        let provisioner = sc_name.and_then(|n| storage_classes.as_ref().and_then(|m| m.get(n).copied()));
        let driver = match &pvs {
            Some(pvs) => {
                let Some(pv) = spec.and_then(|s| s.volume_name.as_deref()).and_then(|n| pvs.get(n)) else { continue };
                // Not CSI: Velero skips it.
                let Some(pv_driver) = pv.spec.as_ref().and_then(|s| s.csi.as_ref()).map(|c| c.driver.as_str()) else { continue };
                match provisioner {
                    Some(p) if p != pv_driver => {
                        notes.push(format!("{id}: StorageClass {} has provisioner {p} but the PV's CSI driver is {pv_driver}; Velero matches classes against the provisioner", sc_name.unwrap_or("")));
                        p.to_string()
                    }
                    Some(p) => p.to_string(),
                    None => pv_driver.to_string(),
                }
            }
            None => match provisioner {
                Some(p) if !p.starts_with("kubernetes.io/") => p.to_string(),
                _ => continue,
            },
        };
        volumes.push(CsiVolume { pvc, id, driver });
    }
    Ok(InUse { volumes, notes })
}

/// Whether the cluster runs vSphere CSI: its CSIDriver, else a PV of its driver. (kube.rbac asks too:
/// the vSphere objects veldr reads by name matter only then.)
pub(crate) fn vsphere_in_use(ctx: &Ctx) -> bool {
    let k = &ctx.facts.kube;
    let driver = crate::upstream::vsphere_csi::DRIVER;
    let by_driver = k.csi_drivers.as_ref().is_ok_and(|l| l.iter().any(|d| d.name() == driver));
    let by_pv = k.persistent_volumes.as_ref().is_ok_and(|l| l.iter().any(|pv| pv.spec.as_ref().and_then(|s| s.csi.as_ref()).is_some_and(|c| c.driver == driver)));
    by_driver || by_pv
}

/// The cluster both csi checks' tests start from: two Bound vSphere CSI volumes, a labelled class,
/// a ready snapshot-controller and a vSphere CSI controller with its csi-snapshotter.
#[cfg(test)]
mod fixture {
    pub use crate::checks::testing::{list, run, text};
    use crate::facts::Facts;
    use serde_json::{json, Value};

    pub const VSPHERE: &str = "csi.vsphere.vmware.com";

    pub fn pv(name: &str, driver: &str) -> Value {
        json!({"metadata": {"name": name}, "spec": {"csi": {"driver": driver, "volumeHandle": "h"}, "storageClassName": "vsphere-sc"}, "status": {"phase": "Bound"}})
    }

    pub fn pvc(ns: &str, name: &str, volume: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": ns}, "spec": {"storageClassName": "vsphere-sc", "volumeName": volume}, "status": {"phase": "Bound"}})
    }

    pub fn vsc(name: &str, driver: &str, labels: Value) -> Value {
        json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass", "metadata": {"name": name, "labels": labels}, "driver": driver, "deletionPolicy": "Delete"})
    }

    pub fn deployment(ns: &str, name: &str, labels: Value, containers: Value, ready: i64) -> Value {
        json!({"metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": {"replicas": 1, "selector": {}, "template": {"spec": {"containers": containers}}}, "status": {"readyReplicas": ready, "availableReplicas": ready}})
    }

    pub fn healthy_deployments() -> Vec<Value> {
        vec![
            deployment("kube-system", "snapshot-controller", json!({"app.kubernetes.io/name": "snapshot-controller"}), json!([{"name": "snapshot-controller", "image": "registry.k8s.io/sig-storage/snapshot-controller:v8.2.0"}]), 2),
            deployment("vmware-system-csi", "vsphere-csi-controller", json!({"app": "vsphere-csi-controller"}), json!([{"name": "vsphere-csi-controller", "image": "x"}, {"name": "csi-snapshotter", "image": "registry.k8s.io/sig-storage/csi-snapshotter:v8.2.0"}]), 1),
        ]
    }

    pub fn healthy() -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.persistent_volumes = Ok(list(vec![pv("pv-a", VSPHERE), pv("pv-b", VSPHERE)]));
        f.kube.persistent_volume_claims = Ok(list(vec![pvc("shop", "data", "pv-a"), pvc("shop", "uploads", "pv-b")]));
        f.kube.storage_classes = Ok(list(vec![json!({"metadata": {"name": "vsphere-sc"}, "provisioner": VSPHERE})]));
        f.kube.volume_snapshot_classes = Ok(list(vec![vsc("velero-vsphere-snapshot-class", VSPHERE, json!({"velero.io/csi-volumesnapshot-class": "true"}))]));
        f.kube.csi_drivers = Ok(list(vec![json!({"metadata": {"name": VSPHERE}, "spec": {}})]));
        f.kube.deployments = Ok(list(healthy_deployments()));
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "daily"}, "spec": {"schedule": "0 2 * * *", "template": {"ttl": "720h0m0s"}}})]));
        f
    }
}
