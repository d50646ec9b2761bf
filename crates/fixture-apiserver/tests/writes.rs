//! The fixture server's writes and watches, exercised with kube-rs (its client and its runtime's
//! watcher) as veldr verify uses them, and the in-process hooks a test's controller uses.

use std::path::PathBuf;
use std::time::Duration;

use fixture_apiserver::{ChangeKind, Options, Server};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config, Error};
use serde_json::{json, Value};

async fn start() -> Server {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/writes");
    Server::start(Options::new(dir)).await.expect("server starts")
}

async fn client(server: &Server) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path, "fixture").unwrap();
    let kc = Kubeconfig::read_from(&path).unwrap();
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.unwrap();
    Client::try_from(cfg).unwrap()
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("velero.io", "v1", kind), plural)
}

fn backups(c: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(c.clone(), ns, &resource("Backup", "backups"))
}

fn object(kind: &str, plural: &str, v: Value) -> DynamicObject {
    let mut o: DynamicObject = serde_json::from_value(v).unwrap();
    o.types = Some(kube::api::TypeMeta { api_version: "velero.io/v1".into(), kind: kind.into() });
    let _ = plural;
    o
}

type Events = tokio::sync::mpsc::UnboundedReceiver<watcher::Event<DynamicObject>>;

async fn next(rx: &mut Events) -> watcher::Event<DynamicObject> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("an event within 10 s").expect("stream open")
}

async fn next_raw(s: &mut futures::stream::BoxStream<'_, kube::Result<WatchEvent<DynamicObject>>>) -> WatchEvent<DynamicObject> {
    tokio::time::timeout(Duration::from_secs(10), s.try_next()).await.expect("an event within 10 s").unwrap().expect("open")
}

fn status(e: &Error) -> (u16, String, String) {
    match e {
        Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

#[tokio::test]
async fn create_stores_the_object_and_answers_as_the_api_server() {
    let server = start().await;
    let c = client(&server).await;
    let api = backups(&c, "velero");
    let b = object("Backup", "backups", json!({"metadata": {"name": "test", "labels": {"veldr.io/verify": "true"}}, "spec": {"includedNamespaces": ["default"]}}));
    let made = api.create(&PostParams::default(), &b).await.unwrap();
    let meta = &made.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("velero"));
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36), "{meta:?}");
    let rv: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();
    assert!(meta.creation_timestamp.is_some());
    assert_eq!(made.data["spec"]["includedNamespaces"], json!(["default"]));
    // Read back over HTTP and in-process: the same object.
    let got = api.get("test").await.unwrap();
    assert_eq!(got.metadata.uid, meta.uid);
    assert_eq!(server.object("velero.io", "backups", "velero", "test").unwrap()["metadata"]["resourceVersion"], json!(rv.to_string()));
    // A list after the write carries a newer resourceVersion.
    let list = api.list(&Default::default()).await.unwrap();
    assert!(list.metadata.resource_version.unwrap().parse::<u64>().unwrap() >= rv);
    assert_eq!(list.items.len(), 2, "nightly and test");

    // Twice: 409 AlreadyExists.
    let (code, reason, message) = status(&api.create(&PostParams::default(), &b).await.unwrap_err());
    assert_eq!((code, reason.as_str(), message.as_str()), (409, "AlreadyExists", "backups.velero.io \"test\" already exists"));
    // generateName: a five-character suffix, as `velero backup delete` relies on.
    let dbrs: Api<DynamicObject> = Api::namespaced_with(c.clone(), "velero", &resource("DeleteBackupRequest", "deletebackuprequests"));
    let dbr = object("DeleteBackupRequest", "deletebackuprequests", json!({"metadata": {"generateName": "test-", "labels": {"velero.io/backup-name": "test"}}, "spec": {"backupName": "test"}}));
    let made = dbrs.create(&PostParams::default(), &dbr).await.unwrap();
    let name = made.metadata.name.unwrap();
    assert!(name.starts_with("test-") && name.len() == 10 && name[5..].chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)), "{name}");
    // Neither name nor generateName: 422; another namespace in the body: 400.
    let (code, _, message) = status(&api.create(&PostParams::default(), &object("Backup", "backups", json!({"metadata": {}}))).await.unwrap_err());
    assert_eq!(code, 422, "{message}");
    let elsewhere = object("Backup", "backups", json!({"metadata": {"name": "x", "namespace": "other"}}));
    assert_eq!(status(&api.create(&PostParams::default(), &elsewhere).await.unwrap_err()).0, 400);
    // Built-in kinds stay read-only.
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "velero");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("x".into());
    assert_eq!(status(&cms.create(&PostParams::default(), &cm).await.unwrap_err()).0, 405);
    // Every write is in the request log with its answer.
    let posts: Vec<(String, u16)> = server.requests().into_iter().filter(|r| r.method == "POST").map(|r| (r.path, r.status)).collect();
    assert_eq!(
        posts,
        vec![
            ("/apis/velero.io/v1/namespaces/velero/backups".to_string(), 201),
            ("/apis/velero.io/v1/namespaces/velero/backups".to_string(), 409),
            ("/apis/velero.io/v1/namespaces/velero/deletebackuprequests".to_string(), 201),
            ("/apis/velero.io/v1/namespaces/velero/backups".to_string(), 422),
            ("/apis/velero.io/v1/namespaces/velero/backups".to_string(), 400),
            ("/api/v1/namespaces/velero/configmaps".to_string(), 405),
        ]
    );
}

#[tokio::test]
async fn writes_and_watches_are_refused_where_rbac_denies_them() {
    let server = start().await;
    let c = client(&server).await;
    let api = backups(&c, "locked");
    let b = object("Backup", "backups", json!({"metadata": {"name": "test"}}));
    let (code, reason, message) = status(&api.create(&PostParams::default(), &b).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert_eq!(message, "backups.velero.io is forbidden: User \"veldr\" cannot create resource \"backups\" in API group \"velero.io\" in the namespace \"locked\"");
    assert!(server.object("velero.io", "backups", "locked", "test").is_none(), "nothing stored");
    let e = match api.watch(&WatchParams::default(), "0").await {
        Err(e) => e,
        Ok(_) => panic!("the watch was not refused"),
    };
    assert_eq!(status(&e).2, "backups.velero.io is forbidden: User \"veldr\" cannot watch resource \"backups\" in API group \"velero.io\" in the namespace \"locked\"");
    // A fault on create: the first one fails, the retry succeeds.
    let dbrs: Api<DynamicObject> = Api::namespaced_with(c.clone(), "flaky", &resource("DeleteBackupRequest", "deletebackuprequests"));
    let dbr = object("DeleteBackupRequest", "deletebackuprequests", json!({"metadata": {"name": "d"}, "spec": {"backupName": "b"}}));
    assert_eq!(status(&dbrs.create(&PostParams::default(), &dbr).await.unwrap_err()).0, 500);
    dbrs.create(&PostParams::default(), &dbr).await.unwrap();
}

/// kube-rs's watcher (what veldr verify runs): the initial list, then the changes made over HTTP and
/// in-process, in order, over one watch request from the list's resourceVersion.
#[tokio::test]
async fn kube_runtime_watcher_sees_every_change() {
    let server = start().await;
    let c = client(&server).await;
    let api = backups(&c, "velero");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let w = tokio::spawn(watcher(api.clone(), watcher::Config::default().fields("metadata.name=test")).try_for_each(move |e| {
        let _ = tx.send(e);
        futures::future::ready(Ok(()))
    }));
    assert!(matches!(next(&mut rx).await, watcher::Event::Init));
    assert!(matches!(next(&mut rx).await, watcher::Event::InitDone), "nightly does not match metadata.name=test");
    // The watch request is open: wait until it is in the log, then change things.
    for _ in 0..100 {
        if server.requests().iter().any(|r| r.query.contains("watch=true")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    api.create(&PostParams::default(), &object("Backup", "backups", json!({"metadata": {"name": "test"}}))).await.unwrap();
    match next(&mut rx).await {
        watcher::Event::Apply(o) => assert_eq!(o.metadata.name.as_deref(), Some("test")),
        other => panic!("{other:?}"),
    }
    for phase in ["InProgress", "Completed"] {
        server.update_object("velero.io", "backups", "velero", "test", |b| b["status"] = json!({"phase": phase})).unwrap();
        match next(&mut rx).await {
            watcher::Event::Apply(o) => assert_eq!(o.data["status"]["phase"], phase),
            other => panic!("{other:?}"),
        }
    }
    server.delete_object("velero.io", "backups", "velero", "test").unwrap();
    match next(&mut rx).await {
        watcher::Event::Delete(o) => assert_eq!(o.metadata.name.as_deref(), Some("test")),
        other => panic!("{other:?}"),
    }
    w.abort();
    let watches: Vec<_> = server.requests().into_iter().filter(|r| r.query.contains("watch=true")).collect();
    assert_eq!(watches.len(), 1, "one watch request carried every change: {watches:?}");
    assert!(watches[0].query.contains("fieldSelector=metadata.name%3Dtest") && watches[0].query.contains("resourceVersion="), "{:?}", watches[0]);
}

#[tokio::test]
async fn a_watch_replays_from_a_resource_version_and_follows_selectors() {
    let server = start().await;
    let c = client(&server).await;
    let api = backups(&c, "velero");
    let from = api.list(&Default::default()).await.unwrap().metadata.resource_version.unwrap();
    // Changes before the watch starts are replayed from `from`.
    server.update_object("velero.io", "backups", "velero", "nightly", |b| b["metadata"]["labels"]["app"] = json!("x")).unwrap();
    let mut s = api.watch(&WatchParams::default().labels("app=x").timeout(5), &from).await.unwrap().boxed();
    // Gains the label: ADDED for this watch; changes while matching: MODIFIED; loses it: DELETED.
    assert!(matches!(next_raw(&mut s).await, WatchEvent::Added(o) if o.metadata.name.as_deref() == Some("nightly")));
    server.update_object("velero.io", "backups", "velero", "nightly", |b| b["status"]["phase"] = json!("Deleting")).unwrap();
    assert!(matches!(next_raw(&mut s).await, WatchEvent::Modified(o) if o.data["status"]["phase"] == "Deleting"));
    server.update_object("velero.io", "backups", "velero", "nightly", |b| b["metadata"]["labels"]["app"] = json!("y")).unwrap();
    assert!(matches!(next_raw(&mut s).await, WatchEvent::Deleted(_)));
    // No resourceVersion: the objects that match now, as ADDED.
    let mut s = api.watch(&WatchParams::default().fields("metadata.name=nightly").timeout(5), "0").await.unwrap().boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), s.try_next()).await.unwrap().unwrap().unwrap();
    assert!(matches!(first, WatchEvent::Added(o) if o.data["status"]["phase"] == "Deleting"));
}

#[tokio::test]
async fn a_watch_from_a_compacted_version_is_410_and_a_watch_ends_on_time() {
    let server = start().await;
    let c = client(&server).await;
    let api = backups(&c, "velero");
    let from = api.list(&Default::default()).await.unwrap().metadata.resource_version.unwrap();
    // Push the oldest changes out of the history the server keeps.
    for i in 0..10_001 {
        server.update_object("velero.io", "backups", "velero", "nightly", |b| b["status"]["n"] = json!(i)).unwrap();
    }
    let mut s = api.watch(&WatchParams::default(), &from).await.unwrap().boxed();
    match tokio::time::timeout(Duration::from_secs(10), s.try_next()).await.unwrap().unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("{other:?}"),
    }
    // timeoutSeconds ends the stream (kube's watcher then watches again).
    let started = std::time::Instant::now();
    let mut s = api.watch(&WatchParams::default().timeout(1), "0").await.unwrap().boxed();
    while tokio::time::timeout(Duration::from_secs(10), s.try_next()).await.unwrap().unwrap().is_some() {}
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn subscribers_see_creates_over_http_and_changes_in_process() {
    let server = Server::start_blocking(Options::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/writes"))).unwrap();
    let events = server.subscribe();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = client(&server).await;
        backups(&c, "velero").create(&PostParams::default(), &object("Backup", "backups", json!({"metadata": {"name": "a"}}))).await.unwrap();
    });
    let e = events.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((e.kind, e.group.as_str(), e.resource.as_str(), e.namespace(), e.name()), (ChangeKind::Added, "velero.io", "backups", "velero", "a"));
    server.update_object("velero.io", "backups", "velero", "a", |b| b["status"] = json!({"phase": "New"})).unwrap();
    assert_eq!(events.recv_timeout(Duration::from_secs(5)).unwrap().kind, ChangeKind::Modified);
    server.delete_object("velero.io", "backups", "velero", "a").unwrap();
    assert_eq!(events.recv_timeout(Duration::from_secs(5)).unwrap().kind, ChangeKind::Deleted);
    assert!(server.delete_object("velero.io", "backups", "velero", "a").is_err(), "gone already");
    assert!(server.update_object("velero.io", "backups", "velero", "a", |_| ()).is_err());
    // An in-process create goes through the same rules.
    let made = server.create_object("velero.io", "deletebackuprequests", "velero", json!({"metadata": {"generateName": "a-"}})).unwrap();
    assert!(made["metadata"]["name"].as_str().unwrap().starts_with("a-"));
}
