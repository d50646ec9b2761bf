//! `veldr tempurl` against python-swiftclient's `swift tempurl` (the peer implementation), and a
//! URL signed with the cluster's key (as the plugin would) fetched from the real Swift.

mod common;

use common::*;
use std::process::Command;

fn swift_cli() -> String {
    let venv = std::env::var("VELDR_LAB_VENV").unwrap_or_else(|_| format!("{}/.cache/veldr-lab/venv", std::env::var("HOME").unwrap()));
    format!("{venv}/bin/swift")
}

/// A small deterministic generator: the inputs vary per case, and a failure is reproducible.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn word(&mut self, len: usize) -> String {
        const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
        (0..len).map(|_| ALPHA[(self.next() % ALPHA.len() as u64) as usize] as char).collect()
    }
}

#[test]
fn tempurl_equals_swift_tempurl_for_random_inputs() {
    let _lab = lab(); // the venv with swiftclient comes with the lab
    let mut rng = Lcg(0x5eed_1234);
    for case in 0..30 {
        let digest = ["sha1", "sha256", "sha512"][case % 3];
        let len = 8 + (rng.next() % 40) as usize;
        let key = rng.word(len);
        let path = format!("/v1/AUTH_{}/{}/{}/{}", rng.word(12), rng.word(6), rng.word(5), rng.word(9));
        let expires = (1_600_000_000 + rng.next() % 400_000_000).to_string();
        let ours = veldr()
            .args(["tempurl", "--key-from", "env", "--digest", digest, "--absolute", "--expires", &expires, &path])
            .env("OS_SWIFT_TEMP_URL_KEY", &key)
            .output()
            .unwrap();
        assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
        let theirs = Command::new(swift_cli()).args(["tempurl", "--digest", digest, "--absolute", "GET", &expires, &path, &key]).output().unwrap();
        assert!(theirs.status.success(), "swift tempurl: {}", String::from_utf8_lossy(&theirs.stderr));
        assert_eq!(String::from_utf8_lossy(&ours.stdout).trim(), String::from_utf8_lossy(&theirs.stdout).trim(), "case {case}: {digest} {path}");
        assert!(!String::from_utf8_lossy(&ours.stderr).contains(&key), "the key leaked to stderr");
    }
}

#[test]
fn tempurl_from_the_cluster_opens_the_object_in_swift() {
    let lab = lab();
    let cluster = serve("lab-healthy", Some(&lab));
    let object = format!("{}/{}", lab["object"]["container"].as_str().unwrap(), lab["object"]["name"].as_str().unwrap());
    let out = veldr().args(["tempurl", "--kubeconfig"]).arg(&cluster.kubeconfig).arg(&object).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(url.starts_with(lab["swift_a"].as_str().unwrap()), "{url}");
    let key = lab["containers"]["main"]["key"].as_str().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(key) && !url.contains(key), "the key leaked");
    let got = Command::new("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &url]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout), "200", "Swift refused the URL veldr signed as the plugin would");
}
