//! The bundled examples (`examples/*.bundle.json`) are recordings of fixture scenarios. This test
//! replays each one and checks it still judges to its scenario's expectations, so the README's
//! first command keeps showing what it claims. `VELDR_RECORD_EXAMPLES=1` records them anew.

mod common;

use common::*;

/// (bundle file, scenario it records, whether the scenario needs the lab).
const EXAMPLES: &[(&str, &str, bool)] = &[
    ("seed-pitfalls.bundle.json", "seed-pitfalls", false),
    ("swift-digest-unset.bundle.json", "lab-digest-unset", true),
    ("swift-key-mismatch.bundle.json", "lab-key-mismatch", true),
];

fn path(file: &str) -> std::path::PathBuf {
    repo().join("examples").join(file)
}

#[test]
fn examples_replay_to_their_scenarios_expectations() {
    let record = std::env::var_os("VELDR_RECORD_EXAMPLES").is_some();
    for (file, scenario, needs_lab) in EXAMPLES {
        if record {
            let lab = needs_lab.then(lab);
            let cluster = serve(scenario, lab.as_ref());
            let mut args = vec!["-o", "json", "--save-bundle"];
            let p = path(file);
            args.push(p.to_str().unwrap());
            if !needs_lab {
                args.extend(["--skip", "openstack"]);
            }
            run(&cluster, &args);
        }
        let out = veldr().args(["doctor", "-o", "json", "--from-bundle"]).arg(path(file)).output().unwrap();
        let report = report(&out);
        let e = expect(scenario);
        assert_eq!(out.status.code(), e.exit, "{file}: exit code");
        for (id, (status, _)) in &e.checks {
            assert_eq!(check(&report, id)["status"], status.as_str(), "{file}: {id}");
        }
    }
}

/// A bundle written by veldr 0.1 (schema 1: lists as plain arrays, the OpenStack client's answers)
/// is still read, judged exactly like its current re-recording, and named as old on stderr; the
/// checks that need facts 0.1 did not collect (the vSphere CSI config, VolumeSnapshots, Velero's CRDs and log) say so.
#[test]
fn a_schema_1_bundle_is_read_and_judged_like_its_re_recording() {
    let old = repo().join("tests/fixtures/bundles/schema1-swift-key-mismatch.bundle.json");
    let out = veldr().args(["doctor", "-o", "json", "--from-bundle"]).arg(&old).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a schema 1 bundle") && stderr.contains("--save-bundle"), "{stderr}");
    let new = veldr().args(["doctor", "-o", "json", "--from-bundle"]).arg(path("swift-key-mismatch.bundle.json")).output().unwrap();
    assert!(String::from_utf8_lossy(&new.stderr).is_empty(), "a current bundle gets no note");
    const NOT_IN_SCHEMA_1: [&str; 4] = ["csi.snapshot-limit", "csi.snapshots", "velero.crds", "velero.logs"];
    let statuses = |o: &std::process::Output| -> Vec<(String, String)> {
        report(o)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !NOT_IN_SCHEMA_1.contains(&c["id"].as_str().unwrap()))
            .map(|c| (c["id"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(statuses(&out), statuses(&new));
    assert_eq!(out.status.code(), new.status.code());
    let old_report = report(&out);
    for id in NOT_IN_SCHEMA_1 {
        let c = check(&old_report, id);
        assert!(c.to_string().contains("older veldr"), "{id} names the old bundle: {c}");
    }
}
