//! veldr as a kubectl plugin: installed as `kubectl-veldr` on PATH, `kubectl veldr doctor` runs it,
//! and its usage speaks of `kubectl veldr`.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory holding the binary under the plugin's name (a copy: kubectl follows no symlink
/// rules of ours, and `cp` is what the README tells people to do).
fn plugin_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-veldr");
    std::fs::copy(env!("CARGO_BIN_EXE_veldr"), &plugin).unwrap();
    (dir, plugin)
}

fn with_path(c: &mut Command, dir: &Path) {
    let path = std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))).unwrap();
    c.env("PATH", path);
}

#[test]
fn usage_names_kubectl_veldr_when_run_as_the_plugin() {
    let (_dir, plugin) = plugin_dir();
    let help = Command::new(&plugin).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Usage: kubectl veldr <COMMAND>"), "{help}");
    let sub = Command::new(&plugin).args(["doctor", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&sub.stdout).contains("Usage: kubectl veldr doctor"), "{}", String::from_utf8_lossy(&sub.stdout));
    // A usage error says how to call it the kubectl way, and still exits 2 (CONTRACT.md).
    let bad = Command::new(&plugin).args(["doctor", "--no-such-flag"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("kubectl veldr doctor"), "{}", String::from_utf8_lossy(&bad.stderr));
    // Under its own name nothing changes.
    let own = veldr().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&own.stdout).contains("Usage: veldr <COMMAND>"));
}

#[test]
fn kubectl_veldr_doctor_runs_the_plugin() {
    let Ok(kubectl) = Command::new("kubectl").arg("version").arg("--client").output() else {
        eprintln!("\n*** kubectl is not installed: only the plugin's own behaviour was tested, not kubectl's discovery ***\n");
        return;
    };
    assert!(kubectl.status.success());
    let (dir, _plugin) = plugin_dir();
    let cluster = serve("healthy", None);

    let mut list = Command::new("kubectl");
    list.args(["plugin", "list", "--name-only"]);
    with_path(&mut list, dir.path());
    let list = list.output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).lines().any(|l| l.trim() == "kubectl-veldr"), "kubectl plugin list: {}", String::from_utf8_lossy(&list.stdout));

    // The kubectl habit: KUBECONFIG from the environment, flags passed through to the plugin.
    let mut run = Command::new("kubectl");
    run.args(["veldr", "doctor", "-o", "json", "--skip", "openstack"]).env("KUBECONFIG", &cluster.kubeconfig).env("HOME", std::env::temp_dir());
    with_path(&mut run, dir.path());
    let out = run.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let report = report(&out);
    assert_eq!(report["target"]["context"], "fixture");
    assert_eq!(report["summary"]["fail"], 0);
}
