//! kube.rbac: every read of this run that the API server refused (403), with the checks it
//! degrades and the rules to grant. Reads that failed otherwise (timeout, missing CRD) or that were
//! not made because no selected check needs them (`NotNeeded`) are not RBAC problems.
//!
//! One refusal is expected, not a degradation: the list of Helm release records (Secrets labelled
//! owner=helm). deploy/rbac.yaml grants no list on Secrets (it would read every repository password
//! and Helm release's values); the opt-in deploy/rbac-helm-hints.yaml does. Without it the verdict
//! stays ok and says, in a detail line, which hints that grant would add.

use crate::checks::{CheckDef, Ctx};
use crate::facts::{ReadError, ReadErrorKind};
use crate::model::Verdict;

pub const CHECK: CheckDef = crate::check! {
    id: "kube.rbac", category: Cluster, severity: Major,
    title: "veldr may read what it checks",
    depends_on: ["kube.connect"],
    // Every Kubernetes read veldr can make, so that `--only kube.rbac` still tries them all.
    needs: [Namespace, Deployments, DaemonSets, Pods, Events, BackupStorageLocations, VolumeSnapshotLocations, Schedules,
        Backups, PodVolumeBackups, BackupRepositories, Restores, DeleteBackupRequests, PodVolumeRestores, DataUploads, DataDownloads,
        VolumeSnapshotClasses, CsiDrivers, StorageClasses, PersistentVolumes, PersistentVolumeClaims, VolumeSnapshots, VolumeSnapshotContents,
        VsphereConfig, VsphereFeatureStates, VeleroEnv, HelmReleases, VeleroCrds, VeleroLogs],
    objects: not_judged,
    judge: judge,
};

/// Which checks degrade when a resource cannot be read.
fn affected_checks(resource: &str) -> &'static [&'static str] {
    match resource {
        "deployments.apps" => &["velero.deployment", "velero.plugin", "velero.features", "velero.fs-backup", "credentials.env", "csi.driver"],
        "pods" => &["velero.deployment", "credentials.fresh", "nodeagent.pss"],
        "daemonsets.apps" | "events" => &["nodeagent.pss"],
        "namespaces" => &["nodeagent.pss"],
        "secrets" => &["credentials.env", "credentials.fresh", "keystone.auth"],
        "configmaps" => &["credentials.env"],
        "backupstoragelocations.velero.io" => &["bsl.phase", "bsl.config", "velero.plugin", "swift.container"],
        "volumesnapshotlocations.velero.io" => &["vsl.config"],
        "schedules.velero.io" => &["backup.recent", "velero.fs-backup", "velero.operations", "csi.snapshot-limit"],
        "backups.velero.io" => &["backup.recent", "velero.fs-backup", "velero.operations", "csi.snapshots"],
        "volumesnapshots.snapshot.storage.k8s.io" | "volumesnapshotcontents.snapshot.storage.k8s.io" => &["csi.snapshots"],
        "podvolumebackups.velero.io" | "backuprepositories.velero.io" => &["velero.fs-backup", "velero.operations"],
        "restores.velero.io" | "deletebackuprequests.velero.io" | "podvolumerestores.velero.io" | "datauploads.velero.io" | "datadownloads.velero.io" => {
            &["velero.operations"]
        }
        "volumesnapshotclasses.snapshot.storage.k8s.io" => &["csi.snapshot-class"],
        "persistentvolumes" | "persistentvolumeclaims" | "storageclasses.storage.k8s.io" => &["csi.snapshot-class", "csi.snapshot-limit"],
        "csidrivers.storage.k8s.io" => &["csi.driver"],
        "customresourcedefinitions.apiextensions.k8s.io" => &["velero.crds"],
        _ => &[],
    }
}

/// Every read that was refused (403) in this run.
fn forbidden_reads<'a>(ctx: &Ctx<'a>) -> Vec<&'a ReadError> {
    let k = &ctx.facts.kube;
    let lists = [
        k.deployments.as_ref().err(),
        k.daemonsets.as_ref().err(),
        k.pods.as_ref().err(),
        k.events.as_ref().err(),
        k.backup_storage_locations.as_ref().err(),
        k.volume_snapshot_locations.as_ref().err(),
        k.schedules.as_ref().err(),
        k.backups.as_ref().err(),
        k.pod_volume_backups.as_ref().err(),
        k.backup_repositories.as_ref().err(),
        k.restores.as_ref().err(),
        k.delete_backup_requests.as_ref().err(),
        k.pod_volume_restores.as_ref().err(),
        k.data_uploads.as_ref().err(),
        k.data_downloads.as_ref().err(),
        k.volume_snapshot_classes.as_ref().err(),
        k.csi_drivers.as_ref().err(),
        k.storage_classes.as_ref().err(),
        k.persistent_volumes.as_ref().err(),
        k.persistent_volume_claims.as_ref().err(),
        k.volume_snapshots.as_ref().err(),
        k.volume_snapshot_contents.as_ref().err(),
        k.namespace.as_ref().err(),
        k.api_groups.as_ref().err(),
        k.velero_crds.as_ref().err(),
    ];
    let mut out: Vec<&ReadError> = lists.into_iter().flatten().collect();
    out.extend(k.secrets.values().filter_map(|r| r.as_ref().err()));
    out.extend(k.config_maps.values().filter_map(|r| r.as_ref().err()));
    // vSphere CSI's objects are read on every cluster (before the volumes are known), but only
    // matter with vSphere CSI: elsewhere their Roles are not granted, and that is no problem.
    if crate::checks::csi::vsphere_in_use(ctx) {
        out.extend([k.vsphere_config.as_ref().err(), k.vsphere_feature_states.as_ref().err()].into_iter().flatten());
    }
    // Only denials count: a `NotNeeded` read was never asked for, a timeout is not RBAC's doing.
    out.retain(|e| e.kind == ReadErrorKind::Forbidden);
    out
}

/// The opt-in grant of deploy/rbac-helm-hints.yaml: the line kube.rbac adds when it is absent.
pub const HELM_HINTS_ABSENT: &str = "optional grant absent: list secrets in namespace {ns} (Helm release records, deploy/rbac-helm-hints.yaml); \
     credentials.env and vsl.config give their generic hints instead of naming the Helm value";

/// The note for a refused list of Helm release records (None when it was read, or not asked for).
fn helm_hints_note(ctx: &Ctx) -> Option<String> {
    let e = ctx.facts.kube.helm_releases.as_ref().err().filter(|e| e.kind == ReadErrorKind::Forbidden)?;
    Some(HELM_HINTS_ABSENT.replace("{ns}", e.namespace.as_deref().unwrap_or(ctx.namespace())))
}

/// The note for a refused read of the velero container's log: velero.logs ends `error` naming the grant;
/// nothing else depends on it, so it changes no other verdict (this one included).
fn pod_log_note(ctx: &Ctx) -> Option<String> {
    let e = ctx.facts.kube.velero_logs.as_ref().err().filter(|e| e.kind == ReadErrorKind::Forbidden)?;
    Some(format!(
        "grant absent: get pods/log in namespace {} (velero.logs cannot read the velero container's log; nothing else needs it)",
        e.namespace.as_deref().unwrap_or(ctx.namespace())
    ))
}

fn judge(ctx: &Ctx) -> Verdict {
    let denied = forbidden_reads(ctx);
    let note: Vec<String> = helm_hints_note(ctx).into_iter().chain(pod_log_note(ctx)).collect();
    if denied.is_empty() {
        return Verdict::ok("every read veldr needs was allowed").details(note);
    }
    let mut details = Vec::new();
    let mut rules = Vec::new();
    let k = &ctx.facts.kube;
    // The vSphere CSI objects are read by name: the rule to grant names them.
    let is = |read: Option<&ReadError>, e: &ReadError| read.is_some_and(|r| std::ptr::eq(r, e));
    for e in &denied {
        let scope = e.namespace.as_deref().map(|n| format!(" in namespace {n}")).unwrap_or_else(|| " cluster-wide".into());
        let mut checks: Vec<&str> = affected_checks(&e.resource).to_vec();
        let mut what = e.resource.clone();
        if is(k.vsphere_config.as_ref().err(), e) {
            checks = vec!["csi.snapshot-limit (assumes vSphere's default limit, 3)"];
            what = format!("secrets named {}", crate::upstream::vsphere_csi::CONFIG_SECRET);
        } else if is(k.vsphere_feature_states.as_ref().err(), e) {
            checks = vec!["csi.snapshots (cannot tell whether block-volume snapshots are on)"];
            what = format!("configmaps named {}", crate::upstream::vsphere_csi::FEATURE_STATES);
        }
        details.push(format!("{} {what}{scope}: degrades {}", e.verb, checks.join(", ")));
        rules.push(format!("{} {what}{scope}", e.verb));
    }
    Verdict::warn(format!("{} read(s) forbidden; the checks that need them end in error", denied.len()))
        .details(details)
        .details(note)
        .hint(format!(
            "grant veldr's identity: {} (deploy/rbac.yaml has the least-privilege rules)",
            rules.join("; ")
        ))
        .evidence("forbidden", &denied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;

    #[test]
    fn nothing_refused_is_ok() {
        let f = Facts::empty("velero");
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Ok);
    }

    #[test]
    fn refused_reads_warn_with_the_checks_they_degrade() {
        let mut f = Facts::empty("velero");
        f.kube.pods = Err(ReadError::forbidden("list", "pods", Some("velero")));
        f.kube.secrets.insert("cloud-credentials".into(), Err(ReadError::forbidden("get", "secrets", Some("velero"))));
        f.kube.helm_releases = Err(ReadError::forbidden("list", "secrets", Some("velero")));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.summary, "2 read(s) forbidden; the checks that need them end in error");
        assert!(v.details.contains(&"list pods in namespace velero: degrades velero.deployment, credentials.fresh, nodeagent.pss".to_string()), "{:?}", v.details);
        assert!(v.details.iter().any(|d| d.starts_with("get secrets in namespace velero: degrades credentials.env")), "{:?}", v.details);
        // The Helm records are the optional grant: noted, not counted, not in the rules to grant.
        assert!(v.details.last().unwrap().starts_with("optional grant absent: list secrets in namespace velero"), "{:?}", v.details);
        let hint = v.hint.unwrap();
        assert!(hint.contains("list pods in namespace velero") && !hint.contains("list secrets"), "{hint}");
    }

    /// deploy/rbac.yaml grants no list on Secrets: with only it, the Helm records are refused, and
    /// that is a note on an ok verdict, not a warning.
    #[test]
    fn the_helm_records_refused_alone_is_ok_with_a_note() {
        let mut f = Facts::empty("velero");
        f.kube.helm_releases = Err(ReadError::forbidden("list", "secrets", Some("velero")));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.summary, "every read veldr needs was allowed");
        assert_eq!(v.details.len(), 1, "{:?}", v.details);
        assert!(v.details[0].contains("deploy/rbac-helm-hints.yaml") && v.details[0].contains("credentials.env and vsl.config"), "{:?}", v.details);
        // Granted (or not asked for): no note.
        f.kube.helm_releases = Ok(Vec::new());
        assert!(judge(&Ctx::new(&f, &[])).details.is_empty());
        f.kube.helm_releases = Err(ReadError::not_needed("secrets"));
        assert!(judge(&Ctx::new(&f, &[])).details.is_empty());
    }

    /// A refused pods/log read changes no verdict but velero.logs': kube.rbac stays ok and says it.
    #[test]
    fn the_velero_log_refused_alone_is_ok_with_a_note() {
        let mut f = Facts::empty("velero");
        f.kube.velero_logs = Err(ReadError::forbidden("get", "pods/log", Some("velero")));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.details, ["grant absent: get pods/log in namespace velero (velero.logs cannot read the velero container's log; nothing else needs it)"]);
        f.kube.velero_logs = Err(ReadError::not_needed("pods/log"));
        assert!(judge(&Ctx::new(&f, &[])).details.is_empty());
    }

    #[test]
    fn the_vsphere_objects_are_named_with_the_check_they_degrade() {
        let mut f = Facts::empty("velero");
        f.kube.vsphere_config = Err(ReadError::forbidden("get", "secrets", Some("vmware-system-csi")));
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Ok, "no vSphere CSI here: the Role is rightly not granted");
        f.kube.csi_drivers = Ok(vec![serde_json::from_value(serde_json::json!({"metadata": {"name": "csi.vsphere.vmware.com"}, "spec": {}})).unwrap()].into());
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.details, ["get secrets named vsphere-config-secret in namespace vmware-system-csi: degrades csi.snapshot-limit (assumes vSphere's default limit, 3)"]);
    }

    #[test]
    fn reads_not_needed_or_failed_otherwise_are_not_denials() {
        let mut f = Facts::empty("velero");
        f.kube.pods = Err(ReadError::not_needed("pods"));
        f.kube.helm_releases = Err(ReadError::not_needed("secrets"));
        f.kube.backups = Err(ReadError::new(ReadErrorKind::Timeout, "list", "backups.velero.io", Some("velero"), "3s"));
        f.kube.namespace = Err(ReadError::new(ReadErrorKind::NotServed, "get", "namespaces", None, "HTTP 404"));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }
}
