//! The TLS trust velero-plugin-for-openstack uses, computed from the velero container the way the
//! plugin builds it (read in Lirt/velero-plugin-for-openstack `src/utils/auth.go`, v0.8.x):
//!
//! - `Authenticate` calls gophercloud/utils `clientconfig.AuthOptions` for the credentials only, then
//!   builds its own transport: `http.DefaultTransport.Clone()` with
//!   `TLSClientConfig = &tls.Config{InsecureSkipVerify: TLS_SKIP_VERIFY}` and hands it to
//!   `openstack.NewClient`. `RootCAs` stays nil, so Go verifies against the *system* roots of the
//!   velero image, and no client certificate is ever presented.
//! - gophercloud/utils' `PrepareTLSConfig` (the only code that reads `OS_CACERT`, `OS_CERT`,
//!   `OS_KEY`, `OS_INSECURE` and clouds.yaml `cacert`/`cert`/`key`/`verify`) is called by
//!   `clientconfig.NewServiceClient`, which the plugin never calls: all of those are ignored.
//! - Keystone and Swift share that transport: the Swift client is `openstack.NewObjectStorageV1` on
//!   the same `ProviderClient` (`src/swift/object_store.go`), so one trust covers both services.
//! - Go's system roots on Linux (`crypto/x509` `loadSystemRoots`): the first readable file of
//!   `/etc/ssl/certs/ca-certificates.crt`, `/etc/pki/tls/certs/ca-bundle.crt`, … — or only
//!   `$SSL_CERT_FILE` when set — plus every file in `/etc/ssl/certs`, `/etc/pki/tls/certs` — or in the
//!   `:`-separated `$SSL_CERT_DIR` when set. The plugin runs as a child of the velero server and
//!   inherits its environment, so `SSL_CERT_FILE`/`SSL_CERT_DIR` on the velero container (or a CA
//!   bundle mounted over those paths) is how a private CA reaches the plugin.
//!
//! This module only says which files the plugin will read and which Secret or ConfigMap key each
//! is, from the Deployment's volumes and mounts; collect reads those objects, the judge says what
//! it found.

use crate::facts::ResolvedEnv;
use k8s_openapi::api::core::v1::{Container, KeyToPath, PodSpec, Volume};

/// Go's default CA bundle files on Linux, in the order it tries them (it stops at the first it reads).
pub const GO_CERT_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Go's default CA directories on Linux (every file in them is read).
pub const GO_CERT_DIRS: [&str; 2] = ["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// Variables people set for TLS that the plugin never reads, and what each was meant to do.
pub const IGNORED_TLS_VARS: [(&str, &str); 4] = [
    ("OS_CACERT", "a CA bundle"),
    ("OS_CERT", "a client certificate"),
    ("OS_KEY", "a client key"),
    ("OS_INSECURE", "skipping verification"),
];

/// What a path inside the velero container is, as far as the Deployment tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSource {
    /// One key of a Secret (`key` is `None` for the whole Secret as a directory).
    Secret { name: String, key: Option<String>, optional: bool },
    /// One key of a ConfigMap (`None`: the whole ConfigMap as a directory).
    ConfigMap { name: String, key: Option<String>, optional: bool },
    /// Under a volume veldr cannot look into (emptyDir, hostPath, a PVC, projected…): its name and kind.
    Volume { name: String, kind: String },
    /// No volume is mounted there: a file of the image itself.
    Image,
}

impl PathSource {
    pub fn describe(&self) -> String {
        let key = |k: &Option<String>| k.as_ref().map(|k| format!(" key {k}")).unwrap_or_default();
        match self {
            PathSource::Secret { name, key: k, .. } => format!("Secret {name}{}", key(k)),
            PathSource::ConfigMap { name, key: k, .. } => format!("ConfigMap {name}{}", key(k)),
            PathSource::Volume { name, kind } => format!("volume {name} ({kind})"),
            PathSource::Image => "the image (no volume is mounted there)".into(),
        }
    }
}

/// One place the plugin takes trust from, or that someone meant it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFile {
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR`, `OS_CACERT`, or `mount over /etc/ssl/certs/ca-certificates.crt`.
    pub via: String,
    pub path: String,
    /// A directory (SSL_CERT_DIR, a default directory): every file in it is read.
    pub dir: bool,
    pub source: PathSource,
    /// The plugin reads it (false for `OS_CACERT` and friends).
    pub honoured: bool,
}

fn volume_kind(v: &Volume) -> &'static str {
    if v.secret.is_some() {
        "secret"
    } else if v.config_map.is_some() {
        "configMap"
    } else if v.empty_dir.is_some() {
        "emptyDir"
    } else if v.host_path.is_some() {
        "hostPath"
    } else if v.persistent_volume_claim.is_some() {
        "persistentVolumeClaim"
    } else if v.projected.is_some() {
        "projected"
    } else if v.csi.is_some() {
        "csi"
    } else {
        "volume"
    }
}

/// The key that `rel` (a path inside the volume, "" for its root) names, given the volume's `items`.
fn key_in(items: Option<&Vec<KeyToPath>>, rel: &str) -> Option<Option<String>> {
    if rel.is_empty() {
        return Some(None);
    }
    match items {
        Some(items) if !items.is_empty() => items.iter().find(|i| i.path.trim_start_matches("./") == rel).map(|i| Some(i.key.clone())),
        // Without items each key is a file named after it, at the volume's root.
        _ => (!rel.contains('/')).then(|| Some(rel.to_string())),
    }
}

/// What `path` is inside `container` of `spec`: the deepest mount that holds it decides.
/// `None` for the key when the path names no key of the Secret/ConfigMap (the file does not exist).
pub fn resolve_path(spec: &PodSpec, container: &Container, path: &str) -> Result<PathSource, String> {
    let path = path.trim_end_matches('/');
    let mount = container
        .volume_mounts
        .iter()
        .flatten()
        .filter(|m| {
            let mp = m.mount_path.trim_end_matches('/');
            path == mp || path.starts_with(&format!("{mp}/"))
        })
        .max_by_key(|m| m.mount_path.trim_end_matches('/').len());
    let Some(mount) = mount else { return Ok(PathSource::Image) };
    let below = path[mount.mount_path.trim_end_matches('/').len()..].trim_start_matches('/');
    let rel = match mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
        Some(sub) if below.is_empty() => sub.trim_matches('/').to_string(),
        Some(sub) => format!("{}/{below}", sub.trim_matches('/')),
        None => below.to_string(),
    };
    let Some(volume) = spec.volumes.iter().flatten().find(|v| v.name == mount.name) else {
        return Err(format!("volumeMount {} names no volume of the pod", mount.name));
    };
    let missing = |what: String| format!("{what} has no key for {rel:?}: {path} does not exist in the pod");
    if let Some(s) = &volume.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        let key = key_in(s.items.as_ref(), &rel).ok_or_else(|| missing(format!("the volume of Secret {name}")))?;
        return Ok(PathSource::Secret { name, key, optional: s.optional.unwrap_or(false) });
    }
    if let Some(c) = &volume.config_map {
        let name = c.name.clone();
        let key = key_in(c.items.as_ref(), &rel).ok_or_else(|| missing(format!("the volume of ConfigMap {name}")))?;
        return Ok(PathSource::ConfigMap { name, key, optional: c.optional.unwrap_or(false) });
    }
    Ok(PathSource::Volume { name: volume.name.clone(), kind: volume_kind(volume).into() })
}

/// A path variable's value as the container sees it: the Deployment's literal `env` first (known
/// before any Secret is read), else the resolved environment.
fn var_value(container: &Container, env: Option<&ResolvedEnv>, name: &str) -> Option<String> {
    let literal = container.env.iter().flatten().rev().find(|e| e.name == name).and_then(|e| e.value.clone());
    literal.or_else(|| env.and_then(|e| e.plain(name)).map(str::to_string)).filter(|v| !v.is_empty())
}

/// Every place the plugin takes trust from beyond the image's own bundle, and the places people
/// meant it to (`OS_CACERT`, …), each resolved to the object behind it. A path that resolves to
/// nothing (a mount of a Secret without that key) is `Err` with the reason, under its variable.
pub fn trust_files(spec: &PodSpec, container: &Container, env: Option<&ResolvedEnv>) -> Vec<(TrustFile, Result<(), String>)> {
    let mut out = Vec::new();
    let mut push = |via: String, path: String, dir: bool, honoured: bool| {
        let (source, ok) = match resolve_path(spec, container, &path) {
            Ok(s) => (s, Ok(())),
            Err(e) => (PathSource::Image, Err(e)),
        };
        out.push((TrustFile { via, path, dir, source, honoured }, ok));
    };
    if let Some(f) = var_value(container, env, "SSL_CERT_FILE") {
        push("SSL_CERT_FILE".into(), f, false, true);
    }
    if let Some(dirs) = var_value(container, env, "SSL_CERT_DIR") {
        for d in dirs.split(':').filter(|d| !d.is_empty()) {
            push("SSL_CERT_DIR".into(), d.to_string(), true, true);
        }
    }
    // A CA bundle mounted over Go's default paths replaces the image's (only when the variables do
    // not point elsewhere).
    let mounted = |p: &str| container.volume_mounts.iter().flatten().any(|m| m.mount_path.trim_end_matches('/') == p);
    // Go stops at the first bundle file it can read: in the velero image (Ubuntu's ca-certificates)
    // that is the first one, so a mount over the others is never read.
    if var_value(container, env, "SSL_CERT_FILE").is_none() {
        for f in GO_CERT_FILES[..1].iter().filter(|f| mounted(f)) {
            push(format!("a mount over {f}"), f.to_string(), false, true);
        }
    }
    if var_value(container, env, "SSL_CERT_DIR").is_none() {
        for d in GO_CERT_DIRS.iter().filter(|d| mounted(d)) {
            push(format!("a mount over {d}"), d.to_string(), true, true);
        }
    }
    for (name, _) in IGNORED_TLS_VARS.iter().filter(|(n, _)| *n != "OS_INSECURE") {
        if let Some(p) = var_value(container, env, name) {
            push(name.to_string(), p, false, false);
        }
    }
    out
}

/// Whether the image's own CA bundle stays in the plugin's trust. Go reads one bundle file and
/// every file of the CA directories; the image's Mozilla roots are in both
/// `/etc/ssl/certs/ca-certificates.crt` and the directory `/etc/ssl/certs`, so they are gone only
/// when the settings replace both places.
pub fn image_roots_kept(honoured: &[&TrustFile]) -> bool {
    let over_dir = honoured.iter().any(|f| f.via == format!("a mount over {}", GO_CERT_DIRS[0]));
    let file_replaced = over_dir || honoured.iter().any(|f| f.via == "SSL_CERT_FILE" || f.via == format!("a mount over {}", GO_CERT_FILES[0]));
    let dir_replaced = over_dir || honoured.iter().any(|f| f.via == "SSL_CERT_DIR");
    // A variable may name the image's own places again (SSL_CERT_DIR=/mine:/etc/ssl/certs).
    let names_image_again = honoured.iter().any(|f| (f.path == GO_CERT_FILES[0] || f.path == GO_CERT_DIRS[0]) && f.source == PathSource::Image);
    names_image_again || !(file_replaced && dir_replaced)
}

/// The Secrets and ConfigMaps behind the trust files the plugin reads, and behind `OS_CACERT`
/// (whose file veldr checks exists), as far as the Deployment names them: collect reads these.
/// The client key (`OS_KEY`) and certificate are never read.
pub fn referenced_objects(spec: &PodSpec, container: &Container) -> (Vec<String>, Vec<String>) {
    let (mut secrets, mut cms) = (Vec::new(), Vec::new());
    for (f, _) in trust_files(spec, container, None) {
        if !(f.honoured || f.via == "OS_CACERT") {
            continue;
        }
        match f.source {
            PathSource::Secret { name, .. } => secrets.push(name),
            PathSource::ConfigMap { name, .. } => cms.push(name),
            _ => {}
        }
    }
    (secrets, cms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, EnvVar, SecretVolumeSource, VolumeMount};

    fn pod(mounts: Vec<(&str, &str, Option<&str>)>, volumes: Vec<Volume>, env: &[(&str, &str)]) -> (PodSpec, Container) {
        let c = Container {
            name: "velero".into(),
            volume_mounts: Some(
                mounts.into_iter().map(|(n, p, sub)| VolumeMount { name: n.into(), mount_path: p.into(), sub_path: sub.map(str::to_string), ..Default::default() }).collect(),
            ),
            env: Some(env.iter().map(|(k, v)| EnvVar { name: k.to_string(), value: Some(v.to_string()), ..Default::default() }).collect()),
            ..Default::default()
        };
        (PodSpec { containers: vec![c.clone()], volumes: Some(volumes), ..Default::default() }, c)
    }

    fn secret_vol(name: &str, secret: &str, items: Option<Vec<(&str, &str)>>) -> Volume {
        Volume {
            name: name.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.into()),
                items: items.map(|i| i.into_iter().map(|(k, p)| KeyToPath { key: k.into(), path: p.into(), ..Default::default() }).collect()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn paths_resolve_to_the_key_behind_the_deepest_mount() {
        let cm = Volume { name: "bundle".into(), config_map: Some(ConfigMapVolumeSource { name: "ca-bundle".into(), ..Default::default() }), ..Default::default() };
        let (spec, c) = pod(
            vec![("ca", "/etc/velero-ca", None), ("bundle", "/etc/ssl/certs/ca-certificates.crt", Some("bundle.pem")), ("scratch", "/scratch", None)],
            vec![secret_vol("ca", "velero-ca", None), cm, Volume { name: "scratch".into(), empty_dir: Some(Default::default()), ..Default::default() }],
            &[],
        );
        assert_eq!(resolve_path(&spec, &c, "/etc/velero-ca/ca.crt").unwrap(), PathSource::Secret { name: "velero-ca".into(), key: Some("ca.crt".into()), optional: false });
        assert_eq!(resolve_path(&spec, &c, "/etc/velero-ca").unwrap(), PathSource::Secret { name: "velero-ca".into(), key: None, optional: false });
        assert_eq!(
            resolve_path(&spec, &c, "/etc/ssl/certs/ca-certificates.crt").unwrap(),
            PathSource::ConfigMap { name: "ca-bundle".into(), key: Some("bundle.pem".into()), optional: false }
        );
        assert_eq!(resolve_path(&spec, &c, "/etc/ssl/certs/other.pem").unwrap(), PathSource::Image);
        assert_eq!(resolve_path(&spec, &c, "/scratch/ca.pem").unwrap(), PathSource::Volume { name: "scratch".into(), kind: "emptyDir".into() });
        assert_eq!(resolve_path(&spec, &c, "/etc/velero-ca-other/ca.crt").unwrap(), PathSource::Image, "a prefix of a name is not a parent");
    }

    #[test]
    fn items_rename_keys_and_hide_the_others() {
        let (spec, c) = pod(vec![("ca", "/ca", None)], vec![secret_vol("ca", "tls", Some(vec![("tls.crt", "server/ca.pem")]))], &[]);
        assert_eq!(resolve_path(&spec, &c, "/ca/server/ca.pem").unwrap(), PathSource::Secret { name: "tls".into(), key: Some("tls.crt".into()), optional: false });
        let e = resolve_path(&spec, &c, "/ca/tls.key").unwrap_err();
        assert!(e.contains("Secret tls") && e.contains("does not exist"), "{e}");
    }

    #[test]
    fn the_plugin_reads_ssl_cert_variables_and_default_mounts_not_os_cacert() {
        let (spec, c) = pod(
            vec![("ca", "/etc/velero-ca", None)],
            vec![secret_vol("ca", "velero-ca", None)],
            &[("SSL_CERT_DIR", "/etc/velero-ca:/etc/ssl/certs"), ("OS_CACERT", "/etc/velero-ca/ca.crt"), ("OS_KEY", "/etc/velero-ca/tls.key")],
        );
        let files = trust_files(&spec, &c, None);
        let honoured: Vec<(&str, &str)> = files.iter().filter(|(f, _)| f.honoured).map(|(f, _)| (f.via.as_str(), f.path.as_str())).collect();
        assert_eq!(honoured, [("SSL_CERT_DIR", "/etc/velero-ca"), ("SSL_CERT_DIR", "/etc/ssl/certs")]);
        assert!(files.iter().any(|(f, _)| f.via == "OS_CACERT" && !f.honoured));
        let refs: Vec<&TrustFile> = files.iter().filter(|(f, _)| f.honoured).map(|(f, _)| f).collect();
        assert!(image_roots_kept(&refs), "SSL_CERT_DIR names /etc/ssl/certs again");
        assert!(image_roots_kept(&refs[..1]), "SSL_CERT_DIR alone: the bundle file is still read");
        let (spec2, c2) = pod(vec![("ca", "/ca", None)], vec![secret_vol("ca", "velero-ca", None)], &[("SSL_CERT_DIR", "/ca"), ("SSL_CERT_FILE", "/ca/ca.crt")]);
        let files2 = trust_files(&spec2, &c2, None);
        let refs2: Vec<&TrustFile> = files2.iter().map(|(f, _)| f).collect();
        assert!(!image_roots_kept(&refs2), "both places replaced: only the private CA is trusted");
        // The secret behind SSL_CERT_DIR (and OS_CACERT) is read; nothing is read for OS_KEY alone.
        assert_eq!(referenced_objects(&spec, &c), (vec!["velero-ca".to_string(), "velero-ca".to_string()], vec![]));
        let (spec, c) = pod(vec![("k", "/keys", None)], vec![secret_vol("k", "client-key", None)], &[("OS_KEY", "/keys/tls.key")]);
        assert_eq!(referenced_objects(&spec, &c), (vec![], vec![]));
    }
}
