//! The table on a real terminal: the binary runs under a pseudo-terminal of 80, 120 and 200 columns
//! (opened here with rustix, no external tool) and every line's display width is measured, wide glyphs
//! counting two columns and colour escape codes none. On a pipe lines are kept whole, unless `COLUMNS`
//! says otherwise; `NO_COLOR` and `--color never` leave no escape code.

mod common;

use common::*;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use unicode_width::UnicodeWidthStr;

/// Runs `veldr ARGS` with stdout on a fresh pseudo-terminal of `cols` columns; returns what the terminal
/// received (line ends as `\n`) and the exit code. `COLUMNS` and `NO_COLOR` are removed unless `env` sets them.
fn under_pty(cols: u16, args: &[&str], env: &[(&str, &str)]) -> (String, Option<i32>) {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("cannot open a pseudo-terminal (/dev/ptmx): this test needs one");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    rustix::termios::tcsetwinsize(&master, rustix::termios::Winsize { ws_row: 50, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 }).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new().read(true).write(true).open(name.to_str().unwrap()).unwrap();
    let child = {
        let mut cmd = veldr();
        cmd.args(args).env_remove("COLUMNS").env("TERM", "xterm-256color").stdin(Stdio::null()).stdout(slave).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("run veldr")
        // The Command, and with it this process's copy of the slave, is dropped here: once veldr exits,
        // reading the master ends.
    };
    let mut master = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match master.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // Linux answers EIO once the last slave descriptor is closed.
                Err(_) => break,
            }
        }
        buf
    });
    let out = child.wait_with_output().unwrap();
    assert!(out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(reader.join().unwrap()).expect("UTF-8 on the terminal");
    (text.replace("\r\n", "\n"), out.status.code())
}

/// Removes ANSI CSI sequences (colours, attributes).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn columns(line: &str) -> usize {
    UnicodeWidthStr::width(strip_ansi(line).as_str())
}

fn seed() -> std::path::PathBuf {
    repo().join("examples/seed-pitfalls.bundle.json")
}

fn json_report(bundle: &Path) -> Value {
    let out = veldr().args(["doctor", "-o", "json", "--from-bundle"]).arg(bundle).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The table's body rows as cells: (status, id, result), continuation rows included.
fn table_rows(text: &str) -> Vec<[String; 3]> {
    let lines: Vec<&str> = text.lines().collect();
    let top = lines.iter().position(|l| l.starts_with('┌')).expect("a table");
    let body = top + lines[top..].iter().position(|l| l.starts_with('╞')).unwrap() + 1;
    lines[body..]
        .iter()
        .take_while(|l| !l.starts_with('└'))
        .map(|l| {
            let cells: Vec<String> = l.trim_matches('│').split('┆').map(|c| c.trim().to_string()).collect();
            assert_eq!(cells.len(), 3, "{l:?}");
            [cells[0].clone(), cells[1].clone(), cells[2].clone()]
        })
        .collect()
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The table's promises at one width: every table line fits, ids are whole, each result is all there.
fn assert_table_fits(text: &str, width: usize, report: &Value) {
    let plain = strip_ansi(text);
    let in_table = |l: &&str| l.starts_with(['┌', '│', '╞', '└']);
    for l in plain.lines().filter(in_table) {
        assert!(columns(l) <= width, "table line of {} columns on a {width}-column terminal:\n{l}", columns(l));
    }
    let rows = table_rows(&plain);
    for c in report["checks"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let at = rows.iter().position(|r| r[1] == id).unwrap_or_else(|| panic!("{id} is not whole in one cell at {width} columns"));
        let mut result = rows[at][2].clone();
        for r in rows[at + 1..].iter().take_while(|r| r[0].is_empty() && r[1].is_empty()) {
            result.push_str(&r[2]);
        }
        assert_eq!(squeeze(&result), squeeze(c["summary"].as_str().unwrap()), "{id}: the result cell lost text at {width} columns");
    }
}

/// "What to do" fits too, except a line that is one unbreakable command; every quoted command and every
/// block line (YAML) of a hint is on one line, as it was.
fn assert_what_to_do_fits(text: &str, width: usize, report: &Value) {
    let plain = strip_ansi(text);
    let todo = &plain[plain.find("\nWhat to do:").expect("a What to do section")..];
    for l in todo.lines() {
        if columns(l) > width {
            let rest = l.trim_start().trim_start_matches("fix: ");
            let code = rest.starts_with('`') && rest.trim_end_matches(|c: char| c.is_ascii_punctuation() && c != '`').ends_with('`');
            assert!(code && rest.matches('`').count() == 2, "a wrappable line of {} columns at {width}:\n{l}", columns(l));
        }
    }
    let lines: Vec<&str> = todo.lines().collect();
    for c in report["checks"].as_array().unwrap().iter().filter(|c| ["fail", "warn", "error"].contains(&c["status"].as_str().unwrap())) {
        let Some(hint) = c["hint"].as_str() else { continue };
        let (first, block) = hint.split_once('\n').unwrap_or((hint, ""));
        for span in first.split('`').skip(1).step_by(2) {
            assert!(todo.contains(&format!("`{span}`")), "{}: the command `{span}` was broken at {width} columns", c["id"]);
        }
        for b in block.lines() {
            assert!(lines.contains(&b), "{}: the block line {b:?} was changed at {width} columns", c["id"]);
        }
    }
}

#[test]
fn the_table_fits_terminals_of_80_120_and_200_columns() {
    let report = json_report(&seed());
    let bundle = seed().display().to_string();
    let mut heights = Vec::new();
    for width in [80u16, 120, 200] {
        let (text, code) = under_pty(width, &["doctor", "--from-bundle", &bundle], &[]);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("\x1b["), "colour on a terminal by default");
        assert_table_fits(&text, width.into(), &report);
        assert_what_to_do_fits(&text, width.into(), &report);
        let widest = strip_ansi(&text).lines().filter(|l| l.starts_with('┌')).map(columns).max().unwrap();
        heights.push((width, widest, table_rows(&strip_ansi(&text)).len()));
    }
    // The room is used: the wider the terminal, the wider the table and the fewer wrapped rows.
    assert!(heights.windows(2).all(|w| w[0].1 < w[1].1 && w[0].2 > w[1].2), "{heights:?}");
    assert!(heights[2].1 > 150, "a 200-column terminal gets a wide table: {heights:?}");
}

#[test]
fn the_terminal_width_wins_over_columns_and_a_pipe_keeps_lines_whole() {
    let report = json_report(&seed());
    let bundle = seed().display().to_string();
    let (text, _) = under_pty(80, &["doctor", "--from-bundle", &bundle], &[("COLUMNS", "200")]);
    assert_table_fits(&text, 80, &report);

    // A pipe: one line per check, whatever the length.
    let out = veldr().args(["doctor", "--from-bundle", &bundle]).env_remove("COLUMNS").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no colour on a pipe");
    for c in report["checks"].as_array().unwrap() {
        let summary = c["summary"].as_str().unwrap();
        assert!(text.lines().any(|l| l.contains(c["id"].as_str().unwrap()) && l.contains(summary)), "{summary:?} is wrapped on a pipe");
    }
    assert!(text.lines().map(columns).max().unwrap() > 200, "nothing is wrapped at a fixed width on a pipe");

    // A pipe with COLUMNS: the width asked for.
    let out = veldr().args(["doctor", "--from-bundle", &bundle]).env("COLUMNS", "80").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_table_fits(&text, 80, &report);
    assert_what_to_do_fits(&text, 80, &report);
}

#[test]
fn no_color_and_color_never_leave_no_escape_code_on_a_terminal() {
    let bundle = seed().display().to_string();
    let (text, _) = under_pty(100, &["doctor", "--from-bundle", &bundle], &[("NO_COLOR", "1")]);
    assert!(text.contains("What to do") && !text.contains('\x1b'), "NO_COLOR: {text:?}");
    let (text, _) = under_pty(100, &["doctor", "--color", "never", "--from-bundle", &bundle], &[]);
    assert!(text.contains("What to do") && !text.contains('\x1b'), "--color never: {text:?}");
    let (text, _) = under_pty(100, &["doctor", "--color", "always", "--from-bundle", &bundle], &[("NO_COLOR", "1")]);
    assert!(text.contains("\x1b[31m"), "--color always overrides NO_COLOR");
    assert_table_fits(&text, 100, &json_report(&seed()));
}

#[test]
fn wide_glyphs_count_two_columns() {
    // The seed bundle, with a BSL message in Chinese and an emoji (two columns each on a terminal).
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("wide.bundle.json");
    let original = std::fs::read_to_string(seed()).unwrap();
    let wide = original.replace(
        "failed to authenticate against OpenStack in object storage plugin",
        "认证失败 🔑 无法向对象存储插件中的 OpenStack 进行身份验证，缺少参数 认证地址 认证地址认证地址认证地址",
    );
    assert_ne!(wide, original, "the seed bundle has the BSL message this test rewrites");
    std::fs::write(&bundle, wide).unwrap();
    let report = json_report(&bundle);
    assert!(report["checks"].as_array().unwrap().iter().any(|c| c["summary"].as_str().unwrap().contains("🔑")));
    for width in [80u16, 120] {
        let (text, _) = under_pty(width, &["doctor", "--from-bundle", bundle.to_str().unwrap()], &[]);
        assert!(text.contains("认证失败"), "{text}");
        assert_table_fits(&text, width.into(), &report);
        assert_what_to_do_fits(&text, width.into(), &report);
    }
}
