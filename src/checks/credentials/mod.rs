pub mod env;
pub mod fresh;

use crate::checks::Ctx;
use crate::model::Verdict;

/// Both credentials checks start from the Velero Deployment. When none was found, `skip` with
/// `summary` — unless a Deployment of the namespace did not decode: it may be Velero's, so `warn`
/// and name it rather than call Velero absent.
fn without_deployment(ctx: &Ctx, summary: String) -> Verdict {
    let ns = ctx.namespace();
    let malformed: Vec<String> = match &ctx.facts.kube.deployments {
        Ok(list) => list.malformed.iter().filter(|m| m.namespace.as_deref() == Some(ns)).map(|m| m.describe()).collect(),
        Err(_) => Vec::new(),
    };
    if malformed.is_empty() {
        return Verdict::skip(summary);
    }
    Verdict::warn(format!("no Velero Deployment found in {ns}, but {} Deployment(s) there could not be decoded", malformed.len()))
        .details(malformed)
        .hint(format!("compare with `kubectl -n {ns} get deployments -o yaml`: a field of an unexpected type (a hand edit, an admission webhook) makes the object unreadable to veldr"))
}
pub mod tls;
