//! nodeagent.pss: where node-agent is deployed, the namespace's Pod Security allows it and its pods run.
//!
//! node-agent mounts hostPath volumes (/var/lib/kubelet/pods, /var/lib/kubelet/plugins) and runs as
//! root: Pod Security `baseline` and `restricted` refuse its pods, so its namespace needs `enforce=privileged`
//! (`velero install` sets enforce/audit/warn=privileged). Refused pods show up as FailedCreate events on
//! the DaemonSet: `violates PodSecurity "baseline:latest": hostPath volumes ...`.

use super::ctx::{name_of, str_at};
use super::storage::by_helm;
use super::Ctx;
use crate::model::Verdict;
use serde_json::{json, Value};

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

fn is_node_agent(ds: &Value) -> bool {
    let name = name_of(ds);
    let label = str_at(ds, "/metadata/labels/name");
    let runs_agent = ds
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            let words: Vec<&str> = ["/command", "/args"]
                .iter()
                .flat_map(|p| c.pointer(p).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str))
                .collect();
            words.windows(2).any(|w| (w[0] == "node-agent" || w[0] == "restic") && w[1] == "server")
        });
    name == "node-agent" || name == "restic" || label == Some("node-agent") || label == Some("restic") || runs_agent
}

fn int(ds: &Value, field: &str) -> i64 {
    ds.pointer(&format!("/status/{field}")).and_then(Value::as_i64).unwrap_or(0)
}

pub fn pss(ctx: &Ctx) -> Verdict {
    let daemonsets = crate::need!(&ctx.facts.kube.daemonsets);
    let ns = ctx.namespace().to_string();
    let Some(ds) = daemonsets.iter().find(|d| is_node_agent(d)) else {
        return Verdict::skip(format!(
            "node-agent is not deployed in {ns} (deployNodeAgent: false): file-system backup is off, which is right for a Swift BSL"
        ));
    };
    let name = name_of(ds).to_string();
    let helm = by_helm(ctx);
    let desired = int(ds, "desiredNumberScheduled");
    let current = int(ds, "currentNumberScheduled");
    let ready = int(ds, "numberReady");

    let (enforce, ns_note) = match &ctx.facts.kube.namespace {
        Ok(Some(n)) => (str_at(n, &format!("/metadata/labels/{}", ENFORCE.replace('/', "~1"))).map(str::to_string), None),
        Ok(None) => (None, Some(format!("namespace {ns} was not found"))),
        Err(e) => (None, Some(format!("namespace {ns} unreadable: {}", e.explain()))),
    };
    let ns_readable = ns_note.is_none();

    // FailedCreate (and other warning) events about the DaemonSet.
    let events: Vec<String> = match &ctx.facts.kube.events {
        Ok(evs) => {
            let mut mine: Vec<&Value> = evs
                .iter()
                .filter(|e| str_at(e, "/involvedObject/kind") == Some("DaemonSet") && str_at(e, "/involvedObject/name") == Some(name.as_str()))
                .filter(|e| str_at(e, "/type") == Some("Warning") || str_at(e, "/reason") == Some("FailedCreate"))
                .collect();
            mine.sort_by_key(|e| std::cmp::Reverse(str_at(e, "/lastTimestamp").or_else(|| str_at(e, "/eventTime")).unwrap_or("").to_string()));
            let mut out: Vec<String> = Vec::new();
            for e in mine {
                let line = format!("{}: {}", str_at(e, "/reason").unwrap_or("Event"), str_at(e, "/message").unwrap_or("").trim());
                if !out.contains(&line) {
                    out.push(line);
                }
                if out.len() == 3 {
                    break;
                }
            }
            out
        }
        Err(_) => Vec::new(),
    };
    let pss_refusal = events.iter().any(|e| e.contains("violates PodSecurity"));

    let label_fix = format!(
        "`kubectl label ns {ns} {ENFORCE}=privileged pod-security.kubernetes.io/audit=privileged pod-security.kubernetes.io/warn=privileged --overwrite`{}",
        if helm { "; to keep it with the chart add `namespace.labels: {pod-security.kubernetes.io/enforce: privileged}` to the values (its hook runs `kubectl label` without --overwrite, so relabel by hand first)" } else { "" }
    );
    let evidence = json!({
        "daemonSet": name,
        "desired": desired,
        "current": current,
        "ready": ready,
        "enforce": enforce,
        "events": events,
    });
    let counts = format!("DaemonSet {ns}/{name}: desired {desired}, current {current}, ready {ready}");
    let not_running = desired > 0 && (current < desired || ready < desired);

    let mut v = match enforce.as_deref() {
        Some(level @ ("baseline" | "restricted")) => Verdict::fail(format!(
            "namespace {ns} enforces Pod Security {level:?}: node-agent's hostPath volumes are refused{}",
            if current < desired { format!(" ({current} of {desired} pods created)") } else { String::new() }
        ))
        .detail(format!("namespace {ns}: {ENFORCE}={level}"))
        .detail(counts)
        .details(events.clone())
        .hint(label_fix.clone()),
        _ if not_running => {
            let why = if pss_refusal {
                "Pod Security refuses its pods"
            } else if current < desired {
                "pods are not being created"
            } else {
                "pods are not ready"
            };
            let mut v = Verdict::fail(format!("node-agent runs {ready} of {desired} pods: {why}"))
                .detail(counts)
                .details(events.clone());
            if enforce.is_none() && ns_readable {
                v = v.detail(format!("namespace {ns} has no {ENFORCE} label: the cluster's admission default applies"));
            }
            if let Some(n) = &ns_note {
                v = v.detail(n.clone());
            }
            v.hint(if pss_refusal || enforce.is_none() {
                label_fix.clone()
            } else {
                format!("`kubectl -n {ns} describe daemonset {name}` and `kubectl -n {ns} get events --field-selector involvedObject.name={name}`; then the pods' logs")
            })
        }
        Some(level) if level != "privileged" => Verdict::warn(format!("namespace {ns} has {ENFORCE}={level:?}: not a level Pod Security knows"))
            .detail(counts)
            .hint(label_fix.clone()),
        None if ns_readable => {
            if desired > 0 {
                Verdict::ok(format!("node-agent runs {ready}/{desired} pods (namespace {ns} has no {ENFORCE} label; the cluster default allows it)"))
                    .detail(format!("without the label, a stricter admission default would refuse new node-agent pods; {label_fix}"))
            } else {
                Verdict::warn(format!("namespace {ns} has no {ENFORCE} label: the cluster's admission default decides whether node-agent may run"))
                    .detail(counts)
                    .hint(label_fix.clone())
            }
        }
        _ if desired == 0 => Verdict::warn(format!("node-agent {ns}/{name} is scheduled on no node (desired 0)"))
            .detail(counts)
            .details(ns_note.clone())
            .hint(format!("check the DaemonSet's nodeSelector/tolerations: `kubectl -n {ns} get daemonset {name} -o yaml`")),
        _ => Verdict::ok(format!("node-agent runs {ready}/{desired} pods{}", if enforce.as_deref() == Some("privileged") { format!("; namespace {ns} enforces privileged") } else { String::new() }))
            .details(ns_note.clone()),
    };
    if desired == 0 && v.status == crate::model::Status::Ok {
        v = Verdict::warn(format!("node-agent {ns}/{name} is scheduled on no node (desired 0)"))
            .detail(format!("DaemonSet {ns}/{name}: desired 0"))
            .hint(format!("check the DaemonSet's nodeSelector/tolerations: `kubectl -n {ns} get daemonset {name} -o yaml`"));
    }
    v.detail("node-agent serves file-system backup and the data mover, neither of which works with a Swift BSL (see velero.fs-backup)".to_string())
        .evidence("nodeAgent", evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;

    fn ds(desired: i64, current: i64, ready: i64) -> Value {
        json!({"metadata": {"name": "node-agent", "namespace": "velero", "labels": {"name": "node-agent"}},
            "spec": {"template": {"spec": {"containers": [{"name": "node-agent", "command": ["/velero"], "args": ["node-agent", "server"]}]}}},
            "status": {"desiredNumberScheduled": desired, "currentNumberScheduled": current, "numberReady": ready}})
    }

    fn ns(enforce: Option<&str>) -> Value {
        let mut n = json!({"metadata": {"name": "velero", "labels": {"kubernetes.io/metadata.name": "velero"}}});
        if let Some(e) = enforce {
            n["metadata"]["labels"][ENFORCE] = json!(e);
        }
        n
    }

    fn facts(daemonsets: Vec<Value>, namespace: Value) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.daemonsets = Ok(daemonsets);
        f.kube.namespace = Ok(Some(namespace));
        f
    }

    fn run(f: &Facts) -> Verdict {
        pss(&Ctx::new(f, &[]))
    }

    fn text(v: &Verdict) -> String {
        format!("{} {} {}", v.summary, v.details.join(" "), v.hint.clone().unwrap_or_default())
    }

    #[test]
    fn no_node_agent_skips() {
        let v = run(&facts(vec![], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Skip);
        assert!(v.summary.contains("deployNodeAgent: false"));
    }

    #[test]
    fn privileged_and_running_is_ok() {
        let v = run(&facts(vec![ds(3, 3, 3)], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn baseline_fails_quoting_the_event() {
        let mut f = facts(vec![ds(3, 0, 0)], ns(Some("baseline")));
        f.kube.events = Ok(vec![json!({
            "involvedObject": {"kind": "DaemonSet", "name": "node-agent", "namespace": "velero"},
            "type": "Warning", "reason": "FailedCreate", "lastTimestamp": "2026-11-29T07:59:00Z",
            "message": "Error creating: pods \"node-agent-abcde\" is forbidden: violates PodSecurity \"baseline:latest\": hostPath volumes (volumes \"host-pods\", \"host-plugins\")"
        })]);
        let v = run(&f);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("violates PodSecurity \"baseline:latest\": hostPath volumes"), "{t}");
        assert!(t.contains("kubectl label ns velero pod-security.kubernetes.io/enforce=privileged"), "{t}");
        assert!(t.contains("0 of 3"), "{t}");
        assert_eq!(v.evidence["nodeAgent"]["enforce"], "baseline");
    }

    #[test]
    fn restricted_fails_even_when_pods_still_run() {
        let v = run(&facts(vec![ds(3, 3, 3)], ns(Some("restricted"))));
        assert_eq!(v.status, Status::Fail);
    }

    #[test]
    fn no_label_depends_on_the_default() {
        let v = run(&facts(vec![ds(3, 3, 3)], ns(None)));
        assert_eq!(v.status, Status::Ok);
        let v = run(&facts(vec![ds(3, 0, 0)], ns(None)));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("admission default"));
    }

    #[test]
    fn privileged_but_not_ready_fails_without_blaming_pss() {
        let v = run(&facts(vec![ds(3, 3, 1)], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("not ready"));
        let v = run(&facts(vec![ds(0, 0, 0)], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Warn);
    }

    #[test]
    fn detected_by_command_too() {
        let mut d = ds(2, 2, 2);
        d["metadata"] = json!({"name": "velero-fsb", "namespace": "velero"});
        let v = run(&facts(vec![d], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.evidence["nodeAgent"]["daemonSet"], "velero-fsb");
    }
}
