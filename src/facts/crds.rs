//! Velero's installed CustomResourceDefinitions, as veldr keeps them: their names, versions and the
//! enums of each version's schema (what velero.crds compares with the server's release). The schema
//! itself is reduced to its enums as it is decoded and never kept: a CRD's schema is tens of kilobytes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The label `velero install` (pkg/install/resources.go `Labels()`) and the Helm chart's CRDs carry.
pub const VELERO_CRD_LABEL: &str = "component=velero";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InstalledCrd {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "super::velero::or_default")]
    pub spec: CrdSpec,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CrdSpec {
    #[serde(default, deserialize_with = "super::velero::or_default")]
    pub group: String,
    #[serde(default, deserialize_with = "super::velero::or_default")]
    pub names: CrdNames,
    #[serde(default, deserialize_with = "super::velero::or_default")]
    pub versions: Vec<CrdVersion>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CrdNames {
    #[serde(default, deserialize_with = "super::velero::or_default")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CrdVersion {
    #[serde(default, deserialize_with = "super::velero::or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "super::velero::or_default")]
    pub served: bool,
    #[serde(default, deserialize_with = "super::velero::or_default")]
    pub storage: bool,
    /// Whether the version has a schema at all (`apiextensions.k8s.io/v1` requires one).
    #[serde(default, rename = "hasSchema")]
    pub has_schema: bool,
    /// Every enum of the version's schema by field path (`status.phase`), as `scripts/gen-velero-crds.py`
    /// writes the paths of Velero's own CRDs: `.name` per property, `[]` per array item, `.*` per map value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub enums: BTreeMap<String, Vec<String>>,
    /// The schema as the API server sends it, reduced to its enums while it is decoded.
    #[serde(default, rename = "schema", deserialize_with = "schema_enums", skip_serializing)]
    from_schema: Option<BTreeMap<String, Vec<String>>>,
}

impl CrdVersion {
    /// Moves the enums read from the schema into `enums` (a bundle holds them there).
    fn settle(&mut self) {
        if let Some(e) = self.from_schema.take() {
            self.has_schema = true;
            self.enums = e;
        }
    }
}

fn schema_enums<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, Vec<String>>>, D::Error> {
    let raw: Option<Value> = Option::deserialize(d)?;
    Ok(raw.and_then(|mut v| v.get_mut("openAPIV3Schema").map(Value::take)).map(|schema| {
        let mut out = BTreeMap::new();
        enums(&schema, "", &mut out);
        out
    }))
}

/// Every enum of an OpenAPI v3 schema by its field path (the generator's `enums`, in Rust).
pub fn enums(schema: &Value, path: &str, out: &mut BTreeMap<String, Vec<String>>) {
    let Some(obj) = schema.as_object() else { return };
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        out.insert(path.to_string(), values.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect());
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (key, sub) in props {
            let p = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            enums(sub, &p, out);
        }
    }
    if let Some(items) = obj.get("items").filter(|i| i.is_object()) {
        enums(items, &format!("{path}[]"), out);
    }
    if let Some(extra) = obj.get("additionalProperties").filter(|i| i.is_object()) {
        enums(extra, &format!("{path}.*"), out);
    }
}

impl InstalledCrd {
    pub fn version(&self, name: &str) -> Option<&CrdVersion> {
        self.spec.versions.iter().find(|v| v.name == name)
    }
}

impl super::list::Object for InstalledCrd {
    const KIND: &'static str = "CustomResourceDefinition";
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
    fn trim(&mut self) {
        let meta = &mut self.metadata;
        meta.managed_fields = None;
        meta.uid = None;
        meta.resource_version = None;
        meta.generation = None;
        meta.self_link = None;
        meta.finalizers = None;
        // kubectl's last-applied-configuration holds the whole CRD again; no check reads annotations.
        meta.annotations = None;
        self.spec.versions.iter_mut().for_each(CrdVersion::settle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::List;
    use serde_json::json;

    #[test]
    fn a_schema_is_reduced_to_its_enums_by_path() {
        let crd = json!({"metadata": {"name": "backups.velero.io", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{…}"}},
            "spec": {"group": "velero.io", "names": {"kind": "Backup"}, "versions": [
                {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"properties": {"hooks": {"properties": {"resources": {"items": {"properties": {"pre": {"items": {"properties": {
                        "exec": {"properties": {"onError": {"enum": ["Continue", "Fail"], "type": "string"}}}}}}}}}}},
                        "labels": {"additionalProperties": {"enum": ["a"]}}}},
                    "status": {"properties": {"phase": {"enum": ["New", "Completed"], "type": "string"}}}}}}},
                {"name": "v2", "served": false, "storage": false}]}});
        let mut list: List<InstalledCrd> = List::default();
        list.push_json(&crd.to_string());
        let c = &list[0];
        assert!(c.metadata.annotations.is_none());
        let v1 = c.version("v1").unwrap();
        assert!(v1.has_schema && v1.served && v1.storage);
        assert_eq!(v1.enums["status.phase"], ["New", "Completed"]);
        assert_eq!(v1.enums["spec.hooks.resources[].pre[].exec.onError"], ["Continue", "Fail"]);
        assert_eq!(v1.enums["spec.labels.*"], ["a"]);
        assert!(!c.version("v2").unwrap().has_schema);
        // What a bundle holds reads back the same, without the schema.
        let text = serde_json::to_string(&list).unwrap();
        assert!(!text.contains("openAPIV3Schema") && text.contains("\"status.phase\""), "{text}");
        let back: List<InstalledCrd> = serde_json::from_str(&text).unwrap();
        assert_eq!(back[0].version("v1").unwrap().enums, v1.enums);
        assert!(back[0].version("v1").unwrap().has_schema);
    }
}
