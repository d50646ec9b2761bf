//! swift.tempurl: Swift accepts a URL signed exactly as the plugin signs (the live probe).

use crate::checks::keystone::problem_verdict;
use crate::checks::swift::{keys_visible, per_target, swift_keys};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{ProbeVerdict, SigningKey, SwiftTarget};
use crate::model::Verdict;

pub const CHECK: CheckDef = crate::check! {
    id: "swift.tempurl", category: Openstack, severity: Major,
    title: "Signed URL accepted by Swift",
    depends_on: ["keystone.catalog"], needs: [OpenStack],
    explains: [
        ["temp url invalid"] => "Swift refused a temp URL the plugin signed: its key or digest does not match Swift's",
    ],
    timed_by: OpenStack(Probe),
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    per_target(ctx, judge_target)
}

fn judge_target(t: &SwiftTarget) -> Verdict {
    let url = t.probe_url.clone().unwrap_or_default();
    match &t.probe {
        None => match &t.signing_key {
            None => Verdict::skip("no endpoint to probe"),
            Some(SigningKey::None) => Verdict::fail("the plugin cannot sign at all: \"Unable to obtain the Temp URL key\"").hint("see swift.tempurl-key"),
            Some(_) => Verdict::fail(format!("the plugin cannot sign: {}", t.plugin.digest.as_ref().err().cloned().unwrap_or_default())),
        },
        Some(Err(p)) => problem_verdict("the temp URL probe", p),
        Some(Ok(p)) => {
            let v = match &p.verdict {
                ProbeVerdict::Accepted | ProbeVerdict::AcceptedObjectExists => Verdict::ok(format!(
                    "Swift accepted a URL signed as the plugin signs ({}, HTTP {})",
                    t.plugin.digest().map(|d| d.name()).unwrap_or("?"),
                    p.status
                )),
                ProbeVerdict::Rejected => Verdict::fail(format!("Swift answered \"401 Unauthorized: Temp URL invalid\": {}", rejection_cause(t)))
                    .hint("fix the key or digest named above; `velero backup logs`, `describe --details` and `download` fail until then (backups themselves still upload)"),
                ProbeVerdict::NotJudgedByTempurl => Verdict::fail(format!(
                    "Swift answered HTTP {} without \"Temp URL invalid\": the tempurl middleware did not judge the request",
                    p.status
                ))
                .hint("Swift operators: put tempurl before authtoken/keystoneauth in the proxy pipeline and set delay_auth_decision = true in authtoken"),
                ProbeVerdict::Unexpected { status } => Verdict::warn(format!("Swift answered HTTP {status} to the temp URL probe")),
            };
            v.evidence("probeUrl", &url).evidence("status", p.status).evidence("signedWith", t.signing_key.as_ref().map(|k| k.source()))
        }
    }
}

/// Why a rejected probe was rejected, from the other facts.
fn rejection_cause(t: &SwiftTarget) -> String {
    let digest = t.plugin.digest().map(|d| d.name()).unwrap_or("?");
    if let Some(Ok(info)) = &t.info {
        if let Some(tu) = &info.tempurl {
            if !tu.allowed_digests.iter().any(|d| d == digest) {
                return format!("the digest {digest} is not allowed by Swift (allowed: {})", tu.allowed_digests.join(", "));
            }
        }
    }
    if let Some(SigningKey::Env(k)) = &t.signing_key {
        if keys_visible(t) && !swift_keys(t).iter().any(|(_, s)| s.fingerprint() == k.fingerprint()) {
            return "OS_SWIFT_TEMP_URL_KEY does not match the container's or account's key".into();
        }
    }
    "the key or the digest does not match what Swift holds (see swift.tempurl-key and swift.tempurl-digest)".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swift::test_target::{facts, target};
    use crate::model::Status;
    use crate::secret::Secret;

    #[test]
    fn an_accepted_probe_passes() {
        let f = facts(vec![target()]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.summary, "Swift accepted a URL signed as the plugin signs (sha256, HTTP 404)");
    }

    #[test]
    fn rejected_probe_names_the_cause() {
        let mut t = target();
        if let Some(Ok(p)) = &mut t.probe {
            p.verdict = ProbeVerdict::Rejected;
            p.status = 401;
        }
        t.signing_key = Some(SigningKey::Env(Secret::new("wrong")));
        let f = facts(vec![t]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("does not match"), "{}", v.summary);
    }

    #[test]
    fn no_key_means_no_probe_and_a_failure() {
        let mut t = target();
        t.signing_key = Some(SigningKey::None);
        t.probe = None;
        let f = facts(vec![t]);
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Fail);
    }
}
