//! `--credentials cloud:NAME`: a clouds.yaml entry turned into the variables the plugin would see.
//!
//! Searched where gophercloud searches: `OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`,
//! `~/.config/openstack/clouds.yaml`, `/etc/openstack/clouds.yaml`. `region_name` is not mapped:
//! the plugin ignores it (plugin issue #109) and takes the region from the environment or the BSL.

use crate::facts::{EnvVar, ResolvedEnv};
use serde_json::Value;
use std::path::PathBuf;

/// clouds.yaml `auth` keys and the variables they stand for.
const AUTH_KEYS: &[(&str, &str)] = &[
    ("auth_url", "OS_AUTH_URL"),
    ("application_credential_id", "OS_APPLICATION_CREDENTIAL_ID"),
    ("application_credential_name", "OS_APPLICATION_CREDENTIAL_NAME"),
    ("application_credential_secret", "OS_APPLICATION_CREDENTIAL_SECRET"),
    ("username", "OS_USERNAME"),
    ("user_id", "OS_USER_ID"),
    ("password", "OS_PASSWORD"),
    ("token", "OS_TOKEN"),
    ("project_id", "OS_PROJECT_ID"),
    ("project_name", "OS_PROJECT_NAME"),
    ("user_domain_name", "OS_USER_DOMAIN_NAME"),
    ("user_domain_id", "OS_USER_DOMAIN_ID"),
    ("project_domain_name", "OS_PROJECT_DOMAIN_NAME"),
    ("project_domain_id", "OS_PROJECT_DOMAIN_ID"),
    ("domain_name", "OS_DOMAIN_NAME"),
    ("domain_id", "OS_DOMAIN_ID"),
];

fn candidates() -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(p) = std::env::var_os("OS_CLIENT_CONFIG_FILE") {
        c.push(PathBuf::from(p));
    }
    c.push(PathBuf::from("clouds.yaml"));
    if let Some(home) = std::env::var_os("HOME") {
        c.push(PathBuf::from(home).join(".config/openstack/clouds.yaml"));
    }
    c.push(PathBuf::from("/etc/openstack/clouds.yaml"));
    c
}

/// The entry `name` as variables, or why it cannot be had.
pub fn load(name: &str) -> Result<ResolvedEnv, String> {
    let searched = candidates();
    for path in &searched {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let doc: Value = serde_saphyr::from_str(&text).map_err(|e| format!("{}: not valid YAML: {e}", path.display()))?;
        let Some(cloud) = doc.pointer(&format!("/clouds/{name}")) else { continue };
        return Ok(from_entry(name, cloud, &path.display().to_string()));
    }
    Err(format!(
        "no clouds.yaml entry {name:?} in {}",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    ))
}

pub fn from_entry(name: &str, cloud: &Value, path: &str) -> ResolvedEnv {
    let mut env = ResolvedEnv { deployment: String::new(), container: format!("clouds.yaml entry {name} ({path})"), ..Default::default() };
    for (key, var) in AUTH_KEYS {
        if let Some(v) = cloud.pointer(&format!("/auth/{key}")).and_then(Value::as_str) {
            env.vars.insert(var.to_string(), EnvVar { value: crate::upstream::velero::env_value(var, v.to_string()), source: format!("clouds.yaml auth.{key}") });
        }
    }
    if cloud.get("region_name").is_some() {
        env.problems.push("region_name in clouds.yaml is ignored by the plugin: set OS_REGION_NAME or the BSL's config.region".into());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_auth_keys_and_hides_secrets() {
        let cloud: Value = serde_saphyr::from_str(
            "auth:\n  auth_url: https://k/v3\n  application_credential_id: abc\n  application_credential_secret: topsecret\nregion_name: R\n",
        )
        .unwrap();
        let env = from_entry("prod", &cloud, "/x/clouds.yaml");
        assert_eq!(env.plain("OS_AUTH_URL"), Some("https://k/v3"));
        assert!(env.is_set("OS_APPLICATION_CREDENTIAL_SECRET"));
        assert!(!serde_json::to_string(&env).unwrap().contains("topsecret"));
        assert_eq!(env.problems.len(), 1);
    }
}
