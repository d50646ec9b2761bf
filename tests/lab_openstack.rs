//! Integration tests of `veldr::openstack` against the real Keystone + Swift lab (`lab/lab.sh`).
//!
//! `VELDR_LAB` names the lab's `lab.json` (default `/tmp/veldr-lab/lab.json`). Without it the tests
//! print a loud notice and return, except under `CI`, where they fail: a lab test must never pass
//! silently in CI.

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;
use veldr::openstack::http::{client, Failure, HttpOptions};
use veldr::openstack::keystone::{self, AuthMethod, EndpointError, KeystoneError, Token};
use veldr::openstack::swift::{self, ProbeVerdict, SwiftError};
use veldr::openstack::tempurl::{self, Digest, SigEncoding, SignOptions};
use veldr::secret::{fingerprint, Secret};

struct Lab {
    j: Value,
}

impl Lab {
    fn s(&self, ptr: &str) -> String {
        self.j
            .pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("lab.json has no string at {ptr}"))
            .to_string()
    }
}

fn lab() -> Option<Lab> {
    let path = std::env::var("VELDR_LAB").unwrap_or_else(|_| "/tmp/veldr-lab/lab.json".to_string());
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let lab = Lab {
                j: serde_json::from_str(&text).expect("lab.json is JSON"),
            };
            // A lab.json left behind by a stopped lab: say so instead of failing on "connection refused".
            let ks = url::Url::parse(&lab.s("/keystone_root")).expect("keystone_root is a URL");
            let addr = format!("{}:{}", ks.host_str().unwrap(), ks.port_or_known_default().unwrap());
            let up = addr
                .parse()
                .map(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
                .unwrap_or(false);
            assert!(
                up,
                "{path} is stale: nothing answers at Keystone {addr}; run `bash lab/lab.sh start` again"
            );
            Some(lab)
        }
        Err(e) => {
            let msg = format!(
                "lab_openstack: no lab at {path} ({e}). Start one with `bash lab/lab.sh start` \
                 and set VELDR_LAB to the lab.json it prints."
            );
            if std::env::var_os("CI").is_some() {
                panic!("{msg} CI is set, so a missing lab is a failure.");
            }
            // Straight to the stderr handle: libtest captures eprintln!, this stays visible.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "\n!!!!!!!! SKIPPED: {msg}\n");
            None
        }
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn http() -> reqwest::Client {
    client(&HttpOptions {
        timeout: Duration::from_secs(20),
        ..Default::default()
    })
    .unwrap()
}

fn appcred(lab: &Lab, which: &str) -> AuthMethod {
    AuthMethod::AppCredentialId {
        id: lab.s(&format!("/{which}/id")),
        secret: Secret::new(lab.s(&format!("/{which}/secret"))),
    }
}

async fn token(c: &reqwest::Client, lab: &Lab) -> Token {
    keystone::authenticate(c, &lab.s("/keystone_url"), &appcred(lab, "appcred"))
        .await
        .expect("app credential authenticates")
}

fn endpoint(t: &Token, region: &str) -> String {
    keystone::object_store_endpoint(&t.catalog, Some(region), "public").unwrap()
}

#[test]
fn discovery_and_app_credential_auth() {
    let Some(lab) = lab() else { return };
    rt().block_on(async {
        let c = http();
        let d = keystone::discover(&c, &lab.s("/keystone_url")).await.unwrap();
        assert_eq!(d.root_status, Some(300));
        assert!(d.versions.iter().any(|v| v.id.starts_with("v3")), "{d:?}");
        assert_eq!(d.v3.status, "stable");
        // The root works as auth URL too.
        keystone::discover(&c, &format!("{}/", lab.s("/keystone_root")))
            .await
            .unwrap();

        let t = token(&c, &lab).await;
        let now = jiff::Timestamp::now();
        assert!(
            t.expires_at > now && t.expires_at < now + jiff::SignedDuration::from_hours(25),
            "{}",
            t.expires_at
        );
        assert_eq!(t.project.as_ref().unwrap().id, lab.s("/project_id"));
        assert_eq!(t.user.id, lab.s("/user/id"));
        let ac = t.application_credential.as_ref().unwrap();
        assert_eq!(ac.id, lab.s("/appcred/id"));
        assert!(ac.restricted);
        for r in [lab.s("/region_a"), lab.s("/region_b")] {
            let e = endpoint(&t, &r);
            assert!(e.ends_with(&format!("/v1/{}/", lab.s("/account"))), "{e}");
        }
        assert!(endpoint(&t, "RegionOne").starts_with(&lab.s("/swift_a")));
        assert!(endpoint(&t, "RegionTwo").starts_with(&lab.s("/swift_b")));
        // Nothing secret in the bundle form.
        let json = serde_json::to_string(&t).unwrap();
        assert!(!json.contains(t.value.expose().unwrap()));

        // By name + user id, and by name + user name/domain.
        let by_name = AuthMethod::AppCredentialName {
            name: lab.s("/appcred/name"),
            secret: Secret::new(lab.s("/appcred/secret")),
            user: keystone::UserRef::Name {
                name: lab.s("/user/name"),
                domain: keystone::DomainRef::Name(lab.s("/user/domain")),
            },
        };
        keystone::authenticate(&c, &lab.s("/keystone_root"), &by_name)
            .await
            .unwrap();
        // The expiring credential's token is capped at the credential's expiry.
        let exp = keystone::authenticate(&c, &lab.s("/keystone_url"), &appcred(&lab, "appcred_expiring"))
            .await
            .unwrap();
        let cred_expiry: jiff::Timestamp = lab.s("/appcred_expiring/expires_at").parse().unwrap();
        assert!(exp.expires_at <= cred_expiry);
        // A token (OS_TOKEN) is validated and gives the same project and catalog.
        let again = keystone::authenticate(&c, &lab.s("/keystone_url"), &AuthMethod::Token(t.value.clone()))
            .await
            .unwrap();
        assert_eq!(again.project, t.project);
        assert_eq!(again.catalog.len(), t.catalog.len());
        // Password auth scoped by project id.
        let pw = AuthMethod::Password {
            user: keystone::UserRef::Id(lab.s("/user/id")),
            password: Secret::new(lab.s("/user/password")),
            project: Some(keystone::ProjectRef::Id(lab.s("/project_id"))),
        };
        let p = keystone::authenticate(&c, &lab.s("/keystone_url"), &pw).await.unwrap();
        assert!(p.application_credential.is_none());
    });
}

#[test]
fn keystone_refusals() {
    let Some(lab) = lab() else { return };
    rt().block_on(async {
        let c = http();
        let ks = lab.s("/keystone_url");
        // bcrypt only checks the first 72 bytes: change an early character.
        let mut wrong = lab.s("/appcred/secret").into_bytes();
        wrong[3] = if wrong[3] == b'x' { b'y' } else { b'x' };
        let wrong = String::from_utf8(wrong).unwrap();
        let m = AuthMethod::AppCredentialId {
            id: lab.s("/appcred/id"),
            secret: Secret::new(wrong.clone()),
        };
        let err = keystone::authenticate(&c, &ks, &m).await.unwrap_err();
        assert!(matches!(err, KeystoneError::Unauthorized { .. }), "{err:?}");
        eprintln!("wrong secret: {err}");
        assert!(!err.to_string().contains(&wrong) && !format!("{err:?}").contains(&wrong));

        let err = keystone::authenticate(&c, &ks, &appcred(&lab, "appcred_deleted"))
            .await
            .unwrap_err();
        assert!(matches!(err, KeystoneError::NotFound { .. }), "{err:?}");
        eprintln!("deleted: {err}");

        // A closed port.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = keystone::authenticate(&c, &format!("http://127.0.0.1:{port}/v3"), &appcred(&lab, "appcred"))
            .await
            .unwrap_err();
        eprintln!("closed port: {err}");
        match &err {
            KeystoneError::Transport(Failure::Unreachable(m)) => {
                assert!(m.contains(&format!("127.0.0.1:{port}")), "{m}")
            }
            other => panic!("expected Transport(Unreachable), got {other:?}"),
        }
        assert!(matches!(
            keystone::discover(&c, &format!("http://127.0.0.1:{port}")).await,
            Err(KeystoneError::Transport(_))
        ));

        // Region that does not exist.
        let t = token(&c, &lab).await;
        match keystone::object_store_endpoint(&t.catalog, Some("RegionX"), "public") {
            Err(e @ EndpointError::NoRegion { .. }) => {
                eprintln!("region: {e}");
                let EndpointError::NoRegion { wanted, available, .. } = e else {
                    unreachable!()
                };
                assert_eq!(wanted, "RegionX");
                assert_eq!(available, vec![lab.s("/region_a"), lab.s("/region_b")]);
            }
            other => panic!("expected NoRegion, got {other:?}"),
        }
    });
}

#[test]
fn containers_keys_and_roles() {
    let Some(lab) = lab() else { return };
    rt().block_on(async {
        let c = http();
        let t = token(&c, &lab).await;
        let ep = endpoint(&t, "RegionOne");

        let main = swift::head_container(&c, &ep, &t.value, &lab.s("/containers/main/name"))
            .await
            .unwrap();
        let key = main.temp_url_key.as_ref().expect("main has a key");
        assert_eq!(key.fingerprint(), fingerprint(lab.s("/containers/main/key").as_bytes()));
        assert!(main.temp_url_key_2.is_none());
        assert!(main.ownership.is_owner());
        assert!(main.object_count.is_some() && main.date.is_some());
        assert!(!format!("{main:?}").contains(&lab.s("/containers/main/key")));

        let nokey = swift::head_container(&c, &ep, &t.value, &lab.s("/containers/nokey/name"))
            .await
            .unwrap();
        assert!(nokey.temp_url_key.is_none() && nokey.temp_url_key_2.is_none());

        let k2 = swift::head_container(&c, &ep, &t.value, &lab.s("/containers/key2only/name"))
            .await
            .unwrap();
        assert!(k2.temp_url_key.is_none());
        assert_eq!(
            k2.temp_url_key_2.unwrap().fingerprint(),
            fingerprint(lab.s("/containers/key2only/key2").as_bytes())
        );

        let acct = swift::head_account(&c, &ep, &t.value).await.unwrap();
        assert_eq!(
            acct.temp_url_key.unwrap().fingerprint(),
            fingerprint(lab.s("/account_key").as_bytes())
        );
        assert!(acct.ownership.is_owner());
        assert!(acct.container_count.unwrap() >= 3);

        let missing = swift::head_container(&c, &ep, &t.value, "veldr-no-such-container")
            .await
            .unwrap_err();
        assert!(matches!(missing, SwiftError::NotFound { .. }), "{missing:?}");

        // The reader's credential: a valid token whose roles open nothing in Swift.
        let reader = AuthMethod::AppCredentialId {
            id: lab.s("/reader/appcred_id"),
            secret: Secret::new(lab.s("/reader/appcred_secret")),
        };
        let rt_ = keystone::authenticate(&c, &lab.s("/keystone_url"), &reader)
            .await
            .unwrap();
        let err = swift::head_container(&c, &ep, &rt_.value, &lab.s("/containers/main/name"))
            .await
            .unwrap_err();
        assert!(matches!(err, SwiftError::Forbidden { .. }), "{err:?}");
        eprintln!("reader: {err}");
        // A garbage token is a 401, told apart from the 403.
        let err = swift::head_container(
            &c,
            &ep,
            &Secret::new("gAAAAAnot-a-token"),
            &lab.s("/containers/main/name"),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SwiftError::Unauthorized { .. }), "{err:?}");
    });
}

#[test]
fn info_on_both_proxies() {
    let Some(lab) = lab() else { return };
    rt().block_on(async {
        let c = http();
        let t = token(&c, &lab).await;
        let root_a = swift::swift_root(&endpoint(&t, "RegionOne")).unwrap();
        assert_eq!(root_a, lab.s("/swift_a"));
        let a = swift::info(&c, &root_a).await.unwrap();
        let tu = a.tempurl.expect("proxy A has tempurl");
        assert_eq!(tu.allowed_digests, vec!["sha256", "sha512"]);
        assert!(!tu.allows(Digest::Sha1));
        // Swift lists deprecated digests only among the allowed ones: sha1 is not allowed on A.
        assert!(tu.deprecated_digests.is_empty(), "{:?}", tu.deprecated_digests);
        assert!(tu.methods.iter().any(|m| m == "GET"));
        let b = swift::info(&c, &swift::swift_root(&endpoint(&t, "RegionTwo")).unwrap())
            .await
            .unwrap_err();
        assert!(matches!(b, SwiftError::InfoDisabled), "{b:?}");
    });
}

#[test]
fn tempurl_probes() {
    let Some(lab) = lab() else { return };
    rt().block_on(async {
        let c = http();
        let t = token(&c, &lab).await;
        let container = lab.s("/containers/main/name");
        let key = Secret::new(lab.s("/containers/main/key"));
        let wrong = Secret::new("not-the-key");
        let exp = jiff::Timestamp::now().as_second() + tempurl::PLUGIN_TTL_SECS;
        let probe_obj = "veldr-probe/does-not-exist";
        let probe = |region: &'static str, key: Secret, d: Digest| {
            let ep = endpoint(&t, region);
            let c = c.clone();
            let container = container.clone();
            async move {
                let s = tempurl::plugin_signed_url(&ep, &container, probe_obj, &key, d, exp).unwrap();
                swift::probe_tempurl(&c, &s).await.unwrap()
            }
        };
        let o = probe("RegionOne", key.clone(), Digest::Sha256).await;
        assert_eq!(o.verdict, ProbeVerdict::Accepted, "{o:?}");
        let skew = (o.swift_date.unwrap().as_second() - o.local_date.as_second()).abs();
        assert!(skew < 5, "clock skew {skew}s");
        assert_eq!(
            probe("RegionOne", wrong.clone(), Digest::Sha256).await.verdict,
            ProbeVerdict::Rejected
        );
        assert_eq!(
            probe("RegionOne", key.clone(), Digest::Sha1).await.verdict,
            ProbeVerdict::Rejected
        );
        assert_eq!(
            probe("RegionTwo", key.clone(), Digest::Sha1).await.verdict,
            ProbeVerdict::Accepted
        );
        assert_eq!(
            probe("RegionOne", key.clone(), Digest::Sha512).await.verdict,
            ProbeVerdict::Accepted
        );

        // The account key opens the container too.
        let acct_key = Secret::new(lab.s("/account_key"));
        assert_eq!(
            probe("RegionOne", acct_key, Digest::Sha256).await.verdict,
            ProbeVerdict::Accepted
        );
        // Swift accepts a Key-2 (the plugin never signs with it, but it is not wrong either).
        let ep = endpoint(&t, "RegionOne");
        let key2 = Secret::new(lab.s("/containers/key2only/key2"));
        let s = tempurl::plugin_signed_url(
            &ep,
            &lab.s("/containers/key2only/name"),
            probe_obj,
            &key2,
            Digest::Sha256,
            exp,
        )
        .unwrap();
        assert_eq!(
            swift::probe_tempurl(&c, &s).await.unwrap().verdict,
            ProbeVerdict::Accepted
        );
        // An expired URL is refused by tempurl.
        let s = tempurl::plugin_signed_url(&ep, &container, probe_obj, &key, Digest::Sha256, exp - 3600).unwrap();
        assert_eq!(
            swift::probe_tempurl(&c, &s).await.unwrap().verdict,
            ProbeVerdict::Rejected
        );

        // The existing fixture object: 200, body not needed.
        let s = tempurl::plugin_signed_url(
            &ep,
            &lab.s("/object/container"),
            &lab.s("/object/name"),
            &key,
            Digest::Sha256,
            exp,
        )
        .unwrap();
        let o = swift::probe_tempurl(&c, &s).await.unwrap();
        assert_eq!(o.verdict, ProbeVerdict::AcceptedObjectExists, "{o:?}");
        assert!(o.body_excerpt.is_empty(), "object data must not be kept");

        // Base64 forms and an ISO expiry, built for people, are accepted as well.
        let path = format!("/v1/{}/{}/{}", lab.s("/account"), container, probe_obj);
        for (enc, fmt) in [
            (SigEncoding::Base64, tempurl::ExpiresFormat::Iso8601),
            (SigEncoding::Base64Url, tempurl::ExpiresFormat::Unix),
        ] {
            let req = tempurl::TempUrlRequest {
                origin: &lab.s("/swift_a"),
                path: &path,
                method: "GET",
                expires: exp,
                expires_format: fmt,
                digest: Digest::Sha256,
                encoding: enc,
                options: SignOptions::default(),
            };
            let s = tempurl::build_temp_url(&key, &req).unwrap();
            let o = swift::probe_tempurl(&c, &s).await.unwrap();
            assert_eq!(o.verdict, ProbeVerdict::Accepted, "{enc:?} {fmt:?}: {o:?}");
        }
    });
}

/// `signature` and `plugin_signed_url` against python-swiftclient's `swift tempurl`, run through
/// the CLI's own entry point (one Python process for all vectors; each line is one CLI call).
#[test]
fn signatures_match_python_swiftclient() {
    let Some(lab) = lab() else { return };
    let venv = std::env::var("VELDR_LAB_VENV")
        .unwrap_or_else(|_| format!("{}/.cache/veldr-lab/venv", std::env::var("HOME").unwrap()));
    let python = format!("{venv}/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "no {python}: the lab venv is needed"
    );

    let mut rng = Rng(0x5eed_1234_abcd_9876 ^ std::process::id() as u64);
    let account = lab.s("/account");
    let mut cases = Vec::new();
    for d in Digest::ALL {
        for _ in 0..20 {
            let (kl, bl, cl) = (
                1 + rng.below(40) as usize,
                1 + rng.below(12) as usize,
                1 + rng.below(20) as usize,
            );
            let key = rng.text(kl, true);
            let (backup, file) = (rng.text(bl, false), rng.text(4, false));
            let obj = format!("backups/{backup}/{file}.json");
            let container = rng.text(cl, false);
            let expires = 1_500_000_000 + rng.below(1_000_000_000) as i64;
            cases.push((d, key, container, obj, expires));
        }
    }
    let script = r#"
import io, json, sys, contextlib
from swiftclient import shell
for line in sys.stdin:
    argv = json.loads(line)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            shell.main(argv)
        except SystemExit:
            pass
    print(json.dumps(out.getvalue().strip()), flush=True)
"#;
    let mut input = String::new();
    for (d, key, container, obj, expires) in &cases {
        let path = format!("/v1/{account}/{container}/{obj}");
        let argv = [
            "swift",
            "tempurl",
            "--digest",
            d.name(),
            "--absolute",
            "GET",
            &expires.to_string(),
            &path,
            key,
        ];
        input.push_str(&serde_json::to_string(&argv).unwrap());
        input.push('\n');
    }
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<String>(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len());
    let endpoint = format!("http://swift.example:8080/v1/{account}");
    for ((d, key, container, obj, expires), line) in cases.iter().zip(&lines) {
        let path = format!("/v1/{account}/{container}/{obj}");
        // swiftclient: hex for sha1/sha256, sha512:<URL-safe base64 without padding> for sha512.
        let enc = if *d == Digest::Sha512 {
            SigEncoding::Base64Url
        } else {
            SigEncoding::Hex
        };
        let k = Secret::new(key.clone());
        let ours = tempurl::signature(&k, "GET", *expires, &path, *d, enc).unwrap();
        let theirs_sig = line
            .split("temp_url_sig=")
            .nth(1)
            .and_then(|r| r.split('&').next())
            .unwrap_or_else(|| panic!("no signature in swiftclient output {line:?}"));
        assert_eq!(
            ours.expose().unwrap(),
            theirs_sig,
            "{d} expires={expires} path={path:?}"
        );
        assert_eq!(
            line,
            &format!("{path}?temp_url_sig={theirs_sig}&temp_url_expires={expires}")
        );
        // The plugin's URL signs the same path (hex) and Swift's parser agrees with the digest.
        let s = tempurl::plugin_signed_url(&endpoint, container, obj, &k, *d, *expires).unwrap();
        assert_eq!(s.path, path);
        let hex = tempurl::signature(&k, "GET", *expires, &path, *d, SigEncoding::Hex).unwrap();
        assert_eq!(s.sig, hex);
        let parsed = tempurl::parse_temp_url(&format!("http://swift.example:8080{line}")).unwrap();
        assert_eq!(parsed.digest, *d);
        assert_eq!(parsed.sig_hex, hex);
        assert_eq!(parsed.expires, *expires);
    }
}

/// A tiny deterministic generator: no `rand` dependency for a test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Printable ASCII (keys may hold anything printable except a leading '-', which the CLI would
    /// take for an option); names avoid '/', '?', '#', '%' and spaces.
    fn text(&mut self, len: usize, any: bool) -> String {
        const NAME: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~";
        let mut s = String::new();
        while s.len() < len {
            let c = if any {
                (0x21 + self.below(0x5e)) as u8
            } else {
                NAME[self.below(NAME.len() as u64) as usize]
            };
            if s.is_empty() && c == b'-' {
                continue;
            }
            s.push(c as char);
        }
        s
    }
}
