//! No secret reaches any output: for lab scenarios (real credential secrets, tokens, temp-URL keys),
//! every output format (the table also wrapped at a narrow width), `-v` logs and the saved bundle are
//! searched for every secret value.
//! The scanner itself is tested by planting a leak. The fixture clusters' vSphere CSI config secret
//! carries a planted vCenter password next to the `[Snapshot]` limit veldr reads: it must appear nowhere.

mod common;

use common::*;
use serde_json::Value;

/// Every secret value in lab.json (credential secrets, passwords, temp-URL keys).
fn lab_secrets(lab: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, key: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, k, out)),
            Value::String(s) if (key.contains("secret") || key.contains("password") || key == "key" || key == "key2" || key.ends_with("_key")) && s.len() >= 8 => out.push(s.clone()),
            _ => {}
        }
    }
    walk(lab, "", &mut out);
    out
}

/// The leaks of `secrets` in `text`, by name of where they were found.
fn leaks(text: &str, secrets: &[String], place: &str) -> Vec<String> {
    secrets.iter().filter(|s| text.contains(s.as_str())).map(|s| format!("{place}: contains a secret starting {:?}", &s[..4])).collect()
}

#[test]
fn the_scanner_catches_a_planted_leak() {
    let secrets = vec!["s3cr3t-credential-value".to_string()];
    let planted = format!("report line\nOS_APPLICATION_CREDENTIAL_SECRET={}\n", secrets[0]);
    assert_eq!(leaks(&planted, &secrets, "planted").len(), 1);
    assert!(leaks("nothing here sha256:1a2b3c4d", &secrets, "clean").is_empty());
}

#[test]
fn no_output_bundle_or_log_carries_a_secret() {
    let lab = lab();
    let secrets = lab_secrets(&lab);
    assert!(secrets.len() >= 6, "lab.json should yield the credential secrets and keys: {}", secrets.len());
    let mut found = Vec::new();
    // lab-backup-failures: the results facts read from Swift (messages in the bundle and every output).
    for scenario in ["lab-healthy", "lab-key-mismatch", "lab-wrong-secret", "lab-digest-unset", "lab-backup-failures"] {
        let cluster = serve(scenario, Some(&lab));
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.json");
        for output in ["table", "json", "prometheus", "nagios", "markdown", "junit"] {
            let mut args = vec!["-o", output, "-vv", "--color", "always"];
            if output == "json" {
                args.extend(["--save-bundle", bundle.to_str().unwrap()]);
            }
            let out = run(&cluster, &args);
            found.extend(leaks(&String::from_utf8_lossy(&out.stdout), &secrets, &format!("{scenario} -o {output} stdout")));
            found.extend(leaks(&String::from_utf8_lossy(&out.stderr), &secrets, &format!("{scenario} -o {output} -vv stderr")));
        }
        // The table laid out for a narrow terminal: a long value may be cut inside its cell, so the
        // text is searched with the line breaks, padding and borders between the pieces taken out.
        let narrow = veldr().arg("doctor").arg("--kubeconfig").arg(&cluster.kubeconfig).env("COLUMNS", "60").output().unwrap();
        let joined: String = String::from_utf8_lossy(&narrow.stdout).chars().filter(|c| !c.is_whitespace() && !"│┆".contains(*c)).collect();
        found.extend(leaks(&joined, &secrets, &format!("{scenario} -o table at 60 columns")));
        let text = std::fs::read_to_string(&bundle).expect("bundle written");
        found.extend(leaks(&text, &secrets, &format!("{scenario} bundle")));
        // The bundle replays to the same verdicts, offline.
        let replay = veldr().args(["doctor", "-o", "json", "--from-bundle", bundle.to_str().unwrap()]).output().unwrap();
        let live = run(&cluster, &["-o", "json"]);
        let ids = |o: &std::process::Output| -> Vec<(String, String)> {
            report(o)["checks"].as_array().unwrap().iter().map(|c| (c["id"].as_str().unwrap().into(), c["status"].as_str().unwrap().into())).collect()
        };
        assert_eq!(ids(&replay), ids(&live), "{scenario}: a bundle must judge as the live run did");
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

/// The plugin's trust is read from the Secret its `SSL_CERT_DIR` names. Such a Secret often holds a
/// private key next to the CA (a `kubernetes.io/tls` Secret): only the certificates are kept, so the
/// key never reaches an output, a log or the bundle. A client key that `OS_KEY` names is not even read.
#[test]
fn a_private_key_next_to_the_plugins_ca_never_leaks() {
    let lab = lab();
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHplantedNEXTtoTHEcaNEVERshownANYWHERE0000\n-----END PRIVATE KEY-----\n";
    const CLIENT_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHplantedCLIENTkeyOFosKEYneverREAD0000000\n-----END PRIVATE KEY-----\n";
    let ca = {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap().pem()
    };
    let dir = materialize("lab-healthy", Some(&lab));
    let mut objects = read_objects(dir.path());
    for o in objects.iter_mut().filter(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "velero") {
        let spec = &mut o["spec"]["template"]["spec"];
        for (name, secret) in [("velero-ca", "velero-ca"), ("client", "client-key")] {
            spec["volumes"].as_array_mut().unwrap().push(serde_json::json!({"name": name, "secret": {"secretName": secret}}));
        }
        let c = &mut spec["containers"][0];
        c["volumeMounts"].as_array_mut().unwrap().extend([
            serde_json::json!({"name": "velero-ca", "mountPath": "/etc/velero-ca"}),
            serde_json::json!({"name": "client", "mountPath": "/etc/client"}),
        ]);
        c["env"].as_array_mut().unwrap().extend([
            serde_json::json!({"name": "SSL_CERT_DIR", "value": "/etc/velero-ca:/etc/ssl/certs"}),
            serde_json::json!({"name": "OS_KEY", "value": "/etc/client/tls.key"}),
        ]);
    }
    objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "velero-ca", "namespace": "velero"}, "stringData": {"tls.crt": ca, "tls.key": KEY}}));
    objects.push(serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "client-key", "namespace": "velero"}, "stringData": {"tls.key": CLIENT_KEY}}));
    write_objects(dir.path(), &objects);
    let cluster = serve_dir(dir);
    let secrets = vec!["HplantedNEXTtoTHEca".to_string(), "HplantedCLIENTkey".to_string(), "PRIVATE KEY".to_string()];
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle.json");
    let mut found = Vec::new();
    for output in ["table", "json", "markdown"] {
        let mut args = vec!["-o", output, "-vv"];
        if output == "json" {
            args.extend(["--save-bundle", bundle.to_str().unwrap()]);
        }
        let out = run(&cluster, &args);
        found.extend(leaks(&String::from_utf8_lossy(&out.stdout), &secrets, &format!("-o {output} stdout")));
        found.extend(leaks(&String::from_utf8_lossy(&out.stderr), &secrets, &format!("-o {output} -vv stderr")));
    }
    let text = std::fs::read_to_string(&bundle).unwrap();
    found.extend(leaks(&text, &secrets, "bundle"));
    assert!(found.is_empty(), "leaked:\n{}", found.join("\n"));
    // The CA was read (so the key was at hand), the client key's Secret never asked for.
    assert!(text.contains("Secret velero-ca key tls.crt"), "the CA was loaded into the plugin's trust");
    let asked: Vec<String> = cluster.server.requests().iter().map(|r| r.path.clone()).collect();
    assert!(asked.iter().any(|p| p.ends_with("/secrets/velero-ca")), "{asked:?}");
    assert!(!asked.iter().any(|p| p.ends_with("/secrets/client-key")), "OS_KEY's Secret must not be read: {asked:?}");
}

/// `veldr logs` prints Velero's objects and says what it tried: never a credential, key or token
/// (its `-vv` logs name the object URLs it GETs, never the `X-Auth-Token` sent with them).
#[test]
fn veldr_logs_carries_no_secret() {
    let lab = lab();
    let secrets = lab_secrets(&lab);
    let store = &lab["velero_store"];
    let (partial, failed, restore) = (store["partially_failed"].as_str().unwrap(), store["failed_without_results"].as_str().unwrap(), store["restore"].as_str().unwrap());
    let mut found = Vec::new();
    for scenario in ["lab-backup-failures", "lab-wrong-secret"] {
        let cluster = serve(scenario, Some(&lab));
        for (subject, results) in [(format!("backup/{partial}"), false), (format!("backup/{partial}"), true), (format!("backup/{failed}"), true), (format!("restore/{restore}"), false)] {
            let mut c = veldr();
            c.arg("logs").arg("--kubeconfig").arg(&cluster.kubeconfig).arg(&subject).arg("-vv");
            if results {
                c.arg("--results");
            }
            let out = c.output().unwrap();
            let place = format!("{scenario} veldr logs {subject}{}", if results { " --results" } else { "" });
            assert!(out.status.code().is_some_and(|c| c <= 2), "{place}: {:?}", out.status);
            found.extend(leaks(&String::from_utf8_lossy(&out.stdout), &secrets, &format!("{place} stdout")));
            let stderr = String::from_utf8_lossy(&out.stderr);
            found.extend(leaks(&stderr, &secrets, &format!("{place} -vv stderr")));
            assert!(!stderr.to_lowercase().contains("x-auth-token:"), "{place}: {stderr}");
        }
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

/// `veldr restore-check`: every output format with `-vv`, and its bundle, for scenarios that read the
/// backup's objects from Swift (tarball, resource list, results). The backup's tarball holds an
/// application Secret (lab `restore_check.planted_secret`): restore-check decodes only volume entries,
/// so neither its value nor its base64 may appear; nor may the Keystone token's header.
#[test]
fn restore_check_carries_no_secret() {
    let lab = lab();
    let mut secrets = lab_secrets(&lab);
    let planted = lab["restore_check"]["planted_secret"].as_str().expect("lab.json restore_check.planted_secret").to_string();
    use base64::Engine;
    secrets.push(base64::engine::general_purpose::STANDARD.encode(planted.as_bytes()));
    secrets.push(planted);
    let mut found = Vec::new();
    for (scenario, backup) in [("ready", "dr-ready-20261201020000"), ("partially-failed", "dr-partial-20261201020000"), ("conflicts", "dr-ready-20261201020000")] {
        let cluster = serve(&format!("../restore/{scenario}"), Some(&lab));
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.json");
        for output in ["table", "json", "prometheus", "nagios", "markdown", "junit"] {
            let mut c = veldr();
            c.args(["restore-check", &format!("backup/{backup}"), "--kubeconfig"]).arg(&cluster.kubeconfig).args(["-o", output, "-vv", "--color", "always"]);
            if output == "json" {
                c.args(["--record", bundle.to_str().unwrap()]);
            }
            let out = c.output().unwrap();
            let place = format!("restore-check {scenario} -o {output}");
            assert!(out.status.code().is_some_and(|c| c <= 2), "{place}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
            found.extend(leaks(&String::from_utf8_lossy(&out.stdout), &secrets, &format!("{place} stdout")));
            let stderr = String::from_utf8_lossy(&out.stderr);
            found.extend(leaks(&stderr, &secrets, &format!("{place} -vv stderr")));
            assert!(!stderr.to_lowercase().contains("x-auth-token:"), "{place}: {stderr}");
        }
        let text = std::fs::read_to_string(&bundle).expect("bundle written");
        found.extend(leaks(&text, &secrets, &format!("restore-check {scenario} bundle")));
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

/// Planted in `csi-vsphere.conf` of the fixture clusters' `vsphere-config-secret` (healthy/vsphere.yaml
/// and the snapshot scenarios), with the vCenter user beside it.
const VCENTER_SECRETS: [&str; 3] = ["PLANTED-vcenter-pw-9c41e7", "9c41e7", "svc-k8s-csi@vsphere.local"];

#[test]
fn the_vcenter_password_beside_the_snapshot_limit_never_leaves_collect() {
    let secrets: Vec<String> = VCENTER_SECRETS.iter().map(|s| s.to_string()).collect();
    let mut found = Vec::new();
    // healthy: read and parsed; unparsable: parse errors on the password's lines; kube-system: the
    // older location; exceeded: the limit quoted in a failing verdict.
    for scenario in ["healthy", "vsphere-config-unparsable", "snapshot-limit-kube-system", "snapshot-limit-exceeded"] {
        let objects = std::fs::read_to_string(materialize(scenario, None).path().join("objects.yaml")).unwrap();
        assert!(objects.contains(VCENTER_SECRETS[0]), "{scenario}: the fixture must hold the planted password");
        let cluster = serve(scenario, None);
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.json");
        for output in ["table", "json", "prometheus", "nagios", "markdown", "junit"] {
            // -vv: veldr at trace, kube at debug.
            let mut args = vec!["-o", output, "-vv", "--skip", "openstack"];
            if output == "json" {
                args.extend(["--save-bundle", bundle.to_str().unwrap()]);
            }
            let out = run(&cluster, &args);
            found.extend(leaks(&String::from_utf8_lossy(&out.stdout), &secrets, &format!("{scenario} -o {output} stdout")));
            found.extend(leaks(&String::from_utf8_lossy(&out.stderr), &secrets, &format!("{scenario} -o {output} -vv stderr")));
            if output == "json" {
                // The secret was read (the limit it holds is judged), not merely skipped.
                let report = report(&out);
                let limit = &check(&report, "csi.snapshot-limit")["evidence"]["limit"];
                assert!(limit["source"].as_str().is_some_and(|s| s.contains("vsphere-config-secret")), "{scenario}: {limit}");
            }
        }
        let text = std::fs::read_to_string(&bundle).expect("bundle written");
        found.extend(leaks(&text, &secrets, &format!("{scenario} bundle")));
        let explain = veldr().args(["explain", "csi.snapshot-limit"]).output().unwrap();
        found.extend(leaks(&String::from_utf8_lossy(&explain.stdout), &secrets, "explain"));
    }
    assert!(found.is_empty(), "the vCenter credentials leaked:\n{}", found.join("\n"));
}

/// Planted in the velero container's log of the fixture scenario velero-logs-telltales
/// (tests/fixtures/tools/skew_scenarios.py PLANTED), each in a line veldr keeps: a temp-URL signature, an
/// X-Auth-Token, a bearer token, `password=`, `secret=`, `key=`, a password in escaped JSON, URL user-info and
/// a Fernet token. A line that matches no telltale must not be kept at all.
const LOG_SECRETS: [&str; 9] = [
    "PLANTEDsigQ9xZ7wV5", "PLANTED-auth-token-7f3a", "PLANTED-bearer-55e1", "PLANTED-pw-d00d", "PLANTED-secret-c0de", "PLANTED-key-beef",
    "PLANTED-json-pw-1", "PLANTED-userinfo-2", "gAAAAABPLANTEDfernetTOKENvalueXYZ1234567890",
];

#[test]
fn the_velero_logs_secrets_are_scrubbed_before_anything_keeps_them() {
    let secrets: Vec<String> = LOG_SECRETS.iter().map(|s| s.to_string()).collect();
    let logs = std::fs::read_to_string(clusters().join("velero-logs-telltales/_logs.yaml")).unwrap();
    for s in &secrets {
        assert!(logs.contains(s.as_str()), "the fixture log must carry {s}");
    }
    let cluster = serve("velero-logs-telltales", None);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.json");
    let mut found = Vec::new();
    for output in ["table", "json", "prometheus", "nagios", "markdown", "junit"] {
        let mut args = vec!["-o", output, "-vv", "--skip", "openstack"];
        if output == "json" {
            args.extend(["--save-bundle", bundle.to_str().unwrap()]);
        }
        let out = run(&cluster, &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        found.extend(leaks(&stdout, &secrets, &format!("-o {output} stdout")));
        found.extend(leaks(&String::from_utf8_lossy(&out.stderr), &secrets, &format!("-o {output} -vv stderr")));
        if output == "json" {
            // The lines were read and quoted (so the scrubbing was what kept the secrets out).
            let r = report(&out);
            let logs = check(&r, "velero.logs");
            assert_eq!(logs["status"], "warn", "{logs}");
            let details = logs["details"].to_string();
            assert!(details.contains("temp_url_sig=<redacted>") && details.contains("password=<redacted>") && details.contains("X-Auth-Token:<redacted>"), "{details}");
        }
    }
    let narrow = veldr().arg("doctor").arg("--kubeconfig").arg(&cluster.kubeconfig).args(["--skip", "openstack"]).env("COLUMNS", "60").output().unwrap();
    let joined: String = String::from_utf8_lossy(&narrow.stdout).chars().filter(|c| !c.is_whitespace() && !"│┆".contains(*c)).collect();
    found.extend(leaks(&joined, &secrets, "-o table at 60 columns"));
    let text = std::fs::read_to_string(&bundle).expect("bundle written");
    found.extend(leaks(&text, &secrets, "bundle"));
    assert!(found.is_empty(), "the log's secrets leaked:\n{}", found.join("\n"));
    // The bundle holds the matched lines only: a line no telltale matches is not in it.
    assert!(!text.contains("UNMATCHED-LINE-MARKER") && text.contains("Temp URL invalid"), "only matched, scrubbed lines are kept");
    // And it replays to the same verdict offline.
    let replay = veldr().args(["doctor", "-o", "json", "--from-bundle", bundle.to_str().unwrap()]).output().unwrap();
    assert_eq!(check(&report(&replay), "velero.logs")["summary"], check(&report(&run(&cluster, &["-o", "json", "--skip", "openstack"])), "velero.logs")["summary"]);
}
