//! deploy/rbac.yaml is exactly what veldr needs: every request veldr makes against the fixture
//! clusters is replayed against the rules (authorized as the API server's RBAC authorizer would), and
//! every permission the rules grant is used by at least one request. A new read without its rule fails
//! this test; so does a rule nothing uses. Also lints the other manifests in deploy/.
//!
//! Least privilege by default: deploy/rbac.yaml grants no list or watch on Secrets anywhere. The one
//! read that needs a list of them (the Helm release records, for the Helm-values hints) is granted by
//! the opt-in deploy/rbac-helm-hints.yaml; with the default alone, veldr's verdicts are those of the
//! full grant (no check ends in error, kube.rbac notes the optional grant).
//!
//! `veldr verify` writes (a Backup, a DeleteBackupRequest) and watches both: its grants are the opt-in
//! deploy/rbac-verify.yaml, replayed here against a verify run on the lab with the Velero stand-in.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const SA_NAME: &str = "veldr";
const SA_NAMESPACE: &str = "velero";

/// Scenarios replayed: every fixture cluster whose Velero reads the secret deploy/rbac.yaml names
/// (`cloud-credentials`), the lab ones aside (the lab only changes what Keystone and Swift see).
fn replayed() -> Vec<String> {
    let names: Vec<String> = scenarios()
        .into_iter()
        .filter(|n| expect(n).lab_env.is_none())
        // Names its own secret (`openstack-credentials`): sites edit resourceNames; checked below.
        .filter(|n| n != "velero-missing-secret")
        .collect();
    assert!(names.iter().any(|n| n == "healthy") && names.iter().any(|n| n == "helm-podenvfrom"));
    names
}

/// What the API server's request-info resolver makes of a request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Request {
    /// Discovery and health (/version, /api, /apis/…): allowed to every authenticated user by the
    /// default system:discovery / system:public-info-viewer bindings.
    NonResource(String),
    Resource(Attributes),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Attributes {
    verb: String,
    group: String,
    /// `pods`, or `pods/log` for a subresource.
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
}

impl std::fmt::Display for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, if self.group.is_empty() { self.resource.clone() } else { format!("{}.{}", self.resource, self.group) })?;
        if let Some(n) = &self.name {
            write!(f, " {n:?}")?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " in namespace {ns}"),
            None => write!(f, " at the cluster scope"),
        }
    }
}

/// Mirrors k8s.io/apiserver's RequestInfoFactory for the paths veldr uses.
fn classify(method: &str, path: &str, query: &str) -> Request {
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let rest: &[&str] = match segs.as_slice() {
        ["api", _version, rest @ ..] if !rest.is_empty() => rest,
        ["apis", _group, _version, rest @ ..] if !rest.is_empty() => rest,
        _ => return Request::NonResource(path.to_string()),
    };
    let group = if segs[0] == "api" { "" } else { segs[1] };
    let mut namespace = None;
    let mut parts = rest;
    if parts[0] == "namespaces" && parts.len() > 1 {
        namespace = Some(parts[1].to_string());
        if parts.len() > 2 {
            parts = &parts[2..];
        }
    }
    let name = parts.get(1).map(|s| s.to_string());
    let resource = match parts.get(2) {
        Some(sub) => format!("{}/{sub}", parts[0]),
        None => parts[0].to_string(),
    };
    let watch = query.split('&').any(|p| p == "watch=true" || p == "watch=1");
    let verb = match (method, name.is_some()) {
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) if watch => "watch",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        (other, _) => panic!("unexpected method {other} {path}"),
    };
    Request::Resource(Attributes { verb: verb.into(), group: group.into(), resource, namespace, name })
}

/// One permission a rule grants: verb × group × resource (× resource name), at a scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Atom {
    /// None: cluster-wide (ClusterRoleBinding); Some(ns): only in that namespace (RoleBinding).
    scope: Option<String>,
    verb: String,
    group: String,
    resource: String,
    name: Option<String>,
    /// Where it comes from, for messages.
    from: String,
}

impl Atom {
    fn allows(&self, a: &Attributes) -> bool {
        let scope_ok = match &self.scope {
            None => true,
            Some(ns) => a.namespace.as_deref() == Some(ns),
        };
        scope_ok
            && self.verb == a.verb
            && self.group == a.group
            && self.resource == a.resource
            && match &self.name {
                None => true,
                Some(n) => a.name.as_deref() == Some(n),
            }
    }
}

fn strs(v: &Value, key: &str) -> Vec<String> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn deploy_docs(file: &str) -> Vec<Value> {
    let path = repo().join("deploy").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The default RBAC, and the opt-in file on top of it.
const DEFAULT: &[&str] = &["rbac.yaml"];
const WITH_HELM_HINTS: &[&str] = &["rbac.yaml", "rbac-helm-hints.yaml"];

/// The permissions the given deploy/ files give the veldr ServiceAccount, expanded to atoms.
fn granted(files: &[&str]) -> Vec<Atom> {
    let mut atoms = Vec::new();
    for file in files {
        atoms.extend(granted_by(file));
    }
    atoms
}

fn granted_by(file: &str) -> Vec<Atom> {
    let docs = deploy_docs(file);
    let role = |kind: &str, name: &str, ns: Option<&str>| -> &Value {
        docs.iter()
            .find(|d| s(d, "/kind") == kind && s(d, "/metadata/name") == name && (ns.is_none() || s(d, "/metadata/namespace") == ns.unwrap()))
            .unwrap_or_else(|| panic!("{file}: a binding names {kind} {name}, which is not in the file"))
    };
    let mut atoms = Vec::new();
    for b in docs.iter().filter(|d| matches!(s(d, "/kind"), "RoleBinding" | "ClusterRoleBinding")) {
        let ours = b["subjects"].as_array().into_iter().flatten().any(|sub| {
            s(sub, "/kind") == "ServiceAccount" && s(sub, "/name") == SA_NAME && s(sub, "/namespace") == SA_NAMESPACE
        });
        if !ours {
            continue;
        }
        let scope = (s(b, "/kind") == "RoleBinding").then(|| s(b, "/metadata/namespace").to_string());
        let (kind, name) = (s(b, "/roleRef/kind"), s(b, "/roleRef/name"));
        let r = role(kind, name, if kind == "Role" { scope.as_deref() } else { None });
        for (i, rule) in r["rules"].as_array().expect("rules").iter().enumerate() {
            let names = strs(rule, "resourceNames");
            assert!(rule.get("nonResourceURLs").is_none(), "{kind} {name} rule {i}: nonResourceURLs are not needed (discovery is allowed by default)");
            for verb in strs(rule, "verbs") {
                for group in strs(rule, "apiGroups") {
                    for resource in strs(rule, "resources") {
                        for w in [&verb, &group, &resource] {
                            assert!(!w.contains('*'), "{kind} {name} rule {i}: wildcard {w:?} grants more than veldr needs");
                        }
                        let mut push = |n: Option<String>| {
                            atoms.push(Atom {
                                scope: scope.clone(),
                                verb: verb.clone(),
                                group: group.clone(),
                                resource: resource.clone(),
                                name: n,
                                from: format!("{file}: {} {kind}/{name} rule {i}", s(b, "/kind")),
                            })
                        };
                        if names.is_empty() {
                            push(None);
                        } else {
                            for n in &names {
                                push(Some(n.clone()));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(!atoms.is_empty(), "{file} binds nothing to ServiceAccount {SA_NAMESPACE}/{SA_NAME}");
    atoms
}

const DOCTOR: &[&str] = &["-o", "json", "--skip", "openstack", "--timeout", "20s"];

/// The resource requests a run made against `cluster`.
fn requests_to(name: &str, cluster: &Cluster) -> Vec<(Attributes, String)> {
    let mut got = Vec::new();
    for r in cluster.server.requests() {
        if let Request::Resource(a) = classify(&r.method, &r.path, &r.query) {
            got.push((a, format!("{} {}?{}", r.method, r.path, r.query)));
        }
    }
    assert!(!got.is_empty(), "[{name}] no request logged");
    got
}

/// Runs veldr against one scenario and returns its report and the resource requests it made.
fn doctor(name: &str, cluster: &Cluster) -> Value {
    let out = run(cluster, DOCTOR);
    assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "[{name}] veldr exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    report(&out)
}

/// Runs veldr against one scenario and returns the resource requests it made.
fn requests_of(name: &str) -> Vec<(Attributes, String)> {
    let cluster = serve(name, None);
    doctor(name, &cluster);
    requests_to(name, &cluster)
}

/// The scenario served by an API server that also refuses `denied` (a `_server.yaml` rbac entry).
fn serve_denying(name: &str, denied: Value) -> Cluster {
    let dir = materialize(name, None);
    let path = dir.path().join("_server.yaml");
    let mut config: Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        Err(_) => serde_json::json!({}),
    };
    if config.is_null() {
        config = serde_json::json!({});
    }
    match config.get_mut("rbac").and_then(Value::as_array_mut) {
        Some(rules) => rules.push(denied),
        None => config["rbac"] = Value::Array(vec![denied]),
    }
    // JSON is YAML.
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    serve_dir(dir)
}

/// What an RBAC-restricted run is compared on: each check's status.
fn statuses(report: &Value) -> Vec<(String, String)> {
    report["checks"].as_array().unwrap().iter().map(|c| (c["id"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string())).collect()
}

#[test]
fn the_request_classifier_reads_paths_as_the_api_server_does() {
    let a = |verb: &str, group: &str, resource: &str, ns: Option<&str>, name: Option<&str>| {
        Request::Resource(Attributes {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: ns.map(Into::into),
            name: name.map(Into::into),
        })
    };
    assert_eq!(classify("GET", "/version", ""), Request::NonResource("/version".into()));
    assert_eq!(classify("GET", "/apis", ""), Request::NonResource("/apis".into()));
    assert_eq!(classify("GET", "/apis/velero.io/v1", ""), Request::NonResource("/apis/velero.io/v1".into()));
    assert_eq!(classify("GET", "/api/v1", ""), Request::NonResource("/api/v1".into()));
    assert_eq!(classify("GET", "/api/v1/namespaces/velero/pods", "limit=500"), a("list", "", "pods", Some("velero"), None));
    assert_eq!(classify("GET", "/api/v1/namespaces/velero/pods", "watch=true"), a("watch", "", "pods", Some("velero"), None));
    assert_eq!(classify("GET", "/api/v1/namespaces/velero/secrets/x", ""), a("get", "", "secrets", Some("velero"), Some("x")));
    assert_eq!(classify("GET", "/api/v1/namespaces/velero/pods/p/log", ""), a("get", "", "pods/log", Some("velero"), Some("p")));
    assert_eq!(classify("GET", "/apis/apps/v1/deployments", ""), a("list", "apps", "deployments", None, None));
    assert_eq!(classify("GET", "/api/v1/persistentvolumes/pv1", ""), a("get", "", "persistentvolumes", None, Some("pv1")));
    // A namespace object: its own name is the request's namespace, as in the API server.
    assert_eq!(classify("GET", "/api/v1/namespaces/velero", ""), a("get", "", "namespaces", Some("velero"), Some("velero")));
    assert_eq!(classify("GET", "/api/v1/namespaces", ""), a("list", "", "namespaces", None, None));
    assert_eq!(
        classify("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ""),
        a("create", "authorization.k8s.io", "selfsubjectaccessreviews", None, None)
    );
}

#[test]
fn the_replay_catches_a_request_without_its_rule() {
    let atoms = granted(WITH_HELM_HINTS);
    let allowed = |r: Request| match r {
        Request::NonResource(_) => true,
        Request::Resource(a) => atoms.iter().any(|x| x.allows(&a)),
    };
    // What veldr reads today is allowed…
    assert!(allowed(classify("GET", "/api/v1/namespaces/velero/secrets/cloud-credentials", "")));
    assert!(allowed(classify("GET", "/api/v1/namespaces/velero/pods", "limit=500")));
    // …and reads it does not make are not: another secret, a config map, pods of another namespace,
    // any write, a watch.
    assert!(!allowed(classify("GET", "/api/v1/namespaces/velero/secrets/other", "")));
    assert!(!allowed(classify("GET", "/api/v1/namespaces/velero/configmaps", "")));
    assert!(!allowed(classify("GET", "/api/v1/namespaces/default/pods", "")));
    assert!(!allowed(classify("GET", "/api/v1/pods", "")));
    assert!(!allowed(classify("DELETE", "/apis/velero.io/v1/namespaces/velero/backups/b", "")));
    assert!(!allowed(classify("GET", "/apis/velero.io/v1/namespaces/velero/backups", "watch=true")));
    // vSphere CSI: its config secret and feature states by name, in its namespaces only; never a list
    // of the secrets there, nor another secret.
    for ns in ["vmware-system-csi", "kube-system"] {
        assert!(allowed(classify("GET", &format!("/api/v1/namespaces/{ns}/secrets/vsphere-config-secret"), "")));
        assert!(allowed(classify("GET", &format!("/api/v1/namespaces/{ns}/configmaps/internal-feature-states.csi.vsphere.vmware.com"), "")));
        assert!(!allowed(classify("GET", &format!("/api/v1/namespaces/{ns}/secrets"), "")));
        assert!(!allowed(classify("GET", &format!("/api/v1/namespaces/{ns}/secrets/vsphere-csi-webhook-certs"), "")));
        assert!(!allowed(classify("GET", &format!("/api/v1/namespaces/{ns}/configmaps"), "")));
    }
    assert!(!allowed(classify("GET", "/api/v1/namespaces/default/secrets/vsphere-config-secret", "")));
    assert!(!allowed(classify("GET", "/api/v1/secrets", "")));
    // A scenario whose Velero names another secret: exactly that read is refused by the shipped rules.
    let denied: BTreeSet<String> = requests_of("velero-missing-secret")
        .into_iter()
        .filter(|(a, _)| !atoms.iter().any(|x| x.allows(a)))
        .map(|(a, _)| a.to_string())
        .collect();
    assert_eq!(denied.into_iter().collect::<Vec<_>>(), vec![r#"get secrets "openstack-credentials" in namespace velero"#.to_string()]);
}

/// The default RBAC lets no one read secrets in bulk: no list or watch on secrets in any scope, and
/// every `get` on secrets names its secret.
#[test]
fn the_default_rbac_grants_no_list_or_watch_on_secrets() {
    let atoms = granted(DEFAULT);
    let bulk: Vec<String> = atoms
        .iter()
        .filter(|a| a.group.is_empty() && a.resource == "secrets" && (matches!(a.verb.as_str(), "list" | "watch") || a.name.is_none()))
        .map(|a| format!("{} secrets{} ({})", a.verb, a.scope.as_ref().map(|n| format!(" in namespace {n}")).unwrap_or_else(|| " cluster-wide".into()), a.from))
        .collect();
    assert!(bulk.is_empty(), "deploy/rbac.yaml grants bulk reads of secrets (least privilege: move them to an opt-in file):\n{}", bulk.join("\n"));
    assert!(atoms.iter().any(|a| a.resource == "secrets" && a.verb == "get" && a.name.as_deref() == Some("cloud-credentials")), "the credentials secret, get by name");
    // The opt-in file holds exactly the Helm records' list, in the Velero namespace.
    let opt_in = granted_by("rbac-helm-hints.yaml");
    let opt: Vec<(Option<&str>, &str, &str, &str, Option<&str>)> =
        opt_in.iter().map(|a| (a.scope.as_deref(), a.verb.as_str(), a.group.as_str(), a.resource.as_str(), a.name.as_deref())).collect();
    assert_eq!(opt, vec![(Some(SA_NAMESPACE), "list", "", "secrets", None)], "deploy/rbac-helm-hints.yaml");
}

/// With the default RBAC alone, the one request refused is the Helm records' list, and it changes no
/// verdict beyond the Helm hints: no check ends in error for it, kube.rbac stays ok and notes the
/// optional grant, a Helm-specific hint becomes the generic one. The one verdict that may change is a
/// finding made of Helm values alone (vsl.config's VolumeSnapshotLocation that only a failed `helm
/// upgrade` defines): without the values there is nothing to judge, and the check says so.
#[test]
fn the_default_rbac_refuses_only_the_helm_records_and_changes_no_verdict() {
    let atoms = granted(DEFAULT);
    let helm_list = serde_json::json!({"verb": "list", "resource": "secrets", "namespace": SA_NAMESPACE});
    let mut hints_lost = BTreeSet::new();
    let mut helm_values_alone = BTreeSet::new();
    for name in replayed() {
        // Everything granted (the default + the opt-in file: the replay test proves it allows every request).
        let full = serve(&name, None);
        let granted_report = doctor(&name, &full);
        let refused: BTreeSet<String> =
            requests_to(&name, &full).into_iter().filter(|(a, _)| !atoms.iter().any(|x| x.allows(a))).map(|(_, raw)| raw).collect();
        for raw in &refused {
            assert!(
                raw.starts_with(&format!("GET /api/v1/namespaces/{SA_NAMESPACE}/secrets?")) && raw.contains("labelSelector=owner%3Dhelm"),
                "[{name}] the default RBAC refuses {raw}, which is not the Helm records' list"
            );
        }
        // The API server enforcing the default: the Helm records' list refused.
        let restricted = serve_denying(&name, helm_list.clone());
        let default_report = doctor(&name, &restricted);
        for ((id, with), (_, without)) in statuses(&granted_report).into_iter().zip(statuses(&default_report)) {
            if with == without {
                continue;
            }
            let g = check(&granted_report, &id);
            let d = check(&default_report, &id);
            let helm_alone = id == "vsl.config" && g["summary"].as_str().unwrap().starts_with("Helm values define");
            let said = d["details"].as_array().unwrap().iter().filter_map(Value::as_str).any(|l| l.contains("deploy/rbac-helm-hints.yaml"));
            assert!(
                helm_alone && without == "ok" && said,
                "[{name}] the default RBAC changed {id} from {with} to {without}:\n  granted: {g}\n  default: {d}"
            );
            helm_values_alone.insert(format!("{name}: {id}"));
        }
        let errors = |r: &Value| statuses(r).into_iter().filter(|(_, st)| st == "error").map(|(id, _)| id).collect::<Vec<_>>();
        assert_eq!(errors(&default_report), errors(&granted_report), "[{name}] a check ended in error under the default RBAC");
        assert_eq!(default_report["summary"]["error"], granted_report["summary"]["error"], "[{name}]");
        let rbac = check(&default_report, "kube.rbac");
        let note = rbac["details"].as_array().unwrap().iter().filter_map(Value::as_str).find(|d| d.starts_with("optional grant absent"));
        assert!(note.is_some_and(|n| n.contains("deploy/rbac-helm-hints.yaml")), "[{name}] kube.rbac does not note the optional grant: {rbac}");
        for (g, d) in granted_report["checks"].as_array().unwrap().iter().zip(default_report["checks"].as_array().unwrap()) {
            if g["hint"] != d["hint"] {
                hints_lost.insert(format!("{name}: {}", g["id"].as_str().unwrap()));
            }
        }
    }
    // The scenario built on a Helm value shows the difference: its fix named the value, now it cannot.
    assert!(hints_lost.contains("helm-podenvfrom: credentials.env"), "{hints_lost:?}");
    // A failed `helm upgrade` (a VSL with an empty provider in the values only) is the one finding made
    // of Helm values alone: the seed's, and the scenario made for it.
    assert_eq!(helm_values_alone.into_iter().collect::<Vec<_>>(), ["seed-pitfalls: vsl.config", "vsl-empty-provider: vsl.config"]);
}

#[test]
fn rbac_yaml_allows_every_request_and_grants_nothing_unused() {
    let atoms = granted(WITH_HELM_HINTS);
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut denied: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut kinds: BTreeSet<String> = BTreeSet::new();
    for name in replayed() {
        for (a, raw) in requests_of(&name) {
            kinds.insert(format!("{} {}/{}", a.verb, a.group, a.resource));
            let matching: Vec<usize> = (0..atoms.len()).filter(|&i| atoms[i].allows(&a)).collect();
            if matching.is_empty() {
                denied.entry(format!("{a}   ({raw})")).or_default().insert(name.clone());
            }
            used.extend(matching);
        }
    }
    assert!(
        denied.is_empty(),
        "deploy/rbac.yaml (with the opt-in rbac-helm-hints.yaml) does not allow {} request(s) veldr makes; add the rule (and to README's RBAC section):\n{}",
        denied.len(),
        denied
            .iter()
            .map(|(r, s)| {
                let first: Vec<&str> = s.iter().take(3).map(String::as_str).collect();
                let more = if s.len() > 3 { format!(" and {} more", s.len() - 3) } else { String::new() };
                format!("  {r}  [{}{more}]", first.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    );
    let unused: Vec<String> = (0..atoms.len())
        .filter(|i| !used.contains(i))
        .map(|i| {
            let x = &atoms[i];
            format!(
                "  {} {}/{}{} {} ({})",
                x.verb,
                x.group,
                x.resource,
                x.name.as_ref().map(|n| format!(" {n:?}")).unwrap_or_default(),
                x.scope.as_ref().map(|n| format!("in namespace {n}")).unwrap_or_else(|| "cluster-wide".into()),
                x.from
            )
        })
        .collect();
    assert!(unused.is_empty(), "deploy/ grants what no request of veldr uses (remove it):\n{}", unused.join("\n"));
    // The replay saw the reads it should (a sanity floor: the collector reads 17 kinds and more).
    assert!(kinds.len() >= 17, "only {} kinds of request seen: {kinds:?}", kinds.len());
}

#[test]
fn in_cluster_manifests_run_as_the_service_account_locked_down() {
    let rbac = deploy_docs("rbac.yaml");
    assert!(rbac.iter().any(|d| s(d, "/kind") == "ServiceAccount" && s(d, "/metadata/name") == SA_NAME && s(d, "/metadata/namespace") == SA_NAMESPACE));
    let serve = deploy_docs("serve.yaml");
    let cron = deploy_docs("cronjob.yaml");
    let dep = serve.iter().find(|d| s(d, "/kind") == "Deployment").expect("a Deployment in deploy/serve.yaml");
    let svc = serve.iter().find(|d| s(d, "/kind") == "Service").expect("a Service in deploy/serve.yaml");
    let job = cron.iter().find(|d| s(d, "/kind") == "CronJob").expect("a CronJob in deploy/cronjob.yaml");
    for (what, pod) in [("Deployment", &dep["spec"]["template"]["spec"]), ("CronJob", &job["spec"]["jobTemplate"]["spec"]["template"]["spec"])] {
        assert_eq!(s(pod, "/serviceAccountName"), SA_NAME, "{what}");
        assert_eq!(pod.pointer("/securityContext/runAsNonRoot"), Some(&Value::Bool(true)), "{what}: runAsNonRoot");
        let c = &pod["containers"][0];
        assert!(s(c, "/image").starts_with("veldr:"), "{what}: image placeholder veldr:VERSION");
        assert_eq!(c.pointer("/securityContext/readOnlyRootFilesystem"), Some(&Value::Bool(true)), "{what}: readOnlyRootFilesystem");
        assert_eq!(c.pointer("/securityContext/allowPrivilegeEscalation"), Some(&Value::Bool(false)), "{what}");
        assert_eq!(c.pointer("/securityContext/capabilities/drop"), Some(&serde_json::json!(["ALL"])), "{what}: drop all capabilities");
        assert!(c.pointer("/securityContext/capabilities/add").is_none(), "{what}: adds a capability");
        // The container's own settings win over the pod's: none may loosen them.
        assert_ne!(c.pointer("/securityContext/runAsNonRoot"), Some(&Value::Bool(false)), "{what}");
        assert_ne!(c.pointer("/securityContext/privileged"), Some(&Value::Bool(true)), "{what}");
        // seccomp RuntimeDefault for the pod, and not overridden by the container.
        assert_eq!(s(pod, "/securityContext/seccompProfile/type"), "RuntimeDefault", "{what}: seccompProfile");
        assert!(matches!(c.pointer("/securityContext/seccompProfile/type").and_then(Value::as_str), None | Some("RuntimeDefault")), "{what}");
        // The user the image declares (Containerfile USER 65532:65532), not root.
        assert_eq!(pod.pointer("/securityContext/runAsUser").and_then(Value::as_u64), Some(65532), "{what}");
        assert_eq!(pod.pointer("/securityContext/runAsGroup").and_then(Value::as_u64), Some(65532), "{what}");
    }
    for d in [dep, svc, job] {
        assert_eq!(s(d, "/metadata/namespace"), SA_NAMESPACE, "{} {}", s(d, "/kind"), s(d, "/metadata/name"));
    }
    // The exporter listens on all interfaces in the pod (loopback would be unreachable), on the Service's port.
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = strs(c, "args");
    assert_eq!(args.first().map(String::as_str), Some("serve"), "{args:?}");
    let listen = args.iter().position(|a| a == "--listen").map(|i| args[i + 1].clone()).expect("--listen");
    let port: u64 = listen.rsplit(':').next().unwrap().parse().unwrap();
    assert!(listen.starts_with("0.0.0.0:"), "{listen}");
    assert_eq!(c.pointer("/ports/0/containerPort").and_then(Value::as_u64), Some(port));
    let target = svc.pointer("/spec/ports/0/targetPort").unwrap();
    assert!(target.as_u64() == Some(port) || target.as_str() == c.pointer("/ports/0/name").and_then(Value::as_str), "Service targetPort {target}");
    assert_eq!(c.pointer("/livenessProbe/httpGet/path").and_then(Value::as_str), Some("/healthz"));
    let selector = svc["spec"]["selector"].as_object().expect("Service selector");
    for (k, v) in selector {
        assert_eq!(dep["spec"]["template"]["metadata"]["labels"][k], *v, "Service selector {k} does not match the pod");
    }
    // The CronJob: the JSON report to its logs.
    let cargs = strs(&job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0], "args");
    assert!(cargs.windows(2).any(|w| w == ["-o", "json"]) && cargs[0] == "doctor", "{cargs:?}");
}

/// deploy/rbac-verify.yaml is exactly what `veldr verify` needs beyond deploy/rbac.yaml: a whole verify
/// run (the doctor, the test backup, its watch, its deletion) is allowed by the two, every grant of
/// rbac-verify.yaml is used, and rbac.yaml alone refuses exactly verify's writes and watches. Needs the lab.
#[test]
fn rbac_verify_yaml_grants_what_verify_writes_and_watches_and_nothing_else() {
    let lab = lab();
    let dir = materialize("lab-healthy", Some(&lab));
    let mut objects = read_objects(dir.path());
    for o in objects.iter_mut().filter(|o| o["kind"] == "BackupStorageLocation") {
        o["spec"]["objectStorage"]["prefix"] = serde_json::json!("rbac-verify");
    }
    write_objects(dir.path(), &objects);
    let cluster = serve_dir(dir);
    let _standin = common::velero::Standin::start(&cluster.server, "velero", common::velero::Script::completed());
    let out = veldr().arg("verify").arg("--kubeconfig").arg(&cluster.kubeconfig).args(["-o", "json", "--timeout", "60s"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let base = granted(WITH_HELM_HINTS);
    let opt_in = granted_by("rbac-verify.yaml");
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut denied: BTreeSet<String> = BTreeSet::new();
    let mut beyond_base: BTreeSet<String> = BTreeSet::new();
    for r in cluster.server.requests() {
        let Request::Resource(a) = classify(&r.method, &r.path, &r.query) else { continue };
        // Every authenticated user may ask what it may do (the system:basic-user ClusterRole).
        if a.resource == "selfsubjectaccessreviews" && a.verb == "create" {
            continue;
        }
        let by_base = base.iter().any(|x| x.allows(&a));
        let by_opt: Vec<usize> = (0..opt_in.len()).filter(|&i| opt_in[i].allows(&a)).collect();
        if !by_base {
            beyond_base.insert(a.to_string());
        }
        if !by_base && by_opt.is_empty() {
            denied.insert(format!("{a}   ({} {}?{})", r.method, r.path, r.query));
        }
        used.extend(by_opt);
    }
    assert!(denied.is_empty(), "rbac.yaml + rbac-verify.yaml do not allow:\n{}", denied.into_iter().collect::<Vec<_>>().join("\n"));
    let unused: Vec<String> = (0..opt_in.len()).filter(|i| !used.contains(i)).map(|i| format!("{} {}/{} ({})", opt_in[i].verb, opt_in[i].group, opt_in[i].resource, opt_in[i].from)).collect();
    assert!(unused.is_empty(), "deploy/rbac-verify.yaml grants what verify does not use:\n{}", unused.join("\n"));
    assert_eq!(
        beyond_base.into_iter().collect::<Vec<_>>(),
        [
            "create backups.velero.io in namespace velero",
            "create deletebackuprequests.velero.io in namespace velero",
            "watch backups.velero.io in namespace velero",
            "watch deletebackuprequests.velero.io in namespace velero",
        ],
        "what rbac.yaml alone refuses is exactly verify's writes and watches"
    );
    // Namespaced, no wildcard, no other kind, bound to veldr's ServiceAccount only.
    for a in &opt_in {
        assert_eq!(a.scope.as_deref(), Some(SA_NAMESPACE), "{}", a.from);
        assert!(["backups", "deletebackuprequests"].contains(&a.resource.as_str()) && ["create", "watch"].contains(&a.verb.as_str()), "{}", a.from);
    }
}

/// `veldr restore-check` (deploy/rbac-restore-check.yaml, opt-in, on top of deploy/rbac.yaml): every
/// request it makes against the restore scenarios (tests/fixtures/restore, against the lab: the
/// backup's objects decide what is listed) is allowed, every permission of the opt-in file is used, and
/// no Secret is ever listed.
#[test]
fn rbac_restore_check_yaml_allows_every_restore_check_request_and_grants_nothing_unused() {
    let lab = lab();
    let atoms = granted(&["rbac.yaml", "rbac-restore-check.yaml"]);
    let own: Vec<usize> = (0..atoms.len()).filter(|&i| atoms[i].from.starts_with("rbac-restore-check.yaml")).collect();
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut denied: BTreeSet<String> = BTreeSet::new();
    let dir = repo().join("tests/fixtures/restore");
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name).join("_expect.yaml")).unwrap();
        let backup = serde_saphyr::from_str::<Value>(&text).unwrap()["backup"].as_str().unwrap().to_string();
        let cluster = serve(&format!("../restore/{name}"), Some(&lab));
        let out = veldr()
            .args(["restore-check", &format!("backup/{backup}"), "-o", "json", "--timeout", "20s", "--kubeconfig"])
            .arg(&cluster.kubeconfig)
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "[{name}] {}", String::from_utf8_lossy(&out.stderr));
        for (a, raw) in requests_to(&name, &cluster) {
            assert!(!(a.resource == "secrets" && a.verb == "list"), "[{name}] restore-check listed secrets: {raw}");
            let matching: Vec<usize> = (0..atoms.len()).filter(|&i| atoms[i].allows(&a)).collect();
            if matching.is_empty() {
                denied.insert(format!("{a}   ({raw}) [{name}]"));
            }
            used.extend(matching);
        }
    }
    assert!(denied.is_empty(), "deploy/rbac.yaml + rbac-restore-check.yaml do not allow:\n{}", denied.into_iter().collect::<Vec<_>>().join("\n"));
    let unused: Vec<String> = own.iter().filter(|i| !used.contains(i)).map(|&i| format!("{} {}/{} ({})", atoms[i].verb, atoms[i].group, atoms[i].resource, atoms[i].from)).collect();
    assert!(unused.is_empty(), "deploy/rbac-restore-check.yaml grants what restore-check does not use:\n{}", unused.join("\n"));
}
