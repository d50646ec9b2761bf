//! `fixture-apiserver`: serve a fixture scenario over HTTPS until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use fixture_apiserver::{Options, Server, DEFAULT_TOKEN};

/// A read-only Kubernetes API server that serves fixture YAML (for tests and benchmarks).
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Scenario directory (tests/fixtures/clusters/<scenario>).
    #[arg(long)]
    dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Bearer token written into the kubeconfig (and expected, unless _server.yaml overrides it).
    #[arg(long, default_value = DEFAULT_TOKEN)]
    token: String,
    /// Delay added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Where to write a kubeconfig for the server.
    #[arg(long)]
    kubeconfig_out: PathBuf,
    /// Context (and cluster/user) name in the kubeconfig.
    #[arg(long, default_value = "fixture")]
    context: String,
    /// Append every request to this file as a JSON line.
    #[arg(long)]
    request_log: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("fixture-apiserver: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let opts = Options {
            dir: args.dir,
            token: args.token,
            delay: Duration::from_millis(args.delay_ms),
        };
        let server = Server::start_on(opts, args.listen).await?;
        for w in server.warnings() {
            eprintln!("fixture-apiserver: warning: {w}");
        }
        if let Some(p) = &args.request_log {
            server.set_request_log(p)?;
        }
        server.write_kubeconfig(&args.kubeconfig_out, &args.context)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", server.url)?;
        out.flush()?;
        drop(out);
        tokio::signal::ctrl_c().await?;
        drop(server);
        Ok(())
    })
}
