//! A fleet: `--context A --context B …` and `--all-contexts` against several fixture clusters at
//! once, one of them unreachable and one that cannot even be configured. Every output format, the
//! exit codes over all clusters, and one bundle per context.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Kubeconfigs for: `a` (healthy), `b` (velero crash-looping), `down` (a closed port) and `orphan`
/// (names a cluster the kubeconfig does not have), joined in `KUBECONFIG` as kubectl joins them.
struct Fleet {
    _a: Cluster,
    _b: Cluster,
    dir: tempfile::TempDir,
    kubeconfig: String,
}

fn fleet() -> Fleet {
    let a = serve("healthy", None);
    let b = serve("velero-crashloop", None);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ka = write("a", a.server.kubeconfig_yaml("a"));
    let kb = write("b", b.server.kubeconfig_yaml("b"));
    // Nothing listens on port 9 of loopback (discard): connection refused at once.
    let kd = write("down", a.server.kubeconfig_yaml("down").replace(&a.server.url, "https://127.0.0.1:9"));
    let ko = write(
        "orphan",
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: orphan\n  context: {cluster: nope, user: nope}\nclusters: []\nusers: []\n".into(),
    );
    let kubeconfig = std::env::join_paths([&ka, &kb, &kd, &ko]).unwrap().into_string().unwrap();
    Fleet { _a: a, _b: b, dir, kubeconfig }
}

fn doctor(f: &Fleet, args: &[&str]) -> std::process::Output {
    veldr().arg("doctor").args(args).args(["--skip", "openstack", "--timeout", "10s"]).env("KUBECONFIG", &f.kubeconfig).output().unwrap()
}

fn ids(r: &Value, status: &str) -> Vec<String> {
    r["checks"].as_array().unwrap().iter().filter(|c| c["status"] == status).map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn json_envelope_holds_every_context_in_order_and_bad_ones_do_not_stop_the_others() {
    let f = fleet();
    let out = doctor(&f, &["--context", "a", "--context", "b", "--context", "down", "--context", "orphan", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v = report(&out);
    assert_eq!(v["schemaVersion"], 1);
    let reports = v["reports"].as_array().unwrap();
    let contexts: Vec<&str> = reports.iter().map(|r| r["target"]["context"].as_str().unwrap()).collect();
    assert_eq!(contexts, ["a", "b", "down", "orphan"]);
    assert!(ids(&reports[0], "fail").is_empty(), "a: {:?}", ids(&reports[0], "fail"));
    assert_eq!(ids(&reports[1], "fail"), ["velero.deployment"]);
    for r in &reports[2..] {
        let connect = check(r, "kube.connect");
        assert_eq!(connect["status"], "fail", "{}: {connect}", r["target"]["context"]);
        // Every registered check is still there, once, as in any report.
        assert_eq!(r["checks"].as_array().unwrap().len(), reports[0]["checks"].as_array().unwrap().len());
    }
    assert!(check(&reports[3], "kube.connect")["summary"].as_str().unwrap().contains("orphan"));
    let rows = v["summary"]["contexts"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1]["failing"], serde_json::json!(["velero.deployment"]));
    assert_eq!(v["summary"]["status"], "fail");
    let sum: u64 = reports.iter().map(|r| r["summary"]["fail"].as_u64().unwrap()).sum();
    assert_eq!(v["summary"]["fail"].as_u64().unwrap(), sum);
}

#[test]
fn all_contexts_table_shows_each_cluster_then_the_fleet_summary() {
    let f = fleet();
    let out = doctor(&f, &["--all-contexts", "-o", "table", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for c in ["a", "b", "down", "orphan"] {
        assert!(text.contains(&format!("· context {c} ·")), "no report of {c}:\n{text}");
    }
    let summary = &text[text.find("Fleet: 4 contexts").expect("the fleet summary")..];
    assert!(summary.contains("velero.deployment"), "{summary}");
    let row = |c: &str| summary.lines().find(|l| l.split('┆').next().is_some_and(|x| x.trim_matches(|ch: char| ch == '│' || ch.is_whitespace()) == c)).map(str::to_string);
    assert!(row("a").is_some_and(|l| l.contains("ok")), "{summary}");
    assert!(row("down").is_some_and(|l| l.contains("kube.connect")), "{summary}");
}

#[test]
fn prometheus_labels_every_series_with_its_context_and_nagios_names_the_worst() {
    let f = fleet();
    let out = doctor(&f, &["--context", "a", "--context", "b", "-o", "prometheus"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut helps: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
    let n = helps.len();
    helps.dedup();
    assert_eq!(helps.len(), n, "a metric family is split or repeated:\n{text}");
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(l.contains("{context=\"a\"") || l.contains("{context=\"b\""), "unlabelled: {l}");
    }
    assert!(text.contains("veldr_check_status{context=\"b\",check=\"velero.deployment\",category=\"velero\",severity=\"critical\"} 2"), "{text}");

    let out = doctor(&f, &["--context", "a", "--context", "b", "-o", "nagios"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("VELDR CRITICAL - 2 clusters: b critical |"), "{first}");
    assert!(text.lines().any(|l| l.starts_with("b: FAIL velero.deployment")), "{text}");
}

#[test]
fn one_bundle_per_context_and_one_context_keeps_the_report_shape() {
    let f = fleet();
    let base: PathBuf = f.dir.path().join("out/fleet.json");
    std::fs::create_dir_all(base.parent().unwrap()).unwrap();
    let out = doctor(&f, &["--context", "a", "--context", "b", "-o", "json", "--save-bundle", base.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    for c in ["a", "b"] {
        let p = base.with_file_name(format!("fleet.{c}.json"));
        assert!(Path::new(&p).exists(), "no bundle {}", p.display());
        // Each bundle judges back to that cluster's report.
        let again = veldr().args(["doctor", "--from-bundle", p.to_str().unwrap(), "-o", "json", "--skip", "openstack"]).output().unwrap();
        assert_eq!(report(&again)["target"]["context"], c);
    }
    assert!(!base.exists(), "the fleet wrote the unsuffixed bundle too");

    // The same context twice is one context: the plain report, not the envelope.
    let out = doctor(&f, &["--context", "a", "--context", "a", "-o", "json"]);
    let v = report(&out);
    assert!(v.get("reports").is_none() && v["checks"].is_array(), "{v}");
}
