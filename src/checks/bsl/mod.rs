pub mod config;
pub mod phase;

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
