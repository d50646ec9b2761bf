//! verify.backup: the test Backup `veldr verify` created reached `Completed`. Otherwise the phase says
//! what went wrong: `PartiallyFailed`/`Failed` quote the results read from the BSL and tie each known
//! message to its check (as backup.failures does); `FailedValidation` quotes Velero's validation
//! errors; a Backup still `New` when the time is up means the Velero server is not processing it.

use super::{facts, secs};
use crate::checks::backup::failures::Quoter;
use crate::checks::telltales::shown;
use crate::checks::findings::Finding;
use crate::checks::{CheckDef, Ctx};
use crate::facts::verify::{VerifyFacts, WatchEnd};
use crate::model::{Status, Verdict};
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "verify.backup", category: Backups, severity: Critical,
    title: "A test backup completes",
    depends_on: ["velero.deployment", "credentials.env", "bsl.phase", "keystone.auth", "swift.container"],
    needs: [],
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    let v = match facts(ctx) {
        Ok(v) => v,
        Err(skip) => return skip,
    };
    let name = &v.backup;
    let ns = &v.namespace;
    if let Some(p) = &v.not_created {
        return Verdict::error(format!("the test Backup {name} could not be created: {}", p.message))
            .hint("fix what the message says, then run `veldr verify` again (nothing was created)")
            .evidence("backup", json!({"name": name, "created": false}));
    }
    let phase = v.phase().to_string();
    let elapsed = v.timeline.last().map(|m| m.at_ms).unwrap_or(0);
    let verdict = match &v.end {
        WatchEnd::NotWatched => Verdict::error(format!("the test Backup {name} was created but not watched")),
        WatchEnd::Interrupted { signal } => Verdict::error(format!("interrupted ({signal}) after {} while backup {name} was {phase}: not judged", secs(elapsed)))
            .hint("run `veldr verify` again and let it finish; the deletion of the test backup was asked for (verify.objects says how it went)"),
        WatchEnd::Failed { reason } => Verdict::error(format!("the watch of backup {name} stopped while it was {phase}: {reason}"))
            .hint(format!("`kubectl -n {ns} get backup {name}` shows how it went; `veldr explain verify.backup`")),
        WatchEnd::Deleted => Verdict::fail(format!("backup {name} was deleted while veldr waited (it was {phase})"))
            .hint(format!("someone deleted it, or Velero's BSL sync removed it because its objects are not in the BSL (`veldr explain backup.inventory`); `kubectl -n {ns} get deletebackuprequests` shows requests")),
        WatchEnd::TimedOut => timed_out(v, &phase),
        WatchEnd::Terminal => ended(v, &phase),
    };
    verdict
        .detail(format!("phases: {}", timeline(v)))
        .evidence("backup", json!({"name": name, "namespace": ns, "phase": phase, "includedNamespace": v.included_namespace, "end": v.end, "timeline": v.timeline}))
}

/// `New → Queued 0.2s → InProgress 0.9s → Completed 4.1s` (each phase once, with when it was first seen).
fn timeline(v: &VerifyFacts) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut last = "";
    for m in &v.timeline {
        let p = if m.phase.is_empty() { "New" } else { m.phase.as_str() };
        if p != last {
            out.push(if out.is_empty() { p.to_string() } else { format!("{p} {}", secs(m.at_ms)) });
            last = p;
        }
    }
    if out.len() > 12 {
        let n = out.len();
        out.splice(6..n - 5, [format!("… {} more", n - 11)]);
    }
    if out.is_empty() { "none seen".into() } else { out.join(" → ") }
}

/// `14 of 14 items` when Velero said.
fn items(v: &VerifyFacts) -> Option<String> {
    let p = v.last.as_ref()?.status.progress.as_ref()?;
    match (p.items_backed_up, p.total_items) {
        (Some(done), Some(total)) => Some(format!("{done} of {total} items")),
        (Some(done), None) => Some(format!("{done} items")),
        _ => None,
    }
}

fn plural(n: i64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn ended(v: &VerifyFacts, phase: &str) -> Verdict {
    let name = &v.backup;
    let status = v.last.as_ref().map(|b| b.status.clone()).unwrap_or_default();
    let took = secs(v.timeline.last().map(|m| m.at_ms).unwrap_or(0));
    let counts = format!("{}, {}", plural(status.errors.unwrap_or(0), "error"), plural(status.warnings.unwrap_or(0), "warning"));
    let items = items(v).map(|i| format!(", {i}")).unwrap_or_default();
    if phase == "FailedValidation" {
        let mut f = Finding::fail(format!(
            "Velero refused the test backup {name}: {}",
            status.validation_errors.first().map(|e| shown(e)).unwrap_or_else(|| "FailedValidation without a validation error".into())
        ));
        // Velero's validation errors are tied to their checks like any message it writes (telltales).
        let mut quoter = Quoter::default();
        for e in &status.validation_errors {
            f = f.detail(format!("validation error “{}”", shown(e)));
            f = quoter.tie(f, e);
        }
        let then = "Velero validates each Backup when it takes it up (its BSL Available and writable, its locations known); fix what the validation error says, then run `veldr verify` again";
        return f.hint(quoter.hint(then.to_string()));
    }
    let (verdict_status, summary) = match phase {
        "Completed" => (Status::Ok, format!("test backup {name} Completed in {took}{items}, {counts}")),
        "PartiallyFailed" => (Status::Warn, format!("test backup {name} PartiallyFailed in {took} with {counts}")),
        _ => (
            Status::Fail,
            match status.failure_reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("test backup {name} Failed: {}", shown(r)),
                None => format!("test backup {name} Failed with {counts}"),
            },
        ),
    };
    let mut quoter = Quoter::default();
    let mut f = Finding::new(verdict_status, summary);
    if let Some(r) = status.failure_reason.as_deref().filter(|r| !r.is_empty()) {
        f = f.detail(format!("{name}: failureReason “{}”", shown(r)));
        f = quoter.tie(f, r);
    }
    let results = v.store.as_ref().and_then(|s| s.results.as_ref());
    let quiet = verdict_status == Status::Ok && status.warnings.unwrap_or(0) == 0 && status.errors.unwrap_or(0) == 0;
    match results {
        Some(read) if !quiet => f = quoter.read(f, name, read),
        None if !quiet => f = f.detail(format!("{name}: results not read: {}", v.store.as_ref().and_then(|s| s.unread.clone()).unwrap_or_else(|| "no Swift store for its BSL".into()))),
        _ => {}
    }
    if verdict_status == Status::Ok {
        return f;
    }
    let logs = format!("the whole log: `veldr logs backup/{name} -n {}` (works when `velero backup logs` gets \"Temp URL invalid\")", v.namespace);
    f.hint(quoter.hint(logs))
}

fn timed_out(v: &VerifyFacts, phase: &str) -> Verdict {
    let name = &v.backup;
    let ns = &v.namespace;
    let after = secs(v.timeout_ms);
    let status = v.last.as_ref().map(|b| b.status.clone()).unwrap_or_default();
    let logs = format!("`kubectl -n {ns} logs deploy/velero` says why");
    match phase {
        "New" => Verdict::fail(format!("the Velero server is not processing backups: {name} was still New after {after}"))
            .detail("Velero takes a new Backup up within seconds (it queues it, then validates it); nothing happened")
            .hint(format!(
                "{logs}: a server that is down or crash-looping (`veldr explain velero.deployment`), CRDs older than the server that reject the phases it writes (\"Unsupported value\"), or a server watching another namespace (its --namespace); nothing was written to the BSL"
            )),
        "Queued" => Verdict::fail(format!(
            "backup {name} was still Queued after {after}{}: other backups run first",
            status.queue_position.map(|p| format!(" (queue position {p})")).unwrap_or_default()
        ))
        .hint(format!("`kubectl -n {ns} get backups` shows what runs; run `veldr verify --timeout 30m` when they are done")),
        "ReadyToStart" => Verdict::fail(format!("backup {name} was still ReadyToStart after {after}: the backup controller did not take it up"))
            .hint(logs),
        _ => Verdict::fail(format!("backup {name} was still {phase} after {after}{}", items(v).map(|i| format!(" ({i})")).unwrap_or_default()))
            .hint(format!(
                "a larger namespace takes longer: `veldr verify --timeout 30m`; a backup stuck in {phase}: `veldr logs backup/{name} -n {ns}` and `veldr explain velero.operations`"
            )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::written;
    use crate::checks::verify::fixtures::{facts, run, NAME};
    use crate::facts::{Messages, Problem, ProblemKind, ResultsRead, VeleroResults};
    use std::collections::BTreeMap;

    fn results(errors: Messages, warnings: Messages) -> ResultsRead {
        ResultsRead {
            backup: NAME.into(),
            restore: None,
            bsl: "default".into(),
            container: Some("velero-backups".into()),
            key: format!("backups/{NAME}/{NAME}-results.gz"),
            outcome: Ok(VeleroResults { errors, warnings, compressed_bytes: 90 }),
            elapsed_ms: 4,
        }
    }

    #[test]
    fn completed_is_ok_with_time_items_and_phases() {
        let v = run(&["", "Queued", "ReadyToStart", "InProgress", "Finalizing", "Completed"], json!({"progress": {"totalItems": 14, "itemsBackedUp": 14}}));
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Ok, "{verdict:?}");
        let t = written(&verdict);
        assert!(t.starts_with(&format!("test backup {NAME} Completed in 3.5s, 14 of 14 items, 0 errors, 0 warnings")), "{t}");
        assert!(t.contains("phases: New → Queued 0.7s → ReadyToStart 1.4s → InProgress 2.1s → Finalizing 2.8s → Completed 3.5s"), "{t}");
    }

    #[test]
    fn partially_failed_quotes_its_results_and_ties_them() {
        let mut v = run(&["", "InProgress", "PartiallyFailed"], json!({"errors": 1, "warnings": 1}));
        let errors = Messages {
            namespaces: BTreeMap::from([("shop".to_string(), vec![" resource: /persistentvolumeclaims name: /uploads message: /Error backing up item error: /the number of snapshots on the source volume reaches the configured maximum (3)".to_string()])]),
            total: 1,
            ..Default::default()
        };
        let warnings = Messages { velero: vec![" message: /Volume snapshot location not found".into()], total: 1, ..Default::default() };
        v.store.as_mut().unwrap().results = Some(results(errors, warnings));
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Warn);
        let t = written(&verdict);
        assert!(t.contains("PartiallyFailed in 1.4s with 1 error, 1 warning"), "{t}");
        assert!(t.contains("warning [velero] “ message: /Volume snapshot location not found”"), "{t}");
        assert!(t.contains("→ csi.snapshot-limit") && t.contains("`veldr explain csi.snapshot-limit`"), "{t}");
        assert!(t.contains(&format!("veldr logs backup/{NAME} -n velero")), "{t}");
    }

    #[test]
    fn failed_and_failed_validation_fail_and_name_their_cause() {
        let mut v = run(&["", "InProgress", "Failed"], json!({"failureReason": "rpc error: code = Unknown desc = failed to build auth options: Missing input for argument [auth_url]"}));
        v.store.as_mut().unwrap().results = Some(ResultsRead { outcome: Err(Problem::new(ProblemKind::NotFound, "404")), ..results(Messages::default(), Messages::default()) });
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Fail);
        let t = written(&verdict);
        assert!(t.starts_with(&format!("test backup {NAME} Failed: rpc error")) && t.contains("→ credentials.env") && t.contains("no results object"), "{t}");

        let v = run(&["", "Queued", "ReadyToStart", "FailedValidation"], json!({"validationErrors": ["backup can't be created because BackupStorageLocation default is in Unavailable status."]}));
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Fail);
        let t = written(&verdict);
        assert!(t.starts_with(&format!("Velero refused the test backup {NAME}: backup can't be created because BackupStorageLocation default is in Unavailable status.")), "{t}");
        assert!(t.contains("→ bsl.phase") && t.contains("`veldr explain bsl.phase`"), "{t}");
    }

    #[test]
    fn a_backup_never_taken_up_says_the_server_is_not_processing_it() {
        let mut v = run(&[""], json!({}));
        v.end = WatchEnd::TimedOut;
        v.timeout_ms = 5_000;
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Fail);
        let t = written(&verdict);
        assert!(t.starts_with(&format!("the Velero server is not processing backups: {NAME} was still New after 5.0s")), "{t}");
        assert!(t.contains("kubectl -n velero logs deploy/velero"), "{t}");

        let mut v = run(&["", "InProgress"], json!({"progress": {"totalItems": 300, "itemsBackedUp": 12}}));
        v.end = WatchEnd::TimedOut;
        let t = written(&judge(&Ctx::new(&facts(v), &[])));
        assert!(t.contains("was still InProgress after 10m00s (12 of 300 items)") && t.contains("--timeout 30m"), "{t}");
    }

    #[test]
    fn interrupted_not_created_and_no_run_are_not_a_pass() {
        let mut v = run(&["", "InProgress"], json!({}));
        v.end = WatchEnd::Interrupted { signal: "SIGINT".into() };
        let verdict = judge(&Ctx::new(&facts(v), &[]));
        assert_eq!(verdict.status, Status::Error);
        assert!(verdict.summary.starts_with("interrupted (SIGINT) after 0.7s while backup"), "{}", verdict.summary);

        let v = crate::facts::verify::VerifyFacts {
            backup: NAME.into(),
            not_created: Some(Problem::new(ProblemKind::Http, "the API server answered 500")),
            ..Default::default()
        };
        assert_eq!(judge(&Ctx::new(&facts(v), &[])).status, Status::Error);
        let doctor_only = crate::facts::Facts::empty("velero");
        let skip = judge(&Ctx::new(&doctor_only, &[]));
        assert_eq!(skip.status, Status::Skip);
        assert!(skip.summary.contains("no test backup"), "{}", skip.summary);
    }
}
