//! swift.*: what Velero's OpenStack plugin meets at Swift, one BSL (Swift target) at a time.
//!
//! Shared by the swift.* checks and keystone.catalog (every per-BSL OpenStack check):
//! [`per_target`] judges each target and folds the verdicts into one with [`combine_bsls`];
//! [`swift_keys`] and [`keys_visible`] say which temp-URL keys Swift showed.

pub mod clock;
pub mod container;
pub mod tempurl;
pub mod tempurl_digest;
pub mod tempurl_key;

use crate::checks::keystone::openstack;
use crate::checks::Ctx;
use crate::facts::SwiftTarget;
use crate::model::{Status, Verdict};
use crate::secret::Secret;

/// Folds per-BSL verdicts into one: the worst status leads, every line is kept under its BSL, and
/// the evidence lists each BSL's. (Not `findings::combine`: its report shape is per BSL.)
fn combine_bsls(parts: Vec<(String, Verdict)>, ok_summary: impl FnOnce(&[(String, Verdict)]) -> String) -> Verdict {
    if parts.is_empty() {
        return Verdict::skip("no OpenStack BackupStorageLocation was probed");
    }
    let status = Verdict::worst(parts.iter().map(|(_, v)| v.status));
    let lead = parts.iter().find(|(_, v)| v.status == status).map(|(_, v)| v.clone()).expect("non-empty");
    let mut out = if status == Status::Ok { Verdict::ok(ok_summary(&parts)) } else { lead };
    out.status = status;
    out.details = Vec::new();
    out.metrics = Vec::new();
    for (bsl, v) in &parts {
        out.details.push(format!("BSL {bsl}: {} — {}", v.status, v.summary));
        out.details.extend(v.details.iter().map(|d| format!("  {d}")));
    }
    out.evidence = serde_json::json!({ "bsls": parts.iter().map(|(b, v)| serde_json::json!({"bsl": b, "status": v.status, "evidence": v.evidence})).collect::<Vec<_>>() });
    out
}

/// Judges every Swift target (one per OpenStack BSL) and folds the verdicts; with one BSL, its
/// summary is the check's, otherwise "N BSLs: all ok".
pub(crate) fn per_target(ctx: &Ctx, judge: impl Fn(&SwiftTarget) -> Verdict) -> Verdict {
    let os = match openstack(ctx) {
        Ok(os) => os,
        Err(why) => return Verdict::skip(why),
    };
    let parts: Vec<(String, Verdict)> = os.targets.iter().map(|t| (t.bsl.clone(), judge(t))).collect();
    combine_bsls(parts, |parts| if parts.len() == 1 { parts[0].1.summary.clone() } else { format!("{} BSLs: all ok", parts.len()) })
}

/// The keys Swift validates against for this container: the container's and the account's, both slots.
pub(crate) fn swift_keys(t: &SwiftTarget) -> Vec<(&'static str, &Secret)> {
    let mut keys = Vec::new();
    if let Some(Ok(c)) = &t.container_head {
        keys.extend(c.temp_url_key.as_ref().map(|k| ("container Temp-URL-Key", k)));
        keys.extend(c.temp_url_key_2.as_ref().map(|k| ("container Temp-URL-Key-2", k)));
    }
    if let Some(Ok(a)) = &t.account_head {
        keys.extend(a.temp_url_key.as_ref().map(|k| ("account Temp-URL-Key", k)));
        keys.extend(a.temp_url_key_2.as_ref().map(|k| ("account Temp-URL-Key-2", k)));
    }
    keys
}

/// Whether Swift would have shown the keys to this credential (it shows them to the owner only).
pub(crate) fn keys_visible(t: &SwiftTarget) -> bool {
    let c = matches!(&t.container_head, Some(Ok(c)) if c.ownership.is_owner());
    let a = matches!(&t.account_head, Some(Ok(a)) if a.ownership.is_owner());
    c || a || !swift_keys(t).is_empty()
}

/// A healthy Swift target and facts holding it, for the swift.* and keystone.* unit tests.
#[cfg(test)]
pub(crate) mod test_target {
    use crate::facts::*;
    use crate::upstream::openstack_plugin::PluginConfig;
    use crate::secret::Secret;

    pub fn target() -> SwiftTarget {
        SwiftTarget {
            bsl: "default".into(),
            container: "velero-backups".into(),
            plugin: PluginConfig { digest_setting: Some("sha256".into()), digest: Ok("sha256".into()), ..Default::default() },
            endpoint: Some(Ok("http://swift/v1/AUTH_p/".into())),
            container_head: Some(Ok(ContainerHead {
                status: 204, object_count: Some(3), bytes_used: Some(10), temp_url_key: Some(Secret::new("k1")), temp_url_key_2: None,
                read_acl: None, storage_policy: None, date: None, ownership: Ownership::Owner { evidence: vec!["x-container-meta-temp-url-key".into()] },
                quota_bytes: None, quota_count: None,
            })),
            account_head: None,
            info: Some(Ok(SwiftInfo { version: None, sections: vec![], max_file_size: None, container_listing_limit: None, tempurl: Some(TempUrlInfo {
                methods: vec!["GET".into()], allowed_digests: vec!["sha256".into(), "sha512".into()], allowed_digests_listed: true, deprecated_digests: vec![] }) })),
            signing_key: Some(SigningKey::Env(Secret::new("k1"))),
            probe_url: Some("http://swift/v1/AUTH_p/velero-backups/x?temp_url_expires=1".into()),
            probe: Some(Ok(ProbeOutcome { verdict: ProbeVerdict::Accepted, status: 404, body_excerpt: String::new(),
                swift_date: Some("2026-11-29T08:00:10Z".parse().unwrap()), local_date: "2026-11-29T08:00:00Z".parse().unwrap() })),
            timings_ms: Default::default(),
            backup_listing: None, backup_objects: None,
        }
    }

    pub fn facts(targets: Vec<SwiftTarget>) -> Facts {
        let mut f = Facts::empty("velero");
        f.openstack = Some(OpenStackFacts { targets, ..Default::default() });
        f
    }
}

#[cfg(test)]
mod tests {
    use super::test_target::{facts, target};
    use super::*;

    #[test]
    fn per_bsl_verdicts_fold_worst_first_with_every_line() {
        let mut other = target();
        other.bsl = "second".into();
        let f = facts(vec![target(), other]);
        let ctx = Ctx::new(&f, &[]);
        let v = per_target(&ctx, |t| if t.bsl == "second" { Verdict::warn("w").detail("d") } else { Verdict::ok("fine") });
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.summary, "w");
        assert_eq!(v.details, ["BSL default: ok — fine", "BSL second: warn — w", "  d"]);
        assert_eq!(v.evidence["bsls"][1]["bsl"], "second");
        let v = per_target(&ctx, |_| Verdict::ok("fine"));
        assert_eq!(v.summary, "2 BSLs: all ok");
        let none = facts(vec![]);
        assert_eq!(per_target(&Ctx::new(&none, &[]), |_| Verdict::ok("x")).status, Status::Skip);
    }
}
pub mod capacity;
