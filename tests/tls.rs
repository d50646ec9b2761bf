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
    common::text_of(check(report, id))
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
    let cluster = serve_lab_env("healthy", &lab_env(&auth_url, &[]), &lab);

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

    // 3. OS_CACERT with the CA that signed it: the whole OpenStack chain passes for veldr. The
    //    plugin, which never reads a CA but the image's, would not: credentials.tls fails.
    let out = doctor(&cluster, &[], Some(&ca));
    let r = report(&out);
    for id in ["keystone.auth", "keystone.catalog", "swift.container", "swift.tempurl"] {
        assert_eq!(status_of(&r, id), "ok", "{id} with OS_CACERT: {}", text_of(&r, id));
    }
    assert_eq!(status_of(&r, "credentials.tls"), "fail", "{}", text_of(&r, "credentials.tls"));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));

    // 4. --insecure: passes without the CA, and says on stderr that nothing was verified.
    let out = doctor(&cluster, &["--insecure"], None);
    let r = report(&out);
    assert_eq!(status_of(&r, "keystone.auth"), "ok", "{}", text_of(&r, "keystone.auth"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning") && stderr.contains("--insecure") && stderr.contains("NOT verified"), "{stderr}");
    assert_eq!(status_of(&r, "credentials.tls"), "fail", "--insecure is veldr's, not the plugin's");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_plugins_tls_skip_verify_is_reported() {
    let lab = lab();
    let keystone = lab["keystone_root"].as_str().unwrap().trim_start_matches("http://").to_string();
    let good = pki("veldr-tls-test");
    let proxy = TlsProxy::start(&keystone, &good);
    let auth_url = format!("https://127.0.0.1:{}/v3", proxy.addr.port());
    let cluster = serve_lab_env("healthy", &lab_env(&auth_url, &[("TLS_SKIP_VERIFY", "true")]), &lab);

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
    let t = text_of(&r, "credentials.tls");
    assert_eq!(status_of(&r, "credentials.tls"), "warn", "{t}");
    assert!(t.contains("TLS_SKIP_VERIFY=true") && t.contains("do not verify without it"), "{t}");
    assert_eq!(out.status.code(), Some(3), "errors alone: the run is incomplete (exit 3)");

    // With --insecure veldr sees what the plugin sees: everything passes, the report still says it.
    let out = doctor(&cluster, &["--insecure"], None);
    let r = report(&out);
    for id in ["keystone.auth", "swift.container", "swift.tempurl"] {
        assert_eq!(status_of(&r, id), "ok", "{id}: {}", text_of(&r, id));
    }
    assert!(text_of(&r, "credentials.env").contains("TLS_SKIP_VERIFY=true"));
}

/// A PEM private key planted next to the CA in the Secret the plugin's trust reads: veldr keeps only
/// the certificates, so it must never show up anywhere.
const PLANTED_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPLANTEDveldrTLSclientKEYmustNEVERleak00\n-----END PRIVATE KEY-----\n";

/// The lab behind TLS, both services: Keystone and Swift (through OS_SWIFT_ENDPOINT_OVERRIDE) behind
/// proxies with certificates of `pki`; the velero Deployment mounts Secret velero-ca (the CA and a
/// planted key) at /etc/velero-ca and sets `container_env` literally.
struct TlsLab {
    cluster: Cluster,
    keystone: u16,
    swift: u16,
    _proxies: (TlsProxy, TlsProxy),
}

fn tls_lab(lab: &Value, pki: &Pki, secret_env: &[(&'static str, &'static str)], container_env: &[(&str, &str)]) -> TlsLab {
    let keystone = TlsProxy::start(lab["keystone_root"].as_str().unwrap().trim_start_matches("http://"), pki);
    let swift = TlsProxy::start(lab["swift_a"].as_str().unwrap().trim_start_matches("http://"), pki);
    let auth_url = format!("https://127.0.0.1:{}/v3", keystone.addr.port());
    let mut vars = lab_env(&auth_url, secret_env);
    vars.insert("OS_SWIFT_ENDPOINT_OVERRIDE".into(), format!("https://127.0.0.1:{}/v1/{{account}}", swift.addr.port()));
    let dir = materialize("healthy", None);
    point_env_at_lab(dir.path(), &vars, Some("{containers.main.name}"), lab);
    let mut objects = read_objects(dir.path());
    for o in objects.iter_mut().filter(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "velero") {
        let spec = &mut o["spec"]["template"]["spec"];
        spec["volumes"].as_array_mut().unwrap().push(serde_json::json!({"name": "velero-ca", "secret": {"secretName": "velero-ca"}}));
        let c = &mut spec["containers"][0];
        c["volumeMounts"].as_array_mut().unwrap().push(serde_json::json!({"name": "velero-ca", "mountPath": "/etc/velero-ca", "readOnly": true}));
        for (k, v) in container_env {
            c["env"].as_array_mut().unwrap().push(serde_json::json!({"name": k, "value": v}));
        }
    }
    objects.push(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "velero-ca", "namespace": "velero"},
        "stringData": {"ca.crt": pki.ca_pem, "tls.key": PLANTED_KEY}
    }));
    write_objects(dir.path(), &objects);
    TlsLab { cluster: serve_dir(dir), keystone: keystone.addr.port(), swift: swift.addr.port(), _proxies: (keystone, swift) }
}

fn assert_no_planted_key(out: &Output) {
    for text in [String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)] {
        assert!(!text.contains("PLANTEDveldr") && !text.contains("PRIVATE KEY"), "the planted key leaked: {text}");
    }
}

#[test]
fn the_plugins_own_trust_decides_not_veldrs() {
    let lab = lab();
    let good = pki("veldr-plugin-ca");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &good.ca_pem).unwrap();

    // 1. The plugin trusts the CA: SSL_CERT_DIR names the mounted Secret (Go reads every file there).
    let trusted = tls_lab(&lab, &good, &[], &[("SSL_CERT_DIR", "/etc/velero-ca:/etc/ssl/certs")]);
    let out = doctor(&trusted.cluster, &[], Some(&ca));
    assert_no_planted_key(&out);
    let r = report(&out);
    let t = text_of(&r, "credentials.tls");
    assert_eq!(status_of(&r, "credentials.tls"), "ok", "{t}");
    assert!(t.contains(&format!("Keystone at 127.0.0.1:{}", trusted.keystone)) && t.contains(&format!("Swift (BSL default) at 127.0.0.1:{}", trusted.swift)), "{t}");
    assert!(t.contains("1 certificate(s) from Secret velero-ca key ca.crt (SSL_CERT_DIR /etc/velero-ca)"), "{t}");
    for id in ["keystone.auth", "swift.container", "swift.tempurl", "swift.capacity"] {
        assert_eq!(status_of(&r, id), "ok", "{id}: {}", text_of(&r, id));
    }
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // …and veldr without the CA: its own Keystone call fails, the plugin's trust still verifies.
    let out = doctor(&trusted.cluster, &[], None);
    let r = report(&out);
    assert_eq!(status_of(&r, "keystone.auth"), "fail");
    let t = text_of(&r, "credentials.tls");
    assert_eq!(status_of(&r, "credentials.tls"), "ok", "{t}");
    assert!(t.contains("veldr itself could not verify Keystone's certificate") && t.contains("OS_CACERT"), "{t}");

    // 2. OS_CACERT (what the openstack CLI reads) points at the same mounted CA: the plugin ignores it.
    let ignored = tls_lab(&lab, &good, &[], &[("OS_CACERT", "/etc/velero-ca/ca.crt")]);
    let out = doctor(&ignored.cluster, &[], Some(&ca));
    assert_no_planted_key(&out);
    let r = report(&out);
    assert_eq!(status_of(&r, "keystone.auth"), "ok", "veldr trusts the CA: {}", text_of(&r, "keystone.auth"));
    let t = text_of(&r, "credentials.tls");
    assert_eq!(status_of(&r, "credentials.tls"), "fail", "{t}");
    assert!(t.contains("x509: certificate signed by unknown authority") && t.contains("although veldr itself verified it"), "{t}");
    assert!(t.contains("(and 1 more problem)") && t.contains(&format!("Swift (BSL default) at 127.0.0.1:{}", ignored.swift)), "Keystone and Swift both: {t}");
    assert!(t.contains("OS_CACERT=/etc/velero-ca/ca.crt: the file exists (Secret velero-ca key ca.crt), but the plugin never reads OS_CACERT"), "{t}");
    assert!(t.contains("SSL_CERT_DIR=/etc/velero-ca:/etc/ssl/certs"), "the fix: {t}");
    assert_eq!(out.status.code(), Some(1));
    // …and with --insecure veldr's own calls pass: the plugin's still would not.
    let r = report(&doctor(&ignored.cluster, &["--insecure"], None));
    let t = text_of(&r, "credentials.tls");
    assert_eq!(status_of(&r, "credentials.tls"), "fail", "{t}");
    assert!(t.contains("--insecure skipped verification"), "{t}");
}
