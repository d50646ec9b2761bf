//! Property tests over the parsers that meet untrusted input: the bundle loader (a file someone
//! hands over), the Helm release decoder (a Secret in the cluster) and the temp URL parser (a URL a
//! user pastes). None may panic; bad input is an error that says so; what veldr builds, it reads back.

use base64::Engine;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::OnceLock;
use veldr::openstack::tempurl::{
    build_temp_url, parse_temp_url, plugin_signed_url, signature, Digest, ExpiresFormat, SigEncoding, SignOptions, TempUrlRequest,
};
use veldr::secret::Secret;

fn config() -> ProptestConfig {
    // PROPTEST_CASES=5000 for a longer hunt; the default keeps the suite quick.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(192);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---- the bundle loader ----

fn bundle_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed-pitfalls.bundle.json");
        std::fs::read_to_string(path).expect("examples/seed-pitfalls.bundle.json")
    })
}

fn bundle_value() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| serde_json::from_str(bundle_text()).unwrap())
}

/// JSON pointers of every node of `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| pointers(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

fn all_pointers() -> &'static [String] {
    static P: OnceLock<Vec<String>> = OnceLock::new();
    P.get_or_init(|| {
        let mut out = Vec::new();
        pointers(bundle_value(), String::new(), &mut out);
        out.retain(|p| !p.is_empty());
        out
    })
}

/// Small JSON values of every type, to put where something else was.
fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"kind": "not-what-you-expect", "status": [1, 2]})),
    ]
}

/// A judged bundle must not panic the judges either: every check ends in a status.
fn judges_without_panic(facts: &veldr::facts::Facts) {
    let results = veldr::pipeline::judge::judge(facts, &veldr::pipeline::judge::Selection::default(), &[], &Default::default());
    assert_eq!(results.len(), veldr::checks::REGISTRY.len());
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn bundle_loader_never_panics_on_any_text(text in "\\PC{0,300}") {
        let parsed = veldr::facts::bundle::parse(&text);
        if serde_json::from_str::<Value>(&text).is_err() {
            prop_assert!(parsed.is_err());
        }
    }

    #[test]
    fn a_truncated_bundle_is_an_error(cut in 0usize..1_000_000) {
        let text = bundle_text();
        let mut at = cut % text.trim_end().len();
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        prop_assert!(veldr::facts::bundle::parse(&text[..at]).is_err());
    }

    #[test]
    fn a_garbled_bundle_is_an_error_or_judges_without_panic(at in 0usize..1_000_000, junk in "\\PC{1,8}") {
        let text = bundle_text();
        let mut at = at % text.len();
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let garbled = format!("{}{junk}{}", &text[..at], &text[at..]);
        if let Ok(facts) = veldr::facts::bundle::parse(&garbled) {
            judges_without_panic(&facts);
        }
    }

    #[test]
    fn a_bundle_with_a_node_swapped_loads_or_says_why(idx in any::<prop::sample::Index>(), leaf in json_leaf()) {
        let pointers = all_pointers();
        let pointer = &pointers[idx.index(pointers.len())];
        let mut v = bundle_value().clone();
        *v.pointer_mut(pointer).unwrap() = leaf;
        match veldr::facts::bundle::parse(&v.to_string()) {
            Ok(facts) => judges_without_panic(&facts),
            Err(veldr::facts::bundle::ParseError::Corrupt(reason)) => prop_assert!(!reason.is_empty()),
            Err(veldr::facts::bundle::ParseError::Newer(n)) => prop_assert!(n > 1 && pointer == "/schemaVersion"),
        }
    }
}

// ---- the Helm release decoder ----

fn b64(bytes: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.encode(bytes).into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("name".to_string(), "velero".to_string()), ("version".to_string(), "3".to_string()), ("status".to_string(), "deployed".to_string())])
}

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn helm_decoder_never_panics_on_any_bytes(raw in prop::collection::vec(any::<u8>(), 0..400)) {
        let r = veldr::upstream::helm::decode_release(&labels(), Some(&raw));
        prop_assert_eq!(r.name, "velero");
    }

    #[test]
    fn helm_decoder_never_panics_on_base64_of_any_bytes(raw in prop::collection::vec(any::<u8>(), 0..400), gz in any::<bool>()) {
        let payload = if gz { gzip(&raw) } else { raw.clone() };
        let r = veldr::upstream::helm::decode_release(&labels(), Some(&b64(&payload)));
        if serde_json::from_slice::<Value>(&raw).is_err() && (gz || !raw.starts_with(&GZIP_MAGIC)) {
            let why = r.decode_error.expect("not JSON must be a decode_error");
            prop_assert!(why.contains("not JSON"), "{}", why);
        }
    }

    #[test]
    fn helm_decoder_reports_a_broken_gzip(cut in 1usize..10_000, chart in "[a-z][a-z0-9-]{0,20}") {
        let json = serde_json::json!({"name": "velero", "version": 3, "info": {"status": "deployed"},
            "chart": {"metadata": {"name": chart, "version": "12.0.0", "appVersion": "1.17.1"}}, "config": {}});
        let whole = gzip(json.to_string().as_bytes());
        let r = veldr::upstream::helm::decode_release(&labels(), Some(&b64(&whole)));
        prop_assert_eq!(r.decode_error, None);
        prop_assert_eq!(&r.chart, &chart);
        let cut = 3 + cut % (whole.len() - 3);
        if cut < whole.len() {
            let r = veldr::upstream::helm::decode_release(&labels(), Some(&b64(&whole[..cut])));
            prop_assert!(r.decode_error.is_some(), "a gzip stream cut at {} of {} decoded", cut, whole.len());
        }
    }
}

// ---- the temp URL parser ----

fn digest() -> impl Strategy<Value = Digest> {
    prop_oneof![Just(Digest::Sha1), Just(Digest::Sha256), Just(Digest::Sha512)]
}

fn encoding() -> impl Strategy<Value = SigEncoding> {
    prop_oneof![Just(SigEncoding::Hex), Just(SigEncoding::Base64), Just(SigEncoding::Base64Url)]
}

/// A path segment named `.` or `..` is a dot segment: every HTTP client removes it (RFC 3986
/// 5.2.4, also when written `%2E`), so no URL can address a container or object so named.
fn not_dot_segments(s: &str) -> bool {
    s.split('/').all(|seg| seg != "." && seg != "..")
}

fn container() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.-]{1,40}".prop_filter("a dot segment", |s| not_dot_segments(s))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tempurl_parser_never_panics_on_any_text(text in "\\PC{0,200}") {
        let _ = parse_temp_url(&text);
    }

    #[test]
    fn tempurl_parser_never_panics_on_url_shaped_text(
        path in "[/%a-zA-Z0-9._~-]{0,40}", sig in "[%:=+/ a-zA-Z0-9_-]{0,140}", expires in "[-+:0-9TZ]{0,24}", extra in "[&=%a-z_]{0,20}",
    ) {
        let _ = parse_temp_url(&format!("https://swift.example:8080/v1{path}?temp_url_sig={sig}&temp_url_expires={expires}&{extra}"));
    }

    #[test]
    fn sign_build_parse_round_trips(
        key in "[ -~]{1,64}",
        account in "AUTH_[a-f0-9]{1,32}",
        container in container(),
        object in "[a-zA-Z0-9_.~ +&=@:$-]{1,20}(/[a-zA-Z0-9_.~ +&=@:$-]{1,20}){0,3}".prop_filter("a dot segment", |s| not_dot_segments(s)),
        method in prop_oneof![Just("GET"), Just("HEAD"), Just("PUT")],
        expires in 0i64..4_102_444_800,
        iso in any::<bool>(),
        digest in digest(),
        encoding in encoding(),
    ) {
        let key = Secret::new(key);
        let path = format!("/v1/{account}/{container}/{object}");
        let expires_format = if iso { ExpiresFormat::Iso8601 } else { ExpiresFormat::Unix };
        let req = TempUrlRequest {
            origin: "https://swift.example:8080",
            path: &path,
            method,
            expires,
            expires_format,
            digest,
            encoding,
            options: SignOptions::default(),
        };
        let signed = build_temp_url(&key, &req).unwrap();
        let url = signed.expose_full_url().unwrap();
        let parsed = parse_temp_url(&url).unwrap();
        prop_assert_eq!(parsed.expires, expires);
        prop_assert_eq!(parsed.expires_format, expires_format);
        prop_assert_eq!(parsed.digest, digest);
        prop_assert_eq!(parsed.sig_encoding, encoding);
        prop_assert_eq!(&parsed.path, &path);
        prop_assert_eq!(parsed.account.as_deref(), Some(account.as_str()));
        prop_assert_eq!(parsed.container.as_deref(), Some(container.as_str()));
        prop_assert_eq!(parsed.object.as_deref(), Some(object.as_str()));
        prop_assert_eq!(parsed.sig.fingerprint(), signed.sig.fingerprint());
        // The signature read back is the one this key makes: compare fingerprints, never values.
        let hex = signature(&key, method, expires, &path, digest, SigEncoding::Hex).unwrap();
        prop_assert_eq!(parsed.sig_hex.fingerprint(), hex.fingerprint());
        prop_assert!(!signed.url_without_sig.contains("temp_url_sig"));
    }

    #[test]
    fn the_plugins_url_parses_back_to_what_it_signed(
        key in "[ -~]{1,64}",
        account in "AUTH_[a-f0-9]{1,32}",
        container in container(),
        object in "\\PC{1,40}".prop_filter("a dot segment", |o| o != "." && o != ".."),
        expires in 0i64..4_102_444_800,
        digest in digest(),
    ) {
        let key = Secret::new(key);
        let endpoint = format!("https://swift.example/v1/{account}");
        let signed = plugin_signed_url(&endpoint, &container, &object, &key, digest, expires).unwrap();
        let parsed = parse_temp_url(&signed.expose_full_url().unwrap()).unwrap();
        prop_assert_eq!(&parsed.path, &signed.path);
        prop_assert_eq!(parsed.digest, digest);
        prop_assert_eq!(parsed.sig_encoding, SigEncoding::Hex);
        prop_assert_eq!(parsed.expires, expires);
        let hex = signature(&key, "GET", expires, &signed.path, digest, SigEncoding::Hex).unwrap();
        prop_assert_eq!(parsed.sig_hex.fingerprint(), hex.fingerprint());
    }
}
