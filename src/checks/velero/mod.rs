pub mod crds;
pub mod deployment;
pub mod features;
pub mod fs_backup;
pub mod logs;
pub mod operations;
pub mod plugin;

/// The cluster the velero.* checks' tests start from: a Helm-installed Velero v1.17.1 with the
/// OpenStack plugin v0.8.2 and EnableCSI, one ready pod, a Swift BSL, vSphere CSI volumes with a
/// labelled class, a daily Schedule and its two latest backups.
#[cfg(test)]
pub(crate) mod fixture {
    pub use crate::checks::testing::{list, run, written};
    use crate::facts::Facts;
    use serde_json::{json, Value};

    pub fn velero_deployment(args: &[&str], inits: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "velero", "namespace": "velero",
                "labels": {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "velero", "app.kubernetes.io/name": "velero"},
                "annotations": {"meta.helm.sh/release-name": "velero"}},
            "spec": {"replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/instance": "velero", "app.kubernetes.io/name": "velero"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/instance": "velero", "app.kubernetes.io/name": "velero", "name": "velero"}},
                    "spec": {
                        "containers": [{"name": "velero", "image": "velero/velero:v1.17.1", "command": ["/velero"], "args": args,
                            "volumeMounts": [{"name": "plugins", "mountPath": "/plugins"}, {"name": "scratch", "mountPath": "/scratch"}],
                            "envFrom": [{"secretRef": {"name": "cloud-credentials"}}]}],
                        "initContainers": inits,
                        "volumes": [{"name": "plugins", "emptyDir": {}}, {"name": "scratch", "emptyDir": {}}]}}},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True"}]}
        })
    }

    pub fn plugin_init(image: &str) -> Value {
        json!([{"name": "velero-plugin-for-openstack", "image": image, "volumeMounts": [{"name": "plugins", "mountPath": "/target"}]}])
    }

    pub fn healthy_deployment() -> Value {
        velero_deployment(&["server", "--uploader-type=kopia", "--features=EnableCSI"], plugin_init("lirt/velero-plugin-for-openstack:v0.8.2"))
    }

    pub fn pod(container_status: Value, ready: bool) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "velero-7c9d8f5b6d-x2k9p", "namespace": "velero",
                "labels": {"app.kubernetes.io/instance": "velero", "app.kubernetes.io/name": "velero", "pod-template-hash": "7c9d8f5b6d"}},
            "spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.17.1"}]},
            "status": {"phase": if ready { "Running" } else { "Pending" }, "startTime": "2026-11-26T08:00:00Z",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}, {"type": "PodScheduled", "status": "True"}],
                "initContainerStatuses": [{"name": "velero-plugin-for-openstack", "restartCount": 0, "ready": true,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                "containerStatuses": [container_status]}
        })
    }

    pub fn running() -> Value {
        json!({"name": "velero", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-11-26T08:00:05Z"}}})
    }

    pub fn bsl(name: &str, provider: &str) -> Value {
        json!({"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": "velero"},
            "spec": {"provider": provider, "default": true, "objectStorage": {"bucket": "velero-backups"}},
            "status": {"phase": "Available"}})
    }

    pub fn backup(name: &str, created: &str, phase: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "velero", "creationTimestamp": created, "labels": {"velero.io/schedule-name": "daily"}},
            "spec": spec, "status": {"phase": phase}})
    }

    pub fn facts() -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.deployments = Ok(list(vec![healthy_deployment()]));
        f.kube.pods = Ok(list(vec![pod(running(), true)]));
        f.kube.backup_storage_locations = Ok(list(vec![bsl("default", "community.openstack.org/openstack")]));
        f.kube.persistent_volumes = Ok(list(vec![json!({"metadata": {"name": "pvc-1"}, "spec": {"csi": {"driver": "csi.vsphere.vmware.com", "volumeHandle": "h"}}})]));
        f.kube.volume_snapshot_classes = Ok(list(vec![json!({"metadata": {"name": "velero-vsphere-snapshot-class",
            "labels": {"velero.io/csi-volumesnapshot-class": "true"}}, "driver": "csi.vsphere.vmware.com", "deletionPolicy": "Delete"})]));
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "daily", "namespace": "velero"},
            "spec": {"schedule": "0 2 * * *", "template": {"includedNamespaces": ["shop"], "snapshotVolumes": true}}})]));
        f.kube.backups = Ok(list(vec![
            backup("daily-20261129020000", "2026-11-29T02:00:00Z", "Completed", json!({"snapshotVolumes": true, "defaultVolumesToFsBackup": false})),
            backup("daily-20261128020000", "2026-11-28T02:00:00Z", "Completed", json!({"snapshotVolumes": true})),
        ]));
        f
    }

    /// The CRDs of `tag` as the API server would send them (a schema holding only the enums).
    pub fn crds_of(tag: &str) -> Vec<Value> {
        let release = crate::upstream::velero_crds::releases().iter().find(|r| r.tag == tag).expect("a release of the table");
        release.crds.iter().map(|c| crd_json(c, &[])).collect()
    }

    /// One CRD's JSON, with `drop` (path, value) pairs left out of its enums.
    pub fn crd_json(c: &crate::upstream::velero_crds::Crd, drop: &[(&str, &str)]) -> Value {
        let mut schema = json!({"type": "object"});
        for f in c.enums {
            let mut node = &mut schema;
            for seg in f.path.split('.') {
                let (name, arrays) = (seg.trim_end_matches("[]"), seg.matches("[]").count());
                node = &mut node["properties"][name];
                for _ in 0..arrays {
                    node = &mut node["items"];
                }
            }
            let values: Vec<&str> = f.values.iter().copied().filter(|v| !drop.contains(&(f.path, *v))).collect();
            node["enum"] = json!(values);
            node["type"] = json!("string");
        }
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": c.name, "labels": {"component": "velero"}},
            "spec": {"group": "velero.io", "names": {"kind": c.kind}, "scope": "Namespaced",
                "versions": [{"name": c.version, "served": c.served, "storage": c.storage, "schema": {"openAPIV3Schema": schema}}]}})
    }

}
