//! verify.objects: the test backup's objects are in the BSL (as backup.inventory expects of every
//! backup: `velero-backup.json`, from which Velero's sync rebuilds the Backup, and `<b>.tar.gz`), and
//! the cleanup removed it: the DeleteBackupRequest was processed, the Backup and its objects are
//! gone. When not, it says what is left and the command that removes it.

use super::{facts, ran};
use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::verify::VerifyFacts;
use crate::model::Verdict;
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "verify.objects", category: Storage, severity: Major,
    title: "The test backup's objects are in the BSL, and cleaned up",
    depends_on: ["velero.deployment", "credentials.env", "bsl.phase", "keystone.auth", "swift.container"],
    needs: [],
    judge: judge,
};

/// Objects every backup that ran has (pkg/persistence/object_store.go `PutBackup`, v1.18.1): without
/// the metadata Velero's sync deletes the Backup; without the tarball nothing can be restored.
fn required(name: &str) -> [(String, &'static str); 2] {
    [
        ("velero-backup.json".to_string(), "Velero's sync rebuilds (and keeps) the Backup from it"),
        (format!("{name}.tar.gz"), "the backed-up resources: nothing restores without it"),
    ]
}

fn judge(ctx: &Ctx) -> Verdict {
    let v = match facts(ctx) {
        Ok(v) => v,
        Err(skip) => return skip,
    };
    if v.not_created.is_some() {
        return Verdict::skip("no test backup was created: nothing to find or clean up (verify.backup says why)");
    }
    let findings = vec![stored(v), cleanup(v)];
    let ok = match (&v.cleanup.kept, v.cleanup.backup_gone) {
        (true, _) => format!("test backup {} is in the BSL and kept (--keep)", v.backup),
        _ => format!("test backup {}'s objects were in the BSL; the cleanup removed the Backup and them", v.backup),
    };
    let notes: Vec<String> = findings.iter().filter(|f| f.status == crate::model::Status::Ok).flat_map(|f| std::iter::once(f.summary.clone()).chain(f.details.clone())).collect();
    combine(ok, findings, notes).evidence("objects", json!({"store": v.store.as_ref().map(|s| json!({"bsl": s.bsl, "container": s.container, "dir": s.dir})), "cleanup": v.cleanup}))
}

/// What the BSL held once the backup ended.
fn stored(v: &VerifyFacts) -> Finding {
    let name = &v.backup;
    let Some(store) = &v.store else {
        return Finding::error(format!("the BSL of test backup {name} was not read"));
    };
    if let Some(why) = &store.unread {
        return Finding::error(format!("the BSL of test backup {name} could not be read: {why}"));
    }
    let at = format!("{}/{}", store.container.as_deref().unwrap_or("?"), store.dir);
    let names = match &store.listing {
        None => return Finding::error(format!("{at} was not listed")),
        Some(Err(p)) => return Finding::error(format!("listing {at} failed: {}", p.message)),
        Some(Ok(names)) => names,
    };
    let files: Vec<&str> = names.iter().map(|n| n.strip_prefix(store.dir.as_str()).unwrap_or(n)).collect();
    if ran(v) && !super::ended(v) {
        // Still running when veldr stopped waiting: Velero uploads the objects when the backup ends.
        return Finding::ok(format!("{} objects under {at} while it was still {} (Velero writes them when it ends)", files.len(), v.phase()));
    }
    if !ran(v) {
        return match files.len() {
            0 => Finding::ok(format!("nothing was written to {at} (the backup did not run)")),
            n => Finding::warn(format!("{n} objects under {at} although the backup did not run: {}", files.join(", "))),
        };
    }
    let missing: Vec<String> = required(name).iter().filter(|(f, _)| !files.contains(&f.as_str())).map(|(f, why)| format!("{f} ({why})")).collect();
    if !missing.is_empty() {
        return Finding::fail(format!("test backup {name} is incomplete in the BSL: {at} lacks {}", missing.join(", ")))
            .detail(format!("objects there: {}", if files.is_empty() { "none".to_string() } else { files.join(", ") }))
            .hint("the plugin's uploads failed or something removed them: `veldr explain backup.inventory`, and the backup's log (`veldr logs backup/NAME`)");
    }
    Finding::ok(format!("{} objects of test backup {name} were in {at}", files.len())).detail(format!("objects: {}", files.join(", ")))
}

/// What the cleanup did, and when it did not finish, what is left and how to remove it.
fn cleanup(v: &VerifyFacts) -> Finding {
    let name = &v.backup;
    let ns = &v.namespace;
    let c = &v.cleanup;
    let expires = v.last.as_ref().and_then(|b| b.status.expiration).map(|t| format!(" (it expires at {t}: Velero's garbage collection deletes it then)")).unwrap_or_default();
    if c.kept {
        return Finding::ok(format!("kept as asked (--keep){expires}; its CSI snapshots count against vSphere's per-volume limit until it is deleted"))
            .detail(format!("remove it sooner: `velero backup delete {name} -n {ns} --confirm`"));
    }
    let left_objects = match &c.objects_left {
        Some(Ok(names)) => names.len(),
        _ => 0,
    };
    let dir = v.store.as_ref().map(|s| format!("{}/{}", s.container.as_deref().unwrap_or("?"), s.dir)).unwrap_or_default();
    if c.backup_gone {
        return match &c.objects_left {
            Some(Ok(names)) if !names.is_empty() => Finding::fail(format!("the Backup is gone but {} of its objects remain in {dir}", names.len()))
                .detail(format!("left: {}", names.join(", ")))
                .hint(format!("they are orphans now (no Backup refers to them): `swift delete {} --prefix {}`", v.store.as_ref().and_then(|s| s.container.clone()).unwrap_or_default(), v.store.as_ref().map(|s| s.dir.clone()).unwrap_or_default())),
            Some(Err(p)) => Finding::warn(format!("the Backup is gone; whether its objects are could not be read: {}", p.message)),
            _ => Finding::ok(format!(
                "deleted through DeleteBackupRequest {} in {}: the Backup and its objects are gone",
                c.request.as_deref().unwrap_or("?"),
                super::secs(c.waited_ms)
            )),
        };
    }
    // Not finished: what is left, and the command that removes it.
    let mut left = vec![format!("Backup {ns}/{name} ({})", v.phase())];
    if let Some(r) = &c.request {
        left.push(format!("DeleteBackupRequest {ns}/{r}{}", c.request_phase.as_deref().map(|p| format!(" ({p})")).unwrap_or_default()));
    }
    if left_objects > 0 {
        left.push(format!("{left_objects} objects under {dir}"));
    }
    let delete = format!("`velero backup delete {name} -n {ns} --confirm`");
    let held_nothing = !ran(v) && left_objects == 0;
    let by_hand = if held_nothing {
        format!("; it never ran and holds no data, so `kubectl -n {ns} delete backup/{name}{}` loses nothing", c.request.as_deref().map(|r| format!(" deletebackuprequest/{r}")).unwrap_or_default())
    } else {
        String::new()
    };
    let (summary, hint) = if let Some(p) = &c.request_failed {
        (format!("the DeleteBackupRequest for test backup {name} could not be created: {}", p.message), format!("grant it (deploy/rbac-verify.yaml), then {delete}{by_hand}"))
    } else if let Some(e) = c.request_errors.first() {
        let then = if e.contains("still in progress") {
            format!("once it ends, {delete} (or let it expire{expires})")
        } else if let Some(x) = crate::checks::telltales::explain(e) {
            format!("{} (`veldr explain {}`); then {delete}", x.why, x.check)
        } else {
            format!("fix what Velero says, then {delete}")
        };
        (format!("Velero refused to delete test backup {name}: {}", c.request_errors.join("; ")), format!("{then}{by_hand}"))
    } else if let Some(why) = &c.cut_short {
        (format!("the wait for the deletion of test backup {name} was cut short: {why}"), format!("`kubectl -n {ns} get backup {name}` shows whether it is gone; if not, {delete}{by_hand}"))
    } else if c.request_phase.as_deref().is_none_or(|p| p.is_empty() || p == "New") {
        (
            format!("the Velero server did not process the DeleteBackupRequest for test backup {name} within {}", super::secs(c.waited_ms)),
            format!("Velero deletes it once it runs{expires}; {delete} asks again{by_hand}"),
        )
    } else {
        (
            format!("the deletion of test backup {name} did not finish within {} ({})", super::secs(c.waited_ms), c.request_phase.as_deref().unwrap_or("?")),
            format!("`kubectl -n {ns} get backup {name}` shows when it is gone; if it stays, {delete}{by_hand}"),
        )
    };
    Finding::warn(summary).detail(format!("left: {}", left.join(", "))).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::written;
    use crate::checks::verify::fixtures::{facts, run, NAME};
    use crate::facts::verify::{Cleanup, WatchEnd};
    use crate::facts::{Problem, ProblemKind};
    use crate::model::Status;

    fn all_objects() -> Vec<String> {
        ["velero-backup.json", &format!("{NAME}.tar.gz"), &format!("{NAME}-logs.gz"), &format!("{NAME}-results.gz"), &format!("{NAME}-volumeinfo.json.gz")]
            .iter()
            .map(|f| format!("backups/{NAME}/{f}"))
            .collect()
    }

    fn completed(cleanup: Cleanup) -> crate::facts::verify::VerifyFacts {
        let mut v = run(&["", "InProgress", "Completed"], json!({"expiration": "2026-11-29T09:00:00Z"}));
        v.store.as_mut().unwrap().listing = Some(Ok(all_objects()));
        v.cleanup = cleanup;
        v
    }

    #[test]
    fn present_then_cleaned_up_is_ok() {
        let v = completed(Cleanup { request: Some(format!("{NAME}-x7k2p")), backup_gone: true, waited_ms: 2_100, objects_left: Some(Ok(vec![])), ..Default::default() });
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Ok, "{verdict:?}");
        let t = written(&verdict);
        assert!(t.contains("5 objects of test backup") && t.contains(&format!("deleted through DeleteBackupRequest {NAME}-x7k2p in 2.1s")), "{t}");
    }

    #[test]
    fn kept_says_when_it_expires_and_how_to_remove_it() {
        let v = completed(Cleanup { kept: true, ..Default::default() });
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Ok);
        let t = written(&verdict);
        assert!(t.contains("kept as asked (--keep) (it expires at 2026-11-29T09:00:00Z") && t.contains(&format!("velero backup delete {NAME} -n velero --confirm")), "{t}");
    }

    #[test]
    fn a_refused_or_unprocessed_deletion_says_what_is_left_and_how_to_remove_it() {
        let v = completed(Cleanup { request: Some("d-1".into()), request_phase: Some("Processed".into()), request_errors: vec!["backup is still in progress".into()], waited_ms: 900, ..Default::default() });
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Warn);
        let t = written(&verdict);
        assert!(t.contains("Velero refused to delete test backup") && t.contains("backup is still in progress"), "{t}");
        assert!(t.contains(&format!("left: Backup velero/{NAME} (Completed), DeleteBackupRequest velero/d-1 (Processed)")), "{t}");
        assert!(t.contains("once it ends, `velero backup delete"), "{t}");

        // A backup that never ran, and a server that processes nothing.
        let mut v = run(&[""], json!({}));
        v.end = WatchEnd::TimedOut;
        v.store.as_mut().unwrap().listing = Some(Ok(vec![]));
        v.cleanup = Cleanup { request: Some("d-2".into()), waited_ms: 5_000, objects_left: Some(Ok(vec![])), ..Default::default() };
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Warn);
        let t = written(&verdict);
        assert!(t.contains("nothing was written") && t.contains("did not process the DeleteBackupRequest"), "{t}");
        assert!(t.contains(&format!("kubectl -n velero delete backup/{NAME} deletebackuprequest/d-2` loses nothing")), "{t}");

        // No grant for the request.
        let v = completed(Cleanup { request_failed: Some(Problem::new(ProblemKind::Forbidden, "forbidden")), ..Default::default() });
        let t = written(&judge(&Ctx::new(&facts(v), &[])));
        assert!(t.contains("could not be created: forbidden") && t.contains("deploy/rbac-verify.yaml"), "{t}");
    }

    #[test]
    fn missing_metadata_or_orphans_fail() {
        let mut v = completed(Cleanup { backup_gone: true, objects_left: Some(Ok(vec![])), ..Default::default() });
        v.store.as_mut().unwrap().listing = Some(Ok(vec![format!("backups/{NAME}/{NAME}-logs.gz")]));
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Fail);
        assert!(written(&verdict).contains("lacks velero-backup.json"), "{}", written(&verdict));

        let v = completed(Cleanup { backup_gone: true, objects_left: Some(Ok(vec![format!("backups/{NAME}/{NAME}.tar.gz")])), ..Default::default() });
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Fail);
        assert!(written(&verdict).contains("swift delete velero-backups --prefix backups/"), "{}", written(&verdict));
    }
}
