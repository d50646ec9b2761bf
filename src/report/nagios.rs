//! `-o nagios`: the Nagios/Icinga plugin convention. First line `VELDR STATE - …`
//! (under 80 characters before `|`, except an UNKNOWN's, which names the checks that could not be
//! evaluated and why) with perfdata, then one line per problem.
//! Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (errors and no fail: the run is incomplete).

use super::Report;
use crate::model::{Severity, Status};
use std::fmt::Write;

/// The check's severity drives the state: a failing `minor` check (hygiene that will bite later,
/// like clock skew) pages as WARNING, a failing `critical` or `major` one as CRITICAL.
pub fn exit_code(report: &Report) -> i32 {
    let s = &report.summary;
    let severe_fail = report.checks.iter().any(|c| c.status == Status::Fail && severity(&c.id) != Severity::Minor);
    if severe_fail {
        2
    } else if s.error > 0 {
        3
    } else if s.warn > 0 || s.fail > 0 {
        1
    } else {
        0
    }
}

fn severity(id: &str) -> Severity {
    crate::checks::find(id).map_or(Severity::Critical, |c| c.severity)
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
        parts.push(crate::checks::findings::plural(s.warn, "warning"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{check, report_of};

    #[test]
    fn a_failing_minor_check_warns_and_a_failing_critical_one_is_critical() {
        let minor = report_of(vec![check("swift.clock", Status::Fail, "Swift's clock is 10 min ahead"), check("kube.connect", Status::Ok, "ok")]);
        assert_eq!(exit_code(&minor), 1, "swift.clock is minor");
        assert!(render(&minor).starts_with("VELDR WARNING - 1 failed"), "{}", render(&minor));
        let critical = report_of(vec![check("swift.clock", Status::Fail, "skew"), check("swift.container", Status::Fail, "missing")]);
        assert_eq!(exit_code(&critical), 2);
        let incomplete = report_of(vec![check("swift.clock", Status::Fail, "skew"), check("swift.tempurl", Status::Error, "timeout")]);
        assert_eq!(exit_code(&incomplete), 3, "a blind spot outranks a minor failure");
    }
}
