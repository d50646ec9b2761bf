//! A Velero backup as Velero writes it to the BSL, for `veldr restore-check`: the resource list and
//! the tarball, read bounded. Pure: the reading (Swift) is `collect::restore`.
//!
//! Upstream (vmware-tanzu/velero, read at v1.13.0, v1.14.0, v1.15.0, v1.16.0, v1.17.2):
//! - keys, `pkg/persistence/object_store_layout.go`: `backups/<b>/velero-backup.json`, `<b>.tar.gz`,
//!   `<b>-resource-list.json.gz`, `<b>-volumeinfo.json.gz`, `<b>-csi-volumesnapshotclasses.json.gz`.
//! - the resource list, `pkg/backup/request.go` `BackupResourceList` (v1.16+: `backed_up_items_map.go`
//!   `ResourceMap`), gzip of `json.Encoder` (`pkg/util/encode` `ToJSONGzip`): a map from
//!   `"<group>/<version>/<Kind>"` (core: `"v1/<Kind>"`, `item_backupper.go` `resourceKey`) to sorted
//!   `"<namespace>/<name>"` (cluster scope: `"<name>"`).
//! - the tarball, `pkg/backup/backup.go` (gzip of archive/tar; `metadata/version` holds
//!   `BackupFormatVersion`, "1.1.0") and `item_backupper.go` + `pkg/archive/filesystem.go`
//!   `GetVersionedItemFilePath`: each item at `resources/<resource>[.<group>]/namespaces/<ns>/<name>.json`
//!   (cluster scope `…/cluster/<name>.json`); an item of the group's preferred version is written a
//!   second time under `<version>-preferredversion/`, other versions (EnableAPIGroupVersions) only
//!   under `<version>/`. A restore without that feature reads the unversioned copy: so does veldr.
//!   CRDs of backed-up custom resources are added at the end (`backup.go` `backupCRD`).

use crate::facts::{Problem, ProblemKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// Compressed bytes read of a resource list (Velero's are KBs; 100,000 items gzip to ~1 MiB).
pub const RESOURCE_LIST_READ_LIMIT: usize = 8 << 20;
/// Decompressed bytes accepted of a resource list (a gzip bomb stops here).
pub const RESOURCE_LIST_DECOMPRESSED_LIMIT: usize = 64 << 20;
/// Bytes read of `velero-backup.json` (the Backup object; a few KB).
pub const METADATA_READ_LIMIT: usize = 1 << 20;
/// Compressed bytes of the tarball read at most by default (`--max-archive-bytes`): what is past it is
/// not read, and the report says so.
pub const ARCHIVE_READ_LIMIT: u64 = 2 << 30;
/// Bytes of one tarball entry decoded at most (a PVC or PV is a few KB; a CRD with its schemas a few
/// hundred): a larger entry is skipped and counted.
pub const ENTRY_LIMIT: u64 = 4 << 20;
/// Items named per kind in the facts (the rest are counted).
pub const EXAMPLES: usize = 3;

/// Go's `path.Join` for the keys: empty parts dropped, one `/` between parts.
fn join(parts: &[&str]) -> String {
    parts.iter().flat_map(|p| p.split('/')).filter(|p| !p.is_empty() && *p != ".").collect::<Vec<_>>().join("/")
}

/// `<prefix>/backups/<b>/velero-backup.json`
pub fn metadata_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, "velero-backup.json"])
}

/// `<prefix>/backups/<b>/<b>.tar.gz`
pub fn archive_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, &format!("{backup}.tar.gz")])
}

/// `<prefix>/backups/<b>/<b>-resource-list.json.gz`
pub fn resource_list_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, &format!("{backup}-resource-list.json.gz")])
}

/// `<prefix>/backups/<b>/<b>-volumeinfo.json.gz` (Velero 1.13+).
pub fn volume_info_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, &format!("{backup}-volumeinfo.json.gz")])
}

fn bad(message: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::BadBody, message)
}

/// Gunzips at most `limit` bytes of a small object read whole (`cut`: it was longer than read).
pub fn gunzip_limited(bytes: &[u8], cut: bool, read_limit: usize, limit: usize) -> Result<Vec<u8>, Problem> {
    if cut {
        return Err(bad(format!("larger than the {} MiB veldr reads of it: not one Velero writes", read_limit >> 20)));
    }
    if bytes.len() < 2 || bytes[..2] != [0x1f, 0x8b] {
        let start: String = String::from_utf8_lossy(&bytes[..bytes.len().min(24)]).chars().map(|c| if c.is_control() { '.' } else { c }).collect();
        return Err(bad(format!("not gzip (it starts with {start:?}): not an object Velero wrote")));
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| bad(format!("a truncated or corrupt gzip stream ({e})")))?;
    if out.len() > limit {
        return Err(bad(format!("decompresses to more than {} MiB: refused", limit >> 20)));
    }
    Ok(out)
}

/// A group/version/kind as the resource list names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Gvk {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// `"apps/v1/Deployment"`, `"v1/Pod"`.
    pub fn parse(key: &str) -> Option<Gvk> {
        let (gv, kind) = key.rsplit_once('/')?;
        let (group, version) = match gv.split_once('/') {
            Some(("", _)) => return None,
            Some(gv) => gv,
            None => ("", gv),
        };
        if kind.is_empty() || version.is_empty() || version.contains('/') {
            return None;
        }
        Some(Gvk { group: group.into(), version: version.into(), kind: kind.into() })
    }

    /// `apps/v1/Deployment` / `v1/Pod`, as the resource list writes it.
    pub fn key(&self) -> String {
        if self.group.is_empty() { format!("{}/{}", self.version, self.kind) } else { format!("{}/{}/{}", self.group, self.version, self.kind) }
    }

    /// `Deployment.apps/v1`, `Pod/v1`: how kubectl and error messages name a kind.
    pub fn display(&self) -> String {
        if self.group.is_empty() { format!("{}/{}", self.kind, self.version) } else { format!("{}.{}/{}", self.kind, self.group, self.version) }
    }
}

/// One kind of the resource list, with its items (`namespace/name` or `name`).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedKind {
    pub gvk: Gvk,
    pub items: Vec<String>,
}

impl ListedKind {
    /// The item's namespace and name (`None` namespace: cluster-scoped).
    pub fn split(item: &str) -> (Option<&str>, &str) {
        match item.split_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, item),
        }
    }
}

/// `<b>-resource-list.json.gz` as read: every kind and its items, kinds in key order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceList {
    pub kinds: Vec<ListedKind>,
    /// Keys that are not `group/version/Kind` (kept out of `kinds`, said).
    pub unparsed: Vec<String>,
}

impl ResourceList {
    pub fn parse(bytes: &[u8], cut: bool) -> Result<ResourceList, Problem> {
        let json = gunzip_limited(bytes, cut, RESOURCE_LIST_READ_LIMIT, RESOURCE_LIST_DECOMPRESSED_LIMIT)?;
        let raw: BTreeMap<String, Vec<String>> =
            serde_json::from_slice(&json).map_err(|e| bad(format!("not Velero's resource list (a map of \"group/version/Kind\" to item names): {e}")))?;
        let mut out = ResourceList::default();
        for (key, items) in raw {
            match Gvk::parse(&key) {
                Some(gvk) => out.kinds.push(ListedKind { gvk, items }),
                None => out.unparsed.push(key),
            }
        }
        Ok(out)
    }

    pub fn total_items(&self) -> usize {
        self.kinds.iter().map(|k| k.items.len()).sum()
    }

    /// The namespaces that hold items, with how many each holds.
    pub fn namespaces(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for k in &self.kinds {
            for item in &k.items {
                if let (Some(ns), _) = ListedKind::split(item) {
                    *out.entry(ns.to_string()).or_insert(0) += 1;
                }
            }
        }
        // The Namespace objects themselves are items of `v1/Namespace` (cluster scope).
        for k in self.kinds.iter().filter(|k| k.gvk.group.is_empty() && k.gvk.kind == "Namespace") {
            for item in &k.items {
                out.entry(item.clone()).or_insert(0);
            }
        }
        out
    }

    /// The items of one kind (by group and kind, any version).
    pub fn items_of<'a>(&'a self, group: &'a str, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.kinds.iter().filter(move |k| k.gvk.group == group && k.gvk.kind == kind).flat_map(|k| k.items.iter().map(String::as_str))
    }
}

/// The kinds a restore never creates, whatever the backup holds: Velero adds them to every Restore's
/// excluded resources (`pkg/controller/restore_controller.go` `nonRestorableResources`, the same list
/// at v1.13.0 … v1.17.2), as (group, Kind).
pub const NON_RESTORABLE: &[(&str, &str)] = &[
    ("", "Node"),
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("velero.io", "Backup"),
    ("velero.io", "Restore"),
    ("velero.io", "ResticRepository"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("velero.io", "BackupRepository"),
];

pub fn restorable(gvk: &Gvk) -> bool {
    !NON_RESTORABLE.iter().any(|(g, k)| *g == gvk.group && *k == gvk.kind)
}

// ---- The tarball ----

/// A PVC as the tarball holds it: what a restore of it needs here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedPvc {
    pub namespace: String,
    pub name: String,
    /// `spec.storageClassName` (else the legacy annotation `volume.beta.kubernetes.io/storage-class`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    /// The VolumeSnapshot Velero took of it (annotation `velero.io/volume-snapshot-name`, set by the CSI
    /// PVC backup action, `pkg/backup/actions/csi/pvc_action.go`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
}

/// A PV as the tarball holds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedPv {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// `spec.csi.driver`; `None` for an in-tree volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_driver: Option<String>,
    /// `spec.csi.volumeAttributes.type` (vSphere: "vSphere CNS Block Volume" / "vSphere CNS File Volume").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// `namespace/name` of the claim it is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// An in-tree source (`vsphereVolume`, `cinder`, …) instead of CSI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_tree: Option<String>,
}

/// A VolumeSnapshot as the tarball holds it (the class its restored content will name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedSnapshot {
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<String>,
}

/// A VolumeSnapshotClass the backup holds (a whole restore creates it when it does not exist).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchivedSnapshotClass {
    pub name: String,
    pub driver: String,
}

/// A CustomResourceDefinition the backup holds: the kinds a whole restore makes served before their items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchivedCrd {
    pub name: String,
    pub group: String,
    pub kind: String,
    #[serde(default)]
    pub versions: Vec<String>,
}

/// Why the tarball read ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "reason")]
pub enum ArchiveEnd {
    /// The whole tarball was read.
    Complete,
    /// Every entry wanted was found: the rest was not read.
    AllFound,
    /// The byte cap was reached first.
    Cap { limit: u64 },
    /// The run's deadline came first.
    Deadline,
    /// Not a gzip tar stream as Velero writes (or cut off): what went wrong.
    Corrupt { message: String },
}

/// What veldr keeps of the tarball: the volume facts, and how the read went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveContents {
    pub end: ArchiveEnd,
    /// Compressed bytes read.
    pub bytes_read: u64,
    /// Tar entries seen (every copy counts).
    pub entries: u64,
    /// `metadata/version`: Velero's backup format version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_version: Option<String>,
    pub pvcs: Vec<ArchivedPvc>,
    pub pvs: Vec<ArchivedPv>,
    #[serde(default)]
    pub volume_snapshots: Vec<ArchivedSnapshot>,
    #[serde(default)]
    pub snapshot_classes: Vec<ArchivedSnapshotClass>,
    #[serde(default)]
    pub crds: Vec<ArchivedCrd>,
    /// Entries of the wanted kinds that did not decode or were larger than [`ENTRY_LIMIT`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

impl ArchiveContents {
    pub fn empty(end: ArchiveEnd) -> Self {
        ArchiveContents {
            end,
            bytes_read: 0,
            entries: 0,
            format_version: None,
            pvcs: vec![],
            pvs: vec![],
            volume_snapshots: vec![],
            snapshot_classes: vec![],
            crds: vec![],
            unreadable: vec![],
        }
    }

    /// Whether every entry of the wanted kinds was seen.
    pub fn is_whole(&self) -> bool {
        matches!(self.end, ArchiveEnd::Complete | ArchiveEnd::AllFound)
    }
}

/// The entries the read is for: the kinds it keeps and, when known from the resource list, the
/// items of each, so that it stops once it has them all.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// Items (`ns/name` or `name`) by kept kind; `None`: not known, read to the end.
    pub items: Option<BTreeMap<Kept, BTreeSet<String>>>,
}

impl Wanted {
    /// Everything of the kept kinds that the resource list names (CRDs only when `crds` is asked).
    pub fn from_list(list: &ResourceList, crds: bool) -> Wanted {
        let mut items: BTreeMap<Kept, BTreeSet<String>> = BTreeMap::new();
        for k in &list.kinds {
            let Some(kept) = Kept::of_kind(&k.gvk.group, &k.gvk.kind) else { continue };
            if kept == Kept::Crd && !crds {
                continue;
            }
            items.entry(kept).or_default().extend(k.items.iter().cloned());
        }
        Wanted { items: Some(items) }
    }
}

/// The kinds the tarball read keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kept {
    Pvc,
    Pv,
    Snapshot,
    SnapshotClass,
    Crd,
}

impl Kept {
    /// By the tarball directory's `<resource>[.<group>]`.
    fn of_resource(resource: &str) -> Option<Kept> {
        match resource {
            "persistentvolumeclaims" => Some(Kept::Pvc),
            "persistentvolumes" => Some(Kept::Pv),
            "volumesnapshots.snapshot.storage.k8s.io" => Some(Kept::Snapshot),
            "volumesnapshotclasses.snapshot.storage.k8s.io" => Some(Kept::SnapshotClass),
            "customresourcedefinitions.apiextensions.k8s.io" => Some(Kept::Crd),
            _ => None,
        }
    }

    fn of_kind(group: &str, kind: &str) -> Option<Kept> {
        match (group, kind) {
            ("", "PersistentVolumeClaim") => Some(Kept::Pvc),
            ("", "PersistentVolume") => Some(Kept::Pv),
            ("snapshot.storage.k8s.io", "VolumeSnapshot") => Some(Kept::Snapshot),
            ("snapshot.storage.k8s.io", "VolumeSnapshotClass") => Some(Kept::SnapshotClass),
            ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(Kept::Crd),
            _ => None,
        }
    }
}

/// An item entry's place: `resources/<resource>/namespaces/<ns>/<name>.json` or
/// `resources/<resource>/cluster/<name>.json` (the unversioned copy; versioned copies are `None`).
pub fn item_path(path: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = path.strip_prefix("resources/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [resource, "namespaces", ns, file] => Some((resource, Some(ns), file.strip_suffix(".json")?)),
        [resource, "cluster", file] => Some((resource, None, file.strip_suffix(".json")?)),
        _ => None,
    }
}

// The fields decoded of each kept entry; serde skips everything else as it streams past.

#[derive(Deserialize, Default)]
#[serde(default)]
struct Meta {
    name: String,
    namespace: Option<String>,
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PvcDoc {
    metadata: Meta,
    spec: PvcSpec,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PvcSpec {
    storage_class_name: Option<String>,
    volume_name: Option<String>,
    access_modes: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PvDoc {
    metadata: Meta,
    spec: PvSpec,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PvSpec {
    storage_class_name: Option<String>,
    csi: Option<PvCsi>,
    claim_ref: Option<ClaimRef>,
    vsphere_volume: Option<serde::de::IgnoredAny>,
    cinder: Option<serde::de::IgnoredAny>,
    host_path: Option<serde::de::IgnoredAny>,
    nfs: Option<serde::de::IgnoredAny>,
    local: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PvCsi {
    driver: String,
    volume_attributes: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ClaimRef {
    namespace: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SnapshotDoc {
    metadata: Meta,
    spec: SnapshotSpec,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SnapshotSpec {
    volume_snapshot_class_name: Option<String>,
    source: SnapshotSource,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SnapshotSource {
    persistent_volume_claim_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ClassDoc {
    metadata: Meta,
    driver: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CrdDoc {
    metadata: Meta,
    spec: CrdSpec,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CrdSpec {
    group: String,
    names: CrdNames,
    versions: Vec<CrdVersion>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CrdNames {
    kind: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CrdVersion {
    name: String,
    served: bool,
}

/// A reader that stops at a byte cap (reported as [`CAP_REACHED`]) and counts what it passed on.
pub struct Capped<R> {
    inner: R,
    pub read: u64,
    pub limit: u64,
}

/// The message of the error a [`Capped`] reader returns at its cap.
pub const CAP_REACHED: &str = "veldr's byte cap on the tarball was reached";

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.limit {
            return Err(std::io::Error::other(CAP_REACHED));
        }
        let room = (self.limit - self.read).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R> Capped<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Capped { inner, read: 0, limit }
    }
}

/// What ended a read of the stream below the tar layer, by the error it raised.
pub fn classify_stream_error(e: &std::io::Error) -> Option<ArchiveEnd> {
    let text = e.to_string();
    if text.contains(CAP_REACHED) {
        return None; // the caller knows the cap
    }
    if text.contains(DEADLINE_REACHED) {
        return Some(ArchiveEnd::Deadline);
    }
    Some(ArchiveEnd::Corrupt { message: text })
}

/// The message a stream feeding [`read_archive`] fails with when the run's deadline came.
pub const DEADLINE_REACHED: &str = "the run's deadline came before the tarball was read";

/// Reads a gzip tar stream as Velero writes it, keeping the facts of the wanted kinds' entries
/// (each decoded as it streams past, at most [`ENTRY_LIMIT`] bytes of it), never more than one
/// entry's fields in memory. Stops at the end, when every wanted entry was found, at `limit`
/// compressed bytes, or at the first error of the stream (its text is kept).
pub fn read_archive<R: Read>(stream: R, limit: u64, wanted: &Wanted) -> ArchiveContents {
    let mut capped = Capped::new(stream, limit);
    let mut out = ArchiveContents::empty(ArchiveEnd::Complete);
    let mut missing: Option<BTreeMap<Kept, BTreeSet<String>>> = wanted.items.clone();
    let end = {
        let gz = flate2::read::GzDecoder::new(&mut capped);
        let mut archive = tar::Archive::new(gz);
        walk(&mut archive, &mut out, &mut missing)
    };
    out.bytes_read = capped.read;
    out.end = match end {
        Ok(e) => e,
        Err(e) if e.to_string().contains(CAP_REACHED) => ArchiveEnd::Cap { limit },
        Err(e) => classify_stream_error(&e).unwrap_or(ArchiveEnd::Cap { limit }),
    };
    out
}

fn all_found(missing: &Option<BTreeMap<Kept, BTreeSet<String>>>) -> bool {
    missing.as_ref().is_some_and(|m| m.values().all(BTreeSet::is_empty))
}

fn walk<R: Read>(archive: &mut tar::Archive<R>, out: &mut ArchiveContents, missing: &mut Option<BTreeMap<Kept, BTreeSet<String>>>) -> std::io::Result<ArchiveEnd> {
    if all_found(missing) && out.format_version.is_some() {
        return Ok(ArchiveEnd::AllFound);
    }
    for entry in archive.entries()? {
        let mut entry = entry?;
        out.entries += 1;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        if path == "metadata/version" {
            let mut v = String::new();
            (&mut entry).take(64).read_to_string(&mut v).map_err(std::io::Error::other)?;
            out.format_version = Some(v.trim().to_string());
            continue;
        }
        let Some((resource, ns, name)) = item_path(&path) else { continue };
        let Some(kept) = Kept::of_resource(resource) else { continue };
        let item = match ns {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        };
        if entry.size() > ENTRY_LIMIT {
            out.unreadable.push(format!("{path}: {} KiB, more than the {} MiB veldr decodes of an entry", entry.size() >> 10, ENTRY_LIMIT >> 20));
            continue;
        }
        if let Err(e) = keep(kept, &mut entry, out) {
            // A malformed item is said; a stream error (gzip, cap, deadline) ends the read.
            if e.is_io() {
                return Err(e.into());
            }
            out.unreadable.push(format!("{path}: not the JSON of a {kept:?} ({})", crate::facts::list::content_free(&e)));
        }
        if let Some(m) = missing.as_mut() {
            if let Some(set) = m.get_mut(&kept) {
                set.remove(&item);
            }
        }
        if all_found(missing) && out.format_version.is_some() {
            return Ok(ArchiveEnd::AllFound);
        }
    }
    Ok(ArchiveEnd::Complete)
}

fn keep(kept: Kept, entry: impl Read, out: &mut ArchiveContents) -> Result<(), serde_json::Error> {
    let reader = std::io::BufReader::new(entry.take(ENTRY_LIMIT));
    match kept {
        Kept::Pvc => {
            let d: PvcDoc = serde_json::from_reader(reader)?;
            let legacy = d.metadata.annotations.get("volume.beta.kubernetes.io/storage-class").cloned();
            out.pvcs.push(ArchivedPvc {
                namespace: d.metadata.namespace.unwrap_or_default(),
                name: d.metadata.name,
                storage_class: d.spec.storage_class_name.or(legacy),
                volume_name: d.spec.volume_name.filter(|v| !v.is_empty()),
                volume_snapshot: d.metadata.annotations.get("velero.io/volume-snapshot-name").cloned(),
                access_modes: d.spec.access_modes,
            });
        }
        Kept::Pv => {
            let d: PvDoc = serde_json::from_reader(reader)?;
            let s = d.spec;
            let in_tree = [
                ("vsphereVolume", s.vsphere_volume.is_some()),
                ("cinder", s.cinder.is_some()),
                ("hostPath", s.host_path.is_some()),
                ("nfs", s.nfs.is_some()),
                ("local", s.local.is_some()),
            ]
            .into_iter()
            .find(|(_, on)| *on)
            .map(|(n, _)| n.to_string());
            out.pvs.push(ArchivedPv {
                name: d.metadata.name,
                storage_class: s.storage_class_name,
                volume_type: s.csi.as_ref().and_then(|c| c.volume_attributes.get("type").cloned()),
                csi_driver: s.csi.map(|c| c.driver),
                claim: s.claim_ref.map(|c| format!("{}/{}", c.namespace, c.name)),
                in_tree,
            });
        }
        Kept::Snapshot => {
            let d: SnapshotDoc = serde_json::from_reader(reader)?;
            out.volume_snapshots.push(ArchivedSnapshot {
                namespace: d.metadata.namespace.unwrap_or_default(),
                name: d.metadata.name,
                class: d.spec.volume_snapshot_class_name,
                pvc: d.spec.source.persistent_volume_claim_name,
            });
        }
        Kept::SnapshotClass => {
            let d: ClassDoc = serde_json::from_reader(reader)?;
            out.snapshot_classes.push(ArchivedSnapshotClass { name: d.metadata.name, driver: d.driver });
        }
        Kept::Crd => {
            let d: CrdDoc = serde_json::from_reader(reader)?;
            out.crds.push(ArchivedCrd {
                name: d.metadata.name,
                group: d.spec.group,
                kind: d.spec.names.kind,
                versions: d.spec.versions.into_iter().filter(|v| v.served).map(|v| v.name).collect(),
            });
        }
    }
    Ok(())
}

/// Builds a tarball the way Velero lays one out, for tests and the benchmark: `metadata/version`, then
/// each item twice (unversioned and `<version>-preferredversion`).
pub mod build {
    use std::io::Write;

    /// One item: its tarball resource directory (`persistentvolumeclaims`, `widgets.example.com`),
    /// namespace, name, preferred version and JSON.
    pub struct Item<'a> {
        pub resource: &'a str,
        pub namespace: Option<&'a str>,
        pub name: &'a str,
        pub version: &'a str,
        pub json: Vec<u8>,
    }

    pub fn path(resource: &str, version: Option<&str>, namespace: Option<&str>, name: &str) -> String {
        let mut p = format!("resources/{resource}/");
        if let Some(v) = version {
            p.push_str(&format!("{v}-preferredversion/"));
        }
        match namespace {
            Some(ns) => p.push_str(&format!("namespaces/{ns}/{name}.json")),
            None => p.push_str(&format!("cluster/{name}.json")),
        }
        p
    }

    fn header(path: &str, len: usize) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_size(len as u64);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mtime(1_764_554_400);
        let _ = path;
        h
    }

    /// Appends items to a tar builder (over any writer: a gzip encoder for a tarball).
    pub fn append<W: Write>(b: &mut tar::Builder<W>, items: &[Item<'_>]) -> std::io::Result<()> {
        for it in items {
            for v in [None, Some(it.version)] {
                let p = path(it.resource, v, it.namespace, it.name);
                b.append_data(&mut header(&p, it.json.len()), &p, it.json.as_slice())?;
            }
        }
        Ok(())
    }

    /// `metadata/version` as Velero writes it first.
    pub fn version<W: Write>(b: &mut tar::Builder<W>) -> std::io::Result<()> {
        let v = b"1.1.0\n";
        b.append_data(&mut header("metadata/version", v.len()), "metadata/version", &v[..])
    }

    /// A whole tarball in memory.
    pub fn tarball(items: &[Item<'_>]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        version(&mut b).unwrap();
        append(&mut b, items).unwrap();
        b.into_inner().unwrap().finish().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::build::{tarball, Item};
    use super::*;
    use serde_json::json;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn keys_follow_velero_layout() {
        assert_eq!(archive_key(None, "b1"), "backups/b1/b1.tar.gz");
        assert_eq!(resource_list_key(Some("team/"), "b1"), "team/backups/b1/b1-resource-list.json.gz");
        assert_eq!(metadata_key(Some("a/b"), "b1"), "a/b/backups/b1/velero-backup.json");
        assert_eq!(volume_info_key(None, "b1"), "backups/b1/b1-volumeinfo.json.gz");
    }

    #[test]
    fn resource_list_parses_as_velero_writes_it() {
        // What ToJSONGzip writes for the map of request_test.go, plus a CR and a broken key.
        let doc = br#"{"apps/v1/Deployment":["default/my-deploy"],"v1/PersistentVolume":["my-pv"],"v1/Pod":["ns1/pod1","ns2/pod2"],"example.com/v1/Widget":["ns1/w"],"nonsense":["x"]}
"#;
        let list = ResourceList::parse(&gz(doc), false).unwrap();
        assert_eq!(list.kinds.len(), 4);
        assert_eq!(list.total_items(), 5);
        assert_eq!(list.unparsed, ["nonsense"]);
        let pod = list.kinds.iter().find(|k| k.gvk.kind == "Pod").unwrap();
        assert_eq!((pod.gvk.group.as_str(), pod.gvk.version.as_str(), pod.gvk.key()), ("", "v1", "v1/Pod".to_string()));
        assert_eq!(pod.gvk.display(), "Pod/v1");
        let w = list.kinds.iter().find(|k| k.gvk.kind == "Widget").unwrap();
        assert_eq!(w.gvk.display(), "Widget.example.com/v1");
        assert_eq!(list.namespaces(), BTreeMap::from([("default".into(), 1), ("ns1".into(), 2), ("ns2".into(), 1)]));
        assert_eq!(ListedKind::split("my-pv"), (None, "my-pv"));
        for bad in ["v1", "/v1/Pod", "a/b/c/Kind", "v1/"] {
            assert!(Gvk::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_resource_list_that_is_not_one_says_why() {
        let e = ResourceList::parse(b"<html>", false).unwrap_err();
        assert!(e.message.contains("not gzip"), "{e:?}");
        let e = ResourceList::parse(&gz(b"[1,2]"), false).unwrap_err();
        assert!(e.message.contains("not Velero's resource list"), "{e:?}");
        let e = ResourceList::parse(&gz(b"{}"), true).unwrap_err();
        assert!(e.message.contains("larger than the 8 MiB"), "{e:?}");
        let bomb = gz(&vec![b' '; RESOURCE_LIST_DECOMPRESSED_LIMIT + 10]);
        assert!(ResourceList::parse(&bomb, false).unwrap_err().message.contains("more than 64 MiB"));
    }

    #[test]
    fn non_restorable_kinds_are_velero_s() {
        assert!(!restorable(&Gvk::parse("v1/Event").unwrap()));
        assert!(!restorable(&Gvk::parse("velero.io/v1/Backup").unwrap()));
        assert!(restorable(&Gvk::parse("velero.io/v1/Schedule").unwrap()));
        assert!(restorable(&Gvk::parse("v1/Pod").unwrap()));
    }

    #[test]
    fn item_paths() {
        assert_eq!(item_path("resources/persistentvolumeclaims/namespaces/shop/data.json"), Some(("persistentvolumeclaims", Some("shop"), "data")));
        assert_eq!(item_path("resources/persistentvolumes/cluster/pv-1.json"), Some(("persistentvolumes", None, "pv-1")));
        assert_eq!(item_path("resources/persistentvolumes/v1-preferredversion/cluster/pv-1.json"), None, "the versioned copy");
        assert_eq!(item_path("metadata/version"), None);
    }

    pub(crate) fn sample() -> Vec<u8> {
        let pvc = |ns: &str, name: &str, sc: &str, vs: Option<&str>| {
            let mut v = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": ns, "annotations": {}},
                "spec": {"storageClassName": sc, "volumeName": format!("pv-{name}"), "accessModes": ["ReadWriteOnce"]}});
            if let Some(vs) = vs {
                v["metadata"]["annotations"]["velero.io/volume-snapshot-name"] = json!(vs);
            }
            serde_json::to_vec(&v).unwrap()
        };
        let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-data"},
            "spec": {"storageClassName": "vsphere-csi", "claimRef": {"namespace": "shop", "name": "data"},
                     "csi": {"driver": "csi.vsphere.vmware.com", "volumeHandle": "5b0c", "volumeAttributes": {"type": "vSphere CNS Block Volume"}}}});
        let vs = json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": {"name": "velero-data-abcde", "namespace": "shop"},
            "spec": {"volumeSnapshotClassName": "velero-vsphere", "source": {"persistentVolumeClaimName": "data"}}});
        let class = json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass", "metadata": {"name": "velero-vsphere"},
            "driver": "csi.vsphere.vmware.com", "deletionPolicy": "Retain"});
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
                     "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "description": "x".repeat(50_000)}}},
                                  {"name": "v1beta1", "served": false}]}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "shop"}, "data": {"k": "v"}});
        tarball(&[
            Item { resource: "configmaps", namespace: Some("shop"), name: "app", version: "v1", json: serde_json::to_vec(&cm).unwrap() },
            Item { resource: "persistentvolumeclaims", namespace: Some("shop"), name: "data", version: "v1", json: pvc("shop", "data", "vsphere-csi", Some("velero-data-abcde")) },
            Item { resource: "persistentvolumeclaims", namespace: Some("shop"), name: "logs", version: "v1", json: pvc("shop", "logs", "gold", None) },
            Item { resource: "persistentvolumes", namespace: None, name: "pv-data", version: "v1", json: serde_json::to_vec(&pv).unwrap() },
            Item { resource: "volumesnapshots.snapshot.storage.k8s.io", namespace: Some("shop"), name: "velero-data-abcde", version: "v1", json: serde_json::to_vec(&vs).unwrap() },
            Item { resource: "volumesnapshotclasses.snapshot.storage.k8s.io", namespace: None, name: "velero-vsphere", version: "v1", json: serde_json::to_vec(&class).unwrap() },
            Item { resource: "customresourcedefinitions.apiextensions.k8s.io", namespace: None, name: "widgets.example.com", version: "v1", json: serde_json::to_vec(&crd).unwrap() },
        ])
    }

    #[test]
    fn the_volume_facts_are_read_from_the_unversioned_copies() {
        let t = sample();
        let c = read_archive(t.as_slice(), ARCHIVE_READ_LIMIT, &Wanted::default());
        assert_eq!(c.end, ArchiveEnd::Complete, "{c:?}");
        assert_eq!(c.format_version.as_deref(), Some("1.1.0"));
        assert_eq!(c.entries, 15, "metadata/version + 7 items twice");
        assert_eq!(c.pvcs.len(), 2, "each PVC once, not once per copy");
        let data = &c.pvcs[0];
        assert_eq!((data.namespace.as_str(), data.name.as_str(), data.storage_class.as_deref()), ("shop", "data", Some("vsphere-csi")));
        assert_eq!(data.volume_snapshot.as_deref(), Some("velero-data-abcde"));
        assert_eq!(c.pvs[0].csi_driver.as_deref(), Some("csi.vsphere.vmware.com"));
        assert_eq!(c.pvs[0].claim.as_deref(), Some("shop/data"));
        assert_eq!(c.pvs[0].volume_type.as_deref(), Some("vSphere CNS Block Volume"));
        assert_eq!(c.volume_snapshots[0].class.as_deref(), Some("velero-vsphere"));
        assert_eq!(c.snapshot_classes[0], ArchivedSnapshotClass { name: "velero-vsphere".into(), driver: "csi.vsphere.vmware.com".into() });
        assert_eq!(c.crds[0], ArchivedCrd { name: "widgets.example.com".into(), group: "example.com".into(), kind: "Widget".into(), versions: vec!["v1".into()] });
        assert!(c.unreadable.is_empty());
        assert_eq!(c.bytes_read, t.len() as u64);
    }

    #[test]
    fn the_read_stops_once_it_has_every_wanted_entry() {
        let t = sample();
        let mut items = BTreeMap::new();
        items.insert(Kept::Pvc, BTreeSet::from(["shop/data".to_string()]));
        let c = read_archive(t.as_slice(), ARCHIVE_READ_LIMIT, &Wanted { items: Some(items) });
        assert_eq!(c.end, ArchiveEnd::AllFound);
        assert_eq!(c.pvcs.len(), 1);
        assert!(c.entries < 15, "{}", c.entries);
    }

    #[test]
    fn the_cap_and_a_cut_stream_are_said() {
        let t = sample();
        let c = read_archive(t.as_slice(), 600, &Wanted::default());
        assert_eq!(c.end, ArchiveEnd::Cap { limit: 600 });
        assert!(c.bytes_read <= 600);
        let c = read_archive(&t[..t.len() - 100], ARCHIVE_READ_LIMIT, &Wanted::default());
        assert!(matches!(c.end, ArchiveEnd::Corrupt { .. }), "{:?}", c.end);
        assert_eq!(c.pvcs.len(), 2, "what came before the cut is kept");
        let c = read_archive(&b"<html>502</html>"[..], ARCHIVE_READ_LIMIT, &Wanted::default());
        assert!(matches!(&c.end, ArchiveEnd::Corrupt { message } if message.contains("invalid gzip header")), "{:?}", c.end);
    }

    #[test]
    fn a_malformed_item_is_said_and_the_read_goes_on() {
        let bad = br#"{"metadata": {"name": 7}}"#.to_vec();
        let good = serde_json::to_vec(&json!({"metadata": {"name": "pv-1"}, "spec": {"csi": {"driver": "d"}}})).unwrap();
        let t = tarball(&[
            Item { resource: "persistentvolumes", namespace: None, name: "bad", version: "v1", json: bad },
            Item { resource: "persistentvolumes", namespace: None, name: "pv-1", version: "v1", json: good },
        ]);
        let c = read_archive(t.as_slice(), ARCHIVE_READ_LIMIT, &Wanted::default());
        assert_eq!(c.end, ArchiveEnd::Complete);
        assert_eq!(c.pvs.len(), 1);
        assert_eq!(c.unreadable.len(), 1);
        assert!(c.unreadable[0].starts_with("resources/persistentvolumes/cluster/bad.json: not the JSON of a Pv"), "{:?}", c.unreadable);
        assert!(!c.unreadable[0].contains('7'), "the offending value is not quoted: {:?}", c.unreadable);
    }

    #[test]
    fn long_paths_come_through_pax_headers() {
        // Go's archive/tar writes a PAX 'x' record for a name over 100 bytes that no ustar prefix split fits.
        let name = format!("{}-{}", "x".repeat(150), "pvc");
        let path = build::path("persistentvolumeclaims", None, Some("shop"), &name);
        let json = serde_json::to_vec(&json!({"metadata": {"name": name, "namespace": "shop"}, "spec": {"storageClassName": "gold"}})).unwrap();
        let record = |key: &str, value: &str| {
            let body = format!(" {key}={value}\n");
            let mut n = body.len() + 1;
            while format!("{n}{body}").len() != n {
                n = format!("{n}{body}").len();
            }
            format!("{n}{body}")
        };
        let pax = record("path", &path);
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_size(pax.len() as u64);
        h.set_path("PaxHeaders.0/data.json").unwrap();
        h.set_cksum();
        b.append(&h, pax.as_bytes()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(json.len() as u64);
        h.set_path("resources/persistentvolumeclaims/namespaces/shop/cut.json").unwrap();
        h.set_cksum();
        b.append(&h, json.as_slice()).unwrap();
        let t = b.into_inner().unwrap().finish().unwrap();
        let c = read_archive(t.as_slice(), ARCHIVE_READ_LIMIT, &Wanted::default());
        assert_eq!(c.pvcs.len(), 1, "{c:?}");
        assert_eq!(c.pvcs[0].name, name);
    }
}
