//! `-o junit` checked by independent parsers: lxml validates it against the Jenkins-shaped JUnit schema
//! (tests/fixtures/junit/jenkins-junit.xsd) and junitparser reads it back as a CI system would: one suite
//! per category, one testcase per check, fail → failure, error → error, skip → skipped, warn → a note in
//! system-out (a failure under `--fail-on warn`). Both come from PyPI into the lab's venv (lab/lab.sh).

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};

fn python() -> String {
    let venv = std::env::var("VELDR_LAB_VENV").unwrap_or_else(|_| format!("{}/.cache/veldr-lab/venv", std::env::var("HOME").unwrap()));
    format!("{venv}/bin/python")
}

/// Validates `xml` against the schema (lxml), then reads it with junitparser; returns what was read, as JSON.
fn read_junit(xml: &str) -> Result<Value, String> {
    const SCRIPT: &str = r#"
import json, sys
try:
    from lxml import etree
    from junitparser import JUnitXml, Failure, Error, Skipped
except ImportError as e:
    sys.exit(f"missing Python package ({e}): `bash lab/lab.sh install` installs lxml and junitparser")
xsd, doc = sys.argv[1], sys.stdin.buffer.read()
schema = etree.XMLSchema(etree.parse(xsd))
tree = etree.fromstring(doc)
if not schema.validate(tree):
    sys.exit("schema: " + "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log))
xml = JUnitXml.fromstring(doc)
kinds = {Failure: "failure", Error: "error", Skipped: "skipped"}
out = {"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "suites": []}
for s in xml:
    suite = {"name": s.name, "tests": s.tests, "failures": s.failures, "errors": s.errors, "skipped": s.skipped, "cases": []}
    for c in s:
        suite["cases"].append({"name": c.name, "classname": c.classname, "time": c.time,
            "results": [{"kind": kinds[type(r)], "message": r.message, "type": r.type, "text": r.text} for r in c.result],
            "out": c.system_out})
    out["suites"].append(suite)
print(json.dumps(out))
"#;
    let xsd = repo().join("tests/fixtures/junit/jenkins-junit.xsd");
    let mut child = Command::new(python())
        .arg("-c")
        .arg(SCRIPT)
        .arg(&xsd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lab venv's python (bash lab/lab.sh install)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("missing Python package"), "{stderr}");
    if !out.status.success() {
        return Err(stderr.into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

/// The read-back XML against the JSON report of the same run.
fn assert_matches(read: &Value, report: &Value, fail_on_warn: bool) {
    let checks = report["checks"].as_array().unwrap();
    let mut categories: Vec<&str> = Vec::new();
    for c in checks {
        let cat = c["category"].as_str().unwrap();
        if !categories.contains(&cat) {
            categories.push(cat);
        }
    }
    let suites = read["suites"].as_array().unwrap();
    assert_eq!(suites.iter().map(|s| s["name"].as_str().unwrap()).collect::<Vec<_>>(), categories, "one suite per category, in order");
    let count = |status: &str| checks.iter().filter(|c| c["status"] == status).count();
    assert_eq!(read["tests"], checks.len());
    assert_eq!(read["failures"], count("fail") + if fail_on_warn { count("warn") } else { 0 });
    assert_eq!(read["errors"], count("error"));
    let cases: Vec<&Value> = suites.iter().flat_map(|s| s["cases"].as_array().unwrap()).collect();
    assert_eq!(cases.len(), checks.len(), "one testcase per check");
    // A suite gathers its category's checks in registry order, also when the registry returns to
    // a category later (the csi.* checks of 0.2 come after the backups).
    let mut grouped: Vec<&Value> = checks.iter().collect();
    grouped.sort_by_key(|c| categories.iter().position(|k| *k == c["category"].as_str().unwrap()));
    for (case, c) in cases.iter().zip(grouped) {
        let id = c["id"].as_str().unwrap();
        let summary = c["summary"].as_str().unwrap();
        assert_eq!(case["name"], id);
        assert_eq!(case["classname"], c["category"]);
        let results = case["results"].as_array().unwrap();
        let kinds: Vec<&str> = results.iter().map(|r| r["kind"].as_str().unwrap()).collect();
        let expected: &[&str] = match c["status"].as_str().unwrap() {
            "fail" => &["failure"],
            "error" => &["error"],
            "skip" => &["skipped"],
            "warn" if fail_on_warn => &["failure"],
            _ => &[],
        };
        assert_eq!(kinds, expected, "{id} ({})", c["status"]);
        if let Some(r) = results.first() {
            assert_eq!(r["message"], summary, "{id}: the message is the summary");
            if kinds[0] != "skipped" {
                let text = r["text"].as_str().unwrap();
                assert!(text.contains(&format!("runbook: veldr explain {id}")), "{id}: {text}");
                if let Some(h) = c["hint"].as_str() {
                    assert!(text.contains(&format!("fix: {h}")), "{id}: the fix, verbatim");
                }
            }
        }
        let out = case["out"].as_str().unwrap_or_default();
        assert!(out.starts_with(&format!("{}: {summary}", c["status"].as_str().unwrap())), "{id}: system-out {out:?}");
    }
}

fn junit_and_json(args: &[&str]) -> (String, Value, Option<i32>) {
    let out = veldr().args(["doctor", "-o", "junit"]).args(args).output().unwrap();
    let json = veldr().args(["doctor", "-o", "json"]).args(args).output().unwrap();
    assert_eq!(out.status.code(), json.status.code(), "the same exit code as -o json: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), serde_json::from_slice(&json.stdout).unwrap(), out.status.code())
}

#[test]
fn the_schema_and_the_reader_reject_what_ci_would() {
    let _ = lab(); // the venv with lxml and junitparser comes with the lab
    let ok = r#"<testsuites><testsuite name="a" tests="1"><testcase name="x"><skipped/></testcase></testsuite></testsuites>"#;
    assert!(read_junit(ok).is_ok(), "{:?}", read_junit(ok));
    for bad in [
        r#"<testsuites><testsuite tests="1"><testcase name="x"/></testsuite></testsuites>"#,
        r#"<testsuites><testsuite name="a" tests="1"><testcase name="x"><failure/><skipped/></testcase></testsuite></testsuites>"#,
        r#"<testsuites><testsuite name="a" tests="one"><testcase name="x"/></testsuite></testsuites>"#,
        r#"<testsuites><testsuite name="a" tests="1"><testcase name="x">&</testcase></testsuite></testsuites>"#,
    ] {
        assert!(read_junit(bad).is_err(), "accepted: {bad}");
    }
}

#[test]
fn junit_of_the_seed_example_is_valid_and_maps_every_check() {
    let _ = lab();
    let seed = repo().join("examples/seed-pitfalls.bundle.json");
    let (xml, report, code) = junit_and_json(&["--from-bundle", seed.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "), "{xml}");
    let read = read_junit(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_matches(&read, &report, false);
}

#[test]
fn junit_errors_warnings_fail_on_warn_and_output_file() {
    let _ = lab();
    let cluster = serve("rbac-denied", None);
    let kc = cluster.kubeconfig.to_str().unwrap();
    let (xml, report, _) = junit_and_json(&["--kubeconfig", kc, "--skip", "openstack"]);
    assert!(report["checks"].as_array().unwrap().iter().any(|c| c["status"] == "warn") && report["summary"]["error"] == 1, "{report}");
    let read = read_junit(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_matches(&read, &report, false);

    let (xml, report, code) = junit_and_json(&["--kubeconfig", kc, "--skip", "openstack", "--fail-on", "warn"]);
    assert_eq!(code, Some(1), "a warn fails the gate under --fail-on warn");
    assert_matches(&read_junit(&xml).unwrap(), &report, true);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("veldr.xml");
    let out = run(&cluster, &["-o", "junit", "--skip", "openstack", "--output-file", file.to_str().unwrap()]);
    assert!(out.stdout.is_empty(), "nothing on stdout with --output-file");
    assert_matches(&read_junit(&std::fs::read_to_string(&file).unwrap()).unwrap(), &report_of(&cluster), false);
}

fn report_of(cluster: &Cluster) -> Value {
    report(&run(cluster, &["-o", "json", "--skip", "openstack"]))
}

#[test]
fn a_fleet_is_one_document_with_suites_named_by_context() {
    let seed: veldr::report::Report = serde_json::from_slice(
        &veldr().args(["doctor", "-o", "json", "--from-bundle"]).arg(repo().join("examples/seed-pitfalls.bundle.json")).output().unwrap().stdout,
    )
    .unwrap();
    let mut other = seed.clone();
    other.target.context = Some("prod & <dr>".into());
    let xml = veldr::report::junit::render_contexts(&[("fixture", &seed), ("prod & <dr>", &other)], veldr::report::FailOn::Fail);
    let read = read_junit(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let names: Vec<&str> = read["suites"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 16, "{names:?}");
    assert_eq!((names[0], names[8]), ("fixture/cluster", "prod & <dr>/cluster"));
    assert_eq!(read["tests"], 2 * seed.checks.len());
    assert_eq!(read["failures"], 2 * seed.summary.fail);
}
