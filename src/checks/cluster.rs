//! kube.connect, kube.crds, kube.rbac: can veldr see the cluster, and the APIs Velero needs?

use super::Ctx;
use crate::facts::{ReadError, ReadErrorKind};
use crate::model::Verdict;

pub fn connect(ctx: &Ctx) -> Verdict {
    let server = ctx.facts.target.server.clone().unwrap_or_default();
    match &ctx.facts.kube.version {
        Ok(v) => Verdict::ok(format!("API server {} answers", v.git_version)).evidence("version", v).evidence("server", &server),
        Err(e) => {
            let hint = match e.kind {
                ReadErrorKind::Unauthorized => "the kubeconfig's credentials were refused: refresh them (e.g. re-login, renew the token) or pick another --context",
                ReadErrorKind::Timeout => "the API server did not answer in time: check the network path or raise --timeout",
                ReadErrorKind::Forbidden => "the user may not read /version: grant the system:discovery ClusterRole",
                _ => "check the server address and CA in the kubeconfig, and that the API server is up (`kubectl cluster-info`)",
            };
            Verdict::fail(format!("cannot talk to the API server at {server}: {}", e.message)).hint(hint).evidence("read", e)
        }
    }
}

/// The API groups Velero needs, with the version each must serve.
const REQUIRED: [(&str, &str, &str); 2] = [
    ("velero.io", "v1", "Velero's CRDs are not installed: install them with `velero install --crds-only --dry-run -o yaml | kubectl apply -f -` or the Helm chart (upgradeCRDs: true)"),
    ("snapshot.storage.k8s.io", "v1", "the CSI snapshot CRDs are not installed: install the external-snapshotter CRDs and snapshot-controller (kubernetes-csi/external-snapshotter, client/config/crd and deploy/kubernetes/snapshot-controller)"),
];

pub fn crds(ctx: &Ctx) -> Verdict {
    let groups = crate::need!(&ctx.facts.kube.api_groups);
    let mut missing = Vec::new();
    let mut hints = Vec::new();
    for (group, version, fix) in REQUIRED {
        let served = groups.iter().any(|g| g.name == group && g.versions.iter().any(|v| v == version));
        if !served {
            missing.push(format!("{group}/{version}"));
            hints.push(fix);
        }
    }
    if missing.is_empty() {
        Verdict::ok("velero.io/v1 and snapshot.storage.k8s.io/v1 are served")
    } else {
        Verdict::fail(format!("not served: {}", missing.join(", "))).hint(hints.join("; ")).evidence("missing", &missing)
    }
}

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
        "schedules.velero.io" | "backups.velero.io" => &["backup.recent", "velero.fs-backup"],
        "podvolumebackups.velero.io" | "backuprepositories.velero.io" => &["velero.fs-backup"],
        "volumesnapshotclasses.snapshot.storage.k8s.io" | "persistentvolumes" | "persistentvolumeclaims" | "storageclasses.storage.k8s.io" => &["csi.snapshot-class"],
        "csidrivers.storage.k8s.io" => &["csi.driver"],
        _ => &[],
    }
}

/// Every read that was refused (403) in this run.
pub fn forbidden_reads<'a>(ctx: &Ctx<'a>) -> Vec<&'a ReadError> {
    let k = &ctx.facts.kube;
    let lists = [
        &k.deployments, &k.daemonsets, &k.pods, &k.events, &k.backup_storage_locations, &k.volume_snapshot_locations,
        &k.schedules, &k.backups, &k.pod_volume_backups, &k.backup_repositories, &k.volume_snapshot_classes,
        &k.csi_drivers, &k.storage_classes, &k.persistent_volumes, &k.persistent_volume_claims,
    ];
    let mut out: Vec<&ReadError> = lists.iter().filter_map(|r| r.as_ref().err()).collect();
    out.extend(k.namespace.as_ref().err());
    out.extend(k.api_groups.as_ref().err());
    out.extend(k.helm_releases.as_ref().err());
    out.extend(k.secrets.values().filter_map(|r| r.as_ref().err()));
    out.extend(k.config_maps.values().filter_map(|r| r.as_ref().err()));
    out.retain(|e| e.kind == ReadErrorKind::Forbidden);
    out
}

pub fn rbac(ctx: &Ctx) -> Verdict {
    let denied = forbidden_reads(ctx);
    if denied.is_empty() {
        return Verdict::ok("every read veldr needs was allowed");
    }
    let mut details = Vec::new();
    let mut rules = Vec::new();
    for e in &denied {
        let scope = e.namespace.as_deref().map(|n| format!(" in namespace {n}")).unwrap_or_else(|| " cluster-wide".into());
        let mut checks: Vec<&str> = affected_checks(&e.resource).to_vec();
        if e.resource == "secrets" && e.verb == "list" {
            checks = vec!["credentials.env (Helm values)", "vsl.config (Helm values)"];
        }
        details.push(format!("{} {}{scope}: degrades {}", e.verb, e.resource, checks.join(", ")));
        rules.push(format!("{} {}{scope}", e.verb, e.resource));
    }
    Verdict::warn(format!("{} read(s) forbidden; the checks that need them end in error", denied.len()))
        .details(details)
        .hint(format!(
            "grant veldr's identity: {} (deploy/rbac.yaml has the least-privilege rules)",
            rules.join("; ")
        ))
        .evidence("forbidden", &denied)
}
