//! End to end: veldr against every fixture cluster in tests/fixtures/clusters, as it would run
//! against a real cluster (kubeconfig, HTTPS, bearer token), asserting each scenario's `_expect.yaml`
//! and, for all of them, the request discipline: each kind listed once, no writes.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The check's text, lower-cased (needles are).
fn text_of(c: &Value) -> String {
    common::text_of(c).to_lowercase()
}

/// Judges one scenario; returns the list of what did not match.
fn judge_scenario(name: &str, lab: Option<&Value>) -> Vec<String> {
    let e = expect(name);
    let cluster = serve(name, lab);
    let mut args = vec!["-o", "json", "--timeout", "20s"];
    if e.lab_env.is_none() {
        args.extend(["--skip", "openstack"]);
    }
    let out = run(&cluster, &args);
    let mut problems = Vec::new();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("panicked") {
        problems.push(format!("veldr panicked: {stderr}"));
    }
    let report = report(&out);
    let code = out.status.code().unwrap_or(-1);
    if let Some(exit) = e.exit {
        if code != exit {
            problems.push(format!("exit {code}, expected {exit}"));
        }
    }
    for (id, (status, contains)) in &e.checks {
        let c = check(&report, id);
        if c["status"] != status.as_str() {
            problems.push(format!("{id}: status {} (expected {status}): {}", c["status"], c["summary"]));
        }
        if let Some(needle) = contains {
            if !text_of(c).contains(&needle.to_lowercase()) {
                problems.push(format!("{id}: {needle:?} not in {:?}", text_of(c)));
            }
        }
    }
    // No hint advises what cannot work on a Swift BSL (file-system backup, the data mover).
    for c in report["checks"].as_array().unwrap() {
        if let Some(form) = c["hint"].as_str().and_then(veldr::upstream::kopia::recommends) {
            problems.push(format!("{}: its hint advises {form:?}, which cannot work on a Swift BSL: {}", c["id"], c["hint"]));
        }
    }
    // On the healthy scenarios nothing unlisted may be wrong.
    if name == "healthy" || e.all_ok {
        for c in report["checks"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            if e.checks.contains_key(id) {
                continue;
            }
            let ok = if e.all_ok { c["status"] == "ok" } else { c["status"] == "ok" || c["status"] == "skip" };
            if !ok {
                problems.push(format!("{id}: {} on a healthy scenario: {} {:?}", c["status"], c["summary"], c["details"]));
            }
        }
    }
    problems.extend(request_discipline(&cluster));
    problems
}

/// Each kind is listed once (paging aside) and nothing is written but access reviews.
fn request_discipline(cluster: &Cluster) -> Vec<String> {
    let mut problems = Vec::new();
    let mut lists: BTreeMap<String, usize> = BTreeMap::new();
    for r in cluster.server.requests() {
        if r.method != "GET" && !(r.method == "POST" && r.path.ends_with("/selfsubjectaccessreviews")) {
            problems.push(format!("write request: {} {}", r.method, r.path));
        }
        if r.method == "GET" && !r.query.contains("continue=") {
            // A pod's log is read once as it runs and once as it ran before (`previous=true`).
            let key = format!("{}?{}", r.path, r.query.split('&').filter(|p| p.starts_with("labelSelector") || p.starts_with("previous")).collect::<Vec<_>>().join("&"));
            *lists.entry(key).or_default() += 1;
        }
    }
    for (k, n) in lists {
        if n > 1 {
            problems.push(format!("{k} requested {n} times"));
        }
    }
    problems
}

#[test]
fn every_cluster_scenario_meets_its_expectations() {
    let mut failures = Vec::new();
    let names: Vec<String> = scenarios().into_iter().filter(|n| expect(n).lab_env.is_none()).collect();
    assert!(names.len() >= 16, "expected at least 16 cluster scenarios, found {}", names.len());
    for name in &names {
        for p in judge_scenario(name, None) {
            failures.push(format!("[{name}] {p}"));
        }
    }
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn lab_scenarios_meet_their_expectations() {
    let names: Vec<String> = scenarios().into_iter().filter(|n| expect(n).lab_env.is_some()).collect();
    if names.is_empty() {
        return;
    }
    let lab = lab();
    let mut failures = Vec::new();
    for name in &names {
        for p in judge_scenario(name, Some(&lab)) {
            failures.push(format!("[{name}] {p}"));
        }
    }
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

/// `get pods/log` refused: velero.logs ends `error` naming the grant and every other check judges as on the
/// healthy cluster it is made from.
#[test]
fn a_refused_pod_log_changes_no_other_verdict() {
    let statuses = |name: &str| -> Vec<(String, String)> {
        let cluster = serve(name, None);
        let out = run(&cluster, &["-o", "json", "--skip", "openstack", "--timeout", "20s"]);
        report(&out)["checks"].as_array().unwrap().iter().map(|c| (c["id"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string())).collect()
    };
    let healthy = statuses("healthy");
    let denied = statuses("velero-logs-denied");
    let differ: Vec<String> = healthy.iter().zip(&denied).filter(|(a, b)| a != b).map(|(a, b)| format!("{}: {} -> {}", a.0, a.1, b.1)).collect();
    assert_eq!(differ, ["velero.logs: ok -> error"]);
}

/// A log longer than the cap: the kubelet stops at `limitBytes` (and veldr would stop reading there
/// too), and the check says that older lines were not judged.
#[test]
fn the_velero_log_is_read_up_to_its_byte_cap() {
    let dir = materialize("healthy", None);
    let line = r#"time="${NOW-30m}" level=info msg="Reconciling a long list of things, one line of many" controller=backup-sync logSource="pkg/controller/backup_sync_controller.go:1""#;
    let logs = serde_json::json!([{"pod": "velero-7c9d8f5b6d-x2k9p", "namespace": "velero", "container": "velero", "repeat": 16000, "lines": [line]}]);
    std::fs::write(dir.path().join("_logs.yaml"), logs.to_string()).unwrap();
    let cluster = common::serve_dir(dir);
    let out = run(&cluster, &["-o", "json", "--only", "velero.logs"]);
    let r = report(&out);
    let c = check(&r, "velero.logs");
    assert_eq!(c["status"], "ok", "{c}");
    assert!(text_of(c).contains("only the newest 2048 kib were read (limitbytes)"), "{}", text_of(c));
    assert_eq!(c["evidence"]["pods"][0]["current"]["bytes"], 2 << 20, "{c}");
    let asked = cluster.server.requests().into_iter().find(|r| r.path.ends_with("/log")).expect("the log was read");
    assert!(asked.query.contains("limitBytes=2097152") && asked.query.contains("sinceSeconds=3600"), "{}", asked.query);
}
