//! The monitoring outputs: Prometheus text parsed by the real Python client's parser, the Nagios
//! plugin convention, `--output-file` written atomically, and the exit codes of the contract.

mod common;

use common::*;
use std::process::Command;

fn python() -> String {
    let venv = std::env::var("VELDR_LAB_VENV").unwrap_or_else(|_| format!("{}/.cache/veldr-lab/venv", std::env::var("HOME").unwrap()));
    format!("{venv}/bin/python")
}

/// Parses exposition text with prometheus_client and returns "name value" lines per sample.
fn parse_prometheus(text: &str) -> Vec<String> {
    let script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n\
                  for f in p(sys.stdin.read()):\n  for s in f.samples:\n    print(s.name, dict(sorted(s.labels.items())), s.value)\n";
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the lab venv's python (bash lab/lab.sh install)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "prometheus_client rejected the output: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn prometheus_output_parses_and_has_every_check() {
    let _ = lab(); // the venv with prometheus_client comes with the lab
    let cluster = serve("bsl-unavailable-auth-url", None);
    let out = run(&cluster, &["-o", "prometheus", "--skip", "openstack"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(out.status.code(), Some(1), "a fail gives exit 1 with -o prometheus too");
    let samples = parse_prometheus(&text);
    assert!(samples.iter().any(|s| s.starts_with("veldr_up ") && s.ends_with(" 1.0")), "{samples:?}");
    let statuses: Vec<&String> = samples.iter().filter(|s| s.starts_with("veldr_check_status ")).collect();
    assert_eq!(statuses.len(), veldr::checks::REGISTRY.len());
    assert!(samples.iter().any(|s| s.contains("'check': 'bsl.phase'") && s.starts_with("veldr_check_status") && s.ends_with(" 2.0")), "bsl.phase must be 2 (fail)");
    for name in ["veldr_run_duration_seconds", "veldr_last_run_timestamp_seconds", "veldr_build_info", "veldr_check_duration_seconds"] {
        assert!(samples.iter().any(|s| s.starts_with(name)), "{name} missing");
    }
    // The checks' gauges: a labelled one per schedule, and the restore counts of velero.operations.
    assert!(samples.iter().any(|s| s.starts_with("veldr_schedule_newest_completed_backup_age_seconds {'schedule': 'daily'} ")), "{samples:?}");
    assert!(samples.iter().any(|s| s == "veldr_restores_failed_24h {} 0.0"), "{samples:?}");
    assert!(samples.iter().any(|s| s == "veldr_restores_partially_failed_24h {} 0.0"), "{samples:?}");
}

#[test]
fn nagios_follows_the_plugin_convention() {
    let healthy = serve("healthy", None);
    let out = run(&healthy, &["-o", "nagios", "--skip", "openstack"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("VELDR OK - "), "{text}");

    let broken = serve("bsl-unavailable-auth-url", None);
    let out = run(&broken, &["-o", "nagios", "--skip", "openstack"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{text}");
    let first = text.lines().next().unwrap();
    let (head, perf) = first.split_once(" | ").expect("perfdata after |");
    assert!(head.starts_with("VELDR CRITICAL - ") && head.len() < 80, "{head:?}");
    assert!(perf.contains("failed="), "{perf}");
    assert!(text.lines().any(|l| l.starts_with("FAIL bsl.phase:")), "{text}");
}

#[test]
fn output_file_is_atomic_and_an_unwritable_one_keeps_the_old_file() {
    let cluster = serve("healthy", None);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("veldr.prom");
    let out = run(&cluster, &["-o", "prometheus", "--skip", "openstack", "--output-file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing on stdout when writing a file");
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(first.contains("veldr_up 1"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");

    let missing = dir.path().join("no-such-dir/veldr.prom");
    let out = run(&cluster, &["-o", "prometheus", "--skip", "openstack", "--output-file", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().filter(|l| !l.is_empty()).count(), 1, "one clear line");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first, "the old file is intact");
}

#[test]
fn bad_input_exits_2_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("kubeconfig");
    std::fs::write(&bad, "this: [is not a kubeconfig").unwrap();
    let truncated = dir.path().join("bundle.json");
    std::fs::write(&truncated, "{\"schemaVersion\": 1, \"kube\": {").unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, "{\"schemaVersion\": 99}").unwrap();
    let cluster = serve("healthy", None);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["doctor".into(), "--kubeconfig".into(), bad.display().to_string()], "kubeconfig"),
        (vec!["doctor".into(), "--kubeconfig".into(), dir.path().join("absent").display().to_string()], "kubeconfig"),
        (vec!["doctor".into(), "--kubeconfig".into(), cluster.kubeconfig.display().to_string(), "--context".into(), "nope".into()], "nope"),
        (vec!["doctor".into(), "--from-bundle".into(), truncated.display().to_string()], "not a veldr bundle"),
        (vec!["doctor".into(), "--from-bundle".into(), newer.display().to_string()], "upgrade veldr"),
        (vec!["doctor".into(), "--only".into(), "no.such-check".into(), "--from-bundle".into(), newer.display().to_string()], "unknown check"),
        (vec!["explain".into(), "no.such-check".into()], "unknown check"),
    ];
    for (args, needle) in cases {
        let out = veldr().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: no report on bad input");
        assert!(stderr.contains(needle), "{args:?}: {stderr:?} should mention {needle:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn unreachable_api_server_fails_kube_connect_and_still_reports() {
    let cluster = serve("healthy", None);
    let kubeconfig = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let port = cluster.server.addr.port();
    drop(cluster.server);
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, kubeconfig).unwrap();
    let started = std::time::Instant::now();
    let out = veldr().args(["doctor", "-o", "json", "--timeout", "5s", "--kubeconfig"]).arg(&kc).output().unwrap();
    assert!(started.elapsed().as_secs() < 7, "within --timeout + 1 s (port {port})");
    assert_eq!(out.status.code(), Some(1));
    let report = report(&out);
    assert_eq!(check(&report, "kube.connect")["status"], "fail");
    assert_eq!(check(&report, "kube.crds")["status"], "skip");
    assert_eq!(report["checks"].as_array().unwrap().len(), veldr::checks::REGISTRY.len());
}

#[test]
fn wait_rechecks_failures_until_the_deadline_with_progress_on_stderr() {
    let cluster = serve("bsl-unavailable-auth-url", None);
    cluster.server.clear_requests();
    let started = std::time::Instant::now();
    let out = run(&cluster, &["-o", "json", "--skip", "openstack", "--wait", "2s"]);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "still failing after the wait");
    assert!(elapsed.as_secs_f32() >= 2.0 && elapsed.as_secs() < 15, "{elapsed:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("waiting for") && stderr.contains("bsl.phase"), "{stderr}");
    let report = report(&out);
    assert_eq!(check(&report, "bsl.phase")["status"], "fail");
    assert_eq!(report["checks"].as_array().unwrap().len(), veldr::checks::REGISTRY.len());
    // The re-run asked the cluster again (BSLs listed more than once over the whole wait).
    let bsl_lists = cluster.server.requests().iter().filter(|r| r.path.ends_with("/backupstoragelocations")).count();
    assert!(bsl_lists >= 2, "{bsl_lists}");
}

#[test]
fn wait_rechecks_errors_too_and_an_incomplete_run_exits_3() {
    // RBAC refuses one read: csi.snapshot-class cannot be evaluated (error), nothing fails.
    let cluster = serve("rbac-denied", None);
    cluster.server.clear_requests();
    let out = run(&cluster, &["--skip", "openstack", "--wait", "2s"]);
    assert_eq!(out.status.code(), Some(3), "no fail, an error: incomplete");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("waiting for") && stderr.contains("csi.snapshot-class"), "an error is not a pass: {stderr}");
    let classes = cluster.server.requests().iter().filter(|r| r.path.ends_with("/volumesnapshotclasses")).count();
    assert!(classes >= 2, "the erroring check was re-run: {classes} read(s)");
    let table = String::from_utf8_lossy(&out.stdout);
    let summary = table.lines().find(|l| l.contains(" ok, ") && l.contains(" skipped")).expect("the summary line");
    assert!(summary.contains("1 error") && summary.contains("incomplete: csi.snapshot-class not evaluated ("), "{summary}");
    // --fail-on error makes it a failure; --fail-on warn counts errors too.
    for (fail_on, code) in [("error", 1), ("warn", 1), ("fail", 3)] {
        let out = run(&cluster, &["-o", "json", "--skip", "openstack", "--fail-on", fail_on]);
        assert_eq!(out.status.code(), Some(code), "--fail-on {fail_on}");
    }
}

#[test]
fn kubeconfig_comes_from_the_environment_as_kubectl_finds_it() {
    let cluster = serve("healthy", None);
    // KUBECONFIG may be a list, as kubectl allows: a missing first entry is skipped.
    let list = format!("/nonexistent/kubeconfig:{}", cluster.kubeconfig.display());
    let out = veldr().args(["doctor", "-o", "json", "--skip", "openstack"]).env("KUBECONFIG", &list).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = report(&out);
    assert_eq!(report["target"]["context"], "fixture");
    assert_eq!(check(&report, "kube.connect")["status"], "ok");
}

#[test]
fn prometheus_output_passes_promtool_lint() {
    // promtool comes from Debian's `prometheus` package; scripts/test.sh installs it.
    let promtool = Command::new("promtool").arg("--version").output();
    assert!(promtool.is_ok(), "promtool is missing: `apt-get install --no-install-recommends prometheus` (as scripts/test.sh does)");
    for bundle in ["seed-pitfalls.bundle.json", "swift-key-mismatch.bundle.json"] {
        let out = veldr().args(["doctor", "-o", "prometheus", "--from-bundle"]).arg(repo().join("examples").join(bundle)).output().unwrap();
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&out.stdout).unwrap();
        let lint = child.wait_with_output().unwrap();
        assert!(
            lint.status.success(),
            "{bundle}: promtool check metrics: {}{}",
            String::from_utf8_lossy(&lint.stdout),
            String::from_utf8_lossy(&lint.stderr)
        );
    }
}

#[test]
fn readme_alert_rules_pass_promtool() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("```yaml\ngroups:").expect("the README's alert rules block") + "```yaml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, &readme[start..end]).unwrap();
    let out = Command::new("promtool").args(["check", "rules"]).arg(&rules).output().expect("promtool (apt-get install prometheus)");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
