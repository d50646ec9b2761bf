//! restore.storage: every PVC of the backup (read from the tarball) can be provisioned here.
//!
//! - Its StorageClass exists here, or Velero's change-storage-class ConfigMap maps it to one that does
//!   (velero v1.17.2 `pkg/restore/actions/change_storageclass_action.go`: the ConfigMap in Velero's
//!   namespace labelled `velero.io/plugin-config` and `velero.io/change-storage-class: RestoreItemAction`,
//!   data old → new; a mapped class that does not exist fails the item, "error getting storage class";
//!   two such ConfigMaps fail every PVC, "found more than one ConfigMap matching label selector",
//!   `pkg/plugin/framework/common/plugin_config.go`). Unmapped and missing, the PVC is created and
//!   stays Pending.
//! - The class's provisioner has a CSIDriver here.
//! - A volume the backup snapshotted through CSI (`<b>-volumeinfo.json.gz`) is restored from a
//!   VolumeSnapshotContent that keeps the backup's `volumeSnapshotClassName`
//!   (`pkg/restore/actions/csi/volumesnapshotcontent_action.go` resets name, policy and source, not the
//!   class); the csi-snapshotter refuses a content whose class does not exist
//!   (kubernetes-csi/external-snapshotter `pkg/sidecar-controller/snapshot_controller.go`
//!   `getCSISnapshotInput`), so that class must exist here or come with the backup (the backup holds
//!   the classes its snapshots used, `pkg/backup/actions/csi/volumesnapshot_action.go`), for the
//!   snapshot's driver, which must be installed here. When the class name is not known (the tarball was
//!   not read that far), the class Velero would pick for the driver (csi.snapshot-class's rules) stands in.
//! - On vSphere, a CSI snapshot stays on the source volume's datastore: restoring it needs the same
//!   vCenter (said, not judged).

use super::{facts, unread};
use crate::checks::csi::snapshot_class::default_pick;
use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::restore::StorageClassMap;
use crate::upstream::velero_volumeinfo::{VolumeInfos, CSI_SNAPSHOT, RESULT_FAILED};
use crate::facts::{Object, VolumeSnapshotClass};
use crate::model::{Status, Verdict};
use crate::upstream::velero_backup_archive::{ArchiveEnd, ArchivedPvc};
use serde_json::json;
use std::collections::BTreeMap;

pub const CHECK: CheckDef = crate::check! {
    id: "restore.storage", category: Restore, severity: Critical,
    title: "Every PVC of the backup can be provisioned here",
    depends_on: ["restore.backup"], needs: [StorageClasses, CsiDrivers, VolumeSnapshotClasses],
    timed_by: Restore,
    judge: judge,
};

const VSPHERE: &str = "csi.vsphere.vmware.com";
const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

fn judge(ctx: &Ctx) -> Verdict {
    let r = match facts(ctx) {
        Ok(r) => r,
        Err(v) => return *v,
    };
    let archive = match &r.store.archive {
        Some(Ok(a)) => a,
        other => return unread(r, "tarball", other.as_ref()),
    };
    let classes = crate::need!(&ctx.facts.kube.storage_classes);
    let drivers = crate::need!(&ctx.facts.kube.csi_drivers);
    let ns = ctx.namespace();
    let mut findings: Vec<Finding> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // How the read of the tarball ended: what was not read is not judged, and that is said.
    match &archive.end {
        ArchiveEnd::Complete | ArchiveEnd::AllFound => {}
        ArchiveEnd::Cap { limit } => findings.push(
            Finding::warn(format!("the tarball read stopped at veldr's cap ({}): PVCs past it are not checked", bytes(*limit)))
                .hint("raise --max-archive-bytes to read it whole"),
        ),
        ArchiveEnd::Deadline => findings.push(
            Finding::error(format!("the tarball was not read whole within --timeout ({} read): PVCs past that are not checked", bytes(archive.bytes_read)))
                .hint("raise --timeout"),
        ),
        ArchiveEnd::Corrupt { message } => findings.push(
            Finding::fail(format!("the tarball is not a gzip tar stream Velero can read ({message}): a restore of it fails"))
                .hint("restore from another backup; the object was cut or overwritten"),
        ),
    }
    for u in &archive.unreadable {
        notes.push(format!("unreadable entry {u}"));
    }

    // Velero's change-storage-class mapping.
    let maps: Option<&StorageClassMap> = match &r.storage_class_maps {
        Ok(m) if m.len() > 1 => {
            let names: Vec<&str> = m.iter().map(|c| c.name.as_str()).collect();
            findings.push(
                Finding::fail(format!(
                    "{} change-storage-class ConfigMaps in {ns} ({}): Velero fails every PVC and PV (\"found more than one ConfigMap matching label selector\")",
                    m.len(),
                    names.join(", ")
                ))
                .hint(format!("keep one: `kubectl -n {ns} delete configmap <name>` (or remove its velero.io/change-storage-class label)")),
            );
            None
        }
        Ok(m) => m.first(),
        Err(e) => {
            notes.push(format!("Velero's change-storage-class ConfigMaps could not be read ({}): mappings are not taken into account", e.explain()));
            None
        }
    };
    if let Some(m) = maps {
        notes.push(format!(
            "ConfigMap {} maps storage classes: {}",
            m.name,
            m.data.iter().map(|(a, b)| format!("{a} → {b}")).collect::<Vec<_>>().join(", ")
        ));
    }
    let class_of = |name: &str| classes.iter().find(|c| c.name() == name);
    let has_driver = |d: &str| drivers.iter().any(|c| c.name() == d);
    let default_class = classes.iter().find(|c| c.annotation(DEFAULT_CLASS) == Some("true")).map(|c| c.name().to_string());

    // Per PVC: its class here (or mapped), and that class's provisioner.
    let mut missing_classes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ok_pvcs = 0usize;
    for pvc in &archive.pvcs {
        let id = format!("{}/{}", pvc.namespace, pvc.name);
        let wanted = match pvc.storage_class.as_deref() {
            Some("") => {
                notes.push(format!("{id}: storageClassName \"\" (bound to a pre-provisioned PV): not dynamically provisioned"));
                ok_pvcs += 1;
                continue;
            }
            Some(c) => c.to_string(),
            None => match &default_class {
                Some(d) => {
                    notes.push(format!("{id}: no storageClassName: this cluster's default class {d} applies"));
                    d.clone()
                }
                None => {
                    findings.push(
                        Finding::fail(format!("PVC {id} names no StorageClass and this cluster has no default class: it stays Pending"))
                            .hint(format!("mark a class default: `kubectl annotate storageclass <name> {DEFAULT_CLASS}=true`")),
                    );
                    continue;
                }
            },
        };
        let (effective, mapped_by) = match maps.and_then(|m| m.data.get(&wanted).map(|n| (n, &m.name))) {
            Some((new, cm)) => (new.clone(), Some(cm.clone())),
            None => (wanted.clone(), None),
        };
        let Some(sc) = class_of(&effective) else {
            match &mapped_by {
                Some(cm) => findings.push(
                    Finding::fail(format!(
                        "PVC {id}: ConfigMap {cm} maps StorageClass {wanted} to {effective}, which does not exist here: Velero fails the PVC (\"error getting storage class {effective}\")"
                    ))
                    .hint(format!("create StorageClass {effective}, or map {wanted} to an existing class in ConfigMap {cm} (`kubectl get storageclass`)")),
                ),
                None => missing_classes.entry(wanted.clone()).or_default().push(id.clone()),
            }
            continue;
        };
        if let Some(cm) = &mapped_by {
            notes.push(format!("{id}: StorageClass {wanted} → {effective} (ConfigMap {cm})"));
        }
        let provisioner = sc.provisioner.as_str();
        if provisioner.starts_with("kubernetes.io/") {
            notes.push(format!("{id}: class {effective} uses the in-tree provisioner {provisioner} (no CSIDriver needed; no CSI snapshots either)"));
        } else if !has_driver(provisioner) {
            findings.push(
                Finding::fail(format!("PVC {id}: StorageClass {effective}'s provisioner {provisioner} has no CSIDriver here: the volume cannot be provisioned"))
                    .hint(format!("install the CSI driver {provisioner} (its CSIDriver object comes with it), or map {wanted} to a class of an installed driver")),
            );
            continue;
        }
        ok_pvcs += 1;
    }
    let sc_names: Vec<&str> = classes.iter().map(|c| c.name()).collect();
    for (class, pvcs) in &missing_classes {
        let cm = maps.map(|m| m.name.clone()).unwrap_or_else(|| "change-storage-class-config".into());
        findings.push(
            Finding::fail(format!("StorageClass {class} does not exist here and no change-storage-class mapping names it: {} PVC{} would stay Pending ({})", pvcs.len(), if pvcs.len() == 1 { "" } else { "s" }, crate::checks::findings::named(pvcs, 3)))
                .detail(format!("StorageClasses here: {}", if sc_names.is_empty() { "none".into() } else { sc_names.join(", ") }))
                .hint(format!(
                    "create StorageClass {class} here, or map it to one that exists: kubectl apply -f - <<'EOF'\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}\n  namespace: {ns}\n  labels:\n    velero.io/plugin-config: \"\"\n    velero.io/change-storage-class: RestoreItemAction\ndata:\n  {class}: <a class here>\nEOF"
                )),
        );
    }

    // CSI snapshots: the snapshot's driver, and the class its restored content names.
    let snapshot_classes: Vec<&VolumeSnapshotClass> = match &ctx.facts.kube.volume_snapshot_classes {
        Ok(l) => l.iter().collect(),
        Err(_) => Vec::new(),
    };
    let vsc_readable = ctx.facts.kube.volume_snapshot_classes.is_ok();
    let in_backup_classes: Vec<(String, Option<String>)> = {
        let mut v: Vec<(String, Option<String>)> = archive.snapshot_classes.iter().map(|c| (c.name.clone(), Some(c.driver.clone()))).collect();
        if let Some(Ok(l)) = &r.store.resource_list {
            for n in &l.snapshot_classes {
                if !v.iter().any(|(name, _)| name == n) {
                    v.push((n.clone(), None));
                }
            }
        }
        v
    };
    let snapshotted = csi_snapshots(r.store.volume_info.as_ref().and_then(|v| v.as_ref().ok()).and_then(|v| v.as_ref()), &archive.pvcs, &archive.pvs);
    let mut vsphere = 0usize;
    for s in &snapshotted {
        let Some(driver) = s.driver.as_deref() else {
            notes.push(format!("{}: snapshotted through CSI, driver unknown (its PV was not read)", s.pvc));
            continue;
        };
        if driver == VSPHERE {
            vsphere += 1;
        }
        if !has_driver(driver) {
            findings.push(
                Finding::fail(format!("PVC {}: its CSI snapshot is of driver {driver}, which is not installed here (no CSIDriver): the volume cannot be restored from it", s.pvc))
                    .hint(format!("install {driver} here before restoring")),
            );
            continue;
        }
        let class = archive.volume_snapshots.iter().find(|v| Some(v.name.as_str()) == s.snapshot.as_deref() && v.namespace == s.namespace).and_then(|v| v.class.clone());
        match class {
            Some(c) => {
                if let Some(here) = snapshot_classes.iter().find(|x| x.name() == c) {
                    if here.driver != driver {
                        findings.push(Finding::fail(format!(
                            "PVC {}: VolumeSnapshotClass {c} exists here but is for driver {}, not {driver}: the restored snapshot content cannot be used",
                            s.pvc, here.driver
                        )).hint(format!("the restored VolumeSnapshotContent names class {c}: make that class one of {driver}")));
                    }
                } else if let Some((_, d)) = in_backup_classes.iter().find(|(n, _)| *n == c) {
                    if d.as_deref().is_some_and(|d| d != driver) {
                        findings.push(Finding::fail(format!("PVC {}: the backup's VolumeSnapshotClass {c} is for another driver than {driver}", s.pvc)));
                    } else {
                        notes.push(format!("{}: VolumeSnapshotClass {c} is not here; the backup holds it and a whole restore creates it", s.pvc));
                    }
                } else if vsc_readable {
                    findings.push(
                        Finding::fail(format!(
                            "PVC {}: VolumeSnapshotClass {c} (named by its snapshot content) does not exist here nor in the backup: the csi-snapshotter cannot use the restored snapshot and the PVC stays Pending",
                            s.pvc
                        ))
                        .hint(format!(
                            "create a VolumeSnapshotClass named {c} for driver {driver} before restoring: kubectl apply -f - <<'EOF'\napiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\nmetadata:\n  name: {c}\n  labels:\n    velero.io/csi-volumesnapshot-class: \"true\"\ndriver: {driver}\ndeletionPolicy: Retain\nEOF"
                        )),
                    );
                }
            }
            None if vsc_readable => {
                if default_pick(driver, &snapshot_classes).is_none() {
                    findings.push(
                        Finding::fail(format!("PVC {}: no VolumeSnapshotClass of driver {driver} here that Velero would pick: its CSI snapshot cannot be restored", s.pvc))
                            .hint(format!("create a VolumeSnapshotClass for {driver} labelled velero.io/csi-volumesnapshot-class=true (see `veldr explain csi.snapshot-class`)")),
                    );
                }
            }
            None => {}
        }
    }
    if let Err(e) = &ctx.facts.kube.volume_snapshot_classes {
        if !snapshotted.is_empty() {
            findings.push(crate::checks::read_failed(e));
        }
    }
    if vsphere > 0 {
        notes.push(format!(
            "{vsphere} volume{} restored from vSphere CSI snapshots: a CNS snapshot stays on the source volume's datastore, so this cluster must use the same vCenter (and see that datastore)",
            if vsphere == 1 { " is" } else { "s are" }
        ));
    }
    let pvcs = archive.pvcs.len();
    let summary = format!(
        "all {pvcs} PVC{} of the backup can be provisioned here ({} from CSI snapshots)",
        if pvcs == 1 { "" } else { "s" },
        snapshotted.len()
    );
    let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
    let mut v = combine(summary, findings, Vec::new());
    v.details.extend(notes);
    v.evidence("pvcs", pvcs)
        .evidence("provisionable", ok_pvcs)
        .evidence("csiSnapshots", snapshotted.len())
        .evidence("problems", failed)
        .evidence("missingClasses", json!(missing_classes))
        .evidence("archive", json!({"end": archive.end, "bytesRead": archive.bytes_read, "entries": archive.entries, "formatVersion": archive.format_version}))
}

/// `2 GiB`, `512 MiB`, `1 KiB`, `300 B`.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// A volume the restore creates from a CSI snapshot.
struct Snapshotted {
    pvc: String,
    namespace: String,
    driver: Option<String>,
    snapshot: Option<String>,
}

/// The CSI-snapshotted volumes a restore creates from a snapshot (not skipped, not failed, not moved
/// by a data mover): from the volume info (Velero 1.13+), else from the PVCs Velero annotated with their
/// VolumeSnapshot (the driver then from the PV).
fn csi_snapshots(info: Option<&VolumeInfos>, pvcs: &[ArchivedPvc], pvs: &[crate::upstream::velero_backup_archive::ArchivedPv]) -> Vec<Snapshotted> {
    let pvc_of = |ns: &str, name: &str| pvcs.iter().find(|p| p.namespace == ns && p.name == name);
    match info {
        Some(list) => list
            .volumes
            .iter()
            .filter(|v| v.backup_method == CSI_SNAPSHOT && !v.skipped && v.result.as_deref() != Some(RESULT_FAILED) && !v.snapshot_data_moved)
            .map(|v| Snapshotted {
                pvc: format!("{}/{}", v.pvc_namespace, v.pvc_name),
                namespace: v.pvc_namespace.clone(),
                driver: v.csi_snapshot_info.as_ref().map(|c| c.driver.clone()).filter(|d| !d.is_empty()).or_else(|| pvs.iter().find(|p| p.name == v.pv_name).and_then(|p| p.csi_driver.clone())),
                snapshot: pvc_of(&v.pvc_namespace, &v.pvc_name).and_then(|p| p.volume_snapshot.clone()),
            })
            .collect(),
        None => pvcs
            .iter()
            .filter(|p| p.volume_snapshot.is_some())
            .map(|p| Snapshotted {
                pvc: format!("{}/{}", p.namespace, p.name),
                namespace: p.namespace.clone(),
                driver: p.volume_name.as_deref().and_then(|v| pvs.iter().find(|pv| pv.name == v)).and_then(|pv| pv.csi_driver.clone()),
                snapshot: p.volume_snapshot.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{list, ready, run, text};
    use super::*;
    use crate::facts::restore::StorageClassMap;
    use serde_json::json;

    #[test]
    fn a_ready_target_provisions_every_pvc_and_names_the_vcenter() {
        let v = run(&ready(), judge);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.summary, "all 2 PVCs of the backup can be provisioned here (1 from CSI snapshots)");
        assert!(text(&v).contains("must use the same vCenter"), "{}", text(&v));
    }

    #[test]
    fn a_missing_class_fails_unless_mapped_to_one_that_exists() {
        let mut f = ready();
        f.kube.storage_classes = Ok(list(vec![json!({"metadata": {"name": "vsphere-csi"}, "provisioner": VSPHERE})]));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("StorageClass gold does not exist here and no change-storage-class mapping names it: 1 PVC would stay Pending (shop/logs)"), "{}", v.summary);
        assert!(v.hint.as_deref().unwrap().contains("velero.io/change-storage-class: RestoreItemAction"));
        // Mapped to a class that exists: fine, and said.
        let map = StorageClassMap { name: "change-storage-class-config".into(), data: [("gold".to_string(), "vsphere-csi".to_string())].into() };
        f.restore.as_mut().unwrap().storage_class_maps = Ok(vec![map.clone()]);
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("shop/logs: StorageClass gold → vsphere-csi (ConfigMap change-storage-class-config)"), "{}", text(&v));
        // Mapped to a class that does not exist: Velero's error.
        let mut bad = map.clone();
        bad.data.insert("gold".into(), "silver".into());
        f.restore.as_mut().unwrap().storage_class_maps = Ok(vec![bad]);
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("error getting storage class silver"), "{}", v.summary);
        // Two ConfigMaps: every PVC fails.
        f.restore.as_mut().unwrap().storage_class_maps = Ok(vec![map.clone(), StorageClassMap { name: "other".into(), ..map }]);
        assert!(run(&f, judge).summary.contains("found more than one ConfigMap"));
    }

    #[test]
    fn a_missing_driver_or_snapshot_class_fails() {
        let mut f = ready();
        f.kube.volume_snapshot_classes = Ok(list(vec![]));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("VolumeSnapshotClass velero-vsphere (named by its snapshot content) does not exist here nor in the backup"), "{}", v.summary);
        // The backup holds the class: a whole restore creates it.
        if let Some(Ok(l)) = f.restore.as_mut().unwrap().store.resource_list.as_mut() {
            l.snapshot_classes.push("velero-vsphere".into());
        }
        assert_eq!(run(&f, judge).status, Status::Ok);
        let mut f = ready();
        f.kube.csi_drivers = Ok(list(vec![]));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("provisioner csi.vsphere.vmware.com has no CSIDriver here"), "{}", text(&v));
    }

    #[test]
    fn a_capped_or_corrupt_tarball_is_said() {
        let mut f = ready();
        if let Some(Ok(a)) = f.restore.as_mut().unwrap().store.archive.as_mut() {
            a.end = ArchiveEnd::Cap { limit: 1 << 20 };
        }
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("stopped at veldr's cap (1 MiB)"), "{}", v.summary);
        if let Some(Ok(a)) = f.restore.as_mut().unwrap().store.archive.as_mut() {
            a.end = ArchiveEnd::Corrupt { message: "unexpected EOF".into() };
        }
        assert_eq!(run(&f, judge).status, Status::Fail);
    }
}
