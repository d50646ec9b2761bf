//! Test harness: fixture clusters served over HTTPS by the in-repo API server, the real
//! Keystone + Swift lab, and running the veldr binary against them.
#![allow(dead_code)]

pub mod proxy;
pub mod velero;

use fixture_apiserver::{Options, Server};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn clusters() -> PathBuf {
    repo().join("tests/fixtures/clusters")
}

/// Every scenario directory name, sorted.
pub fn scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(clusters())
        .expect("tests/fixtures/clusters")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    docs.into_iter()
        .filter(|d| !d.is_null())
        .flat_map(|d| if d.get("kind").and_then(Value::as_str) == Some("List") { d["items"].as_array().cloned().unwrap_or_default() } else { vec![d] })
        .collect()
}

fn object_key(v: &Value) -> (String, String, String, String) {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    (s("/apiVersion"), s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
}

fn objects_in(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('_'))
        .collect();
    files.sort();
    files.iter().flat_map(|f| yaml_docs(f)).collect()
}

/// The expectations of a scenario (`_expect.yaml`).
#[derive(Debug, Default)]
pub struct Expect {
    pub exit: Option<i32>,
    pub checks: BTreeMap<String, (String, Option<String>)>,
    /// Environment for the velero secret, with `{path.in.lab.json}` placeholders: a lab scenario.
    pub lab_env: Option<BTreeMap<String, String>>,
    pub lab_bucket: Option<String>,
    /// Every check not listed must be ok (not merely ok-or-skip).
    pub all_ok: bool,
}

pub fn expect(name: &str) -> Expect {
    let path = clusters().join(name).join("_expect.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else { return Expect::default() };
    let v: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut e = Expect { exit: v.get("exit").and_then(Value::as_i64).map(|x| x as i32), ..Default::default() };
    if let Some(checks) = v.get("checks").and_then(Value::as_object) {
        for (id, c) in checks {
            let status = c.get("status").and_then(Value::as_str).unwrap_or_else(|| panic!("{name}: {id} has no status")).to_string();
            let contains = c.get("contains").and_then(Value::as_str).map(str::to_string);
            e.checks.insert(id.clone(), (status, contains));
        }
    }
    if let Some(lab) = v.get("lab").and_then(Value::as_object) {
        e.lab_env = Some(lab.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect());
    }
    e.lab_bucket = v.get("bucket").and_then(Value::as_str).map(str::to_string);
    e.all_ok = v.get("allOk").and_then(Value::as_bool).unwrap_or(false);
    e
}

/// Builds a scenario's object set: `healthy/` overlaid with the scenario's documents, minus
/// `_remove.yaml`, written into a fresh directory the fixture server can load.
pub fn materialize(name: &str, lab: Option<&Value>) -> tempfile::TempDir {
    let base = clusters().join("healthy");
    let dir = clusters().join(name);
    let mut objects: Vec<Value> = objects_in(&base);
    // `include: [a, b]` in _expect.yaml applies other scenarios' overlays first, in order.
    let includes: Vec<String> = std::fs::read_to_string(dir.join("_expect.yaml"))
        .ok()
        .and_then(|t| serde_saphyr::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("include").and_then(Value::as_array).cloned())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut overlays: Vec<PathBuf> = includes.iter().map(|i| clusters().join(i)).collect();
    if name != "healthy" {
        overlays.push(dir.clone());
    }
    for dir in &overlays {
        for o in objects_in(dir) {
            let key = object_key(&o);
            match objects.iter_mut().find(|x| object_key(x) == key) {
                Some(slot) => *slot = o,
                None => objects.push(o),
            }
        }
        let remove = dir.join("_remove.yaml");
        if remove.exists() {
            let text = std::fs::read_to_string(&remove).unwrap();
            let list: Vec<Value> = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", remove.display()));
            for r in list {
                let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                objects.retain(|o| {
                    let (_, kind, ns, n) = object_key(o);
                    !(kind == s("kind") && n == s("name") && ns == s("namespace"))
                });
            }
        }
    }
    let server_yaml = overlays.iter().rev().map(|d| d.join("_server.yaml")).find(|p| p.exists());
    let e = expect(name);
    if let (Some(env), Some(lab)) = (&e.lab_env, lab) {
        point_at_lab(&mut objects, env, e.lab_bucket.as_deref(), lab);
    }
    let out = tempfile::tempdir().unwrap();
    let server = server_yaml.unwrap_or_else(|| base.join("_server.yaml"));
    if server.exists() {
        std::fs::copy(&server, out.path().join("_server.yaml")).unwrap();
    }
    let logs = merged_logs(std::iter::once(&base).chain(overlays.iter()));
    if !logs.is_empty() {
        std::fs::write(out.path().join("_logs.yaml"), serde_json::to_string(&logs).unwrap()).unwrap();
    }
    let text: Vec<String> = objects.iter().map(|o| serde_json::to_string(o).unwrap()).collect();
    std::fs::write(out.path().join("objects.yaml"), text.join("\n---\n")).unwrap();
    out
}

/// The container logs of `healthy/` and the overlays (`_logs.yaml`): a later entry replaces the one of the
/// same pod, container and `previous`.
fn merged_logs<'a>(dirs: impl Iterator<Item = &'a PathBuf>) -> Vec<Value> {
    let mut logs: Vec<Value> = Vec::new();
    for dir in dirs {
        let path = dir.join("_logs.yaml");
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let entries: Vec<Value> = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for e in entries {
            let key = |v: &Value| (v["namespace"].clone(), v["pod"].clone(), v["container"].clone(), v["previous"].as_bool().unwrap_or(false));
            logs.retain(|x| key(x) != key(&e));
            logs.push(e);
        }
    }
    logs
}

/// `{a.b.c}` placeholders from lab.json.
pub fn fill(template: &str, lab: &Value) -> String {
    let mut out = template.to_string();
    while let Some(start) = out.find('{') {
        let Some(len) = out[start..].find('}') else { break };
        let inner = out[start + 1..start + len].to_string();
        // `{path|flip}` changes the first character: Keystone's bcrypt reads only 72 bytes, so a
        // wrong secret must differ early.
        let (path, flip) = match inner.strip_suffix("|flip") { Some(p) => (p.to_string(), true), None => (inner.clone(), false) };
        let ptr = format!("/{}", path.replace('.', "/"));
        let value = lab.pointer(&ptr).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        let mut value = value.unwrap_or_else(|| panic!("lab.json has no {path}"));
        if flip {
            let first = if value.starts_with('X') { "Y" } else { "X" };
            value.replace_range(0..1, first);
        }
        out.replace_range(start..start + len + 1, &value);
    }
    out
}

/// Points the `cloud-credentials` secret (the one the velero container reads) and the BSL bucket at the lab.
fn point_at_lab(objects: &mut [Value], env: &BTreeMap<String, String>, bucket: Option<&str>, lab: &Value) {
    let data: serde_json::Map<String, Value> = env.iter().map(|(k, v)| (k.clone(), Value::String(fill(v, lab)))).collect();
    for o in objects.iter_mut() {
        let (_, kind, _, name) = object_key(o);
        if kind == "Secret" && name == "cloud-credentials" {
            o.as_object_mut().unwrap().remove("data");
            o["stringData"] = Value::Object(data.clone());
        }
        if kind == "BackupStorageLocation" {
            if let Some(b) = bucket {
                o["spec"]["objectStorage"]["bucket"] = Value::String(fill(b, lab));
            }
        }
    }
}

/// A fixture cluster served over HTTPS, with a kubeconfig pointing at it.
pub struct Cluster {
    pub server: Server,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    _objects: tempfile::TempDir,
}

pub fn serve(name: &str, lab: Option<&Value>) -> Cluster {
    let objects = materialize(name, lab);
    let server = Server::start_blocking(Options::new(objects.path())).unwrap_or_else(|e| panic!("scenario {name}: {e:#}"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, "fixture").unwrap();
    Cluster { server, kubeconfig, _dir: dir, _objects: objects }
}

pub fn veldr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_veldr"));
    // The operator's own environment must not leak into what is diagnosed.
    for (k, _) in std::env::vars() {
        if k.starts_with("OS_") || k == "KUBECONFIG" || k == "NO_COLOR" || k == "VELERO_NAMESPACE" {
            c.env_remove(k);
        }
    }
    c.env("HOME", std::env::temp_dir());
    c
}

pub fn run(cluster: &Cluster, args: &[&str]) -> Output {
    veldr().arg("doctor").arg("--kubeconfig").arg(&cluster.kubeconfig).args(args).output().expect("run veldr")
}

/// The lab's lab.json. Lab tests fail, loudly, when the lab is not running: start it with
/// `bash lab/lab.sh start` (the README's test command does).
pub fn lab() -> Value {
    let path = std::env::var("VELDR_LAB").unwrap_or_else(|_| "/tmp/veldr-lab/lab.json".into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("the Keystone + Swift lab is not running ({path} missing): run `bash lab/lab.sh start`, or the README's test command")
    });
    let v: Value = serde_json::from_str(&text).expect("lab.json");
    let ks = v["keystone_root"].as_str().unwrap_or_default().to_string();
    if std::net::TcpStream::connect(ks.trim_start_matches("http://")).is_err() {
        panic!("the lab described by {path} is not answering at {ks}: restart it with `bash lab/lab.sh start`");
    }
    v
}

pub fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("stdout is not a JSON report ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr))
    })
}

/// A check of a JSON report as one text: its summary, details and hint, a line each.
pub fn text_of(c: &Value) -> String {
    let mut s = c["summary"].as_str().unwrap_or_default().to_string();
    for d in c["details"].as_array().into_iter().flatten() {
        s.push('\n');
        s.push_str(d.as_str().unwrap_or_default());
    }
    s.push('\n');
    s.push_str(c["hint"].as_str().unwrap_or_default());
    s
}

pub fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id}"))
}

// ---- Variants of scenarios, built in the test (fault matrix, fault proxies, TLS) ----

/// The objects of a materialized scenario directory (what [`materialize`] wrote).
pub fn read_objects(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("objects.yaml")).expect("objects.yaml");
    text.split("\n---\n").filter(|d| !d.trim().is_empty()).map(|d| serde_json::from_str(d).expect("materialized object")).collect()
}

/// Replaces the objects of a materialized directory.
pub fn write_objects(dir: &Path, objects: &[Value]) {
    let text: Vec<String> = objects.iter().map(|o| serde_json::to_string(o).unwrap()).collect();
    std::fs::write(dir.join("objects.yaml"), text.join("\n---\n")).unwrap();
}

/// Points the velero secret (and the BSL bucket) of a materialized directory at the lab with an
/// env map given directly; values may hold lab.json placeholders (`{keystone_url}`), as in a lab
/// scenario's `lab:`.
pub fn point_env_at_lab(dir: &Path, env: &BTreeMap<String, String>, bucket: Option<&str>, lab: &Value) {
    let mut objects = read_objects(dir);
    point_at_lab(&mut objects, env, bucket, lab);
    write_objects(dir, &objects);
}

/// Serves an already materialized (and perhaps edited) directory.
pub fn serve_dir(objects: tempfile::TempDir) -> Cluster {
    let server = Server::start_blocking(Options::new(objects.path())).unwrap_or_else(|e| panic!("{}: {e:#}", objects.path().display()));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, "fixture").unwrap();
    Cluster { server, kubeconfig, _dir: dir, _objects: objects }
}

/// `base` (a scenario) with the velero secret's env set to `env` (lab placeholders filled) and the
/// BSL bucket to the lab's main container: a lab scenario built in the test.
pub fn serve_lab_env(base: &str, env: &BTreeMap<String, String>, lab: &Value) -> Cluster {
    let dir = materialize(base, None);
    point_env_at_lab(dir.path(), env, Some("{containers.main.name}"), lab);
    serve_dir(dir)
}

/// The velero secret of a lab cluster built in a test: `auth_url` (the lab's `{keystone_url}`, or a
/// proxy in front of it), the lab's application credential, region A and the main container's key
/// (sha256), with `extra` variables added or replacing these. Values may hold lab.json placeholders.
pub fn lab_env(auth_url: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = [
        ("OS_AUTH_URL", auth_url),
        ("OS_APPLICATION_CREDENTIAL_ID", "{appcred.id}"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "{appcred.secret}"),
        ("OS_REGION_NAME", "{region_a}"),
        ("OS_SWIFT_TEMP_URL_KEY", "{containers.main.key}"),
        ("OS_SWIFT_TEMP_URL_DIGEST", "sha256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// `http://host:port/...` → `host:port`: what a proxy in front of the lab forwards to.
pub fn host_port(url: &str) -> String {
    url.trim_start_matches("http://").split('/').next().unwrap().to_string()
}
