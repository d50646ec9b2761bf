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


/// A count [`plural`] can say: any integer (Velero's error counts are signed).
pub trait Count: Copy + std::fmt::Display {
    fn is_one(self) -> bool;
}

macro_rules! counts {
    ($($t:ty),*) => { $(impl Count for $t { fn is_one(self) -> bool { self == 1 } })* };
}
counts!(usize, u32, u64, i32, i64);

/// The plural of a word: "Restores", "BackupRepositories", "classes" (an irregular one: [`plural_of`]).
pub fn many(word: &str) -> String {
    let consonant_y = word.len() > 1 && word.ends_with('y') && !word[..word.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if consonant_y {
        format!("{}ies", &word[..word.len() - 1])
    } else if word.ends_with(['s', 'x', 'z']) || word.ends_with("ch") || word.ends_with("sh") {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// The word, plural when `n` is not 1, without the number: "CSIDriver", "CSIDrivers".
pub fn noun(n: impl Count, word: &str) -> String {
    if n.is_one() { word.to_string() } else { many(word) }
}

/// `n` and the word, plural when `n` is not 1: "1 object", "3 objects", "2 BackupRepositories".
pub fn plural(n: impl Count, word: &str) -> String {
    format!("{n} {}", noun(n, word))
}

/// [`plural`] for words whose plural is not regular: `plural_of(n, "child", "children")`.
pub fn plural_of(n: impl Count, one: &str, many: &str) -> String {
    format!("{n} {}", if n.is_one() { one } else { many })
}

/// The verb (or any word) that agrees with `n`: `agree(n, "is", "are")`.
pub fn agree<'a>(n: impl Count, one: &'a str, many: &'a str) -> &'a str {
    if n.is_one() { one } else { many }
}

/// "1 error, 0 warnings": a Backup's or Restore's counts as `velero describe` gives them.
pub fn errors_and_warnings(errors: impl Count, warnings: impl Count) -> String {
    format!("{}, {}", plural(errors, "error"), plural(warnings, "warning"))
}

/// Text from a status or log message on one line, cut at 300 characters (container messages can
/// hold whole stack traces).
pub fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        format!("{}…", flat.chars().take(300).collect::<String>())
    } else {
        flat
    }
}

/// At most `max` lines; when there were more, the first `max` and "… and N more WHAT" ("… and N more"
/// when `what` is empty).
pub fn capped(mut lines: Vec<String>, max: usize, what: &str) -> Vec<String> {
    if lines.len() > max {
        let rest = lines.len() - max;
        lines.truncate(max);
        lines.push(if what.is_empty() { format!("… and {rest} more") } else { format!("… and {rest} more {what}") });
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

/// Objects that share one problem, folded into one finding: one object's line is the summary itself;
/// several are counted ("3 Restores failed …", `what`), the first `shown` listed, the rest "… and N more".
#[derive(Debug, Clone)]
pub struct Group {
    pub status: Status,
    /// "Restores failed in the last 24 h": the summary after the count when there is more than one.
    pub what: String,
    /// One line per object.
    pub lines: Vec<String>,
    /// Details shown after the lines, however many lines there are.
    pub extra: Vec<String>,
    /// The hint, said once for the whole group.
    pub hint: String,
}

impl Group {
    pub fn new(status: Status, what: impl Into<String>, hint: impl Into<String>) -> Self {
        Group { status, what: what.into(), lines: Vec::new(), extra: Vec::new(), hint: hint.into() }
    }

    /// The group's finding, its objects listed up to `shown`; none when no object has the problem.
    pub fn finding(self, shown: usize) -> Option<Finding> {
        let n = self.lines.len();
        let summary = match n {
            0 => return None,
            1 => self.lines[0].clone(),
            _ => format!("{n} {}", self.what),
        };
        let mut f = Finding::new(self.status, summary).hint(self.hint);
        if n > 1 {
            f = f.details(capped(self.lines, shown, ""));
        }
        Some(f.details(self.extra))
    }
}

/// Groups in the order they were opened: per-object problems found while going through the objects.
#[derive(Debug, Clone, Default)]
pub struct Groups(Vec<Group>);

impl Groups {
    /// Adds a group (even an empty one: it keeps its place).
    pub fn push(&mut self, g: Group) {
        self.0.push(g);
    }

    /// Adds `line` to the group `what`, opening it (with this status and hint) when it is new.
    pub fn add(&mut self, status: Status, what: impl Into<String>, hint: impl Into<String>, line: impl Into<String>) {
        let what = what.into();
        match self.0.iter_mut().find(|g| g.what == what) {
            Some(g) => g.lines.push(line.into()),
            None => {
                let mut g = Group::new(status, what, hint);
                g.lines.push(line.into());
                self.0.push(g);
            }
        }
    }

    /// `[{status, problem, count}]` for the groups with objects: a verdict's evidence.
    pub fn evidence(&self) -> Vec<serde_json::Value> {
        self.0
            .iter()
            .filter(|g| !g.lines.is_empty())
            .map(|g| serde_json::json!({"status": g.status, "problem": g.what, "count": g.lines.len()}))
            .collect()
    }

    /// One finding per group with objects, in order.
    pub fn findings(self, shown: usize) -> Vec<Finding> {
        self.0.into_iter().filter_map(|g| g.finding(shown)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_caps_read_well() {
        assert_eq!(plural(1, "object"), "1 object");
        assert_eq!(plural(0, "object"), "0 objects");
        assert_eq!(plural_of(2, "child", "children"), "2 children");
        assert_eq!((many("class"), many("BackupRepository"), many("key"), many("PVC")), ("classes".into(), "BackupRepositories".into(), "keys".into(), "PVCs".into()));
        assert_eq!((plural(2i64, "error"), plural(1usize, "BackupRepository"), noun(3, "CSIDriver")), ("2 errors".into(), "1 BackupRepository".into(), "CSIDrivers".into()));
        assert_eq!((agree(1, "is", "are"), errors_and_warnings(1, 0)), ("is", "1 error, 0 warnings".to_string()));
        assert_eq!(one_line("a\n  b\tc "), "a b c");
        let long = "x ".repeat(400);
        assert!(one_line(&long).ends_with('…') && one_line(&long).chars().count() == 301);
        let lines: Vec<String> = (0..7).map(|i| format!("l{i}")).collect();
        assert_eq!(capped(lines.clone(), 10, "lines"), lines);
        assert_eq!(capped(lines, 3, "lines"), ["l0", "l1", "l2", "… and 4 more lines"]);
        assert_eq!(named(&["a", "b", "c"], 2), "a, b and 1 more");
        assert_eq!(named(&["a"], 2), "a");
    }

    #[test]
    fn a_group_of_one_is_its_line_several_are_counted_and_capped() {
        let mut groups = Groups::default();
        groups.push(Group::new(Status::Fail, "empty ones", "never shown"));
        groups.add(Status::Warn, "Backups not started", "look at the server", "backup a is still New");
        groups.add(Status::Fail, "Restores failed", "describe it", "restore r failed");
        for i in 0..6 {
            groups.add(Status::Warn, "Backups not started", "another hint", format!("backup b{i} is still New"));
        }
        assert_eq!(groups.evidence().len(), 2);
        let f = groups.findings(5);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].summary.as_str(), f[0].hint.as_deref()), ("7 Backups not started", Some("look at the server")));
        assert_eq!(f[0].details.len(), 6);
        assert_eq!(f[0].details[5], "… and 2 more");
        assert_eq!((f[1].summary.as_str(), f[1].details.len()), ("restore r failed", 0));
    }
}
