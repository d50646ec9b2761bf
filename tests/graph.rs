//! Collection as a graph of reads (src/collect/graph.rs), end to end against the fixture API server
//! and the real Keystone + Swift lab, each behind a proxy that logs every request:
//!
//! - Keystone is asked as soon as the velero container's environment is read, and Swift as soon as
//!   the token is there, while a slow Kubernetes list is still in flight;
//! - no request is made twice: the API server's request log, Keystone's and Swift's, with three
//!   BackupStorageLocations sharing one container (one token, one account HEAD, one container HEAD,
//!   one `/info`, one probe).

mod common;

use common::proxy::FaultProxy;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A lab cluster (`base` overlaid on healthy/) whose Keystone and Swift are reached through
/// logging proxies, with extra BSLs (copies of `default`, same container) named `extra`.
fn lab_cluster(base: &str, extra: &[&str], lab: &Value) -> (Cluster, FaultProxy, FaultProxy) {
    let ks = FaultProxy::start(&host_port(lab["keystone_root"].as_str().unwrap()));
    let sw = FaultProxy::start(&host_port(lab["swift_a"].as_str().unwrap()));
    let auth_url = format!("http://{}/v3", ks.addr);
    let endpoint = format!("http://{}/v1/{{account}}/", sw.addr);
    let env = lab_env(&auth_url, &[("OS_SWIFT_ENDPOINT_OVERRIDE", &endpoint)]);
    let dir = materialize(base, None);
    point_env_at_lab(dir.path(), &env, Some("{containers.main.name}"), lab);
    let mut objects = read_objects(dir.path());
    let default = objects.iter().find(|o| o["kind"] == "BackupStorageLocation").expect("healthy/ has a BSL").clone();
    for name in extra {
        let mut bsl = default.clone();
        bsl["metadata"]["name"] = Value::String(name.to_string());
        bsl["spec"]["default"] = Value::Bool(false);
        objects.push(bsl);
    }
    write_objects(dir.path(), &objects);
    (serve_dir(dir), ks, sw)
}

/// (method, path, query) → how often, for the requests made more than once.
fn api_duplicates(cluster: &Cluster) -> Vec<(String, usize)> {
    let mut seen = BTreeMap::new();
    for r in cluster.server.requests() {
        *seen.entry(format!("{} {}?{}", r.method, r.path, r.query)).or_insert(0usize) += 1;
    }
    seen.into_iter().filter(|(_, n)| *n > 1).collect()
}

/// `veldr doctor -o json` against `cluster`, started and left running (the test watches the logs meanwhile).
fn spawn_doctor(cluster: &Cluster) -> std::process::Child {
    veldr()
        .args(["doctor", "-o", "json", "--timeout", "30s", "--kubeconfig"])
        .arg(&cluster.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start veldr")
}

#[test]
fn no_request_is_made_twice() {
    let lab = lab();
    let (cluster, ks, sw) = lab_cluster("healthy", &["second", "third"], &lab);
    let out = run(&cluster, &["-o", "json", "--timeout", "30s"]);
    let report = report(&out);
    for id in ["keystone.auth", "swift.container", "swift.tempurl-key", "swift.tempurl-digest", "swift.tempurl"] {
        assert_eq!(check(&report, id)["status"], "ok", "{id}: {}", check(&report, id));
    }
    assert!(check(&report, "swift.container")["summary"].to_string().contains('3'), "three BSLs judged: {}", check(&report, "swift.container"));
    // The server logs a request once answered: give the last one a moment.
    std::thread::sleep(Duration::from_millis(100));

    assert_eq!(api_duplicates(&cluster), vec![], "the API server was asked twice");
    assert_eq!(ks.duplicates(), vec![], "Keystone was asked twice: {:?}", ks.requests());
    assert_eq!(ks.count("POST /v3/auth/tokens"), 1, "{:?}", ks.requests());
    assert_eq!(sw.duplicates(), vec![], "Swift was asked twice: {:?}", sw.requests());
    let account = format!("/v1/{}", lab["account"].as_str().unwrap());
    let container = format!("{account}/{}", lab["containers"]["main"]["name"].as_str().unwrap());
    let mut seen = sw.requests();
    seen.sort();
    let mut want = vec![
        // The plugin escapes the object name's slash (gophercloud's path escaping).
        format!("GET {container}/veldr-probe%2Fdoes-not-exist"),
        // swift.capacity's bounded listing of backups/, once for the three BSLs.
        format!("GET {container}"),
        "GET /info".to_string(),
        format!("HEAD {account}"),
        format!("HEAD {container}"),
    ];
    want.sort();
    assert_eq!(seen, want, "one request of each kind for three BSLs sharing a container");
}

#[test]
fn keystone_and_swift_are_asked_while_a_slow_list_is_still_read() {
    let lab = lab();
    // serve-slow: the API server takes 3 s to list pods.
    let (cluster, ks, sw) = lab_cluster("serve-slow", &[], &lab);
    let started = Instant::now();
    let child = spawn_doctor(&cluster);
    let pods_in_flight = || {
        cluster.server.requests().iter().any(|r| r.path == "/api/v1/namespaces/velero/pods" && r.status == 0)
    };
    let account = format!("HEAD /v1/{}", lab["account"].as_str().unwrap());
    // Seen while the pods list is still unanswered: the token request, then the first Swift request.
    let until = Instant::now() + Duration::from_secs(20);
    let mut order = Vec::new();
    while order.len() < 2 && Instant::now() < until {
        if order.is_empty() && ks.count("POST /v3/auth/tokens") == 1 {
            order.push(("token", pods_in_flight(), started.elapsed()));
        }
        if order.len() == 1 && sw.count(&account) == 1 {
            order.push(("account HEAD", pods_in_flight(), started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let report = report(&out);
    assert_eq!(order.len(), 2, "Keystone and Swift were not both asked: {order:?}; Keystone {:?}, Swift {:?}", ks.requests(), sw.requests());
    for (what, in_flight, at) in &order {
        assert!(in_flight, "the {what} request came only after the pods list was answered ({at:?})");
    }
    assert_eq!(check(&report, "swift.tempurl")["status"], "ok", "{}", check(&report, "swift.tempurl"));
    assert_eq!(check(&report, "velero.deployment")["status"], "ok", "the slow list still lands in the facts");
}

/// Runs the doctor on `cluster` and notes when each watched request first reached its proxy (from
/// the start), until all were seen or 20 s passed; then the report.
fn first_arrivals(cluster: &Cluster, watched: &[(&FaultProxy, &str)]) -> (Vec<Option<Duration>>, Value) {
    let started = Instant::now();
    let child = spawn_doctor(cluster);
    let mut seen = vec![None; watched.len()];
    let until = Instant::now() + Duration::from_secs(20);
    while seen.iter().any(Option::is_none) && Instant::now() < until {
        for (at, (proxy, request)) in seen.iter_mut().zip(watched) {
            if at.is_none() && proxy.requests().iter().any(|r| r == request) {
                *at = Some(started.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    (seen, report(&out))
}

#[test]
fn reads_that_need_a_validated_token_wait_for_swifts_first_answer() {
    // Swift validates a new token against Keystone on its first request, and again on every request
    // sent before that validation ends. keystone.auth's read of the credential's expiry (Keystone)
    // and the results of failed backups (Swift) are therefore asked once Swift has answered: here
    // every Swift answer comes 400 ms late.
    let lab = lab();
    let account = format!("HEAD /v1/{}", lab["account"].as_str().unwrap());
    let expiry = format!("GET /v3/users/{}/application_credentials/{}", lab["user"]["id"].as_str().unwrap(), lab["appcred"]["id"].as_str().unwrap());
    let partial = lab["velero_store"]["partially_failed"].as_str().unwrap();
    let results = format!("GET {}/{}/backups/{partial}/{partial}-results.gz", &account["HEAD ".len()..], lab["containers"]["main"]["name"].as_str().unwrap());

    let (cluster, ks, sw) = lab_cluster("lab-backup-failures", &[], &lab);
    sw.set(common::proxy::Mode::Delay(400));
    let (seen, report) = first_arrivals(&cluster, &[(&sw, &account), (&ks, &expiry), (&sw, &results)]);
    let [Some(head_at), Some(expiry_at), Some(results_at)] = seen[..] else {
        panic!("not all seen (account HEAD, expiry, results): {seen:?}; Keystone {:?}, Swift {:?}", ks.requests(), sw.requests());
    };
    for (what, at) in [("the expiry", expiry_at), ("the results", results_at)] {
        assert!(
            at >= head_at + Duration::from_millis(300),
            "{what}: asked {:?} after the account HEAD, before Swift could answer it (400 ms late)",
            at.saturating_sub(head_at)
        );
    }
    assert_eq!(check(&report, "keystone.auth")["status"], "ok", "{}", check(&report, "keystone.auth"));
    assert_eq!(check(&report, "backup.failures")["status"], "fail", "{}", check(&report, "backup.failures"));
    assert_eq!((ks.count(&expiry), sw.count(&results)), (1, 1), "Keystone {:?}, Swift {:?}", ks.requests(), sw.requests());
}
