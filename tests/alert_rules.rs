//! The README's example alert rules are a valid Prometheus rule file over what veldr exports: every
//! expression parses as PromQL, every metric it selects is a series veldr writes (the fixed ones and
//! the checks' declared gauges), every label it matches on is one that series carries, and every
//! `check="…"` and `veldr explain ID` names a registered check.
//!
//! The PromQL parser is `alert_rules/promql.rs`, for the subset alert rules use (selectors, numbers,
//! strings, binary operators with `bool`/`on`/`ignoring`/`group_*`, functions and aggregations with
//! `by`/`without`, ranges, `offset`): the `promql-parser` crate pulls in a parser generator whose
//! build takes minutes and changes the features of half the dependency tree for every test build.

#[path = "alert_rules/promql.rs"]
mod promql;

use promql::Selector;
use serde_json::Value;
use std::collections::BTreeSet;

/// The ```yaml block of the README that holds the rule groups.
fn rules_block() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut blocks = readme.split("```yaml\n").skip(1).map(|b| b.split("\n```").next().unwrap_or_default());
    blocks.find(|b| b.starts_with("groups:")).expect("a ```yaml block starting with `groups:` in README.md").to_string()
}

fn rules() -> Vec<Value> {
    let doc: Value = serde_saphyr::from_str(&rules_block()).expect("the rules block is YAML");
    let groups = doc["groups"].as_array().expect("groups: [..]");
    assert!(!groups.is_empty());
    groups
        .iter()
        .flat_map(|g| {
            assert!(g["name"].is_string(), "a group has a name: {g}");
            g["rules"].as_array().expect("a group has rules").clone()
        })
        .collect()
}

/// The labels each series carries (`context` is added to all of them in a fleet's exposition).
/// A metric not listed here has none: a new labelled gauge that alerts match on is added here.
fn labels_of(metric: &str) -> BTreeSet<&'static str> {
    let own: &[&str] = match metric {
        "veldr_check_status" => &["check", "category", "severity"],
        "veldr_check_duration_seconds" => &["check"],
        "veldr_checks" => &["status"],
        "veldr_build_info" => &["version"],
        "veldr_schedule_newest_completed_backup_age_seconds" => &["schedule"],
        _ => &[],
    };
    own.iter().copied().chain(["__name__", "context"]).collect()
}

/// A Prometheus duration as rule files write it (`15m`, `1h30m`).
fn is_duration(s: &str) -> bool {
    let mut rest = s;
    let mut any = false;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"].into_iter().find(|u| rest.starts_with(u));
        let Some(unit) = unit else { return false };
        rest = &rest[unit.len()..];
        any = true;
    }
    any
}

#[test]
fn the_readme_alert_rules_parse_and_name_only_what_veldr_exports() {
    let exported = veldr::report::prometheus::metric_names();
    let checks: BTreeSet<&str> = veldr::checks::REGISTRY.iter().map(|c| c.id).collect();
    let rules = rules();
    let mut alerts = BTreeSet::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for rule in &rules {
        let alert = rule["alert"].as_str().unwrap_or_else(|| panic!("a rule without `alert`: {rule}"));
        assert!(alerts.insert(alert.to_string()), "alert {alert} defined twice");
        let expr = rule["expr"].as_str().unwrap_or_else(|| panic!("{alert}: no expr"));
        let found: Vec<Selector> = promql::selectors(expr).unwrap_or_else(|e| panic!("{alert}: {expr:?} is not PromQL: {e}"));
        assert!(!found.is_empty(), "{alert}: {expr:?} selects no series");
        for sel in found {
            let name = sel.name.clone().unwrap_or_else(|| panic!("{alert}: a selector without a metric name"));
            assert!(exported.contains(&name.as_str()), "{alert}: {name} is not a metric veldr exports ({exported:?})");
            used.insert(name.clone());
            for m in &sel.matchers {
                assert!(labels_of(&name).contains(m.name.as_str()), "{alert}: {name} has no label {:?}", m.name);
                if m.name == "check" && !m.value.contains(['*', '+', '|', '(']) {
                    assert!(checks.contains(m.value.as_str()), "{alert}: check={:?} is not a registered check", m.value);
                }
                if m.name == "status" {
                    assert!(["ok", "warn", "fail", "error", "skip"].contains(&m.value.as_str()), "{alert}: status={:?}", m.value);
                }
                if m.name == "severity" {
                    assert!(["critical", "major", "minor"].contains(&m.value.as_str()), "{alert}: severity={:?}", m.value);
                }
            }
        }
        if let Some(f) = rule.get("for") {
            assert!(f.as_str().is_some_and(is_duration), "{alert}: for: {f} is not a duration");
        }
        let runbook = rule["annotations"]["runbook"].as_str().unwrap_or_default();
        if let Some(id) = runbook.strip_prefix("veldr explain ") {
            assert!(id.contains("{{") || checks.contains(id), "{alert}: runbook names {id:?}, not a check");
        }
        assert!(rule["annotations"]["summary"].as_str().is_some_and(|s| !s.is_empty()), "{alert}: no summary");
    }
    // What the README promises to alert on.
    for needed in [
        "veldr_up",
        "veldr_checks",
        "veldr_check_status",
        "veldr_backups_failed_24h",
        "veldr_backups_partially_failed_24h",
        "veldr_restores_failed_24h",
        "veldr_schedule_newest_completed_backup_age_seconds",
    ] {
        assert!(used.contains(needed), "no alert rule uses {needed}");
    }
}

#[test]
fn the_lint_catches_what_it_is_for() {
    let found = promql::selectors("sum by (check) (rate(veldr_nope_total{check=\"x\", a!~\"b.*\"}[5m] offset 1h)) > bool 2 * 3").unwrap();
    assert_eq!(found.iter().map(|s| s.name.clone().unwrap()).collect::<Vec<_>>(), ["veldr_nope_total"]);
    assert_eq!(found[0].matchers.iter().map(|m| (m.name.as_str(), m.op.as_str(), m.value.as_str())).collect::<Vec<_>>(), [("check", "=", "x"), ("a", "!~", "b.*")]);
    assert!(!veldr::report::prometheus::metric_names().contains(&"veldr_nope_total"));
    let ok = ["time() - veldr_last_run_timestamp_seconds > 3 * 3600", "-veldr_up", "(veldr_up == 0) and on(context) veldr_checks{status=\"fail\"} > 0",
        "max without (check) (veldr_check_status) >= 2", "absent(veldr_up)", "veldr_checks{status='ok'} < 1e3", "count(veldr_up) by (context) unless veldr_up"];
    for e in ok {
        assert!(promql::selectors(e).is_ok(), "{e}: {:?}", promql::selectors(e));
    }
    let broken = ["veldr_up ==", "veldr_up{status=\"x\"", "rate(veldr_up[5])", "nosuchfunction(veldr_up)", "veldr_up > > 1", "(veldr_up", "veldr_up{status~\"x\"}",
        "veldr_up 1", "sum(veldr_up) by", "veldr_up == 0 and", "{{ $value }}"];
    for e in broken {
        assert!(promql::selectors(e).is_err(), "{e} must be refused");
    }
    assert!(!labels_of("veldr_up").contains("schedule"));
    assert!(is_duration("15m") && is_duration("1h30m") && !is_duration("15") && !is_duration("m") && !is_duration("15 m"));
}
