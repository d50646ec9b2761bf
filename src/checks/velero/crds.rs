//! velero.crds: Velero's installed CRDs match the server's version. Every CRD that version declares is
//! installed and serves its version, and each enum of its schema admits the values the server's own CRDs
//! declare (the table of `upstream::velero_crds`, generated from Velero's CRD files at each release tag).
//! Helm installs CRDs once and never upgrades them, so an upgraded server writes values the old schemas
//! reject: Backups stay `New`, the log says `status.phase: Unsupported value: "Queued"`.

use crate::checks::findings::{agree, combine, plural, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{InstalledCrd, List, Object};
use crate::model::{Status, Verdict};
use crate::upstream::velero_crds::{self as table, Crd, Lookup, Release};
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "velero.crds", category: Velero, severity: Critical,
    title: "Velero's CRDs match the server",
    depends_on: ["kube.connect"], needs: [Deployments, VeleroCrds],
    explains: [
        ["unsupported value"] => "the installed CRDs reject a value this server writes (Helm never upgrades CRDs): its updates fail and Backups stay New",
    ],
    judge: judge,
};

/// A value the server writes that the installed schema refuses.
#[derive(Debug)]
pub struct Rejected {
    pub crd: &'static Crd,
    pub path: &'static str,
    pub values: Vec<&'static str>,
}

/// How the installed CRDs differ from what a release declares.
#[derive(Debug, Default)]
pub struct Skew {
    /// Not installed at all.
    pub missing: Vec<&'static Crd>,
    /// Installed, but the version the server uses is not served.
    pub not_served: Vec<&'static Crd>,
    pub rejected: Vec<Rejected>,
    /// Enum fields the release declares that the installed schema does not know: the API server
    /// drops them from what the server writes (pruning), silently.
    pub unknown: Vec<(&'static Crd, &'static str)>,
}

impl Skew {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.not_served.is_empty() && self.rejected.is_empty() && self.unknown.is_empty()
    }
}

/// Compares the installed CRDs with what `release` declares.
pub fn compare(release: &Release, installed: &[InstalledCrd]) -> Skew {
    let mut skew = Skew::default();
    for crd in release.crds {
        let Some(found) = installed.iter().find(|c| c.name() == crd.name) else {
            skew.missing.push(crd);
            continue;
        };
        let Some(version) = found.version(crd.version).filter(|v| v.served) else {
            skew.not_served.push(crd);
            continue;
        };
        for field in crd.enums {
            match version.enums.get(field.path) {
                Some(admitted) => {
                    let values: Vec<&'static str> = field.values.iter().copied().filter(|v| !admitted.iter().any(|a| a == v)).collect();
                    if !values.is_empty() {
                        skew.rejected.push(Rejected { crd, path: field.path, values });
                    }
                }
                None => skew.unknown.push((crd, field.path)),
            }
        }
    }
    skew
}

/// The release whose CRDs the installed ones are exactly (every enum equal), when there is one.
fn matching_release(installed: &[InstalledCrd]) -> Option<&'static Release> {
    table::releases().iter().rev().find(|r| {
        compare(r, installed).is_empty()
            && r.crds.iter().all(|crd| {
                let version = installed.iter().find(|c| c.name() == crd.name).and_then(|c| c.version(crd.version));
                crd.enums.iter().all(|f| version.and_then(|v| v.enums.get(f.path)).is_some_and(|a| a.len() == f.values.len()))
            })
    })
}

fn quoted(values: &[&str]) -> String {
    values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
}

/// What the user sees when the server's write of a value is refused.
fn symptom(r: &Rejected) -> String {
    let first = r.values.first().copied().unwrap_or_default();
    match (r.crd.name, r.path) {
        ("backups.velero.io", "status.phase") => format!("Backups stay New: the server's update to status.phase \"{first}\" is refused (\"Unsupported value\")"),
        ("restores.velero.io", "status.phase") => format!("Restores stay New: the server's update to status.phase \"{first}\" is refused (\"Unsupported value\")"),
        ("downloadrequests.velero.io", "spec.target.kind") => format!(
            "`velero backup describe --details`, `velero backup logs` and downloads that ask for \"{first}\" fail: the DownloadRequest is refused (\"Unsupported value\")"
        ),
        (_, p) if p.ends_with("phase") => format!("{} objects stay in their earlier phase: the update to {p} \"{first}\" is refused (\"Unsupported value\")", r.crd.kind),
        (_, p) => format!("writes of {p} \"{first}\" to {} objects are refused (\"Unsupported value\")", r.crd.kind),
    }
}

fn rejected_line(r: &Rejected, server: &str) -> String {
    format!("the installed {} rejects {} {} that Velero {server} writes", r.crd.name, r.path, quoted(&r.values))
}

/// The fix, for both ways of installing: the chart's CRD upgrade and `velero install --crds-only`.
fn fix(ctx: &Ctx, server: &str) -> String {
    let apply = format!("`velero install --crds-only --dry-run -o yaml | kubectl apply -f -` with the velero CLI of the server's version ({server}: `velero version --client-only`)");
    let by_helm = ctx.velero_deployment().and_then(crate::upstream::velero::helm_release_name).is_some();
    if by_helm {
        let ns = ctx.namespace();
        format!("Helm installs CRDs once and never upgrades them: keep the chart's `upgradeCRDs: true` (its hook Job runs `velero install --crds-only` of the server's image and applies the result) and run `helm upgrade` again (when it ran and failed, `kubectl -n {ns} get jobs,events | grep upgrade-crds` says why); or apply them yourself: {apply}")
    } else {
        format!("apply the CRDs of the server's version: {apply}; with the Helm chart, `upgradeCRDs: true` does this on every `helm upgrade`")
    }
}

/// Why Backups (`backups.velero.io`) or Restores (`restores.velero.io`) stay `New` when the installed
/// CRD of that kind rejects a phase the server writes: velero.operations says this instead of blaming
/// the server for not taking them up.
pub fn phase_rejected(ctx: &Ctx, crd_name: &str) -> Option<String> {
    let installed = ctx.facts.kube.velero_crds.as_ref().ok()?;
    let (_, Ok((tag, version))) = ctx.velero_version()? else { return None };
    let Lookup::Known { release, .. } = table::lookup(version) else { return None };
    let skew = compare(release, installed);
    if skew.missing.iter().chain(&skew.not_served).any(|c| c.name == crd_name) {
        return Some(format!("the CRD {crd_name} that Velero {tag} uses is not installed or not served"));
    }
    skew.rejected.iter().find(|r| r.crd.name == crd_name && r.path == "status.phase").map(|r| rejected_line(r, &tag))
}

fn judge(ctx: &Ctx) -> Verdict {
    if ctx.facts.kube.velero_crds.as_ref().is_err_and(|e| e.kind == crate::facts::ReadErrorKind::NotNeeded) {
        // Only a bundle written by a veldr before 0.3 lacks them: a live run reads what a check needs.
        return Verdict::skip("Velero's CRDs were not read (a bundle from an older veldr): collect again to judge them");
    }
    let crds = crate::need!(&ctx.facts.kube.velero_crds);
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    let ns = ctx.namespace();
    if crate::upstream::velero::find_deployment(deployments, ns).is_none() {
        return Verdict::skip(format!("no Velero Deployment in namespace {ns} (see velero.deployment): the server's version is not known"));
    }
    // A CRD that did not decode is named by the engine's malformed policy.
    judge_crds(ctx, crds)
}

fn judge_crds(ctx: &Ctx, crds: &List<InstalledCrd>) -> Verdict {
    let Some((image, version)) = ctx.velero_version() else {
        return Verdict::skip("the Velero Deployment has no server container image: its version is not known");
    };
    let (first, newest) = (table::TAGS_READ[0], table::NEWEST_TAG);
    let served = ctx.facts.kube.api_groups.as_ref().is_ok_and(|g| g.iter().any(|g| g.name == "velero.io"));
    if crds.is_empty() && crds.malformed.is_empty() && served {
        return Verdict::warn(format!("no CRD is labelled {}, though velero.io is served: Velero's CRDs were installed without Velero's labels, and veldr cannot compare them", crate::facts::crds::VELERO_CRD_LABEL))
            .hint("`kubectl get crd -o name | grep velero.io` lists them; reinstalling them as Velero does (`velero install --crds-only --dry-run -o yaml | kubectl apply -f -`) labels them")
            .evidence("image", &image);
    }
    let (tag, v) = match version {
        Ok(found) => found,
        Err(why) => {
            return Verdict::warn(format!("cannot tell the Velero server's version ({why}): its CRDs are not compared"))
                .hint("pin the server image to a version tag (velero/velero:vX.Y.Z)")
                .evidence("image", &image);
        }
    };
    let installed_as = matching_release(crds).map(|r| r.tag);
    let base = |v: Verdict| v.evidence("image", &image).evidence("server", &tag).evidence("installedMatch", installed_as);
    let release = match table::lookup(v) {
        Lookup::Known { release, newer_patch } => {
            let mut v = judge_release(ctx, crds, release, &tag);
            if newer_patch {
                v = v.detail(format!("Velero {tag} is newer than the newest release veldr's table read ({newest}): judged with {}'s CRDs", release.tag));
            }
            return base(v).evidence("table", release.tag);
        }
        Lookup::Older => {
            return base(Verdict::warn(format!("Velero {tag} is older than veldr's table ({first} … {newest}): not in veldr's table, its CRDs are not judged")))
                .hint("upgrade Velero (and its CRDs with it): releases before v1.9 are out of support");
        }
        Lookup::Newer => table::releases().last().expect("a table"),
    };
    // A newer Velero than the table: never a fail; what the newest known release needs is said.
    let skew = compare(release, crds);
    let mut v = Verdict::warn(format!("Velero {tag} is not in veldr's table (built from Velero's CRDs {first} … {newest}): its CRDs are not judged"));
    if !skew.is_empty() {
        v = v.detail(format!("even {}'s CRDs are not all there (an older set is installed):", release.tag)).details(skew_lines(&skew, release.tag));
    }
    base(v).hint(format!("a newer veldr knows {tag}; meanwhile make sure its CRDs were applied with it: {}", fix(ctx, &tag))).evidence("table", release.tag)
}

fn skew_lines(skew: &Skew, server: &str) -> Vec<String> {
    let mut lines: Vec<String> = skew.missing.iter().map(|c| format!("{} ({}) is not installed", c.name, c.kind)).collect();
    lines.extend(skew.not_served.iter().map(|c| format!("{} does not serve {}", c.name, c.version)));
    lines.extend(skew.rejected.iter().map(|r| rejected_line(r, server)));
    lines.extend(skew.unknown.iter().map(|(c, p)| format!("{}'s installed schema has no {p}", c.name)));
    lines
}

fn judge_release(ctx: &Ctx, crds: &List<InstalledCrd>, release: &Release, server: &str) -> Verdict {
    let skew = compare(release, crds);
    let installed_as = matching_release(crds).filter(|r| r.version < release.version);
    let like = installed_as.map(|r| format!("the installed CRDs are those of Velero {}", table::span(r)));
    let mut findings = Vec::new();
    let absent: Vec<String> = skew.missing.iter().map(|c| format!("{} ({})", c.name, c.kind)).collect();
    if !absent.is_empty() {
        findings.push(
            Finding::new(Status::Fail, format!("{} that Velero {server} needs {} not installed: {}", plural(absent.len(), "CRD"), agree(absent.len(), "is", "are"), absent.join(", ")))
                .detail("the server cannot list or watch these kinds: its controllers for them fail to start, and every operation on them is refused")
                .hint(fix(ctx, server)),
        );
    }
    for c in &skew.not_served {
        findings.push(Finding::new(Status::Fail, format!("{} does not serve {}, the version Velero {server} uses", c.name, c.version)).hint(fix(ctx, server)));
    }
    for r in &skew.rejected {
        findings.push(Finding::new(Status::Fail, format!("{}: {}", rejected_line(r, server), symptom(r))).hint(fix(ctx, server)));
    }
    if !skew.unknown.is_empty() {
        let lines: Vec<String> = skew.unknown.iter().map(|(c, p)| format!("{} has no {p}", c.name)).collect();
        findings.push(
            Finding::new(Status::Warn, format!("the installed schemas lack {} that Velero {server} writes: the API server drops {} from its writes", plural(lines.len(), "field"), agree(lines.len(), "it", "them")))
                .details(lines)
                .hint(fix(ctx, server)),
        );
    }
    let mut notes: Vec<String> = like.into_iter().collect();
    notes.push(format!("compared with the CRDs of Velero {} (veldr's table, read from Velero's config/crd at {} … {})", release.tag, table::TAGS_READ[0], table::NEWEST_TAG));
    let ok = format!("the {} CRDs Velero {server} needs are installed and admit every value it writes", release.crds.len());
    let rejected: Vec<serde_json::Value> =
        skew.rejected.iter().map(|r| json!({"crd": r.crd.name, "field": r.path, "values": r.values})).collect();
    combine(ok, findings, notes)
        .evidence("missing", skew.missing.iter().map(|c| c.name).collect::<Vec<_>>())
        .evidence("rejected", rejected)
        .evidence("unknownFields", skew.unknown.iter().map(|(c, p)| format!("{} {p}", c.name)).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::facts::{ApiGroup, ReadError};
    use serde_json::{json, Value};

    fn with(tag_image: &str, crds: Vec<Value>) -> crate::facts::Facts {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(format!("velero/velero:{tag_image}"));
        f.kube.deployments = Ok(list(vec![d]));
        f.kube.velero_crds = Ok(list(crds));
        f
    }

    #[test]
    fn the_crds_of_the_servers_release_are_ok() {
        let v = run(&super::CHECK, &with("v1.17.1", crds_of("v1.17.0")));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("the 13 CRDs Velero v1.17.1 needs are installed"), "{}", v.summary);
        assert!(written(&v).contains("compared with the CRDs of Velero v1.17.0"), "{}", written(&v));
        // Newer CRDs than the server admit more: fine.
        assert_eq!(run(&super::CHECK, &with("v1.16.2", crds_of("v1.18.0"))).status, Status::Ok);
    }

    #[test]
    fn older_crds_reject_what_the_server_writes() {
        let v = run(&super::CHECK, &with("v1.18.0", crds_of("v1.17.0")));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.summary.starts_with("the installed backups.velero.io rejects status.phase \"Queued\", \"ReadyToStart\" that Velero v1.18.0 writes: Backups stay New"), "{}", v.summary);
        assert!(v.summary.contains("Unsupported value") && v.summary.chars().count() <= 300, "{}", v.summary);
        let t = written(&v);
        assert!(t.contains("the installed CRDs are those of Velero v1.17.0 … v1.17.2"), "{t}");
        assert!(t.contains("velero install --crds-only --dry-run -o yaml | kubectl apply -f -") && t.contains("upgradeCRDs: true"), "{t}");
        assert_eq!(v.evidence["rejected"][0]["values"], json!(["Queued", "ReadyToStart"]));
        assert_eq!(v.evidence["installedMatch"], "v1.17.0");
        // The DownloadRequest kind of 1.13, on 1.12's CRDs.
        let v = run(&super::CHECK, &with("v1.13.2", crds_of("v1.12.0")));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(written(&v).contains("rejects spec.target.kind \"BackupVolumeInfos\""), "{}", written(&v));
        // A single value taken out of an otherwise current CRD.
        let release = table::releases().iter().find(|r| r.tag == "v1.17.0").unwrap();
        let crds: Vec<Value> = release.crds.iter().map(|c| crd_json(c, &[("status.phase", "Finalizing")])).collect();
        let v = run(&super::CHECK, &with("v1.17.1", crds));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("rejects status.phase \"Finalizing\""), "{}", v.summary);
        assert!(!written(&v).contains("the installed CRDs are those"), "no release matches a hand-edited set: {}", written(&v));
    }

    #[test]
    fn a_missing_or_unserved_crd_fails() {
        let mut crds = crds_of("v1.17.0");
        crds.retain(|c| c["metadata"]["name"] != "datauploads.velero.io" && c["metadata"]["name"] != "datadownloads.velero.io");
        let v = run(&super::CHECK, &with("v1.17.1", crds.clone()));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(v.summary.starts_with("2 CRDs that Velero v1.17.1 needs are not installed: datadownloads.velero.io (DataDownload), datauploads.velero.io (DataUpload)"), "{}", v.summary);
        assert_eq!(v.evidence["missing"], json!(["datadownloads.velero.io", "datauploads.velero.io"]));
        // The same CRDs are all a v1.11 server needs.
        assert_eq!(run(&super::CHECK, &with("v1.11.1", crds.clone())).status, Status::Ok);
        let mut crds = crds_of("v1.17.0");
        crds[0]["spec"]["versions"][0]["served"] = json!(false);
        let v = run(&super::CHECK, &with("v1.17.1", crds));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("does not serve v1"), "{}", v.summary);
    }

    #[test]
    fn fields_the_installed_schema_lacks_warn() {
        // 1.16 added enums under new fields (DataDownload spec.nodeOS …) that 1.15's CRDs (= 1.14's) lack.
        let v = run(&super::CHECK, &with("v1.16.2", crds_of("v1.14.0")));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("the installed schemas lack") && written(&v).contains("datadownloads.velero.io has no spec.nodeOS"), "{}", written(&v));
    }

    #[test]
    fn an_unknown_version_warns_and_never_fails() {
        let v = run(&super::CHECK, &with("v1.99.0", crds_of("v1.9.0")));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("Velero v1.99.0 is not in veldr's table"), "{}", v.summary);
        assert!(written(&v).contains("rejects status.phase"), "what the newest known release needs is said: {}", written(&v));
        let v = run(&super::CHECK, &with("v1.8.1", crds_of("v1.9.0")));
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("older than veldr's table"), "{}", v.summary);
        let v = run(&super::CHECK, &with("latest", crds_of("v1.17.0")));
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("cannot tell the Velero server's version"), "{}", v.summary);
        // A patch after the newest tag read: judged with its minor, said so.
        let (_, newest) = table::range();
        let v = run(&super::CHECK, &with(&format!("v{}.{}.{}", newest.0, newest.1, newest.2 + 1), crds_of(table::releases().last().unwrap().tag)));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(written(&v).contains("is newer than the newest release veldr's table read"), "{}", written(&v));
    }

    #[test]
    fn unlabelled_crds_unread_ones_and_no_velero_are_said() {
        let mut f = with("v1.17.1", vec![]);
        f.kube.api_groups = Ok(vec![ApiGroup { name: "velero.io".into(), versions: vec!["v1".into()] }]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("no CRD is labelled component=velero"), "{}", v.summary);
        f.kube.api_groups = Ok(vec![]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail, "nothing served, nothing labelled: {v:?}");
        f.kube.velero_crds = Err(ReadError::forbidden("list", "customresourcedefinitions.apiextensions.k8s.io", None));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Error);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("grant veldr's identity list on customresourcedefinitions.apiextensions.k8s.io cluster-wide")), "{v:?}");
        let mut f = with("v1.17.1", crds_of("v1.17.0"));
        f.kube.deployments = Ok(list(vec![]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn operations_learn_why_backups_stay_new() {
        let f = with("v1.18.0", crds_of("v1.17.0"));
        let ctx = Ctx::new(&f, &[]);
        let why = phase_rejected(&ctx, "backups.velero.io").expect("rejected");
        assert!(why.contains("rejects status.phase \"Queued\", \"ReadyToStart\""), "{why}");
        assert_eq!(phase_rejected(&ctx, "restores.velero.io"), None);
        let f = with("v1.18.0", crds_of("v1.18.0"));
        assert_eq!(phase_rejected(&Ctx::new(&f, &[]), "backups.velero.io"), None);
    }
}
