//! Asks Keystone and Swift what the plugin will meet: one token, then per OpenStack BSL the
//! endpoint, the account and container heads, `/info` and the live temp-URL probe signed as the
//! plugin signs, each request made once however many BSLs share it, each started as soon as what
//! it needs is known. Read-only: GET/HEAD, plus the token POST.

use super::graph::{Memo, Slot};
use super::kube::Deadline;
use super::tokens::{CredentialKey, TokenCache};
use crate::facts::{
    self, AuthFacts, BackupStorageLocation, List, Object, OpenStackFacts, OpenStackRead, Outcome, Problem, ProblemKind, Read, ResolvedEnv, SigningKey,
    SwiftTarget,
};
use crate::openstack::http::{self, Failure, HttpOptions};
use crate::openstack::keystone::{self, KeystoneError};
use crate::openstack::swift::{self, SwiftError};
use crate::openstack::swift::ProbeOutcome;
use crate::openstack::tempurl::{self, Digest};
use crate::upstream::openstack_plugin::{self, PluginConfig};
use crate::secret::Secret;
use futures::future::{join_all, FutureExt};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

/// How long the reads that should follow Swift's validation of a new token (the credential's expiry,
/// the results of failed backups) wait for Swift's first answer: a Swift slower than that does not
/// hold them back longer.
const FIRST_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

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
    /// Tokens kept between runs (`veldr serve`); `None`: a new token every run.
    pub tokens: Option<&'a TokenCache>,
    /// The HTTP client, when it was built beforehand (collect builds it while the cluster is read:
    /// loading the TLS roots takes milliseconds that would otherwise delay Keystone).
    pub client: Option<reqwest::Client>,
    /// Where the facts as far as the token (its value, each BSL's endpoint) are published for the reads
    /// that need no more (the results of failed backups): once Swift has validated a new token (or
    /// [`FIRST_ANSWER_WAIT`] has passed), at once when there is no token.
    pub token_ready: Option<&'a Slot<OpenStackFacts>>,
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
        // A 401 here refuses the token itself (revoked): told apart so a kept token is renewed.
        KeystoneError::Http { status: 401, .. } => Problem::new(ProblemKind::Unauthorized, "reading the application credential answered HTTP 401"),
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

/// What the OpenStack reads start from: the OpenStack BSLs with the plugin's config for each, the
/// credential, and the HTTP client.
struct Plan<'b> {
    configs: Vec<(&'b BackupStorageLocation, PluginConfig)>,
    method: keystone::AuthMethod,
    auth_url: String,
    client: reqwest::Client,
}

/// Why nothing can be asked of OpenStack, or what to ask it.
fn plan<'b>(bsls: &'b Read<List<BackupStorageLocation>>, opts: &OpenStackOptions<'_>) -> Result<Plan<'b>, String> {
    let Some(env) = opts.env else {
        return Err("no credentials to use: the velero container's environment is unknown".into());
    };
    let bsls: Vec<&BackupStorageLocation> = match bsls {
        Ok(all) => facts::select_bsls(all, opts.bsl_filter).into_iter().filter(|b| b.is_openstack()).collect(),
        Err(e) => return Err(format!("the BackupStorageLocations could not be read: {}", e.explain())),
    };
    if bsls.is_empty() {
        return Err("no BackupStorageLocation uses the OpenStack plugin".into());
    }
    let configs: Vec<(_, PluginConfig)> = bsls.iter().map(|b| (*b, openstack_plugin::effective(env, &b.spec.config))).collect();
    let first = &configs[0].1;
    let Some(method) = openstack_plugin::auth_method(env, first) else {
        return Err(if first.is_complete() {
            "the credential values are not known (replayed bundle, or unreadable secret)".into()
        } else {
            format!("the credentials are incomplete ({})", first.missing.join(", "))
        });
    };
    let auth_url = first.auth_url.clone().unwrap_or_default();
    let client = match &opts.client {
        Some(c) => c.clone(),
        None => http::client(&HttpOptions { timeout: opts.deadline.remaining(), ca_pem: opts.ca_pem.clone(), insecure: opts.insecure })
            .map_err(|e| e.to_string())?,
    };
    Ok(Plan { configs, method, auth_url, client })
}

/// Collects the OpenStack facts for the OpenStack BSLs among `bsls`: one token for the credential,
/// then every Swift read once (see [`SwiftReads`]), the credential's expiry alongside.
pub async fn collect(bsls: &Read<List<BackupStorageLocation>>, opts: &OpenStackOptions<'_>) -> OpenStackFacts {
    let mut out = OpenStackFacts { credentials_from: opts.credentials_from.clone(), insecure: opts.insecure, ..Default::default() };
    let plan = match plan(bsls, opts) {
        Ok(p) => p,
        Err(why) => {
            out.not_attempted = Some(why);
            return out;
        }
    };
    let key = CredentialKey::of(&plan.auth_url, &plan.method);
    if let Some(kept) = opts.tokens.and_then(|c| c.fresh(&key, opts.deadline.total)) {
        // Published only once the kept token has proved good (a refused one is replaced below).
        let (credential_expires_at, targets) = with_token(&plan, &kept, &opts.deadline, || {}).await;
        if !refused(&credential_expires_at, &targets) {
            publish_token(&plan, &Ok(kept.clone()), 0, opts);
            // No request was made for this token in this run: its read took no time.
            out.auth = Some(AuthFacts { auth_url: plan.auth_url, method: plan.method.describe(), token: Ok(kept), credential_expires_at, elapsed_ms: 0 });
            out.targets = targets;
            return out;
        }
        // Keystone or Swift refused the kept token (revoked, Keystone's keys rotated): a new one,
        // and every read again with it, so the facts are those of a valid token.
        tracing::debug!(target: "veldr::collect", "the kept Keystone token was refused (401): authenticating again");
        if let Some(c) = opts.tokens {
            c.forget(&key);
        }
    }

    let (token, auth_ms) = timed(&opts.deadline, "Keystone", keystone::authenticate(&plan.client, &plan.auth_url, &plan.method), keystone_problem).await;
    tracing::debug!(target: "veldr::collect", auth_url = %plan.auth_url, method = %plan.method.describe(), ok = token.is_ok(), ms = auth_ms, "keystone auth");
    let (credential_expires_at, targets) = match &token {
        Ok(tok) => {
            if let Some(c) = opts.tokens {
                c.keep(key, tok.clone());
            }
            // The reads that wait for the token (the results of failed backups) get it once Swift
            // has validated it: each Swift request sent before that validates it again.
            with_token(&plan, tok, &opts.deadline, || publish_token(&plan, &token, auth_ms, opts)).await
        }
        Err(_) => {
            publish_token(&plan, &token, auth_ms, opts);
            (None, plan.configs.iter().map(|(b, pc)| empty_target(b, pc.clone())).collect())
        }
    };
    out.auth = Some(AuthFacts { auth_url: plan.auth_url, method: plan.method.describe(), token, credential_expires_at, elapsed_ms: auth_ms });
    out.targets = targets;
    out
}

/// Publishes the facts as far as the token: the token (or why there is none) and each BSL's endpoint.
fn publish_token(plan: &Plan<'_>, token: &Outcome<keystone::Token>, elapsed_ms: u64, opts: &OpenStackOptions<'_>) {
    let Some(slot) = opts.token_ready else { return };
    let targets = plan
        .configs
        .iter()
        .map(|(b, pc)| {
            let mut t = empty_target(b, pc.clone());
            t.endpoint = token.as_ref().ok().map(|tok| plugin_endpoint(tok, pc));
            t
        })
        .collect();
    let auth = AuthFacts { auth_url: plan.auth_url.clone(), method: plan.method.describe(), token: token.clone(), credential_expires_at: None, elapsed_ms };
    slot.set(OpenStackFacts { credentials_from: opts.credentials_from.clone(), insecure: opts.insecure, auth: Some(auth), targets, ..Default::default() });
}

/// A 401 from Keystone or Swift for a request made with the token.
fn refused(expiry: &Option<Outcome<Option<jiff::Timestamp>>>, targets: &[SwiftTarget]) -> bool {
    fn unauthorized<T>(r: Option<&Outcome<T>>) -> bool {
        matches!(r, Some(Err(p)) if p.kind == ProblemKind::Unauthorized)
    }
    unauthorized(expiry.as_ref()) || targets.iter().any(|t| unauthorized(t.account_head.as_ref()) || unauthorized(t.container_head.as_ref()))
}

/// Everything asked with a token: the credential's expiry (Keystone) alongside every BSL's Swift side;
/// `validated` is called once Swift has validated the token (see [`FIRST_ANSWER_WAIT`]).
async fn with_token(
    plan: &Plan<'_>,
    tok: &keystone::Token,
    deadline: &Deadline,
    validated: impl FnOnce(),
) -> (Option<Outcome<Option<jiff::Timestamp>>>, Vec<SwiftTarget>) {
    let reads = SwiftReads::new(&plan.client, tok, *deadline);
    // Swift's first answer with a new token, or FIRST_ANSWER_WAIT, whichever comes first.
    let swift_answered = || async {
        let _ = tokio::time::timeout(FIRST_ANSWER_WAIT, reads.validated.get()).await;
    };
    let hook = async {
        swift_answered().await;
        validated();
    };
    let expiry = async {
        // After Swift has validated the token, which every Swift read waits for: the expiry is only
        // keystone.auth's. Asked together, both queue on the same Keystone and the first Swift answer
        // comes later (the lab's single-process Keystone, paired runs: 1.44x the floor together,
        // 1.32x one after the other; BENCHMARKS.md).
        swift_answered().await;
        match (&tok.application_credential, keystone::normalize_auth_url(&plan.auth_url)) {
            (Some(cred), Ok((_, v3))) => Some(credential_expiry(&plan.client, &v3, tok, &cred.id, deadline).await),
            _ => None,
        }
    };
    let targets = async {
        let targets = join_all(plan.configs.iter().map(|(bsl, pc)| reads.target(bsl, pc.clone()))).await;
        reads.validated.set(());
        targets
    };
    let (expiry, targets, ()) = futures::join!(expiry, targets, hook);
    (expiry, targets)
}

/// The application credential's own expiry, under the run's deadline.
async fn credential_expiry(
    client: &reqwest::Client,
    v3: &str,
    token: &keystone::Token,
    cred_id: &str,
    deadline: &Deadline,
) -> Outcome<Option<jiff::Timestamp>> {
    let t0 = Instant::now();
    let expiry = match tokio::time::timeout_at(deadline.at, keystone::application_credential_expiry(client, v3, token, cred_id)).await {
        Ok(r) => r.map_err(|e| expiry_problem(&e)),
        Err(_) => Err(timeout_problem("Keystone", deadline)),
    };
    tracing::debug!(target: "veldr::collect", ok = expiry.is_ok(), ms = t0.elapsed().as_millis() as u64, "application credential expiry");
    expiry
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
        backup_listing: None,
        backup_objects: None,
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

/// An answer and the milliseconds its request took.
type Timed<T> = (Outcome<T>, u64);

/// The signed probe URL (without its signature), Swift's verdict, and how long it took (`None`:
/// not sent, the URL could not be signed).
type Probed = (Option<String>, Outcome<ProbeOutcome>, Option<u64>);

/// The Swift requests of one run, each made at most once however many BSLs share it: one account
/// HEAD per endpoint, one container HEAD per container, one `/info` per Swift, one temp-URL probe
/// per container, key and digest. Every BSL asks for what it needs; the first asker sends the
/// request and the others wait for the same answer.
struct SwiftReads<'a> {
    client: &'a reqwest::Client,
    token: &'a keystone::Token,
    deadline: Deadline,
    accounts: Memo<'a, String, Timed<swift::AccountHead>>,
    containers: Memo<'a, (String, String), Timed<swift::ContainerHead>>,
    infos: Memo<'a, String, Timed<swift::SwiftInfo>>,
    probes: Memo<'a, (String, String, String, &'static str), Probed>,
    /// The backups' listings (swift.capacity, backup.inventory), one per (endpoint, container, prefix).
    listings: Memo<'a, (String, String, String), Timed<swift::Listed>>,
    /// Set when Swift has first answered a request with the token (it has validated the token
    /// against Keystone), or when no such request is made.
    validated: Slot<()>,
}

impl<'a> SwiftReads<'a> {
    fn new(client: &'a reqwest::Client, token: &'a keystone::Token, deadline: Deadline) -> Self {
        SwiftReads { client, token, deadline, accounts: Memo::default(), containers: Memo::default(), infos: Memo::default(), probes: Memo::default(), listings: Memo::default(), validated: Slot::default() }
    }

    async fn account(&self, endpoint: &str) -> Timed<swift::AccountHead> {
        let (client, token, deadline, ep) = (self.client, self.token, self.deadline, endpoint.to_string());
        let answer = self
            .accounts
            .get(&ep.clone(), move || async move { timed(&deadline, "Swift", swift::head_account(client, &ep, &token.value), swift_problem).await }.boxed())
            .await;
        self.validated.set(());
        answer
    }

    async fn container(&self, endpoint: &str, container: &str) -> Timed<swift::ContainerHead> {
        let (client, token, deadline) = (self.client, self.token, self.deadline);
        let key = (endpoint.to_string(), container.to_string());
        let (ep, name) = key.clone();
        self.containers
            .get(&key, move || {
                async move { timed(&deadline, "Swift", swift::head_container(client, &ep, &token.value, &name), swift_problem).await }.boxed()
            })
            .await
    }

    async fn info(&self, root: &str) -> Timed<swift::SwiftInfo> {
        let (client, deadline, root) = (self.client, self.deadline, root.to_string());
        self.infos.get(&root.clone(), move || async move { timed(&deadline, "Swift /info", swift::info(client, &root), swift_problem).await }.boxed()).await
    }

    /// swift.capacity's and backup.inventory's read: one bounded, paged listing of `prefix` (the BSL's
    /// `backups/`), at most [`swift::LISTING_PAGES`] pages of `limit` objects.
    async fn listing(&self, endpoint: &str, container: &str, prefix: String, limit: u64) -> Timed<swift::Listed> {
        let (client, token, deadline) = (self.client, self.token, self.deadline);
        let key = (endpoint.to_string(), container.to_string(), prefix);
        let (ep, name, prefix) = key.clone();
        self.listings
            .get(&key, move || {
                async move {
                    let list = swift::list_objects(client, &ep, &token.value, &name, &prefix, limit, swift::LISTING_PAGES);
                    timed(&deadline, "Swift listing", list, swift_problem).await
                }
                .boxed()
            })
            .await
    }

    /// The live probe: a URL signed as the plugin signs it, for an object that does not exist.
    async fn probe(&self, endpoint: &str, container: &str, key: &Secret, digest: Digest) -> Probed {
        let (client, deadline) = (self.client, self.deadline);
        // Told apart by the key's full hash: the memo holds no key.
        let key_id = key.expose().map(|k| hex::encode(Sha256::digest(k.as_bytes()))).unwrap_or_else(|| key.fingerprint().to_string());
        let id = (endpoint.to_string(), container.to_string(), key_id, digest.name());
        let (endpoint, container, key) = (endpoint.to_string(), container.to_string(), key.clone());
        self.probes
            .get(&id, move || {
                async move {
                    let expires = jiff::Timestamp::now().as_second() + tempurl::PLUGIN_TTL_SECS;
                    match tempurl::plugin_signed_url(&endpoint, &container, PROBE_OBJECT, &key, digest, expires) {
                        Ok(signed) => {
                            let (probe, ms) = timed(&deadline, "Swift temp URL", swift::probe_tempurl(client, &signed), swift_problem).await;
                            (Some(signed.url_without_sig.clone()), probe, Some(ms))
                        }
                        Err(e) => (None, Err(Problem::new(ProblemKind::BadUrl, e.to_string())), None),
                    }
                }
                .boxed()
            })
            .await
    }

    /// One BSL's Swift side. `/info` needs no token and a probe signed with the environment's key
    /// needs neither token nor head: both start at once. The account HEAD goes first on its
    /// endpoint, so Swift validates a new token once (against Keystone) rather than once per
    /// concurrent request (measured: 5 s → 1 s at 20 BSLs, bench/); the container HEAD and
    /// swift.capacity's listing follow it together (a listing of a container that did not answer
    /// is dropped: its HEAD says why).
    async fn target(&self, bsl: &BackupStorageLocation, pc: PluginConfig) -> SwiftTarget {
        let mut t = empty_target(bsl, pc);
        let endpoint = plugin_endpoint(self.token, &t.plugin);
        t.endpoint = Some(endpoint.clone());
        let Ok(endpoint) = endpoint else { return t };
        let digest = t.plugin.digest();
        let (container_name, env_key) = (t.container.clone(), t.plugin.temp_url_key.clone());

        // Asked twice (here and by the listing for its limit), made once.
        let info_of = || async {
            match swift::swift_root(&endpoint) {
                Ok(root) => self.info(&root).await,
                Err(e) => (Err(swift_problem(&e)), 0),
            }
        };
        let info = info_of();
        let prefix = crate::upstream::velero_store::backups_dir(bsl.spec.object_storage.prefix.as_deref());
        let heads = async {
            let account = self.account(&endpoint).await;
            // The container HEAD and swift.capacity's listing together: the token is validated now.
            let listing = async {
                // Swift refuses (412) a limit above its container_listing_limit.
                let limit = match &info_of().await.0 {
                    Ok(i) => i.container_listing_limit.map_or(swift::LISTING_LIMIT, |l| l.min(swift::LISTING_LIMIT)),
                    Err(_) => swift::LISTING_LIMIT,
                };
                self.listing(&endpoint, &container_name, prefix, limit).await
            };
            let (container, listing) = futures::join!(self.container(&endpoint, &container_name), listing);
            (container, account, listing)
        };
        let early_probe = async {
            match (&env_key, digest) {
                (Some(k), Some(d)) => Some(self.probe(&endpoint, &container_name, k, d).await),
                _ => None,
            }
        };
        let ((info, i_ms), ((container, c_ms), (account, a_ms), (listing, l_ms)), early_probe) = futures::join!(info, heads, early_probe);
        // A listing of a container that did not answer says nothing more than its HEAD did.
        if container.is_ok() {
            t.timings_ms.insert(OpenStackRead::Listing.key().into(), l_ms);
            t.backup_objects = Some(listing.as_ref().map(|l| l.objects.clone()).map_err(Clone::clone));
            t.backup_listing = Some(listing.map(|l| l.listing));
        }
        t.timings_ms.insert(OpenStackRead::Container.key().into(), c_ms);
        t.timings_ms.insert(OpenStackRead::Account.key().into(), a_ms);
        t.timings_ms.insert(OpenStackRead::Info.key().into(), i_ms);

        // The key the plugin signs with: env, else the container's, else the account's (never -2).
        let key = if let Some(k) = env_key {
            SigningKey::Env(k)
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

        let probed = match (early_probe, key.secret(), digest) {
            (Some(p), _, _) => Some(p),
            (None, Some(secret), Some(d)) => Some(self.probe(&endpoint, &t.container, secret, d).await),
            _ => None,
        };
        if let Some((url, probe, ms)) = probed {
            t.probe_url = url;
            t.probe = Some(probe);
            if let Some(ms) = ms {
                t.timings_ms.insert(OpenStackRead::Probe.key().into(), ms);
            }
        }
        t.signing_key = Some(key);
        t
    }
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
