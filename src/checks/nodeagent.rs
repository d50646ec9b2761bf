//! nodeagent.pss.
use super::Ctx;
use crate::model::Verdict;
pub fn pss(_: &Ctx) -> Verdict { Verdict::error("TODO") }
