//! Reads the cluster: every kind once, concurrently, paged, each read under its own timeout.
//!
//! Round-trip depth is kept small on purpose: all lists start together (depth 1); only the objects
//! the velero container names (its secrets and config maps) are read after the Deployment list
//! (depth 2). No per-object loops over lists.

use crate::facts::{
    ApiGroup, HelmRelease, KubeFacts, List, Need, Object, Read, ReadError, ReadErrorKind, SecretInfo, ServerVersion, VsphereConfig,
    VsphereFeatureStates,
};
use crate::upstream::helm;
use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret as KubeSecret};
use super::graph::Slot;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// When every read of this run must have answered (`--timeout` from the start of the run).
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub at: tokio::time::Instant,
    pub total: Duration,
}

impl Deadline {
    pub fn after(total: Duration) -> Self {
        Deadline { at: tokio::time::Instant::now() + total, total }
    }
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(tokio::time::Instant::now())
    }
}

/// Page size for lists: big enough that typical clusters need one page, small enough to bound memory.
pub const PAGE_SIZE: u32 = 500;

/// How to reach the cluster (kubectl's habits).
#[derive(Debug, Clone, Default)]
pub struct KubeTarget {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A cluster that could not even be configured: bad kubeconfig, unknown context (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read kubeconfig {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// Builds a kube-rs client the way kubectl would find the cluster.
pub async fn client(target: &KubeTarget, read_timeout: Duration) -> Result<(Client, Option<String>, String), ConfigError> {
    let options = KubeConfigOptions { context: target.context.clone(), ..Default::default() };
    // The kubeconfig is read once; its current context names the target when --context is not given.
    let (mut config, current) = match &target.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| ConfigError::Unreadable { path: path.display().to_string(), reason: e.to_string() })?;
            let current = kc.current_context.clone();
            (Config::from_custom_kubeconfig(kc, &options).await.map_err(|e| ConfigError::Invalid(e.to_string()))?, current)
        }
        None => {
            let kc = kubeconfig_from_env();
            let current = kc.as_ref().and_then(|k| k.current_context.clone());
            let config = match kc {
                Some(kc) => Config::from_custom_kubeconfig(kc, &options).await.map_err(|e| ConfigError::Invalid(e.to_string()))?,
                None if target.context.is_some() => {
                    return Err(ConfigError::Invalid("--context given, but no kubeconfig found ($KUBECONFIG, ~/.kube/config)".into()))
                }
                None => Config::infer().await.map_err(|e| ConfigError::Invalid(format!("no Kubernetes configuration found: {e}")))?,
            };
            (config, current)
        }
    };
    config.read_timeout = Some(read_timeout);
    config.connect_timeout = Some(read_timeout.min(Duration::from_secs(10)));
    let server = config.cluster_url.to_string();
    let context = target.context.clone().or(current);
    let client = Client::try_from(config).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    Ok((client, context, server))
}

/// `$KUBECONFIG` as kubectl reads it (a `:`-separated list, missing files skipped, merged in order),
/// else `~/.kube/config`.
pub fn kubeconfig_from_env() -> Option<Kubeconfig> {
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| p.exists())
            .filter_map(|p| Kubeconfig::read_from(p).ok())
            .reduce(|acc, next| acc.clone().merge(next).unwrap_or(acc)),
        None => Kubeconfig::read().ok(),
    }
}

/// One kind to list: where it lives and how the RBAC message names it.
struct Kind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    /// `None`: list cluster-wide.
    namespaced: bool,
    /// A label selector that scopes the list (only what veldr judges of a kind with many objects).
    labels: Option<&'static str>,
}

impl Kind {
    const fn new(group: &'static str, version: &'static str, kind: &'static str, plural: &'static str, namespaced: bool) -> Self {
        Kind { group, version, kind, plural, namespaced, labels: None }
    }
    const fn labelled(self, selector: &'static str) -> Self {
        Kind { labels: Some(selector), ..self }
    }
    fn resource_name(&self) -> String {
        if self.group.is_empty() { self.plural.to_string() } else { format!("{}.{}", self.plural, self.group) }
    }
    fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(self.group, self.version, self.kind), self.plural)
    }
}

const DEPLOYMENTS: Kind = Kind::new("apps", "v1", "Deployment", "deployments", false);
const DAEMONSETS: Kind = Kind::new("apps", "v1", "DaemonSet", "daemonsets", true);
const PODS: Kind = Kind::new("", "v1", "Pod", "pods", true);
const EVENTS: Kind = Kind::new("", "v1", "Event", "events", true);
const BSLS: Kind = Kind::new("velero.io", "v1", "BackupStorageLocation", "backupstoragelocations", true);
const VSLS: Kind = Kind::new("velero.io", "v1", "VolumeSnapshotLocation", "volumesnapshotlocations", true);
const SCHEDULES: Kind = Kind::new("velero.io", "v1", "Schedule", "schedules", true);
const BACKUPS: Kind = Kind::new("velero.io", "v1", "Backup", "backups", true);
const PVBS: Kind = Kind::new("velero.io", "v1", "PodVolumeBackup", "podvolumebackups", true);
const REPOS: Kind = Kind::new("velero.io", "v1", "BackupRepository", "backuprepositories", true);
const RESTORES: Kind = Kind::new("velero.io", "v1", "Restore", "restores", true);
const DELETE_REQUESTS: Kind = Kind::new("velero.io", "v1", "DeleteBackupRequest", "deletebackuprequests", true);
const PVRS: Kind = Kind::new("velero.io", "v1", "PodVolumeRestore", "podvolumerestores", true);
// The data mover's kinds are still v2alpha1 in Velero 1.12–1.17; an older Velero answers 404 (NotServed).
const DATA_UPLOADS: Kind = Kind::new("velero.io", "v2alpha1", "DataUpload", "datauploads", true);
const DATA_DOWNLOADS: Kind = Kind::new("velero.io", "v2alpha1", "DataDownload", "datadownloads", true);
const VSCLASSES: Kind = Kind::new("snapshot.storage.k8s.io", "v1", "VolumeSnapshotClass", "volumesnapshotclasses", false);
const CSIDRIVERS: Kind = Kind::new("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false);
const STORAGECLASSES: Kind = Kind::new("storage.k8s.io", "v1", "StorageClass", "storageclasses", false);
const PVS: Kind = Kind::new("", "v1", "PersistentVolume", "persistentvolumes", false);
const PVCS: Kind = Kind::new("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", false);
// Namespaced, listed across all namespaces (a VolumeSnapshot lives with its PVC).
const VSNAPSHOTS: Kind = Kind::new("snapshot.storage.k8s.io", "v1", "VolumeSnapshot", "volumesnapshots", false);
const VSCONTENTS: Kind = Kind::new("snapshot.storage.k8s.io", "v1", "VolumeSnapshotContent", "volumesnapshotcontents", false);
// Velero's CRDs only (a cluster may hold hundreds of CRDs, each tens of kilobytes): the label Velero's
// installer and chart put on them.
const VELERO_CRDS: Kind =
    Kind::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false).labelled(crate::facts::crds::VELERO_CRD_LABEL);

/// Turns a kube-rs error into what a person can act on.
pub(crate) fn read_error(e: &kube::Error, verb: &str, resource: &str, namespace: Option<&str>) -> ReadError {
    let (kind, message) = match e {
        kube::Error::Api(status) => {
            let kind = match status.code {
                401 => ReadErrorKind::Unauthorized,
                403 => ReadErrorKind::Forbidden,
                // A 404 on a list means the API itself is not served (a CRD that is not installed);
                // its body is often plain text, so match on the code, not the reason.
                404 => ReadErrorKind::NotServed,
                _ => ReadErrorKind::Server,
            };
            // A body that is not a kube Status (a proxy's HTML page, "404 page not found") comes
            // back whole as the message, with this reason: keep one short line of it.
            let message = if status.reason == "Failed to parse error data" {
                crate::openstack::http::excerpt(&status.message, 120)
            } else {
                status.message.clone()
            };
            let msg = if message.is_empty() || message == "Failed to parse error data" {
                format!("HTTP {}", status.code)
            } else {
                format!("HTTP {}: {}", status.code, message)
            };
            (kind, msg)
        }
        kube::Error::SerdeError(err) => (ReadErrorKind::Malformed, format!("the answer could not be decoded: {err}")),
        other => classify_transport(other),
    };
    ReadError::new(kind, verb, resource, namespace, message)
}

/// Connection-level failures: the error chain says which (refused, deadline, TLS).
fn classify_transport(e: &kube::Error) -> (ReadErrorKind, String) {
    let mut chain = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        chain.push(err.to_string());
        cur = err.source();
    }
    classify_chain(&chain)
}

/// Classifies an error chain's texts. A connection cut mid-answer is told apart from a
/// certificate problem: rustls reports the former as "peer closed connection without sending
/// TLS close_notify", which names TLS but has nothing to do with the CA.
fn classify_chain(chain: &[String]) -> (ReadErrorKind, String) {
    let text = chain.join(": ");
    let lower = text.to_lowercase();
    let cause = last(chain).split(": https://").next().unwrap_or_default().to_string();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&["timed out", "timeout", "elapsed"]) {
        (ReadErrorKind::Timeout, "the API server did not answer in time".to_string())
    } else if has(&["certificate", "unknownissuer", "badsignature", "notvalidforname"]) {
        (ReadErrorKind::Unreachable, format!("TLS failure (is the cluster CA in the kubeconfig right?): {cause}"))
    } else if has(&["close_notify", "unexpected eof", "connection reset", "incomplete message", "connection closed", "broken pipe"]) {
        (
            ReadErrorKind::Unreachable,
            format!("the API server closed the connection before the answer was complete ({cause}); retry, and check proxies or load balancers on the way"),
        )
    } else if has(&["tls", "handshake"]) {
        (ReadErrorKind::Unreachable, format!("TLS failure (is the cluster CA in the kubeconfig right?): {cause}"))
    } else if has(&["refused"]) {
        (ReadErrorKind::Unreachable, format!("connection refused: {cause}"))
    } else {
        (ReadErrorKind::Unreachable, text)
    }
}

fn last(chain: &[String]) -> &str {
    chain.last().map(String::as_str).unwrap_or("")
}

fn timed_out(verb: &str, resource: &str, namespace: Option<&str>, after: Duration) -> ReadError {
    ReadError::new(ReadErrorKind::Timeout, verb, resource, namespace, format!("no answer within {}s", after.as_secs_f32()))
}

/// Runs one read under a timeout, mapping both failure kinds.
pub(super) async fn bounded<T>(
    fut: impl Future<Output = Result<T, kube::Error>>,
    deadline: Deadline,
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
) -> Read<T> {
    let _reading = super::progress::reading(resource);
    match tokio::time::timeout_at(deadline.at, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(read_error(&e, verb, resource, namespace)),
        Err(_) => Err(timed_out(verb, resource, namespace, deadline.total)),
    }
}

/// Lists one kind completely (following `continue`). Each page is decoded object by object
/// straight from the response text into `T` (no whole-object JSON tree is kept), so memory grows
/// with the fields veldr keeps and one malformed object never fails the list.
async fn list_all<T: Object>(client: &Client, kind: &Kind, namespace: &str, deadline: Deadline) -> Read<List<T>> {
    let ar = kind.api_resource();
    let ns = kind.namespaced.then_some(namespace);
    let url_path = <DynamicObject as kube::Resource>::url_path(&ar, ns);
    let resource = kind.resource_name();
    let fetch = async {
        let mut list = List::default();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(PAGE_SIZE);
            if let Some(sel) = kind.labels {
                lp = lp.labels(sel);
            }
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let req = kube::core::Request::new(&url_path).list(&lp).map_err(kube::Error::BuildRequest)?;
            let text = client.request_text(req).await?;
            let page: Page<&RawValue> = decode_json(&text)?;
            for raw in page.items.unwrap_or_default() {
                list.push_json(raw.get());
            }
            match page.metadata.continue_ {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(list)
    };
    bounded(fetch, deadline, "list", &resource, ns).await
}

/// One page of a list.
#[derive(serde::Deserialize)]
#[serde(bound(deserialize = "T: serde::Deserialize<'de>"))]
pub(super) struct Page<T> {
    #[serde(default)]
    pub(super) items: Option<Vec<T>>,
    #[serde(default)]
    pub(super) metadata: PageMeta,
}

#[derive(Default, serde::Deserialize)]
pub(super) struct PageMeta {
    #[serde(rename = "continue", default)]
    pub(super) continue_: Option<String>,
}

// Bodies are decoded here, not by kube's typed `get`/`list`: those log the whole body at WARN
// when it does not decode, and for a Secret, a Helm release or a Deployment with literal env
// values that body holds credentials. The error keeps the position, never the content.

pub(super) async fn list_json<T: serde::de::DeserializeOwned>(client: &Client, url_path: &str, lp: &ListParams) -> Result<Page<T>, kube::Error> {
    let req = kube::core::Request::new(url_path).list(lp).map_err(kube::Error::BuildRequest)?;
    decode_json(&client.request_text(req).await?)
}

/// A named object; `None` when it does not exist.
async fn get_json<T: serde::de::DeserializeOwned>(client: &Client, url_path: &str, name: &str) -> Result<Option<T>, kube::Error> {
    let req = kube::core::Request::new(url_path).get(name, &kube::api::GetParams::default()).map_err(kube::Error::BuildRequest)?;
    match client.request_text(req).await {
        Ok(text) => decode_json(&text).map(Some),
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) fn decode_json<'t, T: serde::Deserialize<'t>>(text: &'t str) -> Result<T, kube::Error> {
    serde_json::from_str(text).map_err(|e| kube::Error::SerdeError(content_free(&e)))
}

/// A serde error without the values it may quote.
fn content_free(e: &serde_json::Error) -> serde_json::Error {
    <serde_json::Error as serde::de::Error>::custom(crate::facts::list::content_free(e))
}

/// Names of secrets and config maps the velero container reads through env/envFrom.
#[derive(Debug, Default)]
pub struct Referenced {
    pub secrets: BTreeSet<String>,
    pub config_maps: BTreeSet<String>,
}

/// The Deployment list read before the rest (to find Velero's namespace) and how long it took.
pub type Prelisted = (Read<List<Deployment>>, u64);

/// Every Deployment in the cluster (they are listed cluster-wide in any case).
pub async fn list_deployments(client: &Client, deadline: Deadline) -> Read<List<Deployment>> {
    list_all(client, &DEPLOYMENTS, "", deadline).await
}

/// Lists `kind` when a selected check needs it; otherwise records that it was not read.
async fn list_if<T: Object>(plan: &Plan<'_>, need: Need, kind: &Kind) -> Read<List<T>> {
    if plan.needs.contains(&need) {
        plan.timed(need, list_all(plan.client, kind, plan.namespace, plan.deadline)).await
    } else {
        Err(ReadError::not_needed(&kind.resource_name()))
    }
}

/// What one collection reads, and the time each read took.
struct Plan<'a> {
    client: &'a Client,
    namespace: &'a str,
    needs: &'a BTreeSet<Need>,
    deadline: Deadline,
    times: std::sync::Mutex<BTreeMap<Need, u64>>,
}

impl Plan<'_> {
    async fn timed<T>(&self, need: Need, fut: impl Future<Output = T>) -> T {
        let t0 = std::time::Instant::now();
        let out = fut.await;
        let ms = t0.elapsed().as_millis() as u64;
        self.times.lock().unwrap_or_else(|e| e.into_inner()).insert(need, ms);
        out
    }
}

/// What the velero container's environment is resolved from, handed over as soon as it is read.
pub struct EnvSources<'s> {
    pub deployments: &'s Read<List<Deployment>>,
    pub secrets: &'s BTreeMap<String, Read<Option<SecretInfo>>>,
    pub config_maps: &'s BTreeMap<String, Read<Option<Vec<String>>>>,
    pub sensitive: &'s Sensitive,
}

/// How the velero container's environment is read: `referenced` names the secrets and config maps
/// it reads once the Deployments are known, `read` gets them the moment they are read (their
/// values are dropped right after).
pub struct EnvReads<R, E> {
    pub referenced: R,
    pub read: E,
}

/// Reads what `needs` asks for, all at once, the velero container's environment as `env` says;
/// the facts other reads wait for are published on `board` as they arrive.
pub async fn collect(
    client: &Client,
    namespace: &str,
    needs: &BTreeSet<Need>,
    deadline: Deadline,
    prelisted: Option<Prelisted>,
    board: &super::Board,
    env: EnvReads<impl Fn(&[Deployment]) -> Referenced, impl FnOnce(EnvSources<'_>)>,
) -> (KubeFacts, super::IoTimes) {
    let plan = Plan { client, namespace, needs, deadline, times: Default::default() };
    let plan = &plan;
    let api_started = std::time::Instant::now();
    let version = async {
        let v = bounded(client.apiserver_version(), deadline, "get", "/version", None).await;
        (v, api_started.elapsed().as_millis() as u64)
    };
    let groups = bounded(client.list_api_groups(), deadline, "get", "/apis", None);
    let namespace_obj = async {
        if !needs.contains(&Need::Namespace) {
            return Err(ReadError::not_needed("namespaces"));
        }
        let ns_api: Api<Namespace> = Api::all(client.clone());
        plan.timed(Need::Namespace, bounded(ns_api.get_opt(namespace), deadline, "get", "namespaces", None)).await.map(|n| {
            n.map(|mut n| {
                n.trim();
                n
            })
        })
    };
    let vsphere_config = async {
        if needs.contains(&Need::VsphereConfig) {
            plan.timed(Need::VsphereConfig, read_vsphere_config(client, deadline)).await
        } else {
            Err(ReadError::not_needed("secrets"))
        }
    };
    let vsphere_features = async {
        if needs.contains(&Need::VsphereFeatureStates) {
            plan.timed(Need::VsphereFeatureStates, read_vsphere_feature_states(client, deadline)).await
        } else {
            Err(ReadError::not_needed("configmaps"))
        }
    };
    let helm = async {
        if needs.contains(&Need::HelmReleases) {
            plan.timed(Need::HelmReleases, read_helm_releases(client, namespace, deadline)).await
        } else {
            Err(ReadError::not_needed("secrets"))
        }
    };

    // The velero container's log is read as soon as the Velero Deployment and the pods are in.
    let want_logs = needs.contains(&Need::VeleroLogs);
    let velero_deployment: Slot<Read<Option<Deployment>>> = Slot::default();
    let velero_pods: Slot<Read<List<Pod>>> = Slot::default();

    // Deployments first among equals: the secrets they name are read as soon as they arrive.
    let want_env = needs.contains(&Need::VeleroEnv);
    let deployments_then_refs = async {
        let deployments: Read<List<Deployment>> = if let Some((list, ms)) = prelisted {
            // Already read to find the namespace: kept (whatever the needs), not listed again.
            plan.times.lock().unwrap_or_else(|e| e.into_inner()).insert(Need::Deployments, ms);
            list
        } else if want_env || needs.contains(&Need::Deployments) {
            plan.timed(Need::Deployments, list_all(client, &DEPLOYMENTS, namespace, deadline)).await
        } else {
            Err(ReadError::not_needed(&DEPLOYMENTS.resource_name()))
        };
        if want_logs {
            velero_deployment.set(deployments.as_ref().map(|d| crate::upstream::velero::find_deployment(d, namespace).cloned()).map_err(Clone::clone));
        }
        let refs = match &deployments {
            Ok(items) if want_env => (env.referenced)(items),
            _ => Referenced::default(),
        };
        let secrets = read_named_secrets(client, namespace, &refs.secrets, deadline);
        let config_maps = read_named_config_maps(client, namespace, &refs.config_maps, deadline);
        let (secrets, config_maps) = plan.timed(Need::VeleroEnv, async { futures::join!(secrets, config_maps) }).await;
        let (secrets, config_maps, sensitive) = split_values(secrets, config_maps);
        (env.read)(EnvSources { deployments: &deployments, secrets: &secrets, config_maps: &config_maps, sensitive: &sensitive });
        (deployments, secrets, config_maps)
    };

    // The other lists start together with the above: each lands in its own field.
    let lists = async {
        futures::join!(
            list_if(plan, Need::DaemonSets, &DAEMONSETS),
            Box::pin(async {
                let read = list_if(plan, Need::Pods, &PODS);
                if want_logs { published(&velero_pods, read).await } else { read.await }
            }),
            list_if(plan, Need::Events, &EVENTS),
            published(&board.bsls, list_if(plan, Need::BackupStorageLocations, &BSLS)),
            list_if(plan, Need::VolumeSnapshotLocations, &VSLS),
            async {
                let read = list_if(plan, Need::Schedules, &SCHEDULES);
                if board.wants_schedules { published(&board.schedules, read).await } else { read.await }
            },
            async {
                let read = list_if(plan, Need::Backups, &BACKUPS);
                if board.wants_backups { published(&board.backups, read).await } else { read.await }
            },
            list_if(plan, Need::PodVolumeBackups, &PVBS),
            list_if(plan, Need::BackupRepositories, &REPOS),
            list_if(plan, Need::VolumeSnapshotClasses, &VSCLASSES),
            list_if(plan, Need::CsiDrivers, &CSIDRIVERS),
            list_if(plan, Need::StorageClasses, &STORAGECLASSES),
            list_if(plan, Need::PersistentVolumes, &PVS),
            list_if(plan, Need::PersistentVolumeClaims, &PVCS),
            list_if(plan, Need::VolumeSnapshots, &VSNAPSHOTS),
            list_if(plan, Need::VolumeSnapshotContents, &VSCONTENTS),
        )
    };
    // Velero's operation kinds, in a group of their own (one join! per group keeps each tuple readable).
    let operations = async {
        futures::join!(
            async {
                let read = list_if(plan, Need::Restores, &RESTORES);
                if board.wants_restores { published(&board.restores, read).await } else { read.await }
            },
            list_if(plan, Need::DeleteBackupRequests, &DELETE_REQUESTS),
            list_if(plan, Need::PodVolumeRestores, &PVRS),
            list_if(plan, Need::DataUploads, &DATA_UPLOADS),
            list_if(plan, Need::DataDownloads, &DATA_DOWNLOADS),
            list_if(plan, Need::VeleroCrds, &VELERO_CRDS),
        )
    };
    // The resource-policy ConfigMaps the Schedules name, read by name as soon as the Schedules are in.
    let policies_read = async {
        if !needs.contains(&Need::ResourcePolicies) {
            return Err(ReadError::new(ReadErrorKind::NotNeeded, "get", "configmaps", Some(namespace), "not read: no selected check needs it"));
        }
        match board.schedules.get().await {
            Ok(schedules) => Ok(plan.timed(Need::ResourcePolicies, read_resource_policies(client, namespace, schedules, deadline)).await),
            Err(e) => Err(ReadError::new(ReadErrorKind::NotAttempted, "get", "configmaps", Some(namespace), format!("the Schedules were not read: {}", e.explain()))),
        }
    };
    let logs_read = async {
        if !want_logs {
            return Err(ReadError::new(ReadErrorKind::NotNeeded, "get", "pods/log", Some(namespace), "not read: no selected check needs it"));
        }
        // Both slots are set on every path of their reads; the deadline bounds the wait all the same.
        let waited = tokio::time::timeout_at(deadline.at, async { futures::join!(velero_deployment.get(), velero_pods.get()) }).await;
        let Ok((deployment, pods)) = waited else {
            return Err(ReadError::new(ReadErrorKind::Timeout, "get", "pods/log", Some(namespace), "the Deployments and pods did not come within the run's --timeout"));
        };
        // On the heap: the log reads' futures are large, and a tokio worker's stack (veldr serve) is small.
        plan.timed(Need::VeleroLogs, Box::pin(super::logs::read(client, namespace, deployment, pods, deadline))).await
    };
    let ((version, api_server_ms), groups, namespace_obj, helm, (deployments, secrets, config_maps), lists, vsphere_config, vsphere_features, operations, (resource_policies, velero_logs)) =
        futures::join!(version, groups, namespace_obj, helm, deployments_then_refs, lists, vsphere_config, vsphere_features, operations, Box::pin(async { futures::join!(policies_read, logs_read) }));
    let (restores, delete_backup_requests, pod_volume_restores, data_uploads, data_downloads, velero_crds) = operations;
    let (daemonsets, pods, events, bsls, vsls, schedules, backups, pvbs, repos, vsclasses, csi_drivers, storage_classes, pvs, pvcs, vsnapshots, vscontents) =
        lists;

    let facts = KubeFacts {
        version: version.map(|v| ServerVersion { git_version: v.git_version, major: v.major, minor: v.minor, platform: v.platform }),
        api_groups: groups.map(|g| {
            g.groups
                .into_iter()
                .map(|g| ApiGroup { name: g.name, versions: g.versions.into_iter().map(|v| v.version).collect() })
                .collect()
        }),
        namespace: namespace_obj,
        deployments,
        daemonsets,
        pods,
        events,
        backup_storage_locations: bsls,
        volume_snapshot_locations: vsls,
        schedules,
        backups,
        pod_volume_backups: pvbs,
        backup_repositories: repos,
        restores,
        delete_backup_requests,
        pod_volume_restores,
        data_uploads,
        data_downloads,
        volume_snapshot_classes: vsclasses,
        csi_drivers,
        storage_classes,
        persistent_volumes: pvs,
        persistent_volume_claims: pvcs,
        volume_snapshots: vsnapshots,
        volume_snapshot_contents: vscontents,
        vsphere_config,
        vsphere_feature_states: vsphere_features,
        resource_policies,
        secrets,
        config_maps,
        helm_releases: helm,
        velero_crds,
        velero_logs,
    };
    let by_need = std::mem::take(&mut *plan.times.lock().unwrap_or_else(|e| e.into_inner()));
    (facts, super::IoTimes { api_server_ms, by_need, ..Default::default() })
}

/// A read whose answer other reads wait for: published on its slot the moment it arrives.
async fn published<T: Clone>(slot: &super::graph::Slot<T>, read: impl Future<Output = T>) -> T {
    let value = read.await;
    slot.set(value.clone());
    value
}

type SecretReads = Vec<(String, Read<Option<(SecretInfo, BTreeMap<String, Vec<u8>>)>>)>;
type ConfigMapReads = Vec<(String, Read<Option<(Vec<String>, BTreeMap<String, String>)>>)>;

/// The facts of the secrets and config maps read (names, keys) apart from their values.
#[allow(clippy::type_complexity)]
fn split_values(
    secrets: SecretReads,
    config_maps: ConfigMapReads,
) -> (BTreeMap<String, Read<Option<SecretInfo>>>, BTreeMap<String, Read<Option<Vec<String>>>>, Sensitive) {
    let mut sensitive = Sensitive::default();
    let secrets = secrets
        .into_iter()
        .map(|(name, read)| {
            let read = read.map(|found| {
                found.map(|(info, values)| {
                    sensitive.secrets.insert(name.clone(), values);
                    info
                })
            });
            (name, read)
        })
        .collect();
    let config_maps = config_maps
        .into_iter()
        .map(|(name, read)| {
            let read = read.map(|found| {
                found.map(|(keys, values)| {
                    sensitive.config_maps.insert(name.clone(), values);
                    keys
                })
            });
            (name, read)
        })
        .collect();
    (secrets, config_maps, sensitive)
}

/// Values read in this run for env resolution only. Never serialized, never logged.
#[derive(Default)]
pub struct Sensitive {
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

async fn read_named_secrets(client: &Client, namespace: &str, names: &BTreeSet<String>, deadline: Deadline) -> SecretReads {
    let url_path = <KubeSecret as kube::Resource>::url_path(&(), Some(namespace));
    let reads = names.iter().map(|name| {
        let url_path = &url_path;
        async move {
            let got = bounded(get_json::<KubeSecret>(client, url_path, name), deadline, "get", "secrets", Some(namespace)).await;
            (name.clone(), got.map(|o| o.map(secret_parts)))
        }
    });
    join_all(reads).await
}

fn secret_parts(s: KubeSecret) -> (SecretInfo, BTreeMap<String, Vec<u8>>) {
    let meta = &s.metadata;
    let created = meta.creation_timestamp.as_ref().map(|t| t.0);
    let last_changed = meta
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.time.as_ref().map(|t| t.0))
        .chain(created)
        .max();
    let mut values: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in s.data.iter().flatten() {
        values.insert(k.clone(), v.0.clone());
    }
    for (k, v) in s.string_data.iter().flatten() {
        values.insert(k.clone(), v.clone().into_bytes());
    }
    let info = SecretInfo {
        name: meta.name.clone().unwrap_or_default(),
        type_: s.type_.clone(),
        keys: values.keys().cloned().collect(),
        created,
        last_changed,
        resource_version: meta.resource_version.clone(),
    };
    (info, values)
}

async fn read_named_config_maps(client: &Client, namespace: &str, names: &BTreeSet<String>, deadline: Deadline) -> ConfigMapReads {
    let url_path = <ConfigMap as kube::Resource>::url_path(&(), Some(namespace));
    let reads = names.iter().map(|name| {
        let url_path = &url_path;
        async move {
            let got = bounded(get_json::<ConfigMap>(client, url_path, name), deadline, "get", "configmaps", Some(namespace)).await;
            let parts = got.map(|o| {
                o.map(|c| {
                    let data: BTreeMap<String, String> = c.data.unwrap_or_default().into_iter().collect();
                    (data.keys().cloned().collect(), data)
                })
            });
            (name.clone(), parts)
        }
    });
    join_all(reads).await
}

/// The ConfigMaps the Schedules name as their resource policy (`spec.template.resourcePolicy` of kind
/// `configmap`, as Velero compares it: case-insensitive), each read by name in Velero's namespace and
/// parsed at once; only the parsed policies are kept.
async fn read_resource_policies(
    client: &Client,
    namespace: &str,
    schedules: &List<crate::facts::Schedule>,
    deadline: Deadline,
) -> BTreeMap<String, Read<Option<crate::facts::ResourcePolicy>>> {
    let names: BTreeSet<String> = schedules
        .iter()
        .filter_map(|s| s.spec.template.resource_policy.as_ref())
        .filter(|r| r.kind.eq_ignore_ascii_case("configmap") && !r.name.is_empty())
        .map(|r| r.name.clone())
        .collect();
    let url_path = <ConfigMap as kube::Resource>::url_path(&(), Some(namespace));
    let reads = names.into_iter().map(|name| {
        let url_path = &url_path;
        async move {
            let got = bounded(get_json::<ConfigMap>(client, url_path, &name), deadline, "get", "configmaps", Some(namespace)).await;
            let parsed = got.map(|o| o.map(|c| crate::upstream::velero_resource_policy::from_config_map(&c.data.unwrap_or_default())));
            (name, parsed)
        }
    });
    join_all(reads).await.into_iter().collect()
}

/// GETs one named object in the first of `namespaces` that has it, asking the next only when it is
/// absent or refused there (so the usual case is one request); `None` when no namespace has it.
/// When none has it and one refused, the first refusal is the answer: the object may be there.
async fn get_first<T: serde::de::DeserializeOwned, U>(
    client: &Client,
    namespaces: &[&str],
    url_path: impl Fn(&str) -> String,
    resource: &str,
    name: &str,
    deadline: Deadline,
    keep: impl Fn(&str, T) -> U,
) -> Read<Option<U>> {
    let mut refused: Option<ReadError> = None;
    for ns in namespaces {
        match bounded(get_json::<T>(client, &url_path(ns), name), deadline, "get", resource, Some(ns)).await {
            Ok(Some(obj)) => return Ok(Some(keep(ns, obj))),
            Ok(None) => {}
            Err(e) if e.kind == ReadErrorKind::Forbidden => {
                refused.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    refused.map_or(Ok(None), Err)
}

/// The vSphere CSI config secret, reduced at once to its `[Snapshot]` limits: the file (with the
/// vCenter credentials) is parsed here and dropped with the Secret; it never reaches the facts.
async fn read_vsphere_config(client: &Client, deadline: Deadline) -> Read<Option<VsphereConfig>> {
    use crate::upstream::vsphere_csi;
    let path = |ns: &str| <KubeSecret as kube::Resource>::url_path(&(), Some(ns));
    get_first(client, &vsphere_csi::NAMESPACES, path, "secrets", vsphere_csi::CONFIG_SECRET, deadline, |ns, secret: KubeSecret| {
        let file = secret
            .data
            .as_ref()
            .and_then(|d| d.get(vsphere_csi::CONFIG_KEY))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .or_else(|| secret.string_data.as_ref().and_then(|d| d.get(vsphere_csi::CONFIG_KEY)).cloned());
        VsphereConfig {
            namespace: ns.to_string(),
            key_absent: file.is_none(),
            snapshot: file.as_deref().map(vsphere_csi::parse_snapshot_section).unwrap_or_default(),
        }
    })
    .await
}

/// The vSphere CSI feature-states ConfigMap, reduced to the block-volume-snapshot switch.
async fn read_vsphere_feature_states(client: &Client, deadline: Deadline) -> Read<Option<VsphereFeatureStates>> {
    use crate::upstream::vsphere_csi;
    let path = |ns: &str| <ConfigMap as kube::Resource>::url_path(&(), Some(ns));
    get_first(client, &vsphere_csi::NAMESPACES, path, "configmaps", vsphere_csi::FEATURE_STATES, deadline, |ns, cm: ConfigMap| VsphereFeatureStates {
        namespace: ns.to_string(),
        block_volume_snapshot: cm.data.and_then(|mut d| d.remove(vsphere_csi::BLOCK_VOLUME_SNAPSHOT)),
    })
    .await
}

/// Helm 3 keeps each release revision in a Secret labelled `owner=helm`.
async fn read_helm_releases(client: &Client, namespace: &str, deadline: Deadline) -> Read<Vec<HelmRelease>> {
    let url_path = <KubeSecret as kube::Resource>::url_path(&(), Some(namespace));
    let fetch = async {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().labels("owner=helm").limit(PAGE_SIZE);
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page: Page<KubeSecret> = list_json(client, &url_path, &lp).await?;
            for s in page.items.unwrap_or_default() {
                if s.type_.as_deref() != Some("helm.sh/release.v1") {
                    continue;
                }
                let labels = s.metadata.labels.clone().unwrap_or_default();
                let raw = s.data.as_ref().and_then(|d| d.get("release")).map(|b| b.0.clone());
                out.push(helm::decode_release(&labels, raw.as_deref()));
            }
            match page.metadata.continue_ {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        out.sort_by_key(|r: &HelmRelease| std::cmp::Reverse(r.revision));
        Ok(out)
    };
    bounded(fetch, deadline, "list", "secrets", Some(namespace)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_cut_mid_answer_is_not_blamed_on_the_ca() {
        let chain = [
            "error reading a body from connection".to_string(),
            "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof".to_string(),
        ];
        let (kind, msg) = classify_chain(&chain);
        assert_eq!(kind, ReadErrorKind::Unreachable);
        assert!(msg.contains("closed the connection before the answer was complete"), "{msg}");
        assert!(!msg.contains("CA") && !msg.contains("docs.rs"), "{msg}");

        let chain = ["client error (Connect)".to_string(), "invalid peer certificate: BadSignature".to_string()];
        let (kind, msg) = classify_chain(&chain);
        assert_eq!(kind, ReadErrorKind::Unreachable);
        assert!(msg.contains("TLS failure (is the cluster CA in the kubeconfig right?)") && msg.contains("BadSignature"), "{msg}");
    }

    #[test]
    fn a_body_that_does_not_decode_is_not_quoted() {
        let e = serde_json::from_str::<KubeSecret>(r#"{"immutable": "s3cr3t-value", "data": {}}"#).unwrap_err();
        assert!(e.to_string().contains("s3cr3t-value"), "serde quotes the value it refused: {e}");
        let shown = read_error(&kube::Error::SerdeError(content_free(&e)), "get", "secrets", Some("velero"));
        assert_eq!(shown.kind, ReadErrorKind::Malformed);
        assert!(!shown.explain().contains("s3cr3t"), "{}", shown.explain());
        assert!(shown.explain().contains("unexpected type (expected a boolean)"), "{}", shown.explain());
        let cut = decode_json::<Page<serde_json::Value>>(r#"{"items": [{"metadata": {"name": "#).err().unwrap();
        assert!(read_error(&cut, "list", "pods", None).message.contains("truncated"), "{cut}");
    }

    #[test]
    fn a_proxy_error_page_becomes_one_short_line() {
        let page = format!("<html>\n<head><title>502 Bad Gateway</title></head>\n<body>{}</body></html>", "x".repeat(5000));
        let status = kube::core::Status::failure(&page, "Failed to parse error data").with_code(502);
        let e = read_error(&kube::Error::Api(status.boxed()), "list", "pods", Some("velero"));
        assert_eq!(e.kind, ReadErrorKind::Server);
        assert!(e.message.starts_with("HTTP 502: <html> <head><title>502 Bad Gateway"), "{}", e.message);
        assert!(e.message.chars().count() < 140 && !e.message.contains('\n'), "{}", e.message);
    }
}
