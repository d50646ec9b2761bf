//! `-o junit`: JUnit XML, so a CI pipeline that runs `veldr doctor` as a gate shows each check as a test:
//! one `<testsuite>` per category, one `<testcase>` per check; `fail` → `<failure>`, `error` → `<error>`,
//! `skip` → `<skipped>`, `warn` → a note in `<system-out>` (and a `<failure>` under `--fail-on warn`).
//! The shape is the Jenkins JUnit schema's (tests/fixtures/junit/jenkins-junit.xsd), which Jenkins,
//! GitLab and the GitHub test-report actions read.

use super::{FailOn, Report};
use crate::model::{CheckResult, Status};
use std::fmt::Write;

/// One report: its suites are named by category.
pub fn render(report: &Report, fail_on: FailOn) -> String {
    render_contexts(&[(report.target.context.as_deref().unwrap_or("-"), report)], fail_on)
}

/// Several clusters (a fleet) in one `<testsuites>`; with more than one, each suite's name is prefixed
/// with its context (`prod/storage`), so the same category of two clusters stays apart.
pub fn render_contexts(reports: &[(&str, &Report)], fail_on: FailOn) -> String {
    let failed = |c: &CheckResult| c.status == Status::Fail || (fail_on == FailOn::Warn && c.status == Status::Warn);
    let all = || reports.iter().flat_map(|(_, r)| &r.checks);
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"veldr\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">",
        all().count(),
        all().filter(|c| failed(c)).count(),
        all().filter(|c| c.status == Status::Error).count(),
        seconds(reports.iter().map(|(_, r)| r.duration_ms).sum())
    );
    let mut id = 0;
    for (context, report) in reports {
        // In order of first appearance: checks added later to the registry may come back to a category.
        let mut categories = Vec::new();
        for c in &report.checks {
            if !categories.contains(&c.category) {
                categories.push(c.category);
            }
        }
        for category in categories {
            let checks: Vec<&CheckResult> = report.checks.iter().filter(|c| c.category == category).collect();
            let name = if reports.len() > 1 { format!("{context}/{category}") } else { category.to_string() };
            let _ = writeln!(
                o,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\" id=\"{id}\">",
                attr(&name),
                checks.len(),
                checks.iter().filter(|c| failed(c)).count(),
                checks.iter().filter(|c| c.status == Status::Error).count(),
                checks.iter().filter(|c| c.status == Status::Skip).count(),
                seconds(checks.iter().map(|c| c.duration_ms).sum()),
                report.started_at.strftime("%Y-%m-%dT%H:%M:%S")
            );
            id += 1;
            let t = &report.target;
            let _ = writeln!(o, "    <properties>");
            for (k, v) in [("veldr", report.veldr.as_str()), ("context", context), ("namespace", t.namespace.as_str()), ("server", t.server.as_deref().unwrap_or("-"))] {
                let _ = writeln!(o, "      <property name=\"{k}\" value=\"{}\"/>", attr(v));
            }
            let _ = writeln!(o, "    </properties>");
            for c in checks {
                testcase(&mut o, &name, c, failed(c));
            }
            let _ = writeln!(o, "  </testsuite>");
        }
    }
    o.push_str("</testsuites>\n");
    o
}

/// One check. The schema orders a testcase's children: skipped, error, failure, system-out.
fn testcase(o: &mut String, suite: &str, c: &CheckResult, failed: bool) {
    let _ = writeln!(o, "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">", attr(&c.id), attr(suite), seconds(c.duration_ms));
    let mut body: Vec<String> = c.details.clone();
    if let Some(h) = &c.hint {
        body.push(format!("fix: {h}"));
    }
    body.push(format!("runbook: {}", c.runbook));
    let body = text(&body.join("\n"));
    let message = attr(&c.summary);
    match c.status {
        Status::Skip => {
            let _ = writeln!(o, "      <skipped message=\"{message}\"/>");
        }
        Status::Error => {
            let _ = writeln!(o, "      <error message=\"{message}\" type=\"error\">{body}</error>");
        }
        _ if failed => {
            let _ = writeln!(o, "      <failure message=\"{message}\" type=\"{}\">{body}</failure>", c.status);
        }
        _ => {}
    }
    // What the check saw, for every check: a passing gate still says what it verified, and a warn
    // that does not fail the gate is read here.
    let note = if c.status == Status::Warn && !failed { format!("warn: {}\n{body}", text(&c.summary)) } else { format!("{}: {}", c.status, text(&c.summary)) };
    let _ = writeln!(o, "      <system-out>{note}</system-out>");
    let _ = writeln!(o, "    </testcase>");
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Character data: markup escaped, and characters XML 1.0 cannot carry at all (most control
/// characters) replaced, so a stray byte in a Kubernetes message never makes the file unreadable.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An attribute value: as [`text`], plus quotes, and line breaks as references (a parser would
/// otherwise normalise them to spaces).
fn attr(s: &str) -> String {
    text(s).replace('"', "&quot;").replace('\n', "&#10;").replace('\r', "&#13;").replace('\t', "&#9;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_well_formed() {
        assert_eq!(text("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
        assert_eq!(attr("say \"hi\"\nbye"), "say &quot;hi&quot;&#10;bye");
        assert_eq!(text("bell\u{7}"), "bell\u{FFFD}");
        assert_eq!(seconds(1234), "1.234");
        assert_eq!(seconds(7), "0.007");
    }
}
