//! Backups still running past their itemOperationTimeout or not taken up, and the judgement of
//! those two phases that Backups and Restores share.

use super::{created, Review};
use crate::checks::findings::many;
use crate::facts::Object;
use crate::model::Status;
use crate::rules::duration::{human_age, human_interval};
use jiff::Timestamp;

/// The phases of a Backup or Restore that is still running (pkg/apis/velero/v1 backup_types.go,
/// restore_types.go); `New`, `Queued` and `ReadyToStart` have not started.
const RUNNING: [&str; 5] =
    ["InProgress", "WaitingForPluginOperations", "WaitingForPluginOperationsPartiallyFailed", "Finalizing", "FinalizingPartiallyFailed"];
/// The phases of a Backup or Restore the server has not started yet (`Queued`, `ReadyToStart`: the
/// queue of concurrent backups in newer Velero; an unset phase is `New`).
const NOT_STARTED: [&str; 3] = ["New", "Queued", "ReadyToStart"];
/// How long one may stay there: the server takes a new one up within seconds unless the queue is held.
const NOT_STARTED_AFTER_SECS: i64 = 3600;

impl<'a> Review<'a> {
    /// Backups still running past their itemOperationTimeout, or not started an hour after creation.
    pub(super) fn backups(&mut self) {
        let facts = self.ctx.facts;
        let Some(list) = self.read(&facts.kube.backups, "Backup") else { return };
        for b in list.iter() {
            let phase = b.status.phase.as_deref().filter(|p| !p.is_empty()).unwrap_or("New");
            let timeout = self.item_timeout_of(b.spec.item_operation_timeout.as_deref());
            self.running_or_queued("backup", b.name(), phase, b.status.start_timestamp, created(b), timeout);
        }
    }

    /// A Backup or Restore (`kind`) in `phase`: judged when it is running (against `timeout`, from
    /// its start) or not started yet (from its creation); other phases are not judged here.
    pub(super) fn running_or_queued(&mut self, kind: &str, name: &str, phase: &str, started: Option<Timestamp>, created: Option<Timestamp>, timeout: f64) {
        if RUNNING.contains(&phase) {
            self.stuck(kind, name, phase, started.or(created), timeout);
        } else if NOT_STARTED.contains(&phase) {
            self.not_started(kind, name, phase, created);
        }
    }

    /// A Backup or Restore still `New` (or queued) an hour after it was created: the server has not
    /// taken it up (not running, watching another namespace, or busy with one that holds the queue).
    fn not_started(&mut self, kind: &str, name: &str, phase: &str, created: Option<Timestamp>) {
        let Some(age) = created.map(|t| self.age(t)) else { return };
        if age <= NOT_STARTED_AFTER_SECS {
            return;
        }
        let ns = &self.ns;
        let line = format!("{kind} {name} is still {phase} {} after it was created", human_age(age));
        // When the installed CRD refuses the phases the server writes, the server did take it up:
        // its update was refused. velero.crds says which value and how to fix it.
        if let Some(why) = crate::checks::velero::crds::phase_rejected(self.ctx, &format!("{kind}s.velero.io")) {
            let hint = format!("{why}: the server's updates are refused, so it stays {phase}; apply the CRDs of the server's version (`veldr explain velero.crds`), then restart the server");
            self.groups.add(Status::Warn, format!("{} not started: the installed CRDs refuse the server's updates", many(&capitalised(kind))), hint, line);
            return;
        }
        let hint = format!(
            "the Velero server has not taken it up: is it running (velero.deployment) and serving namespace {ns}? It runs one backup at a time by default (`--concurrent-backups`), so one InProgress for hours holds the others: `kubectl -n {ns} get backups,restores --sort-by=.metadata.creationTimestamp` and `kubectl -n {ns} logs deploy/velero | grep {name}`"
        );
        self.groups.add(Status::Warn, format!("{} not started", many(&capitalised(kind))), hint, line);
    }

    /// A Backup or Restore in a running phase longer than its timeout, measured from its start.
    fn stuck(&mut self, kind: &str, name: &str, phase: &str, started: Option<Timestamp>, timeout: f64) {
        let Some(age) = started.map(|t| self.age(t)) else { return };
        if (age as f64) <= timeout {
            return;
        }
        let ns = &self.ns;
        let line = format!("{kind} {name} has been {phase} for {} (itemOperationTimeout {})", human_age(age), human_interval(timeout));
        let hint = if phase == "InProgress" {
            format!(
                "Velero should have ended it long ago: read `kubectl -n {ns} logs deploy/velero | grep {name}`; restarting the server (`kubectl -n {ns} rollout restart deploy/velero`) marks InProgress {kind}s Failed and frees the queue behind them"
            )
        } else {
            format!(
                "its item operations (snapshots, data movement) never finished: `velero {kind} describe {name} -n {ns} --details` lists them; look at the DataUploads/DataDownloads and the node-agent pods behind them"
            )
        };
        self.groups.add(Status::Fail, format!("{} running past their itemOperationTimeout", many(&capitalised(kind))), hint, line);
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;

    #[test]
    fn backups_and_restores_not_started_an_hour_after_creation_warn() {
        // Facts::empty's collection time is 08:00.
        let mut f = Facts::empty("velero");
        let mut unset = backup("manual-1", "", "2026-11-29T05:00:00Z", None);
        unset["status"] = json!({});
        f.kube.backups = Ok(list(vec![
            unset,
            backup("queued-1", "Queued", "2026-11-29T06:30:00Z", None),
            backup("fresh", "New", "2026-11-29T07:45:00Z", None),
        ]));
        f.kube.restores = Ok(list(vec![restore("r-new", "New", "2026-11-29T06:00:00Z", None)]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = written(&v);
        assert!(t.contains("backup manual-1 is still New 3h after it was created"), "{t}");
        assert!(t.contains("backup queued-1 is still Queued 90m after it was created"), "{t}");
        assert!(!t.contains("fresh"), "a backup created 15 minutes ago is not late: {t}");
        assert!(t.contains("restore r-new is still New 2h after it was created"), "{t}");
        assert!(t.contains("--concurrent-backups") && t.contains("velero.deployment"), "{t}");
    }

    #[test]
    fn backups_stuck_new_behind_lagging_crds_are_not_blamed_on_the_server() {
        use crate::checks::velero::fixture::{crds_of, healthy_deployment};
        let mut f = Facts::empty("velero");
        let mut d = healthy_deployment();
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("velero/velero:v1.18.0");
        f.kube.deployments = Ok(list(vec![d]));
        f.kube.velero_crds = Ok(list(crds_of("v1.17.0")));
        let mut unset = backup("manual-1", "", "2026-11-29T05:00:00Z", None);
        unset["status"] = json!({});
        f.kube.backups = Ok(list(vec![unset]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = written(&v);
        assert!(t.contains("backup manual-1 is still New 3h after it was created"), "{t}");
        assert!(t.contains("the installed backups.velero.io rejects status.phase \"Queued\", \"ReadyToStart\" that Velero v1.18.0 writes") && t.contains("velero.crds"), "{t}");
        assert!(!t.contains("has not taken it up") && !t.contains("--concurrent-backups"), "{t}");
        // The CRDs of the server's release: the server is the one that did not take it up.
        f.kube.velero_crds = Ok(list(crds_of("v1.18.0")));
        assert!(written(&run(&CHECK, &f)).contains("has not taken it up"));
    }

    #[test]
    fn backups_and_restores_past_their_item_operation_timeout_fail() {
        let mut f = Facts::empty("velero");
        f.kube.backups = Ok(list(vec![
            backup("waiting", "WaitingForPluginOperations", "2026-11-29T02:00:00Z", Some("4h0m0s")),
            backup("young", "InProgress", "2026-11-29T05:00:00Z", Some("4h0m0s")),
            backup("patient", "Finalizing", "2026-11-29T02:00:00Z", Some("8h")),
            backup("done", "Completed", "2026-11-20T02:00:00Z", None),
        ]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert_eq!(v.summary, "backup waiting has been WaitingForPluginOperations for 6h (itemOperationTimeout 4h)");
        assert!(written(&v).contains("velero backup describe waiting -n velero --details"), "{}", written(&v));

        // Without a timeout in the spec: the server's flag, else 4 h.
        f.kube.backups = Ok(list(vec![backup("old", "InProgress", "2026-11-29T01:00:00Z", None), backup("zero", "InProgress", "2026-11-29T01:00:00Z", Some("0s"))]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("rollout restart deploy/velero"), "{}", written(&v));
        f.kube.deployments = Ok(list(vec![crate::checks::velero::fixture::velero_deployment(&["server", "--default-item-operation-timeout=12h"], json!([]))]));
        assert_eq!(run(&CHECK, &f).status, Status::Ok);

        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![restore("r", "InProgress", "2026-11-28T08:00:00Z", None), restore("r2", "Finalizing", "2026-11-28T09:00:00Z", None)]));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.summary, "2 Restores running past their itemOperationTimeout");
        assert_eq!(v.details[..2], ["restore r has been InProgress for 24h (itemOperationTimeout 4h)", "restore r2 has been Finalizing for 23h (itemOperationTimeout 4h)"]);
    }
}
