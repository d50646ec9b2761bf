//! Logs go to stderr only; stdout carries nothing but the report.

/// `-v` shows veldr's own steps, `-vv` adds the HTTP clients' (which never log headers or bodies).
pub fn init(verbosity: u8) {
    let filter = match verbosity {
        0 => "warn",
        1 => "veldr=debug,warn",
        _ => "veldr=trace,kube=debug,info",
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(false)
        .try_init();
}
