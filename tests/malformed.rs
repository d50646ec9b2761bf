//! Objects that do not decode, one kind at a time: the healthy scenario read over HTTPS, then one
//! malformed object of each listed kind added to the facts and judged again. Every check that reads
//! that kind names the object (the engine's malformed policy says it once for all of them), and the
//! statuses are pinned in `tests/fixtures/malformed-matrix.txt` (`VELDR_BLESS=1` rewrites it after a
//! deliberate change; review the diff).

mod common;

use common::*;
use std::collections::BTreeMap;
use veldr::facts::{Facts, List, Malformed, Need, Read};
use veldr::pipeline::judge::{judge, Selection};

/// The list a need reads, as a place to add a malformed object to.
fn add_malformed(facts: &mut Facts, need: Need, namespace: Option<&str>) -> bool {
    fn push<T>(read: &mut Read<List<T>>, kind: &str, namespace: Option<&str>) -> bool {
        let Ok(list) = read else { return false };
        list.malformed.push(Malformed {
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: Some("odd".into()),
            reason: "invalid type: integer, expected struct at line 1 column 42".into(),
        });
        true
    }
    let k = &mut facts.kube;
    match need {
        Need::Deployments => push(&mut k.deployments, "Deployment", namespace),
        Need::DaemonSets => push(&mut k.daemonsets, "DaemonSet", namespace),
        Need::Pods => push(&mut k.pods, "Pod", namespace),
        Need::Events => push(&mut k.events, "Event", namespace),
        Need::BackupStorageLocations => push(&mut k.backup_storage_locations, "BackupStorageLocation", namespace),
        Need::VolumeSnapshotLocations => push(&mut k.volume_snapshot_locations, "VolumeSnapshotLocation", namespace),
        Need::Schedules => push(&mut k.schedules, "Schedule", namespace),
        Need::Backups => push(&mut k.backups, "Backup", namespace),
        Need::PodVolumeBackups => push(&mut k.pod_volume_backups, "PodVolumeBackup", namespace),
        Need::BackupRepositories => push(&mut k.backup_repositories, "BackupRepository", namespace),
        Need::Restores => push(&mut k.restores, "Restore", namespace),
        Need::DeleteBackupRequests => push(&mut k.delete_backup_requests, "DeleteBackupRequest", namespace),
        Need::PodVolumeRestores => push(&mut k.pod_volume_restores, "PodVolumeRestore", namespace),
        Need::DataUploads => push(&mut k.data_uploads, "DataUpload", namespace),
        Need::DataDownloads => push(&mut k.data_downloads, "DataDownload", namespace),
        Need::VolumeSnapshotClasses => push(&mut k.volume_snapshot_classes, "VolumeSnapshotClass", None),
        Need::CsiDrivers => push(&mut k.csi_drivers, "CSIDriver", None),
        Need::StorageClasses => push(&mut k.storage_classes, "StorageClass", None),
        Need::PersistentVolumes => push(&mut k.persistent_volumes, "PersistentVolume", None),
        Need::PersistentVolumeClaims => push(&mut k.persistent_volume_claims, "PersistentVolumeClaim", namespace),
        Need::VolumeSnapshots => push(&mut k.volume_snapshots, "VolumeSnapshot", namespace),
        Need::VolumeSnapshotContents => push(&mut k.volume_snapshot_contents, "VolumeSnapshotContent", None),
        _ => false,
    }
}

const LISTS: [Need; 22] = [
    Need::Deployments,
    Need::DaemonSets,
    Need::Pods,
    Need::Events,
    Need::BackupStorageLocations,
    Need::VolumeSnapshotLocations,
    Need::Schedules,
    Need::Backups,
    Need::PodVolumeBackups,
    Need::BackupRepositories,
    Need::Restores,
    Need::DeleteBackupRequests,
    Need::PodVolumeRestores,
    Need::DataUploads,
    Need::DataDownloads,
    Need::VolumeSnapshotClasses,
    Need::CsiDrivers,
    Need::StorageClasses,
    Need::PersistentVolumes,
    Need::PersistentVolumeClaims,
    Need::VolumeSnapshots,
    Need::VolumeSnapshotContents,
];

#[test]
fn a_malformed_object_is_named_by_every_check_that_reads_its_kind() {
    let cluster = serve("healthy", None);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("healthy.json");
    let out = run(&cluster, &["-o", "json", "--skip", "openstack", "--save-bundle", bundle.to_str().unwrap()]);
    assert!(out.status.code().is_some_and(|c| c == 0 || c == 1), "{}", String::from_utf8_lossy(&out.stderr));
    let healthy = veldr::facts::bundle::load(&bundle).expect("the bundle loads");
    let selection = Selection { skip: vec!["openstack".into()], ..Default::default() };
    let base: BTreeMap<String, String> = judge(&healthy, &selection, &[], &Default::default()).into_iter().map(|c| (c.id, c.status.to_string())).collect();

    let mut matrix = String::new();
    let mut silent = Vec::new();
    for need in LISTS {
        for (scope, ns) in [("velero", Some("velero")), ("elsewhere", Some("shop"))] {
            let mut facts = healthy.clone();
            if !add_malformed(&mut facts, need, ns) {
                continue;
            }
            for c in judge(&facts, &selection, &[], &Default::default()) {
                if !c.selected || c.summary.starts_with("skipped:") {
                    continue;
                }
                let def = veldr::checks::find(&c.id).unwrap();
                let named = c.details.iter().chain([&c.summary]).any(|d| d.to_lowercase().contains("odd"));
                // Deployments are read to find Velero's (found here): one that did not decode is not its concern.
                let relevant = need != Need::Deployments && def.objects == veldr::checks::Objects::Judged;
                if def.needs.contains(&need) && scope == "velero" && relevant && !named {
                    silent.push(format!("{} reads {need:?} but does not name the malformed object", c.id));
                }
                let before = &base[&c.id];
                if *before != c.status.to_string() || def.needs.contains(&need) {
                    matrix.push_str(&format!("{need:?}\t{scope}\t{}\t{before} -> {}\t{}\n", c.id, c.status, if named { "named" } else { "-" }));
                }
            }
        }
    }
    let path = repo().join("tests/fixtures/malformed-matrix.txt");
    if std::env::var_os("VELDR_BLESS").is_some() {
        std::fs::write(&path, &matrix).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(matrix, pinned, "statuses with a malformed object changed (VELDR_BLESS=1 rewrites {} after a deliberate change)", path.display());
    assert!(silent.is_empty(), "checks that read a kind and stay silent about its malformed object:\n{}", silent.join("\n"));
}
