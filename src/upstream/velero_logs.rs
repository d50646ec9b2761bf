//! The Velero server's log as it writes it: logrus lines, as text (`time="2026-11-29T07:40:00Z" level=error
//! msg="…" error="…" logSource="pkg/…"`, the default) or as JSON (`--log-format=json`: `{"level":"error",
//! "msg":"…","time":"…"}`); pkg/cmd/server/server.go sets the formatter, logrus's TextFormatter quotes values.
//!
//! [`scan`] reads one log read's text into what veldr keeps of it: counts, and the lines that match a message
//! veldr knows (the telltales: `checks::telltales::explain`, the table built from every check's `explains`),
//! each scrubbed before it is kept.

use crate::facts::logs::{KeptLine, LogRead, TelltaleHit, KEPT_LINES};
use jiff::Timestamp;

/// Characters of a kept line (after scrubbing).
pub const LINE_CHARS: usize = 500;

/// A field of a line: logrus text `key=value` / `key="value"`, or JSON `"key":"value"`.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let text = format!("{key}=");
    let json = format!("\"{key}\":");
    let mut from = 0;
    while let Some(i) = line[from..].find(&text).map(|i| i + from) {
        // A whole key: at the start or after a space.
        if i == 0 || line.as_bytes()[i - 1] == b' ' {
            let rest = &line[i + text.len()..];
            return Some(match rest.strip_prefix('"') {
                Some(q) => q.split('"').next().unwrap_or_default(),
                None => rest.split(' ').next().unwrap_or_default(),
            });
        }
        from = i + text.len();
    }
    let i = line.find(&json)?;
    let rest = line[i + json.len()..].trim_start();
    let q = rest.strip_prefix('"')?;
    q.split('"').next()
}

/// The line's time (`time=`), when it carries one.
pub fn time(line: &str) -> Option<Timestamp> {
    field(line, "time").and_then(|t| t.parse().ok())
}

/// The line's level (`level=`), lower case.
pub fn level(line: &str) -> Option<String> {
    field(line, "level").map(str::to_ascii_lowercase)
}

/// What one read of the log holds: counts over every line, the lines that match a known message (scrubbed,
/// at most [`KEPT_LINES`] per explanation, the newest), and `capped` when the byte cap was reached. A line
/// without a time takes the time of the line before it (a continuation of a multi-line message).
pub fn scan(text: &str, read: &mut LogRead, now: Timestamp) {
    let hour_ago = now - jiff::SignedDuration::from_secs(3600);
    let mut at: Option<Timestamp> = None;
    for line in text.lines() {
        read.lines += 1;
        if let Some(t) = time(line) {
            at = Some(t);
            read.first = read.first.or(Some(t));
            read.last = Some(t);
        }
        let recent = at.is_some_and(|t| t >= hour_ago);
        if level(line).as_deref() == Some("error") {
            read.error_lines += 1;
            if recent {
                read.error_lines_last_hour += 1;
            }
        }
        let Some(e) = crate::checks::telltales::explain(line) else { continue };
        let hit = match read.hits.iter_mut().position(|h| h.check == e.check && h.why == e.why) {
            Some(i) => &mut read.hits[i],
            None => {
                read.hits.push(TelltaleHit { check: e.check.to_string(), why: e.why.to_string(), ..Default::default() });
                read.hits.last_mut().expect("just pushed")
            }
        };
        hit.count += 1;
        if recent {
            hit.last_hour += 1;
        }
        if at.is_some() {
            hit.newest = at;
        }
        if hit.lines.len() == KEPT_LINES {
            hit.lines.remove(0);
        }
        hit.lines.push(KeptLine { time: at, text: kept(line) });
    }
}

/// A line as veldr keeps it: scrubbed of secrets first, then cut.
pub fn kept(line: &str) -> String {
    let clean = crate::util::scrub::scrub(line.trim_end());
    if clean.chars().count() > LINE_CHARS {
        format!("{}…", clean.chars().take(LINE_CHARS).collect::<String>())
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-29T08:00:00Z";

    #[test]
    fn fields_of_text_and_json_lines() {
        let text = r#"time="2026-11-29T07:40:00Z" level=error msg="Error getting backup store" error="x" logSource="pkg/controller/x.go:1""#;
        assert_eq!(field(text, "level"), Some("error"));
        assert_eq!(field(text, "msg"), Some("Error getting backup store"));
        assert_eq!(time(text), Some("2026-11-29T07:40:00Z".parse().unwrap()));
        let json = r#"{"level":"warning","msg":"x","time":"2026-11-29T07:41:00Z"}"#;
        assert_eq!(level(json).as_deref(), Some("warning"));
        assert_eq!(time(json), Some("2026-11-29T07:41:00Z".parse().unwrap()));
        // `sublevel=` is not `level=`.
        assert_eq!(field("sublevel=x level=info", "level"), Some("info"));
        assert_eq!(field("no fields here", "level"), None);
    }

    #[test]
    fn a_scan_counts_errors_and_keeps_only_scrubbed_telltales() {
        let log = [
            r#"time="2026-11-29T06:00:00Z" level=error msg="old error""#,
            r#"time="2026-11-29T07:10:00Z" level=info msg="Backup.velero.io \"daily-1\" is invalid: status.phase: Unsupported value: \"Queued\"""#,
            r#"time="2026-11-29T07:20:00Z" level=error msg="GET https://s/v1/AUTH_a/c/o?temp_url_sig=deadbeefdeadbeef&temp_url_expires=1 failed: 401 Unauthorized: Temp URL invalid""#,
            r#"  continuation of a multi-line message with password=hunter2"#,
            r#"time="2026-11-29T07:30:00Z" level=error msg="nothing known""#,
            r#"time="2026-11-29T07:31:00Z" level=info msg="status.phase: Unsupported value: \"ReadyToStart\"""#,
        ]
        .join("\n");
        let mut read = LogRead::default();
        scan(&log, &mut read, NOW.parse().unwrap());
        assert_eq!((read.lines, read.error_lines, read.error_lines_last_hour), (6, 3, 2));
        assert_eq!(read.first, Some("2026-11-29T06:00:00Z".parse().unwrap()));
        let crds = read.hits.iter().find(|h| h.check == "velero.crds").expect("Unsupported value → velero.crds");
        assert_eq!((crds.count, crds.last_hour, crds.lines.len()), (2, 2, 2));
        assert_eq!(crds.newest, Some("2026-11-29T07:31:00Z".parse().unwrap()));
        let tempurl = read.hits.iter().find(|h| h.check == "swift.tempurl").expect("Temp URL invalid → swift.tempurl");
        assert!(tempurl.lines[0].text.contains("temp_url_sig=<redacted>") && !tempurl.lines[0].text.contains("deadbeef"), "{:?}", tempurl.lines);
        let all = serde_json::to_string(&read).unwrap();
        assert!(!all.contains("hunter2") && !all.contains("nothing known") && !all.contains("old error"), "only matched lines are kept: {all}");
    }

    #[test]
    fn a_long_line_is_cut_after_scrubbing_and_only_the_newest_are_kept() {
        let long = format!(r#"time="2026-11-29T07:50:00Z" level=error msg="{} password=hunter2 {} x509: certificate signed by unknown authority""#, "x".repeat(400), "y".repeat(600));
        let log = std::iter::repeat_n(long.as_str(), 5).collect::<Vec<_>>().join("\n");
        let mut read = LogRead::default();
        scan(&log, &mut read, NOW.parse().unwrap());
        let hit = &read.hits[0];
        assert_eq!((hit.check.as_str(), hit.count, hit.lines.len()), ("credentials.tls", 5, KEPT_LINES));
        assert!(hit.lines.iter().all(|l| l.text.chars().count() == LINE_CHARS + 1 && !l.text.contains("hunter2")), "{:?}", hit.lines[0]);
        assert!(hit.lines[0].text.contains("password=<redacted>"), "scrubbed before it is cut: {:?}", hit.lines[0]);
    }
}
