//! Pinned outputs: the JSON report of the bundled example and a runbook page, so any change to the
//! contract's shape or to a check's wording shows up in review (`INSTA_UPDATE=always` to accept).

mod common;

use common::*;
use serde_json::Value;

#[test]
fn json_report_of_the_seed_example_is_pinned() {
    let out = veldr().args(["doctor", "-o", "json", "--from-bundle"]).arg(repo().join("examples/seed-pitfalls.bundle.json")).output().unwrap();
    let mut report = report(&out);
    // Timings vary run to run; everything else is a function of the bundle.
    report["durationMs"] = Value::from(0);
    for c in report["checks"].as_array_mut().unwrap() {
        c["durationMs"] = Value::from(0);
    }
    report["veldr"] = Value::from("VERSION");
    insta::assert_json_snapshot!(report);
}

#[test]
fn explain_output_is_pinned() {
    let out = veldr().args(["explain", "swift.tempurl-key"]).output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}
