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

/// `veldr_up`: whether the run completed (the exporter writes it on its own when a run failed).
pub fn up_line(up: bool) -> String {
    format!("# HELP veldr_up Whether the last veldr run completed (1) or could not run (0).\n# TYPE veldr_up gauge\nveldr_up {}\n", u8::from(up))
}

/// `veldr_build_info{version}`.
pub fn build_info(version: &str) -> String {
    format!("# HELP veldr_build_info veldr's version.\n# TYPE veldr_build_info gauge\nveldr_build_info{{version=\"{}\"}} 1\n", escape(version))
}

/// Renders the metrics. `up` is false when the run itself could not complete.
pub fn render(report: &Report, up: bool) -> String {
    let mut o = up_line(up) + &build_info(&report.veldr);
    let _ = writeln!(o, "# HELP veldr_check_status Status of each check: 0 ok, 1 warn, 2 fail, 3 error, 4 skip.");
    let _ = writeln!(o, "# TYPE veldr_check_status gauge");
    for c in &report.checks {
        // `severity` lets alert rules page on critical checks and ticket the rest.
        let severity = crate::checks::find(&c.id).map_or("critical", |d| d.severity.as_str());
        let _ = writeln!(
            o,
            "veldr_check_status{{check=\"{}\",category=\"{}\",severity=\"{severity}\"}} {}",
            escape(&c.id),
            c.category,
            status_value(c.status)
        );
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

    // The figures operators graph: the gauges each check declares (`CheckDef::metrics`), with the
    // values its judge set. A check that set none (skipped, not applicable) exports nothing.
    for c in &report.checks {
        let Some(def) = crate::checks::find(&c.id) else { continue };
        for m in def.metrics {
            if let Some(v) = c.metrics.iter().find(|v| v.name == m.name) {
                let _ = writeln!(o, "# HELP {} {}", m.name, m.help);
                let _ = writeln!(o, "# TYPE {} gauge", m.name);
                let _ = writeln!(o, "{} {}", m.name, v.value);
            }
        }
    }
    o
}
