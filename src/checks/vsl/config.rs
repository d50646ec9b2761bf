//! vsl.config: no VolumeSnapshotLocation (object or Helm value) that breaks backups or upgrades:
//! an empty provider, an Unavailable location, a Cinder or "csi" location that no volume needs.

use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{HelmRelease, Object};
use crate::model::{Status, Verdict};
use crate::upstream::velero::OPENSTACK_PROVIDERS;
use serde_json::{json, Value};

pub const CHECK: CheckDef = crate::check! {
    id: "vsl.config", category: Snapshots, severity: Major,
    title: "No broken VolumeSnapshotLocation",
    depends_on: ["kube.crds"],
    needs: [VolumeSnapshotLocations, PersistentVolumes, Deployments, HelmReleases],
    // A PV is looked up (is a Cinder volume there?), a Deployment to find the Helm release.
    consults: [PersistentVolumes, Deployments],
    // Velero v1.18.1: pkg/controller/backup_controller.go validateAndGetSnapshotLocations.
    explains: [
        ["volumesnapshotlocation", "needs to be created before this snapshot"] => "the backup names a VolumeSnapshotLocation that does not exist",
        ["more than one possible volume snapshot location"] => "several VolumeSnapshotLocations for one provider and none is the default: Velero cannot pick",
    ],
    judge: judge,
};

/// The chart's value path of its VolumeSnapshotLocation list.
const HELM_VSL: &str = "configuration.volumeSnapshotLocation";

fn is_cinder_provider(p: &str) -> bool {
    OPENSTACK_PROVIDERS.contains(&p) && !p.ends_with("openstack-manila")
}

/// What the chart renders from one revision's values: `configuration.volumeSnapshotLocation`
/// entries (the chart's own default is one entry with an empty provider) when `snapshotsEnabled`
/// is not false.
fn judge_helm_values(rel: &HelmRelease, findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
    let failed = rel.status != "deployed";
    let what = format!("release {} revision {} ({})", rel.name, rel.revision, rel.status);
    // Raw reads: Helm user values are whatever the user wrote, with no schema to decode into.
    let values = &rel.user_values;
    if values.pointer("/snapshotsEnabled").and_then(Value::as_bool) == Some(false) {
        return;
    }
    let list = values.pointer("/configuration/volumeSnapshotLocation");
    match list.and_then(Value::as_array) {
        Some(entries) => {
            for (i, e) in entries.iter().enumerate() {
                if e.get("provider").and_then(Value::as_str).is_none_or(|p| p.trim().is_empty()) {
                    let vname = e.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).unwrap_or("default");
                    let outcome = if failed { "the upgrade failed with" } else { "the next `helm upgrade` fails with" };
                    findings.push(
                        Finding::new(Status::Fail, format!("Helm values define VolumeSnapshotLocation {vname} with an empty provider: {outcome} `spec.provider: Required value`"))
                            .detail(format!("{what}: {HELM_VSL}[{i}] = {e}"))
                            .hint(format!("set `{HELM_VSL}: []` in the Helm values (CSI snapshots use a VolumeSnapshotClass, not a VSL; or `snapshotsEnabled: false`), then `helm upgrade`")),
                    );
                }
            }
        }
        None if list.is_none() && failed => findings.push(
            Finding::new(Status::Fail, format!("{what}: the chart's default VolumeSnapshotLocation has an empty provider (`spec.provider: Required value`)"))
                .detail(format!("the user values do not set {HELM_VSL}, so the chart default (one entry without provider) is rendered"))
                .hint(format!("set `{HELM_VSL}: []` in the Helm values, then `helm upgrade`")),
        ),
        None if list.is_none() => notes.push(format!(
            "the Helm values do not set {HELM_VSL}; chart versions whose default carries an entry without provider fail on upgrade: set `{HELM_VSL}: []`"
        )),
        None => {}
    }
}

fn judge(ctx: &Ctx) -> Verdict {
    let vsls = crate::need!(&ctx.facts.kube.volume_snapshot_locations);
    let ns = ctx.namespace().to_string();
    let helm = ctx.helm_release();
    let mut findings = Vec::new();
    let mut notes = Vec::new();

    // Judged on the deployed revision and on a newer revision that failed (a `helm upgrade`
    // refused by the API server).
    if let Some(deployed) = helm {
        let newest = ctx
            .facts
            .kube
            .helm_releases
            .as_ref()
            .ok()
            .and_then(|rs| rs.iter().filter(|r| r.name == deployed.name).max_by_key(|r| r.revision))
            .filter(|r| r.revision > deployed.revision || r.status != "deployed")
            .filter(|r| r.status == "failed" || r.status.starts_with("pending"));
        for rel in std::iter::once(deployed).chain(newest) {
            judge_helm_values(rel, &mut findings, &mut notes);
        }
    }
    // Helm installed Velero but its records were refused: a VSL only the values define is not seen.
    if let Some(release) = ctx.helm_values_refused() {
        notes.push(format!(
            "Helm release {release}: its values were not read (the optional grant deploy/rbac-helm-hints.yaml is absent), \
             so a VolumeSnapshotLocation that only they define (a `helm upgrade` that failed on it) is not judged"
        ));
    }

    // Which volumes are there (to tell whether a Cinder VSL could be of use).
    let cinder_volumes = match &ctx.facts.kube.persistent_volumes {
        Ok(pvs) => {
            // A PV that did not decode (the engine names it) may be a Cinder volume: then do not warn.
            !pvs.malformed.is_empty()
                || pvs.iter().filter_map(|pv| pv.spec.as_ref()).any(|s| s.csi.as_ref().is_some_and(|c| c.driver == "cinder.csi.openstack.org") || s.cinder.is_some())
        }
        Err(_) => true, // unknown: do not warn
    };

    let mut evidence = Vec::new();
    for v in vsls.iter() {
        let name = v.name();
        let provider = v.spec.provider.trim();
        let phase = v.status.phase.as_deref().unwrap_or("");
        evidence.push(json!({"name": name, "provider": provider, "phase": phase}));
        if provider.is_empty() {
            findings.push(
                Finding::new(Status::Fail, format!("VolumeSnapshotLocation {name} has no spec.provider"))
                    .detail(format!("{ns}/{name}: spec.provider is required (`spec.provider: Required value` on apply/upgrade); backups that use it fail"))
                    .hint(if helm.is_some() { format!("set `{HELM_VSL}: []` in the Helm values and `helm upgrade`") } else { format!("`kubectl -n {ns} delete volumesnapshotlocation {name}` (CSI snapshots need no VSL)") }),
            );
            continue;
        }
        if phase == "Unavailable" {
            let msg = v.status.message.as_deref().unwrap_or("no message");
            findings.push(
                Finding::new(Status::Fail, format!("VolumeSnapshotLocation {name} is Unavailable: {msg}"))
                    .detail(format!("{ns}/{name}: provider {provider}"))
                    .hint(if helm.is_some() { format!("fix or remove it: `{HELM_VSL}: []` when the volumes are CSI") } else { format!("fix or remove it: `kubectl -n {ns} delete volumesnapshotlocation {name}` when the volumes are CSI") }),
            );
            continue;
        }
        if is_cinder_provider(provider) && !cinder_volumes {
            findings.push(
                Finding::new(Status::Warn, format!("VolumeSnapshotLocation {name} uses the Cinder snapshotter ({provider}) but no volume is a Cinder volume"))
                    .detail(format!("{ns}/{name}: the PersistentVolumes are CSI volumes of other drivers; Velero snapshots those through a VolumeSnapshotClass, a VSL is not needed"))
                    .hint(if helm.is_some() { format!("remove it: `{HELM_VSL}: []` in the Helm values") } else { format!("remove it: `kubectl -n {ns} delete volumesnapshotlocation {name}`") }),
            );
        } else if matches!(provider, "csi" | "velero.io/csi") {
            findings.push(
                Finding::new(Status::Warn, format!("VolumeSnapshotLocation {name} has provider {provider:?}: no VolumeSnapshotter plugin has that name"))
                    .detail(format!("{ns}/{name}: CSI snapshots are taken by Velero's built-in CSI support (--features=EnableCSI) with a VolumeSnapshotClass; a VSL is only for provider snapshot plugins"))
                    .hint(if helm.is_some() { format!("remove it: `{HELM_VSL}: []`") } else { format!("`kubectl -n {ns} delete volumesnapshotlocation {name}`") }),
            );
        } else {
            notes.push(format!("{name}: provider {provider}, phase {}", if phase.is_empty() { "unset" } else { phase }));
        }
    }

    let ok = if vsls.is_empty() { "no VolumeSnapshotLocation (none needed for CSI)".to_string() } else { format!("{} VolumeSnapshotLocation(s), none broken", vsls.len()) };
    combine(ok, findings, notes).evidence("vsls", evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{list, run, text};
    use crate::facts::Facts;

    /// Two vSphere CSI volumes, no VSL.
    fn healthy() -> Facts {
        let mut f = Facts::empty("velero");
        let pv = |name: &str| json!({"metadata": {"name": name}, "spec": {"csi": {"driver": "csi.vsphere.vmware.com", "volumeHandle": "h"}}, "status": {"phase": "Bound"}});
        f.kube.persistent_volumes = Ok(list(vec![pv("pv-a"), pv("pv-b")]));
        f
    }

    fn release(values: Value, status: &str) -> HelmRelease {
        HelmRelease { name: "velero".into(), revision: 3, status: status.into(), chart: "velero".into(), chart_version: "12.0.0".into(), app_version: "1.17.1".into(), user_values: values, decode_error: None }
    }

    fn helm_facts(values: Value, status: &str) -> Facts {
        let mut f = healthy();
        f.kube.deployments = Ok(list(vec![json!({"metadata": {"name": "velero", "namespace": "velero", "labels": {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "velero"}, "annotations": {"meta.helm.sh/release-name": "velero"}},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.17.1", "args": ["server"]}]}}}})]));
        f.kube.helm_releases = Ok(vec![release(values, status)]);
        f
    }

    #[test]
    fn no_vsl_is_ok() {
        let v = run(&super::CHECK, &healthy());
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("none needed for CSI"));
    }

    #[test]
    fn vsl_empty_provider_in_helm_values_fails_with_the_value_to_change() {
        let f = helm_facts(json!({"configuration": {"volumeSnapshotLocation": [{"name": "default", "provider": ""}]}}), "deployed");
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(t.contains("spec.provider: required value") && t.contains("configuration.volumesnapshotlocation: []"), "{t}");
        // Corrected values are fine; the chart default is only judged when the release failed.
        assert_eq!(run(&super::CHECK, &helm_facts(json!({"configuration": {"volumeSnapshotLocation": []}}), "deployed")).status, Status::Ok);
        assert_eq!(run(&super::CHECK, &helm_facts(json!({"snapshotsEnabled": false, "configuration": {"volumeSnapshotLocation": [{"name": "x"}]}}), "deployed")).status, Status::Ok);
        assert_eq!(run(&super::CHECK, &helm_facts(json!({}), "deployed")).status, Status::Ok);
        assert_eq!(run(&super::CHECK, &helm_facts(json!({}), "failed")).status, Status::Fail);
        // A failed upgrade after a good deployed revision is judged on its own values.
        let mut f = helm_facts(json!({"configuration": {"volumeSnapshotLocation": []}}), "deployed");
        if let Ok(rs) = &mut f.kube.helm_releases {
            let mut bad = release(json!({"configuration": {"volumeSnapshotLocation": [{"name": "default", "provider": null}]}}), "failed");
            bad.revision = 4;
            rs.insert(0, bad);
        }
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(text(&v).contains("revision 4 (failed)"), "{v:?}");
    }

    /// Without the optional grant (deploy/rbac-helm-hints.yaml) the values are not seen: the check says
    /// what it could not judge, instead of failing or erroring.
    #[test]
    fn helm_records_refused_are_said_not_judged() {
        let mut f = helm_facts(json!({"configuration": {"volumeSnapshotLocation": [{"name": "default", "provider": ""}]}}), "deployed");
        f.kube.helm_releases = Err(crate::facts::ReadError::forbidden("list", "secrets", Some("velero")));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.details.iter().any(|d| d.starts_with("Helm release velero: its values were not read") && d.contains("deploy/rbac-helm-hints.yaml")), "{v:?}");
        // Not installed by Helm: nothing to say.
        f.kube.deployments = healthy().kube.deployments;
        assert!(run(&super::CHECK, &f).details.is_empty(), "{:?}", run(&super::CHECK, &f));
    }

    #[test]
    fn vsl_objects() {
        let mut f = healthy();
        f.kube.volume_snapshot_locations = Ok(list(vec![json!({"metadata": {"name": "default"}, "spec": {"provider": "community.openstack.org/openstack-cinder"}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("not needed"));
        f.kube.volume_snapshot_locations = Ok(list(vec![json!({"metadata": {"name": "default"}, "spec": {}})]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Fail);
        f.kube.volume_snapshot_locations = Ok(list(vec![json!({"metadata": {"name": "default"}, "spec": {"provider": "velero.io/aws"}, "status": {"phase": "Unavailable", "message": "boom"}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("boom"));
    }

    #[test]
    fn malformed_objects_are_named() {
        let mut f = healthy();
        f.kube.volume_snapshot_locations = Ok(list(vec![json!({"metadata": {"name": "odd", "namespace": "velero"}, "spec": {"provider": 7}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("malformed object volumesnapshotlocation velero/odd"), "{v:?}");
        // A PV that did not decode may be a Cinder volume: the Cinder VSL is not called useless.
        let mut f = healthy();
        f.kube.persistent_volumes = Ok(list(vec![json!({"metadata": {"name": "pv-x"}, "spec": {"cinder": {"volumeID": 3}}})]));
        f.kube.volume_snapshot_locations = Ok(list(vec![json!({"metadata": {"name": "default"}, "spec": {"provider": "community.openstack.org/openstack-cinder"}})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("malformed object persistentvolume pv-x"), "{v:?}");
    }
}
