//! A Keystone or Swift that does not answer: what it does to Velero, not only to veldr.
//!
//! veldr gives up at `--timeout` and the check ends `error` (it could not evaluate). Velero's OpenStack
//! plugin does not give up, so such an `error` is also the target's failure, and the verdict says so.
//! Read from the sources (plugin v2.x `src/utils/auth.go`, `src/swift/object_store.go`; gophercloud
//! v2.12 `provider_client.go`; Velero `pkg/plugin/framework/object_store_client.go`,
//! `pkg/controller/backup_storage_location_controller.go`, `backup_controller.go`, `pkg/cmd/server`):
//!
//! - `utils.Authenticate` puts a clone of Go's `http.DefaultTransport` into gophercloud's
//!   `ProviderClient.HTTPClient`, a plain `http.Client` with no `Timeout`. That transport bounds
//!   connecting (30 s) and the TLS handshake (10 s), not the wait for an answer (no
//!   `ResponseHeaderTimeout`). Every plugin call passes `context.TODO()`, and Velero calls the plugin
//!   over gRPC with `context.Background()`: no deadline anywhere on the way.
//! - So a Keystone or Swift that accepts the connection and never answers holds the call forever.
//!   The BSL controller (one reconcile at a time) hangs in `ObjectStore.Init` (Keystone: a fresh
//!   plugin process per validation logs in again) or `IsValid` (Swift: `ListCommonPrefixes`), so no
//!   BSL's phase or `lastValidationTime` changes again. A backup is `InProgress` before `runBackup`
//!   gets its store (`Init`) and asks `BackupExists`, so it stays `InProgress`. Only a Velero restart
//!   ends those calls; at start Velero marks backups left `InProgress` as `Failed`.
//!
//! A refused connection or a TLS failure returns at once in the plugin as in veldr: those are `fail`.

use crate::facts::{Problem, ProblemKind};
use crate::model::Verdict;

/// The service that did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Keystone,
    Swift,
}

impl Service {
    /// From a timed-out call's message, which names its service first ("Keystone did not answer …",
    /// "Swift /info did not answer …"). None for anything else: no claim is made about Velero then.
    pub fn of(p: &Problem) -> Option<Service> {
        if p.kind != ProblemKind::Timeout {
            return None;
        }
        if p.message.starts_with("Keystone") {
            Some(Service::Keystone)
        } else if p.message.starts_with("Swift") {
            Some(Service::Swift)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Service::Keystone => "Keystone",
            Service::Swift => "Swift",
        }
    }
}

/// "Swift did not answer within the run's --timeout (5s)", from the summary of any check whose
/// Keystone or Swift call got no answer ("Swift /info did not answer …", "the temp URL probe: Swift
/// temp URL did not answer …"): the one cause those checks share, for the report's summary lines.
pub fn cause(summary: &str) -> Option<String> {
    let at = summary.find(" did not answer")?;
    let subject = summary[..at].rsplit(": ").next().unwrap_or_default();
    let service = [Service::Keystone, Service::Swift].into_iter().find(|s| subject.starts_with(s.name()))?;
    Some(format!("{}{}", service.name(), &summary[at..]))
}

/// What Velero does meanwhile, one detail line each.
pub fn velero_stalls(service: Service) -> Vec<String> {
    let name = service.name();
    let calls = match service {
        Service::Keystone => "the plugin logs in to Keystone at every BSL validation and every backup",
        Service::Swift => "the plugin lists the container to validate the BSL, and asks Swift at every backup",
    };
    vec![
        format!(
            "this is {name}'s failure too, not only veldr's: Velero's OpenStack plugin waits for {name} with no deadline \
             (gophercloud's http.Client has no Timeout; the plugin's transport bounds only connecting, 30 s, and the TLS handshake, 10 s; every call runs under context.TODO())"
        ),
        format!(
            "{calls}: BSL validation hangs (no BSL's phase or lastValidationTime changes again: Velero validates one at a time) and new backups stay InProgress"
        ),
        "a hung call is never abandoned: only a Velero restart ends it, and the restart marks backups left InProgress as Failed (\"found a backup with status InProgress during the server starting\")".into(),
    ]
}

/// What to do.
pub fn hint(service: Service) -> &'static str {
    match service {
        Service::Keystone => {
            "check that Keystone answers from inside the cluster (`curl -sS -m 10 <OS_AUTH_URL>` from a pod), or raise --timeout if it is only slow; \
             once it answers, restart Velero if backups stay InProgress (`kubectl -n velero rollout restart deployment/velero`)"
        }
        Service::Swift => {
            "check that Swift's proxy answers from inside the cluster (`curl -sS -m 10 -I <object-store endpoint>/info` from a pod), or raise --timeout if it is only slow; \
             once it answers, restart Velero if backups stay InProgress (`kubectl -n velero rollout restart deployment/velero`)"
        }
    }
}

/// A verdict (an `error`: veldr could not evaluate) that also says what the silence does to Velero,
/// when the problem is a Keystone or Swift that did not answer. Other verdicts are returned as they are.
pub fn explain(v: Verdict, p: &Problem) -> Verdict {
    match Service::of(p) {
        Some(service) => v.details(velero_stalls(service)).hint(hint(service)),
        None => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_timeout_names_a_service() {
        use ProblemKind::{Timeout, Tls, Unreachable};
        let t = |kind: ProblemKind, msg: &str| Service::of(&Problem::new(kind, msg));
        assert_eq!(t(Timeout, "Keystone did not answer within the run's --timeout (5s)"), Some(Service::Keystone));
        assert_eq!(t(Timeout, "Swift /info did not answer within the run's --timeout (5s)"), Some(Service::Swift));
        assert_eq!(t(Timeout, "something else"), None);
        assert_eq!(t(Unreachable, "Swift unreachable: connection refused"), None, "a refused connection is a fail, not a stall");
        assert_eq!(t(Tls, "Keystone unreachable: TLS"), None);
    }

    #[test]
    fn the_calls_of_one_service_share_a_cause() {
        let late = " did not answer within the run's --timeout (4s)";
        for summary in [
            format!("container velero-backups: Swift{late}"),
            format!("Swift /info: Swift /info{late}"),
            format!("the temp URL probe: Swift temp URL{late}"),
        ] {
            assert_eq!(cause(&summary), Some(format!("Swift{late}")), "{summary}");
        }
        assert_eq!(cause(&format!("no token from Keystone at k:5000 for password of bob: Keystone{late}")), Some(format!("Keystone{late}")));
        assert_eq!(cause("Keystone at k:5000: the API server did not answer"), None, "another subject");
        assert_eq!(cause("list pods in namespace velero timed out"), None);
    }

    #[test]
    fn the_verdict_says_what_velero_does() {
        let p = Problem::new(ProblemKind::Timeout, "Swift did not answer within the run's --timeout (5s)");
        let v = explain(Verdict::error("container velero: Swift did not answer"), &p);
        let text = v.details.join("\n");
        for needle in ["Swift's failure too", "no deadline", "context.TODO()", "BSL validation hangs", "stay InProgress", "restart"] {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("--timeout") && h.contains("rollout restart")), "{:?}", v.hint);
        let refused = Problem::new(ProblemKind::Unreachable, "Swift unreachable: connection refused");
        assert_eq!(explain(Verdict::fail("x"), &refused), Verdict::fail("x"));
    }
}
