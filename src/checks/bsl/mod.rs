pub mod config;
pub mod phase;

use crate::checks::findings::Finding;
use crate::checks::Ctx;
use crate::facts::{BackupStorageLocation, List};
use crate::model::Status;

/// Shared by bsl.phase and bsl.config: a selected BSL that did not decode cannot be judged and may
/// hide a broken one, so each is a warning naming what failed to decode.
fn malformed_findings(ctx: &Ctx, all: &List<BackupStorageLocation>, judged: &str) -> Vec<Finding> {
    let ns = ctx.namespace();
    all.malformed
        .iter()
        .filter(|m| ctx.bsl_filter.is_empty() || m.name.as_ref().is_some_and(|n| ctx.bsl_filter.contains(n)))
        .map(|m| {
            let name = m.name.as_deref().unwrap_or("<unnamed>");
            Finding::new(Status::Warn, format!("BSL {name} could not be read, so its {judged} is not judged"))
                .detail(m.describe())
                .hint(format!("`kubectl -n {ns} get bsl {name} -o yaml` and fix the field named above"))
        })
        .collect()
}

/// Test fixtures shared by the bsl.* checks' tests.
#[cfg(test)]
mod fixtures {
    use crate::facts::{Facts, List};
    use crate::model::Verdict;
    use serde_json::{json, Value};

    pub fn bsl(name: &str, phase: &str, last: Option<&str>, message: Option<&str>) -> Value {
        let mut b = json!({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": "velero", "creationTimestamp": "2026-11-01T00:00:00Z"},
            "spec": {"provider": "community.openstack.org/openstack", "objectStorage": {"bucket": "velero-backups"}, "default": true},
            "status": {"phase": phase}
        });
        if let Some(l) = last {
            b["status"]["lastValidationTime"] = json!(l);
        }
        if let Some(m) = message {
            b["status"]["message"] = json!(m);
        }
        b
    }

    /// Objects decoded as collect decodes them: one that does not decode is kept as malformed.
    pub fn list<T: crate::facts::Object>(objects: Vec<Value>) -> List<T> {
        let mut list = List::default();
        objects.iter().for_each(|o| list.push_json(&o.to_string()));
        list
    }

    pub fn facts_with(bsls: Vec<Value>) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.backup_storage_locations = Ok(list(bsls));
        f
    }

    pub fn text(v: &Verdict) -> String {
        format!("{} {} {}", v.summary, v.details.join(" "), v.hint.clone().unwrap_or_default()).to_lowercase()
    }
}
