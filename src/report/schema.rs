//! `veldr schema`: the JSON Schema (draft 2020-12) of `-o json`, derived from the very types the
//! report is serialized from, so that it cannot drift from the output. `schema/report.v1.json` is
//! this text, committed (tests/schema.rs keeps the two equal).

use super::fleet::FleetReport;
use super::Report;
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;

/// What `-o json` prints: one cluster's report, or with several contexts the fleet envelope.
/// Only the schema is derived from it; it is never built.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(
    title = "veldr JSON report, schema version 1",
    description = "The output of `veldr doctor -o json`: one cluster's report, or with more than one context the fleet envelope. Fields are only ever added (CONTRACT.md)."
)]
enum Output {
    Report(Report),
    Fleet(FleetReport),
}

/// The schema as a JSON value. Serialization-side: a field the report always writes (even as null)
/// is required, which is what a consumer can rely on.
pub fn schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12().for_serialize().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<Output>()).expect("a schema always serializes")
}

/// `veldr schema`'s output: pretty JSON with a final newline (the committed file's exact text).
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).expect("a schema always serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_draft_2020_12_and_requires_what_the_contract_promises() {
        let s = schema();
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        let report = &s["$defs"]["Report"];
        let required: Vec<&str> = report["required"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        for f in ["schemaVersion", "veldr", "startedAt", "durationMs", "target", "summary", "checks"] {
            assert!(required.contains(&f), "Report does not require {f}: {required:?}");
        }
        let check = &s["$defs"]["CheckResult"];
        assert!(check["required"].as_array().unwrap().iter().any(|v| v == "hint"), "hint is always present (null when none)");
        assert_eq!(s["$defs"]["Status"]["enum"], serde_json::json!(["ok", "warn", "fail", "skip", "error"]));
    }
}
