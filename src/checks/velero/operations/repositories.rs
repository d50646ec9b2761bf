//! BackupRepositories NotReady, or not Ready within an hour of their creation.

use super::{created, Review};
use crate::checks::findings::{one_line, Group};
use crate::facts::Object;
use crate::model::Status;
use crate::rules::duration::human_age;

/// A new BackupRepository is initialised within minutes.
const REPO_GRACE_SECS: i64 = 3_600;

impl<'a> Review<'a> {
    pub(super) fn repositories(&mut self) {
        let facts = self.ctx.facts;
        let Some(list) = self.read(&facts.kube.backup_repositories, "BackupRepository") else { return };
        let ns = &self.ns;
        let mut not_ready = Group::new(
            Status::Fail,
            "BackupRepositories are NotReady: file-system backups and data movement of their namespaces fail",
            format!(
                "the message says why (credentials, the BSL, Kopia's repository password); once fixed Velero retries, or delete the repository so that it is created again: `kubectl -n {ns} delete backuprepository <name>` (see also `veldr explain velero.fs-backup`)"
            ),
        );
        let mut new = Group::new(
            Status::Warn,
            "BackupRepositories have not become Ready within an hour",
            format!("`kubectl -n {ns} describe backuprepository <name>` and the server's log (`kubectl -n {ns} logs deploy/velero | grep -i repo`)"),
        );
        for r in list.iter() {
            let phase = r.status.phase.as_deref().unwrap_or("");
            let msg = r.status.message.as_deref().map(|m| format!(": {}", one_line(m))).unwrap_or_default();
            let what = format!("repository {} (namespace {}, BSL {})", r.name(), r.spec.volume_namespace.as_deref().unwrap_or("?"), r.spec.backup_storage_location.as_deref().unwrap_or("?"));
            match phase {
                "Ready" => {}
                "NotReady" => not_ready.lines.push(format!("{what} is NotReady{msg}")),
                _ => {
                    if let Some(age) = created(r).map(|t| self.age(t)).filter(|a| *a > REPO_GRACE_SECS) {
                        new.lines.push(format!("{what} is {} after {}{msg}", if phase.is_empty() { "New" } else { phase }, human_age(age)));
                    }
                }
            }
        }
        self.groups.push(not_ready);
        self.groups.push(new);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;

    #[test]
    fn repositories_not_ready_fail_new_ones_warn_after_an_hour() {
        let repo = |name: &str, phase: &str, created: &str| {
            json!({"metadata": {"name": name, "namespace": "velero", "creationTimestamp": created},
                "spec": {"volumeNamespace": "shop", "backupStorageLocation": "default", "repositoryType": "kopia"},
                "status": {"phase": phase, "message": "error to connect backup repo: invalid storage provider"}})
        };
        let mut f = Facts::empty("velero");
        f.kube.backup_repositories = Ok(list(vec![repo("shop-default-kopia", "NotReady", "2026-11-01T00:00:00Z")]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.summary, "repository shop-default-kopia (namespace shop, BSL default) is NotReady: error to connect backup repo: invalid storage provider");
        f.kube.backup_repositories = Ok(list(vec![repo("a", "New", "2026-11-29T05:00:00Z"), repo("b", "", "2026-11-29T07:50:00Z")]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.starts_with("repository a (namespace shop, BSL default) is New after 3h"), "{}", v.summary);
    }
}
