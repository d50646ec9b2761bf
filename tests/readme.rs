//! The README's checks tables are the registries': same ids, same categories, same order (the doctor's,
//! and restore-check's in its own section).

use veldr::checks::CheckDef;

/// The README's table rows `| `id` | category |` whose id is one of `registry`'s.
fn rows(registry: &[CheckDef]) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let id = cells.get(1)?.trim_matches('`');
            let category = cells.get(2)?;
            registry.iter().any(|c| c.id == id).then(|| (id.to_string(), category.to_string()))
        })
        .collect()
}

fn ids(registry: &[CheckDef]) -> Vec<(String, String)> {
    registry.iter().map(|c| (c.id.to_string(), c.category.to_string())).collect()
}

#[test]
fn readme_checks_table_matches_the_registry() {
    assert_eq!(rows(veldr::checks::REGISTRY), ids(veldr::checks::REGISTRY), "README.md's checks table differs from the registry");
    let restore = veldr::checks::RESTORE_CHECK_REGISTRY;
    assert_eq!(rows(restore), ids(restore), "README.md's restore-check table differs from its registry");
}

#[test]
fn readme_shows_the_two_commands() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("cargo run -- doctor --from-bundle examples/seed-pitfalls.bundle.json"));
    assert!(readme.contains("bash scripts/test.sh"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(ci.contains("bash scripts/test.sh"), ".ci/run must run the README's test command");
}
