//! A small, explicit Velero stand-in, for veldr verify's tests only.
//!
//! It plays the Velero server's controllers against the fixture API server (in-process, through
//! [`fixture_apiserver::Handle`]: the changes reach veldr's watch like a real server's) and writes the
//! backup's objects to the lab's real Swift in Velero's formats (`lab/labctl.py velero-backup`, with the
//! lab's application credential from lab.json). What it does is set per test by a [`Script`]: nothing
//! here decides an outcome on its own. The steps are Velero's (vmware-tanzu/velero v1.18.1):
//!
//! - backup_queue_controller.go: a Backup without phase (or `New`) becomes `Queued` (queuePosition 1),
//!   then `ReadyToStart`;
//! - backup_controller.go `prepareBackupRequest`: the defaults (ttl 720h, csiSnapshotTimeout 10m,
//!   itemOperationTimeout 4h, the default BSL), `status.expiration`, label `velero.io/storage-location`,
//!   then `FailedValidation` with `status.validationErrors` (the BSL is not Available) or `InProgress`
//!   with `startTimestamp`; `status.progress.{totalItems,itemsBackedUp}` while it runs;
//! - `runBackup`/`persistBackup`: the objects are uploaded at the end of InProgress (PutBackup), with
//!   `status.errors`/`warnings` counted and `csiVolumeSnapshotsAttempted` set, and the phase moves to
//!   `WaitingForPluginOperations[PartiallyFailed]` (CSI snapshots are async operations) then
//!   `Finalizing[PartiallyFailed]`;
//! - backup_finalizer_controller.go: `Completed`/`PartiallyFailed`, `completionTimestamp`,
//!   `csiVolumeSnapshotsCompleted`;
//! - backup_deletion_controller.go: a DeleteBackupRequest is `Processed` with an error when the backup
//!   is still being worked on ("backup is still in progress"), is gone ("backup not found"), or its BSL is
//!   not Available; else `InProgress` (labels backup-name/-uid), the Backup `Deleting`, its objects
//!   deleted from the BSL (objectBackupStore.DeleteBackup), the Backup deleted, the request `Processed`,
//!   then every DeleteBackupRequest of that backup deleted.

use fixture_apiserver::{ChangeKind, Handle, Server, StoreEvent};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GROUP: &str = "velero.io";

/// One message Velero logs during the backup (an error or a warning), as `results` keeps it.
#[derive(Debug, Clone)]
pub struct Message {
    pub namespace: Option<String>,
    pub resource: Option<String>,
    pub name: Option<String>,
    pub message: String,
    pub error: Option<String>,
}

impl Message {
    pub fn velero(message: &str) -> Message {
        Message { namespace: None, resource: None, name: None, message: message.into(), error: None }
    }

    pub fn item(namespace: &str, resource: &str, name: &str, message: &str, error: Option<&str>) -> Message {
        Message {
            namespace: Some(namespace.into()),
            resource: Some(resource.into()),
            name: Some(name.into()),
            message: message.into(),
            error: error.map(Into::into),
        }
    }

    fn json(&self) -> Value {
        json!({"namespace": self.namespace, "resource": self.resource, "name": self.name, "message": self.message, "error": self.error})
    }
}

/// How the backup ends.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every item and every CSI snapshot done.
    Completed,
    /// Ends PartiallyFailed: `errors` and `warnings` are logged (and land in the results object); a
    /// PVC named in an error gets no snapshot (no volumeinfo record, not counted completed).
    PartiallyFailed { errors: Vec<Message>, warnings: Vec<Message> },
    /// The BSL turns Unavailable as the Backup arrives (as a revalidation between veldr's doctor and
    /// the backup would make it), so validation refuses the Backup.
    FailedValidation { bsl_message: String },
    /// The server never takes the Backup up: it keeps no phase (Velero not running, or not watching).
    NeverStarts,
}

/// What the stand-in does in one test.
#[derive(Debug, Clone)]
pub struct Script {
    pub outcome: Outcome,
    /// Between two changes of the Backup's status.
    pub step: Duration,
    /// How long the backup stays InProgress (its progress advances each step).
    pub in_progress: Duration,
    /// Items backed up in all.
    pub items: u32,
    /// Whether DeleteBackupRequests are processed (false: nobody does; the server is not running).
    pub process_deletions: bool,
}

impl Script {
    fn new(outcome: Outcome) -> Script {
        Script { outcome, step: Duration::from_millis(150), in_progress: Duration::from_millis(600), items: 14, process_deletions: true }
    }
    pub fn completed() -> Script {
        Script::new(Outcome::Completed)
    }
    pub fn partially_failed(errors: Vec<Message>, warnings: Vec<Message>) -> Script {
        Script::new(Outcome::PartiallyFailed { errors, warnings })
    }
    pub fn failed_validation(bsl_message: &str) -> Script {
        Script::new(Outcome::FailedValidation { bsl_message: bsl_message.into() })
    }
    /// Velero does not run: the Backup stays New and deletion requests stay unprocessed.
    pub fn never_starts() -> Script {
        Script { process_deletions: false, ..Script::new(Outcome::NeverStarts) }
    }
    pub fn in_progress_for(mut self, d: Duration) -> Script {
        self.in_progress = d;
        self
    }
}

/// The running stand-in. Dropping it stops it (threads finish their current step).
pub struct Standin {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Standin {
    /// Starts playing Velero in `namespace` on `server` with `script`.
    pub fn start(server: &Server, namespace: &str, script: Script) -> Standin {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let run = Run { objects: server.handle(), namespace: namespace.into(), script, stop: stop.clone(), log: log.clone(), tracked: Default::default() };
        let events = server.subscribe();
        let thread = std::thread::Builder::new().name("velero-standin".into()).spawn(move || run.serve(events)).unwrap();
        Standin { stop, log, thread: Some(thread) }
    }

    /// What it did, one line per step ("backup b: InProgress", "deletebackuprequest d: Processed …").
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a line containing `needle` is logged (panics after `within`).
    pub fn wait_for(&self, needle: &str, within: Duration) {
        let until = std::time::Instant::now() + within;
        while std::time::Instant::now() < until {
            if self.log().iter().any(|l| l.contains(needle)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the Velero stand-in did not log {needle:?} within {within:?}: {:#?}", self.log());
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone)]
struct Run {
    objects: Handle,
    namespace: String,
    script: Script,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<String>>>,
    /// Backups being worked on (backupTracker: in progress or post-processing).
    tracked: Arc<Mutex<HashSet<String>>>,
}

fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).unwrap().to_string()
}

fn phase(o: &Value) -> &str {
    o.pointer("/status/phase").and_then(Value::as_str).unwrap_or("")
}

fn name_of(o: &Value) -> String {
    o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string()
}

impl Run {
    fn say(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps one step; false when the stand-in is stopping.
    fn pause(&self, d: Duration) -> bool {
        let until = std::time::Instant::now() + d;
        while std::time::Instant::now() < until {
            if self.stopped() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10).min(d));
        }
        !self.stopped()
    }

    fn serve(self, events: std::sync::mpsc::Receiver<StoreEvent>) {
        let mut workers = Vec::new();
        while !self.stopped() {
            let Ok(e) = events.recv_timeout(Duration::from_millis(50)) else { continue };
            if e.kind != ChangeKind::Added || e.group != GROUP || e.namespace() != self.namespace {
                continue;
            }
            let run = self.clone();
            let name = e.name().to_string();
            match e.resource.as_str() {
                "backups" if matches!(phase(&e.object), "" | "New") => {
                    self.say(format!("backup {name}: seen"));
                    workers.push(std::thread::spawn(move || run.backup(&name)));
                }
                "deletebackuprequests" if self.script.process_deletions && phase(&e.object).is_empty() => {
                    self.say(format!("deletebackuprequest {name}: seen"));
                    workers.push(std::thread::spawn(move || run.delete(&name)));
                }
                _ => {}
            }
        }
        for w in workers {
            let _ = w.join();
        }
    }

    fn update(&self, resource: &str, name: &str, change: impl FnOnce(&mut Value)) -> Option<Value> {
        self.objects.update_object(GROUP, resource, &self.namespace, name, change).ok()
    }

    fn set_phase(&self, name: &str, phase: &str, change: impl FnOnce(&mut Value)) -> bool {
        let done = self
            .update("backups", name, |b| {
                change(b);
                b["status"]["phase"] = json!(phase);
            })
            .is_some();
        if done {
            self.say(format!("backup {name}: {phase}"));
        }
        done
    }

    /// The PVCs of the backup's namespaces with their CSI PVs: (namespace, pvc, pv, driver, handle, bytes).
    fn volumes(&self, namespaces: &[String]) -> Vec<(String, String, String, String, String, i64)> {
        let pvs = self.objects.objects("", "persistentvolumes");
        let mut out = Vec::new();
        for pvc in self.objects.objects("", "persistentvolumeclaims") {
            let ns = pvc.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
            if !namespaces.iter().any(|n| n == ns || n == "*") {
                continue;
            }
            let Some(pv_name) = pvc.pointer("/spec/volumeName").and_then(Value::as_str) else { continue };
            let Some(pv) = pvs.iter().find(|p| name_of(p) == pv_name) else { continue };
            let Some(driver) = pv.pointer("/spec/csi/driver").and_then(Value::as_str) else { continue };
            let handle = pv.pointer("/spec/csi/volumeHandle").and_then(Value::as_str).unwrap_or_default();
            out.push((ns.to_string(), name_of(&pvc), pv_name.to_string(), driver.to_string(), format!("{handle}+snap-{}", name_of(&pvc)), 1 << 30));
        }
        out
    }

    fn backup(&self, name: &str) {
        let step = self.script.step;
        if matches!(self.script.outcome, Outcome::NeverStarts) {
            self.say(format!("backup {name}: left New (the script: Velero does not run)"));
            return;
        }
        if !self.pause(step) || !self.set_phase(name, "Queued", |b| b["status"]["queuePosition"] = json!(1)) {
            return;
        }
        if !self.pause(step) || !self.set_phase(name, "ReadyToStart", |b| b["status"]["queuePosition"] = json!(0)) {
            return;
        }
        if let Outcome::FailedValidation { bsl_message } = &self.script.outcome {
            // The BSL went Unavailable meanwhile; prepareBackupRequest refuses the backup.
            let bsl = self.default_bsl();
            let _ = self.objects.update_object(GROUP, "backupstoragelocations", &self.namespace, &bsl, |l| {
                l["status"]["phase"] = json!("Unavailable");
                l["status"]["message"] = json!(bsl_message);
            });
            self.say(format!("backupstoragelocation {bsl}: Unavailable"));
            let _ = self.pause(step);
            let reason = format!("backup can't be created because BackupStorageLocation {bsl} is in Unavailable status.");
            self.set_phase(name, "FailedValidation", |b| {
                prepare(b, &bsl);
                b["status"]["validationErrors"] = json!([reason]);
            });
            return;
        }
        let bsl = self.default_bsl();
        self.tracked.lock().unwrap().insert(name.to_string());
        let total = self.script.items;
        if !self.set_phase(name, "InProgress", |b| {
            prepare(b, &bsl);
            b["status"]["startTimestamp"] = json!(now());
            b["status"]["progress"] = json!({"totalItems": total, "itemsBackedUp": 0});
        }) {
            return;
        }
        let steps = (self.script.in_progress.as_millis() / step.as_millis().max(1)).max(1) as u32;
        for i in 1..=steps {
            if !self.pause(step) {
                return;
            }
            let done = total * i / steps;
            self.update("backups", name, |b| b["status"]["progress"] = json!({"totalItems": total, "itemsBackedUp": done}));
        }
        let Some(current) = self.objects.object(GROUP, "backups", &self.namespace, name) else { return };
        let namespaces: Vec<String> = current.pointer("/spec/includedNamespaces").and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default();
        let (errors, warnings) = match &self.script.outcome {
            Outcome::PartiallyFailed { errors, warnings } => (errors.clone(), warnings.clone()),
            _ => (Vec::new(), Vec::new()),
        };
        let failed_pvc = |ns: &str, pvc: &str| errors.iter().any(|e| e.namespace.as_deref() == Some(ns) && e.name.as_deref() == Some(pvc) && e.resource.as_deref() == Some("persistentvolumeclaims"));
        let volumes = self.volumes(&namespaces);
        let snapshotted: Vec<_> = volumes.iter().filter(|v| !failed_pvc(&v.0, &v.1)).collect();
        let partial = !errors.is_empty();
        let ended = if partial { "PartiallyFailed" } else { "Completed" };
        // persistBackup: the objects, with the phase the JSON in the BSL carries.
        let waiting = if partial { "WaitingForPluginOperationsPartiallyFailed" } else { "WaitingForPluginOperations" };
        let finalizing = if partial { "FinalizingPartiallyFailed" } else { "Finalizing" };
        let next = if volumes.is_empty() { finalizing } else { waiting };
        let mut stored = current.clone();
        stored["status"]["phase"] = json!(next);
        stored["status"]["errors"] = json!(errors.len());
        stored["status"]["warnings"] = json!(warnings.len());
        stored["status"]["csiVolumeSnapshotsAttempted"] = json!(volumes.len());
        stored["status"]["progress"] = json!({"totalItems": total, "itemsBackedUp": total});
        let spec = json!({
            "backup": stored,
            "items": total,
            "errors": errors.iter().map(Message::json).collect::<Vec<_>>(),
            "warnings": warnings.iter().map(Message::json).collect::<Vec<_>>(),
            "volumes": snapshotted.iter().map(|(ns, pvc, pv, driver, handle, size)| json!({
                "pvcNamespace": ns, "pvcName": pvc, "pvName": pv, "driver": driver, "snapshotHandle": handle,
                "size": size, "vscName": format!("snapcontent-{pvc}-{name}"),
            })).collect::<Vec<_>>(),
        });
        let prefix = self.bsl_prefix(&bsl);
        let keys = labctl(&["velero-backup", "put", name, "--prefix", &prefix], Some(&spec));
        self.say(format!("backup {name}: {} objects written to the BSL", keys.len()));
        let (attempted, nerr, nwarn) = (volumes.len(), errors.len(), warnings.len());
        if !self.set_phase(name, next, |b| {
            b["status"]["errors"] = json!(nerr);
            b["status"]["warnings"] = json!(nwarn);
            b["status"]["csiVolumeSnapshotsAttempted"] = json!(attempted);
            b["status"]["progress"] = json!({"totalItems": total, "itemsBackedUp": total});
        }) {
            return;
        }
        if next == waiting && (!self.pause(step) || !self.set_phase(name, finalizing, |_| ())) {
            return;
        }
        if !self.pause(step) {
            return;
        }
        let completed = snapshotted.len();
        self.set_phase(name, ended, |b| {
            b["status"]["completionTimestamp"] = json!(now());
            b["status"]["csiVolumeSnapshotsCompleted"] = json!(completed);
        });
        self.tracked.lock().unwrap().remove(name);
    }

    fn default_bsl(&self) -> String {
        self.objects
            .objects(GROUP, "backupstoragelocations")
            .iter()
            .find(|l| l.pointer("/spec/default") == Some(&json!(true)))
            .map(name_of)
            .unwrap_or_else(|| "default".into())
    }

    /// The BSL's `objectStorage.prefix` ("" for none): Velero's objects live under it.
    fn bsl_prefix(&self, bsl: &str) -> String {
        self.objects
            .object(GROUP, "backupstoragelocations", &self.namespace, bsl)
            .and_then(|l| l.pointer("/spec/objectStorage/prefix").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    }

    fn refuse(&self, dbr: &str, why: &str) {
        self.update("deletebackuprequests", dbr, |d| d["status"] = json!({"phase": "Processed", "errors": [why]}));
        self.say(format!("deletebackuprequest {dbr}: Processed: {why}"));
    }

    fn delete(&self, dbr: &str) {
        let step = self.script.step;
        if !self.pause(step) {
            return;
        }
        let Some(request) = self.objects.object(GROUP, "deletebackuprequests", &self.namespace, dbr) else { return };
        let backup = request.pointer("/spec/backupName").and_then(Value::as_str).unwrap_or_default().to_string();
        if backup.is_empty() {
            return self.refuse(dbr, "spec.backupName is required");
        }
        if self.tracked.lock().unwrap().contains(&backup) {
            return self.refuse(dbr, "backup is still in progress");
        }
        let Some(b) = self.objects.object(GROUP, "backups", &self.namespace, &backup) else {
            return self.refuse(dbr, "backup not found");
        };
        let location = b.pointer("/spec/storageLocation").and_then(Value::as_str).unwrap_or_default().to_string();
        match self.objects.object(GROUP, "backupstoragelocations", &self.namespace, &location) {
            None => return self.refuse(dbr, &format!("backup storage location {location} not found")),
            Some(l) if phase(&l) != "Available" => {
                return self.refuse(dbr, &format!("cannot delete backup because backup storage location {location} is currently in Unavailable state"))
            }
            Some(_) => {}
        }
        let uid = b.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
        self.update("deletebackuprequests", dbr, |d| {
            d["status"] = json!({"phase": "InProgress"});
            d["metadata"]["labels"]["velero.io/backup-name"] = json!(backup);
            d["metadata"]["labels"]["velero.io/backup-uid"] = json!(uid);
        });
        self.say(format!("deletebackuprequest {dbr}: InProgress"));
        self.set_phase(&backup, "Deleting", |_| ());
        if !self.pause(step) {
            return;
        }
        let left = labctl(&["velero-backup", "delete", &backup, "--prefix", &self.bsl_prefix(&location)], None);
        self.say(format!("backup {backup}: objects deleted from the BSL ({} left)", left.len()));
        let _ = self.objects.delete_object(GROUP, "backups", &self.namespace, &backup);
        self.say(format!("backup {backup}: deleted"));
        self.update("deletebackuprequests", dbr, |d| d["status"] = json!({"phase": "Processed"}));
        self.say(format!("deletebackuprequest {dbr}: Processed"));
        for d in self.objects.objects(GROUP, "deletebackuprequests") {
            let labels = &d["metadata"]["labels"];
            if labels["velero.io/backup-name"] == json!(backup) && labels["velero.io/backup-uid"] == json!(uid) {
                let _ = self.objects.delete_object(GROUP, "deletebackuprequests", &self.namespace, &name_of(&d));
                self.say(format!("deletebackuprequest {}: deleted", name_of(&d)));
            }
        }
    }
}

/// prepareBackupRequest's defaults (Velero's server defaults) and the storage-location label.
fn prepare(b: &mut Value, bsl: &str) {
    let spec = &mut b["spec"];
    for (field, default) in [("ttl", "720h0m0s"), ("csiSnapshotTimeout", "10m0s"), ("itemOperationTimeout", "4h0m0s")] {
        if spec.get(field).and_then(Value::as_str).is_none_or(|v| v.is_empty() || v == "0s") {
            spec[field] = json!(default);
        }
    }
    if spec.get("storageLocation").and_then(Value::as_str).is_none_or(str::is_empty) {
        spec["storageLocation"] = json!(bsl);
    }
    if spec.get("includedNamespaces").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        spec["includedNamespaces"] = json!(["*"]);
    }
    let ttl = spec["ttl"].as_str().and_then(go_duration_secs).unwrap_or(720 * 3600);
    let location = spec["storageLocation"].clone();
    b["metadata"]["labels"]["velero.io/storage-location"] = location;
    b["status"]["formatVersion"] = json!("1.1.0");
    b["status"]["version"] = json!(1);
    b["status"]["expiration"] = json!((jiff::Timestamp::now() + jiff::SignedDuration::from_secs(ttl)).round(jiff::Unit::Second).unwrap().to_string());
}

/// `1h0m0s`, `10m`, `720h0m0s` → seconds.
fn go_duration_secs(s: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    num.is_empty().then_some(total)
}

/// The lab's lab.json path (as [`super::lab`] finds it).
pub fn lab_path() -> String {
    std::env::var("VELDR_LAB").unwrap_or_else(|_| "/tmp/veldr-lab/lab.json".into())
}

/// Runs `lab/labctl.py ARGS` (stdlib Python) against the lab; returns the keys it prints (the
/// backup's objects left in the BSL).
pub fn labctl(args: &[&str], stdin: Option<&Value>) -> Vec<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg(super::repo().join("lab/labctl.py"))
        .args(args)
        .env("VELDR_LAB", lab_path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 lab/labctl.py");
    let mut input = child.stdin.take().unwrap();
    if let Some(v) = stdin {
        input.write_all(v.to_string().as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "labctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("labctl {args:?} printed no key list ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The objects of backup `name` in the lab's BSL container (no prefix).
pub fn objects_in_bsl(name: &str) -> Vec<String> {
    objects_under(name, "")
}

/// The objects of backup `name` under the BSL prefix `prefix` of the lab's container.
pub fn objects_under(name: &str, prefix: &str) -> Vec<String> {
    labctl(&["velero-backup", "list", name, "--prefix", prefix], None)
}
