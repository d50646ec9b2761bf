//! Velero's per-backup volume record, `backups/<b>/<b>-volumeinfo.json.gz` (since Velero 1.13):
//! gzip of `json.Encoder`'s output of `[]*BackupVolumeInfo`, one entry per PV the backup met, saying
//! how its data was kept (`backupMethod`), whether it was skipped and why, and (since 1.15) whether
//! it succeeded.
//!
//! Mirrors vmware-tanzu/velero `internal/volume/volumes_information.go` (v1.13.0 `VolumeInfo`,
//! v1.14.0+ `BackupVolumeInfo`; `result` added in v1.15.0) and `design/Implemented/pv_backup_info.md`;
//! the object key is `getBackupVolumeInfoKey` of `pkg/persistence/object_store_layout.go` (v1.13.0+),
//! read by `GetBackupVolumeInfos` (`pkg/persistence/object_store.go`: gzip, then JSON). The record is
//! written at the end of the backup (`PutBackup`) and again after its async operations
//! (`putVolumeInfos`, `pkg/backup/backup.go`), which sets `result` of CSI snapshots.
//!
//! Skip reasons are `<approach>: <reason>;` pairs (`pkg/backup/pv_skip_tracker.go`
//! `SerializeSkipReasons`), e.g. `csiSnapshot: skipped b/c it's not a CSI volume;` or
//! `volumeSnapshot: matched action is 'skip' in chosen resource policies;`
//! (`pkg/backup/item_backupper.go`, v1.17.1).
//!
//! The same types are veldr's facts (the bundle keeps the entries as Velero wrote them, minus what no
//! one reads) and what `restore-check` and `verify` read. Pure: the reading is in `collect`.

// `null` reads as the default (Go's omitempty writes absent; a nil pointer writes `null`).
use crate::facts::velero::or_default;
use crate::facts::{Problem, ProblemKind};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Compressed bytes read of one volumeinfo object. Velero writes ~300 bytes of JSON per volume
/// (gzip shrinks it ~10×): a megabyte holds tens of thousands of volumes.
pub const READ_LIMIT: usize = 1 << 20;
/// Entries kept of one object; the rest are counted (`VolumeInfos::total`). Skipped and failed
/// volumes are kept first.
pub const KEPT: usize = 1000;
/// Characters kept of a skip reason (Velero's are one line per approach).
pub const REASON_CHARS: usize = 300;

/// `Method` (`backupMethod`) values Velero writes.
pub const CSI_SNAPSHOT: &str = "CSISnapshot";
pub const NATIVE_SNAPSHOT: &str = "NativeSnapshot";
pub const POD_VOLUME_BACKUP: &str = "PodVolumeBackup";

/// `VolumeResult` values (v1.15.0+).
pub const RESULT_SUCCEEDED: &str = "succeeded";
pub const RESULT_FAILED: &str = "failed";

/// One `BackupVolumeInfo`, with Velero's JSON names (so a bundle reads like the object).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeInfo {
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "String::is_empty")]
    pub pvc_name: String,
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "String::is_empty")]
    pub pvc_namespace: String,
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "String::is_empty")]
    pub pv_name: String,
    /// `CSISnapshot`, `NativeSnapshot`, `PodVolumeBackup`; empty for a skipped volume.
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "String::is_empty")]
    pub backup_method: String,
    /// The data mover copied the snapshot's data to the BSL (off-site).
    #[serde(default, deserialize_with = "or_default")]
    pub snapshot_data_moved: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub preserve_local_snapshot: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub skipped: bool,
    #[serde(default, deserialize_with = "reason", skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
    /// `succeeded` or `failed` (v1.15.0+); absent before, and for skipped volumes.
    #[serde(default, deserialize_with = "or_default", skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_snapshot_info: Option<CsiSnapshotInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_data_movement_info: Option<DataMovementInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_snapshot_info: Option<NativeSnapshotInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvb_info: Option<PodVolumeInfo>,
}

/// `CSISnapshotInfo`: the snapshot stays beside the volume (its datastore), not in the BSL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CsiSnapshotInfo {
    #[serde(default, deserialize_with = "or_default")]
    pub snapshot_handle: String,
    #[serde(default, deserialize_with = "or_default")]
    pub size: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub driver: String,
    #[serde(default, deserialize_with = "or_default")]
    pub vsc_name: String,
    #[serde(default, rename = "operationID", deserialize_with = "or_default", skip_serializing_if = "String::is_empty")]
    pub operation_id: String,
    /// Go field without a JSON tag: its name is `ReadyToUse` (v1.15.0+).
    #[serde(default, rename = "ReadyToUse", skip_serializing_if = "Option::is_none")]
    pub ready_to_use: Option<bool>,
}

/// `SnapshotDataMovementInfo` (the data mover; needs Kopia, which has no Swift backend).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataMovementInfo {
    #[serde(default, deserialize_with = "or_default")]
    pub data_mover: String,
    #[serde(default, deserialize_with = "or_default")]
    pub uploader_type: String,
    /// Go field without a JSON tag: `Phase` (the DataUpload's).
    #[serde(default, rename = "Phase", deserialize_with = "or_default", skip_serializing_if = "String::is_empty")]
    pub phase: String,
}

/// `NativeSnapshotInfo` (a VolumeSnapshotLocation's snapshotter).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NativeSnapshotInfo {
    #[serde(default, deserialize_with = "or_default")]
    pub snapshot_handle: String,
    #[serde(default, rename = "Phase", deserialize_with = "or_default", skip_serializing_if = "String::is_empty")]
    pub phase: String,
}

/// `PodVolumeInfo` of a file-system backup (`pvbInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodVolumeInfo {
    #[serde(default, deserialize_with = "or_default")]
    pub uploader_type: String,
    #[serde(default, deserialize_with = "or_default")]
    pub volume_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub pod_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub pod_namespace: String,
    #[serde(default, rename = "Phase", deserialize_with = "or_default", skip_serializing_if = "String::is_empty")]
    pub phase: String,
}

/// What became of one volume's data in the backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not backed up: `skipped` (the reason says why).
    Skipped,
    /// Backed up by a method that failed (`result: failed`).
    Failed,
    /// `result: succeeded`.
    Succeeded,
    /// A method, but no `result`: Velero before 1.15, or the record of a backup still finishing.
    Unknown,
}

impl VolumeInfo {
    /// `namespace/name` of the PVC, else the PV's name.
    pub fn id(&self) -> String {
        if self.pvc_name.is_empty() { self.pv_name.clone() } else { format!("{}/{}", self.pvc_namespace, self.pvc_name) }
    }

    pub fn outcome(&self) -> Outcome {
        if self.skipped {
            Outcome::Skipped
        } else {
            match self.result.as_deref() {
                Some(RESULT_FAILED) => Outcome::Failed,
                Some(RESULT_SUCCEEDED) => Outcome::Succeeded,
                _ => Outcome::Unknown,
            }
        }
    }

    /// Skipped or failed: the volume's data is not in this backup.
    pub fn lost(&self) -> bool {
        matches!(self.outcome(), Outcome::Skipped | Outcome::Failed)
    }

    /// Kept only as a CSI snapshot beside the volume (on its datastore): no copy left the cluster's
    /// storage (no data mover, no file-system backup).
    pub fn csi_snapshot_only(&self) -> bool {
        !self.skipped && self.backup_method == CSI_SNAPSHOT && !self.snapshot_data_moved
    }

    /// The skip reasons as Velero serialized them, split: `[("csiSnapshot", "skipped b/c it's not a CSI volume")]`.
    pub fn skip_reasons(&self) -> Vec<(&str, &str)> {
        self.skipped_reason
            .as_deref()
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| match r.split_once(": ") {
                Some((approach, why)) => (approach.trim(), why.trim()),
                None => ("", r),
            })
            .collect()
    }
}

/// One volumeinfo object as veldr keeps it: at most [`KEPT`] entries (skipped and failed first, then
/// in Velero's order), and how many it held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeInfos {
    pub volumes: Vec<VolumeInfo>,
    /// Entries in the object (`volumes` holds at most [`KEPT`] of them).
    pub total: usize,
    /// Of `total`: how many were skipped, failed, and kept only as CSI snapshots beside the volume.
    #[serde(default)]
    pub skipped: usize,
    #[serde(default)]
    pub failed: usize,
    #[serde(default)]
    pub csi_snapshot_only: usize,
    /// Size of the object as read (gzip).
    #[serde(default)]
    pub compressed_bytes: u64,
}

impl VolumeInfos {
    /// The entry of a PVC, when kept.
    pub fn for_pvc(&self, namespace: &str, name: &str) -> Option<&VolumeInfo> {
        self.volumes.iter().find(|v| v.pvc_namespace == namespace && v.pvc_name == name)
    }

    /// Every entry was kept.
    pub fn complete(&self) -> bool {
        self.volumes.len() == self.total
    }
}

fn bad(message: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::BadBody, message)
}

/// A volumeinfo object as read from the BSL (at most [`READ_LIMIT`] bytes; `cut`: it went on):
/// gzip, then Velero's JSON array. Every failure says what is wrong with the object.
pub fn parse(bytes: &[u8], cut: bool) -> Result<VolumeInfos, Problem> {
    if cut {
        return Err(bad(format!("larger than the {} KiB veldr reads of a volumeinfo object: not one Velero writes", READ_LIMIT >> 10)));
    }
    let json = crate::upstream::velero_store::gunzip_bounded(bytes, false)?;
    let mut infos = parse_json(&json)?;
    infos.compressed_bytes = bytes.len() as u64;
    Ok(infos)
}

/// Velero's JSON array (already gunzipped), kept as [`VolumeInfos`].
pub fn parse_json(json: &[u8]) -> Result<VolumeInfos, Problem> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let infos = de.deserialize_option(Kept).map_err(|e| bad(format!("not Velero's volumeinfo JSON ({})", crate::facts::list::content_free(&e))))?;
    de.end().map_err(|e| bad(format!("not Velero's volumeinfo JSON ({e})")))?;
    Ok(infos)
}

/// Decodes the array entry by entry: counts every one, keeps [`KEPT`] (a problem volume replaces a
/// fine one once full), so an object of any size costs at most that much memory.
struct Kept;

impl<'de> Visitor<'de> for Kept {
    type Value = VolumeInfos;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of BackupVolumeInfo")
    }

    // `null`: Velero encodes an empty slice of a nil pointer so (no volume met).
    fn visit_none<E: serde::de::Error>(self) -> Result<VolumeInfos, E> {
        Ok(VolumeInfos::default())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<VolumeInfos, E> {
        Ok(VolumeInfos::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<VolumeInfos, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<VolumeInfos, A::Error> {
        let mut out = VolumeInfos::default();
        // Velero encodes `[]*BackupVolumeInfo`: a nil pointer is `null`.
        while let Some(v) = seq.next_element::<Option<VolumeInfo>>()? {
            let Some(v) = v else { continue };
            out.total += 1;
            match v.outcome() {
                Outcome::Skipped => out.skipped += 1,
                Outcome::Failed => out.failed += 1,
                _ => {}
            }
            if v.csi_snapshot_only() && !v.lost() {
                out.csi_snapshot_only += 1;
            }
            if out.volumes.len() < KEPT {
                out.volumes.push(v);
            } else if v.lost() {
                // Full: a lost volume takes the place of the last fine one kept.
                if let Some(i) = out.volumes.iter().rposition(|k| !k.lost()) {
                    out.volumes.remove(i);
                    out.volumes.push(v);
                }
            }
        }
        Ok(out)
    }
}

/// A skip reason, cut at [`REASON_CHARS`]; empty reads as none.
fn reason<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let r: Option<String> = Option::deserialize(d)?;
    Ok(r.filter(|r| !r.trim().is_empty()).map(|r| {
        let r = r.trim();
        if r.chars().count() > REASON_CHARS { r.chars().take(REASON_CHARS).collect::<String>() + "…" } else { r.to_string() }
    }))
}

/// Gzip of Velero's JSON, for tests (of this module and of the checks that read it).
#[cfg(test)]
pub(crate) fn gz_json(v: &serde_json::Value) -> Vec<u8> {
    crate::upstream::velero_store::gz((v.to_string() + "\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Entries as Velero 1.17 writes them (`internal/volume/volumes_information.go`): a CSI snapshot
    /// that succeeded, a volume skipped by a resource policy, an in-tree volume the CSI action skipped.
    fn velero_117() -> serde_json::Value {
        json!([
            {"pvcName": "data-postgres-0", "pvcNamespace": "shop", "pvName": "pvc-0b6c", "backupMethod": "CSISnapshot",
             "snapshotDataMoved": false, "preserveLocalSnapshot": true, "skipped": false,
             "startTimestamp": "2026-11-29T02:00:01Z", "completionTimestamp": "2026-11-29T02:00:09Z", "result": "succeeded",
             "csiSnapshotInfo": {"snapshotHandle": "4a1d+6f0c", "size": 10737418240i64, "driver": "csi.vsphere.vmware.com",
                                 "vscName": "snapcontent-1", "operationID": "shop/velero-data-postgres-0-x/2026-11-29T02:00:01Z", "ReadyToUse": true},
             "pvInfo": {"reclaimPolicy": "Delete", "labels": {"a": "b"}}},
            {"pvcName": "uploads", "pvcNamespace": "shop", "pvName": "pvc-5d9e", "snapshotDataMoved": false, "preserveLocalSnapshot": false,
             "skipped": true, "skippedReason": "volumeSnapshot: matched action is 'skip' in chosen resource policies;",
             "pvInfo": {"reclaimPolicy": "Delete", "labels": null}},
            {"pvcName": "legacy", "pvcNamespace": "shop", "pvName": "pv-legacy", "snapshotDataMoved": false, "preserveLocalSnapshot": false,
             "skipped": true, "skippedReason": "csiSnapshot: skipped b/c it's not a CSI volume;volumeSnapshot: no applicable volumesnapshotter found;"}
        ])
    }

    #[test]
    fn velero_entries_parse_with_their_outcomes() {
        let infos = parse(&gz_json(&velero_117()), false).unwrap();
        assert_eq!((infos.total, infos.skipped, infos.failed, infos.csi_snapshot_only), (3, 2, 0, 1));
        let data = infos.for_pvc("shop", "data-postgres-0").unwrap();
        assert_eq!(data.outcome(), Outcome::Succeeded);
        assert!(data.csi_snapshot_only());
        let csi = data.csi_snapshot_info.as_ref().unwrap();
        assert_eq!((csi.driver.as_str(), csi.ready_to_use, csi.size), ("csi.vsphere.vmware.com", Some(true), 10737418240));
        let legacy = infos.for_pvc("shop", "legacy").unwrap();
        assert_eq!(legacy.outcome(), Outcome::Skipped);
        assert_eq!(
            legacy.skip_reasons(),
            vec![("csiSnapshot", "skipped b/c it's not a CSI volume"), ("volumeSnapshot", "no applicable volumesnapshotter found")]
        );
        assert_eq!(infos.for_pvc("shop", "uploads").unwrap().skip_reasons(), vec![("volumeSnapshot", "matched action is 'skip' in chosen resource policies")]);
        // The bundle keeps Velero's names: what was kept reads back the same.
        let back: VolumeInfos = serde_json::from_value(serde_json::to_value(&infos).unwrap()).unwrap();
        assert_eq!(back, infos);
        assert!(serde_json::to_string(&infos).unwrap().contains("\"ReadyToUse\":true"));
    }

    #[test]
    fn velero_113_without_result_is_unknown_not_failed() {
        // v1.13.0 `VolumeInfo`: no `result`, no `ReadyToUse`; a PVB entry without a PVC.
        let doc = json!([
            {"pvcName": "data", "pvcNamespace": "shop", "pvName": "pv-a", "backupMethod": "CSISnapshot", "snapshotDataMoved": false,
             "preserveLocalSnapshot": true, "skipped": false, "csiSnapshotInfo": {"snapshotHandle": "h", "size": 1, "driver": "d", "vscName": "v", "operationID": "o"}},
            {"backupMethod": "PodVolumeBackup", "snapshotDataMoved": false, "skipped": false,
             "pvbInfo": {"uploaderType": "kopia", "volumeName": "cache", "podName": "web-0", "podNamespace": "shop", "Phase": "Failed"}},
            null
        ]);
        let infos = parse(&gz_json(&doc), false).unwrap();
        assert_eq!((infos.total, infos.failed), (2, 0));
        assert_eq!(infos.volumes[0].outcome(), Outcome::Unknown);
        assert_eq!(infos.volumes[1].id(), "");
        assert_eq!(infos.volumes[1].pvb_info.as_ref().unwrap().phase, "Failed");
        // A failed CSI snapshot (v1.15.0+ writes `result`).
        let failed = parse(&gz_json(&json!([{"pvcName": "d", "pvcNamespace": "s", "backupMethod": "CSISnapshot", "skipped": false, "result": "failed"}])), false).unwrap();
        assert_eq!((failed.failed, failed.volumes[0].outcome(), failed.csi_snapshot_only), (1, Outcome::Failed, 0));
        // No volume at all: `[]` or `null`.
        assert_eq!(parse(&gz_json(&json!([])), false).unwrap().total, 0);
        assert_eq!(parse(&gz_json(&json!(null)), false).unwrap().total, 0);
    }

    #[test]
    fn a_huge_record_keeps_the_lost_volumes_and_counts_the_rest() {
        let mut entries: Vec<serde_json::Value> = (0..KEPT + 500)
            .map(|i| json!({"pvcName": format!("v{i}"), "pvcNamespace": "big", "backupMethod": "CSISnapshot", "skipped": false, "result": "succeeded"}))
            .collect();
        entries.push(json!({"pvcName": "lost", "pvcNamespace": "big", "skipped": true, "skippedReason": "x".repeat(2 * REASON_CHARS)}));
        let infos = parse(&gz_json(&json!(entries)), false).unwrap();
        assert_eq!((infos.total, infos.volumes.len(), infos.skipped, infos.csi_snapshot_only), (KEPT + 501, KEPT, 1, KEPT + 500));
        assert!(!infos.complete());
        let lost = infos.for_pvc("big", "lost").expect("a lost volume is kept even past the cap");
        assert_eq!(lost.skipped_reason.as_ref().unwrap().chars().count(), REASON_CHARS + 1);
    }

    #[test]
    fn objects_that_are_not_velero_volumeinfo_say_what_they_are() {
        let e = parse(b"<html>502</html>", false).unwrap_err();
        assert!(e.message.contains("not gzip"), "{e:?}");
        let e = parse(&crate::upstream::velero_store::gz(b"{\"pvcName\": 3}"), false).unwrap_err();
        assert!(e.message.contains("not Velero's volumeinfo JSON"), "{e:?}");
        let e = parse(&crate::upstream::velero_store::gz(br#"[{"pvcName": "secret-looking-value", "skipped": "yes"}]"#), false).unwrap_err();
        assert!(e.message.contains("not Velero's volumeinfo JSON") && !e.message.contains("yes\""), "{e:?}");
        let e = parse(&gz_json(&velero_117()), true).unwrap_err();
        assert!(e.message.contains("larger than the 1024 KiB veldr reads of a volumeinfo object"), "{e:?}");
        let e = parse(&crate::upstream::velero_store::gz(b"[] []"), false).unwrap_err();
        assert!(e.message.contains("not Velero's volumeinfo JSON"), "{e:?}");
    }
}
