//! velero.logs: the velero container's own log of the last hour (and the previous container's, when it
//! restarted) holds none of the telltales veldr knows. Each one found is tied to the check that explains it
//! (`checks::telltales`, the table built from every check's `explains`) and quoted, scrubbed; the lines at
//! `level=error` are counted.

use crate::checks::{read_failed, CheckDef, Ctx};
use crate::facts::logs::{KeptLine, LogRead, VeleroLogs};
use crate::facts::ReadErrorKind;
use crate::model::Verdict;
use crate::rules::duration::human_age;
use jiff::Timestamp;
use serde_json::json;
use std::collections::BTreeMap;

pub const CHECK: CheckDef = crate::check! {
    id: "velero.logs", category: Velero, severity: Minor,
    title: "Velero's log holds no known telltale",
    depends_on: ["kube.connect"], needs: [Deployments, Pods, VeleroLogs],
    explains: [
        ["client-side throttling"] => "Velero's Kubernetes client waits on its own rate limit (--client-qps, --client-burst): a large cluster's API calls queue and backups slow down",
    ],
    judge: judge,
};

/// Lines quoted in all (the rest are counted).
const QUOTED: usize = 5;
const HOUR: i64 = 3600;

/// The telltales of one explanation, over every read.
#[derive(Default)]
struct Found {
    why: String,
    count: u64,
    /// Quotable lines of the last hour, with the pod (and whether from the previous container).
    lines: Vec<(String, KeptLine)>,
}

fn judge(ctx: &Ctx) -> Verdict {
    let logs = match &ctx.facts.kube.velero_logs {
        Err(e) if e.kind == ReadErrorKind::NotNeeded => {
            // Only a bundle written by a veldr before 0.3 lacks it: a live run reads what a check needs.
            return Verdict::skip("the velero container's log was not read (a bundle from an older veldr): collect again to judge it");
        }
        Err(e) => return read_failed(e),
        Ok(None) => {
            return Verdict::skip(format!("no current Velero pod in namespace {} (see velero.deployment): no log to read", ctx.namespace()));
        }
        Ok(Some(logs)) => logs,
    };
    judge_logs(ctx, logs)
}

fn recent(ctx: &Ctx, t: Option<Timestamp>) -> bool {
    t.is_some_and(|t| ctx.age_secs(t) <= HOUR)
}

fn judge_logs(ctx: &Ctx, logs: &VeleroLogs) -> Verdict {
    let ns = ctx.namespace();
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut notes = Vec::new();
    let (mut lines, mut errors, mut bytes) = (0u64, 0u64, 0u64);
    for p in &logs.pods {
        let reads = std::iter::once((&p.current, false)).chain(p.previous.as_ref().map(|r| (r, true)));
        for (read, previous) in reads {
            let which = if previous { format!("pod {} (previous container{})", p.pod, p.restarted.as_deref().map(|r| format!(": {r}")).unwrap_or_default()) } else { format!("pod {}", p.pod) };
            if let Some(problem) = &read.problem {
                notes.push(format!("{which}: {problem}"));
            }
            lines += read.lines;
            bytes += read.bytes;
            errors += read.error_lines_last_hour;
            if read.capped {
                notes.push(format!("{which}: only the newest {} KiB were read (limitBytes): older lines were not judged", read.limit_bytes / 1024));
            }
            for hit in &read.hits {
                let kept: Vec<&KeptLine> = hit.lines.iter().filter(|l| recent(ctx, l.time)).collect();
                // The previous container may have died hours ago: what it said then is history, said in a note.
                if hit.last_hour == 0 && kept.is_empty() {
                    let when = hit.newest.map(|t| format!(", the last {} ago", human_age(ctx.age_secs(t)))).unwrap_or_default();
                    notes.push(format!("{which}: {} line{} more than an hour old{when} → {}: {}", hit.count, if hit.count == 1 { "" } else { "s" }, hit.check, hit.why));
                    continue;
                }
                let f = found.entry(hit.check.clone()).or_default();
                if f.why.is_empty() {
                    f.why = hit.why.clone();
                }
                f.count += hit.last_hour.max(kept.len() as u64);
                f.lines.extend(kept.into_iter().map(|l| (which.clone(), l.clone())));
            }
        }
    }
    let pods: Vec<serde_json::Value> = logs.pods.iter().map(|p| json!({
        "pod": p.pod, "container": p.container, "restarted": p.restarted,
        "current": read_evidence(&p.current), "previous": p.previous.as_ref().map(read_evidence),
    })).collect();
    let read_what = format!("{lines} line{} ({} KiB) of {}", if lines == 1 { "" } else { "s" }, bytes.div_ceil(1024), logs.pods.iter().map(|p| p.pod.as_str()).collect::<Vec<_>>().join(", "));
    let base = |v: Verdict| v.evidence("pods", &pods).evidence("errorLinesLastHour", errors);
    if found.is_empty() {
        return base(Verdict::ok(format!("no known telltale in the velero log of the last hour: {errors} line{} at level=error in {read_what}", if errors == 1 { "" } else { "s" })))
            .details(notes)
            .evidence("telltales", json!({}));
    }
    let counts: BTreeMap<&str, u64> = found.iter().map(|(c, f)| (c.as_str(), f.count)).collect();
    let named: Vec<String> = found.iter().map(|(c, f)| format!("{c} ({} line{})", f.count, if f.count == 1 { "" } else { "s" })).collect();
    let mut v = Verdict::warn(format!("the velero log of the last hour holds known telltales, explained by {}", named.join(", ")));
    // Quote up to QUOTED lines, one per explanation first, then the newest of the others.
    let mut quotes: Vec<Vec<String>> = found.values().map(|_| Vec::new()).collect();
    let mut left = QUOTED;
    for round in 0.. {
        let mut any = false;
        for (i, f) in found.values().enumerate() {
            let newest_first: Vec<&(String, KeptLine)> = f.lines.iter().rev().collect();
            if left > 0 {
                if let Some((which, l)) = newest_first.get(round) {
                    // Scrubbed again: a bundle written by another veldr is read as it is.
                    quotes[i].push(format!("  {which}: “{}”", crate::checks::telltales::shown(&crate::util::scrub::scrub(&l.text))));
                    left -= 1;
                    any = true;
                }
            }
        }
        if !any || left == 0 {
            break;
        }
    }
    for ((check, f), q) in found.iter().zip(quotes) {
        v = v.detail(format!("→ {check}: {} ({} line{} in the last hour)", f.why, f.count, if f.count == 1 { "" } else { "s" })).details(q);
    }
    let quoted_all = found.values().map(|f| f.lines.len()).sum::<usize>().min(QUOTED);
    let total: u64 = found.values().map(|f| f.count).sum();
    if total as usize > quoted_all {
        v = v.detail(format!("… {} more matching line{} not quoted", total as usize - quoted_all, if total as usize - quoted_all == 1 { "" } else { "s" }));
    }
    v = v.detail(format!("read: {read_what}; {errors} line{} at level=error in the last hour", if errors == 1 { "" } else { "s" })).details(notes);
    let explains: Vec<String> = found.keys().map(|c| format!("`veldr explain {c}`")).collect();
    base(v)
        .hint(format!(
            "each is explained by its check: {}; the whole hour: `kubectl -n {ns} logs deploy/velero -c velero --since=1h`",
            explains.join(", ")
        ))
        .evidence("telltales", json!(counts))
}

fn read_evidence(read: &LogRead) -> serde_json::Value {
    json!({"query": read.query, "first": read.first, "last": read.last, "bytes": read.bytes, "capped": read.capped, "lines": read.lines, "errorLines": read.error_lines,
        "problem": read.problem, "hits": read.hits.iter().map(|h| json!({"check": h.check, "count": h.count, "lastHour": h.last_hour})).collect::<Vec<_>>()})
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::facts::logs::{PodLogs, TelltaleHit};
    use crate::facts::ReadError;
    use crate::model::Status;

    // The facts' clock is 2026-11-29T08:00:00Z.
    fn line(time: &str, text: &str) -> KeptLine {
        KeptLine { time: Some(time.parse().unwrap()), text: text.to_string() }
    }

    fn read_of(log: &str) -> LogRead {
        let mut r = LogRead { query: "container=velero&sinceSeconds=3600&limitBytes=2097152".into(), limit_bytes: 2 << 20, ..Default::default() };
        r.bytes = log.len() as u64;
        crate::upstream::velero_logs::scan(log, &mut r, "2026-11-29T08:00:00Z".parse().unwrap());
        r
    }

    fn with_logs(logs: Option<VeleroLogs>) -> crate::facts::Facts {
        let mut f = facts();
        f.kube.velero_logs = Ok(logs);
        f
    }

    fn pod(current: LogRead, previous: Option<LogRead>) -> VeleroLogs {
        VeleroLogs { pods: vec![PodLogs { pod: "velero-7c9d8f5b6d-x2k9p".into(), container: "velero".into(), current, previous, restarted: None }] }
    }

    const QUIET: &str = concat!(
        "time=\"2026-11-29T07:10:00Z\" level=info msg=\"Validating BackupStorageLocation\" backup-storage-location=velero/default\n",
        "time=\"2026-11-29T07:20:00Z\" level=error msg=\"Error listing backups in backup store\" error=\"context deadline exceeded\"\n",
    );

    #[test]
    fn a_quiet_log_is_ok_with_its_error_count() {
        let v = run(&CHECK, &with_logs(Some(pod(read_of(QUIET), None))));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("no known telltale") && v.summary.contains("1 line at level=error in 2 lines"), "{}", v.summary);
        assert_eq!(v.evidence["errorLinesLastHour"], 1);
    }

    #[test]
    fn telltales_warn_tied_to_their_checks_and_at_most_five_lines_are_quoted() {
        let mut log = String::from(QUIET);
        for i in 0..8 {
            log.push_str(&format!("time=\"2026-11-29T07:3{i}:00Z\" level=error msg=\"backup failed\" error=\"Backup.velero.io \\\"daily-{i}\\\" is invalid: status.phase: Unsupported value: \\\"Queued\\\"\"\n"));
        }
        log.push_str("time=\"2026-11-29T07:50:00Z\" level=error msg=\"GET https://swift/v1/AUTH_a/c/o?temp_url_sig=0123456789abcdef0123456789abcdef01234567&temp_url_expires=1 401 Unauthorized: Temp URL invalid\"\n");
        let v = run(&CHECK, &with_logs(Some(pod(read_of(&log), None))));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("explained by swift.tempurl (1 line), velero.crds (8 lines)"), "{}", v.summary);
        let t = written(&v);
        assert!(t.contains("→ velero.crds: the installed CRDs reject") && t.contains("→ swift.tempurl: Swift refused a temp URL"), "{t}");
        let quoted = v.details.iter().filter(|d| d.starts_with("  ")).count();
        assert_eq!(quoted, 4, "the kept lines (3 of the CRD's, 1 of the temp URL's), at most 5: {:?}", v.details);
        assert!(t.contains("… 5 more matching lines not quoted"), "{t}");
        assert!(t.contains("temp_url_sig=<redacted>") && !t.contains("0123456789abcdef0123456789"), "{t}");
        assert!(v.hint.as_deref().unwrap().contains("`veldr explain velero.crds`"), "{:?}", v.hint);
        assert_eq!(v.evidence["telltales"]["velero.crds"], 8);
    }

    #[test]
    fn the_previous_containers_old_telltales_are_history() {
        let mut prev = read_of("time=\"2026-11-29T03:00:00Z\" level=error msg=\"plugin process exited\" error=\"signal: killed\"\n");
        prev.query = "previous=true".into();
        let mut logs = pod(read_of(QUIET), Some(prev));
        logs.pods[0].restarted = Some("OOMKilled (exit 137) at 2026-11-29T03:00:05Z".into());
        let v = run(&CHECK, &with_logs(Some(logs.clone())));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(written(&v).contains("(previous container: OOMKilled (exit 137) at 2026-11-29T03:00:05Z): 1 line more than an hour old, the last 5h ago → velero.plugin"), "{}", written(&v));
        // The same from the last hour warns.
        logs.pods[0].previous.as_mut().unwrap().hits = vec![TelltaleHit {
            check: "velero.plugin".into(), why: "a plugin died".into(), count: 1, last_hour: 1,
            newest: Some("2026-11-29T07:55:00Z".parse().unwrap()), lines: vec![line("2026-11-29T07:55:00Z", "plugin process exited")],
        }];
        assert_eq!(run(&CHECK, &with_logs(Some(logs))).status, Status::Warn);
    }

    #[test]
    fn a_denied_read_is_an_error_naming_the_grant_and_no_pod_skips() {
        let mut f = facts();
        f.kube.velero_logs = Err(ReadError::forbidden("get", "pods/log", Some("velero")));
        let v = run(&CHECK, &f);
        assert_eq!(v.status, Status::Error);
        assert!(v.hint.as_deref().unwrap().contains("grant veldr's identity get on pods/log in namespace velero"), "{:?}", v.hint);
        assert_eq!(run(&CHECK, &with_logs(None)).status, Status::Skip);
        f.kube.velero_logs = Err(ReadError::not_needed("pods/log"));
        assert!(run(&CHECK, &f).summary.contains("older veldr"));
    }

    #[test]
    fn a_capped_read_and_a_kubelet_answer_are_said() {
        let mut r = read_of(QUIET);
        r.capped = true;
        let mut prev = LogRead::default();
        prev.problem = Some("previous terminated container \"velero\" in pod \"velero-x\" not found".into());
        let v = run(&CHECK, &with_logs(Some(pod(r, Some(prev)))));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        let t = written(&v);
        assert!(t.contains("only the newest 2048 KiB were read (limitBytes)") && t.contains("previous terminated container"), "{t}");
    }
}
