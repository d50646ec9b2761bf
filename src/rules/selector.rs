//! Kubernetes label selectors (`matchLabels` + `matchExpressions`), as the API server applies them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use std::collections::BTreeMap;

/// Does a label selector select these labels? An empty selector selects nothing here (a
/// Deployment always has a non-empty one; an empty one would otherwise match every pod).
pub fn selector_matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    let match_labels = selector.match_labels.as_ref().filter(|m| !m.is_empty());
    let exprs = selector.match_expressions.as_deref().unwrap_or_default();
    if match_labels.is_none() && exprs.is_empty() {
        return false;
    }
    match_labels.into_iter().flatten().all(|(k, v)| get(k) == Some(v.as_str()))
        && exprs.iter().all(|e| requirement_matches(e, get(&e.key)))
}

fn requirement_matches(e: &LabelSelectorRequirement, value: Option<&str>) -> bool {
    let values = e.values.as_deref().unwrap_or_default();
    let listed = |v: &str| values.iter().any(|x| x == v);
    match e.operator.as_str() {
        "In" => value.is_some_and(listed),
        "NotIn" => value.is_none_or(|v| !listed(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

/// The selector as `kubectl -l` takes it: `a=1,b in (x,y),!c`.
pub fn selector_text(selector: &LabelSelector) -> String {
    let labels = selector.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}"));
    let exprs = selector.match_expressions.iter().flatten().map(|e| {
        let values = e.values.as_deref().unwrap_or_default().join(",");
        match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "DoesNotExist" => format!("!{}", e.key),
            _ => e.key.clone(),
        }
    });
    labels.chain(exprs).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(v: serde_json::Value) -> LabelSelector {
        serde_json::from_value(v).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn match_labels_and_expressions() {
        let s = sel(json!({"matchLabels": {"a": "1"}, "matchExpressions": [
            {"key": "b", "operator": "In", "values": ["x", "y"]}, {"key": "c", "operator": "DoesNotExist"}]}));
        assert!(selector_matches(&s, Some(&labels(&[("a", "1"), ("b", "y")]))));
        assert!(!selector_matches(&s, Some(&labels(&[("a", "1"), ("b", "z")]))));
        assert!(!selector_matches(&s, Some(&labels(&[("a", "1"), ("b", "x"), ("c", "")]))));
        assert!(!selector_matches(&s, Some(&labels(&[("b", "x")]))));
        assert!(!selector_matches(&s, None));
    }

    #[test]
    fn not_in_and_exists() {
        let s = sel(json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]},
            {"key": "app", "operator": "Exists"}]}));
        assert!(selector_matches(&s, Some(&labels(&[("app", "velero")]))));
        assert!(selector_matches(&s, Some(&labels(&[("app", "velero"), ("tier", "db")]))));
        assert!(!selector_matches(&s, Some(&labels(&[("app", "velero"), ("tier", "web")]))));
        assert!(!selector_matches(&s, Some(&labels(&[("tier", "db")]))));
        let odd = sel(json!({"matchExpressions": [{"key": "app", "operator": "Near"}]}));
        assert!(!selector_matches(&odd, Some(&labels(&[("app", "x")]))), "an unknown operator selects nothing");
    }

    #[test]
    fn empty_selector_selects_nothing() {
        assert!(!selector_matches(&sel(json!({})), Some(&labels(&[("a", "1")]))));
        assert!(!selector_matches(&sel(json!({"matchLabels": {}})), Some(&labels(&[("a", "1")]))));
    }

    #[test]
    fn text_is_what_kubectl_takes() {
        let s = sel(json!({"matchLabels": {"app.kubernetes.io/name": "velero", "app.kubernetes.io/instance": "velero"}}));
        assert_eq!(selector_text(&s), "app.kubernetes.io/instance=velero,app.kubernetes.io/name=velero");
        let s = sel(json!({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "In", "values": ["x", "y"]},
            {"key": "c", "operator": "DoesNotExist"}, {"key": "d", "operator": "Exists"}]}));
        assert_eq!(selector_text(&s), "a=1,b in (x,y),!c,d");
        assert_eq!(selector_text(&sel(json!({}))), "");
    }
}
