//! swift.tempurl-digest: Swift's tempurl middleware allows the digest the plugin signs with.

use crate::checks::keystone::problem_verdict;
use crate::checks::swift::per_target;
use crate::checks::{CheckDef, Ctx};
use crate::facts::{ProbeVerdict, ProblemKind, SwiftTarget};
use crate::model::Verdict;

pub const CHECK: CheckDef = crate::check! {
    id: "swift.tempurl-digest", category: Openstack, severity: Major,
    title: "Temp URL digest allowed",
    depends_on: ["keystone.catalog"], needs: [OpenStack],
    timed_by: OpenStack(Info),
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    per_target(ctx, judge_target)
}

fn judge_target(t: &SwiftTarget) -> Verdict {
    let setting = match &t.plugin.digest_setting {
        Some(s) => format!("OS_SWIFT_TEMP_URL_DIGEST={s}"),
        None => "OS_SWIFT_TEMP_URL_DIGEST unset, so SHA-1".into(),
    };
    let Some(d) = t.plugin.digest() else {
        let err = t.plugin.digest.as_ref().err().cloned().unwrap_or_default();
        return Verdict::fail(format!("the plugin cannot sign: {err}")).hint("set OS_SWIFT_TEMP_URL_DIGEST to sha256 or sha512");
    };
    let probe_accepted = matches!(&t.probe, Some(Ok(p)) if matches!(p.verdict, ProbeVerdict::Accepted | ProbeVerdict::AcceptedObjectExists));
    match &t.info {
        None => Verdict::skip("no endpoint to ask"),
        Some(Ok(info)) => match &info.tempurl {
            None => Verdict::fail("Swift's /info has no tempurl section: the tempurl middleware is not in the proxy pipeline")
                .hint("add tempurl to the proxy pipeline before the auth filters (operators: proxy-server.conf); until then `velero backup logs/describe/download` fail"),
            Some(tu) if !tu.allows(d) => Verdict::fail(format!(
                "the plugin signs with {} ({setting}) but Swift allows only {}: every signed URL gets \"401 Temp URL invalid\"",
                d.name(),
                tu.allowed_digests.join(", ")
            ))
            .hint(format!("set OS_SWIFT_TEMP_URL_DIGEST={} in the secret Velero reads, then restart Velero", preferred(&tu.allowed_digests)))
            .evidence("allowed", &tu.allowed_digests)
            .evidence("digest", d.name()),
            Some(tu) if tu.deprecates(d) => Verdict::warn(format!("the plugin signs with {} ({setting}), which Swift deprecates", d.name()))
                .hint("set OS_SWIFT_TEMP_URL_DIGEST=sha256 before the operators remove sha1")
                .evidence("allowed", &tu.allowed_digests)
                .evidence("deprecated", &tu.deprecated_digests),
            Some(tu) => Verdict::ok(format!("{} ({setting}) is allowed by Swift ({})", d.name(), tu.allowed_digests.join(", ")))
                .evidence("allowed", &tu.allowed_digests)
                .evidence("digest", d.name()),
        },
        Some(Err(p)) if p.kind == ProblemKind::InfoDisabled && probe_accepted => {
            Verdict::ok(format!("{} ({setting}) works: Swift hides /info, but accepted a URL signed with it", d.name()))
        }
        Some(Err(p)) if p.kind == ProblemKind::InfoDisabled => Verdict::warn(format!(
            "Swift hides /info (expose_info = false): cannot tell whether {} is allowed; see swift.tempurl for the live answer",
            d.name()
        ))
        .hint("ask the Swift operators which digests tempurl allows, or rely on the swift.tempurl probe"),
        Some(Err(p)) => problem_verdict("Swift /info", p),
    }
}

fn preferred(allowed: &[String]) -> &str {
    if allowed.iter().any(|d| d == "sha256") { "sha256" } else { allowed.first().map(String::as_str).unwrap_or("sha256") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swift::test_target::{facts, target};
    use crate::facts::Problem;
    use crate::model::Status;

    #[test]
    fn an_allowed_digest_passes() {
        let f = facts(vec![target()]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn unset_digest_with_sha1_refused_fails() {
        let mut t = target();
        t.plugin.digest_setting = None;
        t.plugin.digest = Ok("sha1".into());
        let f = facts(vec![t]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("unset, so SHA-1"), "{}", v.summary);
        assert!(v.hint.unwrap().contains("OS_SWIFT_TEMP_URL_DIGEST=sha256"));
    }

    #[test]
    fn hidden_info_is_settled_by_the_probe() {
        let mut t = target();
        t.info = Some(Err(Problem::new(ProblemKind::InfoDisabled, "the Swift proxy hides /info")));
        let f = facts(vec![t.clone()]);
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Ok);
        t.probe = None;
        let f = facts(vec![t]);
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Warn);
    }
}
