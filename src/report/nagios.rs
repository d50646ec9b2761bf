//! `-o nagios`: the Nagios/Icinga plugin convention. First line `VELDR STATE - …`
//! (under 80 characters before `|`, except an UNKNOWN's, which names the checks that could not be
//! evaluated and why) with perfdata, then one line per problem.
//! Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (errors and no fail: the run is incomplete).

use super::Report;
use crate::model::Status;
use std::fmt::Write;

pub fn exit_code(report: &Report) -> i32 {
    let s = &report.summary;
    if s.fail > 0 {
        2
    } else if s.error > 0 {
        3
    } else if s.warn > 0 {
        1
    } else {
        0
    }
}

pub fn render(report: &Report) -> String {
    let s = &report.summary;
    let state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][exit_code(report) as usize];
    let mut head = format!("VELDR {state} - ");
    let mut parts = Vec::new();
    if s.fail > 0 {
        parts.push(format!("{} failed", s.fail));
    }
    if s.error > 0 {
        // UNKNOWN: the line is the whole story (which checks, and why), past the 80 characters if need be.
        // CRITICAL: the failure leads; the incomplete part stays short.
        match report.incomplete_line() {
            Some(line) if s.fail == 0 => parts.push(line),
            _ => parts.push(format!("incomplete ({} not evaluated)", s.error)),
        }
    }
    if s.warn > 0 {
        parts.push(format!("{} warning{}", s.warn, if s.warn == 1 { "" } else { "s" }));
    }
    if parts.is_empty() {
        parts.push(format!("{} checks ok", s.ok));
    }
    head.push_str(&parts.join(", "));
    // The first failing check's id, when it fits: what an on-call reads on a pager.
    if let Some(first) = report.checks.iter().find(|c| c.status == Status::Fail) {
        let extra = format!(" ({})", first.id);
        if head.len() + extra.len() < 80 {
            head.push_str(&extra);
        }
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{head} | failed={};;1 errors={} warnings={} ok={} skipped={} duration={:.3}s",
        s.fail, s.error, s.warn, s.ok, s.skip, report.duration_ms as f64 / 1000.0
    );
    for c in report.checks.iter().filter(|c| matches!(c.status, Status::Fail | Status::Error | Status::Warn)) {
        let _ = writeln!(o, "{} {}: {}", c.status.as_str().to_uppercase(), c.id, c.summary);
    }
    o
}
