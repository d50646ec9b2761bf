//! velero.fs-backup: nothing asks for file-system backup or the data mover against a Swift BSL
//! (Kopia has no Swift backend).

use crate::checks::findings::one_line;
use crate::checks::{CheckDef, Ctx};
use crate::facts::{Backup, BackupSpec, Object};
use crate::model::Verdict;
use crate::upstream::velero;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

pub const CHECK: CheckDef = crate::check! {
    id: "velero.fs-backup", category: Velero, severity: Major,
    title: "No file-system backup on Swift",
    depends_on: ["kube.connect"],
    needs: [BackupStorageLocations, Deployments, Schedules, Backups, PodVolumeBackups, BackupRepositories, DaemonSets],
    // A DaemonSet that did not decode only changes the node-agent note; the server's flags are read
    // from its Deployment when it decodes.
    consults: [Deployments, DaemonSets],
    explains: [
        ["invalid backend type"] => "Kopia (file-system backup, data mover) has no Swift backend: it cannot write a repository to this BSL",
        ["invalid storage provider"] => "Kopia (file-system backup, data mover) does not know the OpenStack provider: it cannot write a repository to this BSL",
    ],
    judge: judge,
};

/// Kopia's errors for a BSL it has no backend for (REFERENCE §1).
const KOPIA_BACKEND_ERRORS: [&str; 2] = ["invalid storage provider", "invalid backend type"];

/// Backup phases that are not final.
fn backup_running(phase: &str) -> bool {
    !matches!(phase, "Completed" | "PartiallyFailed" | "Failed" | "FailedValidation" | "Deleting")
}

/// What a Backup's spec (or a Schedule's template) asks of Kopia.
fn asks(spec: &BackupSpec) -> Vec<&'static str> {
    let mut a = Vec::new();
    if spec.default_volumes_to_fs_backup == Some(true) {
        a.push("defaultVolumesToFsBackup: true");
    } else if spec.default_volumes_to_restic == Some(true) {
        // Deprecated; Velero remaps it to defaultVolumesToFsBackup.
        a.push("defaultVolumesToRestic: true");
    }
    if spec.snapshot_move_data == Some(true) {
        a.push("snapshotMoveData: true");
    }
    a
}

fn judge(ctx: &Ctx) -> Verdict {
    let bsls = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let ns = ctx.namespace();
    let selected = ctx.selected_bsls(bsls);
    let swift: BTreeSet<&str> = selected.iter().filter(|b| b.is_openstack()).map(|b| b.name()).collect();
    // Objects that did not decode (each may be a Swift BSL, or ask for file-system backup) are named
    // by the engine's malformed policy.
    if swift.is_empty() {
        return Verdict::skip("no BackupStorageLocation uses the OpenStack (Swift) provider: file-system backup is not judged here");
    }
    // Where a backup without spec.storageLocation goes: the default BSL.
    let default_bsl = bsls.iter().find(|b| b.spec.default).map(|b| b.name());
    let targets_swift = |loc: Option<&str>| match loc.filter(|l| !l.is_empty()).or(default_bsl) {
        Some(l) => swift.contains(l),
        None => true,
    };
    let deployments = ctx.facts.kube.deployments.as_ref().ok();
    let dep = deployments.and_then(|d| velero::find_deployment(d, ns));
    let helm = dep.is_some_and(|d| velero::helm_release_name(d).is_some());
    let mut fails: Vec<String> = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    let mut unread: Vec<String> = Vec::new();
    let mut objects: Vec<String> = Vec::new();

    // 1. Server defaults.
    let flags = dep.and_then(velero::server_container).map(velero::server_flags).unwrap_or_default();
    for (flag, value) in [("default-volumes-to-fs-backup", "defaultVolumesToFsBackup"), ("default-snapshot-move-data", "defaultSnapshotMoveData")] {
        if velero::flag_true(&flags, flag) {
            fails.push(format!("the server runs with --{flag}=true: every backup without its own setting asks for it"));
            objects.push(format!("--{flag}"));
            hints.push(if helm {
                format!("Helm value `configuration.{value}: false`")
            } else {
                format!("remove --{flag} from the velero container's args (`kubectl -n {ns} edit deployment/{}`)", dep.map_or("velero", |d| d.name()))
            });
        }
    }
    if let (None, Err(e)) = (dep, &ctx.facts.kube.deployments) {
        unread.push(e.explain());
    }

    // 2. Schedules: always judged (each makes new backups).
    match &ctx.facts.kube.schedules {
        Ok(schedules) => {
            for s in schedules.iter() {
                let t = &s.spec.template;
                let a = asks(t);
                if !a.is_empty() && targets_swift(t.storage_location.as_deref()) {
                    let paused = if s.spec.paused { " (paused)" } else { "" };
                    fails.push(format!("Schedule {}{paused} sets {}", s.name(), a.join(" and ")));
                    objects.push(format!("schedule/{}", s.name()));
                    hints.push(if velero::helm_release_name(s).is_some() {
                        format!("Helm value `schedules.{}.template.defaultVolumesToFsBackup: false` (and snapshotMoveData: false)", s.name())
                    } else {
                        format!(
                            "`kubectl -n {ns} patch schedule {} --type merge -p '{{\"spec\":{{\"template\":{{\"defaultVolumesToFsBackup\":false,\"snapshotMoveData\":false}}}}}}'`",
                            s.name()
                        )
                    });
                }
            }
        }
        Err(e) => unread.push(e.explain()),
    }

    // 3. Backups: those still running, and the newest of each schedule (older ones are history).
    let mut current_backups: BTreeSet<String> = BTreeSet::new();
    match &ctx.facts.kube.backups {
        Ok(backups) => {
            let mut newest: BTreeMap<&str, (&Backup, Option<Timestamp>)> = BTreeMap::new();
            for b in backups.iter() {
                let phase = b.status.phase.as_deref().unwrap_or_default();
                let created = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
                if backup_running(phase) {
                    current_backups.insert(b.name().to_string());
                }
                let key = b.schedule().unwrap_or("");
                let newer = match newest.get(key) {
                    None => true,
                    Some((old, t)) => (created, b.name()) > (*t, old.name()),
                };
                if newer {
                    newest.insert(key, (b, created));
                }
            }
            current_backups.extend(newest.values().map(|(b, _)| b.name().to_string()));
            for b in backups.iter().filter(|b| current_backups.contains(b.name())) {
                let a = asks(&b.spec);
                if !a.is_empty() && targets_swift(b.spec.storage_location.as_deref()) {
                    fails.push(format!("Backup {} ({}) sets {}", b.name(), b.status.phase.as_deref().unwrap_or("New"), a.join(" and ")));
                    objects.push(format!("backup/{}", b.name()));
                }
            }
        }
        Err(e) => unread.push(e.explain()),
    }

    // 4. Kopia's own verdict: failed PodVolumeBackups of current backups, failed repositories.
    let kopia_error = |msg: &str| KOPIA_BACKEND_ERRORS.iter().any(|k| msg.contains(k));
    match &ctx.facts.kube.pod_volume_backups {
        Ok(pvbs) => {
            let mut shown = 0;
            for p in pvbs.iter() {
                let msg = p.status.message.as_deref().unwrap_or_default();
                if p.status.phase.as_deref() != Some("Failed") || !kopia_error(msg) {
                    continue;
                }
                let relevant = match p.label("velero.io/backup-name") {
                    Some(b) => current_backups.contains(b),
                    None => p.metadata.creation_timestamp.as_ref().is_some_and(|t| ctx.age_secs(t.0) < 86_400),
                };
                if relevant {
                    shown += 1;
                    if shown <= 3 {
                        fails.push(format!("PodVolumeBackup {} failed: {}", p.name(), one_line(msg)));
                    }
                    objects.push(format!("podvolumebackup/{}", p.name()));
                }
            }
            if shown > 3 {
                fails.push(format!("… and {} more PodVolumeBackups failed the same way", shown - 3));
            }
        }
        Err(e) => unread.push(e.explain()),
    }
    match &ctx.facts.kube.backup_repositories {
        Ok(repos) => {
            for r in repos.iter() {
                let msg = r.status.message.as_deref().unwrap_or_default();
                if r.status.phase.as_deref() == Some("NotReady") && kopia_error(msg) {
                    fails.push(format!("BackupRepository {} is NotReady: {}", r.name(), one_line(msg)));
                    objects.push(format!("backuprepository/{}", r.name()));
                    let repo_hint = format!("once nothing asks for file-system backup, delete the broken repositories: `kubectl -n {ns} delete backuprepository {}`", r.name());
                    if !hints.iter().any(|h| h.starts_with("once nothing")) {
                        hints.push(repo_hint);
                    }
                }
            }
        }
        Err(e) => unread.push(e.explain()),
    }

    let daemonsets = ctx.facts.kube.daemonsets.as_ref().ok();
    let node_agent = daemonsets.and_then(|d| d.iter().find(|d| d.name() == "node-agent" || d.label("name") == Some("node-agent")).map(|d| d.name()));
    let swift_list = swift.iter().copied().collect::<Vec<_>>().join(", ");
    let ev = |v: Verdict| v.evidence("swiftBsls", &swift).evidence("objects", &objects).evidence("nodeAgent", node_agent);

    if !fails.is_empty() {
        hints.dedup();
        let mut v = ev(Verdict::fail(format!(
            "file-system backup or the data mover is asked of Swift BSL {swift_list}: {}",
            fails[0]
        )))
        .details(fails.iter().skip(1).cloned())
        .detail("Kopia (node-agent file-system backup and the data mover) only has aws, azure, gcp and fs backends: against community.openstack.org/openstack it fails with `invalid backend type` / `invalid storage provider`, and those volumes are not backed up")
        .details(unread.iter().map(|u| format!("not judged: {u}")));
        if node_agent.is_none() {
            v = v.detail("no node-agent DaemonSet runs, so pod volume backups cannot even start");
        }
        let fix = if hints.is_empty() {
            "set defaultVolumesToFsBackup and snapshotMoveData to false wherever they are true (server flags, Schedules, `velero backup create --default-volumes-to-fs-backup=false`)".to_string()
        } else {
            hints.join("; ")
        };
        let v = v.hint(format!("back volumes up with CSI snapshots instead: {fix}; keep `snapshotVolumes: true` and --features=EnableCSI"));
        return v;
    }
    if !unread.is_empty() {
        return ev(Verdict::error(format!("could not read everything this check needs: {}", unread.join("; "))));
    }
    let mut v = ev(Verdict::ok(format!("no file-system backup or data mover is asked of Swift BSL {swift_list}")));
    if let Some(na) = node_agent {
        v = v.detail(format!(
            "DaemonSet {na} runs: harmless by itself, but pods annotated `backup.velero.io/backup-volumes` in backed-up namespaces would fail against Swift (veldr cannot see pods outside {ns})"
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use crate::model::Status;
    use serde_json::json;

    #[test]
    fn healthy_is_ok() {
        let v = run(&super::CHECK, &facts());
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn server_flag_fails() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(
            &["server", "--features=EnableCSI", "--default-volumes-to-fs-backup=true"],
            plugin_init("x/velero-plugin-for-openstack:v0.8.2"),
        )]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.contains("--default-volumes-to-fs-backup") && t.contains("configuration.defaultVolumesToFsBackup: false"), "{t}");
        // The bare form counts too.
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server", "--default-snapshot-move-data"], json!([]))]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Fail);
    }

    #[test]
    fn schedule_and_newest_backup_fail_old_backup_does_not() {
        let mut f = facts();
        f.kube.backups = Ok(list(vec![
            backup("daily-20261129020000", "2026-11-29T02:00:00Z", "Completed", json!({"defaultVolumesToFsBackup": false})),
            backup("daily-20261101020000", "2026-11-01T02:00:00Z", "PartiallyFailed", json!({"defaultVolumesToFsBackup": true})),
        ]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "weekly"}, "spec": {"template": {"snapshotMoveData": true}}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("Schedule weekly sets snapshotMoveData: true"));
        f.kube.schedules = Ok(list(vec![]));
        f.kube.backups = Ok(list(vec![backup("manual", "2026-11-29T07:00:00Z", "InProgress", json!({"defaultVolumesToFsBackup": true}))]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Fail);
    }

    #[test]
    fn to_a_non_swift_bsl_is_fine() {
        let mut f = facts();
        f.kube.backup_storage_locations = Ok(list(vec![bsl("default", "community.openstack.org/openstack"), {
            let mut b = bsl("s3", "aws");
            b["spec"]["default"] = json!(false);
            b
        }]));
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "fs"}, "spec": {"template": {"defaultVolumesToFsBackup": true, "storageLocation": "s3"}}})]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn kopia_errors_fail() {
        let mut f = facts();
        f.kube.pod_volume_backups = Ok(list(vec![json!({"metadata": {"name": "daily-20261129020000-abcde", "namespace": "velero",
            "labels": {"velero.io/backup-name": "daily-20261129020000"}},
            "status": {"phase": "Failed", "message": "error to initialize data path: invalid backend type community.openstack.org/openstack, provider community.openstack.org/openstack"}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("invalid backend type"));
        // The same failure in a backup that is history is ignored.
        f.kube.pod_volume_backups = Ok(list(vec![json!({"metadata": {"name": "old", "labels": {"velero.io/backup-name": "daily-20261001020000"}},
            "status": {"phase": "Failed", "message": "invalid backend type x"}})]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
        f.kube.backup_repositories = Ok(list(vec![json!({"metadata": {"name": "shop-default-kopia-abcde"},
            "status": {"phase": "NotReady", "message": "error to init backup repo: invalid storage provider"}})]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Fail);
    }

    #[test]
    fn node_agent_alone_is_ok() {
        let mut f = facts();
        f.kube.daemonsets = Ok(list(vec![json!({"metadata": {"name": "node-agent", "namespace": "velero", "labels": {"name": "node-agent"}}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok);
        assert!(written(&v).contains("backup.velero.io/backup-volumes"));
    }

    #[test]
    fn a_malformed_schedule_warns() {
        let mut f = facts();
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "weekly", "namespace": "velero"}, "spec": {"template": {"snapshotMoveData": "yes"}}})]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(written(&v).contains("malformed object Schedule velero/weekly"), "{}", written(&v));
    }

    #[test]
    fn skips_without_swift() {
        let mut f = facts();
        f.kube.backup_storage_locations = Ok(list(vec![bsl("default", "aws")]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn unreadable_is_error() {
        let mut f = facts();
        f.kube.pod_volume_backups = Err(crate::facts::ReadError::forbidden("list", "podvolumebackups.velero.io", Some("velero")));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.contains("podvolumebackups.velero.io"));
    }
}
