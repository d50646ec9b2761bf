//! velero.deployment, velero.plugin, velero.features, velero.fs-backup.
use super::Ctx;
use crate::model::Verdict;
pub fn deployment(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn plugin(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn features(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn fs_backup(_: &Ctx) -> Verdict { Verdict::error("TODO") }
