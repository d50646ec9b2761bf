//! The commands, wired together: flags → collect (or bundle) → judge → render.

use crate::cli::{ColorMode, DoctorArgs, ExplainFormat, ListFormat, Output};
use crate::collect::{self, kube::KubeTarget, CollectOptions};
use crate::engine::{self, Selection};
use crate::facts::Facts;
use crate::report::{self, Report, Summary};
use std::io::IsTerminal;
use std::time::Instant;

/// A failure that means "veldr could not run" (exit 2): bad flags, unreadable kubeconfig or bundle.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unrunnable(pub String);

impl DoctorArgs {
    pub fn selection(&self) -> Selection {
        Selection { only: self.only.clone(), skip: self.skip.clone() }
    }

    pub fn collect_options(&self) -> CollectOptions {
        CollectOptions {
            target: KubeTarget { kubeconfig: self.cluster.kubeconfig.clone(), context: self.contexts.first().cloned() },
            namespace: crate::namespace::from_process(self.cluster.namespace.as_deref()),
            timeout: self.cluster.timeout,
            credentials: self.credentials.clone(),
            needs: self.selection().needs(),
            bsl_filter: self.bsl.clone(),
            insecure: self.insecure,
            tokens: None,
        }
    }
}

/// Gets the facts: from a bundle, or by reading the cluster and OpenStack.
pub async fn gather(args: &DoctorArgs) -> Result<(Facts, collect::IoTimes), Unrunnable> {
    gather_keeping(args, None).await
}

/// [`gather`], with the Keystone tokens of earlier runs (`veldr serve`).
pub async fn gather_keeping(args: &DoctorArgs, tokens: Option<&collect::tokens::TokenCache>) -> Result<(Facts, collect::IoTimes), Unrunnable> {
    let facts = match &args.from_bundle {
        Some(path) => {
            let facts = crate::bundle::load(path).map_err(|e| Unrunnable(e.to_string()))?;
            if let Some(note) = crate::bundle::age_note(path, &facts) {
                eprintln!("{note}");
            }
            (facts, Default::default())
        }
        None => {
            let opts = CollectOptions { tokens: tokens.cloned(), ..args.collect_options() };
            collect::collect(&opts).await.map_err(|e| Unrunnable(e.to_string()))?
        }
    };
    if let Some(path) = &args.save_bundle {
        crate::bundle::save(path, &facts.0).map_err(|e| Unrunnable(e.to_string()))?;
    }
    Ok(facts)
}

/// Judges facts into a report.
pub fn build_report(args: &DoctorArgs, facts: &Facts, io: &collect::IoTimes, started: Instant) -> Report {
    let checks = engine::judge(facts, &args.selection(), &args.bsl, io);
    let summary = Summary::of(&checks);
    Report {
        schema_version: report::SCHEMA_VERSION,
        veldr: env!("CARGO_PKG_VERSION").to_string(),
        started_at: facts.collected_at,
        duration_ms: started.elapsed().as_millis() as u64,
        target: facts.target.clone(),
        summary,
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

/// Renders a report in the chosen format.
pub fn render(args: &DoctorArgs, report: &Report) -> String {
    let to_terminal = args.output_file.is_none() && std::io::stdout().is_terminal();
    match args.output {
        Output::Table => report::table::render(report, colour_on(args.color, to_terminal), Some(crate::term::columns(args.output_file.is_some()))),
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

/// `veldr doctor`.
pub async fn doctor(args: DoctorArgs) -> Result<i32, Unrunnable> {
    args.selection().validate().map_err(|e| Unrunnable(e.to_string()))?;
    if args.insecure {
        eprintln!("veldr: warning: --insecure: TLS certificates of Keystone and Swift are NOT verified in this run");
    }
    if let Some(contexts) = crate::fleet::contexts(&args)? {
        return crate::fleet::doctor(args, contexts).await;
    }
    let started = Instant::now();
    let (facts, io) = with_progress(args.verbose == 0, gather(&args)).await?;
    let mut report = build_report(&args, &facts, &io, started);
    if !args.wait.is_zero() && args.from_bundle.is_none() {
        report = wait_for_fixes(&args, report, started).await?;
    }
    let text = render(&args, &report);
    emit(&args, &text)?;
    Ok(exit_code(&args, &report))
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

/// `--wait`: re-runs the checks that did not pass (and what they depend on) until they pass or the time
/// is up, with progress on stderr. Velero revalidates a BSL every minute; Swift key changes take up to
/// 60 s. A check that ended `error` has not passed either (exit 3): a Swift that did not answer in time
/// may answer on the next try.
async fn wait_for_fixes(args: &DoctorArgs, mut report: Report, started: Instant) -> Result<Report, Unrunnable> {
    use crate::model::Status;
    let deadline = Instant::now() + args.wait;
    loop {
        let failed: Vec<String> = report.checks.iter().filter(|c| matches!(c.status, Status::Fail | Status::Error)).map(|c| c.id.clone()).collect();
        if failed.is_empty() || Instant::now() >= deadline {
            return Ok(report);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        eprintln!("veldr: waiting for {} ({}s left)", failed.join(", "), left.as_secs());
        tokio::time::sleep(left.min(std::time::Duration::from_secs(10))).await;
        let mut again = args.clone();
        again.only = failed;
        again.skip.clear();
        again.save_bundle = None;
        let (facts, io) = with_progress(args.verbose == 0, gather(&again)).await?;
        let fresh = build_report(&again, &facts, &io, started);
        for c in fresh.checks.into_iter().filter(|c| c.selected) {
            if let Some(slot) = report.checks.iter_mut().find(|x| x.id == c.id) {
                *slot = c;
            }
        }
        report.summary = Summary::of(&report.checks);
        report.duration_ms = started.elapsed().as_millis() as u64;
    }
}

/// Writes the report to `--output-file` atomically, or to stdout.
pub fn emit(args: &DoctorArgs, text: &str) -> Result<(), Unrunnable> {
    match &args.output_file {
        Some(path) => crate::fsutil::write_atomic(path, text.as_bytes())
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

/// `veldr checks`.
pub fn checks(format: ListFormat) -> String {
    use crate::checks::REGISTRY;
    match format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = REGISTRY
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id, "category": c.category, "title": c.title, "severity": c.severity,
                        "dependsOn": c.depends_on, "runbook": format!("veldr explain {}", c.id),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&list).expect("serializes") + "\n"
        }
        ListFormat::Table => {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header(vec!["id", "category", "severity", "title"]);
            for c in REGISTRY {
                t.add_row(vec![c.id, c.category.as_str(), c.severity.as_str(), c.title]);
            }
            format!("{t}\n")
        }
    }
}

/// `veldr explain ID`.
pub fn explain(id: &str, format: ExplainFormat) -> Result<String, Unrunnable> {
    let def = crate::checks::find(id).ok_or_else(|| Unrunnable(format!("unknown check {id:?}; `veldr checks` lists them")))?;
    Ok(match format {
        ExplainFormat::Text => format!(
            "{} — {}\ncategory: {} · severity: {}{}\n\n{}",
            def.id,
            def.title,
            def.category,
            def.severity.as_str(),
            if def.depends_on.is_empty() { String::new() } else { format!(" · depends on: {}", def.depends_on.join(", ")) },
            def.page.trim_end()
        ) + "\n",
        ExplainFormat::Json => serde_json::to_string_pretty(&serde_json::json!({
            "id": def.id, "category": def.category, "title": def.title, "severity": def.severity,
            "dependsOn": def.depends_on, "page": def.page,
        }))
        .expect("serializes")
            + "\n",
    })
}
