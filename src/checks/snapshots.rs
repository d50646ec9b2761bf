//! vsl.config, csi.snapshot-class, csi.driver: can Velero snapshot the cluster's CSI volumes?
//!
//! The VolumeSnapshotClass choice mirrors Velero's `GetVolumeSnapshotClass` (pkg/util/csi/volume_snapshot.go):
//! (1) PVC annotation, (2) Backup/Schedule annotation `velero.io/csi-volumesnapshot-class_<driver>`,
//! (3) the first class of the driver labelled `velero.io/csi-volumesnapshot-class` (any value),
//! (4) the first with the `snapshot.storage.kubernetes.io/is-default-class` annotation (any value),
//! (5) the only class of the driver. The driver is the PVC's StorageClass provisioner, as in Velero.
//! An annotation naming a missing class or a class of another driver is only logged at debug
//! level by Velero, which then falls back to the next rule.

use super::backups::schedule_interval;
use super::ctx::{name_of, str_at};
use super::storage::{by_helm, combine, parse_go_duration, Finding};
use super::{read_failed, Ctx};
use crate::facts::ReadErrorKind;
use crate::model::{Status, Verdict};
use crate::velero::OPENSTACK_PROVIDERS;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(super) const CLASS_LABEL: &str = "velero.io/csi-volumesnapshot-class";
const DEFAULT_ANNOTATION: &str = "snapshot.storage.kubernetes.io/is-default-class";
const VSPHERE: &str = "csi.vsphere.vmware.com";

fn labels(obj: &Value) -> impl Iterator<Item = (&String, &Value)> {
    obj.pointer("/metadata/labels").and_then(Value::as_object).into_iter().flatten()
}

fn annotations(obj: &Value) -> impl Iterator<Item = (&String, &Value)> {
    obj.pointer("/metadata/annotations").and_then(Value::as_object).into_iter().flatten()
}

fn has_label(obj: &Value, key: &str) -> bool {
    obj.pointer("/metadata/labels").and_then(Value::as_object).is_some_and(|m| m.contains_key(key))
}

fn annotation<'v>(obj: &'v Value, key: &str) -> Option<&'v str> {
    obj.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A key that was probably meant to be `target` (typo, truncation, wrong prefix) but is not.
fn near_miss(key: &str, target: &str) -> bool {
    if key == target || key.is_empty() {
        return false;
    }
    let k = key.to_ascii_lowercase();
    levenshtein(&k, target) <= 4
        || (k.len() >= target.len() / 2 && (target.starts_with(&k) || k.starts_with(target)))
        || k.contains("csi-volumesnapshot")
        || k.ends_with("volumesnapshot-class")
}

// ---------------------------------------------------------------------------------------------
// Which CSI drivers the cluster's volumes use
// ---------------------------------------------------------------------------------------------

/// One Bound PVC whose volume Velero would snapshot through CSI.
struct CsiVolume<'a> {
    pvc: &'a Value,
    id: String,
    /// What Velero matches VolumeSnapshotClasses against: the StorageClass provisioner (else the PV's driver).
    driver: String,
}

struct InUse<'a> {
    volumes: Vec<CsiVolume<'a>>,
    notes: Vec<String>,
}

impl InUse<'_> {
    fn by_driver(&self) -> BTreeMap<&str, Vec<&CsiVolume<'_>>> {
        let mut m: BTreeMap<&str, Vec<&CsiVolume>> = BTreeMap::new();
        for v in &self.volumes {
            m.entry(v.driver.as_str()).or_default().push(v);
        }
        m
    }
}

fn csi_in_use<'a>(ctx: &Ctx<'a>) -> Result<InUse<'a>, Verdict> {
    let k = &ctx.facts.kube;
    let pvcs = k.persistent_volume_claims.as_ref().map_err(read_failed)?;
    let mut notes = Vec::new();
    let storage_classes: Option<BTreeMap<&str, &str>> = match &k.storage_classes {
        Ok(list) => Some(list.iter().filter_map(|sc| Some((str_at(sc, "/metadata/name")?, str_at(sc, "/provisioner")?))).collect()),
        Err(e) => {
            notes.push(format!("StorageClasses unreadable ({}): drivers taken from the PVs", e.explain()));
            None
        }
    };
    let pvs: Option<BTreeMap<&str, &Value>> = match &k.persistent_volumes {
        Ok(list) => Some(list.iter().filter_map(|pv| Some((str_at(pv, "/metadata/name")?, pv))).collect()),
        Err(e) => {
            if storage_classes.is_none() {
                return Err(read_failed(e));
            }
            notes.push(format!("PersistentVolumes unreadable ({}): drivers taken from the PVCs' StorageClasses", e.explain()));
            None
        }
    };
    let mut volumes = Vec::new();
    for pvc in pvcs {
        if str_at(pvc, "/status/phase") != Some("Bound") {
            continue;
        }
        let id = format!("{}/{}", str_at(pvc, "/metadata/namespace").unwrap_or("?"), name_of(pvc));
        let sc_name = str_at(pvc, "/spec/storageClassName").filter(|s| !s.is_empty());
        let provisioner = sc_name.and_then(|n| storage_classes.as_ref().and_then(|m| m.get(n).copied()));
        let driver = match &pvs {
            Some(pvs) => {
                let Some(pv) = str_at(pvc, "/spec/volumeName").and_then(|n| pvs.get(n)) else { continue };
                let Some(pv_driver) = str_at(pv, "/spec/csi/driver") else { continue }; // not CSI: Velero skips it
                match provisioner {
                    Some(p) if p != pv_driver => {
                        notes.push(format!("{id}: StorageClass {} has provisioner {p} but the PV's CSI driver is {pv_driver}; Velero matches classes against the provisioner", sc_name.unwrap_or("")));
                        p.to_string()
                    }
                    Some(p) => p.to_string(),
                    None => pv_driver.to_string(),
                }
            }
            None => match provisioner {
                Some(p) if !p.starts_with("kubernetes.io/") => p.to_string(),
                _ => continue,
            },
        };
        volumes.push(CsiVolume { pvc, id, driver });
    }
    Ok(InUse { volumes, notes })
}

// ---------------------------------------------------------------------------------------------
// vsl.config
// ---------------------------------------------------------------------------------------------

/// The chart's value path of its VolumeSnapshotLocation list.
const HELM_VSL: &str = "configuration.volumeSnapshotLocation";

fn is_cinder_provider(p: &str) -> bool {
    OPENSTACK_PROVIDERS.contains(&p) && !p.ends_with("openstack-manila")
}

pub fn vsl(ctx: &Ctx) -> Verdict {
    let vsls = crate::need!(&ctx.facts.kube.volume_snapshot_locations);
    let ns = ctx.namespace().to_string();
    let helm = ctx.helm_release();
    let mut findings = Vec::new();
    let mut notes = Vec::new();

    // What the chart renders: `configuration.volumeSnapshotLocation` entries (the chart's own default
    // is one entry with an empty provider) when `snapshotsEnabled` is not false. Judged on the deployed
    // revision and on a newer revision that failed (a `helm upgrade` refused by the API server).
    if let Some(deployed) = helm {
        let newest = ctx
            .facts
            .kube
            .helm_releases
            .as_ref()
            .ok()
            .and_then(|rs| rs.iter().filter(|r| r.name == deployed.name).max_by_key(|r| r.revision))
            .filter(|r| r.revision > deployed.revision || r.status != "deployed")
            .filter(|r| r.status == "failed" || r.status.starts_with("pending"));
        let mut revisions = vec![deployed];
        revisions.extend(newest);
        for rel in revisions {
            let failed = rel.status != "deployed";
            let what = format!("release {} revision {} ({})", rel.name, rel.revision, rel.status);
            let values = &rel.user_values;
            if values.pointer("/snapshotsEnabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let list = values.pointer("/configuration/volumeSnapshotLocation");
            match list.and_then(Value::as_array) {
                Some(entries) => {
                    for (i, e) in entries.iter().enumerate() {
                        if e.get("provider").and_then(Value::as_str).is_none_or(|p| p.trim().is_empty()) {
                            let vname = e.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).unwrap_or("default");
                            let outcome = if failed { "the upgrade failed with" } else { "the next `helm upgrade` fails with" };
                            findings.push(
                                Finding::new(Status::Fail, format!("Helm values define VolumeSnapshotLocation {vname} with an empty provider: {outcome} `spec.provider: Required value`"))
                                    .detail(format!("{what}: {HELM_VSL}[{i}] = {e}"))
                                    .hint(format!("set `{HELM_VSL}: []` in the Helm values (CSI snapshots use a VolumeSnapshotClass, not a VSL; or `snapshotsEnabled: false`), then `helm upgrade`")),
                            );
                        }
                    }
                }
                None if list.is_none() && failed => findings.push(
                    Finding::new(Status::Fail, format!("{what}: the chart's default VolumeSnapshotLocation has an empty provider (`spec.provider: Required value`)"))
                        .detail(format!("the user values do not set {HELM_VSL}, so the chart default (one entry without provider) is rendered"))
                        .hint(format!("set `{HELM_VSL}: []` in the Helm values, then `helm upgrade`")),
                ),
                None if list.is_none() => notes.push(format!(
                    "the Helm values do not set {HELM_VSL}; chart versions whose default carries an entry without provider fail on upgrade: set `{HELM_VSL}: []`"
                )),
                None => {}
            }
        }
    }

    // Which volumes are there (to tell whether a Cinder VSL could be of use).
    let cinder_volumes = match &ctx.facts.kube.persistent_volumes {
        Ok(pvs) => pvs.iter().any(|pv| str_at(pv, "/spec/csi/driver") == Some("cinder.csi.openstack.org") || pv.pointer("/spec/cinder").is_some()),
        Err(_) => true, // unknown: do not warn
    };

    let mut evidence = Vec::new();
    for v in vsls {
        let name = name_of(v);
        let provider = str_at(v, "/spec/provider").unwrap_or("").trim();
        let phase = str_at(v, "/status/phase").unwrap_or("");
        evidence.push(json!({"name": name, "provider": provider, "phase": phase}));
        if provider.is_empty() {
            findings.push(
                Finding::new(Status::Fail, format!("VolumeSnapshotLocation {name} has no spec.provider"))
                    .detail(format!("{ns}/{name}: spec.provider is required (`spec.provider: Required value` on apply/upgrade); backups that use it fail"))
                    .hint(if helm.is_some() { format!("set `{HELM_VSL}: []` in the Helm values and `helm upgrade`") } else { format!("`kubectl -n {ns} delete volumesnapshotlocation {name}` (CSI snapshots need no VSL)") }),
            );
            continue;
        }
        if phase == "Unavailable" {
            let msg = str_at(v, "/status/message").unwrap_or("no message");
            findings.push(
                Finding::new(Status::Fail, format!("VolumeSnapshotLocation {name} is Unavailable: {msg}"))
                    .detail(format!("{ns}/{name}: provider {provider}"))
                    .hint(if helm.is_some() { format!("fix or remove it: `{HELM_VSL}: []` when the volumes are CSI") } else { format!("fix or remove it: `kubectl -n {ns} delete volumesnapshotlocation {name}` when the volumes are CSI") }),
            );
            continue;
        }
        if is_cinder_provider(provider) && !cinder_volumes {
            findings.push(
                Finding::new(Status::Warn, format!("VolumeSnapshotLocation {name} uses the Cinder snapshotter ({provider}) but no volume is a Cinder volume"))
                    .detail(format!("{ns}/{name}: the PersistentVolumes are CSI volumes of other drivers; Velero snapshots those through a VolumeSnapshotClass, a VSL is not needed"))
                    .hint(if helm.is_some() { format!("remove it: `{HELM_VSL}: []` in the Helm values") } else { format!("remove it: `kubectl -n {ns} delete volumesnapshotlocation {name}`") }),
            );
        } else if matches!(provider, "csi" | "velero.io/csi") {
            findings.push(
                Finding::new(Status::Warn, format!("VolumeSnapshotLocation {name} has provider {provider:?}: no VolumeSnapshotter plugin has that name"))
                    .detail(format!("{ns}/{name}: CSI snapshots are taken by Velero's built-in CSI support (--features=EnableCSI) with a VolumeSnapshotClass; a VSL is only for provider snapshot plugins"))
                    .hint(if helm.is_some() { format!("remove it: `{HELM_VSL}: []`") } else { format!("`kubectl -n {ns} delete volumesnapshotlocation {name}`") }),
            );
        } else {
            notes.push(format!("{name}: provider {provider}, phase {}", if phase.is_empty() { "unset" } else { phase }));
        }
    }

    let ok = if vsls.is_empty() { "no VolumeSnapshotLocation (none needed for CSI)".to_string() } else { format!("{} VolumeSnapshotLocation(s), none broken", vsls.len()) };
    combine(ok, findings, notes).evidence("vsls", evidence)
}

// ---------------------------------------------------------------------------------------------
// csi.snapshot-class
// ---------------------------------------------------------------------------------------------

/// Velero's choice among the classes of one driver without any annotation (rules 3–5).
fn default_pick<'a>(driver: &str, classes: &[&'a Value]) -> Option<(&'a Value, &'static str)> {
    let of_driver: Vec<&Value> = classes.iter().copied().filter(|c| str_at(c, "/driver") == Some(driver)).collect();
    if let Some(c) = of_driver.iter().find(|c| has_label(c, CLASS_LABEL)) {
        return Some((c, "label velero.io/csi-volumesnapshot-class"));
    }
    if let Some(c) = of_driver.iter().find(|c| annotation(c, DEFAULT_ANNOTATION).is_some()) {
        return Some((c, "annotation snapshot.storage.kubernetes.io/is-default-class"));
    }
    if of_driver.len() == 1 {
        return Some((of_driver[0], "the only class of the driver"));
    }
    None
}

/// A class named by an annotation, as Velero resolves it: by name (case-insensitive), then driver.
enum Named<'a> {
    Ok(&'a Value),
    Missing,
    OtherDriver(&'a Value),
}

fn resolve_named<'a>(name: &str, driver: &str, classes: &[&'a Value]) -> Named<'a> {
    match classes.iter().find(|c| name_of(c).eq_ignore_ascii_case(name)) {
        None => Named::Missing,
        Some(c) if str_at(c, "/driver").is_some_and(|d| d.eq_ignore_ascii_case(driver)) => Named::Ok(c),
        Some(c) => Named::OtherDriver(c),
    }
}

/// A VolumeSnapshotClass Velero will pick for `driver`, as YAML lines (no trailing newline).
fn class_yaml(driver: &str, indent: &str) -> String {
    let lines = [
        "apiVersion: snapshot.storage.k8s.io/v1".to_string(),
        "kind: VolumeSnapshotClass".to_string(),
        "metadata:".to_string(),
        format!("  name: velero-{}", driver.replace('.', "-")),
        "  labels:".to_string(),
        format!("    {CLASS_LABEL}: \"true\""),
        format!("driver: {driver}"),
        "deletionPolicy: Delete".to_string(),
    ];
    lines.iter().enumerate().map(|(i, l)| if i == 0 { format!("{indent}- {l}") } else { format!("{indent}  {l}") }).collect::<Vec<_>>().join("\n")
}

/// The fix for a driver without a usable class.
fn class_fix(driver: &str, helm: bool) -> String {
    if helm {
        format!("add a labelled class to the Helm values and `helm upgrade`:\nextraObjects:\n{}", class_yaml(driver, "  "))
    } else {
        let yaml = class_yaml(driver, "").trim_start_matches("- ").replace("\n  ", "\n");
        format!("label one class: `kubectl label volumesnapshotclass <name> {CLASS_LABEL}=true`, or create one: kubectl apply -f - <<'EOF'\n{yaml}\nEOF")
    }
}

pub fn class(ctx: &Ctx) -> Verdict {
    let in_use = match csi_in_use(ctx) {
        Ok(u) => u,
        Err(v) => return v,
    };
    if in_use.volumes.is_empty() {
        return Verdict::skip("no Bound PVC is backed by a CSI volume: there is nothing for Velero to snapshot through CSI").details(in_use.notes);
    }
    let drivers = in_use.by_driver();
    let classes_read = match &ctx.facts.kube.volume_snapshot_classes {
        Ok(c) => c,
        Err(e) if e.kind == ReadErrorKind::NotServed => {
            return Verdict::fail("the VolumeSnapshotClass API (snapshot.storage.k8s.io/v1) is not served: Velero cannot take CSI snapshots")
                .detail(format!("CSI drivers in use: {}", drivers.keys().copied().collect::<Vec<_>>().join(", ")))
                .hint("install the external-snapshotter CRDs and the snapshot-controller (kubernetes-csi/external-snapshotter: client/config/crd and deploy/kubernetes/snapshot-controller); see csi.driver")
                .evidence("read", e);
        }
        Err(e) => return read_failed(e),
    };
    let mut classes: Vec<&Value> = classes_read.iter().collect();
    classes.sort_by(|a, b| name_of(a).cmp(name_of(b))); // the API server's list order
    let ns = ctx.namespace().to_string();
    let helm = by_helm(ctx);
    let schedules: Vec<&Value> = ctx.facts.kube.schedules.as_ref().map(|s| s.iter().collect()).unwrap_or_default();

    let mut findings = Vec::new();
    let mut notes = in_use.notes.clone();
    let mut evidence = Vec::new();
    let mut picks = Vec::new();

    for (driver, vols) in &drivers {
        let of_driver: Vec<&Value> = classes.iter().copied().filter(|c| str_at(c, "/driver") == Some(*driver)).collect();
        let pick = default_pick(driver, &classes);
        let fix = class_fix(driver, helm);

        // Typos that keep Velero from seeing a label, and classes for a mistyped driver name.
        let mut typos = Vec::new();
        for c in &classes {
            let cdriver = str_at(c, "/driver").unwrap_or("");
            if cdriver == *driver {
                for (k, _) in labels(c) {
                    if near_miss(k, CLASS_LABEL) {
                        typos.push(format!("class {} has the label key {k:?}: did you mean {CLASS_LABEL:?}?", name_of(c)));
                    }
                }
                for (k, _) in annotations(c) {
                    if k == CLASS_LABEL || near_miss(k, CLASS_LABEL) {
                        typos.push(format!("class {} carries {k:?} as an annotation; Velero looks for the label {CLASS_LABEL:?}", name_of(c)));
                    }
                }
            } else if !drivers.contains_key(cdriver) && !cdriver.is_empty() && (levenshtein(cdriver, driver) <= 3 || (cdriver.len() >= 4 && driver.starts_with(cdriver))) {
                typos.push(format!("class {} is for driver {cdriver:?}: did you mean {driver:?}?", name_of(c)));
            }
        }

        let labelled: Vec<&str> = of_driver.iter().filter(|c| has_label(c, CLASS_LABEL)).map(|c| name_of(c)).collect();
        let class_names: Vec<&str> = of_driver.iter().map(|c| name_of(c)).collect();

        // Per-PVC annotations (rule 1).
        let mut uncovered = 0;
        let mut pvc_overrides = Vec::new();
        for v in vols {
            match annotation(v.pvc, CLASS_LABEL) {
                Some(want) => match resolve_named(want, driver, &classes) {
                    Named::Ok(c) => {
                        pvc_overrides.push(json!({"pvc": v.id, "class": name_of(c)}));
                        notes.push(format!("{}: uses class {} (PVC annotation)", v.id, name_of(c)));
                    }
                    bad => {
                        let why = match bad {
                            Named::OtherDriver(c) => format!("class {} is for driver {}", name_of(c), str_at(c, "/driver").unwrap_or("?")),
                            _ => format!("no VolumeSnapshotClass is named {want:?}"),
                        };
                        match pick {
                            Some((c, rule)) => findings.push(
                                Finding::new(Status::Warn, format!("PVC {} asks for VolumeSnapshotClass {want:?} but {why}; Velero ignores the annotation and uses {}", v.id, name_of(c)))
                                    .detail(format!("{}: annotation {CLASS_LABEL}={want}; fallback {} by {rule}", v.id, name_of(c)))
                                    .hint(format!("fix the annotation: `kubectl -n {} annotate pvc {} {CLASS_LABEL}=<class of {driver}> --overwrite` (classes: {})", str_at(v.pvc, "/metadata/namespace").unwrap_or(""), name_of(v.pvc), class_names.join(", "))),
                            ),
                            None => {
                                uncovered += 1;
                                findings.push(
                                    Finding::new(Status::Fail, format!("PVC {} asks for VolumeSnapshotClass {want:?} but {why}, and no other class of {driver} qualifies", v.id))
                                        .detail(format!("{}: annotation {CLASS_LABEL}={want}", v.id))
                                        .hint(format!("fix the annotation or create the class: `kubectl -n {} annotate pvc {} {CLASS_LABEL}=<class> --overwrite`", str_at(v.pvc, "/metadata/namespace").unwrap_or(""), name_of(v.pvc))),
                                );
                            }
                        }
                    }
                },
                None => {
                    if pick.is_none() {
                        uncovered += 1;
                    }
                }
            }
        }

        // Schedule annotations (rule 2, copied onto every Backup the schedule makes).
        let key = format!("{CLASS_LABEL}_{}", driver.to_lowercase());
        let mut sched_ok = 0;
        let mut sched_overrides = Vec::new();
        for s in &schedules {
            let Some(want) = annotation(s, &key) else { continue };
            match resolve_named(want, driver, &classes) {
                Named::Ok(c) => {
                    sched_ok += 1;
                    sched_overrides.push(json!({"schedule": name_of(s), "class": name_of(c)}));
                    notes.push(format!("schedule {}: its backups use class {} for {driver} (Schedule annotation)", name_of(s), name_of(c)));
                }
                bad => {
                    let why = match bad {
                        Named::OtherDriver(c) => format!("class {} is for driver {}", name_of(c), str_at(c, "/driver").unwrap_or("?")),
                        _ => format!("no VolumeSnapshotClass is named {want:?}"),
                    };
                    let fallback = pick.map(|(c, r)| format!("Velero ignores it and uses {} ({r})", name_of(c))).unwrap_or_else(|| "Velero ignores it and finds no other class".into());
                    findings.push(
                        Finding::new(if pick.is_some() { Status::Warn } else { Status::Fail }, format!("schedule {} names VolumeSnapshotClass {want:?} for {driver} but {why}; {fallback}", name_of(s)))
                            .detail(format!("schedule {}: annotation {key}={want}", name_of(s)))
                            .hint(format!("`kubectl -n {ns} annotate schedule {} {key}=<class> --overwrite` (classes of {driver}: {})", name_of(s), class_names.join(", "))),
                    );
                }
            }
        }

        match pick {
            Some((c, rule)) => {
                picks.push(format!("{driver} → {} ({rule}) for {} PVC{}", name_of(c), vols.len(), if vols.len() == 1 { "" } else { "s" }));
                if labelled.len() > 1 {
                    findings.push(
                        Finding::new(Status::Warn, format!("{} VolumeSnapshotClasses of {driver} carry the label {CLASS_LABEL}: Velero silently takes the first, {}", labelled.len(), name_of(c)))
                            .detail(format!("{driver}: labelled classes in list order: {}", labelled.join(", ")))
                            .hint(format!("keep the label on one class: `kubectl label volumesnapshotclass <other> {CLASS_LABEL}-`{}", if helm { " (and in the Helm `extraObjects`)" } else { "" })),
                    );
                }
                if rule.starts_with("annotation") {
                    let value = annotation(c, DEFAULT_ANNOTATION).unwrap_or("");
                    if value != "true" {
                        notes.push(format!("{driver}: {} has {DEFAULT_ANNOTATION}={value:?}; Velero only checks that the key is present", name_of(c)));
                    }
                }
                if rule.starts_with("the only") {
                    if typos.is_empty() {
                        notes.push(format!("{driver}: {} is picked only because it is the only class of the driver; a second class would break backups unless one carries the label {CLASS_LABEL}", name_of(c)));
                    } else {
                        findings.push(
                            Finding::new(Status::Warn, format!("{driver}: {} is used only because it is the only class; its Velero label is misspelled", name_of(c)))
                                .details(typos.clone())
                                .hint(format!("fix the label: `kubectl label volumesnapshotclass {} {CLASS_LABEL}=true`{}", name_of(c), if helm { " (and in the Helm `extraObjects`)" } else { "" })),
                        );
                        typos.clear();
                    }
                } else if !typos.is_empty() {
                    notes.extend(typos.iter().map(|t| format!("{driver}: {t}")));
                    typos.clear();
                }
            }
            None if uncovered > 0 => {
                let all_scheduled = !schedules.is_empty() && sched_ok == schedules.len();
                let mut f = Finding::new(
                    if all_scheduled { Status::Warn } else { Status::Fail },
                    format!("failed to get VolumeSnapshotClass for provisioner {driver}: Velero will not snapshot {} PVC(s){}", vols.len(), if all_scheduled { " in manual backups" } else { "" }),
                )
                .detail(format!(
                    "{driver}: classes of this driver: {}; none has the label {CLASS_LABEL}, none has the annotation {DEFAULT_ANNOTATION}, and there is not exactly one",
                    if class_names.is_empty() { "none".to_string() } else { class_names.join(", ") }
                ))
                .detail(format!("{driver}: PVCs: {}", vols.iter().map(|v| v.id.as_str()).collect::<Vec<_>>().join(", ")));
                f = f.details(typos.clone());
                f = f.hint(if typos.is_empty() { fix.clone() } else { format!("fix the misspelled label or driver named above; or {fix}") });
                findings.push(f);
                picks.push(format!("{driver} → none"));
            }
            None => picks.push(format!("{driver} → per-PVC annotations only")),
        }

        evidence.push(json!({
            "driver": driver,
            "class": pick.map(|(c, _)| name_of(c)),
            "rule": pick.map(|(_, r)| r),
            "pvcs": vols.len(),
            "classes": class_names,
            "labelled": labelled,
            "pvcOverrides": pvc_overrides,
            "scheduleOverrides": sched_overrides,
        }));
    }

    combine(format!("Velero picks {}", picks.join("; ")), findings, notes).evidence("drivers", evidence)
}

// ---------------------------------------------------------------------------------------------
// csi.driver
// ---------------------------------------------------------------------------------------------

fn containers(d: &Value) -> impl Iterator<Item = &Value> {
    d.pointer("/spec/template/spec/containers").and_then(Value::as_array).into_iter().flatten()
}

fn is_snapshot_controller(d: &Value) -> bool {
    let label = |k: &str| str_at(d, &format!("/metadata/labels/{}", k.replace('/', "~1")));
    label("app.kubernetes.io/name") == Some("snapshot-controller")
        || label("app") == Some("snapshot-controller")
        || name_of(d).contains("snapshot-controller")
        || containers(d).any(|c| str_at(c, "/image").is_some_and(|i| i.contains("snapshot-controller")))
}

fn ready_replicas(d: &Value) -> i64 {
    let r = d.pointer("/status/readyReplicas").and_then(Value::as_i64).unwrap_or(0);
    let a = d.pointer("/status/availableReplicas").and_then(Value::as_i64).unwrap_or(0);
    r.max(a)
}

fn has_snapshotter(d: &Value) -> bool {
    containers(d).any(|c| str_at(c, "/name") == Some("csi-snapshotter") || str_at(c, "/image").is_some_and(|i| i.contains("csi-snapshotter")))
}

/// How many backups of each active schedule exist at once (ttl / interval), for the vSphere limit.
fn retained_per_schedule(ctx: &Ctx) -> Vec<(String, f64)> {
    let flags = ctx.server_flags();
    let default_ttl = flags.get("default-backup-ttl").and_then(|t| parse_go_duration(t)).unwrap_or(720.0 * 3600.0);
    let move_default = crate::velero::flag_true(&flags, "default-snapshot-move-data");
    let Ok(schedules) = &ctx.facts.kube.schedules else { return Vec::new() };
    schedules
        .iter()
        .filter(|s| s.pointer("/spec/paused").and_then(Value::as_bool) != Some(true))
        .filter(|s| s.pointer("/spec/template/snapshotVolumes").and_then(Value::as_bool) != Some(false))
        .filter(|s| !s.pointer("/spec/template/snapshotMoveData").and_then(Value::as_bool).unwrap_or(move_default))
        .filter_map(|s| {
            let interval = schedule_interval(str_at(s, "/spec/schedule")?).ok()?;
            let ttl = str_at(s, "/spec/template/ttl").and_then(parse_go_duration).filter(|t| *t > 0.0).unwrap_or(default_ttl);
            Some((name_of(s).to_string(), (ttl / interval).ceil()))
        })
        .collect()
}

pub fn driver(ctx: &Ctx) -> Verdict {
    let in_use = match csi_in_use(ctx) {
        Ok(u) => u,
        Err(v) => return v,
    };
    if in_use.volumes.is_empty() {
        return Verdict::skip("no Bound PVC is backed by a CSI volume: no CSI snapshot stack is needed").details(in_use.notes);
    }
    let drivers: Vec<String> = in_use.by_driver().keys().map(|d| d.to_string()).collect();
    let csi_drivers = crate::need!(&ctx.facts.kube.csi_drivers);
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    let mut findings = Vec::new();
    let mut notes = in_use.notes.clone();

    // The CSIDriver objects.
    for d in &drivers {
        if !csi_drivers.iter().any(|c| name_of(c) == d) {
            findings.push(
                Finding::new(Status::Fail, format!("no CSIDriver object {d}: volumes of that driver exist but the driver is not registered"))
                    .detail(format!("CSIDriver objects: {}", csi_drivers.iter().map(name_of).collect::<Vec<_>>().join(", ")))
                    .hint(if d == VSPHERE { "install or repair the vSphere CSI driver (kubernetes-sigs/vsphere-csi-driver manifests for your release, namespace vmware-system-csi)".to_string() } else { format!("install or repair the CSI driver {d}") }),
            );
        }
    }

    // The snapshot API.
    let api_served = match &ctx.facts.kube.api_groups {
        Ok(groups) => Some(groups.iter().any(|g| g.name == "snapshot.storage.k8s.io" && g.versions.iter().any(|v| v == "v1"))),
        Err(e) => {
            notes.push(format!("API groups unreadable: {}", e.explain()));
            None
        }
    };
    if api_served == Some(false) {
        findings.push(
            Finding::new(Status::Fail, "snapshot.storage.k8s.io/v1 is not served: the VolumeSnapshot CRDs are not installed")
                .hint("install the CRDs from kubernetes-csi/external-snapshotter (client/config/crd) matching your snapshot-controller version"),
        );
    }

    // The snapshot-controller.
    let controllers: Vec<&Value> = deployments.iter().filter(|d| is_snapshot_controller(d)).collect();
    let ready: Vec<&&Value> = controllers.iter().filter(|d| ready_replicas(d) > 0).collect();
    let controller_ev: Vec<Value> = controllers
        .iter()
        .map(|d| json!({"namespace": str_at(d, "/metadata/namespace"), "name": name_of(d), "ready": ready_replicas(d), "replicas": d.pointer("/spec/replicas")}))
        .collect();
    if controllers.is_empty() {
        findings.push(
            Finding::new(Status::Fail, "no snapshot-controller Deployment: VolumeSnapshots are never turned into snapshots")
                .detail("looked for Deployments labelled app.kubernetes.io/name=snapshot-controller or app=snapshot-controller, named *snapshot-controller*, or running a snapshot-controller image, in every namespace".to_string())
                .hint("deploy it: `kubectl apply -k https://github.com/kubernetes-csi/external-snapshotter/deploy/kubernetes/snapshot-controller` (with the CRDs of the same release)"),
        );
    } else if ready.is_empty() {
        let names: Vec<String> = controllers.iter().map(|d| format!("{}/{} ({}/{} ready)", str_at(d, "/metadata/namespace").unwrap_or("?"), name_of(d), ready_replicas(d), d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1))).collect();
        findings.push(
            Finding::new(Status::Fail, format!("the snapshot-controller is not ready: {}", names.join(", ")))
                .hint(format!("`kubectl -n {} describe deployment {}` and its pods' events and logs", str_at(controllers[0], "/metadata/namespace").unwrap_or("kube-system"), name_of(controllers[0]))),
        );
    } else {
        notes.push(format!("snapshot-controller: {}", ready.iter().map(|d| format!("{}/{} ({} ready)", str_at(d, "/metadata/namespace").unwrap_or("?"), name_of(d), ready_replicas(d))).collect::<Vec<_>>().join(", ")));
    }

    // vSphere: the controller needs its csi-snapshotter sidecar.
    let mut vsphere_ev = Value::Null;
    if drivers.iter().any(|d| d == VSPHERE) {
        let ctl = deployments.iter().find(|d| name_of(d) == "vsphere-csi-controller");
        match ctl {
            Some(c) if !has_snapshotter(c) => findings.push(
                Finding::new(Status::Fail, "the vsphere-csi-controller has no csi-snapshotter sidecar: snapshots are disabled in the vSphere CSI driver")
                    .detail(format!("{}/vsphere-csi-controller containers: {}", str_at(c, "/metadata/namespace").unwrap_or("?"), containers(c).filter_map(|x| str_at(x, "/name")).collect::<Vec<_>>().join(", ")))
                    .hint("enable snapshots: set `block-volume-snapshot: \"true\"` in the ConfigMap internal-feature-states.csi.vsphere.vmware.com (namespace vmware-system-csi) and deploy the csi-snapshotter sidecar (vsphere-csi-driver's deploy-csi-snapshot-components.sh)"),
            ),
            Some(c) => notes.push(format!("{}/vsphere-csi-controller runs the csi-snapshotter sidecar", str_at(c, "/metadata/namespace").unwrap_or("?"))),
            None => notes.push("vsphere-csi-controller Deployment not visible (managed control plane?): its csi-snapshotter sidecar was not checked".into()),
        }
        let retained = retained_per_schedule(ctx);
        let over: Vec<String> = retained.iter().filter(|(_, n)| *n > 3.0).map(|(s, n)| format!("{s} keeps about {n} backups")).collect();
        if !over.is_empty() {
            notes.push(format!(
                "vSphere limit: each backup keeps one snapshot per volume until it expires; {}; vSphere CSI allows global-max-snapshots-per-block-volume snapshots per volume (default 3, secret vsphere-config-secret, csi-vsphere.conf [Snapshot]); if snapshots fail with \"reaches the configured maximum\", raise it or shorten the ttl",
                over.join(", ")
            ));
        }
        vsphere_ev = json!({
            "controllerHasSnapshotter": ctl.map(has_snapshotter),
            "retainedBackupsPerSchedule": retained.iter().map(|(s, n)| json!({"schedule": s, "retained": n})).collect::<Vec<_>>(),
            "defaultMaxSnapshotsPerVolume": 3,
        });
    }

    let ok = format!("CSIDriver{} {}, snapshot CRDs and a ready snapshot-controller are present", if drivers.len() == 1 { "" } else { "s" }, drivers.join(", "));
    combine(ok, findings, notes)
        .evidence("drivers", &drivers)
        .evidence("snapshotApiServed", api_served)
        .evidence("snapshotControllers", controller_ev)
        .evidence("vsphere", vsphere_ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Facts, HelmRelease};

    fn pv(name: &str, driver: &str) -> Value {
        json!({"metadata": {"name": name}, "spec": {"csi": {"driver": driver, "volumeHandle": "h"}, "storageClassName": "vsphere-sc"}, "status": {"phase": "Bound"}})
    }

    fn pvc(ns: &str, name: &str, volume: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": ns}, "spec": {"storageClassName": "vsphere-sc", "volumeName": volume}, "status": {"phase": "Bound"}})
    }

    fn vsc(name: &str, driver: &str, labels: Value) -> Value {
        json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass", "metadata": {"name": name, "labels": labels}, "driver": driver, "deletionPolicy": "Delete"})
    }

    fn deployment(ns: &str, name: &str, labels: Value, containers: Value, ready: i64) -> Value {
        json!({"metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}}, "status": {"readyReplicas": ready, "availableReplicas": ready}})
    }

    fn healthy() -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.persistent_volumes = Ok(vec![pv("pv-a", VSPHERE), pv("pv-b", VSPHERE)]);
        f.kube.persistent_volume_claims = Ok(vec![pvc("shop", "data", "pv-a"), pvc("shop", "uploads", "pv-b")]);
        f.kube.storage_classes = Ok(vec![json!({"metadata": {"name": "vsphere-sc"}, "provisioner": VSPHERE})]);
        f.kube.volume_snapshot_classes = Ok(vec![vsc("velero-vsphere-snapshot-class", VSPHERE, json!({CLASS_LABEL: "true"}))]);
        f.kube.csi_drivers = Ok(vec![json!({"metadata": {"name": VSPHERE}})]);
        f.kube.deployments = Ok(vec![
            deployment("kube-system", "snapshot-controller", json!({"app.kubernetes.io/name": "snapshot-controller"}), json!([{"name": "snapshot-controller", "image": "registry.k8s.io/sig-storage/snapshot-controller:v8.2.0"}]), 2),
            deployment("vmware-system-csi", "vsphere-csi-controller", json!({"app": "vsphere-csi-controller"}), json!([{"name": "vsphere-csi-controller", "image": "x"}, {"name": "csi-snapshotter", "image": "registry.k8s.io/sig-storage/csi-snapshotter:v8.2.0"}]), 1),
        ]);
        f.kube.schedules = Ok(vec![json!({"metadata": {"name": "daily"}, "spec": {"schedule": "0 2 * * *", "template": {"ttl": "720h0m0s"}}})]);
        f
    }

    fn text(v: &Verdict) -> String {
        format!("{} {} {}", v.summary, v.details.join(" "), v.hint.clone().unwrap_or_default()).to_lowercase()
    }

    fn run(f: &Facts, judge: fn(&Ctx) -> Verdict) -> Verdict {
        judge(&Ctx::new(f, &[]))
    }

    #[test]
    fn healthy_cluster_is_ok_everywhere() {
        let f = healthy();
        let v = run(&f, class);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.evidence["drivers"][0]["class"], "velero-vsphere-snapshot-class");
        assert_eq!(v.evidence["drivers"][0]["rule"], "label velero.io/csi-volumesnapshot-class");
        let v = run(&f, driver);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("global-max-snapshots-per-block-volume"), "the vSphere limit is a detail: {v:?}");
        let v = run(&f, vsl);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("none needed for CSI"));
    }

    #[test]
    fn no_csi_volumes_skip() {
        let mut f = healthy();
        f.kube.persistent_volume_claims = Ok(vec![]);
        assert_eq!(run(&f, class).status, Status::Skip);
        assert_eq!(run(&f, driver).status, Status::Skip);
        // Non-CSI PVs are not counted.
        let mut f = healthy();
        f.kube.persistent_volumes = Ok(vec![json!({"metadata": {"name": "pv-a"}, "spec": {"nfs": {"server": "x"}}}), json!({"metadata": {"name": "pv-b"}, "spec": {"hostPath": {"path": "/x"}}})]);
        assert_eq!(run(&f, class).status, Status::Skip);
    }

    #[test]
    fn label_typo_with_a_second_class_fails_with_did_you_mean() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(vec![
            vsc("velero-vsphere-snapshot-class", VSPHERE, json!({"velero.io/csi-volumesnapshot-cl": "true"})),
            vsc("vsphere-default", VSPHERE, json!({})),
        ]);
        let v = run(&f, class);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(t.contains("failed to get volumesnapshotclass for provisioner csi.vsphere.vmware.com"), "{t}");
        assert!(t.contains("did you mean"), "{t}");
    }

    #[test]
    fn label_typo_on_the_only_class_warns() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(vec![vsc("velero-vsphere-snapshot-class", VSPHERE, json!({"velero.io/csi-volumesnapshot-cl": "true"}))]);
        let v = run(&f, class);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("did you mean"));
        assert_eq!(v.evidence["drivers"][0]["rule"], "the only class of the driver");
    }

    #[test]
    fn driver_typo_is_named() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(vec![vsc("velero-vsphere-snapshot-class", "csi.vspher", json!({CLASS_LABEL: "true"}))]);
        let v = run(&f, class);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("did you mean \"csi.vsphere.vmware.com\""), "{v:?}");
    }

    #[test]
    fn two_labelled_classes_warn_and_name_the_winner() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(vec![vsc("b-class", VSPHERE, json!({CLASS_LABEL: "true"})), vsc("a-class", VSPHERE, json!({CLASS_LABEL: "yes"}))]);
        let v = run(&f, class);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("silently takes the first, a-class"), "{v:?}");
    }

    #[test]
    fn default_annotation_and_only_class_rules() {
        let mut f = healthy();
        let mut d = vsc("vsphere-default", VSPHERE, json!({}));
        d["metadata"]["annotations"] = json!({DEFAULT_ANNOTATION: "true"});
        f.kube.volume_snapshot_classes = Ok(vec![vsc("other", VSPHERE, json!({})), d]);
        let v = run(&f, class);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.evidence["drivers"][0]["class"], "vsphere-default");
        f.kube.volume_snapshot_classes = Ok(vec![vsc("only", VSPHERE, json!({}))]);
        let v = run(&f, class);
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.evidence["drivers"][0]["rule"], "the only class of the driver");
    }

    #[test]
    fn no_class_fails_with_velero_text_and_helm_fix() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Ok(vec![vsc("other-driver", "disk.csi.azure.com", json!({CLASS_LABEL: "true"}))]);
        let v = run(&f, class);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("failed to get volumesnapshotclass for provisioner csi.vsphere.vmware.com"));
        assert!(t.contains("velero.io/csi-volumesnapshot-class: \"true\"") && t.contains("kubectl apply -f -"), "the fix has the YAML: {t}");
        assert_eq!(class_fix("csi.vsphere.vmware.com", true).lines().nth(2), Some("  - apiVersion: snapshot.storage.k8s.io/v1"));
    }

    #[test]
    fn pvc_annotation_rules() {
        let mut f = healthy();
        let mut claims = vec![pvc("shop", "data", "pv-a"), pvc("shop", "uploads", "pv-b")];
        claims[0]["metadata"]["annotations"] = json!({CLASS_LABEL: "does-not-exist"});
        f.kube.persistent_volume_claims = Ok(claims.clone());
        let v = run(&f, class);
        assert_eq!(v.status, Status::Warn, "Velero falls back: {v:?}");
        assert!(text(&v).contains("ignores the annotation"));
        // Without a fallback, the PVC cannot be snapshotted.
        f.kube.volume_snapshot_classes = Ok(vec![]);
        assert_eq!(run(&f, class).status, Status::Fail);
        // A valid annotation is used (case-insensitive name).
        let mut f = healthy();
        claims[0]["metadata"]["annotations"] = json!({CLASS_LABEL: "VELERO-vsphere-snapshot-class"});
        f.kube.persistent_volume_claims = Ok(claims);
        assert_eq!(run(&f, class).status, Status::Ok);
    }

    #[test]
    fn schedule_annotation_naming_a_missing_class_warns() {
        let mut f = healthy();
        f.kube.schedules = Ok(vec![json!({"metadata": {"name": "daily", "annotations": {"velero.io/csi-volumesnapshot-class_csi.vsphere.vmware.com": "gone"}}, "spec": {"schedule": "@daily"}})]);
        let v = run(&f, class);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("schedule daily names"));
    }

    #[test]
    fn unreadable_snapshot_classes_is_an_error_naming_the_read() {
        let mut f = healthy();
        f.kube.volume_snapshot_classes = Err(crate::facts::ReadError::forbidden("list", "volumesnapshotclasses.snapshot.storage.k8s.io", None));
        let v = run(&f, class);
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.contains("list volumesnapshotclasses"));
        // PVs unreadable: fall back to StorageClasses.
        let mut f = healthy();
        f.kube.persistent_volumes = Err(crate::facts::ReadError::forbidden("list", "persistentvolumes", None));
        let v = run(&f, class);
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn driver_stack_failures() {
        let mut f = healthy();
        f.kube.deployments = Ok(vec![]);
        let v = run(&f, driver);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("no snapshot-controller"));

        let mut f = healthy();
        if let Ok(ds) = &mut f.kube.deployments {
            ds[0]["status"] = json!({"readyReplicas": 0});
            ds[1]["spec"]["template"]["spec"]["containers"] = json!([{"name": "vsphere-csi-controller", "image": "x"}]);
        }
        let v = run(&f, driver);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("not ready") && t.contains("csi-snapshotter"), "{t}");

        let mut f = healthy();
        f.kube.csi_drivers = Ok(vec![]);
        f.kube.api_groups = Ok(vec![]);
        let v = run(&f, driver);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("no csidriver object") && t.contains("snapshot.storage.k8s.io/v1 is not served"), "{t}");
    }

    fn release(values: Value, status: &str) -> HelmRelease {
        HelmRelease { name: "velero".into(), revision: 3, status: status.into(), chart: "velero".into(), chart_version: "12.0.0".into(), app_version: "1.17.1".into(), user_values: values, decode_error: None }
    }

    fn helm_facts(values: Value, status: &str) -> Facts {
        let mut f = healthy();
        if let Ok(ds) = &mut f.kube.deployments {
            ds.push(json!({"metadata": {"name": "velero", "namespace": "velero", "labels": {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "velero"}, "annotations": {"meta.helm.sh/release-name": "velero"}},
                "spec": {"template": {"spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.17.1", "args": ["server"]}]}}}}));
        }
        f.kube.helm_releases = Ok(vec![release(values, status)]);
        f
    }

    #[test]
    fn vsl_empty_provider_in_helm_values_fails_with_the_value_to_change() {
        let f = helm_facts(json!({"configuration": {"volumeSnapshotLocation": [{"name": "default", "provider": ""}]}}), "deployed");
        let v = run(&f, vsl);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(t.contains("spec.provider: required value") && t.contains("configuration.volumesnapshotlocation: []"), "{t}");
        // Corrected values are fine; the chart default is only judged when the release failed.
        assert_eq!(run(&helm_facts(json!({"configuration": {"volumeSnapshotLocation": []}}), "deployed"), vsl).status, Status::Ok);
        assert_eq!(run(&helm_facts(json!({"snapshotsEnabled": false, "configuration": {"volumeSnapshotLocation": [{"name": "x"}]}}), "deployed"), vsl).status, Status::Ok);
        assert_eq!(run(&helm_facts(json!({}), "deployed"), vsl).status, Status::Ok);
        assert_eq!(run(&helm_facts(json!({}), "failed"), vsl).status, Status::Fail);
        // A failed upgrade after a good deployed revision is judged on its own values.
        let mut f = helm_facts(json!({"configuration": {"volumeSnapshotLocation": []}}), "deployed");
        if let Ok(rs) = &mut f.kube.helm_releases {
            let mut bad = release(json!({"configuration": {"volumeSnapshotLocation": [{"name": "default", "provider": null}]}}), "failed");
            bad.revision = 4;
            rs.insert(0, bad);
        }
        let v = run(&f, vsl);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(text(&v).contains("revision 4 (failed)"), "{v:?}");
    }

    #[test]
    fn vsl_objects() {
        let mut f = healthy();
        f.kube.volume_snapshot_locations = Ok(vec![json!({"metadata": {"name": "default"}, "spec": {"provider": "community.openstack.org/openstack-cinder"}})]);
        let v = run(&f, vsl);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("not needed"));
        f.kube.volume_snapshot_locations = Ok(vec![json!({"metadata": {"name": "default"}, "spec": {}})]);
        assert_eq!(run(&f, vsl).status, Status::Fail);
        f.kube.volume_snapshot_locations = Ok(vec![json!({"metadata": {"name": "default"}, "spec": {"provider": "velero.io/aws"}, "status": {"phase": "Unavailable", "message": "boom"}})]);
        let v = run(&f, vsl);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("boom"));
    }

    #[test]
    fn near_misses() {
        assert!(near_miss("velero.io/csi-volumesnapshot-cl", CLASS_LABEL));
        assert!(near_miss("velero.io/csi-volumesnapshotclass", CLASS_LABEL));
        assert!(near_miss("velero/csi-volumesnapshot-class", CLASS_LABEL));
        assert!(!near_miss(CLASS_LABEL, CLASS_LABEL));
        assert!(!near_miss("app.kubernetes.io/managed-by", CLASS_LABEL));
    }
}
