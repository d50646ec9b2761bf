//! `-o prometheus`: the text exposition format, for node_exporter's textfile collector or `veldr serve`.
//!
//! Labels are bounded (check id and category only: no object names, no secrets).
//! `veldr_check_status`: 0 ok, 1 warn, 2 fail, 3 error, 4 skip; `veldr_checks{status}`: how many of each.

use super::Report;
use crate::model::Status;
use std::fmt::Write;

pub fn status_value(s: Status) -> u8 {
    match s {
        Status::Ok => 0,
        Status::Warn => 1,
        Status::Fail => 2,
        Status::Error => 3,
        Status::Skip => 4,
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Renders the metrics. `up` is false when the run itself could not complete.
pub fn render(report: &Report, up: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# HELP veldr_up Whether the last veldr run completed (1) or could not run (0).");
    let _ = writeln!(o, "# TYPE veldr_up gauge");
    let _ = writeln!(o, "veldr_up {}", u8::from(up));
    let _ = writeln!(o, "# HELP veldr_build_info veldr's version.");
    let _ = writeln!(o, "# TYPE veldr_build_info gauge");
    let _ = writeln!(o, "veldr_build_info{{version=\"{}\"}} 1", escape(&report.veldr));
    let _ = writeln!(o, "# HELP veldr_check_status Status of each check: 0 ok, 1 warn, 2 fail, 3 error, 4 skip.");
    let _ = writeln!(o, "# TYPE veldr_check_status gauge");
    for c in &report.checks {
        let _ = writeln!(o, "veldr_check_status{{check=\"{}\",category=\"{}\"}} {}", escape(&c.id), c.category, status_value(c.status));
    }
    let _ = writeln!(o, "# HELP veldr_check_duration_seconds Time spent on each check, its reads included.");
    let _ = writeln!(o, "# TYPE veldr_check_duration_seconds gauge");
    for c in &report.checks {
        let _ = writeln!(o, "veldr_check_duration_seconds{{check=\"{}\"}} {}", escape(&c.id), c.duration_ms as f64 / 1000.0);
    }
    // Counts by status, all five always present: `veldr_checks{status="error"} > 0` is "veldr could not
    // see" (RBAC, a Keystone or Swift that did not answer), apart from "Velero is broken" (fail).
    let _ = writeln!(o, "# HELP veldr_checks Checks of the run by status; error: could not be evaluated (the run is incomplete).");
    let _ = writeln!(o, "# TYPE veldr_checks gauge");
    let s = &report.summary;
    for (status, n) in [("ok", s.ok), ("warn", s.warn), ("fail", s.fail), ("error", s.error), ("skip", s.skip)] {
        let _ = writeln!(o, "veldr_checks{{status=\"{status}\"}} {n}");
    }
    let _ = writeln!(o, "# HELP veldr_run_duration_seconds Wall time of the last run.");
    let _ = writeln!(o, "# TYPE veldr_run_duration_seconds gauge");
    let _ = writeln!(o, "veldr_run_duration_seconds {}", report.duration_ms as f64 / 1000.0);
    let _ = writeln!(o, "# HELP veldr_last_run_timestamp_seconds When the last run started.");
    let _ = writeln!(o, "# TYPE veldr_last_run_timestamp_seconds gauge");
    let _ = writeln!(o, "veldr_last_run_timestamp_seconds {}", report.started_at.as_second());

    // The figures operators graph, taken from the checks' evidence.
    let evidence = |id: &str| report.checks.iter().find(|c| c.id == id).map(|c| &c.evidence);
    if let Some(secs) = evidence("keystone.auth").and_then(|e| e.get("credentialExpiresInSeconds")).and_then(|v| v.as_i64()) {
        let _ = writeln!(o, "# HELP veldr_credential_expiry_seconds Seconds until the application credential expires.");
        let _ = writeln!(o, "# TYPE veldr_credential_expiry_seconds gauge");
        let _ = writeln!(o, "veldr_credential_expiry_seconds {secs}");
    }
    let skews: Vec<i64> = evidence("swift.clock")
        .and_then(|e| e.get("bsls"))
        .and_then(|b| b.as_array())
        .map(|bs| bs.iter().filter_map(|b| b.pointer("/evidence/skewSeconds").and_then(|v| v.as_i64())).collect())
        .unwrap_or_default();
    if let Some(max) = skews.iter().max_by_key(|s| s.abs()) {
        let _ = writeln!(o, "# HELP veldr_swift_clock_skew_seconds Swift's clock minus this machine's.");
        let _ = writeln!(o, "# TYPE veldr_swift_clock_skew_seconds gauge");
        let _ = writeln!(o, "veldr_swift_clock_skew_seconds {max}");
    }
    if let Some(schedules) = evidence("backup.recent").and_then(|e| e.get("schedules")).and_then(|s| s.as_array()) {
        // Paused schedules are not expected to produce backups: they stay out of the alerting figure.
        let ages: Vec<i64> = schedules
            .iter()
            .filter(|s| !s.get("paused").and_then(|p| p.as_bool()).unwrap_or(false))
            .filter_map(|s| s.get("lastCompletedSecondsAgo").and_then(|v| v.as_i64()))
            .collect();
        if let Some(oldest) = ages.iter().max() {
            // One series: schedule names are object names, which stay out of labels (bounded cardinality).
            let _ = writeln!(o, "# HELP veldr_oldest_schedule_backup_age_seconds Age of the newest completed backup of the most stale schedule.");
            let _ = writeln!(o, "# TYPE veldr_oldest_schedule_backup_age_seconds gauge");
            let _ = writeln!(o, "veldr_oldest_schedule_backup_age_seconds {oldest}");
        }
    }
    o
}
