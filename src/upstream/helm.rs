//! Helm 3 release records: `data.release` is base64 (again, inside the Secret) of gzip of JSON.
//!
//! Only what the checks need is kept: chart, status, revision and the user's values (`helm get
//! values`), with anything that looks secret replaced by a fingerprint, since the Velero chart's
//! `credentials.secretContents` holds real credentials.

use crate::facts::HelmRelease;
use crate::secret::fingerprint;
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;

/// Decodes one release record; a record that does not decode keeps its labels and the reason.
pub fn decode_release(labels: &BTreeMap<String, String>, raw: Option<&[u8]>) -> HelmRelease {
    let mut release = HelmRelease {
        name: labels.get("name").cloned().unwrap_or_default(),
        revision: labels.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
        status: labels.get("status").cloned().unwrap_or_default(),
        chart: String::new(),
        chart_version: String::new(),
        app_version: String::new(),
        user_values: Value::Null,
        decode_error: None,
    };
    match raw.ok_or_else(|| "the secret has no `release` key".to_string()).and_then(decode_json) {
        Ok(json) => {
            let s = |p: &str| json.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
            release.chart = s("/chart/metadata/name");
            release.chart_version = s("/chart/metadata/version");
            release.app_version = s("/chart/metadata/appVersion");
            if let Some(st) = json.pointer("/info/status").and_then(Value::as_str) {
                release.status = st.to_string();
            }
            if let Some(v) = json.get("version").and_then(Value::as_i64) {
                release.revision = v;
            }
            let mut values = json.get("config").cloned().unwrap_or(Value::Null);
            redact(&mut values, false);
            release.user_values = values;
        }
        Err(e) => release.decode_error = Some(e),
    }
    release
}

/// base64 → (gzip if the magic says so) → JSON.
pub fn decode_json(raw: &[u8]) -> Result<Value, String> {
    let text: Vec<u8> = raw.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|e| format!("the release record is not base64: {e}"))?;
    let json_bytes = if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .take(64 << 20)
            .read_to_end(&mut out)
            .map_err(|e| format!("the release record is not valid gzip: {e}"))?;
        out
    } else {
        bytes
    };
    serde_json::from_slice(&json_bytes).map_err(|e| format!("the release record is not JSON: {e}"))
}

/// Replaces secret-looking leaves (by key name, or anything under `secretContents`) with fingerprints.
pub fn redact(v: &mut Value, under_secret: bool) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let secretish = under_secret || is_secret_key(k);
                redact(child, secretish);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact(i, under_secret)),
        Value::String(s) if under_secret && !s.is_empty() => {
            *s = format!("<redacted sha256:{}>", fingerprint(s.as_bytes()));
        }
        _ => {}
    }
}

/// Key names whose values are credentials. `secretRef`-style names are references, not secrets.
fn is_secret_key(k: &str) -> bool {
    let l = k.to_ascii_lowercase();
    if l.ends_with("ref") || l.ends_with("name") || l == "existingsecret" || l == "usesecret" {
        return false;
    }
    l.contains("secret") || l.contains("password") || l.contains("token") || l.ends_with("key") || l == "cloud"
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use std::io::Write;

    fn encode(json: &str, gzip: bool) -> Vec<u8> {
        let bytes = if gzip {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(json.as_bytes()).unwrap();
            e.finish().unwrap()
        } else {
            json.as_bytes().to_vec()
        };
        base64::engine::general_purpose::STANDARD.encode(bytes).into_bytes()
    }

    const RELEASE: &str = r#"{"name":"velero","version":3,"info":{"status":"deployed"},
        "chart":{"metadata":{"name":"velero","version":"12.0.0","appVersion":"1.18.0"}},
        "config":{"podEnvFrom":[{"secretRef":{"name":"cloud-credentials"}}],
                  "credentials":{"useSecret":true,"secretContents":{"cloud":"OS_APPLICATION_CREDENTIAL_SECRET=topsecret"}}}}"#;

    #[test]
    fn decodes_gzip_and_plain_and_redacts() {
        let labels = BTreeMap::from([("name".to_string(), "velero".to_string()), ("version".to_string(), "3".to_string())]);
        for gz in [true, false] {
            let r = decode_release(&labels, Some(&encode(RELEASE, gz)));
            assert_eq!(r.decode_error, None);
            assert_eq!(r.chart_version, "12.0.0");
            assert_eq!(r.revision, 3);
            assert!(r.user_values.pointer("/podEnvFrom/0/secretRef/name").is_some());
            let text = r.user_values.to_string();
            assert!(!text.contains("topsecret"), "{text}");
            assert!(text.contains("<redacted sha256:"));
        }
    }

    #[test]
    fn bad_records_say_why() {
        let labels = BTreeMap::new();
        let r = decode_release(&labels, Some(b"%%%not base64"));
        assert!(r.decode_error.unwrap().contains("not base64"));
        let r = decode_release(&labels, Some(&encode("{not json", true)));
        assert!(r.decode_error.unwrap().contains("not JSON"));
        let r = decode_release(&labels, None);
        assert!(r.decode_error.is_some());
    }
}
