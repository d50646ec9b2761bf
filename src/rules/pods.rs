//! The pods of a Deployment, and status conditions as Kubernetes reports them.

use super::selector::selector_matches;
use crate::facts::Object;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetCondition, Deployment, DeploymentCondition};
use k8s_openapi::api::core::v1::{Pod, PodCondition};

/// The pods of a Deployment: same namespace, selected by its selector, and not owned by another
/// controller. The Helm chart's Deployment selector (`app.kubernetes.io/name` + `instance`) also
/// matches the node-agent pods; Kubernetes tells them apart by owner, and so does veldr.
pub fn pods_of<'a>(deployment: &Deployment, pods: &'a [Pod]) -> Vec<&'a Pod> {
    let ns = deployment.namespace();
    let dname = deployment.name();
    // A pod made by this Deployment is controlled by one of its ReplicaSets, `<deployment>-<hash>`.
    let ours = |p: &Pod| match p.metadata.owner_references.iter().flatten().find(|o| o.controller == Some(true)) {
        None => true,
        Some(o) => o.kind == "ReplicaSet" && o.name.strip_prefix(dname).is_some_and(|rest| rest.starts_with('-')),
    };
    pods.iter()
        .filter(|p| ns.is_none() || p.namespace() == ns)
        .filter(|p| selector_matches(&deployment.spec.selector, p.metadata.labels.as_ref()))
        .filter(|p| ours(p))
        .collect()
}

/// A pod that counts: not being deleted and not finished (evicted pods linger as `Failed`).
pub fn is_current_pod(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase(pod), Some("Failed" | "Succeeded"))
}

/// `status.phase` of a pod.
pub fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

/// One entry of `status.conditions` (each kind has its own type with the same fields).
pub trait Condition {
    fn kind(&self) -> &str;
    fn status(&self) -> &str;
    fn reason(&self) -> Option<&str>;
    fn message(&self) -> Option<&str>;
}

/// An object with `status.conditions`.
pub trait Conditions {
    type Condition: Condition;
    fn conditions(&self) -> &[Self::Condition];
}

macro_rules! conditions {
    ($($obj:ty => $cond:ty, $text:expr);* $(;)?) => {$(
        impl Condition for $cond {
            fn kind(&self) -> &str { $text(&self.type_) }
            fn status(&self) -> &str { $text(&self.status) }
            fn reason(&self) -> Option<&str> { self.reason.as_deref() }
            fn message(&self) -> Option<&str> { self.message.as_deref() }
        }
        impl Conditions for $obj {
            type Condition = $cond;
            fn conditions(&self) -> &[$cond] {
                self.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default()
            }
        }
    )*};
}

// Pod conditions have required `type`/`status`; the apps kinds' are optional (read as empty).
fn or_empty(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or_default()
}

conditions! {
    Pod => PodCondition, String::as_str;
    Deployment => DeploymentCondition, or_empty;
    DaemonSet => DaemonSetCondition, or_empty;
}

/// The condition of this type (`Ready`, `Available`, `ReplicaFailure`…), when reported.
pub fn condition<'a, O: Conditions>(obj: &'a O, kind: &str) -> Option<&'a O::Condition> {
    obj.conditions().iter().find(|c| c.kind() == kind)
}

/// Whether the condition is `True`; `None` when it is not reported.
pub fn condition_true<O: Conditions>(obj: &O, kind: &str) -> Option<bool> {
    condition(obj, kind).map(|c| c.status() == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": "velero", "namespace": "velero"},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "velero", "app.kubernetes.io/instance": "velero"}},
                "template": {}},
            "status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "ReplicaFailure", "status": "False"}]}}))
        .unwrap()
    }

    fn pod(name: &str, ns: &str, owner: Option<(&str, &str)>, extra: serde_json::Value) -> Pod {
        let mut p = json!({"metadata": {"name": name, "namespace": ns,
            "labels": {"app.kubernetes.io/name": "velero", "app.kubernetes.io/instance": "velero"}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}});
        if let Some((kind, oname)) = owner {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": oname, "uid": "u", "controller": true}]);
        }
        if let Some(status) = extra.get("status") {
            p["status"] = status.clone();
        }
        if let Some(ts) = extra.get("deletionTimestamp") {
            p["metadata"]["deletionTimestamp"] = ts.clone();
        }
        serde_json::from_value(p).unwrap()
    }

    #[test]
    fn pods_of_selects_by_namespace_labels_and_owner() {
        let pods = vec![
            pod("velero-7c9d8f5b6d-x2k9p", "velero", Some(("ReplicaSet", "velero-7c9d8f5b6d")), json!({})),
            pod("bare", "velero", None, json!({})),
            pod("node-agent-kx7vq", "velero", Some(("DaemonSet", "node-agent")), json!({})),
            pod("velero-other-abc", "velero", Some(("ReplicaSet", "velerox-abc")), json!({})),
            pod("velero-7c9d8f5b6d-zzzzz", "backup", Some(("ReplicaSet", "velero-7c9d8f5b6d")), json!({})),
        ];
        let names: Vec<&str> = pods_of(&deployment(), &pods).iter().map(|p| p.name()).collect();
        assert_eq!(names, ["velero-7c9d8f5b6d-x2k9p", "bare"]);
    }

    #[test]
    fn a_deployment_without_selector_has_no_pods() {
        let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "velero", "namespace": "velero"}})).unwrap();
        assert!(pods_of(&d, &[pod("bare", "velero", None, json!({}))]).is_empty());
    }

    #[test]
    fn current_pods_are_neither_finished_nor_deleted() {
        assert!(is_current_pod(&pod("a", "velero", None, json!({}))));
        assert!(!is_current_pod(&pod("a", "velero", None, json!({"status": {"phase": "Failed", "reason": "Evicted"}}))));
        assert!(!is_current_pod(&pod("a", "velero", None, json!({"status": {"phase": "Succeeded"}}))));
        assert!(!is_current_pod(&pod("a", "velero", None, json!({"deletionTimestamp": "2026-11-29T08:00:00Z"}))));
    }

    #[test]
    fn conditions_by_type() {
        let d = deployment();
        assert_eq!(condition_true(&d, "Available"), Some(true));
        assert_eq!(condition_true(&d, "ReplicaFailure"), Some(false));
        assert_eq!(condition_true(&d, "Progressing"), None);
        let p = pod("a", "velero", None, json!({}));
        assert_eq!(condition_true(&p, "Ready"), Some(false));
        assert_eq!(condition(&p, "Ready").map(|c| c.kind()), Some("Ready"));
        let bare = pod("b", "velero", None, json!({"status": {}}));
        assert!(condition(&bare, "Ready").is_none());
    }
}
