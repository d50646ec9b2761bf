//! backup.failures: no backup of the last 24 h, and no schedule's newest backup, ended `Failed` or
//! `PartiallyFailed`. When one did, its errors and warnings are quoted from its results object, read
//! from the BSL through the Swift API by collect (`collect::results`), and each message veldr knows
//! is tied to the check that explains it (`checks::telltales`, built from every check's `explains`).

use crate::checks::findings::{combine, errors_and_warnings, plural, Finding};
use crate::checks::telltales::{explain, shown, Explanation};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{Backup, BackupResultsFacts, Messages, Object, ProblemKind, ResultsRead};
use crate::model::{MetricDef, Status, Verdict};
use crate::rules::backups::{count_in_window, ended_at, failed_backups, phase};
use crate::rules::duration::human_age;
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "backup.failures", category: Backups, severity: Major,
    title: "Recent backups did not fail",
    depends_on: ["swift.container"], needs: [Backups, BackupResults],
    consults: [Backups],
    metrics: [FAILED_24H, PARTIALLY_FAILED_24H],
    timed_by: OpenStack(Results),
    judge: judge,
};

pub const FAILED_24H: MetricDef = MetricDef { name: "veldr_backups_failed_24h", help: "Backups that ended Failed in the last 24 h." };
pub const PARTIALLY_FAILED_24H: MetricDef =
    MetricDef { name: "veldr_backups_partially_failed_24h", help: "Backups that ended PartiallyFailed in the last 24 h." };

/// Errors and warnings quoted per backup (the rest are counted; `veldr logs --results` shows them).
const QUOTED_ERRORS: usize = 5;
const QUOTED_WARNINGS: usize = 3;

fn judge(ctx: &Ctx) -> Verdict {
    let backups = crate::need!(&ctx.facts.kube.backups);
    let failed_24h = count_in_window(backups, ctx.now, "Failed");
    let partial_24h = count_in_window(backups, ctx.now, "PartiallyFailed");
    let failed = failed_backups(backups, ctx.now);
    let results = ctx.facts.openstack.as_ref().and_then(|o| o.backup_results.as_ref());
    let ns = ctx.namespace().to_string();

    let mut notes = Vec::new();
    if let Some(r) = results.filter(|r| r.qualified > r.backup_reads() && r.not_attempted.is_none()) {
        notes.push(format!("{} failed backups: the results of the newest {} were read (veldr reads at most {} per run)", r.qualified, r.backup_reads(), r.limit));
    }
    let findings: Vec<Finding> = failed.iter().map(|b| finding(ctx, b, results, &ns)).collect();
    let evidence: Vec<serde_json::Value> = failed.iter().map(|b| evidence(b, results)).collect();
    let finished_24h = backups.iter().filter(|b| crate::rules::backups::in_window(b, ctx.now)).count();
    combine(format!("no backup failed in the last 24 h ({finished_24h} ended then), nor any schedule's newest"), findings, notes)
        .evidence("failed", evidence)
        .metric(&FAILED_24H, failed_24h as f64)
        .metric(&PARTIALLY_FAILED_24H, partial_24h as f64)
}

fn finding(ctx: &Ctx, b: &Backup, results: Option<&BackupResultsFacts>, ns: &str) -> Finding {
    let name = b.name();
    let phase = phase(b);
    let status = if phase == "Failed" { Status::Fail } else { Status::Warn };
    let counts = errors_and_warnings(b.status.errors.unwrap_or(0), b.status.warnings.unwrap_or(0));
    let reason = b.status.failure_reason.as_deref().filter(|r| !r.is_empty());
    let summary = match reason {
        Some(r) => format!("backup {name} {phase}: {}", shown(r)),
        None => format!("backup {name} {phase} with {counts}"),
    };
    let when = ended_at(b).map(|t| format!(" {} ago", human_age(ctx.age_secs(t)))).unwrap_or_default();
    let from = b.schedule().map(|s| format!(", schedule {s}")).unwrap_or_default();
    let mut f = Finding::new(status, summary).detail(format!("{name}: {phase}{when} ({counts}{from})"));
    let mut quoter = Quoter::default();
    if let Some(r) = reason {
        f = f.detail(format!("{name}: failureReason “{}”", shown(r)));
        f = quoter.tie(f, r);
    }
    match results.and_then(|r| r.for_backup(name)) {
        Some(read) => f = quoter.read(f, name, read),
        None => f = f.detail(format!("{name}: results not read: {}", unread_reason(results))),
    }
    let logs = format!("the whole log: `veldr logs backup/{name} -n {ns}` (reads the BSL with the token: works when `velero backup logs` gets \"Temp URL invalid\")");
    f.hint(quoter.hint(logs))
}

/// Quotes Velero's messages about a backup (its failureReason, its results object) into a finding
/// and ties each message veldr knows to the check that explains it (backup.failures, verify.backup).
#[derive(Debug, Default)]
pub(crate) struct Quoter {
    /// The explanations found, in order, once each.
    pub explained: Vec<Explanation>,
}

impl Quoter {
    /// Adds the line tying `message` to its check, when veldr knows it.
    pub fn tie(&mut self, f: Finding, message: &str) -> Finding {
        match explain(message) {
            Some(e) => {
                if !self.explained.contains(&e) {
                    self.explained.push(e);
                }
                f.detail(format!("    → {}: {}", e.check, e.why))
            }
            None => f,
        }
    }

    /// The results object as read: its first errors and warnings by scope, or why it could not be read.
    pub fn read(&mut self, mut f: Finding, name: &str, read: &ResultsRead) -> Finding {
        let ResultsRead { outcome, container, key, .. } = read;
        match outcome {
            Ok(r) => {
                for (label, messages, quoted) in [("error", &r.errors, QUOTED_ERRORS), ("warning", &r.warnings, QUOTED_WARNINGS)] {
                    f = self.quote(f, name, label, messages, quoted);
                }
                if r.errors.total == 0 && r.warnings.total == 0 {
                    f = f.detail(format!("{name}: its results object ({} {key}) holds no error or warning", container.as_deref().unwrap_or("?")));
                }
                f
            }
            Err(p) => {
                let at = format!("{}/{key}", container.as_deref().unwrap_or("?"));
                f.detail(match p.kind {
                    ProblemKind::NotFound => format!("{name}: no results object at {at} (Velero writes one when the backup ends; one that failed early has none): failureReason and the log say why"),
                    ProblemKind::NotAttempted => format!("{name}: results not read: {}", p.message),
                    _ => format!("{name}: its results object {at} could not be read: {}", p.message),
                })
            }
        }
    }

    fn quote(&mut self, mut f: Finding, name: &str, label: &str, m: &Messages, quoted: usize) -> Finding {
        if m.total == 0 {
            return f;
        }
        f = f.detail(format!("{name}: {}:", plural(m.total, label)));
        let scoped = m.scoped();
        for (scope, message) in scoped.iter().take(quoted) {
            f = f.detail(format!("  {label} [{scope}] “{}”", shown(message)));
            f = self.tie(f, message);
        }
        // Messages not quoted are still tied to their check when veldr knows them.
        for (_, message) in scoped.iter().skip(quoted) {
            f = self.tie(f, message);
        }
        if m.total > quoted.min(scoped.len()) {
            f = f.detail(format!("  … {} more {label}(s): `veldr logs backup/{name} --results`", m.total - quoted.min(scoped.len())));
        }
        f
    }

    /// The hint: the checks that explain what was quoted, then `then`.
    pub fn hint(&self, then: String) -> String {
        let mut refs: Vec<String> = self.explained.iter().map(|e| format!("`veldr explain {}`", e.check)).collect();
        refs.dedup();
        if refs.is_empty() { then } else { format!("explained by {}; {then}", refs.join(", ")) }
    }
}

fn unread_reason(results: Option<&BackupResultsFacts>) -> String {
    match results {
        None => "not collected (a bundle recorded before veldr 0.2, or the check was not selected when it was recorded)".into(),
        Some(r) => match &r.not_attempted {
            Some(why) => why.clone(),
            None => format!("only the newest {} failed backups are read per run", r.limit),
        },
    }
}

fn evidence(b: &Backup, results: Option<&BackupResultsFacts>) -> serde_json::Value {
    let read = results.and_then(|r| r.for_backup(b.name()));
    json!({
        "name": b.name(),
        "phase": phase(b),
        "schedule": b.schedule(),
        "failureReason": b.status.failure_reason,
        "results": read.map(|r| match &r.outcome {
            Ok(v) => json!({"key": r.key, "container": r.container, "errors": v.errors.total, "warnings": v.warnings.total}),
            Err(p) => json!({"key": r.key, "container": r.container, "problem": p}),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::written;
    use crate::facts::{Facts, List, OpenStackFacts, Problem, VeleroResults};
    use serde_json::Value;
    use std::collections::BTreeMap;

    fn backup(name: &str, phase: &str, ended: &str, reason: Option<&str>) -> Value {
        json!({"metadata": {"name": name, "namespace": "velero", "labels": {"velero.io/schedule-name": "daily"}},
            "spec": {"storageLocation": "default"},
            "status": {"phase": phase, "completionTimestamp": ended, "failureReason": reason, "errors": 2, "warnings": 1}})
    }

    fn facts(backups: Vec<Value>, results: Option<BackupResultsFacts>) -> Facts {
        let mut f = Facts::empty("velero");
        let mut list = List::default();
        backups.iter().for_each(|b| list.push_json(&b.to_string()));
        f.kube.backups = Ok(list);
        f.openstack = Some(OpenStackFacts { backup_results: results, ..Default::default() });
        f
    }

    fn read(backup: &str, outcome: Result<VeleroResults, Problem>) -> ResultsRead {
        ResultsRead { backup: backup.into(), restore: None, bsl: "default".into(), container: Some("velero-backups".into()), key: format!("backups/{backup}/{backup}-results.gz"), outcome, elapsed_ms: 3 }
    }

    fn metric(v: &Verdict, def: &MetricDef) -> Option<f64> {
        v.metrics.iter().find(|m| m.name == def.name).map(|m| m.value)
    }

    #[test]
    fn a_healthy_day_is_ok_with_zero_counts() {
        let v = judge(&Ctx::new(&facts(vec![backup("daily-1", "Completed", "2026-11-29T02:00:00Z", None)], Some(BackupResultsFacts::default())), &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!((metric(&v, &FAILED_24H), metric(&v, &PARTIALLY_FAILED_24H)), (Some(0.0), Some(0.0)));
    }

    #[test]
    fn a_partially_failed_backup_warns_and_quotes_by_scope() {
        let mut errors = Messages { total: 7, ..Default::default() };
        errors.namespaces = BTreeMap::from([("shop".to_string(), vec!["resource: /persistentvolumeclaims name: /data error: /the number of snapshots on the source volume reaches the configured maximum (3)".to_string()])]);
        errors.velero = vec!["some velero error".into()];
        let warnings = Messages { cluster: vec!["w1".into()], total: 1, ..Default::default() };
        let results = BackupResultsFacts { qualified: 1, limit: 10, reads: vec![read("daily-2", Ok(VeleroResults { errors, warnings, compressed_bytes: 200 }))], ..Default::default() };
        let f = facts(vec![backup("daily-2", "PartiallyFailed", "2026-11-29T02:00:00Z", None)], Some(results));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = written(&v);
        assert!(t.contains("backup daily-2 PartiallyFailed with 2 errors, 1 warning"), "{t}");
        assert!(t.contains("error [velero] “some velero error”") && t.contains("error [namespace shop] “resource: /persistentvolumeclaims"), "{t}");
        assert!(t.contains("warning [cluster] “w1”"), "{t}");
        assert!(t.contains("→ csi.snapshot-limit: the CSI driver refused"), "{t}");
        assert!(t.contains("… 5 more error(s)"), "{t}");
        assert!(v.hint.as_deref().unwrap().contains("`veldr explain csi.snapshot-limit`") && t.contains("veldr logs backup/daily-2 -n velero"), "{t}");
        assert_eq!(metric(&v, &PARTIALLY_FAILED_24H), Some(1.0));
        assert_eq!(v.evidence["failed"][0]["results"]["errors"], 7);
    }

    #[test]
    fn a_failed_backup_without_results_fails_and_shows_its_reason() {
        let reason = "rpc error: code = Unknown desc = failed to build auth options: Missing input for argument [auth_url]";
        let results = BackupResultsFacts {
            qualified: 1,
            limit: 10,
            reads: vec![read("daily-3", Err(Problem::new(ProblemKind::NotFound, "object does not exist (404)")))],
            ..Default::default()
        };
        let f = facts(vec![backup("daily-3", "Failed", "2026-11-29T07:00:00Z", Some(reason))], Some(results));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.starts_with("backup daily-3 Failed: rpc error"), "{t}");
        assert!(t.contains("no results object at velero-backups/backups/daily-3/daily-3-results.gz"), "{t}");
        assert!(t.contains("→ credentials.env"), "{t}");
        assert_eq!(metric(&v, &FAILED_24H), Some(1.0));
    }

    #[test]
    fn unreadable_or_unread_results_are_said() {
        let bad = Problem::new(ProblemKind::BadBody, "not gzip (it starts with \"<html>\"): not an object Velero wrote");
        let results = BackupResultsFacts { qualified: 12, limit: 10, reads: vec![read("daily-2", Err(bad))], ..Default::default() };
        let f = facts(vec![backup("daily-2", "PartiallyFailed", "2026-11-29T02:00:00Z", None), backup("daily-1", "Failed", "2026-11-29T01:00:00Z", None)], Some(results));
        let t = written(&judge(&Ctx::new(&f, &[])));
        assert!(t.contains("its results object velero-backups/backups/daily-2/daily-2-results.gz could not be read: not gzip"), "{t}");
        assert!(t.contains("daily-1: results not read: only the newest 10"), "{t}");
        assert!(t.contains("12 failed backups: the results of the newest 1 were read"), "{t}");
        // A bundle from before 0.2: no results facts at all, still judged from the Backups.
        let old = facts(vec![backup("daily-1", "Failed", "2026-11-29T01:00:00Z", None)], None);
        let v = judge(&Ctx::new(&old, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("results not read: not collected"), "{v:?}");
    }

    #[test]
    fn unreadable_backups_list_is_an_error() {
        let mut f = facts(vec![], None);
        f.kube.backups = Err(crate::facts::ReadError::forbidden("list", "backups.velero.io", Some("velero")));
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Error);
    }
}
