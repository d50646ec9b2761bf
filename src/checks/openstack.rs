//! keystone.auth, keystone.catalog, swift.container, swift.tempurl-digest, swift.tempurl-key,
//! swift.tempurl, swift.clock: what Velero's OpenStack calls will meet.

use super::Ctx;
use crate::facts::{AuthFacts, OpenStackFacts, Problem, SigningKey, SwiftTarget};
use crate::model::{Status, Verdict};
use crate::openstack::swift::{ProbeVerdict, DEFAULT_OPERATOR_ROLES};
use crate::secret::Secret;

/// Days of remaining credential life under which keystone.auth warns.
const EXPIRY_WARN_DAYS: i64 = 14;
/// Clock skew thresholds (seconds): the plugin's temp URLs live 600 s.
const SKEW_WARN: i64 = 60;
const SKEW_FAIL: i64 = 300;

fn openstack<'a>(ctx: &Ctx<'a>) -> Result<&'a OpenStackFacts, Verdict> {
    let os = ctx.facts.openstack.as_ref().ok_or_else(|| Verdict::skip("OpenStack was not asked in this run (--only/--skip, or a bundle without OpenStack facts)"))?;
    if let Some(why) = &os.not_attempted {
        return Err(Verdict::skip(format!("OpenStack not asked: {why}")));
    }
    Ok(os)
}

fn auth_facts<'a>(ctx: &Ctx<'a>) -> Result<&'a AuthFacts, Verdict> {
    openstack(ctx)?.auth.as_ref().ok_or_else(|| Verdict::skip("no Keystone request was made"))
}

/// A failed call: `error` when veldr could not get an answer in time (which stalls Velero too, and
/// says so), `fail` otherwise.
fn problem_verdict(what: &str, p: &Problem) -> Verdict {
    let status = if p.kind == "timeout" { Status::Error } else { Status::Fail };
    let v = if status == Status::Error { Verdict::error(format!("{what}: {}", p.message)) } else { Verdict::fail(format!("{what}: {}", p.message)) };
    crate::unanswered::explain(v, p).evidence("problem", p)
}

/// Combines per-BSL verdicts into one: the worst status leads, every line is kept.
fn combine(parts: Vec<(String, Verdict)>, ok_summary: impl FnOnce(&[(String, Verdict)]) -> String) -> Verdict {
    if parts.is_empty() {
        return Verdict::skip("no OpenStack BackupStorageLocation was probed");
    }
    let status = Verdict::worst(parts.iter().map(|(_, v)| v.status));
    let lead = parts.iter().find(|(_, v)| v.status == status).map(|(_, v)| v.clone()).expect("non-empty");
    let mut out = if status == Status::Ok { Verdict::ok(ok_summary(&parts)) } else { lead.clone() };
    out.status = status;
    out.details = Vec::new();
    for (bsl, v) in &parts {
        out.details.push(format!("BSL {bsl}: {} — {}", v.status, v.summary));
        out.details.extend(v.details.iter().map(|d| format!("  {d}")));
    }
    out.evidence = serde_json::json!({ "bsls": parts.iter().map(|(b, v)| serde_json::json!({"bsl": b, "status": v.status, "evidence": v.evidence})).collect::<Vec<_>>() });
    out
}

fn per_target(ctx: &Ctx, judge: impl Fn(&SwiftTarget) -> Verdict, ok_summary: impl FnOnce(&[(String, Verdict)]) -> String) -> Verdict {
    let os = match openstack(ctx) {
        Ok(os) => os,
        Err(v) => return v,
    };
    let parts: Vec<(String, Verdict)> = os.targets.iter().map(|t| (t.bsl.clone(), judge(t))).collect();
    combine(parts, ok_summary)
}

fn single_ok_summary(parts: &[(String, Verdict)]) -> String {
    if parts.len() == 1 { parts[0].1.summary.clone() } else { format!("{} BSLs: all ok", parts.len()) }
}

pub fn auth(ctx: &Ctx) -> Verdict {
    let a = match auth_facts(ctx) {
        Ok(a) => a,
        Err(v) => return v,
    };
    let host = crate::openstack::keystone::auth_host(&a.auth_url);
    let token = match &a.token {
        Ok(t) => t,
        Err(p) => {
            let hint = match p.kind.as_str() {
                "unauthorized" => "create a new application credential (`openstack application credential create velero`), put its id and secret in the secret Velero reads, then `kubectl -n velero rollout restart deployment/velero`",
                "not-found" => "the application credential (or its user/project) was deleted: create a new one and update the secret Velero reads",
                "unreachable" | "tls" => "check OS_AUTH_URL and that Keystone is reachable from the cluster (this run reached it from where veldr runs); for TLS, the plugin only knows TLS_SKIP_VERIFY",
                "timeout" => "Keystone did not answer in time: check it is up, or raise --timeout",
                _ => "check OS_AUTH_URL and the Keystone service",
            };
            // "refused" only when Keystone judged the credential; otherwise no token was had.
            let lead = match p.kind.as_str() {
                "unauthorized" | "not-found" => format!("Keystone at {host} refused {}", a.method),
                _ => format!("no token from Keystone at {host} for {}", a.method),
            };
            // The plugin skips certificate checks (TLS_SKIP_VERIFY=true): Velero is not stopped by
            // this certificate, only veldr, which verifies by default. veldr could not evaluate.
            let plugin_skips_tls = openstack(ctx).is_ok_and(|os| os.targets.iter().any(|t| t.plugin.tls_skip_verify));
            if p.kind == "tls" && plugin_skips_tls {
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
            v = v.evidence("credentialExpiresAt", exp).evidence("credentialExpiresInSeconds", left);
            if left < EXPIRY_WARN_DAYS * 86400 {
                v = Verdict::warn(format!("the application credential expires in {} ({exp})", super::ctx::human_age(left)))
                    .hint("create a new application credential before then and update the secret Velero reads; backups stop the moment it expires")
                    .evidence("credentialExpiresAt", exp)
                    .evidence("credentialExpiresInSeconds", left);
            } else {
                v = v.detail(format!("the application credential expires at {exp}"));
            }
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

pub fn catalog(ctx: &Ctx) -> Verdict {
    per_target(
        ctx,
        |t| match &t.endpoint {
            None => Verdict::skip("no token, no catalog"),
            Some(Ok(url)) => {
                let via = if t.plugin.endpoint_override.is_some() { "OS_SWIFT_ENDPOINT_OVERRIDE".to_string() } else {
                    format!("region {} from {}", if t.plugin.region.is_empty() { "(any)" } else { &t.plugin.region }, t.plugin.region_source)
                };
                Verdict::ok(format!("object-store endpoint {url} ({via})")).evidence("endpoint", url).evidence("region", &t.plugin.region)
            }
            Some(Err(p)) => problem_verdict("the plugin will find no Swift endpoint", p).hint(
                "set OS_REGION_NAME (or OS_SWIFT_REGION_NAME) in the secret Velero reads to a region listed above, then restart Velero",
            ),
        },
        single_ok_summary,
    )
}

pub fn container(ctx: &Ctx) -> Verdict {
    per_target(
        ctx,
        |t| match &t.container_head {
            None => Verdict::skip("no endpoint to ask"),
            Some(Ok(c)) => Verdict::ok(format!(
                "container {} is readable ({} objects)",
                t.container,
                c.object_count.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
            ))
            .evidence("objects", c.object_count)
            .evidence("bytes", c.bytes_used),
            Some(Err(p)) => {
                let hint = match p.kind.as_str() {
                    "not-found" => format!("create it: `openstack container create {}` (veldr never writes), or fix the BSL's objectStorage.bucket", t.container),
                    "forbidden" => "the credential's roles open nothing in Swift: give its user a role listed in Swift's operator_roles (often member or swiftoperator), or a container ACL".into(),
                    "unauthorized" => "Swift refused the token: Swift may trust another Keystone, or the token was revoked".into(),
                    _ => "check that Swift is up and reachable".into(),
                };
                problem_verdict(&format!("container {}", t.container), p).hint(hint)
            }
        },
        single_ok_summary,
    )
}

pub fn digest(ctx: &Ctx) -> Verdict {
    per_target(
        ctx,
        |t| {
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
                Some(Err(p)) if p.kind == "info-disabled" && probe_accepted => {
                    Verdict::ok(format!("{} ({setting}) works: Swift hides /info, but accepted a URL signed with it", d.name()))
                }
                Some(Err(p)) if p.kind == "info-disabled" => Verdict::warn(format!(
                    "Swift hides /info (expose_info = false): cannot tell whether {} is allowed; see swift.tempurl for the live answer",
                    d.name()
                ))
                .hint("ask the Swift operators which digests tempurl allows, or rely on the swift.tempurl probe"),
                Some(Err(p)) => problem_verdict("Swift /info", p),
            }
        },
        single_ok_summary,
    )
}

fn preferred(allowed: &[String]) -> &str {
    if allowed.iter().any(|d| d == "sha256") { "sha256" } else { allowed.first().map(String::as_str).unwrap_or("sha256") }
}

/// The keys Swift validates against for this container: the container's and the account's, both slots.
fn swift_keys(t: &SwiftTarget) -> Vec<(&'static str, &Secret)> {
    let mut keys = Vec::new();
    if let Some(Ok(c)) = &t.container_head {
        keys.extend(c.temp_url_key.as_ref().map(|k| ("container Temp-URL-Key", k)));
        keys.extend(c.temp_url_key_2.as_ref().map(|k| ("container Temp-URL-Key-2", k)));
    }
    if let Some(Ok(a)) = &t.account_head {
        keys.extend(a.temp_url_key.as_ref().map(|k| ("account Temp-URL-Key", k)));
        keys.extend(a.temp_url_key_2.as_ref().map(|k| ("account Temp-URL-Key-2", k)));
    }
    keys
}

fn keys_visible(t: &SwiftTarget) -> bool {
    let c = matches!(&t.container_head, Some(Ok(c)) if c.ownership.is_owner());
    let a = matches!(&t.account_head, Some(Ok(a)) if a.ownership.is_owner());
    c || a || !swift_keys(t).is_empty()
}

pub fn key(ctx: &Ctx) -> Verdict {
    let roles: Vec<String> = ctx
        .facts
        .openstack
        .as_ref()
        .and_then(|o| o.auth.as_ref())
        .and_then(|a| a.token.as_ref().ok())
        .map(|t| t.roles.clone())
        .unwrap_or_default();
    per_target(
        ctx,
        |t| {
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
                    } else if !visible && !crate::openstack::swift::roles_suggest_owner(&roles, &DEFAULT_OPERATOR_ROLES) {
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
        },
        single_ok_summary,
    )
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

pub fn tempurl(ctx: &Ctx) -> Verdict {
    per_target(
        ctx,
        |t| {
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
        },
        single_ok_summary,
    )
}

pub fn clock(ctx: &Ctx) -> Verdict {
    per_target(
        ctx,
        |t| {
            let Some(Ok(p)) = &t.probe else {
                // Without a probe answer, a HEAD's Date against the collection time is too coarse to judge.
                return Verdict::skip("no temp URL probe answer to time");
            };
            let Some(swift) = p.swift_date else { return Verdict::skip("Swift sent no Date header") };
            let skew = swift.as_second() - p.local_date.as_second();
            let v = if skew.abs() >= SKEW_FAIL {
                Verdict::fail(format!("this machine's clock and Swift's differ by {skew} s: temp URLs (600 s) may be born expired or live too long"))
                    .hint("sync the clocks with NTP (chrony); the Velero node's clock matters the same way")
            } else if skew.abs() >= SKEW_WARN {
                Verdict::warn(format!("this machine's clock and Swift's differ by {skew} s")).hint("sync the clocks with NTP (chrony)")
            } else {
                Verdict::ok(format!("clock skew against Swift: {skew} s"))
            };
            v.evidence("skewSeconds", skew)
        },
        single_ok_summary,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Facts, OpenStackFacts};
    use crate::openstack::swift::{ContainerHead, Ownership, ProbeOutcome, SwiftInfo, TempUrlInfo};
    use crate::plugin::PluginConfig;

    fn target() -> SwiftTarget {
        SwiftTarget {
            bsl: "default".into(),
            container: "velero-backups".into(),
            plugin: PluginConfig { digest_setting: Some("sha256".into()), digest: Ok("sha256".into()), ..Default::default() },
            endpoint: Some(Ok("http://swift/v1/AUTH_p/".into())),
            container_head: Some(Ok(ContainerHead {
                status: 204, object_count: Some(3), bytes_used: Some(10), temp_url_key: Some(Secret::new("k1")), temp_url_key_2: None,
                read_acl: None, storage_policy: None, date: None, ownership: Ownership::Owner { evidence: vec!["x-container-meta-temp-url-key".into()] },
            })),
            account_head: None,
            info: Some(Ok(SwiftInfo { version: None, sections: vec![], tempurl: Some(TempUrlInfo {
                methods: vec!["GET".into()], allowed_digests: vec!["sha256".into(), "sha512".into()], allowed_digests_listed: true, deprecated_digests: vec![] }) })),
            signing_key: Some(SigningKey::Env(Secret::new("k1"))),
            probe_url: Some("http://swift/v1/AUTH_p/velero-backups/x?temp_url_expires=1".into()),
            probe: Some(Ok(ProbeOutcome { verdict: ProbeVerdict::Accepted, status: 404, body_excerpt: String::new(),
                swift_date: Some("2026-11-29T08:00:10Z".parse().unwrap()), local_date: "2026-11-29T08:00:00Z".parse().unwrap() })),
            timings_ms: Default::default(),
        }
    }

    fn facts(t: SwiftTarget) -> Facts {
        let mut f = Facts::empty("velero");
        f.openstack = Some(OpenStackFacts { targets: vec![t], ..Default::default() });
        f
    }

    #[test]
    fn healthy_target_passes_every_swift_check() {
        let f = facts(target());
        let ctx = Ctx::new(&f, &[]);
        for (name, v) in [("container", container(&ctx)), ("digest", digest(&ctx)), ("key", key(&ctx)), ("tempurl", tempurl(&ctx)), ("clock", clock(&ctx))] {
            assert_eq!(v.status, Status::Ok, "{name}: {v:?}");
        }
    }

    #[test]
    fn unset_digest_with_sha1_refused_fails() {
        let mut t = target();
        t.plugin.digest_setting = None;
        t.plugin.digest = Ok("sha1".into());
        let f = facts(t);
        let v = digest(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("unset, so SHA-1"), "{}", v.summary);
        assert!(v.hint.unwrap().contains("OS_SWIFT_TEMP_URL_DIGEST=sha256"));
    }

    #[test]
    fn mismatched_key_fails_by_fingerprint_only() {
        let mut t = target();
        t.signing_key = Some(SigningKey::Env(Secret::new("other-key-value")));
        let f = facts(t);
        let v = key(&Ctx::new(&f, &[]));
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
        t.probe = None;
        let f = facts(t);
        let v = key(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("-2"), "{}", v.summary);
        assert_eq!(tempurl(&Ctx::new(&f, &[])).status, Status::Fail);
    }

    #[test]
    fn rejected_probe_names_the_cause_and_skew_is_measured() {
        let mut t = target();
        if let Some(Ok(p)) = &mut t.probe {
            p.verdict = ProbeVerdict::Rejected;
            p.status = 401;
            p.swift_date = Some("2026-11-29T08:10:00Z".parse().unwrap());
        }
        t.signing_key = Some(SigningKey::Env(Secret::new("wrong")));
        let f = facts(t);
        let ctx = Ctx::new(&f, &[]);
        let v = tempurl(&ctx);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("does not match"), "{}", v.summary);
        assert_eq!(clock(&ctx).status, Status::Fail);
    }

    fn auth_failed(kind: &str, message: &str, tls_skip_verify: bool) -> Facts {
        let mut t = target();
        t.plugin.tls_skip_verify = tls_skip_verify;
        let mut f = facts(t);
        f.openstack.as_mut().unwrap().auth = Some(AuthFacts {
            auth_url: "https://keystone.example:5000/v3".into(),
            method: "application credential id abc".into(),
            token: Err(Problem::new(kind, message)),
            credential_expires_at: None,
            elapsed_ms: 1,
        });
        f
    }

    #[test]
    fn keystone_that_gave_no_answer_did_not_refuse() {
        let f = auth_failed("timeout", "Keystone did not answer within the run's --timeout (3s)", false);
        let v = auth(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.starts_with("no token from Keystone at keystone.example:5000"), "{}", v.summary);
        let f = auth_failed("unauthorized", "Keystone answered HTTP 401", false);
        let v = auth(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.starts_with("Keystone at keystone.example:5000 refused"), "{}", v.summary);
    }

    #[test]
    fn an_untrusted_certificate_the_plugin_skips_is_not_velero_s_failure() {
        let msg = "Keystone unreachable: TLS: certificate of keystone.example:5000 not trusted (UnknownIssuer)";
        let v = auth(&Ctx::new(&auth_failed("tls", msg, false), &[]));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let v = auth(&Ctx::new(&auth_failed("tls", msg, true), &[]));
        assert_eq!(v.status, Status::Error, "{v:?}");
        assert!(v.details.iter().any(|d| d.contains("TLS_SKIP_VERIFY=true")), "{:?}", v.details);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("OS_CACERT") && h.contains("--insecure")), "{:?}", v.hint);
    }

    #[test]
    fn timeouts_are_errors_not_failures() {
        let mut t = target();
        t.container_head = Some(Err(Problem::new("timeout", "Swift did not answer")));
        let f = facts(t);
        assert_eq!(container(&Ctx::new(&f, &[])).status, Status::Error);
    }
}
