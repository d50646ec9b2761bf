//! Collect: all I/O of a run, concurrent, once. Produces [`Facts`]; nothing here judges.
//!
//! A run is a graph of reads, not a sequence of phases: every read starts when the reads it needs
//! have answered ([`graph`]). The Kubernetes lists all start at once; the velero container's
//! environment is resolved as soon as its Deployment and the secrets it names are read, and
//! Keystone is asked at that moment, while the other lists and pages are still arriving; Swift is
//! asked when the token and catalog are there. The facts a read waits for are on the run's
//! [`Board`]. One deadline bounds every read, and a read that fails publishes its failure, so no
//! branch waits on another's trouble.
//!
//! Adding a read: if it needs nothing, start it with the others (a `list_if` in `kube::collect`);
//! if it needs another read's answer, give that answer a slot on the [`Board`], publish it where it
//! is read (`kube::published`), and `get().await` it in the new read.

pub mod clouds;
pub mod graph;
pub mod kube;
pub mod logs;
pub mod namespace;
pub mod newest;
pub mod openstack;
pub mod plugin_tls;
pub mod restore;
pub mod results;
pub mod tokens;
pub mod verify;

/// What a run is still reading, for the progress line on a terminal (`app::with_progress`).
/// Process-wide: each read holds a [`progress::Reading`] while it is in flight.
pub mod progress {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PENDING: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());

    /// A read in flight; dropping it (done, failed or cancelled) takes it off the list.
    pub struct Reading(u64);

    pub fn reading(what: impl Into<String>) -> Reading {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        PENDING.lock().unwrap_or_else(|e| e.into_inner()).insert(id, what.into());
        Reading(id)
    }

    impl Drop for Reading {
        fn drop(&mut self) {
            PENDING.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.0);
        }
    }

    /// What is in flight, oldest first, each name once.
    pub fn pending() -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for what in PENDING.lock().unwrap_or_else(|e| e.into_inner()).values() {
            if !out.contains(what) {
                out.push(what.clone());
            }
        }
        out
    }
}

use crate::facts::{self, Backup, BackupStorageLocation, Facts, List, Need, OpenStackFacts, OpenStackRead, Read, ResolvedEnv, Restore, Schedule, Target, BUNDLE_SCHEMA};
use crate::upstream::velero;
use self::graph::Slot;
use futures::FutureExt;
use self::kube::{Deadline, EnvSources, KubeTarget, Referenced};
use k8s_openapi::api::apps::v1::Deployment;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Where the OpenStack credentials come from (`--credentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsSource {
    /// What the velero container sees (default).
    Cluster,
    /// The operator's own `OS_*` variables.
    Env,
    /// A clouds.yaml entry.
    Cloud(String),
}

impl std::str::FromStr for CredentialsSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cluster" => Ok(CredentialsSource::Cluster),
            "env" => Ok(CredentialsSource::Env),
            _ => match s.strip_prefix("cloud:") {
                Some(name) if !name.is_empty() => Ok(CredentialsSource::Cloud(name.to_string())),
                _ => Err(format!("--credentials takes cluster, env or cloud:NAME, not {s:?}")),
            },
        }
    }
}

impl std::fmt::Display for CredentialsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialsSource::Cluster => f.write_str("cluster"),
            CredentialsSource::Env => f.write_str("env"),
            CredentialsSource::Cloud(n) => write!(f, "cloud:{n}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub target: KubeTarget,
    /// `None`: not said by -n, VELERO_NAMESPACE or the velero client config; found from the Deployments.
    pub namespace: Option<crate::collect::namespace::Resolved>,
    pub timeout: Duration,
    pub credentials: CredentialsSource,
    /// What the selected checks need (see `engine::Selection::needs`).
    pub needs: BTreeSet<Need>,
    pub bsl_filter: Vec<String>,
    pub insecure: bool,
    /// Keystone tokens kept from earlier runs (`veldr serve`); `None`: a new token each run.
    pub tokens: Option<tokens::TokenCache>,
    /// `veldr restore-check`: the backup to read and compare with this cluster.
    pub restore: Option<restore::RestoreAsk>,
}

/// The facts of a run that other reads wait for, each published once by the read that learns it.
#[derive(Default)]
pub struct Board {
    /// The velero container's environment (`None`: unknown): with `--credentials cluster`, once its
    /// Deployment and the secrets and config maps it names are read; otherwise at the start.
    pub env: Slot<Option<ResolvedEnv>>,
    /// The BackupStorageLocations (the plugin's config per BSL).
    pub bsls: Slot<Read<List<BackupStorageLocation>>>,
    /// The Backups, published only when a read waits for them (`wants_backups`).
    pub backups: Slot<Read<List<Backup>>>,
    pub wants_backups: bool,
    /// The Schedules, published only when a read waits for them (`wants_schedules`: the resource
    /// policies they name, their newest backups' objects).
    pub schedules: Slot<Read<List<Schedule>>>,
    pub wants_schedules: bool,
    /// The Restores, published only when their results are read too (`wants_restores`: the
    /// results of failed backups are read and velero.operations is judged).
    pub restores: Slot<Read<List<Restore>>>,
    pub wants_restores: bool,
    /// The OpenStack facts as far as the token: its value and each BSL's endpoint, Swift not yet asked.
    pub token: Slot<OpenStackFacts>,
}

/// Time spent reading each fact, for the `durationMs` of the checks that need it. Keyed by what
/// was read, never by check: collect knows no check ids.
#[derive(Debug, Clone, Default)]
pub struct IoTimes {
    /// The API server's version and groups (every check needs a cluster).
    pub api_server_ms: u64,
    pub by_need: BTreeMap<Need, u64>,
    /// The whole Kubernetes phase.
    pub kube_ms: u64,
    /// Each OpenStack read (the Swift ones: the slowest over the BSLs).
    pub openstack: BTreeMap<OpenStackRead, u64>,
    /// restore-check's reads (discovery, the backup's objects, the existing items), all together.
    pub restore_ms: u64,
}

impl IoTimes {
    /// The OpenStack reads' times, from what the facts recorded of them.
    fn record_openstack(&mut self, os: &crate::facts::OpenStackFacts) {
        if let Some(a) = &os.auth {
            self.openstack.insert(OpenStackRead::Token, a.elapsed_ms);
        }
        for read in OpenStackRead::SWIFT {
            if let Some(ms) = os.targets.iter().filter_map(|t| t.timings_ms.get(read.key())).max() {
                self.openstack.insert(read, *ms);
            }
        }
    }
}

/// What `needs` implies: Keystone and Swift are asked with the credentials the velero container
/// sees, for its OpenStack BSLs; the container's environment is read from its Deployment.
pub fn closure(needs: &BTreeSet<Need>) -> BTreeSet<Need> {
    let mut all = needs.clone();
    if all.contains(&Need::BackupResults) {
        all.extend([Need::OpenStack, Need::Backups]);
    }
    if all.contains(&Need::RestoreResults) {
        all.extend([Need::OpenStack, Need::Backups, Need::Restores]);
    }
    if all.contains(&Need::NewestBackups) {
        all.extend([Need::OpenStack, Need::Backups, Need::Schedules]);
    }
    if all.contains(&Need::ResourcePolicies) {
        all.insert(Need::Schedules);
    }
    if all.contains(&Need::OpenStack) {
        all.extend([Need::BackupStorageLocations, Need::VeleroEnv]);
    }
    if all.contains(&Need::VeleroEnv) {
        all.insert(Need::Deployments);
    }
    if all.contains(&Need::VeleroLogs) {
        all.extend([Need::Deployments, Need::Pods]);
    }
    all
}

/// Collects everything. Fails only when the cluster cannot even be configured (exit 2);
/// every read failure is recorded in the facts for the judges.
pub async fn collect(opts: &CollectOptions) -> Result<(Facts, IoTimes), kube::ConfigError> {
    let started = jiff::Timestamp::now();
    let deadline = Deadline::after(opts.timeout);
    let (client, context, server) = kube::client(&opts.target, opts.timeout).await?;
    let needs = closure(&opts.needs);
    let wants_results = needs.contains(&Need::BackupResults);
    let wants_restores = needs.contains(&Need::RestoreResults);
    let wants_newest = needs.contains(&Need::NewestBackups);
    let board = Board {
        wants_backups: wants_results || wants_restores || wants_newest || opts.restore.is_some(),
        wants_restores,
        wants_schedules: wants_newest || needs.contains(&Need::ResourcePolicies),
        ..Default::default()
    };
    // Known without reading the cluster: these credentials are there from the start.
    match &opts.credentials {
        CredentialsSource::Cluster => {}
        CredentialsSource::Env => board.env.set(Some(operator_env())),
        CredentialsSource::Cloud(name) => {
            let env = clouds::load(name).map_err(|e| kube::ConfigError::Invalid(format!("--credentials cloud:{name}: {e}")))?;
            board.env.set(Some(env));
        }
    }
    let ca_pem = match needs.contains(&Need::OpenStack).then(|| std::env::var_os("OS_CACERT")).flatten() {
        Some(path) => Some(std::fs::read(&path).map_err(|e| kube::ConfigError::Invalid(format!("OS_CACERT {}: {e}", path.to_string_lossy())))?),
        None => None,
    };

    // The OpenStack HTTP client is built on a blocking thread while the cluster is read: loading its
    // TLS roots takes ~6 ms, which would otherwise sit between the credentials and Keystone. A
    // failure is not reported here: the OpenStack side then builds its own and says why.
    let early_client = {
        let http_opts = crate::openstack::http::HttpOptions { timeout: deadline.total, ca_pem: ca_pem.clone(), insecure: opts.insecure };
        let built = needs.contains(&Need::OpenStack).then(|| tokio::task::spawn_blocking(move || crate::openstack::http::client(&http_opts).ok()));
        async move {
            match built {
                Some(handle) => handle.await.ok().flatten(),
                None => None,
            }
        }
        .boxed()
        .shared()
    };
    let plugin_trust: std::sync::Mutex<Option<plugin_tls::PluginTrust>> = std::sync::Mutex::new(None);
    let kube_started = std::time::Instant::now();
    let (chosen, prelisted) = choose_namespace(&client, opts.namespace.as_ref(), deadline).await;
    let ns = chosen.namespace.clone();
    let from_cluster = opts.credentials == CredentialsSource::Cluster;
    let kube_side = async {
        let (facts, mut io) = kube::collect(
            &client,
            &ns,
            &needs,
            deadline,
            prelisted,
            &board,
            kube::EnvReads {
                referenced: |deployments: &[Deployment]| referenced(deployments, &ns),
                read: |sources: EnvSources<'_>| {
                    let cluster_env = resolve_cluster_env(&sources, &ns);
                    // The CA files the plugin's trust holds are read now, while the values are at hand.
                    if needs.contains(&Need::OpenStack) {
                        let trust = plugin_tls::plugin_trust(sources.deployments, sources.sensitive, &ns, cluster_env.as_ref());
                        *plugin_trust.lock().unwrap_or_else(|e| e.into_inner()) = trust;
                    }
                    if from_cluster {
                        board.env.set(cluster_env);
                    }
                },
            },
        )
        .await;
        io.kube_ms = kube_started.elapsed().as_millis() as u64;
        (facts, io)
    };
    let openstack_side = async {
        if !needs.contains(&Need::OpenStack) {
            return None;
        }
        // Waits for exactly what Keystone needs: the credentials and the plugin's config per BSL.
        let waited = tokio::time::timeout_at(deadline.at, async { futures::join!(board.env.get(), board.bsls.get()) }).await;
        let Ok((env, bsls)) = waited else {
            let why = format!("the velero container's environment was not read within the run's --timeout ({}s)", deadline.total.as_secs_f32());
            return Some((OpenStackFacts { not_attempted: Some(why), credentials_from: opts.credentials.to_string(), insecure: opts.insecure, ..Default::default() }, 0));
        };
        let os_opts = openstack::OpenStackOptions {
            deadline,
            env: env.as_ref(),
            credentials_from: opts.credentials.to_string(),
            bsl_filter: &opts.bsl_filter,
            insecure: opts.insecure,
            ca_pem: ca_pem.clone(),
            tokens: opts.tokens.as_ref(),
            client: early_client.clone().await,
            token_ready: Some(&board.token),
        };
        let t0 = std::time::Instant::now();
        let _reading = progress::reading("Keystone and Swift");
        let os = openstack::collect(bsls, &os_opts).await;
        // Not asked at all (no credentials, no OpenStack BSL): what waits for the token learns why.
        board.token.set(os.clone());
        Some((os, t0.elapsed().as_millis() as u64))
    };
    // The results objects of failed backups: as soon as the Backups are listed and Swift has
    // validated the token (board.token is published then), alongside the container HEADs.
    let results_side = async {
        if !wants_results && !wants_restores {
            return None;
        }
        let waited = tokio::time::timeout_at(deadline.at, async { futures::join!(board.backups.get(), board.bsls.get(), board.token.get()) }).await;
        let Ok((backups, bsls, os)) = waited else {
            let why = format!("the Backups or the Keystone token did not come within the run's --timeout ({}s)", deadline.total.as_secs_f32());
            return Some((facts::BackupResultsFacts { not_attempted: Some(why), limit: results::MAX_BACKUPS, ..Default::default() }, 0));
        };
        let t0 = std::time::Instant::now();
        let http_opts = crate::openstack::http::HttpOptions { timeout: deadline.remaining(), ca_pem: ca_pem.clone(), insecure: opts.insecure };
        // Each side only when a judged check needs it: backup.failures the backups', velero.operations
        // the restores'.
        let restores = match wants_restores {
            true => tokio::time::timeout_at(deadline.at, board.restores.get()).await.ok(),
            false => None,
        };
        let inputs = results::Inputs { backups, read_backups: wants_results, restores, bsls, openstack: Some(os), now: started };
        let read = results::from_parts(&inputs, &http_opts, early_client.clone().await, &deadline).await;
        Some((read, t0.elapsed().as_millis() as u64))
    };
    // The objects of each Schedule's newest backup: like the results, once the Backups, the Schedules
    // and a validated token are there.
    let newest_side = async {
        if !wants_newest {
            return None;
        }
        let waited =
            tokio::time::timeout_at(deadline.at, async { futures::join!(board.backups.get(), board.schedules.get(), board.bsls.get(), board.token.get()) }).await;
        let Ok((backups, schedules, bsls, os)) = waited else {
            let why = format!("the Backups, the Schedules or the Keystone token did not come within the run's --timeout ({}s)", deadline.total.as_secs_f32());
            return Some((facts::NewestBackupsFacts { not_attempted: Some(why), limit: newest::MAX_SCHEDULES, ..Default::default() }, 0));
        };
        let t0 = std::time::Instant::now();
        let http_opts = crate::openstack::http::HttpOptions { timeout: deadline.remaining(), ca_pem: ca_pem.clone(), insecure: opts.insecure };
        let inputs = newest::Inputs { backups, schedules, bsls, openstack: Some(os) };
        let read = newest::from_parts(&inputs, &http_opts, early_client.clone().await, &deadline).await;
        Some((read, t0.elapsed().as_millis() as u64))
    };
    // restore-check's reads: discovery and the namespaces at once, the backup's objects in Swift when
    // the Backups and the token are there (collect::restore).
    let restore_side = async {
        let ask = opts.restore.as_ref()?;
        let t0 = std::time::Instant::now();
        let facts = restore::collect(&client, &ns, ask, &board, early_client.clone(), deadline).await;
        Some((facts, t0.elapsed().as_millis() as u64))
    };
    // On the heap: both sides are large futures, and a tokio worker's stack (veldr serve) is small.
    let ((kube_facts, mut io), openstack, results, newest, restore) =
        futures::join!(Box::pin(kube_side), Box::pin(openstack_side), Box::pin(results_side), Box::pin(newest_side), Box::pin(restore_side));

    let openstack = openstack.map(|(mut os, ms)| {
        io.by_need.insert(Need::OpenStack, ms);
        io.record_openstack(&os);
        if let Some((read, ms)) = results {
            io.by_need.insert(Need::BackupResults, ms);
            io.by_need.insert(Need::RestoreResults, ms);
            io.openstack.insert(OpenStackRead::Results, ms);
            os.backup_results = Some(read);
        }
        if let Some((read, ms)) = newest {
            io.by_need.insert(Need::NewestBackups, ms);
            os.newest_backups = Some(read);
        }
        os
    });
    let mut facts = Facts {
        schema_version: BUNDLE_SCHEMA,
        veldr: env!("CARGO_PKG_VERSION").to_string(),
        collected_at: started,
        target: Target { context, server: Some(server), namespace: ns, namespace_source: Some(chosen.source) },
        kube: kube_facts,
        velero_env: board.env.into_inner().flatten(),
        credentials_source: opts.credentials.to_string(),
        openstack,
        restore: restore.map(|(facts, ms)| {
            io.restore_ms = ms;
            facts
        }),
        verify: None,
    };
    // credentials.tls's handshakes need the hosts found above (auth URL, each BSL's endpoint).
    if let Some(os) = facts.openstack.as_ref() {
        let trust = plugin_trust.into_inner().unwrap_or_else(|e| e.into_inner());
        let _reading = progress::reading("TLS under the plugin's trust");
        let tls = plugin_tls::collect(&facts, os, trust.as_ref(), &deadline).await;
        if let Some(t) = &tls {
            io.openstack.insert(OpenStackRead::PluginTls, t.elapsed_ms);
        }
        if let Some(os) = facts.openstack.as_mut() {
            os.plugin_tls = tls;
        }
    }
    Ok((facts, io))
}

/// The namespace to read: the one already resolved, else the one the cluster-wide Deployment list
/// points at. That list is read first then (every namespaced read depends on the answer) and handed
/// on, so Deployments are still listed once.
async fn choose_namespace(
    client: &::kube::Client,
    known: Option<&crate::collect::namespace::Resolved>,
    deadline: Deadline,
) -> (crate::collect::namespace::Resolved, Option<kube::Prelisted>) {
    if let Some(r) = known {
        return (r.clone(), None);
    }
    let t0 = std::time::Instant::now();
    let deployments = kube::list_deployments(client, deadline).await;
    let chosen = match &deployments {
        Ok(list) => crate::collect::namespace::from_deployments(list),
        Err(_) => crate::collect::namespace::unlisted(),
    };
    (chosen, Some((deployments, t0.elapsed().as_millis() as u64)))
}

/// The secrets and config maps the Velero container names.
fn referenced(deployments: &[Deployment], namespace: &str) -> Referenced {
    let mut r = Referenced::default();
    if let Some(c) = velero::find_deployment(deployments, namespace).and_then(velero::server_container) {
        let (secrets, cms) = velero::referenced_objects(c);
        r.secrets.extend(secrets);
        r.config_maps.extend(cms);
        // And the ones behind the CA files the plugin's TLS reads (SSL_CERT_FILE, …) or OS_CACERT names.
        if let Some(spec) = velero::find_deployment(deployments, namespace).and_then(|d| d.spec.template.spec.as_ref()) {
            let (secrets, cms) = crate::upstream::plugin_trust::referenced_objects(spec, c);
            r.secrets.extend(secrets);
            r.config_maps.extend(cms);
        }
    }
    r
}

fn resolve_cluster_env(k: &EnvSources<'_>, namespace: &str) -> Option<ResolvedEnv> {
    let deployments = k.deployments.as_ref().ok()?;
    let dep = velero::find_deployment(deployments, namespace)?;
    let container = velero::server_container(dep)?;
    let dep_name = dep.metadata.name.as_deref().unwrap_or("velero");
    let secret = |name: &str| match (k.secrets.get(name), k.sensitive.secrets.get(name)) {
        (Some(Ok(Some(_))), Some(values)) => velero::Lookup::Found(values),
        (Some(Err(e)), _) => velero::Lookup::Unreadable(e.explain()),
        _ => velero::Lookup::Missing,
    };
    let config_map = |name: &str| match (k.config_maps.get(name), k.sensitive.config_maps.get(name)) {
        (Some(Ok(Some(_))), Some(values)) => velero::Lookup::Found(values),
        (Some(Err(e)), _) => velero::Lookup::Unreadable(e.explain()),
        _ => velero::Lookup::Missing,
    };
    Some(velero::resolve_env(dep_name, container, &secret, &config_map))
}

/// `--credentials env`: the operator's own `OS_*` (and `TLS_SKIP_VERIFY`) variables.
pub fn operator_env() -> ResolvedEnv {
    let mut env = ResolvedEnv { deployment: String::new(), container: "(operator environment)".into(), ..Default::default() };
    for (k, v) in std::env::vars() {
        if k.starts_with("OS_") || k == "TLS_SKIP_VERIFY" {
            env.vars.insert(k.clone(), crate::facts::EnvVar { value: velero::env_value(&k, v), source: "operator environment".into() });
        }
    }
    env
}
