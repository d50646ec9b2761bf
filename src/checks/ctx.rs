//! The judges' view of the facts: typed accessors and the derived facts several checks share.

use crate::facts::{BackupStorageLocation, Facts, HelmRelease, ResolvedEnv};
use crate::upstream::velero;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;
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
    pub fn velero_deployment(&self) -> Option<&'a Deployment> {
        let deployments = self.facts.kube.deployments.as_ref().ok()?;
        velero::find_deployment(deployments, &self.facts.target.namespace)
    }

    pub fn velero_container(&self) -> Option<&'a Container> {
        self.velero_deployment().and_then(velero::server_container)
    }

    /// The Velero server's image and the version its tag names (the reason when it names none).
    pub fn velero_version(&self) -> Option<(String, Result<(String, (u64, u64, u64)), String>)> {
        let image = self.velero_container()?.image.clone()?;
        let version = velero::image_version(&image);
        Some((image, version))
    }

    pub fn server_flags(&self) -> BTreeMap<String, String> {
        self.velero_container().map(velero::server_flags).unwrap_or_default()
    }

    pub fn env(&self) -> Option<&'a ResolvedEnv> {
        self.facts.velero_env.as_ref()
    }

    /// BSLs selected by `--bsl` (all when none given).
    pub fn selected_bsls(&self, all: &'a [BackupStorageLocation]) -> Vec<&'a BackupStorageLocation> {
        crate::facts::select_bsls(all, self.bsl_filter)
    }

    /// The Helm release that installed Velero, newest deployed revision, when there is one.
    pub fn helm_release(&self) -> Option<&'a HelmRelease> {
        let name = self.velero_deployment().and_then(velero::helm_release_name)?;
        let releases = self.facts.kube.helm_releases.as_ref().ok()?;
        releases.iter().filter(|r| r.name == name).find(|r| r.status == "deployed").or_else(|| releases.iter().find(|r| r.name == name))
    }

    /// The Helm release named by the Velero Deployment's labels when its records could not be read
    /// because the list was refused (deploy/rbac.yaml does not grant it; deploy/rbac-helm-hints.yaml
    /// does): the checks then know Helm installed Velero but not its values.
    pub fn helm_values_refused(&self) -> Option<String> {
        let refused = self.facts.kube.helm_releases.as_ref().err().is_some_and(|e| e.kind == crate::facts::ReadErrorKind::Forbidden);
        refused.then(|| self.velero_deployment().and_then(velero::helm_release_name)).flatten()
    }

    /// `true` when the Velero Deployment was installed by the Helm chart.
    pub fn by_helm(&self) -> bool {
        self.helm_release().is_some()
    }

    /// Seconds from `t` to the collection time (negative when `t` is later).
    pub fn age_secs(&self, t: Timestamp) -> i64 {
        self.now.as_second() - t.as_second()
    }
}
