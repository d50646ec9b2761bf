//! kube.connect: the API server answers and accepts veldr's credentials.

use crate::checks::{CheckDef, Ctx};
use crate::facts::ReadErrorKind;
use crate::model::Verdict;

pub const CHECK: CheckDef = crate::check! {
    id: "kube.connect", category: Cluster, severity: Critical,
    title: "Kubernetes API reachable",
    depends_on: [], needs: [],
    timed_by: Kube,
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    let server = ctx.facts.target.server.clone().unwrap_or_default();
    match &ctx.facts.kube.version {
        Ok(v) => Verdict::ok(format!("API server {} answers", v.git_version)).evidence("version", v).evidence("server", &server),
        Err(e) => {
            let hint = match e.kind {
                ReadErrorKind::Unauthorized => "the kubeconfig's credentials were refused: refresh them (e.g. re-login, renew the token) or pick another --context",
                ReadErrorKind::Timeout => "the API server did not answer in time: check the network path or raise --timeout",
                ReadErrorKind::Forbidden => "the user may not read /version: grant the system:discovery ClusterRole",
                _ => "check the server address and CA in the kubeconfig, and that the API server is up (`kubectl cluster-info`)",
            };
            Verdict::fail(format!("cannot talk to the API server at {server}: {}", e.message)).hint(hint).evidence("read", e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Facts, ReadError};
    use crate::model::Status;

    #[test]
    fn an_answer_is_ok_with_the_version() {
        let f = Facts::empty("velero");
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.summary, "API server v1.31.4 answers");
        assert_eq!(v.evidence["server"], "https://127.0.0.1:6443");
    }

    #[test]
    fn refused_credentials_fail_with_their_fix() {
        let mut f = Facts::empty("velero");
        f.kube.version = Err(ReadError::new(ReadErrorKind::Unauthorized, "get", "/version", None, "HTTP 401"));
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("https://127.0.0.1:6443: HTTP 401"), "{}", v.summary);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("credentials were refused")), "{:?}", v.hint);
    }
}
