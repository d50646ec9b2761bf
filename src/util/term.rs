//! The terminal veldr writes to: how wide the table is drawn.

use std::io::IsTerminal;

/// The width when no terminal is attached at all and `COLUMNS` is not set: reads well in a CI log or a
/// file, and is the width the README's sample shows.
pub const NO_TERMINAL_COLUMNS: u16 = 120;

/// The columns the table is laid out for, looked up in this order:
/// 1. the window of the terminal stdout is attached to;
/// 2. when stdout is not a terminal but the user is at one (`veldr doctor | less`, `| head`, `> report.txt`):
///    the window of stderr's terminal, else of the controlling terminal (`/dev/tty`), so that the table a
///    pager shows fits the screen it shows it on;
/// 3. with no terminal at all (CI logs, cron, a pod's log): `COLUMNS` when set, else [`NO_TERMINAL_COLUMNS`].
///
/// `to_file`: the report goes to `--output-file`; the terminals are then not asked (step 3 only).
pub fn columns(to_file: bool) -> u16 {
    let window = if to_file { None } else { terminal_columns() };
    window.or_else(env_columns).unwrap_or(NO_TERMINAL_COLUMNS)
}

/// Steps 1 and 2: the first of stdout, stderr and the controlling terminal that is a terminal with a size.
fn terminal_columns() -> Option<u16> {
    let out = std::io::stdout();
    if out.is_terminal() {
        return window_columns(&out);
    }
    let err = std::io::stderr();
    if err.is_terminal() {
        if let Some(c) = window_columns(&err) {
            return Some(c);
        }
    }
    // Opening /dev/tty fails (ENXIO) when the process has no controlling terminal: cron, CI, a pod.
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").ok()?;
    window_columns(&tty)
}

fn window_columns(fd: impl rustix::fd::AsFd) -> Option<u16> {
    rustix::termios::tcgetwinsize(fd).ok().map(|w| w.ws_col).filter(|&c| c > 0)
}

fn env_columns() -> Option<u16> {
    std::env::var("COLUMNS").ok()?.trim().parse::<u16>().ok().filter(|&c| c > 0)
}
