//! swift.capacity against the real lab: a container of its own with quota metadata (the lab's proxy
//! has no quota middleware, so nothing is enforced, but Swift stores and returns the headers), objects
//! under a BSL prefix's `backups/` and one outside it, and the account's quota header.

mod common;

use common::*;
use serde_json::Value;

/// Talks to the lab's Swift as the velero user (its application credential owns the account).
struct Swift {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Swift {
    fn connect(lab: &Value) -> Swift {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let body = serde_json::json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
            "id": lab["appcred"]["id"], "secret": lab["appcred"]["secret"]}}}});
        let url = format!("{}/auth/tokens", lab["keystone_url"].as_str().unwrap());
        let token = rt.block_on(async {
            let r = http.post(&url).json(&body).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 201);
            r.headers()["x-subject-token"].to_str().unwrap().to_string()
        });
        let url = format!("{}/v1/{}", lab["swift_a"].as_str().unwrap(), lab["account"].as_str().unwrap());
        Swift { rt, http, url, token }
    }

    fn send(&self, method: reqwest::Method, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> u16 {
        let mut r = self.http.request(method, format!("{}{path}", self.url)).header("X-Auth-Token", &self.token).body(body);
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        self.rt.block_on(async { r.send().await.unwrap().status().as_u16() })
    }
}

fn capacity(out: &std::process::Output) -> (String, String) {
    let r = report(out);
    let c = check(&r, "swift.capacity");
    let mut text = c["summary"].as_str().unwrap().to_string();
    for d in c["details"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(d.as_str().unwrap());
    }
    (c["status"].as_str().unwrap().to_string(), text)
}

#[test]
fn quotas_and_the_largest_backup_are_read_from_the_lab() {
    let lab = lab();
    let swift = Swift::connect(&lab);
    let container = format!("veldr-capacity-{}", std::process::id());
    use reqwest::Method;
    assert!(matches!(swift.send(Method::PUT, &format!("/{container}"), &[("X-Container-Meta-Quota-Bytes", "2000".into()), ("X-Container-Meta-Quota-Count", "100".into())], vec![]), 201 | 202));
    let objects = [("team/backups/b1/b1.tar.gz", 700), ("team/backups/b1/b1-logs.gz", 50), ("other/not-a-backup.bin", 900)];
    for (name, size) in objects {
        assert_eq!(swift.send(Method::PUT, &format!("/{container}/{name}"), &[], vec![b'x'; size]), 201, "{name}");
    }

    // The BSL keeps its backups under the prefix "team": Velero's layout is team/backups/<b>/…
    let dir = materialize("healthy", None);
    let env = ["OS_AUTH_URL", "OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET", "OS_REGION_NAME", "OS_SWIFT_TEMP_URL_KEY", "OS_SWIFT_TEMP_URL_DIGEST"];
    let values = ["{keystone_url}", "{appcred.id}", "{appcred.secret}", "{region_a}", "{containers.main.key}", "sha256"];
    let env: std::collections::BTreeMap<String, String> = env.iter().zip(values).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    point_env_at_lab(dir.path(), &env, Some(&container), &lab);
    let mut objs = read_objects(dir.path());
    for o in objs.iter_mut().filter(|o| o["kind"] == "BackupStorageLocation") {
        o["spec"]["objectStorage"]["prefix"] = Value::String("team".into());
    }
    write_objects(dir.path(), &objs);
    let cluster = serve_dir(dir);
    let doctor = || run(&cluster, &["--only", "swift.capacity", "-o", "json", "--timeout", "10s"]);

    // 1650 of 2000 bytes (the object outside the prefix counts for the quota): warn; the largest
    // backup is the tarball under the prefix, not the larger object outside it.
    let (status, text) = capacity(&doctor());
    assert_eq!(status, "warn", "{text}");
    assert!(text.starts_with(&format!("container {container}: 1.6 KiB of the 2.0 KiB quota used (8")), "{text}");
    assert!(text.contains("the largest backup object team/backups/b1/b1.tar.gz is 700 B of the 5.0 GiB Swift accepts in one PUT"), "{text}");
    assert!(text.contains(&format!("container {container} objects: 3 objects of the 100 objects quota used (3 %)")), "{text}");

    // At the quota: fail. The account's quota (far from full) is read too.
    assert_eq!(swift.send(Method::POST, &format!("/{container}"), &[("X-Container-Meta-Quota-Bytes", "1650".into())], vec![]), 204);
    assert_eq!(swift.send(Method::POST, "", &[("X-Account-Meta-Quota-Bytes", "1000000000000000".into())], vec![]), 204);
    let out = doctor();
    let _ = swift.send(Method::POST, "", &[("X-Remove-Account-Meta-Quota-Bytes", "x".into())], vec![]);
    let (status, text) = capacity(&out);
    assert_eq!(status, "fail", "{text}");
    assert!(text.contains("1.6 KiB of the 1.6 KiB quota used (100 %): Swift refuses every further upload (413)"), "{text}");
    assert!(text.contains("the Swift account: ") && text.contains("of the 909.5 TiB quota used (0 %)"), "{text}");
    assert_eq!(out.status.code(), Some(1));

    // Without quota metadata: ok, and it says there is none.
    assert_eq!(swift.send(Method::POST, &format!("/{container}"), &[("X-Remove-Container-Meta-Quota-Bytes", "x".into()), ("X-Remove-Container-Meta-Quota-Count", "x".into())], vec![]), 204);
    let (status, text) = capacity(&doctor());
    assert_eq!(status, "ok", "{text}");
    assert!(text.contains("no quota is set on the container or the account"), "{text}");

    for (name, _) in objects {
        swift.send(Method::DELETE, &format!("/{container}/{name}"), &[], vec![]);
    }
    swift.send(Method::DELETE, &format!("/{container}"), &[], vec![]);
}
