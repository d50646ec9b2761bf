//! `veldr checks` and `veldr explain ID`: the registries, as people and machines read them.

use crate::cli::{ExplainFormat, ListFormat};
use crate::pipeline::Unrunnable;

/// `veldr checks`.
pub fn checks(format: ListFormat) -> String {
    use crate::checks::REGISTRY;
    match format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = REGISTRY
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id, "category": c.category, "title": c.title, "severity": c.severity,
                        "dependsOn": c.depends_on, "runbook": format!("veldr explain {}", c.id),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&list).expect("serializes") + "\n"
        }
        ListFormat::Table => {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header(vec!["id", "category", "severity", "title"]);
            for c in REGISTRY {
                t.add_row(vec![c.id, c.category.as_str(), c.severity.as_str(), c.title]);
            }
            format!("{t}\n")
        }
    }
}

/// `veldr explain ID`.
pub fn explain(id: &str, format: ExplainFormat) -> Result<String, Unrunnable> {
    let def = crate::checks::find(id).ok_or_else(|| Unrunnable(format!("unknown check {id:?}; `veldr checks` lists them")))?;
    Ok(match format {
        ExplainFormat::Text => format!(
            "{} — {}\ncategory: {} · severity: {}{}\n\n{}",
            def.id,
            def.title,
            def.category,
            def.severity.as_str(),
            if def.depends_on.is_empty() { String::new() } else { format!(" · depends on: {}", def.depends_on.join(", ")) },
            def.page.trim_end()
        ) + "\n",
        ExplainFormat::Json => serde_json::to_string_pretty(&serde_json::json!({
            "id": def.id, "category": def.category, "title": def.title, "severity": def.severity,
            "dependsOn": def.depends_on, "page": def.page,
        }))
        .expect("serializes")
            + "\n",
    })
}
