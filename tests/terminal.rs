//! The table on a real terminal: the binary runs under a pseudo-terminal of 80, 120 and 200 columns
//! (opened here with rustix, no external tool) and every line's display width is measured, wide glyphs
//! counting two columns and colour escape codes none. `NO_COLOR` and `--color never` leave no escape code.
//!
//! Where the table's width comes from (src/util/term.rs), each case with a real pseudo-terminal:
//! - stdout is a terminal: its width, whatever `COLUMNS` says;
//! - stdout is a pipe (`veldr doctor | less`) but stderr is a terminal: stderr's width;
//! - stdout and stderr are pipes but the process has a controlling terminal (`/dev/tty`): its width;
//! - no terminal at all (a new session without one, as under cron or CI): `COLUMNS`, else 120;
//! - `--output-file`: the terminals are not asked.

mod common;

use common::*;
use serde_json::Value;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use unicode_width::UnicodeWidthStr;

/// A fresh pseudo-terminal of `cols` columns: (master, slave).
fn open_pty(cols: u16) -> (OwnedFd, std::fs::File) {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("cannot open a pseudo-terminal (/dev/ptmx): this test needs one");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    rustix::termios::tcsetwinsize(&master, rustix::termios::Winsize { ws_row: 50, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 }).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    // O_NOCTTY: opening it must not make it the test process's controlling terminal.
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(name.to_str().unwrap())
        .unwrap();
    (master, slave)
}

/// Everything a pseudo-terminal's master receives until the last slave descriptor closes.
fn drain(master: OwnedFd) -> std::thread::JoinHandle<Vec<u8>> {
    let mut master = std::fs::File::from(master);
    std::thread::spawn(move || {
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
    })
}

/// `veldr ARGS` with `COLUMNS`, `NO_COLOR` removed unless `env` sets them.
fn veldr_with(args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = veldr();
    cmd.args(args).env_remove("COLUMNS").env("TERM", "xterm-256color").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn assert_no_panic(stderr: &[u8]) {
    assert!(!String::from_utf8_lossy(stderr).contains("panicked"), "{}", String::from_utf8_lossy(stderr));
}

/// Runs `veldr ARGS` with stdout on a fresh pseudo-terminal of `cols` columns; returns what the terminal
/// received (line ends as `\n`) and the exit code. `COLUMNS` and `NO_COLOR` are removed unless `env` sets them.
fn under_pty(cols: u16, args: &[&str], env: &[(&str, &str)]) -> (String, Option<i32>) {
    let (master, slave) = open_pty(cols);
    // The Command, and with it this process's copy of the slave, is dropped at the end of the statement:
    // once veldr exits, reading the master ends.
    let child = veldr_with(args, env).stdout(slave).stderr(Stdio::piped()).spawn().expect("run veldr");
    let reader = drain(master);
    let out = child.wait_with_output().unwrap();
    assert_no_panic(&out.stderr);
    let text = String::from_utf8(reader.join().unwrap()).expect("UTF-8 on the terminal");
    (text.replace("\r\n", "\n"), out.status.code())
}

/// Where the terminal is when stdout is a pipe.
#[derive(Clone, Copy, Debug)]
enum Tty {
    /// stderr is a terminal of that many columns (`veldr doctor | less` typed in a terminal).
    OnStderr(u16),
    /// stdout and stderr are pipes; the process's controlling terminal (/dev/tty) has that many columns
    /// (`veldr doctor 2>&1 | less`).
    Controlling(u16),
    /// No terminal at all: a new session without a controlling terminal, as cron, CI or a pod run it.
    None,
}

/// Runs `veldr ARGS` with stdout on a pipe and the terminal `tty`; returns stdout and the exit code.
fn piped(tty: Tty, args: &[&str], env: &[(&str, &str)]) -> (String, Option<i32>) {
    let mut cmd = veldr_with(args, env);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut pty = None;
    match tty {
        Tty::OnStderr(cols) => {
            let (master, slave) = open_pty(cols);
            cmd.stderr(slave);
            pty = Some(master);
        }
        Tty::Controlling(cols) => {
            let (master, slave) = open_pty(cols);
            // In the child: a new session, then the pseudo-terminal becomes its controlling terminal. The
            // slave descriptor is close-on-exec: after exec veldr reaches the terminal only through /dev/tty.
            unsafe {
                cmd.pre_exec(move || {
                    rustix::process::setsid()?;
                    rustix::process::ioctl_tiocsctty(&slave)?;
                    Ok(())
                });
            }
            pty = Some(master);
        }
        Tty::None => unsafe {
            // A new session has no controlling terminal: /dev/tty cannot be opened (ENXIO).
            cmd.pre_exec(|| {
                rustix::process::setsid()?;
                Ok(())
            });
        },
    }
    let child = cmd.spawn().expect("run veldr");
    drop(cmd);
    let reader = pty.map(drain);
    let out = child.wait_with_output().unwrap();
    if let Some(r) = reader {
        // The child holds no slave descriptor any more; with a controlling terminal the master stays open
        // here: stop reading by dropping nothing, the slave ends with the session.
        if !matches!(tty, Tty::Controlling(_)) {
            assert_no_panic(&r.join().unwrap());
        }
    }
    assert_no_panic(&out.stderr);
    (String::from_utf8(out.stdout).expect("UTF-8"), out.status.code())
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

/// The widest table line of a rendered report.
fn table_width(text: &str) -> usize {
    strip_ansi(text).lines().filter(|l| l.starts_with(['┌', '│', '╞', '└'])).map(columns).max().expect("a table")
}

#[test]
fn the_terminal_width_wins_over_columns() {
    let report = json_report(&seed());
    let bundle = seed().display().to_string();
    let (text, _) = under_pty(80, &["doctor", "--from-bundle", &bundle], &[("COLUMNS", "200")]);
    assert_table_fits(&text, 80, &report);
}

/// `veldr doctor | less` in an 80-column terminal: stdout is a pipe, stderr the terminal. The table fits
/// the terminal (in 0.2 it was drawn at its natural width, ~250 columns for the seed, and every row broke
/// in two in the pager); no colour, since stdout is not the terminal.
#[test]
fn a_pipe_to_a_pager_fits_the_terminal_on_stderr() {
    let report = json_report(&seed());
    let bundle = seed().display().to_string();
    for cols in [80u16, 200] {
        let (text, code) = piped(Tty::OnStderr(cols), &["doctor", "--from-bundle", &bundle], &[]);
        assert_eq!(code, Some(1), "{text}");
        assert!(!text.contains('\x1b'), "no colour on a pipe");
        assert_table_fits(&text, cols.into(), &report);
        assert_what_to_do_fits(&text, cols.into(), &report);
        if cols == 200 {
            assert!(table_width(&text) > 150, "the room of a 200-column terminal is used: {}", table_width(&text));
        }
    }
    // The terminal wins over COLUMNS here too.
    let (text, _) = piped(Tty::OnStderr(80), &["doctor", "--from-bundle", &bundle], &[("COLUMNS", "200")]);
    assert_table_fits(&text, 80, &report);
}

/// `veldr doctor 2>&1 | less`: stdout and stderr are pipes, the controlling terminal (/dev/tty) is 80
/// columns wide: the table fits it.
#[test]
fn a_pipe_fits_the_controlling_terminal() {
    let report = json_report(&seed());
    let bundle = seed().display().to_string();
    let (text, code) = piped(Tty::Controlling(80), &["doctor", "--from-bundle", &bundle], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains('\x1b'), "no colour on a pipe");
    assert_table_fits(&text, 80, &report);
    assert_what_to_do_fits(&text, 80, &report);
    assert!(table_width(&text) > 70, "{}", table_width(&text));
    let (text, _) = piped(Tty::Controlling(200), &["doctor", "--from-bundle", &bundle], &[]);
    assert!(table_width(&text) > 150, "{}", table_width(&text));
}

/// No terminal at all (cron, CI logs, a pod): COLUMNS when set, else 120, which the seed's table fills.
/// `--output-file` does not ask the terminal either.
#[test]
fn with_no_terminal_columns_else_120() {
    let report = json_report(&seed());
    let bundle = seed().display().to_string();
    let (text, code) = piped(Tty::None, &["doctor", "--from-bundle", &bundle], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert_table_fits(&text, 120, &report);
    assert_what_to_do_fits(&text, 120, &report);
    assert_eq!(table_width(&text), 120, "the seed's table is wider than 120 unwrapped: it fills the 120 columns");

    for cols in [80u16, 200] {
        let (text, _) = piped(Tty::None, &["doctor", "--from-bundle", &bundle], &[("COLUMNS", &cols.to_string())]);
        assert_table_fits(&text, cols.into(), &report);
        assert_what_to_do_fits(&text, cols.into(), &report);
        assert!(table_width(&text) > usize::from(cols) - 10, "COLUMNS={cols}: {}", table_width(&text));
    }
    // A COLUMNS that is not a width is ignored.
    let (text, _) = piped(Tty::None, &["doctor", "--from-bundle", &bundle], &[("COLUMNS", "wide")]);
    assert_eq!(table_width(&text), 120);

    // --output-file from a terminal: the file is not the terminal, its table has the no-terminal width.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.txt");
    let (_, code) = under_pty(80, &["doctor", "--from-bundle", &bundle, "--output-file", file.to_str().unwrap()], &[]);
    assert_eq!(code, Some(1));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains('\x1b'), "no colour in a file");
    assert_table_fits(&text, 120, &report);
    assert_eq!(table_width(&text), 120);
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
