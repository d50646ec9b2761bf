//! Mirrors of upstream behaviour and formats: what Velero, the OpenStack plugin and vSphere CSI
//! write or do, kept in one place per source, each citing the file and release tag it follows.

pub mod velero_crds;
mod velero_crds_table;
pub mod velero_volumeinfo;
pub mod velero_resource_policy;
