//! Loading a scenario directory: resource table (built-ins + CRDs) and objects.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::config::ServerConfig;

/// A served resource type.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    pub group: String,
    /// Served versions, preferred first.
    pub versions: Vec<String>,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
}

impl ResourceDef {
    /// `secrets` or `deployments.apps`, as in kube error messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// (group, version, plural, singular, kind, namespaced, short names)
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
);

const BUILTINS: &[Builtin] = &[
    (
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
    ),
    (
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
    ),
    ("", "v1", "events", "event", "Event", true, &["ev"]),
    (
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
    ),
    ("", "v1", "nodes", "node", "Node", false, &["no"]),
    (
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
    ),
    (
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
    ),
    ("", "v1", "pods", "pod", "Pod", true, &["po"]),
    ("", "v1", "secrets", "secret", "Secret", true, &[]),
    (
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
    ),
    ("", "v1", "services", "service", "Service", true, &["svc"]),
    (
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
    ),
    (
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
    ),
    (
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
    ),
    (
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
    ),
    (
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
    ),
    ("batch", "v1", "jobs", "job", "Job", true, &[]),
    (
        "storage.k8s.io",
        "v1",
        "csidrivers",
        "csidriver",
        "CSIDriver",
        false,
        &[],
    ),
    (
        "storage.k8s.io",
        "v1",
        "csinodes",
        "csinode",
        "CSINode",
        false,
        &[],
    ),
    (
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "storageclass",
        "StorageClass",
        false,
        &["sc"],
    ),
    (
        "storage.k8s.io",
        "v1",
        "volumeattachments",
        "volumeattachment",
        "VolumeAttachment",
        false,
        &[],
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        true,
        &[],
    ),
    (
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        false,
        &[],
    ),
    (
        "coordination.k8s.io",
        "v1",
        "leases",
        "lease",
        "Lease",
        true,
        &[],
    ),
];

/// Group order as a real server lists them in `/apis` (built-ins first).
const BUILTIN_GROUPS: &[&str] = &[
    "apps",
    "batch",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "rbac.authorization.k8s.io",
    "authorization.k8s.io",
    "coordination.k8s.io",
];

pub type Key = (String, String); // (namespace or "", name)

#[derive(Debug, Default)]
pub struct Store {
    /// All served resources, in group order then plural.
    pub resources: Vec<ResourceDef>,
    /// group names in `/apis` order (core excluded).
    pub groups: Vec<String>,
    /// (group, plural) → objects by (namespace, name).
    pub objects: HashMap<(String, String), BTreeMap<Key, Value>>,
    /// The list resourceVersion: above every object's, and the resourceVersion of the latest change.
    pub resource_version: u64,
    /// Non-fatal notes (unserved kinds, duplicates).
    pub warnings: Vec<String>,
    /// Container logs (`_logs.yaml`), served as `pods/NAME/log`.
    pub logs: Vec<crate::logs::ContainerLog>,
    /// Every change since the scenario was loaded, oldest first (what watches replay), at most
    /// [`HISTORY`]; a watch from before the oldest one kept is answered 410 Expired, as by a real server
    /// after etcd compaction.
    pub history: std::collections::VecDeque<Change>,
    /// The resourceVersion the scenario was loaded at.
    pub loaded_at: u64,
    /// The resourceVersion of the newest change pushed out of `history` (0: none): a watch from an
    /// older one would miss changes.
    pub compacted: u64,
}

/// Changes kept for watches.
pub const HISTORY: usize = 10_000;

/// What happened to an object (a watch event's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One change of the store: the object after it (for a deletion, as it was, with the deletion's
/// resourceVersion) and, for a modification, before it (a watch with a selector needs both).
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub kind: ChangeKind,
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub object: Value,
    pub old: Option<Value>,
}

/// Why a write was refused, as the API server would say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// 409 AlreadyExists.
    Exists(String),
    /// 404 NotFound.
    NotFound(String),
    /// 422 Invalid / 400 BadRequest: (code, message).
    Invalid(u16, String),
}

impl Store {
    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.resources.iter().find(|r| {
            r.group == group && r.plural == plural && r.versions.iter().any(|v| v == version)
        })
    }

    pub fn group_versions(&self, group: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.resources.iter().filter(|r| r.group == group) {
            for v in &r.versions {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
        out.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        out
    }

    pub fn resources_in(&self, group: &str, version: &str) -> Vec<&ResourceDef> {
        self.resources
            .iter()
            .filter(|r| r.group == group && r.versions.iter().any(|v| v == version))
            .collect()
    }

    pub fn objects_of(&self, r: &ResourceDef) -> Option<&BTreeMap<Key, Value>> {
        self.objects.get(&(r.group.clone(), r.plural.clone()))
    }

    /// The served resource of a group and plural, whatever its version.
    pub fn resource_any(&self, group: &str, plural: &str) -> Option<&ResourceDef> {
        self.resources.iter().find(|r| r.group == group && r.plural == plural)
    }

    fn record(&mut self, kind: ChangeKind, def: &ResourceDef, ns: &str, object: Value, old: Option<Value>) {
        if self.history.len() >= HISTORY {
            if let Some(c) = self.history.pop_front() {
                self.compacted = c.rv;
            }
        }
        self.history.push_back(Change {
            rv: self.resource_version,
            kind,
            group: def.group.clone(),
            plural: def.plural.clone(),
            namespace: ns.to_string(),
            object,
            old,
        });
    }

    fn next_rv(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    /// Creates an object as `POST` does: `metadata.name` or `generateName` (a random suffix of five
    /// characters from the API server's alphabet), the namespace of the request, a fresh uid,
    /// resourceVersion, creationTimestamp and generation. Returns the stored object.
    pub fn create(&mut self, def: &ResourceDef, ns: &str, mut obj: Value) -> Result<Value, WriteError> {
        let ns = if def.namespaced { ns } else { "" };
        if !obj.is_object() {
            return Err(WriteError::Invalid(400, "the body of the request was not a JSON object".into()));
        }
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let meta = obj["metadata"].as_object_mut().expect("object");
        match meta.get("namespace").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != ns && def.namespaced => {
                return Err(WriteError::Invalid(400, "the namespace of the provided object does not match the namespace sent on the request".into()))
            }
            _ => {}
        }
        let rv = self.resource_version + 1;
        let name = match meta.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => match meta.get("generateName").and_then(Value::as_str).filter(|n| !n.is_empty()) {
                Some(prefix) => format!("{prefix}{}", random_suffix(rv)),
                None => {
                    return Err(WriteError::Invalid(
                        422,
                        format!("{} \"\" is invalid: metadata.name: Required value: name or generateName is required", def.qualified()),
                    ))
                }
            },
        };
        let key: Key = (ns.to_string(), name.clone());
        if self.objects.get(&(def.group.clone(), def.plural.clone())).is_some_and(|m| m.contains_key(&key)) {
            return Err(WriteError::Exists(format!("{} \"{name}\" already exists", def.qualified())));
        }
        let rv = self.next_rv();
        meta.insert("name".into(), json!(name));
        if def.namespaced {
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        meta.insert("uid".into(), json!(uid_for(&[&def.group, &def.plural, ns, &name, &rv.to_string()])));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.insert("generation".into(), json!(1));
        meta.insert("creationTimestamp".into(), json!(crate::time::format_rfc3339(crate::time::unix_now())));
        let stored = obj.clone();
        self.objects.entry((def.group.clone(), def.plural.clone())).or_default().insert(key, obj);
        self.record(ChangeKind::Added, def, ns, stored.clone(), None);
        Ok(stored)
    }

    /// Changes an object in place (what a controller's update or patch does), with a new resourceVersion.
    pub fn update(&mut self, def: &ResourceDef, ns: &str, name: &str, change: impl FnOnce(&mut Value)) -> Result<Value, WriteError> {
        let ns = if def.namespaced { ns } else { "" };
        let map_key = (def.group.clone(), def.plural.clone());
        let key: Key = (ns.to_string(), name.to_string());
        let Some(current) = self.objects.get(&map_key).and_then(|m| m.get(&key)).cloned() else {
            return Err(WriteError::NotFound(format!("{} \"{name}\" not found", def.qualified())));
        };
        let mut next = current.clone();
        change(&mut next);
        // What identifies the object is not the caller's to change.
        for field in ["name", "namespace", "uid", "creationTimestamp"] {
            match current["metadata"].get(field) {
                Some(v) => next["metadata"][field] = v.clone(),
                None => {
                    if let Some(m) = next["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        let rv = self.next_rv();
        next["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects.get_mut(&map_key).expect("present").insert(key, next.clone());
        self.record(ChangeKind::Modified, def, ns, next.clone(), Some(current));
        Ok(next)
    }

    /// Deletes an object; returns it as it was, with the deletion's resourceVersion.
    pub fn delete(&mut self, def: &ResourceDef, ns: &str, name: &str) -> Result<Value, WriteError> {
        let ns = if def.namespaced { ns } else { "" };
        let key: Key = (ns.to_string(), name.to_string());
        let Some(mut gone) = self.objects.get_mut(&(def.group.clone(), def.plural.clone())).and_then(|m| m.remove(&key)) else {
            return Err(WriteError::NotFound(format!("{} \"{name}\" not found", def.qualified())));
        };
        let rv = self.next_rv();
        gone["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.record(ChangeKind::Deleted, def, ns, gone.clone(), None);
        Ok(gone)
    }
}

/// The API server's generateName suffix: five characters of `bcdfghjklmnpqrstvwxz2456789`
/// (k8s.io/apimachinery/pkg/util/rand), here derived from the resourceVersion so runs repeat.
fn random_suffix(seed: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    (0..5)
        .map(|_| {
            x ^= x >> 33;
            x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
            x ^= x >> 29;
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// Kubernetes version ordering: GA > beta > alpha, higher numbers first.
/// Returns a sortable tuple (higher = preferred).
fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    for (prefix, rank) in [("beta", 2u8), ("alpha", 1u8)] {
        if let Some(n) = tail.strip_prefix(prefix) {
            if let Ok(n) = n.parse::<u32>() {
                return (rank, major, n);
            }
        }
    }
    (0, 0, 0)
}

fn split_api_version(av: &str) -> (String, String) {
    match av.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), av.to_string()),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

/// A document read from a file, with where it came from.
struct Doc {
    file: String,
    value: Value,
}

fn parse_crd(doc: &Doc) -> anyhow::Result<ResourceDef> {
    let v = &doc.value;
    let name = str_at(v, &["metadata", "name"]).unwrap_or("?");
    let ctx = || format!("{}: CustomResourceDefinition {name}", doc.file);
    let group = str_at(v, &["spec", "group"])
        .ok_or_else(|| anyhow!("missing spec.group"))
        .with_context(ctx)?;
    let plural = str_at(v, &["spec", "names", "plural"])
        .ok_or_else(|| anyhow!("missing spec.names.plural"))
        .with_context(ctx)?;
    let kind = str_at(v, &["spec", "names", "kind"])
        .ok_or_else(|| anyhow!("missing spec.names.kind"))
        .with_context(ctx)?;
    let singular = str_at(v, &["spec", "names", "singular"])
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let namespaced = match str_at(v, &["spec", "scope"]).unwrap_or("Namespaced") {
        "Namespaced" => true,
        "Cluster" => false,
        other => {
            return Err(anyhow!(
                "spec.scope {other:?} is neither Namespaced nor Cluster"
            ))
            .with_context(ctx)
        }
    };
    let mut versions: Vec<String> = Vec::new();
    if let Some(vs) = v.pointer("/spec/versions").and_then(Value::as_array) {
        for ver in vs {
            let served = ver.get("served").and_then(Value::as_bool).unwrap_or(true);
            if let (true, Some(n)) = (served, ver.get("name").and_then(Value::as_str)) {
                versions.push(n.to_string());
            }
        }
    } else if let Some(ver) = str_at(v, &["spec", "version"]) {
        versions.push(ver.to_string());
    }
    if versions.is_empty() {
        return Err(anyhow!("no served version in spec.versions")).with_context(ctx);
    }
    versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    let short_names = v
        .pointer("/spec/names/shortNames")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(ResourceDef {
        group: group.to_string(),
        versions,
        plural: plural.to_string(),
        singular,
        kind: kind.to_string(),
        namespaced,
        // What this server serves for custom resources (a real one also serves update, patch, delete…;
        // veldr never needs them, so they are not advertised).
        verbs: vec!["create".into(), "get".into(), "list".into(), "watch".into()],
        short_names,
    })
}

/// Objects, and `_server.yaml` as (text, shown path).
type Docs = (Vec<Doc>, Option<(String, String)>);

fn read_docs(dir: &Path) -> anyhow::Result<Docs> {
    let rd = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read scenario directory {}", dir.display()))?;
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    let mut server = None;
    for path in files {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {shown}"))?;
        let fname = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        if fname == "_server.yaml" || fname == "_server.yml" {
            server = Some((text, shown));
            continue;
        }
        if fname.starts_with('_') {
            // Other `_*.yaml` files belong to the test harness (e.g. `_expect.yaml`).
            continue;
        }
        let values: Vec<Value> = if text.trim().is_empty() {
            Vec::new()
        } else {
            serde_saphyr::from_multiple(&text)
                .map_err(|e| anyhow!("YAML parse error in {shown}: {e}"))?
        };
        for (i, value) in values.into_iter().enumerate() {
            match value {
                Value::Null => {}
                Value::Object(_) => {
                    flatten_lists(value, &format!("{shown} (document {})", i + 1), &mut docs)?
                }
                other => bail!(
                    "{shown} (document {}): expected a Kubernetes object, got {other}",
                    i + 1
                ),
            }
        }
    }
    Ok((docs, server))
}

fn flatten_lists(value: Value, file: &str, out: &mut Vec<Doc>) -> anyhow::Result<()> {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "List"
        || (kind.ends_with("List") && value.get("items").map(Value::is_array).unwrap_or(false))
    {
        if let Some(Value::Array(items)) = value.get("items").cloned() {
            for (i, item) in items.into_iter().enumerate() {
                flatten_lists(item, &format!("{file} item {i}"), out)?;
            }
        }
        return Ok(());
    }
    if value.get("apiVersion").and_then(Value::as_str).is_none() {
        bail!("{file}: object without apiVersion");
    }
    if kind.is_empty() {
        bail!("{file}: object without kind");
    }
    if str_at(&value, &["metadata", "name"]).is_none() {
        bail!("{file}: {kind} without metadata.name");
    }
    out.push(Doc {
        file: file.to_string(),
        value,
    });
    Ok(())
}

/// Deterministic uid from a key.
fn uid_for(parts: &[&str]) -> String {
    let mut h1: u64 = 0xcbf29ce484222325;
    let mut h2: u64 = 0x84222325cbf29ce4;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0u8)) {
            h1 = (h1 ^ b as u64).wrapping_mul(0x100000001b3);
            h2 = (h2 ^ b as u64).wrapping_mul(0x100000001b3).rotate_left(7);
        }
    }
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h1 >> 32) as u32,
        (h1 >> 16) as u16,
        (h1 as u16) & 0xfff,
        (h2 >> 48) as u16 & 0xfff,
        h2 & 0xffff_ffff_ffff
    )
}

pub fn generated_uid(parts: &[&str]) -> String {
    uid_for(parts)
}

fn convert_string_data(obj: &mut Map<String, Value>) {
    let Some(Value::Object(sd)) = obj.remove("stringData") else {
        return;
    };
    let data = obj
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    let data = data.as_object_mut().expect("object");
    for (k, v) in sd {
        let s = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        data.insert(
            k,
            Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes())),
        );
    }
}

pub fn load(dir: &Path) -> anyhow::Result<(Store, ServerConfig)> {
    let (mut docs, server) = read_docs(dir)?;
    let config = match server {
        Some((text, file)) => ServerConfig::parse(&text, &file)?,
        None => ServerConfig::default(),
    };
    let now = match &config.now {
        Some(t) => crate::time::parse_rfc3339(t)
            .ok_or_else(|| anyhow!("_server.yaml: now {t:?} is not like 2025-01-31T12:00:00Z"))?,
        None => crate::time::unix_now(),
    };
    for doc in &mut docs {
        crate::time::substitute_now(&mut doc.value, now).with_context(|| doc.file.clone())?;
    }

    let mut resources: Vec<ResourceDef> = BUILTINS
        .iter()
        .map(|&(g, v, p, s, k, ns, short)| ResourceDef {
            group: g.into(),
            versions: vec![v.into()],
            plural: p.into(),
            singular: s.into(),
            kind: k.into(),
            namespaced: ns,
            verbs: if p == "selfsubjectaccessreviews" {
                vec!["create".into()]
            } else {
                vec!["get".into(), "list".into(), "watch".into()]
            },
            short_names: short.iter().map(|s| s.to_string()).collect(),
        })
        .collect();
    let mut groups: Vec<String> = BUILTIN_GROUPS.iter().map(|s| s.to_string()).collect();

    // CRDs first: they decide which custom kinds are served.
    let mut custom_groups = BTreeSet::new();
    for doc in &docs {
        let av = doc
            .value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = doc.value.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind == "CustomResourceDefinition" && av.starts_with("apiextensions.k8s.io/") {
            let def = parse_crd(doc)?;
            if resources
                .iter()
                .any(|r| r.group == def.group && r.plural == def.plural)
            {
                continue;
            }
            if !groups.contains(&def.group) {
                custom_groups.insert(def.group.clone());
            }
            resources.push(def);
        }
    }
    groups.extend(custom_groups);

    let mut store = Store {
        resources,
        groups,
        logs: crate::logs::load(dir, now)?,
        ..Default::default()
    };
    let mut next_rv: u64 = 1000;
    let mut pending_rv: Vec<(String, String, Key)> = Vec::new();
    let mut namespaces_used: BTreeSet<String> = BTreeSet::new();

    for doc in docs {
        let Doc { file, mut value } = doc;
        let av = value["apiVersion"].as_str().unwrap_or("").to_string();
        let kind = value["kind"].as_str().unwrap_or("").to_string();
        let (group, version) = split_api_version(&av);
        let Some(def) = store
            .resources
            .iter()
            .find(|r| r.group == group && r.kind == kind && r.versions.contains(&version))
            .cloned()
        else {
            store
                .warnings
                .push(format!("{file}: {kind} ({av}) is not served (no built-in resource and no CustomResourceDefinition)"));
            continue;
        };
        let obj = value.as_object_mut().expect("object");
        if def.group.is_empty() && def.plural == "secrets" {
            convert_string_data(obj);
        }
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(|| anyhow!("{file}: metadata is not a mapping"))?;
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let ns = if def.namespaced {
            let ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            meta.insert("namespace".into(), Value::String(ns.clone()));
            namespaces_used.insert(ns.clone());
            ns
        } else {
            meta.remove("namespace");
            String::new()
        };
        if !meta.contains_key("uid") {
            meta.insert(
                "uid".into(),
                Value::String(uid_for(&[&def.group, &def.plural, &ns, &name])),
            );
        }
        let key = (ns, name);
        match meta.get("resourceVersion") {
            Some(Value::String(s)) => {
                if let Ok(n) = s.parse::<u64>() {
                    next_rv = next_rv.max(n);
                }
            }
            Some(Value::Number(n)) => {
                let n = n.as_u64().unwrap_or(0);
                next_rv = next_rv.max(n);
                meta.insert("resourceVersion".into(), Value::String(n.to_string()));
            }
            _ => pending_rv.push((def.group.clone(), def.plural.clone(), key.clone())),
        }
        let map = store
            .objects
            .entry((def.group.clone(), def.plural.clone()))
            .or_default();
        if map.insert(key.clone(), value).is_some() {
            store.warnings.push(format!(
                "{file}: duplicate {} {}/{} replaces an earlier one",
                def.qualified(),
                key.0,
                key.1
            ));
        }
    }

    if config.implicit_namespaces.unwrap_or(true) {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            namespaces_used.insert(ns.to_string());
        }
        let map = store
            .objects
            .entry((String::new(), "namespaces".into()))
            .or_default();
        for ns in namespaces_used {
            let key = (String::new(), ns.clone());
            if map.contains_key(&key) {
                continue;
            }
            map.insert(
                key.clone(),
                json!({
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": ns,
                        "uid": uid_for(&["", "namespaces", "", &ns]),
                        "labels": {"kubernetes.io/metadata.name": ns},
                        "creationTimestamp": "2024-01-01T00:00:00Z",
                    },
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }),
            );
            pending_rv.push((String::new(), "namespaces".into(), key));
        }
    }

    // Assign resourceVersions in stable (group, plural, ns, name) order.
    pending_rv.sort();
    for (g, p, key) in pending_rv {
        next_rv += 1;
        if let Some(obj) = store.objects.get_mut(&(g, p)).and_then(|m| m.get_mut(&key)) {
            obj["metadata"]["resourceVersion"] = Value::String(next_rv.to_string());
        }
    }
    store.resource_version = next_rv + 1;
    store.loaded_at = store.resource_version;
    Ok((store, config))
}
