//! Durations as Velero writes them (Go's `time.Duration`), as veldr's flags take them, and as
//! messages show them.

/// A Go `time.Duration` string (`1m0s`, `720h0m0s`, `1.5h`, `500ms`, `0`) in seconds.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    let mut any = false;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += n * factor;
        any = true;
    }
    any.then_some(if neg { -total } else { total })
}

/// "1m", "2h30m", "3d" for intervals in messages.
pub fn human_interval(secs: f64) -> String {
    let s = secs.round().max(0.0) as i64;
    if s == 0 {
        return "0s".into();
    }
    if s % 86400 == 0 {
        return format!("{}d", s / 86400);
    }
    if s % 3600 == 0 {
        return format!("{}h", s / 3600);
    }
    if s >= 3600 {
        return format!("{}h{}m", s / 3600, (s % 3600) / 60);
    }
    if s % 60 == 0 {
        return format!("{}m", s / 60);
    }
    format!("{s}s")
}

/// "3h 12m" style ages for messages.
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("720h0m0s"), Some(720.0 * 3600.0));
        assert_eq!(parse_go_duration("1m0s"), Some(60.0));
        assert_eq!(parse_go_duration("1.5h"), Some(5400.0));
        assert_eq!(parse_go_duration("500ms"), Some(0.5));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        assert_eq!(parse_go_duration("0s"), Some(0.0));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("soon"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn human_forms() {
        assert_eq!(human_interval(86400.0), "1d");
        assert_eq!(human_interval(9000.0), "2h30m");
        assert_eq!(human_age(90), "90s");
        assert_eq!(human_age(3 * 86400), "3d");
    }
}
