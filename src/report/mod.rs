//! Reports: the judged results rendered for people (table), machines (JSON), Prometheus and Nagios,
//! tickets and pull requests (Markdown), CI pipelines (JUnit XML).

pub mod fleet;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod nagios;
pub mod prometheus;
pub mod schema;
pub mod table;
mod wrap;

use crate::facts::Target;
use crate::model::{CheckResult, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub const SCHEMA_VERSION: u32 = 1;

/// The JSON report of CONTRACT.md, schema version 1. Fields are only ever added.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[schemars(extend("const" = 1))]
    pub schema_version: u32,
    pub veldr: String,
    pub started_at: jiff::Timestamp,
    pub duration_ms: u64,
    pub target: Target,
    pub summary: Summary,
    pub checks: Vec<CheckResult>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Summary {
    pub status: Status,
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
}

impl Summary {
    pub fn of(checks: &[CheckResult]) -> Summary {
        let mut s = Summary::default();
        for c in checks {
            match c.status {
                Status::Ok => s.ok += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
                Status::Error => s.error += 1,
            }
        }
        s.status = if s.fail > 0 {
            Status::Fail
        } else if s.error > 0 {
            Status::Error
        } else if s.warn > 0 {
            Status::Warn
        } else {
            Status::Ok
        };
        s
    }
}

/// `--fail-on`: which statuses make the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Only a `fail` exits 1; checks that ended `error` alone exit 3.
    Fail,
    /// A `warn` or an `error` exits 1 too.
    Warn,
    /// An `error` exits 1 too (an incomplete run is a failed one); a `warn` alone exits 0.
    Error,
}

/// No check failed and every check was evaluated.
pub const EXIT_PASSED: i32 = 0;
/// At least one check failed (or, under `--fail-on`, warned or could not be evaluated).
pub const EXIT_FAILED: i32 = 1;
/// No check failed, but at least one ended `error`: the run is incomplete, not healthy.
pub const EXIT_INCOMPLETE: i32 = 3;

impl Summary {
    /// Exit code for table, JSON and Prometheus output (CONTRACT.md, "Exit code 3").
    pub fn exit_code(&self, fail_on: FailOn) -> i32 {
        let failed = self.fail > 0
            || (fail_on == FailOn::Warn && (self.warn > 0 || self.error > 0))
            || (fail_on == FailOn::Error && self.error > 0);
        if failed {
            EXIT_FAILED
        } else if self.error > 0 {
            EXIT_INCOMPLETE
        } else {
            EXIT_PASSED
        }
    }
}

/// The exit code of several runs (a fleet: one summary per cluster): the worst by the same rule,
/// 1 over 3 over 0. No summary at all passes.
pub fn exit_code<'a>(summaries: impl IntoIterator<Item = &'a Summary>, fail_on: FailOn) -> i32 {
    let rank = |code: i32| match code {
        EXIT_FAILED => 2,
        EXIT_INCOMPLETE => 1,
        _ => 0,
    };
    summaries.into_iter().map(|s| s.exit_code(fail_on)).max_by_key(|c| rank(*c)).unwrap_or(EXIT_PASSED)
}

impl Report {
    /// Exit code for table, JSON and Prometheus output (CONTRACT.md).
    pub fn exit_code(&self, fail_on: FailOn) -> i32 {
        self.summary.exit_code(fail_on)
    }

    /// "incomplete: a, b not evaluated (why); c not evaluated (why)" when checks ended `error`, for the
    /// one-line summaries (table, Nagios). None when every check was evaluated.
    pub fn incomplete_line(&self) -> Option<String> {
        incomplete_line(&self.checks)
    }
}

/// How many groups of unevaluated checks a summary line names before "and N more".
const INCOMPLETE_GROUPS_SHOWN: usize = 3;

/// See [`Report::incomplete_line`]. Checks that could not be evaluated for the same reason share it.
pub fn incomplete_line(checks: &[CheckResult]) -> Option<String> {
    let mut groups: Vec<(Cow<'_, str>, Vec<&str>)> = Vec::new();
    for c in checks.iter().filter(|c| c.status == Status::Error) {
        let why = reason(&c.summary);
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, ids)) => ids.push(&c.id),
            None => groups.push((why, vec![&c.id])),
        }
    }
    if groups.is_empty() {
        return None;
    }
    let mut parts: Vec<String> =
        groups.iter().take(INCOMPLETE_GROUPS_SHOWN).map(|(why, ids)| format!("{} not evaluated ({why})", ids.join(", "))).collect();
    let hidden: usize = groups.iter().skip(INCOMPLETE_GROUPS_SHOWN).map(|(_, ids)| ids.len()).sum();
    if hidden > 0 {
        parts.push(format!("and {hidden} more (see below)"));
    }
    Some(format!("incomplete: {}", parts.join("; ")))
}

/// The cause in an error's summary, which several checks may share (one Swift that did not answer
/// leaves three unevaluated). Summaries read "<what was asked>: <why there is no answer>"; the check
/// id already says what was asked. A summary without such a cause is kept whole.
fn reason(summary: &str) -> Cow<'_, str> {
    if let Some(cause) = crate::upstream::plugin_hangs::cause(summary) {
        return Cow::Owned(cause);
    }
    match summary.split_once(": ") {
        Some((_, why)) if why.len() >= 20 => Cow::Borrowed(why),
        _ => Cow::Borrowed(summary),
    }
}

/// Reports built by hand, for the tests of the renderers and of `serve`.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::model::Category;

    pub fn check(id: &str, status: Status, summary: &str) -> CheckResult {
        CheckResult {
            id: id.into(),
            category: Category::Openstack,
            title: String::new(),
            status,
            summary: summary.into(),
            details: vec![],
            hint: None,
            runbook: format!("veldr explain {id}"),
            duration_ms: 0,
            evidence: serde_json::Value::Null,
            metrics: vec![],
            selected: true,
        }
    }

    pub fn report_of(checks: Vec<CheckResult>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            veldr: "0.0.0".into(),
            started_at: jiff::Timestamp::UNIX_EPOCH,
            duration_ms: 5000,
            target: Target { context: Some("prod".into()), server: None, namespace: "velero".into(), namespace_source: None },
            summary: Summary::of(&checks),
            checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{check, report_of};
    use super::*;

    fn summary(fail: usize, warn: usize, error: usize) -> Summary {
        Summary { ok: 1, fail, warn, error, ..Default::default() }
    }

    /// Every combination of fail/warn/error under each --fail-on, against the rule written out.
    #[test]
    fn exit_code_rule() {
        use FailOn::*;
        /// (fail, warn, error) counts → exit under --fail-on fail, warn, error.
        type Row = ((usize, usize, usize), [i32; 3]);
        let table: &[Row] = &[
            ((0, 0, 0), [0, 0, 0]),
            ((0, 1, 0), [0, 1, 0]),
            ((0, 0, 1), [3, 1, 1]),
            ((0, 1, 1), [3, 1, 1]),
            ((1, 0, 0), [1, 1, 1]),
            ((1, 1, 0), [1, 1, 1]),
            ((1, 0, 1), [1, 1, 1]),
            ((1, 1, 1), [1, 1, 1]),
        ];
        for ((f, w, e), want) in table {
            for (fail_on, code) in [Fail, Warn, Error].into_iter().zip(want) {
                assert_eq!(summary(*f, *w, *e).exit_code(fail_on), *code, "fail={f} warn={w} error={e} --fail-on {fail_on:?}");
            }
        }
    }

    #[test]
    fn a_fleet_exits_with_its_worst_cluster() {
        let (ok, warned, incomplete, failed) = (summary(0, 0, 0), summary(0, 1, 0), summary(0, 0, 2), summary(1, 0, 0));
        assert_eq!(exit_code([&ok, &warned], FailOn::Fail), 0);
        assert_eq!(exit_code([&ok, &incomplete, &warned], FailOn::Fail), 3);
        assert_eq!(exit_code([&incomplete, &failed, &ok], FailOn::Fail), 1, "a failure outranks an incomplete run");
        assert_eq!(exit_code([&ok, &warned], FailOn::Warn), 1);
        assert_eq!(exit_code([&ok, &incomplete], FailOn::Error), 1);
        assert_eq!(exit_code([], FailOn::Fail), 0);
    }

    #[test]
    fn the_incomplete_line_groups_checks_by_cause() {
        let late = "Swift did not answer within the run's --timeout (5s)";
        let checks = vec![
            check("keystone.auth", Status::Ok, "a token"),
            check("swift.container", Status::Error, &format!("container velero: {late}")),
            check("swift.tempurl-digest", Status::Error, &format!("Swift /info: {}", late.replace("Swift", "Swift /info"))),
            check("swift.tempurl", Status::Error, &format!("the temp URL probe: {late}")),
            check("velero.deployment", Status::Error, "veldr may not list pods in namespace velero"),
            check("bsl.phase", Status::Fail, "Unavailable"),
        ];
        let line = incomplete_line(&checks).expect("errors make a run incomplete");
        assert_eq!(
            line,
            format!("incomplete: swift.container, swift.tempurl-digest, swift.tempurl not evaluated ({late}); velero.deployment not evaluated (veldr may not list pods in namespace velero)")
        );
        assert!(incomplete_line(&checks[..1]).is_none());
        assert!(incomplete_line(&[]).is_none());
    }

    #[test]
    fn the_incomplete_line_stays_one_line_with_many_causes() {
        let checks: Vec<CheckResult> = (0..6).map(|i| check(&format!("c.{i}"), Status::Error, &format!("reason number {i} for this check"))).collect();
        let line = incomplete_line(&checks).unwrap();
        assert!(!line.contains('\n'));
        assert!(line.starts_with("incomplete: c.0 not evaluated (reason number 0"), "{line}");
        assert!(line.ends_with("; and 3 more (see below)"), "{line}");
        assert!(!line.contains("c.3"), "{line}");
    }

    /// The table's summary line and the Nagios status line both say the run is incomplete, which
    /// checks could not be evaluated, and why, each on one line.
    #[test]
    fn table_and_nagios_say_incomplete_and_name_the_erroring_checks() {
        let late = "Swift did not answer within the run's --timeout (5s)";
        let report = report_of(vec![
            check("keystone.auth", Status::Ok, "a token"),
            check("swift.container", Status::Error, &format!("container velero: {late}")),
            check("swift.tempurl", Status::Error, &format!("the temp URL probe: {late}")),
            check("swift.clock", Status::Warn, "60 s apart"),
        ]);
        let want = format!("incomplete: swift.container, swift.tempurl not evaluated ({late})");

        let table = table::render(&report, false, None);
        let line = table.lines().find(|l| l.starts_with("1 ok, 1 warn, 0 fail, 2 error, 0 skipped")).expect(&table);
        assert_eq!(line, format!("1 ok, 1 warn, 0 fail, 2 error, 0 skipped — {want}"));

        let nagios = nagios::render(&report);
        let first = nagios.lines().next().unwrap();
        let (head, perf) = first.split_once(" | ").expect("perfdata after |");
        assert_eq!(head, format!("VELDR UNKNOWN - {want}, 1 warning"));
        assert!(perf.starts_with("failed=0;;1 errors=2 "), "{perf}");
        assert_eq!(nagios::exit_code(&report), 3);

        // A failure leads the Nagios line (CRITICAL); the incomplete part is kept short.
        let mut checks = report.checks.clone();
        checks.push(check("bsl.phase", Status::Fail, "Unavailable"));
        let report = report_of(checks);
        let first = nagios::render(&report).lines().next().unwrap().to_string();
        assert!(first.starts_with("VELDR CRITICAL - 1 failed, incomplete (2 not evaluated), 1 warning (bsl.phase) | "), "{first}");
        assert!(table::render(&report, false, None).contains(&format!("1 ok, 1 warn, 1 fail, 2 error, 0 skipped — {want}\n")));

        // Every check evaluated: nothing is said about completeness.
        let clean = report_of(vec![check("keystone.auth", Status::Ok, "a token")]);
        assert!(!table::render(&clean, false, None).contains("incomplete"));
        assert!(!nagios::render(&clean).contains("incomplete"));
    }
}
