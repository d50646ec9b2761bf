//! Restores: failed or partially failed in the last 24 h (with what their results object says),
//! running past their itemOperationTimeout, or not taken up.

use super::{created, Review};
use crate::checks::findings::{errors_and_warnings, one_line, plural, Group};
use crate::facts::{BackupStatus, Object};
use crate::model::Status;
use crate::rules::duration::human_age;

/// Errors and warnings quoted per failed restore whose results were read.
const RESTORE_ERRORS_QUOTED: usize = 3;
const RESTORE_WARNINGS_QUOTED: usize = 2;

impl<'a> Review<'a> {
    /// Restores that failed or partially failed in the last 24 h, and running ones past their
    /// timeout. Returns the (failed, partially failed) counts for the metrics.
    pub(super) fn restores(&mut self) -> Option<(usize, usize)> {
        let facts = self.ctx.facts;
        let list = self.read(&facts.kube.restores, "Restore")?;
        let mut failed: Vec<(String, String)> = Vec::new();
        let mut partial: Vec<(String, String)> = Vec::new();
        let mut older = 0;
        for r in list.iter() {
            let s = &r.status;
            let phase = s.phase.as_deref().filter(|p| !p.is_empty()).unwrap_or("New");
            let ended = crate::rules::restores::ended_at(r);
            let from = match (&r.spec.backup_name, &r.spec.schedule_name) {
                (Some(b), _) if !b.is_empty() => format!(" (from backup {b})"),
                (_, Some(sc)) if !sc.is_empty() => format!(" (from schedule {sc})"),
                _ => String::new(),
            };
            let when = ended.map(|t| format!(" {} ago", human_age(self.age(t)))).unwrap_or_default();
            match phase {
                "Failed" | "FailedValidation" | "PartiallyFailed" if !self.recent(ended) => older += 1,
                "Failed" | "FailedValidation" => {
                    let why = reason(s).unwrap_or_else(|| "no failureReason recorded".into());
                    // A restore that failed validation never ran: it has no error counts.
                    let counts = if phase == "Failed" { format!(" ({})", counts(s)) } else { String::new() };
                    failed.push((r.name().to_string(), format!("restore {}{from} {phase}{when}: {why}{counts}", r.name())));
                }
                "PartiallyFailed" => partial.push((r.name().to_string(), format!("restore {}{from} PartiallyFailed{when} ({})", r.name(), counts(s)))),
                p => {
                    let timeout = self.item_timeout_of(r.spec.item_operation_timeout.as_deref());
                    self.running_or_queued("restore", r.name(), p, s.start_timestamp, created(r), timeout);
                }
            }
        }
        if older > 0 {
            self.notes.push(format!("{} older than 24 h did not complete (not judged: kept until their backups expire)", plural(older, "Restore")));
        }
        if let Some(r) = facts.openstack.as_ref().and_then(|o| o.backup_results.as_ref()).filter(|r| r.restores_qualified > r.restore_reads()) {
            self.notes.push(format!(
                "{} failed restores: the results of the newest {} were read (veldr reads at most {} per run)",
                r.restores_qualified,
                r.restore_reads(),
                r.restore_limit
            ));
        }
        let counts = (failed.len(), partial.len());
        self.failed_group(Status::Fail, "Restores failed in the last 24 h", failed);
        self.failed_group(Status::Warn, "Restores partially failed in the last 24 h", partial);
        Some(counts)
    }

    /// The group of restores that ended this way, each with what its results say.
    fn failed_group(&mut self, status: Status, what: &str, restores: Vec<(String, String)>) {
        let ns = &self.ns;
        let name = restores.first().map_or("<name>", |(n, _)| n.as_str());
        let hint = format!(
            "read why: `velero restore describe {name} -n {ns} --details` and `velero restore logs {name} -n {ns}` (when that fails with \"401 Temp URL invalid\", `veldr logs restore/{name} --results` reads the same from Swift)"
        );
        let mut g = Group::new(status, what, hint);
        g.extra = restores.iter().flat_map(|(n, _)| self.restore_results(n)).collect();
        g.lines = restores.into_iter().map(|(_, l)| l).collect();
        self.groups.push(g);
    }

    /// What a failed restore's results object says (collect reads it for this check's `RestoreResults`
    /// need, beside backup.failures' reads): the first errors and warnings, each tied to the check that
    /// explains it when veldr knows the message. Nothing when it was not read.
    fn restore_results(&self, name: &str) -> Vec<String> {
        use crate::checks::telltales::{explain, shown};
        let Some(read) = self.ctx.facts.openstack.as_ref().and_then(|o| o.backup_results.as_ref()).and_then(|r| r.for_restore(name)) else {
            return Vec::new();
        };
        let at = format!("{}/{}", read.container.as_deref().unwrap_or("?"), read.key);
        let results = match &read.outcome {
            Ok(r) => r,
            Err(p) if p.kind == crate::facts::ProblemKind::NotFound => return vec![format!("{name}: no results object at {at}")],
            Err(p) => return vec![format!("{name}: results not read: {}", p.message)],
        };
        let mut out = Vec::new();
        for (label, m, quoted) in [("error", &results.errors, RESTORE_ERRORS_QUOTED), ("warning", &results.warnings, RESTORE_WARNINGS_QUOTED)] {
            if m.total == 0 {
                continue;
            }
            // Where they were read, said once.
            let from = if out.is_empty() { format!(" (results in {at})") } else { String::new() };
            out.push(format!("{name}: {}{from}:", plural(m.total, label)));
            let scoped = m.scoped();
            for (scope, message) in scoped.iter().take(quoted) {
                out.push(format!("  {label} [{scope}] “{}”", shown(message)));
                if let Some(e) = explain(message) {
                    out.push(format!("    → {}: {}", e.check, e.why));
                }
            }
            if m.total > quoted.min(scoped.len()) {
                out.push(format!("  … {} more: `veldr logs restore/{name} --results`", m.total - quoted.min(scoped.len())));
            }
        }
        out
    }
}

/// Why it failed: its failureReason, else its validation errors.
fn reason(s: &BackupStatus) -> Option<String> {
    s.failure_reason.as_deref().filter(|r| !r.is_empty()).map(one_line).or_else(|| {
        (!s.validation_errors.is_empty()).then(|| s.validation_errors.iter().map(|e| one_line(e)).collect::<Vec<_>>().join("; "))
    })
}

fn counts(s: &BackupStatus) -> String {
    errors_and_warnings(s.errors.unwrap_or(0), s.warnings.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;

    #[test]
    fn a_failed_restore_fails_a_partially_failed_one_warns_old_ones_are_history() {
        let mut failed = restore("shop-restore", "Failed", "2026-11-29T05:00:00Z", Some("2026-11-29T05:02:00Z"));
        failed["status"]["failureReason"] = json!("error getting backup storage location: backupstoragelocation.velero.io \"default\" not found");
        failed["status"]["errors"] = json!(1);
        let partial = restore("shop-restore-2", "PartiallyFailed", "2026-11-29T06:00:00Z", Some("2026-11-29T06:05:00Z"));
        let old = restore("last-month", "Failed", "2026-10-29T06:00:00Z", Some("2026-10-29T06:05:00Z"));
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![failed, partial.clone(), old]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = written(&v);
        assert!(v.summary.starts_with("restore shop-restore (from backup daily-20261129020000) Failed 2h ago: error getting backup storage location"), "{}", v.summary);
        assert!(t.contains("1 error, 0 warnings") && t.contains("restore shop-restore-2 (from backup daily-20261129020000) PartiallyFailed 115m ago"), "{t}");
        assert!(t.contains("velero restore describe shop-restore -n velero --details") && t.contains("veldr logs restore/shop-restore"), "{t}");
        assert!(t.contains("1 Restore older than 24 h did not complete"), "{t}");
        assert_eq!((metric(&v, &RESTORES_FAILED), metric(&v, &RESTORES_PARTIALLY_FAILED)), (Some(1.0), Some(1.0)));
        assert_eq!(v.evidence["restoresFailed24h"], 1);

        f.kube.restores = Ok(list(vec![partial]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert_eq!(metric(&v, &RESTORES_FAILED), Some(0.0));
    }

    #[test]
    fn a_failed_restores_results_are_quoted_and_tied_to_their_check() {
        use crate::facts::{BackupResultsFacts, Messages, OpenStackFacts, Problem, ProblemKind, ResultsRead, VeleroResults};
        let partial = restore("shop-restore-2", "PartiallyFailed", "2026-11-29T06:00:00Z", Some("2026-11-29T06:05:00Z"));
        let failed = restore("shop-restore", "Failed", "2026-11-29T05:00:00Z", Some("2026-11-29T05:02:00Z"));
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![partial, failed]));
        let mut errors = Messages { total: 4, ..Default::default() };
        errors.namespaces.insert("shop".into(), vec!["error restoring persistentvolumeclaims/shop/data: Temp URL invalid".into(), "b".into(), "c".into()]);
        let read = |restore: &str, outcome| ResultsRead {
            backup: "daily-20261129020000".into(),
            restore: Some(restore.into()),
            bsl: "default".into(),
            container: Some("velero-backups".into()),
            key: format!("restores/{restore}/restore-{restore}-results.gz"),
            outcome,
            elapsed_ms: 2,
        };
        let results = BackupResultsFacts {
            reads: vec![
                read("shop-restore-2", Ok(VeleroResults { errors, ..Default::default() })),
                read("shop-restore", Err(Problem::new(ProblemKind::NotFound, "404"))),
            ],
            restores_qualified: 2,
            restore_limit: 5,
            ..Default::default()
        };
        f.openstack = Some(OpenStackFacts { backup_results: Some(results), ..Default::default() });
        let t = written(&run(&CHECK, &f));
        assert!(t.contains("shop-restore-2: 4 errors (results in velero-backups/restores/shop-restore-2/restore-shop-restore-2-results.gz):"), "{t}");
        assert!(t.contains("  error [namespace shop] “error restoring persistentvolumeclaims/shop/data: Temp URL invalid”"), "{t}");
        assert!(t.contains("    → swift.tempurl: "), "a known message is tied to its check: {t}");
        assert!(t.contains("  … 1 more: `veldr logs restore/shop-restore-2 --results`"), "{t}");
        assert!(t.contains("shop-restore: no results object at velero-backups/restores/shop-restore/restore-shop-restore-results.gz"), "{t}");
        // A backup's results are not a restore's.
        assert!(f.openstack.as_ref().unwrap().backup_results.as_ref().unwrap().for_backup("daily-20261129020000").is_none());
    }

    #[test]
    fn a_restore_that_failed_validation_shows_its_errors() {
        let mut r = restore("bad", "FailedValidation", "2026-11-29T07:00:00Z", None);
        r["status"] = json!({"phase": "FailedValidation", "validationErrors": ["backup \"nope\" not found"]});
        r["metadata"]["creationTimestamp"] = json!("2026-11-29T07:00:00Z");
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![r]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("FailedValidation 60m ago: backup \"nope\" not found"), "{}", v.summary);
    }
}
