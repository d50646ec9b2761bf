//! `veldr restore-check backup/NAME` end to end: each scenario of tests/fixtures/restore (a fixture
//! cluster to restore into, served over HTTPS, overlaid on `healthy`) against the real Keystone + Swift
//! lab, whose container holds whole Velero backups in Velero's formats (lab/labctl.py
//! `restore_check_objects`). Each run is recorded (`--record`) and replayed from the bundle: same
//! verdicts. restore-check writes nothing: the API server's request log has GETs only.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn scenarios() -> Vec<String> {
    let dir = repo().join("tests/fixtures/restore");
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// The scenario's name as `common` resolves it (relative to tests/fixtures/clusters).
fn scenario(name: &str) -> String {
    format!("../restore/{name}")
}

fn backup_of(name: &str) -> String {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/restore").join(name).join("_expect.yaml")).unwrap();
    let v: Value = serde_saphyr::from_str(&text).unwrap();
    v["backup"].as_str().unwrap_or_else(|| panic!("{name}: _expect.yaml names no backup")).to_string()
}

pub fn restore_check(cluster: &Cluster, backup: &str, args: &[&str]) -> Output {
    veldr()
        .args(["restore-check", &format!("backup/{backup}"), "--kubeconfig"])
        .arg(&cluster.kubeconfig)
        .args(["--timeout", "20s"])
        .args(args)
        .output()
        .expect("run veldr restore-check")
}

fn text_of(c: &Value) -> String {
    let mut s = c["summary"].as_str().unwrap_or_default().to_string();
    for d in c["details"].as_array().into_iter().flatten() {
        s.push('\n');
        s.push_str(d.as_str().unwrap_or_default());
    }
    s.push('\n');
    s.push_str(c["hint"].as_str().unwrap_or_default());
    s
}

fn judge(name: &str, report: &Value, code: i32) -> Vec<String> {
    let e = expect(&scenario(name));
    let mut problems = Vec::new();
    if let Some(exit) = e.exit {
        if code != exit {
            problems.push(format!("exit {code}, expected {exit}"));
        }
    }
    let ids: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    if ids != ["restore.backup", "restore.api", "restore.storage", "restore.conflicts"] {
        problems.push(format!("checks {ids:?}"));
    }
    for (id, (status, contains)) in &e.checks {
        let c = check(report, id);
        if c["status"] != status.as_str() {
            problems.push(format!("{id}: status {} (expected {status}): {} {:?}", c["status"], c["summary"], c["details"]));
        }
        if let Some(needle) = contains {
            if !text_of(c).contains(needle.as_str()) {
                problems.push(format!("{id}: {needle:?} not in {:?}", text_of(c)));
            }
        }
    }
    problems
}

#[test]
fn every_restore_scenario_live_and_from_its_bundle() {
    let lab = lab();
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for name in scenarios() {
        let backup = backup_of(&name);
        let cluster = serve(&scenario(&name), Some(&lab));
        let bundle = dir.path().join(format!("{name}.json"));
        let out = restore_check(&cluster, &backup, &["-o", "json", "--record", bundle.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        let live = report(&out);
        for p in judge(&name, &live, out.status.code().unwrap_or(-1)) {
            problems.push(format!("{name} (live): {p}"));
        }
        // Read-only: GETs only (discovery, lists, gets), each list made once.
        for r in cluster.server.requests() {
            if r.method != "GET" {
                problems.push(format!("{name}: {} {} — restore-check must not write", r.method, r.path));
            }
        }
        // The bundle replays to the same verdicts, offline.
        let replay = veldr().args(["restore-check", &format!("backup/{backup}"), "-o", "json", "--from-bundle", bundle.to_str().unwrap()]).output().unwrap();
        let replayed = report(&replay);
        for p in judge(&name, &replayed, replay.status.code().unwrap_or(-1)) {
            problems.push(format!("{name} (bundle): {p}"));
        }
        for (a, b) in live["checks"].as_array().unwrap().iter().zip(replayed["checks"].as_array().unwrap()) {
            if (&a["status"], &a["summary"], &a["details"]) != (&b["status"], &b["summary"], &b["details"]) {
                problems.push(format!("{name}: {} differs when replayed:\n  live   {} {:?}\n  bundle {} {:?}", a["id"], a["summary"], a["details"], b["summary"], b["details"]));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_bundle_holds_the_volume_facts_and_no_secret() {
    let lab = lab();
    let cluster = serve(&scenario("ready"), Some(&lab));
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.json");
    let out = restore_check(&cluster, "dr-ready-20261201020000", &["-o", "json", "--save-bundle", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&bundle).unwrap();
    let saved: Value = serde_json::from_str(&text).unwrap();
    let r = &saved["restore"];
    assert_eq!(r["backup"], "dr-ready-20261201020000");
    assert!(r["discovery"]["Ok"].as_array().is_some_and(|g| !g.is_empty()), "the discovery: {}", r["discovery"]);
    let archive = &r["store"]["archive"]["Ok"];
    assert_eq!(archive["pvcs"].as_array().unwrap().len(), 2, "{archive}");
    assert_eq!(archive["end"]["reason"], "allFound", "stopped once it had every PVC/PV/snapshot: {archive}");
    assert!(r["store"]["resourceList"]["Ok"]["kinds"].as_array().unwrap().len() >= 8);
    for secret in [lab["appcred"]["secret"].as_str().unwrap(), lab["containers"]["main"]["key"].as_str().unwrap()] {
        assert!(!text.contains(secret), "a secret in the bundle");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));
    }
}

#[test]
fn every_output_format_renders_with_the_doctor_s_exit_codes() {
    let lab = lab();
    let cluster = serve(&scenario("missing-crd"), Some(&lab));
    let backup = backup_of("missing-crd");
    for (format, code, needle) in [
        ("table", 1, "restore.api"),
        ("json", 1, "\"restore.api\""),
        ("markdown", 1, "restore.api"),
        ("junit", 1, "<testcase"),
        ("prometheus", 1, "veldr_check_status{check=\"restore.api\""),
        ("nagios", 2, "VELDR CRITICAL"),
    ] {
        let out = restore_check(&cluster, &backup, &["-o", format]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{format}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(needle), "{format}: {stdout}");
        assert!(stdout.contains("Widget") || format == "prometheus" || format == "nagios", "{format}: {stdout}");
    }
}

#[test]
fn the_tarball_read_stops_at_its_cap_and_says_so() {
    let lab = lab();
    let cluster = serve(&scenario("ready"), Some(&lab));
    let out = restore_check(&cluster, "dr-ready-20261201020000", &["-o", "json", "--max-archive-bytes", "1KiB"]);
    let v = report(&out);
    let c = check(&v, "restore.storage");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(c["summary"].as_str().unwrap().contains("the tarball read stopped at veldr's cap"), "{c}");
    assert_eq!(c["evidence"]["archive"]["end"]["reason"], "cap", "{c}");
    assert!(c["evidence"]["archive"]["bytesRead"].as_u64().unwrap() <= 1024, "{c}");
    assert_eq!(out.status.code(), Some(0), "a warn: exit 0");
}

#[test]
fn a_fleet_checks_each_dr_cluster() {
    let lab = lab();
    let ready = serve(&scenario("ready"), Some(&lab));
    let crd = serve(&scenario("missing-crd"), Some(&lab));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    merged_kubeconfig(&kubeconfig, &[("dr-a", &ready), ("dr-b", &crd)]);
    // The same backup in both: dr-b lacks the Widget CRD of the crd backup, dr-a's Backup is another.
    let out = veldr()
        .args(["restore-check", "backup/dr-crd-20261201020000", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--context", "dr-a", "--context", "dr-b", "-o", "json", "--timeout", "20s"])
        .output()
        .unwrap();
    let v = report(&out);
    let reports = v["reports"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(reports.len(), 2);
    let api = |i: usize| check(&reports[i], "restore.api")["status"].clone();
    assert_eq!(reports[0]["target"]["context"], "dr-a");
    assert_eq!(api(1), "fail", "{}", reports[1]);
    assert_eq!(out.status.code(), Some(1));
}

/// One kubeconfig with a context per fixture cluster.
fn merged_kubeconfig(path: &Path, clusters: &[(&str, &Cluster)]) {
    let mut docs: Vec<Value> = Vec::new();
    for (name, c) in clusters {
        let yaml = c.server.kubeconfig_yaml(name);
        docs.push(serde_saphyr::from_str(&yaml).unwrap());
    }
    let mut merged = docs[0].clone();
    for key in ["clusters", "users", "contexts"] {
        let all: Vec<Value> = docs.iter().flat_map(|d| d[key].as_array().cloned().unwrap_or_default()).collect();
        merged[key] = Value::Array(all);
    }
    std::fs::write(path, serde_json::to_string(&merged).unwrap()).unwrap();
}

#[test]
fn explain_opens_the_runbook_pages() {
    for id in ["restore.backup", "restore.api", "restore.storage", "restore.conflicts"] {
        let out = veldr().args(["explain", id]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{id}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("## How to fix"), "{id}");
    }
    let out = veldr().args(["restore-check", "backup/x", "--only", "swift.tempurl", "--from-bundle", "/nonexistent"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a doctor id is not restore-check's");
    assert_eq!(veldr().args(["restore-check", "schedule/nightly"]).output().unwrap().status.code(), Some(2));
}
