//! `_server.yaml`: per-scenario server configuration.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};
use serde::Deserialize;

/// Contents of a scenario's optional `_server.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// What `/version` answers.
    #[serde(default)]
    pub version: VersionInfo,
    /// Denials; everything not denied is allowed.
    #[serde(default)]
    pub rbac: Vec<RbacDenial>,
    /// Injected faults, matched in order (first match wins).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Authentication override.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// User name shown in Forbidden messages (default "veldr").
    #[serde(default)]
    pub user: Option<String>,
    /// Answer the aggregated-discovery Accept header of `/api` and `/apis` with an
    /// `APIGroupDiscoveryList` (apidiscovery.k8s.io/v2) like a real 1.30+ server
    /// (default true). false: ignore the header and return the plain documents, like
    /// an old server. (kube's `Discovery::run_aggregated` then finds *no* groups rather
    /// than failing, so false is only for testing that case.)
    #[serde(default)]
    pub aggregated_discovery: Option<bool>,
    /// Synthesize Namespace objects for default, kube-system, kube-public,
    /// kube-node-lease and every namespace a fixture object lives in (default true).
    #[serde(default)]
    pub implicit_namespaces: Option<bool>,
    /// The time `${NOW...}` placeholders are relative to (RFC 3339, UTC, e.g.
    /// "2025-01-31T12:00:00Z"); default: when the server starts.
    #[serde(default)]
    pub now: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VersionInfo {
    pub major: String,
    pub minor: String,
    pub git_version: String,
    #[serde(default = "d_commit")]
    pub git_commit: String,
    #[serde(default = "d_tree")]
    pub git_tree_state: String,
    #[serde(default = "d_build")]
    pub build_date: String,
    #[serde(default = "d_go")]
    pub go_version: String,
    #[serde(default = "d_compiler")]
    pub compiler: String,
    #[serde(default = "d_platform")]
    pub platform: String,
}

fn d_commit() -> String {
    "0000000000000000000000000000000000000000".into()
}
fn d_tree() -> String {
    "clean".into()
}
fn d_build() -> String {
    "2024-12-10T11:36:35Z".into()
}
fn d_go() -> String {
    "go1.22.9".into()
}
fn d_compiler() -> String {
    "gc".into()
}
fn d_platform() -> String {
    "linux/amd64".into()
}

impl Default for VersionInfo {
    fn default() -> Self {
        VersionInfo {
            major: "1".into(),
            minor: "31".into(),
            git_version: "v1.31.4".into(),
            git_commit: d_commit(),
            git_tree_state: d_tree(),
            build_date: d_build(),
            go_version: d_go(),
            compiler: d_compiler(),
            platform: d_platform(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The bearer token the server expects instead of `Options::token`.
    pub token: String,
}

/// One RBAC denial. `verb`, `group` and `resource` accept `"*"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbacDenial {
    #[serde(default = "star")]
    pub verb: String,
    #[serde(default)]
    pub group: String,
    pub resource: String,
    /// Omitted: every namespace and cluster scope. Set: that namespace, and also
    /// all-namespaces requests (which need a cluster-wide grant in real RBAC).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Omitted: any name.
    #[serde(default)]
    pub name: Option<String>,
}

fn star() -> String {
    "*".into()
}

fn wild(pattern: &str, value: &str) -> bool {
    pattern == "*" || pattern == value
}

impl RbacDenial {
    /// `namespace` is None for cluster-scope / all-namespaces requests.
    pub fn matches(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> bool {
        if !wild(&self.verb, verb) || !wild(&self.group, group) || !wild(&self.resource, resource) {
            return false;
        }
        if let (Some(dns), Some(rns)) = (&self.namespace, namespace) {
            if dns != rns {
                return false;
            }
        }
        match (&self.name, name) {
            (Some(dn), Some(rn)) => dn == rn,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    /// Send the headers and part of the body, then drop the connection.
    Reset,
    /// 200 with a body that is not valid JSON.
    Malformed,
    /// Lists answer with `count` generated items (paged with limit/continue).
    Huge,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Match by exact request path (no query), e.g. `/version`.
    #[serde(default)]
    pub path: Option<String>,
    /// Match by API group ("" = core) and resource (plural) ...
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    /// ... and optionally namespace (omitted = any).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Optionally only for this verb: get, list, watch or create.
    #[serde(default)]
    pub verb: Option<String>,
    /// Answer a kube Status with this HTTP code.
    #[serde(default)]
    pub status: Option<u16>,
    /// Message of that Status.
    #[serde(default)]
    pub message: Option<String>,
    /// Wait this long before answering.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub mode: Option<FaultMode>,
    /// Number of generated items for `mode: huge` (default 1000).
    #[serde(default)]
    pub count: Option<usize>,
    /// Apply only to the first N matching requests (omitted = always).
    #[serde(default)]
    pub times: Option<u64>,
    #[serde(skip)]
    pub hits: AtomicU64,
}

impl Fault {
    pub fn validate(&self, idx: usize) -> anyhow::Result<()> {
        match (&self.path, &self.resource) {
            (Some(_), Some(_)) => bail!("faults[{idx}]: give either path or resource, not both"),
            (None, None) => bail!("faults[{idx}]: needs path or resource"),
            _ => {}
        }
        if self.path.is_some() && (self.group.is_some() || self.namespace.is_some()) {
            bail!("faults[{idx}]: group/namespace only go with resource");
        }
        if self.status.is_none() && self.delay_ms.is_none() && self.mode.is_none() {
            bail!("faults[{idx}]: needs status, delay_ms or mode");
        }
        if self.mode == Some(FaultMode::Huge) && self.resource.is_none() {
            bail!("faults[{idx}]: mode huge needs group/resource");
        }
        if let Some(s) = self.status {
            if !(100..=599).contains(&s) {
                bail!("faults[{idx}]: status {s} is not an HTTP status code");
            }
        }
        if let Some(v) = &self.verb {
            if !matches!(v.as_str(), "get" | "list" | "watch" | "create") {
                bail!("faults[{idx}]: verb must be get, list, watch or create");
            }
        }
        Ok(())
    }

    fn take(&self) -> bool {
        match self.times {
            None => true,
            Some(n) => self.hits.fetch_add(1, Ordering::SeqCst) < n,
        }
    }

    /// Matches a path fault; counts the hit.
    pub fn hit_path(&self, path: &str) -> bool {
        self.path.as_deref() == Some(path) && self.take()
    }

    /// Matches a resource fault; counts the hit.
    pub fn hit_resource(&self, verb: &str, group: &str, resource: &str, ns: Option<&str>) -> bool {
        let Some(r) = &self.resource else {
            return false;
        };
        if r != resource && r != "*" {
            return false;
        }
        if self.group.as_deref().unwrap_or("") != group {
            return false;
        }
        if let Some(fns) = &self.namespace {
            if ns != Some(fns.as_str()) {
                return false;
            }
        }
        if let Some(v) = &self.verb {
            if v != verb {
                return false;
            }
        }
        self.take()
    }
}

impl ServerConfig {
    pub fn parse(text: &str, file: &str) -> anyhow::Result<ServerConfig> {
        if text.trim().is_empty() {
            return Ok(ServerConfig::default());
        }
        let cfg: ServerConfig = serde_saphyr::from_str(text)
            .with_context(|| format!("{file}: invalid _server.yaml"))?;
        for (i, f) in cfg.faults.iter().enumerate() {
            f.validate(i)
                .with_context(|| format!("{file}: invalid _server.yaml"))?;
        }
        Ok(cfg)
    }

    pub fn user(&self) -> &str {
        self.user.as_deref().unwrap_or("veldr")
    }
}
