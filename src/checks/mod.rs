//! The check registry: one entry per check, the single source of its id, category, title,
//! severity, dependencies, judge and runbook page. `veldr checks`, `veldr explain`, the reports
//! and the tests all read from [`REGISTRY`].

pub mod ctx;
mod backups;
mod cluster;
mod credentials;
mod nodeagent;
mod openstack;
mod plugin_env;
mod server;
mod snapshots;
mod storage;

pub use ctx::Ctx;

use crate::facts::ReadError;
use crate::model::{Category, Severity, Verdict};

/// A judge: a pure function from the collected facts to a verdict.
pub type Judge = fn(&Ctx) -> Verdict;

pub struct CheckDef {
    pub id: &'static str,
    pub category: Category,
    pub title: &'static str,
    pub severity: Severity,
    /// Checks that must pass (ok or warn) for this one to be judged; otherwise it is skipped.
    pub depends_on: &'static [&'static str],
    pub judge: Judge,
    /// The runbook page (`checks/<id>.md`), embedded at build time.
    pub page: &'static str,
}

macro_rules! check {
    ($id:literal, $cat:ident, $sev:ident, $title:literal, [$($dep:literal),*], $judge:path) => {
        CheckDef {
            id: $id,
            category: Category::$cat,
            title: $title,
            severity: Severity::$sev,
            depends_on: &[$($dep),*],
            judge: $judge,
            page: include_str!(concat!("../../checks/", $id, ".md")),
        }
    };
}

/// Every check, in report order. Ids are stable public names (CONTRACT.md).
pub static REGISTRY: &[CheckDef] = &[
    check!("kube.connect", Cluster, Critical, "Kubernetes API reachable", [], cluster::connect),
    check!("kube.crds", Cluster, Critical, "Velero and snapshot APIs served", ["kube.connect"], cluster::crds),
    check!("kube.rbac", Cluster, Major, "veldr may read what it checks", ["kube.connect"], cluster::rbac),
    check!("velero.deployment", Velero, Critical, "Velero server running", ["kube.connect"], server::deployment),
    check!("velero.plugin", Velero, Critical, "OpenStack plugin installed", ["kube.connect"], server::plugin),
    check!("velero.features", Velero, Major, "CSI feature flag", ["kube.connect"], server::features),
    check!("velero.fs-backup", Velero, Major, "No file-system backup on Swift", ["kube.connect"], server::fs_backup),
    check!("credentials.env", Credentials, Critical, "OS_* variables reach the plugin", ["kube.connect"], plugin_env::env),
    check!("credentials.fresh", Credentials, Major, "Velero runs with the current secret", ["kube.connect"], credentials::fresh),
    check!("bsl.phase", Storage, Critical, "Backup storage locations available", ["kube.crds"], storage::phase),
    check!("bsl.config", Storage, Major, "Backup storage location configuration", ["kube.crds"], storage::config),
    check!("vsl.config", Snapshots, Major, "No broken VolumeSnapshotLocation", ["kube.crds"], snapshots::vsl),
    check!("csi.snapshot-class", Snapshots, Critical, "A VolumeSnapshotClass per CSI driver", ["kube.connect"], snapshots::class),
    check!("csi.driver", Snapshots, Major, "CSI snapshot stack present", ["kube.connect"], snapshots::driver),
    check!("nodeagent.pss", NodeAgent, Major, "node-agent allowed by Pod Security", ["kube.connect"], nodeagent::pss),
    check!("keystone.auth", Openstack, Critical, "Keystone accepts Velero's credentials", ["credentials.env"], openstack::auth),
    check!("keystone.catalog", Openstack, Critical, "Object store endpoint in the catalog", ["keystone.auth"], openstack::catalog),
    check!("swift.container", Openstack, Critical, "Backup container readable", ["keystone.catalog"], openstack::container),
    check!("swift.tempurl-digest", Openstack, Major, "Temp URL digest allowed", ["keystone.catalog"], openstack::digest),
    check!("swift.tempurl-key", Openstack, Major, "Temp URL key matches Swift", ["swift.container"], openstack::key),
    check!("swift.tempurl", Openstack, Major, "Signed URL accepted by Swift", ["keystone.catalog"], openstack::tempurl),
    check!("swift.clock", Openstack, Minor, "Clock agrees with Swift", ["keystone.catalog"], openstack::clock),
    check!("backup.recent", Backups, Major, "Recent backups completed", ["kube.crds"], backups::recent),
];

/// Looks a check up by id.
pub fn find(id: &str) -> Option<&'static CheckDef> {
    REGISTRY.iter().find(|c| c.id == id)
}

/// The verdict for a check whose input could not be read.
pub fn read_failed(e: &ReadError) -> Verdict {
    Verdict::error(e.explain()).hint(read_hint(e)).evidence("read", e)
}

/// What to grant, set or look at when a read failed, by why it failed.
pub fn read_hint(e: &ReadError) -> String {
    use crate::facts::ReadErrorKind as K;
    let scope = e.namespace.as_deref().map(|n| format!(" in namespace {n}")).unwrap_or_else(|| " cluster-wide".into());
    match e.kind {
        K::Forbidden => format!(
            "grant veldr's identity {} on {}{scope} (deploy/rbac.yaml has the least-privilege rules; `veldr explain kube.rbac`)",
            e.verb, e.resource
        ),
        K::Unauthorized => "the kubeconfig's credentials were refused: refresh them (re-login, renew the token) or pick another --context".into(),
        K::NotServed => format!(
            "install the CRD of {} (Velero's come with `velero install --crds-only` or the Helm chart, the snapshot CRDs with the external-snapshotter)",
            e.resource
        ),
        K::Timeout => "raise --timeout, or check the API server's load and the network path (`kubectl get --raw '/readyz?verbose'`)".into(),
        K::Unreachable => "check the network path to the API server (proxies or load balancers that cut long answers), then run again".into(),
        K::Malformed => "something between veldr and the API server mangled the answer (a proxy, an aggregated API): compare with `kubectl get --raw` on the same path, then run again".into(),
        K::Server => "the API server failed to answer: check its health (`kubectl get --raw '/readyz?verbose'`) and its logs, then run again".into(),
        K::NotAttempted => "fix the read it depends on (see the other errors), then run again".into(),
    }
}

/// Unwraps a read or returns the `error` verdict that names the failed read.
#[macro_export]
macro_rules! need {
    ($read:expr) => {
        match $read {
            Ok(v) => v,
            Err(e) => return $crate::checks::read_failed(e),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_read_error_names_its_fix() {
        use crate::facts::{ReadErrorKind as K, ReadError};
        let cases = [
            (K::Forbidden, "grant veldr's identity list on pods in namespace velero"),
            (K::Timeout, "raise --timeout"),
            (K::NotServed, "install the CRD of pods"),
            (K::Server, "check its health"),
            (K::Malformed, "kubectl get --raw"),
            (K::Unreachable, "network path"),
            (K::Unauthorized, "refresh them"),
            (K::NotAttempted, "fix the read it depends on"),
        ];
        for (kind, needle) in cases {
            let v = read_failed(&ReadError::new(kind, "list", "pods", Some("velero"), "HTTP 500"));
            assert_eq!(v.status, crate::model::Status::Error);
            assert!(v.hint.as_deref().is_some_and(|h| h.contains(needle)), "{kind:?}: {:?}", v.hint);
        }
    }

    #[test]
    fn ids_are_unique_and_dependencies_come_first() {
        let mut seen = HashSet::new();
        for c in REGISTRY {
            for d in c.depends_on {
                assert!(seen.contains(d), "{} depends on {d}, which must be registered before it", c.id);
            }
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
        }
    }

    #[test]
    fn every_check_has_its_page_and_every_page_its_check() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
        let pages: HashSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .map(|n| n.trim_end_matches(".md").to_string())
            .collect();
        let ids: HashSet<String> = REGISTRY.iter().map(|c| c.id.to_string()).collect();
        assert_eq!(pages, ids, "pages in checks/ and registered checks differ");
        for c in REGISTRY {
            for section in ["## What it checks", "## Why it matters", "## How to fix", "## Related"] {
                assert!(c.page.contains(section), "checks/{}.md lacks the section {section:?}", c.id);
            }
            assert!(!c.page.contains("\nTODO"), "checks/{}.md is still a placeholder", c.id);
            assert!(c.page.len() > 600, "checks/{}.md is too thin to be a runbook page", c.id);
        }
    }
}
