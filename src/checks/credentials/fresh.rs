//! credentials.fresh: env is resolved when a container is created, so a secret written after the
//! velero container started is not what the running server (and its plugins) use.

use crate::checks::{CheckDef, Ctx};
use crate::facts::Object;
use crate::model::Verdict;
use crate::rules::duration::human_age;
use crate::rules::pods::{is_current_pod, pods_of};
use crate::upstream::velero;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

pub const CHECK: CheckDef = crate::check! {
    id: "credentials.fresh", category: Credentials, severity: Major,
    title: "Velero runs with the current secret",
    depends_on: ["kube.connect"],
    needs: [Deployments, Pods, VeleroEnv],
    consults: [Pods],
    judge: judge,
};

/// When the velero container of a pod last started (a restarted container re-reads its env).
fn started(pod: &Pod, container: &str) -> Option<Timestamp> {
    let status = pod.status.as_ref()?;
    status
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == container)
        .and_then(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
        .or(status.start_time.as_ref())
        .map(|t| t.0)
}

fn judge(ctx: &Ctx) -> Verdict {
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    let ns = ctx.namespace();
    let Some(dep) = velero::find_deployment(deployments, ns) else {
        return super::without_deployment(format!("no Velero Deployment in namespace {ns} (see velero.deployment)"));
    };
    let dname = dep.name();
    let Some(container) = velero::server_container(dep) else {
        return Verdict::skip(format!("deployment {ns}/{dname} has no containers"));
    };
    let cname = if container.name.is_empty() { "velero" } else { container.name.as_str() };
    let (mut secrets, _) = velero::referenced_objects(container);
    secrets.sort();
    secrets.dedup();
    if secrets.is_empty() {
        return Verdict::skip(format!("the {cname} container of {ns}/{dname} reads no Secret through env or envFrom"));
    }
    let pods = crate::need!(&ctx.facts.kube.pods);
    // Pods that did not decode are named by the engine (this check only consults Pods); one named
    // like this Deployment's (`<deployment>-<hash>-<id>`) may be a Velero pod that started before
    // the secret changed, so the check warns.
    let malformed_ours = pods
        .malformed
        .iter()
        .filter(|m| m.namespace.as_deref() == Some(ns) && m.name.as_deref().is_some_and(|n| n.strip_prefix(dname).is_some_and(|r| r.starts_with('-'))))
        .count();
    let malformed_hint = || format!("compare with `kubectl -n {ns} get pods -o yaml`; restarting Velero (`kubectl -n {ns} rollout restart deployment/{dname}`) also makes its pods current");
    let running: Vec<(&Pod, Timestamp)> = pods_of(dep, pods)
        .into_iter()
        .filter(|p| is_current_pod(p))
        .filter_map(|p| started(p, cname).map(|s| (p, s)))
        .collect();
    if running.is_empty() {
        if malformed_ours > 0 {
            return Verdict::warn(format!("no Velero pod veldr could decode; {malformed_ours} pod(s) named like deployment {ns}/{dname} could not be decoded"))
                .hint(malformed_hint())
                .evidence("secrets", &secrets);
        }
        return Verdict::skip("no started Velero pod to compare with (see velero.deployment)").evidence("secrets", &secrets);
    }
    let age = |t: Timestamp| human_age(ctx.age_secs(t));

    let mut stale = Vec::new();
    let mut fine = Vec::new();
    let mut unreadable = Vec::new();
    let mut unreadable_hint = None;
    let mut unknown = Vec::new();
    let mut changes = serde_json::Map::new();
    for name in &secrets {
        match ctx.facts.kube.secrets.get(name) {
            None => unknown.push(format!("secret {name} was not read by veldr")),
            Some(Err(e)) => {
                unreadable.push(e.explain());
                unreadable_hint.get_or_insert_with(|| crate::checks::read_hint(e));
            }
            Some(Ok(None)) => unknown.push(format!("secret {name} does not exist (see credentials.env)")),
            Some(Ok(Some(info))) => match info.last_changed.or(info.created) {
                None => unknown.push(format!("secret {name} carries no change time")),
                Some(changed) => {
                    changes.insert(name.clone(), Value::String(changed.to_string()));
                    for (pod, start) in &running {
                        if changed > *start {
                            stale.push(format!(
                                "secret {name} was last written {} ago ({changed}), after pod {} started its {cname} container {} ago ({start})",
                                age(changed),
                                pod.name(),
                                age(*start)
                            ));
                        } else {
                            fine.push(format!("{name} (written {} ago)", age(changed)));
                        }
                    }
                }
            },
        }
    }
    let starts: serde_json::Map<String, Value> = running.iter().map(|(p, s)| (p.name().to_string(), Value::String(s.to_string()))).collect();
    let ev = |v: Verdict| v.evidence("secrets", &secrets).evidence("lastChanged", &changes).evidence("podStarted", &starts);

    if !stale.is_empty() {
        return ev(Verdict::fail(format!("Velero runs with old credentials: {}", stale[0])))
            .details(stale.iter().skip(1).cloned())
            .detail("environment variables are read once, when the container starts: the server and its plugins still use the values from before the change")
            .detail("if only labels or annotations of the secret changed, a restart is harmless but still clears this check")
            .details(unreadable.iter().map(|u| format!("not judged: {u}")))
            .hint(format!(
                "restart Velero to load the new values: `kubectl -n {ns} rollout restart deployment/{dname}` (and `kubectl -n {ns} rollout restart daemonset/node-agent` if node-agent reads the same secret)"
            ));
    }
    if !unreadable.is_empty() {
        return ev(Verdict::error(unreadable.join("; "))).details(unknown).hint(unreadable_hint.unwrap_or_default());
    }
    if fine.is_empty() {
        return ev(Verdict::skip(format!("cannot tell when the secrets changed: {}", unknown.join("; "))));
    }
    fine.sort();
    fine.dedup();
    let newest = running.iter().map(|(_, s)| *s).min().map(age).unwrap_or_default();
    let summary = format!("the {cname} container started {newest} ago, after the last write of {}", fine.join(", "));
    if malformed_ours > 0 {
        return ev(Verdict::warn(format!("{summary}; {malformed_ours} pod(s) of {ns}/{dname} could not be decoded and are not judged")))
            .details(unknown)
            .hint(malformed_hint());
    }
    ev(Verdict::ok(summary)).details(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run;
    use crate::facts::{Facts, List, SecretInfo};
    use crate::model::Status;
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    fn deployment(container: Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "velero", "namespace": "velero"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "velero"}},
                "template": {"spec": {"containers": [container]}}}
        }))
        .unwrap()
    }

    fn velero_container() -> Value {
        json!({"name": "velero", "image": "velero/velero:v1.17.1", "args": ["server"], "envFrom": [{"secretRef": {"name": "cloud-credentials"}}]})
    }

    fn pod(started_at: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "velero-abc", "namespace": "velero", "labels": {"app.kubernetes.io/name": "velero"}},
            "status": {"phase": "Running", "startTime": "2026-11-26T08:00:00Z",
                "containerStatuses": [{"name": "velero", "image": "velero/velero:v1.17.1", "imageID": "", "ready": true, "restartCount": 0,
                    "state": {"running": {"startedAt": started_at}}}]}
        }))
        .unwrap()
    }

    fn facts(secret_changed: &str) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.deployments = Ok(vec![deployment(velero_container())].into());
        f.kube.pods = Ok(vec![pod("2026-11-26T08:00:10Z")].into());
        f.kube.secrets.insert(
            "cloud-credentials".into(),
            Ok(Some(SecretInfo {
                name: "cloud-credentials".into(),
                type_: Some("Opaque".into()),
                keys: vec!["OS_AUTH_URL".into()],
                created: Some("2026-10-30T08:00:00Z".parse().unwrap()),
                last_changed: Some(secret_changed.parse().unwrap()),
                resource_version: Some("1".into()),
            })),
        );
        f
    }

    #[test]
    fn fresh_when_pod_started_after_the_change() {
        let v = run(&super::CHECK, &facts("2026-11-19T08:00:00Z"));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("cloud-credentials"));
        assert_eq!(v.evidence["podStarted"]["velero-abc"], "2026-11-26T08:00:10Z");
    }

    #[test]
    fn stale_when_secret_changed_after_start() {
        let v = run(&super::CHECK, &facts("2026-11-29T07:00:00Z"));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("cloud-credentials") && v.summary.contains("velero-abc"), "{}", v.summary);
        assert!(v.hint.unwrap().contains("kubectl -n velero rollout restart deployment/velero"));
    }

    #[test]
    fn container_restart_counts_as_a_fresh_start() {
        let mut f = facts("2026-11-29T07:00:00Z");
        f.kube.pods = Ok(vec![pod("2026-11-29T07:30:00Z")].into());
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn env_value_from_secret_key_counts() {
        let mut f = facts("2026-11-29T07:00:00Z");
        let mut c = velero_container();
        c["envFrom"] = json!([]);
        c["env"] = json!([{"name": "OS_AUTH_URL", "valueFrom": {"secretKeyRef": {"name": "cloud-credentials", "key": "OS_AUTH_URL"}}}]);
        f.kube.deployments = Ok(vec![deployment(c)].into());
        assert_eq!(run(&super::CHECK, &f).status, Status::Fail);
    }

    #[test]
    fn unreadable_secret_is_error_naming_the_permission() {
        let mut f = facts("2026-11-19T08:00:00Z");
        f.kube.secrets.insert("cloud-credentials".into(), Err(crate::facts::ReadError::forbidden("get", "secrets", Some("velero"))));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.contains("may not get secrets"), "{}", v.summary);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("grant veldr's identity get on secrets")), "{:?}", v.hint);
    }

    #[test]
    fn no_secret_referenced_skips() {
        let mut f = facts("2026-11-19T08:00:00Z");
        let mut c = velero_container();
        c["envFrom"] = json!([]);
        f.kube.deployments = Ok(vec![deployment(c)].into());
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Skip);
        assert!(v.summary.contains("reads no Secret"));
    }

    #[test]
    fn no_running_pod_skips() {
        let mut f = facts("2026-11-19T08:00:00Z");
        f.kube.pods = Ok(List::default());
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn missing_secret_is_left_to_credentials_env() {
        let mut f = facts("2026-11-19T08:00:00Z");
        f.kube.secrets.insert("cloud-credentials".into(), Ok(None));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn a_malformed_velero_pod_is_named_and_warns() {
        let bad = r#"{"metadata":{"name":"velero-7c9d8f5b6d-x2k9p","namespace":"velero"},"status":{"startTime":"yesterday"}}"#;
        let other = r#"{"metadata":{"name":"node-agent-kx7vq","namespace":"velero"},"status":{"phase":3}}"#;
        let mut f = facts("2026-11-19T08:00:00Z");
        let mut pods: List<Pod> = vec![pod("2026-11-26T08:00:10Z")].into();
        pods.push_json(bad);
        pods.push_json(other);
        f.kube.pods = Ok(pods);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("1 pod(s) of velero/velero could not be decoded"), "only the pod named like Velero's counts: {}", v.summary);
        assert!(v.details.iter().any(|d| d.starts_with("malformed object Pod velero/velero-7c9d8f5b6d-x2k9p")), "{:?}", v.details);
        assert!(v.details.iter().any(|d| d.starts_with("malformed object Pod velero/node-agent-kx7vq")), "both are named: {:?}", v.details);
        assert!(!format!("{v:?}").contains("yesterday"));

        let mut pods: List<Pod> = List::default();
        pods.push_json(bad);
        f.kube.pods = Ok(pods);
        assert_eq!(run(&super::CHECK, &f).status, Status::Warn);
        // Only a neighbour: named, not a warning (this check consults the pods).
        let mut pods: List<Pod> = vec![pod("2026-11-26T08:00:10Z")].into();
        pods.push_json(other);
        f.kube.pods = Ok(pods);
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }
}
