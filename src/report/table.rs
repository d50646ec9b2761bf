//! `-o table`: one row per check grouped by category, then what is wrong and how to fix it.

use super::Report;
use crate::model::{CheckResult, Status};
use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};
use std::fmt::Write;

fn glyph(s: Status) -> &'static str {
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

pub fn render(report: &Report, colour_on: bool, width: Option<u16>) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    if !colour_on {
        table.force_no_tty();
    } else {
        table.enforce_styling();
    }
    table.set_width(width.unwrap_or(120));
    table.set_header(vec!["", "check", "result"]);
    let mut category = None;
    for c in &report.checks {
        if category != Some(c.category) {
            category = Some(c.category);
            let mut head = Cell::new(c.category.as_str().to_uppercase());
            if colour_on {
                head = head.add_attribute(Attribute::Bold);
            }
            table.add_row(vec![head, Cell::new(""), Cell::new("")]);
        }
        let mut status = Cell::new(glyph(c.status));
        if colour_on {
            status = status.fg(colour(c.status));
        }
        table.add_row(vec![status, Cell::new(&c.id), Cell::new(&c.summary)]);
    }

    let mut out = String::new();
    let t = &report.target;
    let _ = writeln!(
        out,
        "veldr {} · context {} · namespace {} · {} ms",
        report.veldr,
        t.context.as_deref().unwrap_or("-"),
        t.namespace,
        report.duration_ms
    );
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
            let _ = writeln!(out, "\n{} {} — {}", paint(glyph(c.status), c.status, colour_on), c.id, c.summary);
            for d in &c.details {
                let _ = writeln!(out, "    {d}");
            }
            if let Some(h) = &c.hint {
                let _ = writeln!(out, "  fix: {h}");
            }
            let _ = writeln!(out, "  runbook: {}", c.runbook);
        }
    }
    out
}
