//! `veldr serve` end to end: /metrics answers while a slow doctor run is in progress, a failed or
//! timed-out run keeps the last good figures with `veldr_up 0`, port in use → exit 2, SIGTERM/SIGINT →
//! exit 0. Also the progress line of `veldr doctor` (same slow scenario): on a terminal only.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SEED: &str = "examples/seed-pitfalls.bundle.json";

/// A running `veldr serve`; killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the process to end by itself.
    fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill").arg(format!("-{sig}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(ok.success());
    }

    fn get(&self, path: &str) -> Http {
        get(self.addr, path)
    }

    /// Polls /metrics until `pred` holds.
    fn metrics_until(&self, within: Duration, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + within;
        loop {
            let m = self.get("/metrics");
            if pred(&m.body) {
                return m.body;
            }
            assert!(Instant::now() < until, "no {what} within {within:?}; last /metrics:\n{}\nstderr:\n{}", m.body, self.stderr());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Starts `veldr serve --listen 127.0.0.1:0 ARGS` and waits for `veldr: serving on http://ADDR`.
fn start(args: &[&str]) -> Served {
    let mut child = veldr()
        .current_dir(repo())
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start veldr serve");
    let stderr = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let pipe = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("veldr: serving on http://") {
                let _ = tx.send(addr.trim().to_string());
            }
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(a) => a.parse().expect("the bound address"),
        Err(_) => {
            let _ = child.kill();
            panic!("veldr serve did not print its address; stderr:\n{}", stderr.lock().unwrap());
        }
    };
    Served { child, addr, stderr }
}

struct Http {
    status: u16,
    head: String,
    body: String,
    took: Duration,
}

fn get(addr: SocketAddr, path: &str) -> Http {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect to veldr serve");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let took = t0.elapsed();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Http { status, head: head.to_string(), body: body.to_string(), took }
}

/// The value of the sample `series` (name plus labels exactly as written), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

/// Exposition text checked line by line: HELP/TYPE before samples, each family once, final newline.
fn assert_well_formed(text: &str) {
    assert!(text.ends_with('\n'), "no final newline:\n{text}");
    let mut typed = std::collections::BTreeSet::new();
    let mut seen = std::collections::BTreeSet::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let name = rest.split_whitespace().next().unwrap().to_string();
            assert!(typed.insert(name.clone()), "family {name} declared twice:\n{text}");
            continue;
        }
        if l.starts_with('#') {
            continue;
        }
        let name: String = l.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        assert!(typed.contains(&name), "sample before its TYPE: {l}");
        seen.insert(name);
        let value = l.rsplit_once(' ').map(|x| x.1).unwrap_or_default();
        assert!(value.parse::<f64>().is_ok(), "bad value in {l:?}");
    }
}

#[test]
fn metrics_are_served_while_a_slow_run_is_in_progress() {
    let cluster = serve("serve-slow", None);
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let s = start(&["--kubeconfig", &kubeconfig, "--interval", "1s", "--timeout", "20s", "--skip", "openstack"]);

    // The first run is under way (pods take 3 s): the scrape answers at once, with no verdict yet.
    let first = s.get("/metrics");
    assert_eq!(first.status, 200, "{}", first.head);
    assert!(first.head.to_lowercase().contains("content-type: text/plain; version=0.0.4"), "{}", first.head);
    assert!(first.took < Duration::from_millis(1000), "the scrape waited {:?}", first.took);
    assert!(first.body.contains("veldr_build_info{version=\""), "{}", first.body);
    assert!(!first.body.contains("veldr_check_status"), "a verdict before any run ended:\n{}", first.body);
    let health = s.get("/healthz");
    assert_eq!(health.status, 200);
    assert!(health.body.starts_with("ok"), "{}", health.body);

    // The first run ends: its figures appear.
    let done = s.metrics_until(Duration::from_secs(20), "check statuses", |b| b.contains("veldr_check_status"));
    assert_well_formed(&done);
    assert_eq!(sample(&done, "veldr_up"), Some(1.0), "{done}");
    assert_eq!(sample(&done, r#"veldr_check_status{check="velero.deployment",category="velero",severity="critical"}"#), Some(0.0), "{done}");
    assert!(sample(&done, "veldr_last_success_timestamp_seconds").is_some(), "{done}");
    assert!(sample(&done, "veldr_run_duration_seconds").unwrap() >= 2.9, "{done}");

    // Another run starts (interval 1 s); while its pods list is in flight, a scrape answers at once
    // from the last run and does not start one.
    let until = Instant::now() + Duration::from_secs(20);
    let in_flight = |c: &Cluster| c.server.requests().iter().filter(|r| r.path.ends_with("/pods") && r.status == 0).count();
    while in_flight(&cluster) == 0 {
        assert!(Instant::now() < until, "no second run started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let lists_before = cluster.server.requests().iter().filter(|r| r.path.ends_with("/pods")).count();
    let mid = s.get("/metrics");
    assert!(mid.took < Duration::from_millis(1000), "the scrape waited {:?} for the run", mid.took);
    assert_eq!(in_flight(&cluster), 1, "the run was no longer in progress during the scrape; retry on a less loaded machine");
    assert_eq!(sample(&mid.body, "veldr_up"), Some(1.0), "{}", mid.body);
    assert_eq!(sample(&mid.body, r#"veldr_check_status{check="velero.deployment",category="velero",severity="critical"}"#), Some(0.0));
    for _ in 0..5 {
        assert_eq!(s.get("/metrics").status, 200);
    }
    let lists_after = cluster.server.requests().iter().filter(|r| r.path.ends_with("/pods")).count();
    assert_eq!(lists_before, lists_after, "a scrape started a doctor run");

    assert_eq!(s.get("/nope").status, 404);
    assert!(!s.stderr().contains("panicked"), "{}", s.stderr());
}

#[test]
fn a_run_that_times_out_keeps_the_last_good_figures_with_up_0() {
    let cluster = serve("healthy", None);
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let addr = cluster.server.addr;
    let s = start(&["--kubeconfig", &kubeconfig, "--interval", "1s", "--timeout", "3s", "--skip", "openstack"]);
    let good = s.metrics_until(Duration::from_secs(20), "a completed run", |b| b.contains("veldr_check_status"));
    assert_eq!(sample(&good, "veldr_up"), Some(1.0), "{good}");
    let success = sample(&good, "veldr_last_success_timestamp_seconds").expect("veldr_last_success_timestamp_seconds");

    // The API server stops answering: connections are accepted but nothing ever comes back.
    drop(cluster.server);
    let _black_hole = std::net::TcpListener::bind(addr).expect("rebind the API server's port");
    let down = s.metrics_until(Duration::from_secs(20), "veldr_up 0", |b| sample(b, "veldr_up") == Some(0.0));
    assert_well_formed(&down);
    // The figures are the last good run's, not zeros or errors, and say when that was.
    assert_eq!(sample(&down, r#"veldr_check_status{check="velero.deployment",category="velero",severity="critical"}"#), Some(0.0), "{down}");
    assert_eq!(sample(&down, r#"veldr_check_status{check="kube.connect",category="cluster",severity="critical"}"#), Some(0.0), "{down}");
    assert_eq!(sample(&down, "veldr_last_success_timestamp_seconds"), Some(success), "{down}");
    assert!(s.stderr().contains("veldr: run failed:"), "{}", s.stderr());
    let health = s.get("/healthz");
    assert_eq!(health.status, 200, "liveness must not depend on the cluster");
    assert!(health.body.contains("last run failed"), "{}", health.body);
}

#[test]
fn an_unreachable_cluster_from_the_start_is_up_0_and_the_exporter_lives() {
    // A kubeconfig whose server refuses connections: every run fails; /metrics says so.
    let cluster = serve("healthy", None);
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    drop(cluster.server);
    let s = start(&["--kubeconfig", &kubeconfig, "--interval", "1s", "--timeout", "2s", "--skip", "openstack"]);
    let down = s.metrics_until(Duration::from_secs(20), "veldr_up 0", |b| sample(b, "veldr_up") == Some(0.0));
    assert_well_formed(&down);
    assert!(!down.contains("veldr_check_status"), "{down}");
    assert!(!down.contains("veldr_last_success_timestamp_seconds"), "{down}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(s.get("/metrics").status, 200);
}

#[test]
fn every_check_failing_is_served_and_sigterm_stops_cleanly() {
    // The seed bundle fails five checks; the exporter serves them (veldr_up 1: the run completed).
    let mut s = start(&["--from-bundle", SEED, "--interval", "1s"]);
    let m = s.metrics_until(Duration::from_secs(20), "check statuses", |b| b.contains("veldr_check_status"));
    assert_well_formed(&m);
    assert_eq!(sample(&m, "veldr_up"), Some(1.0), "{m}");
    assert_eq!(sample(&m, r#"veldr_check_status{check="credentials.env",category="credentials",severity="critical"}"#), Some(2.0), "{m}");
    s.signal("TERM");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0), "stderr:\n{}", s.stderr());
    assert!(s.stderr().contains("SIGTERM"), "{}", s.stderr());
    assert!(TcpStream::connect(s.addr).is_err(), "still listening after SIGTERM");
}

#[test]
fn sigint_stops_cleanly_even_during_a_run() {
    let cluster = serve("serve-slow", None);
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let mut s = start(&["--kubeconfig", &kubeconfig, "--skip", "openstack"]);
    std::thread::sleep(Duration::from_millis(300));
    s.signal("INT");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0), "stderr:\n{}", s.stderr());
}

#[test]
fn port_in_use_is_one_clear_line_and_exit_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = veldr()
        .current_dir(repo())
        .args(["serve", "--listen", &addr, "--from-bundle", SEED])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.contains(&addr) && stderr.contains("already in use"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn serve_binds_loopback_unless_told() {
    let out = veldr().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("127.0.0.1:9477"), "{help}");
    let bad = veldr().args(["serve", "--interval", "0s", "--from-bundle", SEED]).current_dir(repo()).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

// --- the progress line of `veldr doctor` -----------------------------------------------------------

#[test]
fn no_progress_line_when_stderr_is_not_a_terminal() {
    let cluster = serve("serve-slow", None);
    let out = run(&cluster, &["-o", "json", "--skip", "openstack"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\r') && !stderr.contains("reading"), "progress on a pipe: {stderr:?}");
    report(&out); // stdout is the report alone
}

#[test]
fn progress_line_on_a_terminal_names_what_is_still_read_and_is_cleared() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` (to get a terminal) is not installed");
        return;
    }
    let cluster = serve("serve-slow", None);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    // stderr (and stdout) on a pseudo-terminal; the report goes to a file.
    let cmd = format!(
        "{} doctor --kubeconfig '{}' --skip openstack -o json --output-file '{}'",
        env!("CARGO_BIN_EXE_veldr"),
        cluster.kubeconfig.display(),
        json.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("HOME", std::env::temp_dir())
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{tty}");
    assert!(tty.contains("\r\x1b[2Kveldr: reading pods"), "no progress line naming the pending read: {tty:?}");
    assert!(tty.trim_end().ends_with("\r\x1b[2K"), "the line is not cleared at the end: {tty:?}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["fail"], 0);
}

/// Revokes a Keystone token with itself (a user may revoke their own token): the real thing,
/// not a faked 401. Returns the HTTP status.
fn revoke(keystone_root: &str, token: &str) -> u16 {
    let mut s = TcpStream::connect(host_port(keystone_root)).expect("connect to Keystone");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "DELETE /v3/auth/tokens HTTP/1.1\r\nHost: {}\r\nX-Auth-Token: {token}\r\nX-Subject-Token: {token}\r\nConnection: close\r\n\r\n",
        host_port(keystone_root)
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("Keystone answers");
    raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The exporter keeps its Keystone token between runs (two runs, one token request) and asks for a
/// new one when Keystone refuses it (revoked); the token is never shown.
#[test]
fn serve_keeps_its_token_between_runs_and_renews_a_revoked_one() {
    let lab = lab();
    let ks = common::proxy::FaultProxy::start(&host_port(lab["keystone_root"].as_str().unwrap()));
    let auth_url = format!("http://{}/v3", ks.addr);
    let cluster = serve_lab_env("healthy", &lab_env(&auth_url, &[]), &lab);
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    // -vv: the debug log (the renewal included) goes to stderr, which must not show a token either.
    let s = start(&["--kubeconfig", &kubeconfig, "--interval", "1s", "--timeout", "20s", "-vv"]);
    // Each run reads the application credential's expiry with the token it holds.
    let runs = || ks.requests().iter().filter(|r| r.starts_with("GET /v3/users/")).count();
    let wait_for = |what: &str, pred: &dyn Fn() -> bool| {
        let until = Instant::now() + Duration::from_secs(30);
        while !pred() {
            assert!(Instant::now() < until, "{what} within 30 s; Keystone saw {:?}\nstderr:\n{}", ks.requests(), s.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    const AUTH: &str = r#"veldr_check_status{check="keystone.auth",category="openstack",severity="critical"}"#;
    const CONTAINER: &str = r#"veldr_check_status{check="swift.container",category="openstack",severity="critical"}"#;

    wait_for("two runs", &|| runs() >= 2);
    assert_eq!(ks.count("POST /v3/auth/tokens"), 1, "two runs, one token: {:?}", ks.requests());
    let m = s.metrics_until(Duration::from_secs(10), "keystone.auth", |b| sample(b, AUTH).is_some());
    assert_eq!(sample(&m, AUTH), Some(0.0), "{m}");

    // Keystone revokes the kept token: the next run is refused (401), asks for a new token, and
    // judges with it; later runs keep the new one.
    let tokens = ks.subject_tokens();
    assert_eq!(tokens.len(), 1, "one token issued");
    assert_eq!(revoke(lab["keystone_root"].as_str().unwrap(), &tokens[0]), 204, "Keystone revokes the token");
    wait_for("a new token after the revocation", &|| ks.count("POST /v3/auth/tokens") == 2);
    let after = runs();
    wait_for("two more runs", &|| runs() >= after + 2);
    assert_eq!(ks.count("POST /v3/auth/tokens"), 2, "the new token is kept: {:?}", ks.requests());
    let m = s.get("/metrics").body;
    assert_eq!(sample(&m, AUTH), Some(0.0), "{m}");
    assert_eq!(sample(&m, CONTAINER), Some(0.0), "{m}");
    assert_eq!(sample(&m, "veldr_up"), Some(1.0), "{m}");
    for t in ks.subject_tokens() {
        assert!(!s.stderr().contains(&t) && !m.contains(&t), "a token was shown");
    }
}
