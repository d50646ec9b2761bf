//! verify.volumes: every PVC of the namespace the test backup covered got its volume data, by the
//! backup's own record (`<b>-volumeinfo.json.gz`, read as backup.coverage reads it) and its CSI
//! snapshot counts (`status.csiVolumeSnapshotsAttempted`/`Completed`). Velero 1.14+ deletes the
//! VolumeSnapshot objects when it finalizes the backup, so those are not what is judged.

use super::{facts, ran};
use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{Object, ProblemKind};
use crate::upstream::velero_volumeinfo::{Outcome as VolumeOutcome, VolumeInfos};
use crate::model::Verdict;
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "verify.volumes", category: Snapshots, severity: Major,
    title: "The test backup kept every volume's data",
    depends_on: ["velero.deployment", "credentials.env", "bsl.phase", "keystone.auth", "swift.container"],
    needs: [PersistentVolumeClaims],
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    let v = match facts(ctx) {
        Ok(v) => v,
        Err(skip) => return skip,
    };
    if v.not_created.is_some() {
        return Verdict::skip("no test backup was created (verify.backup says why)");
    }
    if !ran(v) || !super::ended(v) {
        return Verdict::skip(format!("test backup {} did not run to its end ({}): no volume to judge (verify.backup says why)", v.backup, v.phase()));
    }
    let name = &v.backup;
    let ns = v.included_namespace.as_str();
    let claims = crate::need!(&ctx.facts.kube.persistent_volume_claims);
    let pvcs: Vec<String> = claims.iter().filter(|c| c.namespace() == Some(ns)).map(|c| c.name().to_string()).collect();
    let status = v.last.as_ref().map(|b| b.status.clone()).unwrap_or_default();
    let attempted = status.csi_volume_snapshots_attempted.unwrap_or(0);
    let completed = status.csi_volume_snapshots_completed.unwrap_or(0);
    let read = v.store.as_ref().and_then(|s| s.volume_info.as_ref());
    let infos: Option<&VolumeInfos> = read.and_then(|r| r.outcome.as_ref().ok());
    let mut findings: Vec<Finding> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    match read.map(|r| (&r.key, &r.outcome)) {
        None => notes.push(format!("its volumeinfo was not read: {}", v.store.as_ref().and_then(|s| s.unread.clone()).unwrap_or_else(|| "no Swift store for its BSL".into()))),
        Some((key, Err(p))) if p.kind == ProblemKind::NotFound => {
            notes.push(format!("no volumeinfo object at {key}: Velero writes it since 1.13; judged from the snapshot counts alone"))
        }
        Some((key, Err(p))) => findings.push(Finding::error(format!("its volumeinfo {key} could not be read: {}", p.message))),
        Some(_) => {}
    }
    if attempted > completed {
        findings.push(
            Finding::fail(format!("{} of {attempted} CSI snapshots of test backup {name} did not complete", attempted - completed))
                .hint("a snapshot that does not become ready within csiSnapshotTimeout fails: `veldr explain csi.snapshots`, and verify.backup's quoted errors"),
        );
    }
    let mut kept = 0usize;
    let mut beside = 0usize;
    for pvc in &pvcs {
        let Some(infos) = infos else { break };
        match infos.for_pvc(ns, pvc) {
            None if infos.volumes.len() < infos.total => notes.push(format!("{ns}/{pvc}: not among the {} volume records veldr keeps", infos.volumes.len())),
            None => findings.push(
                Finding::fail(format!("{ns}/{pvc} got no volume data in test backup {name}: the backup has no record of its volume"))
                    .detail(format!("{ns}/{pvc}: not in the backup's volumeinfo (an unbound claim, a snapshot that failed, or a volume Velero did not see)"))
                    .hint("verify.backup quotes the backup's errors; `veldr explain backup.coverage` lists why volumes get no data"),
            ),
            Some(i) => match i.outcome() {
                VolumeOutcome::Skipped => {
                    let why: Vec<String> = i.skip_reasons().iter().map(|(a, r)| if a.is_empty() { r.to_string() } else { format!("{a}: {r}") }).collect();
                    findings.push(
                        Finding::fail(format!("{ns}/{pvc} was skipped by test backup {name}: {}", why.join("; ")))
                            .hint("`veldr explain backup.coverage`: in-tree and file (RWX) vSphere volumes, snapshotVolumes: false and resource policies skip volumes"),
                    )
                }
                VolumeOutcome::Failed => findings.push(
                    Finding::fail(format!("{ns}/{pvc}: its {} in test backup {name} failed", i.backup_method))
                        .hint("verify.backup quotes the backup's errors; `veldr explain csi.snapshots`"),
                ),
                VolumeOutcome::Succeeded | VolumeOutcome::Unknown => {
                    kept += 1;
                    beside += usize::from(i.csi_snapshot_only());
                }
            },
        }
    }
    if pvcs.is_empty() {
        return combine(format!("namespace {ns} has no PersistentVolumeClaim: test backup {name} had no volume to snapshot"), findings, notes)
            .evidence("volumes", json!({"pvcs": 0, "csiSnapshotsAttempted": attempted, "csiSnapshotsCompleted": completed}));
    }
    if beside > 0 {
        notes.push(format!("{beside} of them kept only as CSI snapshots beside the volume (its datastore), not in the BSL: no data mover runs on a Swift BSL"));
    }
    let ok = match infos {
        Some(_) => format!("every PVC of {ns} ({}) got volume data in test backup {name}: {completed} of {attempted} CSI snapshots completed", pvcs.len()),
        None => format!("{completed} of {attempted} CSI snapshots of test backup {name} completed ({} PVCs in {ns}; no volume record to match them)", pvcs.len()),
    };
    combine(ok, findings, notes).evidence(
        "volumes",
        json!({"pvcs": pvcs.len(), "kept": kept, "csiSnapshotOnly": beside, "csiSnapshotsAttempted": attempted, "csiSnapshotsCompleted": completed}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::written;
    use crate::checks::verify::fixtures::{facts, run, NAME};
    use crate::facts::{List, VolumeInfoRead};
    use crate::model::Status;
    use crate::upstream::velero_volumeinfo;

    fn pvcs(names: &[(&str, &str)]) -> List<crate::facts::PersistentVolumeClaim> {
        let mut l = List::default();
        for (ns, n) in names {
            l.push_json(&json!({"metadata": {"name": n, "namespace": ns}, "spec": {"volumeName": format!("pv-{n}")}}).to_string());
        }
        l
    }

    fn volumeinfo(records: serde_json::Value) -> VolumeInfoRead {
        VolumeInfoRead { key: format!("backups/{NAME}/{NAME}-volumeinfo.json.gz"), outcome: velero_volumeinfo::parse_json(records.to_string().as_bytes()) }
    }

    fn csi(pvc: &str) -> serde_json::Value {
        json!({"pvcName": pvc, "pvcNamespace": "shop", "pvName": format!("pv-{pvc}"), "backupMethod": "CSISnapshot", "snapshotDataMoved": false,
               "preserveLocalSnapshot": true, "skipped": false, "csiSnapshotInfo": {"snapshotHandle": "h", "size": 1, "driver": "csi.vsphere.vmware.com", "vscName": "x", "ReadyToUse": true}})
    }

    #[test]
    fn every_pvc_with_a_snapshot_is_ok_and_says_where_the_data_is() {
        let mut v = run(&["", "InProgress", "Completed"], json!({"csiVolumeSnapshotsAttempted": 2, "csiVolumeSnapshotsCompleted": 2}));
        v.store.as_mut().unwrap().volume_info = Some(volumeinfo(json!([csi("data"), csi("uploads")])));
        let mut f = facts(v);
        f.kube.persistent_volume_claims = Ok(pvcs(&[("shop", "data"), ("shop", "uploads"), ("other", "x")]));
        let verdict = judge(&Ctx::new(&f, &[]));
        assert_eq!(verdict.status, Status::Ok, "{verdict:?}");
        let t = written(&verdict);
        assert!(t.starts_with("every PVC of shop (2) got volume data") && t.contains("2 of 2 CSI snapshots completed"), "{t}");
        assert!(t.contains("2 of them kept only as CSI snapshots beside the volume"), "{t}");
    }

    #[test]
    fn a_pvc_without_record_or_skipped_fails_and_uncompleted_snapshots_are_counted() {
        let mut v = run(&["", "InProgress", "PartiallyFailed"], json!({"csiVolumeSnapshotsAttempted": 2, "csiVolumeSnapshotsCompleted": 1}));
        let skipped = json!({"pvcName": "files", "pvcNamespace": "shop", "pvName": "pv-files", "skipped": true, "snapshotDataMoved": false,
                             "skippedReason": "csiSnapshot: skipped b/c it's not a CSI volume;"});
        v.store.as_mut().unwrap().volume_info = Some(volumeinfo(json!([csi("data"), skipped])));
        let mut f = facts(v);
        f.kube.persistent_volume_claims = Ok(pvcs(&[("shop", "data"), ("shop", "uploads"), ("shop", "files")]));
        let verdict = judge(&Ctx::new(&f, &[]));
        assert_eq!(verdict.status, Status::Fail);
        let t = written(&verdict);
        assert!(t.contains("shop/uploads got no volume data"), "{t}");
        assert!(t.contains("shop/files was skipped by test backup") && t.contains("csiSnapshot: skipped b/c it's not a CSI volume"), "{t}");
        assert!(t.contains("1 of 2 CSI snapshots of test backup"), "{t}");
    }

    #[test]
    fn no_pvc_is_ok_a_missing_record_object_is_said_and_no_run_is_skipped() {
        let mut v = run(&["", "InProgress", "Completed"], json!({}));
        v.included_namespace = "default".into();
        v.store.as_mut().unwrap().volume_info =
            Some(VolumeInfoRead { key: "k".into(), outcome: Err(crate::facts::Problem::new(ProblemKind::NotFound, "404")) });
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Ok);
        assert!(verdict.summary.starts_with("namespace default has no PersistentVolumeClaim"), "{}", verdict.summary);
        assert!(written(&verdict).contains("Velero writes it since 1.13"));

        let v = run(&["", "Queued", "ReadyToStart", "FailedValidation"], json!({}));
        assert_eq!(judge(&Ctx::new(&facts(v), &[])).status, Status::Skip);
    }
}
