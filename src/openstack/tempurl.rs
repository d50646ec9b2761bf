//! Swift temp URLs: signing exactly as the Velero plugin does, and reading URLs people paste.
//!
//! Pure functions, no I/O. Two sources define the behaviour mirrored here:
//! - the plugin's `CreateSignedURL` calls gophercloud `objects.CreateTempURL` (method GET, TTL
//!   10 min, `Digest` from `OS_SWIFT_TEMP_URL_DIGEST`, hex signature), see [`plugin_signed_url`];
//! - Swift's `tempurl` middleware and `swift/common/digest.py` decide what is accepted: HMAC over
//!   `[ip=<range>\n]METHOD\nEXPIRES\n[prefix:]PATH`, a hex signature whose length names the digest or
//!   `<algo>:<base64>`, expiry as a Unix integer or ISO 8601 (`%Y-%m-%dT%H:%M:%SZ`).
//!
//! Keys and signatures are [`Secret`]s: the only way to get a signature out as text is
//! [`SignedUrl::expose_full_url`], meant for the HTTP call and nothing else.

use crate::secret::Secret;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD_INDIFFERENT, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Lifetime of the URLs Velero asks the plugin for (`velero backup logs/describe/download`).
pub const PLUGIN_TTL_SECS: i64 = 600;

/// The format Swift accepts for `temp_url_expires` besides a Unix integer (always UTC).
pub const EXPIRES_ISO8601_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

pub use crate::facts::digest::{Digest, UnsupportedDigest};

/// The HMAC of `message` under `key` with `digest`.
fn hmac(digest: Digest, key: &[u8], message: &[u8]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
    match digest {
        Digest::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
        Digest::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
        Digest::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
    }
}


/// How the signature is written into `temp_url_sig`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigEncoding {
    /// Lower-case hex; the length tells Swift the digest. What the plugin writes.
    Hex,
    /// `<algo>:<standard base64 with padding>`; `+`, `/` and `=` must be percent-encoded in a URL.
    Base64,
    /// `<algo>:<URL-safe base64 without padding>`, what python-swiftclient writes for sha512.
    Base64Url,
}

/// How `temp_url_expires` is written. The HMAC always signs the Unix integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpiresFormat {
    #[default]
    Unix,
    /// `%Y-%m-%dT%H:%M:%SZ`, UTC.
    Iso8601,
}

/// The optional parts of a signature beyond method, expiry and path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignOptions {
    /// Prefix form: the path is `/v1/<a>/<c>/<prefix>` and the HMAC signs `prefix:<path>`; the URL
    /// then carries `temp_url_prefix=<prefix>` and opens every object under it.
    pub prefix: bool,
    /// IP form: `ip=<ip-or-cidr>\n` is prepended to the HMAC message and the URL carries
    /// `temp_url_ip_range`.
    pub ip_range: Option<String>,
}

#[derive(Debug, Error)]
pub enum TempUrlError {
    /// gophercloud's text: the endpoint has no `/v1/`, so no path can be signed.
    #[error("URL prefix \"/v1/\" not found")]
    NoV1Prefix,
    #[error(transparent)]
    UnsupportedDigest(#[from] UnsupportedDigest),
    /// The key is known only by its fingerprint (replayed from a bundle), so nothing can be signed.
    #[error("the temp-URL key {0} is known only by its fingerprint; signing needs the key itself")]
    KeyUnknown(String),
    #[error("container name must not be empty")]
    EmptyContainer,
    #[error("container name {0:?} must not contain '/'")]
    SlashInContainer(String),
    #[error("container name is {0} bytes long; Swift allows 256")]
    ContainerTooLong(usize),
    #[error("object name must not be empty")]
    EmptyObject,
    #[error("the expiry {0} is not a representable time")]
    BadExpiry(i64),
    #[error("not a URL: {0}")]
    NotAUrl(String),
    #[error("the URL has no temp_url_sig parameter")]
    MissingSig,
    #[error("the URL has no temp_url_expires parameter")]
    MissingExpires,
    #[error("temp_url_expires {0:?} is neither a Unix time nor %Y-%m-%dT%H:%M:%SZ (Swift treats it as expired)")]
    BadExpires(String),
    #[error(
        "the signature contains a space: a '+' of a base64 signature was not percent-encoded \
         (write it as %2B); Swift refuses it"
    )]
    PlusNotEncoded,
    #[error("the signature is hex of length {0}; Swift accepts 40 (sha1), 64 (sha256) or 128 (sha512)")]
    BadHexLength(usize),
    #[error("the signature is neither hex nor <algo>:<base64>: {0}")]
    BadSignature(String),
    #[error("unknown digest {0:?} in the signature prefix; Swift knows sha1, sha256, sha512")]
    UnknownAlgorithm(String),
    #[error("the {digest} signature decodes to {got} bytes, {digest} gives {want}")]
    SigLength { digest: Digest, got: usize, want: usize },
    #[error("the path {0:?} is not /v1/<account>/<container>/<object>")]
    BadPath(String),
}

/// The HMAC message Swift checks: `[ip=<range>\n]METHOD\nEXPIRES\n[prefix:]PATH`.
pub fn hmac_message(method: &str, expires: i64, path: &str, opts: &SignOptions) -> String {
    let mut message = String::new();
    if let Some(ip) = &opts.ip_range {
        message.push_str("ip=");
        message.push_str(ip);
        message.push('\n');
    }
    message.push_str(method);
    message.push('\n');
    message.push_str(&expires.to_string());
    message.push('\n');
    if opts.prefix {
        message.push_str("prefix:");
    }
    message.push_str(path);
    message
}

/// The signature of `METHOD\nEXPIRES\nPATH` (PATH = `/v1/<account>/<container>/<object>`, not
/// percent-encoded) under `key`, in the requested encoding.
pub fn signature(
    key: &Secret,
    method: &str,
    expires: i64,
    path: &str,
    digest: Digest,
    enc: SigEncoding,
) -> Result<Secret, TempUrlError> {
    signature_with(key, method, expires, path, digest, enc, &SignOptions::default())
}

/// [`signature`] with the prefix and IP forms.
pub fn signature_with(
    key: &Secret,
    method: &str,
    expires: i64,
    path: &str,
    digest: Digest,
    enc: SigEncoding,
    opts: &SignOptions,
) -> Result<Secret, TempUrlError> {
    let key_bytes = key.expose().ok_or_else(|| TempUrlError::KeyUnknown(key.label()))?;
    let message = hmac_message(method, expires, path, opts);
    let raw = hmac(digest, key_bytes.as_bytes(), message.as_bytes());
    Ok(Secret::new(encode_sig(digest, &raw, enc)))
}

fn encode_sig(digest: Digest, raw: &[u8], enc: SigEncoding) -> String {
    match enc {
        SigEncoding::Hex => hex::encode(raw),
        SigEncoding::Base64 => format!("{}:{}", digest.name(), STANDARD.encode(raw)),
        SigEncoding::Base64Url => format!("{}:{}", digest.name(), URL_SAFE_NO_PAD.encode(raw)),
    }
}

/// Writes an expiry as it goes into `temp_url_expires`.
pub fn format_expires(expires: i64, format: ExpiresFormat) -> Result<String, TempUrlError> {
    match format {
        ExpiresFormat::Unix => Ok(expires.to_string()),
        ExpiresFormat::Iso8601 => {
            let ts = jiff::Timestamp::from_second(expires).map_err(|_| TempUrlError::BadExpiry(expires))?;
            Ok(ts.strftime(EXPIRES_ISO8601_FORMAT).to_string())
        }
    }
}

/// Reads `temp_url_expires` as Swift does: an integer, else `%Y-%m-%dT%H:%M:%SZ` in UTC.
pub fn parse_expires(value: &str) -> Result<(i64, ExpiresFormat), TempUrlError> {
    if let Ok(n) = value.parse::<i64>() {
        return Ok((n, ExpiresFormat::Unix));
    }
    jiff::civil::DateTime::strptime(EXPIRES_ISO8601_FORMAT, value)
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| (z.timestamp().as_second(), ExpiresFormat::Iso8601))
        .ok_or_else(|| TempUrlError::BadExpires(value.to_string()))
}

/// A signed URL. The signature is a [`Secret`]; this type has no `Display` on purpose, and its
/// `Debug`/`Serialize` show the URL without the signature and the signature's fingerprint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedUrl {
    /// The URL with every parameter but `temp_url_sig`: safe to show and log.
    pub url_without_sig: String,
    /// The path that was signed (`/v1/<account>/<container>/<object>`, not percent-encoded).
    pub path: String,
    /// The signed Unix expiry.
    pub expires: i64,
    pub digest: Digest,
    pub sig: Secret,
    /// The object URL without any query (`url_without_sig` is this plus the other parameters).
    base: String,
    /// Query parameters after `temp_url_sig`, already encoded (`temp_url_expires=…[&…]`).
    rest_query: String,
}

impl SignedUrl {
    /// The full URL, signature included. For the HTTP request only: never print, log or store it.
    /// `None` when the signature is only known by fingerprint (replayed from a bundle).
    pub fn expose_full_url(&self) -> Option<String> {
        let sig = self.sig.expose()?;
        Some(format!(
            "{}?temp_url_sig={}&{}",
            self.base,
            encode_query_value(sig),
            self.rest_query
        ))
    }

    /// The object URL without any query.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn new(base: String, path: String, expires: i64, digest: Digest, sig: Secret, rest_query: String) -> Self {
        SignedUrl {
            url_without_sig: format!("{base}?{rest_query}"),
            path,
            expires,
            digest,
            sig,
            base,
            rest_query,
        }
    }
}

/// The URL the plugin hands to Velero for `container/object`, signed with `key` and `digest`,
/// expiring at `expires` (the plugin uses now + [`PLUGIN_TTL_SECS`]).
///
/// Built as gophercloud `CreateTempURL` builds it:
/// - the service URL is `endpoint` + `container` + `/` + `object`, where `endpoint` is the catalog
///   URL with a trailing `/` (gophercloud's `NormalizeURL`, added here when missing);
/// - the URL sent has container and object escaped like Go's `url.PathEscape` (so `/` inside the
///   object name becomes `%2F`), while the signed path is the unescaped one;
/// - the signed path is everything from the first `/v1/` of that URL; none is an error with
///   gophercloud's text `URL prefix "/v1/" not found`;
/// - signature in hex, query `?temp_url_sig=<hex>&temp_url_expires=<unix>`.
///
/// Caveat mirrored nowhere else: with `OS_SWIFT_ENDPOINT_OVERRIDE` the plugin uses the override
/// verbatim (no trailing `/` added), so an override without one glues the container to the account;
/// that is a configuration check of its own, not this function's business.
pub fn plugin_signed_url(
    endpoint: &str,
    container: &str,
    object: &str,
    key: &Secret,
    digest: Digest,
    expires: i64,
) -> Result<SignedUrl, TempUrlError> {
    check_container_name(container)?;
    if object.is_empty() {
        return Err(TempUrlError::EmptyObject);
    }
    let endpoint = normalize_endpoint(endpoint);
    let to_sign = format!("{endpoint}{container}/{object}");
    let (_, after) = to_sign.split_once("/v1/").ok_or(TempUrlError::NoV1Prefix)?;
    let path = format!("/v1/{after}");
    let sig = signature(key, "GET", expires, &path, digest, SigEncoding::Hex)?;
    let base = format!("{endpoint}{}/{}", go_path_escape(container), go_path_escape(object));
    Ok(SignedUrl::new(
        base,
        path,
        expires,
        digest,
        sig,
        format!("temp_url_expires={expires}"),
    ))
}

/// A temp URL for any method, path and form, as `veldr tempurl` builds it for people.
#[derive(Clone, Debug)]
pub struct TempUrlRequest<'a> {
    /// `scheme://host[:port]` of the Swift proxy (no path).
    pub origin: &'a str,
    /// `/v1/<account>/<container>/<object>` (or `/v1/<a>/<c>/<prefix>` for the prefix form),
    /// not percent-encoded.
    pub path: &'a str,
    pub method: &'a str,
    pub expires: i64,
    pub expires_format: ExpiresFormat,
    pub digest: Digest,
    pub encoding: SigEncoding,
    pub options: SignOptions,
}

/// Builds a temp URL in the order python-swiftclient writes it: `temp_url_sig`,
/// `temp_url_expires`, then `temp_url_ip_range` and `temp_url_prefix` when used.
pub fn build_temp_url(key: &Secret, req: &TempUrlRequest<'_>) -> Result<SignedUrl, TempUrlError> {
    let parts: Vec<&str> = req.path.splitn(5, '/').collect();
    let complete = parts.len() == 5
        && parts[0].is_empty()
        && parts[1..4].iter().all(|p| !p.is_empty())
        && (req.options.prefix || !parts[4].is_empty());
    if !complete {
        return Err(TempUrlError::BadPath(req.path.to_string()));
    }
    let sig = signature_with(
        key,
        req.method,
        req.expires,
        req.path,
        req.digest,
        req.encoding,
        &req.options,
    )?;
    let mut rest = format!(
        "temp_url_expires={}",
        encode_query_value(&format_expires(req.expires, req.expires_format)?)
    );
    if let Some(ip) = &req.options.ip_range {
        rest.push_str("&temp_url_ip_range=");
        rest.push_str(&encode_query_value(ip));
    }
    if req.options.prefix {
        rest.push_str("&temp_url_prefix=");
        rest.push_str(&encode_query_value(parts[4]));
    }
    let base = format!("{}{}", req.origin.trim_end_matches('/'), encode_path(req.path));
    Ok(SignedUrl::new(
        base,
        req.path.to_string(),
        req.expires,
        req.digest,
        sig,
        rest,
    ))
}

/// A temp URL taken apart, for diagnosing URLs users paste. The signature stays a [`Secret`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParsedTempUrl {
    /// `scheme://host[:port]`.
    pub origin: String,
    /// The path as Swift sees it (percent-decoded), e.g. `/v1/AUTH_x/c/o`.
    pub path: String,
    pub account: Option<String>,
    pub container: Option<String>,
    pub object: Option<String>,
    /// The signature as found in the URL.
    pub sig: Secret,
    /// The signature normalised to lower-case hex, what Swift compares: compare fingerprints of
    /// this with a recomputed [`SigEncoding::Hex`] signature.
    pub sig_hex: Secret,
    pub sig_encoding: SigEncoding,
    /// Inferred from the hex length or the `<algo>:` prefix.
    pub digest: Digest,
    pub expires: i64,
    pub expires_format: ExpiresFormat,
    pub prefix: Option<String>,
    pub ip_range: Option<String>,
}

/// Takes a temp URL apart the way Swift's middleware reads it (`parse_qs`, so an unencoded `+`
/// turns into a space and breaks a base64 signature).
pub fn parse_temp_url(input: &str) -> Result<ParsedTempUrl, TempUrlError> {
    let url = url::Url::parse(input.trim()).map_err(|e| TempUrlError::NotAUrl(e.to_string()))?;
    let (mut sig, mut expires, mut prefix, mut ip_range) = (None, None, None, None);
    for (k, v) in url.query_pairs() {
        let slot = match k.as_ref() {
            "temp_url_sig" => &mut sig,
            "temp_url_expires" => &mut expires,
            "temp_url_prefix" => &mut prefix,
            "temp_url_ip_range" => &mut ip_range,
            _ => continue,
        };
        // parse_qs keeps the first value of a repeated parameter.
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    let sig = sig.ok_or(TempUrlError::MissingSig)?;
    let expires = expires.ok_or(TempUrlError::MissingExpires)?;
    let (expires, expires_format) = parse_expires(&expires)?;
    let (digest, raw, sig_encoding) = decode_sig(&sig)?;
    let path = percent_decode(url.path());
    let mut parts = path
        .splitn(5, '/')
        .skip(2)
        .map(|s| (!s.is_empty()).then(|| s.to_string()));
    let (account, container, object) = (parts.next().flatten(), parts.next().flatten(), parts.next().flatten());
    Ok(ParsedTempUrl {
        origin: url.origin().ascii_serialization(),
        path,
        account,
        container,
        object,
        sig: Secret::new(sig),
        sig_hex: Secret::new(hex::encode(raw)),
        sig_encoding,
        digest,
        expires,
        expires_format,
        prefix,
        ip_range,
    })
}

/// Swift's `extract_digest_and_algorithm`, returning the raw HMAC bytes.
fn decode_sig(sig: &str) -> Result<(Digest, Vec<u8>, SigEncoding), TempUrlError> {
    if sig.contains(' ') {
        return Err(TempUrlError::PlusNotEncoded);
    }
    if let Some((algo, value)) = sig.split_once(':') {
        let digest = Digest::from_name(algo).ok_or_else(|| TempUrlError::UnknownAlgorithm(algo.to_string()))?;
        let url_safe = (value.contains('-') || value.contains('_')) && !(value.contains('+') || value.contains('/'));
        let standard: String = if url_safe {
            value
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect()
        } else {
            value.to_string()
        };
        let raw = STANDARD_NO_PAD_INDIFFERENT
            .decode(standard.trim_end_matches('='))
            .map_err(|e| TempUrlError::BadSignature(format!("base64: {e}")))?;
        if raw.len() != digest.output_len() {
            return Err(TempUrlError::SigLength {
                digest,
                got: raw.len(),
                want: digest.output_len(),
            });
        }
        // Padding or a standard-only character means standard base64; otherwise it was written the
        // URL-safe way without padding (python-swiftclient's form), or cannot be told apart from it.
        let standard_only = value.ends_with('=') || value.contains('+') || value.contains('/');
        let enc = if standard_only {
            SigEncoding::Base64
        } else {
            SigEncoding::Base64Url
        };
        Ok((digest, raw, enc))
    } else {
        let raw = hex::decode(sig).map_err(|e| TempUrlError::BadSignature(format!("hex: {e}")))?;
        let digest = Digest::from_hex_len(sig.len()).ok_or(TempUrlError::BadHexLength(sig.len()))?;
        Ok((digest, raw, SigEncoding::Hex))
    }
}

/// gophercloud v2 `CheckContainerName`.
fn check_container_name(container: &str) -> Result<(), TempUrlError> {
    if container.is_empty() {
        return Err(TempUrlError::EmptyContainer);
    }
    if container.contains('/') {
        return Err(TempUrlError::SlashInContainer(container.to_string()));
    }
    if container.len() > 256 {
        return Err(TempUrlError::ContainerTooLong(container.len()));
    }
    Ok(())
}

/// gophercloud's `NormalizeURL`: a trailing `/`.
pub fn normalize_endpoint(endpoint: &str) -> String {
    if endpoint.ends_with('/') {
        endpoint.to_string()
    } else {
        format!("{endpoint}/")
    }
}

/// Go's `url.PathEscape`: keeps `A-Za-z0-9-_.~$&+:=@`, escapes everything else (`/` too).
pub fn go_path_escape(s: &str) -> String {
    escape_bytes(s, |b| b.is_ascii_alphanumeric() || b"-_.~$&+:=@".contains(&b))
}

/// Percent-encodes a path, keeping `/`.
pub(crate) fn encode_path(path: &str) -> String {
    escape_bytes(path, |b| b.is_ascii_alphanumeric() || b"-_.~$&+:=@/".contains(&b))
}

/// Percent-encodes a query value (`+`, `/`, `=`, `&` included, so base64 survives `parse_qs`).
fn encode_query_value(v: &str) -> String {
    escape_bytes(v, |b| b.is_ascii_alphanumeric() || b"-_.~:".contains(&b))
}

fn escape_bytes(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    fn hex_val(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Secret {
        Secret::new(k)
    }

    fn sig(k: &str, expires: i64, path: &str, d: Digest, enc: SigEncoding) -> String {
        signature(&key(k), "GET", expires, path, d, enc)
            .unwrap()
            .expose()
            .unwrap()
            .to_string()
    }

    #[test]
    fn reference_vectors() {
        let p = "/v1/AUTH_account/container/object";
        assert_eq!(
            sig("mykey", 1512508563, p, Digest::Sha256, SigEncoding::Hex),
            "732fcac368abb10c78a4cbe95c3fab7f311584532bf779abd5074e13cbe8b88b"
        );
        assert_eq!(
            sig("mykey", 1516741234, p, Digest::Sha512, SigEncoding::Base64),
            "sha512:ZrSijn0GyDhsv1ltIj9hWUTrbAeE45NcKXyBaz7aPbSMvROQ4jtYH4nRAmm5ErY2X11Yc1Yhy2OMCyN3yueeXg=="
        );
        assert_eq!(
            sig("abc", 1, "/v1/a/c/o", Digest::Sha1, SigEncoding::Hex),
            "026d7f7cc25256450423c7ad03fc9f5ffc1dab6d"
        );
        assert_eq!(
            sig(
                "testsecret",
                1593565980,
                "/v1/testContainer/testObject/testFile.txt",
                Digest::Sha1,
                SigEncoding::Hex
            ),
            "89be454a9c7e2e9f3f50a8441815e0b5801cba5b"
        );
    }

    #[test]
    fn url_safe_base64_without_padding_is_what_swiftclient_writes() {
        let p = "/v1/AUTH_account/container/object";
        // python-swiftclient 4.11: `swift tempurl --digest sha512 --absolute GET 1516741234 <p> mykey`
        assert_eq!(
            sig("mykey", 1516741234, p, Digest::Sha512, SigEncoding::Base64Url),
            "sha512:ZrSijn0GyDhsv1ltIj9hWUTrbAeE45NcKXyBaz7aPbSMvROQ4jtYH4nRAmm5ErY2X11Yc1Yhy2OMCyN3yueeXg"
        );
        // Parsed back, both forms give the same HMAC as the hex one.
        let hex = sig("mykey", 1516741234, p, Digest::Sha512, SigEncoding::Hex);
        for enc in [SigEncoding::Base64, SigEncoding::Base64Url] {
            let s = sig("mykey", 1516741234, p, Digest::Sha512, enc);
            let url = format!(
                "https://s.example/v1/AUTH_account/container/object?temp_url_sig={}&temp_url_expires=1516741234",
                encode_query_value(&s)
            );
            let parsed = parse_temp_url(&url).unwrap();
            assert_eq!(parsed.digest, Digest::Sha512);
            assert_eq!(parsed.sig_encoding, enc);
            assert_eq!(parsed.sig_hex.expose(), Some(hex.as_str()));
        }
    }

    #[test]
    fn url_safe_characters_are_accepted_when_parsing() {
        // A signature whose base64 has '+' or '/' in the standard alphabet, written URL-safe.
        let mut found = false;
        for e in 0..200 {
            let std = sig("k", e, "/v1/a/c/o", Digest::Sha256, SigEncoding::Base64);
            if std.contains('+') || std.contains('/') {
                let url_safe = sig("k", e, "/v1/a/c/o", Digest::Sha256, SigEncoding::Base64Url);
                assert!(url_safe.contains('-') || url_safe.contains('_'));
                let u = format!("http://h/v1/a/c/o?temp_url_sig={url_safe}&temp_url_expires={e}");
                let p = parse_temp_url(&u).unwrap();
                assert_eq!(
                    p.sig_hex.expose().unwrap(),
                    sig("k", e, "/v1/a/c/o", Digest::Sha256, SigEncoding::Hex)
                );
                found = true;
                break;
            }
        }
        assert!(found);
    }

    #[test]
    fn unencoded_plus_is_diagnosed() {
        let u = "http://h/v1/a/c/o?temp_url_sig=sha256:ab+cd&temp_url_expires=1";
        assert!(matches!(parse_temp_url(u), Err(TempUrlError::PlusNotEncoded)));
    }

    #[test]
    fn plugin_url_matches_gophercloud() {
        let k = key("mykey");
        let s = plugin_signed_url(
            "https://swift.example:443/v1/AUTH_account",
            "container",
            "object",
            &k,
            Digest::Sha256,
            1512508563,
        )
        .unwrap();
        assert_eq!(s.path, "/v1/AUTH_account/container/object");
        assert_eq!(
            s.url_without_sig,
            "https://swift.example:443/v1/AUTH_account/container/object?temp_url_expires=1512508563"
        );
        assert_eq!(
            s.expose_full_url().unwrap(),
            "https://swift.example:443/v1/AUTH_account/container/object?temp_url_sig=732fcac368abb10c78a4cbe95c3fab7f311584532bf779abd5074e13cbe8b88b&temp_url_expires=1512508563"
        );
        // Debug and JSON never carry the signature.
        let shown = format!("{s:?} {}", serde_json::to_string(&s).unwrap());
        assert!(!shown.contains("732fcac3"), "{shown}");
    }

    #[test]
    fn plugin_url_escapes_the_name_but_signs_it_raw() {
        let k = key("abc");
        let s = plugin_signed_url(
            "http://h:8080/swift/v1/AUTH_a/",
            "c",
            "backups/b 1/velero-backup.json",
            &k,
            Digest::Sha1,
            1,
        )
        .unwrap();
        assert_eq!(s.path, "/v1/AUTH_a/c/backups/b 1/velero-backup.json");
        assert_eq!(
            s.base(),
            "http://h:8080/swift/v1/AUTH_a/c/backups%2Fb%201%2Fvelero-backup.json"
        );
        assert_eq!(go_path_escape("a$&+:=@,;?/é"), "a$&+:=@%2C%3B%3F%2F%C3%A9");
    }

    #[test]
    fn endpoint_without_v1_fails_like_gophercloud() {
        let err =
            plugin_signed_url("https://swift.example/v2/AUTH_x", "c", "o", &key("k"), Digest::Sha1, 1).unwrap_err();
        assert_eq!(err.to_string(), "URL prefix \"/v1/\" not found");
    }

    #[test]
    fn digest_setting_mirrors_the_plugin() {
        assert_eq!(Digest::from_plugin_setting(None).unwrap(), Digest::Sha1);
        assert_eq!(Digest::from_plugin_setting(Some("")).unwrap(), Digest::Sha1);
        assert_eq!(Digest::from_plugin_setting(Some("sha1")).unwrap(), Digest::Sha1);
        assert_eq!(Digest::from_plugin_setting(Some("sha256")).unwrap(), Digest::Sha256);
        assert_eq!(Digest::from_plugin_setting(Some("sha512")).unwrap(), Digest::Sha512);
        let err = Digest::from_plugin_setting(Some("SHA256")).unwrap_err();
        assert_eq!(err.to_string(), "The requested \"SHA256\" digest is not supported.");
        assert_eq!(
            Digest::from_plugin_setting(Some("md5")).unwrap_err().to_string(),
            "The requested \"md5\" digest is not supported."
        );
        assert_eq!(Digest::from_hex_len(64), Some(Digest::Sha256));
        assert_eq!(Digest::from_hex_len(63), None);
    }

    #[test]
    fn iso_expiry_is_written_but_the_integer_is_signed() {
        let e = 1516741234;
        assert_eq!(
            format_expires(e, ExpiresFormat::Iso8601).unwrap(),
            "2018-01-23T21:00:34Z"
        );
        assert_eq!(
            parse_expires("2018-01-23T21:00:34Z").unwrap(),
            (e, ExpiresFormat::Iso8601)
        );
        assert_eq!(parse_expires("1516741234").unwrap(), (e, ExpiresFormat::Unix));
        assert!(parse_expires("2018-01-23 21:00:34").is_err());
        let req = TempUrlRequest {
            origin: "http://h:8080",
            path: "/v1/AUTH_account/container/object",
            method: "GET",
            expires: 1512508563,
            expires_format: ExpiresFormat::Iso8601,
            digest: Digest::Sha256,
            encoding: SigEncoding::Hex,
            options: SignOptions::default(),
        };
        let s = build_temp_url(&key("mykey"), &req).unwrap();
        assert_eq!(
            s.url_without_sig,
            "http://h:8080/v1/AUTH_account/container/object?temp_url_expires=2017-12-05T21:16:03Z"
        );
        assert_eq!(
            s.sig.expose().unwrap(),
            "732fcac368abb10c78a4cbe95c3fab7f311584532bf779abd5074e13cbe8b88b"
        );
        let parsed = parse_temp_url(&s.expose_full_url().unwrap()).unwrap();
        assert_eq!(
            (parsed.expires, parsed.expires_format),
            (1512508563, ExpiresFormat::Iso8601)
        );
        assert_eq!(parsed.digest, Digest::Sha256);
        assert_eq!(parsed.container.as_deref(), Some("container"));
    }

    #[test]
    fn prefix_and_ip_forms() {
        let opts = SignOptions {
            prefix: true,
            ip_range: Some("1.2.3.0/24".into()),
        };
        assert_eq!(
            hmac_message("GET", 7, "/v1/a/c/pre", &opts),
            "ip=1.2.3.0/24\nGET\n7\nprefix:/v1/a/c/pre"
        );
        let req = TempUrlRequest {
            origin: "http://h",
            path: "/v1/a/c/pre",
            method: "GET",
            expires: 7,
            expires_format: ExpiresFormat::Unix,
            digest: Digest::Sha256,
            encoding: SigEncoding::Hex,
            options: opts,
        };
        let s = build_temp_url(&key("k"), &req).unwrap();
        assert_eq!(
            s.url_without_sig,
            "http://h/v1/a/c/pre?temp_url_expires=7&temp_url_ip_range=1.2.3.0%2F24&temp_url_prefix=pre"
        );
        let p = parse_temp_url(&s.expose_full_url().unwrap()).unwrap();
        assert_eq!(p.prefix.as_deref(), Some("pre"));
        assert_eq!(p.ip_range.as_deref(), Some("1.2.3.0/24"));
    }

    #[test]
    fn parse_errors_name_the_problem() {
        assert!(matches!(
            parse_temp_url("http://h/v1/a/c/o?temp_url_expires=1"),
            Err(TempUrlError::MissingSig)
        ));
        assert!(matches!(
            parse_temp_url("http://h/v1/a/c/o?temp_url_sig=abcd&temp_url_expires=1"),
            Err(TempUrlError::BadHexLength(4))
        ));
        assert!(matches!(
            parse_temp_url("http://h/v1/a/c/o?temp_url_sig=md5:AAAA&temp_url_expires=1"),
            Err(TempUrlError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            parse_temp_url("http://h/v1/a/c/o?temp_url_sig=sha256:AAAA&temp_url_expires=1"),
            Err(TempUrlError::SigLength { .. })
        ));
        assert!(matches!(parse_temp_url("not a url"), Err(TempUrlError::NotAUrl(_))));
    }

    #[test]
    fn a_key_known_by_fingerprint_cannot_sign() {
        let k = Secret::from_fingerprint("deadbeef");
        let err = signature(&k, "GET", 1, "/v1/a/c/o", Digest::Sha1, SigEncoding::Hex).unwrap_err();
        assert!(err.to_string().contains("sha256:deadbeef"));
    }
}
