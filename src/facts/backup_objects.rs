//! What veldr read of the backups' objects in the BSLs (backup.inventory, backup.coverage): each
//! BSL's backups as one bounded listing shows them, and, for the newest finished backup of each
//! Schedule, the HEADs of its objects (`X-Delete-At`) and its volumeinfo record. Names, sizes,
//! dates and Velero's volume record only: never an object's content.

use super::openstack::Outcome;
use crate::upstream::velero_volumeinfo::VolumeInfos;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The backups under one BSL's `<prefix>/backups/`, from its container listing (names, dates).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupObjects {
    /// `backups/`, or `<BSL prefix>/backups/`.
    pub prefix: String,
    /// Every directory under the prefix (what Velero's sync takes for a backup), by backup name.
    pub backups: BTreeMap<String, ListedBackup>,
    /// Objects directly under the prefix, in no backup's directory.
    #[serde(default)]
    pub loose_objects: u64,
    /// Listing requests made (pages of at most the page limit).
    pub pages: u32,
    /// The listing stopped at its cap: objects named after `last_name` were not seen.
    pub capped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

impl BackupObjects {
    /// Whether the listing saw every object of `backup`'s directory (Swift lists names in order: a
    /// capped listing saw a directory whole only when it went on past it).
    pub fn covers(&self, backup: &str) -> bool {
        match (&self.last_name, self.capped) {
            (Some(last), true) => {
                let dir = format!("{}{backup}/", self.prefix);
                last.as_str() > dir.as_str() && !last.starts_with(&dir)
            }
            (None, true) => false,
            _ => true,
        }
    }
}

/// One backup's directory as listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedBackup {
    pub objects: u32,
    /// `velero-backup.json`: the sync controller creates the Backup from it.
    pub metadata: bool,
    /// `<b>.tar.gz`: the backed-up resources.
    pub contents: bool,
    /// `<b>-volumeinfo.json.gz` (Velero 1.13+).
    #[serde(default)]
    pub volume_info: bool,
    /// The newest `last_modified` of its objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<Timestamp>,
}

/// The newest finished backup of each Schedule, read from its BSL: at most `limit`, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewestBackupsFacts {
    /// Why nothing was read, when nothing was (no token, no Backups list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_attempted: Option<String>,
    /// Schedules with a finished (Completed or PartiallyFailed) backup.
    #[serde(default)]
    pub qualified: usize,
    /// The most read per run; `qualified` beyond it were not read.
    #[serde(default)]
    pub limit: usize,
    #[serde(default)]
    pub reads: Vec<NewestBackupRead>,
}

impl NewestBackupsFacts {
    pub fn for_schedule(&self, schedule: &str) -> Option<&NewestBackupRead> {
        self.reads.iter().find(|r| r.schedule == schedule)
    }
}

/// One Schedule's newest finished backup: where its objects are and what Swift said of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewestBackupRead {
    pub schedule: String,
    pub backup: String,
    pub bsl: String,
    /// The Swift container; `None` when the BSL is not an OpenStack one veldr asked (then `unread` says why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
    /// HEADs of `velero-backup.json` and `<b>.tar.gz`.
    #[serde(default)]
    pub heads: Vec<HeadRead>,
    /// `<b>-volumeinfo.json.gz`; `None` when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_info: Option<VolumeInfoRead>,
    #[serde(default)]
    pub elapsed_ms: u64,
}

/// The HEAD of one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadRead {
    /// The object's name in the container (the BSL's prefix included).
    pub key: String,
    pub outcome: Outcome<ObjectHead>,
}

/// What a HEAD of an object says (its content is never read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectHead {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<Timestamp>,
    /// `X-Delete-At`: Swift's object expirer deletes it then (set directly, or from `X-Delete-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_at: Option<Timestamp>,
}

/// The volumeinfo object of a backup, read with the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeInfoRead {
    pub key: String,
    /// `NotFound`: absent (a backup made by Velero before 1.13, or deleted).
    pub outcome: Outcome<VolumeInfos>,
}
