//! How upstream software behaves, mirrored from its source so that veldr judges what it will really
//! do. Each module names whose behaviour it mirrors and the files (and versions) it was read from.
//! Pure: no I/O here; collect reads, these interpret.

/// Velero's server: its Deployment, container, flags, plugins and version.
pub mod velero;
/// Velero's object store layout and its results documents.
pub mod velero_store;
/// Kopia (file-system backup, the data mover): what cannot work on a Swift BSL, in one place.
pub mod kopia;
/// The OpenStack plugin's effective configuration (auth, region, temp-URL key and digest).
pub mod openstack_plugin;
/// The TLS trust the OpenStack plugin really uses.
pub mod plugin_trust;
/// What a Keystone or Swift that does not answer does to Velero and the plugin (no timeouts).
pub mod plugin_hangs;
/// The vSphere CSI driver's snapshot settings and feature states.
pub mod vsphere_csi;
/// Helm 3 release records and the Velero chart's values.
pub mod helm;
/// Velero's per-volume backup record (`<b>-volumeinfo.json.gz`, Velero 1.13+).
pub mod velero_volumeinfo;
/// Velero's backup as it lies in the BSL: the resource list and the tarball (restore-check).
pub mod velero_backup_archive;
/// Which CRDs and enum values each Velero release declares (generated from Velero's config/crd).
pub mod velero_crds;
mod velero_crds_table;
/// The Velero server's log lines (logrus text or JSON) and the telltales veldr keeps of them.
pub mod velero_logs;
pub mod velero_resource_policy;
