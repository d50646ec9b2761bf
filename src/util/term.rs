//! The terminal veldr writes to: how wide it is.

use std::io::IsTerminal;

/// The columns the table is laid out for: the window of the terminal stdout is attached to, else
/// `COLUMNS`, else none (a pipe or a file keeps every line whole, for grep and diff). `to_terminal` is
/// false when the report goes to `--output-file`, whatever stdout is.
pub fn columns(to_terminal: bool) -> Option<u16> {
    let tty = (to_terminal && std::io::stdout().is_terminal())
        .then(|| rustix::termios::tcgetwinsize(std::io::stdout()).ok())
        .flatten()
        .map(|w| w.ws_col)
        .filter(|&c| c > 0);
    tty.or_else(|| std::env::var("COLUMNS").ok()?.trim().parse::<u16>().ok().filter(|&c| c > 0))
}
