//! velero.features: the server runs with `--features=EnableCSI` when CSI volumes are to be snapshotted.

use crate::checks::{CheckDef, Ctx};
use crate::facts::Object;
use crate::model::Verdict;
use crate::upstream::velero;
use std::collections::BTreeSet;

pub const CHECK: CheckDef = crate::check! {
    id: "velero.features", category: Velero, severity: Major,
    title: "CSI feature flag",
    depends_on: ["kube.connect"], needs: [Deployments, PersistentVolumes, VolumeSnapshotClasses, Schedules, Backups],
    judge: judge,
};

const CSI_LABEL: &str = "velero.io/csi-volumesnapshot-class";

fn judge(ctx: &Ctx) -> Verdict {
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    let ns = ctx.namespace();
    let Some(dep) = velero::find_deployment(deployments, ns) else {
        return Verdict::skip(format!("no Velero Deployment in namespace {ns} (see velero.deployment)"));
    };
    let dname = dep.name();
    let flags = velero::server_container(dep).map(velero::server_flags).unwrap_or_default();
    let feats = velero::features(&flags);
    let enabled = feats.iter().any(|f| f == "EnableCSI");
    let miscased: Vec<&String> = feats.iter().filter(|f| f.eq_ignore_ascii_case("EnableCSI") && f.as_str() != "EnableCSI").collect();

    // Is a CSI snapshot wanted? CSI volumes exist, or a class is labelled for Velero…
    let mut unread = Vec::new();
    // Objects that did not decode (a CSI volume, a labelled class or a Schedule among them could change
    // the answer) are named by the engine's malformed policy.
    let csi_pvs: Vec<(&str, &str)> = match &ctx.facts.kube.persistent_volumes {
        Ok(pvs) => {
            pvs.iter()
                .filter_map(|p| p.spec.as_ref().and_then(|s| s.csi.as_ref()).map(|c| (p.name(), c.driver.as_str())))
                .collect()
        }
        Err(e) => {
            unread.push(e.explain());
            Vec::new()
        }
    };
    let labelled: Vec<&str> = match &ctx.facts.kube.volume_snapshot_classes {
        Ok(c) => {
            c.iter().filter(|c| c.label(CSI_LABEL).is_some()).map(|c| c.name()).collect()
        }
        Err(e) => {
            unread.push(e.explain());
            Vec::new()
        }
    };
    let drivers: BTreeSet<&str> = csi_pvs.iter().map(|(_, d)| *d).collect();
    // …and some backup may snapshot volumes (snapshotVolumes unset means yes).
    let schedules = ctx.facts.kube.schedules.as_ref().ok();
    let backups = ctx.facts.kube.backups.as_ref().ok();
    let all_off = schedules.is_some_and(|s| !s.is_empty() && s.iter().all(|s| s.spec.template.snapshot_volumes == Some(false)))
        && backups.is_some_and(|b| b.iter().filter(|b| b.schedule().is_none()).all(|b| b.spec.snapshot_volumes == Some(false)));
    let wanted = (!csi_pvs.is_empty() || !labelled.is_empty()) && !all_off;
    let helm = velero::helm_release_name(dep).is_some();
    let evidence = |v: Verdict| {
        v.evidence("features", &feats)
            .evidence("csiVolumes", csi_pvs.len())
            .evidence("csiDrivers", &drivers)
            .evidence("labelledSnapshotClasses", &labelled)
    };

    if enabled {
        let why = if wanted {
            format!("{} CSI volume(s) ({}), {} VolumeSnapshotClass(es) labelled for Velero", csi_pvs.len(), drivers.iter().copied().collect::<Vec<_>>().join(", "), labelled.len())
        } else {
            "no CSI volume to snapshot was found, which is harmless".to_string()
        };
        // EnableCSI is set: no object, read or not, can make this wrong, so those that did not decode are only named.
        return evidence(Verdict::ok(format!("--features has EnableCSI; {why}"))).certain();
    }
    if !wanted {
        if !unread.is_empty() {
            return evidence(Verdict::error(format!("cannot tell whether CSI snapshots are needed: {}", unread.join("; "))));
        }
        let why = if all_off {
            "every Schedule and manual Backup sets snapshotVolumes: false"
        } else {
            "no CSI PersistentVolume and no VolumeSnapshotClass labelled velero.io/csi-volumesnapshot-class"
        };
        return evidence(Verdict::skip(format!("EnableCSI is not needed: {why}")));
    }
    let shown = if feats.is_empty() { "no --features flag".to_string() } else { format!("--features={}", feats.join(",")) };
    let mut v = Verdict::fail(format!(
        "Velero runs with {shown}, so its CSI actions are skipped and {} CSI volume(s) are backed up without a snapshot",
        csi_pvs.len()
    ))
    .detail("Velero logs `Skip action … because the CSI feature is not enabled` for every PVC and the backup completes without volume data")
    .details(csi_pvs.iter().take(5).map(|(pv, d)| format!("PersistentVolume {pv} uses CSI driver {d}")));
    if csi_pvs.len() > 5 {
        v = v.detail(format!("… and {} more CSI volumes", csi_pvs.len() - 5));
    }
    if !labelled.is_empty() {
        v = v.detail(format!("VolumeSnapshotClass labelled for Velero: {}", labelled.join(", ")));
    }
    if !miscased.is_empty() {
        v = v.detail(format!(
            "feature names are case-sensitive: `{}` is not `EnableCSI`",
            miscased.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("`, `")
        ));
    }
    let others: Vec<&str> = feats.iter().filter(|f| !f.eq_ignore_ascii_case("EnableCSI")).map(String::as_str).collect();
    let value = std::iter::once("EnableCSI").chain(others.iter().copied()).collect::<Vec<_>>().join(",");
    let hint = if helm {
        format!("set the Helm value `configuration.features: {value}` and `helm upgrade` (the chart renders it as --features={value})")
    } else {
        format!(
            "add `--features={value}` to the velero container's args: `kubectl -n {ns} edit deployment/{dname}` (or reinstall with `velero install --features={value}`)"
        )
    };
    evidence(v).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use crate::model::Status;
    use serde_json::json;

    #[test]
    fn healthy_is_ok() {
        let v = run(&super::CHECK, &facts());
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn missing_fails_with_helm_hint() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server", "--uploader-type=kopia"], plugin_init("lirt/velero-plugin-for-openstack:v0.8.2"))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.contains("because the CSI feature is not enabled"), "{t}");
        assert!(t.contains("PersistentVolume pvc-1 uses CSI driver csi.vsphere.vmware.com"), "{t}");
        assert!(t.contains("configuration.features: EnableCSI"), "{t}");
    }

    #[test]
    fn other_flags_kept_and_case_named() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server", "--features=enablecsi,EnableAPIGroupVersions"], plugin_init("x/velero-plugin-for-openstack:v0.8.2"))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.contains("case-sensitive") && t.contains("EnableCSI,EnableAPIGroupVersions"), "{t}");
    }

    #[test]
    fn not_needed_skips() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server"], plugin_init("x/velero-plugin-for-openstack:v0.8.2"))]));
        f.kube.persistent_volumes = Ok(list(vec![json!({"metadata": {"name": "nfs"}, "spec": {"nfs": {"server": "x", "path": "/"}}})]));
        f.kube.volume_snapshot_classes = Ok(list(vec![]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn a_malformed_volume_may_need_it() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server"], plugin_init("x/velero-plugin-for-openstack:v0.8.2"))]));
        f.kube.persistent_volumes = Ok(list(vec![json!({"metadata": {"name": "odd"}, "spec": {"csi": "csi.vsphere.vmware.com"}})]));
        f.kube.volume_snapshot_classes = Ok(list(vec![]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(written(&v).contains("malformed object PersistentVolume odd"), "{}", written(&v));
        // With EnableCSI on, it cannot change the verdict and is only named.
        f.kube.deployments = Ok(list(vec![healthy_deployment()]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(written(&v).contains("malformed object PersistentVolume odd"));
    }

    #[test]
    fn not_needed_when_snapshots_off_everywhere() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server"], plugin_init("x/velero-plugin-for-openstack:v0.8.2"))]));
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "daily"}, "spec": {"template": {"snapshotVolumes": false}}})]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn without_deployment_skips() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }
}
