//! The vocabulary shared by checks and reports: statuses, categories, and one check's result.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a check ended. The names are part of the public contract. The order (`Ord`) is badness, the
/// order in which findings are combined and reports sorted: ok < skip < warn < error < fail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    Warn,
    Fail,
    Skip,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

impl Ord for Status {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        rank(*self).cmp(&rank(*other))
    }
}

impl PartialOrd for Status {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The group a check belongs to; `--only`/`--skip` accept these names too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Cluster,
    Velero,
    Credentials,
    Storage,
    Snapshots,
    NodeAgent,
    Openstack,
    Backups,
    // restore-check: what a restore into this cluster would trip on.
    Restore,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::Cluster,
        Category::Velero,
        Category::Credentials,
        Category::Storage,
        Category::Snapshots,
        Category::NodeAgent,
        Category::Openstack,
        Category::Backups,
        Category::Restore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Cluster => "cluster",
            Category::Velero => "velero",
            Category::Credentials => "credentials",
            Category::Storage => "storage",
            Category::Snapshots => "snapshots",
            Category::NodeAgent => "node-agent",
            Category::Openstack => "openstack",
            Category::Backups => "backups",
            Category::Restore => "restore",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a failure of this check is for disaster recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Backups or restores do not work while this fails.
    Critical,
    /// Part of Velero degrades (logs, snapshots of some volumes, freshness).
    Major,
    /// Hygiene: works today, will bite later.
    Minor,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
        }
    }
}

/// A gauge a check exports to Prometheus, declared beside the check (its `CheckDef::metrics`).
/// Names follow Prometheus conventions: `veldr_` prefix, base units. Labels are set per value
/// ([`Measure::labels`]) and only where their values are few and public (a Schedule's name, never
/// a backup's, never a secret): series stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    pub name: &'static str,
    pub help: &'static str,
}

/// One value of a declared metric, set by the judge; one series per distinct label set.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub name: &'static str,
    pub value: f64,
    /// `(label, value)` pairs, in the order they are rendered; empty for an unlabelled gauge.
    pub labels: Vec<(&'static str, String)>,
}

/// What a judge function says about the facts. The engine adds id, title, timing and runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    pub hint: Option<String>,
    pub evidence: serde_json::Value,
    /// Values of the metrics the check declares; not part of the JSON report.
    #[serde(skip)]
    pub metrics: Vec<Measure>,
    /// The judge's conclusion holds whatever the objects that did not decode hold (the engine's
    /// malformed policy then names them without turning `ok` into `warn`). Not part of the report.
    #[serde(skip)]
    pub certain: bool,
}

impl Verdict {
    /// Marks the conclusion as one no unreadable object can change (see [`Verdict::certain`]).
    pub fn certain(mut self) -> Self {
        self.certain = true;
        self
    }

    pub fn new(status: Status, summary: impl Into<String>) -> Self {
        Verdict {
            status,
            summary: summary.into(),
            details: Vec::new(),
            hint: None,
            evidence: serde_json::Value::Object(Default::default()),
            metrics: Vec::new(),
            certain: false,
        }
    }
    /// Sets a metric the check declares (a name it does not declare is a bug, caught by tests).
    pub fn metric(mut self, def: &MetricDef, value: f64) -> Self {
        self.metrics.push(Measure { name: def.name, value, labels: Vec::new() });
        self
    }
    /// Sets one labelled series of a declared metric (e.g. `schedule="daily"`).
    pub fn labelled_metric(mut self, def: &MetricDef, labels: &[(&'static str, &str)], value: f64) -> Self {
        let labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.metrics.push(Measure { name: def.name, value, labels });
        self
    }
    pub fn ok(summary: impl Into<String>) -> Self {
        Self::new(Status::Ok, summary)
    }
    pub fn warn(summary: impl Into<String>) -> Self {
        Self::new(Status::Warn, summary)
    }
    pub fn fail(summary: impl Into<String>) -> Self {
        Self::new(Status::Fail, summary)
    }
    pub fn skip(summary: impl Into<String>) -> Self {
        Self::new(Status::Skip, summary)
    }
    pub fn error(summary: impl Into<String>) -> Self {
        Self::new(Status::Error, summary)
    }
    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }
    pub fn details(mut self, lines: impl IntoIterator<Item = String>) -> Self {
        self.details.extend(lines);
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Adds one evidence field (a JSON object is kept).
    pub fn evidence(mut self, key: &str, value: impl Serialize) -> Self {
        if let serde_json::Value::Object(map) = &mut self.evidence {
            map.insert(key.to_string(), serde_json::to_value(value).unwrap_or(serde_json::Value::Null));
        }
        self
    }
    /// The worse of two statuses wins, for checks that look at many objects.
    pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Status {
        statuses.into_iter().max_by_key(|s| rank(*s)).unwrap_or(Status::Ok)
    }
}

/// Order of badness used to combine sub-results: ok < skip < warn < error < fail.
pub fn rank(s: Status) -> u8 {
    match s {
        Status::Ok => 0,
        Status::Skip => 1,
        Status::Warn => 2,
        Status::Error => 3,
        Status::Fail => 4,
    }
}

/// One check's row in a report: the JSON `checks[]` element of the contract.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub id: String,
    pub category: Category,
    pub title: String,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    /// Always present (null when there is nothing to do), so `jq .hint` never meets a missing key.
    pub hint: Option<String>,
    pub runbook: String,
    pub duration_ms: u64,
    pub evidence: serde_json::Value,
    /// The check's metric values, for Prometheus; not part of the JSON report.
    #[serde(skip)]
    pub metrics: Vec<Measure>,
    /// Whether the check was selected (`--only`/`--skip`); an unselected one is a `skip`.
    #[serde(skip, default = "yes")]
    pub selected: bool,
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_order_by_badness() {
        let mut all = vec![Status::Fail, Status::Ok, Status::Error, Status::Warn, Status::Skip];
        all.sort();
        assert_eq!(all, [Status::Ok, Status::Skip, Status::Warn, Status::Error, Status::Fail]);
        assert_eq!([Status::Warn, Status::Fail, Status::Skip].into_iter().max(), Some(Status::Fail));
        assert!(Status::Error > Status::Warn, "an incomplete run is worse than a warning");
        for s in [Status::Ok, Status::Skip, Status::Warn, Status::Error, Status::Fail] {
            assert_eq!(s.cmp(&s), std::cmp::Ordering::Equal);
        }
    }
}
