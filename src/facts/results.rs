//! What veldr read of Velero's results objects (`backups/<b>/<b>-results.gz`, and
//! `restores/<r>/restore-<r>-results.gz`) for the backups and restores that failed: the messages
//! only, capped (never the object's bytes), so that a bundle judges the same.

use super::problem::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The results read in one run, one per failed or partially failed backup (newest first, capped).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupResultsFacts {
    /// Why nothing was read, when nothing was (no token, no Backups list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_attempted: Option<String>,
    /// How many backups qualified (failed or partially failed, recent or a schedule's newest).
    #[serde(default)]
    pub qualified: usize,
    /// The most results objects read per run; `qualified` beyond it were not read.
    #[serde(default)]
    pub limit: usize,
    #[serde(default)]
    pub reads: Vec<ResultsRead>,
    /// How many restores qualified (failed or partially failed in the last 24 h; their results are
    /// read alongside, at most `restore_limit`). Read only when velero.operations is judged too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restores_qualified: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restore_limit: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl BackupResultsFacts {
    pub fn for_backup(&self, name: &str) -> Option<&ResultsRead> {
        self.reads.iter().find(|r| r.restore.is_none() && r.backup == name)
    }

    /// How many backups' results were read (the restores' aside).
    pub fn backup_reads(&self) -> usize {
        self.reads.iter().filter(|r| r.restore.is_none()).count()
    }

    /// How many restores' results were read.
    pub fn restore_reads(&self) -> usize {
        self.reads.len() - self.backup_reads()
    }

    pub fn for_restore(&self, name: &str) -> Option<&ResultsRead> {
        self.reads.iter().find(|r| r.restore.as_deref() == Some(name))
    }
}

/// One results object: where it was looked for and what it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsRead {
    /// The backup (for a restore's results: the backup it restores, whose BSL holds them).
    pub backup: String,
    /// The restore whose results these are; `None`: the backup's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
    pub bsl: String,
    /// The Swift container (the BSL's bucket); `None` when the BSL is not an OpenStack one veldr asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The object's name in the container (the BSL's prefix included).
    pub key: String,
    pub outcome: Outcome<VeleroResults>,
    #[serde(default)]
    pub elapsed_ms: u64,
}

/// Velero's `map[string]results.Result` with its `errors` and `warnings` (pkg/util/results).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VeleroResults {
    pub errors: Messages,
    pub warnings: Messages,
    /// Size of the object as read (gzip).
    #[serde(default)]
    pub compressed_bytes: u64,
}

/// One `results.Result`: messages about Velero itself, cluster-scoped items, and per namespace.
/// At most [`Messages::KEPT`] are kept in all; `total` is how many the object held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Messages {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub velero: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespaces: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub total: usize,
}

impl Messages {
    /// Messages kept per `Messages` (errors, warnings), over all scopes.
    pub const KEPT: usize = 20;
    /// Characters kept of one message.
    pub const MESSAGE_CHARS: usize = 1000;

    /// Every kept message with its scope (`velero`, `cluster`, `namespace shop`), in that order.
    pub fn scoped(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = Vec::new();
        out.extend(self.velero.iter().map(|m| ("velero".to_string(), m.as_str())));
        out.extend(self.cluster.iter().map(|m| ("cluster".to_string(), m.as_str())));
        for (ns, list) in &self.namespaces {
            out.extend(list.iter().map(|m| (format!("namespace {ns}"), m.as_str())));
        }
        out
    }

    pub fn kept(&self) -> usize {
        self.velero.len() + self.cluster.len() + self.namespaces.values().map(Vec::len).sum::<usize>()
    }
}
