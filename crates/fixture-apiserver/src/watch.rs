//! `GET …?watch=true`: a stream of JSON watch events, one per chunk, as the API server sends them
//! (`{"type":"ADDED","object":{…}}`), from the store's history of changes.
//!
//! - `resourceVersion` unset or `"0"`: first a synthetic `ADDED` for every object that matches now,
//!   then the changes from here on (the API server's "Get State and Start at Most Recent").
//! - `resourceVersion=N`: every change after N, then the new ones. N older than what the server keeps
//!   (changes pushed out of the history) gets one `ERROR` event with a 410 `Expired` Status, as after
//!   etcd compaction: the client lists again.
//! - `labelSelector` / `fieldSelector` filter as for lists; an object that stops matching is sent as
//!   `DELETED`, one that starts matching as `ADDED` (as the API server's watch cache does).
//! - `timeoutSeconds` ends the stream (default 1800, the API server's `--min-request-timeout`); so
//!   does the client going away or the server stopping. `allowWatchBookmarks` is accepted; no
//!   bookmark is sent (the API server sends them at its discretion).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::handler::{api_version, bad_request, served, Reply, State};
use crate::selector::{self, FieldReq, Req};
use crate::store::{Change, ChangeKind, ResourceDef};

/// The API server's default watch length (`--min-request-timeout`, 1800 s).
const DEFAULT_TIMEOUT_SECS: u64 = 1800;
/// Events buffered for a slow reader before the stream waits for it.
const BUFFER: usize = 256;

struct Filter {
    group: String,
    plural: String,
    namespace: Option<String>,
    labels: Vec<Req>,
    fields: Vec<FieldReq>,
    api_version: String,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        selector::labels_match(&self.labels, obj) && selector::fields_match(&self.fields, obj)
    }

    /// The event a change makes for this watch, if any.
    fn event(&self, c: &Change) -> Option<(ChangeKind, Value)> {
        if c.group != self.group || c.plural != self.plural {
            return None;
        }
        if self.namespace.as_deref().is_some_and(|n| n != c.namespace) {
            return None;
        }
        let now = self.matches(&c.object);
        let before = c.old.as_ref().is_some_and(|o| self.matches(o));
        let kind = match (c.kind, before, now) {
            (ChangeKind::Added, _, true) => ChangeKind::Added,
            (ChangeKind::Deleted, _, true) => ChangeKind::Deleted,
            (ChangeKind::Modified, true, true) => ChangeKind::Modified,
            (ChangeKind::Modified, false, true) => ChangeKind::Added,
            (ChangeKind::Modified, true, false) => ChangeKind::Deleted,
            _ => return None,
        };
        Some((kind, served(&c.object, &self.api_version)))
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": kind, "object": object})).expect("json");
    v.push(b'\n');
    Bytes::from(v)
}

fn expired(rv: u64, oldest: u64) -> Bytes {
    line(
        "ERROR",
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("too old resource version: {rv} ({oldest})"),
            "reason": "Expired", "code": 410,
        }),
    )
}

/// Answers a watch request: checks its parameters, then streams from a task of its own.
pub fn start(state: Arc<State>, def: &ResourceDef, version: &str, ns: Option<&str>, q: &HashMap<String, String>) -> Reply {
    let labels = match selector::parse_labels(q.get("labelSelector").map(String::as_str).unwrap_or("")) {
        Ok(r) => r,
        Err(e) => return bad_request(&e),
    };
    let fields = match selector::parse_fields(q.get("fieldSelector").map(String::as_str).unwrap_or("")) {
        Ok(r) => r,
        Err(e) => return bad_request(&e),
    };
    let from: Option<u64> = match q.get("resourceVersion").map(String::as_str).unwrap_or("") {
        "" | "0" => None,
        s => match s.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return bad_request(&format!("invalid resource version: {s:?}")),
        },
    };
    if q.get("sendInitialEvents").is_some_and(|v| v == "true") {
        return bad_request("fixture-apiserver does not serve sendInitialEvents (streaming lists): list, then watch");
    }
    let timeout = match q.get("timeoutSeconds").filter(|s| !s.is_empty()) {
        None => DEFAULT_TIMEOUT_SECS,
        Some(s) => match s.parse::<u64>() {
            Ok(n) => n,
            Err(_) => return bad_request(&format!("invalid value for timeoutSeconds: {s:?}")),
        },
    };
    let filter = Filter {
        group: def.group.clone(),
        plural: def.plural.clone(),
        namespace: ns.map(str::to_string),
        labels,
        fields,
        api_version: api_version(def, version),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(BUFFER);
    tokio::spawn(stream(state, filter, from, Duration::from_secs(timeout), tx));
    Reply::streamed(rx)
}

/// What a watch sends first: the initial `ADDED`s (no resourceVersion), the changes after `from`, or
/// the 410 that ends it. Returns the lines and the resourceVersion they bring the watch to (`None`:
/// the watch is over).
fn opening(state: &State, filter: &Filter, from: Option<u64>) -> (Vec<Bytes>, Option<u64>) {
    let store = state.store.read().unwrap();
    match from {
        None => {
            let items: Vec<Bytes> = store
                .resource_any(&filter.group, &filter.plural)
                .and_then(|def| store.objects_of(def))
                .map(|m| {
                    m.iter()
                        .filter(|((ons, _), _)| filter.namespace.as_deref().is_none_or(|n| n == ons))
                        .filter(|(_, v)| filter.matches(v))
                        .map(|(_, v)| line("ADDED", &served(v, &filter.api_version)))
                        .collect()
                })
                .unwrap_or_default();
            (items, Some(store.resource_version))
        }
        Some(rv) => {
            // The history holds every change since the scenario was loaded, unless the oldest were
            // pushed out: a watch from before those would miss some.
            if rv < store.compacted {
                return (vec![expired(rv, store.compacted)], None);
            }
            (changes_after(&store.history, filter, rv), Some(store.resource_version.max(rv)))
        }
    }
}

fn changes_after(history: &std::collections::VecDeque<Change>, filter: &Filter, rv: u64) -> Vec<Bytes> {
    history
        .iter()
        .filter(|c| c.rv > rv)
        .filter_map(|c| filter.event(c))
        .map(|(kind, obj)| line(kind.as_str(), &obj))
        .collect()
}

async fn stream(state: Arc<State>, filter: Filter, from: Option<u64>, timeout: Duration, tx: tokio::sync::mpsc::Sender<Bytes>) {
    let mut changed = state.changed.subscribe();
    let mut stopping = state.stopping.subscribe();
    if *stopping.borrow() {
        return;
    }
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let (lines, mut at) = opening(&state, &filter, from);
    for l in lines {
        if tx.send(l).await.is_err() {
            return;
        }
    }
    while let Some(rv) = at {
        tokio::select! {
            _ = &mut deadline => return,
            _ = stopping.changed() => return,
            _ = tx.closed() => return,
            r = changed.changed() => if r.is_err() { return },
        }
        let lines = {
            let store = state.store.read().unwrap();
            at = Some(store.resource_version);
            changes_after(&store.history, &filter, rv)
        };
        for l in lines {
            if tx.send(l).await.is_err() {
                return;
            }
        }
    }
}
