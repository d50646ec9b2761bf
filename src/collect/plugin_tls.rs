//! credentials.tls's read: the Keystone and Swift certificates verified under the trust the plugin
//! will use (`crate::upstream::plugin_trust`), independently of veldr's own `OS_CACERT`/`--insecure`. One TLS
//! handshake per distinct `host:port` (no HTTP request is sent), all concurrent, under the run's
//! deadline. Self-contained: called once per run with the hosts the other OpenStack reads found.

use super::kube::{Deadline, Sensitive};
use crate::facts::{Facts, List, LoadedCa, Read, OpenStackFacts, PluginTls, Problem, ProblemKind, ResolvedEnv, TlsEndpoint, TlsResult};
use crate::upstream::plugin_trust::{self, PathSource, TrustFile};
use crate::upstream::velero;
use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// The CA certificates of one file of the plugin's trust, read from the Secret or ConfigMap behind it.
#[derive(Clone)]
pub struct PluginCa {
    pub loaded: LoadedCa,
    pub certs: Vec<CertificateDer<'static>>,
}

/// What the plugin's trust holds beyond the image's roots, computed while the values of the objects
/// the velero container names are at hand. Only `CERTIFICATE` blocks are kept: a private key stored
/// in the same Secret (a `kubernetes.io/tls` Secret's `tls.key`) is never parsed or kept.
pub struct PluginTrust {
    pub image_roots: bool,
    pub cas: Vec<PluginCa>,
}

pub fn plugin_trust(deployments: &Read<List<Deployment>>, sensitive: &Sensitive, namespace: &str, env: Option<&ResolvedEnv>) -> Option<PluginTrust> {
    let deployments = deployments.as_ref().ok()?;
    let dep = velero::find_deployment(deployments, namespace)?;
    let spec = dep.spec.template.spec.as_ref()?;
    let container = velero::server_container(dep)?;
    let files = plugin_trust::trust_files(spec, container, env);
    let honoured: Vec<&TrustFile> = files.iter().filter(|(f, _)| f.honoured).map(|(f, _)| f).collect();
    let mut cas = Vec::new();
    for f in &honoured {
        let values: Vec<(String, Vec<u8>)> = match &f.source {
            PathSource::Secret { name, key, .. } => pick(sensitive.secrets.get(name).map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()), key),
            PathSource::ConfigMap { name, key, .. } => {
                pick(sensitive.config_maps.get(name).map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect()), key)
            }
            _ => Vec::new(),
        };
        for (key, bytes) in values {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok).collect();
            if certs.is_empty() {
                continue;
            }
            let from = match &f.source {
                PathSource::Secret { name, .. } => format!("Secret {name} key {key}"),
                PathSource::ConfigMap { name, .. } => format!("ConfigMap {name} key {key}"),
                other => other.describe(),
            };
            cas.push(PluginCa { loaded: LoadedCa { via: f.via.clone(), path: f.path.clone(), from, certificates: certs.len() }, certs });
        }
    }
    Some(PluginTrust { image_roots: plugin_trust::image_roots_kept(&honoured), cas })
}

/// The keys of a read object a trust file names: one key, or all of them for a directory.
fn pick(values: Option<Vec<(String, Vec<u8>)>>, key: &Option<String>) -> Vec<(String, Vec<u8>)> {
    let Some(values) = values else { return Vec::new() };
    match key {
        Some(k) => values.into_iter().filter(|(name, _)| name == k).collect(),
        None => values,
    }
}

/// `host:port` of an https URL (`None` for http:// and anything unparsable: no TLS to check).
fn https_host(url: &str) -> Option<(String, u16)> {
    let u = url::Url::parse(url).ok()?;
    if u.scheme() != "https" {
        return None;
    }
    Some((u.host_str()?.trim_start_matches('[').trim_end_matches(']').to_string(), u.port_or_known_default()?))
}

/// The https hosts the plugin will talk to: each BSL's auth URL (Keystone) and Swift endpoint.
fn hosts(facts: &Facts, os: &OpenStackFacts, env: &ResolvedEnv) -> BTreeMap<(String, u16), Vec<String>> {
    let mut out: BTreeMap<(String, u16), Vec<String>> = BTreeMap::new();
    let mut add = |url: &str, who: String| {
        if let Some(hp) = https_host(url) {
            let users = out.entry(hp).or_default();
            if !users.contains(&who) {
                users.push(who);
            }
        }
    };
    if let Ok(bsls) = &facts.kube.backup_storage_locations {
        for b in bsls.iter().filter(|b| b.is_openstack()) {
            let pc = crate::upstream::openstack_plugin::effective(env, &b.spec.config);
            if let Some(url) = &pc.auth_url {
                add(url, "Keystone".into());
            }
        }
    }
    for t in &os.targets {
        match &t.endpoint {
            Some(Ok(ep)) => add(ep, format!("Swift (BSL {})", t.bsl)),
            // Without a catalog (no token), the override is still where the plugin goes.
            _ => {
                if let Some(ep) = &t.plugin.endpoint_override {
                    add(ep, format!("Swift (BSL {})", t.bsl));
                }
            }
        }
    }
    out
}

/// Verifies every https host under the plugin's trust. `None` when the plugin's settings are unknown.
pub async fn collect(facts: &Facts, os: &OpenStackFacts, trust: Option<&PluginTrust>, deadline: &Deadline) -> Option<PluginTls> {
    let (trust, env) = (trust?, facts.velero_env.as_ref()?);
    let t0 = Instant::now();
    let mut roots = rustls::RootCertStore::empty();
    if trust.image_roots {
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    }
    for ca in &trust.cas {
        roots.add_parsable_certificates(ca.certs.iter().cloned());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(b) => Arc::new(b.with_root_certificates(roots).with_no_client_auth()),
        Err(e) => {
            tracing::warn!(target: "veldr::collect", error = %e, "no TLS configuration for the plugin-trust handshakes");
            return None;
        }
    };
    let hosts = hosts(facts, os, env);
    let checks = hosts.into_iter().map(|((host, port), used_by)| {
        let config = config.clone();
        async move {
            let result = match tokio::time::timeout_at(deadline.at, handshake(config, &host, port)).await {
                Ok(r) => r,
                Err(_) => TlsResult::NoHandshake {
                    problem: Problem::new(ProblemKind::Timeout, format!("{host}:{port} did not finish a TLS handshake within the run's --timeout")),
                },
            };
            TlsEndpoint { host_port: format!("{host}:{port}"), used_by, result }
        }
    });
    let endpoints = join_all(checks).await;
    Some(PluginTls {
        image_roots: trust.image_roots,
        cas: trust.cas.iter().map(|c| c.loaded.clone()).collect(),
        endpoints,
        elapsed_ms: t0.elapsed().as_millis() as u64,
    })
}

/// Connects and completes one TLS handshake (verification included), then closes.
async fn handshake(config: Arc<rustls::ClientConfig>, host: &str, port: u16) -> TlsResult {
    let target = format!("{host}:{port}");
    let no = |kind, message: String| TlsResult::NoHandshake { problem: Problem::new(kind, message) };
    let Ok(name) = ServerName::try_from(host.to_string()) else {
        return no(ProblemKind::BadUrl, format!("{host} is not a host name TLS can verify"));
    };
    let tcp = match tokio::net::TcpStream::connect((host, port)).await {
        Ok(s) => s,
        Err(e) => return no(ProblemKind::Unreachable, format!("cannot connect to {target}: {e}")),
    };
    match tokio_rustls::TlsConnector::from(config).connect(name, tcp).await {
        Ok(_) => TlsResult::Verified,
        Err(e) => match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(c)) => untrusted(c, host),
            Some(rustls::Error::InvalidMessage(_)) | Some(rustls::Error::InappropriateMessage { .. }) => {
                no(ProblemKind::Tls, format!("{target} does not speak TLS (a plain-HTTP port behind an https:// URL?)"))
            }
            Some(other) => no(ProblemKind::Tls, format!("TLS handshake with {target} failed: {other}")),
            None => no(ProblemKind::Unreachable, format!("TLS handshake with {target} failed: {e}")),
        },
    }
}

/// A certificate the plugin's Go TLS stack refuses: why, and the text Go gives (which Velero shows
/// as `failed to authenticate: Post "https://…": tls: failed to verify certificate: x509: …`).
fn untrusted(c: &rustls::CertificateError, host: &str) -> TlsResult {
    use rustls::CertificateError as C;
    let (reason, go) = match c {
        C::UnknownIssuer | C::BadSignature => ("its issuer is not in the plugin's trust".to_string(), "x509: certificate signed by unknown authority".to_string()),
        C::Expired | C::ExpiredContext { .. } => ("it has expired".into(), "x509: certificate has expired or is not yet valid".into()),
        C::NotValidYet | C::NotValidYetContext { .. } => ("it is not valid yet".into(), "x509: certificate has expired or is not yet valid".into()),
        C::NotValidForName | C::NotValidForNameContext { .. } => (format!("it is not issued for {host}"), format!("x509: certificate is valid for other names, not {host}")),
        other => (format!("it was rejected ({other:?})"), format!("x509: {other:?}")),
    };
    TlsResult::Untrusted { reason, go_error: format!("tls: failed to verify certificate: {go}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_hosts_are_checked() {
        assert_eq!(https_host("https://keystone.example/v3"), Some(("keystone.example".into(), 443)));
        assert_eq!(https_host("https://[::1]:5000/v3"), Some(("::1".into(), 5000)));
        assert_eq!(https_host("http://keystone.example:5000/v3"), None);
        assert_eq!(https_host("not a url"), None);
    }

    #[test]
    fn go_error_texts_are_the_plugins() {
        let TlsResult::Untrusted { go_error, .. } = untrusted(&rustls::CertificateError::UnknownIssuer, "k") else { panic!() };
        assert_eq!(go_error, "tls: failed to verify certificate: x509: certificate signed by unknown authority");
        let TlsResult::Untrusted { reason, .. } = untrusted(&rustls::CertificateError::NotValidForName, "k.example") else { panic!() };
        assert!(reason.contains("k.example"));
    }

    #[test]
    fn a_directory_takes_every_key_a_file_one() {
        let v = || Some(vec![("ca.crt".to_string(), b"a".to_vec()), ("tls.key".to_string(), b"k".to_vec())]);
        assert_eq!(pick(v(), &Some("ca.crt".into())).len(), 1);
        assert_eq!(pick(v(), &None).len(), 2);
        assert!(pick(None, &None).is_empty());
    }
}
