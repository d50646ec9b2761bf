//! Scrubbing secrets out of text veldr did not write (a server's log line, a results message) before it
//! is stored, shown or logged: a value whose key names a secret, in any of the forms logs use, and the
//! credentials that stand alone (URL user-info, Keystone's Fernet tokens, long hex signatures).
//!
//! Over-scrubbing is the safe mistake: `key=` hides an object key too.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// What a scrubbed value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// A key that names a secret: it contains one of these words (case-insensitive), `keystone` aside.
const SECRET_WORDS: &str = r"pass(?:word|wd|phrase)?|pwd|secret|token|key|authorization|credential|signature|cookie|session";

/// `key<sep>value` in the forms logs write them: logrus `password=x` and `password="x y"`, escaped inside a
/// quoted field (`error="… \"password\": \"x\" …"`), JSON `"password": "x"`, YAML and HTTP headers
/// `X-Auth-Token: x`, Go's `%+v` `{Password:x}` and `map[X-Auth-Token:[x]]`, query strings `temp_url_sig=x&…`,
/// `Authorization: Bearer x`. A value that opens a structure (`{`) is left to the keys inside it.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    let key = format!(r#"(?P<key>[A-Za-z0-9_.\-]*(?:{SECRET_WORDS}|(?:^|[_.\-])sig)[A-Za-z0-9_.\-]*)"#);
    let sep = r#"(?P<sep>(?:\\?["'])?\s*[=:]\s*)"#;
    let value = concat!(
        r#"(?P<value>"#,
        r#"\\"(?:[^\\]|\\[^"])*?\\""#,                                   // \"…\" inside a quoted field
        r#"|"(?:[^"\\]|\\.)*""#,                                          // "…"
        r#"|'[^']*'"#,                                                    // '…'
        r#"|\[[^\]]*\]"#,                                                 // Go's map[K:[v]]
        r#"|(?i:bearer|basic|negotiate|digest|token|aws4-hmac-sha256)\s+[^\s&,;"'{}\[\])]+"#, // a scheme and its credential
        r#"|[^\s&,;"'{}\[\])\\]+"#,                                      // a bare word
        r#")"#
    );
    Regex::new(&format!(r"(?i){key}{sep}{value}")).expect("a valid pattern")
});

/// `scheme://user:password@host`.
static USERINFO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]+:)[^\s/@]+@").expect("a valid pattern"));

/// Keystone Fernet tokens (`gAAAAAB…`), and hex strings as long as an HMAC-SHA1 or longer (temp-URL
/// signatures, tokens) that are not a digest named as such (`sha256:…`).
static LOOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?P<pre>sha(?:1|256|512):)?\b(?:gAAAAA[A-Za-z0-9_\-]{20,}=*|[0-9a-fA-F]{40,})\b").expect("a valid pattern"));

/// `text` with every secret value replaced by [`REDACTED`].
pub fn scrub(text: &str) -> String {
    let step = KEY_VALUE.replace_all(text, |c: &Captures| {
        if c["key"].to_ascii_lowercase().contains("keystone") {
            return c[0].to_string();
        }
        let value = &c["value"];
        let quoted = |q: &str| value.len() >= 2 * q.len() && value.starts_with(q) && value.ends_with(q);
        let wrapped = if quoted("\\\"") {
            format!("\\\"{REDACTED}\\\"")
        } else if quoted("\"") {
            format!("\"{REDACTED}\"")
        } else if quoted("'") {
            format!("'{REDACTED}'")
        } else {
            match value.split_once(char::is_whitespace) {
                // `Bearer x`: the scheme stays, its credential goes.
                Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                None => REDACTED.to_string(),
            }
        };
        format!("{}{}{wrapped}", &c["key"], &c["sep"])
    });
    let step = USERINFO.replace_all(&step, |c: &Captures| format!("{}{REDACTED}@", &c["head"]));
    LOOSE
        .replace_all(&step, |c: &Captures| match c.name("pre") {
            Some(_) => c[0].to_string(),
            None => REDACTED.to_string(),
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, what must remain, what must be gone)
    fn check(text: &str, kept: &[&str], gone: &[&str]) {
        let s = scrub(text);
        for k in kept {
            assert!(s.contains(k), "{k:?} was lost from {s:?} (input {text:?})");
        }
        for g in gone {
            assert!(!s.contains(g), "{g:?} survived in {s:?} (input {text:?})");
        }
    }

    #[test]
    fn temp_url_signatures_in_urls_are_scrubbed() {
        check(
            r#"time="2026-11-29T07:40:00Z" level=debug msg="GET https://swift.example:8080/v1/AUTH_a/velero/backups/b/b.tar.gz?temp_url_sig=2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e&temp_url_expires=1764402000" logSource="pkg/cmd/server/server.go:1""#,
            &["temp_url_sig=<redacted>&temp_url_expires=1764402000", "level=debug", "/v1/AUTH_a/velero/backups/b/b.tar.gz"],
            &["2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"],
        );
        check("?temp_url_sig=sha256:AbC_dEf-123%3D&temp_url_expires=1", &["temp_url_sig=<redacted>&temp_url_expires=1"], &["AbC_dEf"]);
        check("sig=deadbeef&x=1", &["sig=<redacted>&x=1"], &["deadbeef"]);
        check(r#"url="https://s/o?temp_url_expires=1&temp_url_sig=abcdef0123""#, &["temp_url_sig=<redacted>\""], &["abcdef0123"]);
    }

    #[test]
    fn tokens_and_headers_are_scrubbed() {
        check("X-Auth-Token: gAAAAABnKx3-token-value_123", &["X-Auth-Token: <redacted>"], &["gAAAAABnKx3", "token-value_123"]);
        check(r#"headers="map[X-Auth-Token:[abc123tok] X-Subject-Token:[def456]]""#, &["X-Auth-Token:"], &["abc123tok", "def456"]);
        check("Authorization: Bearer eyJhbGciOi.payload.sig", &["Authorization: Bearer <redacted>"], &["eyJhbGciOi"]);
        check("authorization=\"Basic dXNlcjpwYXNz\"", &["authorization=\"<redacted>\""], &["dXNlcjpwYXNz"]);
        check(r#"{"X-Storage-Token": "AUTH_tk0123"}"#, &[r#""X-Storage-Token": "<redacted>""#], &["AUTH_tk0123"]);
        check("token=opaque-value next=1", &["token=<redacted> next=1"], &["opaque-value"]);
        check("a Fernet token gAAAAABlongfernettokenvalue0123456789abcdef alone", &["a Fernet token <redacted> alone"], &["gAAAAABlongfernet"]);
    }

    #[test]
    fn passwords_secrets_and_keys_are_scrubbed_in_every_form() {
        check("password=hunter2 user=admin", &["password=<redacted> user=admin"], &["hunter2"]);
        check(r#"password="correct horse battery" level=info"#, &["password=\"<redacted>\" level=info"], &["correct horse"]);
        check(r#"error="auth failed: {\"password\": \"hunter2\", \"user\": \"a\"}""#, &[r#"\"password\": \"<redacted>\""#, r#"\"user\": \"a\""#], &["hunter2"]);
        check(r#"{"auth": {"passwordCredentials": {"password": "p@ss w0rd"}}}"#, &[r#""password": "<redacted>""#], &["p@ss", "w0rd"]);
        check("OS_PASSWORD=s3cr3t OS_APPLICATION_CREDENTIAL_SECRET=t0ps3cr3t OS_AUTH_URL=https://keystone:5000/v3",
            &["OS_PASSWORD=<redacted>", "OS_APPLICATION_CREDENTIAL_SECRET=<redacted>", "OS_AUTH_URL=https://keystone:5000/v3"], &["s3cr3t", "t0ps3cr3t"]);
        check("secret: abcd1234\nkey: k3y-value", &["secret: <redacted>", "key: <redacted>"], &["abcd1234", "k3y-value"]);
        check("{Username:admin Password:hunter2 Region:RegionOne}", &["Username:admin", "Password:<redacted>", "Region:RegionOne"], &["hunter2"]);
        check("X-Account-Meta-Temp-URL-Key: mykey123", &["X-Account-Meta-Temp-URL-Key: <redacted>"], &["mykey123"]);
        check("aws_secret_access_key='wJalrXUtnFEMI' access_key=AKIAEXAMPLE", &["aws_secret_access_key='<redacted>'", "access_key=<redacted>"], &["wJalrXUtnFEMI", "AKIAEXAMPLE"]);
        check("key=backups/daily/daily.tar.gz", &["key=<redacted>"], &["daily.tar.gz"]);
        check("https://velero:pa55word@swift.example/v1", &["https://velero:<redacted>@swift.example/v1"], &["pa55word"]);
        check("cookie=sessionid=abc", &["cookie=<redacted>"], &["abc"]);
    }

    proptest::proptest! {
        /// Whatever the value and the line around it, a value written in one of the forms logs use never survives.
        #[test]
        fn no_form_lets_a_value_through(value in "[A-Za-z0-9+/_%.-]{6,40}", form in 0usize..12, before in "[a-z =\"]{0,12}", after in "[ a-z=&,]{0,12}") {
            let forms = [
                format!("password={value}"), format!("password=\"{value}\""), format!("\\\"password\\\": \\\"{value}\\\""),
                format!("\"secret\": \"{value}\""), format!("X-Auth-Token: {value}"), format!("Authorization: Bearer {value}"),
                format!("?temp_url_sig={value}&temp_url_expires=1"), format!("{{Password:{value}}}"), format!("map[X-Auth-Token:[{value}]]"),
                format!("key='{value}'"), format!("https://u:{}@host/v1", value.replace('/', "%2F")), format!("OS_APPLICATION_CREDENTIAL_SECRET={value}"),
            ];
            let line = format!("{before}{}{after}", forms[form]);
            // (user-info cannot hold a raw `/`: the URL form carries it percent-encoded)
            let value = if form == 10 { value.replace('/', "%2F") } else { value };
            proptest::prop_assert!(!scrub(&line).contains(&value), "{line:?} -> {:?}", scrub(&line));
        }
    }

    #[test]
    fn what_is_not_secret_is_kept() {
        let line = r#"time="2026-11-29T07:40:00Z" level=error msg="Error getting backup store for this location" backupLocation=velero/default controller=backup-sync error="rpc error: code = Unavailable desc = error reading from server: EOF" logSource="pkg/controller/backup_sync_controller.go:102""#;
        assert_eq!(scrub(line), line);
        for same in [
            "status.phase: Unsupported value: \"Queued\": supported values: \"New\", \"Completed\"",
            "x509: certificate signed by unknown authority",
            "Missing input for argument [auth_url]",
            "keystone=https://keystone.example:5000",
            "image velero/velero:v1.17.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "Request Entity Too Large (413)",
        ] {
            assert_eq!(scrub(same), same);
        }
    }
}
