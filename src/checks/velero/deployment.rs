//! velero.deployment: the Velero server Deployment exists in the namespace and its pod runs.

use crate::checks::findings::one_line;
use crate::checks::{read_hint, CheckDef, Ctx};
use crate::facts::Object;
use crate::model::Verdict;
use crate::rules::duration::human_age;
use crate::rules::pods::{condition, condition_true, is_current_pod, phase, pods_of, Condition};
use crate::rules::selector::selector_text;
use crate::upstream::velero;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod};

pub const CHECK: CheckDef = crate::check! {
    id: "velero.deployment", category: Velero, severity: Critical,
    title: "Velero server running",
    depends_on: ["kube.connect"], needs: [Deployments, Pods, Events],
    consults: [Events],
    explains: [
        ["during the server starting"] => "the server restarted (OOMKilled, evicted, crashed) while this ran; the next server marked it Failed",
    ],
    judge: judge,
};

/// Container states that stop a pod from ever becoming ready without a fix.
const BAD_WAITING: [&str; 9] = [
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "RunContainerError",
    "PreCreateHookError",
];

/// A restart this recent makes a running pod suspicious (it may be crash-looping between probes).
const RECENT_RESTART_SECS: i64 = 3600;

#[derive(Default)]
struct PodReport {
    ready: bool,
    /// Why the pod cannot run (bad waiting states, failed init containers, unschedulable).
    blocking: Vec<String>,
    /// The first blocking problem in a few words, for the summary.
    short: Option<String>,
    /// The first blocking container state's reason, for the hint.
    reason: Option<String>,
    /// Worth a warning on a running pod (recent restarts).
    warnings: Vec<String>,
    started: Option<Timestamp>,
}

fn last_terminated(cs: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    cs.last_state.as_ref()?.terminated.as_ref()
}

fn last_termination(cs: &ContainerStatus) -> Option<String> {
    let t = last_terminated(cs)?;
    let mut s = format!("last exit code {} ({})", t.exit_code, t.reason.as_deref().unwrap_or("no reason"));
    if let Some(at) = &t.finished_at {
        s.push_str(&format!(" at {}", at.0));
    }
    if let Some(msg) = t.message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        s.push_str(&format!(": {}", one_line(msg)));
    }
    Some(s)
}

fn judge_pod(ctx: &Ctx, pod: &Pod) -> PodReport {
    let mut r = PodReport { ready: condition_true(pod, "Ready") == Some(true), ..Default::default() };
    let status = pod.status.as_ref();
    r.started = status.and_then(|s| s.start_time.as_ref()).map(|t| t.0);
    if let Some(c) = condition(pod, "PodScheduled").filter(|c| c.status() == "False") {
        r.blocking.push(format!(
            "not scheduled: {}{}",
            c.reason().unwrap_or("Unschedulable"),
            c.message().map(|m| format!(": {}", one_line(m))).unwrap_or_default()
        ));
        r.short.get_or_insert_with(|| "cannot be scheduled".into());
        r.reason.get_or_insert_with(|| "Unschedulable".into());
    }
    let statuses = [
        ("init container", status.and_then(|s| s.init_container_statuses.as_deref())),
        ("container", status.and_then(|s| s.container_statuses.as_deref())),
    ];
    for (kind, list) in statuses {
        for cs in list.unwrap_or_default() {
            let cname = cs.name.as_str();
            let restarts = cs.restart_count;
            let state = cs.state.as_ref();
            if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
                let reason = w.reason.as_deref().unwrap_or_default();
                if BAD_WAITING.contains(&reason) {
                    let message = w.message.as_deref().filter(|m| !m.is_empty());
                    let mut line = format!("{kind} {cname}: {reason}");
                    if let Some(m) = message {
                        line.push_str(&format!(" ({})", one_line(m)));
                    }
                    if restarts > 0 {
                        line.push_str(&format!("; restarted {restarts} times"));
                    }
                    if let Some(t) = last_termination(cs) {
                        line.push_str(&format!("; {t}"));
                    }
                    r.blocking.push(line);
                    let last = last_terminated(cs).map(|t| {
                        format!(" (last exit {}{})", t.exit_code, t.reason.as_deref().map(|r| format!(" {r}")).unwrap_or_default())
                    });
                    let brief = match message.filter(|_| reason == "CreateContainerConfigError") {
                        Some(m) => format!(" ({})", one_line(m)),
                        None => last.unwrap_or_default(),
                    };
                    r.short.get_or_insert_with(|| format!("{kind} {cname} is in {reason}{brief}"));
                    r.reason.get_or_insert_with(|| if kind == "init container" { format!("Init:{reason}") } else { reason.to_string() });
                }
            }
            if kind == "init container" {
                if let Some(t) = state.and_then(|s| s.terminated.as_ref()).filter(|t| t.exit_code != 0) {
                    let code = t.exit_code;
                    let msg = t.message.as_deref().map(|m| format!(": {}", one_line(m))).unwrap_or_default();
                    r.blocking.push(format!(
                        "init container {cname} exited with code {code} ({}){msg}",
                        t.reason.as_deref().unwrap_or("Error")
                    ));
                    r.short.get_or_insert_with(|| format!("init container {cname} exited with code {code}"));
                    r.reason.get_or_insert_with(|| "Init:Error".into());
                }
            } else {
                if state.is_some_and(|s| s.running.is_some()) && restarts > 0 {
                    let finished = last_terminated(cs).and_then(|t| t.finished_at.as_ref()).map(|t| t.0);
                    if let Some(f) = finished.filter(|f| ctx.age_secs(*f) <= RECENT_RESTART_SECS) {
                        r.warnings.push(format!(
                            "container {cname} restarted {restarts} times, the last {} ago; {}",
                            human_age(ctx.age_secs(f)),
                            last_termination(cs).unwrap_or_default()
                        ));
                    }
                }
                if let Some(s) = state.and_then(|s| s.running.as_ref()).and_then(|r| r.started_at.as_ref()) {
                    r.started = Some(s.0);
                }
            }
        }
    }
    r
}

fn fix_for(reason: &str, blocking: &str, ns: &str, dep: &str, pod: &str, helm: bool) -> String {
    match reason {
        "CreateContainerConfigError" if blocking.contains("not found") => format!(
            "a Secret or ConfigMap the pod reads is missing: create it in namespace {ns} (e.g. `kubectl -n {ns} create secret generic cloud-credentials --from-env-file=openstack.env`) or point the Deployment at the right name{}",
            if helm { " (Helm value `credentials.extraSecretRef`)" } else { "" }
        ),
        "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError" => {
            format!("`kubectl -n {ns} describe pod {pod}` shows the full error; fix the Deployment's env/volumes it names")
        }
        "ImagePullBackOff" | "ErrImagePull" | "ErrImageNeverPull" | "InvalidImageName" | "Init:ImagePullBackOff" | "Init:ErrImagePull" | "Init:InvalidImageName" => format!(
            "the image cannot be pulled: check its name and tag and the registry access (`kubectl -n {ns} describe pod {pod}`){}",
            if helm { "; Helm values `image.repository`/`image.tag` and `initContainers[].image`" } else { "" }
        ),
        "Init:CrashLoopBackOff" | "Init:Error" => format!(
            "a plugin init container fails: read its log (`kubectl -n {ns} logs {pod} -c <init container>`); it must copy the plugin into the volume mounted at /target"
        ),
        "Unschedulable" => format!("the pod cannot be placed on a node: `kubectl -n {ns} describe pod {pod}` (resources, nodeSelector, taints)"),
        _ if blocking.contains("OOMKilled") => format!(
            "the server runs out of memory: raise its limit{} and read `kubectl -n {ns} logs deploy/{dep} -c velero --previous`",
            if helm { " (Helm value `resources.limits.memory`, e.g. 1Gi)".to_string() } else { format!(" (`kubectl -n {ns} set resources deployment/{dep} -c velero --limits=memory=1Gi`)") }
        ),
        _ => format!("read why it exits: `kubectl -n {ns} logs deploy/{dep} -c velero --previous`, then `kubectl -n {ns} describe pod {pod}`"),
    }
}

fn judge(ctx: &Ctx) -> Verdict {
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    // A Deployment or pod of the namespace that did not decode (it may be Velero's) is named by the
    // engine's malformed policy.
    let Some(dep) = velero::find_deployment(deployments, ctx.namespace()) else {
        return missing_deployment(ctx, deployments);
    };
    judge_deployment(ctx, dep)
}

fn judge_deployment(ctx: &Ctx, dep: &Deployment) -> Verdict {
    let ns = ctx.namespace();
    let name = dep.name();
    let helm = velero::helm_release_name(dep);
    let installed_by = match &helm {
        Some(r) => format!("Helm release {r}"),
        None if dep.label("component") == Some("velero") => "velero install".to_string(),
        None => "unknown installer".to_string(),
    };
    let image = velero::server_container(dep).and_then(|c| c.image.as_deref()).unwrap_or("?").to_string();
    let desired = dep.spec.replicas.unwrap_or(1);
    let available = dep.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0);
    let base = |v: Verdict| {
        v.evidence("deployment", format!("{ns}/{name}"))
            .evidence("image", &image)
            .evidence("installedBy", &installed_by)
            .evidence("replicas", desired)
            .evidence("availableReplicas", available)
    };

    if desired == 0 {
        return base(Verdict::fail(format!("deployment {ns}/{name} is scaled to 0 replicas: no Velero server runs")))
            .detail("no backup, schedule or restore is processed while it is scaled down")
            .hint(format!("`kubectl -n {ns} scale deployment/{name} --replicas=1`"));
    }

    let pods = match &ctx.facts.kube.pods {
        Ok(p) => p,
        Err(e) => {
            return base(Verdict::error(format!("cannot judge the Velero pods: {}", e.explain())))
                .detail(format!("deployment {ns}/{name} reports {available}/{desired} available"))
                .hint(read_hint(e))
                .evidence("read", e);
        }
    };
    let all = pods_of(dep, pods);
    let current: Vec<&Pod> = all.iter().copied().filter(|p| is_current_pod(p)).collect();

    if current.is_empty() {
        let mut v = base(Verdict::fail(format!("deployment {ns}/{name} has no running pod ({available}/{desired} available)")));
        if let Some(c) = condition(dep, "ReplicaFailure").filter(|c| c.status() == "True") {
            v = v.detail(format!("ReplicaFailure: {}", one_line(c.message().unwrap_or("?"))));
        }
        if let Ok(events) = &ctx.facts.kube.events {
            for e in events.iter().filter(|e| {
                e.reason.as_deref() == Some("FailedCreate") && e.involved_object.name.as_deref().is_some_and(|n| n.starts_with(name))
            }) {
                v = v.detail(format!(
                    "event FailedCreate on {}: {}",
                    e.involved_object.name.as_deref().unwrap_or("?"),
                    one_line(e.message.as_deref().unwrap_or(""))
                ));
            }
        }
        for p in all.iter().filter(|p| !is_current_pod(p)) {
            v = v.detail(format!(
                "pod {} is {} {}",
                p.name(),
                phase(p).unwrap_or("terminating"),
                p.status.as_ref().and_then(|s| s.reason.as_deref()).unwrap_or_default()
            ));
        }
        let selector = selector_text(&dep.spec.selector);
        return v.hint(format!(
            "see why the ReplicaSet cannot create pods: `kubectl -n {ns} describe replicaset -l {selector}` and `kubectl -n {ns} get events --sort-by=.lastTimestamp`"
        ));
    }

    let reports: Vec<(&Pod, PodReport)> = current.iter().map(|p| (*p, judge_pod(ctx, p))).collect();
    let ready: Vec<&str> = reports.iter().filter(|(_, r)| r.ready).map(|(p, _)| p.name()).collect();
    let mut details = Vec::new();
    let mut first_block: Option<(String, String, String, String)> = None; // (pod, reason, line, short)
    for (p, r) in &reports {
        for b in &r.blocking {
            details.push(format!("pod {}: {b}", p.name()));
            if first_block.is_none() {
                let short = r.short.clone().unwrap_or_else(|| b.clone());
                first_block = Some((p.name().to_string(), r.reason.clone().unwrap_or_default(), b.clone(), short));
            }
        }
    }
    let warnings: Vec<String> =
        reports.iter().flat_map(|(p, r)| r.warnings.iter().map(move |w| format!("pod {}: {w}", p.name()))).collect();
    let pod_names: Vec<&str> = current.iter().map(|p| p.name()).collect();
    let with_pods = |v: Verdict| base(v).evidence("pods", &pod_names).evidence("readyPods", &ready);

    if ready.is_empty() {
        if let Some((pod, reason, line, short)) = first_block {
            return with_pods(Verdict::fail(format!("Velero is not running: in pod {pod}, {short}")))
                .details(details)
                .hint(fix_for(&reason, &line, ns, name, &pod, helm.is_some()))
                .evidence("reason", &reason);
        }
        // Not ready, nothing broken yet: starting, or failing its readiness probe.
        let (p, r) = &reports[0];
        let young = r.started.is_none_or(|s| ctx.age_secs(s) < 300);
        let since = r.started.map(|s| human_age(ctx.age_secs(s))).unwrap_or_else(|| "an unknown time".into());
        let v = if young {
            Verdict::warn(format!("the Velero pod {} is starting (not ready yet, started {since} ago)", p.name()))
        } else {
            Verdict::fail(format!("the Velero pod {} has not been ready for {since}", p.name()))
        };
        return with_pods(v)
            .details(warnings)
            .hint(format!("`kubectl -n {ns} describe pod {}` (readiness probe, events) and `kubectl -n {ns} logs deploy/{name} -c velero`", p.name()));
    }

    if let Some((pod, reason, line, short)) = first_block {
        return with_pods(Verdict::warn(format!(
            "Velero runs ({}/{} pods ready) but pod {pod} cannot start: {short}",
            ready.len(),
            current.len()
        )))
        .detail("a rollout is stuck: the old pod still serves, the new one will never take over")
        .details(details)
        .hint(fix_for(&reason, &line, ns, name, &pod, helm.is_some()))
        .evidence("reason", &reason);
    }
    if !warnings.is_empty() {
        return with_pods(Verdict::warn(format!("Velero runs but restarted within the last hour ({})", warnings.len())))
            .details(warnings)
            .hint(format!("read why it exited: `kubectl -n {ns} logs deploy/{name} -c velero --previous`"));
    }
    let since = reports.iter().filter(|(_, r)| r.ready).filter_map(|(_, r)| r.started).max();
    with_pods(Verdict::ok(format!(
        "{ns}/{name} available ({}/{} ready), image {image}, installed by {installed_by}{}",
        ready.len(),
        desired,
        since.map(|s| format!(", up {}", human_age(ctx.age_secs(s)))).unwrap_or_default()
    )))
}

fn missing_deployment(ctx: &Ctx, deployments: &[Deployment]) -> Verdict {
    let ns = ctx.namespace();
    // Velero elsewhere? Then the user most likely needs -n.
    let elsewhere: Vec<String> = deployments
        .iter()
        .filter(|d| d.namespace() != Some(ns))
        .filter(|d| {
            velero::find_deployment(std::slice::from_ref(*d), d.namespace().unwrap_or_default()).is_some()
                && velero::server_container(d).and_then(|c| c.image.as_deref()).is_some_and(|i| i.contains("velero"))
        })
        .map(|d| format!("{}/{}", d.namespace().unwrap_or_default(), d.name()))
        .collect();
    let mut v = Verdict::fail(format!("no Velero server Deployment in namespace {ns}")).evidence("namespace", ns).evidence("elsewhere", &elsewhere);
    if !elsewhere.is_empty() {
        v = v
            .detail(format!("a Velero server runs in another namespace: {}", elsewhere.join(", ")))
            .hint(format!(
                "run veldr against that namespace: `veldr doctor -n {}`",
                elsewhere[0].split('/').next().unwrap_or("velero")
            ));
    } else {
        v = v
            .detail("looked for a Deployment named `velero`, or one whose container runs `velero server`")
            .hint(format!(
                "install Velero with the OpenStack plugin: `helm upgrade --install velero vmware-tanzu/velero -n {ns} --create-namespace -f values.yaml` \
                 (values: initContainers with lirt/velero-plugin-for-openstack, credentials.extraSecretRef, configuration.features: EnableCSI), \
                 or `velero install --provider community.openstack.org/openstack --plugins lirt/velero-plugin-for-openstack:v0.8.2 --bucket <container> --no-secret --features=EnableCSI -n {ns}`; \
                 if it runs elsewhere, pass `-n <namespace>`"
            ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use crate::model::Status;
    use serde_json::json;

    #[test]
    fn healthy_is_ok() {
        let v = run(&super::CHECK, &facts());
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("Helm release velero"), "{}", v.summary);
        assert!(v.summary.contains(", up 2d"), "{}", v.summary);
    }

    #[test]
    fn missing_fails_with_install_hint() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("helm upgrade --install velero"), "{}", written(&v));
    }

    #[test]
    fn in_other_namespace_is_named() {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["metadata"]["namespace"] = json!("backup");
        f.kube.deployments = Ok(list(vec![d]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("veldr doctor -n backup"), "{}", written(&v));
    }

    #[test]
    fn renamed_release_is_found_by_container() {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["metadata"]["name"] = json!("backup-velero");
        f.kube.deployments = Ok(list(vec![d]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("velero/backup-velero"));
    }

    #[test]
    fn missing_secret_is_named() {
        let mut f = facts();
        f.kube.pods = Ok(list(vec![pod(
            json!({"name": "velero", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"openstack-credentials\" not found"}}}),
            false,
        )]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.contains("CreateContainerConfigError") && t.contains("openstack-credentials"), "{t}");
        assert!(t.contains("credentials.extraSecretRef"), "{t}");
    }

    #[test]
    fn crashloop_names_container_reason_and_last_exit() {
        let mut f = facts();
        f.kube.pods = Ok(list(vec![pod(
            json!({"name": "velero", "ready": false, "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=velero"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-11-29T07:58:00Z"}}}),
            false,
        )]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.contains("container velero: CrashLoopBackOff") && t.contains("137") && t.contains("OOMKilled"), "{t}");
        assert!(t.contains("at 2026-11-29T07:58:00Z"), "{t}");
        assert!(t.contains("resources.limits.memory"), "{t}");
    }

    #[test]
    fn init_error_is_reported() {
        let mut f = facts();
        let mut p = pod(json!({"name": "velero", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}), false);
        p["status"]["initContainerStatuses"] = json!([{"name": "velero-plugin-for-openstack", "restartCount": 3,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"lirt/velero-plugin-for-openstack:v9\""}}}]);
        f.kube.pods = Ok(list(vec![p]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("init container velero-plugin-for-openstack: ImagePullBackOff"), "{}", written(&v));
        assert_eq!(v.evidence["reason"], "Init:ImagePullBackOff");
    }

    #[test]
    fn failed_init_container_exit_is_reported() {
        let mut f = facts();
        let mut p = pod(json!({"name": "velero", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}), false);
        p["status"]["initContainerStatuses"] = json!([{"name": "velero-plugin-for-openstack", "restartCount": 1,
            "state": {"terminated": {"exitCode": 2, "reason": "Error", "message": "cp: can't create /target/x"}}}]);
        f.kube.pods = Ok(list(vec![p]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("init container velero-plugin-for-openstack exited with code 2"), "{}", v.summary);
        assert_eq!(v.evidence["reason"], "Init:Error");
    }

    #[test]
    fn unschedulable_pod_is_reported() {
        let mut f = facts();
        let mut p = pod(json!({"name": "velero", "ready": false, "restartCount": 0}), false);
        p["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient memory."}]);
        p["status"]["containerStatuses"] = json!([]);
        f.kube.pods = Ok(list(vec![p]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("cannot be scheduled") && written(&v).contains("Insufficient memory"), "{}", written(&v));
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("taints")));
    }

    #[test]
    fn no_pods_reports_replica_failure_and_events() {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["status"] = json!({"replicas": 0, "availableReplicas": 0, "conditions": [
            {"type": "Available", "status": "False"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "pods \"velero-x\" is forbidden: exceeded quota"}]});
        f.kube.deployments = Ok(list(vec![d]));
        f.kube.pods = Ok(list(vec![]));
        f.kube.events = Ok(list(vec![json!({"metadata": {"name": "e1", "namespace": "velero"}, "reason": "FailedCreate",
            "involvedObject": {"kind": "ReplicaSet", "name": "velero-7c9d8f5b6d"}, "message": "Error creating: quota"})]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.contains("exceeded quota") && t.contains("event FailedCreate on velero-7c9d8f5b6d: Error creating: quota"), "{t}");
        assert!(t.contains("describe replicaset -l app.kubernetes.io/instance=velero,app.kubernetes.io/name=velero"), "{t}");
    }

    #[test]
    fn scaled_to_zero_fails() {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["spec"]["replicas"] = json!(0);
        f.kube.deployments = Ok(list(vec![d]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("--replicas=1"));
    }

    #[test]
    fn recent_restart_warns_old_restart_does_not() {
        let mut f = facts();
        let mut cs = running();
        cs["restartCount"] = json!(2);
        cs["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-29T07:40:00Z", "message": "level=fatal"}});
        f.kube.pods = Ok(list(vec![pod(cs.clone(), true)]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(written(&v).contains("the last 20m ago; last exit code 1 (Error) at 2026-11-29T07:40:00Z: level=fatal"), "{}", written(&v));
        cs["lastState"]["terminated"]["finishedAt"] = json!("2026-11-20T07:40:00Z");
        f.kube.pods = Ok(list(vec![pod(cs, true)]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn stuck_rollout_warns() {
        let mut f = facts();
        let mut bad = pod(json!({"name": "velero", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}), false);
        bad["metadata"]["name"] = json!("velero-new-abcde");
        f.kube.pods = Ok(list(vec![pod(running(), true), bad]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("velero-new-abcde"));
    }

    #[test]
    fn starting_pod_warns_then_fails_when_it_stays_unready() {
        let mut f = facts();
        let mut p = pod(json!({"name": "velero", "ready": false, "restartCount": 0, "state": {"running": {"startedAt": "2026-11-29T07:58:00Z"}}}), false);
        p["status"]["startTime"] = json!("2026-11-29T07:58:00Z");
        f.kube.pods = Ok(list(vec![p.clone()]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Warn);
        p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"] = json!("2026-11-29T06:00:00Z");
        f.kube.pods = Ok(list(vec![p]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("has not been ready for 2h"), "{}", v.summary);
    }

    #[test]
    fn ignores_evicted_and_unrelated_pods() {
        let mut f = facts();
        let mut evicted = pod(running(), false);
        evicted["metadata"]["name"] = json!("velero-old");
        evicted["status"]["phase"] = json!("Failed");
        evicted["status"]["reason"] = json!("Evicted");
        let mut other = pod(json!({"name": "x", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}), false);
        other["metadata"]["labels"] = json!({"app": "other"});
        f.kube.pods = Ok(list(vec![evicted, pod(running(), true), other]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn pods_unreadable_is_error() {
        let mut f = facts();
        f.kube.pods = Err(crate::facts::ReadError::forbidden("list", "pods", Some("velero")));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.contains("may not list pods"));
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("grant veldr's identity list on pods")), "{:?}", v.hint);
    }

    #[test]
    fn node_agent_pods_matching_the_chart_selector_are_not_velero_pods() {
        let mut f = facts();
        let mut na = pod(json!({"name": "node-agent", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}), false);
        na["metadata"]["name"] = json!("node-agent-kx7vq");
        na["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "node-agent", "uid": "u", "controller": true}]);
        let mut own = pod(running(), true);
        own["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "velero-7c9d8f5b6d", "uid": "u", "controller": true}]);
        f.kube.pods = Ok(list(vec![own, na]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("(1/1 ready)"), "{}", v.summary);
    }

    #[test]
    fn a_malformed_pod_or_deployment_is_named_and_warns() {
        let mut f = facts();
        let mut bad = pod(running(), false);
        bad["metadata"]["name"] = json!("velero-7c9d8f5b6d-bad");
        bad["status"]["containerStatuses"][0]["restartCount"] = json!("many");
        f.kube.pods = Ok(list(vec![pod(running(), true), bad]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(written(&v).contains("malformed object Pod velero/velero-7c9d8f5b6d-bad"), "{}", written(&v));

        let mut f = facts();
        let mut d = healthy_deployment();
        d["spec"]["replicas"] = json!("one");
        f.kube.deployments = Ok(list(vec![d]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("malformed object Deployment velero/velero"), "{}", written(&v));
    }
}
