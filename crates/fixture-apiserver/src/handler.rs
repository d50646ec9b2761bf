//! Request handling: auth, discovery, get/list, create, watch, SSAR, faults, request log.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::config::{Fault, FaultMode, ServerConfig};
use crate::selector::{self, FieldReq, Req};
use crate::store::{generated_uid, Change, Key, ResourceDef, Store, WriteError};
use crate::{LoggedRequest, StoreEvent};

const AGGREGATED_CT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub struct State {
    /// The objects; written by `POST` and by the test's hands ([`crate::Server::update_object`]…).
    pub store: RwLock<Store>,
    /// The latest resourceVersion, for watches to wake on.
    pub changed: tokio::sync::watch::Sender<u64>,
    /// Set when the server stops: open watches end.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// In-process listeners ([`crate::Server::subscribe`]).
    pub subscribers: Mutex<Vec<std::sync::mpsc::Sender<StoreEvent>>>,
    pub config: ServerConfig,
    /// The token the server accepts.
    pub token: String,
    pub delay: Duration,
    pub server_address: Mutex<String>,
    log: Mutex<Vec<(u64, LoggedRequest)>>,
    next_seq: Mutex<u64>,
    pub log_file: Mutex<Option<std::fs::File>>,
}

impl State {
    pub fn new(store: Store, config: ServerConfig, token: String, delay: Duration) -> State {
        let rv = store.resource_version;
        State {
            store: RwLock::new(store),
            changed: tokio::sync::watch::channel(rv).0,
            stopping: tokio::sync::watch::channel(false).0,
            subscribers: Mutex::new(Vec::new()),
            config,
            token,
            delay,
            server_address: Mutex::new(String::new()),
            log: Mutex::new(Vec::new()),
            next_seq: Mutex::new(0),
            log_file: Mutex::new(None),
        }
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub fn clear_requests(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Runs a write on the store, then wakes the watches and tells the in-process subscribers.
    pub fn write<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, WriteError>) -> Result<T, WriteError> {
        let (out, changes, rv) = {
            let mut store = self.store.write().unwrap();
            let before = store.resource_version;
            let out = f(&mut store);
            let changes: Vec<Change> = store.history.iter().filter(|c| c.rv > before).cloned().collect();
            (out, changes, store.resource_version)
        };
        if !changes.is_empty() {
            self.changed.send_replace(rv);
            let mut subs = self.subscribers.lock().unwrap();
            for c in changes {
                let event = StoreEvent { kind: c.kind, group: c.group, resource: c.plural, object: c.object };
                subs.retain(|s| s.send(event.clone()).is_ok());
            }
        }
        out
    }

    fn log_start(&self, entry: LoggedRequest) -> u64 {
        let seq = {
            let mut n = self.next_seq.lock().unwrap();
            *n += 1;
            *n
        };
        self.log.lock().unwrap().push((seq, entry));
        seq
    }

    fn log_finish(&self, seq: u64, status: u16) {
        let done = {
            let mut log = self.log.lock().unwrap();
            log.iter_mut().rev().find(|(s, _)| *s == seq).map(|(_, e)| {
                e.status = status;
                e.clone()
            })
        };
        if let Some(entry) = done {
            if let Some(f) = self.log_file.lock().unwrap().as_mut() {
                if let Ok(mut line) = serde_json::to_vec(&entry) {
                    line.push(b'\n');
                    let _ = f.write_all(&line);
                    let _ = f.flush();
                }
            }
        }
    }
}

/// Marks a request 499 (client went away) if its handler was dropped unfinished.
struct LogGuard<'a> {
    state: &'a State,
    seq: u64,
    done: bool,
}

impl Drop for LogGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.state.log_finish(self.seq, 499);
        }
    }
}

// ---------------------------------------------------------------------------
// Response body: whole, or cut short to simulate a reset connection.

pub enum RespBody {
    Full(Option<Bytes>),
    /// A watch: one JSON event per chunk, until the sender ends it.
    Stream(tokio::sync::mpsc::Receiver<Bytes>),
    Truncated {
        part: Option<Bytes>,
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

impl http_body::Body for RespBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            RespBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            RespBody::Stream(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
            RespBody::Truncated { part, sleep } => {
                if let Some(p) = part.take() {
                    return Poll::Ready(Some(Ok(Frame::data(p))));
                }
                // Give the partial body time to reach the client, then fail.
                let s = sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                match s.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "fixture-apiserver: injected connection reset",
                    )))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, RespBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RespBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            RespBody::Full(None) => SizeHint::with_exact(0),
            RespBody::Truncated { .. } | RespBody::Stream(_) => SizeHint::default(),
        }
    }
}

/// A response before it becomes an HTTP response.
pub struct Reply {
    status: u16,
    content_type: &'static str,
    body: Bytes,
    extra_headers: Vec<(&'static str, String)>,
    reset: bool,
    /// A streamed body (a watch) instead of `body`.
    stream: Option<tokio::sync::mpsc::Receiver<Bytes>>,
}

impl Reply {
    pub fn json(status: u16, v: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: Bytes::from(serde_json::to_vec(v).expect("json")),
            extra_headers: Vec::new(),
            reset: false,
            stream: None,
        }
    }

    fn text(status: u16, s: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Bytes::from(s.to_string()),
            extra_headers: Vec::new(),
            reset: false,
            stream: None,
        }
    }

    /// 200 with a body streamed from `rx` (chunked), as a watch is answered.
    pub fn streamed(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Reply {
        let mut r = Reply::json(200, &Value::Null);
        r.body = Bytes::new();
        r.stream = Some(rx);
        r
    }

    fn not_found_page() -> Reply {
        Reply::text(404, "404 page not found\n")
    }

    fn into_response(self) -> Response<RespBody> {
        let mut b = Response::builder()
            .status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(header::CONTENT_TYPE, self.content_type)
            .header("Audit-Id", "00000000-0000-0000-0000-000000000000")
            .header(header::CACHE_CONTROL, "no-cache, private");
        for (k, v) in &self.extra_headers {
            b = b.header(*k, v);
        }
        if let Some(rx) = self.stream {
            return b.body(RespBody::Stream(rx)).expect("response");
        }
        if self.reset {
            let cut = (self.body.len() / 2).max(1).min(self.body.len());
            let part = self.body.slice(..cut);
            b.header(header::CONTENT_LENGTH, self.body.len().max(2).to_string())
                .body(RespBody::Truncated {
                    part: Some(part),
                    sleep: None,
                })
                .expect("response")
        } else {
            b.body(RespBody::Full(Some(self.body))).expect("response")
        }
    }
}

fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "",
    }
}

pub fn status_reply(code: u16, reason: &str, message: &str, details: Option<Value>) -> Reply {
    let mut v = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if reason.is_empty() {
        v.as_object_mut().unwrap().remove("reason");
    }
    if let Some(d) = details {
        v["details"] = d;
    }
    Reply::json(code, &v)
}

fn details(def: &ResourceDef, name: Option<&str>) -> Value {
    let mut d = serde_json::Map::new();
    if let Some(n) = name {
        d.insert("name".into(), json!(n));
    }
    if !def.group.is_empty() {
        d.insert("group".into(), json!(def.group));
    }
    d.insert("kind".into(), json!(def.plural));
    Value::Object(d)
}

fn not_found(def: &ResourceDef, name: &str) -> Reply {
    status_reply(
        404,
        "NotFound",
        &format!("{} \"{}\" not found", def.qualified(), name),
        Some(details(def, Some(name))),
    )
}

fn no_such_resource() -> Reply {
    status_reply(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn forbidden(
    user: &str,
    verb: &str,
    def: &ResourceDef,
    ns: Option<&str>,
    name: Option<&str>,
) -> Reply {
    forbidden_as(user, verb, def, &def.plural, ns, name)
}

/// A denial of `resource` (`pods/log` for a subresource) on an object of `def`.
fn forbidden_as(
    user: &str,
    verb: &str,
    def: &ResourceDef,
    resource: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> Reply {
    let subject = match name {
        Some(n) => format!("{} \"{}\"", def.qualified(), n),
        None => def.qualified(),
    };
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let msg = format!(
        "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
        def.group
    );
    status_reply(403, "Forbidden", &msg, Some(details(def, name)))
}

fn fault_status(f: &Fault, code: u16) -> Reply {
    let reason = reason_for(code);
    let msg = f.message.clone().unwrap_or_else(|| match code {
        401 => "Unauthorized".to_string(),
        _ => format!("fixture-apiserver: injected fault (status {code})"),
    });
    let mut r = status_reply(code, reason, &msg, None);
    if code == 429 || code == 503 {
        r.extra_headers.push(("Retry-After", "1".into()));
    }
    r
}

fn malformed() -> Reply {
    Reply {
        status: 200,
        content_type: "application/json",
        body: Bytes::from_static(
            b"{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[{\"metadata\":{\"name\": <<< fixture-apiserver: injected malformed body",
        ),
        extra_headers: Vec::new(),
        reset: false,
        stream: None,
    }
}

/// Applies a fault around the normal answer.
async fn with_fault<F>(fault: Option<&Fault>, normal: F) -> Reply
where
    F: Future<Output = Reply>,
{
    let Some(f) = fault else { return normal.await };
    if let Some(ms) = f.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(code) = f.status {
        return fault_status(f, code);
    }
    match f.mode {
        Some(FaultMode::Malformed) => malformed(),
        Some(FaultMode::Reset) => {
            let mut r = normal.await;
            r.reset = true;
            r
        }
        _ => normal.await,
    }
}

// ---------------------------------------------------------------------------
// Entry point

pub async fn handle(state: Arc<State>, req: Request<hyper::body::Incoming>) -> Response<RespBody> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let seq = state.log_start(LoggedRequest {
        method: req.method().to_string(),
        path: path.clone(),
        query: query.clone(),
        status: 0,
        user_agent: ua,
    });
    let mut guard = LogGuard {
        state: &state,
        seq,
        done: false,
    };
    let reply = route(&state, req, &path, &query).await;
    guard.done = true;
    state.log_finish(seq, reply.status);
    reply.into_response()
}

fn decode_query(q: &str) -> HashMap<String, String> {
    fn dec(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b'%' if i + 2 < bytes.len() => {
                    match u8::from_str_radix(
                        std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                        16,
                    ) {
                        Ok(b) => {
                            out.push(b);
                            i += 3;
                        }
                        Err(_) => {
                            out.push(b'%');
                            i += 1;
                        }
                    }
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

fn bearer_ok(state: &State, req: &Request<hyper::body::Incoming>) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim() == state.token)
        .unwrap_or(false)
}

async fn route(
    state: &Arc<State>,
    req: Request<hyper::body::Incoming>,
    path: &str,
    query: &str,
) -> Reply {
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    if !bearer_ok(state, &req) {
        return status_reply(401, "Unauthorized", "Unauthorized", None);
    }
    let path_fault = state.config.faults.iter().find(|f| f.hit_path(path));
    let q = decode_query(query);
    with_fault(path_fault, route_inner(state, req, path, q)).await
}

fn wants_aggregated(state: &State, req: &Request<hyper::body::Incoming>) -> bool {
    state.config.aggregated_discovery.unwrap_or(true)
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(|a| a.contains("as=APIGroupDiscoveryList") && a.contains("v=v2"))
            .unwrap_or(false)
}

fn method_not_allowed() -> Reply {
    status_reply(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

/// Discovery and health: answered from the resource table alone.
fn discovery(state: &State, req: &Request<hyper::body::Incoming>, segs: &[&str]) -> Option<Reply> {
    let store = state.store.read().unwrap();
    let store = &*store;
    Some(match segs {
        ["version"] => {
            let v = &state.config.version;
            Reply::json(
                200,
                &json!({
                    "major": v.major, "minor": v.minor, "gitVersion": v.git_version,
                    "gitCommit": v.git_commit, "gitTreeState": v.git_tree_state,
                    "buildDate": v.build_date, "goVersion": v.go_version,
                    "compiler": v.compiler, "platform": v.platform,
                }),
            )
        }
        ["healthz"] | ["livez"] | ["readyz"] => Reply::text(200, "ok"),
        ["api"] => {
            if wants_aggregated(state, req) {
                return Some(aggregated(store, &[String::new()]));
            }
            let addr = state.server_address.lock().unwrap().clone();
            Reply::json(
                200,
                &json!({
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}],
                }),
            )
        }
        ["apis"] => {
            if wants_aggregated(state, req) {
                return Some(aggregated(store, &store.groups));
            }
            let groups: Vec<Value> = store.groups.iter().map(|g| api_group(store, g)).collect();
            Reply::json(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["api", "v1"] => resource_list(store, "", "v1"),
        ["apis", g] => {
            if store.groups.iter().any(|x| x == g) {
                let mut v = api_group(store, g);
                v["kind"] = json!("APIGroup");
                v["apiVersion"] = json!("v1");
                Reply::json(200, &v)
            } else {
                Reply::not_found_page()
            }
        }
        ["apis", g, v] => {
            if store.group_versions(g).iter().any(|x| x == v) {
                resource_list(store, g, v)
            } else {
                Reply::not_found_page()
            }
        }
        _ => return None,
    })
}

/// A resource path, resolved: `(def, version, namespace, name, subresource)`.
type Target<'a> = (ResourceDef, String, Option<&'a str>, Option<&'a str>, Option<&'a str>);

/// Resolves `/api/v1/…` and `/apis/<group>/<version>/…` to a served resource, or the answer a real
/// server gives for a path it does not serve.
fn resolve<'a>(state: &State, segs: &[&'a str]) -> Result<Target<'a>, Reply> {
    let (group, version, rest) = match segs {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(Reply::not_found_page()),
    };
    let store = state.store.read().unwrap();
    if !store.group_versions(group).iter().any(|x| x == version) {
        return Err(Reply::not_found_page());
    }
    // (resource, namespace, name, subresource)
    let (res, ns, name, sub): (&str, Option<&str>, Option<&str>, Option<&str>) = match rest {
        ["namespaces", ns, res] => (res, Some(*ns), None, None),
        ["namespaces", ns, res, name] => (res, Some(*ns), Some(*name), None),
        ["namespaces", ns, res, name, sub, ..] => (res, Some(*ns), Some(*name), Some(*sub)),
        [res] => (res, None, None, None),
        [res, name] => (res, None, Some(*name), None),
        [res, name, sub, ..] => (res, None, Some(*name), Some(*sub)),
        _ => return Err(no_such_resource()),
    };
    // `/api/v1/namespaces/NAME/status` lands here as resource "status": not found.
    let Some(def) = store.resource(group, version, res) else {
        return Err(no_such_resource());
    };
    if sub.is_some() {
        return Err(no_such_resource());
    }
    if ns.is_some() && !def.namespaced {
        return Err(no_such_resource());
    }
    if name.is_some() && ns.is_none() && def.namespaced {
        return Err(no_such_resource());
    }
    Ok((def.clone(), version.to_string(), ns, name, sub))
}

fn denied(state: &State, verb: &str, def: &ResourceDef, ns: Option<&str>, name: Option<&str>) -> Option<Reply> {
    state
        .config
        .rbac
        .iter()
        .any(|d| d.matches(verb, &def.group, &def.plural, ns, name))
        .then(|| forbidden(state.config.user(), verb, def, ns, name))
}

async fn route_inner(
    state: &Arc<State>,
    req: Request<hyper::body::Incoming>,
    path: &str,
    q: HashMap<String, String>,
) -> Reply {
    let trimmed = path.trim_end_matches('/');
    let segs: Vec<&str> = trimmed.split('/').filter(|s| !s.is_empty()).collect();

    if req.method() == Method::POST
        && trimmed == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    {
        let fault = state.config.faults.iter().find(|f| {
            f.hit_resource(
                "create",
                "authorization.k8s.io",
                "selfsubjectaccessreviews",
                None,
            )
        });
        return with_fault(fault, ssar(state, req)).await;
    }
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    let reading = req.method() == Method::GET || req.method() == Method::HEAD;
    if reading && !watching {
        if let Some(reply) = discovery(state, &req, &segs) {
            return reply;
        }
    }
    if let ["api", "v1", "namespaces", ns, "pods", name, "log"] = segs.as_slice() {
        if !reading || watching {
            return method_not_allowed();
        }
        return pod_log(state, ns, name, &q).await;
    }
    let (def, version, ns, name, _) = match resolve(state, &segs) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let verb = match (req.method().clone(), name) {
        (Method::POST, None) => "create",
        (Method::GET | Method::HEAD, None) if watching => "watch",
        (Method::GET | Method::HEAD, Some(_)) if !watching => "get",
        (Method::GET | Method::HEAD, None) => "list",
        _ => return method_not_allowed(),
    };
    if def.verbs.iter().all(|v| v != verb) {
        return method_not_allowed();
    }
    if let Some(reply) = denied(state, verb, &def, ns, name) {
        return reply;
    }
    let fault = state
        .config
        .faults
        .iter()
        .find(|f| f.hit_resource(verb, &def.group, &def.plural, ns));
    match verb {
        "create" => {
            let body = read_body(req).await;
            with_fault(fault, async { create(state, &def, &version, ns, body) }).await
        }
        "watch" => with_fault(fault, async { crate::watch::start(state.clone(), &def, &version, ns, &q) }).await,
        "get" => {
            with_fault(fault, async {
                let store = state.store.read().unwrap();
                get_one(&store, &def, &version, ns.unwrap_or(""), name.unwrap_or(""))
            })
            .await
        }
        _ => {
            let huge = fault
                .filter(|f| f.mode == Some(FaultMode::Huge))
                .map(|f| Huge {
                    count: f.count.unwrap_or(1000),
                    namespace: f.namespace.clone(),
                });
            with_fault(fault, async {
                let store = state.store.read().unwrap();
                list(&store, &def, &version, ns, &q, huge)
            })
            .await
        }
    }
}

/// `GET …/pods/NAME/log`: the container's log from `_logs.yaml` (crate::logs), behind RBAC (`get pods/log`)
/// and faults (`resource: pods/log`) like any read.
async fn pod_log(state: &Arc<State>, ns: &str, name: &str, q: &HashMap<String, String>) -> Reply {
    let pods = state.store.read().unwrap().resource("", "v1", "pods").cloned().expect("pods are built in");
    if state.config.rbac.iter().any(|d| d.matches("get", "", "pods/log", Some(ns), Some(name))) {
        return forbidden_as(state.config.user(), "get", &pods, "pods/log", Some(ns), Some(name));
    }
    let fault = state.config.faults.iter().find(|f| f.hit_resource("get", "", "pods/log", Some(ns)));
    with_fault(fault, async {
        let query = match crate::logs::parse_query(q) {
            Ok(query) => query,
            Err((code, reason, msg)) => return status_reply(code, reason, &msg, None),
        };
        let now = state.config.now.as_deref().and_then(crate::time::parse_rfc3339).unwrap_or_else(crate::time::unix_now);
        let store = state.store.read().unwrap();
        let Some(pod) = store.objects_of(&pods).and_then(|m| m.get(&(ns.to_string(), name.to_string()))) else {
            return not_found(&pods, name);
        };
        match crate::logs::answer(&store.logs, pod, &query, now) {
            Ok(body) => Reply::text(200, &body),
            Err((code, reason, msg)) => status_reply(code, reason, &msg, None),
        }
    })
    .await
}

/// Bodies of writes are small Kubernetes objects: more than this is refused (413), as the API server
/// refuses bodies over its limit.
const MAX_BODY: usize = 3 << 20;

async fn read_body(req: Request<hyper::body::Incoming>) -> Result<Bytes, Reply> {
    let limited = http_body_util::Limited::new(req.into_body(), MAX_BODY);
    match limited.collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(status_reply(413, "RequestEntityTooLarge", &format!("the request body could not be read: {e}"), None)),
    }
}

/// `POST` of a new object (create). Kind and apiVersion must be the path's, as the API server checks.
fn create(state: &State, def: &ResourceDef, version: &str, ns: Option<&str>, body: Result<Bytes, Reply>) -> Reply {
    let body = match body {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let obj: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("the body of the request could not be decoded: {e}")),
    };
    let av = api_version(def, version);
    let kind_ok = obj.get("kind").and_then(Value::as_str).is_none_or(|k| k == def.kind);
    let av_ok = obj.get("apiVersion").and_then(Value::as_str).is_none_or(|a| a == av);
    if !kind_ok || !av_ok {
        return bad_request(&format!(
            "the API version in the data ({}) does not match the expected API version ({av}) or the kind ({}) is not {}",
            obj.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
            obj.get("kind").and_then(Value::as_str).unwrap_or(""),
            def.kind
        ));
    }
    match state.write(|store| store.create(def, ns.unwrap_or(""), obj)) {
        Ok(stored) => Reply::json(201, &served(&stored, &av)),
        Err(e) => write_error(def, &e),
    }
}

pub fn write_error(def: &ResourceDef, e: &WriteError) -> Reply {
    match e {
        WriteError::Exists(m) => status_reply(409, "AlreadyExists", m, Some(details(def, None))),
        WriteError::NotFound(m) => status_reply(404, "NotFound", m, Some(details(def, None))),
        WriteError::Invalid(code, m) => status_reply(*code, reason_for(*code), m, Some(details(def, None))),
    }
}

// ---------------------------------------------------------------------------
// Discovery

fn api_group(store: &Store, g: &str) -> Value {
    let versions: Vec<Value> = store
        .group_versions(g)
        .iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": g, "versions": versions, "preferredVersion": preferred})
}

fn resource_entry(r: &ResourceDef) -> Value {
    let mut v = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    v
}

fn resource_list(store: &Store, group: &str, version: &str) -> Reply {
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let resources: Vec<Value> = store
        .resources_in(group, version)
        .into_iter()
        .map(resource_entry)
        .collect();
    Reply::json(
        200,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn aggregated(store: &Store, groups: &[String]) -> Reply {
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let versions: Vec<Value> = store
                .group_versions(g)
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = store
                        .resources_in(g, v)
                        .into_iter()
                        .map(|r| {
                            let mut e = json!({
                                "resource": r.plural,
                                "responseKind": {"group": r.group, "version": v, "kind": r.kind},
                                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": r.singular,
                                "verbs": r.verbs,
                            });
                            if !r.short_names.is_empty() {
                                e["shortNames"] = json!(r.short_names);
                            }
                            e
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let meta = if g.is_empty() {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": g, "creationTimestamp": null})
            };
            json!({"metadata": meta, "versions": versions})
        })
        .collect();
    let mut r = Reply::json(
        200,
        &json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}),
    );
    r.content_type = AGGREGATED_CT;
    r
}

// ---------------------------------------------------------------------------
// Objects

pub fn api_version(def: &ResourceDef, version: &str) -> String {
    if def.group.is_empty() {
        version.to_string()
    } else {
        format!("{}/{}", def.group, version)
    }
}

pub fn served(obj: &Value, av: &str) -> Value {
    let mut o = obj.clone();
    o["apiVersion"] = json!(av);
    o
}

fn get_one(store: &Store, def: &ResourceDef, version: &str, ns: &str, name: &str) -> Reply {
    let key: Key = (ns.to_string(), name.to_string());
    match store.objects_of(def).and_then(|m| m.get(&key)) {
        Some(obj) => Reply::json(200, &served(obj, &api_version(def, version))),
        None => not_found(def, name),
    }
}

struct Huge {
    count: usize,
    namespace: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

fn encode_continue(rv: u64, key: &Key) -> String {
    let start = if key.0.is_empty() {
        format!("{}\u{0}", key.1)
    } else {
        format!("{}/{}\u{0}", key.0, key.1)
    };
    let tok = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start,
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tok).expect("json"))
}

fn decode_continue(s: &str) -> Option<Key> {
    let s = s.trim_end_matches('=');
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s))
        .ok()?;
    let tok: ContinueToken = serde_json::from_slice(&raw).ok()?;
    let start = tok.start.strip_suffix('\u{0}')?;
    Some(match start.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => (String::new(), start.to_string()),
    })
}

fn skeleton(def: &ResourceDef) -> Value {
    let container = json!([{"name": "main", "image": "registry.example/fixture:latest"}]);
    let pod_template = json!({"metadata": {"labels": {"app": "fixture-generated"}}, "spec": {"containers": container}});
    let mut v = json!({"metadata": {}});
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => {
            v["spec"] = json!({"containers": container});
            v["status"] = json!({"phase": "Running"});
        }
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            v["spec"] = json!({"selector": {"matchLabels": {"app": "fixture-generated"}}, "template": pod_template});
        }
        ("batch", "Job") => v["spec"] = json!({"template": pod_template}),
        ("batch", "CronJob") => {
            v["spec"] = json!({"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": pod_template}}})
        }
        ("", "Event") => {
            v["involvedObject"] = json!({"kind": "Pod", "name": "fixture"});
            v["reason"] = json!("Generated");
            v["message"] = json!("generated by fixture-apiserver");
            v["type"] = json!("Normal");
        }
        ("", "ConfigMap" | "Secret") => v["data"] = json!({}),
        _ if !def.group.is_empty() && !BUILTIN_LIKE.contains(&def.group.as_str()) => {
            v["spec"] = json!({})
        }
        _ => {}
    }
    v
}

const BUILTIN_LIKE: &[&str] = &[
    "storage.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
];

struct Generator {
    template: Value,
    ns: String,
    prefix: String,
    width: usize,
    count: usize,
    av: String,
    kind: String,
    plural: String,
    group: String,
}

impl Generator {
    fn new(
        store: &Store,
        def: &ResourceDef,
        version: &str,
        req_ns: Option<&str>,
        h: &Huge,
    ) -> Generator {
        let want_ns = h.namespace.as_deref().or(req_ns);
        let template = store
            .objects_of(def)
            .and_then(|m| {
                m.iter()
                    .find(|((ns, _), _)| want_ns.map(|w| w == ns).unwrap_or(true))
                    .or_else(|| m.iter().next())
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| skeleton(def));
        let ns = if def.namespaced {
            want_ns
                .map(str::to_string)
                .or_else(|| {
                    template
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "default".into())
        } else {
            String::new()
        };
        Generator {
            template,
            ns,
            prefix: format!("{}-gen-", def.singular),
            width: h.count.to_string().len().max(6),
            count: h.count,
            av: api_version(def, version),
            kind: def.kind.clone(),
            plural: def.plural.clone(),
            group: def.group.clone(),
        }
    }

    fn key(&self, i: usize) -> Key {
        (
            self.ns.clone(),
            format!("{}{:0w$}", self.prefix, i, w = self.width),
        )
    }

    fn item(&self, i: usize) -> Value {
        let (ns, name) = self.key(i);
        let mut v = self.template.clone();
        if !v.is_object() {
            v = json!({});
        }
        v["apiVersion"] = json!(self.av);
        v["kind"] = json!(self.kind);
        if !v.get("metadata").map(Value::is_object).unwrap_or(false) {
            v["metadata"] = json!({});
        }
        let m = v["metadata"].as_object_mut().unwrap();
        m.remove("generateName");
        m.remove("ownerReferences");
        m.insert("name".into(), json!(name));
        if ns.is_empty() {
            m.remove("namespace");
        } else {
            m.insert("namespace".into(), json!(ns));
        }
        m.insert(
            "uid".into(),
            json!(generated_uid(&[
                &self.group,
                &self.plural,
                &ns,
                &name,
                "gen"
            ])),
        );
        m.insert("resourceVersion".into(), json!((500 + i).to_string()));
        let labels = m.entry("labels").or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        labels["fixture-apiserver/generated"] = json!("true");
        v
    }
}

pub fn bad_request(msg: &str) -> Reply {
    status_reply(400, "BadRequest", msg, None)
}

fn list(
    store: &Store,
    def: &ResourceDef,
    version: &str,
    ns: Option<&str>,
    q: &HashMap<String, String>,
    huge: Option<Huge>,
) -> Reply {
    let labels: Vec<Req> =
        match selector::parse_labels(q.get("labelSelector").map(String::as_str).unwrap_or("")) {
            Ok(r) => r,
            Err(e) => return bad_request(&e),
        };
    let fields: Vec<FieldReq> =
        match selector::parse_fields(q.get("fieldSelector").map(String::as_str).unwrap_or("")) {
            Ok(r) => r,
            Err(e) => return bad_request(&e),
        };
    let limit: usize = match q.get("limit").filter(|s| !s.is_empty()) {
        None => 0,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => n as usize,
            Ok(_) => 0,
            Err(_) => return bad_request(&format!("invalid value for limit: {s:?}")),
        },
    };
    let after: Option<Key> = match q.get("continue").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match decode_continue(s) {
            Some(k) => Some(k),
            None => return bad_request(&format!("continue key is not valid: {s}")),
        },
    };
    let rv = store.resource_version;
    let av = api_version(def, version);
    let has_selectors = !labels.is_empty() || !fields.is_empty();

    let page: Vec<Value>;
    let mut next: Option<Key> = None;
    let mut remaining: usize = 0;

    let matches =
        |v: &Value| selector::labels_match(&labels, v) && selector::fields_match(&fields, v);

    if let Some(h) = huge.as_ref().filter(|_| !has_selectors) {
        // Fast path: compute only the requested page.
        let gen = Generator::new(store, def, version, ns, h);
        let visible = ns.map(|n| n == gen.ns).unwrap_or(true) || !def.namespaced;
        let count = if visible { gen.count } else { 0 };
        let (mut lo, mut hi) = (0usize, count);
        if let Some(a) = &after {
            while lo < hi {
                let mid = (lo + hi) / 2;
                if gen.key(mid) <= *a {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
        }
        let start = lo;
        let end = if limit > 0 {
            (start + limit).min(count)
        } else {
            count
        };
        page = (start..end).map(|i| gen.item(i)).collect();
        if end < count {
            next = Some(gen.key(end - 1));
            remaining = count - end;
        }
    } else {
        let candidates: Vec<(Key, Cow<Value>)> = if let Some(h) = &huge {
            let gen = Generator::new(store, def, version, ns, h);
            let visible = ns.map(|n| n == gen.ns).unwrap_or(true) || !def.namespaced;
            if visible {
                (0..gen.count)
                    .map(|i| (gen.key(i), Cow::Owned(gen.item(i))))
                    .filter(|(_, v)| matches(v))
                    .collect()
            } else {
                Vec::new()
            }
        } else {
            store
                .objects_of(def)
                .map(|m| {
                    m.iter()
                        .filter(|((ons, _), _)| ns.map(|n| n == ons).unwrap_or(true))
                        .filter(|(_, v)| matches(v))
                        .map(|(k, v)| (k.clone(), Cow::Borrowed(v)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let start = match &after {
            Some(a) => candidates.partition_point(|(k, _)| k <= a),
            None => 0,
        };
        let end = if limit > 0 {
            (start + limit).min(candidates.len())
        } else {
            candidates.len()
        };
        if end < candidates.len() {
            next = Some(candidates[end - 1].0.clone());
            remaining = candidates.len() - end;
        }
        page = candidates[start..end]
            .iter()
            .map(|(_, v)| served(v, &av))
            .collect();
    }

    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(k) = next {
        meta["continue"] = json!(encode_continue(rv, &k));
        if !has_selectors {
            meta["remainingItemCount"] = json!(remaining);
        }
    }
    Reply::json(
        200,
        &json!({"kind": format!("{}List", def.kind), "apiVersion": av, "metadata": meta, "items": page}),
    )
}

// ---------------------------------------------------------------------------
// SelfSubjectAccessReview

async fn ssar(state: &State, req: Request<hyper::body::Incoming>) -> Reply {
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return bad_request(&format!("cannot read body: {e}")),
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("invalid SelfSubjectAccessReview: {e}")),
    };
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    let user = state.config.user();
    let allowed = match spec.get("resourceAttributes") {
        Some(ra) => {
            let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or("");
            let ns = Some(s("namespace")).filter(|n| !n.is_empty());
            let name = Some(s("name")).filter(|n| !n.is_empty());
            let verb = if s("verb").is_empty() { "*" } else { s("verb") };
            !state
                .config
                .rbac
                .iter()
                .any(|d| d.matches(verb, s("group"), s("resource"), ns, name))
        }
        None => true,
    };
    let mut status = json!({"allowed": allowed});
    if allowed {
        status["reason"] = json!(format!(
            "RBAC: allowed by ClusterRoleBinding \"fixture\" of ClusterRole \"fixture\" to User \"{user}\""
        ));
    }
    Reply::json(
        201,
        &json!({
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": status,
        }),
    )
}
