//! credentials.fresh (credentials.env lives in `plugin_env.rs`, beside the plugin's configuration).
use super::Ctx;
use crate::model::Verdict;

/// credentials.fresh: env is resolved when a container is created, so a secret written after the
/// velero container started is not what the running server (and its plugins) use.
pub fn fresh(ctx: &Ctx) -> Verdict {
    fresh_impl::judge(ctx)
}

mod fresh_impl {
    use super::super::ctx::{human_age, name_of, str_at, timestamp_at};
    use super::super::server::{is_current_pod, pods_of};
    use super::Ctx;
    use crate::model::Verdict;
    use crate::velero;
    use jiff::Timestamp;
    use serde_json::Value;

    /// When the velero container of a pod last started (a restarted container re-reads its env).
    fn started(pod: &Value, container: &str) -> Option<Timestamp> {
        pod.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| str_at(c, "/name") == Some(container))
            .and_then(|c| timestamp_at(c, "/state/running/startedAt"))
            .or_else(|| timestamp_at(pod, "/status/startTime"))
    }

    pub fn judge(ctx: &Ctx) -> Verdict {
        let deployments = crate::need!(&ctx.facts.kube.deployments);
        let ns = ctx.namespace();
        let Some(dep) = velero::find_deployment(deployments, ns) else {
            return Verdict::skip(format!("no Velero Deployment in namespace {ns} (see velero.deployment)"));
        };
        let dname = name_of(dep);
        let Some(container) = velero::server_container(dep) else {
            return Verdict::skip(format!("deployment {ns}/{dname} has no containers"));
        };
        let cname = str_at(container, "/name").unwrap_or("velero");
        let (mut secrets, _) = velero::referenced_objects(container);
        secrets.sort();
        secrets.dedup();
        if secrets.is_empty() {
            return Verdict::skip(format!("the {cname} container of {ns}/{dname} reads no Secret through env or envFrom"));
        }
        let pods = crate::need!(&ctx.facts.kube.pods);
        let running: Vec<(&Value, Timestamp)> = pods_of(dep, pods)
            .into_iter()
            .filter(|p| is_current_pod(p))
            .filter_map(|p| started(p, cname).map(|s| (p, s)))
            .collect();
        if running.is_empty() {
            return Verdict::skip("no started Velero pod to compare with (see velero.deployment)").evidence("secrets", &secrets);
        }
        let age = |t: Timestamp| human_age(ctx.now.as_second() - t.as_second());

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
                                    name_of(pod),
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
        let starts: serde_json::Map<String, Value> =
            running.iter().map(|(p, s)| (name_of(p).to_string(), Value::String(s.to_string()))).collect();
        let ev = |v: Verdict| v.evidence("secrets", &secrets).evidence("lastChanged", &changes).evidence("podStarted", &starts);

        if !stale.is_empty() {
            return ev(Verdict::fail(format!(
                "Velero runs with old credentials: {}",
                stale[0]
            )))
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
        ev(Verdict::ok(format!(
            "the {cname} container started {newest} ago, after the last write of {}",
            fine.join(", ")
        )))
        .details(unknown)
    }
}

#[cfg(test)]
mod fresh_tests {
    use super::*;
    use crate::facts::{Facts, SecretInfo};
    use crate::model::Status;
    use serde_json::json;

    fn facts(secret_changed: &str) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.deployments = Ok(vec![json!({
            "metadata": {"name": "velero", "namespace": "velero"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "velero"}},
                "template": {"spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.17.1", "args": ["server"],
                    "envFrom": [{"secretRef": {"name": "cloud-credentials"}}]}]}}}
        })]);
        f.kube.pods = Ok(vec![json!({
            "metadata": {"name": "velero-abc", "namespace": "velero", "labels": {"app.kubernetes.io/name": "velero"}},
            "status": {"phase": "Running", "startTime": "2026-11-26T08:00:00Z",
                "containerStatuses": [{"name": "velero", "state": {"running": {"startedAt": "2026-11-26T08:00:10Z"}}}]}
        })]);
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

    fn judge(f: &Facts) -> Verdict {
        fresh(&Ctx::new(f, &[]))
    }

    #[test]
    fn fresh_when_pod_started_after_the_change() {
        let v = judge(&facts("2026-11-19T08:00:00Z"));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("cloud-credentials"));
    }

    #[test]
    fn stale_when_secret_changed_after_start() {
        let v = judge(&facts("2026-11-29T07:00:00Z"));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("cloud-credentials") && v.summary.contains("velero-abc"), "{}", v.summary);
        assert!(v.hint.unwrap().contains("kubectl -n velero rollout restart deployment/velero"));
    }

    #[test]
    fn container_restart_counts_as_a_fresh_start() {
        let mut f = facts("2026-11-29T07:00:00Z");
        f.kube.pods.as_mut().unwrap()[0]["status"]["containerStatuses"][0]["state"]["running"]["startedAt"] = json!("2026-11-29T07:30:00Z");
        assert_eq!(judge(&f).status, Status::Ok);
    }

    #[test]
    fn env_value_from_secret_key_counts() {
        let mut f = facts("2026-11-29T07:00:00Z");
        let c = &mut f.kube.deployments.as_mut().unwrap()[0]["spec"]["template"]["spec"]["containers"][0];
        c["envFrom"] = json!([]);
        c["env"] = json!([{"name": "OS_AUTH_URL", "valueFrom": {"secretKeyRef": {"name": "cloud-credentials", "key": "OS_AUTH_URL"}}}]);
        assert_eq!(judge(&f).status, Status::Fail);
    }

    #[test]
    fn unreadable_secret_is_error_naming_the_permission() {
        let mut f = facts("2026-11-19T08:00:00Z");
        f.kube.secrets.insert(
            "cloud-credentials".into(),
            Err(crate::facts::ReadError::forbidden("get", "secrets", Some("velero"))),
        );
        let v = judge(&f);
        assert_eq!(v.status, Status::Error);
        assert!(v.summary.contains("may not get secrets"), "{}", v.summary);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("grant veldr's identity get on secrets")), "{:?}", v.hint);
    }

    #[test]
    fn no_secret_referenced_skips() {
        let mut f = facts("2026-11-19T08:00:00Z");
        f.kube.deployments.as_mut().unwrap()[0]["spec"]["template"]["spec"]["containers"][0]["envFrom"] = json!([]);
        let v = judge(&f);
        assert_eq!(v.status, Status::Skip);
        assert!(v.summary.contains("reads no Secret"));
    }

    #[test]
    fn no_running_pod_skips() {
        let mut f = facts("2026-11-19T08:00:00Z");
        f.kube.pods = Ok(vec![]);
        assert_eq!(judge(&f).status, Status::Skip);
    }

    #[test]
    fn missing_secret_is_left_to_credentials_env() {
        let mut f = facts("2026-11-19T08:00:00Z");
        f.kube.secrets.insert("cloud-credentials".into(), Ok(None));
        assert_eq!(judge(&f).status, Status::Skip);
    }
}
