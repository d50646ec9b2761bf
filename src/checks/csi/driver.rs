//! csi.driver: the CSI snapshot stack is there for the drivers of the cluster's Bound volumes:
//! their CSIDriver objects, the snapshot API, a ready snapshot-controller and, for vSphere, the
//! csi-snapshotter sidecar (vSphere's snapshots-per-volume limit is csi.snapshot-limit's).

use super::volumes_or_verdict;
use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::Object;
use crate::model::{Status, Verdict};
use crate::upstream::velero::containers;
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::{json, Value};

pub const CHECK: CheckDef = crate::check! {
    id: "csi.driver", category: Snapshots, severity: Major,
    title: "CSI snapshot stack present",
    depends_on: ["kube.connect"],
    needs: [PersistentVolumeClaims, PersistentVolumes, StorageClasses, CsiDrivers, Deployments],
    judge: judge,
};

const VSPHERE: &str = "csi.vsphere.vmware.com";

fn is_snapshot_controller(d: &Deployment) -> bool {
    d.label("app.kubernetes.io/name") == Some("snapshot-controller")
        || d.label("app") == Some("snapshot-controller")
        || d.name().contains("snapshot-controller")
        || containers(d).iter().any(|c| c.image.as_deref().is_some_and(|i| i.contains("snapshot-controller")))
}

fn ready_replicas(d: &Deployment) -> i64 {
    let status = d.status.as_ref();
    let r = status.and_then(|s| s.ready_replicas).unwrap_or(0);
    let a = status.and_then(|s| s.available_replicas).unwrap_or(0);
    i64::from(r.max(a))
}

fn replicas(d: &Deployment) -> Option<i32> {
    d.spec.replicas
}

fn has_snapshotter(d: &Deployment) -> bool {
    containers(d).iter().any(|c| c.name == "csi-snapshotter" || c.image.as_deref().is_some_and(|i| i.contains("csi-snapshotter")))
}

fn judge(ctx: &Ctx) -> Verdict {
    let in_use = match volumes_or_verdict(ctx, "no Bound PVC is backed by a CSI volume: no CSI snapshot stack is needed") {
        Ok(found) => found,
        Err(v) => return *v,
    };
    let drivers: Vec<String> = in_use.by_driver().keys().map(|d| d.to_string()).collect();
    let csi_drivers = crate::need!(&ctx.facts.kube.csi_drivers);
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    let mut findings: Vec<Finding> = Vec::new();
    let mut notes = in_use.notes.clone();
    // CSIDrivers that did not decode are named by the engine's malformed policy. Deployments are
    // looked through for the snapshot-controller: one that did not decode matters when none is found.

    // The CSIDriver objects.
    for d in &drivers {
        if !csi_drivers.iter().any(|c| c.name() == d) {
            findings.push(
                Finding::new(Status::Fail, format!("no CSIDriver object {d}: volumes of that driver exist but the driver is not registered"))
                    .detail(format!("CSIDriver objects: {}", csi_drivers.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")))
                    .hint(if d == VSPHERE { "install or repair the vSphere CSI driver (kubernetes-sigs/vsphere-csi-driver manifests for your release, namespace vmware-system-csi)".to_string() } else { format!("install or repair the CSI driver {d}") }),
            );
        }
    }

    // The snapshot API.
    let api_served = match &ctx.facts.kube.api_groups {
        Ok(groups) => Some(groups.iter().any(|g| g.name == "snapshot.storage.k8s.io" && g.versions.iter().any(|v| v == "v1"))),
        Err(e) => {
            notes.push(format!("API groups unreadable: {}", e.explain()));
            None
        }
    };
    if api_served == Some(false) {
        findings.push(
            Finding::new(Status::Fail, "snapshot.storage.k8s.io/v1 is not served: the VolumeSnapshot CRDs are not installed")
                .hint("install the CRDs from kubernetes-csi/external-snapshotter (client/config/crd) matching your snapshot-controller version"),
        );
    }

    // The snapshot-controller.
    let controllers: Vec<&Deployment> = deployments.iter().filter(|d| is_snapshot_controller(d)).collect();
    let ready: Vec<&Deployment> = controllers.iter().copied().filter(|d| ready_replicas(d) > 0).collect();
    let controller_ev: Vec<Value> = controllers
        .iter()
        .map(|d| json!({"namespace": d.namespace(), "name": d.name(), "ready": ready_replicas(d), "replicas": replicas(d)}))
        .collect();
    if controllers.is_empty() {
        findings.push(
            Finding::new(Status::Fail, "no snapshot-controller Deployment: VolumeSnapshots are never turned into snapshots")
                .detail("looked for Deployments labelled app.kubernetes.io/name=snapshot-controller or app=snapshot-controller, named *snapshot-controller*, or running a snapshot-controller image, in every namespace".to_string())
                .details(deployments.malformed.iter().map(|m| format!("it may be one that did not decode: {}", m.describe())))
                .hint("deploy it: `kubectl apply -k https://github.com/kubernetes-csi/external-snapshotter/deploy/kubernetes/snapshot-controller` (with the CRDs of the same release)"),
        );
    } else if ready.is_empty() {
        let names: Vec<String> = controllers.iter().map(|d| format!("{}/{} ({}/{} ready)", d.namespace().unwrap_or("?"), d.name(), ready_replicas(d), replicas(d).unwrap_or(1))).collect();
        findings.push(
            Finding::new(Status::Fail, format!("the snapshot-controller is not ready: {}", names.join(", ")))
                .hint(format!("`kubectl -n {} describe deployment {}` and its pods' events and logs", controllers[0].namespace().unwrap_or("kube-system"), controllers[0].name())),
        );
    } else {
        notes.push(format!("snapshot-controller: {}", ready.iter().map(|d| format!("{}/{} ({} ready)", d.namespace().unwrap_or("?"), d.name(), ready_replicas(d))).collect::<Vec<_>>().join(", ")));
    }

    // vSphere: the controller needs its csi-snapshotter sidecar.
    let mut vsphere_ev = Value::Null;
    if drivers.iter().any(|d| d == VSPHERE) {
        let ctl = deployments.iter().find(|d| d.name() == "vsphere-csi-controller");
        match ctl {
            Some(c) if !has_snapshotter(c) => findings.push(
                Finding::new(Status::Fail, "the vsphere-csi-controller has no csi-snapshotter sidecar: snapshots are disabled in the vSphere CSI driver")
                    .detail(format!("{}/vsphere-csi-controller containers: {}", c.namespace().unwrap_or("?"), containers(c).iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", ")))
                    .hint("enable snapshots: set `block-volume-snapshot: \"true\"` in the ConfigMap internal-feature-states.csi.vsphere.vmware.com (namespace vmware-system-csi) and deploy the csi-snapshotter sidecar (vsphere-csi-driver's deploy-csi-snapshot-components.sh)"),
            ),
            Some(c) => notes.push(format!("{}/vsphere-csi-controller runs the csi-snapshotter sidecar", c.namespace().unwrap_or("?"))),
            None => notes.push("vsphere-csi-controller Deployment not visible (managed control plane?): its csi-snapshotter sidecar was not checked".into()),
        }
        notes.push("the snapshots each vSphere volume keeps against its per-volume limit: see csi.snapshot-limit".into());
        vsphere_ev = json!({ "controllerHasSnapshotter": ctl.map(has_snapshotter) });
    }

    let ok = format!("{} {}, snapshot CRDs and a ready snapshot-controller are present", crate::checks::findings::noun(drivers.len(), "CSIDriver"), drivers.join(", "));
    combine(ok, findings, notes)
        .evidence("drivers", &drivers)
        .evidence("snapshotApiServed", api_served)
        .evidence("snapshotControllers", controller_ev)
        .evidence("vsphere", vsphere_ev)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{healthy, healthy_deployments, list, run, text};
    use super::*;

    #[test]
    fn healthy_cluster_is_ok() {
        let v = run(&super::CHECK, &healthy());
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("see csi.snapshot-limit"), "the vSphere limit is judged there: {v:?}");
        assert_eq!(v.evidence["snapshotControllers"][0]["ready"], 2);
        assert_eq!(v.evidence["snapshotControllers"][0]["replicas"], 1);
    }

    #[test]
    fn no_csi_volumes_skip() {
        let mut f = healthy();
        f.kube.persistent_volume_claims = Ok(list(vec![]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn driver_stack_failures() {
        let mut f = healthy();
        f.kube.deployments = Ok(list(vec![]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("no snapshot-controller"));

        let mut f = healthy();
        let mut ds = healthy_deployments();
        ds[0]["status"] = json!({"readyReplicas": 0});
        ds[1]["spec"]["template"]["spec"]["containers"] = json!([{"name": "vsphere-csi-controller", "image": "x"}]);
        f.kube.deployments = Ok(list(ds));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("not ready") && t.contains("csi-snapshotter"), "{t}");

        let mut f = healthy();
        f.kube.csi_drivers = Ok(list(vec![]));
        f.kube.api_groups = Ok(vec![]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("no csidriver object") && t.contains("snapshot.storage.k8s.io/v1 is not served"), "{t}");
    }

    #[test]
    fn a_malformed_deployment_is_named_when_the_controller_is_not_found() {
        let mut f = healthy();
        let mut ds = healthy_deployments();
        ds.push(json!({"metadata": {"name": "odd", "namespace": "kube-system"}, "spec": {"replicas": "two"}}));
        f.kube.deployments = Ok(list(ds));
        // The snapshot-controller is found: another Deployment that did not decode changes nothing.
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        // Not found: the one that did not decode may be it.
        f.kube.deployments = Ok(list(vec![json!({"metadata": {"name": "odd", "namespace": "kube-system"}, "spec": {"replicas": "two"}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(text(&v).contains("it may be one that did not decode: malformed object deployment kube-system/odd"), "{v:?}");
    }
}
