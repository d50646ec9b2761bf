pub mod config;
pub mod phase;

/// Test fixtures shared by the bsl.* checks' tests.
#[cfg(test)]
mod fixtures {
    pub use crate::checks::testing::{list, text};
    use crate::facts::Facts;
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

    pub fn facts_with(bsls: Vec<Value>) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.backup_storage_locations = Ok(list(bsls));
        f
    }

}
