//! TLS towards OpenStack: a TLS-terminating proxy (its own CA, made here) in front of the lab's
//! Keystone. Certificate verification is on by default; `OS_CACERT` (the operator's variable) adds a
//! CA; `--insecure` skips verification and says so on stderr; the plugin's own `TLS_SKIP_VERIFY` in
//! the velero container is reported.

mod common;

use common::*;
use serde_json::Value;
use std::net::SocketAddr;
use std::process::Output;
use std::sync::Arc;

/// A CA and a server certificate for 127.0.0.1/localhost signed by it.
struct Pki {
    ca_pem: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn pki(name: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(DnType::CommonName, format!("{name} CA"));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca).unwrap();
    Pki { ca_pem: ca.pem(), cert: cert.der().clone(), key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()) }
}

/// Terminates TLS on 127.0.0.1 and forwards the plain bytes to `upstream`.
struct TlsProxy {
    addr: SocketAddr,
    rt: Option<tokio::runtime::Runtime>,
}

impl TlsProxy {
    fn start(upstream: &str, pki: &Pki) -> TlsProxy {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![pki.cert.clone()], pki.key.clone_key())
            .unwrap();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = upstream.to_string();
        rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to forward.
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        TlsProxy { addr, rt: Some(rt) }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn doctor(cluster: &Cluster, args: &[&str], cacert: Option<&std::path::Path>) -> Output {
    let mut cmd = veldr();
    cmd.arg("doctor").arg("--kubeconfig").arg(&cluster.kubeconfig).args(["-o", "json", "--timeout", "10s"]).args(args);
    if let Some(path) = cacert {
        cmd.env("OS_CACERT", path);
    }
    cmd.output().expect("run veldr")
}

fn status_of(report: &Value, id: &str) -> String {
    check(report, id)["status"].as_str().unwrap_or_default().to_string()
}

fn text_of(report: &Value, id: &str) -> String {
    let c = check(report, id);
    let mut s = c["summary"].as_str().unwrap_or_default().to_string();
    for d in c["details"].as_array().into_iter().flatten() {
        s.push('\n');
        s.push_str(d.as_str().unwrap_or_default());
    }
    s.push('\n');
    s.push_str(c["hint"].as_str().unwrap_or_default());
    s
}

fn env_for(auth_url: &str, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("OS_AUTH_URL", auth_url.to_string()),
        ("OS_APPLICATION_CREDENTIAL_ID", "{appcred.id}".to_string()),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "{appcred.secret}".to_string()),
        ("OS_REGION_NAME", "{region_a}".to_string()),
        ("OS_SWIFT_TEMP_URL_KEY", "{containers.main.key}".to_string()),
        ("OS_SWIFT_TEMP_URL_DIGEST", "sha256".to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    env
}

fn serve_env(env: &[(&'static str, String)], lab: &Value) -> Cluster {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    serve_lab_env("healthy", &pairs, lab)
}

#[test]
fn keystone_certificates_are_verified_unless_told_otherwise() {
    let lab = lab();
    let keystone = lab["keystone_root"].as_str().unwrap().trim_start_matches("http://").to_string();
    let good = pki("veldr-tls-test");
    let proxy = TlsProxy::start(&keystone, &good);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &good.ca_pem).unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, pki("another").ca_pem).unwrap();
    let auth_url = format!("https://127.0.0.1:{}/v3", proxy.addr.port());
    let cluster = serve_env(&env_for(&auth_url, &[]), &lab);

    // 1. Verification is on by default: an unknown CA fails keystone.auth, naming TLS and the fix.
    let out = doctor(&cluster, &[], None);
    let r = report(&out);
    assert_eq!(status_of(&r, "keystone.auth"), "fail", "{}", text_of(&r, "keystone.auth"));
    let t = text_of(&r, "keystone.auth");
    assert!(t.contains("TLS") && t.contains("not trusted") && t.contains("OS_CACERT"), "{t}");
    assert_eq!(status_of(&r, "keystone.catalog"), "skip");
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("--insecure"));

    // 2. OS_CACERT naming another CA does not help.
    let r = report(&doctor(&cluster, &[], Some(&other_ca)));
    assert_eq!(status_of(&r, "keystone.auth"), "fail", "{}", text_of(&r, "keystone.auth"));

    // 3. OS_CACERT with the CA that signed it: the whole OpenStack chain passes.
    let out = doctor(&cluster, &[], Some(&ca));
    let r = report(&out);
    for id in ["keystone.auth", "keystone.catalog", "swift.container", "swift.tempurl"] {
        assert_eq!(status_of(&r, id), "ok", "{id} with OS_CACERT: {}", text_of(&r, id));
    }
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // 4. --insecure: passes without the CA, and says on stderr that nothing was verified.
    let out = doctor(&cluster, &["--insecure"], None);
    let r = report(&out);
    assert_eq!(status_of(&r, "keystone.auth"), "ok", "{}", text_of(&r, "keystone.auth"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning") && stderr.contains("--insecure") && stderr.contains("NOT verified"), "{stderr}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_plugins_tls_skip_verify_is_reported() {
    let lab = lab();
    let keystone = lab["keystone_root"].as_str().unwrap().trim_start_matches("http://").to_string();
    let good = pki("veldr-tls-test");
    let proxy = TlsProxy::start(&keystone, &good);
    let auth_url = format!("https://127.0.0.1:{}/v3", proxy.addr.port());
    let cluster = serve_env(&env_for(&auth_url, &[("TLS_SKIP_VERIFY", "true")]), &lab);

    // The plugin would not verify this certificate, veldr does: veldr could not evaluate (error),
    // and says how to check the rest; credentials.env reports TLS_SKIP_VERIFY.
    let out = doctor(&cluster, &[], None);
    let r = report(&out);
    assert_eq!(status_of(&r, "keystone.auth"), "error", "{}", text_of(&r, "keystone.auth"));
    let t = text_of(&r, "keystone.auth");
    assert!(t.contains("TLS_SKIP_VERIFY=true") && t.contains("--insecure") && t.contains("OS_CACERT"), "{t}");
    let env = text_of(&r, "credentials.env");
    assert_eq!(status_of(&r, "credentials.env"), "ok", "{env}");
    assert!(env.contains("TLS_SKIP_VERIFY=true: the plugin does not verify"), "{env}");
    assert_eq!(out.status.code(), Some(3), "errors alone: the run is incomplete (exit 3)");

    // With --insecure veldr sees what the plugin sees: everything passes, the report still says it.
    let out = doctor(&cluster, &["--insecure"], None);
    let r = report(&out);
    for id in ["keystone.auth", "swift.container", "swift.tempurl"] {
        assert_eq!(status_of(&r, id), "ok", "{id}: {}", text_of(&r, id));
    }
    assert!(text_of(&r, "credentials.env").contains("TLS_SKIP_VERIFY=true"));
}
