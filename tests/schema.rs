//! `veldr schema` and schema/report.v1.json: the committed file is the command's output, and an
//! independent validator (Python `jsonschema`, Draft 2020-12, from the lab's venv: lab/lab.sh pins
//! it) accepts the real report of every scenario, run as tests/scenarios.rs runs them, and the
//! fleet envelope built from them, and rejects broken reports.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn committed() -> String {
    std::fs::read_to_string(repo().join("schema/report.v1.json")).expect("schema/report.v1.json")
}

#[test]
fn committed_schema_is_the_commands_output() {
    let out = veldr().arg("schema").output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed == committed(),
        "schema/report.v1.json differs from `veldr schema`: regenerate it with `cargo run -q -- schema > schema/report.v1.json`"
    );
    let v: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

fn python() -> PathBuf {
    let venv = std::env::var("VELDR_LAB_VENV").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/veldr-lab/venv")
    });
    let py = venv.join("bin/python");
    assert!(py.exists(), "{} missing: `bash lab/lab.sh install` installs the lab venv (with jsonschema)", py.display());
    py
}

/// Validates each file against the schema with Python's jsonschema; one line per file:
/// `ok NAME` or `invalid NAME: <instance path>: <message>` (every error, sorted).
const VALIDATOR: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
for path in sys.argv[2:]:
    errors = sorted(v.iter_errors(json.load(open(path))), key=lambda e: list(e.absolute_path))
    if not errors:
        print("ok", path)
    for e in errors:
        # anyOf (report or fleet): the reasons each branch gave, so a line names the field that is wrong.
        for c in (e.context or [e]):
            print("invalid", path + ":", "/" + "/".join(map(str, c.absolute_path)) + ":", c.message[:200])
"#;

/// Returns, per file name, the validator's lines about it.
fn validate(files: &[PathBuf]) -> Vec<(String, Vec<String>)> {
    let schema = repo().join("schema/report.v1.json");
    let out = Command::new(python()).arg("-c").arg(VALIDATOR).arg(&schema).args(files).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the validator failed (jsonschema missing from the lab venv? see lab/lab.sh): {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let p = f.display().to_string();
            let lines: Vec<String> = stdout.lines().filter(|l| l.split_whitespace().nth(1).is_some_and(|w| w.trim_end_matches(':') == p)).map(str::to_string).collect();
            (name, lines)
        })
        .collect()
}

/// The JSON report of one scenario, run as tests/scenarios.rs runs it.
fn scenario_report(name: &str, lab: &Value) -> Value {
    let e = expect(name);
    let lab = e.lab_env.as_ref().map(|_| lab);
    let cluster = serve(name, lab);
    let mut args = vec!["-o", "json", "--timeout", "20s"];
    if lab.is_none() {
        args.extend(["--skip", "openstack"]);
    }
    report(&run(&cluster, &args))
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

#[test]
fn every_scenarios_report_and_the_fleet_envelope_validate_and_broken_ones_do_not() {
    let lab = lab();
    let names = scenarios();
    // Four at a time: each run is mostly waiting on its fixture server and the lab.
    let reports: Vec<(String, Value)> = std::thread::scope(|s| {
        let mut out = Vec::new();
        for chunk in names.chunks(4) {
            let handles: Vec<_> = chunk.iter().map(|n| (n.clone(), s.spawn(|| scenario_report(n, &lab)))).collect();
            out.extend(handles.into_iter().map(|(n, h)| (n, h.join().expect("scenario run"))));
        }
        out
    });
    assert!(reports.len() >= 30, "only {} scenarios", reports.len());

    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = reports.iter().map(|(n, r)| write(dir.path(), n, r)).collect();
    // The fleet envelope, from real reports, as `--context A --context B -o json` prints it.
    let parsed: Vec<veldr::report::Report> = reports.iter().map(|(_, r)| serde_json::from_value(r.clone()).expect("a report deserializes")).collect();
    let fleet = serde_json::to_value(veldr::report::fleet::FleetReport::of(parsed)).unwrap();
    files.push(write(dir.path(), "_fleet", &fleet));

    // Broken reports: each must be rejected, for the reason given.
    let healthy = &reports.iter().find(|(n, _)| n == "healthy").expect("healthy scenario").1;
    let mut broken: Vec<(&str, Value, &str)> = Vec::new();
    let mut b = healthy.clone();
    b["checks"][0]["status"] = json!("broken");
    broken.push(("_broken-status", b, "/checks/0/status"));
    let mut b = healthy.clone();
    b.as_object_mut().unwrap().remove("summary");
    broken.push(("_broken-no-summary", b, "'summary' is a required property"));
    let mut b = healthy.clone();
    b["schemaVersion"] = json!(2);
    broken.push(("_broken-version", b, "/schemaVersion"));
    let mut b = healthy.clone();
    b["checks"][1].as_object_mut().unwrap().remove("hint");
    broken.push(("_broken-no-hint", b, "'hint' is a required property"));
    let mut b = fleet.clone();
    b["reports"][0]["summary"]["fail"] = json!(-1);
    broken.push(("_broken-fleet", b, "/reports/0/summary/fail"));
    for (name, v, _) in &broken {
        files.push(write(dir.path(), name, v));
    }

    let results = validate(&files);
    let mut problems = Vec::new();
    for (file, lines) in &results {
        let name = file.trim_end_matches(".json");
        match broken.iter().find(|(n, _, _)| *n == name) {
            Some((_, _, reason)) => {
                if !lines.iter().any(|l| l.starts_with("invalid") && l.contains(reason)) {
                    problems.push(format!("{name} was not rejected for {reason:?}: {lines:?}"));
                }
            }
            None => {
                if lines.len() != 1 || !lines[0].starts_with("ok ") {
                    problems.push(format!("{name}: {lines:#?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} of {} files judged wrongly:\n{}", problems.len(), results.len(), problems.join("\n"));
}
