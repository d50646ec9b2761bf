//! `veldr verify`'s checks, appended to the doctor's in its report: the test backup it made, judged
//! with what the doctor's checks already know (backup.failures' reading of results, backup.coverage's
//! of volumeinfo, backup.inventory's of the BSL's objects). They judge `facts.verify`
//! ([`crate::facts::verify::VerifyFacts`]), which only `veldr verify` fills (or a bundle it recorded).

pub mod backup;
pub mod objects;
pub mod volumes;

use crate::checks::Ctx;
use crate::facts::verify::{VerifyFacts, TERMINAL_PHASES};
use crate::model::Verdict;

/// The doctor's checks a backup needs: when one of them does not pass, verify stops before it creates
/// anything and its own checks are skipped, naming it (the engine's `depends_on`).
pub const NEEDED: &[&str] = &["velero.deployment", "credentials.env", "bsl.phase", "keystone.auth", "swift.container"];

/// The verify facts, or the `skip` verdict that says there are none.
pub(crate) fn facts<'a>(ctx: &Ctx<'a>) -> Result<&'a VerifyFacts, Verdict> {
    ctx.facts.verify.as_ref().ok_or_else(|| {
        Verdict::skip("no test backup in this run (only `veldr verify` makes one; a bundle recorded by `veldr doctor` holds none)")
    })
}

/// Whether Velero ran the backup (it got past validation), so that it wrote objects.
pub(crate) fn ran(v: &VerifyFacts) -> bool {
    v.timeline.iter().any(|m| m.phase == "InProgress") || matches!(v.phase(), "Completed" | "PartiallyFailed" | "Failed")
}

/// Whether the backup ended (a terminal phase).
pub(crate) fn ended(v: &VerifyFacts) -> bool {
    TERMINAL_PHASES.contains(&v.phase())
}

/// `1.2s`, `42s`, `3m05s`.
pub(crate) fn secs(ms: u64) -> String {
    match ms {
        0..=9_999 => format!("{:.1}s", ms as f64 / 1000.0),
        10_000..=119_999 => format!("{}s", ms / 1000),
        _ => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Verify facts for the judges' unit tests.
    use crate::facts::verify::{Cleanup, Moment, StoreReads, VerifyFacts, WatchEnd};
    use crate::facts::{Backup, Facts};
    use serde_json::json;

    pub const NAME: &str = "veldr-verify-20261129080000";

    pub fn backup(phase: &str, status: serde_json::Value) -> Backup {
        let mut s = status;
        s["phase"] = json!(phase);
        serde_json::from_value(json!({
            "metadata": {"name": NAME, "namespace": "velero", "uid": "u-1"},
            "spec": {"includedNamespaces": ["shop"], "storageLocation": "default", "ttl": "1h0m0s"},
            "status": s,
        }))
        .unwrap()
    }

    pub fn moments(phases: &[&str]) -> Vec<Moment> {
        phases.iter().enumerate().map(|(i, p)| Moment { at_ms: i as u64 * 700, phase: p.to_string(), items_backed_up: None, total_items: None }).collect()
    }

    /// A verify run that ended in `phase` with the phases seen on the way.
    pub fn run(phases: &[&str], status: serde_json::Value) -> VerifyFacts {
        let last = phases.last().copied().unwrap_or("");
        VerifyFacts {
            backup: NAME.into(),
            namespace: "velero".into(),
            included_namespace: "shop".into(),
            timeout_ms: 600_000,
            timeline: moments(phases),
            last: Some(backup(last, status)),
            end: WatchEnd::Terminal,
            store: Some(StoreReads { bsl: "default".into(), container: Some("velero-backups".into()), dir: format!("backups/{NAME}/"), ..Default::default() }),
            cleanup: Cleanup::default(),
            ..Default::default()
        }
    }

    pub fn facts(v: VerifyFacts) -> Facts {
        let mut f = Facts::empty("velero");
        f.verify = Some(v);
        f
    }
}
