//! Keystone v3: version discovery, authentication, and the catalog lookup gophercloud performs.
//!
//! A small client of our own rather than an SDK: the checks need the token body itself (expiry,
//! roles, the application credential's `restricted`/`access_rules`, the whole catalog) and
//! Keystone's own error message, which SDKs hide. Bodies follow Keystone's API exactly as
//! gophercloud sends them; application credentials never carry a `scope` (Keystone answers 401).

use super::http::{excerpt, host_port, send, Failure, DOCUMENT_LIMIT};
use crate::secret::Secret;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use thiserror::Error;
// The answers are veldr's facts: their shape is the bundle's, defined once in `facts::openstack`.
pub use crate::facts::openstack::{AppCredentialInfo, CatalogEndpoint as Endpoint, CatalogEntry, DomainInfo, KeystoneToken as Token, ProjectInfo, UserInfo};

/// How to obtain a token.
#[derive(Clone, Debug)]
pub enum AuthMethod {
    /// `OS_APPLICATION_CREDENTIAL_ID` + `_SECRET`.
    AppCredentialId { id: String, secret: Secret },
    /// `OS_APPLICATION_CREDENTIAL_NAME` + `_SECRET` + the owning user (names are per user).
    AppCredentialName {
        name: String,
        secret: Secret,
        user: UserRef,
    },
    /// `OS_USERNAME`/`OS_USER_ID` + `OS_PASSWORD`, scoped to a project when one is given.
    Password {
        user: UserRef,
        password: Secret,
        project: Option<ProjectRef>,
    },
    /// `OS_TOKEN`: validated (GET `/v3/auth/tokens`) rather than exchanged, as gophercloud does.
    Token(Secret),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

impl AuthMethod {
    fn secret(&self) -> &Secret {
        match self {
            AuthMethod::AppCredentialId { secret, .. } | AuthMethod::AppCredentialName { secret, .. } => secret,
            AuthMethod::Password { password, .. } => password,
            AuthMethod::Token(t) => t,
        }
    }

    /// The secret's value (for telling credential sets apart in memory; never shown).
    pub fn secret_value(&self) -> Option<&str> {
        self.secret().expose()
    }

    /// Short description for messages: the method and the identifiers, never the secret.
    pub fn describe(&self) -> String {
        match self {
            AuthMethod::AppCredentialId { id, .. } => format!("application credential id {id}"),
            AuthMethod::AppCredentialName { name, user, .. } => {
                format!("application credential {name:?} of {}", user.describe())
            }
            AuthMethod::Password { user, .. } => format!("password of {}", user.describe()),
            AuthMethod::Token(_) => "OS_TOKEN".to_string(),
        }
    }
}

impl UserRef {
    fn json(&self) -> Value {
        match self {
            UserRef::Id(id) => json!({ "id": id }),
            UserRef::Name { name, domain } => json!({ "name": name, "domain": domain.json() }),
        }
    }
    fn describe(&self) -> String {
        match self {
            UserRef::Id(id) => format!("user id {id}"),
            UserRef::Name { name, domain } => format!("user {name:?} in domain {}", domain.describe()),
        }
    }
}

impl DomainRef {
    fn json(&self) -> Value {
        match self {
            DomainRef::Id(id) => json!({ "id": id }),
            DomainRef::Name(name) => json!({ "name": name }),
        }
    }
    fn describe(&self) -> String {
        match self {
            DomainRef::Id(id) => format!("id {id}"),
            DomainRef::Name(name) => format!("{name:?}"),
        }
    }
}

impl ProjectRef {
    fn json(&self) -> Value {
        match self {
            ProjectRef::Id(id) => json!({ "id": id }),
            ProjectRef::Name { name, domain } => json!({ "name": name, "domain": domain.json() }),
        }
    }
}

/// The body of `POST /v3/auth/tokens`, or `None` for a token (validated by GET instead).
fn auth_body(method: &AuthMethod) -> Option<Value> {
    // expose() is None only for a secret replayed from a bundle; sending "" then gets a clean 401.
    let reveal = |s: &Secret| s.expose().unwrap_or("").to_string();
    let identity = match method {
        AuthMethod::AppCredentialId { id, secret } => json!({
            "methods": ["application_credential"],
            "application_credential": { "id": id, "secret": reveal(secret) }
        }),
        AuthMethod::AppCredentialName { name, secret, user } => json!({
            "methods": ["application_credential"],
            "application_credential": { "name": name, "secret": reveal(secret), "user": user.json() }
        }),
        AuthMethod::Password { user, password, .. } => {
            let mut u = user.json();
            u["password"] = Value::String(reveal(password));
            json!({ "methods": ["password"], "password": { "user": u } })
        }
        AuthMethod::Token(_) => return None,
    };
    let mut auth = json!({ "identity": identity });
    if let AuthMethod::Password { project: Some(p), .. } = method {
        auth["scope"] = json!({ "project": p.json() });
    }
    Some(json!({ "auth": auth }))
}

#[derive(Debug, Error)]
pub enum KeystoneError {
    /// 401: wrong secret or password, expired credential, disabled user or project.
    #[error(
        "Keystone refused the credentials (401: {message}): the secret/password is wrong, or the \
         credential expired, or its user or project is disabled; create a new application \
         credential and update the secret Velero reads"
    )]
    Unauthorized { message: String },
    /// 404: the application credential, its user, project or role no longer exists.
    #[error(
        "Keystone does not know the credential (404: {message}): the application credential, its \
         user, project or role was deleted; create a new one and update the secret Velero reads"
    )]
    NotFound { message: String },
    #[error("Keystone answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("Keystone {}", super::http::service_failure(.0))]
    Transport(Failure),
    #[error("Keystone's answer is not what Keystone v3 sends: {0}")]
    BadBody(String),
    #[error("not a usable auth URL {0:?} (expected http(s)://host[:port][/path][/v3])")]
    BadUrl(String),
}

/// The root and the v3 URL of an auth URL given with or without `/v3` and trailing slashes.
pub fn normalize_auth_url(auth_url: &str) -> Result<(String, String), KeystoneError> {
    let trimmed = auth_url.trim().trim_end_matches('/');
    let parsed = url::Url::parse(trimmed).map_err(|_| KeystoneError::BadUrl(auth_url.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(KeystoneError::BadUrl(auth_url.to_string()));
    }
    let root = trimmed
        .strip_suffix("/v3")
        .unwrap_or(trimmed)
        .trim_end_matches('/')
        .to_string();
    let v3 = format!("{root}/v3");
    Ok((root, v3))
}

/// What version discovery found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    pub root: String,
    pub v3_url: String,
    /// Status of `GET <root>/` (300 from Keystone), when it answered.
    pub root_status: Option<u16>,
    /// Versions listed at the root; empty when the root did not list any (some deployments serve
    /// only `/v3` behind a path).
    pub versions: Vec<ApiVersion>,
    /// The `/v3` document (`id`, `status`).
    pub v3: ApiVersion,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiVersion {
    pub id: String,
    pub status: String,
}

/// `GET <root>/` (best effort) and `GET <root>/v3` (must answer 200 with a version document).
/// No token is needed; a failure here means the URL is wrong or Keystone is not reachable.
pub async fn discover(client: &reqwest::Client, auth_url: &str) -> Result<Discovery, KeystoneError> {
    let (root, v3_url) = normalize_auth_url(auth_url)?;
    let (root_status, versions) = match send(client.get(format!("{root}/")).header("Accept", "application/json"), DOCUMENT_LIMIT).await {
        Ok(answer) => {
            let versions = serde_json::from_str::<Value>(&answer.body)
                .ok()
                .and_then(|v| v.pointer("/versions/values").cloned())
                .and_then(|v| serde_json::from_value::<Vec<ApiVersion>>(v).ok())
                .unwrap_or_default();
            (Some(answer.status), versions)
        }
        // Nothing listens at all: say so now rather than after a second attempt.
        Err(f @ (Failure::Unreachable(_) | Failure::Timeout | Failure::Tls(_))) => return Err(KeystoneError::Transport(f)),
        Err(_) => (None, Vec::new()),
    };
    let answer = send(client.get(&v3_url).header("Accept", "application/json"), DOCUMENT_LIMIT).await.map_err(KeystoneError::Transport)?;
    if answer.status != 200 {
        return Err(KeystoneError::Http { status: answer.status, message: error_message(&answer.body) });
    }
    let body = answer.document().map_err(KeystoneError::Transport)?;
    let v3 = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("version").cloned())
        .and_then(|v| serde_json::from_value::<ApiVersion>(v).ok())
        .ok_or_else(|| KeystoneError::BadBody(format!("GET {v3_url} gave no version document: {}", excerpt(body, 200))))?;
    Ok(Discovery {
        root,
        v3_url,
        root_status,
        versions,
        v3,
    })
}








// Wire shapes of the token body. Everything optional that Keystone may omit.
#[derive(Deserialize)]
struct WireBody {
    token: WireToken,
}

#[derive(Deserialize)]
struct WireToken {
    expires_at: String,
    issued_at: Option<String>,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    roles: Vec<WireNamed>,
    project: Option<WireProject>,
    user: WireProject,
    #[serde(default)]
    catalog: Vec<WireCatalog>,
    application_credential: Option<WireAppCred>,
}

#[derive(Deserialize)]
struct WireNamed {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct WireProject {
    id: String,
    #[serde(default)]
    name: String,
    domain: Option<WireNamed>,
}

#[derive(Deserialize)]
struct WireCatalog {
    #[serde(rename = "type")]
    service_type: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
struct WireAppCred {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    restricted: bool,
    #[serde(default)]
    access_rules: Option<Vec<Value>>,
}

fn parse_time(s: &str) -> Result<Timestamp, KeystoneError> {
    s.parse::<Timestamp>()
        .map_err(|e| KeystoneError::BadBody(format!("time {s:?}: {e}")))
}

/// Parses a token body (`{"token": {...}}`) into a [`Token`] holding `value`.
pub fn parse_token_body(value: Secret, body: &str) -> Result<Token, KeystoneError> {
    let w: WireBody = serde_json::from_str(body).map_err(|e| KeystoneError::BadBody(format!("token body: {e}")))?;
    let t = w.token;
    let domain = |d: Option<WireNamed>| d.map(|d| DomainInfo { id: d.id, name: d.name });
    Ok(Token {
        value,
        expires_at: parse_time(&t.expires_at)?,
        issued_at: t.issued_at.as_deref().map(parse_time).transpose()?,
        methods: t.methods,
        roles: t.roles.into_iter().map(|r| r.name).collect(),
        project: t.project.map(|p| ProjectInfo {
            id: p.id,
            name: p.name,
            domain: domain(p.domain),
        }),
        user: UserInfo {
            id: t.user.id,
            name: t.user.name,
            domain: domain(t.user.domain),
        },
        catalog: t
            .catalog
            .into_iter()
            .map(|c| CatalogEntry {
                service_type: c.service_type,
                name: c.name,
                endpoints: c.endpoints,
            })
            .collect(),
        application_credential: t.application_credential.map(|a| AppCredentialInfo {
            id: a.id,
            name: a.name,
            restricted: a.restricted,
            access_rules: a.access_rules.is_some_and(|r| !r.is_empty()),
        }),
    })
}

/// Keystone's `error.message`, else an excerpt of the body.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| excerpt(body, 200))
}

/// Removes a secret's value from text that came back from the server (Keystone does not echo
/// secrets today; this keeps it so if a proxy or a future version does).
fn scrub(text: String, secret: &Secret) -> String {
    match secret.expose() {
        Some(v) if v.len() >= 4 => text.replace(v, &secret.label()),
        _ => text,
    }
}

/// Obtains a token: `POST <v3>/auth/tokens` (201), or for [`AuthMethod::Token`] a validation
/// `GET <v3>/auth/tokens` with the token as both `X-Auth-Token` and `X-Subject-Token` (200).
pub async fn authenticate(
    client: &reqwest::Client,
    auth_url: &str,
    method: &AuthMethod,
) -> Result<Token, KeystoneError> {
    let (_, v3) = normalize_auth_url(auth_url)?;
    let url = format!("{v3}/auth/tokens");
    tracing::debug!(target: "veldr::keystone", url = %url, method = %method.describe(), "authenticate");
    let request = match (auth_body(method), method) {
        (Some(body), _) => client.post(&url).json(&body),
        (None, AuthMethod::Token(tok)) => {
            let t = tok.expose().unwrap_or("");
            client.get(&url).header("X-Auth-Token", t).header("X-Subject-Token", t)
        }
        (None, _) => unreachable!("only a token has no POST body"),
    };
    let answer = send(request.header("Accept", "application/json"), DOCUMENT_LIMIT).await.map_err(KeystoneError::Transport)?;
    let refused = |body: &str| scrub(error_message(body), method.secret());
    match answer.status {
        200 | 201 => {
            let subject = answer.headers.get("x-subject-token").and_then(|v| v.to_str().ok()).map(Secret::new);
            let value = match (subject, method) {
                (Some(s), _) => s,
                (None, AuthMethod::Token(t)) => t.clone(),
                (None, _) => return Err(KeystoneError::BadBody("no X-Subject-Token header in the answer".into())),
            };
            parse_token_body(value, answer.document().map_err(KeystoneError::Transport)?)
        }
        401 => Err(KeystoneError::Unauthorized { message: refused(&answer.body) }),
        404 => Err(KeystoneError::NotFound { message: refused(&answer.body) }),
        status => Err(KeystoneError::Http { status, message: refused(&answer.body) }),
    }
}

/// `GET <v3>/users/{user}/application_credentials/{id}` with the credential's own token: its
/// `expires_at` (`None`: it never expires). A token's expiry is capped by it but does not reveal it.
pub async fn application_credential_expiry(
    client: &reqwest::Client,
    v3: &str,
    token: &Token,
    credential_id: &str,
) -> Result<Option<Timestamp>, KeystoneError> {
    let url = format!("{v3}/users/{}/application_credentials/{credential_id}", token.user.id);
    let request = client.get(&url).header("Accept", "application/json").header("X-Auth-Token", token.value.expose().unwrap_or(""));
    let answer = send(request, DOCUMENT_LIMIT).await.map_err(KeystoneError::Transport)?;
    if answer.status != 200 {
        return Err(KeystoneError::Http { status: answer.status, message: error_message(&answer.body) });
    }
    let body: Value = serde_json::from_str(answer.document().map_err(KeystoneError::Transport)?)
        .map_err(|e| KeystoneError::BadBody(format!("application credential: {e}")))?;
    Ok(body.pointer("/application_credential/expires_at").and_then(Value::as_str).and_then(parse_keystone_time))
}

/// Keystone writes `2026-12-06T08:00:00.000000` (no zone, UTC) or with `Z`.
fn parse_keystone_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok().or_else(|| {
        let dt: jiff::civil::DateTime = s.trim_end_matches('Z').parse().ok()?;
        dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
    })
}

#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum EndpointError {
    #[error(
        "the catalog has no object-store service: this project has no Swift, or the credential's access rules hide it"
    )]
    NoService,
    #[error(
        "no object-store endpoint for region {wanted:?} ({interface}); the catalog has {}: set \
         OS_SWIFT_REGION_NAME, OS_REGION_NAME or the BSL's config.region to one of them",
        list_or_none(.available)
    )]
    NoRegion {
        wanted: String,
        interface: String,
        available: Vec<String>,
    },
    #[error(
        "no {interface} object-store endpoint; the catalog has interfaces {}",
        list_or_none(.available)
    )]
    NoInterface { interface: String, available: Vec<String> },
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// The Swift endpoint the plugin will use, picked as gophercloud v2 `V3EndpointURL` picks it:
/// service type `object-store`; endpoints of the wanted interface whose `region` or `region_id`
/// equals the region (no region, or an empty one, matches all); the first match wins; the URL gets
/// a trailing `/` (`NormalizeURL`).
pub fn object_store_endpoint(
    catalog: &[CatalogEntry],
    region: Option<&str>,
    interface: &str,
) -> Result<String, EndpointError> {
    let services: Vec<&CatalogEntry> = catalog.iter().filter(|c| c.service_type == "object-store").collect();
    if services.is_empty() {
        return Err(EndpointError::NoService);
    }
    let region = region.filter(|r| !r.is_empty());
    let of_interface: Vec<&Endpoint> = services
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| e.interface == interface)
        .collect();
    let hit = of_interface
        .iter()
        .find(|e| region.is_none_or(|r| e.region.as_deref() == Some(r) || e.region_id.as_deref() == Some(r)));
    if let Some(e) = hit {
        return Ok(super::tempurl::normalize_endpoint(&e.url));
    }
    if of_interface.is_empty() {
        let mut available: Vec<String> = services
            .iter()
            .flat_map(|s| s.endpoints.iter())
            .map(|e| e.interface.clone())
            .collect();
        available.sort();
        available.dedup();
        return Err(EndpointError::NoInterface {
            interface: interface.to_string(),
            available,
        });
    }
    let mut available: Vec<String> = of_interface
        .iter()
        .filter_map(|e| e.region_id.clone().or_else(|| e.region.clone()))
        .collect();
    available.sort();
    available.dedup();
    Err(EndpointError::NoRegion {
        wanted: region.unwrap_or("").to_string(),
        interface: interface.to_string(),
        available,
    })
}

/// `host:port` of an auth URL, for messages.
pub fn auth_host(auth_url: &str) -> String {
    url::Url::parse(auth_url)
        .map(|u| host_port(&u))
        .unwrap_or_else(|_| auth_url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"token": {
        "methods": ["application_credential"],
        "user": {"domain": {"id": "default", "name": "Default"}, "id": "u1", "name": "velero-user", "password_expires_at": null},
        "audit_ids": ["x"],
        "expires_at": "2026-11-29T09:00:00.000000Z",
        "issued_at": "2026-11-29T08:00:00.000000Z",
        "project": {"domain": {"id": "default", "name": "Default"}, "id": "p1", "name": "veldr"},
        "is_domain": false,
        "roles": [{"id": "r1", "name": "member"}, {"id": "r2", "name": "reader"}],
        "catalog": [
          {"endpoints": [
             {"id": "e1", "interface": "public", "region_id": "RegionOne", "url": "http://a:8080/v1/AUTH_p1", "region": "RegionOne"},
             {"id": "e2", "interface": "internal", "region_id": "RegionOne", "url": "http://a-int:8080/v1/AUTH_p1", "region": "RegionOne"},
             {"id": "e3", "interface": "public", "region_id": "RegionTwo", "url": "http://b:8080/v1/AUTH_p1", "region": "RegionTwo"}],
           "id": "s1", "type": "object-store", "name": "swift"},
          {"endpoints": [{"id": "e9", "interface": "public", "region_id": "RegionOne", "url": "http://k:5000", "region": "RegionOne"}],
           "id": "s2", "type": "identity", "name": "keystone"}],
        "application_credential": {"id": "ac1", "name": "velero", "restricted": true}
    }}"#;

    #[test]
    fn token_body_is_parsed() {
        let t = parse_token_body(Secret::new("gAAAAAtokenvalue"), BODY).unwrap();
        assert_eq!(t.expires_at.to_string(), "2026-11-29T09:00:00Z");
        assert_eq!(t.roles, vec!["member", "reader"]);
        assert_eq!(t.project.as_ref().unwrap().name, "veldr");
        assert_eq!(t.user.name, "velero-user");
        let ac = t.application_credential.as_ref().unwrap();
        assert!(ac.restricted && !ac.access_rules);
        let json = serde_json::to_string(&t).unwrap();
        assert!(!json.contains("gAAAAAtokenvalue"), "{json}");
        let back: Token = serde_json::from_str(&json).unwrap();
        assert_eq!(back.value.fingerprint(), t.value.fingerprint());
        assert_eq!(back.catalog, t.catalog);
    }

    #[test]
    fn endpoint_choice_mirrors_gophercloud() {
        let t = parse_token_body(Secret::new("x"), BODY).unwrap();
        assert_eq!(
            object_store_endpoint(&t.catalog, Some("RegionTwo"), "public").unwrap(),
            "http://b:8080/v1/AUTH_p1/"
        );
        assert_eq!(
            object_store_endpoint(&t.catalog, None, "public").unwrap(),
            "http://a:8080/v1/AUTH_p1/"
        );
        assert_eq!(
            object_store_endpoint(&t.catalog, Some(""), "internal").unwrap(),
            "http://a-int:8080/v1/AUTH_p1/"
        );
        let err = object_store_endpoint(&t.catalog, Some("RegionX"), "public").unwrap_err();
        assert_eq!(
            err,
            EndpointError::NoRegion {
                wanted: "RegionX".into(),
                interface: "public".into(),
                available: vec!["RegionOne".into(), "RegionTwo".into()]
            }
        );
        assert!(err.to_string().contains("RegionOne, RegionTwo"), "{err}");
        assert!(matches!(
            object_store_endpoint(&t.catalog, None, "admin"),
            Err(EndpointError::NoInterface { .. })
        ));
        assert_eq!(
            object_store_endpoint(&t.catalog[1..], None, "public"),
            Err(EndpointError::NoService)
        );
    }

    #[test]
    fn region_matches_region_id_or_region() {
        let cat = vec![CatalogEntry {
            service_type: "object-store".into(),
            name: "swift".into(),
            endpoints: vec![Endpoint {
                interface: "public".into(),
                region: Some("Legacy".into()),
                region_id: Some("GRA7".into()),
                url: "https://x/v1/AUTH_a".into(),
            }],
        }];
        assert!(object_store_endpoint(&cat, Some("GRA7"), "public").is_ok());
        assert!(object_store_endpoint(&cat, Some("Legacy"), "public").is_ok());
        assert!(object_store_endpoint(&cat, Some("GRA"), "public").is_err());
    }

    #[test]
    fn bodies_are_keystones() {
        let b = auth_body(&AuthMethod::AppCredentialId {
            id: "ac".into(),
            secret: Secret::new("s"),
        })
        .unwrap();
        assert_eq!(
            b,
            json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": "ac", "secret": "s"}}}})
        );
        let b = auth_body(&AuthMethod::AppCredentialName {
            name: "velero".into(),
            secret: Secret::new("s"),
            user: UserRef::Name {
                name: "u".into(),
                domain: DomainRef::Name("Default".into()),
            },
        })
        .unwrap();
        assert_eq!(
            b["auth"]["identity"]["application_credential"]["user"],
            json!({"name": "u", "domain": {"name": "Default"}})
        );
        assert!(b["auth"].get("scope").is_none());
        let b = auth_body(&AuthMethod::Password {
            user: UserRef::Id("uid".into()),
            password: Secret::new("pw"),
            project: Some(ProjectRef::Name {
                name: "p".into(),
                domain: DomainRef::Id("default".into()),
            }),
        })
        .unwrap();
        assert_eq!(
            b,
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "uid", "password": "pw"}}},
                            "scope": {"project": {"name": "p", "domain": {"id": "default"}}}}})
        );
        assert!(auth_body(&AuthMethod::Token(Secret::new("t"))).is_none());
        // Debug of the method never shows the secret.
        let m = AuthMethod::AppCredentialId {
            id: "ac".into(),
            secret: Secret::new("hunter2hunter2"),
        };
        assert!(!format!("{m:?}").contains("hunter2"));
    }

    #[test]
    fn auth_url_forms() {
        for u in [
            "http://k:5000",
            "http://k:5000/",
            "http://k:5000/v3",
            "http://k:5000/v3/",
        ] {
            assert_eq!(
                normalize_auth_url(u).unwrap(),
                ("http://k:5000".into(), "http://k:5000/v3".into())
            );
        }
        assert_eq!(
            normalize_auth_url("https://k/identity/v3").unwrap().0,
            "https://k/identity"
        );
        assert!(normalize_auth_url("k:5000").is_err());
    }

    #[test]
    fn keystone_times_with_or_without_zone() {
        for t in ["2026-12-06T08:00:00.000000", "2026-12-06T08:00:00.000000Z", "2026-12-06T08:00:00Z"] {
            assert_eq!(parse_keystone_time(t).map(|t| t.to_string()).as_deref(), Some("2026-12-06T08:00:00Z"), "{t}");
        }
        assert_eq!(parse_keystone_time("soon"), None);
    }

    #[test]
    fn error_message_prefers_keystones() {
        assert_eq!(
            error_message(
                r#"{"error":{"code":401,"title":"Unauthorized","message":"The request you have made requires authentication."}}"#
            ),
            "The request you have made requires authentication."
        );
        let s = Secret::new("topsecret");
        assert_eq!(
            scrub("bad topsecret here".into(), &s),
            format!("bad {} here", s.label())
        );
    }
}
