//! The binary's edge: parse flags, run, map errors to exit codes (CONTRACT.md).

use clap::CommandFactory;
use veldr::cli::{Cli, Command};

fn main() {
    // Exit 2 for bad flags, as the contract says (clap's own exit code for usage errors is 2 too).
    // Also run as the kubectl plugin `kubectl-veldr`: usage then says `kubectl veldr`.
    let cli = veldr::cli::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("veldr: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Checks { output } => {
            print!("{}", veldr::cmd::registry::checks(output));
            Ok(0)
        }
        Command::Explain { id, output } => {
            print!("{}", veldr::cmd::registry::explain(&id, output)?);
            Ok(0)
        }
        Command::Schema => {
            print!("{}", veldr::cmd::schema::run());
            Ok(0)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "veldr", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man(args) => match &args.dir {
            Some(dir) => {
                for path in veldr::cmd::man::write_all(dir).map_err(anyhow::Error::msg)? {
                    eprintln!("veldr: wrote {}", path.display());
                }
                Ok(0)
            }
            None => {
                use std::io::Write;
                let page = veldr::cmd::man::page(args.command.as_deref()).map_err(anyhow::Error::msg)?;
                std::io::stdout().write_all(&page)?;
                Ok(0)
            }
        },
        Command::Doctor(args) => {
            veldr::util::logging::init(args.verbose);
            Ok(runtime()?.block_on(veldr::cmd::doctor::doctor(args))?)
        }
        Command::Logs(args) => {
            veldr::util::logging::init(args.verbose);
            Ok(runtime()?.block_on(veldr::cmd::logs::run(args))?)
        }
        Command::RestoreCheck(args) => {
            veldr::util::logging::init(args.doctor.verbose);
            Ok(runtime()?.block_on(veldr::cmd::restore_check::run(args))?)
        }
        Command::Verify(args) => {
            veldr::util::logging::init(args.verbose);
            Ok(runtime()?.block_on(veldr::cmd::verify::verify(args))?)
        }
        Command::Tempurl(args) => Ok(runtime()?.block_on(veldr::cmd::tempurl::run(args))?),
        Command::Serve(args) => {
            veldr::util::logging::init(args.doctor.verbose);
            Ok(runtime()?.block_on(veldr::cmd::serve::serve(args))?)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Worker threads get the main thread's 8 MiB of stack, not tokio's 2 MiB: `veldr serve` polls a whole
    // doctor run in a spawned task on a worker, and an unoptimized build's run (the graph of reads, dozens
    // of joined futures) overflowed 2 MiB. Address space only: resident memory is what the run touches.
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_stack_size(8 << 20).enable_all().build()?)
}
