//! What cannot work on a Swift BSL, known in this one place: Kopia, the uploader behind Velero's
//! file-system backup (node-agent) and its data mover (`snapshotMoveData`), has no backend for the
//! OpenStack plugin's object store (REFERENCE §1; velero `pkg/repository/config`: only
//! `velero.io/aws`, `velero.io/azure`, `velero.io/gcp`, `velero.io/fs`). velero.fs-backup judges what
//! asks for it, csi.snapshot-limit reads what a Schedule does with its volumes from here, and a test
//! holds every runbook page's fix and every hint to [`recommends`]: none may advise turning it on.

use crate::facts::BackupSpec;
use std::collections::BTreeMap;

/// The BSL providers Kopia has a backend for; the OpenStack plugin's is not one of them.
pub const BACKENDS: [&str; 4] = ["velero.io/aws", "velero.io/azure", "velero.io/gcp", "velero.io/fs"];

/// Kopia's errors against a BSL it has no backend for: `invalid storage provider` (Kopia) and
/// `invalid backend type %s, provider %s` (the repository identifier).
pub const BACKEND_ERRORS: [&str; 2] = ["invalid storage provider", "invalid backend type"];

/// Whether a PodVolumeBackup's, DataUpload's or BackupRepository's message is Kopia refusing the BSL.
pub fn is_backend_error(message: &str) -> bool {
    BACKEND_ERRORS.iter().any(|e| message.contains(e))
}

/// One way of backing volumes up that goes through Kopia, with every name it is asked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// "file-system backup", "the data mover".
    pub what: &'static str,
    /// The Backup's (and a Schedule template's) field: `defaultVolumesToFsBackup`, `snapshotMoveData`.
    pub spec_field: &'static str,
    /// The server's default, a flag of `velero server`: `default-volumes-to-fs-backup`.
    pub server_flag: &'static str,
    /// The Velero chart's value for that flag: `configuration.<helm_value>`.
    pub helm_value: &'static str,
    /// `velero backup create`'s flag.
    pub cli_flag: &'static str,
}

/// Kopia through node-agent, volume by volume (pkg/cmd/server/config `--default-volumes-to-fs-backup`).
pub const FS_BACKUP: Feature = Feature {
    what: "file-system backup",
    spec_field: "defaultVolumesToFsBackup",
    server_flag: "default-volumes-to-fs-backup",
    helm_value: "defaultVolumesToFsBackup",
    cli_flag: "--default-volumes-to-fs-backup",
};

/// Kopia copying each CSI snapshot's data to the BSL, then deleting the snapshot.
pub const DATA_MOVER: Feature = Feature {
    what: "the data mover",
    spec_field: "snapshotMoveData",
    server_flag: "default-snapshot-move-data",
    helm_value: "defaultSnapshotMoveData",
    cli_flag: "--snapshot-move-data",
};

pub const FEATURES: [Feature; 2] = [FS_BACKUP, DATA_MOVER];

/// What a Backup's spec (or a Schedule's template) asks of Kopia by itself, as it is written there.
pub fn asks(spec: &BackupSpec) -> Vec<&'static str> {
    let mut a = Vec::new();
    if spec.default_volumes_to_fs_backup == Some(true) {
        a.push("defaultVolumesToFsBackup: true");
    } else if spec.default_volumes_to_restic == Some(true) {
        // Deprecated; Velero remaps it to defaultVolumesToFsBackup.
        a.push("defaultVolumesToRestic: true");
    }
    if spec.snapshot_move_data == Some(true) {
        a.push("snapshotMoveData: true");
    }
    a
}

/// The server defaults (`--default-volumes-to-fs-backup`, `--default-snapshot-move-data`) its flags set.
pub fn server_defaults(flags: &BTreeMap<String, String>) -> Vec<Feature> {
    FEATURES.into_iter().filter(|f| crate::upstream::velero::flag_true(flags, f.server_flag)).collect()
}

/// Which Kopia feature a backup made from `spec` sends its volumes to, the server's defaults applied
/// where the spec says nothing (file-system backup first: Velero backs a volume up one way only).
pub fn used_by(spec: &BackupSpec, flags: &BTreeMap<String, String>) -> Option<Feature> {
    let default = |f: Feature| crate::upstream::velero::flag_true(flags, f.server_flag);
    if spec.default_volumes_to_fs_backup.or(spec.default_volumes_to_restic).unwrap_or(default(FS_BACKUP)) {
        Some(FS_BACKUP)
    } else if spec.snapshot_move_data.unwrap_or(default(DATA_MOVER)) {
        Some(DATA_MOVER)
    } else {
        None
    }
}

/// Settings that turn Kopia on, as YAML, JSON or `key=value` would write them.
const ENABLING_SETTINGS: [&str; 4] = ["snapshotMoveData", "defaultSnapshotMoveData", "defaultVolumesToFsBackup", "defaultVolumesToRestic"];
/// Flags that turn it on unless given `=false`.
const ENABLING_FLAGS: [&str; 6] =
    ["--snapshot-move-data", "--default-snapshot-move-data", "--default-volumes-to-fs-backup", "--default-volumes-to-restic", "--use-node-agent", "--use-restic"];
/// A pod's opt-in to file-system backup, and a resource policy's action that sends volumes there.
const ENABLING_OTHER: [&str; 3] = ["backup.velero.io/backup-volumes=", "type: fs-backup", "\"type\":\"fs-backup\""];

/// The part of `advice` (a runbook page's fix, a hint) that would turn Kopia on for a Swift BSL, if
/// any: a setting given `true`, a flag given without `=false` (unless its sentence says to remove
/// it), a pod opted in to file-system backup, a volume policy of type `fs-backup`.
pub fn recommends(advice: &str) -> Option<String> {
    // Sentences end with ". " (not every dot: `backup.velero.io`) or a ';'; a page wraps them over lines.
    for sentence in advice.replace('\n', " ").replace(". ", "\n").split([';', '\n']) {
        let flat = sentence.replace(['`', '\''], "");
        for setting in ENABLING_SETTINGS {
            for form in [format!("{setting}: true"), format!("{setting}=true"), format!("\"{setting}\":true"), format!("\"{setting}\": true")] {
                if flat.contains(&form) {
                    return Some(form);
                }
            }
        }
        for flag in ENABLING_FLAGS {
            let removed = ["remove", "drop", "without"].iter().any(|w| flat.to_ascii_lowercase().contains(w));
            for (at, _) in flat.match_indices(flag) {
                let rest = &flat[at + flag.len()..];
                if rest.starts_with('-') || rest.starts_with("=false") || rest.starts_with(" false") {
                    continue;
                }
                if rest.starts_with("=true") || !removed {
                    return Some(format!("{flag}{}", if rest.starts_with("=true") { "=true" } else { "" }));
                }
            }
        }
        if let Some(form) = ENABLING_OTHER.iter().find(|f| flat.contains(*f)) {
            return Some(form.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> BackupSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn what_a_spec_asks_and_what_a_backup_uses() {
        assert_eq!(asks(&spec(r#"{"defaultVolumesToRestic": true, "snapshotMoveData": true}"#)), ["defaultVolumesToRestic: true", "snapshotMoveData: true"]);
        assert!(asks(&spec(r#"{"snapshotMoveData": false}"#)).is_empty());
        let flags: BTreeMap<String, String> = [("default-snapshot-move-data".to_string(), "true".to_string())].into();
        assert_eq!(server_defaults(&flags), [DATA_MOVER]);
        assert_eq!(used_by(&spec("{}"), &flags), Some(DATA_MOVER));
        assert_eq!(used_by(&spec(r#"{"snapshotMoveData": false}"#), &flags), None);
        assert_eq!(used_by(&spec(r#"{"defaultVolumesToFsBackup": true}"#), &BTreeMap::new()), Some(FS_BACKUP));
        assert!(is_backend_error("error to initialize data path: invalid backend type community.openstack.org/openstack, provider x"));
    }

    #[test]
    fn advice_that_turns_kopia_on_is_told_from_advice_that_turns_it_off() {
        for on in [
            "move the data out: `snapshotMoveData: true` (the data mover uploads and deletes the snapshot)",
            "Helm value `configuration.defaultVolumesToFsBackup: true`",
            "`velero backup create b --snapshot-move-data`",
            "run the server with --default-volumes-to-fs-backup=true",
            "`kubectl -n velero patch schedule s --type merge -p '{\"spec\":{\"template\":{\"snapshotMoveData\":true}}}'`",
            "`kubectl annotate pod db-0 backup.velero.io/backup-volumes=data`",
            "a volume policy with `action: {type: fs-backup}`",
        ] {
            assert!(recommends(on).is_some(), "{on}");
        }
        for off in [
            "set defaultVolumesToFsBackup and snapshotMoveData to false wherever they are true (server flags, Schedules, `velero backup create --default-volumes-to-fs-backup=false`)",
            "remove --default-volumes-to-fs-backup from the velero container's args (`kubectl -n velero edit deployment/velero`)",
            "without Helm remove `--default-volumes-to-fs-backup` / `--default-snapshot-move-data` from the args",
            "`velero backup create <name> --default-volumes-to-fs-backup=false --snapshot-move-data=false`",
            "Helm value `configuration.defaultSnapshotMoveData: false`",
            "the data mover (`snapshotMoveData`) needs Kopia, which cannot write to a Swift BSL",
        ] {
            assert_eq!(recommends(off), None, "{off}");
        }
    }
}
