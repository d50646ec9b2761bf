//! Asks Keystone and Swift what the plugin will meet: one token, then per OpenStack BSL the
//! endpoint, the container and account heads and `/info` (concurrently), then the live temp-URL
//! probe signed as the plugin signs. Read-only: GET/HEAD, plus the token POST.

use super::kube::Deadline;
use crate::facts::{
    self, AuthFacts, BackupStorageLocation, Facts, Object, OpenStackFacts, Outcome, Problem, ProblemKind, ResolvedEnv, SigningKey, SwiftTarget,
};
use crate::openstack::http::{self, Failure, HttpOptions};
use crate::openstack::keystone::{self, KeystoneError};
use crate::openstack::swift::{self, SwiftError};
use crate::openstack::tempurl;
use crate::plugin::{self, PluginConfig};
use futures::future::join_all;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

/// Name of the object the probe asks for. It must not exist: a 404 then proves the signature.
pub const PROBE_OBJECT: &str = "veldr-probe/does-not-exist";

pub struct OpenStackOptions<'a> {
    pub deadline: Deadline,
    pub env: Option<&'a ResolvedEnv>,
    pub credentials_from: String,
    pub bsl_filter: &'a [String],
    pub insecure: bool,
    /// PEM of extra CAs (`OS_CACERT` of the operator's environment).
    pub ca_pem: Option<Vec<u8>>,
}

fn keystone_problem(e: &KeystoneError) -> Problem {
    let kind = match e {
        KeystoneError::Unauthorized { .. } => ProblemKind::Unauthorized,
        KeystoneError::NotFound { .. } => ProblemKind::NotFound,
        KeystoneError::Http { .. } => ProblemKind::Http,
        KeystoneError::Transport(f) => failure_kind(f),
        KeystoneError::BadBody(_) => ProblemKind::BadBody,
        KeystoneError::BadUrl(_) => ProblemKind::BadUrl,
    };
    Problem::new(kind, e.to_string())
}

fn swift_problem(e: &SwiftError) -> Problem {
    let kind = match e {
        SwiftError::Unauthorized { .. } => ProblemKind::Unauthorized,
        SwiftError::Forbidden { .. } => ProblemKind::Forbidden,
        SwiftError::NotFound { .. } => ProblemKind::NotFound,
        SwiftError::InfoDisabled => ProblemKind::InfoDisabled,
        SwiftError::Http { .. } => ProblemKind::Http,
        SwiftError::Transport(f) => failure_kind(f),
        SwiftError::BadBody(_) => ProblemKind::BadBody,
        SwiftError::NoV1Prefix(_) => ProblemKind::BadUrl,
    };
    Problem::new(kind, e.to_string())
}

fn failure_kind(f: &Failure) -> ProblemKind {
    match f {
        Failure::Unreachable(_) => ProblemKind::Unreachable,
        Failure::Timeout => ProblemKind::Timeout,
        Failure::Tls(_) => ProblemKind::Tls,
        Failure::Status { .. } => ProblemKind::Http,
        Failure::BadBody(_) => ProblemKind::BadBody,
    }
}

/// Why the application credential's expiry could not be read, as keystone.auth shows it.
fn expiry_problem(e: &KeystoneError) -> Problem {
    match e {
        KeystoneError::Transport(f) => Problem::new(failure_kind(f), f.to_string()),
        KeystoneError::Http { status, .. } => Problem::new(ProblemKind::Http, format!("reading the application credential answered HTTP {status}")),
        KeystoneError::BadBody(m) => Problem::new(ProblemKind::BadBody, m.clone()),
        _ => keystone_problem(e),
    }
}

fn timeout_problem(what: &str, d: &Deadline) -> Problem {
    Problem::new(ProblemKind::Timeout, format!("{what} did not answer within the run's --timeout ({}s)", d.total.as_secs_f32()))
}

/// Runs one call under the run's deadline, timing it.
async fn timed<T, E>(
    deadline: &Deadline,
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
    map: impl Fn(&E) -> Problem,
) -> (Outcome<T>, u64) {
    let t0 = Instant::now();
    let r = match tokio::time::timeout_at(deadline.at, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(map(&e)),
        Err(_) => Err(timeout_problem(what, deadline)),
    };
    (r, t0.elapsed().as_millis() as u64)
}

/// The plugin's `ReplaceAccount`: the first path segment with a reseller prefix gets the account.
pub fn replace_account(endpoint: &str, account: &str, prefixes: &[String]) -> String {
    let Ok(mut url) = url::Url::parse(endpoint) else { return endpoint.to_string() };
    let mut parts: Vec<String> = url.path().split('/').map(str::to_string).collect();
    for prefix in prefixes {
        if let Some(p) = parts.iter_mut().find(|p| p.starts_with(prefix.as_str())) {
            *p = format!("{prefix}{account}");
        }
    }
    url.set_path(&parts.join("/"));
    url.to_string()
}

/// Collects the OpenStack facts for the OpenStack BSLs in `facts`.
pub async fn collect(facts: &Facts, opts: &OpenStackOptions<'_>) -> OpenStackFacts {
    let mut out = OpenStackFacts { credentials_from: opts.credentials_from.clone(), insecure: opts.insecure, ..Default::default() };
    let Some(env) = opts.env else {
        out.not_attempted = Some("no credentials to use: the velero container's environment is unknown".into());
        return out;
    };
    let bsls: Vec<&BackupStorageLocation> = match &facts.kube.backup_storage_locations {
        Ok(all) => facts::select_bsls(all, opts.bsl_filter).into_iter().filter(|b| b.is_openstack()).collect(),
        Err(e) => {
            out.not_attempted = Some(format!("the BackupStorageLocations could not be read: {}", e.explain()));
            return out;
        }
    };
    if bsls.is_empty() {
        out.not_attempted = Some("no BackupStorageLocation uses the OpenStack plugin".into());
        return out;
    }
    let configs: Vec<(_, PluginConfig)> = bsls.iter().map(|b| (*b, plugin::effective(env, &b.spec.config))).collect();
    let first = &configs[0].1;
    let Some(method) = plugin::auth_method(env, first) else {
        out.not_attempted = Some(if first.is_complete() {
            "the credential values are not known (replayed bundle, or unreadable secret)".into()
        } else {
            format!("the credentials are incomplete ({})", first.missing.join(", "))
        });
        return out;
    };
    let auth_url = first.auth_url.clone().unwrap_or_default();
    let client = match http::client(&HttpOptions { timeout: opts.deadline.remaining(), ca_pem: opts.ca_pem.clone(), insecure: opts.insecure }) {
        Ok(c) => c,
        Err(e) => {
            out.not_attempted = Some(e.to_string());
            return out;
        }
    };

    let (token, auth_ms) = timed(&opts.deadline, "Keystone", keystone::authenticate(&client, &auth_url, &method), keystone_problem).await;
    tracing::debug!(target: "veldr::collect", auth_url = %auth_url, method = %method.describe(), ok = token.is_ok(), ms = auth_ms, "keystone auth");
    let Ok(tok) = token.clone() else {
        out.auth = Some(AuthFacts { auth_url, method: method.describe(), token: token.map(Into::into), credential_expires_at: None, elapsed_ms: auth_ms });
        out.targets = configs.into_iter().map(|(b, pc)| empty_target(b, pc)).collect();
        return out;
    };
    let expiry = async {
        match (&tok.application_credential, keystone::normalize_auth_url(&auth_url)) {
            (Some(cred), Ok((_, v3))) => Some(credential_expiry(&client, &v3, &tok, &cred.id, &opts.deadline).await),
            _ => None,
        }
    };
    // The account HEAD comes first, once per distinct endpoint: BSLs of one account share it, and
    // Swift validates a new token once instead of once per concurrent request (measured: 5 s → 1 s
    // at 20 BSLs, bench/). The container HEADs, /info and the probes then fan out.
    let swift_side = async {
        let mut endpoints: Vec<String> = configs.iter().filter_map(|(_, pc)| plugin_endpoint(&tok, pc).ok()).collect();
        endpoints.sort();
        endpoints.dedup();
        let heads = join_all(endpoints.iter().map(|ep| timed(&opts.deadline, "Swift", swift::head_account(&client, ep, &tok.value), swift_problem))).await;
        let accounts: BTreeMap<String, (Outcome<swift::AccountHead>, u64)> = endpoints.into_iter().zip(heads).collect();
        let targets = configs.into_iter().map(|(bsl, pc)| {
            let account = plugin_endpoint(&tok, &pc).ok().and_then(|ep| accounts.get(&ep).cloned());
            let (client, tok) = (client.clone(), tok.clone());
            async move { probe_target(&client, &tok, bsl, pc, account, &opts.deadline).await }
        });
        join_all(targets).await
    };
    let (credential_expires_at, targets) = futures::join!(expiry, swift_side);
    out.auth = Some(AuthFacts { auth_url, method: method.describe(), token: token.map(Into::into), credential_expires_at, elapsed_ms: auth_ms });
    out.targets = targets;
    out
}

/// The application credential's own expiry, under the run's deadline.
async fn credential_expiry(
    client: &reqwest::Client,
    v3: &str,
    token: &keystone::Token,
    cred_id: &str,
    deadline: &Deadline,
) -> Outcome<Option<jiff::Timestamp>> {
    match tokio::time::timeout_at(deadline.at, keystone::application_credential_expiry(client, v3, token, cred_id)).await {
        Ok(r) => r.map_err(|e| expiry_problem(&e)),
        Err(_) => Err(timeout_problem("Keystone", deadline)),
    }
}

fn empty_target(bsl: &BackupStorageLocation, plugin: PluginConfig) -> SwiftTarget {
    SwiftTarget {
        bsl: bsl.name().to_string(),
        container: bsl.spec.object_storage.bucket.clone(),
        plugin,
        endpoint: None,
        container_head: None,
        account_head: None,
        info: None,
        signing_key: None,
        probe_url: None,
        probe: None,
        timings_ms: BTreeMap::new(),
    }
}

/// The endpoint the plugin will use: the catalog's (by region, public), then the overrides.
pub fn plugin_endpoint(token: &keystone::Token, pc: &PluginConfig) -> Outcome<String> {
    let mut endpoint = match keystone::object_store_endpoint(&token.catalog, Some(&pc.region), "public") {
        Ok(e) => e,
        Err(e) if pc.endpoint_override.is_none() => {
            let kind = match e {
                keystone::EndpointError::NoService => ProblemKind::NoService,
                _ => ProblemKind::NoRegion,
            };
            return Err(Problem::new(kind, e.to_string()));
        }
        Err(_) => String::new(),
    };
    if let Some(account) = &pc.account_override {
        endpoint = replace_account(&endpoint, account, &pc.reseller_prefixes);
    }
    if let Some(over) = &pc.endpoint_override {
        endpoint = over.clone();
    }
    Ok(endpoint)
}

async fn probe_target(
    client: &reqwest::Client,
    token: &keystone::Token,
    bsl: &BackupStorageLocation,
    pc: PluginConfig,
    account: Option<(Outcome<swift::AccountHead>, u64)>,
    deadline: &Deadline,
) -> SwiftTarget {
    let mut t = empty_target(bsl, pc);
    let endpoint = plugin_endpoint(token, &t.plugin);
    t.endpoint = Some(endpoint.clone());
    let Ok(endpoint) = endpoint else { return t };

    let root = swift::swift_root(&endpoint);
    let container_fut = timed(deadline, "Swift", swift::head_container(client, &endpoint, &token.value, &t.container), swift_problem);
    let account_fut = async {
        match account {
            Some(done) => done,
            None => timed(deadline, "Swift", swift::head_account(client, &endpoint, &token.value), swift_problem).await,
        }
    };
    let info_fut = async {
        match &root {
            Ok(root) => timed(deadline, "Swift /info", swift::info(client, root), swift_problem).await,
            Err(e) => (Err(swift_problem(e)), 0),
        }
    };
    let ((container, c_ms), (account, a_ms), (info, i_ms)) = futures::join!(container_fut, account_fut, info_fut);
    t.timings_ms.insert("container".into(), c_ms);
    t.timings_ms.insert("account".into(), a_ms);
    t.timings_ms.insert("info".into(), i_ms);

    // The key the plugin signs with: env, else the container's, else the account's (never -2).
    let key = if let Some(k) = &t.plugin.temp_url_key {
        SigningKey::Env(k.clone())
    } else if let Some(k) = container.as_ref().ok().and_then(|c| c.temp_url_key.clone()) {
        SigningKey::Container(k)
    } else if let Some(k) = account.as_ref().ok().and_then(|a| a.temp_url_key.clone()) {
        SigningKey::Account(k)
    } else {
        SigningKey::None
    };
    t.container_head = Some(container.map(Into::into));
    t.account_head = Some(account.map(Into::into));
    t.info = Some(info.map(Into::into));

    let digest = t.plugin.digest();
    if let (Some(secret), Some(digest)) = (key.secret(), digest) {
        let expires = jiff::Timestamp::now().as_second() + tempurl::PLUGIN_TTL_SECS;
        match tempurl::plugin_signed_url(&endpoint, &t.container, PROBE_OBJECT, secret, digest, expires) {
            Ok(signed) => {
                t.probe_url = Some(signed.url_without_sig.clone());
                let (probe, p_ms) = timed(deadline, "Swift temp URL", swift::probe_tempurl(client, &signed), swift_problem).await;
                t.timings_ms.insert("probe".into(), p_ms);
                t.probe = Some(probe.map(Into::into));
            }
            Err(e) => t.probe = Some(Err(Problem::new(ProblemKind::BadUrl, e.to_string()))),
        }
    }
    t.signing_key = Some(key);
    t
}

// The client's answers become veldr's facts here, field by field: a change to the client then
// fails to compile instead of silently changing what a bundle holds.

impl From<keystone::Token> for facts::KeystoneToken {
    fn from(t: keystone::Token) -> Self {
        let domain = |d: Option<keystone::DomainInfo>| d.map(|d| facts::DomainInfo { id: d.id, name: d.name });
        facts::KeystoneToken {
            value: t.value,
            expires_at: t.expires_at,
            issued_at: t.issued_at,
            methods: t.methods,
            roles: t.roles,
            project: t.project.map(|p| facts::ProjectInfo { id: p.id, name: p.name, domain: domain(p.domain) }),
            user: facts::UserInfo { id: t.user.id, name: t.user.name, domain: domain(t.user.domain) },
            catalog: t.catalog.into_iter().map(Into::into).collect(),
            application_credential: t.application_credential.map(|a| facts::AppCredentialInfo {
                id: a.id,
                name: a.name,
                restricted: a.restricted,
                access_rules: a.access_rules,
            }),
        }
    }
}

impl From<keystone::CatalogEntry> for facts::CatalogEntry {
    fn from(c: keystone::CatalogEntry) -> Self {
        let endpoints = c.endpoints.into_iter();
        facts::CatalogEntry {
            service_type: c.service_type,
            name: c.name,
            endpoints: endpoints.map(|e| facts::CatalogEndpoint { interface: e.interface, region: e.region, region_id: e.region_id, url: e.url }).collect(),
        }
    }
}

impl From<swift::Ownership> for facts::Ownership {
    fn from(o: swift::Ownership) -> Self {
        match o {
            swift::Ownership::Owner { evidence } => facts::Ownership::Owner { evidence },
            swift::Ownership::Unknown => facts::Ownership::Unknown,
        }
    }
}

impl From<swift::AccountHead> for facts::AccountHead {
    fn from(a: swift::AccountHead) -> Self {
        facts::AccountHead {
            status: a.status,
            container_count: a.container_count,
            object_count: a.object_count,
            bytes_used: a.bytes_used,
            temp_url_key: a.temp_url_key,
            temp_url_key_2: a.temp_url_key_2,
            date: a.date,
            ownership: a.ownership.into(),
        }
    }
}

impl From<swift::ContainerHead> for facts::ContainerHead {
    fn from(c: swift::ContainerHead) -> Self {
        facts::ContainerHead {
            status: c.status,
            object_count: c.object_count,
            bytes_used: c.bytes_used,
            temp_url_key: c.temp_url_key,
            temp_url_key_2: c.temp_url_key_2,
            read_acl: c.read_acl,
            storage_policy: c.storage_policy,
            date: c.date,
            ownership: c.ownership.into(),
        }
    }
}

impl From<swift::SwiftInfo> for facts::SwiftInfo {
    fn from(i: swift::SwiftInfo) -> Self {
        facts::SwiftInfo {
            version: i.version,
            tempurl: i.tempurl.map(|t| facts::TempUrlInfo {
                methods: t.methods,
                allowed_digests: t.allowed_digests,
                allowed_digests_listed: t.allowed_digests_listed,
                deprecated_digests: t.deprecated_digests,
            }),
            sections: i.sections,
        }
    }
}

impl From<swift::ProbeOutcome> for facts::ProbeOutcome {
    fn from(p: swift::ProbeOutcome) -> Self {
        let verdict = match p.verdict {
            swift::ProbeVerdict::Accepted => facts::ProbeVerdict::Accepted,
            swift::ProbeVerdict::AcceptedObjectExists => facts::ProbeVerdict::AcceptedObjectExists,
            swift::ProbeVerdict::Rejected => facts::ProbeVerdict::Rejected,
            swift::ProbeVerdict::NotJudgedByTempurl => facts::ProbeVerdict::NotJudgedByTempurl,
            swift::ProbeVerdict::Unexpected { status } => facts::ProbeVerdict::Unexpected { status },
        };
        facts::ProbeOutcome { verdict, status: p.status, body_excerpt: p.body_excerpt, swift_date: p.swift_date, local_date: p.local_date }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use serde::Serialize;

    /// The fact serializes exactly as the client's answer did (bundles of schema 1 hold those).
    fn same_json<C: Serialize + Clone + Into<F>, F: Serialize>(client: &C) {
        let fact: F = client.clone().into();
        assert_eq!(serde_json::to_value(&fact).unwrap(), serde_json::to_value(client).unwrap());
    }

    #[test]
    fn facts_keep_the_bundle_shape_of_the_client_answers() {
        let body = r#"{"token": {"methods": ["application_credential"], "expires_at": "2026-11-29T09:00:00.000000Z",
            "user": {"id": "u1", "name": "velero-user", "domain": {"id": "default", "name": "Default"}},
            "project": {"id": "p1", "name": "veldr"}, "roles": [{"id": "r1", "name": "member"}],
            "catalog": [{"type": "object-store", "name": "swift", "endpoints": [{"interface": "public", "region": "R", "region_id": "R", "url": "http://s/v1/AUTH_p1"}]}],
            "application_credential": {"id": "ac1", "name": "velero", "restricted": true}}}"#;
        same_json::<_, facts::KeystoneToken>(&keystone::parse_token_body(Secret::new("tok"), body).unwrap());
        let owner = swift::Ownership::Owner { evidence: vec!["x-container-meta-temp-url-key".into()] };
        same_json::<_, facts::ContainerHead>(&swift::ContainerHead {
            status: 204,
            object_count: Some(1),
            bytes_used: Some(5),
            temp_url_key: Some(Secret::new("k")),
            temp_url_key_2: None,
            read_acl: Some(".r:*".into()),
            storage_policy: Some("Policy-0".into()),
            date: Some("2026-11-29T09:59:19Z".parse().unwrap()),
            ownership: owner,
        });
        same_json::<_, facts::AccountHead>(&swift::AccountHead {
            status: 204,
            container_count: Some(3),
            object_count: Some(0),
            bytes_used: None,
            temp_url_key: None,
            temp_url_key_2: Some(Secret::new("k2")),
            date: None,
            ownership: swift::Ownership::Unknown,
        });
        same_json::<_, facts::SwiftInfo>(&swift::parse_info(r#"{"swift": {"version": "2.38.3"}, "tempurl": {"methods": ["GET"], "allowed_digests": ["sha256"], "deprecated_digests": []}}"#).unwrap());
        for verdict in [
            swift::ProbeVerdict::Accepted,
            swift::ProbeVerdict::AcceptedObjectExists,
            swift::ProbeVerdict::Rejected,
            swift::ProbeVerdict::NotJudgedByTempurl,
            swift::ProbeVerdict::Unexpected { status: 500 },
        ] {
            same_json::<_, facts::ProbeOutcome>(&swift::ProbeOutcome {
                verdict,
                status: 401,
                body_excerpt: "401 Unauthorized: Temp URL invalid".into(),
                swift_date: None,
                local_date: "2026-11-29T09:59:19.414345634Z".parse().unwrap(),
            });
        }
    }

    #[test]
    fn problems_are_classified_by_what_failed() {
        assert_eq!(swift_problem(&SwiftError::InfoDisabled).kind, ProblemKind::InfoDisabled);
        assert_eq!(swift_problem(&SwiftError::Transport(Failure::Timeout)).kind, ProblemKind::Timeout);
        assert_eq!(keystone_problem(&KeystoneError::Transport(Failure::Tls("x".into()))).kind, ProblemKind::Tls);
        let p = expiry_problem(&KeystoneError::Http { status: 403, message: "no".into() });
        assert_eq!((p.kind, p.message.as_str()), (ProblemKind::Http, "reading the application credential answered HTTP 403"));
    }
}
