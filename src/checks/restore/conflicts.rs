//! restore.conflicts: namespaces of the backup that already hold its objects here.
//!
//! Velero does not overwrite: an item that exists is skipped with a warning ("could not restore, …
//! already exists"), unless the Restore sets `existingResourcePolicy: update`, which patches it
//! (velero v1.17.2 `pkg/restore/restore.go` `restoreItem`, `processUpdateResourcePolicy`). The
//! restore then "succeeds" with yesterday's objects left in place. Counted exactly: each kind of the
//! backup, in each of its namespaces that exists here, listed by name (metadata only) and matched
//! with the resource list.

use super::{facts, unread};
use crate::checks::{CheckDef, Ctx};
use crate::model::Verdict;
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "restore.conflicts", category: Restore, severity: Major,
    title: "The backup's namespaces do not already hold its objects",
    depends_on: ["restore.backup"], needs: [],
    timed_by: Restore,
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    let r = match facts(ctx) {
        Ok(r) => r,
        Err(v) => return *v,
    };
    let list = match &r.store.resource_list {
        Some(Ok(l)) => l,
        other => return unread(r, "resource list", other.as_ref()),
    };
    let c = &r.conflicts;
    if let Some(why) = &c.not_attempted {
        return Verdict::error(format!("the backup's objects here could not be counted: {why}"));
    }
    let name = &r.backup;
    let backed_ns = list.namespaces();
    let mut details: Vec<String> = Vec::new();
    let mut conflicting = Vec::new();
    let mut evidence = Vec::new();
    for n in &c.namespaces {
        let existing: usize = n.existing.values().map(|e| e.count).sum();
        evidence.push(json!({"namespace": n.namespace, "backedUp": n.backed_up, "existing": existing, "byKind": n.existing.iter().map(|(k, e)| (k.clone(), e.count)).collect::<std::collections::BTreeMap<_, _>>()}));
        if existing == 0 {
            details.push(format!("namespace {} exists here and holds none of the backup's {} objects", n.namespace, n.backed_up));
            continue;
        }
        let partial = n.existing.values().any(|e| e.partial);
        let kinds: Vec<String> = n.existing.iter().map(|(k, e)| format!("{k} {}", e.count)).collect();
        details.push(format!(
            "namespace {}: {existing}{} of the backup's {} objects exist here ({})",
            n.namespace,
            if partial { "+" } else { "" },
            n.backed_up,
            kinds.join(", ")
        ));
        for (k, e) in &n.existing {
            details.push(format!("  {k}: {}{}", e.examples.join(", "), if e.count > e.examples.len() { ", …" } else { "" }));
        }
        conflicting.push((n.namespace.clone(), existing));
    }
    let absent = backed_ns.keys().filter(|ns| !c.namespaces.iter().any(|n| &n.namespace == *ns)).count();
    if absent > 0 {
        details.push(format!("{absent} namespace{} of the backup do{} not exist here: restored fresh", if absent == 1 { "" } else { "s" }, if absent == 1 { "es" } else { "" }));
    }
    for u in &c.unread {
        details.push(format!("not counted: {u}"));
    }
    if c.secrets_not_listed > 0 {
        details.push(format!("{} Secret{} of the backup in these namespaces not counted: veldr lists no Secrets", c.secrets_not_listed, if c.secrets_not_listed == 1 { "" } else { "s" }));
    }
    if c.not_listed > 0 {
        details.push(format!("{} lists not made (veldr lists at most {} kinds × namespaces): those objects are not counted", c.not_listed, crate::collect::restore::CONFLICT_LISTS));
    }
    if conflicting.is_empty() {
        let v = if !c.unread.is_empty() {
            Verdict::error(format!("{} reads of the backup's kinds here failed: existing objects may go uncounted", c.unread.len()))
                .hint("grant veldr `list` on those kinds (deploy/rbac.yaml, restore-check's role), then run again")
        } else if c.namespaces.is_empty() {
            Verdict::ok(format!("none of the backup's {} namespaces exists here: nothing is skipped", backed_ns.len()))
        } else {
            Verdict::ok(format!("the backup's namespaces that exist here hold none of its objects: nothing is skipped"))
        };
        return v.details(details).evidence("namespaces", evidence);
    }
    let total: usize = conflicting.iter().map(|(_, n)| *n).sum();
    let shown: Vec<String> = conflicting.iter().take(3).map(|(ns, n)| format!("{ns} ({n})")).collect();
    let more = if conflicting.len() > 3 { format!(" and {} more", conflicting.len() - 3) } else { String::new() };
    Verdict::warn(format!(
        "{} namespace{} of the backup already hold{} {total} of its objects here: {}{more}; Velero skips what exists",
        conflicting.len(),
        if conflicting.len() == 1 { "" } else { "s" },
        if conflicting.len() == 1 { "s" } else { "" },
        shown.join(", ")
    ))
    .details(details)
    .hint(format!(
        "to overwrite them: `velero restore create --from-backup {name} --existing-resource-policy=update`; to keep both: `--namespace-mappings {}:{}-restored`; or delete the namespace first",
        conflicting[0].0, conflicting[0].0
    ))
    .evidence("namespaces", evidence)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::facts::restore::{ExistingItems, NamespaceConflicts};
    use crate::model::Status;

    #[test]
    fn absent_namespaces_are_restored_fresh() {
        let v = run(&ready(), judge);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("none of the backup's 1 namespaces exists here"), "{}", v.summary);
    }

    #[test]
    fn existing_objects_warn_with_counts_by_kind() {
        let mut f = ready();
        let c = &mut f.restore.as_mut().unwrap().conflicts;
        c.namespaces = vec![NamespaceConflicts {
            namespace: "shop".into(),
            backed_up: 8,
            existing: [("ConfigMap".to_string(), ExistingItems { count: 2, examples: vec!["app".into(), "env".into()], partial: false }), ("Deployment.apps".to_string(), ExistingItems { count: 1, examples: vec!["web".into()], partial: false })].into(),
        }];
        let v = run(&f, judge);
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.summary, "1 namespace of the backup already holds 3 of its objects here: shop (3); Velero skips what exists");
        assert!(text(&v).contains("namespace shop: 3 of the backup's 8 objects exist here (ConfigMap 2, Deployment.apps 1)"), "{}", text(&v));
        assert!(v.hint.as_deref().unwrap().contains("--existing-resource-policy=update"));
        assert_eq!(v.evidence["namespaces"][0]["existing"], 3);
    }

    #[test]
    fn refused_lists_are_an_error_not_a_pass() {
        let mut f = ready();
        let c = &mut f.restore.as_mut().unwrap().conflicts;
        c.namespaces = vec![NamespaceConflicts { namespace: "shop".into(), backed_up: 8, existing: Default::default() }];
        c.unread = vec!["ConfigMap in shop: forbidden".into()];
        assert_eq!(run(&f, judge).status, Status::Error);
    }
}
