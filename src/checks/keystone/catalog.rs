//! keystone.catalog: the token's catalog has the object-store endpoint the plugin will pick for
//! each OpenStack BSL (by region, public interface, then the overrides).

use super::problem_verdict;
use crate::checks::swift::per_target;
use crate::checks::{CheckDef, Ctx};
use crate::model::Verdict;

pub const CHECK: CheckDef = crate::check! {
    id: "keystone.catalog", category: Openstack, severity: Critical,
    title: "Object store endpoint in the catalog",
    depends_on: ["keystone.auth"], needs: [OpenStack],
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    per_target(ctx, |t| match &t.endpoint {
        None => Verdict::skip("no token, no catalog"),
        Some(Ok(url)) => {
            let via = if t.plugin.endpoint_override.is_some() {
                "OS_SWIFT_ENDPOINT_OVERRIDE".to_string()
            } else {
                format!("region {} from {}", if t.plugin.region.is_empty() { "(any)" } else { &t.plugin.region }, t.plugin.region_source)
            };
            Verdict::ok(format!("object-store endpoint {url} ({via})")).evidence("endpoint", url).evidence("region", &t.plugin.region)
        }
        Some(Err(p)) => problem_verdict("the plugin will find no Swift endpoint", p)
            .hint("set OS_REGION_NAME (or OS_SWIFT_REGION_NAME) in the secret Velero reads to a region listed above, then restart Velero"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swift::test_target::{facts, target};
    use crate::facts::{Problem, ProblemKind};
    use crate::model::Status;

    #[test]
    fn the_endpoint_and_where_its_region_came_from() {
        let mut t = target();
        t.plugin.region = "RegionOne".into();
        t.plugin.region_source = "OS_REGION_NAME".into();
        let f = facts(vec![t]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.summary, "object-store endpoint http://swift/v1/AUTH_p/ (region RegionOne from OS_REGION_NAME)");
    }

    #[test]
    fn no_endpoint_in_the_region_fails_with_the_fix() {
        let mut t = target();
        t.endpoint = Some(Err(Problem::new(ProblemKind::NoRegion, "no object-store endpoint for region \"RegionX\" (public)")));
        let f = facts(vec![t]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("OS_REGION_NAME")), "{:?}", v.hint);
        assert_eq!(v.evidence["bsls"][0]["evidence"]["problem"]["kind"], "no-region");
    }
}
