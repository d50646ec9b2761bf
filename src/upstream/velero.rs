//! What an installation looks like: the Velero Deployment, its container, flags and plugins.
//!
//! Pure functions over listed objects. `velero install` and the Helm chart both make a Deployment
//! named `velero` with a container named `velero`; renamed releases are found by labels and image.

use crate::facts::{EnvValue, EnvVar, Object, ResolvedEnv};
use crate::secret::Secret;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;
use std::collections::BTreeMap;

/// Image fragment that identifies the OpenStack plugin (init containers are named after images).
pub const OPENSTACK_PLUGIN_IMAGE: &str = "velero-plugin-for-openstack";
pub const OPENSTACK_PROVIDERS: [&str; 4] = [
    "community.openstack.org/openstack",
    "community.openstack.org/openstack-cinder",
    "community.openstack.org/openstack-manila",
    "openstack",
];

fn is_velero_server_container(c: &Container) -> bool {
    let image = c.image.as_deref().unwrap_or_default();
    let first_arg = c.args.as_ref().and_then(|a| a.first()).map(String::as_str);
    let runs_velero = c.command.iter().flatten().any(|w| w.ends_with("velero"));
    (c.name == "velero" && (image.contains("velero") || first_arg == Some("server")))
        || (image.contains("velero/velero:") && (first_arg == Some("server") || runs_velero))
}

/// Whether a Deployment runs `velero server` (how veldr finds Velero in a namespace it does not know).
pub fn runs_velero_server(deployment: &Deployment) -> bool {
    containers(deployment).iter().any(is_velero_server_container)
}

/// The containers of a Deployment's pod template.
pub fn containers(deployment: &Deployment) -> &[Container] {
    deployment.spec.template.spec.as_ref().map(|p| p.containers.as_slice()).unwrap_or_default()
}

/// The init containers of a Deployment's pod template (where Velero's plugins are copied from).
pub fn init_containers(deployment: &Deployment) -> &[Container] {
    deployment.spec.template.spec.as_ref().and_then(|p| p.init_containers.as_deref()).unwrap_or_default()
}

/// The Velero server Deployment in `namespace`, whoever installed it.
pub fn find_deployment<'a>(deployments: &'a [Deployment], namespace: &str) -> Option<&'a Deployment> {
    let in_ns: Vec<&Deployment> = deployments.iter().filter(|d| d.namespace() == Some(namespace)).collect();
    let runs_server = |d: &&Deployment| containers(d).iter().any(is_velero_server_container);
    in_ns
        .iter()
        .copied()
        .find(|d| d.name() == "velero" && runs_server(d))
        .or_else(|| in_ns.iter().copied().find(runs_server))
        .or_else(|| in_ns.iter().copied().find(|d| d.name() == "velero"))
}

/// The container that runs `velero server` (plugins inherit its environment).
pub fn server_container(deployment: &Deployment) -> Option<&Container> {
    let list = containers(deployment);
    list.iter().find(|c| is_velero_server_container(c)).or_else(|| list.first())
}

/// Plugin init containers' images.
pub fn plugin_images(deployment: &Deployment) -> Vec<String> {
    init_containers(deployment).iter().filter_map(|c| c.image.clone()).collect()
}

/// `repo/name:tag` → `tag` (digests and registries with ports handled).
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map(|(_, t)| t)
}

/// `v1.18.0` → (1, 18, 0); tolerant of missing parts and suffixes.
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.trim_start_matches('v');
    let mut parts = v.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// The version an image's tag names (`v0.8.2`, `0.8.2`, `v1.17.1-rc.1`), with the tag; not `latest`,
/// `main` or a digest, which name no version (the reason is the error).
pub fn image_version(image: &str) -> Result<(String, (u64, u64, u64)), String> {
    match image_tag(image) {
        None => Err(format!("`{image}` has no tag (digest only)")),
        Some(tag) => match parse_version(tag) {
            Some(v) if tag.trim_start_matches('v').starts_with(|c: char| c.is_ascii_digit()) => Ok((tag.to_string(), v)),
            _ => Err(format!("`{image}` has the tag `{tag}`, which names no version")),
        },
    }
}

/// The `velero server` flags, as `--name` → value (`"true"` for bare booleans).
pub fn server_flags(container: &Container) -> BTreeMap<String, String> {
    let words: Vec<&str> = container.command.iter().flatten().chain(container.args.iter().flatten()).map(String::as_str).collect();
    let mut flags = BTreeMap::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if let Some(rest) = w.strip_prefix("--") {
            if let Some((k, v)) = rest.split_once('=') {
                flags.insert(k.to_string(), v.to_string());
            } else if i + 1 < words.len() && !words[i + 1].starts_with('-') && !is_bool_flag(rest) {
                flags.insert(rest.to_string(), words[i + 1].to_string());
                i += 1;
            } else {
                flags.insert(rest.to_string(), "true".to_string());
            }
        }
        i += 1;
    }
    flags
}

fn is_bool_flag(name: &str) -> bool {
    matches!(
        name,
        "default-volumes-to-fs-backup" | "default-snapshot-move-data" | "disable-informer-cache" | "uploader-type-is-bool"
    ) || name.starts_with("default-volumes-to")
}

/// A boolean flag's value as Go's flag package reads it.
pub fn flag_true(flags: &BTreeMap<String, String>, name: &str) -> bool {
    flags.get(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "t"))
}

/// The label Velero puts on objects of a backup (`velero.io/backup-name`), as `label.GetValidName`
/// makes it: the name itself up to 63 characters, else its first 57 and 6 hex of its SHA-256.
pub fn backup_name_label(name: &str) -> String {
    use sha2::{Digest, Sha256};
    if name.len() <= 63 {
        return name.to_string();
    }
    let sha = hex::encode(Sha256::digest(name.as_bytes()));
    // Kubernetes names are ASCII; a name that is not is kept whole rather than cut inside a character.
    format!("{}{}", name.get(..57).unwrap_or(name), &sha[..6])
}

/// How long Velero waits for a backup's CSI snapshots to be ready: `spec.csiSnapshotTimeout`, else 10 minutes.
pub const DEFAULT_CSI_SNAPSHOT_TIMEOUT_SECS: f64 = 600.0;
/// The TTL of a backup whose spec sets none and whose server has no `--default-backup-ttl`: 720 h.
pub const DEFAULT_BACKUP_TTL_SECS: f64 = 720.0 * 3600.0;

/// `--features=EnableCSI,EnableAPIGroupVersions` → the feature names.
pub fn features(flags: &BTreeMap<String, String>) -> Vec<String> {
    flags.get("features").map(|f| f.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

/// The Helm release that made this object, from the labels and annotations Helm sets.
pub fn helm_release_name(obj: &impl Object) -> Option<String> {
    let managed = obj.label("app.kubernetes.io/managed-by") == Some("Helm");
    obj.annotation("meta.helm.sh/release-name")
        .or_else(|| managed.then(|| obj.label("app.kubernetes.io/instance")).flatten())
        .map(str::to_string)
}

/// Variable names whose values are plain configuration, safe to show. Everything else is a secret.
pub fn is_plain_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let secretish = ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY", "CREDENTIALS_FILE_CONTENT"].iter().any(|p| upper.contains(p));
    if secretish {
        return false;
    }
    upper.starts_with("OS_")
        || matches!(
            upper.as_str(),
            "TLS_SKIP_VERIFY" | "AWS_SHARED_CREDENTIALS_FILE" | "GOOGLE_APPLICATION_CREDENTIALS" | "VELERO_NAMESPACE"
                | "VELERO_SCRATCH_DIR" | "LD_LIBRARY_PATH" | "PATH" | "HOME" | "AZURE_CREDENTIALS_FILE"
        )
}

pub fn env_value(name: &str, value: String) -> EnvValue {
    if is_plain_var(name) {
        EnvValue::Plain(value)
    } else {
        EnvValue::Secret(Secret::new(value))
    }
}

/// Names of the secrets and config maps the container reads through env and envFrom.
pub fn referenced_objects(container: &Container) -> (Vec<String>, Vec<String>) {
    let mut secrets = Vec::new();
    let mut cms = Vec::new();
    for e in container.env_from.iter().flatten() {
        if let Some(r) = &e.secret_ref {
            secrets.push(r.name.clone());
        }
        if let Some(r) = &e.config_map_ref {
            cms.push(r.name.clone());
        }
    }
    for e in container.env.iter().flatten() {
        let from = e.value_from.as_ref();
        if let Some(r) = from.and_then(|f| f.secret_key_ref.as_ref()) {
            secrets.push(r.name.clone());
        }
        if let Some(r) = from.and_then(|f| f.config_map_key_ref.as_ref()) {
            cms.push(r.name.clone());
        }
    }
    (secrets, cms)
}

/// What env resolution can know about a referenced object.
pub enum Lookup<'a, V> {
    Found(&'a BTreeMap<String, V>),
    Missing,
    /// Could not be read (RBAC, timeout): the reason.
    Unreadable(String),
}

/// The container's environment as the kubelet builds it: `envFrom` in order (later wins, with
/// `prefix`), then `env` (wins over envFrom); a missing non-optional reference stops the pod.
pub fn resolve_env<'a>(
    deployment: &str,
    container: &Container,
    secret: &dyn Fn(&str) -> Lookup<'a, Vec<u8>>,
    config_map: &dyn Fn(&str) -> Lookup<'a, String>,
) -> ResolvedEnv {
    let mut out = ResolvedEnv {
        deployment: deployment.to_string(),
        container: if container.name.is_empty() { "velero".to_string() } else { container.name.clone() },
        ..Default::default()
    };
    for e in container.env_from.iter().flatten() {
        let prefix = e.prefix.as_deref().unwrap_or_default();
        let (kind, name, optional) = if let Some(r) = &e.secret_ref {
            ("secret", r.name.as_str(), r.optional.unwrap_or(false))
        } else if let Some(r) = &e.config_map_ref {
            ("configmap", r.name.as_str(), r.optional.unwrap_or(false))
        } else {
            continue;
        };
        let source = |k: &str| format!("envFrom {kind} {name} (key {k}{})", if prefix.is_empty() { String::new() } else { format!(", prefix {prefix}") });
        let mut add = |key: &str, value: EnvValue| {
            let var = format!("{prefix}{key}");
            if !valid_env_name(&var) {
                out.problems.push(format!("{kind} {name} key {key:?} is not a valid variable name: the kubelet skips it"));
                return;
            }
            out.vars.insert(var, EnvVar { value, source: source(key) });
        };
        match kind {
            "secret" => match secret(name) {
                Lookup::Found(data) => data.iter().for_each(|(k, v)| add(k, env_value(&format!("{prefix}{k}"), String::from_utf8_lossy(v).into_owned()))),
                Lookup::Missing if optional => {}
                Lookup::Missing => out.problems.push(format!("envFrom names secret {name}, which does not exist: the pod cannot start (CreateContainerConfigError)")),
                Lookup::Unreadable(why) => out.problems.push(format!("envFrom secret {name} could not be read: {why}")),
            },
            _ => match config_map(name) {
                Lookup::Found(data) => data.iter().for_each(|(k, v)| add(k, env_value(&format!("{prefix}{k}"), v.clone()))),
                Lookup::Missing if optional => {}
                Lookup::Missing => out.problems.push(format!("envFrom names config map {name}, which does not exist: the pod cannot start (CreateContainerConfigError)")),
                Lookup::Unreadable(why) => out.problems.push(format!("envFrom config map {name} could not be read: {why}")),
            },
        }
    }
    for e in container.env.iter().flatten() {
        let var = e.name.as_str();
        let from = e.value_from.as_ref();
        if let Some(text) = &e.value {
            out.vars.insert(var.to_string(), EnvVar { value: env_value(var, text.clone()), source: "env (literal)".to_string() });
        } else if let Some(r) = from.and_then(|f| f.secret_key_ref.as_ref()) {
            let (name, key) = (r.name.as_str(), r.key.as_str());
            let optional = r.optional.unwrap_or(false);
            let source = format!("env from secret {name} key {key}");
            let value = match secret(name) {
                Lookup::Found(data) => match data.get(key) {
                    Some(v) => Some(env_value(var, String::from_utf8_lossy(v).into_owned())),
                    None if optional => None,
                    None => {
                        out.problems.push(format!("{var}: secret {name} has no key {key}: the pod cannot start"));
                        Some(EnvValue::Unresolved(format!("secret {name} has no key {key}")))
                    }
                },
                Lookup::Missing if optional => None,
                Lookup::Missing => {
                    out.problems.push(format!("{var}: secret {name} does not exist: the pod cannot start"));
                    Some(EnvValue::Unresolved(format!("secret {name} does not exist")))
                }
                Lookup::Unreadable(why) => Some(EnvValue::Unresolved(why)),
            };
            if let Some(value) = value {
                out.vars.insert(var.to_string(), EnvVar { value, source });
            }
        } else if let Some(r) = from.and_then(|f| f.config_map_key_ref.as_ref()) {
            let (name, key) = (r.name.as_str(), r.key.as_str());
            let optional = r.optional.unwrap_or(false);
            let source = format!("env from config map {name} key {key}");
            let value = match config_map(name) {
                Lookup::Found(data) => data.get(key).map(|v| env_value(var, v.clone())).or_else(|| {
                    (!optional).then(|| {
                        out.problems.push(format!("{var}: config map {name} has no key {key}: the pod cannot start"));
                        EnvValue::Unresolved(format!("config map {name} has no key {key}"))
                    })
                }),
                Lookup::Missing if optional => None,
                Lookup::Missing => {
                    out.problems.push(format!("{var}: config map {name} does not exist: the pod cannot start"));
                    Some(EnvValue::Unresolved(format!("config map {name} does not exist")))
                }
                Lookup::Unreadable(why) => Some(EnvValue::Unresolved(why)),
            };
            if let Some(value) = value {
                out.vars.insert(var.to_string(), EnvVar { value, source });
            }
        } else if from.is_some_and(|f| f.field_ref.is_some() || f.resource_field_ref.is_some()) {
            out.vars.insert(var.to_string(), EnvVar { value: EnvValue::Unresolved("set by the kubelet from the pod".into()), source: "env (fieldRef)".into() });
        }
    }
    out
}

/// Kubernetes accepts C identifiers plus `-` and `.` in env names (since 1.x); others are skipped.
fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(v: serde_json::Value) -> Container {
        let mut v = v;
        if v.get("name").is_none() {
            v["name"] = json!("velero");
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn flags_parse_both_forms() {
        let c = container(json!({"args": ["server", "--features=EnableCSI", "--uploader-type", "kopia", "--default-volumes-to-fs-backup"]}));
        let f = server_flags(&c);
        assert_eq!(f["features"], "EnableCSI");
        assert_eq!(f["uploader-type"], "kopia");
        assert!(flag_true(&f, "default-volumes-to-fs-backup"));
        assert!(!flag_true(&f, "default-snapshot-move-data"));
    }

    #[test]
    fn env_from_then_env_wins_and_secrets_stay_secret() {
        let c = container(json!({"name": "velero",
            "envFrom": [{"secretRef": {"name": "creds"}}, {"secretRef": {"name": "gone", "optional": true}}],
            "env": [{"name": "OS_REGION_NAME", "value": "RegionTwo"}]}));
        let data: BTreeMap<String, Vec<u8>> = BTreeMap::from([
            ("OS_REGION_NAME".to_string(), b"RegionOne".to_vec()),
            ("OS_APPLICATION_CREDENTIAL_SECRET".to_string(), b"s3cr3t-value".to_vec()),
        ]);
        let env = resolve_env(
            "velero",
            &c,
            &|n| if n == "creds" { Lookup::Found(&data) } else { Lookup::Missing },
            &|_| Lookup::Missing,
        );
        assert_eq!(env.plain("OS_REGION_NAME"), Some("RegionTwo"));
        assert!(env.problems.is_empty(), "{:?}", env.problems);
        let shown = serde_json::to_string(&env).unwrap();
        assert!(!shown.contains("s3cr3t-value"));
        assert!(env.is_set("OS_APPLICATION_CREDENTIAL_SECRET"));
    }

    #[test]
    fn missing_required_secret_is_a_problem() {
        let c = container(json!({"name": "velero", "envFrom": [{"secretRef": {"name": "nope"}}]}));
        let env = resolve_env("velero", &c, &|_| Lookup::Missing, &|_| Lookup::Missing);
        assert!(env.problems[0].contains("cannot start"));
    }

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("docker.io/lirt/velero-plugin-for-openstack:v0.8.2"), Some("v0.8.2"));
        assert_eq!(image_tag("registry:5000/velero/velero:v1.18.0@sha256:abc"), Some("v1.18.0"));
        assert_eq!(image_tag("velero/velero"), None);
        assert_eq!(parse_version("v1.18.0"), Some((1, 18, 0)));
    }

    #[test]
    fn backup_name_labels_as_velero_cuts_them() {
        assert_eq!(backup_name_label("daily-20261129020000"), "daily-20261129020000");
        let long = format!("{}-20261129020000", "a-very-long-schedule-name".repeat(3));
        let label = backup_name_label(&long);
        assert_eq!(label.len(), 63);
        assert!(label.starts_with(&long[..57]) && label != long[..63]);
        // sha256("...")[:6] computed independently (python3 hashlib).
        assert_eq!(&label[57..], "bddd0c", "sha256 of the name, from python3 hashlib");
    }
}
