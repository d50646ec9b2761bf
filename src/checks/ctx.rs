//! The judges' view of the facts: typed accessors and the derived facts several checks share.

use crate::facts::{Facts, ResolvedEnv};
use crate::velero;
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

pub struct Ctx<'a> {
    pub facts: &'a Facts,
    /// The instant the judges compare ages with (the collection time, so a bundle judges the same later).
    pub now: Timestamp,
    /// `--bsl` filter: empty means every BSL.
    pub bsl_filter: &'a [String],
}

impl<'a> Ctx<'a> {
    pub fn new(facts: &'a Facts, bsl_filter: &'a [String]) -> Self {
        Ctx { facts, now: facts.collected_at, bsl_filter }
    }

    pub fn namespace(&self) -> &str {
        &self.facts.target.namespace
    }

    /// The Velero Deployment, when the list could be read and one exists.
    pub fn velero_deployment(&self) -> Option<&'a Value> {
        let deployments = self.facts.kube.deployments.as_ref().ok()?;
        velero::find_deployment(deployments, &self.facts.target.namespace)
    }

    pub fn velero_container(&self) -> Option<&'a Value> {
        self.velero_deployment().and_then(velero::server_container)
    }

    pub fn server_flags(&self) -> BTreeMap<String, String> {
        self.velero_container().map(velero::server_flags).unwrap_or_default()
    }

    pub fn env(&self) -> Option<&'a ResolvedEnv> {
        self.facts.velero_env.as_ref()
    }

    /// BSLs selected by `--bsl` (all when none given).
    pub fn selected_bsls(&self, all: &'a [Value]) -> Vec<&'a Value> {
        all.iter()
            .filter(|b| {
                self.bsl_filter.is_empty()
                    || b.pointer("/metadata/name").and_then(Value::as_str).is_some_and(|n| self.bsl_filter.iter().any(|f| f == n))
            })
            .collect()
    }

    /// The Helm release that installed Velero, newest deployed revision, when there is one.
    pub fn helm_release(&self) -> Option<&'a crate::facts::HelmRelease> {
        let name = self.velero_deployment().and_then(velero::helm_release_name)?;
        let releases = self.facts.kube.helm_releases.as_ref().ok()?;
        releases.iter().filter(|r| r.name == name).find(|r| r.status == "deployed").or_else(|| releases.iter().find(|r| r.name == name))
    }
}

/// `true` when a BSL uses the OpenStack object store plugin.
pub fn is_openstack_bsl(bsl: &Value) -> bool {
    let provider = bsl.pointer("/spec/provider").and_then(Value::as_str).unwrap_or_default();
    provider == "community.openstack.org/openstack" || provider == "openstack"
}

pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("<unnamed>")
}

pub fn str_at<'v>(obj: &'v Value, ptr: &str) -> Option<&'v str> {
    obj.pointer(ptr).and_then(Value::as_str)
}

pub fn timestamp_at(obj: &Value, ptr: &str) -> Option<Timestamp> {
    str_at(obj, ptr).and_then(|s| s.parse().ok())
}

/// "3h 12m" style ages for messages.
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
