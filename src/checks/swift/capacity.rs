//! swift.capacity: Swift will take the next backup. Container and account quotas
//! (`X-Container-Meta-Quota-Bytes`/`-Count`, `X-Account-Meta-Quota-Bytes`) against what is used,
//! and the largest object under the BSL's `backups/` against `/info` `swift.max_file_size`: the
//! plugin uploads each object with one `objects.Create` (a single PUT, no SLO/DLO segments:
//! `PutObject` in `src/swift/object_store.go`), so a tarball above that size is refused with 413.

use crate::checks::findings::{combine, Finding};
use crate::checks::swift::per_target;
use crate::checks::{CheckDef, Ctx};
use crate::facts::{BackupListing, SwiftTarget};
use crate::model::Verdict;

pub const CHECK: CheckDef = crate::check! {
    id: "swift.capacity", category: Openstack, severity: Major,
    title: "Swift capacity",
    depends_on: ["swift.container"], needs: [OpenStack],
    explains: [
        ["got 413"] => "Swift refused an object over its max_file_size or a quota (the plugin uploads each object in one PUT)",
        ["request entity too large"] => "Swift refused an object over its max_file_size or a quota (the plugin uploads each object in one PUT)",
    ],
    timed_by: OpenStack(Listing),
    judge: judge,
};

/// Swift's default `max_file_size` (`swift/common/constraints.py`: 5 GiB + 2 bytes).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 5 * 1024 * 1024 * 1024 + 2;
/// From this share of a limit on, warn.
const WARN_PERCENT: f64 = 80.0;

fn judge(ctx: &Ctx) -> Verdict {
    per_target(ctx, judge_target)
}

/// `12.3 GiB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

fn percent(used: u64, limit: u64) -> f64 {
    if limit == 0 { f64::INFINITY } else { used as f64 * 100.0 / limit as f64 }
}

/// One quota against its usage: fail at 100 %, warn from 80 %.
fn quota(what: &str, used: Option<u64>, limit: u64, show: fn(u64) -> String, fix: &str) -> Finding {
    let Some(used) = used else {
        return Finding::ok(format!("{what}: quota {} set, usage not shown by Swift", show(limit)));
    };
    let p = percent(used, limit);
    let line = format!("{what}: {} of the {} quota used ({p:.0} %)", show(used), show(limit));
    let v = if p >= 100.0 {
        Finding::fail(format!("{line}: Swift refuses every further upload (413), so new backups fail"))
    } else if p >= WARN_PERCENT {
        Finding::warn(format!("{line}: backups fail once it is full"))
    } else {
        return Finding::ok(line);
    };
    v.hint(fix.to_string())
}

fn count(n: u64) -> String {
    format!("{n} objects")
}

/// The largest object under `backups/` against what one PUT may create.
fn largest(l: &BackupListing, max: u64, max_known: bool, notes: &mut Vec<String>) -> Finding {
    let assumed = if max_known { String::new() } else { " (Swift's default; /info did not say)".into() };
    if l.capped {
        notes.push(format!("the listing of {} stopped at {} objects: larger backups beyond them were not looked at", l.prefix, l.limit));
    }
    let Some(obj) = &l.largest else {
        return Finding::ok(format!("no object under {} yet; max_file_size {}{assumed}", l.prefix, human_bytes(max)));
    };
    let p = percent(obj.bytes, max);
    let line = format!("the largest backup object {} is {} of the {} Swift accepts in one PUT{assumed} ({p:.0} %)", obj.name, human_bytes(obj.bytes), human_bytes(max));
    let fix = "the plugin uploads each tarball in one PUT (no segments): split the backup (several schedules by namespace or label selector, or exclude large resources), or have the Swift operators raise max_file_size";
    if obj.bytes > max {
        Finding::fail(format!("{line}: a backup this size cannot have been uploaded whole, and the next one will be refused with 413")).hint(fix)
    } else if p >= WARN_PERCENT {
        Finding::warn(format!("{line}: a slightly larger backup will be refused with 413 Request Entity Too Large")).hint(fix)
    } else {
        Finding::ok(line)
    }
}

fn judge_target(t: &SwiftTarget) -> Verdict {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let container_fix = format!(
        "delete expired backups (`velero backup delete`), shorten the schedules' TTL, or raise the quota (`swift post -m Quota-Bytes:<bytes> {}` by the container's owner)",
        t.container
    );
    let mut quotas = 0;
    match &t.container_head {
        Some(Ok(c)) => {
            if let Some(q) = c.quota_bytes {
                quotas += 1;
                findings.push(quota(&format!("container {}", t.container), c.bytes_used, q, human_bytes, &container_fix));
            }
            if let Some(q) = c.quota_count {
                quotas += 1;
                findings.push(quota(&format!("container {} objects", t.container), c.object_count, q, count, &container_fix));
            }
        }
        Some(Err(p)) => notes.push(format!("the container's quota is unknown: {}", p.message)),
        None => {}
    }
    match &t.account_head {
        Some(Ok(a)) => {
            if let Some(q) = a.quota_bytes {
                quotas += 1;
                let fix = "delete expired backups or other data of the account, or ask the cloud's operators (a reseller admin sets X-Account-Meta-Quota-Bytes) to raise the account quota";
                findings.push(quota("the Swift account", a.bytes_used, q, human_bytes, fix));
            }
        }
        Some(Err(p)) => notes.push(format!("the account's quota is unknown: {}", p.message)),
        None => {}
    }
    if quotas == 0 {
        notes.push("no quota is set on the container or the account (X-Container-Meta-Quota-Bytes/-Count, X-Account-Meta-Quota-Bytes): only the cloud's capacity limits it".into());
    }
    let (max, max_known) = match &t.info {
        Some(Ok(i)) => (i.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE), i.max_file_size.is_some()),
        _ => (DEFAULT_MAX_FILE_SIZE, false),
    };
    match &t.backup_listing {
        Some(Ok(l)) => findings.push(largest(l, max, max_known, &mut notes)),
        Some(Err(p)) => notes.push(format!("the backups could not be listed, so their sizes are unknown: {}", p.message)),
        None => notes.push("the backups were not listed (a bundle from before veldr 0.2, or no container answer)".into()),
    }
    let summary = findings.iter().map(|f| f.summary.clone()).collect::<Vec<_>>().join("; ");
    let ok = if summary.is_empty() { format!("no quota on container {} or its account, and no backup size known", t.container) } else { summary };
    // When something is wrong, the lines that are fine still belong in the details.
    if findings.iter().any(|f| f.status != crate::model::Status::Ok) {
        let fine: Vec<String> = findings.iter().filter(|f| f.status == crate::model::Status::Ok).map(|f| f.summary.clone()).collect();
        notes.splice(0..0, fine);
    }
    combine(ok, findings, notes).evidence("maxFileSize", max).evidence("listing", t.backup_listing.as_ref().and_then(|l| l.as_ref().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swift::test_target::{facts, target};
    use crate::facts::{AccountHead, ListedObject, Ownership, Problem, ProblemKind};
    use crate::model::Status;

    fn with(quota_bytes: Option<u64>, used: u64, largest: Option<u64>, capped: bool) -> SwiftTarget {
        let mut t = target();
        if let Some(Ok(c)) = &mut t.container_head {
            c.quota_bytes = quota_bytes;
            c.bytes_used = Some(used);
        }
        t.backup_listing = Some(Ok(BackupListing {
            prefix: "backups/".into(),
            limit: 5000,
            listed: if capped { 5000 } else { 3 },
            capped,
            largest: largest.map(|b| ListedObject { name: "backups/b/b.tar.gz".into(), bytes: b }),
        }));
        t
    }

    fn judge_one(t: SwiftTarget) -> Verdict {
        let f = facts(vec![t]);
        judge(&Ctx::new(&f, &[]))
    }

    #[test]
    fn no_quota_is_ok_with_a_note() {
        let v = judge_one(with(None, 10, Some(1000), false));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.details.iter().any(|d| d.contains("no quota is set")), "{:?}", v.details);
        assert!(v.summary.contains("backups/b/b.tar.gz") && v.summary.contains("5.0 GiB"), "{}", v.summary);
    }

    #[test]
    fn quotas_warn_from_80_and_fail_at_100_percent() {
        assert_eq!(judge_one(with(Some(100), 79, None, false)).status, Status::Ok);
        let v = judge_one(with(Some(100), 80, None, false));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("80 %") && v.hint.as_deref().unwrap().contains("Quota-Bytes"), "{v:?}");
        let v = judge_one(with(Some(100), 100, None, false));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("413"), "{}", v.summary);
        let mut t = with(None, 0, None, false);
        if let Some(Ok(c)) = &mut t.container_head {
            c.quota_count = Some(10);
            c.object_count = Some(9);
        }
        assert_eq!(judge_one(t).status, Status::Warn, "object count quota");
        let mut t = with(None, 0, None, false);
        t.account_head = Some(Ok(AccountHead {
            status: 204, container_count: Some(1), object_count: Some(1), bytes_used: Some(2048), temp_url_key: None, temp_url_key_2: None,
            date: None, ownership: Ownership::Unknown, quota_bytes: Some(2048),
        }));
        let v = judge_one(t);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.starts_with("the Swift account: 2.0 KiB of the 2.0 KiB quota"), "{}", v.summary);
    }

    #[test]
    fn the_largest_tarball_against_max_file_size() {
        let max = DEFAULT_MAX_FILE_SIZE;
        assert_eq!(judge_one(with(None, 0, Some(max / 2), false)).status, Status::Ok);
        let v = judge_one(with(None, 0, Some((max as f64 * 0.8).ceil() as u64 + 1), false));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("one PUT") && v.hint.as_deref().unwrap().contains("no segments"), "{v:?}");
        assert_eq!(judge_one(with(None, 0, Some(max), false)).status, Status::Warn, "exactly the limit is still accepted");
        assert_eq!(judge_one(with(None, 0, Some(max + 1), false)).status, Status::Fail);
        let mut t = with(None, 0, Some(900), false);
        if let Some(Ok(i)) = &mut t.info {
            i.max_file_size = Some(1000);
        }
        let v = judge_one(t);
        assert_eq!(v.status, Status::Warn, "/info's max_file_size wins over the default: {v:?}");
        assert!(!v.summary.contains("default"), "{}", v.summary);
    }

    #[test]
    fn a_capped_listing_is_said_and_a_failed_one_noted() {
        let v = judge_one(with(None, 0, Some(10), true));
        assert_eq!(v.status, Status::Ok);
        assert!(v.details.iter().any(|d| d.contains("stopped at 5000 objects")), "{:?}", v.details);
        let mut t = with(None, 0, None, false);
        t.backup_listing = Some(Err(Problem::new(ProblemKind::Forbidden, "Swift forbids this")));
        let v = judge_one(t);
        assert_eq!(v.status, Status::Ok);
        assert!(v.details.iter().any(|d| d.contains("could not be listed")), "{:?}", v.details);
        let mut t = with(None, 0, None, false);
        t.backup_listing = None;
        assert!(judge_one(t).details.iter().any(|d| d.contains("not listed")));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(DEFAULT_MAX_FILE_SIZE), "5.0 GiB");
    }
}
