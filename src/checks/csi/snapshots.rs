//! csi.snapshots: the snapshots themselves. A VolumeSnapshot or VolumeSnapshotContent with
//! `status.error` (quoted, and recognised when vSphere says its vCenter is too old or the volume
//! is full of snapshots), one not ready past the `csiSnapshotTimeout` of the Backup that made it,
//! contents whose Backup is gone (on vSphere they still count against the per-volume limit), and
//! vSphere CSI's `block-volume-snapshot` feature switch.

use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{Backup, List, Object, ReadError, ReadErrorKind, SnapshotStatus};
use crate::model::{Status, Verdict};
use crate::rules::duration::{human_age, human_interval, parse_go_duration};
use crate::upstream::velero::{backup_name_label, DEFAULT_CSI_SNAPSHOT_TIMEOUT_SECS};
use crate::upstream::vsphere_csi;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub const CHECK: CheckDef = crate::check! {
    id: "csi.snapshots", category: Snapshots, severity: Major,
    title: "No failed, stuck or orphaned snapshots",
    depends_on: ["kube.connect"],
    needs: [VolumeSnapshots, VolumeSnapshotContents, Backups, CsiDrivers, PersistentVolumes, VsphereFeatureStates],
    consults: [VolumeSnapshots, VolumeSnapshotContents, Backups, CsiDrivers, PersistentVolumes],
    explains: [
        ["unimplemented", "snapshot operations"] => "vCenter older than 7.0U3 cannot snapshot block volumes (or block-volume-snapshot is off in the vSphere CSI feature states)",
        ["volumesnapshot", "readytouse"] => "the VolumeSnapshot did not become readyToUse within csiSnapshotTimeout (default 10m): its status.error and the snapshot-controller and CSI driver logs say why",
        ["timed out awaiting reconciliation of volumesnapshot"] => "the VolumeSnapshot did not become ready within csiSnapshotTimeout (default 10m): its status.error and the snapshot-controller and CSI driver logs say why",
        ["csi got timed out"] => "the VolumeSnapshotContent carried an error until csiSnapshotTimeout ran out: the CSI driver could not take the snapshot",
        ["volumesnapshot", "is not ready"] => "a VolumeSnapshot was not ready when Velero needed it: look at its status.error",
    ],
    judge: judge,
};

const BACKUP_LABEL: &str = "velero.io/backup-name";
/// How many objects a finding names before it counts the rest.
const NAMED: usize = 10;

/// What is wrong with one snapshot object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Problem {
    Error(String),
    Stuck { timeout: String },
    Orphaned,
}

/// The Backups by their `velero.io/backup-name` label value (what Velero puts on snapshots), with
/// each one's csiSnapshotTimeout in seconds.
fn backups_by_label(backups: &List<Backup>) -> BTreeMap<String, f64> {
    backups
        .iter()
        .map(|b| {
            let timeout = b.spec.csi_snapshot_timeout.as_deref().and_then(parse_go_duration).filter(|t| *t > 0.0).unwrap_or(DEFAULT_CSI_SNAPSHOT_TIMEOUT_SECS);
            (backup_name_label(b.name()), timeout)
        })
        .collect()
}

/// The problems of one object (a VolumeSnapshot or a VolumeSnapshotContent).
fn problems_of(ctx: &Ctx, obj: &impl Object, status: Option<&SnapshotStatus>, backups: Option<&BTreeMap<String, f64>>) -> Vec<Problem> {
    let mut out = Vec::new();
    let ready = status.is_some_and(SnapshotStatus::ready);
    let label = obj.label(BACKUP_LABEL);
    if let Some(msg) = status.and_then(SnapshotStatus::error_message).filter(|_| !ready) {
        out.push(Problem::Error(crate::openstack::http::excerpt(msg, 400)));
    } else if !ready {
        let timeout = label.and_then(|l| backups?.get(l).copied()).unwrap_or(DEFAULT_CSI_SNAPSHOT_TIMEOUT_SECS);
        let created = obj.meta().creation_timestamp.as_ref().map(|t| t.0);
        if created.is_some_and(|c| ctx.age_secs(c) as f64 > timeout) {
            out.push(Problem::Stuck { timeout: human_interval(timeout) });
        }
    }
    if let (Some(l), Some(b)) = (label, backups) {
        if !b.contains_key(l) {
            out.push(Problem::Orphaned);
        }
    }
    out
}

fn age(ctx: &Ctx, obj: &impl Object) -> String {
    obj.meta().creation_timestamp.as_ref().map(|t| format!(", {} old", human_age(ctx.age_secs(t.0)))).unwrap_or_default()
}

/// What the error means and what to do, when it is one veldr recognises.
fn error_hint(msg: &str) -> String {
    let m = msg.to_lowercase();
    if m.contains("unimplemented") && m.contains("snapshot operations") {
        "vSphere CSI says the vCenter is older than 7.0U3, the first release with CNS snapshots: upgrade vCenter and ESXi to 7.0U3 or later, or back these volumes up with file-system backup".into()
    } else if m.contains("unimplemented") && m.contains("createsnapshot") {
        "vSphere CSI's block-volume-snapshot feature is off: set `block-volume-snapshot: \"true\"` in ConfigMap internal-feature-states.csi.vsphere.vmware.com (namespace vmware-system-csi) and restart vsphere-csi-controller".into()
    } else if m.contains("reaches the configured maximum") {
        "the volume holds as many snapshots as vSphere CSI allows: see `veldr explain csi.snapshot-limit` (shorten the backups' ttl, or raise global-max-snapshots-per-block-volume), and delete expired backups' leftovers".into()
    } else {
        "`kubectl describe` the object named, and read the csi-snapshotter sidecar's and the snapshot-controller's logs around its creation time".into()
    }
}

fn finding(problem: &Problem, objects: &[String], vsphere_in_use: bool) -> Finding {
    let n = objects.len();
    let (status, summary, hint) = match problem {
        Problem::Error(msg) => (Status::Fail, format!("{n} snapshot object(s) failed: \"{msg}\""), error_hint(msg)),
        Problem::Stuck { timeout } => (
            Status::Fail,
            format!("{n} snapshot object(s) not ready past the backup's csiSnapshotTimeout ({timeout})"),
            "the backup gave up on them: look at the csi-snapshotter sidecar's logs and `kubectl describe` them; once understood, delete them (with their Backup, `velero backup delete`, when it is one)".to_string(),
        ),
        Problem::Orphaned => (
            Status::Warn,
            format!(
                "{n} snapshot object(s) left by Backups that no longer exist{}",
                if vsphere_in_use { ": on vSphere each still holds a snapshot that counts against the per-volume limit" } else { ": each still holds a snapshot on the storage" }
            ),
            "delete them (a VolumeSnapshotContent whose deletionPolicy is Retain keeps the storage snapshot: set it to Delete first): `kubectl delete volumesnapshot -n NS NAME`, `kubectl patch volumesnapshotcontent NAME --type merge -p '{\"spec\":{\"deletionPolicy\":\"Delete\"}}'` then `kubectl delete volumesnapshotcontent NAME`".to_string(),
        ),
    };
    let mut names: Vec<String> = objects.iter().take(NAMED).cloned().collect();
    if n > NAMED {
        names.push(format!("… and {} more", n - NAMED));
    }
    Finding::new(status, summary).details(names).hint(hint)
}

/// vSphere CSI's block-volume-snapshot switch; `None` when there is nothing to say.
fn feature_state(ctx: &Ctx, notes: &mut Vec<String>) -> Option<Finding> {
    let where_ = format!("ConfigMap {}", vsphere_csi::FEATURE_STATES);
    match &ctx.facts.kube.vsphere_feature_states {
        Ok(Some(fs)) if fs.block_volume_snapshot.as_deref() == Some("true") => {
            notes.push(format!("{}/{}: {}: \"true\"", fs.namespace, vsphere_csi::FEATURE_STATES, vsphere_csi::BLOCK_VOLUME_SNAPSHOT));
            None
        }
        Ok(Some(fs)) => Some(
            Finding::new(
                Status::Fail,
                format!(
                    "vSphere CSI's block-volume-snapshot feature is off ({} in {}/{}): every snapshot of a vSphere volume fails",
                    fs.block_volume_snapshot.as_deref().map(|v| format!("\"{v}\"")).unwrap_or_else(|| "not set".into()),
                    fs.namespace,
                    vsphere_csi::FEATURE_STATES
                ),
            )
            .hint(format!(
                "`kubectl patch configmap/{} -n {} --type merge -p '{{\"data\":{{\"block-volume-snapshot\":\"true\"}}}}'`, then restart vsphere-csi-controller (and deploy the csi-snapshotter sidecar: vsphere-csi-driver's deploy-csi-snapshot-components.sh)",
                vsphere_csi::FEATURE_STATES,
                fs.namespace
            )),
        ),
        Ok(None) => Some(
            Finding::new(Status::Warn, format!("vSphere CSI is in use but its {where_} is in neither {}: veldr cannot tell whether block-volume snapshots are on", vsphere_csi::NAMESPACES.join(" nor ")))
                .hint("find the driver's feature states (its `--fss-name`/`--fss-namespace` arguments) and check `block-volume-snapshot: \"true\"`"),
        ),
        Err(e) if e.kind == ReadErrorKind::Forbidden => Some(
            Finding::new(Status::Warn, format!("veldr may not read {where_} in namespace {}: whether block-volume snapshots are on is not known", e.namespace.as_deref().unwrap_or("?"))).hint(format!(
                "grant veldr `get` on configmaps named {} in namespace vmware-system-csi (or kube-system on older installs), a Role + RoleBinding as in deploy/rbac.yaml",
                vsphere_csi::FEATURE_STATES
            )),
        ),
        Err(e) if e.kind == ReadErrorKind::NotNeeded => None,
        Err(e) => {
            notes.push(format!("{where_} not read: {}", e.explain()));
            None
        }
    }
}

fn judge(ctx: &Ctx) -> Verdict {
    let k = &ctx.facts.kube;
    let not_served = |e: Option<&ReadError>| e.is_some_and(|e| e.kind == ReadErrorKind::NotServed);
    if not_served(k.volume_snapshots.as_ref().err()) && not_served(k.volume_snapshot_contents.as_ref().err()) {
        return Verdict::skip("the VolumeSnapshot CRDs are not installed (snapshot.storage.k8s.io/v1 is not served): there are no snapshots to judge (csi.driver says whether they are needed)");
    }
    let not_read = |e: Option<&ReadError>| e.is_some_and(|e| e.kind == ReadErrorKind::NotNeeded);
    if not_read(k.volume_snapshots.as_ref().err()) || not_read(k.volume_snapshot_contents.as_ref().err()) {
        // Only a bundle written by a veldr before 0.2 lacks them: a live run reads what a check needs.
        return Verdict::skip("the VolumeSnapshots were not read (a bundle from an older veldr): collect again to judge them");
    }
    let snapshots = crate::need!(&k.volume_snapshots);
    let contents = crate::need!(&k.volume_snapshot_contents);
    let mut notes: Vec<String> = Vec::new();
    let backups = match &k.backups {
        Ok(b) => Some(backups_by_label(b)),
        Err(e) => {
            notes.push(format!("Backups unreadable ({}): snapshots left by deleted backups are not looked for, and each timeout is taken as 10m", e.explain()));
            None
        }
    };
    let vsphere_in_use = super::vsphere_in_use(ctx);

    let mut by_problem: BTreeMap<Problem, Vec<String>> = BTreeMap::new();
    let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
    for vs in snapshots.iter() {
        let problems = problems_of(ctx, vs, vs.status.as_ref(), backups.as_ref());
        if problems.is_empty() {
            continue;
        }
        reported.insert((vs.namespace().unwrap_or_default().to_string(), vs.name().to_string()));
        let pvc = vs.spec.source.persistent_volume_claim_name.as_deref().map(|p| format!(", of PVC {p}")).unwrap_or_default();
        let backup = vs.label(BACKUP_LABEL).map(|b| format!(", backup {b}")).unwrap_or_default();
        for p in problems {
            by_problem.entry(p).or_default().push(format!("VolumeSnapshot {}{pvc}{backup}{}", vs.object_ref(), age(ctx, vs)));
        }
    }
    for c in contents.iter() {
        let problems = problems_of(ctx, c, c.status.as_ref(), backups.as_ref());
        let r = &c.spec.volume_snapshot_ref;
        let of = (r.namespace.clone().unwrap_or_default(), r.name.clone().unwrap_or_default());
        for p in problems {
            // Its VolumeSnapshot already says the same: one line per snapshot, not two.
            let listed = by_problem.get(&p).is_some_and(|l| l.iter().any(|x| x.starts_with(&format!("VolumeSnapshot {}/{},", of.0, of.1))));
            if reported.contains(&of) && listed {
                continue;
            }
            let backup = c.label(BACKUP_LABEL).map(|b| format!(", backup {b}")).unwrap_or_default();
            let policy = c.spec.deletion_policy.as_deref().map(|d| format!(", deletionPolicy {d}")).unwrap_or_default();
            by_problem.entry(p).or_default().push(format!("VolumeSnapshotContent {} ({}{backup}{policy}){}", c.name(), c.spec.driver, age(ctx, c)));
        }
    }

    let mut findings: Vec<Finding> = by_problem.iter().map(|(p, objs)| finding(p, objs, vsphere_in_use)).collect();
    if vsphere_in_use {
        findings.extend(feature_state(ctx, &mut notes));
    }
    let ok = format!(
        "{} VolumeSnapshot(s) and {} VolumeSnapshotContent(s): none failed, stuck or left by a deleted backup{}",
        snapshots.len(),
        contents.len(),
        if vsphere_in_use { "; vSphere block-volume snapshots are on" } else { "" }
    );
    let counts: BTreeMap<&str, usize> = by_problem.iter().fold(BTreeMap::new(), |mut m, (p, objs)| {
        let key = match p {
            Problem::Error(_) => "error",
            Problem::Stuck { .. } => "stuck",
            Problem::Orphaned => "orphaned",
        };
        *m.entry(key).or_default() += objs.len();
        m
    });
    combine(ok, findings, notes)
        .evidence("volumeSnapshots", snapshots.len())
        .evidence("volumeSnapshotContents", contents.len())
        .evidence("problems", json!(counts))
        .evidence("blockVolumeSnapshot", ctx.facts.kube.vsphere_feature_states.as_ref().ok().and_then(Option::as_ref).map(|f| f.block_volume_snapshot.clone()))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{healthy, list, run, text};
    use super::*;
    use crate::facts::VsphereFeatureStates;
    use serde_json::{json, Value};

    fn backup(name: &str, timeout: Option<&str>) -> Value {
        json!({"metadata": {"name": name, "namespace": "velero"}, "spec": {"csiSnapshotTimeout": timeout}, "status": {"phase": "InProgress"}})
    }

    fn vs(name: &str, backup: Option<&str>, created: &str, status: Value) -> Value {
        let labels = backup.map(|b| json!({BACKUP_LABEL: b})).unwrap_or(Value::Null);
        json!({"metadata": {"name": name, "namespace": "shop", "labels": labels, "creationTimestamp": created},
               "spec": {"source": {"persistentVolumeClaimName": "data"}}, "status": status})
    }

    fn vsc(name: &str, backup: Option<&str>, created: &str, of: &str, status: Value) -> Value {
        let labels = backup.map(|b| json!({BACKUP_LABEL: b})).unwrap_or(Value::Null);
        json!({"metadata": {"name": name, "labels": labels, "creationTimestamp": created},
               "spec": {"driver": vsphere_csi::DRIVER, "deletionPolicy": "Retain", "volumeSnapshotRef": {"namespace": "shop", "name": of}}, "status": status})
    }

    fn base() -> crate::facts::Facts {
        let mut f = healthy();
        f.kube.vsphere_feature_states = Ok(Some(VsphereFeatureStates { namespace: "vmware-system-csi".into(), block_volume_snapshot: Some("true".into()) }));
        f.kube.backups = Ok(list(vec![backup("daily-1", Some("30m")), backup("daily-2", None)]));
        f
    }

    // The facts' clock is 2026-11-29T08:00:00Z.
    const FIVE_MIN_AGO: &str = "2026-11-29T07:55:00Z";
    const HOUR_AGO: &str = "2026-11-29T07:00:00Z";
    const TWENTY_MIN_AGO: &str = "2026-11-29T07:40:00Z";

    #[test]
    fn healthy_snapshots_are_ok() {
        let mut f = base();
        f.kube.volume_snapshots = Ok(list(vec![vs("a", Some("daily-1"), HOUR_AGO, json!({"readyToUse": true})), vs("b", Some("daily-2"), FIVE_MIN_AGO, json!({"readyToUse": false}))]));
        f.kube.volume_snapshot_contents = Ok(list(vec![vsc("snapcontent-a", Some("daily-1"), HOUR_AGO, "a", json!({"readyToUse": true}))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("2 VolumeSnapshot(s) and 1 VolumeSnapshotContent(s)"), "{}", v.summary);
    }

    #[test]
    fn an_error_is_quoted_and_recognised() {
        let mut f = base();
        let msg = "Failed to check and update snapshot content: failed to take snapshot of the volume 6a3f: \"rpc error: code = Unimplemented desc = VC version does not support snapshot operations\"";
        f.kube.volume_snapshots = Ok(list(vec![vs("a", Some("daily-1"), FIVE_MIN_AGO, json!({"readyToUse": false, "error": {"message": msg, "time": FIVE_MIN_AGO}}))]));
        f.kube.volume_snapshot_contents = Ok(list(vec![vsc("snapcontent-a", Some("daily-1"), FIVE_MIN_AGO, "a", json!({"readyToUse": false, "error": {"message": msg}}))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.summary.contains("1 snapshot object(s) failed") && v.summary.contains("VC version does not support snapshot operations"), "one line for the pair: {}", v.summary);
        assert!(text(&v).contains("older than 7.0u3"), "{v:?}");
        // A full volume points at the limit check.
        assert!(error_hint("the number of snapshots on the source volume 6a3f reaches the configured maximum (3)").contains("csi.snapshot-limit"));
        assert!(error_hint("rpc error: code = Unimplemented desc = createSnapshot").contains("block-volume-snapshot"));
    }

    #[test]
    fn not_ready_past_the_backups_timeout_is_stuck() {
        let mut f = base();
        f.kube.volume_snapshots = Ok(list(vec![
            vs("within-30m", Some("daily-1"), TWENTY_MIN_AGO, json!({"readyToUse": false})),
            vs("past-10m", Some("daily-2"), TWENTY_MIN_AGO, json!({})),
        ]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.summary.contains("1 snapshot object(s) not ready past the backup's csiSnapshotTimeout (10m)"), "{}", v.summary);
        assert!(text(&v).contains("volumesnapshot shop/past-10m, of pvc data, backup daily-2, 20m old"), "{v:?}");
    }

    #[test]
    fn contents_of_deleted_backups_are_orphans() {
        let mut f = base();
        f.kube.volume_snapshot_contents = Ok(list(vec![vsc("snapcontent-old", Some("daily-0"), HOUR_AGO, "gone", json!({"readyToUse": true}))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("left by Backups that no longer exist") && v.summary.contains("counts against the per-volume limit"), "{}", v.summary);
        assert!(text(&v).contains("deletionpolicy retain"), "{v:?}");
        // Backups unreadable: not judged as orphans, said so.
        f.kube.backups = Err(ReadError::forbidden("list", "backups.velero.io", Some("velero")));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("backups unreadable"), "{v:?}");
    }

    #[test]
    fn the_vsphere_feature_switch_must_be_on() {
        let mut f = base();
        f.kube.vsphere_feature_states = Ok(Some(VsphereFeatureStates { namespace: "vmware-system-csi".into(), block_volume_snapshot: Some("false".into()) }));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(text(&v).contains("block-volume-snapshot feature is off (\"false\""), "{v:?}");
        f.kube.vsphere_feature_states = Err(ReadError::forbidden("get", "configmaps", Some("vmware-system-csi")));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("grant veldr `get` on configmaps named internal-feature-states.csi.vsphere.vmware.com"), "{v:?}");
        // Without vSphere CSI the switch is not looked at.
        f.kube.csi_drivers = Ok(list(vec![]));
        f.kube.persistent_volumes = Ok(list(vec![]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn absent_crds_skip() {
        let mut f = base();
        let nf = |r: &str| ReadError::new(ReadErrorKind::NotServed, "list", r, None, "HTTP 404");
        f.kube.volume_snapshots = Err(nf("volumesnapshots.snapshot.storage.k8s.io"));
        f.kube.volume_snapshot_contents = Err(nf("volumesnapshotcontents.snapshot.storage.k8s.io"));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Skip, "{v:?}");
        assert!(v.summary.contains("not installed"));
    }
}
