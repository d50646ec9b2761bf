//! Which backups count as failed for `backup.failures`, decided once for collect (which reads their
//! results objects) and the judge (which quotes them): the same facts give the same list.

use crate::facts::{Backup, Object};
use jiff::Timestamp;
use std::collections::BTreeMap;

/// "The last 24 h".
pub const WINDOW_SECS: i64 = 24 * 3600;

/// Phases after which a backup no longer changes (the ones a schedule's "newest" is taken among, so
/// that a backup still running does not hide the last result).
const FINISHED: [&str; 4] = ["Completed", "PartiallyFailed", "Failed", "FailedValidation"];

pub fn phase(b: &Backup) -> &str {
    b.status.phase.as_deref().unwrap_or("New")
}

pub fn is_failed(b: &Backup) -> bool {
    matches!(phase(b), "Failed" | "PartiallyFailed")
}

/// When a backup ended (else started, else was created).
pub fn ended_at(b: &Backup) -> Option<Timestamp> {
    b.status.completion_timestamp.or(b.status.start_timestamp).or_else(|| b.meta().creation_timestamp.as_ref().map(|t| t.0))
}

/// Ended within [`WINDOW_SECS`] before `now`.
pub fn in_window(b: &Backup, now: Timestamp) -> bool {
    ended_at(b).is_some_and(|t| now.as_second() - t.as_second() <= WINDOW_SECS)
}

/// The backups of the last 24 h in `phase`.
pub fn count_in_window(backups: &[Backup], now: Timestamp, wanted: &str) -> usize {
    backups.iter().filter(|b| phase(b) == wanted && in_window(b, now)).count()
}

/// Failed or PartiallyFailed backups that ended in the last 24 h, and each schedule's newest
/// finished backup when it failed; newest first, each once.
pub fn failed_backups(backups: &[Backup], now: Timestamp) -> Vec<&Backup> {
    let mut newest: BTreeMap<&str, &Backup> = BTreeMap::new();
    for b in backups.iter().filter(|b| FINISHED.contains(&phase(b))) {
        if let Some(s) = b.schedule() {
            let slot = newest.entry(s).or_insert(b);
            if ended_at(b) > ended_at(slot) {
                *slot = b;
            }
        }
    }
    let mut out: Vec<&Backup> =
        backups.iter().filter(|b| is_failed(b) && (in_window(b, now) || b.schedule().is_some_and(|s| newest.get(s).is_some_and(|n| std::ptr::eq(*n, *b))))).collect();
    out.sort_by(|a, b| ended_at(b).cmp(&ended_at(a)).then_with(|| a.name().cmp(b.name())));
    out
}

/// Phases whose backups have their objects in the BSL and can be restored (the ones Velero's sync
/// deletes when their objects are gone: `pkg/controller/backup_sync_controller.go` v1.17.1
/// `deleteOrphanedBackups`).
pub const RESTORABLE: [&str; 2] = ["Completed", "PartiallyFailed"];

pub fn is_restorable(b: &Backup) -> bool {
    RESTORABLE.contains(&phase(b))
}

/// Each Schedule's newest Completed or PartiallyFailed backup (by label `velero.io/schedule-name`,
/// whether or not the Schedule still exists), newest first.
pub fn newest_restorable(backups: &[Backup]) -> Vec<&Backup> {
    let mut newest: BTreeMap<&str, &Backup> = BTreeMap::new();
    for b in backups.iter().filter(|b| is_restorable(b)) {
        if let Some(s) = b.schedule() {
            let slot = newest.entry(s).or_insert(b);
            if (ended_at(b), b.name()) > (ended_at(slot), slot.name()) {
                *slot = b;
            }
        }
    }
    let mut out: Vec<&Backup> = newest.into_values().collect();
    out.sort_by(|a, b| ended_at(b).cmp(&ended_at(a)).then_with(|| a.name().cmp(b.name())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn backup(name: &str, schedule: Option<&str>, phase: &str, ended: &str) -> Backup {
        let mut v = json!({"metadata": {"name": name, "namespace": "velero"}, "status": {"phase": phase, "completionTimestamp": ended}});
        if let Some(s) = schedule {
            v["metadata"]["labels"] = json!({"velero.io/schedule-name": s});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn each_schedules_newest_restorable_backup() {
        let backups = vec![
            backup("daily-1", Some("daily"), "Completed", "2026-11-27T02:04:00Z"),
            backup("daily-2", Some("daily"), "PartiallyFailed", "2026-11-28T02:04:00Z"),
            backup("daily-3", Some("daily"), "Failed", "2026-11-29T02:04:00Z"),
            backup("hourly-1", Some("hourly"), "Completed", "2026-11-29T07:00:00Z"),
            backup("manual", None, "Completed", "2026-11-29T07:30:00Z"),
        ];
        let names: Vec<&str> = newest_restorable(&backups).iter().map(|b| b.name()).collect();
        assert_eq!(names, ["hourly-1", "daily-2"], "Failed has no objects to judge; a manual backup has no schedule");
    }

    #[test]
    fn recent_failures_and_each_schedules_newest() {
        let now: Timestamp = "2026-11-29T08:00:00Z".parse().unwrap();
        let all = vec![
            backup("manual-old", None, "Failed", "2026-11-20T00:00:00Z"),
            backup("daily-1", Some("daily"), "Completed", "2026-11-27T02:00:00Z"),
            backup("daily-2", Some("daily"), "Completed", "2026-11-28T02:00:00Z"),
            backup("daily-3", Some("daily"), "PartiallyFailed", "2026-11-29T02:00:00Z"),
            backup("weekly-1", Some("weekly"), "Failed", "2026-11-22T00:00:00Z"),
            backup("weekly-0", Some("weekly"), "Failed", "2026-11-15T00:00:00Z"),
            backup("manual-new", None, "Failed", "2026-11-29T07:00:00Z"),
            backup("monthly-1", Some("monthly"), "Failed", "2026-11-01T00:00:00Z"),
            backup("monthly-2", Some("monthly"), "Completed", "2026-11-02T00:00:00Z"),
        ];
        let names: Vec<&str> = failed_backups(&all, now).iter().map(|b| b.name()).collect();
        // manual-old: old, no schedule; weekly-0: not the newest; monthly-1: a newer one completed.
        assert_eq!(names, ["manual-new", "daily-3", "weekly-1"]);
        assert_eq!(count_in_window(&all, now, "Failed"), 1);
        assert_eq!(count_in_window(&all, now, "PartiallyFailed"), 1);
    }

    #[test]
    fn a_running_backup_does_not_hide_the_last_failure() {
        let now: Timestamp = "2026-11-29T08:00:00Z".parse().unwrap();
        let all = vec![backup("w-1", Some("w"), "Failed", "2026-11-22T00:00:00Z"), backup("w-2", Some("w"), "InProgress", "2026-11-29T07:00:00Z")];
        assert_eq!(failed_backups(&all, now).len(), 1);
    }
}
