//! velero.plugin: the OpenStack plugin is an init container of the Velero Deployment, copied where
//! the server loads plugins from, at a version tested with the running Velero.

use crate::checks::{CheckDef, Ctx};
use crate::facts::{BackupStorageLocation, Object};
use crate::model::Verdict;
use crate::upstream::velero;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;

pub const CHECK: CheckDef = crate::check! {
    id: "velero.plugin", category: Velero, severity: Critical,
    title: "OpenStack plugin installed",
    depends_on: ["kube.connect"], needs: [BackupStorageLocations, VolumeSnapshotLocations, Deployments],
    consults: [Deployments],
    explains: [
        ["already registered"] => "two plugins register the same action: velero-plugin-for-csi beside the CSI support built into Velero 1.14+ crashes the server or runs every action twice",
        // go-plugin says this on every exit; only one with an error is a crash.
        ["plugin process exited", "error"] => "a plugin's process died (crashed, OOMKilled): what it was doing failed",
        ["rpc error: code = unavailable"] => "a plugin stopped answering over gRPC (crashed, OOMKilled): what it was doing failed",
    ],
    judge: judge,
};

/// The plugin README's compatibility table: plugin minor → tested Velero (major, minor) range.
fn tested_range(plugin: (u64, u64, u64)) -> Option<((u64, u64), (u64, u64))> {
    match (plugin.0, plugin.1) {
        (0, 8) => Some(((1, 15), (1, 17))),
        (0, 7) => Some(((1, 11), (1, 13))),
        (0, 6) => Some(((1, 9), (1, 11))),
        (0, 5) => Some(((1, 4), (1, 11))),
        _ => None,
    }
}

fn is_plugin_image(image: &str) -> bool {
    image.contains(velero::OPENSTACK_PLUGIN_IMAGE)
}

fn judge(ctx: &Ctx) -> Verdict {
    let bsls = crate::need!(&ctx.facts.kube.backup_storage_locations);
    let deployments = crate::need!(&ctx.facts.kube.deployments);
    // A BSL or VSL that did not decode (it may need the plugin) is named by the engine.
    judge_plugin(ctx, bsls, deployments)
}

fn judge_plugin(ctx: &Ctx, bsls: &[BackupStorageLocation], deployments: &[Deployment]) -> Verdict {
    let ns = ctx.namespace();
    let os_bsls: Vec<&str> = ctx.selected_bsls(bsls).into_iter().filter(|b| b.is_openstack()).map(|b| b.name()).collect();
    let os_vsls: Vec<&str> = ctx
        .facts
        .kube
        .volume_snapshot_locations
        .as_ref()
        .map(|v| v.iter().filter(|l| velero::OPENSTACK_PROVIDERS.contains(&l.spec.provider.as_str())).map(|l| l.name()).collect())
        .unwrap_or_default();
    if os_bsls.is_empty() && os_vsls.is_empty() {
        return Verdict::skip("no BackupStorageLocation or VolumeSnapshotLocation uses an OpenStack provider (community.openstack.org/openstack)")
            .evidence("openstackBsls", &os_bsls);
    }
    let Some(dep) = velero::find_deployment(deployments, ns) else {
        return Verdict::skip(format!("no Velero Deployment in namespace {ns} (see velero.deployment)"));
    };
    let dname = dep.name();
    let helm = velero::helm_release_name(dep).is_some();
    let users: Vec<String> = os_bsls
        .iter()
        .map(|b| format!("BackupStorageLocation {b}"))
        .chain(os_vsls.iter().map(|v| format!("VolumeSnapshotLocation {v}")))
        .collect();
    let inits = velero::init_containers(dep);
    let plugin_inits: Vec<&Container> = inits.iter().filter(|c| c.image.as_deref().is_some_and(is_plugin_image)).collect();
    let server = velero::server_container(dep);
    let velero_image = server.and_then(|c| c.image.as_deref()).unwrap_or("?").to_string();

    if plugin_inits.is_empty() {
        let as_container = velero::containers(dep).iter().filter_map(|c| c.image.as_deref()).find(|i| is_plugin_image(i));
        let present: Vec<&str> = inits.iter().filter_map(|c| c.image.as_deref()).collect();
        let mut v = Verdict::fail(format!(
            "deployment {ns}/{dname} has no velero-plugin-for-openstack init container, but {} {} the OpenStack provider",
            users.join(", "),
            crate::checks::findings::agree(users.len(), "uses", "use")
        ))
        .detail(format!(
            "Velero cannot load provider community.openstack.org/openstack: the BSL becomes Unavailable with `unable to locate ObjectStore plugin named community.openstack.org/openstack`; init containers present: {}",
            if present.is_empty() { "none".to_string() } else { present.join(", ") }
        ));
        if let Some(i) = as_container {
            v = v.detail(format!("{i} runs as a regular container: plugins must be init containers that copy the binary into the plugins volume"));
        }
        let hint = if helm {
            "add to the Helm values: `initContainers: [{name: velero-plugin-for-openstack, image: lirt/velero-plugin-for-openstack:v0.8.2, imagePullPolicy: IfNotPresent, volumeMounts: [{mountPath: /target, name: plugins}]}]`, then `helm upgrade`".to_string()
        } else {
            format!("`velero plugin add lirt/velero-plugin-for-openstack:v0.8.2 -n {ns}` (pick the plugin version matching your Velero: `veldr explain velero.plugin`)")
        };
        return v.hint(hint).evidence("deployment", format!("{ns}/{dname}")).evidence("initContainers", &present).evidence("users", &users);
    }

    let plugin_images: Vec<&str> = plugin_inits.iter().filter_map(|c| c.image.as_deref()).collect();
    let base = |v: Verdict| {
        v.evidence("deployment", format!("{ns}/{dname}"))
            .evidence("pluginImages", &plugin_images)
            .evidence("veleroImage", &velero_image)
            .evidence("users", &users)
    };

    // The plugin image copies its binary to /target; that volume must be the one the server reads.
    let plugin_dir = server
        .map(velero::server_flags)
        .and_then(|f| f.get("plugin-dir").cloned())
        .unwrap_or_else(|| "/plugins".to_string());
    let server_volume = server.and_then(|c| {
        c.volume_mounts.iter().flatten().find(|m| m.mount_path.trim_end_matches('/') == plugin_dir.trim_end_matches('/'))
    });
    let mut problems = Vec::new();
    match server_volume.map(|m| m.name.as_str()) {
        None => problems.push(format!(
            "the velero container mounts no volume at {plugin_dir} (its plugin directory): the copied plugin is never seen"
        )),
        Some(vol) => {
            for c in &plugin_inits {
                let mount = c.volume_mounts.iter().flatten().find(|m| m.name == vol);
                let custom = c.command.is_some() || c.args.is_some();
                match mount.map(|m| m.mount_path.as_str()) {
                    None => problems.push(format!(
                        "init container {} does not mount the volume `{vol}` that the server reads plugins from (at {plugin_dir})",
                        c.name
                    )),
                    Some(p) if p.trim_end_matches('/') != "/target" && !custom => problems.push(format!(
                        "init container {} mounts `{vol}` at {p}, but the plugin image copies itself to /target",
                        c.name
                    )),
                    _ => {}
                }
            }
        }
    }
    if !problems.is_empty() {
        return base(Verdict::fail(format!("the OpenStack plugin is never copied where Velero looks for plugins ({})", problems[0])))
            .details(problems)
            .hint(if helm {
                "in the Helm values give the init container `volumeMounts: [{mountPath: /target, name: plugins}]` (the chart mounts `plugins` at /plugins on the velero container)".to_string()
            } else {
                format!("mount the same emptyDir at /target in the plugin init container and at {plugin_dir} in the velero container (`kubectl -n {ns} edit deployment/{dname}`)")
            });
    }

    let mut warns = Vec::new();
    if plugin_inits.len() > 1 {
        warns.push(format!(
            "{} OpenStack plugin init containers ({}): they overwrite each other's binary, the last one wins",
            plugin_inits.len(),
            plugin_images.join(", ")
        ));
    }
    let pv = velero::image_version(plugin_images.last().copied().unwrap_or_default());
    let vv = velero::image_version(&velero_image);
    let mut pair = String::new();
    match (&pv, &vv) {
        (Err(e), _) | (_, Err(e)) => warns.push(format!("cannot verify the plugin/Velero pair: {e}; pin versioned tags")),
        (Ok((ptag, p)), Ok((vtag, v))) => {
            pair = format!("plugin {ptag} with Velero {vtag}");
            match tested_range(*p) {
                None => warns.push(format!(
                    "plugin {ptag} is not in the plugin's compatibility table (v0.5.x–v0.8.x); {pair} is not a tested pair"
                )),
                Some((lo, hi)) if (v.0, v.1) < lo || (v.0, v.1) > hi => warns.push(format!(
                    "{pair} is not a tested pair: plugin v{}.{}.x is tested with Velero {}.{}–{}.{}",
                    p.0, p.1, lo.0, lo.1, hi.0, hi.1
                )),
                Some(_) => {}
            }
        }
    }
    let base = |v: Verdict| base(v).evidence("pair", &pair);
    if !warns.is_empty() {
        return base(Verdict::warn(warns[0].clone()))
            .details(warns.into_iter().skip(1))
            .detail("tested pairs (plugin README): v0.8.x ↔ Velero 1.15–1.17; v0.7.x ↔ 1.11–1.13; v0.6.x ↔ 1.9–1.11; v0.5.x ↔ 1.4–1.11")
            .hint(if helm {
                "pin a tested pair in the Helm values: `image.tag` (e.g. v1.17.1) and `initContainers[].image` (e.g. lirt/velero-plugin-for-openstack:v0.8.2)".to_string()
            } else {
                format!("pin a tested pair: `kubectl -n {ns} set image deployment/{dname} velero=velero/velero:v1.17.1 <plugin-init-container>=lirt/velero-plugin-for-openstack:v0.8.2`")
            });
    }
    base(Verdict::ok(format!("{pair}: a tested pair, plugin copied into the server's plugin directory")))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::tested_range;
    use crate::model::Status;
    use serde_json::json;

    #[test]
    fn healthy_is_ok() {
        let v = run(&super::CHECK, &facts());
        assert_eq!(v.status, Status::Ok, "{v:?}");
        assert!(v.summary.contains("v0.8.2") && v.summary.contains("v1.17.1"));
    }

    #[test]
    fn missing_fails() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server"], json!([{"name": "velero-plugin-for-aws", "image": "velero/velero-plugin-for-aws:v1.13.0"}]))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        let t = written(&v);
        assert!(t.contains("velero-plugin-for-openstack") && t.contains("velero-plugin-for-aws:v1.13.0") && t.contains("initContainers"), "{t}");
    }

    #[test]
    fn detected_by_image_not_name() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(
            &["server"],
            json!([{"name": "lirt-velero-plugin-for-openstack", "image": "registry.example.com:5000/mirror/velero-plugin-for-openstack:v0.8.1",
                "volumeMounts": [{"name": "plugins", "mountPath": "/target"}]}]),
        )]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Ok);
    }

    #[test]
    fn untested_pair_warns() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server"], plugin_init("lirt/velero-plugin-for-openstack:v0.6.0"))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("v0.6.0") && v.summary.contains("v1.17.1"), "{}", v.summary);
    }

    #[test]
    fn latest_or_digest_warns() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server"], plugin_init("lirt/velero-plugin-for-openstack:latest"))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn);
        assert!(v.summary.contains("cannot verify"));
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server"], plugin_init("lirt/velero-plugin-for-openstack@sha256:abcdef"))]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Warn);
    }

    #[test]
    fn not_copied_to_plugin_dir_fails() {
        let mut f = facts();
        f.kube.deployments = Ok(list(vec![velero_deployment(
            &["server"],
            json!([{"name": "p", "image": "lirt/velero-plugin-for-openstack:v0.8.2", "volumeMounts": [{"name": "scratch", "mountPath": "/target"}]}]),
        )]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(written(&v).contains("`plugins`"), "{}", written(&v));
    }

    #[test]
    fn skips_without_openstack_bsl() {
        let mut f = facts();
        f.kube.backup_storage_locations = Ok(list(vec![bsl("default", "aws")]));
        assert_eq!(run(&super::CHECK, &f).status, Status::Skip);
    }

    #[test]
    fn a_malformed_bsl_may_need_the_plugin() {
        let mut f = facts();
        let mut broken = bsl("swift", "community.openstack.org/openstack");
        broken["spec"]["objectStorage"] = json!("velero-backups");
        f.kube.backup_storage_locations = Ok(list(vec![bsl("default", "aws"), broken]));
        let v = crate::checks::testing::run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Warn, "{v:?}");
        assert!(written(&v).contains("malformed object BackupStorageLocation velero/swift"), "{}", written(&v));
    }

    #[test]
    fn needed_for_openstack_vsl() {
        let mut f = facts();
        f.kube.backup_storage_locations = Ok(list(vec![bsl("default", "aws")]));
        f.kube.volume_snapshot_locations = Ok(list(vec![json!({"metadata": {"name": "cinder"}, "spec": {"provider": "community.openstack.org/openstack-cinder"}})]));
        f.kube.deployments = Ok(list(vec![velero_deployment(&["server"], json!([]))]));
        let v = run(&super::CHECK, &f);
        assert_eq!(v.status, Status::Fail);
        assert!(v.summary.contains("VolumeSnapshotLocation cinder"));
    }

    #[test]
    fn tested_ranges_follow_the_table() {
        assert!(tested_range((0, 8, 2)).is_some_and(|(lo, hi)| lo == (1, 15) && hi == (1, 17)));
        assert!(tested_range((0, 5, 9)).is_some_and(|(lo, hi)| lo == (1, 4) && hi == (1, 11)));
        assert!(tested_range((0, 9, 0)).is_none());
    }
}
