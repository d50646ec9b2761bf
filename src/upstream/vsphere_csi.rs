//! How the vSphere CSI driver (kubernetes-sigs/vsphere-csi-driver) reads its snapshot settings,
//! mirrored from its source: `pkg/common/config` (the `[Snapshot]` section of `csi-vsphere.conf`,
//! read with gcfg, environment variables overriding the file) and the limit check of
//! `CreateSnapshot` in `pkg/csi/service/vanilla/controller.go`.
//!
//! `csi-vsphere.conf` also holds the vCenter user and password. [`parse_snapshot_section`] walks
//! the file without ever copying a value outside `[Snapshot]`, and what it reports about the file
//! names line numbers and keys only, never a line's content.

use crate::facts::SnapshotLimits;

pub const DRIVER: &str = "csi.vsphere.vmware.com";
/// The Secret holding `csi-vsphere.conf`, and the namespaces it lives in (vmware-system-csi since
/// driver 2.3, kube-system before), in the order veldr looks.
pub const CONFIG_SECRET: &str = "vsphere-config-secret";
pub const CONFIG_KEY: &str = "csi-vsphere.conf";
pub const NAMESPACES: [&str; 2] = ["vmware-system-csi", "kube-system"];
/// The driver's feature switches (`--fss-name`), and the one that turns block-volume snapshots on.
pub const FEATURE_STATES: &str = "internal-feature-states.csi.vsphere.vmware.com";
pub const BLOCK_VOLUME_SNAPSHOT: &str = "block-volume-snapshot";
/// `DefaultGlobalMaxSnapshotsPerBlockVolume`: the limit when the key is absent or 0.
pub const DEFAULT_MAX_SNAPSHOTS: i64 = 3;
/// vSphere's own ceiling on snapshots per virtual disk: raising the driver's limit past it does not help.
pub const VSPHERE_MAX_SNAPSHOTS: i64 = 32;
/// The environment variable of the vsphere-csi-controller container that overrides the file's global limit.
pub const ENV_GLOBAL_MAX: &str = "GLOBAL_MAX_SNAPSHOTS_PER_BLOCK_VOLUME";

const GLOBAL_KEY: &str = "global-max-snapshots-per-block-volume";
const VSAN_KEY: &str = "granular-max-snapshots-per-block-volume-vsan";
const VVOL_KEY: &str = "granular-max-snapshots-per-block-volume-vvol";

/// The effective global limit as the driver computes it from a configured value (0 → default).
pub fn effective_limit(configured: Option<i64>) -> i64 {
    match configured {
        None | Some(0) => DEFAULT_MAX_SNAPSHOTS,
        Some(n) => n,
    }
}

/// Parses an integer as gcfg does for an `int` field: decimal, or hexadecimal with `0x`.
pub fn parse_gcfg_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse().ok()?,
        None => return None,
    };
    Some(if neg { -n } else { n })
}

/// Reads the `[Snapshot]` section of a `csi-vsphere.conf` (gcfg: git-config syntax; section and key
/// names case-insensitive; `;`/`#` comments, also after a value; double quotes with `\"`, `\\`,
/// `\n`, `\t` escapes; a trailing unquoted `\` continues the value on the next line). Values of
/// other sections are skipped byte by byte and never copied.
pub fn parse_snapshot_section(text: &str) -> SnapshotLimits {
    let mut out = SnapshotLimits::default();
    let mut s = Scanner { b: text.as_bytes(), i: 0, line: 1 };
    let mut in_snapshot = false;
    loop {
        s.skip_blanks();
        let Some(c) = s.peek() else { break };
        let line = s.line;
        match c {
            b'\n' => s.newline(),
            b';' | b'#' => s.skip_to_eol(),
            b'[' => {
                s.i += 1;
                match s.section_header() {
                    Some((name, sub)) => {
                        // `[Snapshot "x"]` is a subsection, which the driver's struct does not have.
                        in_snapshot = name.eq_ignore_ascii_case("snapshot") && !sub;
                        out.section |= in_snapshot;
                    }
                    None => {
                        in_snapshot = false;
                        out.problems.push(format!("line {line}: a section header that does not parse"));
                    }
                }
                if !s.end_of_line() {
                    out.problems.push(format!("line {line}: unexpected text after a section header"));
                }
            }
            c if c.is_ascii_alphabetic() => {
                let name = s.ident().to_ascii_lowercase();
                s.skip_blanks();
                let value = if s.peek() == Some(b'=') {
                    s.i += 1;
                    match s.value(in_snapshot) {
                        Ok(v) => Some(v),
                        Err(why) => {
                            let place = if in_snapshot { format!("{name} in [Snapshot]") } else { "a value outside [Snapshot]".to_string() };
                            out.problems.push(format!("line {line}: {place}: {why}"));
                            s.skip_to_eol();
                            continue;
                        }
                    }
                } else {
                    None
                };
                if !s.end_of_line() {
                    out.problems.push(format!("line {line}: unexpected text after a variable name"));
                }
                if in_snapshot {
                    snapshot_key(&mut out, line, &name, value.flatten());
                }
            }
            _ => {
                out.problems.push(format!("line {line}: neither a section, a variable nor a comment"));
                s.skip_to_eol();
            }
        }
    }
    out
}

/// Stores one `[Snapshot]` variable: the three the driver knows; others are ignored as the driver
/// does (gcfg.FatalOnly).
fn snapshot_key(out: &mut SnapshotLimits, line: usize, name: &str, value: Option<String>) {
    let slot = match name {
        GLOBAL_KEY => &mut out.global_max,
        VSAN_KEY => &mut out.granular_vsan,
        VVOL_KEY => &mut out.granular_vvol,
        _ => return,
    };
    match value.as_deref().map(str::trim) {
        None | Some("") => out.problems.push(format!("line {line}: {name} has no value")),
        Some(v) => match parse_gcfg_int(v) {
            Some(n) => *slot = Some(n),
            None => out.problems.push(format!("line {line}: {name} is not a whole number")),
        },
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }
    fn newline(&mut self) {
        self.i += 1;
        self.line += 1;
    }
    fn skip_to_eol(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                break;
            }
            self.i += 1;
        }
    }
    /// After an item: blanks, then a comment, a newline or the end. `false` when something else follows
    /// (the rest of the line is then skipped, unread).
    fn end_of_line(&mut self) -> bool {
        self.skip_blanks();
        match self.peek() {
            None | Some(b'\n') => true,
            Some(b';' | b'#') => {
                self.skip_to_eol();
                true
            }
            Some(_) => {
                self.skip_to_eol();
                false
            }
        }
    }
    fn ident(&mut self) -> String {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c >= 0x80) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.b[start..self.i]).into_owned()
    }
    /// `name]` or `name "sub"]`, after the `[`: the name and whether a subsection was given.
    fn section_header(&mut self) -> Option<(String, bool)> {
        self.skip_blanks();
        let name = self.ident();
        if name.is_empty() {
            return None;
        }
        self.skip_blanks();
        let mut sub = false;
        if self.peek() == Some(b'"') {
            self.i += 1;
            sub = true;
            loop {
                match self.peek()? {
                    b'"' => break,
                    b'\n' => return None,
                    b'\\' => self.i += 2,
                    _ => self.i += 1,
                }
            }
            self.i += 1;
            self.skip_blanks();
        }
        if self.peek() != Some(b']') {
            return None;
        }
        self.i += 1;
        Some((name, sub))
    }
    /// A value after `=`, up to an unquoted comment or the end of the line. Returns the unquoted
    /// value only when `keep` (inside `[Snapshot]`); otherwise it is skipped without being copied.
    /// Errors say what is wrong, never what the value holds.
    fn value(&mut self, keep: bool) -> Result<Option<String>, &'static str> {
        self.skip_blanks();
        let mut v: Vec<u8> = Vec::new();
        let mut kept_len = 0; // trailing unquoted blanks are not part of the value
        let mut quoted = false;
        loop {
            let Some(c) = self.peek() else {
                if quoted {
                    return Err("a quote is not closed");
                }
                break;
            };
            if c == b'\n' {
                // Quotes never span lines; the newline is left for the caller.
                if quoted {
                    return Err("a quote is not closed");
                }
                break;
            }
            if !quoted && matches!(c, b';' | b'#') {
                break;
            }
            self.i += 1;
            match c {
                b'"' => {
                    quoted = !quoted;
                    kept_len = v.len();
                }
                b'\\' if quoted => {
                    let e = self.peek().filter(|&e| e != b'\n').ok_or("a quote is not closed")?;
                    self.i += 1;
                    let ch = match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'\\' | b'"' => e,
                        _ => return Err("an unknown escape sequence"),
                    };
                    if keep {
                        v.push(ch);
                    }
                    kept_len = v.len();
                }
                b'\\' => {
                    if self.peek() == Some(b'\r') {
                        self.i += 1;
                    }
                    if self.peek() != Some(b'\n') {
                        return Err("an unquoted '\\' not at the end of the line");
                    }
                    self.newline();
                }
                b'\r' => {}
                _ => {
                    if keep {
                        v.push(c);
                    }
                    if quoted || !matches!(c, b' ' | b'\t') {
                        kept_len = v.len();
                    }
                }
            }
        }
        if !keep {
            return Ok(None);
        }
        v.truncate(kept_len);
        Ok(Some(String::from_utf8_lossy(&v).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "PLANTED-vcenter-pw-7f3a";

    fn conf(snapshot: &str) -> String {
        format!(
            "[Global]\ncluster-id = \"prod-1\"\n\n[VirtualCenter \"10.0.0.5\"]\ninsecure-flag = \"true\"\nuser = \"administrator@vsphere.local\"\npassword = \"{PW}\"\nport = \"443\"\ndatacenters = \"dc-1\"\n\n{snapshot}"
        )
    }

    #[test]
    fn reads_the_limits_of_the_snapshot_section() {
        let l = parse_snapshot_section(&conf("[Snapshot]\nglobal-max-snapshots-per-block-volume = 5 # optional, set to 3 if unset\ngranular-max-snapshots-per-block-volume-vsan = 7 ; vSAN\ngranular-max-snapshots-per-block-volume-vvol = 0x8\n"));
        assert!(l.section);
        assert_eq!((l.global_max, l.granular_vsan, l.granular_vvol), (Some(5), Some(7), Some(8)));
        assert!(l.problems.is_empty(), "{:?}", l.problems);
    }

    #[test]
    fn names_are_case_insensitive_and_values_may_be_quoted() {
        let l = parse_snapshot_section("[snapshot]\n  Global-Max-Snapshots-Per-Block-Volume=\"12\"\r\n");
        assert_eq!(l.global_max, Some(12));
        let l = parse_snapshot_section("[SNAPSHOT]\nglobal-max-snapshots-per-block-volume = \\\n  4\n");
        assert_eq!(l.global_max, Some(4), "a continued line: {:?}", l.problems);
    }

    #[test]
    fn a_missing_section_or_key_is_the_default() {
        let l = parse_snapshot_section(&conf(""));
        assert!(!l.section && l.global_max.is_none() && l.problems.is_empty(), "{l:?}");
        assert_eq!(effective_limit(l.global_max), 3);
        assert_eq!(effective_limit(Some(0)), 3, "0 means the default in the driver");
        let l = parse_snapshot_section(&conf("[Snapshot]\n; nothing set\n"));
        assert!(l.section && l.global_max.is_none());
    }

    #[test]
    fn the_key_in_another_section_or_a_comment_is_ignored() {
        let l = parse_snapshot_section("[Global]\nglobal-max-snapshots-per-block-volume = 30\n[Snapshot]\n# global-max-snapshots-per-block-volume = 31\n[Snapshot \"x\"]\nglobal-max-snapshots-per-block-volume = 29\n[Labels]\nglobal-max-snapshots-per-block-volume = 28\n");
        assert!(l.section);
        assert_eq!(l.global_max, None, "{l:?}");
        // `[Snapshot]` on the line after a continued value belongs to that value: no section opens,
        // and the next line is a variable of [Global] again.
        let l = parse_snapshot_section("[Global]\nx = a \\\n[Snapshot]\nglobal-max-snapshots-per-block-volume = 9\n");
        assert!(!l.section && l.global_max.is_none() && l.problems.is_empty(), "{l:?}");
    }

    #[test]
    fn the_last_value_wins_and_bad_values_are_named_not_quoted() {
        let l = parse_snapshot_section("[Snapshot]\nglobal-max-snapshots-per-block-volume = 4\nglobal-max-snapshots-per-block-volume = 6\n");
        assert_eq!(l.global_max, Some(6));
        let l = parse_snapshot_section("[Snapshot]\nglobal-max-snapshots-per-block-volume = lots\ngranular-max-snapshots-per-block-volume-vsan =\n");
        assert_eq!(l.global_max, None);
        assert_eq!(l.problems, ["line 2: global-max-snapshots-per-block-volume is not a whole number", "line 3: granular-max-snapshots-per-block-volume-vsan has no value"]);
    }

    #[test]
    fn errors_elsewhere_never_quote_the_line() {
        // An unterminated quote, a bad escape and junk, all on lines holding the password.
        let text = format!(
            "[Global]\npassword = \"{PW}\n[VirtualCenter \"h\"]\npassword = \"{PW}\\q\"\n{PW} junk\nuser = x \"{PW}\" trailing\\ {PW}\n[Snapshot]\nglobal-max-snapshots-per-block-volume = 10\n"
        );
        let l = parse_snapshot_section(&text);
        assert_eq!(l.global_max, Some(10), "{l:?}");
        assert_eq!(l.problems.len(), 4, "{:?}", l.problems);
        let all = format!("{l:?} {}", serde_json::to_string(&l).unwrap());
        assert!(!all.contains("PLANTED") && !all.contains("7f3a"), "{all}");
        assert!(l.problems.iter().all(|p| p.starts_with("line ")), "{:?}", l.problems);
    }

    #[test]
    fn gcfg_integers() {
        assert_eq!(parse_gcfg_int("32"), Some(32));
        assert_eq!(parse_gcfg_int("0x20"), Some(32));
        assert_eq!(parse_gcfg_int("-1"), Some(-1));
        assert_eq!(parse_gcfg_int("3.5"), None);
        assert_eq!(parse_gcfg_int(""), None);
        assert_eq!(parse_gcfg_int("3 snapshots"), None);
    }
}
