//! Finding Velero's namespace without `-n`: VELERO_NAMESPACE, the velero client config, the only
//! Velero server Deployment, else `velero`; against the healthy cluster moved to namespace `backup`.

mod common;

use common::*;
use serde_json::Value;

/// healthy/, with everything that lived in `velero` moved to `backup`.
fn moved_cluster() -> Cluster {
    let dir = materialize("healthy", None);
    let path = dir.path().join("objects.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let moved = text.replace(r#""namespace":"velero""#, r#""namespace":"backup""#).replace(r#""meta.helm.sh/release-namespace":"velero""#, r#""meta.helm.sh/release-namespace":"backup""#);
    assert_ne!(moved, text, "the fixture must have moved");
    std::fs::write(&path, moved).unwrap();
    serve_dir(dir)
}

fn doctor(cluster: &Cluster, home: &std::path::Path, env: &[(&str, &str)], extra: &[&str]) -> std::process::Output {
    let mut c = veldr();
    c.env("HOME", home).envs(env.iter().copied());
    c.arg("doctor").arg("--kubeconfig").arg(&cluster.kubeconfig).args(["--skip", "openstack", "--timeout", "20s"]).args(extra);
    c.output().expect("run veldr")
}

fn target(out: &std::process::Output) -> Value {
    report(out)["target"].clone()
}

#[test]
fn the_only_velero_deployment_decides_and_the_header_says_so() {
    let cluster = moved_cluster();
    let home = tempfile::tempdir().unwrap();
    let out = doctor(&cluster, home.path(), &[], &["-o", "json"]);
    let t = target(&out);
    assert_eq!(t["namespace"], "backup", "{t}");
    assert_eq!(t["namespaceSource"], "the only Velero server Deployment: backup/velero");
    let r = report(&out);
    assert_eq!(check(&r, "velero.deployment")["status"], "ok");
    assert_eq!(check(&r, "bsl.config")["status"], "ok");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    // The table's header line names the namespace and why.
    let out = doctor(&cluster, home.path(), &[], &["-o", "table"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("namespace backup (the only Velero server Deployment: backup/velero)"), "{text}");
}

#[test]
fn env_and_client_config_come_first_and_a_wrong_one_points_at_velero() {
    let cluster = moved_cluster();
    let home = tempfile::tempdir().unwrap();
    // VELERO_NAMESPACE names a namespace without Velero: velero.deployment says where it is.
    let out = doctor(&cluster, home.path(), &[("VELERO_NAMESPACE", "velero")], &["-o", "json"]);
    let t = target(&out);
    assert_eq!((t["namespace"].as_str(), t["namespaceSource"].as_str()), (Some("velero"), Some("from VELERO_NAMESPACE")));
    let d = check(&report(&out), "velero.deployment").clone();
    assert_eq!(d["status"], "fail");
    assert!(d["hint"].as_str().unwrap().contains("veldr doctor -n backup"), "{d}");
    // The client config is used when the variable is not set.
    std::fs::create_dir_all(home.path().join(".config/velero")).unwrap();
    std::fs::write(home.path().join(".config/velero/config.json"), r#"{"namespace":"backup"}"#).unwrap();
    let t = target(&doctor(&cluster, home.path(), &[], &["-o", "json"]));
    assert_eq!(t["namespace"], "backup");
    assert!(t["namespaceSource"].as_str().unwrap().contains("client config"), "{t}");
    // -n wins over all.
    let t = target(&doctor(&cluster, home.path(), &[("VELERO_NAMESPACE", "backup")], &["-o", "json", "-n", "velero"]));
    assert_eq!((t["namespace"].as_str(), t["namespaceSource"].as_str()), (Some("velero"), Some("from -n")));
}
