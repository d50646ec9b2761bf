//! DeleteBackupRequests not processed within an hour, or processed with errors.

use super::{created, Review};
use crate::checks::findings::{one_line, Group};
use crate::facts::Object;
use crate::model::Status;
use crate::rules::duration::human_age;

/// A DeleteBackupRequest is picked up within seconds; an hour means the deletion is not happening.
const DELETE_GRACE_SECS: i64 = 3_600;

impl<'a> Review<'a> {
    pub(super) fn delete_requests(&mut self) {
        let facts = self.ctx.facts;
        let Some(list) = self.read(&facts.kube.delete_backup_requests, "DeleteBackupRequest") else { return };
        let ns = &self.ns;
        let mut pending = Group::new(
            Status::Warn,
            "DeleteBackupRequests not processed for over an hour: expired backups stay in the bucket (and on vSphere their snapshots pile up)",
            format!(
                "Velero's backup-deletion controller is not getting through: `kubectl -n {ns} logs deploy/velero | grep -i 'delet'`; check that the server runs (`veldr doctor --only velero.deployment,bsl.phase`)"
            ),
        );
        let mut failed = Group::new(
            Status::Warn,
            "backup deletions failed",
            format!("the errors name what could not be deleted (objects in Swift, volume snapshots); after fixing it, `velero backup delete <backup> -n {ns}` asks again"),
        );
        for d in list.iter() {
            let phase = d.status.phase.as_deref().unwrap_or("New");
            let backup = &d.spec.backup_name;
            if phase == "Processed" {
                if !d.status.errors.is_empty() {
                    let errs: Vec<String> = d.status.errors.iter().take(3).map(|e| one_line(e)).collect();
                    failed.lines.push(format!("deletion of backup {backup} failed: {}", errs.join("; ")));
                }
            } else if let Some(age) = created(d).map(|t| self.age(t)).filter(|a| *a > DELETE_GRACE_SECS) {
                pending.lines.push(format!("deletion of backup {backup} ({}) is {phase} since {} ago", d.name(), human_age(age)));
            }
        }
        self.groups.push(pending);
        self.groups.push(failed);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;

    #[test]
    fn delete_requests_pending_for_an_hour_or_failed_warn() {
        let dbr = |name: &str, backup: &str, created: &str, status: Value| {
            json!({"metadata": {"name": name, "namespace": "velero", "creationTimestamp": created, "labels": {"velero.io/backup-name": backup}},
                "spec": {"backupName": backup}, "status": status})
        };
        let mut f = Facts::empty("velero");
        f.kube.delete_backup_requests = Ok(list(vec![
            dbr("d-old", "daily-20261001020000", "2026-11-29T05:00:00Z", json!({})),
            dbr("d-new", "daily-20261002020000", "2026-11-29T07:30:00Z", json!({"phase": "New"})),
            dbr("d-err", "daily-20261003020000", "2026-11-29T06:00:00Z", json!({"phase": "Processed", "errors": ["error deleting snapshot: the object is locked"]})),
        ]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = written(&v);
        assert!(t.contains("[warn] deletion of backup daily-20261001020000 (d-old) is New since 3h ago"), "{t}");
        assert!(t.contains("deletion of backup daily-20261003020000 failed: error deleting snapshot"), "{t}");
        assert!(!t.contains("daily-20261002020000"), "a request 30 min old is not late: {t}");
    }
}
