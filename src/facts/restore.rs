//! What `veldr restore-check backup/NAME` collects about the cluster it would restore into and about
//! the backup in the BSL: exactly what its bundle holds (`--save-bundle`), never a secret, never a
//! whole object list of the backup (counts and a few examples per kind).

use super::{Backup, Outcome, Read};
use crate::upstream::velero_backup_archive::{ArchiveContents, Gvk, ResourceList, EXAMPLES};
use crate::upstream::velero_volumeinfo::VolumeInfos;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreFacts {
    /// The backup asked about.
    pub backup: String,
    /// Every group/version this cluster serves, with its kinds (discovery).
    pub discovery: Read<Vec<ServedGroup>>,
    /// The names of this cluster's namespaces.
    pub namespaces: Read<Vec<String>>,
    /// Velero's change-storage-class ConfigMaps in its namespace (label selector
    /// `velero.io/plugin-config,velero.io/change-storage-class=RestoreItemAction`).
    pub storage_class_maps: Read<Vec<StorageClassMap>>,
    /// The backup's objects in the BSL.
    pub store: StoreReads,
    /// The backup's items that already exist here, per namespace of the backup that exists here.
    pub conflicts: ConflictFacts,
}

/// One served group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedGroup {
    /// `""`: the core group.
    pub name: String,
    pub preferred: String,
    pub versions: Vec<ServedVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedVersion {
    pub version: String,
    pub kinds: Vec<ServedKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedKind {
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

/// A change-storage-class ConfigMap: its name and mappings (old class → new class). Not a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageClassMap {
    pub name: String,
    pub data: BTreeMap<String, String>,
}

/// The reads of the backup's objects from the BSL, through the Swift API with Velero's credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreReads {
    /// Why nothing was read (no token, no such BSL, the run's deadline), when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_attempted: Option<String>,
    /// The BSL, container and prefix looked in, and why that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bsl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// How the BSL was chosen: "the Backup's storageLocation", "found in BSL x", …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bsl_reason: Option<String>,
    /// Other BSLs looked in for `velero-backup.json` when the Backup is not in this cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub searched: Vec<String>,
    /// `velero-backup.json`: the Backup as Velero stored it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Outcome<Backup>>,
    /// `<b>-results.gz`: the backup's errors and warnings (quoted for a PartiallyFailed backup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Outcome<super::VeleroResults>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_list: Option<Outcome<ResourceListFacts>>,
    /// `<b>-volumeinfo.json.gz` (cover's `upstream::velero_volumeinfo`); `Ok(None)`: absent (a backup
    /// by Velero older than 1.13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_info: Option<Outcome<Option<VolumeInfos>>>,
    /// The tarball's volume facts; the read's end says whether it was whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<Outcome<ArchiveContents>>,
    /// Each object's key and how long its read took (ms).
    #[serde(default)]
    pub timings_ms: BTreeMap<String, u64>,
}

/// The resource list as kept: per kind, the item count, per-namespace counts and a few examples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceListFacts {
    pub kinds: Vec<KindFacts>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unparsed: Vec<String>,
    pub compressed_bytes: u64,
    /// Every CRD the backup holds, by name (`<plural>.<group>`), at most [`NAMES_KEPT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crds: Vec<String>,
    /// Every VolumeSnapshotClass the backup holds, by name, at most [`NAMES_KEPT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_classes: Vec<String>,
}

/// Names kept of the cluster-scoped kinds restore-check matches by name (CRDs, snapshot classes).
pub const NAMES_KEPT: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindFacts {
    pub gvk: Gvk,
    pub count: usize,
    /// Items per namespace (`""`: cluster-scoped).
    pub namespaces: BTreeMap<String, usize>,
    /// The first items, in the list's (sorted) order.
    pub examples: Vec<String>,
}

impl ResourceListFacts {
    pub fn of(list: &ResourceList, compressed_bytes: u64) -> Self {
        let kinds = list
            .kinds
            .iter()
            .map(|k| {
                let mut namespaces = BTreeMap::new();
                for item in &k.items {
                    let ns = item.split_once('/').map(|(ns, _)| ns).unwrap_or("");
                    *namespaces.entry(ns.to_string()).or_insert(0) += 1;
                }
                KindFacts { gvk: k.gvk.clone(), count: k.items.len(), namespaces, examples: k.items.iter().take(EXAMPLES).cloned().collect() }
            })
            .collect();
        let names = |group: &str, kind: &str| list.items_of(group, kind).take(NAMES_KEPT).map(str::to_string).collect();
        ResourceListFacts {
            kinds,
            unparsed: list.unparsed.clone(),
            compressed_bytes,
            crds: names("apiextensions.k8s.io", "CustomResourceDefinition"),
            snapshot_classes: names("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
        }
    }

    pub fn total(&self) -> usize {
        self.kinds.iter().map(|k| k.count).sum()
    }

    /// The namespaces that hold items, with how many (the Namespace objects themselves included).
    pub fn namespaces(&self) -> BTreeMap<String, usize> {
        let mut out: BTreeMap<String, usize> = BTreeMap::new();
        for k in &self.kinds {
            for (ns, n) in &k.namespaces {
                if !ns.is_empty() {
                    *out.entry(ns.clone()).or_insert(0) += n;
                }
            }
        }
        out
    }

    pub fn kind(&self, group: &str, kind: &str) -> Option<&KindFacts> {
        self.kinds.iter().find(|k| k.gvk.group == group && k.gvk.kind == kind)
    }
}

/// The items of the backup that already exist here, by namespace of the backup that exists here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictFacts {
    /// Why nothing was counted, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_attempted: Option<String>,
    pub namespaces: Vec<NamespaceConflicts>,
    /// Reads refused or failed, as `kind in namespace: why`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
    /// Lists not made because of the request cap (said).
    #[serde(default)]
    pub not_listed: usize,
    /// The backup's Secrets in namespaces that exist here: not counted, veldr lists no Secrets.
    #[serde(default)]
    pub secrets_not_listed: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceConflicts {
    pub namespace: String,
    /// Items of the backup in this namespace.
    pub backed_up: usize,
    /// Of those, how many exist here, by kind (`Kind.group`), with examples.
    pub existing: BTreeMap<String, ExistingItems>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExistingItems {
    pub count: usize,
    pub examples: Vec<String>,
    /// The list was cut at its page cap: there may be more.
    #[serde(default)]
    pub partial: bool,
}

impl RestoreFacts {
    /// Restore facts where nothing was read (a base for unit tests of judges).
    pub fn empty(backup: &str) -> Self {
        RestoreFacts {
            backup: backup.into(),
            discovery: Ok(vec![]),
            namespaces: Ok(vec![]),
            storage_class_maps: Ok(vec![]),
            store: StoreReads::default(),
            conflicts: ConflictFacts::default(),
        }
    }
}
