//! The one pipeline every command runs: gather (collect, or a bundle) → judge (a registry over the
//! facts) → report (render, write, exit code). Commands (`crate::cmd`) say what to gather, which
//! registry judges it and where the report goes; none of them re-implements a step.

pub mod judge;

use crate::cli::{ColorMode, DoctorArgs, Output};
use crate::collect::{self, kube::KubeTarget, tokens::TokenCache, CollectOptions, IoTimes};
use crate::facts::{Facts, Target};
use crate::report::{self, Report, Summary};
use judge::Selection;
use std::io::IsTerminal;
use std::time::Instant;

/// A failure that means "veldr could not run" (exit 2): bad flags, unreadable kubeconfig or bundle.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unrunnable(pub String);

impl DoctorArgs {
    pub fn selection(&self) -> Selection {
        Selection { only: self.only.clone(), skip: self.skip.clone(), ..Default::default() }
    }

    pub fn collect_options(&self) -> CollectOptions {
        self.collect_options_for(&self.selection())
    }

    /// What collect reads for `selection` (another registry's, for `restore-check` and `verify`).
    pub fn collect_options_for(&self, selection: &Selection) -> CollectOptions {
        CollectOptions {
            target: KubeTarget { kubeconfig: self.cluster.kubeconfig.clone(), context: self.contexts.first().cloned() },
            namespace: crate::collect::namespace::from_process(self.cluster.namespace.as_deref()),
            timeout: self.cluster.timeout,
            credentials: self.credentials.clone(),
            needs: selection.needs(),
            bsl_filter: self.bsl.clone(),
            insecure: self.insecure,
            tokens: None,
            restore: None,
        }
    }
}

/// Gather: the facts, from a bundle or by reading the cluster and OpenStack (with the Keystone tokens
/// of earlier runs when `tokens` is given: `veldr serve`), saved to `--save-bundle` when asked.
pub async fn gather(args: &DoctorArgs, tokens: Option<&TokenCache>) -> Result<(Facts, IoTimes), Unrunnable> {
    gather_for(args, &args.selection(), tokens).await
}

/// [`gather`] for another registry's selection.
pub async fn gather_for(args: &DoctorArgs, selection: &Selection, tokens: Option<&TokenCache>) -> Result<(Facts, IoTimes), Unrunnable> {
    let facts = match &args.from_bundle {
        Some(path) => {
            let facts = crate::facts::bundle::load(path).map_err(|e| Unrunnable(e.to_string()))?;
            if let Some(note) = crate::facts::bundle::age_note(path, &facts) {
                eprintln!("{note}");
            }
            (facts, Default::default())
        }
        None => {
            let opts = CollectOptions { tokens: tokens.cloned(), ..args.collect_options_for(selection) };
            collect::collect(&opts).await.map_err(|e| Unrunnable(e.to_string()))?
        }
    };
    if let Some(path) = &args.save_bundle {
        crate::facts::bundle::save(path, &facts.0).map_err(|e| Unrunnable(e.to_string()))?;
    }
    Ok(facts)
}

/// Judge: the selected registry over the facts, into a report.
pub fn build_report(args: &DoctorArgs, facts: &Facts, io: &IoTimes, started: Instant) -> Report {
    judge_report(&args.selection(), &args.bsl, facts, io, started)
}

/// [`build_report`] for any selection (another registry's).
pub fn judge_report(selection: &Selection, bsl_filter: &[String], facts: &Facts, io: &IoTimes, started: Instant) -> Report {
    let checks = judge::judge(facts, selection, bsl_filter, io);
    report_of(facts.collected_at, started, facts.target.clone(), checks)
}

/// The report of a run that could not even start (a fleet's context whose kubeconfig entry is broken):
/// the registry's connection check fails with `reason`, every other check is skipped because of it.
pub fn could_not_run(args: &DoctorArgs, context: &str, reason: &str, started: Instant) -> Report {
    let ns = crate::collect::namespace::from_process(args.cluster.namespace.as_deref());
    let target = Target {
        context: Some(context.to_string()),
        server: None,
        namespace: ns.as_ref().map_or_else(|| crate::collect::namespace::DEFAULT.to_string(), |n| n.namespace.clone()),
        namespace_source: ns.map(|n| n.source),
    };
    let connect = crate::model::Verdict::fail(format!("context {context}: {reason}"))
        .hint(format!("`kubectl --context {context} version` shows the same problem; fix the kubeconfig entry"));
    let checks = judge::could_not_connect(&args.selection(), connect);
    report_of(jiff::Timestamp::now(), started, target, checks)
}

fn report_of(started_at: jiff::Timestamp, started: Instant, target: Target, checks: Vec<crate::model::CheckResult>) -> Report {
    Report {
        schema_version: report::SCHEMA_VERSION,
        veldr: env!("CARGO_PKG_VERSION").to_string(),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        target,
        summary: Summary::of(&checks),
        checks,
    }
}

pub fn colour_on(mode: ColorMode, to_terminal: bool) -> bool {
    match mode {
        ColorMode::Always => true,
        ColorMode::Never => false,
        ColorMode::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Whether the report goes to a terminal (colour, width): stdout is one and no `--output-file`.
pub fn to_terminal(args: &DoctorArgs) -> bool {
    args.output_file.is_none() && std::io::stdout().is_terminal()
}

/// Report: renders one report in the chosen format.
pub fn render(args: &DoctorArgs, report: &Report) -> String {
    let to_terminal = to_terminal(args);
    match args.output {
        Output::Table => report::table::render(report, colour_on(args.color, to_terminal), Some(crate::util::term::columns(args.output_file.is_some()))),
        Output::Json => report::json::render(report),
        Output::Markdown => report::markdown::render(report),
        Output::Junit => report::junit::render(report, args.fail_on),
        Output::Prometheus => report::prometheus::render(report, true),
        Output::Nagios => report::nagios::render(report),
    }
}

/// Exit code for the chosen output (Nagios has its own convention).
pub fn exit_code(args: &DoctorArgs, report: &Report) -> i32 {
    match args.output {
        Output::Nagios => report::nagios::exit_code(report),
        _ => report.exit_code(args.fail_on),
    }
}

/// Renders, writes and gives the exit code: the end of every single-report command.
pub fn finish(args: &DoctorArgs, report: &Report) -> Result<i32, Unrunnable> {
    emit(args, &render(args, report))?;
    Ok(exit_code(args, report))
}

/// Runs `fut`; when stderr is a terminal and it takes over half a second, shows a live line on stderr
/// naming what is still being read ([`collect::progress`]), cleared before the report is written.
/// Never on a pipe or file, never with `-v` (log lines would tear it), never on a dumb terminal.
pub async fn with_progress<F: std::future::Future>(enabled: bool, fut: F) -> F::Output {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    if !enabled || dumb || !std::io::stderr().is_terminal() {
        return fut.await;
    }
    let shown = Arc::new(AtomicBool::new(false));
    let printer = {
        let shown = shown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).unwrap_or(80).max(20) - 1;
            loop {
                let pending = collect::progress::pending();
                if !pending.is_empty() {
                    let line = format!("veldr: reading {} …", pending.join(", "));
                    let line: String = if line.chars().count() > width {
                        line.chars().take(width - 1).collect::<String>() + "…"
                    } else {
                        line
                    };
                    eprint!("\r\x1b[2K{line}");
                    shown.store(true, Ordering::Relaxed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };
    let out = fut.await;
    printer.abort();
    let _ = printer.await;
    if shown.load(Ordering::Relaxed) {
        eprint!("\r\x1b[2K");
    }
    out
}

/// Writes the report to `--output-file` atomically, or to stdout.
pub fn emit(args: &DoctorArgs, text: &str) -> Result<(), Unrunnable> {
    match &args.output_file {
        Some(path) => crate::util::fsutil::write_atomic(path, text.as_bytes())
            .map_err(|e| Unrunnable(format!("cannot write {}: {e} (the previous file is left as it was)", path.display()))),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            Ok(())
        }
    }
}

