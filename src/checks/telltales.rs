//! The messages Velero writes (results objects, its server log) that veldr can explain, each tied to
//! the check whose runbook page covers it. Checks declare them beside their metadata (`explains:` in
//! `check!`); this module reads them from every registry, so the table has no hand-kept copy.

use super::CheckDef;

/// A message a check explains: every needle must appear in it (case-insensitive), and `why` says
/// what it means in one sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Telltale {
    /// Lower-case fragments, all of which must appear.
    pub needles: &'static [&'static str],
    pub why: &'static str,
}

impl Telltale {
    /// Whether `lowered` (a message already in lower case) carries this telltale.
    pub fn matches(&self, lowered: &str) -> bool {
        self.needles.iter().all(|n| lowered.contains(n))
    }
}

/// What a known message means and which check (and runbook page) explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    pub check: &'static str,
    pub why: &'static str,
}

/// Every telltale of every registered check, in registry order.
pub fn table() -> impl Iterator<Item = (&'static CheckDef, &'static Telltale)> {
    super::all().flat_map(|(_, c)| c.explains.iter().map(move |t| (c, t)))
}

/// The check that explains a message Velero wrote, when veldr knows it. When several match, the most
/// specific telltale (the most needles, then the longest) wins, whatever the registry order.
pub fn explain(message: &str) -> Option<Explanation> {
    let lowered = message.to_lowercase();
    table()
        .filter(|(_, t)| t.matches(&lowered))
        .max_by_key(|(_, t)| (t.needles.len(), t.needles.iter().map(|n| n.len()).sum::<usize>()))
        .map(|(c, t)| Explanation { check: c.id, why: t.why })
}

/// Characters of a quoted message shown in a report.
pub const SHOWN_CHARS: usize = 360;

/// A message as a report shows it: a long one keeps its start (what failed) and its end, where Go's
/// wrapped errors put the root cause ("… reaches the configured maximum (3)").
pub fn shown(message: &str) -> String {
    let n = message.chars().count();
    if n <= SHOWN_CHARS {
        return message.to_string();
    }
    let head: String = message.chars().take(SHOWN_CHARS / 3).collect();
    let tail: String = message.chars().skip(n - SHOWN_CHARS * 2 / 3).collect();
    format!("{} … {}", head.trim_end(), tail.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_telltale_is_well_formed_and_explained_by_its_own_check() {
        let mut n = 0;
        for (c, t) in table() {
            n += 1;
            assert!(!t.needles.is_empty() && !t.why.is_empty(), "{}: an empty telltale", c.id);
            for needle in t.needles {
                assert!(!needle.trim().is_empty() && *needle == needle.to_lowercase(), "{}: needle {needle:?} must be lower case", c.id);
            }
            // A message made of its own needles is explained by its own check, and by no other first.
            let message = t.needles.join(" … ");
            let e = explain(&message).unwrap_or_else(|| panic!("{}: {message:?} is not explained", c.id));
            assert_eq!(e.check, c.id, "{message:?} is claimed by {} before {}", e.check, c.id);
            assert!(super::super::find(e.check).is_some(), "{} names no registered check", e.check);
        }
        assert!(n >= 12, "the results messages of 0.2 are declared: {n}");
    }

    #[test]
    fn known_messages_are_tied_to_their_checks() {
        let cases = [
            ("rpc error: code = FailedPrecondition desc = the number of snapshots on the source volume 8e3c reaches the configured maximum (3)", "csi.snapshot-limit"),
            ("rpc error: code = Unimplemented desc = VC version does not support snapshot operations", "csi.snapshots"),
            ("Failed to wait for VolumeSnapshot shop/velero-data-x to become ReadyToUse within timeout 10m0s", "csi.snapshots"),
            ("Timed out awaiting reconciliation of volumesnapshot shop/velero-data-x", "csi.snapshots"),
            ("error to initialize data path: invalid backend type community.openstack.org/openstack", "velero.fs-backup"),
            ("error getting repository config: invalid storage provider", "velero.fs-backup"),
            ("failed to build auth options: Missing input for argument [auth_url]", "credentials.env"),
            ("401 Unauthorized: Temp URL invalid", "swift.tempurl"),
            ("Asynchronous action timed out", "velero.operations"),
            ("Expected HTTP response code [201] when accessing [PUT https://s/v1/AUTH_a/c/o], but got 413 instead", "swift.capacity"),
        ];
        for (message, check) in cases {
            assert_eq!(explain(message).map(|e| e.check), Some(check), "{message}");
        }
        assert_eq!(explain("Error backing up item: pods \"x\" not found"), None);
        // The telltales of the server's log (reference §11), as Velero, Kubernetes and the plugin write them.
        let telltales = [
            (r#"Backup.velero.io "daily-1" is invalid: status.phase: Unsupported value: "Queued": supported values: "New""#, "velero.crds"),
            ("unable to register plugin (kind=BackupItemActionV2, name=velero.io/csi-pvc-backupper) because another plugin is already registered for this kind and name", "velero.plugin"),
            (r#"found a backup with status "InProgress" during the server starting, mark it as "Failed""#, "velero.deployment"),
            ("Post \"https://keystone:5000/v3/auth/tokens\": tls: failed to verify certificate: x509: certificate signed by unknown authority", "credentials.tls"),
            ("Expected HTTP response code [201] when accessing [POST https://keystone:5000/v3/auth/tokens], but got 401 instead", "keystone.auth"),
            (r#"{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}"#, "keystone.auth"),
            ("413 Request Entity Too Large", "swift.capacity"),
            ("Waited for 1.18s due to client-side throttling, not priority and fairness, request: GET:https://10.96.0.1:443/apis/velero.io/v1", "velero.logs"),
            ("plugin process exited path=/plugins/velero-plugin-for-openstack pid=42 error=\"signal: killed\"", "velero.plugin"),
            ("rpc error: code = Unavailable desc = error reading from server: EOF", "velero.plugin"),
        ];
        for (message, check) in telltales {
            assert_eq!(explain(message).map(|e| e.check), Some(check), "{message}");
        }
        // A plugin that exits normally is no telltale; a Temp URL 401 is Swift's, not Keystone's.
        assert_eq!(explain(r#"level=info msg="plugin process exited" cmd=/plugins/velero-plugin-for-openstack id=42"#), None);
        assert_eq!(explain("GET https://swift/v1/AUTH_a/c/o: 401 Unauthorized: Temp URL invalid").map(|e| e.check), Some("swift.tempurl"));
    }

    #[test]
    fn long_messages_keep_their_start_and_their_root_cause() {
        let long = format!("Error backing up item: {} reaches the configured maximum (3)", "wrapped: ".repeat(80));
        let s = shown(&long);
        assert!(s.starts_with("Error backing up item") && s.ends_with("reaches the configured maximum (3)") && s.contains(" … "), "{s}");
        assert!(s.chars().count() <= SHOWN_CHARS + 3);
        assert_eq!(shown("short"), "short");
    }
}
