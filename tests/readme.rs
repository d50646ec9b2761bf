//! The README's checks table is the registry's: same ids, same categories, same order.

#[test]
fn readme_checks_table_matches_the_registry() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<(String, String)> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let id = cells.get(1)?.trim_matches('`');
            let category = cells.get(2)?;
            veldr::checks::find(id).map(|_| (id.to_string(), category.to_string()))
        })
        .collect();
    let registry: Vec<(String, String)> = veldr::checks::REGISTRY.iter().map(|c| (c.id.to_string(), c.category.to_string())).collect();
    assert_eq!(rows, registry, "README.md's checks table differs from the registry");
}

#[test]
fn readme_shows_the_two_commands() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("cargo run -- doctor --from-bundle examples/seed-pitfalls.bundle.json"));
    assert!(readme.contains("bash scripts/test.sh"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(ci.contains("bash scripts/test.sh"), ".ci/run must run the README's test command");
}
