//! The benchmark's smoke version (CI; seconds, no hyperfine, no lab): bench/gen_scale.py makes the
//! 1× and 10× clusters, veldr runs once against each (Kubernetes checks only), and the request
//! discipline behind BENCHMARKS.md holds: the report renders, the same requests are made at both
//! sizes apart from extra `continue` pages, every page is a full page but the last, and a run takes
//! seconds. The full benchmark is `bash bench/run.sh`.

mod common;

use common::*;
use fixture_apiserver::{LoggedRequest, Options, Server};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// veldr's list page size (src/collect/kube.rs `PAGE_SIZE`).
const PAGE: usize = 500;

fn generate(scale: u32, out: &Path) -> Value {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let o = Command::new(&python)
        .arg(repo().join("bench/gen_scale.py"))
        .args(["--scale", &scale.to_string(), "--out"])
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} bench/gen_scale.py: {e}"));
    assert!(o.status.success(), "bench/gen_scale.py --scale {scale} failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("gen_scale.py prints a JSON summary")
}

struct Run {
    report: Value,
    code: i32,
    elapsed: Duration,
    requests: Vec<LoggedRequest>,
}

fn doctor(dir: &Path) -> Run {
    let server = Server::start_blocking(Options::new(dir)).expect("fixture-apiserver starts");
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, "fixture").unwrap();
    let t0 = Instant::now();
    let out = veldr()
        .args(["doctor", "-o", "json", "--skip", "openstack", "--timeout", "20s", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .expect("run veldr");
    let elapsed = t0.elapsed();
    // The server logs a request when it has answered it; give the last one a moment.
    std::thread::sleep(Duration::from_millis(100));
    Run { report: report(&out), code: out.status.code().unwrap_or(-1), elapsed, requests: server.requests() }
}

/// (method, path, query without the continue token) → count, for the first page of each list.
fn first_pages(reqs: &[LoggedRequest]) -> BTreeMap<(String, String, String), usize> {
    let mut m = BTreeMap::new();
    for r in reqs.iter().filter(|r| !r.query.contains("continue=")) {
        *m.entry((r.method.clone(), r.path.clone(), r.query.clone())).or_insert(0) += 1;
    }
    m
}

fn continues(reqs: &[LoggedRequest]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in reqs.iter().filter(|r| r.query.contains("continue=")) {
        *m.entry(r.path.clone()).or_insert(0) += 1;
    }
    m
}

#[test]
fn requests_grow_with_kinds_and_pages_not_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let (d1, d10) = (tmp.path().join("1x"), tmp.path().join("10x"));
    let g1 = generate(1, &d1);
    let g10 = generate(10, &d10);
    // The kinds the generator scales (healthy/'s single objects, CRDs and the like, stay as they are).
    let scaled = |g: &Value| ["Namespace", "Backup", "Restore", "PersistentVolume", "PersistentVolumeClaim"].iter().map(|k| g["kinds"][k].as_u64().unwrap_or(0)).sum::<u64>();
    assert!(scaled(&g10) >= 9 * scaled(&g1), "10x is not ~10x: {g1} vs {g10}");

    let r1 = doctor(&d1);
    let r10 = doctor(&d10);

    for (name, r) in [("1x", &r1), ("10x", &r10)] {
        // The report renders, and on these healthy clusters nothing fails.
        let checks = r.report["checks"].as_array().unwrap_or_else(|| panic!("{name}: no checks in {}", r.report));
        assert!(checks.len() > 10, "{name}: only {} checks", checks.len());
        let bad: Vec<String> = checks
            .iter()
            .filter(|c| !matches!(c["status"].as_str(), Some("ok" | "skip")))
            .map(|c| format!("{}={}: {}", c["id"], c["status"], c["summary"]))
            .collect();
        assert!(bad.is_empty() && r.code == 0, "{name}: exit {}, not ok: {bad:?}", r.code);
        assert!(checks.iter().any(|c| c["id"] == "csi.snapshot-class" && c["status"] == "ok"));
        // Read-only, and every request answered.
        for q in &r.requests {
            assert!(q.method == "GET" || q.path.ends_with("/selfsubjectaccessreviews"), "{name}: {} {}", q.method, q.path);
            assert!(q.status < 400 || q.status == 404, "{name}: {} {}?{} answered {}", q.method, q.path, q.query, q.status);
        }
        // Seconds, even in a debug build on a loaded CI machine.
        assert!(r.elapsed < Duration::from_secs(10), "{name}: veldr took {:?}", r.elapsed);
        eprintln!("bench smoke {name}: {} requests, {:?}", r.requests.len(), r.elapsed);
    }

    // The same requests at 1x and 10x: the objects grew tenfold, the requests did not.
    assert_eq!(first_pages(&r1.requests), first_pages(&r10.requests), "the requests (first pages) differ between 1x and 10x");
    let (c1, c10) = (continues(&r1.requests), continues(&r10.requests));
    let extra = c10.values().sum::<usize>() as i64 - c1.values().sum::<usize>() as i64;
    assert_eq!(r10.requests.len() as i64, r1.requests.len() as i64 + extra, "10x made more requests than its extra pages");

    // Pages: exactly ceil(n / PAGE) per list; here the biggest list (300 PVs, 300 PVCs) fits one page.
    let kinds = &g10["kinds"];
    for (kind, path) in [("PersistentVolumeClaim", "/api/v1/persistentvolumeclaims"), ("PersistentVolume", "/api/v1/persistentvolumes")] {
        let n = kinds[kind].as_u64().unwrap() as usize;
        let pages = 1 + c10.get(path).copied().unwrap_or(0);
        assert_eq!(pages, n.div_ceil(PAGE), "{kind}: {n} objects in {pages} pages");
    }
}
