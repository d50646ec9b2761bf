//! `veldr doctor`: one cluster (or a fleet, `cmd::fleet`) through the pipeline, then `--wait`.

use crate::cli::DoctorArgs;
use crate::pipeline::{build_report, emit, exit_code, gather, render, with_progress, Unrunnable};
use crate::report::{Report, Summary};
use std::time::Instant;

/// `veldr doctor`.
pub async fn doctor(args: DoctorArgs) -> Result<i32, Unrunnable> {
    args.selection().validate().map_err(|e| Unrunnable(e.to_string()))?;
    if args.insecure {
        eprintln!("veldr: warning: --insecure: TLS certificates of Keystone and Swift are NOT verified in this run");
    }
    if let Some(contexts) = crate::cmd::fleet::contexts(&args)? {
        return crate::cmd::fleet::doctor(args, contexts).await;
    }
    let started = Instant::now();
    let (facts, io) = with_progress(args.verbose == 0, gather(&args, None)).await?;
    let mut report = build_report(&args, &facts, &io, started);
    if !args.wait.is_zero() && args.from_bundle.is_none() {
        report = wait_for_fixes(&args, report, started).await?;
    }
    let text = render(&args, &report);
    emit(&args, &text)?;
    Ok(exit_code(&args, &report))
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
        let (facts, io) = with_progress(args.verbose == 0, gather(&again, None)).await?;
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

