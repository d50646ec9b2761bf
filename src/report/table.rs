//! `-o table`: one row per check grouped by category, then what is wrong and how to fix it.

use super::wrap::fill;
use super::Report;
use crate::model::{CheckResult, Status};
use comfy_table::{presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table};
use std::fmt::Write;

pub(super) fn glyph(s: Status) -> &'static str {
    match s {
        Status::Ok => "✔ ok",
        Status::Warn => "▲ warn",
        Status::Fail => "✘ fail",
        Status::Skip => "– skip",
        Status::Error => "? error",
    }
}

fn colour(s: Status) -> Color {
    match s {
        Status::Ok => Color::Green,
        Status::Warn => Color::Yellow,
        Status::Fail => Color::Red,
        Status::Skip => Color::DarkGrey,
        Status::Error => Color::Magenta,
    }
}

fn paint(text: &str, s: Status, colour_on: bool) -> String {
    if !colour_on {
        return text.to_string();
    }
    let code = match s {
        Status::Ok => "32",
        Status::Warn => "33",
        Status::Fail => "31",
        Status::Skip => "90",
        Status::Error => "35",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// `width`: the columns to fit (the commands pass `util::term::columns`: the terminal's, else `COLUMNS`,
/// else 120); every line fits them (the result column wraps inside its cell, the status and id columns
/// never break). `None`: no line is wrapped.
pub fn render(report: &Report, colour_on: bool, width: Option<u16>) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    if !colour_on {
        table.force_no_tty();
    } else {
        table.enforce_styling();
    }
    table.set_header(vec!["", "check", "result"]);
    match width {
        Some(w) => {
            table.set_content_arrangement(ContentArrangement::Dynamic).set_width(w);
            for i in 0..2 {
                if let Some(column) = table.column_mut(i) {
                    column.set_constraint(ColumnConstraint::ContentWidth);
                }
            }
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    let room = width.map(usize::from);
    // Grouped by category in order of first appearance: checks appended to the registry later
    // (0.2's) come back to earlier categories, and a category is shown once.
    let mut categories = Vec::new();
    for c in &report.checks {
        if !categories.contains(&c.category) {
            categories.push(c.category);
        }
    }
    for category in categories {
        let mut head = Cell::new(category.as_str().to_uppercase());
        if colour_on {
            head = head.add_attribute(Attribute::Bold);
        }
        table.add_row(vec![head, Cell::new(""), Cell::new("")]);
        for c in report.checks.iter().filter(|c| c.category == category) {
            let mut status = Cell::new(glyph(c.status));
            if colour_on {
                status = status.fg(colour(c.status));
            }
            table.add_row(vec![status, Cell::new(&c.id), Cell::new(&c.summary)]);
        }
    }

    let mut out = String::new();
    let t = &report.target;
    // The namespace comes with why it was chosen (-n, VELERO_NAMESPACE, ...): a wrong guess shows at once.
    let why = t.namespace_source.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
    let head = format!("veldr {} · context {} · namespace {}{why} · {} ms", report.veldr, t.context.as_deref().unwrap_or("-"), t.namespace, report.duration_ms);
    for l in fill(&head, "", "  ", room) {
        let _ = writeln!(out, "{l}");
    }
    let _ = writeln!(out, "{table}");
    let s = &report.summary;
    let mut line = format!("{} ok, {} warn, {} fail, {} error, {} skipped", s.ok, s.warn, s.fail, s.error, s.skip);
    // An incomplete run must not read as a clean one: say so, and which checks veldr could not judge.
    if let Some(incomplete) = report.incomplete_line() {
        line.push_str(" — ");
        line.push_str(&incomplete);
    }
    let _ = writeln!(out, "{}", paint(&line, s.status, colour_on));

    let problems: Vec<&CheckResult> = report.checks.iter().filter(|c| matches!(c.status, Status::Fail | Status::Warn | Status::Error)).collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\nWhat to do:");
        for c in problems {
            // Laid out plain (escape codes have no width), then the glyph at the start is painted.
            let mut lines = fill(&format!("{} {} — {}", glyph(c.status), c.id, c.summary), "", "  ", room);
            let first = lines.remove(0);
            match first.strip_prefix(glyph(c.status)) {
                Some(after) => writeln!(out, "\n{}{after}", paint(glyph(c.status), c.status, colour_on)),
                None => writeln!(out, "\n{first}"),
            }
            .ok();
            lines.extend(c.details.iter().flat_map(|d| fill(d, "    ", "      ", room)));
            lines.extend(c.hint.iter().flat_map(|h| fill(h, "  fix: ", "       ", room)));
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
            let _ = writeln!(out, "  runbook: {}", c.runbook);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Target;
    use crate::model::{Category, CheckResult};
    use crate::report::{Summary, SCHEMA_VERSION};

    fn check(id: &str, category: Category) -> CheckResult {
        CheckResult {
            id: id.into(),
            category,
            title: String::new(),
            status: Status::Ok,
            summary: format!("{id} is fine"),
            details: vec![],
            hint: None,
            runbook: String::new(),
            duration_ms: 1,
            evidence: serde_json::json!({}),
            metrics: vec![],
            selected: true,
        }
    }

    #[test]
    fn a_category_the_registry_returns_to_is_shown_once_with_all_its_checks() {
        let checks = vec![check("backup.recent", Category::Backups), check("velero.deployment", Category::Velero), check("backup.failures", Category::Backups)];
        let report = Report {
            schema_version: SCHEMA_VERSION,
            veldr: "0".into(),
            started_at: jiff::Timestamp::UNIX_EPOCH,
            duration_ms: 1,
            target: Target { context: None, server: None, namespace: "velero".into(), namespace_source: None },
            summary: Summary::of(&checks),
            checks,
        };
        let out = render(&report, false, None);
        assert_eq!(out.matches("BACKUPS").count(), 1, "{out}");
        let (backups, velero) = (out.find("BACKUPS").unwrap(), out.find("VELERO").unwrap());
        let failures = out.find("backup.failures").unwrap();
        assert!(backups < failures && failures < velero, "backup.failures is listed under BACKUPS:\n{out}");
    }
}
