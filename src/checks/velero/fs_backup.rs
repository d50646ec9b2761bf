//! velero.fs-backup: nothing asks for file-system backup or the data mover against a Swift BSL
//! (Kopia has no Swift backend: `crate::upstream::kopia` knows what cannot work there). The judge
//! goes through the server's defaults, the Schedules, the current Backups, then Kopia's own failures.

use crate::checks::findings::{capped, one_line};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{Backup, Object};
use crate::model::Verdict;
use crate::upstream::{kopia, velero};
use k8s_openapi::api::apps::v1::Deployment;
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

/// Backup phases that are not final.
fn backup_running(phase: &str) -> bool {
    !matches!(phase, "Completed" | "PartiallyFailed" | "Failed" | "FailedValidation" | "Deleting")
}

/// What asks Kopia to write to a Swift BSL, gathered step by step.
struct Review<'a> {
    ctx: &'a Ctx<'a>,
    ns: &'a str,
    /// The selected BSLs of the OpenStack provider, by name.
    swift: BTreeSet<&'a str>,
    /// Where a backup without spec.storageLocation goes.
    default_bsl: Option<&'a str>,
    dep: Option<&'a Deployment>,
    helm: bool,
    fails: Vec<String>,
    hints: Vec<String>,
    unread: Vec<String>,
    /// `--flag`, `schedule/x`, `backup/x`… for the evidence.
    objects: Vec<String>,
}

impl<'a> Review<'a> {
    /// Whether a backup to `location` (or the default BSL) lands on a Swift BSL.
    fn targets_swift(&self, location: Option<&str>) -> bool {
        match location.filter(|l| !l.is_empty()).or(self.default_bsl) {
            Some(l) => self.swift.contains(l),
            None => true,
        }
    }

    /// 1. The server's defaults: every backup without its own setting asks for Kopia.
    fn server_defaults(&mut self) {
        let flags = self.dep.and_then(velero::server_container).map(velero::server_flags).unwrap_or_default();
        for feature in kopia::server_defaults(&flags) {
            let flag = feature.server_flag;
            self.fails.push(format!("the server runs with --{flag}=true: every backup without its own setting asks for it"));
            self.objects.push(format!("--{flag}"));
            self.hints.push(if self.helm {
                format!("Helm value `configuration.{}: false`", feature.helm_value)
            } else {
                format!("remove --{flag} from the velero container's args (`kubectl -n {} edit deployment/{}`)", self.ns, self.dep.map_or("velero", |d| d.name()))
            });
        }
        if let (None, Err(e)) = (self.dep, &self.ctx.facts.kube.deployments) {
            self.unread.push(e.explain());
        }
    }

    /// 2. Schedules: always judged (each makes new backups).
    fn schedules(&mut self) {
        let schedules = match &self.ctx.facts.kube.schedules {
            Ok(s) => s,
            Err(e) => return self.unread.push(e.explain()),
        };
        for s in schedules.iter() {
            let t = &s.spec.template;
            let a = kopia::asks(t);
            if a.is_empty() || !self.targets_swift(t.storage_location.as_deref()) {
                continue;
            }
            let paused = if s.spec.paused { " (paused)" } else { "" };
            self.fails.push(format!("Schedule {}{paused} sets {}", s.name(), a.join(" and ")));
            self.objects.push(format!("schedule/{}", s.name()));
            self.hints.push(if velero::helm_release_name(s).is_some() {
                format!("Helm value `schedules.{}.template.defaultVolumesToFsBackup: false` (and snapshotMoveData: false)", s.name())
            } else {
                format!(
                    "`kubectl -n {} patch schedule {} --type merge -p '{{\"spec\":{{\"template\":{{\"defaultVolumesToFsBackup\":false,\"snapshotMoveData\":false}}}}}}'`",
                    self.ns,
                    s.name()
                )
            });
        }
    }

    /// 3. Backups: those still running, and the newest of each schedule (older ones are history).
    /// Returns their names: the PodVolumeBackups of those are judged next.
    fn backups(&mut self) -> BTreeSet<String> {
        let mut current: BTreeSet<String> = BTreeSet::new();
        let backups = match &self.ctx.facts.kube.backups {
            Ok(b) => b,
            Err(e) => {
                self.unread.push(e.explain());
                return current;
            }
        };
        let mut newest: BTreeMap<&str, (&Backup, Option<Timestamp>)> = BTreeMap::new();
        for b in backups.iter() {
            let created = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
            if backup_running(b.status.phase.as_deref().unwrap_or_default()) {
                current.insert(b.name().to_string());
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
        current.extend(newest.values().map(|(b, _)| b.name().to_string()));
        for b in backups.iter().filter(|b| current.contains(b.name())) {
            let a = kopia::asks(&b.spec);
            if !a.is_empty() && self.targets_swift(b.spec.storage_location.as_deref()) {
                self.fails.push(format!("Backup {} ({}) sets {}", b.name(), b.status.phase.as_deref().unwrap_or("New"), a.join(" and ")));
                self.objects.push(format!("backup/{}", b.name()));
            }
        }
        current
    }

    /// 4. Kopia's own verdict: PodVolumeBackups of the current backups that failed with its backend errors.
    fn pod_volume_backups(&mut self, current: &BTreeSet<String>) {
        let pvbs = match &self.ctx.facts.kube.pod_volume_backups {
            Ok(p) => p,
            Err(e) => return self.unread.push(e.explain()),
        };
        let mut failed = Vec::new();
        for p in pvbs.iter() {
            let msg = p.status.message.as_deref().unwrap_or_default();
            if p.status.phase.as_deref() != Some("Failed") || !kopia::is_backend_error(msg) {
                continue;
            }
            let relevant = match p.label("velero.io/backup-name") {
                Some(b) => current.contains(b),
                None => p.metadata.creation_timestamp.as_ref().is_some_and(|t| self.ctx.age_secs(t.0) < 86_400),
            };
            if relevant {
                failed.push(format!("PodVolumeBackup {} failed: {}", p.name(), one_line(msg)));
                self.objects.push(format!("podvolumebackup/{}", p.name()));
            }
        }
        self.fails.extend(capped(failed, 3, "PodVolumeBackups failed the same way"));
    }

    /// 5. BackupRepositories Kopia could not open on the BSL.
    fn repositories(&mut self) {
        let repos = match &self.ctx.facts.kube.backup_repositories {
            Ok(r) => r,
            Err(e) => return self.unread.push(e.explain()),
        };
        for r in repos.iter() {
            let msg = r.status.message.as_deref().unwrap_or_default();
            if r.status.phase.as_deref() == Some("NotReady") && kopia::is_backend_error(msg) {
                self.fails.push(format!("BackupRepository {} is NotReady: {}", r.name(), one_line(msg)));
                self.objects.push(format!("backuprepository/{}", r.name()));
                let repo_hint = format!("once nothing asks for file-system backup, delete the broken repositories: `kubectl -n {} delete backuprepository {}`", self.ns, r.name());
                if !self.hints.iter().any(|h| h.starts_with("once nothing")) {
                    self.hints.push(repo_hint);
                }
            }
        }
    }

    /// The verdict: what asks for Kopia fails; what could not be read is an error; else ok.
    fn verdict(mut self) -> Verdict {
        let daemonsets = self.ctx.facts.kube.daemonsets.as_ref().ok();
        let node_agent = daemonsets.and_then(|d| d.iter().find(|d| d.name() == "node-agent" || d.label("name") == Some("node-agent")).map(|d| d.name()));
        let swift_list = self.swift.iter().copied().collect::<Vec<_>>().join(", ");
        let ev = |v: Verdict| v.evidence("swiftBsls", &self.swift).evidence("objects", &self.objects).evidence("nodeAgent", node_agent);
        if !self.fails.is_empty() {
            self.hints.dedup();
            let mut v = ev(Verdict::fail(format!("file-system backup or the data mover is asked of Swift BSL {swift_list}: {}", self.fails[0])))
                .details(self.fails.iter().skip(1).cloned())
                .detail(format!(
                    "Kopia (node-agent file-system backup and the data mover) only has aws, azure, gcp and fs backends: against community.openstack.org/openstack it fails with `{}` / `{}`, and those volumes are not backed up",
                    kopia::BACKEND_ERRORS[1],
                    kopia::BACKEND_ERRORS[0]
                ))
                .details(self.unread.iter().map(|u| format!("not judged: {u}")));
            if node_agent.is_none() {
                v = v.detail("no node-agent DaemonSet runs, so pod volume backups cannot even start");
            }
            let fix = if self.hints.is_empty() {
                format!(
                    "set {} and {} to false wherever they are true (server flags, Schedules, `velero backup create {}=false`)",
                    kopia::FS_BACKUP.spec_field,
                    kopia::DATA_MOVER.spec_field,
                    kopia::FS_BACKUP.cli_flag
                )
            } else {
                self.hints.join("; ")
            };
            return v.hint(format!("back volumes up with CSI snapshots instead: {fix}; keep `snapshotVolumes: true` and --features=EnableCSI"));
        }
        if !self.unread.is_empty() {
            return ev(Verdict::error(format!("could not read everything this check needs: {}", self.unread.join("; "))));
        }
        let mut v = ev(Verdict::ok(format!("no file-system backup or data mover is asked of Swift BSL {swift_list}")));
        if let Some(na) = node_agent {
            v = v.detail(format!(
                "DaemonSet {na} runs: harmless by itself, but pods annotated `backup.velero.io/backup-volumes` in backed-up namespaces would fail against Swift (veldr cannot see pods outside {})",
                self.ns
            ));
        }
        v
    }
}

fn judge(ctx: &Ctx) -> Verdict {
    let bsls = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let swift: BTreeSet<&str> = ctx.selected_bsls(bsls).iter().filter(|b| b.is_openstack()).map(|b| b.name()).collect();
    // Objects that did not decode (each may be a Swift BSL, or ask for file-system backup) are named
    // by the engine's malformed policy.
    if swift.is_empty() {
        return Verdict::skip("no BackupStorageLocation uses the OpenStack (Swift) provider: file-system backup is not judged here");
    }
    let dep = ctx.facts.kube.deployments.as_ref().ok().and_then(|d| velero::find_deployment(d, ctx.namespace()));
    let mut review = Review {
        ctx,
        ns: ctx.namespace(),
        swift,
        default_bsl: bsls.iter().find(|b| b.spec.default).map(|b| b.name()),
        dep,
        helm: dep.is_some_and(|d| velero::helm_release_name(d).is_some()),
        fails: Vec::new(),
        hints: Vec::new(),
        unread: Vec::new(),
        objects: Vec::new(),
    };
    review.server_defaults();
    review.schedules();
    let current = review.backups();
    review.pod_volume_backups(&current);
    review.repositories();
    review.verdict()
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
