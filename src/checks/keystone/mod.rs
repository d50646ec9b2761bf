//! keystone.*: what Velero's OpenStack plugin meets at Keystone.
//!
//! Shared by keystone.* and swift.* (every OpenStack check reads the same facts): [`openstack`]
//! and [`problem_verdict`]. The per-BSL helpers are in `swift/mod.rs`.

pub mod auth;
pub mod catalog;

use crate::checks::Ctx;
use crate::facts::{OpenStackFacts, Problem, ProblemKind};
use crate::model::Verdict;

/// The OpenStack facts, or why there are none (the checks then `skip` with it).
pub(crate) fn openstack<'a>(ctx: &Ctx<'a>) -> Result<&'a OpenStackFacts, String> {
    let os = ctx.facts.openstack.as_ref().ok_or("OpenStack was not asked in this run (--only/--skip, or a bundle without OpenStack facts)")?;
    if let Some(why) = &os.not_attempted {
        return Err(format!("OpenStack not asked: {why}"));
    }
    Ok(os)
}

/// A failed call: `error` when veldr could not get an answer in time, `fail` otherwise.
pub(crate) fn problem_verdict(what: &str, p: &Problem) -> Verdict {
    let summary = format!("{what}: {}", p.message);
    let v = if p.kind == ProblemKind::Timeout { Verdict::error(summary) } else { Verdict::fail(summary) };
    // A Keystone or Swift that never answers stalls Velero's plugin too: say what Velero will do.
    crate::upstream::plugin_hangs::explain(v, p).evidence("problem", p)
}
