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
    Verdict::error(e.explain()).evidence("read", e)
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
