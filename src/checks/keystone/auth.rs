//! keystone.auth: Keystone issues a token for the credentials Velero's plugin uses, and the
//! application credential is not about to expire.

use super::{openstack, problem_verdict};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{AuthFacts, ProblemKind};
use crate::model::{MetricDef, Verdict};
use crate::rules::duration::human_age;

pub const CHECK: CheckDef = crate::check! {
    id: "keystone.auth", category: Openstack, severity: Critical,
    title: "Keystone accepts Velero's credentials",
    depends_on: ["credentials.env"], needs: [OpenStack],
    metrics: [CREDENTIAL_EXPIRY],
    explains: [
        ["auth/tokens", "401"] => "Keystone refused Velero's credentials (401)",
        ["requires authentication"] => "Keystone refused Velero's credentials (401)",
    ],
    timed_by: OpenStack(Token),
    judge: judge,
};

/// Set when the application credential has an expiry (the README's alert rule reads it).
pub const CREDENTIAL_EXPIRY: MetricDef = MetricDef {
    name: "veldr_credential_expiry_seconds",
    help: "Seconds until the application credential expires.",
};

/// Days of remaining credential life under which keystone.auth warns.
const EXPIRY_WARN_DAYS: i64 = 14;

fn auth_facts<'a>(ctx: &Ctx<'a>) -> Result<&'a AuthFacts, String> {
    openstack(ctx)?.auth.as_ref().ok_or_else(|| "no Keystone request was made".to_string())
}

fn judge(ctx: &Ctx) -> Verdict {
    let a = match auth_facts(ctx) {
        Ok(a) => a,
        Err(why) => return Verdict::skip(why),
    };
    let host = crate::openstack::keystone::auth_host(&a.auth_url);
    let token = match &a.token {
        Ok(t) => t,
        Err(p) => {
            let hint = match p.kind {
                ProblemKind::Unauthorized => "create a new application credential (`openstack application credential create velero`), put its id and secret in the secret Velero reads, then `kubectl -n velero rollout restart deployment/velero`",
                ProblemKind::NotFound => "the application credential (or its user/project) was deleted: create a new one and update the secret Velero reads",
                ProblemKind::Unreachable | ProblemKind::Tls => "check OS_AUTH_URL and that Keystone is reachable from the cluster (this run reached it from where veldr runs); for TLS, the plugin only knows TLS_SKIP_VERIFY",
                ProblemKind::Timeout => "Keystone did not answer in time: check it is up, or raise --timeout",
                _ => "check OS_AUTH_URL and the Keystone service",
            };
            // "refused" only when Keystone judged the credential; otherwise no token was had.
            let lead = match p.kind {
                ProblemKind::Unauthorized | ProblemKind::NotFound => format!("Keystone at {host} refused {}", a.method),
                _ => format!("no token from Keystone at {host} for {}", a.method),
            };
            // The plugin skips certificate checks (TLS_SKIP_VERIFY=true): Velero is not stopped by
            // this certificate, only veldr, which verifies by default. veldr could not evaluate.
            let plugin_skips_tls = openstack(ctx).is_ok_and(|os| os.targets.iter().any(|t| t.plugin.tls_skip_verify));
            if p.kind == ProblemKind::Tls && plugin_skips_tls {
                return Verdict::error(format!("{lead}: {}", p.message))
                    .detail("the velero container sets TLS_SKIP_VERIFY=true: the plugin does not verify this certificate, so Velero is not stopped by it; veldr verifies by default")
                    .hint("to check the rest from here, set OS_CACERT to the CA bundle that signed Keystone's certificate, or run with --insecure")
                    .evidence("problem", p);
            }
            return problem_verdict(&lead, p).hint(hint);
        }
    };
    let mut v = Verdict::ok(format!(
        "Keystone at {host} issued a token for {} (project {})",
        a.method,
        token.project.as_ref().map(|p| p.name.as_str()).unwrap_or("-")
    ));
    match &a.credential_expires_at {
        Some(Ok(Some(exp))) => {
            let left = exp.as_second() - ctx.now.as_second();
            if left < EXPIRY_WARN_DAYS * 86400 {
                v = Verdict::warn(format!("the application credential expires in {} ({exp})", human_age(left)))
                    .hint("create a new application credential before then and update the secret Velero reads; backups stop the moment it expires");
            } else {
                v = v.detail(format!("the application credential expires at {exp}"));
            }
            v = v.evidence("credentialExpiresAt", exp).evidence("credentialExpiresInSeconds", left).metric(&CREDENTIAL_EXPIRY, left as f64);
        }
        Some(Ok(None)) => v = v.detail("the application credential does not expire"),
        Some(Err(p)) => v = v.detail(format!("its expiry could not be read: {}", p.message)),
        None => {}
    }
    v.evidence("method", &a.method)
        .evidence("roles", &token.roles)
        .evidence("tokenExpiresAt", token.expires_at)
        .evidence("applicationCredential", &token.application_credential)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swift::test_target::{facts, target};
    use crate::facts::{Facts, KeystoneToken, Problem, UserInfo};
    use crate::model::Status;
    use crate::secret::Secret;

    fn auth_failed(kind: ProblemKind, message: &str, tls_skip_verify: bool) -> Facts {
        let mut t = target();
        t.plugin.tls_skip_verify = tls_skip_verify;
        let mut f = facts(vec![t]);
        f.openstack.as_mut().unwrap().auth = Some(AuthFacts {
            auth_url: "https://keystone.example:5000/v3".into(),
            method: "application credential id abc".into(),
            token: Err(Problem::new(kind, message)),
            credential_expires_at: None,
            elapsed_ms: 1,
        });
        f
    }

    fn auth_ok(expires_at: Option<&str>) -> Facts {
        let mut f = facts(vec![target()]);
        f.openstack.as_mut().unwrap().auth = Some(AuthFacts {
            auth_url: "https://keystone.example:5000/v3".into(),
            method: "application credential id abc".into(),
            token: Ok(KeystoneToken {
                value: Secret::new("t"),
                expires_at: "2026-11-29T09:00:00Z".parse().unwrap(),
                issued_at: None,
                methods: vec!["application_credential".into()],
                roles: vec!["member".into()],
                project: None,
                user: UserInfo { id: "u".into(), name: "velero".into(), domain: None },
                catalog: vec![],
                application_credential: None,
            }),
            credential_expires_at: Some(Ok(expires_at.map(|e| e.parse().unwrap()))),
            elapsed_ms: 1,
        });
        f
    }

    #[test]
    fn keystone_that_gave_no_answer_did_not_refuse() {
        let f = auth_failed(ProblemKind::Timeout, "Keystone did not answer within the run's --timeout (3s)", false);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.starts_with("no token from Keystone at keystone.example:5000"), "{}", v.summary);
        let f = auth_failed(ProblemKind::Unauthorized, "Keystone answered HTTP 401", false);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.starts_with("Keystone at keystone.example:5000 refused"), "{}", v.summary);
        assert!(v.metrics.is_empty());
    }

    #[test]
    fn an_untrusted_certificate_the_plugin_skips_is_not_velero_s_failure() {
        let msg = "Keystone unreachable: TLS: certificate of keystone.example:5000 not trusted (UnknownIssuer)";
        let v = judge(&Ctx::new(&auth_failed(ProblemKind::Tls, msg, false), &[]));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let v = judge(&Ctx::new(&auth_failed(ProblemKind::Tls, msg, true), &[]));
        assert_eq!(v.status, Status::Error, "{v:?}");
        assert!(v.details.iter().any(|d| d.contains("TLS_SKIP_VERIFY=true")), "{:?}", v.details);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("OS_CACERT") && h.contains("--insecure")), "{:?}", v.hint);
    }

    #[test]
    fn the_expiry_metric_is_the_seconds_left() {
        // Collected at 2026-11-29T08:00:00Z (Facts::empty).
        let v = judge(&Ctx::new(&auth_ok(Some("2026-12-06T08:00:00Z")), &[]));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert_eq!(v.metrics, [crate::model::Measure { name: "veldr_credential_expiry_seconds", value: 604800.0, labels: vec![] }]);
        assert_eq!(v.evidence["credentialExpiresInSeconds"], 604800);
        let v = judge(&Ctx::new(&auth_ok(Some("2027-11-29T08:00:00Z")), &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.metrics, [crate::model::Measure { name: CREDENTIAL_EXPIRY.name, value: 365.0 * 86400.0, labels: vec![] }]);
        let v = judge(&Ctx::new(&auth_ok(None), &[]));
        assert_eq!(v.status, Status::Ok);
        assert!(v.metrics.is_empty() && v.evidence.get("credentialExpiresInSeconds").is_none());
    }
}
