//! bsl.phase, bsl.config: is every BackupStorageLocation Available and sanely configured?
//!
//! Also home of small helpers the other judges of this group share: Go durations, and the
//! combination of per-object findings into one verdict.

use super::ctx::{human_age, is_openstack_bsl, name_of, str_at, timestamp_at};
use super::Ctx;
use crate::model::{rank, Status, Verdict};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// One problem (or fine state) found about one object; several are combined into a verdict.
/// A finding is a verdict about one object; `combine` folds them into the check's verdict.
pub(super) use crate::model::Verdict as Finding;

/// Combines findings: the worst status wins, its summary leads, every finding is listed in details.
/// `ok_summary` is used when nothing is wrong; `notes` are extra detail lines kept in every case.
pub(super) fn combine(ok_summary: impl Into<String>, findings: Vec<Finding>, notes: Vec<String>) -> Verdict {
    let mut bad: Vec<Finding> = findings.into_iter().filter(|f| f.status != Status::Ok).collect();
    if bad.is_empty() {
        return Verdict::ok(ok_summary).details(notes);
    }
    bad.sort_by_key(|f| std::cmp::Reverse(rank(f.status)));
    let status = bad[0].status;
    let mut summary = bad[0].summary.clone();
    if bad.len() > 1 {
        summary.push_str(&format!(" (and {} more problem{})", bad.len() - 1, if bad.len() == 2 { "" } else { "s" }));
    }
    let mut details = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    for f in &bad {
        if bad.len() > 1 {
            details.push(format!("[{}] {}", f.status, f.summary));
        }
        details.extend(f.details.iter().cloned());
        if let Some(h) = &f.hint {
            if !hints.contains(h) {
                hints.push(h.clone());
            }
        }
    }
    details.extend(notes);
    let mut v = match status {
        Status::Fail => Verdict::fail(summary),
        Status::Warn => Verdict::warn(summary),
        Status::Error => Verdict::error(summary),
        Status::Skip => Verdict::skip(summary),
        Status::Ok => Verdict::ok(summary),
    };
    v = v.details(details);
    if !hints.is_empty() {
        v = v.hint(hints.join(" — then: "));
    }
    v
}

/// A Go `time.Duration` string (`1m0s`, `720h0m0s`, `1.5h`, `500ms`, `0`) in seconds.
pub(super) fn parse_go_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    let mut any = false;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += n * factor;
        any = true;
    }
    any.then_some(if neg { -total } else { total })
}

/// "1m", "2h30m", "3d" for intervals in messages.
pub(super) fn human_interval(secs: f64) -> String {
    let s = secs.round().max(0.0) as i64;
    if s == 0 {
        return "0s".into();
    }
    if s % 86400 == 0 {
        return format!("{}d", s / 86400);
    }
    if s % 3600 == 0 {
        return format!("{}h", s / 3600);
    }
    if s >= 3600 {
        return format!("{}h{}m", s / 3600, (s % 3600) / 60);
    }
    if s % 60 == 0 {
        return format!("{}m", s / 60);
    }
    format!("{s}s")
}

/// `true` when the Velero Deployment was installed by the Helm chart.
pub(super) fn by_helm(ctx: &Ctx) -> bool {
    ctx.helm_release().is_some()
}

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

// ---------------------------------------------------------------------------------------------
// bsl.phase
// ---------------------------------------------------------------------------------------------

/// Validation frequency of a BSL in seconds, and where it comes from.
fn validation_frequency(ctx: &Ctx, bsl: &Value) -> (f64, String) {
    if let Some(raw) = str_at(bsl, "/spec/validationFrequency") {
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

pub fn phase(ctx: &Ctx) -> Verdict {
    let all = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let ns = ctx.namespace().to_string();
    let helm = by_helm(ctx);
    let existing: Vec<&str> = all.iter().map(name_of).collect();

    if all.is_empty() {
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
        let name = name_of(bsl);
        let phase = str_at(bsl, "/status/phase").unwrap_or("");
        let message = str_at(bsl, "/status/message").unwrap_or("");
        let last = timestamp_at(bsl, "/status/lastValidationTime");
        let age = last.map(|t| ctx.now.as_second() - t.as_second());
        let (freq, freq_src) = validation_frequency(ctx, bsl);
        let bucket = str_at(bsl, "/spec/objectStorage/bucket").unwrap_or("");
        evidence.push(json!({
            "name": name,
            "provider": str_at(bsl, "/spec/provider"),
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
                                .detail(format!("{name}: phase Available, lastValidationTime {} ({freq_src})", str_at(bsl, "/status/lastValidationTime").unwrap_or("none")))
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
                            .detail(format!("{name}: lastValidationTime {} ; validation frequency {} ({freq_src}); veldr warns beyond {}", str_at(bsl, "/status/lastValidationTime").unwrap_or(""), human_interval(freq), human_interval(limit)))
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
                f = f.detail(format!("{name}: bucket {bucket:?}, provider {}, last validated {}", str_at(bsl, "/spec/provider").unwrap_or("?"), age.map(|a| format!("{} ago", human_age(a))).unwrap_or_else(|| "never".into())));
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
                let created = timestamp_at(bsl, "/metadata/creationTimestamp");
                let since = created.map(|t| format!("created {} ago", human_age(ctx.now.as_second() - t.as_second()))).unwrap_or_else(|| "creation time unknown".into());
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
    let ok = format!("{selected} BackupStorageLocation{} Available and recently validated", if selected == 1 { " is" } else { "s are" });
    combine(ok, findings, notes).evidence("bsls", evidence)
}

// ---------------------------------------------------------------------------------------------
// bsl.config
// ---------------------------------------------------------------------------------------------

const AWS_PROVIDERS: [&str; 2] = ["aws", "velero.io/aws"];

/// Keys of the BSL `config` map that Velero itself reads, whatever the provider.
const VELERO_CORE_KEYS: [&str; 1] = ["resticRepoPrefix"];

/// What to use instead of a config key the OpenStack plugin ignores.
fn instead_of(key: &str) -> &'static str {
    match key {
        "bucket" => "spec.objectStorage.bucket",
        "prefix" => "spec.objectStorage.prefix",
        "caCert" | "cacert" | "insecureSkipTLSVerify" => "TLS_SKIP_VERIFY on the velero container (the only TLS setting the plugin reads)",
        "credentialsFile" => "the OS_* variables on the velero container (credentials.extraSecretRef with Helm)",
        "region" | "cloud" => "",
        "s3Url" | "s3ForcePathStyle" | "publicUrl" => "nothing: the OpenStack plugin talks Swift's own API (drop the key)",
        "authUrl" | "auth_url" | "authURL" => "OS_AUTH_URL on the velero container",
        _ => "nothing (the OpenStack plugin reads only `cloud` and `region`)",
    }
}

fn looks_like_swift_s3(bsl: &Value, os_env: bool) -> Option<String> {
    let url = str_at(bsl, "/spec/config/s3Url")?;
    let lower = url.to_lowercase();
    let config_text = bsl.pointer("/spec/config").map(|c| c.to_string().to_lowercase()).unwrap_or_default();
    if lower.contains("swift") || lower.contains("openstack") {
        return Some(format!("s3Url {url} names Swift/OpenStack"));
    }
    if config_text.contains("swift") || config_text.contains("openstack") {
        return Some("the BSL config mentions swift/openstack".into());
    }
    let path_style = bsl
        .pointer("/spec/config/s3ForcePathStyle")
        .map(|v| v.as_bool().unwrap_or(false) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true")))
        .unwrap_or(false);
    if path_style && !lower.contains("amazonaws.com") && os_env {
        return Some(format!("s3ForcePathStyle with a non-AWS s3Url ({url}) while OS_* variables are set on the velero container"));
    }
    None
}

pub fn config(ctx: &Ctx) -> Verdict {
    let all = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let ns = ctx.namespace().to_string();
    let helm = by_helm(ctx);
    if all.is_empty() {
        return Verdict::skip(format!("no BackupStorageLocation in {ns} (bsl.phase reports it)"));
    }
    let env = ctx.env();
    let os_env = env.is_some_and(|e| e.vars.keys().any(|k| k.starts_with("OS_")));
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut evidence = Vec::new();

    for bsl in ctx.selected_bsls(all) {
        let name = name_of(bsl);
        let provider = str_at(bsl, "/spec/provider").unwrap_or("");
        let bucket = str_at(bsl, "/spec/objectStorage/bucket").unwrap_or("");
        let config_keys: Vec<String> = bsl.pointer("/spec/config").and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let mut ignored: Vec<String> = Vec::new();
        let mut region_conflict = Value::Null;

        if AWS_PROVIDERS.contains(&provider) {
            if let Some(why) = looks_like_swift_s3(bsl, os_env) {
                findings.push(
                    Finding::new(Status::Warn, format!("BSL {name} uses the AWS plugin on what looks like Swift's S3 API"))
                        .detail(format!("{name}: provider {provider}; {why}"))
                        .detail("the OpenStack plugin's authors do not test or support Swift's S3 layer; it lacks AWS chunked uploads, so large backup uploads fail".to_string())
                        .hint(if helm {
                            "switch to the OpenStack plugin: add the init container lirt/velero-plugin-for-openstack and set `configuration.backupStorageLocation[].provider: community.openstack.org/openstack` with `bucket: <container>` and the OS_* variables through `credentials.extraSecretRef`".to_string()
                        } else {
                            "switch to the OpenStack plugin: `velero plugin add lirt/velero-plugin-for-openstack:<version>` and a BSL with provider community.openstack.org/openstack, bucket <container>, OS_* variables on the velero container".to_string()
                        }),
                );
            } else {
                notes.push(format!("{name}: provider {provider} (not an OpenStack BSL; only the Swift-S3 pitfall is checked)"));
            }
        } else if is_openstack_bsl(bsl) {
            if bucket.trim().is_empty() {
                findings.push(
                    Finding::new(Status::Fail, format!("BSL {name} has no spec.objectStorage.bucket: the plugin does not know which Swift container to use"))
                        .detail(format!("{name}: provider {provider}, objectStorage {}", bsl.pointer("/spec/objectStorage").map(Value::to_string).unwrap_or_else(|| "missing".into())))
                        .hint(if helm { "set `configuration.backupStorageLocation[].bucket: <container>` (a bucket under `config:` is ignored)".to_string() } else { format!("`kubectl -n {ns} patch bsl {name} --type merge -p '{{\"spec\":{{\"objectStorage\":{{\"bucket\":\"<container>\"}}}}}}'`") }),
                );
            } else if bucket.contains('/') {
                findings.push(
                    Finding::new(Status::Fail, format!("BSL {name}: bucket {bucket:?} contains '/': a Swift container name cannot"))
                        .detail(format!("{name}: put the path part in spec.objectStorage.prefix"))
                        .hint(if helm { "split it: `configuration.backupStorageLocation[].bucket: <container>` and `prefix: <path>`" } else { "split it into spec.objectStorage.bucket (the container) and spec.objectStorage.prefix (the path)" }),
                );
            }
            for k in &config_keys {
                if k == "cloud" || k == "region" || VELERO_CORE_KEYS.contains(&k.as_str()) {
                    continue;
                }
                ignored.push(k.clone());
            }
            let mut lines = Vec::new();
            for k in &ignored {
                lines.push(format!("{name}: config.{k} is ignored by the OpenStack plugin; use {}", instead_of(k)));
            }
            if bsl.pointer("/spec/credential").is_some_and(|c| !c.is_null()) {
                ignored.push("spec.credential".into());
                lines.push(format!(
                    "{name}: spec.credential is ignored by the OpenStack plugin (it reads OS_* variables from the velero container's environment); use {}",
                    if helm { "`credentials.extraSecretRef`" } else { "envFrom on the velero container" }
                ));
            }
            if !lines.is_empty() {
                let mut f = Finding::new(Status::Warn, format!("BSL {name} sets {} the OpenStack plugin ignores: {}", if ignored.len() == 1 { "a key" } else { "keys" }, ignored.join(", ")));
                for l in lines {
                    f = f.detail(l);
                }
                f = f.hint(if helm {
                    "remove them from `configuration.backupStorageLocation[].config` (and `.credential`); put the bucket/prefix in `bucket`/`prefix`, credentials and TLS_SKIP_VERIFY in the Secret named by `credentials.extraSecretRef`".to_string()
                } else {
                    format!("`kubectl -n {ns} edit bsl {name}`: keep only `cloud`/`region` in spec.config; put credentials and TLS_SKIP_VERIFY on the velero container's env")
                });
                findings.push(f);
            }
            if str_at(bsl, "/spec/objectStorage/caCert").is_some_and(|c| !c.is_empty()) {
                notes.push(format!("{name}: spec.objectStorage.caCert is used by the velero CLI for downloads, not by the OpenStack plugin (which reads only TLS_SKIP_VERIFY)"));
            }
            // Region precedence: OS_SWIFT_REGION_NAME, then OS_REGION_NAME, then config.region.
            if let Some(cfg_region) = str_at(bsl, "/spec/config/region").filter(|r| !r.is_empty()) {
                let env_region = env.and_then(|e| {
                    e.plain("OS_SWIFT_REGION_NAME").map(|v| ("OS_SWIFT_REGION_NAME", v)).or_else(|| e.plain("OS_REGION_NAME").map(|v| ("OS_REGION_NAME", v)))
                });
                if let Some((var, value)) = env_region {
                    if value != cfg_region {
                        region_conflict = json!({"config": cfg_region, "env": var, "envValue": value});
                        let source = env.and_then(|e| e.get(var)).map(|v| v.source.clone()).unwrap_or_default();
                        findings.push(
                            Finding::new(Status::Warn, format!("BSL {name}: config.region {cfg_region:?} conflicts with {var}={value:?} on the velero container; the variable wins"))
                                .detail(format!("{name}: the plugin takes the Swift region from OS_SWIFT_REGION_NAME, then OS_REGION_NAME, and only then config.region; {var} comes from {source}"))
                                .hint(format!("make them agree: drop config.region from the BSL (the variable decides) or set {var} to {cfg_region:?}; `veldr doctor --only keystone.catalog` shows which regions have Swift")),
                        );
                    }
                }
            }
        } else if provider.is_empty() {
            findings.push(
                Finding::new(Status::Fail, format!("BSL {name} has no spec.provider"))
                    .hint(if helm { "set `configuration.backupStorageLocation[].provider: community.openstack.org/openstack`" } else { "set spec.provider: community.openstack.org/openstack" }),
            );
        } else {
            notes.push(format!("{name}: provider {provider} (not OpenStack; not checked further)"));
        }

        evidence.push(json!({
            "name": name,
            "provider": provider,
            "bucket": bucket,
            "prefix": str_at(bsl, "/spec/objectStorage/prefix"),
            "default": bsl.pointer("/spec/default").and_then(Value::as_bool).unwrap_or(false),
            "configKeys": config_keys,
            "ignoredKeys": ignored,
            "regionConflict": region_conflict,
        }));
    }

    // Defaults are judged over every BSL, not only the selected ones.
    let defaults: Vec<&str> = all.iter().filter(|b| b.pointer("/spec/default").and_then(Value::as_bool) == Some(true)).map(name_of).collect();
    if defaults.len() > 1 {
        findings.push(
            Finding::new(Status::Warn, format!("{} BSLs are marked default: {}", defaults.len(), defaults.join(", ")))
                .detail("backups that name no location go to whichever default Velero resolves; keep exactly one".to_string())
                .hint(if helm { "set `default: true` on exactly one entry of `configuration.backupStorageLocation`".to_string() } else { format!("`velero backup-location set <name> --default -n {ns}` (it clears the others)") }),
        );
    } else if defaults.is_empty() && all.len() > 1 {
        let names: Vec<&str> = all.iter().map(name_of).collect();
        findings.push(
            Finding::new(Status::Warn, format!("{} BSLs and none is marked default", all.len()))
                .detail(format!("BSLs: {}; backups and schedules that name no storageLocation fall back to the server flag --default-backup-storage-location ({})", names.join(", "), ctx.server_flags().get("default-backup-storage-location").cloned().unwrap_or_else(|| "default".into())))
                .hint(if helm { "set `default: true` on one entry of `configuration.backupStorageLocation`".to_string() } else { format!("`velero backup-location set <name> --default -n {ns}`") }),
        );
    } else if defaults.is_empty() && all.len() == 1 {
        let only = name_of(&all[0]);
        let flag = ctx.server_flags().get("default-backup-storage-location").cloned().unwrap_or_else(|| "default".into());
        if only != flag {
            findings.push(
                Finding::new(Status::Warn, format!("the only BSL {only} is not marked default and the server's default location is {flag:?}"))
                    .detail("backups and schedules that name no storageLocation look for a BSL that does not exist and fail validation".to_string())
                    .hint(if helm { "set `default: true` on it in `configuration.backupStorageLocation`".to_string() } else { format!("`velero backup-location set {only} --default -n {ns}`") }),
            );
        }
    }

    let n = ctx.selected_bsls(all).len();
    combine(format!("{n} BackupStorageLocation{} coherent (provider, bucket, region)", if n == 1 { " is" } else { "s are" }), findings, notes)
        .evidence("bsls", evidence)
        .evidence("defaults", defaults)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{EnvValue, EnvVar, Facts, ResolvedEnv};
    use serde_json::json;

    fn bsl(name: &str, phase: &str, last: Option<&str>, message: Option<&str>) -> Value {
        let mut b = json!({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": "velero", "creationTimestamp": "2026-11-01T00:00:00Z"},
            "spec": {"provider": "community.openstack.org/openstack", "objectStorage": {"bucket": "velero-backups"}, "default": true},
            "status": {"phase": phase}
        });
        if let Some(l) = last {
            b["status"]["lastValidationTime"] = json!(l);
        }
        if let Some(m) = message {
            b["status"]["message"] = json!(m);
        }
        b
    }

    fn facts_with(bsls: Vec<Value>) -> Facts {
        let mut f = Facts::empty("velero");
        f.kube.backup_storage_locations = Ok(bsls);
        f
    }

    fn run(f: &Facts, judge: fn(&Ctx) -> Verdict) -> Verdict {
        judge(&Ctx::new(f, &[]))
    }

    fn text(v: &Verdict) -> String {
        format!("{} {} {}", v.summary, v.details.join(" "), v.hint.clone().unwrap_or_default()).to_lowercase()
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m0s"), Some(60.0));
        assert_eq!(parse_go_duration("720h0m0s"), Some(720.0 * 3600.0));
        assert_eq!(parse_go_duration("1.5h"), Some(5400.0));
        assert_eq!(parse_go_duration("0s"), Some(0.0));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        assert_eq!(parse_go_duration("500ms"), Some(0.5));
        assert_eq!(parse_go_duration("soon"), None);
        assert_eq!(parse_go_duration("10"), None);
    }

    #[test]
    fn healthy_bsl_is_ok() {
        let f = facts_with(vec![bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None)]);
        let v = run(&f, phase);
        assert_eq!(v.status, Status::Ok, "{v:?}");
        let v = run(&f, config);
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn no_bsl_fails() {
        let f = facts_with(vec![]);
        assert_eq!(run(&f, phase).status, Status::Fail);
        assert_eq!(run(&f, config).status, Status::Skip);
    }

    #[test]
    fn unknown_bsl_filter_names_the_existing_ones() {
        let f = facts_with(vec![bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None)]);
        let filter = vec!["nope".to_string()];
        let v = phase(&Ctx::new(&f, &filter));
        assert_eq!(v.status, Status::Fail);
        assert!(text(&v).contains("existing backupstoragelocations: default"), "{v:?}");
    }

    #[test]
    fn auth_url_message_points_at_env() {
        let msg = "BackupStorageLocation \"default\" is unavailable: failed to authenticate against OpenStack in object storage plugin: failed to build auth options: Missing input for argument [auth_url]";
        let f = facts_with(vec![bsl("default", "Unavailable", Some("2026-11-29T07:59:30Z"), Some(msg))]);
        let v = run(&f, phase);
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
            let v = run(&f, phase);
            assert_eq!(v.status, Status::Fail);
            assert!(text(&v).contains(expect), "{msg}: {:?}", v);
        }
    }

    #[test]
    fn stale_validation_warns_and_respects_frequency() {
        let f = facts_with(vec![bsl("default", "Available", Some("2026-11-29T06:00:00Z"), None)]);
        let v = run(&f, phase);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("2h ago"), "{v:?}");
        // With a 1h frequency, 2h is fine (limit 3h).
        let mut b = bsl("default", "Available", Some("2026-11-29T06:00:00Z"), None);
        b["spec"]["validationFrequency"] = json!("1h0m0s");
        assert_eq!(run(&facts_with(vec![b]), phase).status, Status::Ok);
        // Disabled validation is named.
        let mut b = bsl("default", "Available", Some("2026-11-29T06:00:00Z"), None);
        b["spec"]["validationFrequency"] = json!("0s");
        let v = run(&facts_with(vec![b]), phase);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("disabled"));
    }

    #[test]
    fn server_flag_frequency_is_used() {
        let mut f = facts_with(vec![bsl("default", "Available", Some("2026-11-29T06:00:00Z"), None)]);
        f.kube.deployments = Ok(vec![json!({
            "metadata": {"name": "velero", "namespace": "velero"},
            "spec": {"template": {"spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.17.0", "args": ["server", "--store-validation-frequency=1h"]}]}}}
        })]);
        assert_eq!(run(&f, phase).status, Status::Ok);
    }

    #[test]
    fn never_validated_warns() {
        let f = facts_with(vec![bsl("default", "", None, None)]);
        let v = run(&f, phase);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("never been validated"));
    }

    #[test]
    fn aws_plugin_on_swift_s3_warns() {
        let mut b = bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None);
        b["spec"]["provider"] = json!("aws");
        b["spec"]["config"] = json!({"s3Url": "https://swift.example.com", "s3ForcePathStyle": "true", "region": "RegionOne"});
        let v = run(&facts_with(vec![b.clone()]), config);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("chunked"));
        // A real AWS BSL is left alone.
        b["spec"]["config"] = json!({"region": "us-east-1"});
        assert_eq!(run(&facts_with(vec![b]), config).status, Status::Ok);
    }

    #[test]
    fn missing_bucket_fails_and_ignored_keys_warn() {
        let mut b = bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None);
        b["spec"]["objectStorage"] = json!({});
        b["spec"]["config"] = json!({"bucket": "velero-backups", "region": "RegionOne"});
        let v = run(&facts_with(vec![b]), config);
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("no spec.objectstorage.bucket") && t.contains("config.bucket is ignored"), "{t}");

        let mut b = bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None);
        b["spec"]["config"] = json!({"caCert": "abc", "region": "RegionOne"});
        b["spec"]["credential"] = json!({"name": "cloud-credentials", "key": "cloud"});
        let v = run(&facts_with(vec![b]), config);
        assert_eq!(v.status, Status::Warn);
        let t = text(&v);
        assert!(t.contains("cacert") && t.contains("tls_skip_verify") && t.contains("spec.credential"), "{t}");
    }

    #[test]
    fn region_conflict_warns_env_wins() {
        let mut b = bsl("default", "Available", Some("2026-11-29T07:59:30Z"), None);
        b["spec"]["config"] = json!({"region": "RegionOne"});
        let mut f = facts_with(vec![b]);
        let mut env = ResolvedEnv::default();
        env.vars.insert("OS_REGION_NAME".into(), EnvVar { value: EnvValue::Plain("IAD3".into()), source: "envFrom secret cloud-credentials (key OS_REGION_NAME)".into() });
        f.velero_env = Some(env.clone());
        let v = run(&f, config);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("the variable wins"));
        // Agreeing values are fine.
        env.vars.insert("OS_REGION_NAME".into(), EnvVar { value: EnvValue::Plain("RegionOne".into()), source: "env".into() });
        f.velero_env = Some(env);
        assert_eq!(run(&f, config).status, Status::Ok);
    }

    #[test]
    fn defaults_are_counted() {
        let a = bsl("a", "Available", Some("2026-11-29T07:59:30Z"), None);
        let b = bsl("b", "Available", Some("2026-11-29T07:59:30Z"), None);
        let v = run(&facts_with(vec![a.clone(), b.clone()]), config);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("marked default"));
        let mut a2 = a.clone();
        a2["spec"]["default"] = json!(false);
        let mut b2 = b.clone();
        b2["spec"]["default"] = json!(false);
        let v = run(&facts_with(vec![a2.clone(), b2]), config);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("none is marked default"));
        // One BSL, not default, not named like the server's default → warn.
        let v = run(&facts_with(vec![a2]), config);
        assert_eq!(v.status, Status::Warn);
    }

    #[test]
    fn malformed_bsl_does_not_panic() {
        let f = facts_with(vec![json!({"metadata": {"name": "x"}}), json!("garbage"), json!({"status": {"phase": 3}})]);
        let _ = run(&f, phase);
        let _ = run(&f, config);
    }
}
