//! backup.failures and `veldr logs` against the real Swift lab, whose container holds Velero's objects
//! in Velero's formats (lab/labctl.py `velero_store_objects`): a PartiallyFailed backup's results and
//! log, a Failed backup's log without results, a restore's, and corrupt results objects. The
//! scenarios' temp-URL key is wrong where it matters: veldr reads with the token, not a temp URL.

mod common;

use common::*;
use serde_json::Value;
use std::process::Output;

fn details(c: &Value) -> String {
    c["details"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect::<Vec<_>>().join("\n")
}

fn logs(cluster: &Cluster, args: &[&str]) -> Output {
    veldr().arg("logs").arg("--kubeconfig").arg(&cluster.kubeconfig).args(args).output().expect("run veldr logs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn backup_failures_quotes_the_results_read_with_the_token() {
    let lab = lab();
    let cluster = serve("lab-backup-failures", Some(&lab));
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.json");
    let out = run(&cluster, &["-o", "json", "--save-bundle", bundle.to_str().unwrap()]);
    let live = report(&out);
    assert_eq!(check(&live, "swift.tempurl")["status"], "fail", "the temp-URL key is wrong in this scenario");
    let c = check(&live, "backup.failures");
    assert_eq!(c["status"], "fail", "{c}");
    let d = details(c);
    // The Failed one leads (fail), with its reason tied to credentials.env and no results object.
    assert!(c["summary"].as_str().unwrap().starts_with("backup nightly-20261130020000 Failed: rpc error"), "{c}");
    assert!(d.contains("no results object at velero-backups/backups/nightly-20261130020000/nightly-20261130020000-results.gz"), "{d}");
    assert!(d.contains("→ credentials.env"), "{d}");
    // The PartiallyFailed one: the messages quoted by scope, as Velero wrote them, tied to their check.
    assert!(d.contains("nightly-20261201020000: 1 error:"), "{d}");
    assert!(d.contains("error [namespace shop] “resource: /persistentvolumeclaims name: /data message: /Error backing up item error: /error executing custom action"), "{d}");
    assert!(d.contains("reaches the configured maximum (3)") && d.contains("→ csi.snapshot-limit"), "{d}");
    assert!(d.contains("warning [velero] “message: /Volume snapshot location not found"), "{d}");
    assert!(d.contains("warning [namespace shop]"), "{d}");
    assert!(c["hint"].as_str().unwrap().contains("veldr logs backup/nightly-20261130020000 -n velero"), "{c}");
    assert_eq!(c["evidence"]["failed"][0]["results"]["errors"], 1, "{}", c["evidence"]);
    // Metrics: the backups of the last 24 h in each phase.
    let prom = text(&run(&cluster, &["-o", "prometheus"]).stdout);
    assert!(prom.contains("\nveldr_backups_failed_24h 1\n") && prom.contains("\nveldr_backups_partially_failed_24h 1\n"), "{prom}");
    // The bundle keeps the parsed messages, not the object, and replays to the same verdict.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let reads = &saved["openstack"]["backupResults"]["reads"];
    assert_eq!(reads.as_array().unwrap().len(), 3, "two backups and the restore: {reads}");
    assert!(reads.to_string().contains("reaches the configured maximum"));
    let replay = report(&veldr().args(["doctor", "-o", "json", "--from-bundle", bundle.to_str().unwrap()]).output().unwrap());
    let r = check(&replay, "backup.failures");
    assert_eq!((&r["status"], &r["details"]), (&c["status"], &c["details"]));
    // The restore that PartiallyFailed: velero.operations quotes its results, read in the same pass.
    let o = check(&live, "velero.operations");
    let restore = lab["velero_store"]["restore"].as_str().unwrap().to_string();
    let od = details(o);
    assert_eq!(o["status"], "warn", "{o}");
    assert!(od.contains(&format!("{restore}: 1 error (results in velero-backups/restores/{restore}/restore-{restore}-results.gz):")), "{od}");
    assert!(od.contains("error [namespace shop] “error executing PVCAction for persistentvolumeclaims/shop/data"), "{od}");
    assert!(od.contains("warning [namespace shop] “could not restore, ConfigMap \"app-config\" already exists"), "{od}");
    let ro = check(&replay, "velero.operations");
    assert_eq!((&ro["status"], &ro["details"]), (&o["status"], &o["details"]));
    // Its own need: `--only velero.operations` reads the restore's results too and says the same.
    let only = report(&run(&cluster, &["-o", "json", "--only", "velero.operations"]));
    let oo = check(&only, "velero.operations");
    assert_eq!((&oo["status"], &oo["details"]), (&o["status"], &o["details"]), "--only velero.operations must say what a full run says");
    assert_eq!(check(&only, "backup.failures")["status"], "skip", "backup.failures is not selected");
    // Only GETs of Velero's results objects besides the doctor's own requests: nothing is written.
    assert!(cluster.server.requests().iter().all(|r| r.method == "GET" || r.path.ends_with("/selfsubjectaccessreviews")));
}

#[test]
fn corrupt_results_objects_are_said_and_read_bounded() {
    let lab = lab();
    let cluster = serve("lab-backup-results-corrupt", Some(&lab));
    let t0 = std::time::Instant::now();
    let report = report(&run(&cluster, &["-o", "json"]));
    let c = check(&report, "backup.failures");
    assert_eq!(c["status"], "fail");
    let d = details(c);
    for (backup, said) in [
        ("corrupt-notgzip", "could not be read: not gzip (it starts with \"<html><body>502 Bad Gate\")"),
        ("corrupt-truncated", "could not be read: a truncated or corrupt gzip stream"),
        ("corrupt-huge", "could not be read: larger than the 1024 KiB veldr reads"),
        ("corrupt-bomb", "could not be read: decompresses to more than 16 MiB"),
    ] {
        assert!(d.contains(&format!("{backup}: its results object velero-backups/backups/{backup}/{backup}-results.gz {said}")), "{backup}: {d}");
    }
    assert!(t0.elapsed() < std::time::Duration::from_secs(20), "bounded reads stay quick");
    assert_eq!(c["evidence"]["failed"].as_array().unwrap().len(), 4);
}

#[test]
fn logs_streams_a_backup_log_when_temp_urls_are_broken() {
    let lab = lab();
    let store = &lab["velero_store"];
    let partial = store["partially_failed"].as_str().unwrap();
    let cluster = serve("lab-backup-failures", Some(&lab));
    let out = logs(&cluster, &[&format!("backup/{partial}")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = text(&out.stdout);
    assert!(log.starts_with(&format!("time=\"2026-12-01T02:00:00Z\" level=info msg=\"Setting up backup temp file\" backup=velero/{partial}")), "{log}");
    assert!(log.contains("level=error msg=\"Error backing up item\"") && log.ends_with("progress=\n"), "{log}");
    assert_eq!(log.lines().count(), 4);

    let out = logs(&cluster, &[&format!("backup/{partial}"), "--results"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = text(&out.stdout);
    assert!(r.starts_with("Errors:\n  Velero:   <none>\n  Cluster:  <none>\n  Namespaces:\n    shop:\n      resource: /persistentvolumeclaims"), "{r}");
    assert!(r.contains("Warnings:\n  Velero:\n    message: /Volume snapshot location not found"), "{r}");

    // The restore: its BSL through spec.backupName.
    let restore = store["restore"].as_str().unwrap();
    let out = logs(&cluster, &[&format!("restore/{restore}")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("msg=\"starting restore\""), "{}", text(&out.stdout));
    let out = logs(&cluster, &[&format!("restore/{restore}"), "--results"]);
    assert!(text(&out.stdout).contains("ConfigMap \"app-config\" already exists"), "{}", text(&out.stdout));
    // Restores are listed by name (list is what deploy/rbac.yaml grants), never written.
    assert!(cluster.server.requests().iter().any(|r| r.path.ends_with("/restores") && r.query.contains("fieldSelector")));
}

#[test]
fn logs_exit_1_names_the_key_tried_and_2_when_it_cannot_run() {
    let lab = lab();
    let failed = lab["velero_store"]["failed_without_results"].as_str().unwrap().to_string();
    let cluster = serve("lab-backup-failures", Some(&lab));
    let out = logs(&cluster, &[&format!("backup/{failed}"), "--results"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("container velero-backups (BSL default), object backups/{failed}/{failed}-results.gz does not exist (404)")), "{err}");
    assert!(out.stdout.is_empty());
    // A backup the cluster does not know: looked for in the default BSL, and said so.
    let out = logs(&cluster, &["backup/no-such-backup"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("backup no-such-backup does not exist in velero: looking in the default BSL default"), "{err}");
    assert!(err.contains("object backups/no-such-backup/no-such-backup-logs.gz does not exist"), "{err}");
    // Not gzip: said, exit 1, nothing half-printed.
    let out = logs(&cluster, &["backup/corrupt-notgzip", "--results"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not a results object Velero wrote: not gzip"), "{}", text(&out.stderr));
    // Cannot run: a bad subject, and credentials Keystone refuses.
    assert_eq!(logs(&cluster, &["schedule/nightly"]).status.code(), Some(2));
    let refused = serve("lab-wrong-secret", Some(&lab));
    let out = logs(&refused, &[&format!("backup/{failed}")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no Keystone token"), "{}", text(&out.stderr));
}
