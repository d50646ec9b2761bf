//! A small HTTPS Kubernetes API server that serves fixture YAML.
//!
//! It speaks enough of the real wire format (discovery, get, list with selectors and
//! paging, create and watch of custom resources, Status errors, SelfSubjectAccessReview) for
//! kube-rs to talk to it exactly as to a real cluster: kubeconfig → HTTPS (own CA) → bearer token.
//! Built-in kinds are read-only; a test plays a cluster's controllers in-process through
//! [`Server::subscribe`], [`Server::update_object`] and [`Server::delete_object`], whose changes
//! watches see like any other.
//! See `tests/fixtures/README.md` in the workspace for the scenario format.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use fixture_apiserver::{Options, Server};
//! let server = Server::start(Options::new("tests/fixtures/clusters/healthy")).await?;
//! server.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"), "fixture")?;
//! # Ok(()) }
//! ```

mod config;
mod handler;
mod logs;
mod selector;
mod store;
mod time;
mod watch;

pub use store::ChangeKind;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use handler::State;

/// Default bearer token (written into kubeconfigs and expected by the server).
pub const DEFAULT_TOKEN: &str = "fixture-token";

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Scenario directory (`tests/fixtures/clusters/<scenario>`).
    pub dir: PathBuf,
    /// Bearer token written into kubeconfigs; also the one expected unless the
    /// scenario's `_server.yaml` has `auth: {token: ...}`.
    pub token: String,
    /// Added to every request before it is answered.
    pub delay: Duration,
}

impl Options {
    /// Options for a scenario directory with the default token and no delay.
    pub fn new(dir: impl Into<PathBuf>) -> Options {
        Options {
            dir: dir.into(),
            token: DEFAULT_TOKEN.to_string(),
            delay: Duration::ZERO,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new(PathBuf::new())
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    /// Path without query, e.g. `/api/v1/namespaces/velero/secrets`.
    pub path: String,
    /// Raw (still percent-encoded) query string, "" when none.
    pub query: String,
    /// HTTP status answered; 0 while still in flight, 499 if the client went away first.
    pub status: u16,
    /// User-Agent header, "" when none.
    pub user_agent: String,
}

/// A change of the server's objects, as in-process subscribers see it ([`Server::subscribe`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreEvent {
    pub kind: ChangeKind,
    /// API group ("" for core).
    pub group: String,
    /// Plural resource name, e.g. `backups`.
    pub resource: String,
    /// The object after the change (a deleted one as it was).
    pub object: serde_json::Value,
}

impl StoreEvent {
    pub fn name(&self) -> &str {
        self.object.pointer("/metadata/name").and_then(serde_json::Value::as_str).unwrap_or_default()
    }
    pub fn namespace(&self) -> &str {
        self.object.pointer("/metadata/namespace").and_then(serde_json::Value::as_str).unwrap_or_default()
    }
}

/// A write the server refused (what a controller's write would get from the API server).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WriteRefused(pub String);

/// A running server. Dropping it stops it.
pub struct Server {
    /// `https://127.0.0.1:PORT`
    pub url: String,
    /// PEM of the CA that signed the server certificate (SANs 127.0.0.1, localhost).
    pub ca_pem: String,
    /// The token written into kubeconfigs (`Options::token`).
    pub token: String,
    /// The bound address.
    pub addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Installs ring as rustls' process-wide crypto provider (ignored if one is set).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

struct Certs {
    ca_pem: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn make_certs() -> anyhow::Result<Certs> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fixture-apiserver CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;

    let key = KeyPair::generate()?;
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "fixture-apiserver");
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca)?;
    Ok(Certs {
        ca_pem: ca.pem(),
        cert: cert.der().clone(),
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    })
}

fn tls_acceptor(certs: &Certs) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certs.cert.clone()], certs.key.clone_key())?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

async fn serve(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let state = state.clone();
                conns.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let svc = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(handler::handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        }
    }
    conns.shutdown().await;
}

struct Prepared {
    state: Arc<State>,
    certs: Certs,
    token: String,
}

fn prepare(opts: &Options) -> anyhow::Result<Prepared> {
    install_crypto_provider();
    let (store, config) = store::load(&opts.dir)?;
    let expected = config
        .auth
        .as_ref()
        .map(|a| a.token.clone())
        .unwrap_or_else(|| opts.token.clone());
    let state = Arc::new(State::new(store, config, expected, opts.delay));
    let certs = make_certs().context("generating the test CA and server certificate")?;
    Ok(Prepared {
        state,
        certs,
        token: opts.token.clone(),
    })
}

impl Server {
    /// Loads the scenario, binds 127.0.0.1 on a free port and serves on the current
    /// tokio runtime until the `Server` is dropped.
    pub async fn start(opts: Options) -> anyhow::Result<Server> {
        Server::start_on(opts, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Like [`Server::start`] on a chosen address.
    pub async fn start_on(opts: Options, listen: SocketAddr) -> anyhow::Result<Server> {
        let p = prepare(&opts)?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        *p.state.server_address.lock().unwrap() = addr.to_string();
        let acceptor = tls_acceptor(&p.certs)?;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(serve(listener, acceptor, p.state.clone(), rx));
        Ok(Server {
            url: format!("https://{addr}"),
            ca_pem: p.certs.ca_pem,
            token: p.token,
            addr,
            state: p.state,
            shutdown: Some(tx),
            thread: None,
        })
    }

    /// Starts the server on its own thread and tokio runtime, for synchronous tests
    /// (e.g. ones that then spawn the veldr binary). Dropping it stops the thread.
    pub fn start_blocking(opts: Options) -> anyhow::Result<Server> {
        Server::start_blocking_on(opts, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Like [`Server::start_blocking`] on a chosen address.
    pub fn start_blocking_on(opts: Options, listen: SocketAddr) -> anyhow::Result<Server> {
        let p = prepare(&opts)?;
        let std_listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("cannot listen on {listen}"))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        *p.state.server_address.lock().unwrap() = addr.to_string();
        let acceptor = tls_acceptor(&p.certs)?;
        let (tx, rx) = oneshot::channel();
        let state = p.state.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("fixture-apiserver".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("fixture-apiserver-rt")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.into()));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    serve(listener, acceptor, state, rx).await;
                });
            })?;
        ready_rx.recv().context("fixture-apiserver thread died")??;
        Ok(Server {
            url: format!("https://{addr}"),
            ca_pem: p.certs.ca_pem,
            token: p.token,
            addr,
            state: p.state,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// A kubeconfig (YAML) with one cluster (server URL + certificate-authority-data),
    /// one user (bearer token) and one context, all named `context`, which is also the
    /// current-context. No default namespace.
    pub fn kubeconfig_yaml(&self, context: &str) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("json string");
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- name: {c}\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\nusers:\n- name: {c}\n  user:\n    token: {tok}\ncontexts:\n- name: {c}\n  context:\n    cluster: {c}\n    user: {c}\ncurrent-context: {c}\n",
            c = q(context),
            url = q(&self.url),
            ca = q(&ca),
            tok = q(&self.token),
        )
    }

    /// Writes [`Server::kubeconfig_yaml`] to `path` (parent directories are created).
    pub fn write_kubeconfig(&self, path: &Path, context: &str) -> anyhow::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, self.kubeconfig_yaml(context))
            .with_context(|| format!("cannot write kubeconfig {}", path.display()))
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.requests()
    }

    /// Forgets the logged requests.
    pub fn clear_requests(&self) {
        self.state.clear_requests()
    }

    /// Also append each finished request to `path` as a JSON line.
    pub fn set_request_log(&self, path: &Path) -> anyhow::Result<()> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open request log {}", path.display()))?;
        *self.state.log_file.lock().unwrap() = Some(f);
        Ok(())
    }

    /// Non-fatal notes from loading the scenario (objects of unserved kinds, duplicates).
    pub fn warnings(&self) -> Vec<String> {
        self.state.store.read().unwrap().warnings.clone()
    }

    /// The server's objects, for a test that plays a controller: read them, change them, follow
    /// their changes ([`Handle`]). Cheap to clone and to move to another thread.
    pub fn handle(&self) -> Handle {
        Handle { state: self.state.clone() }
    }

    /// [`Handle::subscribe`].
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<StoreEvent> {
        self.handle().subscribe()
    }

    /// [`Handle::object`].
    pub fn object(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Option<serde_json::Value> {
        self.handle().object(group, resource, namespace, name)
    }

    /// [`Handle::objects`].
    pub fn objects(&self, group: &str, resource: &str) -> Vec<serde_json::Value> {
        self.handle().objects(group, resource)
    }

    /// [`Handle::create_object`].
    pub fn create_object(&self, group: &str, resource: &str, namespace: &str, object: serde_json::Value) -> Result<serde_json::Value, WriteRefused> {
        self.handle().create_object(group, resource, namespace, object)
    }

    /// [`Handle::update_object`].
    pub fn update_object(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut serde_json::Value),
    ) -> Result<serde_json::Value, WriteRefused> {
        self.handle().update_object(group, resource, namespace, name, change)
    }

    /// [`Handle::delete_object`].
    pub fn delete_object(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Result<serde_json::Value, WriteRefused> {
        self.handle().delete_object(group, resource, namespace, name)
    }
}

/// The objects of a running server, in-process (no HTTP, no RBAC, no faults): what a test's
/// controller reads and writes. Its changes reach open watches and subscribers like writes over HTTP.
#[derive(Clone)]
pub struct Handle {
    state: Arc<State>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    /// Every change from now on (creates over HTTP and the changes below), in order, for a test that
    /// plays a controller. Dropping the receiver unsubscribes.
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<StoreEvent> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.state.subscribers.lock().unwrap().push(tx);
        rx
    }

    /// One object by group, plural, namespace ("" for cluster scope) and name, as stored.
    pub fn object(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Option<serde_json::Value> {
        let store = self.state.store.read().unwrap();
        let def = store.resource_any(group, resource)?;
        store.objects_of(def)?.get(&(namespace.to_string(), name.to_string())).cloned()
    }

    /// Every object of a resource, in namespace then name order.
    pub fn objects(&self, group: &str, resource: &str) -> Vec<serde_json::Value> {
        let store = self.state.store.read().unwrap();
        store
            .resource_any(group, resource)
            .and_then(|def| store.objects_of(def))
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    fn def(&self, group: &str, resource: &str) -> Result<store::ResourceDef, WriteRefused> {
        self.state
            .store
            .read()
            .unwrap()
            .resource_any(group, resource)
            .cloned()
            .ok_or_else(|| WriteRefused(format!("{resource} in group {group:?} is not served")))
    }

    fn refused(e: store::WriteError) -> WriteRefused {
        WriteRefused(match e {
            store::WriteError::Exists(m) | store::WriteError::NotFound(m) | store::WriteError::Invalid(_, m) => m,
        })
    }

    /// Creates an object as a controller would (no RBAC, no faults); watches see it `ADDED`.
    pub fn create_object(&self, group: &str, resource: &str, namespace: &str, object: serde_json::Value) -> Result<serde_json::Value, WriteRefused> {
        let def = self.def(group, resource)?;
        self.state.write(|s| s.create(&def, namespace, object)).map_err(Self::refused)
    }

    /// Changes an object as a controller's update would; watches see it `MODIFIED`. Returns it as stored.
    pub fn update_object(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut serde_json::Value),
    ) -> Result<serde_json::Value, WriteRefused> {
        let def = self.def(group, resource)?;
        self.state.write(|s| s.update(&def, namespace, name, change)).map_err(Self::refused)
    }

    /// Deletes an object as a controller would; watches see it `DELETED`.
    pub fn delete_object(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Result<serde_json::Value, WriteRefused> {
        let def = self.def(group, resource)?;
        self.state.write(|s| s.delete(&def, namespace, name)).map_err(Self::refused)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stopping.send_replace(true);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
