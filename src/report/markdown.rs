//! `-o markdown`: the report as GitHub-flavoured Markdown, for incident tickets and pull requests: a
//! heading and a summary line, the checks that did not pass in a table (worst first), "What to do" with
//! the commands fenced so they copy cleanly, and every check in a collapsed `<details>`. One report per
//! call: a fleet renders one section per context, each under its own heading.

use super::table::glyph;
use super::wrap::parts;
use super::Report;
use crate::model::{rank, CheckResult, Status};
use std::fmt::Write;

/// The programs whose invocations, quoted in a hint, are lifted into a `sh` block (with arguments: a bare
/// `helm upgrade` names the step, it is not a line to paste).
const COMMANDS: [&str; 7] = ["kubectl", "helm", "velero", "veldr", "openstack", "swift", "curl"];

pub fn render(report: &Report) -> String {
    let mut o = String::new();
    let t = &report.target;
    let s = &report.summary;
    let _ = writeln!(o, "## veldr · context {} · namespace {}\n", code(t.context.as_deref().unwrap_or("-")), code(&t.namespace));
    let _ = writeln!(
        o,
        "**{}** — {} ok, {} warn, {} fail, {} error, {} skipped · veldr {} · {} · {} ms\n",
        glyph(s.status),
        s.ok,
        s.warn,
        s.fail,
        s.error,
        s.skip,
        report.veldr,
        report.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        report.duration_ms
    );

    let mut not_ok: Vec<&CheckResult> = report.checks.iter().filter(|c| c.status != Status::Ok).collect();
    not_ok.sort_by_key(|c| std::cmp::Reverse(rank(c.status)));
    if not_ok.is_empty() {
        let _ = writeln!(o, "Every check passed.\n");
    } else {
        let _ = writeln!(o, "| status | check | result |\n|---|---|---|");
        for c in &not_ok {
            let _ = writeln!(o, "| {} | {} | {} |", glyph(c.status), code(&c.id), inline(&c.summary, true));
        }
        o.push('\n');
    }

    let todo: Vec<&&CheckResult> = not_ok.iter().filter(|c| c.status != Status::Skip).collect();
    if !todo.is_empty() {
        let _ = writeln!(o, "### What to do\n");
        for c in todo {
            what_to_do(&mut o, c);
        }
    }

    let _ = writeln!(o, "<details>\n<summary>All {} checks</summary>\n", report.checks.len());
    let _ = writeln!(o, "| status | check | category | result |\n|---|---|---|---|");
    for c in &report.checks {
        let _ = writeln!(o, "| {} | {} | {} | {} |", glyph(c.status), code(&c.id), c.category, inline(&c.summary, true));
    }
    let _ = writeln!(o, "\n</details>");
    o
}

/// One problem: what is wrong, the evidence, the fix in words, then the commands to paste.
fn what_to_do(o: &mut String, c: &CheckResult) {
    let _ = writeln!(o, "#### {} {}\n", glyph(c.status), code(&c.id));
    let _ = writeln!(o, "{}\n", inline(&c.summary, false));
    let mut blocks = Vec::new();
    // An indented detail belongs to the one above it: a nested item (left as it is, four spaces would
    // turn it into a code block).
    let mut level = 0;
    for (i, d) in c.details.iter().enumerate() {
        let p = parts(d.trim_start());
        let indent = (d.len() - d.trim_start().len()) / 2;
        level = if i == 0 { 0 } else { indent.min(level + 1) };
        let _ = writeln!(o, "{}- {}", "  ".repeat(level), inline(p.prose, false));
        blocks.extend(block(&p));
    }
    if !c.details.is_empty() {
        o.push('\n');
    }
    let mut commands = Vec::new();
    if let Some(h) = &c.hint {
        let p = parts(h);
        let _ = writeln!(o, "**Fix:** {}\n", inline(p.prose, false));
        commands.extend(code_spans(p.prose).filter(|s| s.split_whitespace().next().is_some_and(|w| COMMANDS.contains(&w)) && s.split_whitespace().count() > 2).map(str::to_string));
        blocks.extend(block(&p));
    }
    for (lang, text) in blocks {
        fence(o, lang, &text);
    }
    commands.push(c.runbook.clone());
    fence(o, "sh", &commands.join("\n"));
}

/// The block of a text as a fenced block: a heredoc with the command that reads it is shell, values are YAML.
fn block(p: &super::wrap::Parts) -> Option<(&'static str, String)> {
    let block = p.block?;
    Some(match p.intro {
        Some(intro) if intro.contains("<<") => ("sh", format!("{intro}\n{block}")),
        _ => ("yaml", block.to_string()),
    })
}

/// A fenced code block whose fence is longer than any run of backticks inside it.
fn fence(o: &mut String, lang: &str, text: &str) {
    let f = "`".repeat(longest_tick_run(text).max(2) + 1);
    let _ = writeln!(o, "{f}{lang}\n{}\n{f}\n", text.trim_end_matches('\n'));
}

fn longest_tick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// The contents of the `code spans` of one line (an unmatched last backtick opens none).
fn code_spans(line: &str) -> impl Iterator<Item = &str> {
    let pieces: Vec<&str> = line.split('`').collect();
    let closed = if pieces.len() % 2 == 1 { pieces.len() } else { pieces.len() - 1 };
    pieces.into_iter().take(closed).skip(1).step_by(2)
}

/// A code span around a name (an id, a context) that may itself hold backticks.
fn code(text: &str) -> String {
    let f = "`".repeat(longest_tick_run(text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{f}{pad}{text}{pad}{f}")
}

/// An `_` between two letters or digits (`OS_AUTH_URL`) opens no emphasis: left as it is, for the
/// reader of the raw text.
fn intraword(text: &str, i: usize) -> bool {
    let before = text[..i].chars().next_back().is_some_and(char::is_alphanumeric);
    let after = text[i + 1..].chars().next().is_some_and(char::is_alphanumeric);
    before && after
}

/// One line of veldr's text as Markdown: its `code spans` stay code spans, everything else reads literally
/// (what CommonMark would take for emphasis, a link, HTML, an entity, a list or heading marker, or, in a
/// table, the end of a cell, is escaped). Line breaks become spaces: a cell or a list item is one line.
fn inline(text: &str, in_table: bool) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let ticks: Vec<usize> = text.match_indices('`').map(|(i, _)| i).collect();
    let unmatched = (ticks.len() % 2 == 1).then(|| ticks[ticks.len() - 1]);
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_code = false;
    for (i, ch) in text.char_indices() {
        if ch == '`' && Some(i) != unmatched {
            in_code = !in_code;
            out.push('`');
            continue;
        }
        // GFM splits table rows at every unescaped `|`, code spans included.
        if ch == '|' && in_table {
            out.push_str("\\|");
        } else if in_code {
            out.push(ch);
        } else if "\\`*[<|~&".contains(ch) || (ch == '_' && !intraword(&text, i)) || (i == 0 && "#+-=>".contains(ch)) {
            out.push('\\');
            out.push(ch);
        } else {
            out.push(ch);
        }
    }
    // `1. ` or `1) ` at the start would open an ordered list.
    let digits = out.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && out[digits..].starts_with(['.', ')']) {
        out.insert(digits, '\\');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_escapes_outside_code_only() {
        assert_eq!(inline("OS_* and `OS_*` | <b>", false), "OS\\_\\* and `OS_*` \\| \\<b>");
        assert_eq!(inline("OS_AUTH_URL _x_", false), "OS_AUTH_URL \\_x\\_");
        assert_eq!(inline("a `x|y` b", true), "a `x\\|y` b");
        assert_eq!(inline("- not a list", false), "\\- not a list");
        assert_eq!(inline("1. not a list", false), "1\\. not a list");
        assert_eq!(inline("it`s", false), "it\\`s");
    }

    #[test]
    fn commands_are_the_code_spans_of_known_programs() {
        let spans: Vec<&str> = code_spans("run `helm upgrade` then `x: y` and `kubectl get pods`, `open").collect();
        assert_eq!(spans, vec!["helm upgrade", "x: y", "kubectl get pods"]);
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }
}
