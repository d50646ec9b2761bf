//! Which Restores count as recently failed, decided once for collect (which results objects it reads)
//! and velero.operations (which quotes them): the same facts give the same list.

use crate::facts::{Object, Restore};
use crate::rules::backups::WINDOW_SECS;
use jiff::Timestamp;

pub fn phase(r: &Restore) -> &str {
    r.status.phase.as_deref().unwrap_or("New")
}

/// When a restore ended (else started, else was created).
pub fn ended_at(r: &Restore) -> Option<Timestamp> {
    r.status.completion_timestamp.or(r.status.start_timestamp).or_else(|| r.meta().creation_timestamp.as_ref().map(|t| t.0))
}

/// Ended within the last 24 h before `now`.
pub fn in_window(r: &Restore, now: Timestamp) -> bool {
    ended_at(r).is_some_and(|t| now.as_second() - t.as_second() <= WINDOW_SECS)
}

/// Restores of the last 24 h that ran and ended Failed or PartiallyFailed: those have a results
/// object (`restores/<r>/restore-<r>-results.gz`; one that failed validation never ran), newest first.
pub fn failed_restores(restores: &[Restore], now: Timestamp) -> Vec<&Restore> {
    let mut out: Vec<&Restore> = restores.iter().filter(|r| matches!(phase(r), "Failed" | "PartiallyFailed") && in_window(r, now)).collect();
    out.sort_by(|a, b| ended_at(b).cmp(&ended_at(a)).then_with(|| a.name().cmp(b.name())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn restore(name: &str, phase: &str, ended: &str) -> Restore {
        serde_json::from_value(json!({"metadata": {"name": name}, "status": {"phase": phase, "completionTimestamp": ended}})).unwrap()
    }

    #[test]
    fn recent_failed_and_partially_failed_restores_newest_first() {
        let now: Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        let all = vec![
            restore("old", "Failed", "2026-11-29T12:00:00Z"),
            restore("partial", "PartiallyFailed", "2026-12-01T10:00:00Z"),
            restore("invalid", "FailedValidation", "2026-12-01T11:00:00Z"),
            restore("failed", "Failed", "2026-12-01T11:30:00Z"),
            restore("fine", "Completed", "2026-12-01T11:45:00Z"),
        ];
        let names: Vec<&str> = failed_restores(&all, now).iter().map(|r| r.name()).collect();
        assert_eq!(names, ["failed", "partial"]);
    }
}
