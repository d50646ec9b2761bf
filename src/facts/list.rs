//! One listed kind: the objects that decoded, and the ones that did not (judged as malformed,
//! never failing the whole list).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::ops::Deref;

/// A Kubernetes object as veldr keeps it: typed, with its metadata reachable for trimming and messages.
pub trait Object: DeserializeOwned + Serialize {
    /// `Deployment`, `BackupStorageLocation`: for messages about malformed objects.
    const KIND: &'static str;
    fn meta(&self) -> &ObjectMeta;
    fn meta_mut(&mut self) -> &mut ObjectMeta;

    fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or("<unnamed>")
    }
    fn namespace(&self) -> Option<&str> {
        self.meta().namespace.as_deref()
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.meta().labels.as_ref()?.get(key).map(String::as_str)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.meta().annotations.as_ref()?.get(key).map(String::as_str)
    }
    /// `namespace/name`, or `name` for cluster-scoped objects.
    fn object_ref(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{ns}/{}", self.name()),
            None => self.name().to_string(),
        }
    }
    /// Drops what no check reads and what would bloat memory and bundles: bookkeeping that every
    /// object carries (a kind with thousands of objects pays for each string and map).
    fn trim(&mut self) {
        let meta = self.meta_mut();
        meta.managed_fields = None;
        meta.uid = None;
        meta.resource_version = None;
        meta.generation = None;
        meta.self_link = None;
        meta.finalizers = None;
        if let Some(ann) = meta.annotations.as_mut() {
            ann.retain(|k, _| k != "kubectl.kubernetes.io/last-applied-configuration" && Self::keeps_annotation(k));
            if ann.is_empty() {
                meta.annotations = None;
            }
        }
    }
    /// Which annotations are kept (all by default). Kinds with thousands of objects whose
    /// annotations no check reads drop them; a check that comes to need one widens this.
    fn keeps_annotation(_key: &str) -> bool {
        true
    }
}

/// Implements [`Object`] for types that keep their metadata in a `metadata` field.
#[macro_export]
macro_rules! impl_object {
    ($($ty:ty => $kind:literal $(, keeps_annotation: $keep:expr)?);* $(;)?) => {
        $(impl $crate::facts::list::Object for $ty {
            const KIND: &'static str = $kind;
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta { &self.metadata }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta { &mut self.metadata }
            $(fn keeps_annotation(key: &str) -> bool { ($keep)(key) })?
        })*
    };
}

/// An object that was listed but did not decode into its type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Malformed {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// Where and how it failed to decode; never the offending value (it may be a secret).
    pub reason: String,
}

impl Malformed {
    /// "malformed object Backup velero/nightly: reason", as judges show it.
    pub fn describe(&self) -> String {
        let name = self.name.as_deref().unwrap_or("<unnamed>");
        match &self.namespace {
            Some(ns) => format!("malformed object {} {ns}/{name}: {}", self.kind, self.reason),
            None => format!("malformed object {} {name}: {}", self.kind, self.reason),
        }
    }
}

/// The objects of one kind. Derefs to the decoded objects.
#[derive(Debug, Clone, Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<Malformed>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List { items: Vec::new(), malformed: Vec::new() }
    }
}

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(items: Vec<T>) -> Self {
        List { items, malformed: Vec::new() }
    }
}

impl<T: Object> List<T> {
    /// Decodes one object from its JSON text, trimmed; a failure becomes a [`Malformed`] entry.
    pub fn push_json(&mut self, text: &str) {
        match serde_json::from_str::<T>(text) {
            Ok(mut obj) => {
                obj.trim();
                self.items.push(obj);
            }
            Err(e) => {
                let who: Who = serde_json::from_str(text).unwrap_or_default();
                self.malformed.push(Malformed {
                    kind: T::KIND.to_string(),
                    namespace: who.metadata.namespace,
                    name: who.metadata.name,
                    reason: content_free(&e),
                });
            }
        }
    }

    fn push_value(&mut self, v: Value) {
        match serde_json::from_value::<T>(v.clone()) {
            Ok(mut obj) => {
                obj.trim();
                self.items.push(obj);
            }
            Err(e) => {
                let who: Who = serde_json::from_value(v).unwrap_or_default();
                self.malformed.push(Malformed {
                    kind: T::KIND.to_string(),
                    namespace: who.metadata.namespace,
                    name: who.metadata.name,
                    reason: content_free(&e),
                });
            }
        }
    }
}

/// Just enough of an object to name it when the rest does not decode.
#[derive(Default, Deserialize)]
struct Who {
    #[serde(default)]
    metadata: WhoMeta,
}

#[derive(Default, Deserialize)]
struct WhoMeta {
    name: Option<String>,
    namespace: Option<String>,
}

/// A serde error without the values it may quote (`invalid type: string "…"`): the field path and
/// position are kept, the content never.
pub fn content_free(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "it ends early (truncated)".to_string(),
        Category::Syntax => "it is not JSON".to_string(),
        Category::Io => "it could not be read".to_string(),
        Category::Data => {
            // serde's messages name the expected type after the quoted value: keep only that part.
            let msg = e.to_string();
            // The last ", expected " is serde's own: a quoted value may contain the words too.
            let expected = msg.rsplit_once(", expected ").map(|(_, s)| s.rsplit_once(" at line").map_or(s, |(e, _)| e).to_string());
            match expected {
                Some(exp) => format!("a field has an unexpected type (expected {exp})"),
                None if msg.starts_with("missing field") => msg.split(" at line").next().unwrap_or(&msg).to_string(),
                None => "it is JSON of an unexpected shape".to_string(),
            }
        }
    };
    format!("{what}, at line {} column {}", e.line(), e.column())
}

/// Bundles written by veldr 0.1 hold plain arrays of objects; newer ones `{items, malformed}`.
/// Both load, object by object, so one odd object never makes a bundle unreadable.
impl<'de, T: Object> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let mut list = List::default();
        let (items, malformed) = match v {
            Value::Array(items) => (items, Vec::new()),
            Value::Object(mut map) => {
                let items = match map.remove("items") {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                let malformed = match map.remove("malformed") {
                    Some(m) => serde_json::from_value(m).map_err(serde::de::Error::custom)?,
                    None => Vec::new(),
                };
                (items, malformed)
            }
            other => return Err(serde::de::Error::custom(format!("expected a list of objects, found {}", kind_of(&other)))),
        };
        for item in items {
            list.push_value(item);
        }
        list.malformed.extend(malformed);
        Ok(list)
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;

    #[test]
    fn one_bad_object_is_kept_as_malformed_and_quotes_nothing() {
        let mut list: List<Deployment> = List::default();
        list.push_json(r#"{"metadata":{"name":"good","namespace":"velero","managedFields":[{"manager":"kubectl"}]}}"#);
        list.push_json(r#"{"metadata":{"name":"bad","namespace":"velero"},"spec":{"replicas":"s3cr3t, expected x"}}"#);
        assert_eq!(list.len(), 1);
        assert!(list[0].metadata.managed_fields.is_none(), "managedFields are trimmed");
        assert_eq!(list.malformed.len(), 1);
        let m = list.malformed[0].describe();
        assert!(m.starts_with("malformed object Deployment velero/bad: "), "{m}");
        assert!(!m.contains("s3cr3t"), "{m}");
    }

    #[test]
    fn old_and_new_bundle_shapes_load() {
        let old: List<Deployment> = serde_json::from_str(r#"[{"metadata":{"name":"a"}},{"spec":{"replicas":"x"}}]"#).unwrap();
        assert_eq!((old.len(), old.malformed.len()), (1, 1));
        let text = serde_json::to_string(&old).unwrap();
        let new: List<Deployment> = serde_json::from_str(&text).unwrap();
        assert_eq!((new.len(), new.malformed.len()), (1, 1));
        assert!(serde_json::from_str::<List<Deployment>>("3").is_err());
    }
}
