//! backup.failures: no backup of the last 24 h, and no schedule's newest backup, ended `Failed` or
//! `PartiallyFailed`. When one did, its errors and warnings are quoted from its results object, read
//! from the BSL through the Swift API by collect (`collect::results`), and each message veldr knows
//! is tied to the check that explains it ([`explain`]).

use crate::checks::findings::{combine, Finding};
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
/// Characters of a message shown in the report.
const SHOWN_CHARS: usize = 360;

/// What a known message means and which check (and runbook) explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    pub check: &'static str,
    pub why: &'static str,
}

/// Messages veldr knows: every needle of an entry must appear (case-insensitive).
const KNOWN: &[(&[&str], Explanation)] = &[
    (&["reaches the configured maximum"], Explanation {
        check: "csi.snapshot-limit",
        why: "the CSI driver refused one more snapshot of the volume: vSphere keeps at most global-max-snapshots-per-block-volume (default 3) per volume, and Velero keeps each backup's snapshot until the backup expires",
    }),
    (&["unimplemented", "snapshot operations"], Explanation {
        check: "csi.snapshots",
        why: "vCenter older than 7.0U3 cannot snapshot block volumes (or block-volume-snapshot is off in the vSphere CSI feature states)",
    }),
    (&["volumesnapshot", "readytouse"], Explanation {
        check: "csi.snapshots",
        why: "the VolumeSnapshot did not become readyToUse within csiSnapshotTimeout (default 10m): its status.error and the snapshot-controller and CSI driver logs say why",
    }),
    (&["timed out awaiting reconciliation of volumesnapshot"], Explanation {
        check: "csi.snapshots",
        why: "the VolumeSnapshot did not become ready within csiSnapshotTimeout (default 10m): its status.error and the snapshot-controller and CSI driver logs say why",
    }),
    (&["csi got timed out"], Explanation {
        check: "csi.snapshots",
        why: "the VolumeSnapshotContent carried an error until csiSnapshotTimeout ran out: the CSI driver could not take the snapshot",
    }),
    (&["volumesnapshot", "is not ready"], Explanation {
        check: "csi.snapshots",
        why: "a VolumeSnapshot was not ready when Velero needed it: look at its status.error",
    }),
    (&["invalid backend type"], Explanation {
        check: "velero.fs-backup",
        why: "Kopia (file-system backup, data mover) has no Swift backend: it cannot write a repository to this BSL",
    }),
    (&["invalid storage provider"], Explanation {
        check: "velero.fs-backup",
        why: "Kopia (file-system backup, data mover) does not know the OpenStack provider: it cannot write a repository to this BSL",
    }),
    (&["missing input for argument [auth_url]"], Explanation {
        check: "credentials.env",
        why: "the OS_* variables (OS_AUTH_URL first) do not reach the velero container, where the plugin reads them",
    }),
    (&["temp url invalid"], Explanation {
        check: "swift.tempurl",
        why: "Swift refused a temp URL the plugin signed: its key or digest does not match Swift's",
    }),
    (&["asynchronous action timed out"], Explanation {
        check: "velero.operations",
        why: "an item operation (snapshot, data upload) ran past the backup's itemOperationTimeout (default 4h)",
    }),
    (&["got 413"], Explanation {
        check: "swift.capacity",
        why: "Swift refused an object over its max_file_size or a quota (the plugin uploads each object in one PUT)",
    }),
    // The telltales of Velero's own log (velero.logs) and the messages of version skew and restarts.
    (&["unsupported value"], Explanation {
        check: "velero.crds",
        why: "the installed CRDs reject a value this server writes (Helm never upgrades CRDs): its updates fail and Backups stay New",
    }),
    (&["already registered"], Explanation {
        check: "velero.plugin",
        why: "two plugins register the same action: velero-plugin-for-csi beside the CSI support built into Velero 1.14+ crashes the server or runs every action twice",
    }),
    (&["during the server starting"], Explanation {
        check: "velero.deployment",
        why: "the server restarted (OOMKilled, evicted, crashed) while this ran; the next server marked it Failed",
    }),
    (&["x509:"], Explanation {
        check: "credentials.tls",
        why: "TLS to Keystone or Swift does not verify under the plugin's trust (its image's CA bundle, SSL_CERT_FILE)",
    }),
    (&["auth/tokens", "401"], Explanation {
        check: "keystone.auth",
        why: "Keystone refused Velero's credentials (401)",
    }),
    (&["requires authentication"], Explanation {
        check: "keystone.auth",
        why: "Keystone refused Velero's credentials (401)",
    }),
    (&["request entity too large"], Explanation {
        check: "swift.capacity",
        why: "Swift refused an object over its max_file_size or a quota (the plugin uploads each object in one PUT)",
    }),
    (&["client-side throttling"], Explanation {
        check: "velero.logs",
        why: "Velero's Kubernetes client waits on its own rate limit (--client-qps, --client-burst): a large cluster's API calls queue and backups slow down",
    }),
    // go-plugin says this on every exit; only one with an error is a crash.
    (&["plugin process exited", "error"], Explanation {
        check: "velero.plugin",
        why: "a plugin's process died (crashed, OOMKilled): what it was doing failed",
    }),
    (&["rpc error: code = unavailable"], Explanation {
        check: "velero.plugin",
        why: "a plugin stopped answering over gRPC (crashed, OOMKilled): what it was doing failed",
    }),
];

/// The check that explains a message Velero wrote, when veldr knows it.
pub fn explain(message: &str) -> Option<Explanation> {
    let m = message.to_lowercase();
    KNOWN.iter().find(|(needles, _)| needles.iter().all(|n| m.contains(n))).map(|(_, e)| *e)
}

/// A message as the report shows it: a long one keeps its start (what failed) and its end, where Go's
/// wrapped errors put the root cause ("… reaches the configured maximum (3)").
pub(crate) fn shown(message: &str) -> String {
    let n = message.chars().count();
    if n <= SHOWN_CHARS {
        return message.to_string();
    }
    let head: String = message.chars().take(SHOWN_CHARS / 3).collect();
    let tail: String = message.chars().skip(n - SHOWN_CHARS * 2 / 3).collect();
    format!("{} … {}", head.trim_end(), tail.trim_start())
}

fn plural(n: i64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn judge(ctx: &Ctx) -> Verdict {
    let backups = crate::need!(&ctx.facts.kube.backups);
    let failed_24h = count_in_window(backups, ctx.now, "Failed");
    let partial_24h = count_in_window(backups, ctx.now, "PartiallyFailed");
    let failed = failed_backups(backups, ctx.now);
    let results = ctx.facts.openstack.as_ref().and_then(|o| o.backup_results.as_ref());
    let ns = ctx.namespace().to_string();

    let mut notes = Vec::new();
    if !backups.malformed.is_empty() {
        notes.push(format!("{} Backup object(s) could not be read and are not judged", backups.malformed.len()));
    }
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
    let counts = format!("{}, {}", plural(b.status.errors.unwrap_or(0), "error"), plural(b.status.warnings.unwrap_or(0), "warning"));
    let reason = b.status.failure_reason.as_deref().filter(|r| !r.is_empty());
    let summary = match reason {
        Some(r) => format!("backup {name} {phase}: {}", shown(r)),
        None => format!("backup {name} {phase} with {counts}"),
    };
    let when = ended_at(b).map(|t| format!(" {} ago", human_age(ctx.age_secs(t)))).unwrap_or_default();
    let from = b.schedule().map(|s| format!(", schedule {s}")).unwrap_or_default();
    let mut f = Finding::new(status, summary).detail(format!("{name}: {phase}{when} ({counts}{from})"));
    let mut explained: Vec<Explanation> = Vec::new();
    let mut tie = |f: Finding, message: &str| -> Finding {
        match explain(message) {
            Some(e) => {
                if !explained.contains(&e) {
                    explained.push(e);
                }
                f.detail(format!("    → {}: {}", e.check, e.why))
            }
            None => f,
        }
    };
    if let Some(r) = reason {
        f = f.detail(format!("{name}: failureReason “{}”", shown(r)));
        f = tie(f, r);
    }
    match results.and_then(|r| r.for_backup(name)) {
        Some(ResultsRead { outcome: Ok(r), container, key, .. }) => {
            for (label, messages, quoted) in [("error", &r.errors, QUOTED_ERRORS), ("warning", &r.warnings, QUOTED_WARNINGS)] {
                f = quote(f, name, label, messages, quoted, &mut tie);
            }
            if r.errors.total == 0 && r.warnings.total == 0 {
                f = f.detail(format!("{name}: its results object ({} {key}) holds no error or warning", container.as_deref().unwrap_or("?")));
            }
        }
        Some(ResultsRead { outcome: Err(p), container, key, .. }) => {
            let at = format!("{}/{key}", container.as_deref().unwrap_or("?"));
            f = f.detail(match p.kind {
                ProblemKind::NotFound => format!("{name}: no results object at {at} (Velero writes one when the backup ends; one that failed early has none): failureReason and the log say why"),
                ProblemKind::NotAttempted => format!("{name}: results not read: {}", p.message),
                _ => format!("{name}: its results object {at} could not be read: {}", p.message),
            });
        }
        None => f = f.detail(format!("{name}: results not read: {}", unread_reason(results))),
    }
    let mut hint: Vec<String> = explained.iter().map(|e| format!("`veldr explain {}`", e.check)).collect();
    hint.dedup();
    let logs = format!("the whole log: `veldr logs backup/{name} -n {ns}` (reads the BSL with the token: works when `velero backup logs` gets \"Temp URL invalid\")");
    f.hint(if hint.is_empty() { logs } else { format!("explained by {}; {logs}", hint.join(", ")) })
}

fn quote(mut f: Finding, name: &str, label: &str, m: &Messages, quoted: usize, tie: &mut impl FnMut(Finding, &str) -> Finding) -> Finding {
    if m.total == 0 {
        return f;
    }
    f = f.detail(format!("{name}: {}:", plural(m.total as i64, label)));
    let scoped = m.scoped();
    for (scope, message) in scoped.iter().take(quoted) {
        f = f.detail(format!("  {label} [{scope}] “{}”", shown(message)));
        f = tie(f, message);
    }
    // Messages not quoted are still tied to their check when veldr knows them.
    for (_, message) in scoped.iter().skip(quoted) {
        f = tie(f, message);
    }
    if m.total > quoted.min(scoped.len()) {
        f = f.detail(format!("  … {} more {label}(s): `veldr logs backup/{name} --results`", m.total - quoted.min(scoped.len())));
    }
    f
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

    fn text(v: &Verdict) -> String {
        format!("{}\n{}\n{}", v.summary, v.details.join("\n"), v.hint.clone().unwrap_or_default())
    }

    fn metric(v: &Verdict, def: &MetricDef) -> Option<f64> {
        v.metrics.iter().find(|m| m.name == def.name).map(|m| m.value)
    }

    #[test]
    fn known_messages_are_tied_to_their_checks() {
        let cases = [
            ("rpc error: code = FailedPrecondition desc = the number of snapshots on the source volume 8e3c reaches the configured maximum (3)", "csi.snapshot-limit"),
            ("rpc error: code = Unimplemented desc = VC version does not support snapshot operations", "csi.snapshots"),
            ("Failed to wait for VolumeSnapshot shop/velero-data-x to become ReadyToUse within timeout 10m0s", "csi.snapshots"),
            ("Timed out awaiting reconciliation of volumesnapshot shop/velero-data-x", "csi.snapshots"),
            ("error to initialize data path: invalid backend type community.openstack.org/openstack", "velero.fs-backup"),
            ("error getting repository config: invalid storage provider", "velero.fs-backup"),
            ("failed to build auth options: Missing input for argument [auth_url]", "credentials.env"),
            ("401 Unauthorized: Temp URL invalid", "swift.tempurl"),
            ("Asynchronous action timed out", "velero.operations"),
            ("Expected HTTP response code [201] when accessing [PUT https://s/v1/AUTH_a/c/o], but got 413 instead", "swift.capacity"),
        ];
        for (message, check) in cases {
            assert_eq!(explain(message).map(|e| e.check), Some(check), "{message}");
        }
        // The telltales of the server's log, as Velero, Kubernetes and the plugin write them.
        let telltales = [
            (r#"Backup.velero.io "daily-1" is invalid: status.phase: Unsupported value: "Queued": supported values: "New""#, "velero.crds"),
            ("unable to register plugin (kind=BackupItemActionV2, name=velero.io/csi-pvc-backupper) because another plugin is already registered for this kind and name", "velero.plugin"),
            (r#"found a backup with status "InProgress" during the server starting, mark it as "Failed""#, "velero.deployment"),
            ("Post \"https://keystone:5000/v3/auth/tokens\": tls: failed to verify certificate: x509: certificate signed by unknown authority", "credentials.tls"),
            ("Expected HTTP response code [201] when accessing [POST https://keystone:5000/v3/auth/tokens], but got 401 instead", "keystone.auth"),
            (r#"{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}"#, "keystone.auth"),
            ("413 Request Entity Too Large", "swift.capacity"),
            ("Waited for 1.18s due to client-side throttling, not priority and fairness, request: GET:https://10.96.0.1:443/apis/velero.io/v1", "velero.logs"),
            ("plugin process exited path=/plugins/velero-plugin-for-openstack pid=42 error=\"signal: killed\"", "velero.plugin"),
            ("rpc error: code = Unavailable desc = error reading from server: EOF", "velero.plugin"),
        ];
        for (message, check) in telltales {
            assert_eq!(explain(message).map(|e| e.check), Some(check), "{message}");
        }
        // A plugin that exits normally is no telltale.
        assert_eq!(explain(r#"level=info msg="plugin process exited" cmd=/plugins/velero-plugin-for-openstack id=42"#), None);
        // A Temp URL 401 is Swift's, not Keystone's.
        assert_eq!(explain("GET https://swift/v1/AUTH_a/c/o: 401 Unauthorized: Temp URL invalid").map(|e| e.check), Some("swift.tempurl"));
        assert_eq!(explain("Error backing up item: pods \"x\" not found"), None);
        let long = format!("Error backing up item: {} reaches the configured maximum (3)", "wrapped: ".repeat(80));
        let s = shown(&long);
        assert!(s.starts_with("Error backing up item") && s.ends_with("reaches the configured maximum (3)") && s.contains(" … "), "{s}");
        assert!(s.chars().count() <= SHOWN_CHARS + 3);
        // Every check named exists in the contract's registry or is one of the 0.2 additions.
        for (_, e) in KNOWN {
            assert!(crate::checks::find(e.check).is_some(), "{} is not a registered check", e.check);
        }
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
        let t = text(&v);
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
        let t = text(&v);
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
        let t = text(&judge(&Ctx::new(&f, &[])));
        assert!(t.contains("its results object velero-backups/backups/daily-2/daily-2-results.gz could not be read: not gzip"), "{t}");
        assert!(t.contains("daily-1: results not read: only the newest 10"), "{t}");
        assert!(t.contains("12 failed backups: the results of the newest 1 were read"), "{t}");
        // A bundle from before 0.2: no results facts at all, still judged from the Backups.
        let old = facts(vec![backup("daily-1", "Failed", "2026-11-29T01:00:00Z", None)], None);
        let v = judge(&Ctx::new(&old, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("results not read: not collected"), "{v:?}");
    }

    #[test]
    fn unreadable_backups_list_is_an_error() {
        let mut f = facts(vec![], None);
        f.kube.backups = Err(crate::facts::ReadError::forbidden("list", "backups.velero.io", Some("velero")));
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Error);
    }
}
