//! `-o markdown` read back by a real CommonMark + GFM parser (pulldown-cmark): the structure a ticket
//! shows (heading, summary, table of the checks that did not pass, What to do with fenced commands, every
//! check in a collapsed `<details>`), and every summary coming back exactly as veldr wrote it, whatever
//! Markdown punctuation it holds.

mod common;

use common::*;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde_json::Value;
use std::path::Path;

/// A Markdown document as the blocks a reader sees.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading(u8, String),
    Para(String),
    Item(String),
    /// Rows of cells; the first row is the header.
    Table(Vec<Vec<String>>),
    Code(String, String),
    Html(String),
}

fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut code: Option<(String, String)> = None;
    let mut html = String::new();
    for event in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Table(_)) => table.clear(),
            Event::Start(Tag::TableHead | Tag::TableRow) => table.push(Vec::new()),
            Event::Start(Tag::TableCell | Tag::Heading { .. } | Tag::Paragraph | Tag::Item) => text.clear(),
            Event::End(TagEnd::TableCell) => table.last_mut().unwrap().push(std::mem::take(&mut text)),
            Event::End(TagEnd::Table) => out.push(Block::Table(std::mem::take(&mut table))),
            Event::End(TagEnd::Heading(level)) => out.push(Block::Heading(level as u8, std::mem::take(&mut text))),
            Event::End(TagEnd::Paragraph) if !text.is_empty() => out.push(Block::Para(std::mem::take(&mut text))),
            Event::End(TagEnd::Item) => out.push(Block::Item(std::mem::take(&mut text))),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) => code = Some((lang.to_string(), String::new())),
            Event::End(TagEnd::CodeBlock) => out.push(code.take().map(|(l, c)| Block::Code(l, c)).unwrap()),
            Event::End(TagEnd::HtmlBlock) => out.push(Block::Html(std::mem::take(&mut html))),
            Event::Text(t) => match &mut code {
                Some((_, c)) => c.push_str(&t),
                None => text.push_str(&t),
            },
            Event::Code(c) => text.push_str(&format!("`{c}`")),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::Html(h) => html.push_str(&h),
            Event::InlineHtml(h) => panic!("veldr's text became inline HTML: {h:?}\n{md}"),
            _ => {}
        }
    }
    out
}

fn markdown(bundle: &Path, extra: &[&str]) -> (String, Value, Option<i32>) {
    let out = veldr().args(["doctor", "-o", "markdown", "--from-bundle"]).arg(bundle).args(extra).output().unwrap();
    let json = veldr().args(["doctor", "-o", "json", "--from-bundle"]).arg(bundle).args(extra).output().unwrap();
    assert_eq!(out.status.code(), json.status.code(), "the same exit code as -o json");
    (String::from_utf8(out.stdout).unwrap(), serde_json::from_slice(&json.stdout).unwrap(), out.status.code())
}

fn tables(b: &[Block]) -> Vec<&Vec<Vec<String>>> {
    b.iter().filter_map(|b| if let Block::Table(t) = b { Some(t) } else { None }).collect()
}

#[test]
fn markdown_of_the_seed_example_has_the_structure_of_a_ticket() {
    let (md, report, code) = markdown(&repo().join("examples/seed-pitfalls.bundle.json"), &[]);
    assert_eq!(code, Some(1));
    let b = blocks(&md);
    let checks = report["checks"].as_array().unwrap();
    let not_ok: Vec<&Value> = checks.iter().filter(|c| c["status"] != "ok").collect();
    let problems: Vec<&Value> = not_ok.iter().copied().filter(|c| c["status"] != "skip").collect();

    assert!(matches!(&b[0], Block::Heading(2, h) if h.contains("`fixture`") && h.contains("`velero`")), "{:?}", b[0]);
    // The counts of the JSON report (the seed's: 14 ok, 1 warn (velero.logs) and 5 fail; skips grow with the registry).
    let s = &report["summary"];
    assert_eq!((s["ok"].as_u64(), s["fail"].as_u64()), (Some(14), Some(5)));
    let counts = format!("{} ok, {} warn, {} fail, {} error, {} skipped", s["ok"], s["warn"], s["fail"], s["error"], s["skip"]);
    assert!(matches!(&b[1], Block::Para(p) if p.contains(&counts)), "{:?}", b[1]);

    // The checks that did not pass, worst first, each summary exactly as in the JSON report.
    let first = tables(&b)[0];
    assert!(matches!(b[2], Block::Table(_)), "the table of problems comes right after the summary");
    assert_eq!(first[0], ["status", "check", "result"]);
    assert_eq!(first.len() - 1, not_ok.len());
    let statuses: Vec<&str> = first[1..].iter().map(|r| r[0].split(' ').nth(1).unwrap()).collect();
    assert!(statuses.iter().position(|s| *s == "skip").unwrap() > statuses.iter().rposition(|s| *s == "fail").unwrap(), "{statuses:?}");
    for c in &not_ok {
        let row = first.iter().find(|r| r[1] == format!("`{}`", c["id"].as_str().unwrap())).unwrap_or_else(|| panic!("{} missing", c["id"]));
        assert_eq!(row[2], c["summary"].as_str().unwrap());
        assert!(row[0].ends_with(c["status"].as_str().unwrap()));
    }

    // What to do: one heading per fail/warn/error, its commands fenced.
    let todo = b.iter().position(|x| *x == Block::Heading(3, "What to do".into())).expect("a What to do heading");
    let items: Vec<&String> = b[todo..].iter().filter_map(|x| if let Block::Heading(4, h) = x { Some(h) } else { None }).collect();
    assert_eq!(items.len(), problems.len(), "{items:?}");
    for (h, c) in items.iter().zip(&problems) {
        assert!(h.ends_with(&format!("`{}`", c["id"].as_str().unwrap())), "{h}");
    }
    let code_blocks: Vec<(&String, &String)> = b[todo..].iter().filter_map(|x| if let Block::Code(l, c) = x { Some((l, c)) } else { None }).collect();
    for c in &problems {
        let id = c["id"].as_str().unwrap();
        assert!(code_blocks.iter().any(|(l, code)| *l == "sh" && code.lines().any(|line| line == format!("veldr explain {id}"))), "{id}: no runbook command");
    }
    let pss = problems.iter().find(|c| c["id"] == "nodeagent.pss").unwrap();
    let label = pss["hint"].as_str().unwrap().split('`').nth(1).unwrap();
    assert!(label.starts_with("kubectl label ns velero"));
    assert!(code_blocks.iter().any(|(l, code)| *l == "sh" && code.lines().any(|line| line == label)), "the hint's command is fenced whole");
    let csi = problems.iter().find(|c| c["id"] == "csi.snapshot-class").unwrap();
    let yaml = csi["hint"].as_str().unwrap().split_once('\n').unwrap().1;
    assert!(code_blocks.iter().any(|(l, code)| *l == "yaml" && code.trim_end() == yaml), "the hint's YAML is a yaml block, verbatim");

    // Every check, collapsed.
    let open = b.iter().position(|x| matches!(x, Block::Html(h) if h.contains("<details>") && h.contains("<summary>"))).expect("<details>");
    let close = b.iter().position(|x| matches!(x, Block::Html(h) if h.contains("</details>"))).expect("</details>");
    let all = b[open..close].iter().find_map(|x| if let Block::Table(t) = x { Some(t) } else { None }).expect("a table inside <details>");
    assert_eq!(all[0], ["status", "check", "category", "result"]);
    assert_eq!(all.len() - 1, veldr::checks::REGISTRY.len());
    for (row, c) in all[1..].iter().zip(checks) {
        assert_eq!(row[1], format!("`{}`", c["id"].as_str().unwrap()));
        assert_eq!(row[3], c["summary"].as_str().unwrap());
    }
    assert!(open > todo && close == b.len() - 1);
}

#[test]
fn markdown_punctuation_in_a_message_comes_back_literally() {
    // A BSL message full of what Markdown would read as syntax reaches bsl.phase's summary.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("nasty.bundle.json");
    let original = std::fs::read_to_string(repo().join("examples/seed-pitfalls.bundle.json")).unwrap();
    let nasty = r#"failed | *so* _very_ <b>bold</b> [link](http://x) &amp; `a|b` #1 \\ ~~gone~~ 1. <!-- c --> | end"#;
    let text = original.replace("failed to authenticate against OpenStack in object storage plugin", &nasty.replace('"', "\\\""));
    assert_ne!(text, original);
    std::fs::write(&bundle, text).unwrap();
    let (md, report, _) = markdown(&bundle, &[]);
    let summary = check(&report, "bsl.phase")["summary"].as_str().unwrap().to_string();
    assert!(summary.contains("<b>bold</b>"), "{summary}");
    let b = blocks(&md);
    for t in tables(&b) {
        let row = t.iter().find(|r| r.iter().any(|c| c == "`bsl.phase`")).unwrap();
        assert_eq!(row.last().unwrap(), &summary, "a table cell");
    }
    assert!(b.contains(&Block::Para(summary.clone())), "the What to do paragraph");
}

#[test]
fn markdown_of_warnings_and_errors_and_with_output_file() {
    let cluster = serve("rbac-denied", None);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.md");
    let out = run(&cluster, &["-o", "markdown", "--skip", "openstack", "--output-file", file.to_str().unwrap()]);
    let json = run(&cluster, &["-o", "json", "--skip", "openstack"]);
    assert_eq!(out.status.code(), json.status.code(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing on stdout with --output-file");
    let b = blocks(&std::fs::read_to_string(&file).unwrap());
    let heads: Vec<&String> = b.iter().filter_map(|x| if let Block::Heading(4, h) = x { Some(h) } else { None }).collect();
    assert_eq!(heads, ["? error `csi.snapshot-class`", "▲ warn `kube.rbac`"], "error before warn");
}

#[test]
fn indented_details_are_nested_items_not_code() {
    let (md, report, _) = markdown(&repo().join("examples/swift-key-mismatch.bundle.json"), &[]);
    let details = check(&report, "swift.tempurl-key")["details"].as_array().unwrap().clone();
    assert!(details.iter().any(|d| d.as_str().unwrap().starts_with("  ")), "the example has indented details: {details:?}");
    // (list depth, text) of every item; an indented detail must not become a code block.
    let mut depth = 0;
    let mut items: Vec<(usize, String)> = Vec::new();
    for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::List(_)) => depth += 1,
            Event::End(TagEnd::List(_)) => depth -= 1,
            Event::Start(Tag::Item) => items.push((depth, String::new())),
            Event::Text(t) if depth > 0 => items.last_mut().unwrap().1.push_str(&t),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)) => panic!("an indented code block:\n{md}"),
            _ => {}
        }
    }
    for d in details.iter().map(|d| d.as_str().unwrap()) {
        let want = if d.starts_with("  ") { 2 } else { 1 };
        assert!(items.iter().any(|(depth, text)| *depth == want && text.starts_with(d.trim_start())), "{d:?} at depth {want}: {items:?}");
    }
}

#[test]
fn the_readme_sample_is_what_veldr_prints() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("````markdown\n").expect("the README's Markdown sample") + "````markdown\n".len();
    let sample = &readme[start..start + readme[start..].find("\n…\n````").unwrap()];
    let (md, _, _) = markdown(&repo().join("examples/swift-key-mismatch.bundle.json"), &[]);
    // The summary line carries the run's time and duration.
    let stable = |s: &str| s.lines().map(|l| if l.starts_with("**") { l.split(" · veldr").next().unwrap().to_string() } else { l.to_string() }).collect::<Vec<_>>();
    let printed = stable(&md);
    assert_eq!(stable(sample), printed[..sample.lines().count()], "README.md's -o markdown sample is out of date");
}
