//! backup.recent: each schedule's newest backup completed recently, and the last one did not fail.

use super::ctx::{human_age, name_of, str_at, timestamp_at};
use super::storage::{combine, human_interval, parse_go_duration, Finding};
use super::Ctx;
use crate::model::{Status, Verdict};
use serde_json::{json, Value};

const DAY: f64 = 86400.0;

// ---------------------------------------------------------------------------------------------
// Cron: the longest gap between two runs of a schedule
// ---------------------------------------------------------------------------------------------

/// A field of a cron expression as the set of values it matches, and whether it was `*`/`?`.
struct Field {
    set: Vec<bool>,
    star: bool,
}

fn name_value(s: &str, names: &[&str], offset: u32) -> Option<u32> {
    let upper = s.to_ascii_uppercase();
    names.iter().position(|n| *n == upper).map(|i| i as u32 + offset).or_else(|| s.parse().ok())
}

/// Parses one field: `*`, `?`, `5`, `1-5`, `*/15`, `3/4`, `MON-FRI`, lists of these.
fn parse_field(field: &str, min: u32, max: u32, names: &[&str], name_offset: u32) -> Result<Field, String> {
    let mut set = vec![false; (max + 1) as usize];
    let star = field.starts_with('*') || field.starts_with('?');
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in {part:?}"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("zero step in {part:?}"));
        }
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = name_value(a, names, name_offset).ok_or_else(|| format!("bad value {a:?}"))?;
            let b = name_value(b, names, name_offset).ok_or_else(|| format!("bad value {b:?}"))?;
            (a, b)
        } else {
            let a = name_value(range, names, name_offset).ok_or_else(|| format!("bad value {range:?}"))?;
            // `3/4` means from 3 to the end, every 4.
            (a, if part.contains('/') { max } else { a })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{part:?} is out of range {min}-{max}"));
        }
        let mut v = lo;
        while v <= hi {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok(Field { set, star })
}

/// The longest gap between two consecutive runs of a schedule, in seconds, as Velero's cron
/// (robfig/cron) would run it: 5 fields (or 6 with seconds first), descriptors and `@every`.
pub(super) fn schedule_interval(expr: &str) -> Result<f64, String> {
    let mut words: Vec<&str> = expr.split_whitespace().collect();
    if words.first().is_some_and(|w| w.starts_with("CRON_TZ=") || w.starts_with("TZ=")) {
        words.remove(0);
    }
    if words.is_empty() {
        return Err("empty schedule".into());
    }
    if let Some(d) = words[0].strip_prefix('@') {
        return match d.to_ascii_lowercase().as_str() {
            "every" => {
                let raw = words.get(1).ok_or("`@every` without a duration")?;
                match parse_go_duration(raw) {
                    Some(s) if s > 0.0 => Ok(s),
                    _ => Err(format!("bad @every duration {raw:?}")),
                }
            }
            "yearly" | "annually" => Ok(366.0 * DAY),
            "monthly" => Ok(31.0 * DAY),
            "weekly" => Ok(7.0 * DAY),
            "daily" | "midnight" => Ok(DAY),
            "hourly" => Ok(3600.0),
            other => Err(format!("unknown descriptor @{other}")),
        };
    }
    if words.len() == 6 {
        words.remove(0); // seconds
    }
    if words.len() != 5 {
        return Err(format!("{} fields (expected 5)", words.len()));
    }
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let minute = parse_field(words[0], 0, 59, &[], 0)?;
    let hour = parse_field(words[1], 0, 23, &[], 0)?;
    let dom = parse_field(words[2], 1, 31, &[], 0)?;
    let month = parse_field(words[3], 1, 12, &MONTHS, 1)?;
    let mut dow = parse_field(words[4], 0, 7, &DAYS, 0)?;
    if dow.set[7] {
        dow.set[0] = true; // 7 is Sunday too
    }

    // Runs within one day, in minutes since midnight.
    let mut day_runs = Vec::new();
    for h in 0..24 {
        for m in 0..60 {
            if hour.set[h] && minute.set[m] {
                day_runs.push((h * 60 + m) as i64);
            }
        }
    }
    if day_runs.is_empty() {
        return Err("matches no time of day".into());
    }
    let mut max_gap: i64 = day_runs.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let (first, last) = (day_runs[0], *day_runs.last().unwrap_or(&0));

    // Walk four years of days (covers leap years and every weekday/month combination).
    let mut date = jiff::civil::Date::new(2024, 1, 1).map_err(|e| e.to_string())?;
    let mut prev_last: Option<i64> = None;
    let mut runs_days = 0;
    for day_index in 0..(4 * 366) {
        let m_ok = month.set[date.month() as usize];
        let d_ok = dom.set[date.day() as usize];
        let w_ok = dow.set[date.weekday().to_sunday_zero_offset() as usize];
        let day_ok = if dom.star || dow.star { d_ok && w_ok } else { d_ok || w_ok };
        if m_ok && day_ok {
            let start = day_index as i64 * 1440;
            if let Some(p) = prev_last {
                max_gap = max_gap.max(start + first - p);
            }
            prev_last = Some(start + last);
            runs_days += 1;
        }
        date = match date.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    if runs_days == 0 || (runs_days == 1 && day_runs.len() == 1) {
        return Err("runs less than once in four years".into());
    }
    Ok(max_gap as f64 * 60.0)
}

// ---------------------------------------------------------------------------------------------
// backup.recent
// ---------------------------------------------------------------------------------------------

const FINISHED: [&str; 4] = ["Completed", "PartiallyFailed", "Failed", "FailedValidation"];

/// Velero shortens label values over 63 characters; the Backup name keeps `<schedule>-<timestamp>`.
fn belongs_to(backup: &Value, schedule: &str) -> bool {
    if let Some(l) = str_at(backup, "/metadata/labels/velero.io~1schedule-name") {
        if l == schedule || (schedule.len() > 63 && schedule.starts_with(&l[..l.len().min(57)])) {
            return true;
        }
    }
    name_of(backup)
        .strip_prefix(schedule)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|ts| ts.len() == 14 && ts.chars().all(|c| c.is_ascii_digit()))
        && str_at(backup, "/metadata/labels/velero.io~1schedule-name").is_none()
}

/// When a backup started (falls back to its creation).
fn started(b: &Value) -> Option<jiff::Timestamp> {
    timestamp_at(b, "/status/startTimestamp").or_else(|| timestamp_at(b, "/metadata/creationTimestamp"))
}

fn completed_at(b: &Value) -> Option<jiff::Timestamp> {
    timestamp_at(b, "/status/completionTimestamp").or_else(|| started(b))
}

fn counts(b: &Value) -> String {
    let e = b.pointer("/status/errors").and_then(Value::as_i64).unwrap_or(0);
    let w = b.pointer("/status/warnings").and_then(Value::as_i64).unwrap_or(0);
    format!("{e} error{}, {w} warning{}", if e == 1 { "" } else { "s" }, if w == 1 { "" } else { "s" })
}

pub fn recent(ctx: &Ctx) -> Verdict {
    let schedules = crate::need!(&ctx.facts.kube.schedules);
    let backups = crate::need!(&ctx.facts.kube.backups);
    let ns = ctx.namespace().to_string();
    let now = ctx.now.as_second();

    if schedules.is_empty() {
        let newest = backups.iter().filter(|b| str_at(b, "/status/phase") == Some("Completed")).filter_map(completed_at).max();
        let manual = match newest {
            Some(t) => format!("the newest completed backup is {} old", human_age(now - t.as_second())),
            None => "there is no completed backup at all".to_string(),
        };
        return Verdict::warn(format!("no Schedule in {ns}: backups happen only when someone remembers ({manual})"))
            .detail(format!("{} Backup object(s) in {ns}; a doctor cannot tell a forgotten manual routine from a deliberate one, so this stays a warning", backups.len()))
            .hint(if super::storage::by_helm(ctx) {
                "add a schedule to the Helm values: `schedules: {daily: {schedule: \"0 2 * * *\", template: {ttl: 720h, snapshotVolumes: true}}}`, then `helm upgrade`".to_string()
            } else {
                format!("`velero schedule create daily -n {ns} --schedule \"0 2 * * *\" --ttl 720h`")
            })
            .evidence("schedules", Vec::<Value>::new())
            .evidence("newestCompletedSecondsAgo", newest.map(|t| now - t.as_second()));
    }

    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut evidence = Vec::new();
    let mut active = 0;
    for s in schedules {
        let name = name_of(s);
        let expr = str_at(s, "/spec/schedule").unwrap_or("");
        let paused = s.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false);
        let (interval, interval_note) = match schedule_interval(expr) {
            Ok(i) => (i, None),
            Err(e) => (DAY, Some(format!("{name}: could not read the schedule {expr:?} ({e}); assumed daily"))),
        };
        let window = 2.0 * interval;
        let mine: Vec<&Value> = backups.iter().filter(|b| belongs_to(b, name)).collect();
        let newest_completed = mine.iter().filter(|b| str_at(b, "/status/phase") == Some("Completed")).filter_map(|b| completed_at(b).map(|t| (t, *b))).max_by_key(|(t, _)| *t);
        let newest_any = mine.iter().filter_map(|b| started(b).map(|t| (t, *b))).max_by_key(|(t, _)| *t);
        let newest_finished = mine
            .iter()
            .filter(|b| FINISHED.contains(&str_at(b, "/status/phase").unwrap_or("")))
            .filter_map(|b| started(b).map(|t| (t, *b)))
            .max_by_key(|(t, _)| *t);
        let completed_ago = newest_completed.map(|(t, _)| now - t.as_second());
        let last_phase = newest_any.map(|(_, b)| str_at(b, "/status/phase").unwrap_or("New").to_string());
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

        if str_at(s, "/status/phase") == Some("FailedValidation") {
            let errs: Vec<String> = s.pointer("/status/validationErrors").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
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
            let created_ago = timestamp_at(s, "/metadata/creationTimestamp").map(|t| now - t.as_second());
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
                let phase = str_at(b, "/status/phase").unwrap_or("New");
                let reason = str_at(b, "/status/failureReason").map(|r| format!(": {r}")).unwrap_or_default();
                f = f.detail(format!("{name}: newest backup {} is {phase} ({}){reason}", name_of(b), counts(b)));
            } else {
                f = f.detail(format!("{name}: no Backup carries the label velero.io/schedule-name={name}"));
            }
            if let Some((_, b)) = newest_finished.filter(|(_, b)| newest_any.is_none_or(|(_, a)| !std::ptr::eq(a, *b))) {
                let phase = str_at(b, "/status/phase").unwrap_or("");
                if phase != "Completed" {
                    let reason = str_at(b, "/status/failureReason").map(|r| format!(": {r}")).unwrap_or_default();
                    f = f.detail(format!("{name}: newest finished backup {} is {phase} ({}){reason}", name_of(b), counts(b)));
                }
            }
            if let Some(lb) = str_at(s, "/status/lastBackup") {
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
            Some((_, b)) if matches!(str_at(b, "/status/phase"), Some("Failed") | Some("FailedValidation")) => {
                let phase = str_at(b, "/status/phase").unwrap_or("");
                let reason = str_at(b, "/status/failureReason")
                    .map(str::to_string)
                    .or_else(|| {
                        b.pointer("/status/validationErrors").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
                    })
                    .filter(|r| !r.is_empty());
                findings.push(
                    Finding::new(Status::Fail, format!("the last backup of {name} ({}) {phase}{}", name_of(b), reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()))
                        .detail(format!("{name}: {} {phase} ({}); the newest completed one is {} old", name_of(b), counts(b), human_age(completed_ago.unwrap_or(0))))
                        .hint(format!("read why: `velero backup describe {} -n {ns} --details` and `velero backup logs {} -n {ns}` (logs need working temp URLs: see swift.tempurl)", name_of(b), name_of(b))),
                );
            }
            Some((_, b)) if str_at(b, "/status/phase") == Some("PartiallyFailed") => {
                findings.push(
                    Finding::new(Status::Warn, format!("the last backup of {name} ({}) PartiallyFailed with {}", name_of(b), counts(b)))
                        .detail(format!("{name}: some items (often volume snapshots) were not backed up; the newest fully completed one is {} old", human_age(completed_ago.unwrap_or(0))))
                        .hint(format!("see which items failed: `velero backup describe {} -n {ns} --details` and `velero backup logs {} -n {ns} | grep -i error`", name_of(b), name_of(b))),
                );
            }
            _ => notes.push(format!("{name}: last completed {} ago (runs every {})", human_age(completed_ago.unwrap_or(0)), human_interval(interval))),
        }
    }

    if active == 0 {
        return Verdict::warn(format!("all {} schedule(s) are paused: no backups are being taken", schedules.len()))
            .details(notes)
            .hint(format!("unpause: `velero schedule unpause <name> -n {ns}`"))
            .evidence("schedules", evidence);
    }
    combine(format!("every active schedule ({active}) has a recent completed backup"), findings, notes).evidence("schedules", evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        f.kube.schedules = Ok(schedules);
        f.kube.backups = Ok(backups);
        f
    }

    fn run(f: &Facts) -> Verdict {
        recent(&Ctx::new(f, &[]))
    }

    fn text(v: &Verdict) -> String {
        format!("{} {} {}", v.summary, v.details.join(" "), v.hint.clone().unwrap_or_default()).to_lowercase()
    }

    #[test]
    fn cron_intervals() {
        let h = 3600.0;
        assert_eq!(schedule_interval("0 2 * * *"), Ok(24.0 * h));
        assert_eq!(schedule_interval("0 */6 * * *"), Ok(6.0 * h));
        assert_eq!(schedule_interval("0 2,14 * * *"), Ok(12.0 * h));
        assert_eq!(schedule_interval("*/15 * * * *"), Ok(900.0));
        assert_eq!(schedule_interval("0 * * * *"), Ok(h));
        assert_eq!(schedule_interval("0 3 * * 0"), Ok(7.0 * 24.0 * h));
        assert_eq!(schedule_interval("0 3 * * MON-FRI"), Ok(3.0 * 24.0 * h));
        assert_eq!(schedule_interval("0 0 1 * *"), Ok(31.0 * 24.0 * h));
        assert_eq!(schedule_interval("CRON_TZ=Europe/Paris 30 1 * * *"), Ok(24.0 * h));
        assert_eq!(schedule_interval("0 0 2 * * *"), Ok(24.0 * h), "six fields, seconds first");
        assert_eq!(schedule_interval("@every 6h"), Ok(6.0 * h));
        assert_eq!(schedule_interval("@daily"), Ok(24.0 * h));
        assert_eq!(schedule_interval("@hourly"), Ok(h));
        assert_eq!(schedule_interval("@weekly"), Ok(7.0 * 24.0 * h));
        assert!(schedule_interval("not a cron").is_err());
        assert!(schedule_interval("61 * * * *").is_err());
        assert!(schedule_interval("").is_err());
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
        let v = run(&f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        let s = &v.evidence["schedules"][0];
        assert_eq!(s["name"], "daily");
        assert_eq!(s["lastCompletedSecondsAgo"], 6 * 3600 - 240);
        assert_eq!(s["lastPhase"], "Completed");
    }

    #[test]
    fn stale_backup_fails() {
        let f = facts(vec![schedule("daily", "0 2 * * *")], vec![backup("daily-20261126020000", "daily", "Completed", "2026-11-26T02:00:00Z", Some("2026-11-26T02:05:00Z"))]);
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("no completed backup for daily in 3d"), "{v:?}");
    }

    #[test]
    fn no_backup_ever_fails_unless_schedule_is_new() {
        let f = facts(vec![schedule("daily", "@daily")], vec![]);
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("ever"));
        let mut s = schedule("daily", "@daily");
        s["metadata"]["creationTimestamp"] = json!("2026-11-29T07:00:00Z");
        assert_eq!(run(&facts(vec![s], vec![])).status, Status::Ok);
    }

    #[test]
    fn failed_last_backup_fails_partially_failed_warns() {
        let ok = backup("daily-20261128020000", "daily", "Completed", "2026-11-28T02:00:00Z", Some("2026-11-28T02:04:00Z"));
        let mut failed = backup("daily-20261129020000", "daily", "Failed", "2026-11-29T02:00:00Z", Some("2026-11-29T02:01:00Z"));
        failed["status"]["failureReason"] = json!("BackupStorageLocation default is unavailable");
        let v = run(&facts(vec![schedule("daily", "0 2 * * *")], vec![ok.clone(), failed]));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("is unavailable"), "{v:?}");

        let mut partial = backup("daily-20261129020000", "daily", "PartiallyFailed", "2026-11-29T02:00:00Z", Some("2026-11-29T02:01:00Z"));
        partial["status"]["errors"] = json!(2);
        let v = run(&facts(vec![schedule("daily", "0 2 * * *")], vec![ok, partial]));
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("2 errors"), "{v:?}");
        assert_eq!(v.evidence["schedules"][0]["lastPhase"], "PartiallyFailed");
    }

    #[test]
    fn in_progress_backup_does_not_hide_the_previous_result() {
        let ok = backup("daily-20261128020000", "daily", "Completed", "2026-11-28T02:00:00Z", Some("2026-11-28T02:04:00Z"));
        let running = backup("daily-20261129020000", "daily", "InProgress", "2026-11-29T02:00:00Z", None);
        let v = run(&facts(vec![schedule("daily", "0 2 * * *")], vec![ok, running]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.evidence["schedules"][0]["lastPhase"], "InProgress");
    }

    #[test]
    fn paused_and_missing_schedules() {
        let mut s = schedule("daily", "0 2 * * *");
        s["spec"]["paused"] = json!(true);
        let v = run(&facts(vec![s, schedule("hourly", "@hourly")], vec![backup("hourly-20261129073000", "hourly", "Completed", "2026-11-29T07:00:00Z", Some("2026-11-29T07:01:00Z"))]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("paused"));
        let mut s = schedule("daily", "0 2 * * *");
        s["spec"]["paused"] = json!(true);
        assert_eq!(run(&facts(vec![s], vec![])).status, Status::Warn);
        let v = run(&facts(vec![], vec![]));
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("no schedule"));
    }

    #[test]
    fn unreadable_cron_falls_back_to_daily_and_says_so() {
        let f = facts(vec![schedule("weird", "every tuesday")], vec![backup("weird-20261129020000", "weird", "Completed", "2026-11-29T02:00:00Z", Some("2026-11-29T02:04:00Z"))]);
        let v = run(&f);
        assert_eq!(v.status, Status::Ok);
        assert!(text(&v).contains("assumed daily"));
    }

    #[test]
    fn failed_validation_schedule_fails() {
        let mut s = schedule("bad", "0 2 * * *");
        s["status"] = json!({"phase": "FailedValidation", "validationErrors": ["invalid schedule: expected exactly 5 fields"]});
        let v = run(&facts(vec![s], vec![]));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("5 fields"));
    }

    #[test]
    fn reads_that_fail_are_errors() {
        let mut f = facts(vec![], vec![]);
        f.kube.backups = Err(crate::facts::ReadError::forbidden("list", "backups.velero.io", Some("velero")));
        assert_eq!(run(&f).status, Status::Error);
    }
}
