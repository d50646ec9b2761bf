//! csi.snapshot-class: for every CSI driver of the cluster's Bound volumes, Velero finds a
//! VolumeSnapshotClass.
//!
//! The choice mirrors Velero's `GetVolumeSnapshotClass` (pkg/util/csi/volume_snapshot.go):
//! (1) PVC annotation, (2) Backup/Schedule annotation `velero.io/csi-volumesnapshot-class_<driver>`,
//! (3) the first class of the driver labelled `velero.io/csi-volumesnapshot-class` (any value),
//! (4) the first with the `snapshot.storage.kubernetes.io/is-default-class` annotation (any value),
//! (5) the only class of the driver. The driver is the PVC's StorageClass provisioner, as in Velero.
//! An annotation naming a missing class or a class of another driver is only logged at debug
//! level by Velero, which then falls back to the next rule.

use super::volumes_or_verdict;
use crate::checks::findings::{combine, Finding};
use crate::checks::{read_failed, CheckDef, Ctx};
use crate::facts::{Object, ReadErrorKind, Schedule, VolumeSnapshotClass};
use crate::model::{Status, Verdict};
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "csi.snapshot-class", category: Snapshots, severity: Critical,
    title: "A VolumeSnapshotClass per CSI driver",
    depends_on: ["kube.connect"],
    needs: [PersistentVolumeClaims, PersistentVolumes, StorageClasses, VolumeSnapshotClasses, Schedules, Deployments, HelmReleases],
    consults: [Deployments],
    judge: judge,
};

const CLASS_LABEL: &str = "velero.io/csi-volumesnapshot-class";
const DEFAULT_ANNOTATION: &str = "snapshot.storage.kubernetes.io/is-default-class";

/// A key that was probably meant to be `target` (typo, truncation, wrong prefix) but is not.
fn near_miss(key: &str, target: &str) -> bool {
    if key == target || key.is_empty() {
        return false;
    }
    let k = key.to_ascii_lowercase();
    strsim::levenshtein(&k, target) <= 4
        || (k.len() >= target.len() / 2 && (target.starts_with(&k) || k.starts_with(target)))
        || k.contains("csi-volumesnapshot")
        || k.ends_with("volumesnapshot-class")
}

/// Velero's choice among the classes of one driver without any annotation (rules 3–5).
pub(crate) fn default_pick<'a>(driver: &str, classes: &[&'a VolumeSnapshotClass]) -> Option<(&'a VolumeSnapshotClass, &'static str)> {
    let of_driver: Vec<&VolumeSnapshotClass> = classes.iter().copied().filter(|c| c.driver == driver).collect();
    if let Some(c) = of_driver.iter().find(|c| c.label(CLASS_LABEL).is_some()) {
        return Some((c, "label velero.io/csi-volumesnapshot-class"));
    }
    if let Some(c) = of_driver.iter().find(|c| c.annotation(DEFAULT_ANNOTATION).is_some()) {
        return Some((c, "annotation snapshot.storage.kubernetes.io/is-default-class"));
    }
    if of_driver.len() == 1 {
        return Some((of_driver[0], "the only class of the driver"));
    }
    None
}

/// A class named by an annotation, as Velero resolves it: by name (case-insensitive), then driver.
enum Named<'a> {
    Ok(&'a VolumeSnapshotClass),
    Missing,
    OtherDriver(&'a VolumeSnapshotClass),
}

fn resolve_named<'a>(name: &str, driver: &str, classes: &[&'a VolumeSnapshotClass]) -> Named<'a> {
    match classes.iter().find(|c| c.name().eq_ignore_ascii_case(name)) {
        None => Named::Missing,
        Some(c) if c.driver.eq_ignore_ascii_case(driver) => Named::Ok(c),
        Some(c) => Named::OtherDriver(c),
    }
}

/// Why an annotation's class is not used.
fn why_not(bad: &Named, want: &str) -> String {
    match bad {
        Named::OtherDriver(c) => format!("class {} is for driver {}", c.name(), if c.driver.is_empty() { "?" } else { &c.driver }),
        _ => format!("no VolumeSnapshotClass is named {want:?}"),
    }
}

/// A VolumeSnapshotClass Velero will pick for `driver`, as YAML lines (no trailing newline).
fn class_yaml(driver: &str, indent: &str) -> String {
    let lines = [
        "apiVersion: snapshot.storage.k8s.io/v1".to_string(),
        "kind: VolumeSnapshotClass".to_string(),
        "metadata:".to_string(),
        format!("  name: velero-{}", driver.replace('.', "-")),
        "  labels:".to_string(),
        format!("    {CLASS_LABEL}: \"true\""),
        format!("driver: {driver}"),
        "deletionPolicy: Delete".to_string(),
    ];
    lines.iter().enumerate().map(|(i, l)| if i == 0 { format!("{indent}- {l}") } else { format!("{indent}  {l}") }).collect::<Vec<_>>().join("\n")
}

/// The fix for a driver without a usable class.
fn class_fix(driver: &str, helm: bool) -> String {
    if helm {
        format!("add a labelled class to the Helm values and `helm upgrade`:\nextraObjects:\n{}", class_yaml(driver, "  "))
    } else {
        let yaml = class_yaml(driver, "").trim_start_matches("- ").replace("\n  ", "\n");
        format!("label one class: `kubectl label volumesnapshotclass <name> {CLASS_LABEL}=true`, or create one: kubectl apply -f - <<'EOF'\n{yaml}\nEOF")
    }
}

fn judge(ctx: &Ctx) -> Verdict {
    let in_use = match volumes_or_verdict(ctx, "no Bound PVC is backed by a CSI volume: there is nothing for Velero to snapshot through CSI") {
        Ok(found) => found,
        Err(v) => return *v,
    };
    let drivers = in_use.by_driver();
    let classes_read = match &ctx.facts.kube.volume_snapshot_classes {
        Ok(c) => c,
        Err(e) if e.kind == ReadErrorKind::NotServed => {
            return Verdict::fail("the VolumeSnapshotClass API (snapshot.storage.k8s.io/v1) is not served: Velero cannot take CSI snapshots")
                .detail(format!("CSI drivers in use: {}", drivers.keys().copied().collect::<Vec<_>>().join(", ")))
                .hint("install the external-snapshotter CRDs and the snapshot-controller (kubernetes-csi/external-snapshotter: client/config/crd and deploy/kubernetes/snapshot-controller); see csi.driver")
                .evidence("read", e);
        }
        Err(e) => return read_failed(e),
    };
    let mut classes: Vec<&VolumeSnapshotClass> = classes_read.iter().collect();
    classes.sort_by(|a, b| a.name().cmp(b.name())); // the API server's list order
    let ns = ctx.namespace().to_string();
    let helm = ctx.by_helm();
    let schedules: Vec<&Schedule> = ctx.facts.kube.schedules.as_ref().map(|s| s.iter().collect()).unwrap_or_default();

    let mut findings: Vec<Finding> = Vec::new();
    let mut notes = in_use.notes.clone();
    let mut evidence = Vec::new();
    let mut picks = Vec::new();

    // Objects that did not decode (the class Velero would pick, or a Schedule naming one) are named
    // by the engine's malformed policy.

    for (driver, vols) in &drivers {
        let of_driver: Vec<&VolumeSnapshotClass> = classes.iter().copied().filter(|c| c.driver == *driver).collect();
        let pick = default_pick(driver, &classes);
        let fix = class_fix(driver, helm);

        // Typos that keep Velero from seeing a label, and classes for a mistyped driver name.
        let mut typos = Vec::new();
        for c in &classes {
            let cdriver = c.driver.as_str();
            if cdriver == *driver {
                for k in c.meta().labels.iter().flatten().map(|(k, _)| k) {
                    if near_miss(k, CLASS_LABEL) {
                        typos.push(format!("class {} has the label key {k:?}: did you mean {CLASS_LABEL:?}?", c.name()));
                    }
                }
                for k in c.meta().annotations.iter().flatten().map(|(k, _)| k) {
                    if k == CLASS_LABEL || near_miss(k, CLASS_LABEL) {
                        typos.push(format!("class {} carries {k:?} as an annotation; Velero looks for the label {CLASS_LABEL:?}", c.name()));
                    }
                }
            } else if !drivers.contains_key(cdriver) && !cdriver.is_empty() && (strsim::levenshtein(cdriver, driver) <= 3 || (cdriver.len() >= 4 && driver.starts_with(cdriver))) {
                typos.push(format!("class {} is for driver {cdriver:?}: did you mean {driver:?}?", c.name()));
            }
        }

        let labelled: Vec<&str> = of_driver.iter().filter(|c| c.label(CLASS_LABEL).is_some()).map(|c| c.name()).collect();
        let class_names: Vec<&str> = of_driver.iter().map(|c| c.name()).collect();

        // Per-PVC annotations (rule 1).
        let mut uncovered = 0;
        let mut pvc_overrides = Vec::new();
        for v in vols {
            let Some(want) = v.pvc.annotation(CLASS_LABEL) else {
                if pick.is_none() {
                    uncovered += 1;
                }
                continue;
            };
            let pvc_ns = v.pvc.namespace().unwrap_or("");
            match resolve_named(want, driver, &classes) {
                Named::Ok(c) => {
                    pvc_overrides.push(json!({"pvc": v.id, "class": c.name()}));
                    notes.push(format!("{}: uses class {} (PVC annotation)", v.id, c.name()));
                }
                bad => {
                    let why = why_not(&bad, want);
                    match pick {
                        Some((c, rule)) => findings.push(
                            Finding::new(Status::Warn, format!("PVC {} asks for VolumeSnapshotClass {want:?} but {why}; Velero ignores the annotation and uses {}", v.id, c.name()))
                                .detail(format!("{}: annotation {CLASS_LABEL}={want}; fallback {} by {rule}", v.id, c.name()))
                                .hint(format!("fix the annotation: `kubectl -n {pvc_ns} annotate pvc {} {CLASS_LABEL}=<class of {driver}> --overwrite` (classes: {})", v.pvc.name(), class_names.join(", "))),
                        ),
                        None => {
                            uncovered += 1;
                            findings.push(
                                Finding::new(Status::Fail, format!("PVC {} asks for VolumeSnapshotClass {want:?} but {why}, and no other class of {driver} qualifies", v.id))
                                    .detail(format!("{}: annotation {CLASS_LABEL}={want}", v.id))
                                    .hint(format!("fix the annotation or create the class: `kubectl -n {pvc_ns} annotate pvc {} {CLASS_LABEL}=<class> --overwrite`", v.pvc.name())),
                            );
                        }
                    }
                }
            }
        }

        // Schedule annotations (rule 2, copied onto every Backup the schedule makes).
        let key = format!("{CLASS_LABEL}_{}", driver.to_lowercase());
        let mut sched_ok = 0;
        let mut sched_overrides = Vec::new();
        for s in &schedules {
            let Some(want) = s.annotation(&key) else { continue };
            match resolve_named(want, driver, &classes) {
                Named::Ok(c) => {
                    sched_ok += 1;
                    sched_overrides.push(json!({"schedule": s.name(), "class": c.name()}));
                    notes.push(format!("schedule {}: its backups use class {} for {driver} (Schedule annotation)", s.name(), c.name()));
                }
                bad => {
                    let why = why_not(&bad, want);
                    let fallback = pick.map(|(c, r)| format!("Velero ignores it and uses {} ({r})", c.name())).unwrap_or_else(|| "Velero ignores it and finds no other class".into());
                    findings.push(
                        Finding::new(if pick.is_some() { Status::Warn } else { Status::Fail }, format!("schedule {} names VolumeSnapshotClass {want:?} for {driver} but {why}; {fallback}", s.name()))
                            .detail(format!("schedule {}: annotation {key}={want}", s.name()))
                            .hint(format!("`kubectl -n {ns} annotate schedule {} {key}=<class> --overwrite` (classes of {driver}: {})", s.name(), class_names.join(", "))),
                    );
                }
            }
        }

        match pick {
            Some((c, rule)) => {
                picks.push(format!("{driver} → {} ({rule}) for {}", c.name(), crate::checks::findings::plural(vols.len(), "PVC")));
                if labelled.len() > 1 {
                    findings.push(
                        Finding::new(Status::Warn, format!("{} VolumeSnapshotClasses of {driver} carry the label {CLASS_LABEL}: Velero silently takes the first, {}", labelled.len(), c.name()))
                            .detail(format!("{driver}: labelled classes in list order: {}", labelled.join(", ")))
                            .hint(format!("keep the label on one class: `kubectl label volumesnapshotclass <other> {CLASS_LABEL}-`{}", if helm { " (and in the Helm `extraObjects`)" } else { "" })),
                    );
                }
                if rule.starts_with("annotation") {
                    let value = c.annotation(DEFAULT_ANNOTATION).unwrap_or("");
                    if value != "true" {
                        notes.push(format!("{driver}: {} has {DEFAULT_ANNOTATION}={value:?}; Velero only checks that the key is present", c.name()));
                    }
                }
                if rule.starts_with("the only") {
                    if typos.is_empty() {
                        notes.push(format!("{driver}: {} is picked only because it is the only class of the driver; a second class would break backups unless one carries the label {CLASS_LABEL}", c.name()));
                    } else {
                        findings.push(
                            Finding::new(Status::Warn, format!("{driver}: {} is used only because it is the only class; its Velero label is misspelled", c.name()))
                                .details(typos.clone())
                                .hint(format!("fix the label: `kubectl label volumesnapshotclass {} {CLASS_LABEL}=true`{}", c.name(), if helm { " (and in the Helm `extraObjects`)" } else { "" })),
                        );
                        typos.clear();
                    }
                } else if !typos.is_empty() {
                    notes.extend(typos.iter().map(|t| format!("{driver}: {t}")));
                    typos.clear();
                }
            }
            None if uncovered > 0 => {
                let all_scheduled = !schedules.is_empty() && sched_ok == schedules.len();
                let mut f = Finding::new(
                    if all_scheduled { Status::Warn } else { Status::Fail },
                    format!("failed to get VolumeSnapshotClass for provisioner {driver}: Velero will not snapshot {} PVC(s){}", vols.len(), if all_scheduled { " in manual backups" } else { "" }),
                )
                .detail(format!(
                    "{driver}: classes of this driver: {}; none has the label {CLASS_LABEL}, none has the annotation {DEFAULT_ANNOTATION}, and there is not exactly one",
                    if class_names.is_empty() { "none".to_string() } else { class_names.join(", ") }
                ))
                .detail(format!("{driver}: PVCs: {}", vols.iter().map(|v| v.id.as_str()).collect::<Vec<_>>().join(", ")));
                f = f.details(typos.clone());
                f = f.hint(if typos.is_empty() { fix.clone() } else { format!("fix the misspelled label or driver named above; or {fix}") });
                findings.push(f);
                picks.push(format!("{driver} → none"));
            }
            None => picks.push(format!("{driver} → per-PVC annotations only")),
        }

        evidence.push(json!({
            "driver": driver,
            "class": pick.map(|(c, _)| c.name()),
            "rule": pick.map(|(_, r)| r),
            "pvcs": vols.len(),
            "classes": class_names,
            "labelled": labelled,
            "pvcOverrides": pvc_overrides,
            "scheduleOverrides": sched_overrides,
        }));
    }

    combine(format!("Velero picks {}", picks.join("; ")), findings, notes).evidence("drivers", evidence)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{healthy, list, pvc, run, text, vsc, VSPHERE};
    use super::*;
    use crate::facts::ReadError;
    use serde_json::{json, Value};

    #[test]
    fn healthy_cluster_is_ok() {
        let v = run(&super::CHECK, &healthy());
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.evidence["drivers"][0]["class"], "velero-vsphere-snapshot-class");
        assert_eq!(v.evidence["drivers"][0]["rule"], "label velero.io/csi-volumesnapshot-class");
    }

    #[test]
    fn no_csi_volumes_skip() {
        let mut f = healthy();
        f.kube.persistent_volume_claims = Ok(list(vec![]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
        // Non-CSI PVs are not counted.
        let mut f = healthy();
        f.kube.persistent_volumes = Ok(list(vec![
            json!({"metadata": {"name": "pv-a"}, "spec": {"nfs": {"server": "x", "path": "/x"}}}),
            json!({"metadata": {"name": "pv-b"}, "spec": {"hostPath": {"path": "/x"}}}),
        ]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn malformed_objects_are_named_and_warn() {
        // A PVC that does not decode may be a CSI volume: not a silent skip.
        let mut f = healthy();
        f.kube.persistent_volume_claims = Ok(list(vec![json!({"metadata": {"name": "odd", "namespace": "shop"}, "spec": {"volumeName": 3}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("malformed object persistentvolumeclaim shop/odd"), "{v:?}");
        // A class that does not decode may be the one Velero picks.
        let mut f = healthy();
        let classes = vec![vsc("velero-vsphere-snapshot-class", VSPHERE, json!({CLASS_LABEL: "true"})), json!({"metadata": {"name": "broken"}, "driver": ["x"]})];
        f.kube.volume_snapshot_classes = Ok(list(classes));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("malformed object volumesnapshotclass broken"), "{v:?}");
    }

    #[test]
    fn label_typo_with_a_second_class_fails_with_did_you_mean() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(list(vec![
            vsc("velero-vsphere-snapshot-class", VSPHERE, json!({"velero.io/csi-volumesnapshot-cl": "true"})),
            vsc("vsphere-default", VSPHERE, json!({})),
        ]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(t.contains("failed to get volumesnapshotclass for provisioner csi.vsphere.vmware.com"), "{t}");
        assert!(t.contains("did you mean"), "{t}");
    }

    #[test]
    fn label_typo_on_the_only_class_warns() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(list(vec![vsc("velero-vsphere-snapshot-class", VSPHERE, json!({"velero.io/csi-volumesnapshot-cl": "true"}))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("did you mean"));
        assert_eq!(v.evidence["drivers"][0]["rule"], "the only class of the driver");
    }

    #[test]
    fn driver_typo_is_named() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(list(vec![vsc("velero-vsphere-snapshot-class", "csi.vspher", json!({CLASS_LABEL: "true"}))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("did you mean \"csi.vsphere.vmware.com\""), "{v:?}");
    }

    #[test]
    fn two_labelled_classes_warn_and_name_the_winner() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(list(vec![vsc("b-class", VSPHERE, json!({CLASS_LABEL: "true"})), vsc("a-class", VSPHERE, json!({CLASS_LABEL: "yes"}))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("silently takes the first, a-class"), "{v:?}");
    }

    #[test]
    fn default_annotation_and_only_class_rules() {
        let mut f = healthy();
        let mut d = vsc("vsphere-default", VSPHERE, json!({}));
        d["metadata"]["annotations"] = json!({DEFAULT_ANNOTATION: "true"});
        f.kube.volume_snapshot_classes = Ok(list(vec![vsc("other", VSPHERE, json!({})), d]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.evidence["drivers"][0]["class"], "vsphere-default");
        f.kube.volume_snapshot_classes = Ok(list(vec![vsc("only", VSPHERE, json!({}))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.evidence["drivers"][0]["rule"], "the only class of the driver");
    }

    #[test]
    fn no_class_fails_with_velero_text_and_helm_fix() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(list(vec![vsc("other-driver", "disk.csi.azure.com", json!({CLASS_LABEL: "true"}))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("failed to get volumesnapshotclass for provisioner csi.vsphere.vmware.com"));
        assert!(t.contains("velero.io/csi-volumesnapshot-class: \"true\"") && t.contains("kubectl apply -f -"), "the fix has the YAML: {t}");
        assert_eq!(class_fix("csi.vsphere.vmware.com", true).lines().nth(2), Some("  - apiVersion: snapshot.storage.k8s.io/v1"));
    }

    #[test]
    fn pvc_annotation_rules() {
        let mut f = healthy();
        let mut claims: Vec<Value> = vec![pvc("shop", "data", "pv-a"), pvc("shop", "uploads", "pv-b")];
        claims[0]["metadata"]["annotations"] = json!({CLASS_LABEL: "does-not-exist"});
        f.kube.persistent_volume_claims = Ok(list(claims.clone()));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "Velero falls back: {v:?}");
        assert!(text(&v).contains("ignores the annotation"));
        // Without a fallback, the PVC cannot be snapshotted.
        f.kube.volume_snapshot_classes = Ok(list(vec![]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Fail);
        // A valid annotation is used (case-insensitive name).
        let mut f = healthy();
        claims[0]["metadata"]["annotations"] = json!({CLASS_LABEL: "VELERO-vsphere-snapshot-class"});
        f.kube.persistent_volume_claims = Ok(list(claims));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn schedule_annotation_naming_a_missing_class_warns() {
        let mut f = healthy();
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "daily", "annotations": {"velero.io/csi-volumesnapshot-class_csi.vsphere.vmware.com": "gone"}}, "spec": {"schedule": "@daily"}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("schedule daily names"));
    }

    #[test]
    fn unreadable_snapshot_classes_is_an_error_naming_the_read() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Err(ReadError::forbidden("list", "volumesnapshotclasses.snapshot.storage.k8s.io", None));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.contains("list volumesnapshotclasses"));
        // PVs unreadable: fall back to StorageClasses.
        let mut f = healthy();
        f.kube.persistent_volumes = Err(ReadError::forbidden("list", "persistentvolumes", None));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn near_misses() {
        assert!(near_miss("velero.io/csi-volumesnapshot-cl", CLASS_LABEL));
        assert!(near_miss("velero.io/csi-volumesnapshotclass", CLASS_LABEL));
        assert!(near_miss("velero/csi-volumesnapshot-class", CLASS_LABEL));
        assert!(!near_miss(CLASS_LABEL, CLASS_LABEL));
        assert!(!near_miss("app.kubernetes.io/managed-by", CLASS_LABEL));
    }
}
