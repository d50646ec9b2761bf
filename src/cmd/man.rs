//! `veldr man`: the man pages, in roff, from the same clap definitions as `--help` (clap_mangen), so
//! they cannot drift from the command line. `veldr man` prints veldr(1), `veldr man doctor` prints
//! veldr-doctor(1), `veldr man --dir DIR` writes one page per command (veldr.1, veldr-doctor.1, …).
//!
//! Each page: clap_mangen's NAME, SYNOPSIS, DESCRIPTION, OPTIONS and COMMANDS sections, then this file's
//! EXIT STATUS, ENVIRONMENT and SEE ALSO (what `--help` has no place for), then VERSION.

use crate::cli::Cli;
use clap::CommandFactory;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The commands whose exit status is the doctor's (CONTRACT.md).
const REPORTING: &[&str] = &["veldr", "veldr-doctor", "veldr-restore-check", "veldr-verify"];

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
every check was evaluated and none failed (and none warned, under \fB\-\-fail\-on warn\fR)
.TP
\fB1\fR
at least one check failed (under \fB\-\-fail\-on warn\fR also a warning or an error; under \fB\-\-fail\-on error\fR also an error)
.TP
\fB2\fR
veldr could not run: bad flags, an unreadable kubeconfig or bundle, an unwritable \fB\-\-output\-file\fR
.TP
\fB3\fR
no check failed, but at least one ended \fIerror\fR: the run is incomplete, not healthy (a Keystone or Swift that did not answer within \fB\-\-timeout\fR, a read RBAC refused)
.PP
With \fB\-o nagios\fR the Nagios plugin convention applies instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
"#;

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBKUBECONFIG\fR
the kubeconfig files, as kubectl reads them; in a pod without one, the service account is used
.TP
\fBVELERO_NAMESPACE\fR
Velero's namespace when \fB\-n\fR is not given
.TP
\fBOS_*\fR
with \fB\-\-credentials env\fR, the OpenStack credentials to diagnose (by default veldr uses the ones the velero container reads)
.TP
\fBNO_COLOR\fR
no colour in the table
.TP
\fBCOLUMNS\fR
the table's width when no terminal is attached (stdout, stderr and /dev/tty are none); else 120
"#;

const SEE_ALSO: &str = r#".SH "SEE ALSO"
\fBveldr explain\fR \fIID\fR prints the runbook page of a check; \fBveldr checks\fR lists them.
\fBveldr completions\fR \fISHELL\fR prints the shell completions.
.BR velero (1),
.BR kubectl (1)
"#;

/// The page of `command` (None: veldr itself), in roff.
pub fn page(command: Option<&str>) -> Result<Vec<u8>, String> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let cmd = match command {
        None => root,
        Some(name) => root.find_subcommand(name).cloned().ok_or_else(|| {
            let names: Vec<&str> = root.get_subcommands().map(|c| c.get_name()).collect();
            format!("no command {name:?}: one of {}", names.join(", "))
        })?,
    };
    render(cmd).map_err(|e| e.to_string())
}

fn render(cmd: clap::Command) -> std::io::Result<Vec<u8>> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_string();
    let man = clap_mangen::Man::new(cmd.clone()).manual("veldr manual").source(concat!("veldr ", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    if REPORTING.contains(&name.as_str()) {
        out.write_all(EXIT_STATUS.as_bytes())?;
        out.write_all(ENVIRONMENT.as_bytes())?;
    }
    out.write_all(SEE_ALSO.as_bytes())?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// Writes every page into `dir` (created if missing); returns the files written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut written = Vec::new();
    let mut pending = vec![root];
    while let Some(cmd) = pending.pop() {
        pending.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
        let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_string();
        let path = dir.join(format!("{name}.1"));
        let text = render(cmd).map_err(|e| e.to_string())?;
        crate::util::fsutil::write_atomic(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_named_after_it() {
        let top = String::from_utf8(page(None).unwrap()).unwrap();
        assert!(top.contains(".TH veldr 1") && top.contains("veldr\\-doctor(1)"), "{top}");
        assert!(top.contains(".SH \"EXIT STATUS\"") && top.contains(".SH \"SEE ALSO\""));
        let doctor = String::from_utf8(page(Some("doctor")).unwrap()).unwrap();
        assert!(doctor.contains(&format!(".TH veldr-doctor 1  \"veldr {}\"", env!("CARGO_PKG_VERSION"))) && doctor.contains("\\-\\-output\\-file"), "{doctor}");
        let explain = String::from_utf8(page(Some("explain")).unwrap()).unwrap();
        assert!(!explain.contains("EXIT STATUS"), "explain does not report: no doctor exit codes");
        assert!(page(Some("nope")).unwrap_err().contains("one of doctor, checks"));
    }
}
