//! velero.operations: no Restore, PodVolumeBackup/Restore, DataUpload/DataDownload,
//! DeleteBackupRequest, BackupRepository or Schedule is failed or stuck.
//!
//! Statuses (the runbook page says the same): `fail` for a Restore that Failed (or failed
//! validation) in the last 24 h, a Backup or Restore still running past its itemOperationTimeout,
//! a Schedule in FailedValidation and a BackupRepository NotReady; `warn` for a PartiallyFailed
//! Restore, a DeleteBackupRequest not processed for an hour or processed with errors, a data
//! movement (PodVolumeBackup/Restore, DataUpload/Download) that failed or was canceled in the last
//! 24 h or runs past its timeout (its Backup or Restore carries the failure: backup.failures, or the
//! Restore above), and a repository that has not become Ready within an hour.
//!
//! One file per kind judged: [`restores`], [`backups`] (and the running or queued phases Backups and
//! Restores share), [`schedules`], [`delete_requests`], [`repositories`], [`movements`] (the four data
//! movement kinds). Each adds its problems to the [`Review`] as [`Groups`] of objects.

mod backups;
mod delete_requests;
mod movements;
mod repositories;
mod restores;
mod schedules;

use crate::checks::findings::{combine, many, plural, Finding, Groups};
use crate::checks::{read_hint, CheckDef, Ctx};
use crate::facts::{List, Object, Read, ReadErrorKind};
use crate::model::{MetricDef, Status, Verdict};
use crate::rules::duration::parse_go_duration;
use jiff::Timestamp;

pub const CHECK: CheckDef = crate::check! {
    id: "velero.operations", category: Velero, severity: Major,
    title: "Velero operations finish",
    depends_on: ["kube.crds"],
    needs: [Deployments, Schedules, Backups, Restores, DeleteBackupRequests, BackupRepositories, PodVolumeBackups, PodVolumeRestores,
        DataUploads, DataDownloads, VeleroCrds, RestoreResults],
    consults: [Deployments],
    metrics: [RESTORES_FAILED, RESTORES_PARTIALLY_FAILED],
    explains: [
        ["asynchronous action timed out"] => "an item operation (snapshot, data upload) ran past the backup's itemOperationTimeout (default 4h)",
    ],
    judge: judge,
};

pub const RESTORES_FAILED: MetricDef = MetricDef {
    name: "veldr_restores_failed_24h",
    help: "Restores that ended Failed (or FailedValidation) in the last 24 hours.",
};

pub const RESTORES_PARTIALLY_FAILED: MetricDef = MetricDef {
    name: "veldr_restores_partially_failed_24h",
    help: "Restores that ended PartiallyFailed in the last 24 hours.",
};

/// Failures older than this are history: counted in a note, not judged.
const WINDOW_SECS: i64 = crate::rules::backups::WINDOW_SECS;
/// Velero's `--default-item-operation-timeout` and `--fs-backup-timeout` defaults (pkg/cmd/server/config).
const DEFAULT_ITEM_OPERATION_TIMEOUT: f64 = 4.0 * 3600.0;
const DEFAULT_FS_BACKUP_TIMEOUT: f64 = 4.0 * 3600.0;
/// Objects named per problem; the rest are counted.
const SHOWN: usize = 5;

/// What the judge gathers while it goes through the kinds.
struct Review<'a> {
    ctx: &'a Ctx<'a>,
    ns: String,
    groups: Groups,
    /// Reads that failed (RBAC, timeouts): `error` findings naming the permission or the cause.
    unread: Vec<Finding>,
    notes: Vec<String>,
    /// What was looked at, for the ok summary: "3 Restores".
    looked_at: Vec<String>,
    /// The server's `--default-item-operation-timeout` (Velero writes it into each new Backup's and
    /// Restore's spec, so it only matters for objects without one), else 4 h.
    item_timeout: f64,
    /// The server's `--fs-backup-timeout`, else 4 h.
    fs_timeout: f64,
    /// Kinds this cluster does not serve (`datauploads.velero.io`), and kinds a bundle does not hold.
    not_served: Vec<String>,
    not_recorded: Vec<String>,
}

fn created(o: &impl Object) -> Option<Timestamp> {
    o.meta().creation_timestamp.as_ref().map(|t| t.0)
}

impl<'a> Review<'a> {
    fn new(ctx: &'a Ctx<'a>) -> Self {
        let flag = |name: &str, default: f64| ctx.server_flags().get(name).and_then(|v| parse_go_duration(v)).unwrap_or(default);
        Review {
            ctx,
            ns: ctx.namespace().to_string(),
            groups: Groups::default(),
            unread: Vec::new(),
            notes: Vec::new(),
            looked_at: Vec::new(),
            item_timeout: flag("default-item-operation-timeout", DEFAULT_ITEM_OPERATION_TIMEOUT),
            fs_timeout: flag("fs-backup-timeout", DEFAULT_FS_BACKUP_TIMEOUT),
            not_served: Vec::new(),
            not_recorded: Vec::new(),
        }
    }

    /// The objects of one kind, or `None` with the reason recorded: a kind this cluster does not
    /// serve (an older Velero) or that a bundle does not hold is a note, any other failure an error.
    fn read<T: Object>(&mut self, read: &'a Read<List<T>>, label: &str) -> Option<&'a List<T>> {
        match read {
            Ok(list) => {
                if !list.is_empty() {
                    self.looked_at.push(plural(list.len(), label));
                }
                Some(list)
            }
            Err(e) if e.kind == ReadErrorKind::NotServed => {
                self.not_served.push(e.resource.clone());
                None
            }
            Err(e) if e.kind == ReadErrorKind::NotNeeded => {
                self.not_recorded.push(many(label));
                None
            }
            Err(e) => {
                self.unread.push(Finding::new(Status::Error, format!("{} not judged: {}", many(label), e.explain())).hint(read_hint(e)));
                None
            }
        }
    }

    fn age(&self, t: Timestamp) -> i64 {
        self.ctx.age_secs(t)
    }

    fn recent(&self, t: Option<Timestamp>) -> bool {
        t.is_some_and(|t| self.age(t) <= WINDOW_SECS)
    }

    /// A spec's itemOperationTimeout; unset or zero means the server's default (as Velero reads it).
    fn item_timeout_of(&self, spec: Option<&str>) -> f64 {
        spec.and_then(parse_go_duration).filter(|t| *t > 0.0).unwrap_or(self.item_timeout)
    }

    /// The verdict: the worst group leads, the reads that failed are errors, the kinds not read notes.
    fn verdict(self, restore_counts: Option<(usize, usize)>) -> Verdict {
        let Review { groups, unread, mut notes, looked_at, not_served, not_recorded, item_timeout, .. } = self;
        if !not_served.is_empty() {
            notes.push(format!("not judged: {} not served by this cluster (a Velero without these kinds)", not_served.join(", ")));
        }
        if !not_recorded.is_empty() {
            notes.push(format!("not judged: {} (not read: a bundle recorded before veldr read them)", not_recorded.join(", ")));
        }
        let problems = groups.evidence();
        let mut findings = groups.findings(SHOWN);
        findings.extend(unread);
        let ok_summary = if looked_at.is_empty() {
            "nothing failed or stuck (no Velero operations recorded yet)".to_string()
        } else {
            format!("nothing failed or stuck among {}", looked_at.join(", "))
        };
        let verdict = combine(ok_summary, findings, notes)
            .evidence("problems", problems)
            .evidence("itemOperationTimeoutSeconds", item_timeout)
            .evidence("restoresFailed24h", restore_counts.map(|c| c.0))
            .evidence("restoresPartiallyFailed24h", restore_counts.map(|c| c.1));
        match restore_counts {
            Some((failed, partial)) => verdict.metric(&RESTORES_FAILED, failed as f64).metric(&RESTORES_PARTIALLY_FAILED, partial as f64),
            None => verdict,
        }
    }
}

fn judge(ctx: &Ctx) -> Verdict {
    let mut r = Review::new(ctx);
    let restore_counts = r.restores();
    r.backups();
    r.schedules();
    r.delete_requests();
    r.repositories();
    r.movements();
    r.verdict(restore_counts)
}

/// What the tests of each kind share: objects, the check run as a run runs it, its metrics.
#[cfg(test)]
mod fixture {
    pub use super::{CHECK, RESTORES_FAILED, RESTORES_PARTIALLY_FAILED};
    pub use crate::checks::testing::{list, run, written};
    pub use crate::facts::{Facts, ReadError, ReadErrorKind};
    pub use crate::model::{MetricDef, Status, Verdict};
    pub use serde_json::{json, Value};

    // Facts::empty's collection time is 2026-11-29T08:00:00Z.

    pub fn restore(name: &str, phase: &str, started: &str, completed: Option<&str>) -> Value {
        let mut r = json!({"apiVersion": "velero.io/v1", "kind": "Restore",
            "metadata": {"name": name, "namespace": "velero", "creationTimestamp": started},
            "spec": {"backupName": "daily-20261129020000", "itemOperationTimeout": "4h0m0s"},
            "status": {"phase": phase, "startTimestamp": started}});
        if let Some(c) = completed {
            r["status"]["completionTimestamp"] = json!(c);
        }
        r
    }

    pub fn backup(name: &str, phase: &str, started: &str, timeout: Option<&str>) -> Value {
        let mut b = json!({"metadata": {"name": name, "namespace": "velero", "creationTimestamp": started},
            "spec": {}, "status": {"phase": phase, "startTimestamp": started}});
        if let Some(t) = timeout {
            b["spec"]["itemOperationTimeout"] = json!(t);
        }
        b
    }

    pub fn metric(v: &Verdict, def: &MetricDef) -> Option<f64> {
        v.metrics.iter().find(|m| m.name == def.name).map(|m| m.value)
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::*;

    #[test]
    fn an_empty_cluster_is_ok_and_exports_zero_restores() {
        let v = run(&CHECK, &Facts::empty("velero"));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.summary, "nothing failed or stuck (no Velero operations recorded yet)");
        assert_eq!((metric(&v, &RESTORES_FAILED), metric(&v, &RESTORES_PARTIALLY_FAILED)), (Some(0.0), Some(0.0)));
    }

    #[test]
    fn completed_operations_are_ok() {
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![restore("r1", "Completed", "2026-11-29T06:00:00Z", Some("2026-11-29T06:10:00Z"))]));
        f.kube.backups = Ok(list(vec![backup("b1", "Completed", "2026-11-29T02:00:00Z", None)]));
        f.kube.data_uploads = Ok(list(vec![json!({"metadata": {"name": "b1-x", "namespace": "velero"}, "status": {"phase": "Completed"}})]));
        f.kube.delete_backup_requests = Ok(list(vec![json!({"metadata": {"name": "d1", "namespace": "velero", "creationTimestamp": "2026-11-29T01:00:00Z"},
            "spec": {"backupName": "old"}, "status": {"phase": "Processed"}})]));
        f.kube.backup_repositories = Ok(list(vec![json!({"metadata": {"name": "shop-default-kopia", "namespace": "velero"}, "status": {"phase": "Ready"}})]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("1 Restore,") && v.summary.contains("1 BackupRepository,") && v.summary.contains("1 DataUpload"), "{}", v.summary);
    }

    #[test]
    fn kinds_an_older_velero_lacks_are_notes_and_denials_are_errors_naming_the_permission() {
        let mut f = Facts::empty("velero");
        let not_served = |r: &str| ReadError::new(ReadErrorKind::NotServed, "list", r, Some("velero"), "HTTP 404");
        f.kube.data_uploads = Err(not_served("datauploads.velero.io"));
        f.kube.data_downloads = Err(not_served("datadownloads.velero.io"));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(written(&v).contains("not judged: datauploads.velero.io, datadownloads.velero.io not served by this cluster"), "{}", written(&v));

        f.kube.restores = Err(ReadError::forbidden("list", "restores.velero.io", Some("velero")));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Error, "{v:?}");
        assert!(v.summary.contains("forbidden: veldr may not list restores.velero.io in namespace velero"), "{}", v.summary);
        assert!(v.hint.as_deref().unwrap_or_default().contains("grant veldr's identity list on restores.velero.io"), "{v:?}");
        assert_eq!(metric(&v, &RESTORES_FAILED), None, "no figure when restores could not be read");

        // A failure found elsewhere still wins over the read that failed.
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "w", "namespace": "velero"}, "status": {"phase": "FailedValidation"}})]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("forbidden"), "{}", written(&v));
    }

    #[test]
    fn a_bundle_without_the_new_kinds_loads_and_says_they_were_not_read() {
        let mut value = serde_json::to_value(Facts::empty("velero")).unwrap();
        for k in ["restores", "deleteBackupRequests", "podVolumeRestores", "dataUploads", "dataDownloads"] {
            assert!(value["kube"].as_object_mut().unwrap().remove(k).is_some(), "{k}");
        }
        let f: Facts = serde_json::from_value(value).unwrap();
        assert_eq!(f.kube.restores.as_ref().unwrap_err().kind, ReadErrorKind::NotNeeded);
        assert_eq!(f.kube.data_downloads.as_ref().unwrap_err().resource, "datadownloads.velero.io");
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(written(&v).contains("not judged: Restores, DeleteBackupRequests, PodVolumeRestores, DataUploads, DataDownloads (not read"), "{}", written(&v));
        assert_eq!(metric(&v, &RESTORES_FAILED), None);
    }

    #[test]
    fn malformed_objects_are_named() {
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![json!({"metadata": {"name": "odd", "namespace": "velero"}, "status": {"errors": "many"}})]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(written(&v).contains("malformed object Restore velero/odd"), "{}", written(&v));
    }
}
