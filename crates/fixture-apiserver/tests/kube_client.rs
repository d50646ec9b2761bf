//! The fixture server, exercised with kube-rs exactly as veldr talks to a cluster.

use std::path::PathBuf;
use std::time::Duration;

use fixture_apiserver::{Options, Server};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod, Secret, Service, ServiceAccount};
use kube::api::{Api, DynamicObject, ListParams, LogParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{ApiResource, Discovery};
use kube::{Client, Config, Error};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

async fn start(name: &str) -> Server {
    Server::start(Options::new(fixture(name)))
        .await
        .expect("server starts")
}

/// The way veldr builds its client: a kubeconfig file, read back by kube.
async fn client(server: &Server) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path, "fixture").unwrap();
    let kc = Kubeconfig::read_from(&path).unwrap();
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(cfg).unwrap()
}

fn api_code(e: &Error) -> u16 {
    match e {
        Error::Api(s) => s.code,
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

fn names<K: kube::Resource>(items: &[K]) -> Vec<String> {
    items
        .iter()
        .map(|o| o.meta().name.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn list_with_label_and_field_selectors() {
    let server = start("basic").await;
    let c = client(&server).await;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "velero");

    let l = pods
        .list(&ListParams::default().labels("component=velero"))
        .await
        .unwrap();
    assert_eq!(names(&l.items), ["node-agent-x1", "velero-6d8f9c7b5-abcde"]);
    assert!(l.metadata.resource_version.is_some());
    assert_eq!(l.items[0].metadata.namespace.as_deref(), Some("velero"));
    assert!(l.items[0].metadata.uid.is_some() && l.items[0].metadata.resource_version.is_some());

    let l = pods
        .list(&ListParams::default().labels("component in (velero),name!=node-agent,!app"))
        .await
        .unwrap();
    assert_eq!(names(&l.items), ["velero-6d8f9c7b5-abcde"]);

    let l = pods
        .list(&ListParams::default().fields("metadata.name=unrelated"))
        .await
        .unwrap();
    assert_eq!(names(&l.items), ["unrelated"]);

    let all: Api<Pod> = Api::all(c.clone());
    let l = all
        .list(&ListParams::default().fields("metadata.namespace!=velero"))
        .await
        .unwrap();
    assert_eq!(names(&l.items), ["p-a", "p-b", "p-c", "p-d", "p-e"]);

    let e = pods
        .list(&ListParams::default().labels("app in (a"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&e), 400);

    let reqs = server.requests();
    let first = &reqs[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, "/api/v1/namespaces/velero/pods");
    assert!(
        first.query.contains("labelSelector=component%3Dvelero"),
        "{}",
        first.query
    );
    assert_eq!(first.status, 200);
    // kube-rs sends no User-Agent unless told to; the log keeps "" then.
    assert_eq!(first.user_agent, "");
}

#[tokio::test]
async fn paged_list_returns_everything() {
    let server = start("basic").await;
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "paging");
    let mut got = Vec::new();
    let mut lp = ListParams::default().limit(2);
    let mut pages = 0;
    loop {
        let page = pods.list(&lp).await.unwrap();
        pages += 1;
        if pages == 1 {
            assert_eq!(page.metadata.remaining_item_count, Some(3));
        }
        got.extend(names(&page.items));
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => lp = lp.continue_token(&t),
            _ => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(got, ["p-a", "p-b", "p-c", "p-d", "p-e"]);

    // A forged continue token is a 400 like the real server.
    let e = pods
        .list(&ListParams::default().limit(2).continue_token("garbage"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&e), 400);
}

#[tokio::test]
async fn get_and_not_found() {
    let server = start("basic").await;
    let secrets: Api<Secret> = Api::namespaced(client(&server).await, "velero");
    assert!(secrets.get_opt("missing").await.unwrap().is_none());
    let e = secrets.get("missing").await.unwrap_err();
    match &e {
        Error::Api(s) => {
            assert_eq!(s.code, 404);
            assert_eq!(s.reason, "NotFound");
            assert_eq!(s.message, "secrets \"missing\" not found");
        }
        other => panic!("{other:?}"),
    }
    // stringData in the fixture is served as base64 data.
    let s = secrets.get("cloud-credentials").await.unwrap();
    let cloud = &s.data.unwrap()["cloud"];
    assert_eq!(
        String::from_utf8(cloud.0.clone()).unwrap(),
        "[default]\naws_access_key_id = AKIAFIXTURE\n"
    );
    assert!(s.string_data.is_none());
    let s = secrets.get("encoded").await.unwrap();
    assert_eq!(s.data.unwrap()["key"].0, b"hello");

    // ${NOW...} placeholders, relative to `now:` in _server.yaml.
    let cm = Api::<ConfigMap>::namespaced(secrets.clone().into_client(), "velero")
        .get("times")
        .await
        .unwrap();
    let data = cm.data.unwrap();
    assert_eq!(data["at"], "2025-01-31T12:00:00Z");
    assert_eq!(data["later"], "in 2025-02-01T12:00:00Z");
    assert_eq!(
        cm.metadata.creation_timestamp.unwrap().0.to_string(),
        "2025-01-31T10:00:00Z"
    );
}

#[tokio::test]
async fn rbac_denials_and_access_reviews() {
    let server = start("basic").await;
    let c = client(&server).await;
    let restricted: Api<Secret> = Api::namespaced(c.clone(), "restricted");
    let e = restricted.list(&ListParams::default()).await.unwrap_err();
    match &e {
        Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert_eq!(s.reason, "Forbidden");
            assert_eq!(
                s.message,
                "secrets is forbidden: User \"veldr\" cannot list resource \"secrets\" in API group \"\" in the namespace \"restricted\""
            );
        }
        other => panic!("{other:?}"),
    }
    let e = restricted.get("locked").await.unwrap_err();
    match &e {
        Error::Api(s) => assert_eq!(
            s.message,
            "secrets \"locked\" is forbidden: User \"veldr\" cannot get resource \"secrets\" in API group \"\" in the namespace \"restricted\""
        ),
        other => panic!("{other:?}"),
    }
    // A namespaced denial also denies the all-namespaces list.
    let all: Api<Secret> = Api::all(c.clone());
    assert_eq!(
        api_code(&all.list(&ListParams::default()).await.unwrap_err()),
        403
    );
    // Other namespaces are fine.
    let velero: Api<Secret> = Api::namespaced(c.clone(), "velero");
    assert_eq!(
        velero
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    let ssar = |verb: &str, ns: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                resource: Some("secrets".into()),
                namespace: Some(ns.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let reviews: Api<SelfSubjectAccessReview> = Api::all(c.clone());
    let pp = PostParams::default();
    let r = reviews
        .create(&pp, &ssar("list", "restricted"))
        .await
        .unwrap();
    assert!(!r.status.unwrap().allowed);
    let r = reviews.create(&pp, &ssar("list", "velero")).await.unwrap();
    assert!(r.status.unwrap().allowed);
    let r = reviews
        .create(&pp, &ssar("get", "restricted"))
        .await
        .unwrap();
    assert!(
        r.status.unwrap().allowed,
        "the get denial is for one name only"
    );
    assert!(server.requests().iter().any(|r| r.method == "POST"
        && r.path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        && r.status == 201));
}

#[tokio::test]
async fn writes_are_refused_and_logged() {
    let server = start("basic").await;
    let cms: Api<ConfigMap> = Api::namespaced(client(&server).await, "velero");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("x".into());
    let e = cms.create(&PostParams::default(), &cm).await.unwrap_err();
    assert_eq!(api_code(&e), 405);
    let e = cms.delete("x", &Default::default()).await.unwrap_err();
    assert_eq!(api_code(&e), 405);
    let writes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert_eq!(writes.len(), 2);
    assert_eq!((writes[0].method.as_str(), writes[0].status), ("POST", 405));
    assert_eq!(
        (writes[1].method.as_str(), writes[1].status),
        ("DELETE", 405)
    );
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn discovery_serves_custom_groups_only_with_their_crd() {
    let server = start("basic").await;
    let c = client(&server).await;
    let d = Discovery::new(c.clone()).run().await.unwrap();
    assert!(d.has_group("velero.io"));
    assert!(
        d.has_group("apps") && d.has_group("storage.k8s.io") && d.has_group("apiextensions.k8s.io")
    );
    assert!(
        !d.has_group("snapshot.storage.k8s.io"),
        "no CRD, not served"
    );
    let (ar, caps) = d
        .resolve_gvk(&kube::api::GroupVersionKind::gvk(
            "velero.io",
            "v1",
            "BackupStorageLocation",
        ))
        .unwrap();
    assert_eq!(ar.plural, "backupstoragelocations");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let bsls: Api<DynamicObject> = Api::namespaced_with(c.clone(), "velero", &ar);
    let l = bsls.list(&ListParams::default()).await.unwrap();
    assert_eq!(l.items.len(), 1);
    assert_eq!(l.items[0].data["spec"]["objectStorage"]["bucket"], "velero");

    let server2 = start("nocrd").await;
    let c2 = client(&server2).await;
    let d = Discovery::new(c2.clone()).run().await.unwrap();
    assert!(!d.has_group("velero.io"));
    let ar = ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("velero.io", "v1", "BackupStorageLocation"),
        "backupstoragelocations",
    );
    let bsls: Api<DynamicObject> = Api::namespaced_with(c2, "velero", &ar);
    let e = bsls.list(&ListParams::default()).await.unwrap_err();
    match &e {
        Error::Api(s) => {
            assert_eq!(s.code, 404);
            assert_eq!(s.message, "404 page not found");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn aggregated_discovery() {
    let server = start("basic").await;
    let d = Discovery::new(client(&server).await)
        .run_aggregated()
        .await
        .unwrap();
    assert!(d.has_group("velero.io") && d.has_group("apps"));
    assert!(d.get("").unwrap().recommended_kind("Pod").is_some());
    assert!(!d.has_group("snapshot.storage.k8s.io"));
    // `aggregated_discovery: false` ignores the Accept header (plain APIGroupList, like
    // an old server): kube then silently finds no groups at all.
    let old = start("aggregated-off").await;
    let d = Discovery::new(client(&old).await)
        .run_aggregated()
        .await
        .unwrap();
    assert!(!d.has_group("velero.io") && !d.has_group("apps"));
    let d = Discovery::new(client(&old).await).run().await.unwrap();
    assert!(d.has_group("velero.io"));
}

#[tokio::test]
async fn faults_reset_malformed_delay_status() {
    let server = start("basic").await;
    let c = client(&server).await;

    let e = Api::<ConfigMap>::namespaced(c.clone(), "reset-ns")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        !matches!(e, Error::Api(_)),
        "reset must be a transport error, got {e:?}"
    );

    let e = Api::<ConfigMap>::namespaced(c.clone(), "malformed-ns")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::SerdeError(_)), "got {e:?}");

    let slow = Api::<ConfigMap>::namespaced(c.clone(), "slow-ns");
    assert!(tokio::time::timeout(
        Duration::from_millis(300),
        slow.list(&ListParams::default())
    )
    .await
    .is_err());
    // Other namespaces are unaffected.
    let fast = Api::<ConfigMap>::namespaced(c.clone(), "velero");
    tokio::time::timeout(
        Duration::from_secs(10),
        fast.list(&ListParams::default()),
    )
    .await
    .unwrap()
    .unwrap();

    let e = Api::<Service>::all(c.clone())
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert_eq!(api_code(&e), 500);

    // `times: 1` on /version: first answer 500, then the configured version.
    assert_eq!(api_code(&c.apiserver_version().await.unwrap_err()), 500);
    assert_eq!(c.apiserver_version().await.unwrap().git_version, "v1.30.2");

    // `times: 1` 503: kube's default retry policy retries it transparently.
    server.clear_requests();
    Api::<ServiceAccount>::all(c.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200]);
}

#[tokio::test]
async fn huge_list_is_paged() {
    let server = start("basic").await;
    let events: Api<Event> = Api::namespaced(client(&server).await, "huge-ns");
    let mut total = 0;
    let mut last = String::new();
    let mut lp = ListParams::default().limit(500);
    loop {
        let page = events.list(&lp).await.unwrap();
        for e in &page.items {
            let n = e.metadata.name.clone().unwrap();
            assert!(n > last, "stable order");
            last = n;
        }
        total += page.items.len();
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => lp = lp.continue_token(&t),
            _ => break,
        }
    }
    assert_eq!(total, 2500);
    // Unpaged, with a selector.
    let l = events
        .list(&ListParams::default().labels("fixture-apiserver/generated=true"))
        .await
        .unwrap();
    assert_eq!(l.items.len(), 2500);
}

#[tokio::test]
async fn wrong_token_is_401() {
    let server = start("authfail").await;
    let c = client(&server).await;
    let e = Api::<Pod>::all(c)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert_eq!(api_code(&e), 401);
    assert_eq!(server.requests()[0].status, 401);
}

#[tokio::test]
async fn bad_yaml_names_the_file() {
    let e = Server::start(Options::new(fixture("badyaml")))
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("broken.yaml"), "{msg}");
    let e = Server::start(Options::new(fixture("does-not-exist")))
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("does-not-exist"));
}

#[tokio::test]
async fn option_delay_applies_to_every_request() {
    let mut opts = Options::new(fixture("basic"));
    opts.delay = Duration::from_millis(400);
    let server = Server::start(opts).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "velero");
    assert!(tokio::time::timeout(
        Duration::from_millis(150),
        pods.list(&ListParams::default())
    )
    .await
    .is_err());
}

#[test]
fn start_blocking_serves_from_its_own_thread() {
    let server = Server::start_blocking(Options::new(fixture("basic"))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("sub/kubeconfig");
    server.write_kubeconfig(&kc, "my-ctx").unwrap();
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(text.contains("current-context: \"my-ctx\""));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let kc = Kubeconfig::read_from(&kc).unwrap();
        let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap();
        let c = Client::try_from(cfg).unwrap();
        let ns = Api::<k8s_openapi::api::core::v1::Namespace>::all(c)
            .list(&ListParams::default())
            .await
            .unwrap();
        let n = names(&ns.items);
        for want in ["default", "kube-system", "paging", "velero"] {
            assert!(n.contains(&want.to_string()), "{n:?}");
        }
    });
    drop(server);
}

#[test]
fn binary_prints_url_writes_kubeconfig_and_request_log() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let log = dir.path().join("requests.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fixture-apiserver"))
        .arg("--dir")
        .arg(fixture("basic"))
        .arg("--kubeconfig-out")
        .arg(&kc)
        .arg("--request-log")
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    let outcome = std::panic::catch_unwind(|| {
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let kc = Kubeconfig::read_from(&kc).unwrap();
            let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .unwrap();
            assert_eq!(cfg.cluster_url.to_string().trim_end_matches('/'), url);
            let c = Client::try_from(cfg).unwrap();
            Api::<Pod>::namespaced(c, "velero")
                .list(&ListParams::default())
                .await
                .unwrap();
        });
        let text = std::fs::read_to_string(&log).unwrap();
        let entry: fixture_apiserver::LoggedRequest =
            serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(entry.path, "/api/v1/namespaces/velero/pods");
        assert_eq!(entry.status, 200);
    });
    child.kill().unwrap();
    child.wait().unwrap();
    outcome.unwrap();
}

#[test]
fn server_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Server>();
}

#[tokio::test]
async fn pod_logs_are_read_as_kubectl_logs_reads_them() {
    let server = start("basic").await;
    let c = client(&server).await;
    let pods: Api<Pod> = Api::namespaced(c, "velero");
    let pod = "velero-6d8f9c7b5-abcde";
    let all = pods.logs(pod, &LogParams::default()).await.unwrap();
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(all.starts_with("time=\"2025-01-31T09:00:00Z\" level=info msg=\"Starting Velero server"), "{all}");
    // The last hour (the server's now is pinned at 12:00), capped in bytes.
    let hour = LogParams { container: Some("velero".into()), since_seconds: Some(3600), limit_bytes: Some(100_000), ..Default::default() };
    let recent = pods.logs(pod, &hour).await.unwrap();
    assert_eq!(recent.lines().count(), 2, "{recent}");
    assert!(recent.contains("code = Unavailable") && !recent.contains("Starting"), "{recent}");
    let cut = pods.logs(pod, &LogParams { limit_bytes: Some(42), ..hour.clone() }).await.unwrap();
    assert_eq!(cut.len(), 42);
    let tail = pods.logs(pod, &LogParams { tail_lines: Some(1), ..Default::default() }).await.unwrap();
    assert!(tail.contains("Checking for existing backup locations") && tail.lines().count() == 1, "{tail}");
    let prev = pods.logs(pod, &LogParams { previous: true, ..Default::default() }).await.unwrap();
    assert_eq!(prev.trim_end(), "time=\"2025-01-31T07:00:00Z\" level=fatal msg=\"killed\"");
    // The kubelet's refusals, the API server's denial and a missing pod.
    let e = pods.logs(pod, &LogParams { container: Some("nope".into()), ..Default::default() }).await.unwrap_err();
    assert_eq!(api_code(&e), 400);
    let e = pods.logs("velero-6d8f9c7b5-abcde", &LogParams { since_seconds: Some(0), ..Default::default() }).await.unwrap_err();
    assert_eq!(api_code(&e), 422);
    let e = pods.logs("unrelated", &LogParams::default()).await.unwrap_err();
    assert_eq!(api_code(&e), 403);
    assert!(e.to_string().contains("pods \"unrelated\" is forbidden: User \"veldr\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"velero\""), "{e}");
    let e = pods.logs("gone", &LogParams::default()).await.unwrap_err();
    assert_eq!(api_code(&e), 404);
    // Logged like every read, with its query.
    let logged = server.requests().into_iter().find(|r| r.query.contains("sinceSeconds=3600")).expect("the log read is logged");
    assert_eq!(logged.path, format!("/api/v1/namespaces/velero/pods/{pod}/log"));
    assert!(logged.query.contains("limitBytes=100000") && logged.query.contains("container=velero"), "{}", logged.query);
}
