//! A plain-HTTP proxy in front of the lab's Keystone or Swift: a request log (method and path) and
//! faults (tests/faults.rs, tests/graph.rs, tests/serve.rs).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward as is.
    Pass,
    /// Wait this many milliseconds, then forward.
    Delay(u64),
    /// Read the request, then drop the connection with a TCP reset.
    Reset,
    /// Answer 503 Service Unavailable, like a load balancer with no backend.
    Unavailable,
    /// Forward, but send only half of the answer's body, then close.
    Truncate,
}

/// A plain-HTTP proxy on 127.0.0.1 that forwards to one upstream, one request per connection,
/// and logs each request's method and path (never its query: temp-URL signatures live there).
pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    log: Arc<Mutex<Vec<String>>>,
    /// `X-Subject-Token` of each answer that had one (Keystone's new tokens), for a test that
    /// revokes the token veldr holds. Test memory only.
    tokens: Arc<Mutex<Vec<String>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> FaultProxy {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(Mode::Pass));
        let log = Arc::new(Mutex::new(Vec::new()));
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let (m, l, t, upstream) = (mode.clone(), log.clone(), tokens.clone(), upstream.to_string());
        rt.spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else { continue };
                let mode = *m.lock().unwrap();
                tokio::spawn(handle(conn, upstream.clone(), mode, l.clone(), t.clone()));
            }
        });
        FaultProxy { addr, mode, log, tokens, rt: Some(rt) }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// `METHOD /path` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests so far were exactly `METHOD /path`.
    pub fn count(&self, request: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|r| *r == request).count()
    }

    /// The requests made more than once, with their counts.
    pub fn duplicates(&self) -> Vec<(String, usize)> {
        let mut seen = std::collections::BTreeMap::new();
        for r in self.requests() {
            *seen.entry(r).or_insert(0usize) += 1;
        }
        seen.into_iter().filter(|(_, n)| *n > 1).collect()
    }

    /// The tokens Keystone issued through this proxy, oldest first.
    pub fn subject_tokens(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok()).flatten()
                })
                .unwrap_or(0);
            let mut body = buf[end + 4..].to_vec();
            while body.len() < len {
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            return Some((head, body));
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The request head with `Connection: close`, so the upstream ends its answer with EOF.
fn close_connection(head: &str) -> String {
    let lines: Vec<&str> =
        head.trim_end_matches("\r\n").split("\r\n").filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).collect();
    format!("{}\r\nConnection: close\r\n\r\n", lines.join("\r\n"))
}

async fn handle(mut client: TcpStream, upstream: String, mode: Mode, log: Arc<Mutex<Vec<String>>>, tokens: Arc<Mutex<Vec<String>>>) {
    let Some((head, body)) = read_request(&mut client).await else { return };
    let mut first = head.lines().next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default();
    let path = first.next().unwrap_or_default().split('?').next().unwrap_or_default();
    log.lock().unwrap().push(format!("{method} {path}"));
    match mode {
        Mode::Reset => {
            #[allow(deprecated)]
            let _ = client.set_linger(Some(Duration::ZERO));
            drop(client);
            return;
        }
        Mode::Unavailable => {
            let body = "503 Service Unavailable: no backend\n";
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(answer.as_bytes()).await;
            let _ = client.shutdown().await;
            return;
        }
        Mode::Delay(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Mode::Pass | Mode::Truncate => {}
    }
    let Ok(mut up) = TcpStream::connect(&upstream).await else { return };
    if up.write_all(close_connection(&head).as_bytes()).await.is_err() || up.write_all(&body).await.is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer).await;
    if let Some(end) = find(&answer, b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&answer[..end]);
        let subject = head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("x-subject-token")).map(|(_, v)| v.trim().to_string()));
        tokens.lock().unwrap().extend(subject);
    }
    if mode == Mode::Truncate {
        if let Some(end) = find(&answer, b"\r\n\r\n") {
            let body_len = answer.len() - (end + 4);
            answer.truncate(end + 4 + body_len / 2);
        }
    }
    let _ = client.write_all(&answer).await;
    let _ = client.shutdown().await;
}
