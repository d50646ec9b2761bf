//! Modules that mirror upstream behaviour and formats (Velero, its plugins, vSphere CSI): each says
//! which upstream file and tag it follows.

pub mod velero_crds;
mod velero_crds_table;
