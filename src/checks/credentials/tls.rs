//! credentials.tls: the TLS the plugin will use towards Keystone and Swift verifies, judged the way
//! the plugin builds its trust (see `crate::upstream::plugin_trust` for what its source does):
//!
//! - honoured: `TLS_SKIP_VERIFY` (Go bool), and the velero image's system roots as Go loads them,
//!   which `SSL_CERT_FILE`/`SSL_CERT_DIR` on the velero container (or a CA bundle mounted over
//!   `/etc/ssl/certs`) change. Keystone and Swift share one transport, so one trust covers both.
//! - ignored: `OS_CACERT`, `OS_CERT`/`OS_KEY` (no client certificate is ever sent), `OS_INSECURE`,
//!   clouds.yaml `cacert`/`cert`/`key`/`verify`/`insecure`, BSL `objectStorage.caCert`.
//!
//! The verdict comes from handshakes under that trust (`collect::plugin_tls`), independently of
//! what veldr itself trusted (`OS_CACERT`, `--insecure`): a certificate veldr could verify but the
//! plugin cannot fails here, and one the plugin verifies while veldr could not is said too.

use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{PluginTls, ProblemKind, TlsResult};
use crate::model::Verdict;
use crate::upstream::openstack_plugin::{self, PluginConfig};
use crate::upstream::plugin_trust::{self, PathSource, TrustFile};

pub const CHECK: CheckDef = crate::check! {
    id: "credentials.tls", category: Credentials, severity: Major,
    title: "Plugin TLS trust",
    depends_on: ["credentials.env"], needs: [BackupStorageLocations, Deployments, VeleroEnv, OpenStack],
    consults: [BackupStorageLocations],
    explains: [
        ["x509:"] => "TLS to Keystone or Swift does not verify under the plugin's trust (its image's CA bundle, SSL_CERT_FILE)",
    ],
    timed_by: OpenStack(PluginTls),
    judge: judge,
};

/// The fix that gives the plugin a private CA without dropping the image's roots.
const CA_FIX: &str = "give the plugin the CA the way Go reads it: put the CA's PEM in a Secret or ConfigMap, mount it in the velero container \
     (e.g. at /etc/velero-ca) and set `SSL_CERT_DIR=/etc/velero-ca:/etc/ssl/certs` on that container (Helm: `configuration.extraEnvVars`, \
     `extraVolumes`, `extraVolumeMounts`), then let Velero restart; OS_CACERT is not read by the plugin";

fn judge(ctx: &Ctx) -> Verdict {
    let Some(env) = ctx.env() else {
        return Verdict::skip("the velero container's environment is unknown (see credentials.env)");
    };
    let bsls = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let configs: Vec<PluginConfig> = ctx.selected_bsls(bsls).into_iter().filter(|b| b.is_openstack()).map(|b| openstack_plugin::effective(env, &b.spec.config)).collect();
    if configs.is_empty() {
        return Verdict::skip("no BackupStorageLocation uses the OpenStack plugin");
    }
    let skip_verify = configs.iter().any(|c| c.tls_skip_verify);
    let os = ctx.facts.openstack.as_ref();
    let tls = os.and_then(|o| o.plugin_tls.as_ref());
    let mut findings: Vec<Finding> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // What the pod's settings say, file by file.
    let files = match (ctx.velero_deployment().and_then(|d| d.spec.template.spec.as_ref()), ctx.velero_container()) {
        (Some(spec), Some(c)) => plugin_trust::trust_files(spec, c, Some(env)),
        _ => Vec::new(),
    };
    // A client certificate or key is never sent, so whether its file exists does not matter (and
    // the Secret holding a client key is not read): ignored_settings says so.
    for (f, resolved) in files.iter().filter(|(f, _)| f.via != "OS_CERT" && f.via != "OS_KEY") {
        judge_file(ctx, f, resolved, &mut findings, &mut notes);
    }
    ignored_settings(ctx, &configs, &files, &mut notes);

    // What the handshakes under the plugin's trust found.
    let plain: Vec<String> = plain_http(ctx, &configs);
    let Some(tls) = tls else {
        let why = match os {
            None => "OpenStack was not asked in this run",
            Some(_) => "no handshake was made under the plugin's trust (a bundle from before veldr 0.2, or the Velero Deployment is unknown)",
        };
        if https_used(ctx, &configs) {
            notes.push(format!("the certificates were not checked: {why}"));
        }
        if skip_verify {
            findings.push(skip_verify_finding(None));
        }
        return combine(ok_summary(&[], &plain, None), findings, notes);
    };
    notes.push(trust_line(tls));
    let veldr_insecure = os.is_some_and(|o| o.insecure);
    let mut verified = Vec::new();
    for e in &tls.endpoints {
        let who = e.used_by.join(", ");
        match &e.result {
            TlsResult::Verified => verified.push(format!("{who} at {}", e.host_port)),
            TlsResult::Untrusted { reason, go_error } if skip_verify => {
                notes.push(format!("{who} at {}: its certificate does not verify ({reason}); TLS_SKIP_VERIFY=true hides it from the plugin ({go_error})", e.host_port));
            }
            TlsResult::Untrusted { reason, go_error } => {
                let veldr_side = if veldr_insecure {
                    " (veldr itself reached it only because --insecure skipped verification)".to_string()
                } else if reached_by_veldr(ctx, &e.used_by) {
                    " although veldr itself verified it (with its own trust: OS_CACERT or this machine's store)".to_string()
                } else {
                    String::new()
                };
                findings.push(
                    Finding::fail(format!(
                        "{who} at {}: the certificate does not verify under the plugin's trust ({reason}){veldr_side}: the plugin fails with \"{go_error}\"",
                        e.host_port
                    ))
                    .hint(if reason.contains("issuer") { CA_FIX.to_string() } else { "renew the certificate or fix its names; the plugin's Go TLS checks chain, dates and host name".into() }),
                );
            }
            TlsResult::NoHandshake { problem } if problem.kind == ProblemKind::Tls => {
                findings.push(
                    Finding::fail(format!("{who} at {}: {} — the plugin fails with \"http: server gave HTTP response to HTTPS client\" or a handshake error", e.host_port, problem.message))
                        .hint("use the URL's right scheme: http:// for a plain port, or the TLS port for https://"),
                );
            }
            TlsResult::NoHandshake { problem } => notes.push(format!("{who} at {}: certificate not checked: {}", e.host_port, problem.message)),
        }
    }
    if skip_verify {
        let all_verify = !tls.endpoints.is_empty() && tls.endpoints.iter().all(|e| e.result == TlsResult::Verified);
        findings.push(skip_verify_finding(Some(all_verify)));
    }
    // The other way round: veldr could not verify what the plugin will.
    if let Some(line) = veldr_blind(ctx, tls) {
        notes.push(line);
    }
    combine(ok_summary(&verified, &plain, Some(tls)), findings, notes).evidence("pluginTls", tls)
}

fn ok_summary(verified: &[String], plain: &[String], tls: Option<&PluginTls>) -> String {
    let mut parts = Vec::new();
    if !verified.is_empty() {
        let trust = match tls {
            Some(t) if !t.cas.is_empty() => " (with the CA its SSL_CERT_* settings load)",
            _ => " (the image's CA bundle)",
        };
        parts.push(format!("the plugin's TLS verifies {}{trust}", verified.join(" and ")));
    }
    if !plain.is_empty() {
        let are = crate::checks::findings::agree(plain.len(), "is", "are");
        parts.push(format!("{} {are} plain http://: no TLS to verify (credentials and tokens cross the network unencrypted)", plain.join(" and ")));
    }
    if parts.is_empty() {
        "no certificate to verify".into()
    } else {
        parts.join("; ")
    }
}

fn trust_line(tls: &PluginTls) -> String {
    let mut parts = Vec::new();
    if tls.image_roots {
        parts.push("the velero image's CA bundle (veldr stands in Mozilla's roots, which Ubuntu's ca-certificates ships)".to_string());
    } else {
        parts.push("not the image's CA bundle (SSL_CERT_FILE/SSL_CERT_DIR replace both places Go reads)".to_string());
    }
    for ca in &tls.cas {
        parts.push(format!("{} certificate(s) from {} ({} {})", ca.certificates, ca.from, ca.via, ca.path));
    }
    format!("the plugin's trust: {}", parts.join(" + "))
}

fn skip_verify_finding(all_verify: Option<bool>) -> Finding {
    let (tail, hint) = match all_verify {
        Some(true) => (
            ": the certificates verify without it, so it only removes protection",
            "remove TLS_SKIP_VERIFY from the velero container's environment (the certificates verify under the plugin's trust)".to_string(),
        ),
        Some(false) => (": the certificates do not verify without it (see the lines below)", format!("then remove TLS_SKIP_VERIFY: {CA_FIX}")),
        None => ("", format!("if the certificates are from a private CA, {CA_FIX}; then remove TLS_SKIP_VERIFY")),
    };
    Finding::warn(format!(
        "TLS_SKIP_VERIFY=true: the plugin does not verify Keystone's or Swift's certificate, so anyone on the path can take the credentials and backups{tail}"
    ))
    .hint(hint)
}

/// Does a trust file exist, and where does it come from?
fn judge_file(ctx: &Ctx, f: &TrustFile, resolved: &Result<(), String>, findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
    let what = if f.via.starts_with("a mount") { f.via.clone() } else { format!("{}={}", f.via, f.path) };
    if let Err(why) = resolved {
        let line = format!("{what}: {why}");
        if f.honoured {
            findings.push(Finding::warn(format!("{line}; Go skips a missing CA file silently")).hint(format!("add the key to the mounted object, or fix the path; {CA_FIX}")));
        } else {
            notes.push(line);
        }
        return;
    }
    let exists = match &f.source {
        PathSource::Secret { name, key, optional } => object_has(ctx.facts.kube.secrets.get(name).map(|r| r.as_ref().map(|o| o.as_ref().map(|s| s.keys.clone()))), name, "Secret", key, *optional),
        PathSource::ConfigMap { name, key, optional } => object_has(ctx.facts.kube.config_maps.get(name).map(|r| r.as_ref().cloned()), name, "ConfigMap", key, *optional),
        PathSource::Volume { .. } | PathSource::Image => Err(format!("{} lies in {}: veldr cannot see whether it exists", f.path, f.source.describe())),
    };
    match (exists, f.honoured) {
        (Ok(from), true) => notes.push(format!("{what}: read by the plugin, from {from}")),
        (Ok(from), false) => notes.push(format!("{what}: the file exists ({from}), but the plugin never reads {}", f.via)),
        (Err(why), true) if why.contains("has no key") || why.contains("does not exist") => {
            findings.push(Finding::warn(format!("{what}: {why}; Go skips a missing CA file silently")).hint(format!("add the key to the mounted object, or fix the path; {CA_FIX}")))
        }
        (Err(why), _) => notes.push(format!("{what}: {why}")),
    }
}

/// Whether the read object holds `key`: `Ok(where)`, or `Err(why not / why unknown)`.
fn object_has(read: Option<Result<Option<Vec<String>>, &crate::facts::ReadError>>, name: &str, kind: &str, key: &Option<String>, optional: bool) -> Result<String, String> {
    let place = match key {
        Some(k) => format!("{kind} {name} key {k}"),
        None => format!("{kind} {name}"),
    };
    match read {
        None => Err(format!("{place} was not read by veldr (it reads the objects behind paths the Deployment sets literally)")),
        Some(Err(e)) => Err(format!("cannot tell whether {place} exists: {}", e.explain())),
        Some(Ok(None)) if optional => Err(format!("{kind} {name} does not exist (the volume is optional, so the file does not exist)")),
        Some(Ok(None)) => Err(format!("{kind} {name} does not exist: the velero pod cannot start with that volume")),
        Some(Ok(Some(keys))) => match key {
            Some(k) if !keys.contains(k) => Err(format!("{kind} {name} has no key {k}")),
            _ => Ok(place),
        },
    }
}

/// Settings people use for TLS that the plugin ignores, when they are set.
fn ignored_settings(ctx: &Ctx, configs: &[PluginConfig], files: &[(TrustFile, Result<(), String>)], notes: &mut Vec<String>) {
    let env = ctx.env();
    for (name, meant) in plugin_trust::IGNORED_TLS_VARS {
        let set = env.is_some_and(|e| e.get(name).is_some()) || files.iter().any(|(f, _)| f.via == name);
        if set {
            let tail = if name == "OS_CERT" || name == "OS_KEY" { "; it presents no client certificate, so a Keystone that requires one refuses it" } else { "" };
            notes.push(format!("{name} is set ({meant}) but the plugin never reads it: gophercloud's PrepareTLSConfig, which would, is not called by the plugin{tail}"));
        }
    }
    if configs.iter().any(|c| c.cloud.is_some()) {
        notes.push("BSL config.cloud: clouds.yaml `cacert`, `cert`, `key` and `verify` are not read by the plugin either (only the auth settings are)".into());
    }
    if let Ok(bsls) = &ctx.facts.kube.backup_storage_locations {
        for b in ctx.selected_bsls(bsls).into_iter().filter(|b| b.is_openstack() && b.spec.object_storage.ca_cert.is_some()) {
            notes.push(format!(
                "BSL {}: objectStorage.caCert is used by Velero's own clients (velero CLI downloads), not by the plugin",
                crate::facts::Object::name(b)
            ));
        }
    }
}

/// `Keystone at host:port` for each plain-http URL the plugin will use.
fn plain_http(ctx: &Ctx, configs: &[PluginConfig]) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |url: &str, who: &str| {
        if let Ok(u) = url::Url::parse(url) {
            if u.scheme() == "http" {
                let line = format!("{who} at {}", crate::openstack::http::host_port(&u));
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
    };
    for c in configs {
        if let Some(url) = &c.auth_url {
            add(url, "Keystone");
        }
    }
    for t in ctx.facts.openstack.iter().flat_map(|o| o.targets.iter()) {
        if let Some(Ok(ep)) = &t.endpoint {
            add(ep, "Swift");
        }
    }
    out
}

/// Whether any URL the plugin uses is https:// (else there is no certificate to check).
fn https_used(ctx: &Ctx, configs: &[PluginConfig]) -> bool {
    let https = |u: &str| u.starts_with("https://");
    configs.iter().any(|c| c.auth_url.as_deref().is_some_and(https) || c.endpoint_override.as_deref().is_some_and(https))
        || ctx.facts.openstack.iter().flat_map(|o| o.targets.iter()).any(|t| matches!(&t.endpoint, Some(Ok(e)) if https(e)))
}

/// Whether veldr's own calls to these services got through TLS (a token, a container answer).
fn reached_by_veldr(ctx: &Ctx, used_by: &[String]) -> bool {
    let Some(os) = &ctx.facts.openstack else { return false };
    used_by.iter().all(|u| {
        if u == "Keystone" {
            os.auth.as_ref().is_some_and(|a| a.token.is_ok())
        } else {
            os.targets.iter().any(|t| u.ends_with(&format!("(BSL {})", t.bsl)) && matches!(t.container_head, Some(Ok(_))))
        }
    })
}

/// veldr's own TLS failed where the plugin's trust verifies: veldr's blind spot, not Velero's.
fn veldr_blind(ctx: &Ctx, tls: &PluginTls) -> Option<String> {
    let os = ctx.facts.openstack.as_ref()?;
    let keystone_tls_failed = os.auth.as_ref().is_some_and(|a| matches!(&a.token, Err(p) if p.kind == ProblemKind::Tls));
    let plugin_ok = tls.endpoints.iter().any(|e| e.used_by.iter().any(|u| u == "Keystone") && e.result == TlsResult::Verified);
    (keystone_tls_failed && plugin_ok).then(|| {
        "veldr itself could not verify Keystone's certificate (see keystone.auth), but the plugin's trust does: run veldr with OS_CACERT=<that CA's PEM file> to check the rest".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::*;
    use crate::model::Status;
    use k8s_openapi::api::apps::v1::Deployment;

    /// A cluster with one OpenStack BSL, the velero Deployment, and `env` in the velero container.
    fn facts(env: &[(&str, &str)], deployment_json: Option<serde_json::Value>, tls: Option<PluginTls>) -> Facts {
        let mut f = Facts::empty("velero");
        let bsl: BackupStorageLocation = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "default", "namespace": "velero"},
            "spec": {"provider": "community.openstack.org/openstack", "objectStorage": {"bucket": "b"}}
        }))
        .unwrap();
        f.kube.backup_storage_locations = Ok(List { items: vec![bsl], malformed: vec![] });
        let dep: Deployment = serde_json::from_value(deployment_json.unwrap_or_else(|| deployment(&[], &[], &[]))).unwrap();
        f.kube.deployments = Ok(List { items: vec![dep], malformed: vec![] });
        let mut e = ResolvedEnv::default();
        for (k, v) in env {
            e.vars.insert(k.to_string(), EnvVar { value: crate::upstream::velero::env_value(k, v.to_string()), source: "test".into() });
        }
        f.velero_env = Some(e);
        f.openstack = Some(OpenStackFacts { plugin_tls: tls, ..Default::default() });
        f
    }

    fn deployment(env: &[(&str, &str)], mounts: &[(&str, &str)], secret_volumes: &[(&str, &str)]) -> serde_json::Value {
        serde_json::json!({
            "metadata": {"name": "velero", "namespace": "velero"},
            "spec": {"selector": {}, "template": {"spec": {
                "containers": [{"name": "velero", "image": "velero/velero:v1.17.1",
                    "env": env.iter().map(|(k, v)| serde_json::json!({"name": k, "value": v})).collect::<Vec<_>>(),
                    "volumeMounts": mounts.iter().map(|(n, p)| serde_json::json!({"name": n, "mountPath": p})).collect::<Vec<_>>()}],
                "volumes": secret_volumes.iter().map(|(n, s)| serde_json::json!({"name": n, "secret": {"secretName": s}})).collect::<Vec<_>>()
            }}}
        })
    }

    fn tls(result: TlsResult, cas: usize) -> PluginTls {
        PluginTls {
            image_roots: true,
            cas: (0..cas).map(|_| LoadedCa { via: "SSL_CERT_FILE".into(), path: "/etc/velero-ca/ca.crt".into(), from: "Secret velero-ca key ca.crt".into(), certificates: 1 }).collect(),
            endpoints: vec![TlsEndpoint { host_port: "keystone.example:5000".into(), used_by: vec!["Keystone".into()], result }],
            elapsed_ms: 3,
        }
    }

    const HTTPS: (&str, &str) = ("OS_AUTH_URL", "https://keystone.example:5000/v3");

    fn unknown_ca() -> TlsResult {
        TlsResult::Untrusted { reason: "its issuer is not in the plugin's trust".into(), go_error: "tls: failed to verify certificate: x509: certificate signed by unknown authority".into() }
    }

    #[test]
    fn verified_under_the_plugins_trust_is_ok() {
        let f = facts(&[HTTPS], None, Some(tls(TlsResult::Verified, 1)));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("verifies Keystone at keystone.example:5000") && v.summary.contains("SSL_CERT"), "{}", v.summary);
    }

    #[test]
    fn an_unknown_authority_fails_even_when_veldr_verified_it() {
        let mut f = facts(&[HTTPS, ("OS_CACERT", "/etc/ca/ca.pem")], None, Some(tls(unknown_ca(), 0)));
        f.openstack.as_mut().unwrap().auth = Some(AuthFacts {
            auth_url: HTTPS.1.into(),
            method: "m".into(),
            token: Err(Problem::new(ProblemKind::Unauthorized, "refused")),
            credential_expires_at: None,
            elapsed_ms: 1,
        });
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.summary.contains("x509: certificate signed by unknown authority"), "{}", v.summary);
        assert!(v.hint.as_deref().unwrap().contains("SSL_CERT_DIR"), "{:?}", v.hint);
        assert!(v.details.iter().any(|d| d.starts_with("OS_CACERT is set") && d.contains("never reads it")), "{:?}", v.details);
        f.openstack.as_mut().unwrap().insecure = true;
        let v = judge(&Ctx::new(&f, &[]));
        assert!(v.summary.contains("--insecure"), "{}", v.summary);
    }

    #[test]
    fn skip_verify_warns_and_says_whether_it_is_needed() {
        let f = facts(&[HTTPS, ("TLS_SKIP_VERIFY", "true")], None, Some(tls(unknown_ca(), 0)));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Warn, "an untrusted certificate is hidden by TLS_SKIP_VERIFY: {v:?}");
        assert!(v.summary.contains("do not verify without it"), "{}", v.summary);
        let f = facts(&[HTTPS, ("TLS_SKIP_VERIFY", "1")], None, Some(tls(TlsResult::Verified, 0)));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Warn);
        assert!(v.hint.unwrap().starts_with("remove TLS_SKIP_VERIFY"));
    }

    #[test]
    fn plain_http_is_ok_with_a_word() {
        let mut f = facts(&[("OS_AUTH_URL", "http://keystone.example:5000/v3")], None, Some(PluginTls { endpoints: vec![], ..tls(TlsResult::Verified, 0) }));
        f.openstack.as_mut().unwrap().targets = vec![crate::checks::swift::test_target::target()];
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.starts_with("Keystone at keystone.example:5000 and Swift at swift:80 are plain http://: no TLS to verify"), "{}", v.summary);
    }

    #[test]
    fn a_ca_file_missing_from_its_secret_warns_and_os_cacert_files_are_looked_up() {
        let dep = deployment(&[("SSL_CERT_FILE", "/etc/velero-ca/ca.crt"), ("OS_CACERT", "/etc/velero-ca/other.pem")], &[("ca", "/etc/velero-ca")], &[("ca", "velero-ca")]);
        let mut f = facts(&[HTTPS], Some(dep), Some(tls(TlsResult::Verified, 0)));
        let info = SecretInfo { name: "velero-ca".into(), type_: None, keys: vec!["tls.crt".into(), "other.pem".into()], created: None, last_changed: None, resource_version: None };
        f.kube.secrets.insert("velero-ca".into(), Ok(Some(info)));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("SSL_CERT_FILE=/etc/velero-ca/ca.crt: Secret velero-ca has no key ca.crt"), "{}", v.summary);
        assert!(v.details.iter().any(|d| d.contains("OS_CACERT=/etc/velero-ca/other.pem: the file exists (Secret velero-ca key other.pem), but the plugin never reads OS_CACERT")), "{:?}", v.details);
        // Refused: said, not guessed.
        f.kube.secrets.insert("velero-ca".into(), Err(ReadError::forbidden("get", "secrets", Some("velero"))));
        let v = judge(&Ctx::new(&f, &[]));
        assert!(v.details.iter().any(|d| d.contains("cannot tell whether Secret velero-ca key ca.crt exists")), "{:?}", v.details);
    }

    #[test]
    fn a_client_key_is_named_as_ignored_and_never_looked_up() {
        let dep = deployment(&[("OS_KEY", "/etc/client/tls.key")], &[("client", "/etc/client")], &[("client", "client-key")]);
        let f = facts(&[HTTPS], Some(dep), Some(tls(TlsResult::Verified, 0)));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.details.iter().any(|d| d.starts_with("OS_KEY is set (a client key)") && d.contains("no client certificate")), "{:?}", v.details);
        assert!(!v.details.iter().any(|d| d.contains("client-key")), "{:?}", v.details);
    }

    #[test]
    fn no_handshake_facts_still_judges_the_settings() {
        let f = facts(&[HTTPS, ("TLS_SKIP_VERIFY", "true")], None, None);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Warn);
        assert!(v.details.iter().any(|d| d.contains("certificates were not checked")), "{:?}", v.details);
        let mut f = facts(&[HTTPS], None, None);
        f.velero_env = None;
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Skip);
    }

    #[test]
    fn veldrs_own_blind_spot_is_named() {
        let mut f = facts(&[HTTPS], None, Some(tls(TlsResult::Verified, 1)));
        f.openstack.as_mut().unwrap().auth = Some(AuthFacts {
            auth_url: HTTPS.1.into(),
            method: "m".into(),
            token: Err(Problem::new(ProblemKind::Tls, "Keystone unreachable: TLS: not trusted")),
            credential_expires_at: None,
            elapsed_ms: 1,
        });
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok);
        assert!(v.details.iter().any(|d| d.contains("veldr itself could not verify") && d.contains("OS_CACERT")), "{:?}", v.details);
    }
}
