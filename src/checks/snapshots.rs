//! vsl.config, csi.snapshot-class, csi.driver.
use super::Ctx;
use crate::model::Verdict;
pub fn vsl(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn class(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn driver(_: &Ctx) -> Verdict { Verdict::error("TODO") }
