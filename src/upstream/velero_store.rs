//! Velero's object store as Velero lays it out (vmware-tanzu/velero `pkg/persistence/object_store_layout.go`)
//! and its results documents (`pkg/util/results`: `{"errors": R, "warnings": R}`, each
//! `R = {"velero": [..], "cluster": [..], "namespaces": {"ns": [..]}}`, gzip of `json.Encoder`'s output).
//! Pure: the reading is `collect::results` and `logs_cmd`.

use crate::facts::{Messages, Problem, ProblemKind, VeleroResults};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;

/// Compressed bytes read of one results object: Velero's are a few KB; a megabyte is not one.
pub const RESULTS_READ_LIMIT: usize = 1 << 20;
/// Decompressed bytes accepted (a gzip bomb stops here).
pub const RESULTS_DECOMPRESSED_LIMIT: usize = 16 << 20;
/// Messages kept of one scope (velero, cluster, one namespace), so one scope cannot hide the others.
const PER_SCOPE: usize = 5;

/// Go's `path.Join` for the keys: empty parts dropped, one `/` between parts.
fn join(parts: &[&str]) -> String {
    parts.iter().flat_map(|p| p.split('/')).filter(|p| !p.is_empty() && *p != ".").collect::<Vec<_>>().join("/")
}

/// `<prefix>/backups/`: where every backup's objects live (swift.capacity lists under it).
pub fn backups_dir(prefix: Option<&str>) -> String {
    join(&[prefix.unwrap_or(""), "backups"]) + "/"
}

/// `<prefix>/backups/<b>/<b>-results.gz`
pub fn backup_results_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, &format!("{backup}-results.gz")])
}

/// `<prefix>/backups/<b>/velero-backup.json`: the Backup as Velero wrote it; the sync controller
/// creates a Backup from it (`BackupExists` asks for this key; object_store_layout.go
/// `getBackupMetadataKey`).
pub fn backup_metadata_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, METADATA_OBJECT])
}

/// `<prefix>/backups/<b>/<b>.tar.gz`: the backed-up resources (`getBackupContentsKey`).
pub fn backup_contents_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, &format!("{backup}.tar.gz")])
}

/// `<prefix>/backups/<b>/<b>-volumeinfo.json.gz` (Velero 1.13+, `getBackupVolumeInfoKey`).
pub fn backup_volume_info_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, &format!("{backup}-volumeinfo.json.gz")])
}

/// The name of a backup's metadata object inside its directory.
pub const METADATA_OBJECT: &str = "velero-backup.json";

/// `<prefix>/backups/<b>/<b>-logs.gz`
pub fn backup_log_key(prefix: Option<&str>, backup: &str) -> String {
    join(&[prefix.unwrap_or(""), "backups", backup, &format!("{backup}-logs.gz")])
}

/// `<prefix>/restores/<r>/restore-<r>-results.gz`
pub fn restore_results_key(prefix: Option<&str>, restore: &str) -> String {
    join(&[prefix.unwrap_or(""), "restores", restore, &format!("restore-{restore}-results.gz")])
}

/// `<prefix>/restores/<r>/restore-<r>-logs.gz`
pub fn restore_log_key(prefix: Option<&str>, restore: &str) -> String {
    join(&[prefix.unwrap_or(""), "restores", restore, &format!("restore-{restore}-logs.gz")])
}

#[derive(Deserialize)]
struct RawResults {
    #[serde(default)]
    errors: Option<RawResult>,
    #[serde(default)]
    warnings: Option<RawResult>,
}

#[derive(Deserialize, Default)]
struct RawResult {
    #[serde(default)]
    velero: Option<Vec<String>>,
    #[serde(default)]
    cluster: Option<Vec<String>>,
    #[serde(default)]
    namespaces: Option<BTreeMap<String, Vec<String>>>,
}

fn bad(message: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::BadBody, message)
}

/// Gunzips at most [`RESULTS_DECOMPRESSED_LIMIT`] bytes. `cut`: the object was longer than what was read.
pub fn gunzip_bounded(bytes: &[u8], cut: bool) -> Result<Vec<u8>, Problem> {
    if cut {
        return Err(bad(format!("larger than the {} KiB veldr reads of a results object: not one Velero writes", RESULTS_READ_LIMIT >> 10)));
    }
    if bytes.len() < 2 || bytes[..2] != [0x1f, 0x8b] {
        let start: String = String::from_utf8_lossy(&bytes[..bytes.len().min(24)]).chars().map(|c| if c.is_control() { '.' } else { c }).collect();
        return Err(bad(format!("not gzip (it starts with {start:?}): not an object Velero wrote")));
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(bytes).take(RESULTS_DECOMPRESSED_LIMIT as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| bad(format!("a truncated or corrupt gzip stream ({e})")))?;
    if out.len() > RESULTS_DECOMPRESSED_LIMIT {
        return Err(bad(format!("decompresses to more than {} MiB: refused (not a results object Velero writes)", RESULTS_DECOMPRESSED_LIMIT >> 20)));
    }
    Ok(out)
}

/// A results object as read: gzip, then Velero's JSON. Every failure says what is wrong with it.
pub fn parse_results(bytes: &[u8], cut: bool) -> Result<VeleroResults, Problem> {
    let json = gunzip_bounded(bytes, cut)?;
    let raw: RawResults = serde_json::from_slice(&json).map_err(|e| bad(format!("not Velero's results JSON ({e})")))?;
    Ok(VeleroResults { errors: keep(raw.errors.unwrap_or_default()), warnings: keep(raw.warnings.unwrap_or_default()), compressed_bytes: bytes.len() as u64 })
}

/// The first messages of each scope, [`Messages::KEPT`] in all, each cut and cleaned.
fn keep(raw: RawResult) -> Messages {
    let velero = raw.velero.unwrap_or_default();
    let cluster = raw.cluster.unwrap_or_default();
    let namespaces = raw.namespaces.unwrap_or_default();
    let total = velero.len() + cluster.len() + namespaces.values().map(Vec::len).sum::<usize>();
    let mut room = Messages::KEPT;
    let mut take = |list: &[String]| -> Vec<String> {
        let n = list.len().min(PER_SCOPE).min(room);
        room -= n;
        list[..n].iter().map(|m| clean(m)).collect()
    };
    let velero = take(&velero);
    let cluster = take(&cluster);
    let namespaces = namespaces.iter().map(|(ns, list)| (ns.clone(), take(list))).filter(|(_, l)| !l.is_empty()).collect();
    Messages { velero, cluster, namespaces, total }
}

/// Trims Velero's hook formatting (a leading space), cuts at [`Messages::MESSAGE_CHARS`], and
/// hides the secrets a message may quote (a signed URL's signature, a token, a password: `util::scrub`).
pub fn clean(message: &str) -> String {
    let mut m = crate::util::scrub::scrub(message.trim());
    if m.chars().count() > Messages::MESSAGE_CHARS {
        m = m.chars().take(Messages::MESSAGE_CHARS).collect::<String>() + "…";
    }
    m
}


/// The results as `velero backup describe --details` lays them out (Errors, then Warnings; Velero,
/// Cluster, Namespaces), for `veldr logs --results`.
pub fn render(results: &VeleroResults) -> String {
    let mut out = String::new();
    for (title, m) in [("Errors", &results.errors), ("Warnings", &results.warnings)] {
        out.push_str(&format!("{title}:\n"));
        let list = |out: &mut String, label: &str, items: &[String]| {
            if items.is_empty() {
                out.push_str(&format!("  {label:<9} <none>\n"));
            } else {
                out.push_str(&format!("  {label}\n"));
                for i in items {
                    out.push_str(&format!("    {i}\n"));
                }
            }
        };
        list(&mut out, "Velero:", &m.velero);
        list(&mut out, "Cluster:", &m.cluster);
        if m.namespaces.is_empty() {
            out.push_str("  Namespaces: <none>\n");
        } else {
            out.push_str("  Namespaces:\n");
            for (ns, items) in &m.namespaces {
                out.push_str(&format!("    {ns}:\n"));
                for i in items {
                    out.push_str(&format!("      {i}\n"));
                }
            }
        }
        if m.total > m.kept() {
            out.push_str(&format!("  ({} more not shown; veldr keeps the first {} per scope, {} in all)\n", m.total - m.kept(), PER_SCOPE, Messages::KEPT));
        }
        out.push('\n');
    }
    out
}

/// Gzip as Velero writes its objects, for tests.
#[cfg(test)]
pub(crate) fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_velero_layout() {
        assert_eq!(backup_results_key(None, "b1"), "backups/b1/b1-results.gz");
        assert_eq!(backup_results_key(Some("cluster-a/"), "b1"), "cluster-a/backups/b1/b1-results.gz");
        assert_eq!(backup_log_key(Some("a/b"), "b1"), "a/b/backups/b1/b1-logs.gz");
        assert_eq!(restore_results_key(Some(""), "r1"), "restores/r1/restore-r1-results.gz");
        assert_eq!(restore_log_key(None, "r1"), "restores/r1/restore-r1-logs.gz");
        assert_eq!(backups_dir(None), "backups/");
        assert_eq!(backups_dir(Some("/team/")), "team/backups/");
        assert_eq!(backup_metadata_key(Some("cluster-a"), "b1"), "cluster-a/backups/b1/velero-backup.json");
        assert_eq!(backup_contents_key(None, "b1"), "backups/b1/b1.tar.gz");
        assert_eq!(backup_volume_info_key(Some("a/"), "b1"), "a/backups/b1/b1-volumeinfo.json.gz");
    }

    #[test]
    fn velero_results_parse_by_scope() {
        // What json.Encoder writes for map[string]results.Result (omitempty fields absent), plus its newline.
        let doc = br#"{"errors":{"namespaces":{"shop":[" resource: /persistentvolumeclaims name: /shop/data message: /Error backing up item error: /reaches the configured maximum (3)"]}},"warnings":{"velero":["w1"],"cluster":["c1"]}}
"#;
        let r = parse_results(&gz(doc), false).unwrap();
        assert_eq!(r.errors.total, 1);
        assert!(r.errors.namespaces["shop"][0].starts_with("resource: /persistentvolumeclaims"), "leading space trimmed");
        assert_eq!((r.warnings.velero.as_slice(), r.warnings.cluster.as_slice()), (&["w1".to_string()][..], &["c1".to_string()][..]));
        let scoped = r.warnings.scoped();
        assert_eq!(scoped[0].0, "velero");
        assert_eq!(scoped[1].0, "cluster");
        // Empty results: Velero writes {"errors":{},"warnings":{}}.
        let empty = parse_results(&gz(b"{\"errors\":{},\"warnings\":{}}\n"), false).unwrap();
        assert_eq!((empty.errors.total, empty.warnings.kept()), (0, 0));
    }

    #[test]
    fn messages_are_capped_per_scope_and_in_all() {
        let many: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
        let ns: BTreeMap<String, Vec<String>> = (0..10).map(|i| (format!("ns{i:02}"), many.clone())).collect();
        let doc = serde_json::json!({"errors": {"velero": many, "namespaces": ns}});
        let r = parse_results(&gz(doc.to_string().as_bytes()), false).unwrap();
        assert_eq!(r.errors.total, 550);
        assert_eq!(r.errors.velero.len(), 5);
        assert_eq!(r.errors.kept(), Messages::KEPT);
        assert!(render(&r).contains("530 more not shown"), "{}", render(&r));
        let long = "x".repeat(5000);
        assert_eq!(clean(&long).chars().count(), Messages::MESSAGE_CHARS + 1);
    }

    #[test]
    fn corrupt_objects_say_what_is_wrong() {
        let e = parse_results(b"<html>404</html>", false).unwrap_err();
        assert!(e.message.contains("not gzip") && e.message.contains("<html>"), "{e:?}");
        let whole = gz(b"{\"errors\":{\"velero\":[\"a long enough message to be cut short\"]}}");
        let e = parse_results(&whole[..whole.len() / 2], false).unwrap_err();
        assert!(e.message.contains("truncated or corrupt"), "{e:?}");
        let e = parse_results(&gz(b"not json"), false).unwrap_err();
        assert!(e.message.contains("not Velero's results JSON"), "{e:?}");
        let e = parse_results(&whole, true).unwrap_err();
        assert!(e.message.contains("larger than the 1024 KiB"), "{e:?}");
        // A gzip bomb: 17 MiB of zeros, a few KB compressed, stops at the limit.
        let bomb = gz(&vec![b'0'; RESULTS_DECOMPRESSED_LIMIT + (1 << 20)]);
        assert!(bomb.len() < RESULTS_READ_LIMIT);
        let e = parse_results(&bomb, false).unwrap_err();
        assert!(e.message.contains("more than 16 MiB"), "{e:?}");
    }

    #[test]
    fn signatures_in_messages_are_hidden() {
        let m = clean(" GET https://s/v1/AUTH_a/c/o?temp_url_sig=abcdef0123&temp_url_expires=1 failed");
        assert_eq!(m, "GET https://s/v1/AUTH_a/c/o?temp_url_sig=<redacted>&temp_url_expires=1 failed");
    }
}
