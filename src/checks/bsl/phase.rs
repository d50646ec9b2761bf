//! bsl.phase: every selected BackupStorageLocation is Available and was validated recently; an
//! Unavailable one is explained from its message (likely causes, most specific first).

use crate::checks::findings::{agree, combine, plural, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{BackupStorageLocation, Object};
use crate::model::{Status, Verdict};
use crate::rules::duration::{human_age, human_interval, parse_go_duration};
use serde_json::{json, Value};

pub const CHECK: CheckDef = crate::check! {
    id: "bsl.phase", category: Storage, severity: Critical,
    title: "Backup storage locations available",
    depends_on: ["kube.crds"], needs: [BackupStorageLocations, Deployments, HelmReleases, VeleroEnv],
    // Velero v1.18.1: pkg/controller/backup_controller.go prepareBackupRequest (validation) and
    // backup_deletion_controller.go (deletion refused).
    explains: [
        ["backupstoragelocation", "is in unavailable status"] => "Velero refuses new backups to a BSL whose last validation failed (Unavailable): the BSL's message says why",
        ["backup storage location", "currently in unavailable state"] => "Velero refuses to delete a backup while its BSL is Unavailable: the deletion waits until the BSL validates again",
    ],
    judge: judge,
};

fn quote(s: &str) -> String {
    format!("\u{201c}{}\u{201d}", s.trim())
}

/// Whether `code` occurs in `text` as a number of its own (not inside a longer number).
fn has_code(text: &str, code: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find(code) {
        let start = from + pos;
        let end = start + code.len();
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_digit();
        let after_ok = end >= bytes.len() || !bytes[end].is_ascii_digit();
        if before_ok && after_ok {
            return true;
        }
        from = end;
    }
    false
}

/// Validation frequency of a BSL in seconds, and where it comes from.
fn validation_frequency(ctx: &Ctx, bsl: &BackupStorageLocation) -> (f64, String) {
    if let Some(raw) = bsl.spec.validation_frequency.as_deref() {
        if let Some(secs) = parse_go_duration(raw) {
            return (secs, format!("spec.validationFrequency {raw}"));
        }
    }
    let flags = ctx.server_flags();
    if let Some(raw) = flags.get("store-validation-frequency") {
        if let Some(secs) = parse_go_duration(raw) {
            return (secs, format!("server flag --store-validation-frequency={raw}"));
        }
    }
    (60.0, "Velero's default 1m".into())
}

/// Likely causes of an `Unavailable` message: (cause, fix) pairs, most specific first.
fn diagnose(message: &str, helm: bool, ns: &str) -> Vec<(String, String)> {
    let m = message.to_lowercase();
    let mut out: Vec<(String, String)> = Vec::new();
    if m.contains("auth_url") || m.contains("missing input for argument") {
        let fix = if helm {
            "put the OS_* keys in a Secret and set the Helm value `credentials.extraSecretRef: <that secret>` (it becomes envFrom on the velero container; `podEnvFrom` is not a key of the chart and is silently ignored), then `helm upgrade` and check with `veldr doctor --only credentials.env`".to_string()
        } else {
            format!(
                "add the Secret holding the OS_* keys to the velero container's env: `kubectl -n {ns} set env deployment/velero -c velero --from=secret/cloud-credentials`, then check with `veldr doctor --only credentials.env`"
            )
        };
        out.push((
            "the OS_* variables (OS_AUTH_URL first) do not reach the velero container: the plugin runs as its child process and only sees its environment; a clouds.yaml or credentials file alone is not read".into(),
            fix,
        ));
    }
    let auth_refused = has_code(&m, "401") || m.contains("unauthorized") || m.contains("authentication");
    if auth_refused {
        out.push((
            "Keystone refused the credential: the application credential is wrong, expired, deleted, or its user lost its role".into(),
            format!("run `veldr doctor --only keystone.auth`; create a new application credential (`openstack application credential create velero`), update OS_APPLICATION_CREDENTIAL_ID/_SECRET in the Secret, then `kubectl -n {ns} rollout restart deployment/velero`"),
        ));
    }
    if m.contains("no suitable endpoint") || m.contains("region") {
        out.push((
            "no object-store endpoint for the region the plugin uses (OS_SWIFT_REGION_NAME, then OS_REGION_NAME, then the BSL's config.region)".into(),
            "run `veldr doctor --only keystone.catalog` to list the regions that have an object-store endpoint, and set OS_REGION_NAME (or OS_SWIFT_REGION_NAME) to one of them".into(),
        ));
    }
    if m.contains("invalid top-level directories") {
        out.push((
            "the container (or prefix) holds other data: Velero only accepts its own top-level folders (backups, restores, restic, metadata, plugins, kopia)".into(),
            if helm {
                "give Velero a dedicated container, or a prefix of its own: Helm value `configuration.backupStorageLocation[].prefix: velero` (or move the foreign objects out)".into()
            } else {
                format!("give Velero a dedicated container, or a prefix of its own: `kubectl -n {ns} patch bsl <name> --type merge -p '{{\"spec\":{{\"objectStorage\":{{\"prefix\":\"velero\"}}}}}}'` (or move the foreign objects out)")
            },
        ));
    }
    let not_found = has_code(&m, "404") || m.contains("not found") || m.contains("could not find");
    let about_identity = m.contains("keystone") || m.contains("token") || m.contains("credential") || m.contains("/auth");
    if not_found && about_identity && !auth_refused {
        out.push((
            "Keystone does not know the application credential (or its user/project) any more: it was deleted".into(),
            "create a new application credential, update the Secret, restart Velero; `veldr doctor --only keystone.auth` confirms".into(),
        ));
    } else if not_found || (m.contains("container") && !m.contains("auth_url")) {
        out.push((
            "the Swift container named by spec.objectStorage.bucket does not exist (or is in another project/region)".into(),
            "create it: `openstack container create <bucket>` with the same credentials, or fix spec.objectStorage.bucket; `veldr doctor --only swift.container` confirms".into(),
        ));
    }
    if m.contains("x509") || m.contains("certificate") || m.contains("tls") {
        out.push((
            "TLS verification of the Keystone or Swift endpoint failed (private CA or wrong host name)".into(),
            "the plugin reads only TLS_SKIP_VERIFY (OS_CACERT and the BSL's caCert are ignored by it): use an endpoint with a publicly trusted certificate, mount your CA into the velero container's system trust store (/etc/ssl/certs), or as a last resort set TLS_SKIP_VERIFY=true on the velero container".into(),
        ));
    }
    if out.is_empty()
        && (m.contains("no such host") || m.contains("connection refused") || m.contains("i/o timeout") || m.contains("deadline exceeded") || m.contains("dial tcp"))
    {
        out.push((
            "Velero cannot reach the OpenStack endpoint (DNS, egress NetworkPolicy, proxy, firewall)".into(),
            format!("test from the pod's network: `kubectl -n {ns} run nettest --rm -it --image=curlimages/curl -- curl -sv $OS_AUTH_URL`; check NetworkPolicies and HTTPS_PROXY/NO_PROXY on the velero container"),
        ));
    }
    out
}

fn judge(ctx: &Ctx) -> Verdict {
    let all = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let ns = ctx.namespace().to_string();
    let helm = ctx.by_helm();
    // A malformed BSL still exists: `--bsl` may name it (its own finding says why it is not judged).
    let existing: Vec<&str> = all.iter().map(Object::name).chain(all.malformed.iter().filter_map(|m| m.name.as_deref())).collect();

    if all.is_empty() && all.malformed.is_empty() {
        let hint = if helm {
            "add one with the Helm values `configuration.backupStorageLocation: [{name: default, provider: community.openstack.org/openstack, bucket: <container>, default: true}]`, then `helm upgrade`".to_string()
        } else {
            format!("create one: `velero backup-location create default -n {ns} --provider community.openstack.org/openstack --bucket <container> --default`")
        };
        return Verdict::fail(format!("no BackupStorageLocation in namespace {ns}: Velero has nowhere to store backups"))
            .detail(format!("listing backupstoragelocations.velero.io in {ns} returned nothing"))
            .hint(hint)
            .evidence("bsls", Vec::<Value>::new());
    }

    let mut findings = Vec::new();
    let missing: Vec<&String> = ctx.bsl_filter.iter().filter(|f| !existing.contains(&f.as_str())).collect();
    for m in &missing {
        findings.push(
            Finding::new(Status::Fail, format!("--bsl {m}: no BackupStorageLocation of that name in {ns}"))
                .detail(format!("existing BackupStorageLocations: {}", existing.join(", ")))
                .hint(format!("pass one of: {}", existing.iter().map(|n| format!("--bsl {n}")).collect::<Vec<_>>().join(", "))),
        );
    }

    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    for bsl in ctx.selected_bsls(all) {
        let name = bsl.name();
        let phase = bsl.status.phase.as_deref().unwrap_or("");
        let message = bsl.status.message.as_deref().unwrap_or("");
        let last = bsl.status.last_validation_time;
        let age = last.map(|t| ctx.age_secs(t));
        let (freq, freq_src) = validation_frequency(ctx, bsl);
        let bucket = bsl.spec.object_storage.bucket.as_str();
        let provider = bsl.spec.provider.as_str();
        evidence.push(json!({
            "name": name,
            "provider": (!provider.is_empty()).then_some(provider),
            "bucket": bucket,
            "phase": phase,
            "message": if message.is_empty() { Value::Null } else { json!(message) },
            "lastValidationSecondsAgo": age,
            "validationFrequencySeconds": freq,
        }));

        match phase {
            "Available" => {
                if freq == 0.0 {
                    let since = age.map(human_age).unwrap_or_else(|| "never".into());
                    if age.is_none_or(|a| a > 300) {
                        findings.push(
                            Finding::new(Status::Warn, format!("BSL {name}: validation is disabled ({freq_src}); Available was last confirmed {since} ago and is not re-checked"))
                                .detail(format!("{name}: phase Available, lastValidationTime {} ({freq_src})", last.map(|t| t.to_string()).unwrap_or_else(|| "none".into())))
                                .hint(if helm {
                                    "remove `validationFrequency: 0s` from `configuration.backupStorageLocation[]` (or set e.g. 1m) so Velero keeps checking the container".to_string()
                                } else {
                                    format!("`kubectl -n {ns} patch bsl {name} --type merge -p '{{\"spec\":{{\"validationFrequency\":\"1m\"}}}}'` so Velero keeps checking the container")
                                }),
                        );
                    } else {
                        notes.push(format!("{name}: Available; periodic validation is disabled ({freq_src})"));
                    }
                    continue;
                }
                let limit = (3.0 * freq).max(300.0);
                match age {
                    None => findings.push(
                        Finding::new(Status::Warn, format!("BSL {name} is Available but has no lastValidationTime"))
                            .detail(format!("{name}: status.lastValidationTime is missing; Velero sets it on every validation"))
                            .hint(format!("check that the Velero server runs and validates: `kubectl -n {ns} logs deploy/velero | grep -i backup-storage`")),
                    ),
                    Some(a) if a as f64 > limit => findings.push(
                        Finding::new(Status::Warn, format!("BSL {name} was last validated {} ago (expected every {}): its Available phase is stale", human_age(a), human_interval(freq)))
                            .detail(format!("{name}: lastValidationTime {} ; validation frequency {} ({freq_src}); veldr warns beyond {}", last.map(|t| t.to_string()).unwrap_or_default(), human_interval(freq), human_interval(limit)))
                            .detail("a stale validation means the Velero server is not running, is stuck, or cannot update the BSL (see velero.deployment)".to_string())
                            .hint(format!("check the server: `kubectl -n {ns} get pods -l app.kubernetes.io/name=velero` and `kubectl -n {ns} logs deploy/velero | grep -i backup-storage`; restart it with `kubectl -n {ns} rollout restart deployment/velero`")),
                    ),
                    Some(a) => notes.push(format!("{name}: Available, validated {} ago (every {}, {freq_src})", human_age(a), human_interval(freq))),
                }
            }
            "Unavailable" => {
                let causes = diagnose(message, helm, &ns);
                let mut f = Finding::new(
                    Status::Fail,
                    if message.is_empty() {
                        format!("BSL {name} is Unavailable (no message)")
                    } else {
                        format!("BSL {name} is Unavailable: {}", quote(message))
                    },
                );
                f = f.detail(format!("{name}: bucket {bucket:?}, provider {}, last validated {}", if provider.is_empty() { "?" } else { provider }, age.map(|a| format!("{} ago", human_age(a))).unwrap_or_else(|| "never".into())));
                if causes.is_empty() {
                    if !message.is_empty() {
                        f = f.detail(format!("Velero says: {}", quote(message)));
                    }
                    f = f.hint(format!("read the full error: `kubectl -n {ns} logs deploy/velero | grep -i 'backup-storage\\|{name}'`, and run `veldr doctor --only openstack` to test Keystone and Swift directly"));
                } else {
                    let lower = message.to_lowercase();
                    if lower.contains("auth_url") {
                        // The spec may already be right while the running pod predates the change.
                        let present = ctx.env().and_then(|e| e.get("OS_AUTH_URL").or_else(|| e.get("OS_SWIFT_AUTH_URL")).filter(|v| v.value.is_set()));
                        if let Some(var) = present {
                            f = f.detail(format!(
                                "the velero Deployment now does get an auth URL ({}): if the validation above is recent, the running pod predates that change; restart it (see credentials.fresh): `kubectl -n {ns} rollout restart deployment/velero`",
                                var.source
                            ));
                        }
                    }
                    let mut fixes = Vec::new();
                    for (cause, fix) in causes {
                        f = f.detail(format!("likely cause: {cause}"));
                        fixes.push(fix);
                    }
                    f = f.hint(fixes.join("; or: "));
                }
                findings.push(f);
            }
            "" => {
                let created = bsl.metadata.creation_timestamp.as_ref().map(|t| t.0);
                let since = created.map(|t| format!("created {} ago", human_age(ctx.age_secs(t)))).unwrap_or_else(|| "creation time unknown".into());
                findings.push(
                    Finding::new(Status::Warn, format!("BSL {name} has never been validated ({since})"))
                        .detail(format!("{name}: status.phase is empty: the Velero server has not processed it yet"))
                        .hint(format!("wait a minute; if it stays empty the Velero server is not running or not watching {ns}: `kubectl -n {ns} get deploy velero` and `kubectl -n {ns} logs deploy/velero`")),
                );
            }
            other => findings.push(
                Finding::new(Status::Warn, format!("BSL {name} has an unexpected phase {other:?}"))
                    .detail(format!("{name}: message {}", quote(message)))
                    .hint(format!("`kubectl -n {ns} describe bsl {name}`")),
            ),
        }
    }


    let selected = ctx.selected_bsls(all).len();
    let ok = format!("{} {} Available and recently validated", plural(selected, "BackupStorageLocation"), agree(selected, "is", "are"));
    combine(ok, findings, notes).evidence("bsls", evidence)
}

#[cfg(test)]
mod tests {
    use crate::checks::testing::{run};
    use super::super::fixtures::{bsl, facts_with, list, text};
    use super::*;

    #[test]
    fn healthy_bsl_is_ok() {
        let v = run(&super::CHECK, &facts_with(vec![bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None)]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.evidence["bsls"][0]["lastValidationSecondsAgo"], 30);
        assert_eq!(v.evidence["bsls"][0]["provider"], "community.openstack.org/openstack");
    }

    #[test]
    fn no_bsl_fails() {
        assert_eq!(run(&super::CHECK, &facts_with(vec![])).status, Status::Fail);
    }

    #[test]
    fn unknown_bsl_filter_names_the_existing_ones() {
        let f = facts_with(vec![bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None)]);
        let filter = vec!["nope".to_string()];
        let v = judge(&Ctx::new(&f, &filter));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("existing backupstoragelocations: default"), "{v:?}");
    }

    #[test]
    fn auth_url_message_points_at_env() {
        let msg = "BackupStorageLocation \"default\" is unavailable: failed to authenticate against OpenStack in object storage plugin: failed to build auth options: Missing input for argument [auth_url]";
        let f = facts_with(vec![bsl("default", "Unavailable", Some("2026-11-29T07:59:30Z"), Some(msg))]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("auth_url") && t.contains("velero container"), "{t}");
        assert!(!t.contains("keystone refused"), "auth_url is not a refused credential: {t}");
        assert!(!t.contains("container named by"), "{t}");
    }

    #[test]
    fn other_unavailable_messages_map_to_causes() {
        let cases = [
            ("Backup store contains invalid top-level directories: [foo]", "dedicated container"),
            ("failed to authenticate: Authentication failed (HTTP 401)", "keystone refused"),
            ("No suitable endpoint could be found in the service catalog", "keystone.catalog"),
            ("Resource not found: container velero-backups", "openstack container create"),
            ("Get https://swift: x509: certificate signed by unknown authority", "tls_skip_verify"),
            ("something odd happened", "something odd happened"),
        ];
        for (msg, expect) in cases {
            let f = facts_with(vec![bsl("default", "Unavailable", Some("2026-11-29T07:59:30Z"), Some(msg))]);
            let v = run(&super::CHECK, &f);
            assert_eq!(v.status, Status::Fail);
            assert!(text(&v).contains(expect), "{msg}: {:?}", v);
        }
    }

    #[test]
    fn stale_validation_warns_and_respects_frequency() {
        let f = facts_with(vec![bsl("default", "Available", Some("2026-11-29T06:00:00Z"), None)]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("2h ago"), "{v:?}");
        assert!(text(&v).contains("lastvalidationtime 2026-11-29t06:00:00z"), "{v:?}");
        // With a 1h frequency, 2h is fine (limit 3h).
        let mut b = bsl("default", "Available", Some("2026-11-29T06:00:00Z"), None);
        b["spec"]["validationFrequency"] = json!("1h0m0s");
        assert_eq!(run(&super::CHECK, &facts_with(vec![b])).status, Status::Ok);
        // Disabled validation is named.
        let mut b = bsl("default", "Available", Some("2026-11-29T06:00:00Z"), None);
        b["spec"]["validationFrequency"] = json!("0s");
        let v = run(&super::CHECK, &facts_with(vec![b]));
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("disabled"));
    }

    #[test]
    fn server_flag_frequency_is_used() {
        let mut f = facts_with(vec![bsl("default", "Available", Some("2026-11-29T06:00:00Z"), None)]);
        f.kube.deployments = Ok(list(vec![json!({
            "metadata": {"name": "velero", "namespace": "velero"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.17.0", "args": ["server", "--store-validation-frequency=1h"]}]}}}
        })]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn never_validated_warns() {
        let v = run(&super::CHECK, &facts_with(vec![bsl("default", "", None, None)]));
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("never been validated"));
        assert!(text(&v).contains("created 28d ago"), "{v:?}");
    }

    #[test]
    fn malformed_bsl_is_named_and_warns() {
        let mut bad = bsl("broken", "Available", Some("2026-11-29T07:59:30Z"), None);
        bad["status"]["lastValidationTime"] = json!("yesterday");
        let good = bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None);
        let f = facts_with(vec![good, bad, json!("garbage")]);
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = text(&v);
        assert!(t.contains("could not be read") && t.contains("malformed object backupstoragelocation velero/broken"), "{t}");
        assert!(!t.contains("yesterday"), "the offending value is not quoted: {t}");
        // Only malformed ones: not "no BackupStorageLocation", and `--bsl` may name one.
        let f = facts_with(vec![json!({"metadata": {"name": "x"}, "status": {"phase": 3}})]);
        let filter = vec!["x".to_string()];
        let v = crate::checks::testing::run_for_bsls(&super::CHECK, &f, &filter);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(text(&v).contains("malformed object backupstoragelocation x"), "{v:?}");
    }
}
