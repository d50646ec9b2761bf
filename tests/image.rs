//! The container image (Containerfile, scripts/image.sh), built with podman and run the way
//! deploy/cronjob.yaml runs it in a pod: the service account's files mounted at
//! /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT at the in-repo API
//! server, a read-only root filesystem, user 65532, no kubeconfig. Keystone and Swift of the lab are
//! reached by host names that only the container's /etc/hosts knows (`--add-host`), which proves
//! that name resolution works in the static binary (glibc's static NSS is the usual trap).
//!
//! Needs podman and runc (`bash scripts/test.sh` installs them). Without podman the test fails under CI=true;
//! elsewhere it says loudly that it did not run.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const KEYSTONE_HOST: &str = "keystone.veldr-lab.test";
const SWIFT_HOST: &str = "swift.veldr-lab.test";

fn have_podman() -> bool {
    Command::new("podman").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// podman as scripts/image.sh drives it: vfs storage, runc, no default ulimits (see REFERENCE §10).
struct Podman {
    conf: tempfile::NamedTempFile,
}

impl Podman {
    fn new() -> Podman {
        let conf = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(conf.path(), "[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\n").unwrap();
        Podman { conf }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.conf.path()).args(["--storage-driver", "vfs"]);
        c
    }
}

/// Builds the image with scripts/image.sh under a tag of this test run; removed on drop.
struct Image<'a> {
    name: String,
    podman: &'a Podman,
}

impl<'a> Image<'a> {
    fn build(podman: &'a Podman) -> Image<'a> {
        let name = format!("localhost/veldr-test:{}", std::process::id());
        let out = Command::new("bash")
            .arg(repo().join("scripts/image.sh"))
            .arg(&name)
            .env("CONTAINERS_CONF", podman.conf.path())
            .output()
            .expect("run scripts/image.sh");
        assert!(out.status.success(), "scripts/image.sh failed: {}", String::from_utf8_lossy(&out.stderr));
        // The script prints the image name, and nothing else, on stdout.
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), name);
        Image { name, podman }
    }
}

impl Drop for Image<'_> {
    fn drop(&mut self) {
        let _ = self.podman.cmd().args(["rmi", "-f", &self.name]).output();
    }
}

/// The service account's files as the kubelet mounts them, readable by user 65532.
fn service_account(cluster: &Cluster) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), &cluster.server.token).unwrap();
    std::fs::write(dir.path().join("ca.crt"), &cluster.server.ca_pem).unwrap();
    std::fs::write(dir.path().join("namespace"), "velero").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in ["token", "ca.crt", "namespace"] {
        std::fs::set_permissions(dir.path().join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    dir
}

/// `podman run` as a pod runs it (deploy/cronjob.yaml's securityContext). The network is the host's,
/// so 127.0.0.1 is the API server and the lab; `--read-only-tmpfs=false` because Kubernetes'
/// readOnlyRootFilesystem gives no writable /tmp either.
fn run_in_pod(image: &Image, cluster: &Cluster, sa: &Path, args: &[&str]) -> Output {
    image
        .podman
        .cmd()
        .args(["run", "--rm", "--runtime", "runc", "--network", "host", "--read-only", "--read-only-tmpfs=false"])
        .args(["--user", "65532:65532", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"])
        .args(["--add-host", &format!("{KEYSTONE_HOST}:127.0.0.1"), "--add-host", &format!("{SWIFT_HOST}:127.0.0.1")])
        .arg("-v")
        .arg(format!("{}:{SA_DIR}:ro", sa.display()))
        .args(["-e", "KUBERNETES_SERVICE_HOST=127.0.0.1", "-e"])
        .arg(format!("KUBERNETES_SERVICE_PORT={}", cluster.server.addr.port()))
        .arg(&image.name)
        .args(args)
        .output()
        .expect("podman run")
}

/// lab-healthy, with Velero's secret naming Keystone and Swift by host names: OS_AUTH_URL directly,
/// Swift through OS_SWIFT_ENDPOINT_OVERRIDE (the lab's catalog lists 127.0.0.1, and other tests
/// depend on that catalog).
fn lab_by_name(lab: &Value) -> Cluster {
    let dir = materialize("lab-healthy", Some(lab));
    let mut objects = read_objects(dir.path());
    let swift = format!("{}/v1/{}/", lab["swift_a"].as_str().unwrap(), lab["account"].as_str().unwrap());
    let by_name = |url: &str, host: &str| {
        assert!(url.starts_with("http://127.0.0.1:"), "the lab listens on 127.0.0.1: {url}");
        url.replacen("127.0.0.1", host, 1)
    };
    let secret = objects
        .iter_mut()
        .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "cloud-credentials")
        .expect("lab-healthy has the cloud-credentials secret");
    let data = &mut secret["stringData"];
    let auth_url = by_name(data["OS_AUTH_URL"].as_str().unwrap(), KEYSTONE_HOST);
    data["OS_AUTH_URL"] = Value::String(auth_url);
    data["OS_SWIFT_ENDPOINT_OVERRIDE"] = Value::String(by_name(&swift, SWIFT_HOST));
    write_objects(dir.path(), &objects);
    serve_dir(dir)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn image_runs_in_a_pod_like_the_cronjob() {
    if !have_podman() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("podman is not installed: scripts/test.sh installs it (apt-get install podman runc); the image test must run in CI");
        }
        eprintln!("\n*** tests/image.rs did NOT run: podman is not installed (apt-get install podman runc) ***\n");
        return;
    }
    let lab = lab();
    let podman = Podman::new();
    let image = Image::build(&podman);

    // What the Containerfile promises: the binary as entrypoint, a numeric non-root user.
    let inspect = podman.cmd().args(["image", "inspect", &image.name]).output().unwrap();
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    let inspect: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let config = &inspect[0]["Config"];
    assert_eq!(config["Entrypoint"], serde_json::json!(["/veldr"]));
    assert_eq!(config["User"], "65532:65532");

    // Healthy: every check passes through the in-cluster config and the host names.
    let cluster = lab_by_name(&lab);
    let sa = service_account(&cluster);
    let out = run_in_pod(&image, &cluster, sa.path(), &["doctor", "-o", "json", "--timeout", "30s"]);
    let healthy = report(&out);
    let not_ok: Vec<String> = healthy["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "ok" && c["id"] != "nodeagent.pss")
        .map(|c| format!("{} {}: {}", c["id"], c["status"], c["summary"]))
        .collect();
    assert!(not_ok.is_empty(), "in the image, not ok: {not_ok:#?}\nstderr: {}", stderr(&out));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(healthy["summary"]["status"], "ok");
    // The service account's server, not a kubeconfig: KUBERNETES_SERVICE_HOST/PORT.
    let server = healthy["target"]["server"].as_str().unwrap();
    assert!(server.starts_with(&cluster.server.url), "target.server {server} is not {}", cluster.server.url);
    assert_eq!(healthy["target"]["namespace"], "velero");
    // Swift was reached through its host name, and Keystone's token came through the other one.
    let tempurl = check(&healthy, "swift.tempurl").to_string();
    assert!(tempurl.contains(SWIFT_HOST), "swift.tempurl does not name {SWIFT_HOST}: {tempurl}");
    assert_eq!(check(&healthy, "keystone.auth")["status"], "ok");
    // The service-account token and the application-credential secret stay out of the output.
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!all.contains(lab["appcred"]["secret"].as_str().unwrap()), "the application-credential secret leaked");
    assert!(!all.contains(&cluster.server.token), "the service-account token leaked");

    // A failing cluster: exit 1 crosses the container boundary, and the report says why.
    let broken = serve("velero-crashloop", None);
    let sa = service_account(&broken);
    let out = run_in_pod(&image, &broken, sa.path(), &["doctor", "-o", "json", "--skip", "openstack"]);
    let failing = report(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert_eq!(check(&failing, "velero.deployment")["status"], "fail");

    // Without the service account there is no configuration at all: exit 2, said on stderr.
    let empty = tempfile::tempdir().unwrap();
    std::fs::set_permissions(empty.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run_in_pod(&image, &broken, empty.path(), &["doctor", "-o", "json"]);
    assert_eq!(out.status.code(), Some(2), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr(&out).contains("serviceaccount") || stderr(&out).contains("Kubernetes configuration"), "{}", stderr(&out));
}

/// deploy/ runs the image scripts/image.sh builds, as the user the Containerfile declares.
#[test]
fn deploy_manifests_name_the_image_and_its_user() {
    let containerfile = std::fs::read_to_string(repo().join("Containerfile")).unwrap();
    assert!(containerfile.lines().any(|l| l == "FROM scratch"));
    assert!(containerfile.lines().any(|l| l == "USER 65532:65532"));
    assert!(containerfile.lines().any(|l| l == r#"ENTRYPOINT ["/veldr"]"#));
    let image = format!("image: veldr:{}", env!("CARGO_PKG_VERSION"));
    for m in ["deploy/cronjob.yaml", "deploy/serve.yaml"] {
        let text = std::fs::read_to_string(repo().join(m)).unwrap();
        assert!(text.contains(&image), "{m} does not run {image}");
        assert!(text.contains("runAsUser: 65532") && text.contains("runAsGroup: 65532"), "{m}: not the image's user");
        assert!(text.contains("readOnlyRootFilesystem: true"), "{m}: the image needs no writable root");
    }
}
