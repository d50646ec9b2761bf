//! keystone.*, swift.*.
use super::Ctx;
use crate::model::Verdict;
pub fn auth(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn catalog(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn container(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn digest(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn key(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn tempurl(_: &Ctx) -> Verdict { Verdict::error("TODO") }
pub fn clock(_: &Ctx) -> Verdict { Verdict::error("TODO") }
