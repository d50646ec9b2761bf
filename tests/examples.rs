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
