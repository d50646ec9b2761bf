//! The check registry. Each check lives in its own file, `src/checks/<area>/<name>.rs` for the id
//! `<area>.<name>`, holding its metadata ([`CheckDef`]: id, category, title, severity, dependencies,
//! the facts it needs, the metrics it exports), its judge and its unit tests; its runbook page is
//! `checks/<id>.md`. [`REGISTRY`] lists them in report order; `veldr checks`, `veldr explain`, the
//! reports, collect (through [`CheckDef::needs`]) and the tests all read from it.
//! `scripts/new-check ID` adds a check.

pub mod ctx;
pub mod findings;
pub mod telltales;
#[cfg(test)]
pub mod testing;
pub mod backup;
pub mod bsl;
pub mod credentials;
pub mod csi;
pub mod keystone;
pub mod kube;
pub mod nodeagent;
pub mod restore;
pub mod swift;
pub mod velero;
pub mod verify;
pub mod vsl;

pub use ctx::Ctx;

use crate::facts::{Need, OpenStackRead, ReadError};
use crate::model::{Category, MetricDef, Severity, Verdict};

/// A judge: a pure function from the collected facts to a verdict.
pub type Judge = fn(&Ctx) -> Verdict;

pub struct CheckDef {
    pub id: &'static str,
    pub category: Category,
    pub title: &'static str,
    pub severity: Severity,
    /// Checks that must pass (ok or warn) for this one to be judged; otherwise it is skipped.
    pub depends_on: &'static [&'static str],
    /// The facts collect must gather for this check (the API server's version is always read).
    pub needs: &'static [Need],
    /// Whether the check judges the objects it needs (almost all do; kube.rbac judges the reads).
    pub objects: Objects,
    /// Of `needs`, the kinds the check only looks things up in: their objects that did not decode are
    /// named in its details but do not turn an `ok` into a `warn` (the engine's malformed policy).
    pub consults: &'static [Need],
    /// The gauges this check exports to Prometheus (values set by the judge with `Verdict::metric`).
    pub metrics: &'static [MetricDef],
    /// The Velero messages and log lines this check explains ([`telltales`]).
    pub explains: &'static [telltales::Telltale],
    /// Which read's time its `durationMs` includes (besides judging).
    pub timed_by: Timing,
    pub judge: Judge,
    /// The runbook page (`checks/<id>.md`), embedded at build time.
    pub page: &'static str,
}

/// Whether a check judges the objects of the kinds it needs, for the engine's malformed policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects {
    /// A malformed object of a kind it needs is named in its details; unless the kind is one it only
    /// `consults`, an `ok` (or a `skip` for want of something to judge) becomes `warn`.
    Judged,
    /// It judges how the reads went, not what they returned.
    NotJudged,
}

/// Which read a check's `durationMs` includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// The slowest of the facts it `needs` (they are read concurrently).
    Needs,
    /// The whole Kubernetes phase (reaching the API server is what the check is about).
    Kube,
    /// One OpenStack read, the one the check is about.
    OpenStack(OpenStackRead),
    /// restore-check's reads (discovery, the backup's objects in Swift, the existing items).
    Restore,
}

/// Declares a check in its own file:
///
/// ```ignore
/// pub const CHECK: CheckDef = check! {
///     id: "kube.connect", category: Cluster, severity: Critical,
///     title: "Kubernetes API reachable",
///     depends_on: [], needs: [], judge: judge,
/// };
/// ```
/// After `needs`, in this order, each optional:
/// - `objects: not_judged`: the check reads how the reads went, not the objects (kube.rbac): the
///   engine's malformed policy leaves it alone;
/// - `consults: [Need, …]`: needs whose malformed objects the engine only notes (the check looks things
///   up there; it does not judge them), see [`CheckDef::consults`];
/// - `metrics: [MetricDef, …]`;
/// - `explains: [["needle", …] => "why", …]`: Velero messages and log lines this check explains
///   (every needle must appear, case-insensitive): the registry builds the table from them
///   ([`telltales::explain`]);
/// - `timed_by: Kube` (see [`Timing`]; default `Needs`).
///
/// The runbook page `checks/<id>.md` is embedded.
#[macro_export]
macro_rules! check {
    (id: $id:literal, category: $cat:ident, severity: $sev:ident, title: $title:literal,
     depends_on: [$($dep:literal),* $(,)?], needs: [$($need:ident),* $(,)?],
     $(objects: $objects:ident,)?
     $(consults: [$($consult:ident),* $(,)?],)?
     $(metrics: [$($metric:expr),* $(,)?],)?
     $(explains: [$([$($needle:literal),+ $(,)?] => $why:literal),* $(,)?],)?
     $(timed_by: $timing:expr,)? judge: $judge:path $(,)?) => {
        $crate::checks::CheckDef {
            id: $id,
            category: $crate::model::Category::$cat,
            title: $title,
            severity: $crate::model::Severity::$sev,
            depends_on: &[$($dep),*],
            needs: &[$($crate::facts::Need::$need),*],
            objects: $crate::check!(@objects $($objects)?),
            consults: &[$($($crate::facts::Need::$consult),*)?],
            metrics: &[$($($metric),*)?],
            explains: &[$($($crate::checks::telltales::Telltale { needles: &[$($needle),+], why: $why }),*)?],
            timed_by: $crate::check!(@timing $($timing)?),
            judge: $judge,
            page: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/checks/", $id, ".md")),
        }
    };
    (@objects) => { $crate::checks::Objects::Judged };
    (@objects not_judged) => { $crate::checks::Objects::NotJudged };
    (@timing) => { $crate::checks::Timing::Needs };
    (@timing $timing:expr) => {{
        #[allow(unused_imports)]
        use $crate::checks::Timing::*;
        #[allow(unused_imports)]
        use $crate::facts::OpenStackRead::*;
        $timing
    }};
}

/// Every check, in report order. Ids are stable public names (CONTRACT.md).
pub static REGISTRY: &[CheckDef] = &[
    kube::connect::CHECK,
    kube::crds::CHECK,
    kube::rbac::CHECK,
    velero::deployment::CHECK,
    velero::plugin::CHECK,
    velero::features::CHECK,
    velero::fs_backup::CHECK,
    credentials::env::CHECK,
    credentials::fresh::CHECK,
    bsl::phase::CHECK,
    bsl::config::CHECK,
    vsl::config::CHECK,
    csi::snapshot_class::CHECK,
    csi::driver::CHECK,
    nodeagent::pss::CHECK,
    keystone::auth::CHECK,
    keystone::catalog::CHECK,
    swift::container::CHECK,
    swift::tempurl_digest::CHECK,
    swift::tempurl_key::CHECK,
    swift::tempurl::CHECK,
    swift::clock::CHECK,
    backup::recent::CHECK,
    backup::failures::CHECK,
    velero::operations::CHECK,
    csi::snapshot_limit::CHECK,
    csi::snapshots::CHECK,
    credentials::tls::CHECK,
    swift::capacity::CHECK,
    velero::crds::CHECK,
    velero::logs::CHECK,
    // new checks: append above this line (scripts/new-check)
];

/// `veldr restore-check`'s checks, in report order (CONTRACT.md "Additions in 0.3").
pub static RESTORE_CHECK_REGISTRY: &[CheckDef] = &[
    restore::backup::CHECK,
    restore::api::CHECK,
    restore::storage::CHECK,
    restore::conflicts::CHECK,
    // restore-check's checks: append above this line
];

/// `veldr verify`'s own checks, appended to the doctor's in its report.
pub static VERIFY_REGISTRY: &[CheckDef] = &[
    verify::backup::CHECK,
    verify::volumes::CHECK,
    verify::objects::CHECK,
    // verify's checks: append above this line
];

/// A registry judged by one command: which checks, in which order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Suite {
    /// `veldr doctor` (and `serve`, fleets): [`REGISTRY`].
    #[default]
    Doctor,
    /// `veldr restore-check`: [`RESTORE_CHECK_REGISTRY`].
    RestoreCheck,
    /// `veldr verify`: the doctor's checks, then [`VERIFY_REGISTRY`].
    Verify,
}

impl Suite {
    pub const ALL: [Suite; 3] = [Suite::Doctor, Suite::RestoreCheck, Suite::Verify];

    /// The command that runs this registry.
    pub fn command(self) -> &'static str {
        match self {
            Suite::Doctor => "doctor",
            Suite::RestoreCheck => "restore-check",
            Suite::Verify => "verify",
        }
    }

    /// Its checks, in report order.
    pub fn checks(self) -> std::iter::Chain<std::slice::Iter<'static, CheckDef>, std::slice::Iter<'static, CheckDef>> {
        match self {
            Suite::Doctor => REGISTRY.iter().chain([].iter()),
            Suite::RestoreCheck => RESTORE_CHECK_REGISTRY.iter().chain([].iter()),
            Suite::Verify => REGISTRY.iter().chain(VERIFY_REGISTRY.iter()),
        }
    }
}

/// Every check of every registry once, each with the command whose registry holds it first.
pub fn all() -> impl Iterator<Item = (Suite, &'static CheckDef)> {
    REGISTRY
        .iter()
        .map(|c| (Suite::Doctor, c))
        .chain(RESTORE_CHECK_REGISTRY.iter().map(|c| (Suite::RestoreCheck, c)))
        .chain(VERIFY_REGISTRY.iter().map(|c| (Suite::Verify, c)))
}

/// Looks a check up by id, in every registry.
pub fn find(id: &str) -> Option<&'static CheckDef> {
    all().map(|(_, c)| c).find(|c| c.id == id)
}


/// The verdict for a check whose input could not be read.
pub fn read_failed(e: &ReadError) -> Verdict {
    Verdict::error(e.explain()).hint(read_hint(e)).evidence("read", e)
}

/// What to grant, set or look at when a read failed, by why it failed.
pub fn read_hint(e: &ReadError) -> String {
    use crate::facts::ReadErrorKind as K;
    let scope = e.namespace.as_deref().map(|n| format!(" in namespace {n}")).unwrap_or_else(|| " cluster-wide".into());
    match e.kind {
        K::Forbidden => format!(
            "grant veldr's identity {} on {}{scope} (deploy/rbac.yaml has the least-privilege rules; `veldr explain kube.rbac`)",
            e.verb, e.resource
        ),
        K::Unauthorized => "the kubeconfig's credentials were refused: refresh them (re-login, renew the token) or pick another --context".into(),
        K::NotServed => format!(
            "install the CRD of {} (Velero's come with `velero install --crds-only` or the Helm chart, the snapshot CRDs with the external-snapshotter)",
            e.resource
        ),
        K::Timeout => "raise --timeout, or check the API server's load and the network path (`kubectl get --raw '/readyz?verbose'`)".into(),
        K::Unreachable => "check the network path to the API server (proxies or load balancers that cut long answers), then run again".into(),
        K::Malformed => "something between veldr and the API server mangled the answer (a proxy, an aggregated API): compare with `kubectl get --raw` on the same path, then run again".into(),
        K::Server => "the API server failed to answer: check its health (`kubectl get --raw '/readyz?verbose'`) and its logs, then run again".into(),
        K::NotAttempted => "fix the read it depends on (see the other errors), then run again".into(),
        K::NotNeeded => "run without --only/--skip so that veldr reads it".into(),
    }
}

/// Unwraps a read or returns the `error` verdict that names the failed read.
#[macro_export]
macro_rules! need {
    ($read:expr) => {
        match $read {
            Ok(v) => v,
            Err(e) => return $crate::checks::read_failed(e),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_read_error_names_its_fix() {
        use crate::facts::{ReadErrorKind as K, ReadError};
        let cases = [
            (K::Forbidden, "grant veldr's identity list on pods in namespace velero"),
            (K::Timeout, "raise --timeout"),
            (K::NotServed, "install the CRD of pods"),
            (K::Server, "check its health"),
            (K::Malformed, "kubectl get --raw"),
            (K::Unreachable, "network path"),
            (K::Unauthorized, "refresh them"),
            (K::NotAttempted, "fix the read it depends on"),
            (K::NotNeeded, "run without --only/--skip"),
        ];
        for (kind, needle) in cases {
            let v = read_failed(&ReadError::new(kind, "list", "pods", Some("velero"), "HTTP 500"));
            assert_eq!(v.status, crate::model::Status::Error);
            assert!(v.hint.as_deref().is_some_and(|h| h.contains(needle)), "{kind:?}: {:?}", v.hint);
        }
    }

    #[test]
    fn ids_are_unique_and_dependencies_come_first() {
        // In each command's report order (verify's checks come after the doctor's they depend on).
        for suite in Suite::ALL {
            let mut seen = HashSet::new();
            for c in suite.checks() {
                for d in c.depends_on {
                    assert!(seen.contains(d), "{} depends on {d}, which must be registered before it ({})", c.id, suite.command());
                }
                assert!(seen.insert(c.id), "duplicate id {} ({})", c.id, suite.command());
            }
        }
        let mut every = HashSet::new();
        for (_, c) in all() {
            assert!(every.insert(c.id), "{} is in two registries", c.id);
        }
    }

    /// `src/checks/<area>/<name>.rs`, or `src/checks/<area>/<name>/mod.rs` for a check judged in several files.
    fn file_of(id: &str) -> std::path::PathBuf {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
        let (area, name) = id.split_once('.').expect("ids are area.name");
        let module = name.replace('-', "_");
        let folder = root.join(area).join(&module).join("mod.rs");
        if folder.exists() { folder } else { root.join(area).join(format!("{module}.rs")) }
    }

    #[test]
    fn every_check_lives_in_the_file_named_by_its_id() {
        for (_, c) in all() {
            let file = file_of(c.id);
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(text.contains(&format!("id: \"{}\"", c.id)), "{} does not declare {}", file.display(), c.id);
        }
    }

    /// Every file under src/checks, recursively.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }

    /// The other way round (like clippy's update_lints): a check declared in a file but missing from
    /// every registry would never run. `scripts/new-check` registers it.
    #[test]
    fn every_declared_check_is_registered() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let mut found = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // A declaration (`CHECK: CheckDef = crate::check!` and a brace), then its first field, the id.
            for (at, _) in text.match_indices("CheckDef = crate::check! {") {
                let Some(id) = text[at..].split_once("id: \"").and_then(|(_, rest)| rest.split_once('"')).map(|(id, _)| id) else { continue };
                found += 1;
                assert!(find(id).is_some(), "{} declares {id}, which no registry lists: run scripts/new-check or add `{}::CHECK` to a registry in src/checks/mod.rs", file.display(), id.replace('.', "::").replace('-', "_"));
                assert_eq!(file_of(id), file, "{id} is declared in {} instead of the file named by its id", file.display());
            }
        }
        assert_eq!(found, all().count(), "every registered check is declared once in src/checks");
    }

    /// Code outside `#[cfg(test)]` items (a test may well name the check whose row it fakes).
    fn production_code(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("#[cfg(test)]") {
            out.push_str(&rest[..at]);
            let after = &rest[at..];
            let Some(open) = after.find('{') else { return out };
            // `#[cfg(test)] mod testing;`: the item ends at its ';'.
            if let Some(semi) = after.find(';').filter(|s| *s < open) {
                rest = &after[semi + 1..];
                continue;
            }
            let mut depth = 0;
            let mut end = after.len();
            for (i, ch) in after[open..].char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    /// A check id lives in its `check!` only: code outside src/checks names a check through
    /// `crate::checks::<area>::<name>::CHECK.id` (or `checks::find`), never as a string.
    #[test]
    fn no_check_id_literal_outside_src_checks() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let outside: Vec<_> = files.into_iter().filter(|f| !f.starts_with(src.join("checks"))).collect();
        assert!(outside.len() > 50, "the sources outside src/checks");
        for file in outside {
            let code = production_code(&std::fs::read_to_string(&file).unwrap());
            for (_, c) in all() {
                assert!(!code.contains(&format!("\"{}\"", c.id)), "{} names the check {} as a string: use its CHECK.id", file.display(), c.id);
            }
        }
        assert_eq!(production_code("a\n#[cfg(test)]\nmod tests { fn x() { \"kube.connect\" } }\nb"), "a\n\nb");
        assert_eq!(production_code("#[cfg(test)]\nmod testing;\nfn f() { 1 }"), "\nfn f() { 1 }");
    }

    /// What a runbook page advises: its "How to fix" section.
    fn fix_section(page: &str) -> &str {
        let start = page.find("## How to fix").unwrap_or(page.len());
        let end = page[start..].find("\n## Related").map_or(page.len(), |e| start + e);
        &page[start..end]
    }

    /// Nothing veldr advises may turn on what cannot work on a Swift BSL (`upstream::kopia`): not a
    /// runbook page's fix, not a hint of any check over the example bundles and the unit fixtures.
    #[test]
    fn no_page_or_hint_recommends_what_cannot_work_on_swift() {
        use crate::upstream::kopia::recommends;
        for (_, c) in all() {
            if let Some(form) = recommends(fix_section(c.page)) {
                panic!("checks/{}.md advises {form:?}, which cannot work on a Swift BSL (see upstream::kopia)", c.id);
            }
        }
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut fact_sets: Vec<(String, crate::facts::Facts)> = std::fs::read_dir(&examples)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".bundle.json"))
            .map(|p| (p.display().to_string(), crate::facts::bundle::load(&p).unwrap()))
            .collect();
        assert!(fact_sets.len() >= 3, "the example bundles");
        let mut fs_backup = velero::fixture::facts();
        fs_backup.kube.deployments = Ok(testing::list(vec![velero::fixture::velero_deployment(
            &["server", "--default-volumes-to-fs-backup", "--default-snapshot-move-data"],
            velero::fixture::plugin_init("lirt/velero-plugin-for-openstack:v0.8.2"),
        )]));
        fact_sets.push(("velero fixture with Kopia asked for".into(), fs_backup));
        fact_sets.push(("velero fixture".into(), velero::fixture::facts()));
        let mut hints = 0;
        for (name, facts) in &fact_sets {
            for (_, c) in all() {
                let v = testing::run(c, facts);
                if let Some(form) = v.hint.as_deref().and_then(recommends) {
                    panic!("{}'s hint over {name} advises {form:?}, which cannot work on a Swift BSL: {:?}", c.id, v.hint);
                }
                hints += v.hint.is_some() as usize;
            }
        }
        assert!(hints > 10, "the fact sets give hints to scan ({hints})");
        let asked = testing::run(&velero::fs_backup::CHECK, &fact_sets.iter().find(|(n, _)| n.contains("Kopia")).unwrap().1);
        assert!(asked.status == crate::model::Status::Fail && asked.hint.is_some(), "velero.fs-backup's own fix was scanned: {asked:?}");
    }

    #[test]
    fn metric_names_are_unique_and_prometheus_shaped() {
        let mut seen = HashSet::new();
        for c in all().map(|(_, c)| c) {
            for m in c.metrics {
                assert!(m.name.starts_with("veldr_") && m.name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'), "{}", m.name);
                assert!(seen.insert(m.name), "metric {} declared twice", m.name);
                assert!(!m.help.is_empty());
            }
        }
    }

    #[test]
    fn every_check_has_its_page_and_every_page_its_check() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
        let pages: HashSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .map(|n| n.trim_end_matches(".md").to_string())
            .collect();
        let ids: HashSet<String> = all().map(|(_, c)| c).map(|c| c.id.to_string()).collect();
        assert_eq!(pages, ids, "pages in checks/ and registered checks differ");
        for c in all().map(|(_, c)| c) {
            for section in ["## What it checks", "## Why it matters", "## How to fix", "## Related"] {
                assert!(c.page.contains(section), "checks/{}.md lacks the section {section:?}", c.id);
            }
            assert!(!c.page.contains("\nTODO"), "checks/{}.md is still a placeholder", c.id);
            assert!(c.page.len() > 600, "checks/{}.md is too thin to be a runbook page", c.id);
        }
    }
}
