//! Reads the objects of each Schedule's newest finished backup from its BSL, with the Keystone token
//! (the Swift API, as `collect::results`): the HEADs of `velero-backup.json` and `<b>.tar.gz` (their
//! `X-Delete-At`; backup.inventory) and `<b>-volumeinfo.json.gz` (backup.coverage). Bounded: at most
//! [`MAX_SCHEDULES`] Schedules per run, newest first, [`CONCURRENCY`] at a time, each volumeinfo read
//! up to [`velero_volumeinfo::READ_LIMIT`] bytes and parsed off the async workers. So the requests
//! grow with the Schedules (three each), never with the Backups; every other backup is judged from
//! the BSL's one listing (`collect::openstack`).
//!
//! A node of collect's graph: it starts when the Backups and Schedules are listed and Swift has
//! validated the token (`Board::token`), alongside the results reads and the container HEADs.

use super::kube::Deadline;
use super::openstack::{swift_problem, timed};
use super::results::{backup_bsl, Stores};
use crate::facts::{
    Backup, BackupStorageLocation, HeadRead, List, NewestBackupRead, NewestBackupsFacts, Object, OpenStackFacts, Problem, ProblemKind, Read, Schedule,
    VolumeInfoRead,
};
use crate::openstack::http::{self, HttpOptions};
use crate::openstack::swift;
use crate::secret::Secret;
use crate::upstream::velero_store;
use crate::upstream::velero_volumeinfo;
use futures::StreamExt;
use std::collections::BTreeSet;

/// Schedules whose newest backup is read per run at most (newest first; the rest are counted).
pub const MAX_SCHEDULES: usize = 20;
/// Schedules read at once (each: two HEADs and one GET, together).
pub const CONCURRENCY: usize = 4;

/// What the reads need, each as soon as it is read.
pub struct Inputs<'a> {
    pub backups: &'a Read<List<Backup>>,
    pub schedules: &'a Read<List<Schedule>>,
    pub bsls: &'a Read<List<BackupStorageLocation>>,
    /// The OpenStack facts as far as the token (its value, each BSL's endpoint).
    pub openstack: Option<&'a OpenStackFacts>,
}

/// The objects of the newest finished backup of each Schedule in `inputs`.
pub async fn from_parts(inputs: &Inputs<'_>, http_opts: &HttpOptions, client: Option<reqwest::Client>, deadline: &Deadline) -> NewestBackupsFacts {
    let not = |why: String| NewestBackupsFacts { not_attempted: Some(why), limit: MAX_SCHEDULES, ..Default::default() };
    let backups = match inputs.backups {
        Ok(list) => list,
        Err(e) => return not(format!("the Backups could not be read: {}", e.explain())),
    };
    let schedules: BTreeSet<&str> = match inputs.schedules {
        Ok(list) => list.iter().map(|s| s.name()).collect(),
        Err(e) => return not(format!("the Schedules could not be read: {}", e.explain())),
    };
    let newest: Vec<&Backup> =
        crate::rules::backups::newest_restorable(backups).into_iter().filter(|b| b.schedule().is_some_and(|s| schedules.contains(s))).collect();
    if newest.is_empty() {
        return NewestBackupsFacts { limit: MAX_SCHEDULES, ..Default::default() };
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
    let stores = super::results::stores_of(inputs.bsls, os);
    let default_bsl = super::results::default_of(inputs.bsls);
    read_newest(&client, &token, &stores, &newest, default_bsl, deadline).await
}

/// Reads the objects of `newest` (one backup per Schedule, newest first), at most [`MAX_SCHEDULES`].
pub async fn read_newest(
    client: &reqwest::Client,
    token: &Secret,
    stores: &Stores,
    newest: &[&Backup],
    default_bsl: Option<&str>,
    deadline: &Deadline,
) -> NewestBackupsFacts {
    // The futures are made first (they start only when polled), as in `collect::results`.
    let pending: Vec<_> = newest.iter().take(MAX_SCHEDULES).map(|b| read_one(client, token, stores, b, default_bsl, deadline)).collect();
    let reads = futures::stream::iter(pending).buffered(CONCURRENCY).collect::<Vec<_>>().await;
    NewestBackupsFacts { not_attempted: None, qualified: newest.len(), limit: MAX_SCHEDULES, reads }
}

async fn read_one(client: &reqwest::Client, token: &Secret, stores: &Stores, b: &Backup, default_bsl: Option<&str>, deadline: &Deadline) -> NewestBackupRead {
    let mut read = NewestBackupRead {
        schedule: b.schedule().unwrap_or_default().to_string(),
        backup: b.name().to_string(),
        bsl: String::new(),
        container: None,
        unread: None,
        heads: Vec::new(),
        volume_info: None,
        elapsed_ms: 0,
    };
    let Some(bsl) = backup_bsl(b, default_bsl) else {
        read.unread = Some("the backup names no storageLocation and there is no default BSL".into());
        return read;
    };
    read.bsl = bsl.to_string();
    let store = match stores.get(bsl) {
        Some(Ok(s)) => s,
        Some(Err(why)) => {
            read.unread = Some(why.clone());
            return read;
        }
        None => {
            read.unread = Some(format!("BSL {bsl} does not exist (or was not selected with --bsl)"));
            return read;
        }
    };
    read.container = Some(store.container.clone());
    let prefix = store.prefix.as_deref();
    let _reading = super::progress::reading(format!("objects of {}", b.name()));
    let t0 = std::time::Instant::now();
    let head = |key: String| async move {
        let (outcome, _) = timed(deadline, "Swift", swift::head_object(client, &store.endpoint, token, &store.container, &key), swift_problem).await;
        HeadRead { key, outcome }
    };
    let volume_info = async {
        let key = velero_store::backup_volume_info_key(prefix, b.name());
        let fut = swift::get_object(client, &store.endpoint, token, &store.container, &key, velero_volumeinfo::READ_LIMIT);
        let (got, _) = timed(deadline, "Swift", fut, swift_problem).await;
        // Gunzipping and parsing is CPU work: off the async workers.
        let outcome = match got {
            Ok(o) => tokio::task::spawn_blocking(move || velero_volumeinfo::parse(&o.bytes, o.cut))
                .await
                .unwrap_or_else(|e| Err(Problem::new(ProblemKind::BadBody, format!("reading the volumeinfo failed: {e}")))),
            Err(p) => Err(p),
        };
        VolumeInfoRead { key, outcome }
    };
    let (metadata, contents, volume_info) =
        futures::join!(head(velero_store::backup_metadata_key(prefix, b.name())), head(velero_store::backup_contents_key(prefix, b.name())), volume_info);
    read.heads = vec![metadata, contents];
    read.volume_info = Some(volume_info);
    read.elapsed_ms = t0.elapsed().as_millis() as u64;
    read
}
