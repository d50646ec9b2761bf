//! A fleet: `veldr doctor --context A --context B …` or `--all-contexts` runs one doctor per
//! context, at most [`CONCURRENCY`] at once, each under its own `--timeout`, and renders every
//! cluster's report plus a fleet summary (CONTRACT.md "Additions in 0.2").
//!
//! A context that cannot even be configured (unknown user, broken exec plugin) becomes a report
//! whose `kube.connect` failed: one bad cluster never hides the others.

use crate::pipeline::{self, Unrunnable};
use crate::cli::{DoctorArgs, Output};
use crate::model::Status;
use crate::report::fleet::FleetReport;
use crate::report::{self, Report};
use futures::StreamExt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How many clusters are read at once: enough to hide latency, few enough for a laptop's sockets.
pub const CONCURRENCY: usize = 8;

/// The contexts of a fleet run, or `None` for a single-cluster run (one context keeps the report shape).
pub fn contexts(args: &DoctorArgs) -> Result<Option<Vec<String>>, Unrunnable> {
    let mut list = args.contexts.clone();
    if args.all_contexts {
        let kc = match &args.cluster.kubeconfig {
            Some(path) => kube::config::Kubeconfig::read_from(path).map_err(|e| Unrunnable(format!("cannot read kubeconfig {}: {e}", path.display())))?,
            None => crate::collect::kube::kubeconfig_from_env().ok_or_else(|| Unrunnable("--all-contexts: no kubeconfig found ($KUBECONFIG, ~/.kube/config)".into()))?,
        };
        list = kc.contexts.iter().map(|c| c.name.clone()).collect();
        if list.is_empty() {
            return Err(Unrunnable("--all-contexts: the kubeconfig has no contexts".into()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    list.retain(|c| seen.insert(c.clone()));
    Ok((list.len() > 1).then_some(list))
}

/// `--save-bundle PATH` in a fleet: one bundle per context, `PATH` with `.<context>` before its
/// extension (`fleet.json` → `fleet.prod.json`); characters other than letters, digits, `-`, `_`
/// and `.` in the context name (`arn:aws:eks:…/name`) become `_`.
pub fn bundle_path(path: &Path, context: &str) -> PathBuf {
    let safe: String = context.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{safe}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{safe}"),
    };
    path.with_file_name(name)
}

/// One context's run: the single-cluster doctor, its failure to start turned into a report.
async fn run_one(args: DoctorArgs, context: String) -> Report {
    let started = Instant::now();
    let mut one = args.clone();
    one.contexts = vec![context.clone()];
    one.all_contexts = false;
    one.save_bundle = args.save_bundle.as_deref().map(|p| bundle_path(p, &context));
    match pipeline::gather(&one, None).await {
        Ok((facts, io)) => pipeline::build_report(&one, &facts, &io, started),
        Err(e) => pipeline::could_not_run(&one, &context, &e.0, started),
    }
}

/// `veldr doctor` over several contexts.
pub async fn doctor(args: DoctorArgs, contexts: Vec<String>) -> Result<i32, Unrunnable> {
    if !args.wait.is_zero() {
        return Err(Unrunnable("--wait applies to one cluster; run it per context".into()));
    }
    let progress = Progress::new(&contexts, args.verbose == 0);
    let reports: Vec<Report> = futures::stream::iter(contexts.iter().cloned())
        .map(|c| {
            let args = args.clone();
            let progress = &progress;
            async move {
                let r = run_one(args, c.clone()).await;
                progress.done(&c, r.summary.status);
                r
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    progress.clear();
    let to_terminal = args.output_file.is_none() && std::io::stdout().is_terminal();
    let text = render(&args, &reports, to_terminal);
    pipeline::emit(&args, &text)?;
    Ok(exit_code(&args, &reports))
}

/// Exit code over all clusters: the single-cluster code of each, and 1 (a failure) wins over any other.
pub fn exit_code(args: &DoctorArgs, reports: &[Report]) -> i32 {
    if args.output == Output::Nagios {
        let codes: Vec<i32> = reports.iter().map(report::nagios::exit_code).collect();
        return nagios_worst(&codes);
    }
    // The contract's rule for one cluster, taken over all of them (1 over 3 over 0).
    report::exit_code(reports.iter().map(|r| &r.summary), args.fail_on)
}

/// Nagios' order of badness as veldr uses it for one cluster: CRITICAL, then UNKNOWN, then WARNING.
fn nagios_worst(codes: &[i32]) -> i32 {
    let rank = |c: i32| match c {
        2 => 3,
        3 => 2,
        1 => 1,
        _ => 0,
    };
    codes.iter().copied().max_by_key(|c| rank(*c)).unwrap_or(0)
}

pub fn render(args: &DoctorArgs, reports: &[Report], to_terminal: bool) -> String {
    let colour_on = pipeline::colour_on(args.color, to_terminal);
    let width = Some(crate::util::term::columns(args.output_file.is_some()));
    match args.output {
        Output::Json => {
            let mut s = serde_json::to_string_pretty(&FleetReport::of(reports.to_vec())).expect("a report always serializes");
            s.push('\n');
            s
        }
        Output::Prometheus => prometheus(reports),
        Output::Nagios => nagios(reports),
        Output::Table => table(reports, colour_on, width),
        // Each report's Markdown opens with a heading naming its context: they follow one another.
        Output::Markdown => reports.iter().map(report::markdown::render).collect::<Vec<_>>().join("\n"),
        Output::Junit => {
            let named: Vec<(&str, &Report)> = reports.iter().map(|r| (r.target.context.as_deref().unwrap_or("-"), r)).collect();
            report::junit::render_contexts(&named, args.fail_on)
        }
    }
}

/// Each cluster's table, then one row per context.
fn table(reports: &[Report], colour_on: bool, width: Option<u16>) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&report::table::render(r, colour_on, width));
        out.push('\n');
    }
    out.push_str(&summary_table(&FleetReport::of(reports.to_vec())));
    out
}

pub fn summary_table(fleet: &FleetReport) -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(vec!["context", "status", "ok", "warn", "fail", "error", "skip", "failing checks", "duration"]);
    for c in &fleet.summary.contexts {
        let s = &c.checks;
        t.add_row(vec![
            c.context.clone().unwrap_or_else(|| "-".into()),
            s.status.to_string(),
            s.ok.to_string(),
            s.warn.to_string(),
            s.fail.to_string(),
            s.error.to_string(),
            s.skip.to_string(),
            if c.failing.is_empty() { "-".into() } else { c.failing.join(", ") },
            format!("{:.1} s", c.duration_ms as f64 / 1000.0),
        ]);
    }
    let s = &fleet.summary.checks;
    format!(
        "Fleet: {} contexts · {}\n{t}\n{} ok, {} warn, {} fail, {} error, {} skipped over all clusters\n",
        fleet.summary.contexts.len(),
        s.status,
        s.ok,
        s.warn,
        s.fail,
        s.error,
        s.skip
    )
}

/// Every series of every cluster's exposition, labelled `context`, each metric family (HELP, TYPE,
/// samples) once: the exposition format forbids a family split in two.
fn prometheus(reports: &[Report]) -> String {
    let mut families: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for r in reports {
        let context = r.target.context.as_deref().unwrap_or("");
        let label = format!("context=\"{}\"", context.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"));
        let mut current: Option<usize> = None;
        for line in report::prometheus::render(r, true).lines() {
            if let Some(rest) = line.strip_prefix("# HELP ").or_else(|| line.strip_prefix("# TYPE ")) {
                let name = rest.split_whitespace().next().unwrap_or_default().to_string();
                let i = match families.iter().position(|f| f.0 == name) {
                    Some(i) => i,
                    None => {
                        families.push((name, Vec::new(), Vec::new()));
                        families.len() - 1
                    }
                };
                if !families[i].1.iter().any(|h| h == line) {
                    families[i].1.push(line.to_string());
                }
                current = Some(i);
            } else if let Some(i) = current.filter(|_| !line.is_empty() && !line.starts_with('#')) {
                families[i].2.push(add_label(line, &label));
            }
        }
    }
    let mut o = String::new();
    for (_, head, samples) in families {
        for l in head.iter().chain(samples.iter()) {
            o.push_str(l);
            o.push('\n');
        }
    }
    o
}

/// `name{a="b"} 1` → `name{context="x",a="b"} 1`; `name 1` → `name{context="x"} 1`.
fn add_label(sample: &str, label: &str) -> String {
    match sample.find(['{', ' ']) {
        Some(i) if sample[i..].starts_with("{}") => format!("{}{{{label}}}{}", &sample[..i], &sample[i + 2..]),
        Some(i) if sample[i..].starts_with('{') => format!("{}{{{label},{}", &sample[..i], &sample[i + 1..]),
        Some(i) => format!("{}{{{label}}}{}", &sample[..i], &sample[i..]),
        None => sample.to_string(),
    }
}

/// The worst cluster's state, naming the clusters that are not OK; then each problem line prefixed
/// with its context.
fn nagios(reports: &[Report]) -> String {
    let codes: Vec<i32> = reports.iter().map(report::nagios::exit_code).collect();
    let worst = nagios_worst(&codes);
    let state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][worst as usize];
    let bad: Vec<String> = reports
        .iter()
        .zip(&codes)
        .filter(|(_, c)| **c != 0)
        .map(|(r, c)| format!("{} {}", r.target.context.as_deref().unwrap_or("-"), ["ok", "warning", "critical", "unknown"][*c as usize]))
        .collect();
    let mut head = format!("VELDR {state} - {} clusters", reports.len());
    if bad.is_empty() {
        head.push_str(" ok");
    } else {
        let names = format!(": {}", bad.join(", "));
        // The first line stays under 80 characters before `|`; the rest is on the following lines.
        if head.len() + names.len() < 80 {
            head.push_str(&names);
        } else {
            head.push_str(&format!(", {} not ok", bad.len()));
        }
    }
    let total = FleetReport::of(reports.to_vec()).summary.checks;
    let mut o = format!("{head} | failed={};;1 errors={} warnings={} ok={} skipped={}\n", total.fail, total.error, total.warn, total.ok, total.skip);
    for r in reports {
        let context = r.target.context.as_deref().unwrap_or("-");
        for line in report::nagios::render(r).lines().skip(1) {
            o.push_str(&format!("{context}: {line}\n"));
        }
    }
    o
}

/// The per-context progress line on a terminal: which clusters are done, which are still read.
struct Progress {
    enabled: bool,
    state: std::sync::Mutex<Vec<(String, Option<Status>)>>,
}

impl Progress {
    fn new(contexts: &[String], enabled: bool) -> Progress {
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let enabled = enabled && !dumb && std::io::stderr().is_terminal();
        if enabled {
            eprint!("veldr: reading {} contexts ({} at once) …", contexts.len(), CONCURRENCY.min(contexts.len()));
        }
        Progress { enabled, state: std::sync::Mutex::new(contexts.iter().map(|c| (c.clone(), None)).collect()) }
    }

    fn done(&self, context: &str, status: Status) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = state.iter_mut().find(|(c, _)| c == context) {
            slot.1 = Some(status);
        }
        if !self.enabled {
            return;
        }
        let finished = state.iter().filter(|(_, s)| s.is_some()).count();
        let pending: Vec<&str> = state.iter().filter(|(_, s)| s.is_none()).map(|(c, _)| c.as_str()).collect();
        let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).unwrap_or(80).max(20) - 1;
        let line = format!("veldr: {finished}/{} contexts done ({context}: {status}); reading {}", state.len(), pending.join(", "));
        let line: String = line.chars().take(width).collect();
        eprint!("\r\x1b[2K{line}");
    }

    fn clear(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names_per_context() {
        assert_eq!(bundle_path(Path::new("/tmp/fleet.json"), "prod"), PathBuf::from("/tmp/fleet.prod.json"));
        assert_eq!(bundle_path(Path::new("b"), "arn:aws:eks:eu-1:1:cluster/x"), PathBuf::from("b.arn_aws_eks_eu-1_1_cluster_x"));
    }

    #[test]
    fn labels_every_sample() {
        assert_eq!(add_label("veldr_up 1", "context=\"a\""), "veldr_up{context=\"a\"} 1");
        assert_eq!(add_label("m{check=\"x\"} 2", "context=\"a\""), "m{context=\"a\",check=\"x\"} 2");
    }

    #[test]
    fn nagios_worst_is_critical_then_unknown_then_warning() {
        assert_eq!(nagios_worst(&[0, 1, 3]), 3);
        assert_eq!(nagios_worst(&[3, 2, 1]), 2);
        assert_eq!(nagios_worst(&[0, 1]), 1);
        assert_eq!(nagios_worst(&[]), 0);
    }
}
