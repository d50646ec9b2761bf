//! What the checks' unit tests share: running one check as the engine runs it, the text of a
//! verdict to search, and builders of facts from JSON the way collect decodes them.

use crate::checks::{CheckDef, Ctx};
use crate::facts::{Facts, List, Object};
use crate::model::Verdict;
use serde_json::Value;

/// The check's verdict over `facts`, as a run gives it: its judge, then the engine's policies
/// (malformed objects named, bounds).
pub fn run(check: &CheckDef, facts: &Facts) -> Verdict {
    crate::pipeline::judge::verdict_of(check, &Ctx::new(facts, &[]))
}

/// [`run`] with a `--bsl` selection.
pub fn run_for_bsls(check: &CheckDef, facts: &Facts, bsls: &[String]) -> Verdict {
    crate::pipeline::judge::verdict_of(check, &Ctx::new(facts, bsls))
}

/// Summary, details and hint, lower-cased, for `contains` assertions.
pub fn text(v: &Verdict) -> String {
    format!("{} {} {}", v.summary, v.details.join(" "), v.hint.clone().unwrap_or_default()).to_lowercase()
}

/// Summary, details and hint as written (case kept), for `contains` assertions on names and kinds.
pub fn written(v: &Verdict) -> String {
    format!("{} {} {}", v.summary, v.details.join(" "), v.hint.clone().unwrap_or_default())
}

/// Objects decoded one by one as collect decodes them: one that does not decode is kept as malformed.
pub fn list<T: Object>(objects: Vec<Value>) -> List<T> {
    let mut list = List::default();
    objects.iter().for_each(|o| list.push_json(&o.to_string()));
    list
}

/// Facts of the Velero namespace `velero` with nothing read yet (every read "not needed").
pub fn empty() -> Facts {
    Facts::empty("velero")
}
