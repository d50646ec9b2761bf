//! velero.deployment, velero.plugin, velero.features, velero.fs-backup: is the Velero server there,
//! running, carrying the OpenStack plugin, and configured the way a Swift + CSI install must be?

use super::ctx::{human_age, is_openstack_bsl, name_of, str_at, timestamp_at};
use super::Ctx;
use crate::model::Verdict;
use crate::velero;
use jiff::Timestamp;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by credentials.fresh).
// ---------------------------------------------------------------------------------------------

fn array<'a>(v: &'a Value, ptr: &str) -> impl Iterator<Item = &'a Value> {
    v.pointer(ptr).and_then(Value::as_array).into_iter().flatten()
}

fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str)
}

fn age(ctx: &Ctx, t: Timestamp) -> String {
    human_age(ctx.now.as_second() - t.as_second())
}

/// Does a label selector (`matchLabels` + `matchExpressions`) select these labels? An empty or
/// missing selector selects nothing (a Deployment always has one).
pub(crate) fn selector_matches(selector: &Value, labels: Option<&Value>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let exprs: Vec<&Value> = array(selector, "/matchExpressions").collect();
    if match_labels.is_none_or(|m| m.is_empty()) && exprs.is_empty() {
        return false;
    }
    let labels_ok = match_labels.into_iter().flatten().all(|(k, v)| get(k) == v.as_str());
    let exprs_ok = exprs.iter().all(|e| {
        let key = str_at(e, "/key").unwrap_or_default();
        let values: Vec<&str> = array(e, "/values").filter_map(Value::as_str).collect();
        match str_at(e, "/operator").unwrap_or_default() {
            "In" => get(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => get(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => get(key).is_some(),
            "DoesNotExist" => get(key).is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

/// The pods of a Deployment: same namespace, selected by its selector, and not owned by another
/// controller. The Helm chart's Deployment selector (`app.kubernetes.io/name` + `instance`) also
/// matches the node-agent pods; Kubernetes tells them apart by owner, and so does veldr.
pub(crate) fn pods_of<'a>(deployment: &Value, pods: &'a [Value]) -> Vec<&'a Value> {
    let ns = str_at(deployment, "/metadata/namespace");
    let dname = name_of(deployment);
    let Some(selector) = deployment.pointer("/spec/selector") else { return Vec::new() };
    let ours = |p: &Value| match array(p, "/metadata/ownerReferences").find(|o| o.get("controller").and_then(Value::as_bool) == Some(true)) {
        None => true,
        Some(o) => {
            str_at(o, "/kind") == Some("ReplicaSet")
                && str_at(o, "/name").is_some_and(|n| n.strip_prefix(dname).is_some_and(|rest| rest.starts_with('-')))
        }
    };
    pods.iter()
        .filter(|p| str_at(p, "/metadata/namespace") == ns || ns.is_none())
        .filter(|p| selector_matches(selector, p.pointer("/metadata/labels")))
        .filter(|p| ours(p))
        .collect()
}

/// A pod that counts: not being deleted and not finished (evicted pods linger as `Failed`).
pub(crate) fn is_current_pod(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
        && !matches!(str_at(pod, "/status/phase"), Some("Failed") | Some("Succeeded"))
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    array(obj, "/status/conditions").find(|c| str_at(c, "/type") == Some(kind))
}

fn condition_true(obj: &Value, kind: &str) -> Option<bool> {
    condition(obj, kind).map(|c| str_at(c, "/status") == Some("True"))
}

/// Whether Velero was installed by Helm, and which release: hints then name chart values.
fn helm_name(ctx: &Ctx, deployment: Option<&Value>) -> Option<String> {
    ctx.helm_release()
        .map(|r| r.name.clone())
        .or_else(|| deployment.and_then(velero::helm_release_name))
}

// ---------------------------------------------------------------------------------------------
// velero.deployment
// ---------------------------------------------------------------------------------------------

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

fn last_termination(status: &Value) -> Option<String> {
    let t = status.pointer("/lastState/terminated")?;
    let mut s = format!(
        "last exit code {} ({})",
        t.get("exitCode").and_then(Value::as_i64).map_or("?".to_string(), |c| c.to_string()),
        str_at(t, "/reason").unwrap_or("no reason")
    );
    if let Some(at) = str_at(t, "/finishedAt") {
        s.push_str(&format!(" at {at}"));
    }
    if let Some(msg) = str_at(t, "/message").map(str::trim).filter(|m| !m.is_empty()) {
        s.push_str(&format!(": {}", one_line(msg)));
    }
    Some(s)
}

fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        format!("{}…", flat.chars().take(300).collect::<String>())
    } else {
        flat
    }
}

fn judge_pod(ctx: &Ctx, pod: &Value) -> PodReport {
    let mut r = PodReport { ready: condition_true(pod, "Ready") == Some(true), ..Default::default() };
    r.started = timestamp_at(pod, "/status/startTime");
    if let Some(c) = condition(pod, "PodScheduled").filter(|c| str_at(c, "/status") == Some("False")) {
        r.blocking.push(format!(
            "not scheduled: {}{}",
            str_at(c, "/reason").unwrap_or("Unschedulable"),
            str_at(c, "/message").map(|m| format!(": {}", one_line(m))).unwrap_or_default()
        ));
        r.short.get_or_insert_with(|| "cannot be scheduled".into());
        r.reason.get_or_insert_with(|| "Unschedulable".into());
    }
    for (kind, ptr) in [("init container", "/status/initContainerStatuses"), ("container", "/status/containerStatuses")] {
        for cs in array(pod, ptr) {
            let cname = str_at(cs, "/name").unwrap_or("?");
            let restarts = cs.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            if let Some(w) = cs.pointer("/state/waiting") {
                let reason = str_at(w, "/reason").unwrap_or_default();
                if BAD_WAITING.contains(&reason) {
                    let mut line = format!("{kind} {cname}: {reason}");
                    if let Some(m) = str_at(w, "/message").filter(|m| !m.is_empty()) {
                        line.push_str(&format!(" ({})", one_line(m)));
                    }
                    if restarts > 0 {
                        line.push_str(&format!("; restarted {restarts} times"));
                    }
                    if let Some(t) = last_termination(cs) {
                        line.push_str(&format!("; {t}"));
                    }
                    r.blocking.push(line);
                    let last = cs.pointer("/lastState/terminated").map(|t| {
                        format!(
                            " (last exit {}{})",
                            t.get("exitCode").and_then(Value::as_i64).map_or("?".to_string(), |c| c.to_string()),
                            str_at(t, "/reason").map(|r| format!(" {r}")).unwrap_or_default()
                        )
                    });
                    let brief = match str_at(w, "/message").filter(|m| reason == "CreateContainerConfigError" && !m.is_empty()) {
                        Some(m) => format!(" ({})", one_line(m)),
                        None => last.unwrap_or_default(),
                    };
                    r.short.get_or_insert_with(|| format!("{kind} {cname} is in {reason}{brief}"));
                    r.reason.get_or_insert_with(|| if kind == "init container" { format!("Init:{reason}") } else { reason.to_string() });
                }
            }
            if kind == "init container" {
                if let Some(t) = cs.pointer("/state/terminated") {
                    let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
                    if code != 0 {
                        let msg = str_at(t, "/message").map(|m| format!(": {}", one_line(m))).unwrap_or_default();
                        r.blocking.push(format!(
                            "init container {cname} exited with code {code} ({}){msg}",
                            str_at(t, "/reason").unwrap_or("Error")
                        ));
                        r.short.get_or_insert_with(|| format!("init container {cname} exited with code {code}"));
                        r.reason.get_or_insert_with(|| "Init:Error".into());
                    }
                }
            } else if cs.pointer("/state/running").is_some() && restarts > 0 {
                let finished = timestamp_at(cs, "/lastState/terminated/finishedAt");
                if finished.is_some_and(|f| ctx.now.as_second() - f.as_second() <= RECENT_RESTART_SECS) {
                    r.warnings.push(format!(
                        "container {cname} restarted {restarts} times, the last {} ago; {}",
                        age(ctx, finished.unwrap()),
                        last_termination(cs).unwrap_or_default()
                    ));
                }
            }
            if kind == "container" {
                if let Some(s) = timestamp_at(cs, "/state/running/startedAt") {
                    r.started = Some(s);
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

pub fn deployment(ctx: &Ctx) -> Verdict {
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    let ns = ctx.namespace();
    let Some(dep) = velero::find_deployment(deployments, ns) else {
        return missing_deployment(ctx, deployments);
    };
    let name = name_of(dep);
    let helm = helm_name(ctx, Some(dep));
    let installed_by = match &helm {
        Some(r) => format!("Helm release {r}"),
        None if label(dep, "component") == Some("velero") => "velero install".to_string(),
        None => "unknown installer".to_string(),
    };
    let image = velero::server_container(dep).and_then(|c| str_at(c, "/image")).unwrap_or("?").to_string();
    let desired = dep.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let available = dep.pointer("/status/availableReplicas").and_then(Value::as_i64).unwrap_or(0);
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
                .hint(super::read_hint(e))
                .evidence("read", e);
        }
    };
    let all = pods_of(dep, pods);
    let current: Vec<&Value> = all.iter().copied().filter(|p| is_current_pod(p)).collect();

    if current.is_empty() {
        let mut v = base(Verdict::fail(format!("deployment {ns}/{name} has no running pod ({available}/{desired} available)")));
        if let Some(c) = condition(dep, "ReplicaFailure").filter(|c| str_at(c, "/status") == Some("True")) {
            v = v.detail(format!("ReplicaFailure: {}", one_line(str_at(c, "/message").unwrap_or("?"))));
        }
        if let Ok(events) = &ctx.facts.kube.events {
            for e in events.iter().filter(|e| {
                str_at(e, "/reason") == Some("FailedCreate")
                    && str_at(e, "/involvedObject/name").is_some_and(|n| n.starts_with(name))
            }) {
                v = v.detail(format!("event FailedCreate on {}: {}", str_at(e, "/involvedObject/name").unwrap_or("?"), one_line(str_at(e, "/message").unwrap_or(""))));
            }
        }
        for p in all.iter().filter(|p| !is_current_pod(p)) {
            v = v.detail(format!(
                "pod {} is {} {}",
                name_of(p),
                str_at(p, "/status/phase").unwrap_or("terminating"),
                str_at(p, "/status/reason").unwrap_or_default()
            ));
        }
        return v.hint(format!(
            "see why the ReplicaSet cannot create pods: `kubectl -n {ns} describe replicaset -l {}` and `kubectl -n {ns} get events --sort-by=.lastTimestamp`",
            selector_text(dep)
        ));
    }

    let reports: Vec<(&Value, PodReport)> = current.iter().map(|p| (*p, judge_pod(ctx, p))).collect();
    let ready: Vec<&str> = reports.iter().filter(|(_, r)| r.ready).map(|(p, _)| name_of(p)).collect();
    let mut details = Vec::new();
    let mut first_block: Option<(String, String, String, String)> = None; // (pod, reason, line, short)
    for (p, r) in &reports {
        for b in &r.blocking {
            details.push(format!("pod {}: {b}", name_of(p)));
            if first_block.is_none() {
                let short = r.short.clone().unwrap_or_else(|| b.clone());
                first_block = Some((name_of(p).to_string(), r.reason.clone().unwrap_or_default(), b.clone(), short));
            }
        }
    }
    let warnings: Vec<String> =
        reports.iter().flat_map(|(p, r)| r.warnings.iter().map(move |w| format!("pod {}: {w}", name_of(p)))).collect();
    let pod_names: Vec<&str> = current.iter().map(|p| name_of(p)).collect();
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
        let young = r.started.is_none_or(|s| ctx.now.as_second() - s.as_second() < 300);
        let since = r.started.map(|s| age(ctx, s)).unwrap_or_else(|| "an unknown time".into());
        let v = if young {
            Verdict::warn(format!("the Velero pod {} is starting (not ready yet, started {since} ago)", name_of(p)))
        } else {
            Verdict::fail(format!("the Velero pod {} has not been ready for {since}", name_of(p)))
        };
        return with_pods(v)
            .details(warnings)
            .hint(format!("`kubectl -n {ns} describe pod {}` (readiness probe, events) and `kubectl -n {ns} logs deploy/{name} -c velero`", name_of(p)));
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
        since.map(|s| format!(", up {}", age(ctx, s))).unwrap_or_default()
    )))
}

fn selector_text(dep: &Value) -> String {
    dep.pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(","))
        .unwrap_or_default()
}

fn missing_deployment(ctx: &Ctx, deployments: &[Value]) -> Verdict {
    let ns = ctx.namespace();
    // Velero elsewhere? Then the user most likely needs -n.
    let elsewhere: Vec<String> = deployments
        .iter()
        .filter(|d| str_at(d, "/metadata/namespace") != Some(ns))
        .filter(|d| {
            let ns_other = str_at(d, "/metadata/namespace").unwrap_or_default();
            velero::find_deployment(std::slice::from_ref(*d), ns_other).is_some()
                && velero::server_container(d).and_then(|c| str_at(c, "/image")).is_some_and(|i| i.contains("velero"))
        })
        .map(|d| format!("{}/{}", str_at(d, "/metadata/namespace").unwrap_or_default(), name_of(d)))
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

// ---------------------------------------------------------------------------------------------
// velero.plugin
// ---------------------------------------------------------------------------------------------

/// The plugin README's compatibility table: plugin minor → tested Velero (major, minor) range.
fn tested_range(plugin: (u64, u64, u64)) -> Option<((u64, u64), (u64, u64))> {
    match (plugin.0, plugin.1) {
        (0, 8) => Some(((1, 15), (1, 17))),
        (0, 7) => Some(((1, 11), (1, 13))),
        (0, 6) => Some(((1, 9), (1, 11))),
        (0, 5) => Some(((1, 4), (1, 11))),
        _ => None,
    }
}

/// A tag a version can be read from (`v0.8.2`, `0.8.2`, `v1.17.1-rc.1`), not `latest`/`main`/digests.
fn version_of_image(image: &str) -> Result<(String, (u64, u64, u64)), String> {
    match velero::image_tag(image) {
        None => Err(format!("`{image}` has no tag (digest only)")),
        Some(tag) => match velero::parse_version(tag) {
            Some(v) if tag.trim_start_matches('v').starts_with(|c: char| c.is_ascii_digit()) => Ok((tag.to_string(), v)),
            _ => Err(format!("`{image}` has the tag `{tag}`, which names no version")),
        },
    }
}

pub fn plugin(ctx: &Ctx) -> Verdict {
    let bsls = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    let ns = ctx.namespace();
    let os_bsls: Vec<&str> = ctx.selected_bsls(bsls).into_iter().filter(|b| is_openstack_bsl(b)).map(name_of).collect();
    let os_vsls: Vec<&str> = ctx
        .facts
        .kube
        .volume_snapshot_locations
        .as_ref()
        .map(|v| {
            v.iter()
                .filter(|l| str_at(l, "/spec/provider").is_some_and(|p| velero::OPENSTACK_PROVIDERS.contains(&p)))
                .map(name_of)
                .collect()
        })
        .unwrap_or_default();
    if os_bsls.is_empty() && os_vsls.is_empty() {
        return Verdict::skip("no BackupStorageLocation or VolumeSnapshotLocation uses an OpenStack provider (community.openstack.org/openstack)")
            .evidence("openstackBsls", &os_bsls);
    }
    let Some(dep) = velero::find_deployment(deployments, ns) else {
        return Verdict::skip(format!("no Velero Deployment in namespace {ns} (see velero.deployment)"));
    };
    let dname = name_of(dep);
    let helm = helm_name(ctx, Some(dep)).is_some();
    let users: Vec<String> = os_bsls
        .iter()
        .map(|b| format!("BackupStorageLocation {b}"))
        .chain(os_vsls.iter().map(|v| format!("VolumeSnapshotLocation {v}")))
        .collect();
    let inits: Vec<&Value> = array(dep, "/spec/template/spec/initContainers").collect();
    let plugin_inits: Vec<&Value> =
        inits.iter().copied().filter(|c| str_at(c, "/image").is_some_and(|i| i.contains(velero::OPENSTACK_PLUGIN_IMAGE))).collect();
    let server = velero::server_container(dep);
    let velero_image = server.and_then(|c| str_at(c, "/image")).unwrap_or("?").to_string();

    if plugin_inits.is_empty() {
        let as_container = array(dep, "/spec/template/spec/containers")
            .filter_map(|c| str_at(c, "/image"))
            .find(|i| i.contains(velero::OPENSTACK_PLUGIN_IMAGE));
        let present: Vec<&str> = inits.iter().filter_map(|c| str_at(c, "/image")).collect();
        let mut v = Verdict::fail(format!(
            "deployment {ns}/{dname} has no velero-plugin-for-openstack init container, but {} use{} the OpenStack provider",
            users.join(", "),
            if users.len() == 1 { "s" } else { "" }
        ))
        .detail(format!(
            "Velero cannot load provider community.openstack.org/openstack: the BSL becomes Unavailable with `unable to locate ObjectStore plugin named community.openstack.org/openstack`; init containers present: {}",
            if present.is_empty() { "none".to_string() } else { present.join(", ") }
        ));
        if let Some(i) = as_container {
            v = v.detail(format!("{i} runs as a regular container: plugins must be init containers that copy the binary into the plugins volume"));
        }
        let hint = if helm {
            "add to the Helm values: `initContainers: [{name: velero-plugin-for-openstack, image: lirt/velero-plugin-for-openstack:v0.8.2, imagePullPolicy: IfNotPresent, volumeMounts: [{mountPath: /target, name: plugins}]}]`, then `helm upgrade`".to_string()
        } else {
            format!("`velero plugin add lirt/velero-plugin-for-openstack:v0.8.2 -n {ns}` (pick the plugin version matching your Velero: `veldr explain velero.plugin`)")
        };
        return v.hint(hint).evidence("deployment", format!("{ns}/{dname}")).evidence("initContainers", &present).evidence("users", &users);
    }

    let plugin_images: Vec<&str> = plugin_inits.iter().filter_map(|c| str_at(c, "/image")).collect();
    let base = |v: Verdict| {
        v.evidence("deployment", format!("{ns}/{dname}"))
            .evidence("pluginImages", &plugin_images)
            .evidence("veleroImage", &velero_image)
            .evidence("users", &users)
    };

    // The plugin image copies its binary to /target; that volume must be the one the server reads.
    let plugin_dir = server
        .map(velero::server_flags)
        .and_then(|f| f.get("plugin-dir").cloned())
        .unwrap_or_else(|| "/plugins".to_string());
    let server_volume = server.and_then(|c| {
        array(c, "/volumeMounts").find(|m| str_at(m, "/mountPath").map(|p| p.trim_end_matches('/')) == Some(plugin_dir.trim_end_matches('/')))
    });
    let mut problems = Vec::new();
    match server_volume.and_then(|m| str_at(m, "/name")) {
        None => problems.push(format!(
            "the velero container mounts no volume at {plugin_dir} (its plugin directory): the copied plugin is never seen"
        )),
        Some(vol) => {
            for c in &plugin_inits {
                let mount = array(c, "/volumeMounts").find(|m| str_at(m, "/name") == Some(vol));
                let custom = c.get("command").is_some() || c.get("args").is_some();
                match mount.and_then(|m| str_at(m, "/mountPath")) {
                    None => problems.push(format!(
                        "init container {} does not mount the volume `{vol}` that the server reads plugins from (at {plugin_dir})",
                        str_at(c, "/name").unwrap_or("?")
                    )),
                    Some(p) if p.trim_end_matches('/') != "/target" && !custom => problems.push(format!(
                        "init container {} mounts `{vol}` at {p}, but the plugin image copies itself to /target",
                        str_at(c, "/name").unwrap_or("?")
                    )),
                    _ => {}
                }
            }
        }
    }
    if !problems.is_empty() {
        return base(Verdict::fail(format!("the OpenStack plugin is never copied where Velero looks for plugins ({})", problems[0])))
            .details(problems)
            .hint(if helm {
                "in the Helm values give the init container `volumeMounts: [{mountPath: /target, name: plugins}]` (the chart mounts `plugins` at /plugins on the velero container)".to_string()
            } else {
                format!("mount the same emptyDir at /target in the plugin init container and at {plugin_dir} in the velero container (`kubectl -n {ns} edit deployment/{dname}`)")
            });
    }

    let mut warns = Vec::new();
    if plugin_inits.len() > 1 {
        warns.push(format!(
            "{} OpenStack plugin init containers ({}): they overwrite each other's binary, the last one wins",
            plugin_inits.len(),
            plugin_images.join(", ")
        ));
    }
    let pv = version_of_image(plugin_images.last().copied().unwrap_or_default());
    let vv = version_of_image(&velero_image);
    let mut pair = String::new();
    match (&pv, &vv) {
        (Err(e), _) | (_, Err(e)) => warns.push(format!("cannot verify the plugin/Velero pair: {e}; pin versioned tags")),
        (Ok((ptag, p)), Ok((vtag, v))) => {
            pair = format!("plugin {ptag} with Velero {vtag}");
            match tested_range(*p) {
                None => warns.push(format!(
                    "plugin {ptag} is not in the plugin's compatibility table (v0.5.x–v0.8.x); {pair} is not a tested pair"
                )),
                Some((lo, hi)) if (v.0, v.1) < lo || (v.0, v.1) > hi => warns.push(format!(
                    "{pair} is not a tested pair: plugin v{}.{}.x is tested with Velero {}.{}–{}.{}",
                    p.0, p.1, lo.0, lo.1, hi.0, hi.1
                )),
                Some(_) => {}
            }
        }
    }
    let base = |v: Verdict| base(v).evidence("pair", &pair);
    if !warns.is_empty() {
        return base(Verdict::warn(warns[0].clone()))
            .details(warns.into_iter().skip(1))
            .detail("tested pairs (plugin README): v0.8.x ↔ Velero 1.15–1.17; v0.7.x ↔ 1.11–1.13; v0.6.x ↔ 1.9–1.11; v0.5.x ↔ 1.4–1.11")
            .hint(if helm {
                "pin a tested pair in the Helm values: `image.tag` (e.g. v1.17.1) and `initContainers[].image` (e.g. lirt/velero-plugin-for-openstack:v0.8.2)".to_string()
            } else {
                format!("pin a tested pair: `kubectl -n {ns} set image deployment/{dname} velero=velero/velero:v1.17.1 <plugin-init-container>=lirt/velero-plugin-for-openstack:v0.8.2`")
            });
    }
    base(Verdict::ok(format!("{pair}: a tested pair, plugin copied into the server's plugin directory")))
}

// ---------------------------------------------------------------------------------------------
// velero.features
// ---------------------------------------------------------------------------------------------

const CSI_LABEL: &str = "velero.io/csi-volumesnapshot-class";

pub fn features(ctx: &Ctx) -> Verdict {
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    let ns = ctx.namespace();
    let Some(dep) = velero::find_deployment(deployments, ns) else {
        return Verdict::skip(format!("no Velero Deployment in namespace {ns} (see velero.deployment)"));
    };
    let dname = name_of(dep);
    let flags = velero::server_container(dep).map(velero::server_flags).unwrap_or_default();
    let feats = velero::features(&flags);
    let enabled = feats.iter().any(|f| f == "EnableCSI");
    let miscased: Vec<&String> = feats.iter().filter(|f| f.eq_ignore_ascii_case("EnableCSI") && f.as_str() != "EnableCSI").collect();

    // Is a CSI snapshot wanted? CSI volumes exist, or a class is labelled for Velero…
    let mut unread = Vec::new();
    let csi_pvs: Vec<(&str, &str)> = match &ctx.facts.kube.persistent_volumes {
        Ok(pvs) => pvs.iter().filter_map(|p| str_at(p, "/spec/csi/driver").map(|d| (name_of(p), d))).collect(),
        Err(e) => {
            unread.push(e.explain());
            Vec::new()
        }
    };
    let labelled: Vec<&str> = match &ctx.facts.kube.volume_snapshot_classes {
        Ok(c) => c.iter().filter(|c| c.pointer("/metadata/labels").and_then(|l| l.get(CSI_LABEL)).is_some()).map(name_of).collect(),
        Err(e) => {
            unread.push(e.explain());
            Vec::new()
        }
    };
    let drivers: BTreeSet<&str> = csi_pvs.iter().map(|(_, d)| *d).collect();
    // …and some backup may snapshot volumes (snapshotVolumes unset means yes).
    let schedules = ctx.facts.kube.schedules.as_ref().ok();
    let backups = ctx.facts.kube.backups.as_ref().ok();
    let snapshots_off = |v: &Value, ptr: &str| v.pointer(ptr).and_then(Value::as_bool) == Some(false);
    let all_off = schedules.is_some_and(|s| !s.is_empty() && s.iter().all(|s| snapshots_off(s, "/spec/template/snapshotVolumes")))
        && backups.is_some_and(|b| {
            b.iter().filter(|b| label(b, "velero.io/schedule-name").is_none()).all(|b| snapshots_off(b, "/spec/snapshotVolumes"))
        });
    let wanted = (!csi_pvs.is_empty() || !labelled.is_empty()) && !all_off;
    let helm = helm_name(ctx, Some(dep)).is_some();
    let ev = |v: Verdict| {
        v.evidence("features", &feats)
            .evidence("csiVolumes", csi_pvs.len())
            .evidence("csiDrivers", &drivers)
            .evidence("labelledSnapshotClasses", &labelled)
    };

    if enabled {
        let why = if wanted {
            format!("{} CSI volume(s) ({}), {} VolumeSnapshotClass(es) labelled for Velero", csi_pvs.len(), drivers.iter().copied().collect::<Vec<_>>().join(", "), labelled.len())
        } else {
            "no CSI volume to snapshot was found, which is harmless".to_string()
        };
        return ev(Verdict::ok(format!("--features has EnableCSI; {why}")));
    }
    if !wanted {
        if !unread.is_empty() {
            return ev(Verdict::error(format!("cannot tell whether CSI snapshots are needed: {}", unread.join("; "))));
        }
        let why = if all_off {
            "every Schedule and manual Backup sets snapshotVolumes: false"
        } else {
            "no CSI PersistentVolume and no VolumeSnapshotClass labelled velero.io/csi-volumesnapshot-class"
        };
        return ev(Verdict::skip(format!("EnableCSI is not needed: {why}")));
    }
    let shown = if feats.is_empty() { "no --features flag".to_string() } else { format!("--features={}", feats.join(",")) };
    let mut v = ev(Verdict::fail(format!(
        "Velero runs with {shown}, so its CSI actions are skipped and {} CSI volume(s) are backed up without a snapshot",
        csi_pvs.len()
    )))
    .detail("Velero logs `Skip action … because the CSI feature is not enabled` for every PVC and the backup completes without volume data")
    .details(csi_pvs.iter().take(5).map(|(pv, d)| format!("PersistentVolume {pv} uses CSI driver {d}")));
    if csi_pvs.len() > 5 {
        v = v.detail(format!("… and {} more CSI volumes", csi_pvs.len() - 5));
    }
    if !labelled.is_empty() {
        v = v.detail(format!("VolumeSnapshotClass labelled for Velero: {}", labelled.join(", ")));
    }
    if !miscased.is_empty() {
        v = v.detail(format!(
            "feature names are case-sensitive: `{}` is not `EnableCSI`",
            miscased.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("`, `")
        ));
    }
    let others: Vec<&str> = feats.iter().filter(|f| !f.eq_ignore_ascii_case("EnableCSI")).map(String::as_str).collect();
    let value = std::iter::once("EnableCSI").chain(others.iter().copied()).collect::<Vec<_>>().join(",");
    let hint = if helm {
        format!("set the Helm value `configuration.features: {value}` and `helm upgrade` (the chart renders it as --features={value})")
    } else {
        format!(
            "add `--features={value}` to the velero container's args: `kubectl -n {ns} edit deployment/{dname}` (or reinstall with `velero install --features={value}`)"
        )
    };
    v.hint(hint)
}

// ---------------------------------------------------------------------------------------------
// velero.fs-backup
// ---------------------------------------------------------------------------------------------

/// Kopia's errors for a BSL it has no backend for (REFERENCE §1).
const KOPIA_BACKEND_ERRORS: [&str; 2] = ["invalid storage provider", "invalid backend type"];

/// Backup phases that are not final.
fn backup_running(phase: &str) -> bool {
    !matches!(phase, "Completed" | "PartiallyFailed" | "Failed" | "FailedValidation" | "Deleting")
}

pub fn fs_backup(ctx: &Ctx) -> Verdict {
    let bsls = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let ns = ctx.namespace();
    let selected = ctx.selected_bsls(bsls);
    let swift: BTreeSet<&str> = selected.iter().filter(|b| is_openstack_bsl(b)).map(|b| name_of(b)).collect();
    if swift.is_empty() {
        return Verdict::skip("no BackupStorageLocation uses the OpenStack (Swift) provider: file-system backup is not judged here");
    }
    // Where a backup without spec.storageLocation goes: the default BSL.
    let default_bsl = bsls.iter().find(|b| b.pointer("/spec/default").and_then(Value::as_bool) == Some(true)).map(name_of);
    let targets_swift = |loc: Option<&str>| match loc.filter(|l| !l.is_empty()).or(default_bsl) {
        Some(l) => swift.contains(l),
        None => true,
    };
    let deployments = ctx.facts.kube.deployments.as_ref().ok();
    let dep = deployments.and_then(|d| velero::find_deployment(d, ns));
    let helm = helm_name(ctx, dep).is_some();
    let mut fails: Vec<String> = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    let mut unread: Vec<String> = Vec::new();
    let mut objects: Vec<String> = Vec::new();

    // 1. Server defaults.
    let flags = dep.and_then(velero::server_container).map(velero::server_flags).unwrap_or_default();
    for (flag, value) in [("default-volumes-to-fs-backup", "defaultVolumesToFsBackup"), ("default-snapshot-move-data", "defaultSnapshotMoveData")] {
        if velero::flag_true(&flags, flag) {
            fails.push(format!("the server runs with --{flag}=true: every backup without its own setting asks for it"));
            objects.push(format!("--{flag}"));
            hints.push(if helm {
                format!("Helm value `configuration.{value}: false`")
            } else {
                format!("remove --{flag} from the velero container's args (`kubectl -n {ns} edit deployment/{}`)", dep.map(name_of).unwrap_or("velero"))
            });
        }
    }
    if dep.is_none() {
        if let Err(e) = &ctx.facts.kube.deployments {
            unread.push(e.explain());
        }
    }

    // 2. Schedules: always judged (each makes new backups).
    let asks = |spec: &Value| -> Vec<&'static str> {
        let mut a = Vec::new();
        if spec.get("defaultVolumesToFsBackup").and_then(Value::as_bool) == Some(true) {
            a.push("defaultVolumesToFsBackup: true");
        } else if spec.get("defaultVolumesToRestic").and_then(Value::as_bool) == Some(true) {
            // Deprecated; Velero remaps it to defaultVolumesToFsBackup.
            a.push("defaultVolumesToRestic: true");
        }
        if spec.get("snapshotMoveData").and_then(Value::as_bool) == Some(true) {
            a.push("snapshotMoveData: true");
        }
        a
    };
    match &ctx.facts.kube.schedules {
        Ok(schedules) => {
            for s in schedules {
                let Some(t) = s.pointer("/spec/template") else { continue };
                let a = asks(t);
                if !a.is_empty() && targets_swift(str_at(t, "/storageLocation")) {
                    let paused = if s.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) { " (paused)" } else { "" };
                    fails.push(format!("Schedule {}{paused} sets {}", name_of(s), a.join(" and ")));
                    objects.push(format!("schedule/{}", name_of(s)));
                    hints.push(if velero::helm_release_name(s).is_some() {
                        format!("Helm value `schedules.{}.template.defaultVolumesToFsBackup: false` (and snapshotMoveData: false)", name_of(s))
                    } else {
                        format!(
                            "`kubectl -n {ns} patch schedule {} --type merge -p '{{\"spec\":{{\"template\":{{\"defaultVolumesToFsBackup\":false,\"snapshotMoveData\":false}}}}}}'`",
                            name_of(s)
                        )
                    });
                }
            }
        }
        Err(e) => unread.push(e.explain()),
    }

    // 3. Backups: those still running, and the newest of each schedule (older ones are history).
    let mut current_backups: BTreeSet<String> = BTreeSet::new();
    match &ctx.facts.kube.backups {
        Ok(backups) => {
            let mut newest: BTreeMap<&str, (&Value, Option<Timestamp>)> = BTreeMap::new();
            for b in backups {
                let phase = str_at(b, "/status/phase").unwrap_or_default();
                let created = timestamp_at(b, "/metadata/creationTimestamp");
                if backup_running(phase) {
                    current_backups.insert(name_of(b).to_string());
                }
                let key = label(b, "velero.io/schedule-name").unwrap_or("");
                let newer = match newest.get(key) {
                    None => true,
                    Some((old, t)) => (created, name_of(b)) > (*t, name_of(old)),
                };
                if newer {
                    newest.insert(key, (b, created));
                }
            }
            current_backups.extend(newest.values().map(|(b, _)| name_of(b).to_string()));
            for b in backups.iter().filter(|b| current_backups.contains(name_of(b))) {
                let Some(spec) = b.get("spec") else { continue };
                let a = asks(spec);
                if !a.is_empty() && targets_swift(str_at(spec, "/storageLocation")) {
                    fails.push(format!(
                        "Backup {} ({}) sets {}",
                        name_of(b),
                        str_at(b, "/status/phase").unwrap_or("New"),
                        a.join(" and ")
                    ));
                    objects.push(format!("backup/{}", name_of(b)));
                }
            }
        }
        Err(e) => unread.push(e.explain()),
    }

    // 4. Kopia's own verdict: failed PodVolumeBackups of current backups, failed repositories.
    let kopia_error = |msg: &str| KOPIA_BACKEND_ERRORS.iter().any(|k| msg.contains(k));
    match &ctx.facts.kube.pod_volume_backups {
        Ok(pvbs) => {
            let mut shown = 0;
            for p in pvbs {
                let msg = str_at(p, "/status/message").unwrap_or_default();
                if str_at(p, "/status/phase") != Some("Failed") || !kopia_error(msg) {
                    continue;
                }
                let relevant = match label(p, "velero.io/backup-name") {
                    Some(b) => current_backups.contains(b),
                    None => timestamp_at(p, "/metadata/creationTimestamp").is_some_and(|t| ctx.now.as_second() - t.as_second() < 86_400),
                };
                if relevant {
                    shown += 1;
                    if shown <= 3 {
                        fails.push(format!("PodVolumeBackup {} failed: {}", name_of(p), one_line(msg)));
                    }
                    objects.push(format!("podvolumebackup/{}", name_of(p)));
                }
            }
            if shown > 3 {
                fails.push(format!("… and {} more PodVolumeBackups failed the same way", shown - 3));
            }
        }
        Err(e) => unread.push(e.explain()),
    }
    match &ctx.facts.kube.backup_repositories {
        Ok(repos) => {
            for r in repos {
                let msg = str_at(r, "/status/message").unwrap_or_default();
                if str_at(r, "/status/phase") == Some("NotReady") && kopia_error(msg) {
                    fails.push(format!("BackupRepository {} is NotReady: {}", name_of(r), one_line(msg)));
                    objects.push(format!("backuprepository/{}", name_of(r)));
                    let repo_hint = format!("once nothing asks for file-system backup, delete the broken repositories: `kubectl -n {ns} delete backuprepository {}`", name_of(r));
                    if !hints.iter().any(|h| h.starts_with("once nothing")) {
                        hints.push(repo_hint);
                    }
                }
            }
        }
        Err(e) => unread.push(e.explain()),
    }

    let node_agent = ctx
        .facts
        .kube
        .daemonsets
        .as_ref()
        .ok()
        .and_then(|d| d.iter().find(|d| name_of(d) == "node-agent" || label(d, "name") == Some("node-agent")).map(name_of));
    let swift_list = swift.iter().copied().collect::<Vec<_>>().join(", ");
    let ev = |v: Verdict| v.evidence("swiftBsls", &swift).evidence("objects", &objects).evidence("nodeAgent", node_agent);

    if !fails.is_empty() {
        hints.dedup();
        let mut v = ev(Verdict::fail(format!(
            "file-system backup or the data mover is asked of Swift BSL {swift_list}: {}",
            fails[0]
        )))
        .details(fails.iter().skip(1).cloned())
        .detail("Kopia (node-agent file-system backup and the data mover) only has aws, azure, gcp and fs backends: against community.openstack.org/openstack it fails with `invalid backend type` / `invalid storage provider`, and those volumes are not backed up")
        .details(unread.iter().map(|u| format!("not judged: {u}")));
        if node_agent.is_none() {
            v = v.detail("no node-agent DaemonSet runs, so pod volume backups cannot even start");
        }
        let fix = if hints.is_empty() {
            "set defaultVolumesToFsBackup and snapshotMoveData to false wherever they are true (server flags, Schedules, `velero backup create --default-volumes-to-fs-backup=false`)".to_string()
        } else {
            hints.join("; ")
        };
        return v.hint(format!("back volumes up with CSI snapshots instead: {fix}; keep `snapshotVolumes: true` and --features=EnableCSI"));
    }
    if !unread.is_empty() {
        return ev(Verdict::error(format!("could not read everything this check needs: {}", unread.join("; "))));
    }
    let mut v = ev(Verdict::ok(format!("no file-system backup or data mover is asked of Swift BSL {swift_list}")));
    if let Some(na) = node_agent {
        v = v.detail(format!(
            "DaemonSet {na} runs: harmless by itself, but pods annotated `backup.velero.io/backup-volumes` in backed-up namespaces would fail against Swift (veldr cannot see pods outside {ns})"
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use serde_json::json;

    fn velero_deployment(args: &[&str], inits: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "velero", "namespace": "velero",
                "labels": {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "velero", "app.kubernetes.io/name": "velero"},
                "annotations": {"meta.helm.sh/release-name": "velero"}},
            "spec": {"replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/instance": "velero", "app.kubernetes.io/name": "velero"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/instance": "velero", "app.kubernetes.io/name": "velero", "name": "velero"}},
                    "spec": {
                        "containers": [{"name": "velero", "image": "velero/velero:v1.17.1", "command": ["/velero"], "args": args,
                            "volumeMounts": [{"name": "plugins", "mountPath": "/plugins"}, {"name": "scratch", "mountPath": "/scratch"}],
                            "envFrom": [{"secretRef": {"name": "cloud-credentials"}}]}],
                        "initContainers": inits,
                        "volumes": [{"name": "plugins", "emptyDir": {}}, {"name": "scratch", "emptyDir": {}}]}}},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                "conditions": [{"type": "Available", "status": "True"}]}
        })
    }

    fn plugin_init(image: &str) -> Value {
        json!([{"name": "velero-plugin-for-openstack", "image": image, "volumeMounts": [{"name": "plugins", "mountPath": "/target"}]}])
    }

    fn healthy_deployment() -> Value {
        velero_deployment(&["server", "--uploader-type=kopia", "--features=EnableCSI"], plugin_init("lirt/velero-plugin-for-openstack:v0.8.2"))
    }

    fn pod(container_status: Value, ready: bool) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "velero-7c9d8f5b6d-x2k9p", "namespace": "velero",
                "labels": {"app.kubernetes.io/instance": "velero", "app.kubernetes.io/name": "velero", "pod-template-hash": "7c9d8f5b6d"}},
            "spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.17.1"}]},
            "status": {"phase": if ready { "Running" } else { "Pending" }, "startTime": "2026-11-26T08:00:00Z",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}, {"type": "PodScheduled", "status": "True"}],
                "initContainerStatuses": [{"name": "velero-plugin-for-openstack", "restartCount": 0, "ready": true,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                "containerStatuses": [container_status]}
        })
    }

    fn running() -> Value {
        json!({"name": "velero", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-11-26T08:00:05Z"}}})
    }

    fn bsl(name: &str, provider: &str) -> Value {
        json!({"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": "velero"},
            "spec": {"provider": provider, "default": true, "objectStorage": {"bucket": "velero-backups"}},
            "status": {"phase": "Available"}})
    }

    fn facts() -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.deployments = Ok(vec![healthy_deployment()]);
        f.kube.pods = Ok(vec![pod(running(), true)]);
        f.kube.backup_storage_locations = Ok(vec![bsl("default", "community.openstack.org/openstack")]);
        f.kube.persistent_volumes = Ok(vec![json!({"metadata": {"name": "pvc-1"}, "spec": {"csi": {"driver": "csi.vsphere.vmware.com"}}})]);
        f.kube.volume_snapshot_classes = Ok(vec![json!({"metadata": {"name": "velero-vsphere-snapshot-class",
            "labels": {"velero.io/csi-volumesnapshot-class": "true"}}, "driver": "csi.vsphere.vmware.com", "deletionPolicy": "Delete"})]);
        f.kube.schedules = Ok(vec![json!({"metadata": {"name": "daily", "namespace": "velero"},
            "spec": {"schedule": "0 2 * * *", "template": {"includedNamespaces": ["shop"], "snapshotVolumes": true}}})]);
        f.kube.backups = Ok(vec![
            backup("daily-20261129020000", "2026-11-29T02:00:00Z", "Completed", json!({"snapshotVolumes": true, "defaultVolumesToFsBackup": false})),
            backup("daily-20261128020000", "2026-11-28T02:00:00Z", "Completed", json!({"snapshotVolumes": true})),
        ]);
        f
    }

    fn backup(name: &str, created: &str, phase: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "velero", "creationTimestamp": created, "labels": {"velero.io/schedule-name": "daily"}},
            "spec": spec, "status": {"phase": phase}})
    }

    fn run(f: &Facts, judge: fn(&Ctx) -> Verdict) -> Verdict {
        let ctx = Ctx::new(f, &[]);
        judge(&ctx)
    }

    fn text(v: &Verdict) -> String {
        format!("{} {} {}", v.summary, v.details.join(" "), v.hint.clone().unwrap_or_default())
    }

    // ---- velero.deployment

    #[test]
    fn deployment_healthy_is_ok() {
        let v = run(&facts(), deployment);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("Helm release velero"), "{}", v.summary);
        assert!(v.summary.contains(", up 2d"), "{}", v.summary);
    }

    #[test]
    fn deployment_missing_fails_with_install_hint() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("helm upgrade --install velero"), "{}", text(&v));
    }

    #[test]
    fn deployment_in_other_namespace_is_named() {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["metadata"]["namespace"] = json!("backup");
        f.kube.deployments = Ok(vec![d]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("veldr doctor -n backup"), "{}", text(&v));
    }

    #[test]
    fn deployment_renamed_release_is_found_by_container() {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["metadata"]["name"] = json!("backup-velero");
        f.kube.deployments = Ok(vec![d]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("velero/backup-velero"));
    }

    #[test]
    fn deployment_missing_secret_is_named() {
        let mut f = facts();
        f.kube.pods = Ok(vec![pod(
            json!({"name": "velero", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"openstack-credentials\" not found"}}}),
            false,
        )]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("CreateContainerConfigError") && t.contains("openstack-credentials"), "{t}");
        assert!(t.contains("credentials.extraSecretRef"), "{t}");
    }

    #[test]
    fn deployment_crashloop_names_container_reason_and_last_exit() {
        let mut f = facts();
        f.kube.pods = Ok(vec![pod(
            json!({"name": "velero", "ready": false, "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=velero"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-11-29T07:58:00Z"}}}),
            false,
        )]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("container velero: CrashLoopBackOff") && t.contains("137") && t.contains("OOMKilled"), "{t}");
        assert!(t.contains("resources.limits.memory"), "{t}");
    }

    #[test]
    fn deployment_init_error_is_reported() {
        let mut f = facts();
        let mut p = pod(json!({"name": "velero", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}), false);
        p["status"]["initContainerStatuses"] = json!([{"name": "velero-plugin-for-openstack", "restartCount": 3,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"lirt/velero-plugin-for-openstack:v9\""}}}]);
        f.kube.pods = Ok(vec![p]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("init container velero-plugin-for-openstack: ImagePullBackOff"), "{}", text(&v));
        assert_eq!(v.evidence["reason"], "Init:ImagePullBackOff");
    }

    #[test]
    fn deployment_no_pods_reports_replica_failure() {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["status"] = json!({"replicas": 0, "availableReplicas": 0, "conditions": [
            {"type": "Available", "status": "False"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "pods \"velero-x\" is forbidden: exceeded quota"}]});
        f.kube.deployments = Ok(vec![d]);
        f.kube.pods = Ok(vec![]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("exceeded quota"));
    }

    #[test]
    fn deployment_scaled_to_zero_fails() {
        let mut f = facts();
        let mut d = healthy_deployment();
        d["spec"]["replicas"] = json!(0);
        f.kube.deployments = Ok(vec![d]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("--replicas=1"));
    }

    #[test]
    fn deployment_recent_restart_warns_old_restart_does_not() {
        let mut f = facts();
        let mut cs = running();
        cs["restartCount"] = json!(2);
        cs["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-29T07:40:00Z", "message": "level=fatal"}});
        f.kube.pods = Ok(vec![pod(cs.clone(), true)]);
        assert_eq!(run(&f, deployment).status, Status::Warn);
        cs["lastState"]["terminated"]["finishedAt"] = json!("2026-11-20T07:40:00Z");
        f.kube.pods = Ok(vec![pod(cs, true)]);
        assert_eq!(run(&f, deployment).status, Status::Ok);
    }

    #[test]
    fn deployment_stuck_rollout_warns() {
        let mut f = facts();
        let mut bad = pod(json!({"name": "velero", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}), false);
        bad["metadata"]["name"] = json!("velero-new-abcde");
        f.kube.pods = Ok(vec![pod(running(), true), bad]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("velero-new-abcde"));
    }

    #[test]
    fn deployment_ignores_evicted_and_unrelated_pods() {
        let mut f = facts();
        let mut evicted = pod(running(), false);
        evicted["metadata"]["name"] = json!("velero-old");
        evicted["status"]["phase"] = json!("Failed");
        evicted["status"]["reason"] = json!("Evicted");
        let mut other = pod(json!({"name": "x", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}), false);
        other["metadata"]["labels"] = json!({"app": "other"});
        f.kube.pods = Ok(vec![evicted, pod(running(), true), other]);
        assert_eq!(run(&f, deployment).status, Status::Ok);
    }

    #[test]
    fn deployment_pods_unreadable_is_error() {
        let mut f = facts();
        f.kube.pods = Err(crate::facts::ReadError::forbidden("list", "pods", Some("velero")));
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.contains("may not list pods"));
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("grant veldr's identity list on pods")), "{:?}", v.hint);
    }

    #[test]
    fn node_agent_pods_matching_the_chart_selector_are_not_velero_pods() {
        let mut f = facts();
        let mut na = pod(json!({"name": "node-agent", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}), false);
        na["metadata"]["name"] = json!("node-agent-kx7vq");
        na["metadata"]["ownerReferences"] = json!([{"kind": "DaemonSet", "name": "node-agent", "controller": true}]);
        let mut own = pod(running(), true);
        own["metadata"]["ownerReferences"] = json!([{"kind": "ReplicaSet", "name": "velero-7c9d8f5b6d", "controller": true}]);
        f.kube.pods = Ok(vec![own, na]);
        let v = run(&f, deployment);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("(1/1 ready)"), "{}", v.summary);
    }

    #[test]
    fn selector_expressions() {
        let sel = json!({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "In", "values": ["x", "y"]}, {"key": "c", "operator": "DoesNotExist"}]});
        assert!(selector_matches(&sel, Some(&json!({"a": "1", "b": "y"}))));
        assert!(!selector_matches(&sel, Some(&json!({"a": "1", "b": "z"}))));
        assert!(!selector_matches(&sel, Some(&json!({"a": "1", "b": "x", "c": ""}))));
        assert!(!selector_matches(&json!({}), Some(&json!({"a": "1"}))));
    }

    // ---- velero.plugin

    #[test]
    fn plugin_healthy_is_ok() {
        let v = run(&facts(), plugin);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("v0.8.2") && v.summary.contains("v1.17.1"));
    }

    #[test]
    fn plugin_missing_fails() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(&["server"], json!([{"name": "velero-plugin-for-aws", "image": "velero/velero-plugin-for-aws:v1.13.0"}]))]);
        let v = run(&f, plugin);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("velero-plugin-for-openstack") && t.contains("velero-plugin-for-aws:v1.13.0") && t.contains("initContainers"), "{t}");
    }

    #[test]
    fn plugin_detected_by_image_not_name() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(
            &["server"],
            json!([{"name": "lirt-velero-plugin-for-openstack", "image": "registry.example.com:5000/mirror/velero-plugin-for-openstack:v0.8.1",
                "volumeMounts": [{"name": "plugins", "mountPath": "/target"}]}]),
        )]);
        assert_eq!(run(&f, plugin).status, Status::Ok);
    }

    #[test]
    fn plugin_untested_pair_warns() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(&["server"], plugin_init("lirt/velero-plugin-for-openstack:v0.6.0"))]);
        let v = run(&f, plugin);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("v0.6.0") && v.summary.contains("v1.17.1"), "{}", v.summary);
    }

    #[test]
    fn plugin_latest_or_digest_warns() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(&["server"], plugin_init("lirt/velero-plugin-for-openstack:latest"))]);
        let v = run(&f, plugin);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("cannot verify"));
        f.kube.deployments = Ok(vec![velero_deployment(&["server"], plugin_init("lirt/velero-plugin-for-openstack@sha256:abcdef"))]);
        assert_eq!(run(&f, plugin).status, Status::Warn);
    }

    #[test]
    fn plugin_not_copied_to_plugin_dir_fails() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(
            &["server"],
            json!([{"name": "p", "image": "lirt/velero-plugin-for-openstack:v0.8.2", "volumeMounts": [{"name": "scratch", "mountPath": "/target"}]}]),
        )]);
        let v = run(&f, plugin);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("`plugins`"), "{}", text(&v));
    }

    #[test]
    fn plugin_skips_without_openstack_bsl() {
        let mut f = facts();
        f.kube.backup_storage_locations = Ok(vec![bsl("default", "aws")]);
        assert_eq!(run(&f, plugin).status, Status::Skip);
    }

    #[test]
    fn plugin_needed_for_openstack_vsl() {
        let mut f = facts();
        f.kube.backup_storage_locations = Ok(vec![bsl("default", "aws")]);
        f.kube.volume_snapshot_locations = Ok(vec![json!({"metadata": {"name": "cinder"}, "spec": {"provider": "community.openstack.org/openstack-cinder"}})]);
        f.kube.deployments = Ok(vec![velero_deployment(&["server"], json!([]))]);
        let v = run(&f, plugin);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("VolumeSnapshotLocation cinder"));
    }

    #[test]
    fn tested_ranges_follow_the_table() {
        assert!(tested_range((0, 8, 2)).is_some_and(|(lo, hi)| lo == (1, 15) && hi == (1, 17)));
        assert!(tested_range((0, 5, 9)).is_some_and(|(lo, hi)| lo == (1, 4) && hi == (1, 11)));
        assert!(tested_range((0, 9, 0)).is_none());
    }

    // ---- velero.features

    #[test]
    fn features_healthy_is_ok() {
        let v = run(&facts(), features);
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn features_missing_fails_with_helm_hint() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(&["server", "--uploader-type=kopia"], plugin_init("lirt/velero-plugin-for-openstack:v0.8.2"))]);
        let v = run(&f, features);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("because the CSI feature is not enabled"), "{t}");
        assert!(t.contains("configuration.features: EnableCSI"), "{t}");
    }

    #[test]
    fn features_other_flags_kept_and_case_named() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(&["server", "--features=enablecsi,EnableAPIGroupVersions"], plugin_init("x/velero-plugin-for-openstack:v0.8.2"))]);
        let v = run(&f, features);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("case-sensitive") && t.contains("EnableCSI,EnableAPIGroupVersions"), "{t}");
    }

    #[test]
    fn features_not_needed_skips() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(&["server"], plugin_init("x/velero-plugin-for-openstack:v0.8.2"))]);
        f.kube.persistent_volumes = Ok(vec![json!({"metadata": {"name": "nfs"}, "spec": {"nfs": {"server": "x"}}})]);
        f.kube.volume_snapshot_classes = Ok(vec![]);
        assert_eq!(run(&f, features).status, Status::Skip);
    }

    #[test]
    fn features_not_needed_when_snapshots_off_everywhere() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(&["server"], plugin_init("x/velero-plugin-for-openstack:v0.8.2"))]);
        f.kube.schedules = Ok(vec![json!({"metadata": {"name": "daily"}, "spec": {"template": {"snapshotVolumes": false}}})]);
        assert_eq!(run(&f, features).status, Status::Skip);
    }

    #[test]
    fn features_without_deployment_skips() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![]);
        assert_eq!(run(&f, features).status, Status::Skip);
    }

    // ---- velero.fs-backup

    #[test]
    fn fs_backup_healthy_is_ok() {
        let v = run(&facts(), fs_backup);
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn fs_backup_server_flag_fails() {
        let mut f = facts();
        f.kube.deployments = Ok(vec![velero_deployment(
            &["server", "--features=EnableCSI", "--default-volumes-to-fs-backup=true"],
            plugin_init("x/velero-plugin-for-openstack:v0.8.2"),
        )]);
        let v = run(&f, fs_backup);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("--default-volumes-to-fs-backup") && t.contains("configuration.defaultVolumesToFsBackup: false"), "{t}");
        // The bare form counts too.
        f.kube.deployments = Ok(vec![velero_deployment(&["server", "--default-snapshot-move-data"], json!([]))]);
        assert_eq!(run(&f, fs_backup).status, Status::Fail);
    }

    #[test]
    fn fs_backup_schedule_and_newest_backup_fail_old_backup_does_not() {
        let mut f = facts();
        f.kube.backups = Ok(vec![
            backup("daily-20261129020000", "2026-11-29T02:00:00Z", "Completed", json!({"defaultVolumesToFsBackup": false})),
            backup("daily-20261101020000", "2026-11-01T02:00:00Z", "PartiallyFailed", json!({"defaultVolumesToFsBackup": true})),
        ]);
        assert_eq!(run(&f, fs_backup).status, Status::Ok);
        f.kube.schedules = Ok(vec![json!({"metadata": {"name": "weekly"}, "spec": {"template": {"snapshotMoveData": true}}})]);
        let v = run(&f, fs_backup);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("Schedule weekly sets snapshotMoveData: true"));
        f.kube.schedules = Ok(vec![]);
        f.kube.backups = Ok(vec![backup("manual", "2026-11-29T07:00:00Z", "InProgress", json!({"defaultVolumesToFsBackup": true}))]);
        assert_eq!(run(&f, fs_backup).status, Status::Fail);
    }

    #[test]
    fn fs_backup_to_a_non_swift_bsl_is_fine() {
        let mut f = facts();
        f.kube.backup_storage_locations = Ok(vec![bsl("default", "community.openstack.org/openstack"), {
            let mut b = bsl("s3", "aws");
            b["spec"]["default"] = json!(false);
            b
        }]);
        f.kube.schedules = Ok(vec![json!({"metadata": {"name": "fs"}, "spec": {"template": {"defaultVolumesToFsBackup": true, "storageLocation": "s3"}}})]);
        assert_eq!(run(&f, fs_backup).status, Status::Ok);
    }

    #[test]
    fn fs_backup_kopia_errors_fail() {
        let mut f = facts();
        f.kube.pod_volume_backups = Ok(vec![json!({"metadata": {"name": "daily-20261129020000-abcde", "namespace": "velero",
            "labels": {"velero.io/backup-name": "daily-20261129020000"}},
            "status": {"phase": "Failed", "message": "error to initialize data path: invalid backend type community.openstack.org/openstack, provider community.openstack.org/openstack"}})]);
        let v = run(&f, fs_backup);
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("invalid backend type"));
        // The same failure in a backup that is history is ignored.
        f.kube.pod_volume_backups = Ok(vec![json!({"metadata": {"name": "old", "labels": {"velero.io/backup-name": "daily-20261001020000"}},
            "status": {"phase": "Failed", "message": "invalid backend type x"}})]);
        assert_eq!(run(&f, fs_backup).status, Status::Ok);
        f.kube.backup_repositories = Ok(vec![json!({"metadata": {"name": "shop-default-kopia-abcde"},
            "status": {"phase": "NotReady", "message": "error to init backup repo: invalid storage provider"}})]);
        assert_eq!(run(&f, fs_backup).status, Status::Fail);
    }

    #[test]
    fn fs_backup_node_agent_alone_is_ok() {
        let mut f = facts();
        f.kube.daemonsets = Ok(vec![json!({"metadata": {"name": "node-agent", "namespace": "velero", "labels": {"name": "node-agent"}}})]);
        let v = run(&f, fs_backup);
        assert_eq!(v.status, Status::Ok);
        assert!(text(&v).contains("backup.velero.io/backup-volumes"));
    }

    #[test]
    fn fs_backup_skips_without_swift() {
        let mut f = facts();
        f.kube.backup_storage_locations = Ok(vec![bsl("default", "aws")]);
        assert_eq!(run(&f, fs_backup).status, Status::Skip);
    }

    #[test]
    fn fs_backup_unreadable_is_error() {
        let mut f = facts();
        f.kube.pod_volume_backups = Err(crate::facts::ReadError::forbidden("list", "podvolumebackups.velero.io", Some("velero")));
        let v = run(&f, fs_backup);
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.contains("podvolumebackups.velero.io"));
    }
}
