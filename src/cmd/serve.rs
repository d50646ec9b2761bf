//! `veldr serve`: the doctor as a Prometheus exporter.
//!
//! A background task runs the doctor every `--interval` (the first run at start; runs never overlap)
//! and swaps the rendered metrics into shared state. `/metrics` and `/healthz` answer from that state
//! only: a scrape never waits for a run and never starts one.
//!
//! A run that could not complete (no configuration, the API server unreadable, or the run hung past
//! `--timeout`) sets `veldr_up 0` and keeps the last good report's figures, with
//! `veldr_last_success_timestamp_seconds` saying how old they are.
//!
//! A run that completed but could not evaluate some checks (exit 3 for `veldr doctor`: a Keystone or
//! Swift that did not answer within `--timeout`, a read RBAC refused) is not a passed run: its figures
//! are served as they are, those checks at 3 (error) and counted in `veldr_checks{status="error"}`,
//! rather than hidden behind an older run's `ok`; `/healthz` and stderr name them.

use crate::pipeline::{self, Unrunnable};
use crate::cli::ServeArgs;
use crate::report::{prometheus, Report};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the scrapes see. Replaced whole after each run; the lock is never held across an await.
#[derive(Default)]
struct State {
    /// The exposition text of `/metrics`.
    metrics: Bytes,
    /// The last run that completed, and when it ended.
    last_good: Option<(Report, jiff::Timestamp)>,
    /// Why the last run did not complete (None when it did).
    last_error: Option<String>,
    runs: u64,
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// `veldr serve`. Exit 0 on SIGTERM/SIGINT; exit 2 (an `Unrunnable`) when it cannot start.
pub async fn serve(args: ServeArgs) -> Result<i32, Unrunnable> {
    let mut doctor = args.doctor.clone();
    doctor.selection().validate().map_err(|e| Unrunnable(e.to_string()))?;
    if args.interval < Duration::from_secs(1) {
        return Err(Unrunnable(format!("--interval must be at least 1s (got {:?})", args.interval)));
    }
    // The report lives in memory and on /metrics only.
    doctor.output_file = None;
    doctor.wait = Duration::ZERO;
    // One exporter per cluster, each scraped by Prometheus: a fleet is Prometheus' job (README, fleet).
    if doctor.contexts.len() > 1 || doctor.all_contexts {
        return Err(Unrunnable("veldr serve watches one cluster: run one per cluster (one --context each) and let Prometheus scrape them".into()));
    }

    // Signals first, so a SIGTERM right after start is already a clean stop.
    let stop = stop_signal().map_err(|e| Unrunnable(format!("cannot install signal handlers: {e}")))?;
    let listener = bind(&args.listen).await?;
    let addr = listener.local_addr().map_err(|e| Unrunnable(format!("cannot listen on {}: {e}", args.listen)))?;
    if doctor.insecure {
        eprintln!("veldr: warning: --insecure: TLS certificates of Keystone and Swift are NOT verified");
    }
    eprintln!("veldr: serving on http://{addr}");

    let state: Shared = Arc::new(Mutex::new(State { metrics: Bytes::from(not_yet()), ..Default::default() }));
    let runner = tokio::spawn(run_periodically(doctor, args.interval, state.clone()));

    tokio::pin!(stop);
    loop {
        tokio::select! {
            signal = &mut stop => {
                eprintln!("veldr: {signal}: stopping");
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = state.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let state = state.clone();
                            async move { Ok::<_, Infallible>(answer(&state, &req)) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(Duration::from_secs(10))
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of file descriptors and the like: keep serving what is open, try again shortly.
                Err(e) => {
                    eprintln!("veldr: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    runner.abort();
    let _ = runner.await;
    Ok(0)
}

/// Binds `--listen`: `HOST:PORT`, or a bare port on 127.0.0.1.
async fn bind(listen: &str) -> Result<tokio::net::TcpListener, Unrunnable> {
    let spec = if listen.chars().all(|c| c.is_ascii_digit()) { format!("127.0.0.1:{listen}") } else { listen.to_string() };
    tokio::net::TcpListener::bind(&spec).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the address is already in use (another veldr serve or exporter?); pick another --listen".to_string(),
            std::io::ErrorKind::PermissionDenied => format!("permission denied ({e}); ports below 1024 need privileges"),
            _ => e.to_string(),
        };
        Unrunnable(format!("cannot listen on {spec}: {why}"))
    })
}

/// Resolves on SIGTERM or SIGINT, naming which.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
            "interrupt"
        })
    }
}

async fn run_periodically(doctor: crate::cli::DoctorArgs, every: Duration, state: Shared) {
    // One Keystone token for as long as it lasts, not one per run (memory only; see collect::tokens).
    let tokens = crate::collect::tokens::TokenCache::default();
    let mut ticks = tokio::time::interval(every);
    // A run longer than the interval delays the next one; runs never pile up or overlap.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // Its own task: a bug that panics in one run is a failed run, not a dead exporter serving stale figures.
        let outcome = match tokio::spawn(run_once(doctor.clone(), tokens.clone())).await {
            Ok(outcome) => outcome,
            Err(e) => Err(format!("the run crashed: {e}")),
        };
        let mut s = lock(&state);
        s.runs += 1;
        match outcome {
            Ok(report) => {
                if let Some(incomplete) = report.incomplete_line() {
                    eprintln!("veldr: run {incomplete}");
                }
                s.last_good = Some((report, jiff::Timestamp::now()));
                s.last_error = None;
            }
            Err(why) => {
                eprintln!("veldr: run failed: {why}{}", if s.last_good.is_some() { " (serving the last good figures with veldr_up 0)" } else { "" });
                s.last_error = Some(why);
            }
        }
        s.metrics = Bytes::from(exposition(&s));
    }
}

/// One doctor run. `Err` when it could not complete: no configuration, the API server unreadable,
/// or the run still going 5 s past `--timeout`. Reads that timed out inside the run are checks at
/// `error` in a completed run: served as such, not as the previous run's figures.
async fn run_once(doctor: crate::cli::DoctorArgs, tokens: crate::collect::tokens::TokenCache) -> Result<Report, String> {
    let started = Instant::now();
    // The collector bounds every read by --timeout; this bounds the run as a whole, whatever hangs.
    let hard = doctor.cluster.timeout + Duration::from_secs(5);
    let (facts, io) = match tokio::time::timeout(hard, pipeline::gather(&doctor, Some(&tokens))).await {
        Ok(Ok(got)) => got,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(format!("the run did not finish within --timeout {}", human(doctor.cluster.timeout))),
    };
    if let Err(e) = &facts.kube.version {
        return Err(format!("cannot talk to the API server: {}", e.message));
    }
    Ok(pipeline::build_report(&doctor, &facts, &io, started))
}

/// `/metrics` for the current state.
fn exposition(s: &State) -> String {
    let up = s.last_error.is_none();
    match &s.last_good {
        Some((report, at)) => {
            let mut text = prometheus::render(report, up);
            text.push_str("# HELP veldr_last_success_timestamp_seconds When the last run that completed ended (the figures above are from it).\n");
            text.push_str("# TYPE veldr_last_success_timestamp_seconds gauge\n");
            text.push_str(&format!("veldr_last_success_timestamp_seconds {}\n", at.as_second()));
            text
        }
        None if s.runs == 0 => not_yet(),
        None => format!("{}{}", up_line(false), build_info()),
    }
}

/// Before the first run ends: who is answering, and no verdict (no `veldr_up` to alert on yet).
fn not_yet() -> String {
    build_info()
}

fn up_line(up: bool) -> String {
    prometheus::up_line(up)
}

fn build_info() -> String {
    prometheus::build_info(env!("CARGO_PKG_VERSION"))
}

fn answer<B>(state: &Shared, req: &Request<B>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", Bytes::from_static(b"only GET and HEAD\n"));
    }
    match req.uri().path() {
        "/metrics" => {
            let body = lock(state).metrics.clone();
            reply(StatusCode::OK, CONTENT_TYPE, body)
        }
        // Liveness: the exporter answers. Whether the cluster is healthy is what /metrics says.
        "/healthz" => {
            let s = lock(state);
            let text = match &s.last_error {
                _ if s.runs == 0 => "ok: first run in progress\n".to_string(),
                None => match s.last_good.as_ref().and_then(|(r, _)| r.incomplete_line()) {
                    // Not a passed run: say which checks veldr could not see.
                    Some(incomplete) => format!("ok: last run completed, {incomplete}\n"),
                    None => "ok: last run completed\n".to_string(),
                },
                Some(e) => format!("ok: serving; last run failed: {e}\n"),
            };
            reply(StatusCode::OK, "text/plain; charset=utf-8", Bytes::from(text))
        }
        "/" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from_static(b"<html><body><h1>veldr</h1><p><a href=\"/metrics\">/metrics</a> <a href=\"/healthz\">/healthz</a></p></body></html>\n"),
        ),
        _ => reply(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", Bytes::from_static(b"not found: try /metrics or /healthz\n")),
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    r
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s as u64 / 3600)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s as u64 / 60)
    } else if s.fract() == 0.0 {
        format!("{}s", s as u64)
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_first_run_there_is_no_verdict() {
        let s = State::default();
        let text = exposition(&s);
        assert!(text.contains("veldr_build_info"));
        assert!(!text.contains("veldr_up"));
    }

    #[test]
    fn a_failed_first_run_is_down() {
        let s = State { runs: 1, last_error: Some("x".into()), ..Default::default() };
        assert!(exposition(&s).contains("veldr_up 0\n"));
    }

    /// An incomplete run is served as it is, not as a pass: its errors counted, /healthz naming them.
    #[test]
    fn an_incomplete_run_is_served_with_its_errors_counted() {
        use crate::model::Status;
        use crate::report::testing::{check, report_of};
        let late = "container velero: Swift did not answer within the run's --timeout (5s)";
        let report = report_of(vec![check("keystone.auth", Status::Ok, "a token"), check("swift.container", Status::Error, late)]);
        let state: Shared = Arc::new(Mutex::new(State { last_good: Some((report, jiff::Timestamp::now())), runs: 1, ..Default::default() }));
        let text = exposition(&lock(&state));
        for line in ["veldr_up 1\n", "veldr_checks{status=\"error\"} 1\n", "veldr_checks{status=\"ok\"} 1\n", "veldr_checks{status=\"fail\"} 0\n"] {
            assert!(text.contains(line), "{line:?} not in {text}");
        }
        let health = answer(&state, &Request::get("/healthz").body(()).unwrap());
        let body = futures::executor::block_on(http_body_util::BodyExt::collect(health.into_body())).unwrap().to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert!(body.starts_with("ok: last run completed, incomplete: swift.container not evaluated (Swift did not answer"), "{body}");
    }

    #[test]
    fn durations_read_back() {
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(30)), "30s");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
    }
}
