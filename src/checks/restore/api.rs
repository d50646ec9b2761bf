//! restore.api: every group/version/kind of `<b>-resource-list.json.gz` is served here.
//!
//! Velero restores each item with the apiVersion it was backed up with, read from the tarball's
//! unversioned copy (the source's preferred version), through a client for that group/version
//! (velero v1.17.2 `pkg/restore/restore.go` `getResourceClient`); only with the server feature
//! `EnableAPIGroupVersions` does it choose among the versions the backup holds
//! (`prioritize_group_version.go`). So a kind is restorable here when this cluster serves it at that
//! version; serving the group at other versions only is not enough. A kind whose CRD the backup holds
//! is made served by a whole restore, which creates CRDs first (`backup.go` `backupCRD` adds the CRD of
//! every custom resource backed up). Kinds Velero never restores (`nonRestorableResources`) are left out.

use super::{facts, unread};
use crate::checks::{CheckDef, Ctx};
use crate::facts::restore::{KindFacts, ServedGroup};
use crate::model::Verdict;
use crate::upstream::velero_backup_archive::restorable;
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "restore.api", category: Restore, severity: Critical,
    title: "Every kind of the backup is served here",
    depends_on: ["restore.backup"], needs: [],
    timed_by: Restore,
    judge: judge,
};

/// How this cluster takes one kind of the backup.
enum Fit<'a> {
    /// Served at the backed-up version (`preferred`: the group's preferred version, when another).
    Served { preferred: Option<&'a str> },
    /// The group serves the kind at other versions only.
    OtherVersions(Vec<&'a str>),
    /// Not served; the backup holds its CRD (by name; `exact`: read from the tarball).
    CrdInBackup { crd: String, exact: bool },
    NotServed,
}

fn fit<'a>(k: &KindFacts, served: &'a [ServedGroup], crds: &CrdsInBackup) -> Fit<'a> {
    let gvk = &k.gvk;
    if let Some(g) = served.iter().find(|g| g.name == gvk.group) {
        if g.versions.iter().any(|v| v.version == gvk.version && v.kinds.iter().any(|s| s.kind == gvk.kind)) {
            let preferred = (g.preferred != gvk.version).then_some(g.preferred.as_str());
            return Fit::Served { preferred };
        }
        let others: Vec<&str> = g.versions.iter().filter(|v| v.kinds.iter().any(|s| s.kind == gvk.kind)).map(|v| v.version.as_str()).collect();
        if !others.is_empty() {
            return Fit::OtherVersions(others);
        }
    }
    match crds.find(&gvk.group, &gvk.kind, &gvk.version) {
        Some((crd, exact)) => Fit::CrdInBackup { crd, exact },
        None => Fit::NotServed,
    }
}

/// The CRDs of the backup: from the tarball (exact kinds and versions), else by name from the
/// resource list (`<plural>.<group>`: the group is certain, the kind is matched on its plural).
struct CrdsInBackup {
    exact: Vec<(String, String, String, Vec<String>)>,
    names: Vec<String>,
}

impl CrdsInBackup {
    fn find(&self, group: &str, kind: &str, version: &str) -> Option<(String, bool)> {
        if let Some((name, ..)) = self.exact.iter().find(|(_, g, k, versions)| g == group && k == kind && (versions.is_empty() || versions.iter().any(|v| v == version))) {
            return Some((name.clone(), true));
        }
        let lower = kind.to_lowercase();
        self.names
            .iter()
            .find(|n| n.split_once('.').is_some_and(|(plural, g)| g == group && (plural.starts_with(&lower) || plural.starts_with(lower.trim_end_matches('y')))))
            .map(|n| (n.clone(), false))
    }
}

fn judge(ctx: &Ctx) -> Verdict {
    let r = match facts(ctx) {
        Ok(r) => r,
        Err(v) => return *v,
    };
    let list = match &r.store.resource_list {
        Some(Ok(l)) => l,
        other => return unread(r, "resource list", other.as_ref()),
    };
    let served = match &r.discovery {
        Ok(d) => d,
        Err(e) => return crate::checks::read_failed(e),
    };
    let crds = CrdsInBackup {
        exact: match &r.store.archive {
            Some(Ok(a)) => a.crds.iter().map(|c| (c.name.clone(), c.group.clone(), c.kind.clone(), c.versions.clone())).collect(),
            _ => vec![],
        },
        names: list.crds.clone(),
    };
    let mut missing: Vec<(&KindFacts, String)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut skipped = 0usize;
    let mut served_items = 0usize;
    for k in &list.kinds {
        if !restorable(&k.gvk) {
            skipped += k.count;
            continue;
        }
        let example = k.examples.first().map(String::as_str).unwrap_or("?");
        match fit(k, served, &crds) {
            Fit::Served { preferred } => {
                served_items += k.count;
                if let Some(p) = preferred {
                    notes.push(format!("{}: served here (this cluster prefers {p}; Velero restores the backed-up {})", k.gvk.display(), k.gvk.version));
                }
            }
            Fit::OtherVersions(v) => missing.push((
                k,
                format!(
                    "{}: {} item{} (e.g. {example}) — this cluster serves {} only at {}; Velero creates them as {}",
                    k.gvk.display(),
                    k.count,
                    plural(k.count),
                    k.gvk.kind,
                    v.join(", "),
                    k.gvk.version
                ),
            )),
            Fit::CrdInBackup { crd, exact } => {
                served_items += k.count;
                notes.push(format!(
                    "{}: not served here; the backup holds its CRD {crd}{}: a whole restore creates it first (a restore limited with --include-namespaces does not: add --include-cluster-resources)",
                    k.gvk.display(),
                    if exact { "" } else { " (matched by name)" }
                ));
            }
            Fit::NotServed => {
                missing.push((k, format!("{}: {} item{} (e.g. {example}) — not served here, and the backup holds no CRD for it", k.gvk.display(), k.count, plural(k.count))))
            }
        }
    }
    if skipped > 0 {
        notes.push(format!("{skipped} item{} of kinds Velero never restores (events, nodes, Velero's own backups and restores, …) left out", plural(skipped)));
    }
    let kinds = list.kinds.iter().filter(|k| restorable(&k.gvk)).count();
    let total: usize = list.kinds.iter().map(|k| k.count).sum();
    let evidence: Vec<serde_json::Value> =
        missing.iter().map(|(k, _)| json!({"kind": k.gvk.display(), "items": k.count, "example": k.examples.first(), "namespaces": k.namespaces})).collect();
    if missing.is_empty() {
        return Verdict::ok(format!("all {kinds} kinds the restore creates ({served_items} items) are served here"))
            .details(notes)
            .evidence("missing", evidence)
            .evidence("items", total);
    }
    let items: usize = missing.iter().map(|(k, _)| k.count).sum();
    let names: Vec<String> = missing.iter().map(|(k, _)| k.gvk.display()).collect();
    let shown = if names.len() > 3 { format!("{} and {} more", names[..3].join(", "), names.len() - 3) } else { names.join(", ") };
    let mut details: Vec<String> = missing.into_iter().map(|(_, d)| d).collect();
    details.extend(notes);
    Verdict::fail(format!("{} kind{} of the backup {} not served here: {shown} ({items} item{} would fail to restore)", names.len(), plural(names.len()), if names.len() == 1 { "is" } else { "are" }, plural(items)))
        .details(details)
        .hint("install the CRDs (or the operator that brings them) at the versions named, before restoring — `kubectl api-resources` lists what is served; or exclude those kinds (`velero restore create --exclude-resources <kind>.<group>`)")
        .evidence("missing", evidence)
        .evidence("items", total)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::model::Status;
    use crate::upstream::velero_backup_archive::ArchivedCrd;
    use serde_json::json;

    fn with_list(doc: serde_json::Value) -> crate::facts::Facts {
        let mut f = ready();
        f.restore.as_mut().unwrap().store.resource_list = Some(Ok(resource_list(doc)));
        f
    }

    #[test]
    fn a_ready_target_serves_every_kind_and_events_are_left_out() {
        let v = run(&ready(), judge);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.starts_with("all 6 kinds the restore creates (9 items) are served here"), "{}", v.summary);
        assert!(text(&v).contains("1 item of kinds Velero never restores"), "{}", text(&v));
    }

    #[test]
    fn a_missing_crd_fails_naming_the_kind_its_count_and_an_example() {
        let f = with_list(json!({"example.com/v1/Widget": ["shop/a", "shop/b"], "v1/ConfigMap": ["shop/app"]}));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("1 kind of the backup is not served here: Widget.example.com/v1 (2 items would fail to restore)"), "{}", v.summary);
        assert!(text(&v).contains("Widget.example.com/v1: 2 items (e.g. shop/a) — not served here"), "{}", text(&v));
        assert_eq!(v.evidence["missing"][0]["items"], 2);
    }

    #[test]
    fn a_served_group_without_the_backed_up_version_fails() {
        let mut f = with_list(json!({"apps/v1beta1/Deployment": ["shop/web"]}));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("serves Deployment only at v1; Velero creates them as v1beta1"), "{}", text(&v));
        // The same version served but not preferred: fine, said.
        let r = f.restore.as_mut().unwrap();
        r.discovery = Ok(served(&[("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true), ("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true)]));
        r.store.resource_list = Some(Ok(resource_list(json!({"autoscaling/v1/HorizontalPodAutoscaler": ["shop/web"]}))));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("this cluster prefers v2; Velero restores the backed-up v1"), "{}", text(&v));
    }

    #[test]
    fn a_crd_in_the_backup_makes_its_kind_restorable() {
        let mut f = with_list(json!({"example.com/v1/Widget": ["shop/a"], "apiextensions.k8s.io/v1/CustomResourceDefinition": ["widgets.example.com"]}));
        f.restore.as_mut().unwrap().discovery = Ok(served(&[("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false)]));
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("the backup holds its CRD widgets.example.com (matched by name)"), "{}", text(&v));
        if let Some(Ok(a)) = f.restore.as_mut().unwrap().store.archive.as_mut() {
            a.crds.push(ArchivedCrd { name: "widgets.example.com".into(), group: "example.com".into(), kind: "Widget".into(), versions: vec!["v1".into()] });
        }
        assert!(!text(&run(&f, judge)).contains("matched by name"));
    }

    #[test]
    fn no_resource_list_is_said() {
        let mut f = ready();
        f.restore.as_mut().unwrap().store.resource_list = Some(Err(crate::facts::Problem::new(crate::facts::ProblemKind::NotFound, "404")));
        assert_eq!(run(&f, judge).status, Status::Fail);
        f.restore.as_mut().unwrap().store.resource_list = None;
        assert_eq!(run(&f, judge).status, Status::Error);
    }
}
