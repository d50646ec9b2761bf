//! bsl.phase, bsl.config.
use super::Ctx;
use crate::model::Verdict;
pub fn phase(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn config(_: &Ctx) -> Verdict { Verdict::error("TODO") }
