//! Which namespace Velero runs in, when `-n` does not say: `VELERO_NAMESPACE`, then the velero client
//! config's `namespace` (what the `velero` CLI itself would use), then the namespace of the only Velero
//! server Deployment in the cluster, else `velero`. The source is kept so the report can say why.

use crate::facts::Object;
use k8s_openapi::api::apps::v1::Deployment;
use std::path::Path;

/// Velero's own default namespace.
pub const DEFAULT: &str = "velero";

/// A namespace and the reason it was chosen (shown in the report header as "namespace X (SOURCE)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub namespace: String,
    pub source: String,
}

impl Resolved {
    fn new(namespace: impl Into<String>, source: impl Into<String>) -> Self {
        Resolved { namespace: namespace.into(), source: source.into() }
    }
}

/// The steps that need no cluster: `-n`, `VELERO_NAMESPACE`, the client config under `home`.
/// `None`: ask the cluster's Deployments ([`from_deployments`]).
pub fn before_cluster(flag: Option<&str>, env: Option<&str>, home: Option<&Path>) -> Option<Resolved> {
    if let Some(ns) = flag.filter(|n| !n.is_empty()) {
        return Some(Resolved::new(ns, "from -n"));
    }
    if let Some(ns) = env.map(str::trim).filter(|n| !n.is_empty()) {
        return Some(Resolved::new(ns, "from VELERO_NAMESPACE"));
    }
    home.and_then(client_config_namespace).map(|ns| Resolved::new(ns, "from the velero client config ~/.config/velero/config.json"))
}

/// The `namespace` key of `$HOME/.config/velero/config.json` (written by `velero client config set
/// namespace=…`). An absent or unreadable file, or no such key, is no answer.
fn client_config_namespace(home: &Path) -> Option<String> {
    let text = std::fs::read_to_string(home.join(".config/velero/config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("namespace").and_then(|n| n.as_str()).map(str::trim).filter(|n| !n.is_empty()).map(str::to_string)
}

/// The last step, from every Deployment in the cluster: the namespace of the only one that runs
/// `velero server`; with none or several, `velero` (and the reason, so the header explains it).
pub fn from_deployments(deployments: &[Deployment]) -> Resolved {
    let found: Vec<&Deployment> = deployments.iter().filter(|d| crate::upstream::velero::runs_velero_server(d)).collect();
    match found.as_slice() {
        [one] => {
            let ns = one.namespace().unwrap_or(DEFAULT);
            Resolved::new(ns, format!("the only Velero server Deployment: {ns}/{}", one.name()))
        }
        [] => Resolved::new(DEFAULT, "default: no Velero server Deployment found"),
        several => {
            let names: Vec<String> = several.iter().map(|d| format!("{}/{}", d.namespace().unwrap_or_default(), d.name())).collect();
            Resolved::new(DEFAULT, format!("default: several Velero server Deployments ({}); choose with -n", names.join(", ")))
        }
    }
}

/// When the Deployments could not be listed: Velero's default, saying so.
pub fn unlisted() -> Resolved {
    Resolved::new(DEFAULT, "default: Deployments could not be listed")
}

/// The steps before the cluster, from this process's environment (`VELERO_NAMESPACE`, `$HOME`).
pub fn from_process(flag: Option<&str>) -> Option<Resolved> {
    let env = std::env::var("VELERO_NAMESPACE").ok();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    before_cluster(flag, env.as_deref(), home.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(ns: &str, name: &str, image: &str) -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": name, "image": image, "args": ["server"]}]}}}
        }))
        .unwrap()
    }

    fn home_with(config: &str) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".config/velero")).unwrap();
        std::fs::write(home.path().join(".config/velero/config.json"), config).unwrap();
        home
    }

    #[test]
    fn flag_then_env_then_client_config() {
        let home = home_with(r#"{"namespace": "from-config", "features": ""}"#);
        let h = Some(home.path());
        assert_eq!(before_cluster(Some("a"), Some("b"), h), Some(Resolved::new("a", "from -n")));
        assert_eq!(before_cluster(None, Some("b"), h), Some(Resolved::new("b", "from VELERO_NAMESPACE")));
        let r = before_cluster(None, None, h).unwrap();
        assert_eq!(r.namespace, "from-config");
        assert!(r.source.contains("client config"), "{r:?}");
        // An empty VELERO_NAMESPACE is not a choice.
        assert_eq!(before_cluster(None, Some(" "), h).unwrap().namespace, "from-config");
    }

    #[test]
    fn no_answer_before_the_cluster_without_config() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(before_cluster(None, None, Some(empty.path())), None);
        assert_eq!(before_cluster(None, None, None), None);
        // A config without namespace, or not JSON, says nothing.
        assert_eq!(before_cluster(None, None, Some(home_with(r#"{"features": "EnableCSI"}"#).path())), None);
        assert_eq!(before_cluster(None, None, Some(home_with("namespace: x").path())), None);
    }

    #[test]
    fn single_velero_deployment_decides_else_default() {
        let app = deployment("shop", "web", "nginx:1.27");
        let velero = deployment("backup", "velero", "velero/velero:v1.17.1");
        let r = from_deployments(&[app.clone(), velero.clone()]);
        assert_eq!(r.namespace, "backup");
        assert_eq!(r.source, "the only Velero server Deployment: backup/velero");
        let none = from_deployments(std::slice::from_ref(&app));
        assert_eq!((none.namespace.as_str(), none.source.contains("no Velero server")), ("velero", true));
        let two = from_deployments(&[velero, deployment("dr", "velero", "velero/velero:v1.16.0"), app]);
        assert_eq!(two.namespace, "velero");
        assert!(two.source.contains("backup/velero, dr/velero"), "{two:?}");
    }
}
