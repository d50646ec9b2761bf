//! Judging: runs every check of a registry over the facts, in registry order, applying dependencies
//! and the `--only`/`--skip` selection. Pure: the same facts give the same results.

use crate::checks::{CheckDef, Ctx, Objects, Suite, Timing};
use crate::collect::IoTimes;
use crate::facts::{Facts, Need};
use crate::model::{Category, CheckResult, Status, Verdict};
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// Which checks to run, from `--only` and `--skip` (ids or category names).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub skip: Vec<String>,
    /// The registry judged (doctor's unless a command says otherwise).
    pub suite: Suite,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown check or category {0:?} (see `veldr checks`)")]
pub struct UnknownCheck(pub String);

impl Selection {
    /// Rejects names that are neither a check id nor a category.
    pub fn validate(&self) -> Result<(), UnknownCheck> {
        for name in self.only.iter().chain(&self.skip) {
            if !self.registry().any(|c| c.id == name) && Category::parse(name).is_none() {
                return Err(UnknownCheck(name.clone()));
            }
        }
        Ok(())
    }

    /// The checks of the judged registry, in report order.
    pub fn registry(&self) -> impl DoubleEndedIterator<Item = &'static CheckDef> + Clone {
        self.suite.checks()
    }

    fn matches(name: &str, id: &str, category: Category) -> bool {
        name == id || name == category.as_str()
    }

    /// The ids that will be judged: `--only` plus what they depend on, less `--skip`.
    pub fn selected(&self) -> BTreeSet<&'static str> {
        let mut set: BTreeSet<&'static str> = self
            .registry()
            .filter(|c| self.only.is_empty() || self.only.iter().any(|n| Self::matches(n, c.id, c.category)))
            .map(|c| c.id)
            .collect();
        // Dependencies of what was asked for are judged too, so a skip can say why.
        for c in self.registry().rev() {
            if set.contains(c.id) {
                set.extend(c.depends_on.iter().copied());
            }
        }
        for c in self.registry() {
            if self.skip.iter().any(|n| Self::matches(n, c.id, c.category)) {
                set.remove(c.id);
            }
        }
        set
    }

    /// The facts the selected checks need: collect reads these and nothing else.
    pub fn needs(&self) -> BTreeSet<Need> {
        let selected = self.selected();
        // A check whose dependency is not judged ends `skip` without reading its facts (`judge`):
        // reading them would be wasted I/O (`--skip openstack` left backup.failures asking Swift for
        // results). Dependencies come first in the registry (tested), so one pass settles it.
        let mut judged: BTreeSet<&str> = BTreeSet::new();
        for c in self.registry() {
            if selected.contains(c.id) && c.depends_on.iter().all(|d| judged.contains(d)) {
                judged.insert(c.id);
            }
        }
        // Checks that judge the cluster and read Swift beside it (backup.coverage, backup.inventory)
        // do not make veldr talk to OpenStack when the selection leaves Swift out (`--skip openstack`):
        // their Swift reads follow swift.container's.
        let container = &crate::checks::swift::container::CHECK;
        let swift_skipped = self.skip.iter().any(|n| Self::matches(n, container.id, container.category));
        self.registry()
            .filter(|c| judged.contains(c.id))
            .flat_map(|c| c.needs.iter().copied())
            .filter(|n| !(swift_skipped && n.through_swift()))
            .collect()
    }
}

/// Judges every check. `io` adds the time collection spent on a check's reads (the slowest of the
/// facts it needs, which were read concurrently), where known.
pub fn judge(facts: &Facts, selection: &Selection, bsl_filter: &[String], io: &IoTimes) -> Vec<CheckResult> {
    let ctx = Ctx::new(facts, bsl_filter);
    let selected = selection.selected();
    let mut statuses: HashMap<&str, Status> = HashMap::new();
    let mut out = Vec::new();
    for def in selection.registry() {
        let started = Instant::now();
        let is_selected = selected.contains(def.id);
        let verdict = if !is_selected {
            Verdict::skip("not selected (--only/--skip)")
        } else if let Some((dep, st)) = def
            .depends_on
            .iter()
            .filter_map(|d| statuses.get(d).map(|s| (*d, *s)))
            .find(|(_, s)| !matches!(s, Status::Ok | Status::Warn))
        {
            Verdict::skip(format!("skipped: {dep} did not pass ({st})"))
        } else {
            verdict_of(def, &ctx)
        };
        let verdict = bounded(verdict);
        statuses.insert(def.id, verdict.status);
        let judge_ms = started.elapsed().as_millis() as u64;
        let by_needs = || def.needs.iter().filter_map(|n| io.by_need.get(n)).copied().max().unwrap_or(io.api_server_ms);
        let io_ms = match def.timed_by {
            Timing::Needs => by_needs(),
            Timing::Restore => io.restore_ms,
            Timing::Kube => io.kube_ms,
            Timing::OpenStack(read) => io.openstack.get(&read).copied().unwrap_or_else(by_needs),
        };
        out.push(result(def, verdict, judge_ms + if is_selected { io_ms } else { 0 }, is_selected));
    }
    out
}

/// One check's verdict as the engine gives it: its judge, then the engine's policies (malformed
/// objects, bounds). A judge that panics does not take the report down with it.
pub fn verdict_of(def: &CheckDef, ctx: &Ctx) -> Verdict {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (def.judge)(ctx))) {
        Ok(v) => bounded(flag_malformed(def, ctx, v)),
        Err(_) => Verdict::error("veldr failed while judging this check (a bug: please report it with the bundle)"),
    }
}

/// Malformed objects named in a check's details, at most (the rest are counted).
pub const MALFORMED_NAMED: usize = 10;

/// The engine's malformed policy, the same for every check: the objects of the kinds a check needs
/// that did not decode (in the Velero namespace for the kinds veldr reads there, of the `--bsl`
/// selection for BSLs, Deployments while Velero's is not found) are named in its details; unless the check only consults that kind, a verdict
/// that found nothing wrong (`ok`, or `skip` for want of something to judge) becomes `warn`, since the
/// object veldr could not read may be the broken one, unless the judge marked its conclusion
/// [`Verdict::certain`] (no object, read or not, can change it).
fn flag_malformed(def: &CheckDef, ctx: &Ctx, v: Verdict) -> Verdict {
    if def.objects == Objects::NotJudged {
        return v;
    }
    let ns = ctx.namespace();
    let mut named = Vec::new();
    let mut degrading = false;
    for need in def.needs {
        let Some(malformed) = ctx.facts.kube.malformed(*need) else { continue };
        // Deployments are read to find Velero's: one that did not decode matters while Velero's is
        // not found (it may be the one).
        if *need == Need::Deployments && ctx.velero_deployment().is_some() {
            continue;
        }
        let relevant = malformed.iter().filter(|m| {
            let here = !need.in_velero_namespace() || m.namespace.as_deref().is_none_or(|n| n == ns);
            let selected = *need != Need::BackupStorageLocations
                || ctx.bsl_filter.is_empty()
                || m.name.as_ref().is_some_and(|n| ctx.bsl_filter.contains(n));
            here && selected
        });
        for m in relevant {
            degrading |= !def.consults.contains(need);
            named.push(m.describe());
        }
    }
    if named.is_empty() {
        return v;
    }
    let n = named.len();
    let mut v = v.details(crate::checks::findings::capped(named, MALFORMED_NAMED, "malformed objects"));
    if degrading && !v.certain && matches!(v.status, Status::Ok | Status::Skip) {
        v.status = Status::Warn;
        v.summary = format!("{} — but {} could not be read, so this may miss a problem", v.summary, crate::checks::findings::plural(n, "object"));
    }
    v
}

/// A summary is one line of at most this many characters, in every format.
pub const SUMMARY_MAX_CHARS: usize = 300;
/// Details are at most this many lines ("… and N more" last).
pub const DETAILS_MAX_LINES: usize = 50;
/// A detail line or a hint is cut at this many characters.
pub const LINE_MAX_CHARS: usize = 1000;

/// The engine's bounds, whatever a judge wrote and however large the cluster: the summary on one line
/// of at most [`SUMMARY_MAX_CHARS`], at most [`DETAILS_MAX_LINES`] details of at most
/// [`LINE_MAX_CHARS`] each (a cut summary's whole text is the first), the hint at most
/// [`LINE_MAX_CHARS`] × 4. Checks say what matters first;
/// this is the net under them, not their way of being brief.
pub fn bounded(mut v: Verdict) -> Verdict {
    let whole = one_line(&v.summary);
    v.summary = cut(&whole, SUMMARY_MAX_CHARS);
    // A cut summary loses nothing: its whole text leads the details.
    if v.summary != whole {
        v.details.insert(0, whole);
    }
    let lines: Vec<String> = std::mem::take(&mut v.details).iter().flat_map(|d| d.lines().map(str::to_string).collect::<Vec<_>>()).collect();
    v.details = crate::checks::findings::capped(lines.into_iter().map(|l| cut(&l, LINE_MAX_CHARS)).collect(), DETAILS_MAX_LINES - 1, "lines");
    v.hint = v.hint.map(|h| cut(&h, LINE_MAX_CHARS * 4));
    v
}

fn one_line(s: &str) -> String {
    if s.contains(['\n', '\r']) {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        s.to_string()
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// A check's row in the report.
fn result(def: &CheckDef, verdict: Verdict, duration_ms: u64, selected: bool) -> CheckResult {
    CheckResult {
        id: def.id.to_string(),
        category: def.category,
        title: def.title.to_string(),
        status: verdict.status,
        summary: verdict.summary,
        details: verdict.details,
        hint: verdict.hint,
        runbook: format!("veldr explain {}", def.id),
        duration_ms,
        evidence: verdict.evidence,
        metrics: verdict.metrics,
        selected,
    }
}

/// The results of a run that could not connect at all: the registry's first check (the connection:
/// `kube.connect` for the doctor) ends with `verdict`, every other one is skipped because of it.
pub fn could_not_connect(selection: &Selection, verdict: Verdict) -> Vec<CheckResult> {
    let mut checks = selection.registry();
    let Some(first) = checks.next() else { return Vec::new() };
    let reason = format!("skipped: {} did not pass ({})", first.id, verdict.status);
    let mut out = vec![result(first, verdict, 0, true)];
    out.extend(checks.map(|def| result(def, Verdict::skip(reason.clone()), 0, true)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_is_bounded_and_a_cut_summary_loses_nothing() {
        let long = format!("the last backup failed: {} but got 413 instead", "wrapped: ".repeat(60));
        let v = bounded(Verdict::fail(format!("{long}\nsecond line")).details((0..500).map(|i| format!("line {i}"))).hint("h".repeat(10_000)));
        assert!(v.summary.chars().count() <= SUMMARY_MAX_CHARS && !v.summary.contains('\n'), "{}", v.summary);
        assert!(v.details[0].ends_with("got 413 instead second line"), "the whole summary leads the details: {}", v.details[0]);
        assert_eq!(v.details.len(), DETAILS_MAX_LINES);
        assert_eq!(v.details.last().unwrap(), "… and 452 more lines");
        assert!(v.hint.unwrap().chars().count() <= LINE_MAX_CHARS * 4);
        let short = bounded(Verdict::ok("fine").detail("a\nb"));
        assert_eq!((short.summary.as_str(), short.details), ("fine", vec!["a".to_string(), "b".to_string()]));
    }
    use crate::facts::OpenStackRead;

    #[test]
    fn a_check_whose_dependency_is_skipped_reads_nothing() {
        let skip = |names: &[&str]| Selection { skip: names.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        assert!(Selection::default().needs().contains(&Need::BackupResults));
        // backup.failures depends on swift.container (category openstack): skipped, so are its reads.
        assert!(!skip(&["openstack"]).needs().contains(&Need::BackupResults));
        assert!(!skip(&["swift.container"]).needs().contains(&Need::BackupResults));
        assert!(skip(&["openstack"]).needs().contains(&Need::Backups), "backup.recent still reads the Backups");
        // velero.operations reads the failed restores' results for itself, not through backup.failures.
        let only = |names: &[&str]| Selection { only: names.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        assert!(only(&["velero.operations"]).needs().contains(&Need::RestoreResults));
        assert!(!only(&["velero.operations"]).needs().contains(&Need::BackupResults));
        assert!(!skip(&["openstack"]).needs().contains(&Need::RestoreResults), "--skip openstack asks Swift nothing");
    }

    #[test]
    fn reads_through_swift_follow_swift_container() {
        let skip = |names: &[&str]| Selection { skip: names.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        let only = |names: &[&str]| Selection { only: names.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        if !crate::checks::REGISTRY.iter().any(|c| c.needs.contains(&Need::NewestBackups)) {
            return;
        }
        assert!(Selection::default().needs().contains(&Need::NewestBackups));
        for s in [skip(&["openstack"]), skip(&["swift.container"])] {
            let needs = s.needs();
            assert!(!needs.contains(&Need::NewestBackups) && !needs.contains(&Need::OpenStack), "{s:?}: {needs:?}");
        }
        // Asked for alone, such a check still reads Swift.
        assert!(only(&["backup.inventory"]).needs().contains(&Need::NewestBackups));
    }

    #[test]
    fn a_check_is_timed_by_the_read_it_is_about() {
        let facts = Facts::empty("velero");
        let mut io = IoTimes { api_server_ms: 1_000, kube_ms: 2_000, ..Default::default() };
        io.by_need.insert(Need::OpenStack, 9_000);
        io.by_need.insert(Need::Backups, 4_000);
        io.openstack.insert(OpenStackRead::Token, 3_000);
        io.openstack.insert(OpenStackRead::Probe, 5_000);
        let results = judge(&facts, &Selection::default(), &[], &io);
        // Judging takes far less than a second: the thousands say which read was counted.
        let secs = |id: &str| results.iter().find(|c| c.id == id).unwrap().duration_ms / 1_000;
        assert_eq!(secs("kube.connect"), 2, "the Kubernetes phase");
        assert_eq!(secs("keystone.auth"), 3, "the token");
        assert_eq!(secs("swift.tempurl"), 5, "the probe");
        assert_eq!(secs("swift.container"), 9, "no container read timed: the OpenStack phase");
        assert_eq!(secs("backup.recent"), 4, "the slowest of its needs");
        let unselected = judge(&facts, &Selection { only: vec!["kube.connect".into()], skip: vec![], ..Default::default() }, &[], &io);
        assert_eq!(unselected.iter().find(|c| c.id == "backup.recent").unwrap().duration_ms, 0, "not run, not timed");
    }
}
