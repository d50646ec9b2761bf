//! What veldr keeps of the velero container's log: counts, and the lines that matched a telltale veldr
//! knows, each scrubbed of secrets before it is kept (`util::scrub`). The log itself never leaves collect.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The logs read, one entry per current pod of the Velero Deployment (at most [`MAX_PODS`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VeleroLogs {
    pub pods: Vec<PodLogs>,
}

/// Pods whose logs are read (a stuck rollout has two).
pub const MAX_PODS: usize = 3;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodLogs {
    pub pod: String,
    pub container: String,
    /// The running container's log of the last hour.
    pub current: LogRead,
    /// The previous container's log, when the container restarted (its last lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<LogRead>,
    /// The restart that left the previous container (`lastState.terminated`), as the kubelet reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted: Option<String>,
}

/// One log read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRead {
    /// The query's bounds, as sent: `sinceSeconds=3600&limitBytes=…` or `previous=true&tailLines=…`.
    pub query: String,
    pub limit_bytes: u64,
    pub bytes: u64,
    /// The byte cap was reached: older lines were not read.
    pub capped: bool,
    pub lines: u64,
    /// Lines at `level=error` (logrus text or JSON), all of them and those of the last hour.
    pub error_lines: u64,
    pub error_lines_last_hour: u64,
    /// The time of the oldest and newest line that carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Timestamp>,
    /// Telltales found, one entry per explanation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hits: Vec<TelltaleHit>,
    /// Why nothing (or not everything) was read: the kubelet's answer (`… is waiting to start`), a cut connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Lines that matched one telltale.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TelltaleHit {
    /// The check that explains it, and what it means (the table of messages veldr knows).
    pub check: String,
    pub why: String,
    pub count: u64,
    pub last_hour: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<Timestamp>,
    /// The newest matching lines (at most [`KEPT_LINES`]), scrubbed and cut, oldest first.
    pub lines: Vec<KeptLine>,
}

/// Lines kept per telltale and read.
pub const KEPT_LINES: usize = 3;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeptLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    pub text: String,
}
