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


/// `n` and the word, plural when `n` is not 1: "1 object", "3 objects". Words whose plural is not
/// `+s` say it: `plural_of(n, "class", "classes")`.
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// [`plural`] for words whose plural is not `+s`.
pub fn plural_of(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// At most `max` lines; when there were more, the first `max` and "… and N more WHAT".
pub fn capped(mut lines: Vec<String>, max: usize, what: &str) -> Vec<String> {
    if lines.len() > max {
        let rest = lines.len() - max;
        lines.truncate(max);
        lines.push(format!("… and {rest} more {what}"));
    }
    lines
}

/// Names, at most `max` of them joined with ", ", then "and N more": for one summary line.
pub fn named(names: &[impl AsRef<str>], max: usize) -> String {
    let shown: Vec<&str> = names.iter().take(max).map(AsRef::as_ref).collect();
    match names.len().saturating_sub(max) {
        0 => shown.join(", "),
        rest => format!("{} and {rest} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_caps_read_well() {
        assert_eq!(plural(1, "object"), "1 object");
        assert_eq!(plural(0, "object"), "0 objects");
        assert_eq!(plural_of(2, "class", "classes"), "2 classes");
        let lines: Vec<String> = (0..7).map(|i| format!("l{i}")).collect();
        assert_eq!(capped(lines.clone(), 10, "lines"), lines);
        assert_eq!(capped(lines, 3, "lines"), ["l0", "l1", "l2", "… and 4 more lines"]);
        assert_eq!(named(&["a", "b", "c"], 2), "a, b and 1 more");
        assert_eq!(named(&["a"], 2), "a");
    }
}
