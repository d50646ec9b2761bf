//! The HTTP client for Keystone and Swift, and a classifier that says why a request failed.
//!
//! reqwest's own error text is "error sending request for url (…)": it names no cause a person can
//! act on, and it carries the URL, which for a temp-URL probe contains the signature. [`Failure`]
//! walks the error's source chain instead and keeps only host, port and cause.

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;
use thiserror::Error;

/// How veldr reaches OpenStack.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Whole-request timeout (also bounds connect).
    pub timeout: Duration,
    /// Extra trusted CA certificates in PEM (`OS_CACERT`), added to the system roots. The plugin
    /// itself ignores `OS_CACERT`; veldr honours it so the operator can still diagnose.
    pub ca_pem: Option<Vec<u8>>,
    /// Skip certificate verification, like the plugin's `TLS_SKIP_VERIFY=true`.
    pub insecure: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(10),
            ca_pem: None,
            insecure: false,
        }
    }
}

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("OS_CACERT: no usable PEM certificate in the CA bundle ({0})")]
    BadCaPem(String),
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// Builds the one client all OpenStack calls share.
///
/// Redirects are not followed: Swift and Keystone do not redirect API calls, and following one
/// would carry `X-Auth-Token` (a header reqwest does not know to strip) to wherever it points.
pub fn client(opts: &HttpOptions) -> Result<reqwest::Client, HttpError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("veldr/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &opts.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| HttpError::BadCaPem(source_text(&e)))?;
        if certs.is_empty() {
            return Err(HttpError::BadCaPem("no BEGIN CERTIFICATE block".into()));
        }
        builder = builder.tls_certs_merge(certs);
    }
    if opts.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| HttpError::Build(source_text(&e)))
}

/// Why a request to OpenStack did not give a usable answer. The text names the cause and, where
/// there is one, the fix; it never contains a URL query (signatures) or a header value (tokens).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    /// Nothing answered: connection refused, DNS failure, no route, reset.
    Unreachable(String),
    /// The request did not complete within the timeout.
    Timeout,
    /// The TLS handshake failed; the text says why and what to set.
    Tls(String),
    /// An HTTP answer with an unexpected status.
    Status { code: u16, body_excerpt: String },
    /// The answer could not be read or parsed.
    BadBody(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unreachable(m) => f.write_str(m),
            Failure::Timeout => {
                f.write_str("no answer before the timeout (raise --timeout, or check firewalls and proxies on the way)")
            }
            Failure::Tls(m) => write!(f, "TLS: {m}"),
            Failure::Status { code, body_excerpt } if body_excerpt.is_empty() => write!(f, "HTTP {code}"),
            Failure::Status { code, body_excerpt } => write!(f, "HTTP {code}: {body_excerpt}"),
            Failure::BadBody(m) => write!(f, "unreadable answer: {m}"),
        }
    }
}

impl Failure {
    /// Classifies a reqwest error by walking its source chain.
    pub fn from_reqwest(err: &reqwest::Error) -> Failure {
        let target = err.url().map(host_port).unwrap_or_else(|| "the server".to_string());
        if let Some(tls) = find_rustls(err) {
            return Failure::Tls(describe_tls(tls, &target));
        }
        let mut io_kinds = Vec::new();
        let mut texts = Vec::new();
        // Skip reqwest's own text ("error sending request for url (…)"): it carries the URL.
        let mut cur = err.source();
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                io_kinds.push(io.kind());
            }
            texts.push(e.to_string());
            cur = e.source();
        }
        use std::io::ErrorKind as K;
        if err.is_timeout() || io_kinds.contains(&K::TimedOut) {
            return Failure::Timeout;
        }
        let joined = texts.join(": ").to_lowercase();
        if io_kinds.contains(&K::ConnectionRefused) || joined.contains("connection refused") {
            return Failure::Unreachable(format!(
                "connection refused at {target} (nothing listens there: wrong port, or the service is down)"
            ));
        }
        if joined.contains("dns error")
            || joined.contains("failed to lookup address")
            || joined.contains("name or service not known")
        {
            return Failure::Unreachable(format!("cannot resolve the host name of {target} (DNS)"));
        }
        if io_kinds.contains(&K::ConnectionReset) || joined.contains("connection reset") {
            return Failure::Unreachable(format!(
                "{target} reset the connection (the service, a firewall or a proxy on the way dropped it)"
            ));
        }
        if err.is_connect() {
            let cause = texts.last().cloned().unwrap_or_else(|| "connect error".into());
            return Failure::Unreachable(format!("cannot connect to {target}: {cause}"));
        }
        if err.is_body() || err.is_decode() {
            return Failure::BadBody(texts.last().cloned().unwrap_or_else(|| "body error".into()));
        }
        if let Some(status) = err.status() {
            return Failure::Status {
                code: status.as_u16(),
                body_excerpt: String::new(),
            };
        }
        let cause = texts.last().cloned().unwrap_or_else(|| "request failed".into());
        if joined.contains("connection closed")
            || joined.contains("incomplete message")
        {
            return Failure::Unreachable(format!(
                "{target} closed the connection: {cause} (plain http:// to a TLS port?)"
            ));
        }
        Failure::Unreachable(format!("request to {target} failed: {cause}"))
    }
}

/// "Keystone {…}" / "Swift {…}": how a failed call to a service reads, by what failed. A body cut
/// short is an answer, not an unreachable service.
pub fn service_failure(f: &Failure) -> String {
    match f {
        Failure::Unreachable(_) | Failure::Tls(_) => format!("unreachable: {f}"),
        Failure::Timeout => format!("did not answer: {f}"),
        Failure::Status { .. } => format!("answered {f}"),
        Failure::BadBody(m) => format!("answered, but the answer was cut short or unreadable: {m}"),
    }
}

/// Finds a rustls error anywhere in the chain. tokio-rustls wraps it in an `io::Error`, whose
/// `source()` skips the wrapped error, so each `io::Error`'s payload is inspected too.
fn find_rustls<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = find_rustls(inner) {
                    return Some(r);
                }
            }
        }
        cur = e.source();
    }
    None
}

fn describe_tls(err: &rustls::Error, target: &str) -> String {
    use rustls::CertificateError as C;
    const FIX: &str = "set OS_CACERT (or --cacert) to the CA bundle that signed it; the Velero plugin \
                       ignores OS_CACERT and only has TLS_SKIP_VERIFY=true";
    match err {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension => {
                format!("certificate of {target} not trusted ({c:?}); {FIX}")
            }
            C::Expired | C::ExpiredContext { .. } => {
                format!("certificate of {target} has expired; the server must renew it")
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                format!("certificate of {target} is not valid yet; check this machine's clock")
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                "certificate of {target} is not valid for that host name; use the name the certificate was issued for"
            ),
            C::Revoked => format!("certificate of {target} is revoked"),
            other => format!("certificate of {target} rejected ({other:?}); {FIX}"),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            format!("handshake with {target} failed ({err}); is that port plain HTTP? use http:// for it")
        }
        other => format!("handshake with {target} failed: {other}"),
    }
}

/// `host:port` of a URL, never its path or query.
pub fn host_port(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// The innermost cause of an error, which is the readable one for reqwest and rustls.
fn source_text(err: &(dyn StdError + 'static)) -> String {
    let mut last = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        last = e.to_string();
        cur = e.source();
    }
    last
}

/// The first `max` characters of a response body, on one line, for error messages.
pub fn excerpt(body: &str, max: usize) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// How much of a document veldr parses (a token with its catalog, `/info`, an error document) it
/// reads: those are KB to a few hundred KB; a longer answer is not one Keystone or Swift sends.
pub const DOCUMENT_LIMIT: usize = 4 << 20;

/// An answer from Keystone or Swift: its status, headers and at most the asked part of its body.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    /// When the status and headers arrived (before the body was read).
    pub received_at: jiff::Timestamp,
    /// The body read, as text (invalid UTF-8 replaced).
    pub body: String,
    /// The body went on past the limit; the rest was not read.
    pub cut: bool,
    limit: usize,
}

impl Answer {
    /// The body as a whole document to parse: one cut at the limit is refused, not parsed half.
    pub fn document(&self) -> Result<&str, Failure> {
        if self.cut {
            return Err(Failure::BadBody(format!("the answer is longer than the {} bytes veldr reads", self.limit)));
        }
        Ok(&self.body)
    }
}

/// An answer whose body is kept as bytes (object data: gzip), at most the asked part of it.
pub struct RawAnswer {
    pub status: u16,
    pub headers: HeaderMap,
    /// When the status and headers arrived (before the body was read).
    pub received_at: jiff::Timestamp,
    pub body: Vec<u8>,
    /// The body went on past the limit; the rest was not read.
    pub cut: bool,
}

/// Sends a request and reads at most `limit` bytes of the answer's body (so a probe that hits an
/// object never downloads it, and no answer can exhaust memory). Every Keystone and Swift call
/// goes through here.
pub async fn send(request: reqwest::RequestBuilder, limit: usize) -> Result<Answer, Failure> {
    let raw = send_raw(request, limit).await?;
    let body = String::from_utf8_lossy(&raw.body).into_owned();
    Ok(Answer { status: raw.status, headers: raw.headers, received_at: raw.received_at, body, cut: raw.cut, limit })
}

/// [`send`], keeping the body as the bytes that came (for objects, which need not be text).
pub async fn send_raw(request: reqwest::RequestBuilder, limit: usize) -> Result<RawAnswer, Failure> {
    let t0 = std::time::Instant::now();
    let mut resp = request.send().await.map_err(|e| Failure::from_reqwest(&e))?;
    let received_at = jiff::Timestamp::now();
    let status = resp.status().as_u16();
    let headers = std::mem::take(resp.headers_mut());
    // The path only: a query may hold a temp URL's signature.
    let path = resp.url().path().to_string();
    let (body, cut) = read_body(&mut resp, limit).await?;
    tracing::debug!(target: "veldr::http", path = %path, status, ms = t0.elapsed().as_millis() as u64, "answered");
    Ok(RawAnswer { status, headers, received_at, body, cut })
}

/// Reads at most `limit` bytes of a body; `true` when there was more (the rest is not read).
pub async fn read_body(resp: &mut reqwest::Response, limit: usize) -> Result<(Vec<u8>, bool), Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| Failure::from_reqwest(&e))? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn refused_port_names_host_and_port() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = client(&HttpOptions::default()).unwrap();
        let err = run(async { c.get(format!("http://127.0.0.1:{port}/v3?secret=s3cr3t")).send().await }).unwrap_err();
        let f = Failure::from_reqwest(&err);
        let text = f.to_string();
        assert!(matches!(f, Failure::Unreachable(_)), "{f:?}");
        assert!(
            text.contains(&format!("connection refused at 127.0.0.1:{port}")),
            "{text}"
        );
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn silent_server_is_a_timeout() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = client(&HttpOptions {
            timeout: Duration::from_millis(300),
            ..Default::default()
        })
        .unwrap();
        let err = run(async { c.get(format!("http://127.0.0.1:{port}/")).send().await }).unwrap_err();
        assert_eq!(Failure::from_reqwest(&err), Failure::Timeout);
        drop(l);
    }

    #[test]
    fn https_to_a_plain_port_says_so() {
        // A server that answers plain HTTP to whatever arrives.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
            }
        });
        let c = client(&HttpOptions::default()).unwrap();
        let err = run(async { c.get(format!("https://127.0.0.1:{port}/")).send().await }).unwrap_err();
        let f = Failure::from_reqwest(&err);
        assert!(matches!(f, Failure::Tls(_)), "{f:?}");
        assert!(f.to_string().contains("plain HTTP"), "{f}");
    }

    #[test]
    fn a_reset_is_not_called_a_tls_mismatch() {
        // A server that reads the request, then resets the connection.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::Read;
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let s = socket_with_zero_linger(s);
                drop(s);
            }
        });
        let c = client(&HttpOptions::default()).unwrap();
        let err = run(async { c.get(format!("http://127.0.0.1:{port}/v3")).send().await }).unwrap_err();
        let f = Failure::from_reqwest(&err);
        let text = f.to_string();
        assert!(matches!(f, Failure::Unreachable(_)), "{f:?}");
        assert!(text.contains("reset the connection") && !text.contains("TLS"), "{text}");
        assert_eq!(service_failure(&f), format!("unreachable: {text}"));
        assert!(service_failure(&Failure::BadBody("end of file before message length reached".into())).starts_with("answered, but"));
    }

    /// SO_LINGER 0: closing sends a RST instead of a FIN.
    fn socket_with_zero_linger(s: std::net::TcpStream) -> std::net::TcpStream {
        let t = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _guard = t.enter();
        s.set_nonblocking(true).unwrap();
        let ts = tokio::net::TcpStream::from_std(s).unwrap();
        #[allow(deprecated)]
        ts.set_linger(Some(Duration::ZERO)).unwrap();
        ts.into_std().unwrap()
    }

    #[test]
    fn bad_ca_pem_is_reported() {
        let err = client(&HttpOptions {
            ca_pem: Some(b"not a pem".to_vec()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("OS_CACERT"), "{err}");
    }

    #[test]
    fn untrusted_certificate_names_the_fix() {
        let t = describe_tls(
            &rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            "k.example:5000",
        );
        assert!(
            t.contains("not trusted") && t.contains("OS_CACERT") && t.contains("k.example:5000"),
            "{t}"
        );
    }

    /// A server that answers every connection with `body`, `times` times.
    fn serve_body(body: &'static str, times: usize) -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for _ in 0..times {
                if let Ok((mut s, _)) = l.accept() {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf);
                    let _ = write!(s, "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                }
            }
        });
        port
    }

    #[test]
    fn send_reads_at_most_the_limit() {
        let port = serve_body("0123456789", 3);
        let c = client(&HttpOptions::default()).unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        let a = run(send(c.get(&url), 4)).unwrap();
        assert_eq!((a.status, a.body.as_str(), a.cut), (200, "0123", true));
        let err = a.document().unwrap_err();
        assert!(matches!(&err, Failure::BadBody(m) if m.contains("longer than the 4 bytes")), "{err:?}");
        let a = run(send(c.get(&url), 10)).unwrap();
        assert_eq!((a.body.as_str(), a.cut), ("0123456789", false));
        assert_eq!(a.document().unwrap(), "0123456789");
        let a = run(send(c.head(&url), DOCUMENT_LIMIT)).unwrap();
        assert_eq!((a.status, a.body.as_str(), a.cut), (200, "", false));
    }

    #[test]
    fn excerpt_flattens_and_cuts() {
        assert_eq!(excerpt("a\n  b\tc", 10), "a b c");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
