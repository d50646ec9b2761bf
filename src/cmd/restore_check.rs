//! `veldr restore-check backup/NAME`: against the cluster you would restore INTO, what a
//! `velero restore create --from-backup NAME` would trip on, without restoring (CONTRACT.md
//! "Additions in 0.3"). The pipeline with restore-check's registry (`Suite::RestoreCheck`): gather
//! (the doctor's reads that the restore checks need, plus `collect::restore`) → judge → report, in
//! every output format, with the doctor's exit codes; a fleet with `--context A --context B`; a
//! bundle with `--save-bundle`/`--record`, replayed with `--from-bundle`. Read-only: GETs and lists.

use crate::checks::{Suite, RESTORE_CHECK_REGISTRY};
use crate::cli::{DoctorArgs, RestoreCheckArgs};
use crate::collect::restore::RestoreAsk;
use crate::collect::{self, IoTimes};
use crate::facts::Facts;
use crate::model::{CheckResult, Verdict};
use crate::pipeline::judge::{self, Selection};
use crate::pipeline::{self, Unrunnable};
use crate::report::{self, Report, Summary};
use futures::StreamExt;
use std::time::Instant;

/// `backup/NAME` (also `backups/NAME`, `backup.velero.io/NAME`) → NAME.
pub fn backup_name(target: &str) -> Result<String, Unrunnable> {
    let bad = || Unrunnable(format!("{target:?}: say backup/NAME (the Backup to restore)"));
    let (kind, name) = target.split_once('/').ok_or_else(bad)?;
    if name.is_empty() || name.contains('/') || !matches!(kind, "backup" | "backups" | "backup.velero.io") {
        return Err(bad());
    }
    Ok(name.to_string())
}

/// restore-check's registry with `--only`/`--skip`.
pub fn selection(args: &DoctorArgs) -> Selection {
    Selection { only: args.only.clone(), skip: args.skip.clone(), suite: Suite::RestoreCheck }
}

/// `veldr restore-check`.
pub async fn run(args: RestoreCheckArgs) -> Result<i32, Unrunnable> {
    let backup = backup_name(&args.target)?;
    let d = &args.doctor;
    selection(d).validate().map_err(|e| Unrunnable(format!("{e}: restore-check's checks are {}", ids())))?;
    if !d.wait.is_zero() {
        return Err(Unrunnable("--wait applies to `veldr doctor`; run restore-check again instead".into()));
    }
    if d.insecure {
        eprintln!("veldr: warning: --insecure: TLS certificates of Keystone and Swift are NOT verified in this run");
    }
    if let Some(contexts) = super::fleet::contexts(d)? {
        return fleet(&args, &backup, contexts).await;
    }
    let started = Instant::now();
    let (facts, io) = pipeline::with_progress(d.verbose == 0, gather(&args, &backup, d)).await?;
    let report = pipeline::judge_report(&selection(d), &d.bsl, &facts, &io, started);
    pipeline::finish(d, &report)
}

fn ids() -> String {
    RESTORE_CHECK_REGISTRY.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
}

/// The facts: from a bundle recorded by restore-check for this backup, or read.
async fn gather(args: &RestoreCheckArgs, backup: &str, d: &DoctorArgs) -> Result<(Facts, IoTimes), Unrunnable> {
    let (facts, io) = match &d.from_bundle {
        Some(path) => {
            let facts = crate::facts::bundle::load(path).map_err(|e| Unrunnable(e.to_string()))?;
            match &facts.restore {
                None => return Err(Unrunnable(format!("{} is a doctor bundle: record one with `veldr restore-check backup/{backup} --record PATH`", path.display()))),
                Some(r) if r.backup != backup => {
                    return Err(Unrunnable(format!("{} was recorded for backup/{}, not backup/{backup}", path.display(), r.backup)));
                }
                Some(_) => {}
            }
            (facts, IoTimes::default())
        }
        None => {
            let mut opts = d.collect_options_for(&selection(d));
            opts.restore = Some(RestoreAsk { backup: backup.to_string(), archive_limit: args.max_archive_bytes });
            collect::collect(&opts).await.map_err(|e| Unrunnable(e.to_string()))?
        }
    };
    if let Some(path) = &d.save_bundle {
        crate::facts::bundle::save(path, &facts).map_err(|e| Unrunnable(e.to_string()))?;
    }
    Ok((facts, io))
}

/// "Can each DR cluster restore it?": one restore-check per context, concurrently, rendered as the
/// doctor's fleet is.
async fn fleet(args: &RestoreCheckArgs, backup: &str, contexts: Vec<String>) -> Result<i32, Unrunnable> {
    let d = &args.doctor;
    let reports: Vec<Report> = futures::stream::iter(contexts.into_iter())
        .map(|context| async move {
            let started = Instant::now();
            let mut one = args.clone();
            one.doctor.contexts = vec![context.clone()];
            one.doctor.all_contexts = false;
            one.doctor.save_bundle = d.save_bundle.as_deref().map(|p| super::fleet::bundle_path(p, &context));
            match gather(&one, backup, &one.doctor).await {
                Ok((facts, io)) => pipeline::judge_report(&selection(d), &d.bsl, &facts, &io, started),
                Err(e) => unconfigurable(&one.doctor, &context, &e.0, started),
            }
        })
        .buffered(super::fleet::CONCURRENCY)
        .collect()
        .await;
    let text = super::fleet::render(d, &reports, pipeline::to_terminal(d));
    pipeline::emit(d, &text)?;
    Ok(super::fleet::exit_code(d, &reports))
}

/// The report of a context that could not be configured: restore.backup fails with the reason, the
/// checks that depend on it are skipped because of it.
fn unconfigurable(d: &DoctorArgs, context: &str, reason: &str, started: Instant) -> Report {
    let verdict = Verdict::fail(format!("context {context}: {reason}")).hint(format!("`kubectl --context {context} version` shows the same problem; fix the kubeconfig entry"));
    let checks: Vec<CheckResult> = judge::could_not_connect(&selection(d), verdict);
    let ns = crate::collect::namespace::from_process(d.cluster.namespace.as_deref());
    let target = crate::facts::Target {
        context: Some(context.to_string()),
        server: None,
        namespace: ns.as_ref().map_or_else(|| crate::collect::namespace::DEFAULT.to_string(), |n| n.namespace.clone()),
        namespace_source: ns.map(|n| n.source),
    };
    Report {
        schema_version: report::SCHEMA_VERSION,
        veldr: env!("CARGO_PKG_VERSION").to_string(),
        started_at: jiff::Timestamp::now(),
        duration_ms: started.elapsed().as_millis() as u64,
        target,
        summary: Summary::of(&checks),
        checks,
    }
}

/// The whole registry over one set of facts (every check selected).
pub fn judge(facts: &Facts) -> Vec<CheckResult> {
    judge::judge(facts, &Selection { suite: Suite::RestoreCheck, ..Default::default() }, &[], &IoTimes::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    #[test]
    fn only_a_backup_is_a_target() {
        assert_eq!(backup_name("backup/daily-1").unwrap(), "daily-1");
        assert_eq!(backup_name("backups/daily-1").unwrap(), "daily-1");
        for bad in ["daily-1", "backup/", "restore/r1", "backup/a/b"] {
            assert!(backup_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_registry_judges_a_ready_cluster_ok() {
        let checks = judge(&crate::checks::restore::fixture::ready());
        assert_eq!(checks.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["restore.backup", "restore.api", "restore.storage", "restore.conflicts"]);
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
    }
}
