//! nodeagent.pss: where node-agent is deployed, the namespace's Pod Security allows it and its pods run.
//!
//! node-agent mounts hostPath volumes (/var/lib/kubelet/pods, /var/lib/kubelet/plugins) and runs as
//! root: Pod Security `baseline` and `restricted` refuse its pods, so its namespace needs `enforce=privileged`
//! (`velero install` sets enforce/audit/warn=privileged). Refused pods show up as FailedCreate events on
//! the DaemonSet: `violates PodSecurity "baseline:latest": hostPath volumes ...`.

use crate::checks::{CheckDef, Ctx};
use crate::facts::Object;
use crate::model::{Status, Verdict};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Event;
use serde_json::json;

pub const CHECK: CheckDef = crate::check! {
    id: "nodeagent.pss", category: NodeAgent, severity: Major,
    title: "node-agent allowed by Pod Security",
    depends_on: ["kube.connect"],
    needs: [DaemonSets, Namespace, Events, Deployments, HelmReleases],
    consults: [Events],
    judge: judge,
};

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

fn is_node_agent(ds: &DaemonSet) -> bool {
    let name = ds.name();
    let label = ds.label("name");
    let containers = ds.spec.template.spec.as_ref().map(|p| p.containers.as_slice()).unwrap_or_default();
    let runs_agent = containers.iter().any(|c| {
        let words: Vec<&str> = c.command.iter().flatten().chain(c.args.iter().flatten()).map(String::as_str).collect();
        words.windows(2).any(|w| (w[0] == "node-agent" || w[0] == "restic") && w[1] == "server")
    });
    name == "node-agent" || name == "restic" || label == Some("node-agent") || label == Some("restic") || runs_agent
}

/// `status.desiredNumberScheduled`, `currentNumberScheduled` and `numberReady` (0 when unreported).
fn counts(ds: &DaemonSet) -> (i64, i64, i64) {
    ds.status.as_ref().map_or((0, 0, 0), |s| {
        (s.desired_number_scheduled.into(), s.current_number_scheduled.into(), s.number_ready.into())
    })
}

/// Up to three distinct FailedCreate (and other warning) events about the DaemonSet, newest first.
fn warning_events(events: &[Event], daemonset: &str) -> Vec<String> {
    let mut mine: Vec<&Event> = events
        .iter()
        .filter(|e| e.involved_object.kind.as_deref() == Some("DaemonSet") && e.involved_object.name.as_deref() == Some(daemonset))
        .filter(|e| e.type_.as_deref() == Some("Warning") || e.reason.as_deref() == Some("FailedCreate"))
        .collect();
    mine.sort_by_key(|e| std::cmp::Reverse(e.last_timestamp.as_ref().map(|t| t.0).or_else(|| e.event_time.as_ref().map(|t| t.0))));
    let mut out: Vec<String> = Vec::new();
    for e in mine {
        let line = format!("{}: {}", e.reason.as_deref().unwrap_or("Event"), e.message.as_deref().unwrap_or("").trim());
        if !out.contains(&line) {
            out.push(line);
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

fn judge(ctx: &Ctx) -> Verdict {
    let daemonsets = crate::need!(&ctx.facts.kube.daemonsets);
    let ns = ctx.namespace().to_string();
    // Not found: node-agent may be a DaemonSet that did not decode (the engine's malformed policy
    // then turns this skip into a warning naming it).
    let Some(ds) = daemonsets.iter().find(|d| is_node_agent(d)) else {
        return Verdict::skip(format!(
            "node-agent is not deployed in {ns} (deployNodeAgent: false): file-system backup is off, which is right for a Swift BSL"
        ));
    };
    let name = ds.name().to_string();
    let helm = ctx.by_helm();
    let (desired, current, ready) = counts(ds);

    let (enforce, ns_note) = match &ctx.facts.kube.namespace {
        Ok(Some(n)) => (n.label(ENFORCE).map(str::to_string), None),
        Ok(None) => (None, Some(format!("namespace {ns} was not found"))),
        Err(e) => (None, Some(format!("namespace {ns} unreadable: {}", e.explain()))),
    };
    let ns_readable = ns_note.is_none();

    let events = match &ctx.facts.kube.events {
        Ok(evs) => warning_events(evs, &name),
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
    if desired == 0 && v.status == Status::Ok {
        v = Verdict::warn(format!("node-agent {ns}/{name} is scheduled on no node (desired 0)"))
            .detail(format!("DaemonSet {ns}/{name}: desired 0"))
            .hint(format!("check the DaemonSet's nodeSelector/tolerations: `kubectl -n {ns} get daemonset {name} -o yaml`"));
    }
    // Objects that did not decode cannot change what node-agent's own status says: the engine names
    // them without a warning.
    v.certain()
        .detail("node-agent serves file-system backup and the data mover, neither of which works with a Swift BSL (see velero.fs-backup)".to_string())
        .evidence("nodeAgent", evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{run, written};
    use crate::facts::{Facts, List};
    use k8s_openapi::api::core::v1::Namespace;
    use serde_json::Value;

    fn ds_json(desired: i64, current: i64, ready: i64) -> Value {
        json!({"metadata": {"name": "node-agent", "namespace": "velero", "labels": {"name": "node-agent"}},
            "spec": {"selector": {"matchLabels": {"name": "node-agent"}},
                "template": {"spec": {"containers": [{"name": "node-agent", "command": ["/velero"], "args": ["node-agent", "server"]}]}}},
            "status": {"desiredNumberScheduled": desired, "currentNumberScheduled": current, "numberReady": ready, "numberMisscheduled": 0}})
    }

    fn ds(desired: i64, current: i64, ready: i64) -> DaemonSet {
        serde_json::from_value(ds_json(desired, current, ready)).unwrap()
    }

    fn ns(enforce: Option<&str>) -> Namespace {
        let mut n = json!({"metadata": {"name": "velero", "labels": {"kubernetes.io/metadata.name": "velero"}}});
        if let Some(e) = enforce {
            n["metadata"]["labels"][ENFORCE] = json!(e);
        }
        serde_json::from_value(n).unwrap()
    }

    fn facts(daemonsets: Vec<DaemonSet>, namespace: Namespace) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.daemonsets = Ok(daemonsets.into());
        f.kube.namespace = Ok(Some(namespace));
        f
    }

    #[test]
    fn no_node_agent_skips() {
        let v = run(&super::CHECK, &facts(vec![], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Skip);
        assert!(v.summary.contains("deployNodeAgent: false"));
    }

    #[test]
    fn privileged_and_running_is_ok() {
        let v = run(&super::CHECK, &facts(vec![ds(3, 3, 3)], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn baseline_fails_quoting_the_event() {
        let mut f = facts(vec![ds(3, 0, 0)], ns(Some("baseline")));
        let event: Event = serde_json::from_value(json!({
            "metadata": {"name": "node-agent.1", "namespace": "velero"},
            "involvedObject": {"kind": "DaemonSet", "name": "node-agent", "namespace": "velero"},
            "type": "Warning", "reason": "FailedCreate", "lastTimestamp": "2026-11-29T07:59:00Z",
            "message": "Error creating: pods \"node-agent-abcde\" is forbidden: violates PodSecurity \"baseline:latest\": hostPath volumes (volumes \"host-pods\", \"host-plugins\")"
        }))
        .unwrap();
        f.kube.events = Ok(vec![event].into());
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.contains("violates PodSecurity \"baseline:latest\": hostPath volumes"), "{t}");
        assert!(t.contains("kubectl label ns velero pod-security.kubernetes.io/enforce=privileged"), "{t}");
        assert!(t.contains("0 of 3"), "{t}");
        assert_eq!(v.evidence["nodeAgent"]["enforce"], "baseline");
    }

    #[test]
    fn newest_distinct_events_first() {
        let ev = |reason: &str, at: &str| -> Event {
            serde_json::from_value(json!({"metadata": {"name": format!("e-{at}")},
                "involvedObject": {"kind": "DaemonSet", "name": "node-agent"}, "type": "Warning", "reason": reason,
                "lastTimestamp": at, "message": format!(" {reason} message ")}))
            .unwrap()
        };
        let other: Event = serde_json::from_value(json!({"metadata": {"name": "x"},
            "involvedObject": {"kind": "Deployment", "name": "node-agent"}, "type": "Warning", "reason": "Other"}))
        .unwrap();
        let events = [ev("Old", "2026-11-29T06:00:00Z"), ev("New", "2026-11-29T07:00:00Z"), ev("New", "2026-11-29T07:00:00Z"), other];
        assert_eq!(warning_events(&events, "node-agent"), ["New: New message", "Old: Old message"]);
    }

    #[test]
    fn restricted_fails_even_when_pods_still_run() {
        let v = run(&super::CHECK, &facts(vec![ds(3, 3, 3)], ns(Some("restricted"))));
        assert_eq!(v.status, Status::Fail);
    }

    #[test]
    fn no_label_depends_on_the_default() {
        let v = run(&super::CHECK, &facts(vec![ds(3, 3, 3)], ns(None)));
        assert_eq!(v.status, Status::Ok);
        let v = run(&super::CHECK, &facts(vec![ds(3, 0, 0)], ns(None)));
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("admission default"));
    }

    #[test]
    fn privileged_but_not_ready_fails_without_blaming_pss() {
        let v = run(&super::CHECK, &facts(vec![ds(3, 3, 1)], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("not ready"));
        let v = run(&super::CHECK, &facts(vec![ds(0, 0, 0)], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Warn);
    }

    #[test]
    fn detected_by_command_too() {
        let mut d = ds_json(2, 2, 2);
        d["metadata"] = json!({"name": "velero-fsb", "namespace": "velero"});
        let v = run(&super::CHECK, &facts(vec![serde_json::from_value(d).unwrap()], ns(Some("privileged"))));
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.evidence["nodeAgent"]["daemonSet"], "velero-fsb");
    }

    #[test]
    fn a_malformed_daemonset_is_not_taken_for_an_absent_node_agent() {
        let mut list: List<DaemonSet> = List::default();
        list.push_json(r#"{"metadata":{"name":"node-agent","namespace":"velero"},"status":{"numberReady":"three"}}"#);
        let mut f = facts(vec![], ns(Some("privileged")));
        f.kube.daemonsets = Ok(list);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.details.iter().any(|d| d.contains("malformed object DaemonSet velero/node-agent")), "{:?}", v.details);
        assert!(!written(&v).contains("three"));
    }

    #[test]
    fn malformed_neighbours_are_named_beside_the_verdict() {
        let mut list: List<DaemonSet> = vec![ds(3, 3, 3)].into();
        list.push_json(r#"{"metadata":{"name":"fluentd","namespace":"velero"},"spec":"odd"}"#);
        let mut events: List<Event> = List::default();
        for i in 0..5 {
            events.push_json(&format!(r#"{{"metadata":{{"name":"e{i}","namespace":"velero"}},"count":"many"}}"#));
        }
        let mut f = facts(vec![], ns(Some("privileged")));
        f.kube.daemonsets = Ok(list);
        f.kube.events = Ok(events);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.details.iter().any(|d| d.starts_with("malformed object DaemonSet velero/fluentd")), "{:?}", v.details);
        assert!(v.details.iter().any(|d| d.starts_with("malformed object Event velero/e4")), "{:?}", v.details);
    }
}
