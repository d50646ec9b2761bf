//! credentials.env: do the `OS_*` variables reach the velero container, complete for the auth
//! method the plugin will pick? (The classic failure: "Missing input for argument [auth_url]".)

use crate::checks::{CheckDef, Ctx};
use crate::facts::{BackupStorageLocation, EnvValue, Object, ReadError, ReadErrorKind};
use crate::model::{Status, Verdict};
use crate::upstream::openstack_plugin::{self, PluginConfig};
use serde_json::Value;

pub const CHECK: CheckDef = crate::check! {
    id: "credentials.env", category: Credentials, severity: Critical,
    title: "OS_* variables reach the plugin",
    depends_on: ["kube.connect"],
    needs: [BackupStorageLocations, Deployments, VeleroEnv, HelmReleases],
    explains: [
        ["missing input for argument [auth_url]"] => "the OS_* variables (OS_AUTH_URL first) do not reach the velero container, where the plugin reads them",
    ],
    judge: judge,
};

/// The plugin configuration for every OpenStack BSL selected (one entry per BSL).
fn plugin_configs<'a>(ctx: &Ctx<'a>) -> Vec<(&'a BackupStorageLocation, PluginConfig)> {
    let (Some(env), Ok(bsls)) = (ctx.env(), ctx.facts.kube.backup_storage_locations.as_ref()) else {
        return Vec::new();
    };
    ctx.selected_bsls(bsls).into_iter().filter(|b| b.is_openstack()).map(|b| (b, openstack_plugin::effective(env, &b.spec.config))).collect()
}

/// The Helm value to change, when the chart installed Velero and its values show the usual mistake.
fn helm_hint(ctx: &Ctx) -> Option<String> {
    let release = ctx.helm_release()?;
    // Raw JSON: Helm user values are whatever the user wrote (podEnvFrom is not even a chart key).
    let values = &release.user_values;
    let secret_name = values
        .pointer("/podEnvFrom/0/secretRef/name")
        .and_then(Value::as_str)
        .or_else(|| values.pointer("/credentials/existingSecret").and_then(Value::as_str))
        .unwrap_or("cloud-credentials");
    if values.get("podEnvFrom").is_some() {
        return Some(format!(
            "Helm release {} sets `podEnvFrom`, which is not a key of the Velero chart (Helm ignores it silently). \
             Replace it with `credentials.extraSecretRef: {secret_name}` and `helm upgrade`; the chart then adds \
             envFrom.secretRef to the velero container",
            release.name
        ));
    }
    if values.pointer("/credentials/extraSecretRef").is_none() {
        return Some(format!(
            "Helm release {}: set `credentials.extraSecretRef: {secret_name}` (a secret holding the OS_* keys) and `helm upgrade`",
            release.name
        ));
    }
    None
}

/// The Helm hint without the values: the Deployment says Helm installed it, but its release records
/// were not readable (the optional deploy/rbac-helm-hints.yaml grant).
fn helm_hint_without_values(ctx: &Ctx) -> Option<String> {
    let release = ctx.helm_values_refused()?;
    Some(format!(
        "Helm release {release} installed Velero: put the OS_* keys in a secret, set `credentials.extraSecretRef: <that secret>` \
         in the release's values (`podEnvFrom` is not a key of the chart) and `helm upgrade`. (veldr could not read the release's \
         values to name the one at fault: deploy/rbac-helm-hints.yaml grants that read)"
    ))
}

fn judge(ctx: &Ctx) -> Verdict {
    let from_cluster = ctx.facts.credentials_source == "cluster";
    let bsls = crate::need!(&ctx.facts.kube.backup_storage_locations);
    // A BSL that did not decode (it may be an OpenStack one) is named by the engine's malformed policy.
    if !ctx.selected_bsls(bsls).iter().any(|b| b.is_openstack()) {
        return Verdict::skip("no BackupStorageLocation uses the OpenStack plugin");
    }
    if from_cluster && ctx.velero_deployment().is_none() {
        if let Err(e) = &ctx.facts.kube.deployments {
            return crate::checks::read_failed(e);
        }
        return super::without_deployment("no Velero Deployment found (see velero.deployment)".into());
    }
    let Some(env) = ctx.env() else {
        return Verdict::skip(format!("credentials come from {}; nothing to resolve from the cluster", ctx.facts.credentials_source));
    };
    let where_ = if from_cluster { format!("deployment/{} container {}", env.deployment, env.container) } else { env.container.clone() };
    let vars: Vec<Value> = env
        .vars
        .iter()
        .filter(|(k, _)| k.starts_with("OS_") || *k == "TLS_SKIP_VERIFY")
        .map(|(k, v)| serde_json::json!({"name": k, "source": v.source, "set": v.value.is_set()}))
        .collect();

    // Objects env/envFrom name that could not be read: veldr cannot judge, say which permission.
    // A variable taken with valueFrom from such an object is unresolved with the read's own
    // explanation: whatever the failure (403, timeout, 5xx), it must not pass for a missing one.
    let k = &ctx.facts.kube;
    let failed: Vec<&ReadError> =
        k.secrets.values().filter_map(|r| r.as_ref().err()).chain(k.config_maps.values().filter_map(|r| r.as_ref().err())).collect();
    let unreadable: Vec<String> = env
        .vars
        .iter()
        .filter_map(|(k, v)| match &v.value {
            EnvValue::Unresolved(why) if why.contains("forbidden") || failed.iter().any(|e| e.explain() == *why) => Some(format!("{k}: {why}")),
            _ => None,
        })
        .chain(env.problems.iter().filter(|p| p.contains("could not be read")).cloned())
        .collect();
    if !unreadable.is_empty() {
        let hint = match failed.iter().find(|e| e.kind != ReadErrorKind::Forbidden) {
            Some(e) => crate::checks::read_hint(e),
            None => format!("grant get on secrets/configmaps in namespace {} (see `veldr explain kube.rbac`)", ctx.namespace()),
        };
        return Verdict::error("veldr could not read the objects the velero container takes its variables from")
            .details(unreadable)
            .hint(hint)
            .evidence("variables", &vars);
    }

    let configs = plugin_configs(ctx);
    let mut status = Status::Ok;
    let mut details = Vec::new();
    let mut summary = None;
    let mut hint = None;
    for p in env.problems.iter().filter(|p| !p.contains("could not be read")) {
        status = Status::Fail;
        details.push(p.clone());
        summary.get_or_insert_with(|| format!("the velero container's environment is broken: {p}"));
    }
    for (bsl, pc) in &configs {
        let bsl_name = bsl.name();
        if let Some(cloud) = &pc.cloud {
            status = Verdict::worst([status, Status::Warn]);
            details.push(format!("BSL {bsl_name}: authenticates with clouds.yaml entry {cloud:?} inside the pod, which veldr cannot read"));
            hint.get_or_insert_with(|| format!("run `veldr doctor --credentials cloud:{cloud}` with a copy of that clouds.yaml to check it"));
            continue;
        }
        if !pc.missing.is_empty() {
            status = Status::Fail;
            let auth_url_missing = pc.missing.iter().any(|m| m.ends_with("AUTH_URL"));
            details.push(format!("BSL {bsl_name}: {} lacks {}", pc.auth_source, pc.missing.join(", ")));
            if auth_url_missing {
                summary.get_or_insert_with(|| {
                    format!("no auth URL reaches {where_}: the plugin fails with \"Missing input for argument [auth_url]\"")
                });
                if from_cluster {
                    hint = helm_hint(ctx).or_else(|| helm_hint_without_values(ctx)).or(hint).or_else(|| {
                        Some(format!(
                            "put the OS_* keys in a secret and add it to the velero container: \
                             `kubectl -n {} set env deployment/{} --from=secret/cloud-credentials -c {}` \
                             (plugins inherit the velero container's environment)",
                            ctx.namespace(),
                            env.deployment,
                            env.container
                        ))
                    });
                }
            } else {
                summary.get_or_insert_with(|| format!("the credentials for {} are incomplete: {}", pc.method.as_deref().unwrap_or("Keystone"), pc.missing.join(", ")));
                hint.get_or_insert_with(|| "add the missing variables to the secret the velero container reads, then `kubectl -n velero rollout restart deployment/velero`".into());
            }
        }
        for p in &pc.problems {
            status = Status::Fail;
            details.push(format!("BSL {bsl_name}: {p}"));
            summary.get_or_insert_with(|| p.clone());
        }
        if let Err(e) = &pc.digest {
            status = Status::Fail;
            details.push(format!("OS_SWIFT_TEMP_URL_DIGEST: {e} (use sha256 or sha512)"));
            summary.get_or_insert_with(|| format!("OS_SWIFT_TEMP_URL_DIGEST is not a digest the plugin knows: {e}"));
        }
        for i in &pc.ignored {
            status = Verdict::worst([status, Status::Warn]);
            details.push(format!("ignored by the plugin: {i}"));
        }
    }
    if configs.iter().any(|(_, pc)| pc.tls_skip_verify) {
        details.push("TLS_SKIP_VERIFY=true: the plugin does not verify the certificates of Keystone and Swift".to_string());
    }
    let verdict = match status {
        Status::Ok => {
            let pc = configs.first().map(|(_, pc)| pc);
            Verdict::ok(format!(
                "{} reach {where_}: {}, region {}",
                pc.map(|p| p.auth_source.as_str()).unwrap_or("OS_* variables"),
                pc.and_then(|p| p.method.as_deref()).unwrap_or("complete"),
                pc.map(|p| if p.region.is_empty() { "(any)".to_string() } else { p.region.clone() }).unwrap_or_default()
            ))
        }
        Status::Warn => Verdict::warn(summary.unwrap_or_else(|| "the plugin ignores some of the variables set".into()))
            .hint(hint.unwrap_or_else(|| "remove or rename the ignored variables; see the details for what the plugin reads instead".into())),
        _ => Verdict::fail(summary.unwrap_or_else(|| "the plugin's credentials are incomplete".into()))
            .hint(hint.unwrap_or_else(|| "fix the variables named above in the secret the velero container reads".into())),
    };
    verdict
        .details(details)
        .evidence("container", &where_)
        .evidence("variables", &vars)
        .evidence("plugin", configs.iter().map(|(b, pc)| serde_json::json!({"bsl": b.name(), "config": pc})).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::run;
    use crate::facts::{EnvVar, Facts, List, ResolvedEnv};
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    fn deployment(annotations: Option<Value>) -> Deployment {
        let mut d = json!({"metadata": {"name": "velero", "namespace": "velero"},
            "spec": {"selector": {"matchLabels": {"app": "velero"}},
                "template": {"spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.17.1", "args": ["server"]}]}}}});
        if let Some(a) = annotations {
            d["metadata"]["annotations"] = a;
        }
        serde_json::from_value(d).unwrap()
    }

    fn bsl(name: &str, provider: &str) -> BackupStorageLocation {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "velero"},
            "spec": {"provider": provider, "objectStorage": {"bucket": "b"}}}))
        .unwrap()
    }

    fn facts_with(env_pairs: &[(&str, &str)]) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.deployments = Ok(vec![deployment(None)].into());
        f.kube.backup_storage_locations = Ok(vec![bsl("default", "community.openstack.org/openstack")].into());
        let mut env = ResolvedEnv { deployment: "velero".into(), container: "velero".into(), ..Default::default() };
        for (k, v) in env_pairs {
            env.vars.insert(k.to_string(), EnvVar { value: crate::upstream::velero::env_value(k, v.to_string()), source: "test".into() });
        }
        f.velero_env = Some(env);
        f
    }

    const COMPLETE: [(&str, &str); 3] = [("OS_AUTH_URL", "https://k/v3"), ("OS_APPLICATION_CREDENTIAL_ID", "i"), ("OS_APPLICATION_CREDENTIAL_SECRET", "s")];

    #[test]
    fn complete_app_credential_passes() {
        let f = facts_with(&[COMPLETE[0], COMPLETE[1], COMPLETE[2], ("OS_REGION_NAME", "R")]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.summary, "OS_* variables reach deployment/velero container velero: application credential (by id), region R");
    }

    #[test]
    fn the_bsl_config_region_is_used() {
        let mut f = facts_with(&COMPLETE);
        let mut b = bsl("default", "community.openstack.org/openstack");
        b.spec.config.insert("region".into(), "FromBsl".into());
        f.kube.backup_storage_locations = Ok(vec![b].into());
        let v = run(&super::CHECK, &f);
        assert!(v.summary.ends_with("region FromBsl"), "{}", v.summary);
        assert_eq!(v.evidence["plugin"][0]["bsl"], "default");
    }

    #[test]
    fn no_variables_is_the_auth_url_failure() {
        let f = facts_with(&[]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("Missing input for argument [auth_url]"), "{}", v.summary);
        assert!(v.hint.unwrap().contains("set env deployment/velero"));
    }

    #[test]
    fn helm_podenvfrom_names_the_value_to_change() {
        let mut f = facts_with(&[]);
        f.kube.deployments = Ok(vec![deployment(Some(json!({"meta.helm.sh/release-name": "velero"})))].into());
        f.kube.helm_releases = Ok(vec![crate::facts::HelmRelease {
            name: "velero".into(), revision: 2, status: "deployed".into(), chart: "velero".into(), chart_version: "12.0.0".into(),
            app_version: "1.17.1".into(), user_values: json!({"podEnvFrom": [{"secretRef": {"name": "cloud-credentials"}}]}), decode_error: None,
        }]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let hint = v.hint.unwrap();
        assert!(hint.contains("podEnvFrom") && hint.contains("credentials.extraSecretRef: cloud-credentials"), "{hint}");

        // Without the optional grant (deploy/rbac-helm-hints.yaml) the values are unknown: the same
        // verdict, a Helm hint that does not pretend to know which value is at fault.
        f.kube.helm_releases = Err(ReadError::forbidden("list", "secrets", Some("velero")));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let hint = v.hint.unwrap();
        assert!(hint.starts_with("Helm release velero installed Velero") && hint.contains("credentials.extraSecretRef") && hint.contains("deploy/rbac-helm-hints.yaml"), "{hint}");
        assert!(!hint.contains("sets `podEnvFrom`"), "{hint}");
    }

    #[test]
    fn ignored_variables_warn() {
        let f = facts_with(&[COMPLETE[0], COMPLETE[1], COMPLETE[2], ("OS_CACERT", "/x")]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
    }

    #[test]
    fn tls_skip_verify_is_reported() {
        let f = facts_with(&[COMPLETE[0], COMPLETE[1], COMPLETE[2], ("TLS_SKIP_VERIFY", "true")]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.details.iter().any(|d| d.contains("TLS_SKIP_VERIFY=true: the plugin does not verify")), "{:?}", v.details);
        let f = facts_with(&[COMPLETE[0], COMPLETE[1], COMPLETE[2], ("TLS_SKIP_VERIFY", "false")]);
        assert!(!run(&super::CHECK, &f).details.iter().any(|d| d.contains("TLS_SKIP_VERIFY")));
    }

    #[test]
    fn a_secret_read_that_timed_out_is_not_a_missing_variable() {
        let mut f = facts_with(&[]);
        let read = ReadError::new(ReadErrorKind::Timeout, "get", "secrets", Some("velero"), "no answer within 3s");
        f.kube.secrets.insert("cloud-credentials".into(), Err(read.clone()));
        let env_ = f.velero_env.as_mut().unwrap();
        for k in ["OS_AUTH_URL", "OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET"] {
            env_.vars.insert(k.into(), EnvVar { value: EnvValue::Unresolved(read.explain()), source: format!("env from secret cloud-credentials key {k}") });
        }
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Error, "{v:?}");
        assert!(!v.summary.contains("auth_url"), "{}", v.summary);
        assert!(v.details.iter().any(|d| d.starts_with("OS_AUTH_URL: get secrets in namespace velero timed out")), "{:?}", v.details);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("raise --timeout")), "{:?}", v.hint);
    }

    #[test]
    fn no_openstack_bsl_skips() {
        let mut f = facts_with(&[]);
        f.kube.backup_storage_locations = Ok(vec![bsl("aws", "aws")].into());
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn a_malformed_bsl_is_named_and_never_passes_for_absent() {
        let bad = r#"{"metadata":{"name":"swift","namespace":"velero"},"spec":{"provider":"community.openstack.org/openstack","config":"region=R"}}"#;
        let mut f = facts_with(&[]);
        let mut list: List<BackupStorageLocation> = vec![bsl("aws", "aws")].into();
        list.push_json(bad);
        f.kube.backup_storage_locations = Ok(list);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.details.iter().any(|d| d.starts_with("malformed object BackupStorageLocation velero/swift")), "{:?}", v.details);
        assert!(!format!("{v:?}").contains("region=R"));

        let mut f = facts_with(&COMPLETE);
        let mut list: List<BackupStorageLocation> = vec![bsl("default", "community.openstack.org/openstack")].into();
        list.push_json(bad);
        f.kube.backup_storage_locations = Ok(list);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.summary.contains("could not be read"), "{}", v.summary);
        // --bsl default leaves the malformed one out.
        let only = ["default".to_string()];
        assert_eq!(crate::checks::testing::run_for_bsls(&super::CHECK, &f, &only).status, Status::Ok);
    }

    #[test]
    fn a_malformed_deployment_is_not_taken_for_an_absent_velero() {
        let mut f = facts_with(&[]);
        let mut list: List<Deployment> = List::default();
        list.push_json(r#"{"metadata":{"name":"velero","namespace":"velero"},"spec":{"replicas":"one"}}"#);
        f.kube.deployments = Ok(list);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(v.details[0].starts_with("malformed object Deployment velero/velero"), "{:?}", v.details);
        f.kube.deployments = Ok(List::default());
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn evidence_never_carries_the_secret() {
        let f = facts_with(&[COMPLETE[0], COMPLETE[1], ("OS_APPLICATION_CREDENTIAL_SECRET", "very-secret-value")]);
        let v = run(&super::CHECK, &f);
        assert!(!serde_json::to_string(&v).unwrap().contains("very-secret-value"));
    }
}
