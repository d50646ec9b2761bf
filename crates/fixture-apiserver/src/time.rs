//! `${NOW}`, `${NOW-30s}`, `${NOW+10d}` placeholders in fixture strings.

use anyhow::bail;
use serde_json::Value;

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn format_rfc3339(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (UTC only).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se)
}

fn offset_secs(spec: &str) -> Option<i64> {
    if spec.is_empty() {
        return Some(0);
    }
    let (sign, rest) = match spec.as_bytes()[0] {
        b'+' => (1, &spec[1..]),
        b'-' => (-1, &spec[1..]),
        _ => return None,
    };
    let unit = rest.chars().last()?;
    let n: i64 = rest[..rest.len() - unit.len_utf8()].parse().ok()?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    Some(sign * n * mult)
}

fn substitute_str(s: &str, now: i64) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${NOW") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 5..];
        let Some(end) = after.find('}') else {
            bail!("unterminated placeholder in {s:?}")
        };
        let Some(off) = offset_secs(&after[..end]) else {
            bail!(
                "bad placeholder ${{NOW{}}} in {s:?} (want e.g. ${{NOW-30s}}, units s m h d)",
                &after[..end]
            )
        };
        out.push_str(&format_rfc3339(now + off));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces placeholders in every string value (not keys) of `v`.
pub fn substitute_now(v: &mut Value, now: i64) -> anyhow::Result<()> {
    match v {
        Value::String(s) if s.contains("${NOW") => *s = substitute_str(s, now)?,
        Value::Array(a) => {
            for x in a {
                substitute_now(x, now)?;
            }
        }
        Value::Object(o) => {
            for (_, x) in o.iter_mut() {
                substitute_now(x, now)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2025-01-31T12:00:00Z",
            "2000-03-01T01:02:03Z",
        ] {
            assert_eq!(format_rfc3339(parse_rfc3339(s).unwrap()), s);
        }
        assert_eq!(parse_rfc3339("2025-01-31T12:00:00Z"), Some(1_738_324_800));
        assert!(parse_rfc3339("2025-01-31 12:00:00").is_none());
    }

    #[test]
    fn placeholders() {
        let now = parse_rfc3339("2025-01-31T12:00:00Z").unwrap();
        assert_eq!(
            substitute_str("${NOW}", now).unwrap(),
            "2025-01-31T12:00:00Z"
        );
        assert_eq!(
            substitute_str("${NOW-2h}", now).unwrap(),
            "2025-01-31T10:00:00Z"
        );
        assert_eq!(
            substitute_str("${NOW+1d}", now).unwrap(),
            "2025-02-01T12:00:00Z"
        );
        assert_eq!(
            substitute_str("a ${NOW-30s} b ${NOW-1m}", now).unwrap(),
            "a 2025-01-31T11:59:30Z b 2025-01-31T11:59:00Z"
        );
        assert!(substitute_str("${NOW-2y}", now).is_err());
        assert!(substitute_str("${NOW-2h", now).is_err());
    }
}
