//! `veldr verify` end to end: the doctor against the fixture API server and the real Keystone + Swift
//! lab, then a test Backup that the Velero stand-in (tests/common/velero.rs) runs as Velero would,
//! writing its objects to the lab's Swift; judged, then deleted through a DeleteBackupRequest. Every
//! write veldr makes is checked in the API server's request log. Needs the lab (`bash lab/lab.sh start`).

mod common;

use common::velero::{objects_under, Message, Script, Standin};
use common::*;
use fixture_apiserver::ChangeKind;
use serde_json::{json, Value};
use std::process::{Command, Output};
use std::time::Duration;

/// lab-healthy with its BSL under a prefix of its own: the tests run at once, and two test backups made
/// in the same second have the same name.
fn lab_dir(lab: &Value, prefix: &str) -> tempfile::TempDir {
    let dir = materialize("lab-healthy", Some(lab));
    let mut objects = read_objects(dir.path());
    for o in objects.iter_mut().filter(|o| o["kind"] == "BackupStorageLocation") {
        o["spec"]["objectStorage"]["prefix"] = json!(prefix);
    }
    write_objects(dir.path(), &objects);
    dir
}

fn lab_cluster(lab: &Value, prefix: &str) -> Cluster {
    serve_dir(lab_dir(lab, prefix))
}

fn verify(cluster: &Cluster, args: &[&str]) -> Command {
    let mut c = veldr();
    c.arg("verify").arg("--kubeconfig").arg(&cluster.kubeconfig).args(["-o", "json", "--read-timeout", "20s"]).args(args);
    c
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The writes in the request log: (method, path, status), SelfSubjectAccessReviews aside.
fn writes(cluster: &Cluster) -> Vec<(String, String, u16)> {
    cluster
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/selfsubjectaccessreviews"))
        .map(|r| (r.method, r.path, r.status))
        .collect()
}

const BACKUPS: &str = "/apis/velero.io/v1/namespaces/velero/backups";
const REQUESTS: &str = "/apis/velero.io/v1/namespaces/velero/deletebackuprequests";

/// The test Backup as veldr created it (the first one the stand-in's server saw added).
fn created(events: &std::sync::mpsc::Receiver<fixture_apiserver::StoreEvent>) -> Value {
    while let Ok(e) = events.try_recv() {
        if e.kind == ChangeKind::Added && e.resource == "backups" {
            return e.object;
        }
    }
    panic!("no Backup was created");
}

fn name_of(report: &Value) -> String {
    check(report, "verify.backup")["evidence"]["backup"]["name"].as_str().expect("the test backup's name").to_string()
}

#[test]
fn a_completed_backup_is_judged_end_to_end_and_removed() {
    let lab = lab();
    let cluster = lab_cluster(&lab, "a_completed_backup_is_judged_end_to_end_and_removed");
    let events = cluster.server.subscribe();
    let standin = Standin::start(&cluster.server, "velero", Script::completed());
    let out = verify(&cluster, &["--include-namespace", "shop", "--timeout", "60s"]).output().unwrap();
    let report = report(&out);
    assert_eq!(out.status.code(), Some(0), "{}\n{report:#}", stderr(&out));
    assert!(!stderr(&out).contains('\x1b'), "no progress line on a pipe: {:?}", stderr(&out));
    let name = name_of(&report);
    assert!(name.starts_with("veldr-verify-") && name.len() == "veldr-verify-20261207161500".len(), "{name}");
    // The doctor's checks come first, then verify's, in the contract's order.
    let ids: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(&ids[ids.len() - 3..], ["verify.backup", "verify.volumes", "verify.objects"]);
    assert_eq!(ids[0], "kube.connect");
    let b = check(&report, "verify.backup");
    assert_eq!(b["status"], "ok", "{b:#}");
    assert!(text_of(b).contains("Completed in") && text_of(b).contains("14 of 14 items"), "{}", text_of(b));
    assert!(text_of(b).contains("phases: New → Queued"), "{}", text_of(b));
    let v = check(&report, "verify.volumes");
    assert_eq!(v["status"], "ok", "{v:#}");
    assert!(text_of(v).contains("every PVC of shop (2) got volume data") && text_of(v).contains("2 of 2 CSI snapshots completed"), "{}", text_of(v));
    let o = check(&report, "verify.objects");
    assert_eq!(o["status"], "ok", "{o:#}");
    assert!(text_of(o).contains("9 objects of test backup") && text_of(o).contains("deleted through DeleteBackupRequest"), "{}", text_of(o));

    // Exactly two writes: the Backup, then its DeleteBackupRequest; both kinds watched.
    assert_eq!(writes(&cluster), vec![("POST".into(), BACKUPS.into(), 201), ("POST".into(), REQUESTS.into(), 201)]);
    let requests = cluster.server.requests();
    assert!(requests.iter().any(|r| r.path == BACKUPS && r.query.contains("watch=true") && r.query.contains(&format!("metadata.name%3D{name}"))), "no watch of the Backup");
    assert!(requests.iter().any(|r| r.path == REQUESTS && r.query.contains("watch=true")), "no watch of the request");
    assert_eq!(requests.iter().filter(|r| r.path.ends_with("/selfsubjectaccessreviews")).count(), 4, "the four grants asked first");
    // The Backup is the one `velero backup create NAME --include-namespaces shop --ttl 1h --labels …` sends.
    let b = created(&events);
    assert_eq!(b["metadata"]["labels"], json!({"app.kubernetes.io/created-by": "veldr", "veldr.io/verify": "true"}));
    assert_eq!(b["spec"], json!({"metadata": {}, "includedNamespaces": ["shop"], "ttl": "1h0m0s", "hooks": {}, "csiSnapshotTimeout": "0s", "itemOperationTimeout": "0s"}));
    // Gone from the cluster and from Swift.
    assert!(cluster.server.object("velero.io", "backups", "velero", &name).is_none());
    assert!(objects_under(&name, "a_completed_backup_is_judged_end_to_end_and_removed").is_empty());
    drop(standin);
}

#[test]
fn a_partially_failed_backup_quotes_its_warning_and_names_the_volume_without_data() {
    let lab = lab();
    let cluster = lab_cluster(&lab, "a_partially_failed_backup_quotes_its_warning_and_names_the_volume_without_data");
    let snapshot_error = "rpc error: code = Unknown desc = failed to create snapshot: rpc error: code = FailedPrecondition desc = the number of snapshots on the source volume 1c2d3e4f reaches the configured maximum (3)";
    let script = Script::partially_failed(
        vec![Message::item("shop", "persistentvolumeclaims", "uploads", "Error backing up item", Some(snapshot_error))],
        vec![Message::item("shop", "pods", "job-x", "Skipping item: pod is not running", None)],
    );
    let _standin = Standin::start(&cluster.server, "velero", script);
    let out = verify(&cluster, &["--include-namespace", "shop", "--timeout", "60s"]).output().unwrap();
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let b = check(&report, "verify.backup");
    assert_eq!(b["status"], "warn", "{b:#}");
    let t = text_of(b);
    assert!(t.contains("PartiallyFailed") && t.contains("1 error, 1 warning"), "{t}");
    assert!(t.contains("warning [namespace shop] “resource: /pods name: /job-x message: /Skipping item: pod is not running”"), "{t}");
    assert!(t.contains("→ csi.snapshot-limit") && t.contains("`veldr explain csi.snapshot-limit`"), "{t}");
    let v = check(&report, "verify.volumes");
    assert_eq!(v["status"], "fail", "{v:#}");
    assert!(text_of(v).contains("shop/uploads got no volume data") && text_of(v).contains("1 of 2 CSI snapshots"), "{}", text_of(v));
    assert_eq!(check(&report, "verify.objects")["status"], "ok");
    assert!(objects_under(&name_of(&report), "a_partially_failed_backup_quotes_its_warning_and_names_the_volume_without_data").is_empty());
}

#[test]
fn a_failed_validation_quotes_velero_and_says_what_is_left() {
    let lab = lab();
    let cluster = lab_cluster(&lab, "a_failed_validation_quotes_velero_and_says_what_is_left");
    let standin = Standin::start(&cluster.server, "velero", Script::failed_validation("BackupStorageLocation \"default\" is unavailable: rpc error: code = Unknown desc = Authentication failed"));
    let out = verify(&cluster, &["--timeout", "60s"]).output().unwrap();
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let name = name_of(&report);
    let b = check(&report, "verify.backup");
    assert_eq!(b["status"], "fail");
    let t = text_of(b);
    assert!(t.starts_with(&format!("Velero refused the test backup {name}: backup can't be created because BackupStorageLocation default is in Unavailable status.")), "{t}");
    assert!(t.contains("`veldr explain bsl.phase`"), "{t}");
    assert_eq!(check(&report, "verify.volumes")["status"], "skip");
    // Velero refuses the deletion while the BSL is unavailable: what is left, and how to remove it.
    let o = check(&report, "verify.objects");
    assert_eq!(o["status"], "warn", "{o:#}");
    let t = text_of(o);
    assert!(t.contains("nothing was written") && t.contains("Velero refused to delete test backup") && t.contains("currently in Unavailable state"), "{t}");
    assert!(t.contains(&format!("left: Backup velero/{name} (FailedValidation), DeleteBackupRequest velero/{name}-")), "{t}");
    assert!(t.contains("`veldr explain bsl.phase`); then") && t.contains(&format!("`velero backup delete {name} -n velero --confirm`")), "{t}");
    assert!(t.contains(&format!("`kubectl -n velero delete backup/{name} deletebackuprequest/{name}-")), "{t}");
    standin.wait_for("currently in Unavailable state", Duration::from_secs(5));
}

#[test]
fn a_backup_the_server_never_takes_up_is_reported_and_left_behind_with_its_remedy() {
    let lab = lab();
    let cluster = lab_cluster(&lab, "a_backup_the_server_never_takes_up_is_reported_and_left_behind_with_its_remedy");
    let _standin = Standin::start(&cluster.server, "velero", Script::never_starts());
    let started = std::time::Instant::now();
    let out = verify(&cluster, &["--timeout", "3s"]).output().unwrap();
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(40), "{:?}", started.elapsed());
    let name = name_of(&report);
    let b = check(&report, "verify.backup");
    assert_eq!(b["status"], "fail");
    assert!(text_of(b).starts_with(&format!("the Velero server is not processing backups: {name} was still New after 3.0s")), "{}", text_of(b));
    let o = check(&report, "verify.objects");
    assert_eq!(o["status"], "warn");
    let t = text_of(o);
    assert!(t.contains("did not process the DeleteBackupRequest") && t.contains(&format!("left: Backup velero/{name} (New), DeleteBackupRequest")), "{t}");
    // Both writes were made; nothing processed them.
    assert_eq!(writes(&cluster), vec![("POST".into(), BACKUPS.into(), 201), ("POST".into(), REQUESTS.into(), 201)]);
    assert!(cluster.server.object("velero.io", "backups", "velero", &name).is_some());
}

#[test]
fn an_interrupted_run_still_asks_for_the_deletion() {
    let lab = lab();
    let cluster = lab_cluster(&lab, "an_interrupted_run_still_asks_for_the_deletion");
    let standin = Standin::start(&cluster.server, "velero", Script::completed().in_progress_for(Duration::from_secs(20)));
    let child = verify(&cluster, &["--timeout", "120s"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    standin.wait_for(": InProgress", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = report(&out);
    assert_eq!(out.status.code(), Some(3), "an interrupted run is incomplete: {}", stderr(&out));
    assert!(stderr(&out).contains("SIGINT: asking Velero to delete Backup"), "{}", stderr(&out));
    let name = name_of(&report);
    let b = check(&report, "verify.backup");
    assert_eq!(b["status"], "error");
    assert!(text_of(b).starts_with("interrupted (SIGINT) after") && text_of(b).contains("was InProgress"), "{}", text_of(b));
    // The deletion was asked for; Velero refuses it while the backup runs, and the report says so.
    assert_eq!(writes(&cluster), vec![("POST".into(), BACKUPS.into(), 201), ("POST".into(), REQUESTS.into(), 201)]);
    standin.wait_for("backup is still in progress", Duration::from_secs(5));
    let o = check(&report, "verify.objects");
    assert_eq!(o["status"], "warn", "{o:#}");
    assert!(text_of(o).contains("backup is still in progress") && text_of(o).contains(&format!("once it ends, `velero backup delete {name} -n velero --confirm`")), "{}", text_of(o));
    // The stand-in ends the backup; the lab's Swift is left clean.
    standin.wait_for(&format!("backup {name}: Completed"), Duration::from_secs(60));
    common::velero::labctl(&["velero-backup", "delete", &name, "--prefix", "an_interrupted_run_still_asks_for_the_deletion"], None);
}

#[test]
fn kept_backups_stay_with_the_command_that_removes_them() {
    let lab = lab();
    let cluster = lab_cluster(&lab, "kept_backups_stay_with_the_command_that_removes_them");
    let _standin = Standin::start(&cluster.server, "velero", Script::completed());
    let out = verify(&cluster, &["--keep", "--timeout", "60s"]).output().unwrap();
    let report = report(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let name = name_of(&report);
    assert_eq!(writes(&cluster), vec![("POST".into(), BACKUPS.into(), 201)], "--keep: no DeleteBackupRequest");
    let o = check(&report, "verify.objects");
    assert_eq!(o["status"], "ok");
    assert!(text_of(o).contains("kept as asked (--keep)") && text_of(o).contains(&format!("velero backup delete {name} -n velero --confirm")), "{}", text_of(o));
    assert_eq!(objects_under(&name, "kept_backups_stay_with_the_command_that_removes_them").len(), 9);
    assert_eq!(check(&report, "verify.volumes")["summary"].as_str().unwrap().split(':').next().unwrap(), "namespace default has no PersistentVolumeClaim");
    common::velero::labctl(&["velero-backup", "delete", &name, "--prefix", "kept_backups_stay_with_the_command_that_removes_them"], None);
}

#[test]
fn without_the_grants_nothing_is_created_and_the_grant_is_named() {
    let lab = lab();
    let dir = lab_dir(&lab, "without_the_grants");
    // What deploy/rbac.yaml alone gives: no create, no watch.
    let server_yaml = dir.path().join("_server.yaml");
    let mut text = std::fs::read_to_string(&server_yaml).unwrap_or_default();
    if !text.contains("rbac:") {
        text.push_str("\nrbac:\n");
    }
    text = text.replacen(
        "rbac:\n",
        "rbac:\n  - {verb: create, group: velero.io, resource: backups}\n  - {verb: watch, group: velero.io, resource: backups}\n  - {verb: create, group: velero.io, resource: deletebackuprequests}\n  - {verb: watch, group: velero.io, resource: deletebackuprequests}\n",
        1,
    );
    std::fs::write(&server_yaml, text).unwrap();
    let cluster = serve_dir(dir);
    let _standin = Standin::start(&cluster.server, "velero", Script::completed());
    let out = verify(&cluster, &["--timeout", "30s"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("may not create backups.velero.io in namespace velero") && err.contains("deploy/rbac-verify.yaml") && err.contains("nothing was created"), "{err}");
    assert!(writes(&cluster).is_empty(), "{:?}", writes(&cluster));
}

#[test]
fn a_check_a_backup_needs_that_fails_stops_verify_before_any_write() {
    let lab = lab();
    // The velero secret's credential does not exist: keystone.auth fails.
    let cluster = serve("lab-deleted-credential", Some(&lab));
    let _standin = Standin::start(&cluster.server, "velero", Script::completed());
    let out = verify(&cluster, &["--timeout", "30s"]).output().unwrap();
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(check(&report, "keystone.auth")["status"], "fail");
    for id in ["verify.backup", "verify.volumes", "verify.objects"] {
        let c = check(&report, id);
        assert_eq!(c["status"], "skip", "{c:#}");
        assert!(c["summary"].as_str().unwrap().contains("keystone.auth did not pass"), "{c:#}");
    }
    assert!(stderr(&out).contains("no test backup was made: keystone.auth (fail)"), "{}", stderr(&out));
    let requests = cluster.server.requests();
    assert!(requests.iter().all(|r| r.method == "GET"), "nothing written, nothing asked: {:?}", writes(&cluster));
}

#[test]
fn a_recorded_run_replays_offline() {
    let lab = lab();
    let cluster = lab_cluster(&lab, "a_recorded_run_replays_offline");
    let _standin = Standin::start(&cluster.server, "velero", Script::completed());
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("verify.bundle.json");
    let out = verify(&cluster, &["--timeout", "60s", "--record", bundle.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let live = report(&out);
    drop(cluster);
    let replay = veldr().args(["verify", "-o", "json", "--from-bundle", bundle.to_str().unwrap()]).output().unwrap();
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    let replayed = report(&replay);
    for id in ["verify.backup", "verify.volumes", "verify.objects"] {
        assert_eq!(check(&replayed, id)["summary"], check(&live, id)["summary"], "{id}");
    }
    let text = std::fs::read_to_string(&bundle).unwrap();
    assert!(!text.contains(lab["appcred"]["secret"].as_str().unwrap()), "the bundle holds no secret");
}

/// Only `veldr verify` writes: the read commands, run against the same lab cluster, send nothing but
/// GETs (and no access review either), by the API server's request log (restore-check's metadata-only
/// lists are GETs too).
#[test]
fn doctor_logs_restore_check_and_tempurl_never_write() {
    let lab = lab();
    let cluster = serve("lab-healthy", Some(&lab));
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let backup = lab["velero_store"]["partially_failed"].as_str().unwrap().to_string();
    let runs: Vec<Vec<String>> = vec![
        vec!["doctor".into(), "-o".into(), "json".into()],
        vec!["logs".into(), format!("backup/{backup}")],
        vec!["logs".into(), format!("backup/{backup}"), "--results".into()],
        vec!["tempurl".into(), "velero-backups/backups/x".into()],
        vec!["restore-check".into(), format!("backup/{backup}"), "-o".into(), "json".into()],
    ];
    for args in runs {
        cluster.server.clear_requests();
        let out = veldr().args(&args).arg("--kubeconfig").arg(&kubeconfig).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{args:?}: {}", stderr(&out));
        let requests = cluster.server.requests();
        assert!(!requests.is_empty(), "{args:?} read nothing");
        let written: Vec<String> = requests.iter().filter(|r| r.method != "GET").map(|r| format!("{} {}", r.method, r.path)).collect();
        assert!(written.is_empty(), "{args:?} wrote: {written:?}");
    }
}

/// On a terminal, a progress line (phase, items, elapsed) is redrawn on stderr while veldr waits, and
/// cleared before the report; on a pipe there is none (the other tests' stderr).
#[test]
fn a_terminal_shows_the_phase_items_and_elapsed_time_while_it_waits() {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    use std::io::Read;
    let lab = lab();
    let cluster = lab_cluster(&lab, "a_terminal_shows_the_phase");
    let _standin = Standin::start(&cluster.server, "velero", Script::completed().in_progress_for(Duration::from_secs(3)));
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("cannot open a pseudo-terminal (/dev/ptmx): this test needs one");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new().read(true).write(true).open(name.to_str().unwrap()).unwrap();
    let child = verify(&cluster, &["--timeout", "60s"]).env("TERM", "xterm-256color").stdout(std::process::Stdio::piped()).stderr(slave).spawn().unwrap();
    let mut master = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = master.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf
    });
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let term = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is the report alone");
    let backup = name_of(&report);
    assert!(term.contains(&format!("\r\x1b[2Kveldr: {backup} InProgress · ")), "{term:?}");
    assert!(term.contains("/14 items · 0:0"), "{term:?}");
    assert!(term.contains(&format!("veldr: Backup velero/{backup} Completed after")), "{term:?}");
}
