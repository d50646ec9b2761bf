//! The OpenStack plugin's effective configuration, computed exactly as the plugin computes it
//! (velero-plugin-for-openstack `src/utils/auth.go` and `src/swift/object_store.go`, with
//! gophercloud's `clientconfig`): which variables it reads, which it ignores, the auth method,
//! the region, the endpoint overrides, and the temp-URL key and digest it signs with.

use crate::facts::ResolvedEnv;
use crate::openstack::keystone::{AuthMethod, DomainRef, ProjectRef, UserRef};
use crate::facts::digest::Digest;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Variables the plugin (through gophercloud) reads. Any other `OS_*` is ignored by it.
const READ_BY_PLUGIN: &[&str] = &[
    "OS_AUTH_URL", "OS_USERNAME", "OS_USER_ID", "OS_PASSWORD", "OS_PROJECT_ID", "OS_PROJECT_NAME", "OS_TENANT_ID",
    "OS_TENANT_NAME", "OS_DOMAIN_ID", "OS_DOMAIN_NAME", "OS_USER_DOMAIN_ID", "OS_USER_DOMAIN_NAME", "OS_PROJECT_DOMAIN_ID",
    "OS_PROJECT_DOMAIN_NAME", "OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_NAME",
    "OS_APPLICATION_CREDENTIAL_SECRET", "OS_TOKEN", "OS_AUTH_TOKEN", "OS_REGION_NAME", "OS_CLOUD", "OS_CLIENT_CONFIG_FILE",
    "OS_AUTH_TYPE", "OS_IDENTITY_API_VERSION", "OS_SYSTEM_SCOPE",
    "OS_SWIFT_AUTH_URL", "OS_SWIFT_APPLICATION_CREDENTIAL_ID", "OS_SWIFT_APPLICATION_CREDENTIAL_NAME",
    "OS_SWIFT_APPLICATION_CREDENTIAL_SECRET", "OS_SWIFT_USERNAME", "OS_SWIFT_USER_ID", "OS_SWIFT_PASSWORD",
    "OS_SWIFT_DOMAIN_ID", "OS_SWIFT_DOMAIN_NAME", "OS_SWIFT_PROJECT_NAME", "OS_SWIFT_PROJECT_ID",
    "OS_SWIFT_USER_DOMAIN_NAME", "OS_SWIFT_USER_DOMAIN_ID", "OS_SWIFT_PROJECT_DOMAIN_NAME", "OS_SWIFT_PROJECT_DOMAIN_ID",
    "OS_SWIFT_REGION_NAME", "OS_SWIFT_ENDPOINT_OVERRIDE", "OS_SWIFT_ACCOUNT_OVERRIDE", "OS_SWIFT_RESELLER_PREFIXES",
    "OS_SWIFT_TEMP_URL_KEY", "OS_SWIFT_TEMP_URL_DIGEST",
];

/// Variables people set that the plugin does not read, and what to do instead.
const IGNORED_WITH_REASON: &[(&str, &str)] = &[
    ("OS_CACERT", "the plugin does not read OS_CACERT; it only knows TLS_SKIP_VERIFY (add the CA to the image's trust store instead)"),
    ("OS_VERIFY", "documented by the plugin but never read by its code; use TLS_SKIP_VERIFY"),
    ("OS_INSECURE", "not read by the plugin; use TLS_SKIP_VERIFY"),
    ("OS_SWIFT_TENANT_NAME", "documented by the plugin but never read; use OS_SWIFT_PROJECT_NAME"),
    ("OS_INTERFACE", "the plugin always uses the public endpoint; use OS_SWIFT_ENDPOINT_OVERRIDE for another"),
    ("OS_ENDPOINT_TYPE", "the plugin always uses the public endpoint; use OS_SWIFT_ENDPOINT_OVERRIDE for another"),
];

/// What the plugin will do, with secrets as fingerprints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PluginConfig {
    /// `OS_* variables`, `OS_SWIFT_* variables`, or `clouds.yaml entry NAME`.
    pub auth_source: String,
    /// Prefix of the variables the auth reads first (`OS_` or `OS_SWIFT_`).
    pub prefix: String,
    pub auth_url: Option<String>,
    /// `application credential (id)`, `password`, … when complete.
    pub method: Option<String>,
    /// Variables the chosen method still needs.
    pub missing: Vec<String>,
    /// Settings that break authentication although every variable is present.
    pub problems: Vec<String>,
    /// Set variables the plugin does not read (`NAME: why`).
    pub ignored: Vec<String>,
    /// The region passed to the catalog lookup (`""` = any region), and where it came from.
    pub region: String,
    pub region_source: String,
    pub endpoint_override: Option<String>,
    pub account_override: Option<String>,
    pub reseller_prefixes: Vec<String>,
    /// `OS_SWIFT_TEMP_URL_KEY`, when set; otherwise the plugin reads the container's, then the account's key.
    pub temp_url_key: Option<Secret>,
    pub digest_setting: Option<String>,
    /// The digest name the plugin signs with, or the plugin's own error text.
    pub digest: Result<String, String>,
    pub tls_skip_verify: bool,
    /// BSL `config.cloud`: a clouds.yaml entry inside the pod, which veldr cannot read.
    pub cloud: Option<String>,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            auth_source: String::new(),
            prefix: "OS_".into(),
            auth_url: None,
            method: None,
            missing: Vec::new(),
            problems: Vec::new(),
            ignored: Vec::new(),
            region: String::new(),
            region_source: String::new(),
            endpoint_override: None,
            account_override: None,
            reseller_prefixes: vec!["AUTH_".into()],
            temp_url_key: None,
            digest_setting: None,
            digest: Ok(Digest::Sha1.name().to_string()),
            tls_skip_verify: false,
            cloud: None,
        }
    }
}

impl PluginConfig {
    pub fn digest(&self) -> Option<Digest> {
        self.digest.as_ref().ok().and_then(|d| Digest::from_name(d))
    }
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.problems.is_empty() && self.auth_url.is_some()
    }
}

/// Reads a variable as the plugin's `utils.GetEnv` does: unset or empty means unset.
fn get<'a>(env: &'a ResolvedEnv, name: &str) -> Option<&'a str> {
    env.plain(name)
}

/// `os.LookupEnv`: set, even to "", counts (the plugin's region lookup uses it).
fn lookup<'a>(env: &'a ResolvedEnv, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.value.text().unwrap_or(""))
}

fn secret(env: &ResolvedEnv, name: &str) -> Option<Secret> {
    let var = env.get(name)?;
    match &var.value {
        crate::facts::EnvValue::Secret(s) if !s.is_empty() => Some(s.clone()),
        crate::facts::EnvValue::Plain(p) if !p.is_empty() => Some(Secret::new(p.clone())),
        _ => None,
    }
}

/// A variable is set when it has a value, or when veldr could not read its value (it may be set).
fn present(env: &ResolvedEnv, name: &str) -> bool {
    env.is_set(name)
}

/// Computes the plugin's configuration for one BSL's `spec.config` map.
pub fn effective(env: &ResolvedEnv, config: &BTreeMap<String, String>) -> PluginConfig {
    let cfg = |k: &str| config.get(k).map(String::as_str).filter(|s| !s.is_empty());
    let mut pc = PluginConfig { cloud: cfg("cloud").map(str::to_string), ..PluginConfig::default() };

    // 1. Where auth comes from.
    let twins = env.get("OS_SWIFT_AUTH_URL").is_some();
    pc.prefix = if twins { "OS_SWIFT_".into() } else { "OS_".into() };
    pc.auth_source = match (&pc.cloud, twins) {
        (Some(c), _) => format!("clouds.yaml entry {c:?} (BSL config.cloud)"),
        (None, true) => "OS_SWIFT_* variables (OS_SWIFT_AUTH_URL is set)".into(),
        (None, false) => "OS_* variables".into(),
    };
    // With OS_SWIFT_AUTH_URL, each twin is read and gophercloud falls back to the plain variable.
    let var = |suffix: &str| -> Option<String> {
        if twins {
            let twin = format!("OS_SWIFT_{suffix}");
            if present(env, &twin) {
                return Some(twin);
            }
        }
        let plain = format!("OS_{suffix}");
        present(env, &plain).then_some(plain)
    };
    let val = |suffix: &str| var(suffix).and_then(|n| get(env, &n).map(str::to_string));

    if pc.cloud.is_none() {
        pc.auth_url = val("AUTH_URL");
        if pc.auth_url.is_none() {
            pc.missing.push(if twins { "OS_SWIFT_AUTH_URL".into() } else { "OS_AUTH_URL".into() });
        }
        let (method, missing) = method_requirements(env, &var);
        pc.method = method;
        pc.missing.extend(missing);
        if let Some(url) = &pc.auth_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                pc.problems.push(format!("the auth URL {url:?} is not an http(s) URL"));
            }
        }
        if get(env, "OS_CLOUD").is_some() {
            pc.problems.push("OS_CLOUD is set: gophercloud then looks for that clouds.yaml entry instead of the variables (the plugin's README: do not set OS_CLOUD with variables)".into());
        }
    }

    // 2. TLS: only TLS_SKIP_VERIFY, parsed by Go's strconv.ParseBool; a bad value stops auth.
    if let Some(v) = get(env, "TLS_SKIP_VERIFY") {
        match v {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => pc.tls_skip_verify = true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => {}
            other => pc.problems.push(format!("TLS_SKIP_VERIFY={other:?} is not a Go boolean: the plugin fails with \"cannot parse boolean from TLS_SKIP_VERIFY\"")),
        }
    }

    // 3. Region: OS_SWIFT_REGION_NAME, then OS_REGION_NAME (set, even empty, wins), then BSL config.region.
    let (region, source) = if let Some(r) = lookup(env, "OS_SWIFT_REGION_NAME") {
        (r.to_string(), "OS_SWIFT_REGION_NAME")
    } else if let Some(r) = lookup(env, "OS_REGION_NAME") {
        (r.to_string(), "OS_REGION_NAME")
    } else if let Some(r) = cfg("region") {
        (r.to_string(), "BSL config.region")
    } else {
        (String::new(), "none (the first object-store endpoint of any region)")
    };
    pc.region = region;
    pc.region_source = source.into();

    // 4. Endpoint overrides and the temp-URL settings.
    pc.endpoint_override = get(env, "OS_SWIFT_ENDPOINT_OVERRIDE").map(str::to_string);
    pc.account_override = get(env, "OS_SWIFT_ACCOUNT_OVERRIDE").map(str::to_string);
    pc.reseller_prefixes = get(env, "OS_SWIFT_RESELLER_PREFIXES").unwrap_or("AUTH_").split(',').map(str::to_string).collect();
    pc.temp_url_key = secret(env, "OS_SWIFT_TEMP_URL_KEY");
    pc.digest_setting = get(env, "OS_SWIFT_TEMP_URL_DIGEST").map(str::to_string);
    pc.digest = Digest::from_plugin_setting(pc.digest_setting.as_deref()).map(|d| d.name().to_string()).map_err(|e| e.to_string());

    // 5. What is set but not read.
    for (name, why) in IGNORED_WITH_REASON {
        if env.get(name).is_some() {
            pc.ignored.push(format!("{name}: {why}"));
        }
    }
    for name in env.vars.keys().filter(|n| n.starts_with("OS_")) {
        if !READ_BY_PLUGIN.contains(&name.as_str()) && !IGNORED_WITH_REASON.iter().any(|(n, _)| n == name) {
            let hint = closest(name).map(|c| format!(" (did you mean {c}?)")).unwrap_or_default();
            pc.ignored.push(format!("{name}: not a variable the plugin reads{hint}"));
        }
    }
    pc
}

/// Which method gophercloud will use, and what it lacks. Application credentials win when their
/// id or name is set (no OS_AUTH_TYPE needed).
fn method_requirements(env: &ResolvedEnv, var: &dyn Fn(&str) -> Option<String>) -> (Option<String>, Vec<String>) {
    let has = |s: &str| var(s).is_some();
    let name = |s: &str| var(s).unwrap_or_else(|| format!("OS_{s}"));
    let mut missing = Vec::new();
    let user_ok = has("USER_ID") || (has("USERNAME") && (has("USER_DOMAIN_NAME") || has("USER_DOMAIN_ID") || has("DOMAIN_NAME") || has("DOMAIN_ID")));
    if has("APPLICATION_CREDENTIAL_ID") || has("APPLICATION_CREDENTIAL_NAME") {
        if !has("APPLICATION_CREDENTIAL_SECRET") {
            missing.push(name("APPLICATION_CREDENTIAL_SECRET"));
        }
        let by_id = has("APPLICATION_CREDENTIAL_ID");
        if !by_id && !user_ok {
            missing.push("OS_USER_ID (or OS_USERNAME with OS_USER_DOMAIN_NAME): a credential given by name needs its user".into());
        }
        let m = if by_id { "application credential (by id)" } else { "application credential (by name and user)" };
        return (missing.is_empty().then(|| m.to_string()), missing);
    }
    if has("TOKEN") || present(env, "OS_AUTH_TOKEN") {
        return (Some("token (OS_TOKEN)".into()), missing);
    }
    if has("PASSWORD") || has("USERNAME") || has("USER_ID") {
        if !has("PASSWORD") {
            missing.push(name("PASSWORD"));
        }
        if !user_ok {
            missing.push("OS_USER_DOMAIN_NAME (or OS_USER_ID): a user name needs its domain".into());
        }
        let project_ok = has("PROJECT_ID")
            || has("TENANT_ID")
            || ((has("PROJECT_NAME") || has("TENANT_NAME"))
                && (has("PROJECT_DOMAIN_NAME") || has("PROJECT_DOMAIN_ID") || has("DOMAIN_NAME") || has("DOMAIN_ID")));
        if !project_ok {
            missing.push("OS_PROJECT_ID (or OS_PROJECT_NAME with OS_PROJECT_DOMAIN_NAME): without a project the token has no catalog".into());
        }
        return (missing.is_empty().then(|| "password".to_string()), missing);
    }
    missing.push("credentials: OS_APPLICATION_CREDENTIAL_ID + OS_APPLICATION_CREDENTIAL_SECRET (or OS_USERNAME + OS_PASSWORD + project)".into());
    (None, missing)
}

/// The Keystone request the plugin will make, when every part is known (not from a bundle).
pub fn auth_method(env: &ResolvedEnv, pc: &PluginConfig) -> Option<AuthMethod> {
    if !pc.is_complete() {
        return None;
    }
    let twins = pc.prefix == "OS_SWIFT_";
    let name_of = |suffix: &str| -> Option<String> {
        if twins && present(env, &format!("OS_SWIFT_{suffix}")) {
            return Some(format!("OS_SWIFT_{suffix}"));
        }
        present(env, &format!("OS_{suffix}")).then(|| format!("OS_{suffix}"))
    };
    let plain = |s: &str| name_of(s).and_then(|n| get(env, &n).map(str::to_string));
    let secret_of = |s: &str| name_of(s).and_then(|n| secret(env, &n));
    let domain = |id: &str, name: &str| plain(id).map(DomainRef::Id).or_else(|| plain(name).map(DomainRef::Name));
    let user = || -> Option<UserRef> {
        if let Some(id) = plain("USER_ID") {
            return Some(UserRef::Id(id));
        }
        let d = domain("USER_DOMAIN_ID", "USER_DOMAIN_NAME").or_else(|| domain("DOMAIN_ID", "DOMAIN_NAME"))?;
        Some(UserRef::Name { name: plain("USERNAME")?, domain: d })
    };
    if let Some(id) = plain("APPLICATION_CREDENTIAL_ID") {
        return Some(AuthMethod::AppCredentialId { id, secret: secret_of("APPLICATION_CREDENTIAL_SECRET")? });
    }
    if let Some(name) = plain("APPLICATION_CREDENTIAL_NAME") {
        return Some(AuthMethod::AppCredentialName { name, secret: secret_of("APPLICATION_CREDENTIAL_SECRET")?, user: user()? });
    }
    if let Some(t) = secret_of("TOKEN").or_else(|| secret(env, "OS_AUTH_TOKEN")) {
        return Some(AuthMethod::Token(t));
    }
    let project = plain("PROJECT_ID").or_else(|| plain("TENANT_ID")).map(ProjectRef::Id).or_else(|| {
        let name = plain("PROJECT_NAME").or_else(|| plain("TENANT_NAME"))?;
        let d = domain("PROJECT_DOMAIN_ID", "PROJECT_DOMAIN_NAME").or_else(|| domain("DOMAIN_ID", "DOMAIN_NAME"))?;
        Some(ProjectRef::Name { name, domain: d })
    });
    Some(AuthMethod::Password { user: user()?, password: secret_of("PASSWORD")?, project })
}

/// A likely intended variable for a misspelt one (edit distance ≤ 2).
fn closest(name: &str) -> Option<&'static str> {
    READ_BY_PLUGIN
        .iter()
        .copied()
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{EnvVar, ResolvedEnv};

    fn env(pairs: &[(&str, &str)]) -> ResolvedEnv {
        let mut e = ResolvedEnv::default();
        for (k, v) in pairs {
            e.vars.insert(k.to_string(), EnvVar { value: crate::upstream::velero::env_value(k, v.to_string()), source: "test".into() });
        }
        e
    }

    #[test]
    fn app_credential_by_id_is_complete() {
        let e = env(&[("OS_AUTH_URL", "https://k/v3"), ("OS_APPLICATION_CREDENTIAL_ID", "abc"), ("OS_APPLICATION_CREDENTIAL_SECRET", "s"), ("OS_REGION_NAME", "R1")]);
        let pc = effective(&e, &BTreeMap::new());
        assert!(pc.is_complete(), "{pc:?}");
        assert_eq!(pc.region, "R1");
        assert_eq!(pc.digest, Ok("sha1".into()), "an unset digest means SHA-1, as the plugin does");
        assert!(matches!(auth_method(&e, &pc), Some(AuthMethod::AppCredentialId { .. })));
    }

    #[test]
    fn nothing_set_is_the_auth_url_error() {
        let pc = effective(&ResolvedEnv::default(), &BTreeMap::new());
        assert!(pc.missing.iter().any(|m| m == "OS_AUTH_URL"));
        assert!(!pc.is_complete());
    }

    #[test]
    fn swift_twins_win_and_fall_back() {
        let e = env(&[("OS_SWIFT_AUTH_URL", "https://swift/v3"), ("OS_AUTH_URL", "https://k/v3"), ("OS_APPLICATION_CREDENTIAL_ID", "abc"), ("OS_SWIFT_APPLICATION_CREDENTIAL_SECRET", "s")]);
        let pc = effective(&e, &BTreeMap::new());
        assert_eq!(pc.auth_url.as_deref(), Some("https://swift/v3"));
        assert!(pc.is_complete(), "{pc:?}");
    }

    #[test]
    fn region_precedence_and_ignored_variables() {
        let cfg = BTreeMap::from([("region".to_string(), "FromBsl".to_string())]);
        let e = env(&[("OS_AUTH_URL", "https://k/v3"), ("OS_CACERT", "/ca.pem"), ("OS_REGOIN_NAME", "x")]);
        let pc = effective(&e, &cfg);
        assert_eq!(pc.region, "FromBsl");
        assert!(pc.ignored.iter().any(|i| i.starts_with("OS_CACERT")));
        assert!(pc.ignored.iter().any(|i| i.contains("did you mean OS_REGION_NAME")), "{:?}", pc.ignored);
        let e = env(&[("OS_SWIFT_REGION_NAME", "S"), ("OS_REGION_NAME", "R")]);
        assert_eq!(effective(&e, &cfg).region, "S");
    }

    #[test]
    fn bad_digest_and_bool_are_problems() {
        let e = env(&[("OS_SWIFT_TEMP_URL_DIGEST", "md5"), ("TLS_SKIP_VERIFY", "yes")]);
        let pc = effective(&e, &BTreeMap::new());
        assert_eq!(pc.digest, Err("The requested \"md5\" digest is not supported.".into()));
        assert!(pc.problems.iter().any(|p| p.contains("TLS_SKIP_VERIFY")));
    }

    #[test]
    fn app_credential_by_name_needs_user() {
        let e = env(&[("OS_AUTH_URL", "https://k/v3"), ("OS_APPLICATION_CREDENTIAL_NAME", "velero"), ("OS_APPLICATION_CREDENTIAL_SECRET", "s")]);
        assert!(!effective(&e, &BTreeMap::new()).is_complete());
        let e = env(&[("OS_AUTH_URL", "https://k/v3"), ("OS_APPLICATION_CREDENTIAL_NAME", "velero"), ("OS_APPLICATION_CREDENTIAL_SECRET", "s"), ("OS_USERNAME", "u"), ("OS_USER_DOMAIN_NAME", "Default")]);
        let pc = effective(&e, &BTreeMap::new());
        assert!(pc.is_complete());
        assert!(matches!(auth_method(&e, &pc), Some(AuthMethod::AppCredentialName { .. })));
    }
}
