//! Velero's cron (robfig/cron): how long a Schedule may go between two runs.

use super::duration::parse_go_duration;

const DAY: f64 = 86400.0;

/// A field of a cron expression as the set of values it matches, and whether it was `*`/`?`.
struct Field {
    set: Vec<bool>,
    star: bool,
}

fn name_value(s: &str, names: &[&str], offset: u32) -> Option<u32> {
    let upper = s.to_ascii_uppercase();
    names.iter().position(|n| *n == upper).map(|i| i as u32 + offset).or_else(|| s.parse().ok())
}

/// Parses one field: `*`, `?`, `5`, `1-5`, `*/15`, `3/4`, `MON-FRI`, lists of these.
fn parse_field(field: &str, min: u32, max: u32, names: &[&str], name_offset: u32) -> Result<Field, String> {
    let mut set = vec![false; (max + 1) as usize];
    let star = field.starts_with('*') || field.starts_with('?');
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in {part:?}"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("zero step in {part:?}"));
        }
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = name_value(a, names, name_offset).ok_or_else(|| format!("bad value {a:?}"))?;
            let b = name_value(b, names, name_offset).ok_or_else(|| format!("bad value {b:?}"))?;
            (a, b)
        } else {
            let a = name_value(range, names, name_offset).ok_or_else(|| format!("bad value {range:?}"))?;
            // `3/4` means from 3 to the end, every 4.
            (a, if part.contains('/') { max } else { a })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{part:?} is out of range {min}-{max}"));
        }
        let mut v = lo;
        while v <= hi {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok(Field { set, star })
}

/// The longest gap between two consecutive runs of a schedule, in seconds, as Velero's cron
/// (robfig/cron) would run it: 5 fields (or 6 with seconds first), descriptors and `@every`.
pub fn schedule_interval(expr: &str) -> Result<f64, String> {
    runs(expr).map(|r| r.longest)
}

/// The average time between runs, in seconds: how often backups are made over the long run, which
/// is what decides how many are alive at once (`0 3 * * MON-FRI` runs 5 times a week, every 1.4 d
/// on average, though its longest gap is 3 d). Equals [`schedule_interval`] for regular schedules.
pub fn average_interval(expr: &str) -> Result<f64, String> {
    runs(expr).map(|r| r.average)
}

struct Runs {
    longest: f64,
    average: f64,
}

fn runs(expr: &str) -> Result<Runs, String> {
    let every = |s: f64| Runs { longest: s, average: s };
    let mut words: Vec<&str> = expr.split_whitespace().collect();
    if words.first().is_some_and(|w| w.starts_with("CRON_TZ=") || w.starts_with("TZ=")) {
        words.remove(0);
    }
    if words.is_empty() {
        return Err("empty schedule".into());
    }
    if let Some(d) = words[0].strip_prefix('@') {
        return match d.to_ascii_lowercase().as_str() {
            "every" => {
                let raw = words.get(1).ok_or("`@every` without a duration")?;
                match parse_go_duration(raw) {
                    Some(s) if s > 0.0 => Ok(every(s)),
                    _ => Err(format!("bad @every duration {raw:?}")),
                }
            }
            "yearly" | "annually" => Ok(Runs { longest: 366.0 * DAY, average: 365.25 * DAY }),
            "monthly" => Ok(Runs { longest: 31.0 * DAY, average: 365.25 / 12.0 * DAY }),
            "weekly" => Ok(every(7.0 * DAY)),
            "daily" | "midnight" => Ok(every(DAY)),
            "hourly" => Ok(every(3600.0)),
            other => Err(format!("unknown descriptor @{other}")),
        };
    }
    if words.len() == 6 {
        words.remove(0); // seconds
    }
    if words.len() != 5 {
        return Err(format!("{} fields (expected 5)", words.len()));
    }
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let minute = parse_field(words[0], 0, 59, &[], 0)?;
    let hour = parse_field(words[1], 0, 23, &[], 0)?;
    let dom = parse_field(words[2], 1, 31, &[], 0)?;
    let month = parse_field(words[3], 1, 12, &MONTHS, 1)?;
    let mut dow = parse_field(words[4], 0, 7, &DAYS, 0)?;
    if dow.set[7] {
        dow.set[0] = true; // 7 is Sunday too
    }

    // Runs within one day, in minutes since midnight.
    let mut day_runs = Vec::new();
    for h in 0..24 {
        for m in 0..60 {
            if hour.set[h] && minute.set[m] {
                day_runs.push((h * 60 + m) as i64);
            }
        }
    }
    if day_runs.is_empty() {
        return Err("matches no time of day".into());
    }
    let mut max_gap: i64 = day_runs.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let (first, last) = (day_runs[0], *day_runs.last().unwrap_or(&0));

    // Walk four years of days (covers leap years and every weekday/month combination).
    let mut date = jiff::civil::Date::new(2024, 1, 1).map_err(|e| e.to_string())?;
    let mut prev_last: Option<i64> = None;
    let mut runs_days = 0;
    const DAYS_WALKED: usize = 4 * 366;
    for day_index in 0..DAYS_WALKED {
        let m_ok = month.set[date.month() as usize];
        let d_ok = dom.set[date.day() as usize];
        let w_ok = dow.set[date.weekday().to_sunday_zero_offset() as usize];
        let day_ok = if dom.star || dow.star { d_ok && w_ok } else { d_ok || w_ok };
        if m_ok && day_ok {
            let start = day_index as i64 * 1440;
            if let Some(p) = prev_last {
                max_gap = max_gap.max(start + first - p);
            }
            prev_last = Some(start + last);
            runs_days += 1;
        }
        date = match date.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    if runs_days == 0 || (runs_days == 1 && day_runs.len() == 1) {
        return Err("runs less than once in four years".into());
    }
    let count = (runs_days * day_runs.len()) as f64;
    Ok(Runs { longest: max_gap as f64 * 60.0, average: DAYS_WALKED as f64 * DAY / count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_intervals() {
        let h = 3600.0;
        assert_eq!(schedule_interval("0 2 * * *"), Ok(24.0 * h));
        assert_eq!(schedule_interval("0 */6 * * *"), Ok(6.0 * h));
        assert_eq!(schedule_interval("0 2,14 * * *"), Ok(12.0 * h));
        assert_eq!(schedule_interval("*/15 * * * *"), Ok(900.0));
        assert_eq!(schedule_interval("0 * * * *"), Ok(h));
        assert_eq!(schedule_interval("0 3 * * 0"), Ok(7.0 * 24.0 * h));
        assert_eq!(schedule_interval("0 3 * * MON-FRI"), Ok(3.0 * 24.0 * h));
        assert_eq!(schedule_interval("0 0 1 * *"), Ok(31.0 * 24.0 * h));
        assert_eq!(schedule_interval("CRON_TZ=Europe/Paris 30 1 * * *"), Ok(24.0 * h));
        assert_eq!(schedule_interval("0 0 2 * * *"), Ok(24.0 * h), "six fields, seconds first");
        assert_eq!(schedule_interval("@every 6h"), Ok(6.0 * h));
        assert_eq!(schedule_interval("@daily"), Ok(24.0 * h));
        assert_eq!(schedule_interval("@hourly"), Ok(h));
        assert_eq!(schedule_interval("@weekly"), Ok(7.0 * 24.0 * h));
        assert!(schedule_interval("not a cron").is_err());
        assert!(schedule_interval("61 * * * *").is_err());
        assert!(schedule_interval("").is_err());
    }

    #[test]
    fn average_intervals() {
        let (h, d) = (3600.0, 86400.0);
        assert_eq!(average_interval("0 2 * * *"), Ok(d));
        assert_eq!(average_interval("0 */6 * * *"), Ok(6.0 * h));
        assert_eq!(average_interval("0 2,3 * * *"), Ok(12.0 * h), "two runs a day, an hour apart");
        assert_eq!(average_interval("@every 6h"), Ok(6.0 * h));
        let weekdays = average_interval("0 3 * * MON-FRI").unwrap();
        assert!((weekdays / d - 1.4).abs() < 0.01, "{}", weekdays / d);
        assert!(average_interval("bad").is_err());
    }
}
