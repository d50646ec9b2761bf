//! swift.tempurl-key: the key the plugin signs temp URLs with is one Swift holds for the container.

use crate::checks::swift::{keys_visible, per_target, swift_keys};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{SigningKey, SwiftTarget};
use crate::model::Verdict;
use crate::openstack::swift::{roles_suggest_owner, DEFAULT_OPERATOR_ROLES};

pub const CHECK: CheckDef = crate::check! {
    id: "swift.tempurl-key", category: Openstack, severity: Major,
    title: "Temp URL key matches Swift",
    depends_on: ["swift.container"], needs: [OpenStack],
    timed_by: OpenStack(Account),
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    let roles: &[String] = match ctx.facts.openstack.as_ref().and_then(|o| o.auth.as_ref()).map(|a| &a.token) {
        Some(Ok(t)) => &t.roles,
        _ => &[],
    };
    per_target(ctx, |t| judge_target(t, roles))
}

fn judge_target(t: &SwiftTarget, roles: &[String]) -> Verdict {
    let Some(signing) = &t.signing_key else { return Verdict::skip("no endpoint to ask") };
    let keys = swift_keys(t);
    let shown: Vec<String> = keys.iter().map(|(w, k)| format!("{w} {}", k.label())).collect();
    let visible = keys_visible(t);
    match signing {
        SigningKey::None => {
            let only_key2 = keys.iter().any(|(w, _)| w.ends_with("-2"));
            let (summary, hint) = if only_key2 {
                ("only Temp-URL-Key-2 is set: the plugin never signs with the -2 key, so it fails with \"Unable to obtain the Temp URL key\"".to_string(),
                 "set the primary key too (`swift post -m Temp-URL-Key:<key> <container>`) or put it in OS_SWIFT_TEMP_URL_KEY".to_string())
            } else if !visible && !roles_suggest_owner(roles, &DEFAULT_OPERATOR_ROLES) {
                (format!(
                    "no OS_SWIFT_TEMP_URL_KEY, and Swift hides the container's and account's keys from this credential (roles {}): the plugin fails with \"Unable to obtain the Temp URL key\"",
                    if roles.is_empty() { "none".to_string() } else { roles.join(", ") }
                ),
                 "set OS_SWIFT_TEMP_URL_KEY in the secret Velero reads to the container's key, or give the credential's user an operator role (swiftoperator) so it can read the key".to_string())
            } else {
                ("no temp URL key anywhere: not in OS_SWIFT_TEMP_URL_KEY, not on the container, not on the account; the plugin fails with \"Unable to obtain the Temp URL key\"".to_string(),
                 format!("set one: `swift post -m Temp-URL-Key:$(openssl rand -hex 20) {}` and put the same value in OS_SWIFT_TEMP_URL_KEY", t.container))
            };
            Verdict::fail(summary).hint(hint).evidence("swiftKeys", &shown)
        }
        SigningKey::Env(k) => {
            let hit = keys.iter().find(|(_, s)| s.fingerprint() == k.fingerprint());
            match hit {
                Some((where_, _)) => Verdict::ok(format!("OS_SWIFT_TEMP_URL_KEY ({}) matches the {where_}", k.label())).evidence("swiftKeys", &shown),
                None if !visible => Verdict::warn(format!(
                    "OS_SWIFT_TEMP_URL_KEY ({}) cannot be compared: Swift shows its keys only to the owner; swift.tempurl's probe is the proof",
                    k.label()
                )),
                None => Verdict::fail(format!(
                    "OS_SWIFT_TEMP_URL_KEY ({}) matches no key Swift holds for container {}: every signed URL gets \"401 Temp URL invalid\"",
                    k.label(),
                    t.container
                ))
                .details(shown.iter().map(|s| format!("Swift has: {s}")))
                .hint(format!(
                    "make them equal: either put the container's key in OS_SWIFT_TEMP_URL_KEY, or set the container's key to it (`swift post -m Temp-URL-Key:<value of OS_SWIFT_TEMP_URL_KEY> {}`); key changes take up to 60 s",
                    t.container
                ))
                .evidence("envKey", k.label())
                .evidence("swiftKeys", &shown),
            }
        }
        SigningKey::Container(k) | SigningKey::Account(k) => {
            Verdict::ok(format!("no OS_SWIFT_TEMP_URL_KEY: the plugin reads {} ({})", signing.source(), k.label())).evidence("swiftKeys", &shown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swift::test_target::{facts, target};
    use crate::facts::Ownership;
    use crate::model::Status;
    use crate::secret::Secret;

    #[test]
    fn a_matching_key_passes() {
        let f = facts(vec![target()]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn mismatched_key_fails_by_fingerprint_only() {
        let mut t = target();
        t.signing_key = Some(SigningKey::Env(Secret::new("other-key-value")));
        let f = facts(vec![t]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        let text = serde_json::to_string(&v).unwrap();
        assert!(!text.contains("other-key-value") && !text.contains("\"k1\""), "{text}");
    }

    #[test]
    fn only_key2_names_the_plugin_rule() {
        let mut t = target();
        if let Some(Ok(c)) = &mut t.container_head {
            c.temp_url_key_2 = c.temp_url_key.take();
        }
        t.signing_key = Some(SigningKey::None);
        let f = facts(vec![t]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("-2"), "{}", v.summary);
    }

    #[test]
    fn hidden_keys_name_the_credential_s_roles() {
        let mut t = target();
        if let Some(Ok(c)) = &mut t.container_head {
            c.temp_url_key = None;
            c.ownership = Ownership::Unknown;
        }
        t.signing_key = Some(SigningKey::None);
        let f = facts(vec![t.clone()]);
        let v = judge(&Ctx::new(&f, &[]));
        assert!(v.summary.contains("hides the container's and account's keys") && v.summary.contains("roles none"), "{}", v.summary);
        t.signing_key = Some(SigningKey::Env(Secret::new("k1")));
        let f = facts(vec![t]);
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Warn);
    }
}
