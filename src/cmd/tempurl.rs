//! `veldr tempurl`: a temp URL signed exactly as the plugin would sign it, with the key the plugin
//! would use (from the cluster) or the operator's `OS_SWIFT_TEMP_URL_KEY`. The key is never printed;
//! the signed URL is the command's output, on stdout only.

use crate::pipeline::Unrunnable;
use crate::cli::{KeyFrom, TempurlArgs};
use crate::collect::{self, kube::KubeTarget, CollectOptions, CredentialsSource};
use crate::facts::{Need, SigningKey};
use crate::openstack::tempurl::{self, Digest, ExpiresFormat, SigEncoding, SignOptions, TempUrlRequest};
use crate::secret::Secret;

struct Signer {
    key: Secret,
    key_source: String,
    digest: Digest,
    /// The plugin's endpoint (`…/v1/AUTH_x/`), when known.
    endpoint: Option<String>,
}

async fn from_cluster(args: &TempurlArgs) -> Result<Signer, Unrunnable> {
    let opts = CollectOptions {
        target: KubeTarget { kubeconfig: args.cluster.kubeconfig.clone(), context: args.context.clone() },
        namespace: crate::collect::namespace::from_process(args.cluster.namespace.as_deref()),
        timeout: args.cluster.timeout,
        credentials: CredentialsSource::Cluster,
        // The key the plugin signs with comes with the OpenStack facts (Swift's heads).
        needs: [Need::OpenStack].into(),
        bsl_filter: vec![],
        insecure: false,
        tokens: None,
        restore: None,
    };
    let (facts, _) = collect::collect(&opts).await.map_err(|e| Unrunnable(e.to_string()))?;
    let os = facts.openstack.ok_or_else(|| Unrunnable("OpenStack was not asked".into()))?;
    if let Some(why) = os.not_attempted {
        return Err(Unrunnable(format!("cannot sign as the plugin: {why} (run `veldr doctor`)")));
    }
    let target = os.targets.into_iter().next().ok_or_else(|| Unrunnable("no OpenStack BSL".into()))?;
    let digest = target.plugin.digest().ok_or_else(|| Unrunnable(format!("the plugin cannot sign: {:?}", target.plugin.digest)))?;
    let endpoint = target.endpoint.and_then(Result::ok);
    let (key, source) = match target.signing_key {
        Some(k @ (SigningKey::Env(_) | SigningKey::Container(_) | SigningKey::Account(_))) => {
            let source = k.source().to_string();
            (k.secret().cloned().expect("keyed variants carry a key"), source)
        }
        _ => return Err(Unrunnable("the plugin would fail: \"Unable to obtain the Temp URL key\" (run `veldr doctor --only swift.tempurl-key`)".into())),
    };
    Ok(Signer { key, key_source: source, digest, endpoint })
}

fn from_env() -> Result<Signer, Unrunnable> {
    let key = std::env::var("OS_SWIFT_TEMP_URL_KEY").ok().filter(|k| !k.is_empty()).ok_or_else(|| Unrunnable("--key-from env: OS_SWIFT_TEMP_URL_KEY is not set".into()))?;
    let digest = Digest::from_plugin_setting(std::env::var("OS_SWIFT_TEMP_URL_DIGEST").ok().as_deref()).map_err(|e| Unrunnable(e.to_string()))?;
    let endpoint = std::env::var("OS_SWIFT_ENDPOINT_OVERRIDE").or_else(|_| std::env::var("OS_STORAGE_URL")).ok();
    Ok(Signer { key: Secret::new(key), key_source: "OS_SWIFT_TEMP_URL_KEY".into(), digest, endpoint })
}

/// Splits the target into (origin, /v1/ path, whether to print the path form like `swift tempurl`).
fn resolve_target(target: &str, endpoint: Option<&str>) -> Result<(String, String, bool), Unrunnable> {
    if target.starts_with("/v1/") {
        return Ok((String::new(), target.to_string(), true));
    }
    let full = if target.starts_with("http://") || target.starts_with("https://") {
        target.to_string()
    } else {
        let ep = endpoint.ok_or_else(|| Unrunnable("CONTAINER/OBJECT needs the Swift endpoint: give a full URL or a /v1/ path, or set OS_STORAGE_URL".into()))?;
        format!("{}{}", tempurl::normalize_endpoint(ep), target.trim_start_matches('/'))
    };
    let url = url::Url::parse(&full).map_err(|e| Unrunnable(format!("not a URL {full:?}: {e}")))?;
    let origin = url.origin().ascii_serialization();
    let path = percent_decode(url.path());
    if !path.starts_with("/v1/") {
        return Err(Unrunnable(format!("URL prefix \"/v1/\" not found in {full:?}")));
    }
    Ok((origin, path, false))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(s.replace('+', "%2B").as_bytes()).map(|(k, v)| if v.is_empty() { k.into_owned() } else { format!("{k}={v}") }).collect()
}

pub async fn run(args: TempurlArgs) -> Result<i32, Unrunnable> {
    let signer = match args.key_from {
        KeyFrom::Cluster => from_cluster(&args).await?,
        KeyFrom::Env => from_env()?,
    };
    let digest = match &args.digest {
        Some(d) => Digest::from_name(d).ok_or_else(|| Unrunnable(format!("unknown digest {d:?}: sha1, sha256 or sha512")))?,
        None => signer.digest,
    };
    let (origin, path, path_form) = resolve_target(&args.target, signer.endpoint.as_deref())?;
    let expires = if args.absolute { args.expires } else { jiff::Timestamp::now().as_second() + args.expires };
    // swift tempurl writes sha512 as `sha512:<base64url>`, the others in hex; Swift accepts both.
    let encoding = if digest == Digest::Sha512 { SigEncoding::Base64Url } else { SigEncoding::Hex };
    let req = TempUrlRequest {
        origin: &origin,
        path: &path,
        method: &args.method.to_uppercase(),
        expires,
        expires_format: ExpiresFormat::Unix,
        digest,
        encoding,
        options: SignOptions::default(),
    };
    let signed = tempurl::build_temp_url(&signer.key, &req).map_err(|e| Unrunnable(e.to_string()))?;
    let full = signed.expose_full_url().ok_or_else(|| Unrunnable("the key is known only by fingerprint".into()))?;
    let printed = if path_form { full.trim_start_matches(&origin).to_string() } else { full };
    eprintln!("signed with {} ({}), digest {}, expires {}", signer.key_source, signer.key.label(), digest.name(), expires);
    println!("{printed}");
    Ok(0)
}
