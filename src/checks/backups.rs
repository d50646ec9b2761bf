//! backup.recent.
use super::Ctx;
use crate::model::Verdict;
pub fn recent(_: &Ctx) -> Verdict { Verdict::error("TODO") }
