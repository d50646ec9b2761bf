//! What `veldr verify` did and saw: the test Backup it created, each state the watch delivered
//! (phase, items, time), what the BSL held for it (its directory's listing, results, volumeinfo),
//! and the cleanup. Kept in the bundle (`--record`), so a verify report replays offline.

use super::backup_objects::VolumeInfoRead;
use super::openstack::{Outcome, Problem};
use super::results::ResultsRead;
use super::velero::Backup;
use serde::{Deserialize, Serialize};

/// The labels verify puts on its Backup (with `velero backup create --labels`'s effect).
pub const CREATED_BY_LABEL: (&str, &str) = ("app.kubernetes.io/created-by", "veldr");
pub const VERIFY_LABEL: (&str, &str) = ("veldr.io/verify", "true");
/// The Backup's ttl: a test backup that nobody removes expires within the hour, and Velero's garbage
/// collection deletes it (with its snapshot) then.
pub const TTL: &str = "1h0m0s";
/// The phases after which Velero does nothing more with a Backup (pkg/apis/velero/v1/backup_types.go).
pub const TERMINAL_PHASES: &[&str] = &["Completed", "PartiallyFailed", "Failed", "FailedValidation"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyFacts {
    /// `veldr-verify-<UTC timestamp>`.
    pub backup: String,
    /// The Velero namespace it was created in.
    pub namespace: String,
    /// `--include-namespace`: what it backs up.
    pub included_namespace: String,
    /// `--timeout`: the longest veldr waited for the backup, and again for its deletion.
    pub timeout_ms: u64,
    /// Why the Backup was not created (the create request failed); then nothing else happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_created: Option<Problem>,
    /// Every state the watch delivered, in order.
    #[serde(default)]
    pub timeline: Vec<Moment>,
    /// The Backup as last seen before the cleanup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Backup>,
    /// How the wait for the backup ended.
    #[serde(default)]
    pub end: WatchEnd,
    /// Its objects in the BSL, read once it ended (`None`: not read; `StoreReads::unread` says why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreReads>,
    #[serde(default)]
    pub cleanup: Cleanup,
}

impl VerifyFacts {
    /// The phase last seen ("New" for a Backup without one).
    pub fn phase(&self) -> &str {
        self.last.as_ref().and_then(|b| b.status.phase.as_deref()).filter(|p| !p.is_empty()).unwrap_or("New")
    }
}

/// One state of the Backup the watch delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Moment {
    /// Since the Backup was created.
    pub at_ms: u64,
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_backed_up: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_items: Option<u64>,
}

/// How the wait for the backup ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum WatchEnd {
    /// Not watched (the Backup was not created).
    #[default]
    NotWatched,
    /// It reached a terminal phase.
    Terminal,
    /// `--timeout` passed first.
    TimedOut,
    /// veldr was interrupted (SIGINT, SIGTERM) while waiting.
    Interrupted { signal: String },
    /// The Backup disappeared while veldr waited (someone deleted it).
    Deleted,
    /// The watch could not go on (refused, or the API server went away).
    Failed { reason: String },
}

/// The BSL's objects of the backup.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreReads {
    pub bsl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// `backups/<b>/` under the BSL's prefix.
    pub dir: String,
    /// Why nothing was read (not a Swift BSL veldr asked, no token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
    /// The names of its objects once it ended (at most [`LISTED`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<Outcome<Vec<String>>>,
    /// `<b>-results.gz`, read when the backup ran (not for FailedValidation or New).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsRead>,
    /// `<b>-volumeinfo.json.gz`, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_info: Option<VolumeInfoRead>,
}

/// Object names kept of one backup's directory (Velero writes nine or ten).
pub const LISTED: usize = 100;

/// What became of the test backup after it was judged.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cleanup {
    /// `--keep`: nothing was asked.
    #[serde(default)]
    pub kept: bool,
    /// The DeleteBackupRequest created (its generated name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Why the DeleteBackupRequest could not be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_failed: Option<Problem>,
    /// The request's status as last seen (Velero sets `Processed`, with `errors` when it refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_phase: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_errors: Vec<String>,
    /// The Backup was seen deleted.
    #[serde(default)]
    pub backup_gone: bool,
    /// How long veldr waited for it.
    #[serde(default)]
    pub waited_ms: u64,
    /// The watch of the deletion ended early (interrupted again, or refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_short: Option<String>,
    /// The backup's objects still in the BSL after the wait (names, at most [`LISTED`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_left: Option<Outcome<Vec<String>>>,
}
