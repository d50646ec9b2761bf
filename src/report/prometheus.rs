//! `-o prometheus`: the text exposition format, for node_exporter's textfile collector or `veldr serve`.
//!
//! Labels are bounded: check id, category and severity, and on a few checks' gauges a Schedule's
//! name (no backup or restore names, no secrets).
//! `veldr_check_status`: 0 ok, 1 warn, 2 fail, 3 error, 4 skip; `veldr_checks{status}`: how many of each.

use super::Report;
use crate::model::{Measure, Status};
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
    // values its judge set, one series per label set. A check that set none (skipped, not
    // applicable) exports nothing.
    for c in &report.checks {
        let Some(def) = crate::checks::find(&c.id) else { continue };
        for m in def.metrics {
            let values: Vec<&Measure> = c.metrics.iter().filter(|v| v.name == m.name).collect();
            if values.is_empty() {
                continue;
            }
            let _ = writeln!(o, "# HELP {} {}", m.name, m.help);
            let _ = writeln!(o, "# TYPE {} gauge", m.name);
            for v in values {
                let _ = writeln!(o, "{}{} {}", m.name, labels(&v.labels), v.value);
            }
        }
    }
    o
}

/// `{a="x",b="y"}`, or nothing for an unlabelled series.
fn labels(pairs: &[(&'static str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", inner.join(","))
}

/// The series every run writes, whatever the checks (the checks' own gauges come from
/// `CheckDef::metrics`); `veldr_last_success_timestamp_seconds` is added by `veldr serve`.
pub const FIXED_SERIES: &[&str] = &[
    "veldr_up",
    "veldr_build_info",
    "veldr_check_status",
    "veldr_check_duration_seconds",
    "veldr_checks",
    "veldr_run_duration_seconds",
    "veldr_last_run_timestamp_seconds",
    "veldr_last_success_timestamp_seconds",
];

/// Every metric family veldr can emit: the fixed series and every check's declared gauges.
pub fn metric_names() -> Vec<&'static str> {
    let declared = crate::checks::REGISTRY.iter().flat_map(|c| c.metrics.iter().map(|m| m.name));
    FIXED_SERIES.iter().copied().chain(declared).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{check, report_of};

    fn with_metrics(id: &str, metrics: Vec<Measure>) -> crate::model::CheckResult {
        let mut c = check(id, Status::Ok, "fine");
        c.metrics = metrics;
        c
    }

    #[test]
    fn labelled_series_share_one_family_and_unlabelled_ones_stay_as_they_were() {
        let recent = with_metrics(
            "backup.recent",
            vec![
                Measure { name: "veldr_oldest_schedule_backup_age_seconds", value: 7200.0, labels: vec![] },
                Measure { name: "veldr_schedule_newest_completed_backup_age_seconds", value: 3600.0, labels: vec![("schedule", "daily".into())] },
                Measure { name: "veldr_schedule_newest_completed_backup_age_seconds", value: 7200.0, labels: vec![("schedule", "we\"ird\\".into())] },
            ],
        );
        let text = render(&report_of(vec![recent]), true);
        assert!(text.contains("\nveldr_oldest_schedule_backup_age_seconds 7200\n"), "{text}");
        let family = "veldr_schedule_newest_completed_backup_age_seconds";
        assert_eq!(text.matches(&format!("# TYPE {family} gauge")).count(), 1, "{text}");
        assert!(text.contains(&format!("\n{family}{{schedule=\"daily\"}} 3600\n{family}{{schedule=\"we\\\"ird\\\\\"}} 7200\n")), "{text}");
    }

    #[test]
    fn every_family_rendered_is_a_fixed_series_or_a_declared_metric() {
        let checks: Vec<_> = crate::checks::REGISTRY
            .iter()
            .map(|d| with_metrics(d.id, d.metrics.iter().map(|m| Measure { name: m.name, value: 1.0, labels: vec![] }).collect()))
            .collect();
        let text = render(&report_of(checks), true);
        let known = metric_names();
        let mut families = 0;
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = line.split_whitespace().nth(2).unwrap();
            assert!(known.contains(&name), "{name} is rendered but not in FIXED_SERIES nor declared by a check");
            families += 1;
        }
        // Everything but serve's own timestamp is rendered here.
        assert_eq!(families, known.len() - 1, "{text}");
    }
}
