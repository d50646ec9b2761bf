//! The fault matrix: veldr against a broken Kubernetes API server (the fixture server's faults) and
//! against a broken Keystone or Swift (a fault proxy in front of the real lab). For every fault:
//! the affected checks end in the expected status with a message that names the cause and the fix,
//! the unaffected checks still run, the report has every registered check, the run ends within
//! `--timeout` + 1 s, the exit code follows the contract, nothing panics, and nothing was written
//! (the API server saw only reads and SelfSubjectAccessReviews; Keystone only the token POST).

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// (check, expected status, lower-case needles its summary + details + hint must all contain)
type Expect = (&'static str, &'static str, &'static [&'static str]);

/// The check's text, lower-cased (needles are).
fn text_of(c: &Value) -> String {
    common::text_of(c).to_lowercase()
}

/// The contract's checks on one run; returns what did not hold.
fn judge(out: &Output, elapsed: Duration, timeout_s: u64, exit: i32, expect: &[Expect]) -> Vec<String> {
    let mut problems = Vec::new();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("panicked") {
        problems.push(format!("veldr panicked: {stderr}"));
    }
    if elapsed > Duration::from_secs(timeout_s + 1) {
        problems.push(format!("took {elapsed:?}, more than --timeout {timeout_s}s + 1 s"));
    }
    let Ok(report) = serde_json::from_slice::<Value>(&out.stdout) else {
        problems.push(format!("stdout is not a JSON report; exit {:?}, stderr: {stderr}", out.status.code()));
        return problems;
    };
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = checks.iter().filter_map(|c| c["id"].as_str()).collect();
    let registry: Vec<&str> = veldr::checks::REGISTRY.iter().map(|c| c.id).collect();
    if ids != registry {
        problems.push(format!("the report does not list every registered check once, in order: {ids:?}"));
    }
    let code = out.status.code().unwrap_or(-1);
    let any = |status: &str| checks.iter().any(|c| c["status"] == status);
    // The contract (--fail-on fail): a fail ⇒ 1; else an error (the run is incomplete) ⇒ 3; else 0.
    let by_contract = if any("fail") {
        1
    } else if any("error") {
        3
    } else {
        0
    };
    if code != exit {
        problems.push(format!("exit {code}, expected {exit}"));
    }
    if code != by_contract {
        problems.push(format!("exit {code} does not follow the contract (a fail ⇒ 1, else an error ⇒ 3, else 0): {by_contract}"));
    }
    for status in ["ok", "warn", "fail", "skip", "error"] {
        let n = checks.iter().filter(|c| c["status"] == status).count() as u64;
        if report["summary"][status].as_u64() != Some(n) {
            problems.push(format!("summary.{status} is {} but {n} checks are {status}", report["summary"][status]));
        }
    }
    for (id, status, needles) in expect {
        let Some(c) = checks.iter().find(|c| c["id"] == *id) else { continue };
        if c["status"] != *status {
            problems.push(format!("{id}: {} (expected {status}): {} | {}", c["status"], c["summary"], c["hint"]));
            continue;
        }
        let text = text_of(c);
        for n in *needles {
            if !text.contains(n) {
                problems.push(format!("{id}: {n:?} not in {text:?}"));
            }
        }
    }
    // Every error names what failed and what fixes it (a permission, a flag, a component to look at).
    for c in checks.iter().filter(|c| c["status"] == "error") {
        let text = text_of(c);
        let fixes = ["grant", "--timeout", "install", "check", "--insecure", "os_cacert", "run again", "kubectl"];
        if !fixes.iter().any(|f| text.contains(f)) {
            problems.push(format!("{}: an error that names no fix: {text:?}", c["id"]));
        }
    }
    problems
}

/// Only reads reached the API server (and the access reviews kube.rbac asks).
fn read_only(requests: &[fixture_apiserver::LoggedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| !(r.method == "GET" || (r.method == "POST" && r.path.ends_with("/selfsubjectaccessreviews"))))
        .map(|r| format!("write request to the API server: {} {}", r.method, r.path))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Kubernetes API faults

/// How a case breaks the healthy cluster.
#[derive(Clone, Copy)]
enum Setup {
    /// The case's `_server.yaml`: faults, RBAC denials, another expected token.
    Server(&'static str),
    /// The velero.io CRDs are not installed: the group is not served, its paths answer 404.
    NoVeleroCrds,
    /// The kubeconfig trusts another CA than the one that signed the server's certificate.
    WrongCa,
    /// Nothing listens any more where the kubeconfig points.
    Stopped,
}

struct Case {
    name: &'static str,
    setup: Setup,
    timeout_s: u64,
    exit: i32,
    expect: &'static [Expect],
    /// Pages of the velero pod list the server must have been asked for (at least).
    pod_pages: usize,
}

const CASES: &[Case] = &[
    Case {
        name: "401: the server expects another token",
        setup: Setup::Server("auth: {token: not-the-kubeconfigs-token}"),
        timeout_s: 3,
        exit: 1,
        expect: &[
            ("kube.connect", "fail", &["http 401", "credentials were refused"]),
            ("kube.crds", "skip", &["kube.connect"]),
            ("bsl.phase", "skip", &[]),
        ],
        pod_pages: 0,
    },
    Case {
        name: "403: list pods refused",
        setup: Setup::Server("rbac: [{verb: list, group: \"\", resource: pods, namespace: velero}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("kube.rbac", "warn", &["list pods in namespace velero", "grant"]),
            ("velero.deployment", "error", &["may not list pods in namespace velero", "grant veldr's identity list on pods"]),
            ("credentials.fresh", "error", &["forbidden", "grant"]),
            ("credentials.env", "ok", &[]),
            ("bsl.phase", "ok", &[]),
            ("backup.recent", "ok", &[]),
        ],
        pod_pages: 0,
    },
    Case {
        name: "403: list BackupStorageLocations refused",
        setup: Setup::Server("rbac: [{verb: list, group: velero.io, resource: backupstoragelocations}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("kube.rbac", "warn", &["backupstoragelocations.velero.io"]),
            ("bsl.phase", "error", &["may not list backupstoragelocations.velero.io", "grant"]),
            ("bsl.config", "error", &["forbidden"]),
            ("velero.deployment", "ok", &[]),
            ("backup.recent", "ok", &[]),
            ("csi.snapshot-class", "ok", &[]),
        ],
        pod_pages: 1,
    },
    Case {
        name: "403: get of the velero secret refused",
        setup: Setup::Server("rbac: [{verb: get, group: \"\", resource: secrets, namespace: velero, name: cloud-credentials}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("credentials.env", "error", &["could not read", "cloud-credentials", "grant get on secrets"]),
            ("credentials.fresh", "error", &["forbidden"]),
            ("bsl.phase", "ok", &[]),
            ("velero.deployment", "ok", &[]),
        ],
        pod_pages: 1,
    },
    Case {
        name: "404: the velero.io CRDs are not installed",
        setup: Setup::NoVeleroCrds,
        timeout_s: 3,
        exit: 1,
        expect: &[
            ("kube.crds", "fail", &["velero.io/v1", "velero install --crds-only"]),
            ("bsl.phase", "skip", &["kube.crds"]),
            ("backup.recent", "skip", &["kube.crds"]),
            ("velero.plugin", "error", &["not served", "install the crd"]),
            ("velero.deployment", "ok", &[]),
            ("csi.driver", "ok", &[]),
        ],
        pod_pages: 1,
    },
    Case {
        name: "500 on BackupStorageLocations",
        setup: Setup::Server("faults: [{group: velero.io, resource: backupstoragelocations, status: 500}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("bsl.phase", "error", &["http 500", "check its health"]),
            ("bsl.config", "error", &["http 500"]),
            ("velero.deployment", "ok", &[]),
            ("backup.recent", "ok", &[]),
            ("kube.rbac", "ok", &[]),
        ],
        pod_pages: 1,
    },
    Case {
        name: "500 on /version",
        setup: Setup::Server("faults: [{path: /version, status: 500}]"),
        timeout_s: 3,
        exit: 1,
        expect: &[("kube.connect", "fail", &["http 500", "api server is up"]), ("kube.crds", "skip", &[])],
        pod_pages: 0,
    },
    Case {
        name: "pods slower than --timeout",
        setup: Setup::Server("faults: [{group: \"\", resource: pods, delay_ms: 10000}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("velero.deployment", "error", &["list pods in namespace velero timed out", "--timeout"]),
            ("credentials.fresh", "error", &["timed out", "--timeout"]),
            ("credentials.env", "ok", &[]),
            ("bsl.phase", "ok", &[]),
            ("backup.recent", "ok", &[]),
        ],
        pod_pages: 0,
    },
    Case {
        name: "the whole server slower than --timeout (/version)",
        setup: Setup::Server("faults: [{path: /version, delay_ms: 10000}]"),
        timeout_s: 3,
        exit: 1,
        expect: &[("kube.connect", "fail", &["no answer within 3s", "--timeout"]), ("kube.crds", "skip", &[])],
        pod_pages: 0,
    },
    Case {
        name: "connection reset mid-body (deployments)",
        setup: Setup::Server("faults: [{group: apps, resource: deployments, mode: reset}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("velero.deployment", "error", &["closed the connection before the answer was complete", "network path"]),
            ("credentials.env", "error", &["deployments.apps"]),
            ("bsl.phase", "ok", &[]),
            ("csi.snapshot-class", "ok", &[]),
            ("backup.recent", "ok", &[]),
        ],
        pod_pages: 1,
    },
    Case {
        name: "malformed JSON (pods)",
        setup: Setup::Server("faults: [{group: \"\", resource: pods, mode: malformed}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("velero.deployment", "error", &["could not be decoded", "not json", "kubectl get --raw"]),
            ("credentials.fresh", "error", &["not json"]),
            ("bsl.phase", "ok", &[]),
            ("credentials.env", "ok", &[]),
        ],
        pod_pages: 1,
    },
    Case {
        name: "malformed JSON (the velero secret)",
        setup: Setup::Server("faults: [{group: \"\", resource: secrets, verb: get, mode: malformed}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("credentials.env", "error", &["could not be read", "could not be decoded", "kubectl get --raw"]),
            ("bsl.phase", "ok", &[]),
            ("velero.deployment", "ok", &[]),
        ],
        pod_pages: 1,
    },
    Case {
        name: "wrong CA in the kubeconfig",
        setup: Setup::WrongCa,
        timeout_s: 3,
        exit: 1,
        expect: &[("kube.connect", "fail", &["tls failure", "ca in the kubeconfig", "certificate"]), ("kube.crds", "skip", &[])],
        pod_pages: 0,
    },
    Case {
        name: "API server stopped",
        setup: Setup::Stopped,
        timeout_s: 3,
        exit: 1,
        expect: &[("kube.connect", "fail", &["refused"]), ("bsl.phase", "skip", &[])],
        pod_pages: 0,
    },
    Case {
        name: "huge list: 20000 pods, paged, slower than --timeout",
        setup: Setup::Server("faults: [{group: \"\", resource: pods, mode: huge, count: 20000}]"),
        timeout_s: 3,
        exit: 3,
        expect: &[
            ("velero.deployment", "error", &["list pods in namespace velero timed out", "--timeout"]),
            ("bsl.phase", "ok", &[]),
            ("credentials.env", "ok", &[]),
        ],
        pod_pages: 2,
    },
    Case {
        name: "huge list: 1500 pods, paged to the end",
        setup: Setup::Server("faults: [{group: \"\", resource: pods, mode: huge, count: 1500}]"),
        timeout_s: 20,
        exit: 0,
        expect: &[("velero.deployment", "ok", &[]), ("credentials.fresh", "ok", &[]), ("bsl.phase", "ok", &[])],
        pod_pages: 3,
    },
];

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// The cluster of a case, and the kubeconfig to use for it.
fn cluster_for(setup: Setup, scratch: &Path) -> (Option<Cluster>, std::path::PathBuf) {
    match setup {
        Setup::Server(yaml) => {
            let dir = materialize("healthy", None);
            std::fs::write(dir.path().join("_server.yaml"), yaml).unwrap();
            let c = serve_dir(dir);
            let kc = c.kubeconfig.clone();
            (Some(c), kc)
        }
        Setup::NoVeleroCrds => {
            let dir = materialize("healthy", None);
            let mut objects = read_objects(dir.path());
            objects.retain(|o| !(o["kind"] == "CustomResourceDefinition" && o["spec"]["group"] == "velero.io"));
            write_objects(dir.path(), &objects);
            let c = serve_dir(dir);
            let kc = c.kubeconfig.clone();
            (Some(c), kc)
        }
        Setup::WrongCa => {
            let c = serve("healthy", None);
            let other = serve("healthy", None);
            let yaml = c.server.kubeconfig_yaml("fixture");
            assert!(yaml.contains(&b64(&c.server.ca_pem)));
            let kc = scratch.join("kubeconfig-wrong-ca");
            std::fs::write(&kc, yaml.replace(&b64(&c.server.ca_pem), &b64(&other.server.ca_pem))).unwrap();
            (Some(c), kc)
        }
        Setup::Stopped => {
            let c = serve("healthy", None);
            let kc = scratch.join("kubeconfig-stopped");
            std::fs::write(&kc, c.server.kubeconfig_yaml("fixture")).unwrap();
            drop(c);
            (None, kc)
        }
    }
}

#[test]
fn api_server_fault_matrix() {
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in CASES {
        let (cluster, kubeconfig) = cluster_for(case.setup, scratch.path());
        let timeout = format!("{}s", case.timeout_s);
        let started = Instant::now();
        let out = veldr()
            .args(["doctor", "-o", "json", "--skip", "openstack", "--timeout", timeout.as_str(), "--kubeconfig"])
            .arg(&kubeconfig)
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        let mut problems = judge(&out, elapsed, case.timeout_s, case.exit, case.expect);
        if let Some(c) = &cluster {
            let requests = c.server.requests();
            problems.extend(read_only(&requests));
            let pod_lists: Vec<_> = requests.iter().filter(|r| r.path == "/api/v1/namespaces/velero/pods").collect();
            if pod_lists.len() < case.pod_pages {
                problems.push(format!("pods listed in {} request(s), expected at least {} pages", pod_lists.len(), case.pod_pages));
            }
            if case.pod_pages > 1 {
                if !pod_lists.iter().all(|r| r.query.contains("limit=500")) {
                    problems.push("a pod list was not paged with limit=500".into());
                }
                if !pod_lists.iter().skip(1).all(|r| r.query.contains("continue=")) {
                    problems.push("the pages after the first did not carry continue=".into());
                }
            }
        }
        // The table renders too, with every check, and exits the same way.
        if elapsed < Duration::from_secs(1) {
            let table = veldr().args(["doctor", "--skip", "openstack", "--timeout", timeout.as_str(), "--kubeconfig"]).arg(&kubeconfig).output().unwrap();
            let text = String::from_utf8_lossy(&table.stdout);
            if table.status.code() != out.status.code() {
                problems.push(format!("-o table exits {:?}, -o json {:?}", table.status.code(), out.status.code()));
            }
            for def in veldr::checks::REGISTRY {
                if !text.contains(def.id) {
                    problems.push(format!("-o table lacks {}", def.id));
                }
            }
        }
        eprintln!("{:<58} {:>6} ms  exit {:?}", case.name, elapsed.as_millis(), out.status.code());
        failures.extend(problems.into_iter().map(|p| format!("[{}] {p}", case.name)));
    }
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Keystone and Swift faults: a fault proxy in front of the lab

use common::proxy::{FaultProxy, Mode};

/// One run of veldr against a lab cluster, all checks, judged like the matrix above.
fn lab_run(cluster: &Cluster, timeout_s: u64, exit: i32, expect: &[Expect]) -> Vec<String> {
    let timeout = format!("{timeout_s}s");
    let started = Instant::now();
    let out = run(cluster, &["-o", "json", "--timeout", timeout.as_str()]);
    let elapsed = started.elapsed();
    if let Ok(report) = serde_json::from_slice::<Value>(&out.stdout) {
        for c in report["checks"].as_array().into_iter().flatten().filter(|c| c["category"] == "openstack" && c["status"] != "ok") {
            eprintln!("    {} {}: {} | {}", c["status"], c["id"], c["summary"], c["hint"]);
        }
    }
    let mut problems = judge(&out, elapsed, timeout_s, exit, expect);
    problems.extend(read_only(&cluster.server.requests()));
    problems
}

/// An incomplete run (`erroring` ended error, nothing failed) in the other outputs: the Nagios status
/// line says "incomplete" and names them (exit 3, UNKNOWN), and `--fail-on error` exits 1.
fn incomplete_run_outputs(cluster: &Cluster, erroring: &[&str]) -> Vec<String> {
    let timeout = format!("{LAB_TIMEOUT}s");
    let mut problems = Vec::new();
    let out = run(cluster, &["-o", "nagios", "--timeout", timeout.as_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    if out.status.code() != Some(3) || !first.starts_with("VELDR UNKNOWN - incomplete: ") || !first.contains("did not answer within") {
        problems.push(format!("-o nagios: exit {:?}, first line {first:?}", out.status.code()));
    }
    for id in erroring {
        if !first.split(" | ").next().unwrap_or_default().contains(id) {
            problems.push(format!("-o nagios: the status line does not name {id}: {first:?}"));
        }
    }
    let out = run(cluster, &["-o", "json", "--fail-on", "error", "--timeout", timeout.as_str()]);
    if out.status.code() != Some(1) {
        problems.push(format!("--fail-on error: exit {:?}, expected 1", out.status.code()));
    }
    problems
}

const LAB_TIMEOUT: u64 = 4;
/// Slower than any --timeout used here.
const SLOW: Mode = Mode::Delay(10_000);

#[test]
fn keystone_faults_through_a_proxy() {
    let lab = lab();
    let ks = FaultProxy::start(&host_port(lab["keystone_root"].as_str().unwrap()));
    let auth_url = format!("http://{}/v3", ks.addr);
    let cluster = serve_lab_env("healthy", &lab_env(&auth_url, &[]), &lab);
    let cases: &[(Mode, i32, &[Expect])] = &[
        (Mode::Pass, 0, &[("keystone.auth", "ok", &[]), ("swift.tempurl", "ok", &[])]),
        (
            SLOW,
            3,
            &[
                (
                    "keystone.auth",
                    "error",
                    &["no token from keystone", "did not answer within", "--timeout", "keystone's failure too", "no deadline", "bsl validation hangs", "stay inprogress"],
                ),
                ("keystone.catalog", "skip", &["keystone.auth"]),
                ("swift.container", "skip", &[]),
                ("bsl.phase", "ok", &[]),
                ("credentials.env", "ok", &[]),
            ],
        ),
        (Mode::Unavailable, 1, &[("keystone.auth", "fail", &["no token from keystone", "http 503"]), ("swift.container", "skip", &[]), ("bsl.phase", "ok", &[])]),
        (Mode::Reset, 1, &[("keystone.auth", "fail", &["keystone unreachable", "reset the connection"]), ("swift.container", "skip", &[]), ("bsl.phase", "ok", &[])]),
        (Mode::Truncate, 1, &[("keystone.auth", "fail", &["keystone answered, but the answer was cut short"]), ("swift.container", "skip", &[]), ("bsl.phase", "ok", &[])]),
    ];
    let mut failures = Vec::new();
    for (mode, exit, expect) in cases {
        ks.set(*mode);
        let started = Instant::now();
        let mut problems = lab_run(&cluster, LAB_TIMEOUT, *exit, expect);
        if *mode == SLOW {
            problems.extend(incomplete_run_outputs(&cluster, &["keystone.auth"]));
        }
        eprintln!("keystone {mode:?}: {} ms", started.elapsed().as_millis());
        failures.extend(problems.into_iter().map(|p| format!("[keystone {mode:?}] {p}")));
    }
    // Read-only towards Keystone: the token request, and GETs (the application credential's expiry).
    let seen = ks.requests();
    assert!(seen.iter().any(|r| r == "POST /v3/auth/tokens"), "{seen:?}");
    assert!(seen.iter().any(|r| r.starts_with("GET /v3/users/") && r.contains("/application_credentials/")), "{seen:?}");
    for r in &seen {
        if !(r.starts_with("GET ") || r.starts_with("HEAD ") || r == "POST /v3/auth/tokens") {
            failures.push(format!("write request to Keystone: {r}"));
        }
    }
    eprintln!("Keystone saw: {seen:?}");
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn swift_faults_through_a_proxy() {
    let lab = lab();
    let sw = FaultProxy::start(&host_port(lab["swift_a"].as_str().unwrap()));
    let endpoint = format!("http://{}/v1/{{account}}/", sw.addr);
    let cluster = serve_lab_env("healthy", &lab_env("{keystone_url}", &[("OS_SWIFT_ENDPOINT_OVERRIDE", &endpoint)]), &lab);
    let cases: &[(Mode, i32, &[Expect])] = &[
        (Mode::Pass, 0, &[("keystone.catalog", "ok", &["os_swift_endpoint_override"]), ("swift.container", "ok", &[]), ("swift.tempurl", "ok", &[])]),
        (
            SLOW,
            3,
            &[
                ("keystone.auth", "ok", &[]),
                ("swift.container", "error", &["did not answer within", "--timeout", "swift's failure too", "stay inprogress"]),
                ("swift.tempurl", "error", &["did not answer within", "no deadline", "rollout restart"]),
                ("bsl.phase", "ok", &[]),
            ],
        ),
        (Mode::Unavailable, 1, &[("keystone.auth", "ok", &[]), ("swift.container", "fail", &["http 503"]), ("bsl.phase", "ok", &[])]),
        (Mode::Reset, 1, &[("keystone.auth", "ok", &[]), ("swift.container", "fail", &["swift unreachable", "reset the connection"]), ("bsl.phase", "ok", &[])]),
        (
            Mode::Truncate,
            1,
            &[("keystone.auth", "ok", &[]), ("swift.tempurl-digest", "fail", &["/info", "cut short"]), ("swift.tempurl", "fail", &["cut short"])],
        ),
    ];
    let mut failures = Vec::new();
    for (mode, exit, expect) in cases {
        sw.set(*mode);
        let started = Instant::now();
        let mut problems = lab_run(&cluster, LAB_TIMEOUT, *exit, expect);
        if *mode == SLOW {
            problems.extend(incomplete_run_outputs(&cluster, &["swift.container", "swift.tempurl-digest", "swift.tempurl"]));
        }
        eprintln!("swift {mode:?}: {} ms", started.elapsed().as_millis());
        failures.extend(problems.into_iter().map(|p| format!("[swift {mode:?}] {p}")));
    }
    // Read-only towards Swift: HEAD and GET only (the probe asks for an object that does not exist).
    let seen = sw.requests();
    assert!(seen.iter().any(|r| r.starts_with("HEAD /v1/")), "{seen:?}");
    for r in &seen {
        if !(r.starts_with("GET ") || r.starts_with("HEAD ")) {
            failures.push(format!("write request to Swift: {r}"));
        }
    }
    eprintln!("Swift saw: {seen:?}");
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// An odd object: a Secret that does not decode as a Secret

/// kube's typed calls log a body that does not decode, whole, at WARN (default verbosity): for the
/// velero secret that is every credential, base64-encoded. veldr decodes reads itself and never
/// echoes a body; the check says what is wrong instead.
#[test]
fn an_undecodable_secret_is_an_error_and_is_never_echoed() {
    let dir = materialize("healthy", None);
    let mut objects = read_objects(dir.path());
    let secret = objects.iter_mut().find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "cloud-credentials").expect("cloud-credentials");
    secret["immutable"] = Value::from("not-a-bool");
    let values: Vec<String> = secret["stringData"].as_object().expect("stringData").values().filter_map(Value::as_str).map(str::to_string).collect();
    write_objects(dir.path(), &objects);
    let cluster = serve_dir(dir);
    let mut needles: Vec<String> = Vec::new();
    for v in values.iter().filter(|v| v.len() >= 8 && !v.starts_with("http")) {
        needles.push(v.clone());
        needles.push(b64(v));
    }
    assert!(needles.len() >= 6, "{needles:?}");
    for verbosity in [&[][..], &["-vv"][..]] {
        let mut args = vec!["-o", "json", "--skip", "openstack", "--timeout", "5s"];
        args.extend_from_slice(verbosity);
        let out = run(&cluster, &args);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        for n in &needles {
            assert!(!stderr.contains(n.as_str()), "{verbosity:?}: stderr carries a secret value ({}…)", &n[..4]);
            assert!(!stdout.contains(n.as_str()), "{verbosity:?}: the report carries a secret value ({}…)", &n[..4]);
        }
        let problems = judge(
            &out,
            Duration::ZERO,
            5,
            3,
            &[
                ("credentials.env", "error", &["could not be decoded", "unexpected type", "kubectl get --raw"]),
                ("credentials.fresh", "error", &["unexpected type"]),
                ("bsl.phase", "ok", &[]),
            ],
        );
        assert!(problems.is_empty(), "{verbosity:?}: {problems:?}");
    }
}
