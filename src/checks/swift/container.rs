//! swift.container: the BSL's container exists and the credential can read it.

use crate::checks::keystone::problem_verdict;
use crate::checks::swift::per_target;
use crate::checks::{CheckDef, Ctx};
use crate::facts::ProblemKind;
use crate::model::Verdict;

pub const CHECK: CheckDef = crate::check! {
    id: "swift.container", category: Openstack, severity: Critical,
    title: "Backup container readable",
    depends_on: ["keystone.catalog"], needs: [OpenStack],
    timed_by: OpenStack(Container),
    judge: judge,
};

fn judge(ctx: &Ctx) -> Verdict {
    per_target(ctx, |t| match &t.container_head {
        None => Verdict::skip("no endpoint to ask"),
        Some(Ok(c)) => Verdict::ok(format!(
            "container {} is readable ({} objects)",
            t.container,
            c.object_count.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
        ))
        .evidence("objects", c.object_count)
        .evidence("bytes", c.bytes_used),
        Some(Err(p)) => {
            let hint = match p.kind {
                ProblemKind::NotFound => format!("create it: `openstack container create {}` (veldr never writes), or fix the BSL's objectStorage.bucket", t.container),
                ProblemKind::Forbidden => "the credential's roles open nothing in Swift: give its user a role listed in Swift's operator_roles (often member or swiftoperator), or a container ACL".into(),
                ProblemKind::Unauthorized => "Swift refused the token: Swift may trust another Keystone, or the token was revoked".into(),
                _ => "check that Swift is up and reachable".into(),
            };
            problem_verdict(&format!("container {}", t.container), p).hint(hint)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swift::test_target::{facts, target};
    use crate::facts::Problem;
    use crate::model::Status;

    #[test]
    fn a_readable_container_passes() {
        let f = facts(vec![target()]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.summary, "container velero-backups is readable (3 objects)");
    }

    #[test]
    fn timeouts_are_errors_not_failures() {
        let mut t = target();
        t.container_head = Some(Err(Problem::new(ProblemKind::Timeout, "Swift did not answer")));
        let f = facts(vec![t]);
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Error);
    }

    #[test]
    fn a_missing_container_names_the_command_that_creates_it() {
        let mut t = target();
        t.container_head = Some(Err(Problem::new(ProblemKind::NotFound, "container \"velero-backups\" does not exist (404)")));
        let f = facts(vec![t]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert!(v.hint.as_deref().is_some_and(|h| h.contains("openstack container create velero-backups")), "{:?}", v.hint);
    }
}
