//! swift.clock: this machine's clock agrees with Swift's (temp URLs live 600 s).

use crate::checks::keystone::openstack;
use crate::checks::swift::per_target;
use crate::checks::{CheckDef, Ctx};
use crate::facts::SwiftTarget;
use crate::model::{MetricDef, Verdict};

pub const CHECK: CheckDef = crate::check! {
    id: "swift.clock", category: Openstack, severity: Minor,
    title: "Clock agrees with Swift",
    depends_on: ["keystone.catalog"], needs: [OpenStack],
    metrics: [CLOCK_SKEW],
    judge: judge,
};

/// The skew of largest magnitude over the BSLs whose probe Swift answered with a `Date`.
pub const CLOCK_SKEW: MetricDef = MetricDef {
    name: "veldr_swift_clock_skew_seconds",
    help: "Swift's clock minus this machine's.",
};

/// Clock skew thresholds (seconds): the plugin's temp URLs live 600 s.
const SKEW_WARN: i64 = 60;
const SKEW_FAIL: i64 = 300;

/// Swift's clock minus this machine's, from the probe's answer, or why it cannot be told.
/// Without a probe answer, a HEAD's `Date` against the collection time is too coarse to judge.
fn skew(t: &SwiftTarget) -> Result<i64, &'static str> {
    let Some(Ok(p)) = &t.probe else { return Err("no temp URL probe answer to time") };
    let Some(swift) = p.swift_date else { return Err("Swift sent no Date header") };
    Ok(swift.as_second() - p.local_date.as_second())
}

fn judge(ctx: &Ctx) -> Verdict {
    let v = per_target(ctx, judge_target);
    let targets = openstack(ctx).map(|os| os.targets.as_slice()).unwrap_or_default();
    match targets.iter().filter_map(|t| skew(t).ok()).max_by_key(|s| s.abs()) {
        Some(largest) => v.metric(&CLOCK_SKEW, largest as f64),
        None => v,
    }
}

fn judge_target(t: &SwiftTarget) -> Verdict {
    let skew = match skew(t) {
        Ok(s) => s,
        Err(why) => return Verdict::skip(why),
    };
    let v = if skew.abs() >= SKEW_FAIL {
        Verdict::fail(format!("this machine's clock and Swift's differ by {skew} s: temp URLs (600 s) may be born expired or live too long"))
            .hint("sync the clocks with NTP (chrony); the Velero node's clock matters the same way")
    } else if skew.abs() >= SKEW_WARN {
        Verdict::warn(format!("this machine's clock and Swift's differ by {skew} s")).hint("sync the clocks with NTP (chrony)")
    } else {
        Verdict::ok(format!("clock skew against Swift: {skew} s"))
    };
    v.evidence("skewSeconds", skew)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swift::test_target::{facts, target};
    use crate::model::{Measure, Status};

    fn at(swift_date: Option<&str>) -> SwiftTarget {
        let mut t = target();
        if let Some(Ok(p)) = &mut t.probe {
            p.swift_date = swift_date.map(|d| d.parse().unwrap());
        }
        t
    }

    #[test]
    fn skew_is_judged_and_exported() {
        // The probe's local time is 08:00:00.
        let f = facts(vec![at(Some("2026-11-29T08:00:10Z"))]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.metrics, [Measure { name: "veldr_swift_clock_skew_seconds", value: 10.0, labels: vec![] }]);
        let f = facts(vec![at(Some("2026-11-29T08:10:00Z"))]);
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Fail);
    }

    #[test]
    fn the_metric_is_the_skew_of_largest_magnitude() {
        let f = facts(vec![at(Some("2026-11-29T08:01:30Z")), at(Some("2026-11-29T07:58:00Z")), at(None)]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.metrics, [Measure { name: CLOCK_SKEW.name, value: -120.0, labels: vec![] }]);
        assert_eq!(v.evidence["bsls"][1]["evidence"]["skewSeconds"], -120);
        let f = facts(vec![at(None)]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Skip);
        assert!(v.metrics.is_empty());
    }
}
