//! restore-check's checks (`checks::RESTORE_REGISTRY`): will `velero restore create --from-backup NAME`
//! work in this cluster? Judged over [`crate::facts::restore::RestoreFacts`] and the kinds the
//! doctor lists too (Backups, BSLs, StorageClasses, CSIDrivers, VolumeSnapshotClasses).

pub mod api;
pub mod backup;
pub mod conflicts;
pub mod storage;

use crate::checks::Ctx;
use crate::facts::restore::RestoreFacts;
use crate::facts::{Outcome, ProblemKind};
use crate::model::Verdict;

/// restore-check's facts, or the verdict of a run that did not collect them.
pub(crate) fn facts<'a>(ctx: &Ctx<'a>) -> Result<&'a RestoreFacts, Box<Verdict>> {
    ctx.facts.restore.as_ref().ok_or_else(|| Box::new(Verdict::error("restore-check's facts were not collected (a doctor bundle?): run `veldr restore-check backup/NAME`")))
}

/// Where the backup's objects are, for messages: `container/prefix/backups/<b>/`.
pub(crate) fn place(r: &RestoreFacts) -> String {
    let container = r.store.container.as_deref().unwrap_or("?");
    let dir = crate::upstream::velero_store::backups_dir(r.store.prefix.as_deref());
    format!("{container}/{dir}{}/", r.backup)
}

/// The verdict for an object of the backup that could not be read (`None` read: not attempted).
pub(crate) fn unread<T>(r: &RestoreFacts, what: &str, read: Option<&Outcome<T>>) -> Verdict {
    match read {
        None => Verdict::error(format!("the backup's {what} was not read: {}", r.store.not_attempted.as_deref().unwrap_or("restore.backup says why"))),
        Some(Ok(_)) => Verdict::ok(format!("the backup's {what} was read")),
        Some(Err(p)) if p.kind == ProblemKind::NotFound => Verdict::fail(format!("the backup's {what} is not in the BSL ({}): a restore cannot read it", place(r)))
            .hint("the objects were deleted from Swift (X-Delete-At expiry, manual deletion, another cluster's garbage collection): restore from another backup; `veldr explain restore.backup`"),
        Some(Err(p)) => Verdict::error(format!("the backup's {what} could not be read: {}", p.message)).hint("see keystone.auth and swift.container in `veldr doctor`, then run again"),
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    use crate::checks::Ctx;
    use crate::facts::restore::{ResourceListFacts, RestoreFacts, ServedGroup, ServedKind, ServedVersion, StoreReads};
    use crate::facts::Facts;
    use crate::model::Verdict;
    use crate::upstream::velero_backup_archive::{ArchiveContents, ArchiveEnd, ArchivedPv, ArchivedPvc, ArchivedSnapshot, ResourceList};
    use serde_json::{json, Value};

    pub const VSPHERE: &str = "csi.vsphere.vmware.com";
    pub const BACKUP: &str = "nightly-1";

    pub use crate::checks::testing::{list, written as text};

    pub fn run(f: &Facts, judge: fn(&Ctx) -> Verdict) -> Verdict {
        judge(&Ctx::new(f, &[]))
    }

    pub fn served(kinds: &[(&str, &str, &str, &str, bool)]) -> Vec<ServedGroup> {
        let mut groups: Vec<ServedGroup> = Vec::new();
        for (group, version, kind, plural, namespaced) in kinds {
            let g = match groups.iter_mut().position(|g| g.name == *group) {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(ServedGroup { name: group.to_string(), preferred: version.to_string(), versions: vec![] });
                    groups.last_mut().unwrap()
                }
            };
            let v = match g.versions.iter_mut().position(|v| v.version == *version) {
                Some(i) => &mut g.versions[i],
                None => {
                    g.versions.push(ServedVersion { version: version.to_string(), kinds: vec![] });
                    g.versions.last_mut().unwrap()
                }
            };
            v.kinds.push(ServedKind { kind: kind.to_string(), plural: plural.to_string(), namespaced: *namespaced });
        }
        groups
    }

    pub fn resource_list(doc: Value) -> ResourceListFacts {
        let raw: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_value(doc).unwrap();
        let mut list = ResourceList::default();
        for (k, items) in raw {
            list.kinds.push(crate::upstream::velero_backup_archive::ListedKind { gvk: crate::upstream::velero_backup_archive::Gvk::parse(&k).unwrap(), items });
        }
        ResourceListFacts::of(&list, 100)
    }

    /// A cluster ready for the backup: a Completed Backup of namespace shop with one vSphere CSI
    /// volume snapshotted and one PVC of class gold; both classes, the CSIDriver and a labelled
    /// VolumeSnapshotClass exist here.
    pub fn ready() -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.backups = Ok(list(vec![json!({"metadata": {"name": BACKUP, "namespace": "velero"}, "spec": {"storageLocation": "default"},
            "status": {"phase": "Completed", "expiration": "2026-12-29T08:00:00Z", "completionTimestamp": "2026-11-29T02:00:00Z"}})]));
        f.kube.backup_storage_locations = Ok(list(vec![json!({"metadata": {"name": "default", "namespace": "velero"},
            "spec": {"provider": "community.openstack.org/openstack", "default": true, "objectStorage": {"bucket": "velero-backups"}},
            "status": {"phase": "Available"}})]));
        f.kube.storage_classes = Ok(list(vec![json!({"metadata": {"name": "vsphere-csi"}, "provisioner": VSPHERE}), json!({"metadata": {"name": "gold"}, "provisioner": VSPHERE})]));
        f.kube.csi_drivers = Ok(list(vec![json!({"metadata": {"name": VSPHERE}, "spec": {}})]));
        f.kube.volume_snapshot_classes = Ok(list(vec![json!({"metadata": {"name": "velero-vsphere", "labels": {"velero.io/csi-volumesnapshot-class": "true"}}, "driver": VSPHERE, "deletionPolicy": "Retain"})]));
        let mut r = RestoreFacts::empty(BACKUP);
        r.discovery = Ok(served(&[
            ("", "v1", "ConfigMap", "configmaps", true),
            ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true),
            ("", "v1", "PersistentVolume", "persistentvolumes", false),
            ("", "v1", "Namespace", "namespaces", false),
            ("apps", "v1", "Deployment", "deployments", true),
            ("snapshot.storage.k8s.io", "v1", "VolumeSnapshot", "volumesnapshots", true),
            ("snapshot.storage.k8s.io", "v1", "VolumeSnapshotClass", "volumesnapshotclasses", false),
        ]));
        r.namespaces = Ok(vec!["default".into(), "velero".into()]);
        let backup: crate::facts::Backup = serde_json::from_value(json!({"metadata": {"name": BACKUP}, "spec": {"storageLocation": "default"}, "status": {"phase": "Completed"}})).unwrap();
        let mut archive = ArchiveContents::empty(ArchiveEnd::AllFound);
        archive.format_version = Some("1.1.0".into());
        archive.pvcs = vec![
            ArchivedPvc { namespace: "shop".into(), name: "data".into(), storage_class: Some("vsphere-csi".into()), volume_name: Some("pv-data".into()), volume_snapshot: Some("velero-data-x".into()), access_modes: vec![] },
            ArchivedPvc { namespace: "shop".into(), name: "logs".into(), storage_class: Some("gold".into()), volume_name: Some("pv-logs".into()), volume_snapshot: None, access_modes: vec![] },
        ];
        archive.pvs = vec![ArchivedPv { name: "pv-data".into(), storage_class: Some("vsphere-csi".into()), csi_driver: Some(VSPHERE.into()), claim: Some("shop/data".into()), ..Default::default() }];
        archive.volume_snapshots = vec![ArchivedSnapshot { namespace: "shop".into(), name: "velero-data-x".into(), class: Some("velero-vsphere".into()), pvc: Some("data".into()) }];
        r.store = StoreReads {
            bsl: Some("default".into()),
            container: Some("velero-backups".into()),
            bsl_reason: Some("the Backup's storageLocation, default".into()),
            metadata: Some(Ok(backup)),
            resource_list: Some(Ok(resource_list(json!({
                "v1/Namespace": ["shop"],
                "v1/ConfigMap": ["shop/app", "shop/env"],
                "apps/v1/Deployment": ["shop/web"],
                "v1/PersistentVolumeClaim": ["shop/data", "shop/logs"],
                "v1/PersistentVolume": ["pv-data", "pv-logs"],
                "snapshot.storage.k8s.io/v1/VolumeSnapshot": ["shop/velero-data-x"],
                "v1/Event": ["shop/web.1"],
            })))),
            volume_info: Some(Ok(Some(
                crate::upstream::velero_volumeinfo::parse_json(
                    json!([
                        {"pvcName": "data", "pvcNamespace": "shop", "pvName": "pv-data", "backupMethod": "CSISnapshot", "snapshotDataMoved": false, "skipped": false, "result": "succeeded",
                         "csiSnapshotInfo": {"snapshotHandle": "h", "size": 1, "driver": VSPHERE, "vscName": "snapcontent-1"}},
                        {"pvcName": "logs", "pvcNamespace": "shop", "pvName": "pv-logs", "snapshotDataMoved": false, "skipped": true, "skippedReason": "volume policy: skip"}
                    ])
                    .to_string()
                    .as_bytes(),
                )
                .unwrap(),
            ))),
            archive: Some(Ok(archive)),
            ..Default::default()
        };
        f.restore = Some(r);
        f
    }
}
