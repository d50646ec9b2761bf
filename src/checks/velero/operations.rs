//! velero.operations: no Restore, PodVolumeBackup/Restore, DataUpload/DataDownload,
//! DeleteBackupRequest, BackupRepository or Schedule is failed or stuck.
//!
//! Statuses (the runbook page says the same): `fail` for a Restore that Failed (or failed
//! validation) in the last 24 h, a Backup or Restore still running past its itemOperationTimeout,
//! a Schedule in FailedValidation and a BackupRepository NotReady; `warn` for a PartiallyFailed
//! Restore, a DeleteBackupRequest not processed for an hour or processed with errors, a data
//! movement (PodVolumeBackup/Restore, DataUpload/Download) that failed or was canceled in the last
//! 24 h or runs past its timeout (its Backup or Restore carries the failure: backup.failures, or the
//! Restore above), and a repository that has not become Ready within an hour.

use super::one_line;
use crate::checks::findings::{combine, Finding};
use crate::checks::{read_hint, CheckDef, Ctx};
use crate::facts::{BackupStatus, List, Object, PhaseStatus, Read, ReadErrorKind};
use crate::model::{MetricDef, Status, Verdict};
use crate::rules::duration::{human_age, human_interval, parse_go_duration};
use jiff::Timestamp;
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "velero.operations", category: Velero, severity: Major,
    title: "Velero operations finish",
    depends_on: ["kube.crds"],
    needs: [Deployments, Schedules, Backups, Restores, DeleteBackupRequests, BackupRepositories, PodVolumeBackups, PodVolumeRestores,
        DataUploads, DataDownloads, VeleroCrds, RestoreResults],
    consults: [Deployments],
    metrics: [RESTORES_FAILED, RESTORES_PARTIALLY_FAILED],
    explains: [
        ["asynchronous action timed out"] => "an item operation (snapshot, data upload) ran past the backup's itemOperationTimeout (default 4h)",
    ],
    judge: judge,
};

pub const RESTORES_FAILED: MetricDef = MetricDef {
    name: "veldr_restores_failed_24h",
    help: "Restores that ended Failed (or FailedValidation) in the last 24 hours.",
};

pub const RESTORES_PARTIALLY_FAILED: MetricDef = MetricDef {
    name: "veldr_restores_partially_failed_24h",
    help: "Restores that ended PartiallyFailed in the last 24 hours.",
};

/// Failures older than this are history: counted in a note, not judged.
const WINDOW_SECS: i64 = crate::rules::backups::WINDOW_SECS;
/// Errors and warnings quoted per failed restore whose results were read.
const RESTORE_ERRORS_QUOTED: usize = 3;
const RESTORE_WARNINGS_QUOTED: usize = 2;
/// A DeleteBackupRequest is picked up within seconds; an hour means the deletion is not happening.
const DELETE_GRACE_SECS: i64 = 3_600;
/// A new BackupRepository is initialised within minutes.
const REPO_GRACE_SECS: i64 = 3_600;
/// Velero's `--default-item-operation-timeout` and `--fs-backup-timeout` defaults (pkg/cmd/server/config).
const DEFAULT_ITEM_OPERATION_TIMEOUT: f64 = 4.0 * 3600.0;
const DEFAULT_FS_BACKUP_TIMEOUT: f64 = 4.0 * 3600.0;
/// Objects named per problem; the rest are counted.
const SHOWN: usize = 5;

/// The phases of a Backup or Restore that is still running (pkg/apis/velero/v1 backup_types.go,
/// restore_types.go); `New`, `Queued` and `ReadyToStart` have not started.
const RUNNING: [&str; 5] =
    ["InProgress", "WaitingForPluginOperations", "WaitingForPluginOperationsPartiallyFailed", "Finalizing", "FinalizingPartiallyFailed"];
/// The phases of a Backup or Restore the server has not started yet (`Queued`, `ReadyToStart`: the
/// queue of concurrent backups in newer Velero; an unset phase is `New`).
const NOT_STARTED: [&str; 3] = ["New", "Queued", "ReadyToStart"];
/// How long one may stay there: the server takes a new one up within seconds unless the queue is held.
const NOT_STARTED_AFTER_SECS: i64 = 3600;
/// The phases after which a PodVolumeBackup/Restore or DataUpload/Download is over (v1 and v2alpha1 types).
const MOVEMENT_OVER: [&str; 3] = ["Completed", "Failed", "Canceled"];

/// Objects that share one problem: one finding, its objects listed up to [`SHOWN`].
struct Group {
    status: Status,
    /// "Restores failed in the last 24 h": the summary when there is more than one.
    what: String,
    lines: Vec<String>,
    /// Details shown after the lines, however many there are (the messages of a restore's results).
    extra: Vec<String>,
    hint: String,
}

impl Group {
    fn new(status: Status, what: impl Into<String>, hint: impl Into<String>) -> Self {
        Group { status, what: what.into(), lines: Vec::new(), extra: Vec::new(), hint: hint.into() }
    }

    fn finding(self) -> Option<Finding> {
        let n = self.lines.len();
        let summary = match n {
            0 => return None,
            1 => self.lines[0].clone(),
            _ => format!("{n} {}", self.what),
        };
        let mut f = Finding::new(self.status, summary).hint(self.hint);
        if n > 1 {
            f = f.details(self.lines.iter().take(SHOWN).cloned());
            if n > SHOWN {
                f = f.detail(format!("… and {} more", n - SHOWN));
            }
        }
        Some(f.details(self.extra))
    }
}

/// What the judge gathers while it goes through the kinds.
struct Review<'a> {
    ctx: &'a Ctx<'a>,
    ns: String,
    groups: Vec<Group>,
    /// Reads that failed (RBAC, timeouts): `error` findings naming the permission or the cause.
    unread: Vec<Finding>,
    notes: Vec<String>,
    /// What was looked at, for the ok summary: "3 Restores".
    looked_at: Vec<String>,
    /// The server's `--default-item-operation-timeout` (Velero writes it into each new Backup's and
    /// Restore's spec, so it only matters for objects without one), else 4 h.
    item_timeout: f64,
    /// Kinds this cluster does not serve (`datauploads.velero.io`), and kinds a bundle does not hold.
    not_served: Vec<String>,
    not_recorded: Vec<String>,
}

/// "BackupRepositories", "Restores".
fn kinds(one: &str) -> String {
    match one.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{one}s"),
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {}", kinds(one))
    }
}

fn created(o: &impl Object) -> Option<Timestamp> {
    o.meta().creation_timestamp.as_ref().map(|t| t.0)
}

impl<'a> Review<'a> {
    /// The objects of one kind, or `None` with the reason recorded: a kind this cluster does not
    /// serve (an older Velero) or that a bundle does not hold is a note, any other failure an error.
    fn read<T: Object>(&mut self, read: &'a Read<List<T>>, label: &str) -> Option<&'a List<T>> {
        match read {
            Ok(list) => {
                if !list.is_empty() {
                    self.looked_at.push(plural(list.len(), label));
                }
                Some(list)
            }
            Err(e) if e.kind == ReadErrorKind::NotServed => {
                self.not_served.push(e.resource.clone());
                None
            }
            Err(e) if e.kind == ReadErrorKind::NotNeeded => {
                self.not_recorded.push(kinds(label));
                None
            }
            Err(e) => {
                self.unread.push(Finding::new(Status::Error, format!("{} not judged: {}", kinds(label), e.explain())).hint(read_hint(e)));
                None
            }
        }
    }

    fn age(&self, t: Timestamp) -> i64 {
        self.ctx.age_secs(t)
    }

    fn recent(&self, t: Option<Timestamp>) -> bool {
        t.is_some_and(|t| self.age(t) <= WINDOW_SECS)
    }

    /// A spec's itemOperationTimeout; unset or zero means the server's default (as Velero reads it).
    fn item_timeout_of(&self, spec: Option<&str>) -> f64 {
        spec.and_then(parse_go_duration).filter(|t| *t > 0.0).unwrap_or(self.item_timeout)
    }

    /// Restores that failed or partially failed in the last 24 h, and running ones past their
    /// timeout. Returns the (failed, partially failed) counts for the metrics.
    fn restores(&mut self) -> Option<(usize, usize)> {
        let facts = self.ctx.facts;
        let list = self.read(&facts.kube.restores, "Restore")?;
        let ns = self.ns.clone();
        let mut failed: Vec<(String, String)> = Vec::new();
        let mut partial: Vec<(String, String)> = Vec::new();
        let mut older = 0;
        for r in list.iter() {
            let s = &r.status;
            let phase = s.phase.as_deref().filter(|p| !p.is_empty()).unwrap_or("New");
            let ended = crate::rules::restores::ended_at(r);
            let from = match (&r.spec.backup_name, &r.spec.schedule_name) {
                (Some(b), _) if !b.is_empty() => format!(" (from backup {b})"),
                (_, Some(sc)) if !sc.is_empty() => format!(" (from schedule {sc})"),
                _ => String::new(),
            };
            let when = ended.map(|t| format!(" {} ago", human_age(self.age(t)))).unwrap_or_default();
            match phase {
                "Failed" | "FailedValidation" | "PartiallyFailed" if !self.recent(ended) => older += 1,
                "Failed" | "FailedValidation" => {
                    let why = reason(s).unwrap_or_else(|| "no failureReason recorded".into());
                    // A restore that failed validation never ran: it has no error counts.
                    let counts = if phase == "Failed" { format!(" ({})", counts(s)) } else { String::new() };
                    failed.push((r.name().to_string(), format!("restore {}{from} {phase}{when}: {why}{counts}", r.name())));
                }
                "PartiallyFailed" => partial.push((r.name().to_string(), format!("restore {}{from} PartiallyFailed{when} ({})", r.name(), counts(s)))),
                p if RUNNING.contains(&p) => {
                    let timeout = self.item_timeout_of(r.spec.item_operation_timeout.as_deref());
                    self.stuck("restore", r.name(), p, s.start_timestamp.or_else(|| created(r)), timeout);
                }
                p if NOT_STARTED.contains(&p) => self.not_started("restore", r.name(), p, created(r)),
                _ => {}
            }
        }
        if older > 0 {
            self.notes.push(format!("{} older than 24 h did not complete (not judged: kept until their backups expire)", plural(older, "Restore")));
        }
        if let Some(r) = facts.openstack.as_ref().and_then(|o| o.backup_results.as_ref()).filter(|r| r.restores_qualified > r.restore_reads()) {
            self.notes.push(format!(
                "{} failed restores: the results of the newest {} were read (veldr reads at most {} per run)",
                r.restores_qualified,
                r.restore_reads(),
                r.restore_limit
            ));
        }
        let (nf, np) = (failed.len(), partial.len());
        let first = |v: &[(String, String)]| v.first().map_or("<name>", |(n, _)| n.as_str()).to_string();
        let describe = |name: String| {
            format!(
                "read why: `velero restore describe {name} -n {ns} --details` and `velero restore logs {name} -n {ns}` (when that fails with \"401 Temp URL invalid\", `veldr logs restore/{name} --results` reads the same from Swift)"
            )
        };
        let mut g = Group::new(Status::Fail, "Restores failed in the last 24 h", describe(first(&failed)));
        g.extra = failed.iter().flat_map(|(n, _)| self.restore_results(n)).collect();
        g.lines = failed.into_iter().map(|(_, l)| l).collect();
        self.groups.push(g);
        let mut g = Group::new(Status::Warn, "Restores partially failed in the last 24 h", describe(first(&partial)));
        g.extra = partial.iter().flat_map(|(n, _)| self.restore_results(n)).collect();
        g.lines = partial.into_iter().map(|(_, l)| l).collect();
        self.groups.push(g);
        Some((nf, np))
    }

    /// What a failed restore's results object says (collect reads it for this check's `RestoreResults`
    /// need, beside backup.failures' reads): the first errors and warnings, each tied to the check that
    /// explains it when veldr knows the message. Nothing when it was not read.
    fn restore_results(&self, name: &str) -> Vec<String> {
        use crate::checks::telltales::{explain, shown};
        let Some(read) = self.ctx.facts.openstack.as_ref().and_then(|o| o.backup_results.as_ref()).and_then(|r| r.for_restore(name)) else {
            return Vec::new();
        };
        let at = format!("{}/{}", read.container.as_deref().unwrap_or("?"), read.key);
        let results = match &read.outcome {
            Ok(r) => r,
            Err(p) if p.kind == crate::facts::ProblemKind::NotFound => return vec![format!("{name}: no results object at {at}")],
            Err(p) => return vec![format!("{name}: results not read: {}", p.message)],
        };
        let mut out = Vec::new();
        for (label, m, quoted) in [("error", &results.errors, RESTORE_ERRORS_QUOTED), ("warning", &results.warnings, RESTORE_WARNINGS_QUOTED)] {
            if m.total == 0 {
                continue;
            }
            // Where they were read, said once.
            let from = if out.is_empty() { format!(" (results in {at})") } else { String::new() };
            out.push(format!("{name}: {}{from}:", plural(m.total, label)));
            let scoped = m.scoped();
            for (scope, message) in scoped.iter().take(quoted) {
                out.push(format!("  {label} [{scope}] “{}”", shown(message)));
                if let Some(e) = explain(message) {
                    out.push(format!("    → {}: {}", e.check, e.why));
                }
            }
            if m.total > quoted.min(scoped.len()) {
                out.push(format!("  … {} more: `veldr logs restore/{name} --results`", m.total - quoted.min(scoped.len())));
            }
        }
        out
    }

    /// Backups still running past their itemOperationTimeout, or not started an hour after creation.
    fn backups(&mut self) {
        let facts = self.ctx.facts;
        let Some(list) = self.read(&facts.kube.backups, "Backup") else { return };
        for b in list.iter() {
            let phase = b.status.phase.as_deref().filter(|p| !p.is_empty()).unwrap_or("New");
            if RUNNING.contains(&phase) {
                let timeout = self.item_timeout_of(b.spec.item_operation_timeout.as_deref());
                self.stuck("backup", b.name(), phase, b.status.start_timestamp.or_else(|| created(b)), timeout);
            } else if NOT_STARTED.contains(&phase) {
                self.not_started("backup", b.name(), phase, created(b));
            }
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
        if let Some(why) = super::crds::phase_rejected(self.ctx, &format!("{kind}s.velero.io")) {
            let hint = format!("{why}: the server's updates are refused, so it stays {phase}; apply the CRDs of the server's version (`veldr explain velero.crds`), then restart the server");
            self.add_to_group(Status::Warn, format!("{}s not started: the installed CRDs refuse the server's updates", capitalised(kind)), hint, line);
            return;
        }
        let hint = format!(
            "the Velero server has not taken it up: is it running (velero.deployment) and serving namespace {ns}? It runs one backup at a time by default (`--concurrent-backups`), so one InProgress for hours holds the others: `kubectl -n {ns} get backups,restores --sort-by=.metadata.creationTimestamp` and `kubectl -n {ns} logs deploy/velero | grep {name}`"
        );
        self.add_to_group(Status::Warn, format!("{}s not started", capitalised(kind)), hint, line);
    }

    /// Adds `line` to the group `what`, opening it (with the hint of its first line) when it is new.
    fn add_to_group(&mut self, status: Status, what: String, hint: String, line: String) {
        match self.groups.iter_mut().find(|g| g.what == what) {
            Some(g) => g.lines.push(line),
            None => {
                let mut g = Group::new(status, what, hint);
                g.lines.push(line);
                self.groups.push(g);
            }
        }
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
        self.add_to_group(Status::Fail, format!("{}s running past their itemOperationTimeout", capitalised(kind)), hint, line);
    }

    fn schedules(&mut self) {
        let facts = self.ctx.facts;
        let Some(list) = self.read(&facts.kube.schedules, "Schedule") else { return };
        let ns = &self.ns;
        let mut g = Group::new(
            Status::Fail,
            "Schedules failed validation: they never run",
            format!("fix what the validation errors name (`kubectl -n {ns} edit schedule <name>`): a valid cron expression, an existing storageLocation and volumeSnapshotLocations"),
        );
        for s in list.iter().filter(|s| s.status.phase.as_deref() == Some("FailedValidation")) {
            let errs = &s.status.validation_errors;
            let why = if errs.is_empty() { "no validationErrors recorded".to_string() } else { errs.iter().map(|e| one_line(e)).collect::<Vec<_>>().join("; ") };
            g.lines.push(format!("schedule {} failed validation: {why}", s.name()));
        }
        self.groups.push(g);
    }

    fn delete_requests(&mut self) {
        let facts = self.ctx.facts;
        let Some(list) = self.read(&facts.kube.delete_backup_requests, "DeleteBackupRequest") else { return };
        let ns = self.ns.clone();
        let mut pending = Group::new(
            Status::Warn,
            "DeleteBackupRequests not processed for over an hour: expired backups stay in the bucket (and on vSphere their snapshots pile up)",
            format!(
                "Velero's backup-deletion controller is not getting through: `kubectl -n {ns} logs deploy/velero | grep -i 'delet'`; check that the server runs (`veldr doctor --only velero.deployment,bsl.phase`)"
            ),
        );
        let mut failed = Group::new(
            Status::Warn,
            "backup deletions failed",
            format!("the errors name what could not be deleted (objects in Swift, volume snapshots); after fixing it, `velero backup delete <backup> -n {ns}` asks again"),
        );
        for d in list.iter() {
            let phase = d.status.phase.as_deref().unwrap_or("New");
            let backup = &d.spec.backup_name;
            let age = created(d).map(|t| self.age(t));
            if phase == "Processed" {
                if !d.status.errors.is_empty() {
                    let errs: Vec<String> = d.status.errors.iter().take(3).map(|e| one_line(e)).collect();
                    failed.lines.push(format!("deletion of backup {backup} failed: {}", errs.join("; ")));
                }
            } else if let Some(age) = age.filter(|a| *a > DELETE_GRACE_SECS) {
                pending.lines.push(format!("deletion of backup {backup} ({}) is {phase} since {} ago", d.name(), human_age(age)));
            }
        }
        self.groups.push(pending);
        self.groups.push(failed);
    }

    fn repositories(&mut self) {
        let facts = self.ctx.facts;
        let Some(list) = self.read(&facts.kube.backup_repositories, "BackupRepository") else { return };
        let ns = &self.ns;
        let mut not_ready = Group::new(
            Status::Fail,
            "BackupRepositories are NotReady: file-system backups and data movement of their namespaces fail",
            format!(
                "the message says why (credentials, the BSL, Kopia's repository password); once fixed Velero retries, or delete the repository so that it is created again: `kubectl -n {ns} delete backuprepository <name>` (see also `veldr explain velero.fs-backup`)"
            ),
        );
        let mut new = Group::new(
            Status::Warn,
            "BackupRepositories have not become Ready within an hour",
            format!("`kubectl -n {ns} describe backuprepository <name>` and the server's log (`kubectl -n {ns} logs deploy/velero | grep -i repo`)"),
        );
        for r in list.iter() {
            let phase = r.status.phase.as_deref().unwrap_or("");
            let msg = r.status.message.as_deref().map(|m| format!(": {}", one_line(m))).unwrap_or_default();
            let what = format!("repository {} (namespace {}, BSL {})", r.name(), r.spec.volume_namespace.as_deref().unwrap_or("?"), r.spec.backup_storage_location.as_deref().unwrap_or("?"));
            match phase {
                "Ready" => {}
                "NotReady" => not_ready.lines.push(format!("{what} is NotReady{msg}")),
                _ => {
                    if let Some(age) = created(r).map(|t| self.age(t)).filter(|a| *a > REPO_GRACE_SECS) {
                        new.lines.push(format!("{what} is {} after {}{msg}", if phase.is_empty() { "New" } else { phase }, human_age(age)));
                    }
                }
            }
        }
        self.groups.push(not_ready);
        self.groups.push(new);
    }

    /// PodVolumeBackups/Restores and DataUploads/Downloads that failed or were canceled in the last
    /// 24 h, or run past their timeout.
    fn movements<T: Object>(&mut self, read: &'a Read<List<T>>, label: &str, parts: impl Fn(&'a T) -> Movement<'a>) {
        let Some(list) = self.read(read, label) else { return };
        let ns = self.ns.clone();
        // Hints name no kind, so that several kinds' problems share one.
        let mut failed = Group::new(
            Status::Warn,
            format!("{} failed or were canceled in the last 24 h", kinds(label)),
            format!(
                "each message says why; `kubectl -n {ns} get <kind> <name> -o yaml` and the node-agent's log on that node (`kubectl -n {ns} logs ds/node-agent`); Canceled ones usually follow a restart of Velero or node-agent"
            ),
        );
        let mut stuck = Group::new(
            Status::Warn,
            format!("{} run past their timeout", kinds(label)),
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
                let timeout = m.timeout;
                let started = s.start_timestamp.or_else(|| created(o));
                if let Some(age) = started.map(|t| self.age(t)).filter(|a| *a as f64 > timeout) {
                    stuck.lines.push(line_of(format!("has been {phase} for {} (timeout {})", human_age(age), human_interval(timeout))));
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

fn owner(o: &impl Object) -> String {
    match (o.label("velero.io/backup-name"), o.label("velero.io/restore-name")) {
        (Some(b), _) => format!("backup {b}"),
        (_, Some(r)) => format!("restore {r}"),
        _ => "no owner label".to_string(),
    }
}

fn pod_volume(o: &impl Object, spec: &crate::facts::PodVolumeSpec) -> String {
    let pod = spec.pod.as_ref().map(|p| format!("{}/{}", p.namespace.as_deref().unwrap_or("?"), p.name.as_deref().unwrap_or("?"))).unwrap_or_else(|| "?".into());
    format!(" ({}, pod {pod} volume {})", owner(o), spec.volume.as_deref().unwrap_or("?"))
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn reason(s: &BackupStatus) -> Option<String> {
    s.failure_reason.as_deref().filter(|r| !r.is_empty()).map(one_line).or_else(|| {
        (!s.validation_errors.is_empty()).then(|| s.validation_errors.iter().map(|e| one_line(e)).collect::<Vec<_>>().join("; "))
    })
}

fn counts(s: &BackupStatus) -> String {
    let (e, w) = (s.errors.unwrap_or(0), s.warnings.unwrap_or(0));
    format!("{e} error{}, {w} warning{}", if e == 1 { "" } else { "s" }, if w == 1 { "" } else { "s" })
}

fn judge(ctx: &Ctx) -> Verdict {
    let mut r = Review {
        ctx,
        ns: ctx.namespace().to_string(),
        groups: Vec::new(),
        unread: Vec::new(),
        notes: Vec::new(),
        looked_at: Vec::new(),
        item_timeout: ctx.server_flags().get("default-item-operation-timeout").and_then(|v| parse_go_duration(v)).unwrap_or(DEFAULT_ITEM_OPERATION_TIMEOUT),
        not_served: Vec::new(),
        not_recorded: Vec::new(),
    };
    let restore_counts = r.restores();
    r.backups();
    r.schedules();
    r.delete_requests();
    r.repositories();
    let fs_timeout = ctx.server_flags().get("fs-backup-timeout").and_then(|v| parse_go_duration(v)).unwrap_or(DEFAULT_FS_BACKUP_TIMEOUT);
    let item_timeout = r.item_timeout;
    let k = &ctx.facts.kube;
    r.movements(&k.pod_volume_backups, "PodVolumeBackup", |p| Movement { status: &p.status, context: pod_volume(p, &p.spec), timeout: fs_timeout });
    r.movements(&k.pod_volume_restores, "PodVolumeRestore", |p| Movement { status: &p.status, context: pod_volume(p, &p.spec), timeout: fs_timeout });
    r.movements(&k.data_uploads, "DataUpload", |d| Movement {
        status: &d.status,
        context: format!(" ({}, PVC {}/{})", owner(d), d.spec.source_namespace.as_deref().unwrap_or("?"), d.spec.source_pvc.as_deref().unwrap_or("?")),
        timeout: item_timeout,
    });
    r.movements(&k.data_downloads, "DataDownload", |d| Movement {
        status: &d.status,
        context: format!(" ({}, PVC {}/{})", owner(d), d.spec.target_volume.namespace.as_deref().unwrap_or("?"), d.spec.target_volume.pvc.as_deref().unwrap_or("?")),
        timeout: item_timeout,
    });

    let Review { groups, unread, mut notes, looked_at, not_served, not_recorded, .. } = r;
    if !not_served.is_empty() {
        notes.push(format!("not judged: {} not served by this cluster (a Velero without these kinds)", not_served.join(", ")));
    }
    if !not_recorded.is_empty() {
        notes.push(format!("not judged: {} (not read: a bundle recorded before veldr read them)", not_recorded.join(", ")));
    }
    let problems: Vec<serde_json::Value> = groups
        .iter()
        .filter(|g| !g.lines.is_empty())
        .map(|g| json!({"status": g.status, "problem": g.what, "count": g.lines.len()}))
        .collect();
    let mut findings: Vec<Finding> = groups.into_iter().filter_map(Group::finding).collect();
    findings.extend(unread);
    let ok_summary = if looked_at.is_empty() {
        "nothing failed or stuck (no Velero operations recorded yet)".to_string()
    } else {
        format!("nothing failed or stuck among {}", looked_at.join(", "))
    };
    let verdict = combine(ok_summary, findings, notes)
        .evidence("problems", problems)
        .evidence("itemOperationTimeoutSeconds", item_timeout)
        .evidence("restoresFailed24h", restore_counts.map(|c| c.0))
        .evidence("restoresPartiallyFailed24h", restore_counts.map(|c| c.1));
    match restore_counts {
        Some((failed, partial)) => verdict.metric(&RESTORES_FAILED, failed as f64).metric(&RESTORES_PARTIALLY_FAILED, partial as f64),
        None => verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::velero::fixture::{list, text};
    use crate::facts::{Facts, ReadError};
    use serde_json::Value;

    // Facts::empty's collection time is 2026-11-29T08:00:00Z.

    fn restore(name: &str, phase: &str, started: &str, completed: Option<&str>) -> Value {
        let mut r = json!({"apiVersion": "velero.io/v1", "kind": "Restore",
            "metadata": {"name": name, "namespace": "velero", "creationTimestamp": started},
            "spec": {"backupName": "daily-20261129020000", "itemOperationTimeout": "4h0m0s"},
            "status": {"phase": phase, "startTimestamp": started}});
        if let Some(c) = completed {
            r["status"]["completionTimestamp"] = json!(c);
        }
        r
    }

    fn backup(name: &str, phase: &str, started: &str, timeout: Option<&str>) -> Value {
        let mut b = json!({"metadata": {"name": name, "namespace": "velero", "creationTimestamp": started},
            "spec": {}, "status": {"phase": phase, "startTimestamp": started}});
        if let Some(t) = timeout {
            b["spec"]["itemOperationTimeout"] = json!(t);
        }
        b
    }

    /// The check as a run judges it (the engine's malformed policy and bounds included).
    fn run(f: &Facts) -> Verdict {
        crate::checks::testing::run(&super::CHECK, f)
    }

    fn metric(v: &Verdict, def: &MetricDef) -> Option<f64> {
        v.metrics.iter().find(|m| m.name == def.name).map(|m| m.value)
    }

    #[test]
    fn an_empty_cluster_is_ok_and_exports_zero_restores() {
        let v = run(&Facts::empty("velero"));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.summary, "nothing failed or stuck (no Velero operations recorded yet)");
        assert_eq!((metric(&v, &RESTORES_FAILED), metric(&v, &RESTORES_PARTIALLY_FAILED)), (Some(0.0), Some(0.0)));
    }

    #[test]
    fn completed_operations_are_ok() {
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![restore("r1", "Completed", "2026-11-29T06:00:00Z", Some("2026-11-29T06:10:00Z"))]));
        f.kube.backups = Ok(list(vec![backup("b1", "Completed", "2026-11-29T02:00:00Z", None)]));
        f.kube.data_uploads = Ok(list(vec![json!({"metadata": {"name": "b1-x", "namespace": "velero"}, "status": {"phase": "Completed"}})]));
        f.kube.delete_backup_requests = Ok(list(vec![json!({"metadata": {"name": "d1", "namespace": "velero", "creationTimestamp": "2026-11-29T01:00:00Z"},
            "spec": {"backupName": "old"}, "status": {"phase": "Processed"}})]));
        f.kube.backup_repositories = Ok(list(vec![json!({"metadata": {"name": "shop-default-kopia", "namespace": "velero"}, "status": {"phase": "Ready"}})]));
        let v = run(&f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("1 Restore,") && v.summary.contains("1 BackupRepository,") && v.summary.contains("1 DataUpload"), "{}", v.summary);
    }

    #[test]
    fn a_failed_restore_fails_a_partially_failed_one_warns_old_ones_are_history() {
        let mut failed = restore("shop-restore", "Failed", "2026-11-29T05:00:00Z", Some("2026-11-29T05:02:00Z"));
        failed["status"]["failureReason"] = json!("error getting backup storage location: backupstoragelocation.velero.io \"default\" not found");
        failed["status"]["errors"] = json!(1);
        let partial = restore("shop-restore-2", "PartiallyFailed", "2026-11-29T06:00:00Z", Some("2026-11-29T06:05:00Z"));
        let old = restore("last-month", "Failed", "2026-10-29T06:00:00Z", Some("2026-10-29T06:05:00Z"));
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![failed, partial.clone(), old]));
        let v = run(&f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(v.summary.starts_with("restore shop-restore (from backup daily-20261129020000) Failed 2h ago: error getting backup storage location"), "{}", v.summary);
        assert!(t.contains("1 error, 0 warnings") && t.contains("restore shop-restore-2 (from backup daily-20261129020000) PartiallyFailed 115m ago"), "{t}");
        assert!(t.contains("velero restore describe shop-restore -n velero --details") && t.contains("veldr logs restore/shop-restore"), "{t}");
        assert!(t.contains("1 Restore older than 24 h did not complete"), "{t}");
        assert_eq!((metric(&v, &RESTORES_FAILED), metric(&v, &RESTORES_PARTIALLY_FAILED)), (Some(1.0), Some(1.0)));
        assert_eq!(v.evidence["restoresFailed24h"], 1);

        f.kube.restores = Ok(list(vec![partial]));
        let v = run(&f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert_eq!(metric(&v, &RESTORES_FAILED), Some(0.0));
    }

    #[test]
    fn a_failed_restores_results_are_quoted_and_tied_to_their_check() {
        use crate::facts::{BackupResultsFacts, Messages, OpenStackFacts, Problem, ProblemKind, ResultsRead, VeleroResults};
        let partial = restore("shop-restore-2", "PartiallyFailed", "2026-11-29T06:00:00Z", Some("2026-11-29T06:05:00Z"));
        let failed = restore("shop-restore", "Failed", "2026-11-29T05:00:00Z", Some("2026-11-29T05:02:00Z"));
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![partial, failed]));
        let mut errors = Messages { total: 4, ..Default::default() };
        errors.namespaces.insert("shop".into(), vec!["error restoring persistentvolumeclaims/shop/data: Temp URL invalid".into(), "b".into(), "c".into()]);
        let read = |restore: &str, outcome| ResultsRead {
            backup: "daily-20261129020000".into(),
            restore: Some(restore.into()),
            bsl: "default".into(),
            container: Some("velero-backups".into()),
            key: format!("restores/{restore}/restore-{restore}-results.gz"),
            outcome,
            elapsed_ms: 2,
        };
        let results = BackupResultsFacts {
            reads: vec![
                read("shop-restore-2", Ok(VeleroResults { errors, ..Default::default() })),
                read("shop-restore", Err(Problem::new(ProblemKind::NotFound, "404"))),
            ],
            restores_qualified: 2,
            restore_limit: 5,
            ..Default::default()
        };
        f.openstack = Some(OpenStackFacts { backup_results: Some(results), ..Default::default() });
        let t = text(&run(&f));
        assert!(t.contains("shop-restore-2: 4 errors (results in velero-backups/restores/shop-restore-2/restore-shop-restore-2-results.gz):"), "{t}");
        assert!(t.contains("  error [namespace shop] “error restoring persistentvolumeclaims/shop/data: Temp URL invalid”"), "{t}");
        assert!(t.contains("    → swift.tempurl: "), "a known message is tied to its check: {t}");
        assert!(t.contains("  … 1 more: `veldr logs restore/shop-restore-2 --results`"), "{t}");
        assert!(t.contains("shop-restore: no results object at velero-backups/restores/shop-restore/restore-shop-restore-results.gz"), "{t}");
        // A backup's results are not a restore's.
        assert!(f.openstack.as_ref().unwrap().backup_results.as_ref().unwrap().for_backup("daily-20261129020000").is_none());
    }

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
        let v = run(&f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = text(&v);
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
        let v = run(&f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = text(&v);
        assert!(t.contains("backup manual-1 is still New 3h after it was created"), "{t}");
        assert!(t.contains("the installed backups.velero.io rejects status.phase \"Queued\", \"ReadyToStart\" that Velero v1.18.0 writes") && t.contains("velero.crds"), "{t}");
        assert!(!t.contains("has not taken it up") && !t.contains("--concurrent-backups"), "{t}");
        // The CRDs of the server's release: the server is the one that did not take it up.
        f.kube.velero_crds = Ok(list(crds_of("v1.18.0")));
        assert!(text(&run(&f)).contains("has not taken it up"));
    }

    #[test]
    fn a_restore_that_failed_validation_shows_its_errors() {
        let mut r = restore("bad", "FailedValidation", "2026-11-29T07:00:00Z", None);
        r["status"] = json!({"phase": "FailedValidation", "validationErrors": ["backup \"nope\" not found"]});
        r["metadata"]["creationTimestamp"] = json!("2026-11-29T07:00:00Z");
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![r]));
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("FailedValidation 60m ago: backup \"nope\" not found"), "{}", v.summary);
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
        let v = run(&f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert_eq!(v.summary, "backup waiting has been WaitingForPluginOperations for 6h (itemOperationTimeout 4h)");
        assert!(text(&v).contains("velero backup describe waiting -n velero --details"), "{}", text(&v));

        // Without a timeout in the spec: the server's flag, else 4 h.
        f.kube.backups = Ok(list(vec![backup("old", "InProgress", "2026-11-29T01:00:00Z", None), backup("zero", "InProgress", "2026-11-29T01:00:00Z", Some("0s"))]));
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("rollout restart deploy/velero"), "{}", text(&v));
        f.kube.deployments = Ok(list(vec![crate::checks::velero::fixture::velero_deployment(&["server", "--default-item-operation-timeout=12h"], json!([]))]));
        assert_eq!(run(&f).status, Status::Ok);

        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![restore("r", "InProgress", "2026-11-28T08:00:00Z", None), restore("r2", "Finalizing", "2026-11-28T09:00:00Z", None)]));
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.summary, "2 Restores running past their itemOperationTimeout");
        assert_eq!(v.details[..2], ["restore r has been InProgress for 24h (itemOperationTimeout 4h)", "restore r2 has been Finalizing for 23h (itemOperationTimeout 4h)"]);
    }

    #[test]
    fn a_schedule_that_failed_validation_fails() {
        let mut f = Facts::empty("velero");
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "weekly", "namespace": "velero"}, "spec": {"schedule": "0 0 * *"},
            "status": {"phase": "FailedValidation", "validationErrors": ["invalid schedule: expected exactly 5 fields, found 4: 0 0 * *"]}})]));
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.summary, "schedule weekly failed validation: invalid schedule: expected exactly 5 fields, found 4: 0 0 * *");
    }

    #[test]
    fn delete_requests_pending_for_an_hour_or_failed_warn() {
        let dbr = |name: &str, backup: &str, created: &str, status: Value| {
            json!({"metadata": {"name": name, "namespace": "velero", "creationTimestamp": created, "labels": {"velero.io/backup-name": backup}},
                "spec": {"backupName": backup}, "status": status})
        };
        let mut f = Facts::empty("velero");
        f.kube.delete_backup_requests = Ok(list(vec![
            dbr("d-old", "daily-20261001020000", "2026-11-29T05:00:00Z", json!({})),
            dbr("d-new", "daily-20261002020000", "2026-11-29T07:30:00Z", json!({"phase": "New"})),
            dbr("d-err", "daily-20261003020000", "2026-11-29T06:00:00Z", json!({"phase": "Processed", "errors": ["error deleting snapshot: the object is locked"]})),
        ]));
        let v = run(&f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = text(&v);
        assert!(t.contains("[warn] deletion of backup daily-20261001020000 (d-old) is New since 3h ago"), "{t}");
        assert!(t.contains("deletion of backup daily-20261003020000 failed: error deleting snapshot"), "{t}");
        assert!(!t.contains("daily-20261002020000"), "a request 30 min old is not late: {t}");
    }

    #[test]
    fn repositories_not_ready_fail_new_ones_warn_after_an_hour() {
        let repo = |name: &str, phase: &str, created: &str| {
            json!({"metadata": {"name": name, "namespace": "velero", "creationTimestamp": created},
                "spec": {"volumeNamespace": "shop", "backupStorageLocation": "default", "repositoryType": "kopia"},
                "status": {"phase": phase, "message": "error to connect backup repo: invalid storage provider"}})
        };
        let mut f = Facts::empty("velero");
        f.kube.backup_repositories = Ok(list(vec![repo("shop-default-kopia", "NotReady", "2026-11-01T00:00:00Z")]));
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.summary, "repository shop-default-kopia (namespace shop, BSL default) is NotReady: error to connect backup repo: invalid storage provider");
        f.kube.backup_repositories = Ok(list(vec![repo("a", "New", "2026-11-29T05:00:00Z"), repo("b", "", "2026-11-29T07:50:00Z")]));
        let v = run(&f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.starts_with("repository a (namespace shop, BSL default) is New after 3h"), "{}", v.summary);
    }

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
        let v = run(&f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.starts_with("8 DataUploads failed or were canceled in the last 24 h"), "{}", v.summary);
        let t = text(&v);
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
        let v = run(&f);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.starts_with("PodVolumeRestore r-abc (restore r, pod shop/db-0 volume data) Canceled 60m ago: found a podvolumerestore"), "{}", v.summary);
    }

    #[test]
    fn kinds_an_older_velero_lacks_are_notes_and_denials_are_errors_naming_the_permission() {
        let mut f = Facts::empty("velero");
        let not_served = |r: &str| ReadError::new(ReadErrorKind::NotServed, "list", r, Some("velero"), "HTTP 404");
        f.kube.data_uploads = Err(not_served("datauploads.velero.io"));
        f.kube.data_downloads = Err(not_served("datadownloads.velero.io"));
        let v = run(&f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("not judged: datauploads.velero.io, datadownloads.velero.io not served by this cluster"), "{}", text(&v));

        f.kube.restores = Err(ReadError::forbidden("list", "restores.velero.io", Some("velero")));
        let v = run(&f);
        assert_eq!(v.status, Status::Error, "{v:?}");
        assert!(v.summary.contains("forbidden: veldr may not list restores.velero.io in namespace velero"), "{}", v.summary);
        assert!(v.hint.as_deref().unwrap_or_default().contains("grant veldr's identity list on restores.velero.io"), "{v:?}");
        assert_eq!(metric(&v, &RESTORES_FAILED), None, "no figure when restores could not be read");

        // A failure found elsewhere still wins over the read that failed.
        f.kube.schedules = Ok(list(vec![json!({"metadata": {"name": "w", "namespace": "velero"}, "status": {"phase": "FailedValidation"}})]));
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("forbidden"), "{}", text(&v));
    }

    #[test]
    fn a_bundle_without_the_new_kinds_loads_and_says_they_were_not_read() {
        let mut value = serde_json::to_value(Facts::empty("velero")).unwrap();
        for k in ["restores", "deleteBackupRequests", "podVolumeRestores", "dataUploads", "dataDownloads"] {
            assert!(value["kube"].as_object_mut().unwrap().remove(k).is_some(), "{k}");
        }
        let f: Facts = serde_json::from_value(value).unwrap();
        assert_eq!(f.kube.restores.as_ref().unwrap_err().kind, ReadErrorKind::NotNeeded);
        assert_eq!(f.kube.data_downloads.as_ref().unwrap_err().resource, "datadownloads.velero.io");
        let v = run(&f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("not judged: Restores, DeleteBackupRequests, PodVolumeRestores, DataUploads, DataDownloads (not read"), "{}", text(&v));
        assert_eq!(metric(&v, &RESTORES_FAILED), None);
    }

    #[test]
    fn malformed_objects_are_named() {
        let mut f = Facts::empty("velero");
        f.kube.restores = Ok(list(vec![json!({"metadata": {"name": "odd", "namespace": "velero"}, "status": {"errors": "many"}})]));
        let v = run(&f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("malformed object Restore velero/odd"), "{}", text(&v));
    }
}
