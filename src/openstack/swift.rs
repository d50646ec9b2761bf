//! A read-only Swift client: HEAD account and container, `GET /info`, the temp-URL probe, and
//! GET of one object with the token (Velero's results and logs), bounded or streamed.
//!
//! Only HEAD and GET are ever sent: a doctor must not change the store it diagnoses. Keys read
//! from headers become [`Secret`]s at once.
//!
//! ## Who is the Swift owner
//!
//! The proxy strips its `swift_owner_headers` (temp-URL keys, `X-Container-Read`/`-Write`,
//! `X-Container-Sync-Key`/`-To`, `X-Account-Access-Control`) from answers to anyone who is not the
//! owner (keystoneauth: a role in `operator_roles`, default `admin, swiftoperator`; or an account
//! ACL of `admin`). So seeing any of them proves the caller is the owner ([`Ownership::Owner`]),
//! while seeing none proves nothing: an owner sees none either when none is set
//! ([`Ownership::Unknown`]). "No temp-URL key" is therefore only conclusive with `Owner`, or when
//! another owner-only header shows up in the same answer. [`roles_suggest_owner`] adds a second,
//! weaker signal from the token's roles, valid only if the cluster keeps the default
//! `operator_roles`.

use super::http::{excerpt, read_body, send, send_raw, Answer, Failure, DOCUMENT_LIMIT};
use super::tempurl::SignedUrl;
use crate::secret::Secret;
use jiff::Timestamp;
use reqwest::header::HeaderMap;
use serde_json::Value;
use thiserror::Error;
// The answers are veldr's facts: their shape is the bundle's, defined once in `facts::openstack`.
pub use crate::facts::openstack::{
    AccountHead, BackupListing, ContainerHead, ListedObject, Ownership, ProbeOutcome, ProbeVerdict, SwiftInfo, TempUrlInfo,
};
pub use crate::facts::{BackupObjects, ObjectHead};

/// keystoneauth's default `operator_roles`.
pub const DEFAULT_OPERATOR_ROLES: [&str; 2] = ["admin", "swiftoperator"];

/// Headers the proxy shows only to the owner (Swift's default `swift_owner_headers`).
pub const OWNER_ONLY_HEADERS: [&str; 9] = [
    "x-container-read",
    "x-container-write",
    "x-container-sync-key",
    "x-container-sync-to",
    "x-account-meta-temp-url-key",
    "x-account-meta-temp-url-key-2",
    "x-container-meta-temp-url-key",
    "x-container-meta-temp-url-key-2",
    "x-account-access-control",
];

#[derive(Debug, Error)]
pub enum SwiftError {
    /// 401 with a token: Swift (keystonemiddleware) did not accept it: expired, revoked, or issued
    /// by another Keystone than the one Swift trusts.
    #[error("Swift refused the token (401{}): it expired, was revoked, or Swift trusts another Keystone", detail(.body_excerpt))]
    Unauthorized { body_excerpt: String },
    /// 403: the token is valid but its roles open nothing here (not in `operator_roles`, no ACL).
    #[error(
        "Swift forbids this with the credential's roles (403{}): give the user a role in Swift's \
         operator_roles (often member or swiftoperator) or a container ACL",
        detail(.body_excerpt)
    )]
    Forbidden { body_excerpt: String },
    #[error("{what} does not exist (404)")]
    NotFound { what: String },
    /// `/info` answers 403: the proxy sets `expose_info = false`.
    #[error("the Swift proxy hides /info (403, expose_info = false): the allowed digests cannot be read")]
    InfoDisabled,
    #[error("Swift answered HTTP {status}{}", detail(.body_excerpt))]
    Http { status: u16, body_excerpt: String },
    #[error("Swift {}", super::http::service_failure(.0))]
    Transport(Failure),
    #[error("Swift's answer could not be read: {0}")]
    BadBody(String),
    /// gophercloud's text for an endpoint without `/v1/`.
    #[error("URL prefix \"/v1/\" not found in the Swift endpoint {0:?}")]
    NoV1Prefix(String),
}

fn detail(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}


impl Ownership {
    fn from_headers(headers: &HeaderMap) -> Ownership {
        let evidence: Vec<String> = OWNER_ONLY_HEADERS
            .iter()
            .filter(|h| headers.contains_key(**h))
            .map(|h| h.to_string())
            .collect();
        if evidence.is_empty() {
            Ownership::Unknown
        } else {
            Ownership::Owner { evidence }
        }
    }

}

/// Whether the token's roles make it the Swift owner under the given `operator_roles`
/// (use [`DEFAULT_OPERATOR_ROLES`] when the cluster's are unknown; many clouds add `member`).
pub fn roles_suggest_owner(roles: &[String], operator_roles: &[&str]) -> bool {
    roles
        .iter()
        .any(|r| operator_roles.iter().any(|o| o.eq_ignore_ascii_case(r)))
}



fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    header_str(h, name).and_then(|v| v.trim().parse().ok())
}

fn header_secret(h: &HeaderMap, name: &str) -> Option<Secret> {
    header_str(h, name).map(Secret::new)
}

/// Parses an HTTP `Date` (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(value: &str) -> Option<Timestamp> {
    jiff::fmt::rfc2822::parse(value.trim()).ok().map(|z| z.timestamp())
}

fn date_of(h: &HeaderMap) -> Option<Timestamp> {
    header_str(h, "date").and_then(parse_http_date)
}

/// The account URL without trailing slash (Swift accepts both; no slash is the canonical form).
fn account_url(endpoint: &str) -> &str {
    endpoint.trim_end_matches('/')
}

async fn head(client: &reqwest::Client, url: &str, token: &Secret) -> Result<Answer, SwiftError> {
    tracing::debug!(target: "veldr::swift", url = %url, "HEAD");
    let request = client.head(url).header("X-Auth-Token", token.expose().unwrap_or(""));
    send(request, DOCUMENT_LIMIT).await.map_err(SwiftError::Transport)
}

fn refusal(status: u16, body: String, what: impl FnOnce() -> String) -> SwiftError {
    let body_excerpt = excerpt(&body, 200);
    match status {
        401 => SwiftError::Unauthorized { body_excerpt },
        403 => SwiftError::Forbidden { body_excerpt },
        404 => SwiftError::NotFound { what: what() },
        _ => SwiftError::Http { status, body_excerpt },
    }
}

/// `HEAD <account>`: counts, the account's temp-URL keys (owner only), `Date`.
pub async fn head_account(client: &reqwest::Client, endpoint: &str, token: &Secret) -> Result<AccountHead, SwiftError> {
    let answer = head(client, account_url(endpoint), token).await?;
    let status = answer.status;
    if !(200..300).contains(&status) {
        return Err(refusal(status, String::new(), || "the Swift account".to_string()));
    }
    let h = &answer.headers;
    Ok(AccountHead {
        status,
        container_count: header_u64(h, "x-account-container-count"),
        object_count: header_u64(h, "x-account-object-count"),
        bytes_used: header_u64(h, "x-account-bytes-used"),
        temp_url_key: header_secret(h, "x-account-meta-temp-url-key"),
        temp_url_key_2: header_secret(h, "x-account-meta-temp-url-key-2"),
        date: date_of(h),
        ownership: Ownership::from_headers(h),
        quota_bytes: header_u64(h, "x-account-meta-quota-bytes"),
    })
}

/// `HEAD <account>/<container>`: counts, the container's temp-URL keys (owner only), `Date`.
pub async fn head_container(
    client: &reqwest::Client,
    endpoint: &str,
    token: &Secret,
    container: &str,
) -> Result<ContainerHead, SwiftError> {
    let url = format!(
        "{}/{}",
        account_url(endpoint),
        super::tempurl::go_path_escape(container)
    );
    let answer = head(client, &url, token).await?;
    let status = answer.status;
    if !(200..300).contains(&status) {
        return Err(refusal(status, String::new(), || format!("container {container:?}")));
    }
    let h = &answer.headers;
    Ok(ContainerHead {
        status,
        object_count: header_u64(h, "x-container-object-count"),
        bytes_used: header_u64(h, "x-container-bytes-used"),
        temp_url_key: header_secret(h, "x-container-meta-temp-url-key"),
        temp_url_key_2: header_secret(h, "x-container-meta-temp-url-key-2"),
        read_acl: header_str(h, "x-container-read").map(str::to_string),
        storage_policy: header_str(h, "x-storage-policy").map(str::to_string),
        date: date_of(h),
        ownership: Ownership::from_headers(h),
        quota_bytes: header_u64(h, "x-container-meta-quota-bytes"),
        quota_count: header_u64(h, "x-container-meta-quota-count"),
    })
}

/// `scheme://host[:port][/prefix]` of a Swift endpoint: everything before its first `/v1/`,
/// where `/info` lives.
pub fn swift_root(endpoint: &str) -> Result<String, SwiftError> {
    let normalized = super::tempurl::normalize_endpoint(endpoint);
    normalized
        .split_once("/v1/")
        .map(|(root, _)| root.to_string())
        .ok_or_else(|| SwiftError::NoV1Prefix(endpoint.to_string()))
}




/// Parses a `/info` document.
pub fn parse_info(body: &str) -> Result<SwiftInfo, SwiftError> {
    let v: Value = serde_json::from_str(body).map_err(|e| SwiftError::BadBody(format!("/info: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| SwiftError::BadBody("/info is not a JSON object".into()))?;
    let strings = |v: Option<&Value>| -> Option<Vec<String>> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
    };
    let tempurl = obj.get("tempurl").map(|t| {
        let listed = strings(t.get("allowed_digests"));
        TempUrlInfo {
            methods: strings(t.get("methods")).unwrap_or_default(),
            allowed_digests_listed: listed.is_some(),
            allowed_digests: listed.unwrap_or_else(|| vec!["sha1".to_string()]),
            deprecated_digests: strings(t.get("deprecated_digests")).unwrap_or_default(),
        }
    });
    let mut sections: Vec<String> = obj.keys().cloned().collect();
    sections.sort();
    Ok(SwiftInfo {
        version: v.pointer("/swift/version").and_then(Value::as_str).map(str::to_string),
        tempurl,
        sections,
        max_file_size: v.pointer("/swift/max_file_size").and_then(Value::as_u64),
        container_listing_limit: v.pointer("/swift/container_listing_limit").and_then(Value::as_u64),
    })
}

/// `GET <root>/info` (no token needed). 403 → [`SwiftError::InfoDisabled`].
pub async fn info(client: &reqwest::Client, swift_root: &str) -> Result<SwiftInfo, SwiftError> {
    let url = format!("{}/info", swift_root.trim_end_matches('/'));
    tracing::debug!(target: "veldr::swift", url = %url, "GET");
    let answer = send(client.get(&url).header("Accept", "application/json"), DOCUMENT_LIMIT).await.map_err(SwiftError::Transport)?;
    match answer.status {
        200 => parse_info(answer.document().map_err(SwiftError::Transport)?),
        403 => Err(SwiftError::InfoDisabled),
        status => Err(SwiftError::Http { status, body_excerpt: excerpt(&answer.body, 200) }),
    }
}



/// The most objects one listing page asks for: ~700 Velero backups (7 objects each), and an answer of
/// at most ~1.5 MB (names of ≤ 256 bytes with hash, size, type and date), within [`DOCUMENT_LIMIT`].
pub const LISTING_LIMIT: u64 = 5000;
/// Pages one listing follows at most (by `marker`): 20,000 objects, ~2,800 backups, whatever the
/// BSL holds; past that the listing says it stopped, and where.
pub const LISTING_PAGES: u32 = 4;

/// One entry of a JSON container listing (the fields veldr reads).
#[derive(serde::Deserialize)]
struct ListingEntry {
    #[serde(default)]
    name: String,
    #[serde(default)]
    bytes: u64,
    /// Swift's `last_modified`: UTC without a zone, `2026-11-29T08:00:00.123450`.
    #[serde(default)]
    last_modified: Option<String>,
}

/// What one bounded listing of a BSL's `backups/` shows: the count and largest object
/// (swift.capacity) and each backup's directory (backup.inventory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub listing: BackupListing,
    pub objects: BackupObjects,
}

impl Listed {
    fn new(prefix: &str, limit: u64) -> Self {
        Listed {
            listing: BackupListing { prefix: prefix.to_string(), limit, listed: 0, capped: false, largest: None },
            objects: BackupObjects { prefix: prefix.to_string(), ..Default::default() },
        }
    }

    /// Adds one page; returns how many entries it held and the last name (the next page's marker).
    fn add_page(&mut self, body: &str) -> Result<(u64, Option<String>), SwiftError> {
        let entries: Vec<ListingEntry> = serde_json::from_str(body).map_err(|e| SwiftError::BadBody(format!("container listing: {e}")))?;
        self.objects.pages += 1;
        let n = entries.len() as u64;
        let last = entries.last().map(|e| e.name.clone());
        for e in entries {
            self.listing.listed += 1;
            if self.listing.largest.as_ref().is_none_or(|l| e.bytes > l.bytes) {
                self.listing.largest = Some(ListedObject { name: e.name.clone(), bytes: e.bytes });
            }
            let rest = e.name.strip_prefix(self.objects.prefix.as_str()).unwrap_or(&e.name);
            let Some((backup, file)) = rest.split_once('/') else {
                self.objects.loose_objects += 1;
                continue;
            };
            let b = self.objects.backups.entry(backup.to_string()).or_default();
            b.objects += 1;
            b.metadata |= file == crate::upstream::velero_store::METADATA_OBJECT;
            b.contents |= file == format!("{backup}.tar.gz");
            b.volume_info |= file == format!("{backup}-volumeinfo.json.gz");
            let modified = e.last_modified.as_deref().and_then(parse_listing_date);
            if modified > b.last_modified {
                b.last_modified = modified;
            }
        }
        if last.is_some() {
            self.objects.last_name = last.clone();
        }
        Ok((n, last))
    }
}

/// Swift's listing date: UTC, without a zone, with microseconds.
pub fn parse_listing_date(v: &str) -> Option<Timestamp> {
    let dt: jiff::civil::DateTime = v.trim().trim_end_matches('Z').parse().ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// Parses one JSON listing page on its own (tests; a listing of one page).
pub fn parse_listing(body: &str, prefix: &str, limit: u64) -> Result<Listed, SwiftError> {
    let mut l = Listed::new(prefix, limit);
    let (n, _) = l.add_page(body)?;
    l.listing.capped = n >= limit;
    l.objects.capped = l.listing.capped;
    Ok(l)
}

/// `GET <account>/<container>?format=json&prefix=…&limit=…[&marker=…]`, page after page until a page
/// is not full or `pages` were read: the container's objects under `prefix` by name, size and date
/// (no object is read). `limit` is per page; the whole listing sees at most `limit × pages` objects.
pub async fn list_objects(
    client: &reqwest::Client,
    endpoint: &str,
    token: &Secret,
    container: &str,
    prefix: &str,
    limit: u64,
    pages: u32,
) -> Result<Listed, SwiftError> {
    let base = reqwest::Url::parse(&format!("{}/{}", account_url(endpoint), super::tempurl::go_path_escape(container)))
        .map_err(|e| SwiftError::BadBody(format!("the Swift endpoint is not a URL: {e}")))?;
    let mut out = Listed::new(prefix, limit * pages.max(1) as u64);
    let mut marker: Option<String> = None;
    for page in 0..pages.max(1) {
        let mut url = base.clone();
        url.query_pairs_mut().append_pair("format", "json").append_pair("prefix", prefix).append_pair("limit", &limit.to_string());
        if let Some(m) = &marker {
            url.query_pairs_mut().append_pair("marker", m);
        }
        tracing::debug!(target: "veldr::swift", url = %url, page, "GET listing");
        let request = client.get(url).header("X-Auth-Token", token.expose().unwrap_or("")).header("Accept", "application/json");
        let answer = send(request, DOCUMENT_LIMIT).await.map_err(SwiftError::Transport)?;
        let (n, last) = match answer.status {
            // 204: an empty container answers no body.
            204 => (0, None),
            200 => out.add_page(answer.document().map_err(SwiftError::Transport)?)?,
            status => return Err(refusal(status, answer.body, || format!("container {container:?}"))),
        };
        if n < limit {
            return Ok(out);
        }
        marker = last;
    }
    out.listing.capped = true;
    out.objects.capped = true;
    Ok(out)
}

/// The names of the objects under `prefix` (one page of at most `limit`; `true` when there may be
/// more): one backup's directory (`veldr verify`), never a whole BSL.
pub async fn list_names(client: &reqwest::Client, endpoint: &str, token: &Secret, container: &str, prefix: &str, limit: u64) -> Result<(Vec<String>, bool), SwiftError> {
    let mut url = reqwest::Url::parse(&format!("{}/{}", account_url(endpoint), super::tempurl::go_path_escape(container)))
        .map_err(|e| SwiftError::BadBody(format!("the Swift endpoint is not a URL: {e}")))?;
    url.query_pairs_mut().append_pair("format", "json").append_pair("prefix", prefix).append_pair("limit", &limit.to_string());
    tracing::debug!(target: "veldr::swift", url = %url, "GET listing (names)");
    let request = client.get(url).header("X-Auth-Token", token.expose().unwrap_or("")).header("Accept", "application/json");
    let answer = send(request, DOCUMENT_LIMIT).await.map_err(SwiftError::Transport)?;
    match answer.status {
        204 => Ok((Vec::new(), false)),
        200 => {
            let entries: Vec<ListingEntry> = serde_json::from_str(answer.document().map_err(SwiftError::Transport)?)
                .map_err(|e| SwiftError::BadBody(format!("container listing: {e}")))?;
            let full = entries.len() as u64 >= limit;
            Ok((entries.into_iter().map(|e| e.name).collect(), full))
        }
        status => Err(refusal(status, answer.body, || format!("container {container:?}"))),
    }
}

/// `<account>/<container>/<object>`: the container escaped as one segment (as the plugin does),
/// the object name keeping its `/`.
pub fn object_url(endpoint: &str, container: &str, object: &str) -> String {
    format!("{}/{}/{}", account_url(endpoint), super::tempurl::go_path_escape(container), super::tempurl::encode_path(object))
}

/// `HEAD <account>/<container>/<object>` with the token: its size, date and `X-Delete-At` (the
/// object's content is not read). 404 → [`SwiftError::NotFound`] naming container and object.
pub async fn head_object(client: &reqwest::Client, endpoint: &str, token: &Secret, container: &str, object: &str) -> Result<ObjectHead, SwiftError> {
    let url = object_url(endpoint, container, object);
    let answer = head(client, &url, token).await?;
    if !(200..300).contains(&answer.status) {
        return Err(refusal(answer.status, String::new(), || format!("object {object:?} in container {container:?}")));
    }
    Ok(object_head(&answer.headers))
}

/// What an object's HEAD says: `Content-Length`, `Last-Modified`, and `X-Delete-At` (Unix seconds).
pub fn object_head(h: &HeaderMap) -> ObjectHead {
    ObjectHead {
        bytes: header_u64(h, "content-length"),
        last_modified: header_str(h, "last-modified").and_then(parse_http_date),
        delete_at: header_str(h, "x-delete-at").and_then(|v| v.trim().parse::<i64>().ok()).and_then(|s| Timestamp::from_second(s).ok()),
    }
}

/// An object read with the token: at most the asked number of bytes.
#[derive(Debug)]
pub struct ObjectBytes {
    pub bytes: Vec<u8>,
    /// The object went on past the limit; the rest was not read.
    pub cut: bool,
    /// `Content-Length`, when Swift sent one.
    pub length: Option<u64>,
}

fn object_refusal(status: u16, body: &[u8], container: &str, object: &str) -> SwiftError {
    refusal(status, String::from_utf8_lossy(body).into_owned(), || format!("object {object:?} in container {container:?}"))
}

/// `GET <account>/<container>/<object>` with the token (not a temp URL), reading at most `limit`
/// bytes: 404 → [`SwiftError::NotFound`] naming container and object.
pub async fn get_object(client: &reqwest::Client, endpoint: &str, token: &Secret, container: &str, object: &str, limit: usize) -> Result<ObjectBytes, SwiftError> {
    let url = object_url(endpoint, container, object);
    tracing::debug!(target: "veldr::swift", url = %url, "GET object");
    let request = client.get(&url).header("X-Auth-Token", token.expose().unwrap_or(""));
    let answer = send_raw(request, limit).await.map_err(SwiftError::Transport)?;
    if !(200..300).contains(&answer.status) {
        return Err(object_refusal(answer.status, &answer.body, container, object));
    }
    Ok(ObjectBytes { bytes: answer.body, cut: answer.cut, length: header_u64(&answer.headers, "content-length") })
}

/// `GET` of an object with the token, its body left to the caller to stream (`veldr logs`).
pub async fn open_object(client: &reqwest::Client, endpoint: &str, token: &Secret, container: &str, object: &str) -> Result<reqwest::Response, SwiftError> {
    let url = object_url(endpoint, container, object);
    tracing::debug!(target: "veldr::swift", url = %url, "GET object (streamed)");
    let mut resp = client
        .get(&url)
        .header("X-Auth-Token", token.expose().unwrap_or(""))
        .send()
        .await
        .map_err(|e| SwiftError::Transport(Failure::from_reqwest(&e)))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let (body, _) = read_body(&mut resp, PROBE_READ_LIMIT).await.unwrap_or_default();
        return Err(object_refusal(status, &body, container, object));
    }
    Ok(resp)
}

/// Probe body size: enough for Swift's error text, never a whole backup.
const PROBE_READ_LIMIT: usize = 4096;

/// Classifies a temp-URL answer (status and the start of its body).
pub fn classify_probe(status: u16, body: &str) -> ProbeVerdict {
    match status {
        404 => ProbeVerdict::Accepted,
        200 => ProbeVerdict::AcceptedObjectExists,
        401 if body.contains("Temp URL invalid") => ProbeVerdict::Rejected,
        401 | 403 => ProbeVerdict::NotJudgedByTempurl,
        other => ProbeVerdict::Unexpected { status: other },
    }
}

/// GETs a signed URL (meant for an object that does not exist) and says how Swift judged it.
pub async fn probe_tempurl(client: &reqwest::Client, signed: &SignedUrl) -> Result<ProbeOutcome, SwiftError> {
    let full = signed.expose_full_url().ok_or_else(|| {
        SwiftError::BadBody(format!(
            "the signature {} is known only by fingerprint; cannot probe",
            signed.sig.label()
        ))
    })?;
    tracing::debug!(target: "veldr::swift", url = %signed.url_without_sig, sig = %signed.sig, "GET temp URL");
    let answer = send(client.get(&full), PROBE_READ_LIMIT).await.map_err(SwiftError::Transport)?;
    let (status, body) = (answer.status, answer.body);
    let verdict = classify_probe(status, &body);
    // A 2xx body is object data (a backup may hold Kubernetes Secrets): never keep it.
    let body_excerpt = if (200..300).contains(&status) {
        String::new()
    } else {
        excerpt(&body, 200)
    };
    Ok(ProbeOutcome {
        verdict,
        status,
        body_excerpt,
        swift_date: date_of(&answer.headers),
        local_date: answer.received_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openstack::tempurl::Digest;
    use reqwest::header::HeaderValue;

    #[test]
    fn info_with_and_without_digests() {
        let i = parse_info(r#"{"swift": {"version": "2.38.3"}, "tempurl": {"methods": ["GET","HEAD"], "allowed_digests": ["sha256","sha512"]}, "slo": {}}"#).unwrap();
        let t = i.tempurl.as_ref().unwrap();
        assert!(t.allows(Digest::Sha256) && !t.allows(Digest::Sha1) && t.allowed_digests_listed);
        assert_eq!(i.version.as_deref(), Some("2.38.3"));
        assert_eq!(i.sections, vec!["slo", "swift", "tempurl"]);
        let old = parse_info(r#"{"tempurl": {"methods": ["GET"]}}"#).unwrap();
        let t = old.tempurl.unwrap();
        assert_eq!(t.allowed_digests, vec!["sha1"]);
        assert!(!t.allowed_digests_listed);
        assert!(parse_info(r#"{"swift": {}}"#).unwrap().tempurl.is_none());
        let dep = parse_info(r#"{"tempurl": {"allowed_digests": ["sha1","sha256"], "deprecated_digests": ["sha1"]}}"#)
            .unwrap();
        assert!(dep.tempurl.unwrap().deprecates(Digest::Sha1));
    }

    #[test]
    fn info_limits_and_listings() {
        let i = parse_info(r#"{"swift": {"version": "2.38.3", "max_file_size": 5368709122, "container_listing_limit": 10000}}"#).unwrap();
        assert_eq!((i.max_file_size, i.container_listing_limit), (Some(5368709122), Some(10000)));
        assert_eq!(parse_info(r#"{"swift": {}}"#).unwrap().max_file_size, None);
        let l = parse_listing(r#"[{"name": "backups/a/a.tar.gz", "bytes": 30, "hash": "h"}, {"name": "backups/a/a-logs.gz", "bytes": 4}]"#, "backups/", 2).unwrap();
        assert_eq!(l.listing.largest, Some(ListedObject { name: "backups/a/a.tar.gz".into(), bytes: 30 }));
        assert!(l.listing.capped && l.listing.listed == 2);
        let l = parse_listing("[]", "backups/", 2).unwrap();
        assert!(!l.listing.capped && l.listing.largest.is_none());
        assert!(matches!(parse_listing("{", "backups/", 2), Err(SwiftError::BadBody(_))));
    }

    #[test]
    fn a_listing_summarizes_each_backup_directory() {
        let page = r#"[
            {"name": "team/backups/a/a-logs.gz", "bytes": 4, "last_modified": "2026-11-29T02:00:05.000000"},
            {"name": "team/backups/a/a.tar.gz", "bytes": 30, "last_modified": "2026-11-29T02:00:04.120000"},
            {"name": "team/backups/a/a-volumeinfo.json.gz", "bytes": 3, "last_modified": "2026-11-29T02:00:06.000000"},
            {"name": "team/backups/a/velero-backup.json", "bytes": 9, "last_modified": "2026-11-29T02:00:03.000000"},
            {"name": "team/backups/b/b-logs.gz", "bytes": 1},
            {"name": "team/backups/stray.txt", "bytes": 1}
        ]"#;
        let l = parse_listing(page, "team/backups/", 5000).unwrap();
        let a = &l.objects.backups["a"];
        assert_eq!((a.objects, a.metadata, a.contents, a.volume_info), (4, true, true, true));
        assert_eq!(a.last_modified, Some("2026-11-29T02:00:06Z".parse().unwrap()));
        let b = &l.objects.backups["b"];
        assert_eq!((b.objects, b.metadata, b.contents, b.last_modified), (1, false, false, None));
        assert_eq!((l.objects.loose_objects, l.objects.pages, l.listing.listed), (1, 1, 6));
        assert!(l.objects.covers("zzz"), "not capped: everything was seen");
        // Capped after b's first object: a was seen whole, b was not (more of it may follow), c neither.
        let mut capped = l.objects.clone();
        capped.capped = true;
        capped.last_name = Some("team/backups/b/b-logs.gz".into());
        assert!(capped.covers("a") && !capped.covers("b") && !capped.covers("c"));
        capped.last_name = Some("team/backups/stray.txt".into());
        assert!(capped.covers("b") && !capped.covers("t"));
        assert_eq!(parse_listing_date("2026-11-29T08:00:00.123450"), Some("2026-11-29T08:00:00.12345Z".parse().unwrap()));
    }

    #[test]
    fn probe_classes() {
        assert_eq!(classify_probe(404, "<html>Not Found</html>"), ProbeVerdict::Accepted);
        assert_eq!(classify_probe(200, "data"), ProbeVerdict::AcceptedObjectExists);
        assert_eq!(
            classify_probe(401, "401 Unauthorized: Temp URL invalid\n"),
            ProbeVerdict::Rejected
        );
        assert_eq!(
            classify_probe(401, "Authentication required"),
            ProbeVerdict::NotJudgedByTempurl
        );
        assert_eq!(classify_probe(403, ""), ProbeVerdict::NotJudgedByTempurl);
        assert_eq!(classify_probe(500, ""), ProbeVerdict::Unexpected { status: 500 });
    }

    #[test]
    fn ownership_from_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-container-object-count", HeaderValue::from_static("3"));
        assert_eq!(Ownership::from_headers(&h), Ownership::Unknown);
        h.insert("X-Container-Meta-Temp-Url-Key", HeaderValue::from_static("k"));
        assert_eq!(
            Ownership::from_headers(&h),
            Ownership::Owner {
                evidence: vec!["x-container-meta-temp-url-key".into()]
            }
        );
        assert!(roles_suggest_owner(
            &["SwiftOperator".to_string()],
            &DEFAULT_OPERATOR_ROLES
        ));
        assert!(!roles_suggest_owner(&["member".to_string()], &DEFAULT_OPERATOR_ROLES));
    }

    #[test]
    fn an_object_head_says_when_swift_deletes_it() {
        let mut h = HeaderMap::new();
        h.insert("content-length", HeaderValue::from_static("1234"));
        h.insert("last-modified", HeaderValue::from_static("Sun, 29 Nov 2026 02:00:05 GMT"));
        h.insert("x-delete-at", HeaderValue::from_static("1796263200"));
        let head = object_head(&h);
        assert_eq!(head.bytes, Some(1234));
        assert_eq!(head.last_modified, Some("2026-11-29T02:00:05Z".parse().unwrap()));
        assert_eq!(head.delete_at, Some(Timestamp::from_second(1796263200).unwrap()));
        assert_eq!(object_head(&HeaderMap::new()).delete_at, None);
    }

    #[test]
    fn roots_and_dates() {
        assert_eq!(swift_root("http://h:8080/v1/AUTH_a").unwrap(), "http://h:8080");
        assert_eq!(swift_root("https://h/swift/v1/AUTH_a/").unwrap(), "https://h/swift");
        assert!(matches!(
            swift_root("https://h/v2/AUTH_a"),
            Err(SwiftError::NoV1Prefix(_))
        ));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap().as_second(),
            784111777
        );
    }
}
