//! The Velero stand-in (tests/common/velero.rs) that veldr verify's tests run against: watched with
//! kube-rs over the fixture API server as veldr watches, it moves a Backup through Velero's phases,
//! writes the backup's objects to the lab's real Swift and processes DeleteBackupRequests as Velero
//! does. Needs the lab (`bash lab/lab.sh start`).

mod common;

use common::velero::{objects_in_bsl, Message, Script, Standin};
use common::*;
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::runtime::watcher;
use serde_json::{json, Value};
use std::time::Duration;

fn api(c: &kube::Client, kind: &str, plural: &str) -> Api<DynamicObject> {
    Api::namespaced_with(c.clone(), "velero", &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("velero.io", "v1", kind), plural))
}

async fn client(cluster: &Cluster) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
    kube::Client::try_from(kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap()).unwrap()
}

fn backup(name: &str, ns: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": name, "namespace": "velero"},
        "spec": {"includedNamespaces": [ns], "ttl": "1h0m0s", "csiSnapshotTimeout": "0s", "itemOperationTimeout": "0s", "hooks": {}, "metadata": {}},
    }))
    .unwrap()
}

fn delete_request(name: &str, uid: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "velero.io/v1", "kind": "DeleteBackupRequest",
        "metadata": {"generateName": format!("{name}-"), "namespace": "velero", "labels": {"velero.io/backup-name": name, "velero.io/backup-uid": uid}},
        "spec": {"backupName": name},
    }))
    .unwrap()
}

/// Every state of the Backup the watch delivers until `until` says stop (None: deleted).
async fn follow(backups: &Api<DynamicObject>, name: &str, until: impl Fn(&Option<Value>) -> bool) -> Vec<Option<Value>> {
    let mut seen = Vec::new();
    let stream = watcher::watch_object(backups.clone(), name);
    futures::pin_mut!(stream);
    let deadline = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => panic!("backup {name}: no end within 60 s; seen {seen:?}"),
            next = stream.next() => {
                let o = next.expect("watch open").expect("watch event");
                let v = o.map(|o| serde_json::to_value(o).unwrap());
                let stop = until(&v);
                seen.push(v);
                if stop {
                    return seen;
                }
            }
        }
    }
}

fn phases(seen: &[Option<Value>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in seen {
        let p = match s {
            Some(v) => v["status"]["phase"].as_str().unwrap_or("").to_string(),
            None => "(gone)".into(),
        };
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    out
}

/// The DeleteBackupRequests of one backup (the scenario has others).
fn requests_for(cluster: &Cluster, backup: &str) -> Vec<Value> {
    cluster.server.objects("velero.io", "deletebackuprequests").into_iter().filter(|d| d["spec"]["backupName"] == backup).collect()
}

fn terminal(v: &Option<Value>) -> bool {
    v.as_ref().is_some_and(|v| matches!(v["status"]["phase"].as_str(), Some("Completed" | "PartiallyFailed" | "Failed" | "FailedValidation")))
}

#[test]
fn a_backup_goes_through_velero_phases_lands_in_swift_and_is_deleted_by_request() {
    let lab = lab();
    let cluster = serve("lab-healthy", Some(&lab));
    let standin = Standin::start(&cluster.server, "velero", Script::completed());
    let name = "standin-completed";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client(&cluster).await;
        let backups = api(&c, "Backup", "backups");
        backups.create(&PostParams::default(), &backup(name, "shop")).await.unwrap();
        let seen = follow(&backups, name, terminal).await;
        assert_eq!(phases(&seen), ["", "Queued", "ReadyToStart", "InProgress", "WaitingForPluginOperations", "Finalizing", "Completed"]);
        let done = seen.last().unwrap().as_ref().unwrap();
        let status = &done["status"];
        assert_eq!((status["csiVolumeSnapshotsAttempted"].as_u64(), status["csiVolumeSnapshotsCompleted"].as_u64()), (Some(2), Some(2)), "{status}");
        assert_eq!(status["progress"], json!({"totalItems": 14, "itemsBackedUp": 14}));
        assert_eq!(done["spec"]["ttl"], "1h0m0s", "the spec's ttl is kept");
        assert_eq!(done["spec"]["csiSnapshotTimeout"], "10m0s", "a 0s timeout gets the server's default");
        assert_eq!(done["metadata"]["labels"]["velero.io/storage-location"], "default");
        // Progress moved while it ran.
        let progress: Vec<u64> = seen.iter().flatten().filter_map(|v| v["status"]["progress"]["itemsBackedUp"].as_u64()).collect();
        assert!(progress.windows(2).all(|w| w[0] <= w[1]) && progress.first() == Some(&0) && progress.last() == Some(&14), "{progress:?}");
        let keys = objects_in_bsl(name);
        assert_eq!(keys.len(), 9, "{keys:?}");
        for suffix in ["-results.gz", "-logs.gz", "-volumeinfo.json.gz", ".tar.gz"] {
            assert!(keys.contains(&format!("backups/{name}/{name}{suffix}")), "{suffix}: {keys:?}");
        }
        assert!(keys.contains(&format!("backups/{name}/velero-backup.json")));

        let uid = done["metadata"]["uid"].as_str().unwrap();
        let dbrs = api(&c, "DeleteBackupRequest", "deletebackuprequests");
        dbrs.create(&PostParams::default(), &delete_request(name, uid)).await.unwrap();
        let seen = follow(&backups, name, Option::is_none).await;
        assert_eq!(phases(&seen), ["Completed", "Deleting", "(gone)"]);
    });
    assert!(objects_in_bsl(name).is_empty(), "the objects are gone from Swift");
    assert!(requests_for(&cluster, name).is_empty(), "processed requests are deleted: {:?}", standin.log());
}

#[test]
fn velero_refuses_to_delete_a_running_backup_and_a_partial_one_keeps_its_messages() {
    let lab = lab();
    let cluster = serve("lab-healthy", Some(&lab));
    let error = Message::item("shop", "persistentvolumeclaims", "uploads", "Error backing up item", Some("rpc error: code = FailedPrecondition desc = the number of snapshots on the source volume reaches the configured maximum (3)"));
    let script = Script::partially_failed(vec![error], vec![Message::velero("Volume snapshot location not found; snapshots will not be taken")])
        .in_progress_for(Duration::from_secs(2));
    let standin = Standin::start(&cluster.server, "velero", script);
    let name = "standin-partial";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client(&cluster).await;
        let backups = api(&c, "Backup", "backups");
        backups.create(&PostParams::default(), &backup(name, "shop")).await.unwrap();
        let running = follow(&backups, name, |v| v.as_ref().is_some_and(|v| v["status"]["phase"] == "InProgress")).await;
        let uid = running.last().unwrap().as_ref().unwrap()["metadata"]["uid"].as_str().unwrap().to_string();
        let dbrs = api(&c, "DeleteBackupRequest", "deletebackuprequests");
        let made = dbrs.create(&PostParams::default(), &delete_request(name, &uid)).await.unwrap();
        standin.wait_for("backup is still in progress", Duration::from_secs(10));
        let refused = dbrs.get(made.metadata.name.as_deref().unwrap()).await.unwrap();
        assert_eq!(refused.data["status"], json!({"phase": "Processed", "errors": ["backup is still in progress"]}));
        let seen = follow(&backups, name, terminal).await;
        let done = seen.last().unwrap().as_ref().unwrap();
        assert_eq!(done["status"]["phase"], "PartiallyFailed");
        assert_eq!((done["status"]["errors"].as_u64(), done["status"]["warnings"].as_u64()), (Some(1), Some(1)));
        assert_eq!((done["status"]["csiVolumeSnapshotsAttempted"].as_u64(), done["status"]["csiVolumeSnapshotsCompleted"].as_u64()), (Some(2), Some(1)));
        assert!(phases(&seen).contains(&"WaitingForPluginOperationsPartiallyFailed".to_string()), "{:?}", phases(&seen));
        // Deleted once it ended.
        dbrs.create(&PostParams::default(), &delete_request(name, &uid)).await.unwrap();
        follow(&backups, name, Option::is_none).await;
    });
    assert!(objects_in_bsl(name).is_empty());
}

#[test]
fn validation_failure_and_a_server_that_never_starts() {
    let lab = lab();
    let cluster = serve("lab-healthy", Some(&lab));
    let standin = Standin::start(&cluster.server, "velero", Script::failed_validation("BackupStorageLocation \"default\" is unavailable: rpc error: code = Unknown desc = Authentication failed"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client(&cluster).await;
        let backups = api(&c, "Backup", "backups");
        backups.create(&PostParams::default(), &backup("standin-invalid", "default")).await.unwrap();
        let seen = follow(&backups, "standin-invalid", terminal).await;
        let done = seen.last().unwrap().as_ref().unwrap();
        assert_eq!(done["status"]["validationErrors"], json!(["backup can't be created because BackupStorageLocation default is in Unavailable status."]));
        assert!(done["status"].get("startTimestamp").is_none());
        // Velero refuses deletion while the BSL is unavailable.
        let uid = done["metadata"]["uid"].as_str().unwrap().to_string();
        api(&c, "DeleteBackupRequest", "deletebackuprequests").create(&PostParams::default(), &delete_request("standin-invalid", &uid)).await.unwrap();
        standin.wait_for("currently in Unavailable state", Duration::from_secs(10));
    });
    assert!(objects_in_bsl("standin-invalid").is_empty(), "nothing was written");
    drop(standin);

    let cluster = serve("lab-healthy", Some(&lab));
    let standin = Standin::start(&cluster.server, "velero", Script::never_starts());
    rt.block_on(async {
        let c = client(&cluster).await;
        let backups = api(&c, "Backup", "backups");
        backups.create(&PostParams::default(), &backup("standin-idle", "default")).await.unwrap();
        standin.wait_for("left New", Duration::from_secs(10));
        api(&c, "DeleteBackupRequest", "deletebackuprequests").create(&PostParams::default(), &delete_request("standin-idle", "x")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(backups.get("standin-idle").await.unwrap().data.get("status").is_none_or(|s| s.get("phase").is_none()));
    });
    let dbrs = requests_for(&cluster, "standin-idle");
    assert_eq!(dbrs.len(), 1, "nobody processed the request");
    assert!(dbrs[0].get("status").is_none());
}
