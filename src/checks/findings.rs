//! Per-object findings folded into one verdict: the worst status leads, every finding is listed.

use crate::model::{rank, Status, Verdict};

/// One problem (or fine state) found about one object; several are combined into a verdict.
/// A finding is a verdict about one object; `combine` folds them into the check's verdict.
pub use crate::model::Verdict as Finding;

/// Combines findings: the worst status wins, its summary leads, every finding is listed in details.
/// `ok_summary` is used when nothing is wrong; `notes` are extra detail lines kept in every case.
pub fn combine(ok_summary: impl Into<String>, findings: Vec<Finding>, notes: Vec<String>) -> Verdict {
    let mut bad: Vec<Finding> = findings.into_iter().filter(|f| f.status != Status::Ok).collect();
    if bad.is_empty() {
        return Verdict::ok(ok_summary).details(notes);
    }
    bad.sort_by_key(|f| std::cmp::Reverse(rank(f.status)));
    let status = bad[0].status;
    let mut summary = bad[0].summary.clone();
    if bad.len() > 1 {
        summary.push_str(&format!(" (and {} more problem{})", bad.len() - 1, if bad.len() == 2 { "" } else { "s" }));
    }
    let mut details = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    for f in &bad {
        if bad.len() > 1 {
            details.push(format!("[{}] {}", f.status, f.summary));
        }
        details.extend(f.details.iter().cloned());
        if let Some(h) = &f.hint {
            if !hints.contains(h) {
                hints.push(h.clone());
            }
        }
    }
    details.extend(notes);
    let mut v = match status {
        Status::Fail => Verdict::fail(summary),
        Status::Warn => Verdict::warn(summary),
        Status::Error => Verdict::error(summary),
        Status::Skip => Verdict::skip(summary),
        Status::Ok => Verdict::ok(summary),
    };
    v = v.details(details);
    if !hints.is_empty() {
        v = v.hint(hints.join(" — then: "));
    }
    v
}

