//! The fleet envelope of CONTRACT.md ("Additions in 0.2"): with more than one context, `-o json` is
//! `{"schemaVersion": 1, "reports": [<report>, …], "summary": {…}}`. One context keeps the plain
//! report shape, so a script written for one cluster never meets this type by surprise.

use super::{Report, Summary, SCHEMA_VERSION};
use crate::model::Status;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every context's report and a summary over all of them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FleetReport {
    #[schemars(extend("const" = 1))]
    pub schema_version: u32,
    pub veldr: String,
    /// One per context, in the order the contexts were given (`--all-contexts`: kubeconfig order).
    pub reports: Vec<Report>,
    pub summary: FleetSummary,
}

/// The fleet's verdict: check counts summed over every cluster, status the worst of them, and one
/// row per context (the table's fleet summary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FleetSummary {
    #[serde(flatten)]
    pub checks: Summary,
    pub contexts: Vec<ContextSummary>,
}

/// One context's row: its summary, the ids of the checks that failed there, and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextSummary {
    /// The kubeconfig context (null: in-cluster service account).
    pub context: Option<String>,
    #[serde(flatten)]
    pub checks: Summary,
    /// Ids of the checks that ended `fail`, in registry order.
    pub failing: Vec<String>,
    pub duration_ms: u64,
}

impl FleetReport {
    pub fn of(reports: Vec<Report>) -> FleetReport {
        let contexts: Vec<ContextSummary> = reports
            .iter()
            .map(|r| ContextSummary {
                context: r.target.context.clone(),
                checks: r.summary.clone(),
                failing: r.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.id.clone()).collect(),
                duration_ms: r.duration_ms,
            })
            .collect();
        let mut total = Summary::default();
        for c in &contexts {
            total.ok += c.checks.ok;
            total.warn += c.checks.warn;
            total.fail += c.checks.fail;
            total.skip += c.checks.skip;
            total.error += c.checks.error;
        }
        // The same precedence as one report's status (fail, then error, then warn).
        total.status = contexts.iter().map(|c| c.checks.status).max_by_key(|s| summary_rank(*s)).unwrap_or(Status::Ok);
        FleetReport {
            schema_version: SCHEMA_VERSION,
            veldr: env!("CARGO_PKG_VERSION").to_string(),
            reports,
            summary: FleetSummary { checks: total, contexts },
        }
    }
}

/// [`Summary::of`]'s order: a failed check outranks an unevaluated one, which outranks a warning.
fn summary_rank(s: Status) -> u8 {
    match s {
        Status::Ok | Status::Skip => 0,
        Status::Warn => 1,
        Status::Error => 2,
        Status::Fail => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Target;
    use crate::model::{Category, CheckResult};

    fn report(context: &str, statuses: &[(&str, Status)]) -> Report {
        let checks: Vec<CheckResult> = statuses
            .iter()
            .map(|(id, s)| CheckResult {
                id: id.to_string(),
                category: Category::Cluster,
                title: String::new(),
                status: *s,
                summary: String::new(),
                details: vec![],
                hint: None,
                runbook: String::new(),
                duration_ms: 1,
                evidence: serde_json::json!({}),
                metrics: vec![],
                selected: true,
            })
            .collect();
        Report {
            schema_version: SCHEMA_VERSION,
            veldr: "0".into(),
            started_at: jiff::Timestamp::UNIX_EPOCH,
            duration_ms: 7,
            target: Target { context: Some(context.into()), server: None, namespace: "velero".into(), namespace_source: None },
            summary: Summary::of(&checks),
            checks,
        }
    }

    #[test]
    fn sums_clusters_and_names_the_failing_checks() {
        let f = FleetReport::of(vec![
            report("a", &[("kube.connect", Status::Ok), ("bsl.phase", Status::Warn)]),
            report("b", &[("kube.connect", Status::Error), ("bsl.phase", Status::Fail)]),
        ]);
        assert_eq!(f.summary.checks.status, Status::Fail);
        assert_eq!((f.summary.checks.ok, f.summary.checks.warn, f.summary.checks.fail, f.summary.checks.error), (1, 1, 1, 1));
        assert_eq!(f.summary.contexts[0].failing, Vec::<String>::new());
        assert_eq!(f.summary.contexts[1].failing, vec!["bsl.phase".to_string()]);
        assert_eq!(f.summary.contexts[1].context.as_deref(), Some("b"));
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["summary"]["fail"], 1, "Summary's counts are flattened into the fleet summary: {v}");
        assert_eq!(v["summary"]["contexts"][1]["durationMs"], 7);
    }

    #[test]
    fn an_error_outranks_a_warning_but_not_a_failure() {
        let f = FleetReport::of(vec![report("a", &[("x", Status::Warn)]), report("b", &[("x", Status::Error)])]);
        assert_eq!(f.summary.checks.status, Status::Error);
    }
}
