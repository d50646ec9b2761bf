//! Data movements: PodVolumeBackups/Restores (node-agent's file-system copies) and DataUploads/Downloads
//! (the data mover) that failed or were canceled in the last 24 h, or run past their timeout.

use super::{created, Review};
use crate::checks::findings::{many, one_line, plural, Group};
use crate::facts::{List, Object, PhaseStatus, PodVolumeSpec, Read};
use crate::model::Status;
use crate::rules::duration::{human_age, human_interval};

/// The phases after which a PodVolumeBackup/Restore or DataUpload/Download is over (v1 and v2alpha1 types).
const MOVEMENT_OVER: [&str; 3] = ["Completed", "Failed", "Canceled"];

/// The parts of a data movement the judge reads, whatever its kind.
struct Movement<'o> {
    status: &'o PhaseStatus,
    /// " (backup b, pod ns/p volume v)"
    context: String,
    /// How long it may run: `--fs-backup-timeout` for pod volumes, the item operation timeout for
    /// the data mover (a DataUpload's own `operationTimeout` is its backup's csiSnapshotTimeout,
    /// which bounds exposing the snapshot, not the copy).
    timeout: f64,
}

impl<'a> Review<'a> {
    /// The four kinds, each with its own groups (their hints name no kind, so that they read alike).
    pub(super) fn movements(&mut self) {
        let facts = self.ctx.facts;
        let k = &facts.kube;
        let (fs_timeout, item_timeout) = (self.fs_timeout, self.item_timeout);
        self.movements_of(&k.pod_volume_backups, "PodVolumeBackup", |p| Movement { status: &p.status, context: pod_volume(p, &p.spec), timeout: fs_timeout });
        self.movements_of(&k.pod_volume_restores, "PodVolumeRestore", |p| Movement { status: &p.status, context: pod_volume(p, &p.spec), timeout: fs_timeout });
        self.movements_of(&k.data_uploads, "DataUpload", |d| Movement {
            status: &d.status,
            context: format!(" ({}, PVC {}/{})", owner(d), d.spec.source_namespace.as_deref().unwrap_or("?"), d.spec.source_pvc.as_deref().unwrap_or("?")),
            timeout: item_timeout,
        });
        self.movements_of(&k.data_downloads, "DataDownload", |d| Movement {
            status: &d.status,
            context: format!(" ({}, PVC {}/{})", owner(d), d.spec.target_volume.namespace.as_deref().unwrap_or("?"), d.spec.target_volume.pvc.as_deref().unwrap_or("?")),
            timeout: item_timeout,
        });
    }

    fn movements_of<T: Object>(&mut self, read: &'a Read<List<T>>, label: &str, parts: impl Fn(&'a T) -> Movement<'a>) {
        let Some(list) = self.read(read, label) else { return };
        let ns = &self.ns;
        let mut failed = Group::new(
            Status::Warn,
            format!("{} failed or were canceled in the last 24 h", many(label)),
            format!(
                "each message says why; `kubectl -n {ns} get <kind> <name> -o yaml` and the node-agent's log on that node (`kubectl -n {ns} logs ds/node-agent`); Canceled ones usually follow a restart of Velero or node-agent"
            ),
        );
        let mut stuck = Group::new(
            Status::Warn,
            format!("{} run past their timeout", many(label)),
            format!("the node-agent on their node may be gone or stuck: `kubectl -n {ns} get pods -l name=node-agent -o wide`, then its log; they end when their Backup or Restore is canceled or times out"),
        );
        let mut older = 0;
        for o in list.iter() {
            let m = parts(o);
            let s = m.status;
            let phase = s.phase.as_deref().unwrap_or("New");
            let msg = s.message.as_deref().map(|x| format!(": {}", one_line(x))).unwrap_or_default();
            let line_of = |what: String| format!("{label} {}{} {what}{msg}", o.name(), m.context);
            if phase == "Failed" || phase == "Canceled" {
                let ended = s.completion_timestamp.or(s.start_timestamp).or_else(|| created(o));
                if self.recent(ended) {
                    failed.lines.push(line_of(format!("{phase} {} ago", human_age(ended.map(|t| self.age(t)).unwrap_or(0)))));
                } else {
                    older += 1;
                }
            } else if !MOVEMENT_OVER.contains(&phase) {
                let started = s.start_timestamp.or_else(|| created(o));
                if let Some(age) = started.map(|t| self.age(t)).filter(|a| *a as f64 > m.timeout) {
                    stuck.lines.push(line_of(format!("has been {phase} for {} (timeout {})", human_age(age), human_interval(m.timeout))));
                }
            }
        }
        if older > 0 {
            self.notes.push(format!("{} failed or canceled more than 24 h ago (not judged)", plural(older, label)));
        }
        self.groups.push(failed);
        self.groups.push(stuck);
    }
}

/// "backup b", "restore r": the operation a movement belongs to, by its label.
fn owner(o: &impl Object) -> String {
    match (o.label("velero.io/backup-name"), o.label("velero.io/restore-name")) {
        (Some(b), _) => format!("backup {b}"),
        (_, Some(r)) => format!("restore {r}"),
        _ => "no owner label".to_string(),
    }
}

fn pod_volume(o: &impl Object, spec: &PodVolumeSpec) -> String {
    let pod = spec.pod.as_ref().map(|p| format!("{}/{}", p.namespace.as_deref().unwrap_or("?"), p.name.as_deref().unwrap_or("?"))).unwrap_or_else(|| "?".into());
    format!(" ({}, pod {pod} volume {})", owner(o), spec.volume.as_deref().unwrap_or("?"))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;

    #[test]
    fn failed_and_stuck_data_movements_warn_and_long_lists_are_capped() {
        let du = |i: usize, phase: &str, started: &str| {
            json!({"metadata": {"name": format!("daily-x-{i}"), "namespace": "velero", "creationTimestamp": started, "labels": {"velero.io/backup-name": "daily-x"}},
                "spec": {"sourcePVC": format!("data-{i}"), "sourceNamespace": "shop", "operationTimeout": "10m0s"},
                "status": {"phase": phase, "startTimestamp": started, "completionTimestamp": started, "message": "data path failed: connection reset"}})
        };
        let mut f = Facts::empty("velero");
        let mut items: Vec<Value> = (0..8).map(|i| du(i, "Failed", "2026-11-29T03:00:00Z")).collect();
        items.push(du(20, "Failed", "2026-11-20T03:00:00Z"));
        let mut stuck = du(30, "InProgress", "2026-11-29T02:00:00Z");
        stuck["status"].as_object_mut().unwrap().remove("completionTimestamp");
        items.push(stuck);
        let mut young = du(31, "Prepared", "2026-11-29T07:00:00Z");
        young["status"].as_object_mut().unwrap().remove("completionTimestamp");
        items.push(young);
        f.kube.data_uploads = Ok(list(items));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.starts_with("8 DataUploads failed or were canceled in the last 24 h"), "{}", v.summary);
        let t = written(&v);
        assert!(t.contains("DataUpload daily-x-0 (backup daily-x, PVC shop/data-0) Failed 5h ago: data path failed: connection reset"), "{t}");
        assert!(t.contains("… and 3 more"), "capped at 5: {t}");
        assert!(!t.contains("daily-x-5 "), "{t}");
        // The operationTimeout (10m) bounds exposing the snapshot, not the copy: 6h is past the 4h item timeout.
        assert!(t.contains("DataUpload daily-x-30 (backup daily-x, PVC shop/data-30) has been InProgress for 6h (timeout 4h)"), "{t}");
        assert!(!t.contains("daily-x-31"), "{t}");
        assert!(t.contains("1 DataUpload failed or canceled more than 24 h ago"), "{t}");

        let mut f = Facts::empty("velero");
        f.kube.pod_volume_restores = Ok(list(vec![json!({"metadata": {"name": "r-abc", "namespace": "velero", "labels": {"velero.io/restore-name": "r"}},
            "spec": {"pod": {"namespace": "shop", "name": "db-0"}, "volume": "data"},
            "status": {"phase": "Canceled", "completionTimestamp": "2026-11-29T07:00:00Z", "message": "found a podvolumerestore with status \"InProgress\" during the server starting"}})]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.starts_with("PodVolumeRestore r-abc (restore r, pod shop/db-0 volume data) Canceled 60m ago: found a podvolumerestore"), "{}", v.summary);
    }
}
