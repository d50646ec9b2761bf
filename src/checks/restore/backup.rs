//! restore.backup: the Backup exists in this cluster, its BSL here is Available, it is Completed
//! (PartiallyFailed warns, quoting its results), it expires in more than 24 h, and its objects are in
//! the BSL. When this cluster has no such Backup: is it in Swift (not synced yet, or the BSL here is
//! not Available), or gone?
//!
//! Velero's restore controller looks the Backup up in its own namespace and refuses a restore whose
//! BSL is not Available (velero v1.17.2 `pkg/controller/restore_controller.go` `validateAndComplete`:
//! "can't find backup", "The BSL … is unavailable, cannot retrieve the backup"). The Backup gets
//! there through the BSL sync (`--backup-sync-period`, 1 min by default) from an Available BSL.

use super::{facts, place, unread};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{Backup, Object, ProblemKind};
use crate::model::Verdict;
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "restore.backup", category: Restore, severity: Critical,
    title: "The backup is here, complete and in the BSL",
    depends_on: [], needs: [Backups, BackupStorageLocations, OpenStack],
    timed_by: Restore,
    judge: judge,
};

/// Less than this before the Backup expires warns: Velero's GC deletes it then, restore or not.
const EXPIRY_MARGIN_SECS: i64 = 24 * 3600;

fn judge(ctx: &Ctx) -> Verdict {
    let r = match facts(ctx) {
        Ok(r) => r,
        Err(v) => return *v,
    };
    let name = r.backup.as_str();
    let ns = ctx.namespace();
    let backups = crate::need!(&ctx.facts.kube.backups);
    let here: Option<&Backup> = backups.iter().find(|b| b.name() == name);
    let store = &r.store;
    let mut details: Vec<String> = Vec::new();
    if let (Some(bsl), Some(why)) = (&store.bsl, &store.bsl_reason) {
        details.push(format!("BSL {bsl} ({why}): {}", place(r)));
    }

    let Some(backup) = here else {
        return not_here(ctx, name, ns);
    };
    let bsl_name = crate::collect::results::backup_bsl(backup, crate::collect::results::default_bsl(ctx.facts)).unwrap_or("").to_string();
    let mut findings: Vec<Verdict> = Vec::new();
    // The BSL must be Available here, or the restore is refused at once.
    if let Ok(bsls) = &ctx.facts.kube.backup_storage_locations {
        match bsls.iter().find(|b| b.name() == bsl_name) {
            None => findings.push(
                Verdict::fail(format!("backup {name} names BSL {bsl_name:?}, which does not exist in {ns}: Velero cannot read it"))
                    .hint("create the BackupStorageLocation Velero wrote it to (same bucket and prefix), or restore from a backup of an existing BSL"),
            ),
            Some(b) if b.status.phase.as_deref() != Some("Available") => findings.push(
                Verdict::fail(format!(
                    "BSL {bsl_name} is {} here: Velero refuses the restore (\"The BSL {bsl_name} is unavailable, cannot retrieve the backup\")",
                    b.status.phase.as_deref().unwrap_or("not validated yet")
                ))
                .details(b.status.message.iter().map(|m| format!("BSL {bsl_name}: {}", crate::openstack::http::excerpt(m, 300))))
                .hint("`veldr doctor --only bsl.phase` says why; Velero revalidates the BSL every minute"),
            ),
            Some(_) => {}
        }
    }
    let phase = backup.status.phase.as_deref().unwrap_or("New");
    match phase {
        "Completed" => {}
        "PartiallyFailed" => {
            let mut f = Verdict::warn(format!(
                "backup {name} PartiallyFailed ({} errors, {} warnings): what failed to back up will not be restored",
                backup.status.errors.unwrap_or(0),
                backup.status.warnings.unwrap_or(0)
            ))
            .hint(format!("read what failed: `veldr logs backup/{name} --results -n {ns}`; restore it knowing what is missing, or from the last Completed backup"));
            match &store.results {
                Some(Ok(res)) => {
                    for (scope, m) in res.errors.scoped() {
                        f = f.detail(format!("error [{scope}] “{m}”"));
                    }
                    for (scope, m) in res.warnings.scoped() {
                        f = f.detail(format!("warning [{scope}] “{m}”"));
                    }
                    let more = (res.errors.total + res.warnings.total).saturating_sub(res.errors.kept() + res.warnings.kept());
                    if more > 0 {
                        f = f.detail(format!("… and {more} more messages in {}{name}-results.gz", place(r)));
                    }
                }
                Some(Err(p)) => f = f.detail(format!("its results object could not be read: {}", p.message)),
                None => {}
            }
            findings.push(f);
        }
        "Failed" | "FailedValidation" => findings.push(
            Verdict::fail(format!(
                "backup {name} {phase}{}: its contents are partial or absent",
                backup.status.failure_reason.as_deref().map(|r| format!(" ({})", crate::openstack::http::excerpt(r, 200))).unwrap_or_default()
            ))
            .hint(format!("restore from the last Completed backup (`velero backup get -n {ns}`); `veldr logs backup/{name} -n {ns}` says why this one failed")),
        ),
        other => findings.push(
            Verdict::fail(format!("backup {name} is {other}: it has not finished, so there is nothing complete to restore yet"))
                .hint(format!("wait for it to end (`velero backup describe {name} -n {ns}`), or restore from the last Completed backup")),
        ),
    }
    if let Some(exp) = backup.status.expiration {
        let left = exp.as_second() - ctx.now.as_second();
        if left <= 0 {
            findings.push(Verdict::fail(format!("backup {name} expired at {exp}: Velero's garbage collection deletes it and its objects")).hint("restore from a newer backup"));
        } else if left < EXPIRY_MARGIN_SECS {
            findings.push(
                Verdict::warn(format!("backup {name} expires in {}h{:02}m (at {exp}): Velero deletes it then, restore or not", left / 3600, (left % 3600) / 60))
                    .hint("restore before then, or make a fresh backup to restore from; a Backup's TTL cannot be extended after it is made"),
            );
        } else {
            details.push(format!("expires at {exp} (in {} days)", left / 86400));
        }
    }
    // Its objects in the BSL: velero-backup.json, the tarball, the resource list.
    match &store.metadata {
        Some(Ok(_)) => details.push("velero-backup.json is in the BSL".into()),
        other => findings.push(unread(r, "metadata (velero-backup.json)", other.as_ref())),
    }
    match &store.archive {
        Some(Err(p)) if p.kind == ProblemKind::NotFound => findings.push(unread(r, &format!("tarball ({name}.tar.gz)"), store.archive.as_ref())),
        Some(Err(p)) => findings.push(Verdict::error(format!("the backup's tarball could not be read: {}", p.message))),
        Some(Ok(_)) => details.push(format!("{name}.tar.gz is in the BSL")),
        None => findings.push(unread(r, "tarball", None::<&crate::facts::Outcome<()>>)),
    }
    match &store.resource_list {
        Some(Ok(l)) => details.push(format!("{name}-resource-list.json.gz: {} items of {} kinds", l.total(), l.kinds.len())),
        other => findings.push(unread(r, "resource list", other.as_ref())),
    }
    let v = crate::checks::findings::combine(format!("backup {name} is Completed, in BSL {bsl_name} here (Available), with its objects"), findings, details);
    v.evidence("backup", json!({"name": name, "phase": phase, "bsl": bsl_name, "expiration": backup.status.expiration, "bslReason": store.bsl_reason}))
}

/// The Backup is not in this cluster: is it in Swift?
fn not_here(ctx: &Ctx, name: &str, ns: &str) -> Verdict {
    let r = ctx.facts.restore.as_ref().expect("checked by the caller");
    let store = &r.store;
    let searched = if store.searched.is_empty() { "no BSL".to_string() } else { store.searched.join(", ") };
    let ev = json!({"name": name, "inCluster": false, "searched": store.searched, "bsl": store.bsl});
    match &store.metadata {
        Some(Ok(meta)) => {
            let bsl = store.bsl.clone().unwrap_or_default();
            let phase_here = ctx
                .facts
                .kube
                .backup_storage_locations
                .as_ref()
                .ok()
                .and_then(|l| l.iter().find(|b| b.name() == bsl))
                .and_then(|b| b.status.phase.clone());
            let stored = format!("its objects are in BSL {bsl} ({}), phase {}", place(r), meta.status.phase.as_deref().unwrap_or("?"));
            match phase_here.as_deref() {
                Some("Available") => Verdict::warn(format!("backup {name} is not in {ns} yet, but {stored}: Velero syncs it from the Available BSL within its sync period (1 min by default)"))
                    .hint(format!("wait a minute and run again; if it stays missing, check the velero log for \"backup_sync_controller\" errors (`kubectl logs deploy/velero -n {ns}`)")),
                other => Verdict::fail(format!(
                    "backup {name} is not in {ns}: {stored}, but BSL {bsl} is {} here, so Velero does not sync it",
                    other.unwrap_or("not validated")
                ))
                .hint("make the BSL Available (`veldr doctor --only bsl.phase`): Velero then syncs the Backup and the restore can start"),
            }
            .evidence("backup", ev)
        }
        Some(Err(p)) if p.kind == ProblemKind::NotFound => Verdict::fail(format!("backup {name} is not in {ns}, nor in the BSL (looked in {searched}): there is nothing to restore"))
            .detail(format!("velero-backup.json not found under {}", place(r)))
            .hint(format!("list what there is: `velero backup get -n {ns}`; its objects were deleted from Swift (expiry, deletion, another cluster's GC), or it was written to a BSL this cluster does not have"))
            .evidence("backup", ev),
        Some(Err(p)) => Verdict::error(format!("backup {name} is not in {ns}, and the BSL could not be asked: {}", p.message)).evidence("backup", ev),
        None => Verdict::fail(format!("backup {name} is not in {ns}, and the BSL could not be asked: {}", store.not_attempted.as_deref().unwrap_or("no Swift BSL here")))
            .hint("`veldr doctor` says what keeps veldr (and Velero) from reading the BSL")
            .evidence("backup", ev),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::facts::{Problem, ProblemKind};
    use crate::model::Status;
    use serde_json::json;

    #[test]
    fn a_completed_backup_in_an_available_bsl_passes() {
        let v = run(&ready(), judge);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("expires at 2026-12-29T08:00:00Z (in 30 days)"), "{}", text(&v));
    }

    #[test]
    fn partially_failed_warns_quoting_its_results() {
        let mut f = ready();
        f.kube.backups = Ok(list(vec![json!({"metadata": {"name": BACKUP}, "spec": {"storageLocation": "default"}, "status": {"phase": "PartiallyFailed", "errors": 1, "warnings": 0, "expiration": "2026-12-29T08:00:00Z"}})]));
        let results = crate::upstream::velero_store::parse_results(&crate::upstream::velero_store::gz(br#"{"errors":{"namespaces":{"shop":[" message: /Error backing up item"]}}}"#), false).unwrap();
        f.restore.as_mut().unwrap().store.results = Some(Ok(results));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("PartiallyFailed (1 errors, 0 warnings)") && text(&v).contains("error [namespace shop] “message: /Error backing up item”"), "{}", text(&v));
    }

    #[test]
    fn near_expiry_warns_and_failed_fails() {
        let mut f = ready();
        f.kube.backups = Ok(list(vec![json!({"metadata": {"name": BACKUP}, "spec": {"storageLocation": "default"}, "status": {"phase": "Completed", "expiration": "2026-11-29T20:00:00Z"}})]));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("expires in 12h00m"), "{}", v.summary);
        f.kube.backups = Ok(list(vec![json!({"metadata": {"name": BACKUP}, "spec": {"storageLocation": "default"}, "status": {"phase": "Failed", "failureReason": "boom"}})]));
        assert_eq!(run(&f, judge).status, Status::Fail);
    }

    #[test]
    fn objects_gone_from_swift_fail() {
        let mut f = ready();
        let s = &mut f.restore.as_mut().unwrap().store;
        s.archive = Some(Err(Problem::new(ProblemKind::NotFound, "404")));
        s.metadata = Some(Err(Problem::new(ProblemKind::NotFound, "404")));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("tarball (nightly-1.tar.gz) is not in the BSL (velero-backups/backups/nightly-1/)"), "{}", text(&v));
    }

    #[test]
    fn not_here_says_whether_swift_has_it() {
        let mut f = ready();
        f.kube.backups = Ok(list(vec![]));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Warn, "in Swift, BSL Available: the sync brings it: {v:?}");
        f.kube.backup_storage_locations = Ok(list(vec![json!({"metadata": {"name": "default"}, "spec": {"provider": "openstack", "objectStorage": {"bucket": "velero-backups"}}, "status": {"phase": "Unavailable"}})]));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("BSL default is Unavailable here"), "{}", v.summary);
        f.restore.as_mut().unwrap().store.metadata = Some(Err(Problem::new(ProblemKind::NotFound, "404")));
        let v = run(&f, judge);
        assert!(v.summary.contains("nor in the BSL"), "{}", v.summary);
    }

    #[test]
    fn an_unavailable_bsl_fails_the_restore() {
        let mut f = ready();
        f.kube.backup_storage_locations = Ok(list(vec![json!({"metadata": {"name": "default"}, "spec": {"provider": "openstack", "default": true, "objectStorage": {"bucket": "b"}}, "status": {"phase": "Unavailable", "message": "401"}})]));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("cannot retrieve the backup"), "{}", v.summary);
    }
}
