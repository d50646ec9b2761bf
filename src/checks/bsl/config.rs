//! bsl.config: every selected BackupStorageLocation is configured the way its plugin reads it
//! (bucket, keys the OpenStack plugin ignores, region precedence, the Swift-S3 pitfall), and exactly
//! one is the default.

use crate::checks::findings::{agree, combine, plural, Finding};
use crate::checks::{CheckDef, Ctx};
use crate::facts::{BackupStorageLocation, Object};
use crate::model::{Status, Verdict};
use serde_json::{json, Value};

pub const CHECK: CheckDef = crate::check! {
    id: "bsl.config", category: Storage, severity: Major,
    title: "Backup storage location configuration",
    depends_on: ["kube.crds"], needs: [BackupStorageLocations, Deployments, HelmReleases, VeleroEnv],
    // Velero v1.18.1: pkg/controller/backup_controller.go prepareBackupRequest (validation errors).
    explains: [
        ["currently in read-only mode"] => "the BSL's accessMode is ReadOnly: Velero neither writes new backups to it nor deletes old ones",
        ["backup storage location was not specified", "does not exist"] => "the backup names no BSL and the server's default BSL does not exist: exactly one BSL must be the default",
        ["backup storage location was not specified", "was not found"] => "the backup names no BSL and the default BSL was not found: exactly one BSL must be the default",
    ],
    judge: judge,
};

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

fn looks_like_swift_s3(bsl: &BackupStorageLocation, os_env: bool) -> Option<String> {
    let config = &bsl.spec.config;
    let url = config.get("s3Url")?;
    let lower = url.to_lowercase();
    let mentions = |word: &str| config.iter().any(|(k, v)| k.to_lowercase().contains(word) || v.to_lowercase().contains(word));
    if lower.contains("swift") || lower.contains("openstack") {
        return Some(format!("s3Url {url} names Swift/OpenStack"));
    }
    if mentions("swift") || mentions("openstack") {
        return Some("the BSL config mentions swift/openstack".into());
    }
    let path_style = config.get("s3ForcePathStyle").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if path_style && !lower.contains("amazonaws.com") && os_env {
        return Some(format!("s3ForcePathStyle with a non-AWS s3Url ({url}) while OS_* variables are set on the velero container"));
    }
    None
}

/// The server's default location: `--default-backup-storage-location` when set, else Velero's
/// built-in `default`; the second value says which, for messages.
fn server_default(ctx: &Ctx) -> (String, &'static str) {
    match ctx.server_flags().get("default-backup-storage-location") {
        Some(v) if !v.is_empty() => (v.clone(), "set by --default-backup-storage-location"),
        _ => ("default".into(), "Velero's built-in value; the server sets no --default-backup-storage-location"),
    }
}

/// The BSL a newer Velero keeps as the default when several are marked: its BSL controller
/// (ensureSingleDefaultBSL) keeps the most recently created one and clears `default` on the others.
fn newest<'b>(all: &'b [BackupStorageLocation], names: &[&str]) -> &'b str {
    all.iter()
        .filter(|b| names.contains(&b.name()))
        .max_by_key(|b| b.meta().creation_timestamp.as_ref().map(|t| t.0))
        .map(Object::name)
        .unwrap_or_default()
}

/// Exactly one default BSL: `spec.default: true` on one, or none marked and the server's default
/// location (flag or `default`) names one that exists. Backups and Schedules that name no
/// storageLocation go to it; without one they end `FailedValidation`.
fn default_finding(ctx: &Ctx, all: &[BackupStorageLocation], defaults: &[&str], all_read: bool, notes: &mut Vec<String>) -> Option<Finding> {
    let ns = ctx.namespace();
    let helm = ctx.by_helm();
    if defaults.len() > 1 {
        let kept = newest(all, defaults);
        return Some(
            Finding::new(Status::Warn, format!("{} BSLs are marked default: {}; keep exactly one", defaults.len(), defaults.join(", ")))
                .detail(format!("newer Velero servers keep only the most recently created one ({kept}) and clear spec.default on the others; older servers send backups that name no location to the first one listed"))
                .detail("either way, backups and schedules without --storage-location may land in a location you did not choose".to_string())
                .hint(if helm { "set `default: true` on exactly one entry of `configuration.backupStorageLocation`".to_string() } else { format!("`velero backup-location set <name> --default -n {ns}` (it clears the others)") }),
        );
    }
    if !defaults.is_empty() || !all_read {
        return None;
    }
    let (flag, why) = server_default(ctx);
    let names: Vec<&str> = all.iter().map(Object::name).collect();
    if names.contains(&flag.as_str()) {
        // Velero uses it for backups that name no location (and its BSL controller marks it default).
        notes.push(format!("no BSL is marked default; the server's default location {flag:?} ({why}) exists and is used"));
        return None;
    }
    Some(
        Finding::new(Status::Fail, format!("no default BSL: none of {} is marked default and the server's default location {flag:?} does not exist", names.join(", ")))
            .detail(format!("the server's default location is {flag:?} ({why})"))
            .detail(format!("`velero backup create` without --storage-location and Schedules without spec.template.storageLocation end FailedValidation: \"an existing backup storage location wasn't specified at backup creation time and the server default '{flag}' doesn't exist\""))
            .hint(if helm { "set `default: true` on one entry of `configuration.backupStorageLocation`".to_string() } else { format!("`velero backup-location set <name> --default -n {ns}` (or name an existing BSL in the server's --default-backup-storage-location)") }),
    )
}

fn judge(ctx: &Ctx) -> Verdict {
    let all = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let ns = ctx.namespace().to_string();
    let helm = ctx.by_helm();
    if all.is_empty() && all.malformed.is_empty() {
        return Verdict::skip(format!("no BackupStorageLocation in {ns} (bsl.phase reports it)"));
    }
    let env = ctx.env();
    let os_env = env.is_some_and(|e| e.vars.keys().any(|k| k.starts_with("OS_")));
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut evidence = Vec::new();

    for bsl in ctx.selected_bsls(all) {
        let name = bsl.name();
        let provider = bsl.spec.provider.as_str();
        let bucket = bsl.spec.object_storage.bucket.as_str();
        let config_keys: Vec<String> = bsl.spec.config.keys().cloned().collect();
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
        } else if bsl.is_openstack() {
            if bucket.trim().is_empty() {
                // objectStorage as written: an empty bucket is shown as absent.
                let mut storage = serde_json::to_value(&bsl.spec.object_storage).unwrap_or_default();
                if let Some(m) = storage.as_object_mut().filter(|m| m.get("bucket").and_then(Value::as_str) == Some("")) {
                    m.remove("bucket");
                }
                findings.push(
                    Finding::new(Status::Fail, format!("BSL {name} has no spec.objectStorage.bucket: the plugin does not know which Swift container to use"))
                        .detail(format!("{name}: provider {provider}, objectStorage {}", storage))
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
            if bsl.spec.credential.is_some() {
                ignored.push("spec.credential".into());
                lines.push(format!(
                    "{name}: spec.credential is ignored by the OpenStack plugin (it reads OS_* variables from the velero container's environment); use {}",
                    if helm { "`credentials.extraSecretRef`" } else { "envFrom on the velero container" }
                ));
            }
            if !lines.is_empty() {
                let mut f = Finding::new(Status::Warn, format!("BSL {name} sets {} the OpenStack plugin ignores: {}", agree(ignored.len(), "a key", "keys"), ignored.join(", ")));
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
            if bsl.spec.object_storage.ca_cert.as_deref().is_some_and(|c| !c.is_empty()) {
                notes.push(format!("{name}: spec.objectStorage.caCert is used by the velero CLI for downloads, not by the OpenStack plugin (which reads only TLS_SKIP_VERIFY)"));
            }
            // Region precedence: OS_SWIFT_REGION_NAME, then OS_REGION_NAME, then config.region.
            if let Some(cfg_region) = bsl.spec.config.get("region").filter(|r| !r.is_empty()) {
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
            "prefix": bsl.spec.object_storage.prefix,
            "default": bsl.spec.default,
            "configKeys": config_keys,
            "ignoredKeys": ignored,
            "regionConflict": region_conflict,
        }));
    }

    // Defaults are judged over every BSL, not only the selected ones; a malformed one may be the
    // default, so "no default" is only said when every BSL could be read.
    let defaults: Vec<&str> = all.iter().filter(|b| b.spec.default).map(Object::name).collect();
    findings.extend(default_finding(ctx, all, &defaults, all.malformed.is_empty(), &mut notes));

    let n = ctx.selected_bsls(all).len();
    combine(format!("{} {} coherent (provider, bucket, region)", plural(n, "BackupStorageLocation"), agree(n, "is", "are")), findings, notes)
        .evidence("bsls", evidence)
        .evidence("defaults", defaults)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{bsl, facts_with, text};
    use super::*;
    use crate::checks::testing::run;
    use crate::facts::{EnvValue, EnvVar, Facts, ResolvedEnv};

    fn available(name: &str) -> Value {
        bsl(name, "Available", Some("2026-11-29T07:59:30Z"), None)
    }

    #[test]
    fn healthy_bsl_is_ok() {
        let v = run(&super::CHECK, &facts_with(vec![available("default")]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert_eq!(v.evidence["bsls"][0]["prefix"], Value::Null);
        assert_eq!(v.evidence["defaults"], json!(["default"]));
    }

    #[test]
    fn no_bsl_skips() {
        assert_eq!(run(&super::CHECK, &facts_with(vec![])).status, Status::Skip);
    }

    #[test]
    fn aws_plugin_on_swift_s3_warns() {
        let mut b = available("default");
        b["spec"]["provider"] = json!("aws");
        b["spec"]["config"] = json!({"s3Url": "https://swift.example.com", "s3ForcePathStyle": "true", "region": "RegionOne"});
        let v = run(&super::CHECK, &facts_with(vec![b.clone()]));
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("chunked"));
        // A boolean written by hand counts too; the OS_* variables make a plain S3 URL suspicious.
        b["spec"]["config"] = json!({"s3Url": "https://s3.example.com", "s3ForcePathStyle": true});
        let mut f = facts_with(vec![b.clone()]);
        let mut env = ResolvedEnv::default();
        env.vars.insert("OS_AUTH_URL".into(), EnvVar { value: EnvValue::Plain("https://keystone".into()), source: "env".into() });
        f.velero_env = Some(env);
        assert_eq!(run(&super::CHECK, &f).status, Status::Warn);
        // A real AWS BSL is left alone.
        b["spec"]["config"] = json!({"region": "us-east-1"});
        assert_eq!(run(&super::CHECK, &facts_with(vec![b])).status, Status::Ok);
    }

    #[test]
    fn missing_bucket_fails_and_ignored_keys_warn() {
        let mut b = available("default");
        b["spec"]["objectStorage"] = json!({});
        b["spec"]["config"] = json!({"bucket": "velero-backups", "region": "RegionOne"});
        let v = run(&super::CHECK, &facts_with(vec![b]));
        assert_eq!(v.status, Status::Fail);
        let t = text(&v);
        assert!(t.contains("no spec.objectstorage.bucket") && t.contains("config.bucket is ignored"), "{t}");
        assert!(t.contains("objectstorage {}"), "{t}");

        let mut b = available("default");
        b["spec"]["config"] = json!({"caCert": "abc", "region": "RegionOne"});
        b["spec"]["credential"] = json!({"name": "cloud-credentials", "key": "cloud"});
        let v = run(&super::CHECK, &facts_with(vec![b]));
        assert_eq!(v.status, Status::Warn);
        let t = text(&v);
        assert!(t.contains("cacert") && t.contains("tls_skip_verify") && t.contains("spec.credential"), "{t}");
        assert_eq!(v.evidence["bsls"][0]["ignoredKeys"], json!(["caCert", "spec.credential"]));
    }

    #[test]
    fn region_conflict_warns_env_wins() {
        let mut b = available("default");
        b["spec"]["config"] = json!({"region": "RegionOne"});
        let mut f = facts_with(vec![b]);
        let mut env = ResolvedEnv::default();
        env.vars.insert("OS_REGION_NAME".into(), EnvVar { value: EnvValue::Plain("IAD3".into()), source: "envFrom secret cloud-credentials (key OS_REGION_NAME)".into() });
        f.velero_env = Some(env.clone());
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(text(&v).contains("the variable wins"));
        assert_eq!(v.evidence["bsls"][0]["regionConflict"], json!({"config": "RegionOne", "env": "OS_REGION_NAME", "envValue": "IAD3"}));
        // Agreeing values are fine.
        env.vars.insert("OS_REGION_NAME".into(), EnvVar { value: EnvValue::Plain("RegionOne".into()), source: "env".into() });
        f.velero_env = Some(env);
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    fn not_default(name: &str) -> Value {
        let mut b = available(name);
        b["spec"]["default"] = json!(false);
        b
    }

    /// Facts with a Velero Deployment whose server args are `args` (for the default-location flag).
    fn with_server_args(bsls: Vec<Value>, args: &[&str]) -> Facts {
        let mut f = facts_with(bsls);
        f.kube.deployments = Ok(crate::checks::velero::fixture::list(vec![crate::checks::velero::fixture::velero_deployment(args, json!([]))]));
        f
    }

    #[test]
    fn several_defaults_warn_and_name_the_one_velero_keeps() {
        let (mut a, mut b) = (available("a"), available("b"));
        a["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        b["metadata"]["creationTimestamp"] = json!("2026-02-01T00:00:00Z");
        let v = run(&super::CHECK, &facts_with(vec![a, b]));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = text(&v);
        assert!(t.contains("2 bsls are marked default: a, b"), "{t}");
        assert!(t.contains("most recently created one (b)"), "{t}");
        assert_eq!(v.evidence["defaults"], json!(["a", "b"]));
    }

    #[test]
    fn no_default_and_no_server_default_location_fails() {
        // Neither is named `default` (Velero's built-in server default) and the server sets no flag.
        let v = run(&super::CHECK, &with_server_args(vec![not_default("a"), not_default("b")], &["server"]));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        let t = text(&v);
        assert!(t.contains("no default bsl") && t.contains("\"default\" does not exist"), "{t}");
        assert!(t.contains("failedvalidation") && t.contains("built-in"), "{t}");
        // A single BSL not marked default and not named like the server's default fails the same way.
        let v = run(&super::CHECK, &facts_with(vec![not_default("a")]));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        // A flag naming a BSL that does not exist is no better.
        let v = run(&super::CHECK, &with_server_args(vec![not_default("a")], &["server", "--default-backup-storage-location=gone"]));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(text(&v).contains("\"gone\" does not exist"), "{}", text(&v));
    }

    #[test]
    fn no_default_but_the_server_default_exists_is_ok() {
        // The flag names an existing BSL: Velero uses it.
        let v = run(&super::CHECK, &with_server_args(vec![not_default("a"), not_default("b")], &["server", "--default-backup-storage-location", "b"]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(text(&v).contains("\"b\" (set by --default-backup-storage-location) exists"), "{}", text(&v));
        // Without the flag, a BSL named `default` is the server's default.
        let v = run(&super::CHECK, &facts_with(vec![not_default("default"), not_default("b")]));
        assert_eq!(v.status, Status::Ok, "{v:?}");
    }

    #[test]
    fn malformed_bsl_is_named_and_not_taken_for_a_missing_default() {
        let mut a = available("a");
        a["spec"]["default"] = json!(false);
        let mut bad = available("b");
        bad["spec"]["objectStorage"] = json!("velero-backups");
        let v = run(&super::CHECK, &facts_with(vec![a, bad]));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        let t = text(&v);
        assert!(t.contains("could not be read") && t.contains("malformed object backupstoragelocation velero/b"), "{t}");
        assert!(!t.contains("not marked default"), "b may be the default: {t}");
        let v = run(&super::CHECK, &facts_with(vec![json!("garbage")]));
        assert_eq!(v.status, Status::Warn, "{v:?}");
    }
}
