//! Why a call to Keystone or Swift gave no usable answer: the vocabulary that the OpenStack facts, the
//! results of failed backups and the checks share. A leaf: it imports nothing of veldr's.

use serde::{Deserialize, Serialize};

/// Why an OpenStack call gave no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// 401: the credential or token was refused.
    Unauthorized,
    /// 404: the credential, the container or the account does not exist.
    NotFound,
    /// 403: the credential's roles open nothing there.
    Forbidden,
    /// Nothing answered (refused, DNS, reset).
    Unreachable,
    /// No answer within the run's `--timeout`.
    Timeout,
    /// The TLS handshake failed (untrusted or expired certificate, plain HTTP port).
    Tls,
    /// Any other HTTP status.
    Http,
    /// The answer could not be read or is not what the service sends.
    BadBody,
    /// Swift hides `/info` (`expose_info = false`).
    InfoDisabled,
    /// An auth URL or Swift endpoint that cannot be used as given.
    BadUrl,
    /// The catalog has an object store, but not in the plugin's region (or interface).
    NoRegion,
    /// The catalog has no object store at all.
    NoService,
    /// The call was not made (a call it depends on failed).
    NotAttempted,
}

/// A failed OpenStack call: why, and the sentence that says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

impl Problem {
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem { kind, message: message.into() }
    }
}

pub type Outcome<T> = Result<T, Problem>;
