//! restore-check's reads, nodes of the same graph as the doctor's under the run's one deadline:
//!
//! - at once: discovery (every served group, version and kind), the namespaces, and Velero's
//!   change-storage-class ConfigMaps;
//! - when the Backups, the BSLs and the token are there (the board): the BSL that holds the backup
//!   (the Backup's `storageLocation`; when this cluster has no such Backup, every Swift BSL is asked for
//!   its `velero-backup.json`), then its `velero-backup.json`, `<b>-resource-list.json.gz` and
//!   `<b>-volumeinfo.json.gz` together, read bounded with the token (the Swift API, not a temp URL);
//! - when the resource list and discovery are there: the tarball, streamed through a bounded channel
//!   into a blocking tar reader that keeps only the volume entries (and the CRDs of kinds not served
//!   here) and stops once it has every one the resource list names, at `--max-archive-bytes`, or at
//!   the deadline; and the backup's items that already exist here, listed per kind and namespace,
//!   metadata only.
//!
//! Read-only: GETs and lists. Nothing of the backup is kept but counts, names of volumes and classes,
//! and a few examples per kind.

use super::graph::Slot;
use super::kube::{bounded, decode_json, Deadline, Page};
use super::openstack::{swift_problem, timed};
use super::results::{backup_bsl, default_of, stores_of, Store};
use super::Board;
use crate::facts::restore::{
    ConflictFacts, ExistingItems, NamespaceConflicts, ResourceListFacts, RestoreFacts, ServedGroup, ServedKind, ServedVersion, StorageClassMap, StoreReads,
};
use crate::facts::{Backup, List, Object, Outcome, Problem, ProblemKind, Read};
use crate::openstack::swift;
use crate::secret::Secret;
use crate::upstream::velero_backup_archive::{self as archive, ArchiveContents, ArchiveEnd, ResourceList, Wanted};
use futures::future::{join_all, BoxFuture};
use futures::StreamExt;
use kube::api::ListParams;
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

/// What restore-check asks of collect.
#[derive(Debug, Clone)]
pub struct RestoreAsk {
    pub backup: String,
    /// Compressed bytes of the tarball read at most.
    pub archive_limit: u64,
}

/// The label selector of Velero's change-storage-class ConfigMap (velero v1.17.2
/// `pkg/plugin/framework/common/plugin_config.go` `PluginConfigLabelSelector` with
/// `PluginKindRestoreItemAction` and the action's name, `pkg/restore/actions/change_storageclass_action.go`).
pub const CHANGE_STORAGE_CLASS_SELECTOR: &str = "velero.io/plugin-config,velero.io/change-storage-class=RestoreItemAction";

/// Lists made at most to count the backup's items that exist here, and at once.
pub const CONFLICT_LISTS: usize = 200;
const CONFLICT_CONCURRENCY: usize = 8;
/// Pages of one such list (500 names each).
const CONFLICT_PAGES: usize = 4;

/// Every restore-check read. `http` gives the Swift HTTP client (built while the cluster is read).
pub(super) async fn collect<'a>(
    client: &Client,
    velero_ns: &str,
    ask: &RestoreAsk,
    board: &Board,
    http: impl Future<Output = Option<reqwest::Client>>,
    deadline: Deadline,
) -> RestoreFacts {
    let discovered: Slot<Read<Vec<ServedGroup>>> = Slot::default();
    let namespaces: Slot<Read<Vec<String>>> = Slot::default();
    let listed: Slot<Option<Arc<ResourceList>>> = Slot::default();

    let discovery = async {
        let _reading = super::progress::reading("discovery");
        let d = discovery(client, deadline).await;
        discovered.set(d.clone());
        d
    };
    let namespace_list = async {
        let n = namespace_names(client, deadline).await;
        namespaces.set(n.clone());
        n
    };
    let maps = storage_class_maps(client, velero_ns, deadline);
    let store = async {
        let waited = tokio::time::timeout_at(deadline.at, async { futures::join!(board.backups.get(), board.bsls.get(), board.token.get()) }).await;
        let Ok((backups, bsls, os)) = waited else {
            listed.set(None);
            return StoreReads { not_attempted: Some(format!("the Backups or the Keystone token did not come within the run's --timeout ({}s)", deadline.total.as_secs_f32())), ..Default::default() };
        };
        let client = http.await;
        store_reads(ask, backups, bsls, os, client, &listed, &discovered, deadline).await
    };
    let conflicts = async {
        let waited = tokio::time::timeout_at(deadline.at, async { futures::join!(listed.get(), discovered.get(), namespaces.get()) }).await;
        match waited {
            Err(_) => ConflictFacts { not_attempted: Some("the resource list, discovery or the namespaces did not come within the run's --timeout".into()), ..Default::default() },
            Ok((None, _, _)) => ConflictFacts { not_attempted: Some("the backup's resource list could not be read".into()), ..Default::default() },
            Ok((Some(list), d, n)) => conflicts(client, list, d, n, deadline).await,
        }
    };
    let (discovery, namespaces, storage_class_maps, store, conflicts) = futures::join!(discovery, namespace_list, maps, Box::pin(store), Box::pin(conflicts));
    RestoreFacts { backup: ask.backup.clone(), discovery, namespaces, storage_class_maps, store, conflicts }
}

/// Every served group/version and its kinds: aggregated discovery (2 requests), else per group.
async fn discovery(client: &Client, deadline: Deadline) -> Read<Vec<ServedGroup>> {
    let run = async {
        match kube::discovery::Discovery::new(client.clone()).run_aggregated().await {
            Ok(d) => Ok(d),
            Err(_) => kube::discovery::Discovery::new(client.clone()).run().await,
        }
    };
    bounded(run, deadline, "get", "/apis", None).await.map(|d| {
        d.groups()
            .map(|g| ServedGroup {
                name: g.name().to_string(),
                preferred: g.preferred_version_or_latest().to_string(),
                versions: g
                    .versions()
                    .map(|v| ServedVersion {
                        version: v.to_string(),
                        kinds: g
                            .versioned_resources(v)
                            .into_iter()
                            .map(|(ar, caps)| ServedKind { kind: ar.kind, plural: ar.plural, namespaced: caps.scope == kube::discovery::Scope::Namespaced })
                            .collect(),
                    })
                    .collect(),
            })
            .collect()
    })
}

/// One object's name, and nothing else of it.
#[derive(serde::Deserialize)]
struct Named {
    #[serde(default)]
    metadata: NameOnly,
}

#[derive(serde::Deserialize, Default)]
struct NameOnly {
    #[serde(default)]
    name: String,
}

/// The names of a list, asked as metadata only (`PartialObjectMetadataList`: a real API server then
/// sends no spec, data or status), at most `pages` pages; `true` when it was cut.
async fn list_names(client: &Client, url_path: &str, lp: &ListParams, pages: usize) -> Result<(Vec<String>, bool), kube::Error> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..pages {
        let mut lp = lp.clone().limit(super::kube::PAGE_SIZE);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let mut req = kube::core::Request::new(url_path).list(&lp).map_err(kube::Error::BuildRequest)?;
        req.headers_mut().insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"),
        );
        let text = client.request_text(req).await?;
        let page: Page<Named> = decode_json(&text)?;
        names.extend(page.items.unwrap_or_default().into_iter().map(|n| n.metadata.name));
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok((names, false)),
        }
    }
    Ok((names, true))
}

async fn namespace_names(client: &Client, deadline: Deadline) -> Read<Vec<String>> {
    let _reading = super::progress::reading("namespaces");
    bounded(list_names(client, "/api/v1/namespaces", &ListParams::default(), 40), deadline, "list", "namespaces", None).await.map(|(n, _)| n)
}

async fn storage_class_maps(client: &Client, namespace: &str, deadline: Deadline) -> Read<Vec<StorageClassMap>> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let url_path = <ConfigMap as kube::Resource>::url_path(&(), Some(namespace));
    let lp = ListParams::default().labels(CHANGE_STORAGE_CLASS_SELECTOR);
    let read = async {
        let req = kube::core::Request::new(&url_path).list(&lp).map_err(kube::Error::BuildRequest)?;
        let text = client.request_text(req).await?;
        let page: Page<ConfigMap> = decode_json(&text)?;
        Ok(page.items.unwrap_or_default())
    };
    bounded(read, deadline, "list", "configmaps", Some(namespace)).await.map(|items| {
        items
            .into_iter()
            .map(|c| StorageClassMap { name: c.metadata.name.unwrap_or_default(), data: c.data.unwrap_or_default().into_iter().collect() })
            .collect()
    })
}

fn not_attempted(why: impl Into<String>) -> StoreReads {
    StoreReads { not_attempted: Some(why.into()), ..Default::default() }
}

/// The reads of the backup's objects in the BSL.
#[allow(clippy::too_many_arguments)]
async fn store_reads(
    ask: &RestoreAsk,
    backups: &Read<List<Backup>>,
    bsls: &Read<List<crate::facts::BackupStorageLocation>>,
    os: &crate::facts::OpenStackFacts,
    client: Option<reqwest::Client>,
    listed: &Slot<Option<Arc<ResourceList>>>,
    discovered: &Slot<Read<Vec<ServedGroup>>>,
    deadline: Deadline,
) -> StoreReads {
    let done = |r: StoreReads| {
        if listed.peek().is_none() {
            listed.set(None);
        }
        r
    };
    if let Some(why) = &os.not_attempted {
        return done(not_attempted(format!("OpenStack was not asked: {why}")));
    }
    let token = match os.auth.as_ref().map(|a| &a.token) {
        Some(Ok(t)) => t.value.clone(),
        Some(Err(p)) => return done(not_attempted(format!("no Keystone token with {} credentials: {}", os.credentials_from, p.message))),
        None => return done(not_attempted("no Keystone token")),
    };
    let Some(client) = client else { return done(not_attempted("the HTTP client for Swift could not be built")) };
    let stores = stores_of(bsls, Some(os));
    let name = &ask.backup;
    let mut out = StoreReads::default();
    // The BSL: the Backup's, else the one whose store holds velero-backup.json.
    let here = backups.as_ref().ok().and_then(|list| list.iter().find(|b| b.name() == name.as_str()));
    let chosen: Option<(String, Store, Option<Outcome<Backup>>)> = match here {
        Some(b) => match backup_bsl(b, default_of(bsls)) {
            Some(bsl) => match stores.get(bsl) {
                Some(Ok(s)) => {
                    out.bsl_reason = Some(format!("the Backup's storageLocation, {bsl}"));
                    Some((bsl.to_string(), s.clone(), None))
                }
                Some(Err(why)) => return done(StoreReads { bsl: Some(bsl.into()), ..not_attempted(why.clone()) }),
                None => return done(StoreReads { bsl: Some(bsl.into()), ..not_attempted(format!("the Backup names BSL {bsl}, which does not exist here")) }),
            },
            None => return done(not_attempted("the Backup names no storageLocation and no BSL is the default")),
        },
        None => {
            // Not synced (yet) into this cluster: ask every Swift BSL, in name order, all at once.
            let candidates: Vec<(&String, &Store)> = stores.iter().filter_map(|(n, s)| s.as_ref().ok().map(|s| (n, s))).collect();
            if candidates.is_empty() {
                let why = stores.values().find_map(|s| s.as_ref().err().cloned()).unwrap_or_else(|| "no BackupStorageLocation here uses Swift".into());
                return done(not_attempted(why));
            }
            out.searched = candidates.iter().map(|(n, _)| n.to_string()).collect();
            let asks = candidates.iter().map(|(bsl, s)| {
                let key = archive::metadata_key(s.prefix.as_deref(), name);
                let (client, token) = (&client, &token);
                async move { (bsl.to_string(), (*s).clone(), read_metadata(client, s, token, &key, &deadline).await) }
            });
            let answers = join_all(asks).await;
            let found = answers.iter().find(|(_, _, m)| m.as_ref().is_some_and(|m| m.is_ok())).cloned();
            match found {
                Some((bsl, s, m)) => {
                    out.bsl_reason = Some(format!("not a Backup in this cluster; its velero-backup.json is in BSL {bsl}"));
                    Some((bsl, s, m))
                }
                None => {
                    // Say what the first BSL answered (404 or why it could not be read).
                    let (bsl, s, m) = answers.into_iter().next().expect("one candidate at least");
                    out.bsl = Some(bsl);
                    out.container = Some(s.container.clone());
                    out.prefix = s.prefix.clone();
                    out.metadata = m;
                    return done(out);
                }
            }
        }
    };
    let Some((bsl, store, metadata)) = chosen else { return done(out) };
    out.bsl = Some(bsl);
    out.container = Some(store.container.clone());
    out.prefix = store.prefix.clone();
    let prefix = store.prefix.as_deref();
    let times = std::sync::Mutex::new(BTreeMap::new());
    let timed_key = |key: &str, ms: u64| {
        times.lock().unwrap_or_else(|e| e.into_inner()).insert(key.to_string(), ms);
    };
    let metadata_read = async {
        match metadata {
            Some(m) => Some(m),
            None => {
                let key = archive::metadata_key(prefix, name);
                let t0 = std::time::Instant::now();
                let m = read_metadata(&client, &store, &token, &key, &deadline).await;
                timed_key(&key, t0.elapsed().as_millis() as u64);
                m
            }
        }
    };
    let list_then_archive = async {
        let key = archive::resource_list_key(prefix, name);
        let _reading = super::progress::reading("the backup's resource list");
        let fut = swift::get_object(&client, &store.endpoint, &token, &store.container, &key, archive::RESOURCE_LIST_READ_LIMIT);
        let (got, ms) = timed(&deadline, "Swift", fut, swift_problem).await;
        timed_key(&key, ms);
        let parsed: Outcome<(ResourceList, u64)> = match got {
            Ok(o) => tokio::task::spawn_blocking(move || ResourceList::parse(&o.bytes, o.cut).map(|l| (l, o.bytes.len() as u64)))
                .await
                .unwrap_or_else(|e| Err(Problem::new(ProblemKind::BadBody, format!("reading the resource list failed: {e}")))),
            Err(p) => Err(p),
        };
        let (facts, list) = match parsed {
            Ok((list, bytes)) => (Ok(ResourceListFacts::of(&list, bytes)), Some(Arc::new(list))),
            Err(p) => (Err(p), None),
        };
        listed.set(list.clone());
        // The tarball: what it must find comes from the list; the CRDs only for kinds not served here.
        let served = tokio::time::timeout_at(deadline.at, discovered.get()).await.ok().and_then(|d| d.as_ref().ok());
        let wanted = match &list {
            Some(l) => {
                let mut w = Wanted::from_list(l, crds_needed(l, served));
                // A whole read is needed to learn the format version too: ask for no more than the list says.
                if let Some(items) = w.items.as_mut() {
                    items.retain(|_, set| !set.is_empty());
                }
                w
            }
            None => Wanted::default(),
        };
        let key = archive::archive_key(prefix, name);
        let t0 = std::time::Instant::now();
        let _reading = super::progress::reading("the backup's tarball");
        let contents = stream_archive(&client, &store, &token, &key, ask.archive_limit, wanted, &deadline).await;
        timed_key(&key, t0.elapsed().as_millis() as u64);
        (facts, contents)
    };
    let results = async {
        let key = crate::upstream::velero_store::backup_results_key(prefix, name);
        let fut = swift::get_object(&client, &store.endpoint, &token, &store.container, &key, crate::upstream::velero_store::RESULTS_READ_LIMIT);
        let (got, ms) = timed(&deadline, "Swift", fut, swift_problem).await;
        timed_key(&key, ms);
        match got {
            Ok(o) => tokio::task::spawn_blocking(move || crate::upstream::velero_store::parse_results(&o.bytes, o.cut))
                .await
                .unwrap_or_else(|e| Err(Problem::new(ProblemKind::BadBody, format!("reading the results failed: {e}")))),
            Err(p) => Err(p),
        }
    };
    let volume_info = async {
        let key = archive::volume_info_key(prefix, name);
        let fut = swift::get_object(&client, &store.endpoint, &token, &store.container, &key, crate::upstream::velero_volumeinfo::READ_LIMIT);
        let (got, ms) = timed(&deadline, "Swift", fut, swift_problem).await;
        timed_key(&key, ms);
        match got {
            Ok(o) => tokio::task::spawn_blocking(move || crate::upstream::velero_volumeinfo::parse(&o.bytes, o.cut).map(Some))
                .await
                .unwrap_or_else(|e| Err(Problem::new(ProblemKind::BadBody, format!("reading the volume info failed: {e}")))),
            Err(p) if p.kind == ProblemKind::NotFound => Ok(None),
            Err(p) => Err(p),
        }
    };
    let (metadata, (list, contents), volume_info, results) = futures::join!(metadata_read, list_then_archive, volume_info, results);
    out.metadata = metadata;
    out.results = Some(results);
    out.resource_list = Some(list);
    out.archive = Some(contents);
    out.volume_info = Some(volume_info);
    out.timings_ms = times.into_inner().unwrap_or_else(|e| e.into_inner());
    done(out)
}

/// Whether the tarball read must look for CRDs: a kind of the list is not served here and the list
/// holds a CRD of its group (a whole restore creates that CRD first).
fn crds_needed(list: &ResourceList, served: Option<&Vec<ServedGroup>>) -> bool {
    let Some(served) = served else { return false };
    let crd_groups: BTreeSet<&str> = list.items_of("apiextensions.k8s.io", "CustomResourceDefinition").filter_map(|n| n.split_once('.').map(|(_, g)| g)).collect();
    list.kinds.iter().any(|k| {
        crd_groups.contains(k.gvk.group.as_str())
            && !served.iter().any(|g| g.name == k.gvk.group && g.versions.iter().any(|v| v.version == k.gvk.version && v.kinds.iter().any(|s| s.kind == k.gvk.kind)))
    })
}

/// `velero-backup.json`: `None` never (the Option says "read"), `Err` NotFound when it is not there.
async fn read_metadata(client: &reqwest::Client, store: &Store, token: &Secret, key: &str, deadline: &Deadline) -> Option<Outcome<Backup>> {
    let fut = swift::get_object(client, &store.endpoint, token, &store.container, key, archive::METADATA_READ_LIMIT);
    let (got, _) = timed(deadline, "Swift", fut, swift_problem).await;
    Some(got.and_then(|o| {
        if o.cut {
            return Err(Problem::new(ProblemKind::BadBody, format!("larger than the {} MiB veldr reads of it: not a Backup Velero wrote", archive::METADATA_READ_LIMIT >> 20)));
        }
        let mut b: Backup = serde_json::from_slice(&o.bytes)
            .map_err(|e| Problem::new(ProblemKind::BadBody, format!("not a Backup as Velero writes it ({})", crate::facts::list::content_free(&e))))?;
        b.trim();
        Ok(b)
    }))
}

/// Feeds a streamed Swift object to a blocking reader, chunk by chunk, through a bounded channel.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>,
    current: bytes::Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(m)) => return Err(std::io::Error::other(m)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

/// Chunks in flight between the HTTP stream and the tar reader: memory stays a few chunks, whatever
/// the tarball's size.
const CHANNEL_CHUNKS: usize = 4;

/// Streams `<b>.tar.gz` through [`archive::read_archive`] on a blocking thread.
async fn stream_archive(client: &reqwest::Client, store: &Store, token: &Secret, key: &str, limit: u64, wanted: Wanted, deadline: &Deadline) -> Outcome<ArchiveContents> {
    let mut resp = match tokio::time::timeout_at(deadline.at, swift::open_object(client, &store.endpoint, token, &store.container, key)).await {
        Err(_) => return Ok(ArchiveContents::empty(ArchiveEnd::Deadline)),
        Ok(Err(e)) => return Err(swift_problem(&e)),
        Ok(Ok(r)) => r,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, String>>(CHANNEL_CHUNKS);
    let parser = tokio::task::spawn_blocking(move || archive::read_archive(ChannelReader { rx, current: bytes::Bytes::new() }, limit, &wanted));
    let feed = async move {
        loop {
            let next = tokio::select! {
                _ = tx.closed() => break,
                n = tokio::time::timeout_at(deadline.at, resp.chunk()) => n,
            };
            let item = match next {
                Err(_) => Err(archive::DEADLINE_REACHED.to_string()),
                Ok(Err(e)) => Err(format!("reading from Swift: {}", crate::openstack::http::Failure::from_reqwest(&e))),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => Ok(c),
            };
            let last = item.is_err();
            if tx.send(item).await.is_err() || last {
                break;
            }
        }
    };
    let (parsed, ()) = futures::join!(parser, feed);
    parsed.map_err(|e| Problem::new(ProblemKind::BadBody, format!("reading the tarball failed: {e}")))
}

/// The backup's items that already exist here: for each namespace of the backup that exists here, the
/// names of each restorable namespaced kind it holds there, listed (metadata only) and matched.
async fn conflicts(client: &Client, list: &ResourceList, discovery: &Read<Vec<ServedGroup>>, namespaces: &Read<Vec<String>>, deadline: Deadline) -> ConflictFacts {
    let mut out = ConflictFacts::default();
    let here: BTreeSet<&str> = match namespaces {
        Ok(n) => n.iter().map(String::as_str).collect(),
        Err(e) => {
            out.not_attempted = Some(format!("the namespaces could not be listed: {}", e.explain()));
            return out;
        }
    };
    let served = match discovery {
        Ok(d) => d,
        Err(e) => {
            out.not_attempted = Some(format!("discovery failed: {}", e.explain()));
            return out;
        }
    };
    // (namespace, kind) → backed-up names; and the per-namespace item counts.
    let mut wanted: BTreeMap<(String, usize), BTreeSet<&str>> = BTreeMap::new();
    let mut per_ns: BTreeMap<String, usize> = BTreeMap::new();
    for (i, k) in list.kinds.iter().enumerate() {
        for item in &k.items {
            let (Some(ns), name) = archive::ListedKind::split(item) else { continue };
            if !here.contains(ns) {
                continue;
            }
            *per_ns.entry(ns.to_string()).or_insert(0) += 1;
            // Never a list of Secrets (least privilege: deploy/rbac-restore-check.yaml grants none).
            if k.gvk.group.is_empty() && k.gvk.kind == "Secret" {
                out.secrets_not_listed += 1;
            } else if archive::restorable(&k.gvk) {
                wanted.entry((ns.to_string(), i)).or_default().insert(name);
            }
        }
    }
    // The Namespace objects of the backup that exist here count too (Velero skips them).
    for ns in list.items_of("", "Namespace") {
        if here.contains(ns) {
            per_ns.entry(ns.to_string()).or_insert(0);
        }
    }
    let mut lists: Vec<(String, usize, String, String)> = Vec::new(); // (ns, kind index, url, label)
    for (ns, i) in wanted.keys() {
        let gvk = &list.kinds[*i].gvk;
        let Some((version, kind)) = served_as(served, &gvk.group, &gvk.version, &gvk.kind) else { continue };
        if !kind.namespaced {
            continue;
        }
        let base = if gvk.group.is_empty() { format!("/api/{version}") } else { format!("/apis/{}/{version}", gvk.group) };
        lists.push((ns.clone(), *i, format!("{base}/namespaces/{ns}/{}", kind.plural), label(&gvk.group, &gvk.kind)));
    }
    if lists.len() > CONFLICT_LISTS {
        out.not_listed = lists.len() - CONFLICT_LISTS;
        lists.truncate(CONFLICT_LISTS);
    }
    let _reading = super::progress::reading("the backup's objects that exist here");
    let reads: Vec<BoxFuture<'_, _>> = lists
        .into_iter()
        .map(|(ns, i, url, label)| {
            let resource = url.rsplit('/').next().unwrap_or_default().to_string();
            Box::pin(async move {
                let got = bounded(list_names(client, &url, &ListParams::default(), CONFLICT_PAGES), deadline, "list", &resource, Some(&ns)).await;
                (ns, i, label, got)
            }) as BoxFuture<'_, _>
        })
        .collect();
    let answers: Vec<(String, usize, String, Read<(Vec<String>, bool)>)> = futures::stream::iter(reads).buffer_unordered(CONFLICT_CONCURRENCY).collect().await;
    let mut by_ns: BTreeMap<String, BTreeMap<String, ExistingItems>> = BTreeMap::new();
    for (ns, i, label, got) in answers {
        match got {
            Ok((names, cut)) => {
                let backed: &BTreeSet<&str> = &wanted[&(ns.clone(), i)];
                let mut existing: Vec<String> = names.into_iter().filter(|n| backed.contains(n.as_str())).collect();
                if existing.is_empty() {
                    continue;
                }
                existing.sort();
                let e = by_ns.entry(ns).or_default().entry(label).or_default();
                e.count += existing.len();
                e.partial |= cut;
                e.examples.extend(existing.into_iter().take(archive::EXAMPLES));
                e.examples.truncate(archive::EXAMPLES);
            }
            Err(e) => out.unread.push(format!("{label} in {ns}: {}", e.explain())),
        }
    }
    out.unread.sort();
    out.namespaces = per_ns
        .into_iter()
        .map(|(ns, backed_up)| NamespaceConflicts { existing: by_ns.remove(&ns).unwrap_or_default(), namespace: ns, backed_up })
        .collect();
    out
}

/// `Kind.group` (core kinds: `Kind`).
fn label(group: &str, kind: &str) -> String {
    if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") }
}

/// How this cluster serves a kind: the same version when it serves it, else its preferred version.
pub fn served_as<'a>(served: &'a [ServedGroup], group: &str, version: &str, kind: &str) -> Option<(&'a str, &'a ServedKind)> {
    let g = served.iter().find(|g| g.name == group)?;
    let in_version = |v: &'a ServedVersion| v.kinds.iter().find(|k| k.kind == kind).map(|k| (v.version.as_str(), k));
    g.versions.iter().find(|v| v.version == version).and_then(in_version).or_else(|| {
        g.versions.iter().find(|v| v.version == g.preferred).and_then(in_version).or_else(|| g.versions.iter().find_map(in_version))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_served_as_its_version_else_the_preferred() {
        let k = |kind: &str| ServedKind { kind: kind.into(), plural: format!("{}s", kind.to_lowercase()), namespaced: true };
        let served = vec![ServedGroup {
            name: "autoscaling".into(),
            preferred: "v2".into(),
            versions: vec![ServedVersion { version: "v2".into(), kinds: vec![k("HorizontalPodAutoscaler")] }, ServedVersion { version: "v1".into(), kinds: vec![k("HorizontalPodAutoscaler")] }],
        }];
        assert_eq!(served_as(&served, "autoscaling", "v1", "HorizontalPodAutoscaler").unwrap().0, "v1");
        assert_eq!(served_as(&served, "autoscaling", "v2beta2", "HorizontalPodAutoscaler").unwrap().0, "v2");
        assert!(served_as(&served, "autoscaling", "v1", "Scale").is_none());
        assert!(served_as(&served, "example.com", "v1", "Widget").is_none());
    }
}
