//! csi.snapshot-limit: Velero keeps each CSI snapshot until its backup expires, so a volume carries
//! ceil(TTL ÷ interval) snapshots per Schedule that backs it up, summed over those Schedules. vSphere
//! CSI refuses a snapshot once a volume has `global-max-snapshots-per-block-volume` of them (default
//! 3): the classic "worked on day one, PartiallyFailed on day four". This check counts what each CSI
//! PVC keeps and compares it with the limit read from `csi-vsphere.conf` (or assumed, and said so).

use super::{volumes_or_verdict, CsiVolume};
use crate::checks::findings::{combine, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{BackupSpec, Object, PersistentVolumeClaim, ReadErrorKind, Schedule, VsphereConfig};
use crate::model::{Status, Verdict};
use crate::rules::cron::average_interval;
use crate::rules::duration::{human_interval, parse_go_duration};
use crate::rules::selector::selector_matches;
use crate::upstream::kopia;
use crate::upstream::velero::DEFAULT_BACKUP_TTL_SECS;
use crate::upstream::vsphere_csi;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::json;
use std::collections::BTreeMap;

pub const CHECK: CheckDef = crate::check! {
    id: "csi.snapshot-limit", category: Snapshots, severity: Major,
    title: "Snapshots kept fit the per-volume limit",
    depends_on: ["kube.connect"],
    needs: [PersistentVolumeClaims, PersistentVolumes, StorageClasses, Schedules, Deployments, VsphereConfig],
    // A Schedule that did not decode only changes how many snapshots are counted: named, not a warning.
    consults: [Schedules, Deployments],
    explains: [
        ["reaches the configured maximum"] => "the CSI driver refused one more snapshot of the volume: vSphere keeps at most global-max-snapshots-per-block-volume (default 3) per volume, and Velero keeps each backup's snapshot until the backup expires",
    ],
    judge: judge,
};

/// One Schedule's contribution: how many backups (each with one snapshot per volume) it keeps alive.
struct Retention<'a> {
    schedule: &'a Schedule,
    ttl: f64,
    interval: f64,
    kept: u64,
}

impl Retention<'_> {
    fn describe(&self) -> String {
        format!("{} (ttl {}, every {} → {})", self.schedule.name(), ttl_text(self.ttl), human_interval(self.interval), self.kept)
    }
}

/// A ttl as Velero's flags and specs write it: whole hours as `72h`.
fn ttl_text(secs: f64) -> String {
    let s = secs.round() as i64;
    if s > 0 && s % 3600 == 0 { format!("{}h", s / 3600) } else { human_interval(secs) }
}

/// The Schedules that take CSI snapshots, with what they keep; the others are named in notes.
fn retentions<'a>(ctx: &Ctx<'a>, schedules: &'a [Schedule], notes: &mut Vec<String>) -> Vec<Retention<'a>> {
    let flags = ctx.server_flags();
    let default_ttl = flags.get("default-backup-ttl").and_then(|t| parse_go_duration(t)).filter(|t| *t > 0.0).unwrap_or(DEFAULT_BACKUP_TTL_SECS);
    let mut out = Vec::new();
    for s in schedules {
        let t = &s.spec.template;
        let skip = if s.spec.paused {
            Some("paused".to_string())
        } else if t.snapshot_volumes == Some(false) {
            Some("snapshotVolumes: false".to_string())
        } else if let Some(kopia) = kopia::used_by(t, &flags) {
            // Neither works on a Swift BSL (velero.fs-backup says so); either way no snapshot is kept.
            Some(if kopia == kopia::FS_BACKUP {
                "its volumes go to file-system backup".to_string()
            } else {
                // The data mover uploads the snapshot's data and deletes the snapshot.
                "snapshotMoveData: the snapshot is deleted once its data is uploaded".to_string()
            })
        } else {
            None
        };
        if let Some(why) = skip {
            notes.push(format!("schedule {} keeps no CSI snapshot: {why}", s.name()));
            continue;
        }
        let interval = match average_interval(&s.spec.schedule) {
            Ok(i) => i,
            Err(e) => {
                notes.push(format!("schedule {}: its cron {:?} does not parse ({e}); not counted", s.name(), s.spec.schedule));
                continue;
            }
        };
        let ttl = t.ttl.as_deref().and_then(parse_go_duration).filter(|t| *t > 0.0).unwrap_or(default_ttl);
        // The epsilon keeps an exact ratio (720 h / 24 h) from rounding up past itself.
        let kept = ((ttl / interval) - 1e-9).ceil().max(1.0) as u64;
        out.push(Retention { schedule: s, ttl, interval, kept });
    }
    out
}

/// Velero's namespace include/exclude patterns (`*` and `?` globs; an empty include list is all).
fn glob(pattern: &str, name: &str) -> bool {
    fn rec(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => rec(&p[1..], n) || (!n.is_empty() && rec(p, &n[1..])),
            (Some(b'?'), Some(_)) => rec(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => rec(&p[1..], &n[1..]),
            _ => false,
        }
    }
    rec(pattern.as_bytes(), name.as_bytes())
}

/// A Backup's label selector as Velero applies it: an empty selector selects everything.
fn velero_selects(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = sel.match_labels.as_ref().is_none_or(|m| m.is_empty()) && sel.match_expressions.as_ref().is_none_or(|e| e.is_empty());
    empty || selector_matches(sel, labels)
}

/// Whether a backup of this spec takes the PVC.
#[derive(Debug, PartialEq)]
enum Coverage {
    Yes,
    /// Its namespace is included but its own labels do not match the selector.
    NotSelected,
    No,
}

/// Does a backup of this spec take the PVC (by its namespace and its own labels)?
fn coverage(spec: &BackupSpec, pvc: &PersistentVolumeClaim) -> Coverage {
    let ns = pvc.namespace().unwrap_or("default");
    let included = spec.included_namespaces.is_empty() || spec.included_namespaces.iter().any(|p| glob(p, ns));
    let excluded = spec.excluded_namespaces.iter().any(|p| glob(p, ns));
    if !included || excluded {
        return Coverage::No;
    }
    let labels = pvc.metadata.labels.as_ref();
    let selected = match (&spec.label_selector, spec.or_label_selectors.as_slice()) {
        (Some(sel), _) => velero_selects(sel, labels),
        (None, []) => true,
        (None, ors) => ors.iter().any(|s| velero_selects(s, labels)),
    };
    if selected { Coverage::Yes } else { Coverage::NotSelected }
}

/// The limit vSphere CSI applies, where it comes from, and whether veldr read it or assumes it.
struct Limit {
    global: i64,
    vsan: Option<i64>,
    vvol: Option<i64>,
    known: bool,
    source: String,
    /// What to grant or fix so that veldr can read the limit.
    hint: Option<String>,
    notes: Vec<String>,
}

impl Limit {
    fn assumed(source: String, hint: Option<String>) -> Self {
        Limit { global: vsphere_csi::DEFAULT_MAX_SNAPSHOTS, vsan: None, vvol: None, known: false, source, hint, notes: Vec::new() }
    }

    /// The smallest and largest limit that may apply to a volume (they differ only when granular
    /// limits are set and the volume's datastore type is not known).
    fn allowed(&self, datastore_url: Option<&str>) -> (i64, i64) {
        let cap = |n: i64| n.min(vsphere_csi::VSPHERE_MAX_SNAPSHOTS);
        let granular = |g: Option<i64>| g.filter(|n| *n > 0).unwrap_or(self.global);
        match datastore_url.map(str::to_ascii_lowercase) {
            // As CreateSnapshot decides: by the datastore URL's type.
            Some(u) if u.contains("vsan") => (cap(granular(self.vsan)), cap(granular(self.vsan))),
            Some(u) if u.contains("vvol") => (cap(granular(self.vvol)), cap(granular(self.vvol))),
            Some(_) => (cap(self.global), cap(self.global)),
            None => {
                let all = [self.global, granular(self.vsan), granular(self.vvol)];
                (cap(*all.iter().min().unwrap_or(&self.global)), cap(*all.iter().max().unwrap_or(&self.global)))
            }
        }
    }
}

const RBAC_HINT: &str = "let veldr read the limit: grant it `get` on secrets named vsphere-config-secret in namespace vmware-system-csi (or kube-system on older installs), a Role + RoleBinding as in deploy/rbac.yaml";

fn limit(ctx: &Ctx) -> Limit {
    let mut l = match &ctx.facts.kube.vsphere_config {
        Ok(Some(cfg)) => from_config(cfg),
        Ok(None) => Limit::assumed(
            format!("no secret {} in {} (a managed vSphere CSI keeps its configuration elsewhere)", vsphere_csi::CONFIG_SECRET, vsphere_csi::NAMESPACES.join(" or ")),
            Some("find the driver's csi-vsphere.conf [Snapshot] global-max-snapshots-per-block-volume where your platform keeps it".into()),
        ),
        Err(e) if e.kind == ReadErrorKind::Forbidden => Limit::assumed(
            format!("veldr may not read secret {} in namespace {}", vsphere_csi::CONFIG_SECRET, e.namespace.as_deref().unwrap_or("?")),
            Some(RBAC_HINT.into()),
        ),
        Err(e) if e.kind == ReadErrorKind::NotNeeded => Limit::assumed(format!("secret {} was not read (a bundle from an older veldr)", vsphere_csi::CONFIG_SECRET), None),
        Err(e) => Limit::assumed(format!("secret {} not read: {}", vsphere_csi::CONFIG_SECRET, e.explain()), None),
    };
    // The controller's environment overrides the file's global limit (config.FromEnv).
    if let Some(v) = controller_env(ctx) {
        match vsphere_csi::parse_gcfg_int(v.trim()) {
            Some(n) => {
                l.global = vsphere_csi::effective_limit(Some(n));
                l.known = true;
                l.source = format!("{}={} in the vsphere-csi-controller container (overrides csi-vsphere.conf)", vsphere_csi::ENV_GLOBAL_MAX, n);
                l.hint = None;
            }
            None => l.notes.push(format!("{} of the vsphere-csi-controller container is not a whole number: the driver ignores it", vsphere_csi::ENV_GLOBAL_MAX)),
        }
    }
    if l.global > vsphere_csi::VSPHERE_MAX_SNAPSHOTS {
        l.notes.push(format!("the configured limit {} is above vSphere's {} snapshots per disk: vSphere refuses past {}", l.global, vsphere_csi::VSPHERE_MAX_SNAPSHOTS, vsphere_csi::VSPHERE_MAX_SNAPSHOTS));
    }
    l
}

fn from_config(cfg: &VsphereConfig) -> Limit {
    let at = format!("{}/{}", cfg.namespace, vsphere_csi::CONFIG_SECRET);
    if cfg.key_absent {
        return Limit::assumed(format!("{at} has no key {}", vsphere_csi::CONFIG_KEY), Some(format!("check which key of {at} the driver mounts as its config")));
    }
    let s = &cfg.snapshot;
    if !s.problems.is_empty() {
        // gcfg fails the whole file on these: the driver does not run with what veldr would read.
        let mut l = Limit::assumed(format!("{} of {at} does not parse as the driver reads it", vsphere_csi::CONFIG_KEY), Some(format!("fix {} in {at} (the lines named), then restart vsphere-csi-controller", vsphere_csi::CONFIG_KEY)));
        l.notes.extend(s.problems.iter().map(|p| format!("csi-vsphere.conf {p}")));
        return l;
    }
    let source = match s.global_max {
        Some(n) if n != 0 => format!("global-max-snapshots-per-block-volume = {n} in [Snapshot] of {at}"),
        _ => format!("global-max-snapshots-per-block-volume not set in {} of {at}: the driver's default {}", if s.section { "[Snapshot]" } else { "csi-vsphere.conf" }, vsphere_csi::DEFAULT_MAX_SNAPSHOTS),
    };
    let mut l = Limit { global: vsphere_csi::effective_limit(s.global_max), vsan: s.granular_vsan, vvol: s.granular_vvol, known: true, source, hint: None, notes: Vec::new() };
    for (key, v) in [("vsan", s.granular_vsan), ("vvol", s.granular_vvol)] {
        if let Some(n) = v.filter(|n| *n > 0) {
            l.notes.push(format!("granular-max-snapshots-per-block-volume-{key} = {n}: the limit on {key} datastores"));
        }
    }
    l
}

/// `GLOBAL_MAX_SNAPSHOTS_PER_BLOCK_VOLUME` as a literal value of the vsphere-csi-controller container.
fn controller_env<'a>(ctx: &Ctx<'a>) -> Option<&'a str> {
    let deployments = ctx.facts.kube.deployments.as_ref().ok()?;
    let d = deployments.iter().find(|d| d.name() == "vsphere-csi-controller")?;
    let c = crate::upstream::velero::containers(d).iter().find(|c| c.name == "vsphere-csi-controller")?;
    c.env.iter().flatten().find(|e| e.name == vsphere_csi::ENV_GLOBAL_MAX).and_then(|e| e.value.as_deref())
}

/// The StorageClass's `datastoreurl` parameter (the driver lowercases parameter names).
fn datastore_url<'a>(ctx: &Ctx<'a>, pvc: &PersistentVolumeClaim) -> Option<&'a str> {
    let sc_name = pvc.spec.as_ref()?.storage_class_name.as_deref()?;
    let classes = ctx.facts.kube.storage_classes.as_ref().ok()?;
    let sc = classes.iter().find(|c| c.metadata.name.as_deref() == Some(sc_name))?;
    sc.parameters.iter().flatten().find(|(k, _)| k.eq_ignore_ascii_case("datastoreurl")).map(|(_, v)| v.as_str())
}

/// PVCs that keep the same snapshots under the same limit, judged together.
struct Group {
    pvcs: Vec<String>,
    kept: u64,
    allowed: (i64, i64),
    schedules: Vec<String>,
    /// Index into the retentions, for the fix.
    covering: Vec<usize>,
}

fn judge(ctx: &Ctx) -> Verdict {
    let in_use = match volumes_or_verdict(ctx, "no Bound PVC is backed by a CSI volume: no snapshots are kept") {
        Ok(found) => found,
        Err(v) => return *v,
    };
    let schedules = crate::need!(&ctx.facts.kube.schedules);
    let mut notes = in_use.notes.clone();
    let (vsphere_vols, others): (Vec<&CsiVolume>, Vec<&CsiVolume>) = in_use.volumes.iter().partition(|v| v.driver == vsphere_csi::DRIVER);
    let mut other_drivers: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &others {
        *other_drivers.entry(v.driver.as_str()).or_default() += 1;
    }
    let others_note: Vec<String> = other_drivers.iter().map(|(d, n)| format!("{n} PVC(s) of driver {d}: its per-volume snapshot limit is not known to veldr; not judged")).collect();
    if vsphere_vols.is_empty() {
        return Verdict::skip(format!("no vSphere CSI volume; the per-volume snapshot limits of {} are not known", other_drivers.keys().copied().collect::<Vec<_>>().join(", ")))
            .details(others_note.into_iter().chain(notes));
    }
    notes.extend(others_note);

    let rets = retentions(ctx, schedules, &mut notes);
    let limit = limit(ctx);
    let mut groups: Vec<Group> = Vec::new();
    let mut uncovered = 0;
    let mut not_selected: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &vsphere_vols {
        let cov: Vec<Coverage> = rets.iter().map(|r| coverage(&r.schedule.spec.template, v.pvc)).collect();
        for (r, c) in rets.iter().zip(&cov) {
            if *c == Coverage::NotSelected {
                *not_selected.entry(r.schedule.name()).or_default() += 1;
            }
        }
        let covering: Vec<usize> = (0..rets.len()).filter(|&i| cov[i] == Coverage::Yes).collect();
        if covering.is_empty() {
            uncovered += 1;
            continue;
        }
        let kept: u64 = covering.iter().map(|&i| rets[i].kept).sum();
        let allowed = limit.allowed(datastore_url(ctx, v.pvc));
        let schedules: Vec<String> = covering.iter().map(|&i| rets[i].describe()).collect();
        match groups.iter_mut().find(|g| g.kept == kept && g.allowed == allowed && g.schedules == schedules) {
            Some(g) => g.pvcs.push(v.id.clone()),
            None => groups.push(Group { pvcs: vec![v.id.clone()], kept, allowed, schedules, covering }),
        }
    }
    for (s, n) in &not_selected {
        // Velero also backs up the PVCs of a selected Pod (as its volumes); veldr does not list Pods
        // outside Velero's namespace, so those are not counted.
        notes.push(format!("schedule {s}'s label selector leaves out {n} vSphere CSI PVC(s) by their own labels: not counted (a Pod it selects would bring its PVCs along)"));
    }
    if uncovered > 0 {
        notes.push(format!("{uncovered} vSphere CSI PVC(s) are backed up by no Schedule that snapshots them: nothing kept"));
    }
    notes.push(format!("limit: {}{}", limit.source, if limit.known { String::new() } else { format!("; {} assumed", vsphere_csi::DEFAULT_MAX_SNAPSHOTS) }));
    notes.extend(limit.notes.iter().cloned());

    let mut findings: Vec<Finding> = Vec::new();
    for g in &groups {
        findings.push(judge_group(g, &rets, &limit));
    }
    let most = groups.iter().map(|g| g.kept).max().unwrap_or(0);
    let ok = if groups.is_empty() {
        format!("no Schedule keeps CSI snapshots of the {} vSphere CSI volume(s)", vsphere_vols.len())
    } else {
        format!("every vSphere CSI volume keeps at most {most} snapshot(s), within the limit of {}", limit_text(&limit, groups.iter().map(|g| g.allowed.0).min().unwrap_or(limit.global)))
    };
    let evidence_groups: Vec<_> = groups.iter().map(|g| json!({"pvcs": g.pvcs, "kept": g.kept, "allowedMin": g.allowed.0, "allowedMax": g.allowed.1, "schedules": g.schedules})).collect();
    combine(ok, findings, notes)
        .evidence("limit", json!({"global": limit.global, "granularVsan": limit.vsan, "granularVvol": limit.vvol, "known": limit.known, "source": limit.source}))
        .evidence("volumes", evidence_groups)
}

fn limit_text(limit: &Limit, n: i64) -> String {
    if limit.known { n.to_string() } else { format!("{n} (assumed)") }
}

fn judge_group(g: &Group, rets: &[Retention], limit: &Limit) -> Finding {
    let (min, max) = g.allowed;
    let who = g.pvcs.join(", ");
    let kept = g.kept as i64;
    if kept <= min {
        return Finding::new(Status::Ok, format!("{who}: {kept} kept, {min} allowed"));
    }
    let (status, summary) = if !limit.known {
        (Status::Warn, format!("{who}: {kept} snapshots kept per volume, more than the {min} vSphere CSI allows by default (assumed: {})", limit.source))
    } else if kept > max {
        (Status::Fail, format!("{who}: {kept} snapshots kept per volume, {max} allowed: vSphere CSI will refuse the next ones (\"reaches the configured maximum\")"))
    } else {
        (Status::Warn, format!("{who}: {kept} snapshots kept per volume; {min} to {max} allowed, by the datastore type (vSAN/vVol granular limits), which veldr cannot see"))
    };
    let f = Finding::new(status, summary).details(g.schedules.iter().map(|s| format!("kept by schedule {s}")));
    let mut fixes = vec![fewer_runs_fix(g, rets, min)];
    if kept <= vsphere_csi::VSPHERE_MAX_SNAPSHOTS {
        fixes.push(format!(
            "or raise the limit: [Snapshot] global-max-snapshots-per-block-volume = {kept} (at most {}, where the storage allows: VMware advises few snapshots per disk on VMFS/NFS) in {} of secret {}, then restart vsphere-csi-controller",
            vsphere_csi::VSPHERE_MAX_SNAPSHOTS,
            vsphere_csi::CONFIG_KEY,
            vsphere_csi::CONFIG_SECRET
        ));
    } else {
        fixes.push(format!("raising the limit cannot help: vSphere keeps at most {} snapshots per disk", vsphere_csi::VSPHERE_MAX_SNAPSHOTS));
    }
    if let Some(h) = &limit.hint {
        fixes.push(h.clone());
    }
    f.hint(fixes.join("; "))
}

/// The "keep fewer" fix: the longest TTL that fits, for a volume backed up by one schedule.
fn fewer_runs_fix(g: &Group, rets: &[Retention], allowed: i64) -> String {
    match g.covering.as_slice() {
        [one] => {
            let r = &rets[*one];
            let fits = (allowed.max(1) as f64) * r.interval;
            format!(
                "keep fewer: give schedule {} a ttl of at most {} ({allowed} × {} between runs), or run it less often",
                r.schedule.name(),
                ttl_text(fits),
                human_interval(r.interval)
            )
        }
        many => format!(
            "keep fewer: the {} schedules together keep {}; shorten their ttls or run them less often so that they keep at most {allowed}",
            many.len(),
            g.kept
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{healthy, list, run, text};
    use super::*;
    use crate::facts::{ReadError, SnapshotLimits};
    use serde_json::json;

    fn with_limit(global: Option<i64>) -> crate::facts::Facts {
        let mut f = healthy();
        f.kube.vsphere_config = Ok(Some(VsphereConfig {
            namespace: "vmware-system-csi".into(),
            key_absent: false,
            snapshot: SnapshotLimits { section: true, global_max: global, ..Default::default() },
        }));
        f
    }

    fn schedules(f: &mut crate::facts::Facts, items: Vec<serde_json::Value>) {
        f.kube.schedules = Ok(list(items));
    }

    #[test]
    fn a_daily_month_against_the_known_default_fails_with_both_fixes() {
        let v = run(&super::CHECK, &with_limit(None));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(t.contains("shop/data, shop/uploads: 30 snapshots kept per volume, 3 allowed"), "one group for both PVCs: {t}");
        assert!(t.contains("daily (ttl 720h, every 1d → 30)"), "{t}");
        assert!(t.contains("ttl of at most 72h (3 × 1d between runs)") && t.contains("global-max-snapshots-per-block-volume = 30"), "both fixes: {t}");
        assert_eq!(v.evidence["limit"]["known"], true);
    }

    #[test]
    fn a_retention_that_fits_a_small_limit_is_ok() {
        let mut f = with_limit(Some(5));
        schedules(&mut f, vec![json!({"metadata": {"name": "daily"}, "spec": {"schedule": "0 2 * * *", "template": {"ttl": "96h"}}})]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("at most 4 snapshot(s), within the limit of 5"), "{}", v.summary);
        // Exactly at the limit is still fine: the driver refuses only when the count reaches it before a new one.
        schedules(&mut f, vec![json!({"metadata": {"name": "daily"}, "spec": {"schedule": "0 2 * * *", "template": {"ttl": "120h"}}})]);
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn schedules_covering_a_pvc_add_up() {
        let mut f = with_limit(Some(10));
        schedules(&mut f, vec![
            json!({"metadata": {"name": "daily"}, "spec": {"schedule": "0 2 * * *", "template": {"ttl": "168h"}}}),
            json!({"metadata": {"name": "hourly-db"}, "spec": {"schedule": "0 * * * *", "template": {"ttl": "4h", "labelSelector": {"matchLabels": {"app": "postgres"}}}}}),
            json!({"metadata": {"name": "other-ns"}, "spec": {"schedule": "0 * * * *", "template": {"includedNamespaces": ["web-*"]}}}),
            json!({"metadata": {"name": "excluded"}, "spec": {"schedule": "0 * * * *", "template": {"excludedNamespaces": ["sh?p"]}}}),
            json!({"metadata": {"name": "fsb"}, "spec": {"schedule": "0 * * * *", "template": {"defaultVolumesToFsBackup": true}}}),
            json!({"metadata": {"name": "off"}, "spec": {"schedule": "0 * * * *", "template": {"snapshotVolumes": false}}}),
            json!({"metadata": {"name": "moved"}, "spec": {"schedule": "0 * * * *", "template": {"snapshotMoveData": true}}}),
            json!({"metadata": {"name": "paused"}, "spec": {"schedule": "0 * * * *", "paused": true}}),
        ]);
        let mut pvcs = vec![super::super::fixture::pvc("shop", "data", "pv-a"), super::super::fixture::pvc("shop", "uploads", "pv-b")];
        pvcs[0]["metadata"]["labels"] = json!({"app": "postgres"});
        f.kube.persistent_volume_claims = Ok(list(pvcs));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(t.contains("shop/data: 11 snapshots kept per volume, 10 allowed"), "7 daily + 4 hourly: {t}");
        assert!(t.contains("the 2 schedules together keep 11"), "{t}");
        assert!(!t.contains("shop/uploads: 11"), "uploads is not labelled app=postgres: {t}");
        assert!(t.contains("schedule hourly-db's label selector leaves out 1 vsphere csi pvc(s)"), "{t}");
        assert_eq!(v.evidence["volumes"][1]["kept"], 7, "{}", v.evidence["volumes"]);
        for note in ["fsb keeps no csi snapshot", "off keeps no csi snapshot", "moved keeps no csi snapshot", "paused keeps no csi snapshot"] {
            assert!(t.contains(note), "{note}: {t}");
        }
    }

    #[test]
    fn the_server_flags_decide_ttl_and_fs_backup() {
        let mut f = with_limit(Some(10));
        schedules(&mut f, vec![json!({"metadata": {"name": "daily"}, "spec": {"schedule": "0 2 * * *", "template": {}}})]);
        let velero = |args: serde_json::Value| {
            super::super::fixture::deployment("velero", "velero", json!({"component": "velero"}), json!([{"name": "velero", "image": "velero/velero:v1.17.1", "args": args}]), 1)
        };
        let mut ds = super::super::fixture::healthy_deployments();
        ds.push(velero(json!(["server", "--default-backup-ttl=168h"])));
        f.kube.deployments = Ok(list(ds));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok, "7 kept under a limit of 10");
        let mut ds = super::super::fixture::healthy_deployments();
        ds.push(velero(json!(["server", "--default-volumes-to-fs-backup"])));
        f.kube.deployments = Ok(list(ds));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("no schedule keeps csi snapshots") || text(&v).contains("file-system backup"), "{v:?}");
    }

    #[test]
    fn an_unread_limit_is_assumed_and_warns_naming_the_rbac() {
        let mut f = healthy();
        f.kube.vsphere_config = Err(ReadError::forbidden("get", "secrets", Some("vmware-system-csi")));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = text(&v);
        assert!(t.contains("more than the 3 vsphere csi allows by default (assumed"), "{t}");
        assert!(t.contains("grant it `get` on secrets named vsphere-config-secret in namespace vmware-system-csi"), "{t}");
        assert_eq!(v.evidence["limit"]["known"], false);
        // Not found anywhere: assumed too.
        f.kube.vsphere_config = Ok(None);
        assert_eq!(run(&super::CHECK, &f).status, Status::Warn);
        // A file that does not parse as the driver reads it: assumed, the lines named.
        let mut f = with_limit(None);
        if let Ok(Some(c)) = &mut f.kube.vsphere_config {
            c.snapshot.problems = vec!["line 9: global-max-snapshots-per-block-volume is not a whole number".into()];
        }
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("csi-vsphere.conf line 9"), "{v:?}");
    }

    #[test]
    fn the_controller_env_overrides_the_file() {
        let mut f = with_limit(Some(3));
        let mut ds = super::super::fixture::healthy_deployments();
        ds[1]["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "GLOBAL_MAX_SNAPSHOTS_PER_BLOCK_VOLUME", "value": "32"}]);
        f.kube.deployments = Ok(list(ds));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("global_max_snapshots_per_block_volume=32 in the vsphere-csi-controller container"), "{v:?}");
    }

    #[test]
    fn granular_limits_follow_the_datastore_type() {
        let mut f = with_limit(Some(3));
        if let Ok(Some(c)) = &mut f.kube.vsphere_config {
            c.snapshot.granular_vsan = Some(31);
        }
        // Unknown datastore: 3 to 31 allowed, 30 kept → warn.
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("3 to 31 allowed"), "{v:?}");
        // A vSAN datastore named by the StorageClass: 31 applies.
        f.kube.storage_classes = Ok(list(vec![json!({"metadata": {"name": "vsphere-sc"}, "provisioner": vsphere_csi::DRIVER, "parameters": {"datastoreurl": "ds:///vmfs/volumes/vsan:52d8eb4842dbf493-41523be9cd4ff7b7/"}})]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn more_than_vsphere_allows_cannot_be_raised_away() {
        let mut f = with_limit(Some(40));
        schedules(&mut f, vec![json!({"metadata": {"name": "hourly"}, "spec": {"schedule": "@every 1h", "template": {"ttl": "48h"}}})]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(t.contains("48 snapshots kept per volume, 32 allowed") && t.contains("raising the limit cannot help"), "{t}");
        assert!(t.contains("above vsphere's 32"), "{t}");
    }

    #[test]
    fn other_drivers_are_skipped_with_the_reason() {
        let mut f = healthy();
        f.kube.persistent_volumes = Ok(list(vec![super::super::fixture::pv("pv-a", "cinder.csi.openstack.org"), super::super::fixture::pv("pv-b", "cinder.csi.openstack.org")]));
        f.kube.storage_classes = Ok(list(vec![json!({"metadata": {"name": "vsphere-sc"}, "provisioner": "cinder.csi.openstack.org"})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Skip, "{v:?}");
        assert!(text(&v).contains("cinder.csi.openstack.org") && text(&v).contains("not known"), "{v:?}");
    }

    #[test]
    fn globs() {
        assert!(glob("*", "shop") && glob("sh*", "shop") && glob("s?op", "shop") && glob("shop", "shop"));
        assert!(!glob("web-*", "shop") && !glob("sho", "shop"));
    }
}
