//! kube.crds: the API groups Velero needs (velero.io, snapshot.storage.k8s.io) are served.

use crate::checks::{CheckDef, Ctx};
use crate::model::Verdict;

pub const CHECK: CheckDef = crate::check! {
    id: "kube.crds", category: Cluster, severity: Critical,
    title: "Velero and snapshot APIs served",
    depends_on: ["kube.connect"], needs: [],
    timed_by: Kube,
    judge: judge,
};

/// The API groups Velero needs, with the version each must serve.
const REQUIRED: [(&str, &str, &str); 2] = [
    ("velero.io", "v1", "Velero's CRDs are not installed: install them with `velero install --crds-only --dry-run -o yaml | kubectl apply -f -` or the Helm chart (upgradeCRDs: true)"),
    ("snapshot.storage.k8s.io", "v1", "the CSI snapshot CRDs are not installed: install the external-snapshotter CRDs and snapshot-controller (kubernetes-csi/external-snapshotter, client/config/crd and deploy/kubernetes/snapshot-controller)"),
];

fn judge(ctx: &Ctx) -> Verdict {
    let groups = crate::need!(&ctx.facts.kube.api_groups);
    let mut missing = Vec::new();
    let mut hints = Vec::new();
    for (group, version, fix) in REQUIRED {
        let served = groups.iter().any(|g| g.name == group && g.versions.iter().any(|v| v == version));
        if !served {
            missing.push(format!("{group}/{version}"));
            hints.push(fix);
        }
    }
    if missing.is_empty() {
        Verdict::ok("velero.io/v1 and snapshot.storage.k8s.io/v1 are served")
    } else {
        Verdict::fail(format!("not served: {}", missing.join(", "))).hint(hints.join("; ")).evidence("missing", &missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ApiGroup, Facts};
    use crate::model::Status;

    #[test]
    fn both_groups_served_is_ok() {
        let f = Facts::empty("velero");
        assert_eq!(judge(&Ctx::new(&f, &[])).status, Status::Ok);
    }

    #[test]
    fn a_missing_group_or_version_fails_naming_its_install() {
        let mut f = Facts::empty("velero");
        f.kube.api_groups = Ok(vec![ApiGroup { name: "snapshot.storage.k8s.io".into(), versions: vec!["v1beta1".into()] }]);
        let v = judge(&Ctx::new(&f, &[]));
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.summary, "not served: velero.io/v1, snapshot.storage.k8s.io/v1");
        let hint = v.hint.unwrap();
        assert!(hint.contains("velero install --crds-only") && hint.contains("external-snapshotter"), "{hint}");
    }
}
