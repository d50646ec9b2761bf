//! `veldr verify`: the runbook's Verification section in one run, through the pipeline with verify's
//! registry (the doctor's checks, then verify.backup, verify.volumes, verify.objects).
//!
//! 1. The doctor's reads and checks. When one a backup needs does not pass (`checks::verify::NEEDED`),
//!    its report is the answer and nothing is created.
//! 2. The grants of deploy/rbac-verify.yaml, asked with access reviews: without them, exit 2 naming
//!    them, nothing created.
//! 3. One Backup as `velero backup create` makes it (`collect::verify::backup_manifest`), watched with
//!    kube's watcher (one watch, no polling) until a terminal phase, `--timeout` or a signal, with a
//!    progress line on a terminal.
//! 4. Its objects in the BSL (listing, results, volumeinfo), read with the doctor's token.
//! 5. Unless `--keep`, a DeleteBackupRequest as `velero backup delete` makes it, watched until the
//!    Backup is gone, Velero refuses, or `--timeout` again. An interrupted run (SIGINT, SIGTERM) still
//!    asks for the deletion, waits a little for Velero's answer, and reports.
//!
//! Everything seen goes into `facts.verify`; the judges are `checks::verify`; `--record` keeps it all.

use crate::checks::verify::NEEDED;
use crate::checks::Suite;
use crate::cli::VerifyArgs;
use crate::collect::kube::KubeTarget;
use crate::collect::results::{backup_bsl, default_bsl, stores, Store};
use crate::collect::verify as io;
use crate::facts::verify::{Cleanup, Moment, StoreReads, VerifyFacts, WatchEnd, TERMINAL_PHASES};
use crate::facts::{Backup, Facts, Problem, ProblemKind, ReadErrorKind};
use crate::model::Status;
use crate::pipeline::judge::Selection;
use crate::pipeline::{finish, gather_for, judge_report, with_progress, Unrunnable};
use crate::report::Report;
use crate::secret::Secret;
use futures::stream::BoxStream;
use futures::StreamExt;
use kube::api::DynamicObject;
use kube::runtime::watcher::{self, ListSemantic};
use kube::runtime::WatchStreamExt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// The read timeout of the client that watches: a watch idles between changes (kube's own default,
/// above the server's 290 s watch length).
const WATCH_READ_TIMEOUT: Duration = Duration::from_secs(295);
/// After an interruption: how long veldr waits for Velero's answer to the deletion request.
const AFTER_SIGNAL: Duration = Duration::from_secs(10);

/// `veldr verify`.
pub async fn verify(args: VerifyArgs) -> Result<i32, Unrunnable> {
    let doctor = args.doctor();
    let selection = Selection { suite: Suite::Verify, ..Default::default() };
    let started = Instant::now();
    if args.from_bundle.is_some() {
        let (facts, io_times) = gather_for(&doctor, &selection, None).await?;
        return finish(&doctor, &judge_report(&selection, &[], &facts, &io_times, started));
    }
    if args.insecure {
        eprintln!("veldr: warning: --insecure: TLS certificates of Keystone and Swift are NOT verified in this run");
    }
    let (mut facts, io_times) = with_progress(args.verbose == 0, gather_for(&doctor, &selection, None)).await?;
    let report = judge_report(&selection, &[], &facts, &io_times, started);
    let blocking = blocking(&report);
    if !blocking.is_empty() {
        eprintln!("veldr: no test backup was made: {} did not pass (the report says why); fix it, then run `veldr verify` again", blocking.join(", "));
        record(&args, &facts)?;
        return finish(&doctor, &report);
    }
    let target = KubeTarget { kubeconfig: args.kubeconfig.clone(), context: args.context.clone() };
    let (client, _, _) = crate::collect::kube::client(&target, WATCH_READ_TIMEOUT).await.map_err(|e| Unrunnable(e.to_string()))?;
    let ns = facts.target.namespace.clone();
    match tokio::time::timeout(args.read_timeout, io::missing_grants(&client, &ns)).await {
        Ok(Ok(missing)) if !missing.is_empty() => return Err(refused(&missing, "nothing was created")),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::debug!(target: "veldr::verify", "the access review could not be asked ({e}); the writes will tell"),
        Err(_) => tracing::debug!(target: "veldr::verify", "the access review did not answer in time; the writes will tell"),
    }
    let mut run = Run::new(&args, client, ns);
    let denied = run.go(&facts).await;
    facts.verify = Some(run.facts);
    record(&args, &facts)?;
    let report = judge_report(&selection, &[], &facts, &io_times, started);
    let code = finish(&doctor, &report)?;
    match denied {
        Some(grant) => {
            eprintln!("{}", refused(&[grant], "the report says what is left").0);
            Ok(2)
        }
        None => Ok(code),
    }
}

/// The doctor's checks a backup needs that did not pass (ok or warn).
fn blocking(report: &Report) -> Vec<String> {
    report.checks.iter().filter(|c| NEEDED.contains(&c.id.as_str()) && !matches!(c.status, Status::Ok | Status::Warn)).map(|c| format!("{} ({})", c.id, c.status)).collect()
}

fn refused(grants: &[String], then: &str) -> Unrunnable {
    Unrunnable(format!(
        "veldr verify may not {}: apply deploy/rbac-verify.yaml to the identity veldr runs as ({then})",
        grants.join(", ")
    ))
}

fn record(args: &VerifyArgs, facts: &Facts) -> Result<(), Unrunnable> {
    match &args.record {
        Some(path) => crate::facts::bundle::save(path, facts).map_err(|e| Unrunnable(e.to_string())),
        None => Ok(()),
    }
}

/// SIGINT and SIGTERM, once a write is about to happen (before, the default action ends veldr:
/// nothing to clean up).
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Option<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Some(Signals { int: signal(SignalKind::interrupt()).ok()?, term: signal(SignalKind::terminate()).ok()? })
    }

    async fn recv(this: &mut Option<Signals>) -> &'static str {
        match this {
            Some(s) => tokio::select! {
                _ = s.int.recv() => "SIGINT",
                _ = s.term.recv() => "SIGTERM",
            },
            None => std::future::pending().await,
        }
    }
}

/// The live line on stderr while veldr waits: only on a terminal, without -v, not on a dumb one.
struct Progress {
    on: bool,
    shown: bool,
}

impl Progress {
    fn new(verbose: u8) -> Progress {
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Progress { on: verbose == 0 && !dumb && std::io::stderr().is_terminal(), shown: false }
    }

    fn show(&mut self, line: &str) {
        if self.on {
            let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).unwrap_or(80).max(20) - 1;
            let line: String = if line.chars().count() > width { line.chars().take(width - 1).collect::<String>() + "…" } else { line.to_string() };
            eprint!("\r\x1b[2K{line}");
            self.shown = true;
        }
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}

/// `0:42`, `12:05`.
fn clock(d: Duration) -> String {
    format!("{}:{:02}", d.as_secs() / 60, d.as_secs() % 60)
}

type Events = BoxStream<'static, Result<watcher::Event<DynamicObject>, watcher::Error>>;

/// A watch of the test Backup: by name, from a quorum read (a just-created object is in it).
fn backup_events(client: &kube::Client, ns: &str, name: &str) -> Events {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}")).list_semantic(ListSemantic::MostRecent);
    watcher::watcher(io::api(client, ns, io::BACKUP), config).default_backoff().boxed()
}

/// A watch of the test Backup's DeleteBackupRequests (Velero answers a refusal there).
fn request_events(client: &kube::Client, ns: &str, backup: &str) -> Events {
    let config = watcher::Config::default().labels(&format!("velero.io/backup-name={}", io::valid_label(backup))).list_semantic(ListSemantic::MostRecent);
    watcher::watcher(io::api(client, ns, io::DELETE_REQUEST), config).default_backoff().boxed()
}

/// A watch refused by RBAC: the grant it needs.
fn forbidden(e: &watcher::Error) -> bool {
    let inner = match e {
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => Some(e),
        _ => None,
    };
    matches!(inner, Some(kube::Error::Api(s)) if s.code == 403) || matches!(e, watcher::Error::WatchError(s) if s.code == 403)
}

/// What one event says of the watched object: `Some(Some(o))` it is there, `Some(None)` it is gone.
fn seen(e: watcher::Event<DynamicObject>, in_list: &mut bool) -> Option<Option<DynamicObject>> {
    match e {
        watcher::Event::Init => {
            *in_list = false;
            None
        }
        watcher::Event::InitApply(o) => {
            *in_list = true;
            Some(Some(o))
        }
        watcher::Event::InitDone => (!*in_list).then_some(None),
        watcher::Event::Apply(o) => Some(Some(o)),
        watcher::Event::Delete(_) => Some(None),
    }
}

fn problem(e: &crate::facts::ReadError) -> Problem {
    let kind = match e.kind {
        ReadErrorKind::Forbidden => ProblemKind::Forbidden,
        ReadErrorKind::Unauthorized => ProblemKind::Unauthorized,
        ReadErrorKind::Timeout => ProblemKind::Timeout,
        ReadErrorKind::Unreachable => ProblemKind::Unreachable,
        ReadErrorKind::Malformed => ProblemKind::BadBody,
        _ => ProblemKind::Http,
    };
    Problem::new(kind, e.explain())
}

struct Run {
    client: kube::Client,
    namespace: String,
    timeout: Duration,
    read_timeout: Duration,
    keep: bool,
    progress: Progress,
    facts: VerifyFacts,
    created_at: Instant,
    uid: String,
    signals: Option<Signals>,
}

impl Run {
    fn new(args: &VerifyArgs, client: kube::Client, namespace: String) -> Run {
        let name = io::backup_name(jiff::Timestamp::now());
        Run {
            client,
            timeout: args.timeout,
            read_timeout: args.read_timeout,
            keep: args.keep,
            progress: Progress::new(args.verbose),
            facts: VerifyFacts {
                backup: name,
                namespace: namespace.clone(),
                included_namespace: args.include_namespace.clone(),
                timeout_ms: args.timeout.as_millis() as u64,
                ..Default::default()
            },
            namespace,
            created_at: Instant::now(),
            uid: String::new(),
            signals: None,
        }
    }

    /// The whole run; returns the grant a refused write or watch needed, if one was refused.
    async fn go(&mut self, facts: &Facts) -> Option<String> {
        let name = self.facts.backup.clone();
        let ns = self.namespace.clone();
        self.signals = Signals::install();
        let manifest = io::backup_manifest(&name, &ns, &self.facts.included_namespace);
        let created = match tokio::time::timeout(self.read_timeout, io::create(&self.client, &ns, io::BACKUP, &manifest)).await {
            Ok(r) => r,
            Err(_) => Err(crate::facts::ReadError::new(ReadErrorKind::Timeout, "create", "backups.velero.io", Some(&ns), format!("no answer within {}s", self.read_timeout.as_secs()))),
        };
        let created = match created {
            Ok(o) => o,
            Err(e) => {
                self.facts.not_created = Some(problem(&e));
                return (e.kind == ReadErrorKind::Forbidden).then(|| io::grant("create", "backups", &ns));
            }
        };
        self.created_at = Instant::now();
        self.uid = created.pointer("/metadata/uid").and_then(|u| u.as_str()).unwrap_or_default().to_string();
        eprintln!(
            "veldr: created Backup {ns}/{name} (namespace {}); waiting for it, at most {}",
            self.facts.included_namespace,
            clock(self.timeout)
        );
        let mut events = backup_events(&self.client, &ns, &name);
        let mut denied = self.wait_for_backup(&mut events).await;
        let interrupted = matches!(self.facts.end, WatchEnd::Interrupted { .. });
        let access = swift_access(facts, self.facts.last.as_ref());
        // Interrupted: the listing alone (one request), for what is left.
        self.facts.store = Some(self.read_store(&access, !interrupted).await);
        if self.keep {
            self.facts.cleanup = Cleanup { kept: true, ..Default::default() };
            eprintln!("veldr: kept Backup {ns}/{name} (--keep): it expires in 1h; `velero backup delete {name} -n {ns} --confirm` removes it sooner");
            return denied;
        }
        if denied.is_some() {
            // The watch was refused: a new one would be too; the deletion is still asked for.
            events = futures::stream::pending().boxed();
        }
        let cleanup_denied = self.clean_up(&mut events, &access, interrupted).await;
        denied = denied.or(cleanup_denied);
        denied
    }

    /// Follows the Backup until a terminal phase, `--timeout`, a signal, or the watch failing.
    async fn wait_for_backup(&mut self, events: &mut Events) -> Option<String> {
        let deadline = tokio::time::Instant::from_std(self.created_at) + self.timeout;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut in_list = false;
        let mut ever_seen = false;
        let mut last_error: Option<String> = None;
        let mut denied = None;
        self.facts.end = loop {
            tokio::select! {
                biased;
                signal = Signals::recv(&mut self.signals) => break WatchEnd::Interrupted { signal: signal.to_string() },
                _ = tokio::time::sleep_until(deadline) => break match last_error.take() {
                    Some(e) if !ever_seen => WatchEnd::Failed { reason: format!("the watch kept failing: {e}") },
                    _ => WatchEnd::TimedOut,
                },
                _ = tick.tick() => self.show(),
                event = events.next() => match event {
                    None => break WatchEnd::Failed { reason: "the watch ended".into() },
                    Some(Err(e)) if forbidden(&e) => {
                        denied = Some(io::grant("watch", "backups", &self.namespace));
                        break WatchEnd::Failed { reason: format!("refused: {e}") };
                    }
                    Some(Err(e)) => {
                        tracing::debug!(target: "veldr::verify", "watch: {e}");
                        last_error = Some(e.to_string());
                    }
                    Some(Ok(e)) => match seen(e, &mut in_list) {
                        Some(Some(o)) => {
                            ever_seen = true;
                            last_error = None;
                            self.saw(o);
                            self.show();
                            if TERMINAL_PHASES.contains(&self.facts.phase()) {
                                break WatchEnd::Terminal;
                            }
                        }
                        Some(None) if ever_seen => break WatchEnd::Deleted,
                        _ => {}
                    },
                },
            }
        };
        self.progress.clear();
        let ns = &self.namespace;
        match &self.facts.end {
            WatchEnd::Terminal => eprintln!("veldr: Backup {ns}/{} {} after {}", self.facts.backup, self.facts.phase(), clock(self.created_at.elapsed())),
            WatchEnd::TimedOut => eprintln!("veldr: Backup {ns}/{} still {} after {}", self.facts.backup, self.facts.phase(), clock(self.timeout)),
            WatchEnd::Interrupted { signal } => eprintln!("veldr: {signal}: asking Velero to delete Backup {ns}/{} before exiting", self.facts.backup),
            _ => {}
        }
        denied
    }

    /// Records one state of the Backup: a new moment on a phase change, else the items of the last.
    fn saw(&mut self, o: DynamicObject) {
        let Ok(b) = serde_json::to_value(&o).and_then(serde_json::from_value::<Backup>) else { return };
        let phase = b.status.phase.clone().unwrap_or_default();
        let progress = b.status.progress.clone().unwrap_or_default();
        let (done, total) = (progress.items_backed_up.map(|n| n.max(0) as u64), progress.total_items.map(|n| n.max(0) as u64));
        let at_ms = self.created_at.elapsed().as_millis() as u64;
        match self.facts.timeline.last_mut() {
            Some(m) if m.phase == phase => {
                m.items_backed_up = done.or(m.items_backed_up);
                m.total_items = total.or(m.total_items);
            }
            _ => self.facts.timeline.push(Moment { at_ms, phase, items_backed_up: done, total_items: total }),
        }
        self.facts.last = Some(b);
    }

    fn show(&mut self) {
        let m = self.facts.timeline.last();
        let items = match (m.and_then(|m| m.items_backed_up), m.and_then(|m| m.total_items)) {
            (Some(d), Some(t)) => format!(" · {d}/{t} items"),
            _ => String::new(),
        };
        let line = format!("veldr: {} {}{items} · {}", self.facts.backup, self.facts.phase(), clock(self.created_at.elapsed()));
        self.progress.show(&line);
    }

    /// The BSL's objects of the backup once it ended (whatever the phase: a backup that never ran
    /// should have written nothing, and that is worth a listing too).
    async fn read_store(&self, access: &Result<(String, Store, Secret, reqwest::Client), (String, String)>, contents: bool) -> StoreReads {
        let (bsl, store, token, http) = match access {
            Ok(a) => a,
            Err((bsl, why)) => return StoreReads { bsl: bsl.clone(), unread: Some(why.clone()), ..Default::default() },
        };
        let ran = contents && crate::checks::verify::ran(&self.facts);
        match tokio::time::timeout(self.read_timeout, io::read_store(http, bsl, store, token, &self.facts.backup, ran)).await {
            Ok(r) => r,
            Err(_) => StoreReads {
                bsl: bsl.clone(),
                container: Some(store.container.clone()),
                dir: io::dir(store, &self.facts.backup),
                unread: Some(format!("Swift did not answer within {}s", self.read_timeout.as_secs())),
                ..Default::default()
            },
        }
    }

    /// Asks Velero to delete the Backup and waits until it is gone, refused, or the time is up.
    async fn clean_up(&mut self, backups: &mut Events, access: &Result<(String, Store, Secret, reqwest::Client), (String, String)>, interrupted: bool) -> Option<String> {
        let ns = self.namespace.clone();
        let name = self.facts.backup.clone();
        let uid = self.facts.last.as_ref().and_then(|b| b.metadata.uid.clone()).unwrap_or_else(|| self.uid.clone());
        let manifest = io::delete_request_manifest(&name, &uid, &ns);
        let made = match tokio::time::timeout(self.read_timeout, io::create(&self.client, &ns, io::DELETE_REQUEST, &manifest)).await {
            Ok(r) => r,
            Err(_) => Err(crate::facts::ReadError::new(ReadErrorKind::Timeout, "create", "deletebackuprequests.velero.io", Some(&ns), "no answer in time")),
        };
        let request = match made {
            Ok(o) => o.pointer("/metadata/name").and_then(|n| n.as_str()).unwrap_or_default().to_string(),
            Err(e) => {
                let denied = (e.kind == ReadErrorKind::Forbidden).then(|| io::grant("create", "deletebackuprequests", &ns));
                self.facts.cleanup = Cleanup { request_failed: Some(problem(&e)), objects_left: self.list_left(access).await, ..Default::default() };
                eprintln!("veldr: the DeleteBackupRequest for {ns}/{name} could not be created: {}", e.explain());
                return denied;
            }
        };
        eprintln!("veldr: asked Velero to delete Backup {ns}/{name} (DeleteBackupRequest {request}); waiting until it is gone");
        let mut cleanup = Cleanup { request: Some(request.clone()), ..Default::default() };
        let started = Instant::now();
        let wait = if interrupted { AFTER_SIGNAL.min(self.timeout) } else { self.timeout };
        let deadline = tokio::time::Instant::now() + wait;
        let mut requests = request_events(&self.client, &ns, &name);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let (mut in_list, mut req_in_list) = (false, false);
        let mut denied = None;
        loop {
            tokio::select! {
                biased;
                signal = Signals::recv(&mut self.signals) => {
                    cleanup.cut_short = Some(format!("{signal} while waiting"));
                    break;
                }
                _ = tokio::time::sleep_until(deadline) => break,
                _ = tick.tick() => {
                    let line = format!("veldr: deleting {name} · {} · {}", cleanup.request_phase.as_deref().unwrap_or("requested"), clock(started.elapsed()));
                    self.progress.show(&line);
                }
                event = backups.next() => match event {
                    Some(Ok(e)) => match seen(e, &mut in_list) {
                        Some(None) => {
                            cleanup.backup_gone = true;
                            break;
                        }
                        // Deleting: the Backup's state before the cleanup is what is judged.
                        Some(Some(_)) | None => {}
                    },
                    Some(Err(e)) => tracing::debug!(target: "veldr::verify", "watch of the Backup: {e}"),
                    None => {
                        // The Backup's watch ended (it was refused earlier): only the request's tells.
                        *backups = futures::stream::pending().boxed();
                    }
                },
                event = requests.next() => match event {
                    Some(Ok(e)) => {
                        if let Some(Some(o)) = seen(e, &mut req_in_list) {
                            if o.metadata.name.as_deref() == Some(request.as_str()) {
                                cleanup.request_phase = o.data.pointer("/status/phase").and_then(|p| p.as_str()).map(str::to_string);
                                cleanup.request_errors = o.data.pointer("/status/errors").and_then(|e| e.as_array()).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default();
                                if cleanup.request_phase.as_deref() == Some("Processed") && !cleanup.request_errors.is_empty() {
                                    break;
                                }
                            }
                        }
                    }
                    Some(Err(e)) if forbidden(&e) => {
                        denied = Some(io::grant("watch", "deletebackuprequests", &ns));
                        requests = futures::stream::pending().boxed();
                    }
                    Some(Err(e)) => tracing::debug!(target: "veldr::verify", "watch of the DeleteBackupRequest: {e}"),
                    None => requests = futures::stream::pending().boxed(),
                },
            }
        }
        self.progress.clear();
        cleanup.waited_ms = started.elapsed().as_millis() as u64;
        cleanup.objects_left = self.list_left(access).await;
        if cleanup.backup_gone {
            eprintln!("veldr: Backup {ns}/{name} is gone ({})", clock(started.elapsed()));
        } else if !cleanup.request_errors.is_empty() {
            eprintln!("veldr: Velero refused to delete Backup {ns}/{name}: {}", cleanup.request_errors.join("; "));
        } else {
            eprintln!("veldr: Backup {ns}/{name} is not gone after {} (the report says what is left)", clock(started.elapsed()));
        }
        self.facts.cleanup = cleanup;
        denied
    }

    async fn list_left(&self, access: &Result<(String, Store, Secret, reqwest::Client), (String, String)>) -> Option<crate::facts::Outcome<Vec<String>>> {
        let (_, store, token, http) = access.as_ref().ok()?;
        match tokio::time::timeout(self.read_timeout, io::list_dir(http, store, token, &self.facts.backup)).await {
            Ok(r) => Some(r),
            Err(_) => Some(Err(Problem::new(ProblemKind::Timeout, format!("Swift did not answer within {}s", self.read_timeout.as_secs())))),
        }
    }
}

/// The BSL of the backup (its `spec.storageLocation` once Velero set it, else the default BSL), its
/// Swift store, the doctor's token and an HTTP client; or (BSL, why not).
fn swift_access(facts: &Facts, last: Option<&Backup>) -> Result<(String, Store, Secret, reqwest::Client), (String, String)> {
    let default = default_bsl(facts);
    let bsl = last.and_then(|b| backup_bsl(b, default)).or(default).map(str::to_string).ok_or_else(|| (String::new(), "no default BSL".to_string()))?;
    let os = facts.openstack.as_ref().ok_or_else(|| (bsl.clone(), "OpenStack was not asked".to_string()))?;
    let token = match os.auth.as_ref().map(|a| &a.token) {
        Some(Ok(t)) => t.value.clone(),
        Some(Err(p)) => return Err((bsl, format!("no Keystone token: {}", p.message))),
        None => return Err((bsl, "no Keystone token".into())),
    };
    let store = match stores(facts).remove(&bsl) {
        Some(Ok(s)) => s,
        Some(Err(why)) => return Err((bsl, why)),
        None => return Err((bsl.clone(), format!("BSL {bsl} does not exist"))),
    };
    let ca_pem = std::env::var_os("OS_CACERT").and_then(|p| std::fs::read(p).ok());
    let http = crate::openstack::http::client(&crate::openstack::http::HttpOptions { timeout: Duration::from_secs(30), ca_pem, insecure: os.insecure })
        .map_err(|e| (bsl.clone(), e.to_string()))?;
    Ok((bsl, store, token, http))
}
