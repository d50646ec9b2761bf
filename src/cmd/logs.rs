//! `veldr logs backup/NAME|restore/NAME [--results]`: the log (or the results) Velero stored for one
//! backup or restore, read from its BSL through the Swift API with the token of Velero's credentials,
//! resolved as the doctor resolves them (`--credentials`). `velero backup logs` asks for a temp URL
//! instead, so this works when that fails with "401 Temp URL invalid". The log is gunzipped as it
//! streams to stdout; the results are read bounded and laid out as `velero backup describe` does.
//! Exit 1 when the object is absent (the container and key tried are named), 2 when veldr cannot run.

use crate::pipeline::Unrunnable;
use crate::cli::LogsArgs;
use crate::collect::kube::{Deadline, KubeTarget};
use crate::collect::results::{backup_bsl, default_bsl, stores, Store};
use crate::collect::{self, CollectOptions};
use crate::facts::{Facts, Need, Object};
use crate::openstack::http::{self, HttpOptions};
use crate::openstack::swift::{self, SwiftError};
use crate::secret::Secret;
use crate::upstream::velero_store;
use std::io::Write;

/// What to read: a backup's or a restore's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Backup(String),
    Restore(String),
}

impl Subject {
    pub fn parse(s: &str) -> Result<Subject, Unrunnable> {
        let (kind, name) = s.split_once('/').ok_or_else(|| Unrunnable(format!("{s:?}: say backup/NAME or restore/NAME")))?;
        if name.is_empty() || name.contains('/') {
            return Err(Unrunnable(format!("{s:?}: say backup/NAME or restore/NAME")));
        }
        match kind {
            "backup" | "backups" | "backup.velero.io" => Ok(Subject::Backup(name.to_string())),
            "restore" | "restores" | "restore.velero.io" => Ok(Subject::Restore(name.to_string())),
            _ => Err(Unrunnable(format!("{s:?}: veldr reads the logs of a backup/NAME or a restore/NAME, not of a {kind}"))),
        }
    }

    fn describe(&self) -> String {
        match self {
            Subject::Backup(n) => format!("backup {n}"),
            Subject::Restore(n) => format!("restore {n}"),
        }
    }

    /// The object's key under the BSL's prefix (Velero's layout).
    pub fn key(&self, prefix: Option<&str>, results: bool) -> String {
        match (self, results) {
            (Subject::Backup(n), false) => velero_store::backup_log_key(prefix, n),
            (Subject::Backup(n), true) => velero_store::backup_results_key(prefix, n),
            (Subject::Restore(n), false) => velero_store::restore_log_key(prefix, n),
            (Subject::Restore(n), true) => velero_store::restore_results_key(prefix, n),
        }
    }
}

pub async fn run(args: LogsArgs) -> Result<i32, Unrunnable> {
    let subject = Subject::parse(&args.target)?;
    if args.insecure {
        eprintln!("veldr: warning: --insecure: TLS certificates of Keystone and Swift are NOT verified in this run");
    }
    let target = KubeTarget { kubeconfig: args.cluster.kubeconfig.clone(), context: args.context.clone() };
    let opts = CollectOptions {
        target: target.clone(),
        namespace: crate::collect::namespace::from_process(args.cluster.namespace.as_deref()),
        timeout: args.cluster.timeout,
        credentials: args.credentials.clone(),
        // The BSLs, the Backups (whose BSL), and the token with each BSL's endpoint.
        needs: [Need::OpenStack, Need::Backups].into(),
        bsl_filter: vec![],
        insecure: args.insecure,
        tokens: None,
        restore: None,
    };
    let (facts, _) = crate::pipeline::with_progress(args.verbose == 0, collect::collect(&opts)).await.map_err(|e| Unrunnable(e.to_string()))?;
    let backup = match &subject {
        Subject::Backup(n) => Some(n.clone()),
        Subject::Restore(n) => restore_backup(&target, &facts.target.namespace, n, args.cluster.timeout).await?,
    };
    let bsl = bsl_for(&facts, &subject, backup.as_deref())?;
    let (store, token) = swift_access(&facts, &bsl)?;
    let key = subject.key(store.prefix.as_deref(), args.results);
    let deadline = Deadline::after(args.cluster.timeout);
    let ca_pem = match std::env::var_os("OS_CACERT") {
        Some(path) => Some(std::fs::read(&path).map_err(|e| Unrunnable(format!("OS_CACERT {}: {e}", path.to_string_lossy())))?),
        None => None,
    };
    let client = http::client(&HttpOptions { timeout: deadline.remaining(), ca_pem, insecure: args.insecure }).map_err(|e| Unrunnable(e.to_string()))?;
    let place = format!("container {} (BSL {bsl}), object {key}", store.container);
    let absent = |what: &str| {
        eprintln!("veldr: {} has no {what} in Swift: {place} does not exist (404)", subject.describe());
        eprintln!("veldr: Velero uploads it when the {} ends: one still running, failed before it ended, or deleted has none", if matches!(subject, Subject::Backup(_)) { "backup" } else { "restore" });
        Ok(1)
    };
    if args.results {
        return match tokio::time::timeout_at(deadline.at, swift::get_object(&client, &store.endpoint, &token, &store.container, &key, velero_store::RESULTS_READ_LIMIT)).await {
            Err(_) => Err(Unrunnable(format!("Swift did not answer within --timeout reading {place}"))),
            Ok(Err(SwiftError::NotFound { .. })) => absent("results"),
            Ok(Err(e)) => Err(Unrunnable(format!("reading {place}: {e}"))),
            Ok(Ok(o)) => match velero_store::parse_results(&o.bytes, o.cut) {
                Ok(r) => {
                    print!("{}", velero_store::render(&r));
                    Ok(0)
                }
                Err(p) => {
                    eprintln!("veldr: {place} is not a results object Velero wrote: {}", p.message);
                    Ok(1)
                }
            },
        };
    }
    let resp = match tokio::time::timeout_at(deadline.at, swift::open_object(&client, &store.endpoint, &token, &store.container, &key)).await {
        Err(_) => return Err(Unrunnable(format!("Swift did not answer within --timeout reading {place}"))),
        Ok(Err(SwiftError::NotFound { .. })) => return absent("log"),
        Ok(Err(e)) => return Err(Unrunnable(format!("reading {place}: {e}"))),
        Ok(Ok(r)) => r,
    };
    match stream_gunzip(resp, std::io::stdout(), &deadline).await {
        Ok(()) => Ok(0),
        Err(StreamError::Closed) => Ok(0),
        Err(StreamError::Gzip(e)) => {
            eprintln!("veldr: {place} is not a gzip log as Velero writes them ({e})");
            Ok(1)
        }
        Err(StreamError::Read(e)) => Err(Unrunnable(format!("reading {place}: {e}"))),
    }
}

/// The BSL that holds the objects: the backup's `spec.storageLocation`, else the default BSL.
fn bsl_for(facts: &Facts, subject: &Subject, backup: Option<&str>) -> Result<String, Unrunnable> {
    let ns = &facts.target.namespace;
    let backups = facts.kube.backups.as_ref().map_err(|e| Unrunnable(format!("cannot find the backup's BSL: {}", e.explain())))?;
    let default = default_bsl(facts);
    let found = backup.and_then(|n| backups.iter().find(|b| b.name() == n));
    if let Some(bsl) = found.and_then(|b| backup_bsl(b, default)) {
        return Ok(bsl.to_string());
    }
    let why = match (subject, backup) {
        (Subject::Restore(r), None) => format!("restore {r} does not exist in {ns} (or names no backup)"),
        (_, Some(b)) if found.is_none() => format!("backup {b} does not exist in {ns}"),
        _ => "it names no storageLocation".to_string(),
    };
    match default {
        Some(d) => {
            eprintln!("veldr: {why}: looking in the default BSL {d}");
            Ok(d.to_string())
        }
        None => Err(Unrunnable(format!("{why}, and no BackupStorageLocation in {ns} is the default: say which with -n"))),
    }
}

/// The Swift store of `bsl` and the token, or why there is none (exit 2).
fn swift_access(facts: &Facts, bsl: &str) -> Result<(Store, Secret), Unrunnable> {
    let os = facts.openstack.as_ref().ok_or_else(|| Unrunnable("OpenStack was not asked".into()))?;
    if let Some(why) = &os.not_attempted {
        return Err(Unrunnable(format!("cannot read from Swift: {why} (see `veldr doctor`)")));
    }
    let token = match os.auth.as_ref().map(|a| &a.token) {
        Some(Ok(t)) => t.value.clone(),
        Some(Err(p)) => return Err(Unrunnable(format!("no Keystone token with {} credentials: {} (see `veldr doctor --only keystone.auth`)", os.credentials_from, p.message))),
        None => return Err(Unrunnable("no Keystone token".into())),
    };
    match stores(facts).remove(bsl) {
        Some(Ok(store)) => Ok((store, token)),
        Some(Err(why)) => Err(Unrunnable(why)),
        None => Err(Unrunnable(format!("BSL {bsl} does not exist in {}", facts.target.namespace))),
    }
}

/// The backup a restore was made from (`spec.backupName`). Listed with a field selector on its name
/// rather than got: `list` on restores is what the doctor's RBAC grants (`velero.operations`).
async fn restore_backup(target: &KubeTarget, ns: &str, name: &str, timeout: std::time::Duration) -> Result<Option<String>, Unrunnable> {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
    let (client, _, _) = collect::kube::client(target, timeout).await.map_err(|e| Unrunnable(e.to_string()))?;
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("velero.io", "v1", "Restore"), "restores");
    let api: Api<DynamicObject> = Api::namespaced_with(client, ns, &ar);
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    match tokio::time::timeout(timeout, api.list(&params)).await {
        Err(_) => Err(Unrunnable(format!("list restores.velero.io in {ns} timed out"))),
        Ok(Err(e)) => Err(Unrunnable(format!("list restores.velero.io in {ns} failed: {e}"))),
        Ok(Ok(list)) => Ok(list.items.iter().find_map(|r| r.data.pointer("/spec/backupName").and_then(|v| v.as_str()).map(str::to_string))),
    }
}

#[derive(Debug)]
enum StreamError {
    /// stdout went away (`| head`): not an error.
    Closed,
    Gzip(std::io::Error),
    Read(String),
}

/// Gunzips the body into `out` as it arrives; nothing is held but one chunk.
async fn stream_gunzip(mut resp: reqwest::Response, out: impl Write, deadline: &Deadline) -> Result<(), StreamError> {
    let mut gunzip = Gunzip::new(out);
    loop {
        let chunk = match tokio::time::timeout_at(deadline.at, resp.chunk()).await {
            Err(_) => return Err(StreamError::Read("Swift did not send the rest within --timeout".into())),
            Ok(Err(e)) => return Err(StreamError::Read(http::Failure::from_reqwest(&e).to_string())),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(c))) => c,
        };
        gunzip.write(&chunk)?;
    }
    gunzip.finish()
}

/// A gzip stream decoded into a writer, telling a closed output from a corrupt stream.
struct Gunzip<W: Write> {
    decoder: flate2::write::MultiGzDecoder<W>,
}

impl<W: Write> Gunzip<W> {
    fn new(out: W) -> Self {
        Gunzip { decoder: flate2::write::MultiGzDecoder::new(out) }
    }

    fn classify(e: std::io::Error) -> StreamError {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            StreamError::Closed
        } else {
            StreamError::Gzip(e)
        }
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), StreamError> {
        self.decoder.write_all(chunk).map_err(Self::classify)
    }

    fn finish(mut self) -> Result<(), StreamError> {
        self.decoder.try_finish().map_err(Self::classify)?;
        let mut out = self.decoder.finish().map_err(Self::classify)?;
        out.flush().map_err(Self::classify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::velero_store::gz;

    #[test]
    fn subjects_and_their_keys() {
        assert_eq!(Subject::parse("backup/daily-1").unwrap(), Subject::Backup("daily-1".into()));
        assert_eq!(Subject::parse("restore/r1").unwrap().key(Some("p"), true), "p/restores/r1/restore-r1-results.gz");
        assert_eq!(Subject::parse("backups/b").unwrap().key(None, false), "backups/b/b-logs.gz");
        for bad in ["daily-1", "backup/", "schedule/daily", "backup/a/b"] {
            assert!(Subject::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gunzip_streams_in_pieces_and_names_a_corrupt_stream() {
        let log = b"time=\"2026-11-29T02:00:00Z\" level=info msg=\"Setting up backup log\" backup=velero/daily-1\n".repeat(200);
        let z = gz(&log);
        let mut out = Vec::new();
        let mut g = Gunzip::new(&mut out);
        for piece in z.chunks(7) {
            g.write(piece).unwrap();
        }
        g.finish().unwrap();
        assert_eq!(out, log);
        let mut g = Gunzip::new(Vec::new());
        assert!(matches!(g.write(b"plain text, not gzip at all"), Err(StreamError::Gzip(_))));
        let mut g = Gunzip::new(Vec::new());
        g.write(&z[..z.len() / 2]).unwrap();
        assert!(matches!(g.finish(), Err(StreamError::Gzip(_))), "a truncated stream is not taken for a whole one");
    }
}
