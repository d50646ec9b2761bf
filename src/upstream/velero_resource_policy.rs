//! Velero's resource policies (`spec.resourcePolicy: {kind: configmap, name}` of a Backup or a
//! Schedule's template): a ConfigMap in Velero's namespace with exactly one data key holding YAML
//! `{version: v1, volumePolicies: [{conditions, action: {type}}]}`. For each volume, the first policy
//! whose conditions all match decides: `skip` (no data), `snapshot`, or `fs-backup`.
//!
//! Mirrors vmware-tanzu/velero v1.17.1 `internal/resourcepolicies/`: `resource_policies.go`
//! (`GetResourcePoliciesFromBackup`, `getResourcePoliciesFromConfig`: one data key; `BuildPolicy`;
//! `match`: first policy whose conditions all match; `Validate`: version `v1`, action types),
//! `volume_resources.go` (the conditions: capacity `"lower,upper"`, storageClass, nfs, csi with
//! volumeAttributes, pvcLabels — v1.16.0+), `volume_types_conditions.go` (volumeTypes),
//! `volume_resources_validator.go` (yaml.v3 `KnownFields(true)`: an unknown key is an error).
//! A policy Velero cannot read fails the validation of every backup that names it
//! (`pkg/controller/backup_controller.go` `prepareBackupRequest`). How the action is applied:
//! `internal/volumehelper/volume_policy_helper.go` `ShouldPerformSnapshot` (a matching policy decides
//! before `snapshotVolumes`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The only `version` Velero accepts (`currentSupportDataVersion`).
pub const VERSION: &str = "v1";
pub const SKIP: &str = "skip";
pub const SNAPSHOT: &str = "snapshot";
pub const FS_BACKUP: &str = "fs-backup";

/// A resource-policy ConfigMap as Velero reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePolicy {
    /// The data key holding the YAML.
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub volume_policies: Vec<VolumePolicy>,
    /// Why Velero refuses it (every backup naming it then fails validation); `None`: Velero reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumePolicy {
    #[serde(default)]
    pub conditions: Conditions,
    pub action: Action,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Action {
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Not judged; kept so that a policy with parameters still reads.
    #[serde(default, skip_serializing)]
    pub parameters: Option<serde_json::Value>,
}

/// `volumeConditions`: every condition given must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Conditions {
    /// `"lower,upper"`; either side may be empty (no bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_class: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<NfsCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi: Option<CsiCondition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_types: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pvc_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NfsCondition {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CsiCondition {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_attributes: BTreeMap<String, String>,
}

/// The YAML document (`ResourcePolicies`), strict as Velero's decoder.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Document {
    #[serde(default)]
    version: String,
    #[serde(default)]
    volume_policies: Option<Vec<VolumePolicy>>,
    /// Not judged (which resources a backup takes), accepted so that a policy holding it reads.
    #[serde(default)]
    #[allow(dead_code)]
    include_exclude_policy: Option<serde_json::Value>,
}

/// Characters kept of Velero's (or the YAML reader's) complaint.
const COMPLAINT_CHARS: usize = 240;

/// A resource-policy ConfigMap's `data`, read as Velero reads it; what Velero would refuse is in
/// `invalid` (the policies read so far are kept).
pub fn from_config_map(data: &BTreeMap<String, String>) -> ResourcePolicy {
    if data.len() != 1 {
        return ResourcePolicy {
            invalid: Some(format!("Velero needs exactly one data key in a resource-policy ConfigMap, this one has {}", data.len())),
            ..Default::default()
        };
    }
    let (key, yaml) = data.iter().next().expect("one key");
    let mut policy = ResourcePolicy { key: key.clone(), ..Default::default() };
    let doc: Document = match serde_saphyr::from_str(yaml) {
        Ok(d) => d,
        Err(e) => {
            policy.invalid = Some(format!("Velero cannot decode it: {}", cut(&e.to_string())));
            return policy;
        }
    };
    policy.version = doc.version;
    policy.volume_policies = doc.volume_policies.unwrap_or_default();
    policy.invalid = validate(&policy);
    policy
}

fn cut(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > COMPLAINT_CHARS { one_line.chars().take(COMPLAINT_CHARS).collect::<String>() + "…" } else { one_line }
}

/// `Policies.Validate`: the version, each action type, each capacity, the csi condition.
fn validate(p: &ResourcePolicy) -> Option<String> {
    if p.version != VERSION {
        return Some(format!("incompatible version number {:?} with supported version {VERSION}", p.version));
    }
    for (i, vp) in p.volume_policies.iter().enumerate() {
        if ![SKIP, SNAPSHOT, FS_BACKUP].contains(&vp.action.type_.as_str()) {
            return Some(format!("volumePolicies[{i}]: invalid action type {:?}", vp.action.type_));
        }
        if let Err(e) = capacity_bounds(vp.conditions.capacity.as_deref()) {
            return Some(format!("volumePolicies[{i}]: {e}"));
        }
        if let Some(csi) = &vp.conditions.csi {
            if csi.driver.is_empty() && !csi.volume_attributes.is_empty() {
                return Some(format!("volumePolicies[{i}]: csi driver should not be empty when filtering by volume attributes"));
            }
        }
    }
    None
}

/// A volume as the conditions see it (`structuredVolume`: from the PV, and the PVC's labels).
#[derive(Debug, Default, Clone, Copy)]
pub struct PolicyVolume<'a> {
    /// `spec.capacity.storage` in bytes (0 when absent, as Go's zero Quantity).
    pub capacity_bytes: f64,
    pub storage_class: Option<&'a str>,
    pub csi: Option<(&'a str, &'a BTreeMap<String, String>)>,
    pub nfs: Option<(&'a str, &'a str)>,
    /// `getVolumeTypeFromPV`'s name of the PV's source.
    pub volume_type: Option<&'a str>,
    pub pvc_labels: Option<&'a BTreeMap<String, String>>,
}

impl ResourcePolicy {
    /// The first volume policy whose conditions all match (`Policies.match`), with its index.
    /// `None` also when Velero refuses the ConfigMap (its backups then fail before any volume).
    pub fn first_match(&self, v: &PolicyVolume) -> Option<(usize, &VolumePolicy)> {
        if self.invalid.is_some() {
            return None;
        }
        self.volume_policies.iter().enumerate().find(|(_, p)| p.conditions.matches(v))
    }
}

impl Conditions {
    pub fn matches(&self, v: &PolicyVolume) -> bool {
        let capacity = match capacity_bounds(self.capacity.as_deref()) {
            Ok((lower, upper)) => in_range(lower, upper, v.capacity_bytes),
            Err(_) => false,
        };
        let storage_class =
            self.storage_class.is_empty() || v.storage_class.filter(|s| !s.is_empty()).is_some_and(|sc| self.storage_class.iter().any(|c| c == sc));
        let nfs = match (&self.nfs, v.nfs) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(c), Some((server, path))) => {
                if c.path.is_empty() {
                    c.server.is_empty() || c.server == server
                } else {
                    c.path == path && (c.server.is_empty() || c.server == server)
                }
            }
        };
        let csi = match (&self.csi, v.csi) {
            (None, _) => true,
            (Some(c), vol) if c.driver.is_empty() => vol.is_some(),
            (Some(_), None) => false,
            (Some(c), Some((driver, attrs))) => {
                c.driver == driver
                    && (c.volume_attributes.is_empty() || (!attrs.is_empty() && c.volume_attributes.iter().all(|(k, val)| attrs.get(k) == Some(val))))
            }
        };
        let volume_type = self.volume_types.is_empty() || v.volume_type.is_some_and(|t| self.volume_types.iter().any(|c| c == t));
        let pvc_labels = self.pvc_labels.is_empty() || v.pvc_labels.is_some_and(|l| self.pvc_labels.iter().all(|(k, val)| l.get(k) == Some(val)));
        capacity && storage_class && nfs && csi && volume_type && pvc_labels
    }
}

impl VolumePolicy {
    /// The rule as a person reads it: `{storageClass: [vsphere-sc], pvcLabels: {backup: "no"}} → skip`.
    pub fn describe(&self) -> String {
        let c = &self.conditions;
        let mut parts = Vec::new();
        if let Some(cap) = &c.capacity {
            parts.push(format!("capacity: {cap:?}"));
        }
        if !c.storage_class.is_empty() {
            parts.push(format!("storageClass: [{}]", c.storage_class.join(", ")));
        }
        if let Some(n) = &c.nfs {
            parts.push(format!("nfs: {{server: {:?}, path: {:?}}}", n.server, n.path));
        }
        if let Some(csi) = &c.csi {
            let attrs: Vec<String> = csi.volume_attributes.iter().map(|(k, v)| format!("{k}: {v:?}")).collect();
            parts.push(if attrs.is_empty() { format!("csi: {{driver: {}}}", csi.driver) } else { format!("csi: {{driver: {}, volumeAttributes: {{{}}}}}", csi.driver, attrs.join(", ")) });
        }
        if !c.volume_types.is_empty() {
            parts.push(format!("volumeTypes: [{}]", c.volume_types.join(", ")));
        }
        if !c.pvc_labels.is_empty() {
            let labels: Vec<String> = c.pvc_labels.iter().map(|(k, v)| format!("{k}: {v:?}")).collect();
            parts.push(format!("pvcLabels: {{{}}}", labels.join(", ")));
        }
        format!("{{{}}} → {}", parts.join(", "), self.action.type_)
    }
}

/// `parseCapacity`: `"lower,upper"`, an empty side is 0 (no bound); `None` or `""` is `","`.
fn capacity_bounds(cap: Option<&str>) -> Result<(f64, f64), String> {
    let cap = cap.filter(|c| !c.is_empty()).unwrap_or(",");
    let sides: Vec<&str> = cap.split(',').collect();
    if sides.len() != 2 {
        return Err(format!("wrong format of Capacity {cap}"));
    }
    let q = |s: &str| if s.trim().is_empty() { Ok(0.0) } else { quantity_bytes(s.trim()).ok_or_else(|| format!("wrong format of Capacity {s}")) };
    let (lower, upper) = (q(sides[0])?, q(sides[1])?);
    // `capacityCondition.validate`: low <= upper, or upper is zero.
    if upper >= lower || (lower != 0.0 && upper == 0.0) {
        Ok((lower, upper))
    } else {
        Err(format!("illegal values for capacity {cap}"))
    }
}

/// `capacity.isInRange`.
fn in_range(lower: f64, upper: f64, y: f64) -> bool {
    if lower == 0.0 && upper >= y {
        return true;
    }
    if upper == 0.0 && lower <= y {
        return true;
    }
    lower != 0.0 && upper != 0.0 && lower <= y && upper >= y
}

/// A Kubernetes quantity (`10Gi`, `500M`, `1.5Ti`, `1e9`) in bytes; `None` when it is not one.
pub fn quantity_bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(yaml: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("policy.yaml".to_string(), yaml.to_string())])
    }

    const DOC: &str = r#"
version: v1
volumePolicies:
  - conditions:
      capacity: "0,1Gi"
    action:
      type: skip
  - conditions:
      csi:
        driver: csi.vsphere.vmware.com
        volumeAttributes:
          type: vSphere CNS File Volume
    action:
      type: fs-backup
  - conditions:
      storageClass: [vsphere-sc]
      pvcLabels:
        backup: "no"
    action:
      type: skip
  - conditions:
      volumeTypes: [vsphereVolume]
    action:
      type: snapshot
"#;

    fn vol<'a>(gib: f64, sc: &'a str, attrs: &'a BTreeMap<String, String>, labels: Option<&'a BTreeMap<String, String>>) -> PolicyVolume<'a> {
        PolicyVolume {
            capacity_bytes: gib * 1024f64.powi(3),
            storage_class: Some(sc),
            csi: Some(("csi.vsphere.vmware.com", attrs)),
            nfs: None,
            volume_type: Some("csi"),
            pvc_labels: labels,
        }
    }

    #[test]
    fn the_first_matching_policy_decides() {
        let p = from_config_map(&cm(DOC));
        assert_eq!(p.invalid, None);
        assert_eq!((p.version.as_str(), p.volume_policies.len(), p.key.as_str()), ("v1", 4, "policy.yaml"));
        let block = BTreeMap::from([("type".to_string(), "vSphere CNS Block Volume".to_string())]);
        let file = BTreeMap::from([("type".to_string(), "vSphere CNS File Volume".to_string())]);
        let no = BTreeMap::from([("backup".to_string(), "no".to_string())]);
        // Small: the capacity rule (0 to 1 GiB) comes first.
        assert_eq!(p.first_match(&vol(0.5, "vsphere-sc", &file, None)).map(|(i, _)| i), Some(0));
        assert_eq!(p.first_match(&vol(10.0, "vsphere-sc", &file, None)).map(|(i, v)| (i, v.action.type_.as_str())), Some((1, FS_BACKUP)));
        assert_eq!(p.first_match(&vol(10.0, "vsphere-sc", &block, Some(&no))).map(|(i, _)| i), Some(2));
        assert_eq!(p.first_match(&vol(10.0, "other-sc", &block, Some(&no))).map(|(i, _)| i), None, "storage class differs");
        assert_eq!(p.first_match(&vol(10.0, "vsphere-sc", &block, None)).map(|(i, _)| i), None, "no labels: pvcLabels does not match");
        let legacy = PolicyVolume { capacity_bytes: 5e9, volume_type: Some("vsphereVolume"), ..Default::default() };
        assert_eq!(p.first_match(&legacy).map(|(i, _)| i), Some(3));
        assert_eq!(p.volume_policies[2].describe(), r#"{storageClass: [vsphere-sc], pvcLabels: {backup: "no"}} → skip"#);
        assert_eq!(p.volume_policies[1].describe(), r#"{csi: {driver: csi.vsphere.vmware.com, volumeAttributes: {type: "vSphere CNS File Volume"}}} → fs-backup"#);
    }

    #[test]
    fn what_velero_refuses_is_said() {
        let two = BTreeMap::from([("a".to_string(), DOC.to_string()), ("b".to_string(), DOC.to_string())]);
        assert!(from_config_map(&two).invalid.unwrap().contains("exactly one data key"));
        assert!(from_config_map(&cm("version: v2\nvolumePolicies: []\n")).invalid.unwrap().contains("incompatible version number \"v2\""));
        assert!(from_config_map(&cm("version: v1\nvolumePolicies:\n- action: {type: delete}\n")).invalid.unwrap().contains("invalid action type \"delete\""));
        let unknown = from_config_map(&cm("version: v1\nvolumePolicies:\n- conditions: {size: 3}\n  action: {type: skip}\n"));
        assert!(unknown.invalid.as_deref().unwrap().starts_with("Velero cannot decode it"), "{unknown:?}");
        assert!(from_config_map(&cm("version: v1\nvolumePolicies:\n- conditions: {capacity: \"10Gi,1Gi\"}\n  action: {type: skip}\n")).invalid.unwrap().contains("illegal values for capacity"));
        assert!(from_config_map(&cm("version: v1\nvolumePolicies:\n- conditions: {capacity: \"ten\"}\n  action: {type: skip}\n")).invalid.unwrap().contains("wrong format"));
        let bad = from_config_map(&cm("version: v1\nvolumePolicies:\n- conditions: {csi: {volumeAttributes: {a: b}}}\n  action: {type: skip}\n"));
        assert!(bad.invalid.unwrap().contains("csi driver should not be empty"));
        // A refused policy matches nothing: Velero does not get as far as the volumes.
        assert!(bad_first_match_is_none());
        // includeExcludePolicy is Velero's too.
        assert_eq!(from_config_map(&cm("version: v1\nincludeExcludePolicy:\n  excludedNamespaceScopedResources: [secrets]\n")).invalid, None);
    }

    fn bad_first_match_is_none() -> bool {
        let p = from_config_map(&cm("version: v2\nvolumePolicies:\n- action: {type: skip}\n"));
        p.first_match(&PolicyVolume::default()).is_none()
    }

    #[test]
    fn quantities_and_capacity_ranges_follow_kubernetes_and_velero() {
        assert_eq!(quantity_bytes("10Gi"), Some(10.0 * 1024f64.powi(3)));
        assert_eq!(quantity_bytes("500M"), Some(5e8));
        assert_eq!(quantity_bytes("1.5Ki"), Some(1536.0));
        assert_eq!(quantity_bytes("1e3"), Some(1000.0));
        assert_eq!(quantity_bytes("12"), Some(12.0));
        assert_eq!(quantity_bytes("lots"), None);
        let (l, u) = capacity_bounds(Some("10Gi,")).unwrap();
        assert!(in_range(l, u, 11.0 * 1024f64.powi(3)) && !in_range(l, u, 1.0));
        let (l, u) = capacity_bounds(None).unwrap();
        assert!(in_range(l, u, 0.0) && in_range(l, u, 1e15), "no capacity condition matches any size");
        let (l, u) = capacity_bounds(Some("1Gi,10Gi")).unwrap();
        assert!(in_range(l, u, 5.0 * 1024f64.powi(3)) && !in_range(l, u, 20.0 * 1024f64.powi(3)));
    }
}
