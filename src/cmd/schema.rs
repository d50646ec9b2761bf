//! `veldr schema`: the JSON Schema (draft 2020-12) of `doctor -o json`, derived from the report's types.

/// The schema's text, as committed in `schema/report.v1.json`.
pub fn run() -> String {
    crate::report::schema::render()
}
