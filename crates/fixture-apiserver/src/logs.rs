//! Container logs: `GET /api/v1/namespaces/NS/pods/NAME/log`, from the scenario's `_logs.yaml`.
//!
//! The file is a list of logs, one per (pod, container, previous):
//!
//! ```yaml
//! - pod: velero-7c9d8f5b6d-x2k9p
//!   namespace: velero            # default: default
//!   container: velero
//!   previous: false              # true: the log of the previous, terminated container (`?previous=true`)
//!   repeat: 1                    # the lines N times over (a large log)
//!   lines:
//!     - 'time="${NOW-50m}" level=info msg="Starting Velero server" logSource="pkg/cmd/server/server.go:290"'
//! ```
//!
//! A line's time is the `time="…"` (or `time=…`) it carries, as logrus writes it, else a leading RFC 3339
//! timestamp, else the time of the line before it (the first: the server's now). `${NOW-5m}` placeholders are
//! replaced as in objects. The query is answered as the kubelet does: `container` (required when the pod has
//! several), `previous`, `sinceSeconds`/`sinceTime` (lines at or after that time), `tailLines` (the last N of
//! those), `timestamps` (each line prefixed with its time), then `limitBytes` (the body cut after N bytes, mid-line
//! if need be).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default = "default_namespace")]
    namespace: String,
    pod: String,
    container: String,
    #[serde(default)]
    previous: bool,
    #[serde(default = "one")]
    repeat: usize,
    #[serde(default)]
    lines: Vec<String>,
}

fn default_namespace() -> String {
    "default".into()
}

fn one() -> usize {
    1
}

/// One container's log.
#[derive(Debug, Clone)]
pub struct ContainerLog {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    /// Each line with its time (unix seconds).
    pub lines: Vec<(i64, String)>,
}

/// Reads `_logs.yaml` (or `.yml`) of a scenario directory; none is no logs.
pub fn load(dir: &Path, now: i64) -> anyhow::Result<Vec<ContainerLog>> {
    let Some(path) = ["_logs.yaml", "_logs.yml"].iter().map(|f| dir.join(f)).find(|p| p.exists()) else {
        return Ok(Vec::new());
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {shown}"))?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let entries: Vec<Entry> = serde_saphyr::from_str(&text).map_err(|e| anyhow!("{shown}: {e}"))?;
    let mut out = Vec::new();
    for e in entries {
        let mut v = Value::Array(e.lines.into_iter().map(Value::String).collect());
        crate::time::substitute_now(&mut v, now).with_context(|| shown.clone())?;
        let texts: Vec<String> = v.as_array().into_iter().flatten().filter_map(|l| l.as_str().map(str::to_string)).collect();
        let mut lines = Vec::with_capacity(texts.len() * e.repeat);
        for _ in 0..e.repeat {
            let mut at = now;
            for l in &texts {
                if let Some(t) = line_time(l) {
                    at = t;
                }
                lines.push((at, l.clone()));
            }
        }
        if out.iter().any(|o: &ContainerLog| o.namespace == e.namespace && o.pod == e.pod && o.container == e.container && o.previous == e.previous) {
            return Err(anyhow!("{shown}: two logs for {}/{} container {} (previous: {})", e.namespace, e.pod, e.container, e.previous));
        }
        out.push(ContainerLog { namespace: e.namespace, pod: e.pod, container: e.container, previous: e.previous, lines });
    }
    Ok(out)
}

/// The time a line carries: logrus's `time="2026-01-02T03:04:05Z"`, or a leading RFC 3339 timestamp.
fn line_time(line: &str) -> Option<i64> {
    if let Some(i) = line.find("time=") {
        let rest = line[i + 5..].trim_start_matches('"');
        if let Some(t) = rest.get(..20).and_then(crate::time::parse_rfc3339) {
            return Some(t);
        }
    }
    line.get(..20).and_then(crate::time::parse_rfc3339)
}

/// What the query asks for.
#[derive(Debug, Default)]
pub struct Query {
    pub container: Option<String>,
    pub previous: bool,
    pub since_seconds: Option<i64>,
    pub since_time: Option<i64>,
    pub tail_lines: Option<usize>,
    pub limit_bytes: Option<usize>,
    pub timestamps: bool,
}

/// A refusal: (HTTP code, Status reason, message).
pub type Refusal = (u16, &'static str, String);

fn truthy(v: Option<&String>) -> bool {
    matches!(v.map(String::as_str), Some("true" | "1"))
}

/// The query as the API server validates it (PodLogOptions): 422 for a value out of range.
pub fn parse_query(q: &HashMap<String, String>) -> Result<Query, Refusal> {
    let invalid = |field: &str, v: &str, why: &str| (422, "Invalid", format!("PodLogOptions \"\" is invalid: {field}: Invalid value: {v}: {why}"));
    let int = |k: &str| -> Result<Option<i64>, Refusal> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| (400, "BadRequest", format!("invalid value {v:?} for {k}"))),
        }
    };
    let since_seconds = int("sinceSeconds")?;
    if let Some(s) = since_seconds.filter(|s| *s < 1) {
        return Err(invalid("sinceSeconds", &s.to_string(), "must be greater than 0"));
    }
    let tail = int("tailLines")?;
    if let Some(t) = tail.filter(|t| *t < 0) {
        return Err(invalid("tailLines", &t.to_string(), "must be greater than or equal to 0"));
    }
    let limit = int("limitBytes")?;
    if let Some(l) = limit.filter(|l| *l < 1) {
        return Err(invalid("limitBytes", &l.to_string(), "must be greater than 0"));
    }
    let since_time = match q.get("sinceTime") {
        None => None,
        Some(t) => Some(crate::time::parse_rfc3339(t).ok_or_else(|| (400, "BadRequest", format!("invalid value {t:?} for sinceTime")))?),
    };
    if since_seconds.is_some() && since_time.is_some() {
        return Err((422, "Invalid", "PodLogOptions \"\" is invalid: sinceTime: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified".into()));
    }
    Ok(Query {
        container: q.get("container").filter(|c| !c.is_empty()).cloned(),
        previous: truthy(q.get("previous")),
        since_seconds,
        since_time,
        tail_lines: tail.map(|t| t as usize),
        limit_bytes: limit.map(|l| l as usize),
        timestamps: truthy(q.get("timestamps")),
    })
}

fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array).into_iter().flatten().filter_map(|c| c["name"].as_str().map(str::to_string)).collect()
}

/// The log a pod's container gives for `q`, or the kubelet's refusal. `now` is the server's clock.
pub fn answer(logs: &[ContainerLog], pod: &Value, q: &Query, now: i64) -> Result<String, Refusal> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("default");
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let containers = names(pod.pointer("/spec/containers"));
    let inits = names(pod.pointer("/spec/initContainers"));
    let container = match &q.container {
        Some(c) if containers.contains(c) || inits.contains(c) => c.clone(),
        Some(c) => return Err((400, "BadRequest", format!("container {c} is not valid for pod {name}"))),
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            let mut msg = format!("a container name must be specified for pod {name}, choose one of: [{}]", containers.join(" "));
            if !inits.is_empty() {
                msg.push_str(&format!(" or one of the init containers: [{}]", inits.join(" ")));
            }
            return Err((400, "BadRequest", msg));
        }
    };
    let entry = |previous: bool| logs.iter().find(|l| l.namespace == ns && l.pod == name && l.container == container && l.previous == previous);
    let status = pod.pointer("/status/containerStatuses").and_then(Value::as_array).into_iter().flatten()
        .chain(pod.pointer("/status/initContainerStatuses").and_then(Value::as_array).into_iter().flatten())
        .find(|s| s["name"] == container.as_str());
    let state = |k: &str| status.and_then(|s| s.pointer(&format!("/state/{k}")));
    let last_terminated = status.and_then(|s| s.pointer("/lastState/terminated")).is_some();
    // The kubelet's choice (pkg/kubelet/kubelet_pods.go validateContainerLogStatus): previous → the last
    // terminated container; else the running one, else the terminated one, else the last terminated one
    // (a container waiting to restart shows the log of the run that died), else "waiting to start".
    let found = match entry(q.previous) {
        Some(log) => Some(log),
        None if q.previous => return Err((400, "BadRequest", format!("previous terminated container \"{container}\" in pod \"{name}\" not found"))),
        None if state("running").is_none() && state("terminated").is_none() && last_terminated => entry(true),
        None => match state("waiting").filter(|_| state("running").is_none() && !last_terminated) {
            Some(w) => {
                let reason = w["reason"].as_str().unwrap_or("ContainerCreating");
                return Err((400, "BadRequest", format!("container \"{container}\" in pod \"{name}\" is waiting to start: {reason}")));
            }
            // A running container without a fixture log has an empty one.
            None => None,
        },
    };
    let Some(log) = found else { return Ok(String::new()) };
    let since = q.since_seconds.map(|s| now - s).or(q.since_time);
    let mut lines: Vec<&(i64, String)> = log.lines.iter().filter(|(t, _)| since.is_none_or(|s| *t >= s)).collect();
    if let Some(n) = q.tail_lines {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let mut body = String::new();
    for (t, l) in lines {
        if q.timestamps {
            body.push_str(&crate::time::format_rfc3339(*t));
            body.push(' ');
        }
        body.push_str(l);
        body.push('\n');
    }
    if let Some(limit) = q.limit_bytes.filter(|l| *l < body.len()) {
        // The kubelet cuts at the byte, mid-line or mid-character; the body is sent as bytes.
        let mut cut = limit;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"metadata": {"name": "velero-1", "namespace": "velero"},
            "spec": {"containers": [{"name": "velero"}], "initContainers": [{"name": "plugin"}]},
            "status": {"containerStatuses": [{"name": "velero", "state": {"running": {}}}]}})
    }

    fn q(pairs: &[(&str, &str)]) -> Query {
        parse_query(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap()
    }

    fn logs(now: i64) -> Vec<ContainerLog> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("_logs.yaml"),
            r#"
- pod: velero-1
  namespace: velero
  container: velero
  lines:
    - 'time="${NOW-2h}" level=info msg="old"'
    - '  a continuation line'
    - 'time="${NOW-30m}" level=error msg="recent" error="boom"'
    - 'time="${NOW-1m}" level=info msg="newest"'
- pod: velero-1
  namespace: velero
  container: velero
  previous: true
  repeat: 3
  lines: ['time="${NOW-3h}" level=fatal msg="killed"']
"#,
        )
        .unwrap();
        load(dir.path(), now).unwrap()
    }

    #[test]
    fn a_log_is_answered_as_the_kubelet_answers_it() {
        let now = 1_800_000_000;
        let l = logs(now);
        let all = answer(&l, &pod(), &q(&[]), now).unwrap();
        assert_eq!(all.lines().count(), 4);
        assert!(all.contains("msg=\"old\"") && all.contains("  a continuation line\n"), "{all}");
        // sinceSeconds keeps the lines of the last hour; the continuation keeps its line's time.
        let hour = answer(&l, &pod(), &q(&[("container", "velero"), ("sinceSeconds", "3600")]), now).unwrap();
        assert_eq!(hour.lines().collect::<Vec<_>>().len(), 2, "{hour}");
        assert!(hour.starts_with("time=") && hour.contains("msg=\"recent\"") && !hour.contains("old"), "{hour}");
        let tail = answer(&l, &pod(), &q(&[("tailLines", "1")]), now).unwrap();
        assert_eq!(tail.trim_end(), format!("time=\"{}\" level=info msg=\"newest\"", crate::time::format_rfc3339(now - 60)));
        let cut = answer(&l, &pod(), &q(&[("limitBytes", "10")]), now).unwrap();
        assert_eq!(cut.len(), 10);
        let ts = answer(&l, &pod(), &q(&[("tailLines", "1"), ("timestamps", "true")]), now).unwrap();
        assert!(ts.starts_with(&format!("{} time=", crate::time::format_rfc3339(now - 60))), "{ts}");
        let prev = answer(&l, &pod(), &q(&[("previous", "true")]), now).unwrap();
        assert_eq!(prev.lines().count(), 3);
        assert_eq!(answer(&l, &pod(), &q(&[("previous", "true"), ("sinceSeconds", "3600")]), now).unwrap(), "");
    }

    #[test]
    fn refusals_are_the_kubelets() {
        let now = 1_800_000_000;
        let l = logs(now);
        let err = |pairs: &[(&str, &str)], p: &Value| answer(&l, p, &q(pairs), now).unwrap_err();
        assert_eq!(err(&[("container", "nope")], &pod()).2, "container nope is not valid for pod velero-1");
        let mut two = pod();
        two["spec"]["containers"] = json!([{"name": "velero"}, {"name": "sidecar"}]);
        assert_eq!(err(&[], &two).2, "a container name must be specified for pod velero-1, choose one of: [velero sidecar] or one of the init containers: [plugin]");
        assert_eq!(err(&[("container", "plugin"), ("previous", "true")], &pod()).2, "previous terminated container \"plugin\" in pod \"velero-1\" not found");
        let mut waiting = pod();
        waiting["metadata"]["name"] = json!("velero-2");
        waiting["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "CreateContainerConfigError"}});
        assert_eq!(err(&[], &waiting).2, "container \"velero\" in pod \"velero-2\" is waiting to start: CreateContainerConfigError");
        let mut other = pod();
        other["metadata"]["name"] = json!("velero-3");
        assert_eq!(answer(&l, &other, &q(&[]), now).unwrap(), "", "a running container without a fixture log has an empty one");
        // Crash-looping: waiting to restart, the current log is the one of the run that died.
        let only_previous: Vec<ContainerLog> = l.iter().filter(|c| c.previous).cloned().collect();
        let mut looping = pod();
        looping["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
        looping["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}});
        assert_eq!(answer(&only_previous, &looping, &q(&[]), now).unwrap().lines().count(), 3, "the previous container's log");
        let bad = |pairs: &[(&str, &str)]| parse_query(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap_err();
        assert_eq!(bad(&[("sinceSeconds", "0")]).0, 422);
        assert_eq!(bad(&[("limitBytes", "0")]).0, 422);
        assert_eq!(bad(&[("tailLines", "-1")]).0, 422);
        assert_eq!(bad(&[("sinceSeconds", "5"), ("sinceTime", "2026-01-01T00:00:00Z")]).0, 422);
        assert_eq!(bad(&[("limitBytes", "x")]).0, 400);
    }
}
