//! backup.recent: each schedule's newest backup completed recently, and the last one did not fail.

use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{Backup, Object};
use crate::model::{MetricDef, Status, Verdict};
use crate::rules::cron::schedule_interval;
use crate::rules::duration::{human_age, human_interval};
use serde_json::{json, Value};

pub const CHECK: CheckDef = crate::check! {
    id: "backup.recent", category: Backups, severity: Major,
    title: "Recent backups completed",
    depends_on: ["kube.crds"], needs: [Schedules, Backups, Deployments, HelmReleases],
    metrics: [OLDEST_AGE, SCHEDULE_NEWEST_AGE],
    judge: judge,
};

/// The README's stale-backup alert reads this one.
pub const OLDEST_AGE: MetricDef = MetricDef {
    name: "veldr_oldest_schedule_backup_age_seconds",
    help: "Age of the newest completed backup of the most stale schedule.",
};

/// One series per unpaused schedule that has a completed backup (label `schedule`): alert rules can
/// then compare each schedule's age with its own interval.
pub const SCHEDULE_NEWEST_AGE: MetricDef = MetricDef {
    name: "veldr_schedule_newest_completed_backup_age_seconds",
    help: "Age of the newest completed backup of each unpaused schedule.",
};

const DAY: f64 = 86400.0;

const FINISHED: [&str; 4] = ["Completed", "PartiallyFailed", "Failed", "FailedValidation"];

/// Velero shortens label values over 63 characters; the Backup name keeps `<schedule>-<timestamp>`.
fn belongs_to(backup: &Backup, schedule: &str) -> bool {
    if let Some(l) = backup.schedule() {
        if l == schedule || (schedule.len() > 63 && schedule.starts_with(&l[..l.len().min(57)])) {
            return true;
        }
    }
    backup
        .name()
        .strip_prefix(schedule)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|ts| ts.len() == 14 && ts.chars().all(|c| c.is_ascii_digit()))
        && backup.schedule().is_none()
}

fn phase(b: &Backup) -> Option<&str> {
    b.status.phase.as_deref()
}

fn created(o: &impl Object) -> Option<jiff::Timestamp> {
    o.meta().creation_timestamp.as_ref().map(|t| t.0)
}

/// When a backup started (falls back to its creation).
fn started(b: &Backup) -> Option<jiff::Timestamp> {
    b.status.start_timestamp.or_else(|| created(b))
}

fn completed_at(b: &Backup) -> Option<jiff::Timestamp> {
    b.status.completion_timestamp.or_else(|| started(b))
}

fn failure_reason(b: &Backup) -> String {
    b.status.failure_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
}

fn counts(b: &Backup) -> String {
    crate::checks::findings::errors_and_warnings(b.status.errors.unwrap_or(0), b.status.warnings.unwrap_or(0))
}

fn judge(ctx: &Ctx) -> Verdict {
    let schedules = crate::need!(&ctx.facts.kube.schedules);
    let backups = crate::need!(&ctx.facts.kube.backups);
    let ns = ctx.namespace().to_string();
    // A Schedule or Backup that did not decode (it may be a schedule's newest, completed or failed)
    // is named by the engine's malformed policy. One that exists undecoded still exists: no "no
    // Schedule", no "all paused".

    if schedules.is_empty() && schedules.malformed.is_empty() {
        let newest = backups.iter().filter(|b| phase(b) == Some("Completed")).filter_map(completed_at).max();
        let manual = match newest {
            Some(t) => format!("the newest completed backup is {} old", human_age(ctx.age_secs(t))),
            None => "there is no completed backup at all".to_string(),
        };
        return Verdict::warn(format!("no Schedule in {ns}: backups happen only when someone remembers ({manual})"))
            .detail(format!("{} Backup object(s) in {ns}; a doctor cannot tell a forgotten manual routine from a deliberate one, so this stays a warning", backups.len() + backups.malformed.len()))
            .hint(if ctx.by_helm() {
                "add a schedule to the Helm values: `schedules: {daily: {schedule: \"0 2 * * *\", template: {ttl: 720h, snapshotVolumes: true}}}`, then `helm upgrade`".to_string()
            } else {
                format!("`velero schedule create daily -n {ns} --schedule \"0 2 * * *\" --ttl 720h`")
            })
            .evidence("schedules", Vec::<Value>::new())
            .evidence("newestCompletedSecondsAgo", newest.map(|t| ctx.age_secs(t)));
    }

    let mut findings: Vec<Finding> = Vec::new();
    let mut notes = Vec::new();
    let mut evidence = Vec::new();
    let mut active = 0;
    // The gauge: the newest completed backup's age of the most stale unpaused schedule.
    let mut oldest: Option<i64> = None;
    let mut per_schedule: Vec<(&str, i64)> = Vec::new();
    for s in schedules.iter() {
        let name = s.name();
        let expr = s.spec.schedule.as_str();
        let paused = s.spec.paused;
        let (interval, interval_note) = match schedule_interval(expr) {
            Ok(i) => (i, None),
            Err(e) => (DAY, Some(format!("{name}: could not read the schedule {expr:?} ({e}); assumed daily"))),
        };
        let window = 2.0 * interval;
        let mine: Vec<&Backup> = backups.iter().filter(|b| belongs_to(b, name)).collect();
        let newest_completed = mine.iter().filter(|b| phase(b) == Some("Completed")).filter_map(|b| completed_at(b).map(|t| (t, *b))).max_by_key(|(t, _)| *t);
        let newest_any = mine.iter().filter_map(|b| started(b).map(|t| (t, *b))).max_by_key(|(t, _)| *t);
        let newest_finished = mine
            .iter()
            .filter(|b| FINISHED.contains(&phase(b).unwrap_or("")))
            .filter_map(|b| started(b).map(|t| (t, *b)))
            .max_by_key(|(t, _)| *t);
        let completed_ago = newest_completed.map(|(t, _)| ctx.age_secs(t));
        let last_phase = newest_any.map(|(_, b)| phase(b).unwrap_or("New").to_string());
        evidence.push(json!({
            "name": name,
            "schedule": expr,
            "paused": paused,
            "intervalSeconds": interval,
            "lastCompletedSecondsAgo": completed_ago,
            "lastPhase": last_phase,
            "backups": mine.len(),
        }));
        if let Some(n) = interval_note {
            notes.push(n);
        }

        if paused {
            notes.push(format!("{name}: paused, not judged"));
            continue;
        }
        active += 1;
        oldest = oldest.max(completed_ago);
        if let Some(age) = completed_ago {
            per_schedule.push((name, age));
        }

        if s.status.phase.as_deref() == Some("FailedValidation") {
            let errs = &s.status.validation_errors;
            findings.push(
                Finding::new(Status::Fail, format!("schedule {name} failed validation: it never runs"))
                    .detail(format!("{name}: {}", if errs.is_empty() { "no validation errors recorded".to_string() } else { errs.join("; ") }))
                    .hint(format!("fix the schedule (`kubectl -n {ns} edit schedule {name}`): a valid cron expression in spec.schedule and an existing storageLocation")),
            );
            continue;
        }

        let describe = format!("`velero backup describe <backup> -n {ns} --details` and `velero backup logs <backup> -n {ns}`");
        let too_old = completed_ago.is_none_or(|a| a as f64 > window);
        if too_old {
            let created_ago = created(s).map(|t| ctx.age_secs(t));
            if completed_ago.is_none() && created_ago.is_some_and(|c| (c as f64) < window) {
                notes.push(format!("{name}: created {} ago, first backup not due yet (runs every {})", human_age(created_ago.unwrap_or(0)), human_interval(interval)));
                continue;
            }
            let since = match completed_ago {
                Some(a) => human_age(a),
                None => "ever".to_string(),
            };
            let mut f = Finding::new(
                Status::Fail,
                if completed_ago.is_some() { format!("no completed backup for {name} in {since}") } else { format!("no completed backup for {name}, ever") },
            )
            .detail(format!("{name}: schedule {expr:?} runs at least every {}; veldr expects a completed backup within {}", human_interval(interval), human_interval(window)));
            if let Some((_, b)) = newest_any {
                let phase = phase(b).unwrap_or("New");
                f = f.detail(format!("{name}: newest backup {} is {phase} ({}){}", b.name(), counts(b), failure_reason(b)));
            } else {
                f = f.detail(format!("{name}: no Backup carries the label velero.io/schedule-name={name}"));
            }
            if let Some((_, b)) = newest_finished.filter(|(_, b)| newest_any.is_none_or(|(_, a)| !std::ptr::eq(a, *b))) {
                let phase = phase(b).unwrap_or("");
                if phase != "Completed" {
                    f = f.detail(format!("{name}: newest finished backup {} is {phase} ({}){}", b.name(), counts(b), failure_reason(b)));
                }
            }
            if let Some(lb) = s.status.last_backup {
                f = f.detail(format!("{name}: the schedule last fired at {lb}"));
            }
            f = f.hint(format!(
                "look at the newest backups: `velero backup get -n {ns} -l velero.io/schedule-name={name}`, then {describe}; if none were created, check the Velero server (`veldr doctor --only velero.deployment,bsl.phase`)"
            ));
            findings.push(f);
            continue;
        }

        // Recent enough; did the last run fail?
        match newest_finished {
            Some((_, b)) if matches!(phase(b), Some("Failed") | Some("FailedValidation")) => {
                let phase = phase(b).unwrap_or("");
                let reason = b.status.failure_reason.clone().or_else(|| Some(b.status.validation_errors.join("; "))).filter(|r| !r.is_empty());
                findings.push(
                    Finding::new(Status::Fail, format!("the last backup of {name} ({}) {phase}{}", b.name(), reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()))
                        .detail(format!("{name}: {} {phase} ({}); the newest completed one is {} old", b.name(), counts(b), human_age(completed_ago.unwrap_or(0))))
                        .hint(format!("read why: `velero backup describe {} -n {ns} --details` and `velero backup logs {} -n {ns}` (logs need working temp URLs: see swift.tempurl)", b.name(), b.name())),
                );
            }
            Some((_, b)) if phase(b) == Some("PartiallyFailed") => {
                findings.push(
                    Finding::new(Status::Warn, format!("the last backup of {name} ({}) PartiallyFailed with {}", b.name(), counts(b)))
                        .detail(format!("{name}: some items (often volume snapshots) were not backed up; the newest fully completed one is {} old", human_age(completed_ago.unwrap_or(0))))
                        .hint(format!("see which items failed: `velero backup describe {} -n {ns} --details` and `velero backup logs {} -n {ns} | grep -i error`", b.name(), b.name())),
                );
            }
            _ => notes.push(format!("{name}: last completed {} ago (runs every {})", human_age(completed_ago.unwrap_or(0)), human_interval(interval))),
        }
    }

    if active == 0 && schedules.malformed.is_empty() {
        return Verdict::warn(format!("all {} schedule(s) are paused: no backups are being taken", schedules.len()))
            .details(notes)
            .hint(format!("unpause: `velero schedule unpause <name> -n {ns}`"))
            .evidence("schedules", evidence);
    }
    let mut verdict = combine(format!("every active schedule ({active}) has a recent completed backup"), findings, notes).evidence("schedules", evidence);
    for (name, age) in per_schedule {
        verdict = verdict.labelled_metric(&SCHEDULE_NEWEST_AGE, &[("schedule", name)], age as f64);
    }
    match oldest {
        Some(age) => verdict.metric(&OLDEST_AGE, age as f64),
        None => verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{list, run, text};
    use crate::facts::Facts;

    fn schedule(name: &str, cron: &str) -> Value {
        json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
            "metadata": {"name": name, "namespace": "velero", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"schedule": cron, "template": {"ttl": "720h0m0s"}},
            "status": {"phase": "Enabled"}})
    }

    fn backup(name: &str, sched: &str, phase: &str, started: &str, completed: Option<&str>) -> Value {
        let mut b = json!({"apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": name, "namespace": "velero", "labels": {"velero.io/schedule-name": sched}, "creationTimestamp": started},
            "status": {"phase": phase, "startTimestamp": started}});
        if let Some(c) = completed {
            b["status"]["completionTimestamp"] = json!(c);
        }
        b
    }

    fn facts(schedules: Vec<Value>, backups: Vec<Value>) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.schedules = Ok(list(schedules));
        f.kube.backups = Ok(list(backups));
        f
    }

    #[test]
    fn recent_completed_backup_is_ok() {
        let f = facts(
            vec![schedule("daily", "0 2 * * *")],
            vec![
                backup("daily-20261129020000", "daily", "Completed", "2026-11-29T02:00:00Z", Some("2026-11-29T02:04:00Z")),
                backup("daily-20261128020000", "daily", "Completed", "2026-11-28T02:00:00Z", Some("2026-11-28T02:04:00Z")),
            ],
        );
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        let s = &v.evidence["schedules"][0];
        assert_eq!(s["name"], "daily");
        assert_eq!(s["lastCompletedSecondsAgo"], 6 * 3600 - 240);
        assert_eq!(s["lastPhase"], "Completed");
    }

    #[test]
    fn stale_backup_fails() {
        let f = facts(vec![schedule("daily", "0 2 * * *")], vec![backup("daily-20261126020000", "daily", "Completed", "2026-11-26T02:00:00Z", Some("2026-11-26T02:05:00Z"))]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("no completed backup for daily in 3d"), "{v:?}");
    }

    #[test]
    fn no_backup_ever_fails_unless_schedule_is_new() {
        let f = facts(vec![schedule("daily", "@daily")], vec![]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("ever"));
        let mut s = schedule("daily", "@daily");
        s["metadata"]["creationTimestamp"] = json!("2026-11-29T07:00:00Z");
        assert_eq!(run(&super::CHECK, &facts(vec![s], vec![])).status, Status::Ok);
    }

    #[test]
    fn failed_last_backup_fails_partially_failed_warns() {
        let ok = backup("daily-20261128020000", "daily", "Completed", "2026-11-28T02:00:00Z", Some("2026-11-28T02:04:00Z"));
        let mut failed = backup("daily-20261129020000", "daily", "Failed", "2026-11-29T02:00:00Z", Some("2026-11-29T02:01:00Z"));
        failed["status"]["failureReason"] = json!("BackupStorageLocation default is unavailable");
        let v = run(&super::CHECK, &facts(vec![schedule("daily", "0 2 * * *")], vec![ok.clone(), failed]));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("is unavailable"), "{v:?}");

        let mut partial = backup("daily-20261129020000", "daily", "PartiallyFailed", "2026-11-29T02:00:00Z", Some("2026-11-29T02:01:00Z"));
        partial["status"]["errors"] = json!(2);
        let v = run(&super::CHECK, &facts(vec![schedule("daily", "0 2 * * *")], vec![ok, partial]));
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("2 errors"), "{v:?}");
        assert_eq!(v.evidence["schedules"][0]["lastPhase"], "PartiallyFailed");
    }

    #[test]
    fn in_progress_backup_does_not_hide_the_previous_result() {
        let ok = backup("daily-20261128020000", "daily", "Completed", "2026-11-28T02:00:00Z", Some("2026-11-28T02:04:00Z"));
        let running = backup("daily-20261129020000", "daily", "InProgress", "2026-11-29T02:00:00Z", None);
        let v = run(&super::CHECK, &facts(vec![schedule("daily", "0 2 * * *")], vec![ok, running]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.evidence["schedules"][0]["lastPhase"], "InProgress");
    }

    #[test]
    fn paused_and_missing_schedules() {
        let mut s = schedule("daily", "0 2 * * *");
        s["spec"]["paused"] = json!(true);
        let v = run(&super::CHECK, &facts(vec![s, schedule("hourly", "@hourly")], vec![backup("hourly-20261129073000", "hourly", "Completed", "2026-11-29T07:00:00Z", Some("2026-11-29T07:01:00Z"))]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("paused"));
        let mut s = schedule("daily", "0 2 * * *");
        s["spec"]["paused"] = json!(true);
        assert_eq!(run(&super::CHECK, &facts(vec![s], vec![])).status, Status::Warn);
        let v = run(&super::CHECK, &facts(vec![], vec![]));
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("no schedule"));
    }

    #[test]
    fn unreadable_cron_falls_back_to_daily_and_says_so() {
        let f = facts(vec![schedule("weird", "every tuesday")], vec![backup("weird-20261129020000", "weird", "Completed", "2026-11-29T02:00:00Z", Some("2026-11-29T02:04:00Z"))]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok);
        assert!(text(&v).contains("assumed daily"));
    }

    #[test]
    fn failed_validation_schedule_fails() {
        let mut s = schedule("bad", "0 2 * * *");
        s["status"] = json!({"phase": "FailedValidation", "validationErrors": ["invalid schedule: expected exactly 5 fields"]});
        let v = run(&super::CHECK, &facts(vec![s], vec![]));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("5 fields"));
    }

    #[test]
    fn reads_that_fail_are_errors() {
        let mut f = facts(vec![], vec![]);
        f.kube.backups = Err(crate::facts::ReadError::forbidden("list", "backups.velero.io", Some("velero")));
        assert_eq!(run(&super::CHECK, &f).status, Status::Error);
    }

    fn oldest_age(v: &Verdict) -> Option<f64> {
        v.metrics.iter().find(|m| m.name == OLDEST_AGE.name).map(|m| m.value)
    }

    /// daily (completed 6h - 4min ago), hourly (59 min), never (no completed backup), monthly (paused),
    /// and `extra` backups.
    fn four_schedules(extra: Vec<Value>) -> Facts {
        let mut paused = schedule("monthly", "0 0 1 * *");
        paused["spec"]["paused"] = json!(true);
        let mut backups = vec![
            backup("daily-20261129020000", "daily", "Completed", "2026-11-29T02:00:00Z", Some("2026-11-29T02:04:00Z")),
            backup("hourly-20261129070000", "hourly", "Completed", "2026-11-29T07:00:00Z", Some("2026-11-29T07:01:00Z")),
            backup("monthly-20260101000000", "monthly", "Completed", "2026-01-01T00:00:00Z", Some("2026-01-01T00:10:00Z")),
        ];
        backups.extend(extra);
        facts(vec![schedule("daily", "0 2 * * *"), schedule("hourly", "@hourly"), schedule("never", "@daily"), paused], backups)
    }

    #[test]
    fn oldest_age_is_the_most_stale_unpaused_schedule() {
        let v = run(&super::CHECK, &four_schedules(vec![]));
        // daily: 6h - 4min; hourly: 59min; never: no completed backup (not counted); monthly: paused.
        assert_eq!(oldest_age(&v), Some((6 * 3600 - 240) as f64), "{v:?}");
        assert!(CHECK.metrics.contains(&OLDEST_AGE));
        // The same figure as the evidence holds.
        let from_evidence = v.evidence["schedules"].as_array().unwrap().iter().filter(|s| s["paused"] == false).filter_map(|s| s["lastCompletedSecondsAgo"].as_i64()).max();
        assert_eq!(oldest_age(&v), from_evidence.map(|a| a as f64));
        // No unpaused schedule with a completed backup: no value.
        let mut paused = schedule("daily", "0 2 * * *");
        paused["spec"]["paused"] = json!(true);
        assert_eq!(oldest_age(&run(&super::CHECK, &facts(vec![paused], vec![backup("daily-20261129020000", "daily", "Completed", "2026-11-29T02:00:00Z", None)]))), None);
        assert_eq!(oldest_age(&run(&super::CHECK, &facts(vec![], vec![]))), None);
    }

    #[test]
    fn each_unpaused_schedule_has_its_newest_completed_age() {
        let v = run(&super::CHECK, &four_schedules(vec![backup("daily-20261130020000", "daily", "Failed", "2026-11-29T07:00:00Z", None)]));
        let series: Vec<(String, f64)> = v
            .metrics
            .iter()
            .filter(|m| m.name == SCHEDULE_NEWEST_AGE.name)
            .map(|m| (m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","), m.value))
            .collect();
        // never: no completed backup, no series; monthly: paused. The Failed daily does not count.
        assert_eq!(series, [("schedule=daily".to_string(), (6 * 3600 - 240) as f64), ("schedule=hourly".to_string(), 59.0 * 60.0)]);
        assert!(CHECK.metrics.contains(&SCHEDULE_NEWEST_AGE));
        // The unlabelled gauge is still there, the largest of them.
        assert_eq!(oldest_age(&v), Some((6 * 3600 - 240) as f64));
    }

    #[test]
    fn malformed_schedules_and_backups_are_named_and_warn() {
        let mut bad = schedule("weekly", "@weekly");
        bad["spec"]["paused"] = json!("no");
        let mut odd = backup("daily-20261129020000", "daily", "Failed", "2026-11-29T02:00:00Z", None);
        odd["status"]["errors"] = json!("many");
        let ok = backup("daily-20261128020000", "daily", "Completed", "2026-11-28T02:00:00Z", Some("2026-11-28T02:04:00Z"));
        let v = run(&super::CHECK, &facts(vec![schedule("daily", "0 2 * * *"), bad], vec![ok, odd]));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = text(&v);
        assert!(t.contains("could not be read") && t.contains("malformed object schedule velero/weekly"), "{t}");
        assert!(t.contains("malformed object backup velero/daily-20261129020000"), "{t}");
        assert!(!t.contains("many"), "{t}");
        // Only malformed schedules: not "no Schedule", not "all paused".
        let mut bad = schedule("weekly", "@weekly");
        bad["spec"]["schedule"] = json!(7);
        let v = run(&super::CHECK, &facts(vec![bad], vec![]));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("malformed object schedule velero/weekly") && !text(&v).contains("no schedule in"), "{v:?}");
    }
}
