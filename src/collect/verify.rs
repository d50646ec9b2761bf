//! The I/O of `veldr verify` beyond the doctor's reads: its only writes (a Backup, then a
//! DeleteBackupRequest, as `velero backup create` and `velero backup delete` make them), the access
//! review that comes first, and the reads of the test backup's objects in the BSL. Nothing else in
//! veldr writes; the run itself (watch, cleanup, signals) is `cmd::verify`'s.

use super::kube::read_error;
use super::results::Store;
use crate::facts::verify::{StoreReads, CREATED_BY_LABEL, LISTED, TTL, VERIFY_LABEL};
use crate::facts::{Problem, ProblemKind, ReadError, ResultsRead, VolumeInfoRead};
use crate::openstack::swift::{self, SwiftError};
use crate::secret::Secret;
use crate::upstream::velero_store as store;
use crate::upstream::velero_volumeinfo;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{json, Value};

pub const GROUP: &str = "velero.io";

/// The two kinds verify writes: (kind, plural).
pub const BACKUP: (&str, &str) = ("Backup", "backups");
pub const DELETE_REQUEST: (&str, &str) = ("DeleteBackupRequest", "deletebackuprequests");

/// What verify needs beyond deploy/rbac.yaml (which already lists both kinds): deploy/rbac-verify.yaml.
pub const GRANTS: &[(&str, &str)] = &[("create", "backups"), ("watch", "backups"), ("create", "deletebackuprequests"), ("watch", "deletebackuprequests")];

pub fn api(client: &kube::Client, namespace: &str, (kind, plural): (&str, &str)) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, "v1", kind), plural))
}

/// `veldr-verify-<UTC timestamp>`, the timestamp as Velero names a Schedule's backups
/// (`Schedule.TimestampedName`, `20060102150405`).
pub fn backup_name(now: jiff::Timestamp) -> String {
    format!("veldr-verify-{}", now.strftime("%Y%m%d%H%M%S"))
}

/// The Backup `velero backup create NAME --include-namespaces NS --ttl 1h --labels …` sends, field for
/// field (vmware-tanzu/velero v1.18.1 `pkg/cmd/cli/backup/create.go` `BuildBackup`, through
/// `pkg/builder/backup_builder.go`, encoded with `pkg/apis/velero/v1/backup_types.go`'s JSON tags):
/// zero durations are `"0s"` (metav1.Duration is not omitted), `metadata` and `hooks` are empty
/// objects, no `storageLocation` (the server takes the default BSL), no `snapshotVolumes` and no
/// `defaultVolumesToFsBackup` (the server's defaults). The server fills the rest when it validates it.
pub fn backup_manifest(name: &str, namespace: &str, included: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {CREATED_BY_LABEL.0: CREATED_BY_LABEL.1, VERIFY_LABEL.0: VERIFY_LABEL.1},
        },
        "spec": {
            "metadata": {},
            "includedNamespaces": [included],
            "ttl": TTL,
            "hooks": {},
            "csiSnapshotTimeout": "0s",
            "itemOperationTimeout": "0s",
        },
        "status": {},
    })
}

/// The DeleteBackupRequest `velero backup delete NAME` creates (v1.18.1 `pkg/cmd/cli/backup/delete.go`
/// `Run`: `builder.ForDeleteBackupRequest(ns, "").BackupName(b.Name)` with labels
/// `velero.io/backup-name` (label.GetValidName) and `velero.io/backup-uid`, generateName `<b>-`).
pub fn delete_request_manifest(backup: &str, uid: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "DeleteBackupRequest",
        "metadata": {
            "generateName": format!("{backup}-"),
            "namespace": namespace,
            "labels": {"velero.io/backup-name": valid_label(backup), "velero.io/backup-uid": uid},
        },
        "spec": {"backupName": backup},
    })
}

/// Velero's `label.GetValidName` (pkg/label/label.go): a name over 63 characters becomes its first 57
/// and 6 hex of its SHA-256.
pub fn valid_label(name: &str) -> String {
    use sha2::{Digest, Sha256};
    if name.len() <= 63 {
        return name.to_string();
    }
    format!("{}{}", &name[..57], &hex::encode(Sha256::digest(name.as_bytes()))[..6])
}

/// The grants of [`GRANTS`] the API server says veldr's identity lacks in `namespace`
/// (SelfSubjectAccessReview, which every authenticated user may ask). `Err`: the review itself could
/// not be asked (then the writes will tell).
pub async fn missing_grants(client: &kube::Client, namespace: &str) -> Result<Vec<String>, String> {
    use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let asks = GRANTS.iter().map(|(verb, resource)| {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    group: Some(GROUP.into()),
                    namespace: Some(namespace.into()),
                    resource: Some((*resource).into()),
                    verb: Some((*verb).into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let reviews = reviews.clone();
        async move { (verb, resource, reviews.create(&PostParams::default(), &review).await) }
    });
    let mut missing = Vec::new();
    for (verb, resource, answer) in futures::future::join_all(asks).await {
        match answer {
            Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => {}
            Ok(_) => missing.push(grant(verb, resource, namespace)),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(missing)
}

/// `create backups.velero.io in namespace velero`.
pub fn grant(verb: &str, resource: &str, namespace: &str) -> String {
    format!("{verb} {resource}.{GROUP} in namespace {namespace}")
}

/// Creates one object of `kind`; the error as a read error names verb, resource and namespace.
pub async fn create(client: &kube::Client, namespace: &str, kind: (&str, &str), manifest: &Value) -> Result<Value, ReadError> {
    let object: DynamicObject = serde_json::from_value(manifest.clone()).expect("a manifest veldr built");
    let resource = format!("{}.{GROUP}", kind.1);
    match api(client, namespace, kind).create(&PostParams::default(), &object).await {
        Ok(o) => Ok(serde_json::to_value(o).expect("serializes")),
        Err(e) => Err(read_error(&e, "create", &resource, Some(namespace))),
    }
}

fn problem(e: SwiftError) -> Problem {
    let kind = match &e {
        SwiftError::NotFound { .. } => ProblemKind::NotFound,
        SwiftError::Unauthorized { .. } => ProblemKind::Unauthorized,
        SwiftError::Forbidden { .. } => ProblemKind::Forbidden,
        SwiftError::Transport(_) => ProblemKind::Unreachable,
        SwiftError::BadBody(_) => ProblemKind::BadBody,
        _ => ProblemKind::Http,
    };
    Problem::new(kind, e.to_string())
}

/// The backup's directory, `[<prefix>/]backups/<b>/`.
pub fn dir(store: &Store, backup: &str) -> String {
    store::backups_dir(store.prefix.as_deref()) + backup + "/"
}

/// The names of the backup's objects (at most [`LISTED`]).
pub async fn list_dir(client: &reqwest::Client, store: &Store, token: &Secret, backup: &str) -> Result<Vec<String>, Problem> {
    swift::list_names(client, &store.endpoint, token, &store.container, &dir(store, backup), LISTED as u64).await.map(|(names, _)| names).map_err(problem)
}

/// Reads what the BSL holds of the backup once it ended: its directory's listing, and, when it ran,
/// its results and volumeinfo (bounded as backup.failures and backup.coverage read them).
pub async fn read_store(client: &reqwest::Client, bsl: &str, store: &Store, token: &Secret, backup: &str, ran: bool) -> StoreReads {
    let results_key = store::backup_results_key(store.prefix.as_deref(), backup);
    let info_key = store::backup_volume_info_key(store.prefix.as_deref(), backup);
    let listing = list_dir(client, store, token, backup);
    let results = async {
        if !ran {
            return None;
        }
        let t0 = std::time::Instant::now();
        let got = swift::get_object(client, &store.endpoint, token, &store.container, &results_key, store::RESULTS_READ_LIMIT).await;
        let outcome = match got {
            Ok(o) => tokio::task::spawn_blocking(move || store::parse_results(&o.bytes, o.cut))
                .await
                .unwrap_or_else(|e| Err(Problem::new(ProblemKind::BadBody, format!("reading the results failed: {e}")))),
            Err(e) => Err(problem(e)),
        };
        Some(ResultsRead {
            backup: backup.to_string(),
            restore: None,
            bsl: bsl.to_string(),
            container: Some(store.container.clone()),
            key: results_key.clone(),
            outcome,
            elapsed_ms: t0.elapsed().as_millis() as u64,
        })
    };
    let volume_info = async {
        if !ran {
            return None;
        }
        let got = swift::get_object(client, &store.endpoint, token, &store.container, &info_key, velero_volumeinfo::READ_LIMIT).await;
        let outcome = match got {
            Ok(o) => tokio::task::spawn_blocking(move || velero_volumeinfo::parse(&o.bytes, o.cut))
                .await
                .unwrap_or_else(|e| Err(Problem::new(ProblemKind::BadBody, format!("reading the volumeinfo failed: {e}")))),
            Err(e) => Err(problem(e)),
        };
        Some(VolumeInfoRead { key: info_key.clone(), outcome })
    };
    let (listing, results, volume_info) = futures::join!(listing, results, volume_info);
    StoreReads {
        bsl: bsl.to_string(),
        container: Some(store.container.clone()),
        dir: dir(store, backup),
        unread: None,
        listing: Some(listing),
        results,
        volume_info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backup_is_the_one_velero_backup_create_sends() {
        let b = backup_manifest("veldr-verify-20261129080000", "velero", "default");
        // `velero backup create veldr-verify-20261129080000 --include-namespaces default --ttl 1h
        //  --labels app.kubernetes.io/created-by=veldr,veldr.io/verify=true -o json` (v1.18.1), less
        // `creationTimestamp: null`, which the API server ignores.
        let expected = json!({
            "kind": "Backup", "apiVersion": "velero.io/v1",
            "metadata": {"name": "veldr-verify-20261129080000", "namespace": "velero",
                         "labels": {"app.kubernetes.io/created-by": "veldr", "veldr.io/verify": "true"}},
            "spec": {"metadata": {}, "includedNamespaces": ["default"], "ttl": "1h0m0s", "hooks": {},
                     "csiSnapshotTimeout": "0s", "itemOperationTimeout": "0s"},
            "status": {}
        });
        assert_eq!(b, expected);
        assert!(b["spec"].get("storageLocation").is_none() && b["spec"].get("snapshotVolumes").is_none() && b["spec"].get("defaultVolumesToFsBackup").is_none());
        assert_eq!(backup_name("2026-11-29T08:00:00.9Z".parse().unwrap()), "veldr-verify-20261129080000");
    }

    #[test]
    fn the_delete_request_is_the_one_velero_backup_delete_creates() {
        let d = delete_request_manifest("veldr-verify-20261129080000", "4f1c-uid", "velero");
        assert_eq!(d["metadata"]["generateName"], "veldr-verify-20261129080000-");
        assert_eq!(d["metadata"]["labels"], json!({"velero.io/backup-name": "veldr-verify-20261129080000", "velero.io/backup-uid": "4f1c-uid"}));
        assert_eq!(d["spec"], json!({"backupName": "veldr-verify-20261129080000"}));
        // label.GetValidName: 57 characters and 6 hex of the SHA-256.
        let long = "b".repeat(70);
        let v = valid_label(&long);
        assert_eq!(v.len(), 63);
        assert!(v.starts_with(&"b".repeat(57)));
        assert_eq!(valid_label("short"), "short");
    }
}
