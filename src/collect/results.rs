//! Reads the results objects (`backups/<b>/<b>-results.gz`) of the backups that failed, from each
//! one's BSL container, with the Keystone token (the Swift API, not a temp URL: this works when the
//! temp-URL key is wrong, which is when `velero backup describe --details` does not). Bounded: at
//! most [`MAX_BACKUPS`] objects per run, newest first, [`CONCURRENCY`] at a time, each read up to
//! [`velero_store::RESULTS_READ_LIMIT`] bytes. Only the parsed messages are kept (`facts::results`).
//!
//! [`read_results`] takes everything it needs as arguments (client, token, the store of each BSL,
//! the backups, the deadline), so it can run wherever collect schedules it; [`from_facts`] gathers
//! those from the facts collected before it.

use super::kube::Deadline;
use super::openstack::{swift_problem, timed};
use crate::facts::{Backup, BackupResultsFacts, BackupStorageLocation, Facts, List, Object, OpenStackFacts, Problem, ProblemKind, Read, Restore, ResultsRead};
use crate::openstack::http::{self, HttpOptions};
use crate::openstack::swift;
use crate::secret::Secret;
use crate::upstream::velero_store;
use futures::StreamExt;
use std::collections::BTreeMap;

/// Results objects read per run at most (the newest failures first; the rest are counted).
pub const MAX_BACKUPS: usize = 10;
/// Results objects of failed restores read per run at most, besides the backups'.
pub const MAX_RESTORES: usize = 5;
/// Reads in flight at once.
pub const CONCURRENCY: usize = 4;

/// Where one BSL's objects are: the plugin's endpoint, the container and Velero's prefix.
#[derive(Debug, Clone)]
pub struct Store {
    pub endpoint: String,
    pub container: String,
    pub prefix: Option<String>,
}

/// Each BSL by name: its store, or why it cannot be read (not an OpenStack BSL veldr asked, no endpoint).
pub type Stores = BTreeMap<String, Result<Store, String>>;

/// The BSL a backup was written to: its `spec.storageLocation`, else the default BSL.
pub fn backup_bsl<'a>(b: &'a Backup, default_bsl: Option<&'a str>) -> Option<&'a str> {
    b.spec.storage_location.as_deref().filter(|s| !s.is_empty()).or(default_bsl)
}

/// Reads the results of `backups` (already chosen, newest first), at most [`MAX_BACKUPS`], and of
/// `restores` (each with the backup it restores, when the cluster has it), at most [`MAX_RESTORES`];
/// `restores` is `None` when they were not asked for.
pub async fn read_results(
    client: &reqwest::Client,
    token: &Secret,
    stores: &Stores,
    backups: &[&Backup],
    restores: Option<&[(&Restore, Option<&Backup>)]>,
    default_bsl: Option<&str>,
    deadline: &Deadline,
) -> BackupResultsFacts {
    let subjects = backups
        .iter()
        .take(MAX_BACKUPS)
        .map(|b| Subject::Backup(b))
        .chain(restores.unwrap_or_default().iter().take(MAX_RESTORES).map(|(r, b)| Subject::Restore(r, r.spec.backup_name.as_deref().filter(|n| !n.is_empty()), *b)));
    // The futures are made first (they start only when polled): a closure inside the stream would
    // not be general enough over lifetimes for the spawned run of `veldr serve`.
    let pending: Vec<_> = subjects.map(|s| read_one(client, token, stores, s, default_bsl, deadline)).collect();
    let reads = futures::stream::iter(pending).buffered(CONCURRENCY).collect::<Vec<_>>().await;
    BackupResultsFacts {
        not_attempted: None,
        qualified: backups.len(),
        limit: MAX_BACKUPS,
        reads,
        restores_qualified: restores.map_or(0, <[_]>::len),
        restore_limit: if restores.is_some() { MAX_RESTORES } else { 0 },
    }
}

/// Whose results object is read: a backup's, or a restore's (with the name of the backup it
/// restores and that backup, whose BSL holds the object).
enum Subject<'a> {
    Backup(&'a Backup),
    Restore(&'a Restore, Option<&'a str>, Option<&'a Backup>),
}

async fn read_one(client: &reqwest::Client, token: &Secret, stores: &Stores, subject: Subject<'_>, default_bsl: Option<&str>, deadline: &Deadline) -> ResultsRead {
    let (backup_name, restore, backup) = match subject {
        Subject::Backup(b) => (b.name().to_string(), None, Some(b)),
        Subject::Restore(r, name, b) => (name.unwrap_or_default().to_string(), Some(r.name().to_string()), b),
    };
    let key_of = |prefix: Option<&str>| match &restore {
        Some(r) => velero_store::restore_results_key(prefix, r),
        None => velero_store::backup_results_key(prefix, &backup_name),
    };
    let unread = |bsl: &str, why: String| ResultsRead {
        backup: backup_name.clone(),
        restore: restore.clone(),
        bsl: bsl.to_string(),
        container: None,
        key: key_of(None),
        outcome: Err(Problem::new(ProblemKind::NotAttempted, why)),
        elapsed_ms: 0,
    };
    let bsl = match backup {
        Some(b) => backup_bsl(b, default_bsl),
        // The BSL of a restore is its backup's: without the Backup, it is not known.
        None if backup_name.is_empty() => return unread("", "the restore names no backupName".into()),
        None => return unread("", format!("its backup {backup_name} is not in the cluster (deleted, or not synced from the BSL yet)")),
    };
    let Some(bsl) = bsl else {
        return unread("", "the backup names no storageLocation and there is no default BSL".into());
    };
    let store = match stores.get(bsl) {
        Some(Ok(s)) => s,
        Some(Err(why)) => return unread(bsl, why.clone()),
        None => return unread(bsl, format!("BSL {bsl} does not exist (or was not selected with --bsl)")),
    };
    let key = key_of(store.prefix.as_deref());
    let _reading = super::progress::reading(format!("results of {}", restore.as_deref().unwrap_or(&backup_name)));
    let fut = swift::get_object(client, &store.endpoint, token, &store.container, &key, velero_store::RESULTS_READ_LIMIT);
    let (got, elapsed_ms) = timed(deadline, "Swift", fut, swift_problem).await;
    // Gunzipping up to 16 MiB and parsing it is CPU work: off the async workers, which serve every
    // other read of the run meanwhile.
    let outcome = match got {
        Ok(o) => tokio::task::spawn_blocking(move || velero_store::parse_results(&o.bytes, o.cut))
            .await
            .unwrap_or_else(|e| Err(Problem::new(ProblemKind::BadBody, format!("reading the results failed: {e}")))),
        Err(p) => Err(p),
    };
    ResultsRead { backup: backup_name, restore, bsl: bsl.to_string(), container: Some(store.container.clone()), key, outcome, elapsed_ms }
}

/// Every BSL's store, as the OpenStack facts found it.
pub fn stores(facts: &Facts) -> Stores {
    stores_of(&facts.kube.backup_storage_locations, facts.openstack.as_ref())
}

/// [`stores`] from the BSLs and the OpenStack facts alone (the endpoints are known with the token).
pub(crate) fn stores_of(bsls: &Read<List<BackupStorageLocation>>, os: Option<&OpenStackFacts>) -> Stores {
    let mut out = Stores::new();
    let Ok(bsls) = bsls else { return out };
    let targets = os.map(|o| o.targets.as_slice()).unwrap_or_default();
    for b in bsls.iter() {
        let name = b.name().to_string();
        let store = match targets.iter().find(|t| t.bsl == name) {
            None if !b.is_openstack() => Err(format!("BSL {name} is not a Swift one (provider {:?})", b.spec.provider)),
            None => Err(format!("BSL {name} was not asked of OpenStack (see --bsl)")),
            Some(t) => match &t.endpoint {
                Some(Ok(ep)) => Ok(Store { endpoint: ep.clone(), container: t.container.clone(), prefix: b.spec.object_storage.prefix.clone() }),
                Some(Err(p)) => Err(format!("no Swift endpoint for BSL {name}: {}", p.message)),
                None => Err(format!("no Swift endpoint for BSL {name}: Keystone gave no token")),
            },
        };
        out.insert(name, store);
    }
    out
}

/// The default BSL: `spec.default: true` (the server's `--default-backup-storage-location` names it
/// too, but Velero fills every Backup's `spec.storageLocation` at creation).
pub fn default_bsl(facts: &Facts) -> Option<&str> {
    default_of(&facts.kube.backup_storage_locations)
}

pub(crate) fn default_of(bsls: &Read<List<BackupStorageLocation>>) -> Option<&str> {
    bsls.as_ref().ok()?.iter().find(|b| b.spec.default).map(|b| b.name())
}

/// The results of the failed backups in `facts` (collect's hook): the token, endpoints and backups
/// are taken from what was collected before.
pub async fn from_facts(facts: &Facts, http_opts: &HttpOptions, deadline: &Deadline) -> BackupResultsFacts {
    let inputs = Inputs {
        backups: &facts.kube.backups,
        read_backups: true,
        restores: Some(&facts.kube.restores),
        bsls: &facts.kube.backup_storage_locations,
        openstack: facts.openstack.as_ref(),
        now: facts.collected_at,
    };
    from_parts(&inputs, http_opts, None, deadline).await
}

/// What the results reads need, each as soon as it is read: the Backups, the BSLs, and the
/// OpenStack facts as far as the token (its value, each BSL's endpoint).
pub struct Inputs<'a> {
    pub backups: &'a Read<List<Backup>>,
    /// Whether the failed backups' results are wanted (backup.failures is judged); the Backups are
    /// read in any case, since a restore's BSL is its backup's.
    pub read_backups: bool,
    /// The Restores, when their results are wanted (velero.operations is judged).
    pub restores: Option<&'a Read<List<Restore>>>,
    pub bsls: &'a Read<List<BackupStorageLocation>>,
    pub openstack: Option<&'a OpenStackFacts>,
    /// The run's start (which failures are recent).
    pub now: jiff::Timestamp,
}

/// The results of the failed backups among `inputs.backups` (a node of collect's graph: it starts
/// when the Backups are listed and Swift has validated the token, not after every Swift read).
/// `client`: one built beforehand, else one is built from `http_opts`.
pub async fn from_parts(inputs: &Inputs<'_>, http_opts: &HttpOptions, client: Option<reqwest::Client>, deadline: &Deadline) -> BackupResultsFacts {
    let not = |why: String| BackupResultsFacts { not_attempted: Some(why), limit: MAX_BACKUPS, ..Default::default() };
    let backups = match inputs.backups {
        Ok(list) => list,
        Err(e) => return not(format!("the Backups could not be read: {}", e.explain())),
    };
    let failed = match inputs.read_backups {
        true => crate::rules::backups::failed_backups(backups, inputs.now),
        false => Vec::new(),
    };
    // A restore's results are in its backup's BSL: the backup is looked up by name.
    let restores: Option<Vec<(&Restore, Option<&Backup>)>> = inputs.restores.map(|r| match r {
        Ok(list) => crate::rules::restores::failed_restores(list, inputs.now)
            .into_iter()
            .map(|r| (r, r.spec.backup_name.as_deref().and_then(|n| backups.iter().find(|b| b.name() == n))))
            .collect(),
        Err(_) => Vec::new(),
    });
    if failed.is_empty() && restores.as_ref().is_none_or(Vec::is_empty) {
        return BackupResultsFacts { limit: MAX_BACKUPS, restore_limit: if restores.is_some() { MAX_RESTORES } else { 0 }, ..Default::default() };
    }
    let os = inputs.openstack;
    if let Some(why) = os.and_then(|o| o.not_attempted.clone()) {
        return not(format!("OpenStack was not asked: {why}"));
    }
    let token = match os.and_then(|o| o.auth.as_ref()).map(|a| &a.token) {
        Some(Ok(t)) => t.value.clone(),
        Some(Err(p)) => return not(format!("no Keystone token: {}", p.message)),
        None => return not("no Keystone token".into()),
    };
    let client = match client.map_or_else(|| http::client(&HttpOptions { timeout: deadline.remaining(), ..http_opts.clone() }), Ok) {
        Ok(c) => c,
        Err(e) => return not(e.to_string()),
    };
    read_results(&client, &token, &stores_of(inputs.bsls, os), &failed, restores.as_deref(), default_of(inputs.bsls), deadline).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{List, Need, OpenStackFacts, SwiftTarget};
    use std::collections::BTreeSet;

    #[test]
    fn results_imply_openstack_and_backups() {
        let all = super::super::closure(&BTreeSet::from([Need::BackupResults]));
        for n in [Need::OpenStack, Need::Backups, Need::BackupStorageLocations, Need::VeleroEnv] {
            assert!(all.contains(&n), "{n:?}");
        }
    }

    fn bsl(name: &str, provider: &str, default: bool) -> String {
        serde_json::json!({"metadata": {"name": name, "namespace": "velero"},
            "spec": {"provider": provider, "default": default, "objectStorage": {"bucket": format!("{name}-bucket"), "prefix": "cluster-a"}}}).to_string()
    }

    #[test]
    fn each_bsl_has_its_store_or_the_reason_it_has_none() {
        let mut f = Facts::empty("velero");
        let mut list = List::default();
        for b in [bsl("default", "community.openstack.org/openstack", true), bsl("aws", "aws", false), bsl("other", "openstack", false), bsl("down", "openstack", false)] {
            list.push_json(&b);
        }
        f.kube.backup_storage_locations = Ok(list);
        let target = |name: &str, endpoint: Option<crate::facts::Outcome<String>>| SwiftTarget {
            bsl: name.into(), container: format!("{name}-bucket"), plugin: Default::default(), endpoint, container_head: None, account_head: None,
            info: None, signing_key: None, probe_url: None, probe: None, timings_ms: Default::default(), backup_listing: None, backup_objects: None,
        };
        f.openstack = Some(OpenStackFacts {
            targets: vec![target("default", Some(Ok("http://s/v1/AUTH_p".into()))), target("down", Some(Err(Problem::new(ProblemKind::NoRegion, "no region RegionX"))))],
            ..Default::default()
        });
        let s = stores(&f);
        let d = s["default"].as_ref().unwrap();
        assert_eq!((d.endpoint.as_str(), d.container.as_str(), d.prefix.as_deref()), ("http://s/v1/AUTH_p", "default-bucket", Some("cluster-a")));
        assert!(s["aws"].as_ref().unwrap_err().contains("not a Swift one"));
        assert!(s["other"].as_ref().unwrap_err().contains("--bsl"));
        assert!(s["down"].as_ref().unwrap_err().contains("no region RegionX"));
        assert_eq!(default_bsl(&f), Some("default"));
        let b: Backup = serde_json::from_str(r#"{"metadata": {"name": "b"}, "spec": {}}"#).unwrap();
        assert_eq!(backup_bsl(&b, Some("default")), Some("default"));
    }
}
