//! Logs go to stderr only; stdout carries nothing but the report.

/// `-v` shows veldr's own steps, `-vv` adds the HTTP clients' (which never log headers or bodies).
pub fn init(verbosity: u8) {
    let filter = match verbosity {
        // kube-rs logs every failed request at ERROR; veldr already reports them as check results.
        0 => "warn,kube_client=off,kube=off",
        1 => "veldr=debug,warn,kube_client=off,kube=off",
        _ => "veldr=trace,kube=debug,info",
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(false)
        .try_init();
}
