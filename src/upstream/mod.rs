//! How upstream software behaves, mirrored from its source so that veldr judges what it will really
//! do. Each module names whose behaviour it mirrors and the files (and versions) it was read from.
//! Pure: no I/O here; collect reads, these interpret.

/// Velero's backup as it lies in the BSL: the resource list and the tarball (restore-check).
pub mod velero_backup_archive;
