//! credentials.env, credentials.fresh.
use super::Ctx;
use crate::model::Verdict;
pub fn env(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn fresh(_: &Ctx) -> Verdict { Verdict::error("TODO") }
