//! Shell completions and man pages, as a user installs them (README "Install"):
//! - `veldr completions bash` is valid bash (`bash -n`) and really completes: bash's completion function,
//!   registered by the script with `complete -F`, is called the way readline calls it (COMP_WORDS,
//!   COMP_CWORD, COMP_LINE, COMP_POINT) and its COMPREPLY is read back;
//! - every other shell's script is generated;
//! - `veldr man` renders with `man -l` (man-db + groff, no warning), and `veldr man --dir` writes pages that
//!   `man -M` finds by name.
//!
//! Needs bash and man-db (`bash scripts/test.sh` installs man-db).

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = veldr().args(args).output().expect("run veldr");
    assert!(out.status.success(), "veldr {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// What bash's completion for `veldr` offers on the command line `words` with the cursor in word `cword`
/// (the last word when it is the one being typed).
fn complete(script: &Path, words: &[&str]) -> Vec<String> {
    let cword = words.len() - 1;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    // As readline calls it: the function `complete -p veldr` names, with (command, current word, previous word).
    let driver = format!(
        r#"set -u
source '{script}'
spec=$(complete -p veldr) || {{ echo "the script registers no completion for veldr" >&2; exit 3; }}
fn=$(sed -n 's/.* -F \([^ ]*\) .*/\1/p' <<<"$spec")
[[ -n "$fn" ]] || {{ echo "no -F function in: $spec" >&2; exit 3; }}
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
"$fn" veldr "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        script = script.display(),
        words = quoted.join(" "),
    );
    let out = Command::new("bash").arg("--norc").arg("--noprofile").arg("-c").arg(&driver).output().expect("run bash");
    assert!(out.status.success(), "completing {words:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

#[test]
fn bash_completion_is_valid_and_completes_commands_flags_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("veldr.bash");
    std::fs::write(&script, stdout_of(&["completions", "bash"])).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(syntax.status.success(), "bash -n: {}", String::from_utf8_lossy(&syntax.stderr));

    // veldr doc<TAB>
    assert_eq!(complete(&script, &["veldr", "doc"]), ["doctor"]);
    // veldr <TAB>: every command.
    let all = complete(&script, &["veldr", ""]);
    for c in ["doctor", "checks", "explain", "tempurl", "serve", "logs", "schema", "completions", "man"] {
        assert!(all.iter().any(|w| w == c), "{c} not offered: {all:?}");
    }
    // A flag of the command being typed, and the values of an enum flag.
    assert_eq!(complete(&script, &["veldr", "doctor", "--output-f"]), ["--output-file"]);
    assert_eq!(complete(&script, &["veldr", "doctor", "-o", ""]), ["table", "json", "prometheus", "nagios", "markdown", "junit"]);
    assert_eq!(complete(&script, &["veldr", "completions", "po"]), ["powershell"]);
    // Nothing for what does not exist (the test can fail).
    assert!(complete(&script, &["veldr", "docx"]).is_empty());
}

#[test]
fn every_shell_gets_a_script() {
    for (shell, marker) in [("zsh", "#compdef veldr"), ("fish", "complete -c veldr"), ("powershell", "Register-ArgumentCompleter"), ("elvish", "edit:completion:arg-completer")] {
        let text = String::from_utf8(stdout_of(&["completions", shell])).unwrap();
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        assert!(text.contains("doctor") && text.contains("output-file"), "{shell}: the commands and flags are not in it");
    }
}

/// `man -l FILE` as a user reads a page: rendered by groff at 80 columns, every warning on.
fn render(page: &Path) -> String {
    let out = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(page)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("man is missing: `apt-get install man-db` (bash scripts/test.sh installs it)");
    assert!(out.status.success(), "man -l {}: {}", page.display(), String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "man -l {}: warnings: {}", page.display(), String::from_utf8_lossy(&out.stderr));
    // No formatting left over: on a pipe man prints plain text (no backspace overstrike, no roff requests).
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x08') && !text.lines().any(|l| l.starts_with('.')), "{text}");
    text
}

#[test]
fn the_man_pages_render_with_man() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("veldr.1");
    std::fs::write(&top, stdout_of(&["man"])).unwrap();
    let text = render(&top);
    for section in ["NAME", "SYNOPSIS", "OPTIONS", "SUBCOMMANDS", "EXIT STATUS", "ENVIRONMENT", "SEE ALSO", "VERSION"] {
        assert!(text.lines().any(|l| l == section), "no {section} section in veldr(1):\n{text}");
    }
    assert!(text.contains(&format!("v{}", env!("CARGO_PKG_VERSION"))) || text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    assert!(text.contains("veldr-doctor(1)") && text.contains("veldr-man(1)"), "{text}");
    assert!(text.lines().all(|l| unicode_width_of(l) <= 80), "a line wider than MANWIDTH:\n{text}");

    let doctor = dir.path().join("veldr-doctor.1");
    std::fs::write(&doctor, stdout_of(&["man", "doctor"])).unwrap();
    let text = render(&doctor);
    for flag in ["--output-file", "--fail-on", "--from-bundle", "--credentials"] {
        assert!(text.contains(flag), "{flag} not in veldr-doctor(1):\n{text}");
    }
    assert!(text.contains("EXIT STATUS") && text.contains("incomplete"), "{text}");

    // An unknown command: exit 2 and the names that exist.
    let out = veldr().args(["man", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one of doctor"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// README: `veldr man --dir <manpath>/man1`, then `man veldr-doctor` finds it.
#[test]
fn man_dir_installs_a_page_per_command_that_man_finds() {
    let manpath = tempfile::tempdir().unwrap();
    let man1 = manpath.path().join("man1");
    let out = veldr().arg("man").arg("--dir").arg(&man1).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "--dir prints nothing on stdout");
    let mut pages: Vec<String> = std::fs::read_dir(&man1).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    pages.sort();
    let commands = ["checks", "completions", "doctor", "explain", "logs", "man", "schema", "serve", "tempurl"];
    for c in commands {
        assert!(pages.contains(&format!("veldr-{c}.1")), "no page for {c}: {pages:?}");
    }
    assert!(pages.contains(&"veldr.1".to_string()));
    for page in &pages {
        render(&man1.join(page));
    }
    let found = Command::new("man")
        .arg("-M")
        .arg(manpath.path())
        .arg("veldr-serve")
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    assert!(found.status.success(), "man -M … veldr-serve: {}", String::from_utf8_lossy(&found.stderr));
    assert!(String::from_utf8_lossy(&found.stdout).contains("--interval"));
}

fn unicode_width_of(line: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(line)
}
