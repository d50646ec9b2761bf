//! Asks Keystone and Swift what the plugin will meet: one token, then per OpenStack BSL the
//! endpoint, the container and account heads and `/info` (concurrently), then the live temp-URL
//! probe signed as the plugin signs. Read-only: GET/HEAD, plus the token POST.

use super::kube::Deadline;
use crate::facts::{
    self, AuthFacts, BackupStorageLocation, Facts, Object, OpenStackFacts, OpenStackRead, Outcome, Problem, ProblemKind, ResolvedEnv, SigningKey, SwiftTarget,
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

pub(super) fn swift_problem(e: &SwiftError) -> Problem {
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
pub(super) async fn timed<T, E>(
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
        out.auth = Some(AuthFacts { auth_url, method: method.describe(), token, credential_expires_at: None, elapsed_ms: auth_ms });
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
    out.auth = Some(AuthFacts { auth_url, method: method.describe(), token, credential_expires_at, elapsed_ms: auth_ms });
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
    t.timings_ms.insert(OpenStackRead::Container.key().into(), c_ms);
    t.timings_ms.insert(OpenStackRead::Account.key().into(), a_ms);
    t.timings_ms.insert(OpenStackRead::Info.key().into(), i_ms);

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
    t.container_head = Some(container);
    t.account_head = Some(account);
    t.info = Some(info);

    let digest = t.plugin.digest();
    if let (Some(secret), Some(digest)) = (key.secret(), digest) {
        let expires = jiff::Timestamp::now().as_second() + tempurl::PLUGIN_TTL_SECS;
        match tempurl::plugin_signed_url(&endpoint, &t.container, PROBE_OBJECT, secret, digest, expires) {
            Ok(signed) => {
                t.probe_url = Some(signed.url_without_sig.clone());
                let (probe, p_ms) = timed(deadline, "Swift temp URL", swift::probe_tempurl(client, &signed), swift_problem).await;
                t.timings_ms.insert(OpenStackRead::Probe.key().into(), p_ms);
                t.probe = Some(probe);
            }
            Err(e) => t.probe = Some(Err(Problem::new(ProblemKind::BadUrl, e.to_string()))),
        }
    }
    t.signing_key = Some(key);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_classified_by_what_failed() {
        assert_eq!(swift_problem(&SwiftError::InfoDisabled).kind, ProblemKind::InfoDisabled);
        assert_eq!(swift_problem(&SwiftError::Transport(Failure::Timeout)).kind, ProblemKind::Timeout);
        assert_eq!(keystone_problem(&KeystoneError::Transport(Failure::Tls("x".into()))).kind, ProblemKind::Tls);
        let p = expiry_problem(&KeystoneError::Http { status: 403, message: "no".into() });
        assert_eq!((p.kind, p.message.as_str()), (ProblemKind::Http, "reading the application credential answered HTTP 403"));
    }
}
