//! restore-check streams the backup's tarball: a large one does not raise its memory above the doctor's.
//!
//! The test writes a Velero-format tarball of incompressible ConfigMap entries with the PVCs and PV last
//! (so the reader must go through all of it) to the lab's real Swift, then runs `veldr restore-check`
//! and `veldr doctor` against the same fixture cluster and compares their peak resident memory (VmHWM,
//! sampled from /proc until the process ends). Its size is `VELDR_RSS_TARBALL_MIB` (default 128 MiB, what
//! CI pays for); BENCHMARKS.md has the 2 GiB run (`VELDR_RSS_TARBALL_MIB=2048`, and `VELDR_RSS_BIN` naming
//! a release binary for speed).

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A plain-HTTP request to the lab (Keystone, Swift): status, headers (lowercased names) and body.
fn http(url: &str, method: &str, headers: &[(&str, String)], body: &mut dyn Read, len: u64) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("the lab speaks plain HTTP");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(host).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {len}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    std::io::copy(&mut body.take(len), &mut s).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut hs = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            hs.push((k.trim().to_lowercase(), v.trim().to_string()));
        }
    }
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    (status, hs, rest)
}

fn token(lab: &Value) -> String {
    let body = json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": lab["appcred"]["id"], "secret": lab["appcred"]["secret"]}}}}).to_string();
    let url = format!("{}/auth/tokens", lab["keystone_url"].as_str().unwrap());
    let (status, headers, _) = http(&url, "POST", &[("Content-Type", "application/json".into())], &mut body.as_bytes(), body.len() as u64);
    assert_eq!(status, 201, "a token from the lab's Keystone");
    headers.into_iter().find(|(k, _)| k == "x-subject-token").unwrap().1
}

/// Takes the test's objects out of the lab's container again (other tests list it).
fn delete(lab: &Value, token: &str, key: &str) {
    let url = format!("{}/v1/{}/velero-backups/{key}", lab["swift_a"].as_str().unwrap(), lab["account"].as_str().unwrap());
    let (status, _, _) = http(&url, "DELETE", &[("X-Auth-Token", token.into())], &mut std::io::empty(), 0);
    assert!(matches!(status, 204 | 404), "DELETE {key}: {status}");
}

fn put(lab: &Value, token: &str, key: &str, body: &mut dyn Read, len: u64) {
    let url = format!("{}/v1/{}/velero-backups/{key}", lab["swift_a"].as_str().unwrap(), lab["account"].as_str().unwrap());
    let (status, _, b) = http(&url, "PUT", &[("X-Auth-Token", token.into()), ("Content-Type", "application/octet-stream".into())], body, len);
    assert_eq!(status, 201, "PUT {key}: {}", String::from_utf8_lossy(&b));
}

/// Incompressible bytes, fast (xorshift64*).
struct Noise(u64);

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(buf.len())
    }
}

/// Writes the tarball to `path`: `mib` MiB of 4 MiB ConfigMap entries, then two PVCs and their PV.
/// Returns the resource list.
fn write_tarball(path: &Path, mib: u64) -> Value {
    let file = std::fs::File::create(path).unwrap();
    // Stored deflate blocks: a valid gzip stream, cheap to make (the entries are random anyway).
    let gz = flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::none());
    let mut b = tar::Builder::new(gz);
    let add = |b: &mut tar::Builder<_>, p: &str, len: u64, data: &mut dyn Read| {
        let mut h = tar::Header::new_gnu();
        h.set_size(len);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, p, data.take(len)).unwrap();
    };
    add(&mut b, "metadata/version", 6, &mut &b"1.1.0\n"[..]);
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let entries = mib / 4;
    let mut configmaps = Vec::new();
    for i in 0..entries {
        let name = format!("blob-{i:05}");
        add(&mut b, &format!("resources/configmaps/namespaces/webshop/{name}.json"), 4 << 20, &mut noise);
        configmaps.push(format!("webshop/{name}"));
    }
    let pvc = |name: &str| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "webshop"}, "spec": {"storageClassName": "vsphere-sc", "volumeName": format!("pv-{name}")}}).to_string();
    for name in ["data", "cache"] {
        let j = pvc(name);
        add(&mut b, &format!("resources/persistentvolumeclaims/namespaces/webshop/{name}.json"), j.len() as u64, &mut j.as_bytes());
    }
    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-data"}, "spec": {"storageClassName": "vsphere-sc", "csi": {"driver": "csi.vsphere.vmware.com", "volumeHandle": "x"}}}).to_string();
    add(&mut b, "resources/persistentvolumes/cluster/pv-data.json", pv.len() as u64, &mut pv.as_bytes());
    b.into_inner().unwrap().finish().unwrap().flush().unwrap();
    json!({"v1/ConfigMap": configmaps, "v1/PersistentVolumeClaim": ["webshop/cache", "webshop/data"], "v1/PersistentVolume": ["pv-data"]})
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Runs `veldr` with `args` and returns (exit code, stdout, peak resident KiB).
fn peak_rss(bin: &Path, args: &[&str], kubeconfig: &Path) -> (Option<i32>, String, u64) {
    let mut cmd = std::process::Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("OS_") || k == "KUBECONFIG" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd.args(args).arg("--kubeconfig").arg(kubeconfig).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let status_path = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = text.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()) {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), reader.join().unwrap(), peak);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_large_tarball_streams_within_the_doctor_s_memory() {
    let lab = lab();
    let mib: u64 = std::env::var("VELDR_RSS_TARBALL_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(128);
    let bin = std::env::var_os("VELDR_RSS_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_veldr")));
    let backup = format!("dr-big-{mib}mib");
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("big.tar.gz");
    let t0 = Instant::now();
    let list = write_tarball(&tarball, mib);
    let size = std::fs::metadata(&tarball).unwrap().len();
    assert!(size >= mib << 20, "the tarball is {size} bytes: its entries must not compress");
    let tok = token(&lab);
    put(&lab, &tok, &format!("backups/{backup}/{backup}.tar.gz"), &mut std::fs::File::open(&tarball).unwrap(), size);
    std::fs::remove_file(&tarball).unwrap();
    let list_gz = gz(list.to_string().as_bytes());
    put(&lab, &tok, &format!("backups/{backup}/{backup}-resource-list.json.gz"), &mut list_gz.as_slice(), list_gz.len() as u64);
    let meta = json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": backup, "namespace": "velero"}, "spec": {"storageLocation": "default"}, "status": {"phase": "Completed"}}).to_string();
    put(&lab, &tok, &format!("backups/{backup}/velero-backup.json"), &mut meta.as_bytes(), meta.len() as u64);
    eprintln!("wrote {} MiB to Swift in {:.1} s", size >> 20, t0.elapsed().as_secs_f32());

    // The DR cluster of the restore scenarios, with this Backup synced.
    let objects = materialize("../restore/ready", Some(&lab));
    let mut all = read_objects(objects.path());
    all.push(json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": backup, "namespace": "velero"},
        "spec": {"storageLocation": "default"}, "status": {"phase": "Completed", "expiration": "${NOW+29d}"}}));
    write_objects(objects.path(), &all);
    let cluster = serve_dir(objects);

    let t0 = Instant::now();
    let (code, out, restore_kib) =
        peak_rss(&bin, &["restore-check", &format!("backup/{backup}"), "-o", "json", "--timeout", "900s", "--max-archive-bytes", "8GiB"], &cluster.kubeconfig);
    let secs = t0.elapsed().as_secs_f32();
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let storage = check(&report, "restore.storage");
    let archive = &storage["evidence"]["archive"];
    assert_eq!(archive["bytesRead"].as_u64(), Some(size), "the whole tarball was read: {storage}");
    assert_eq!(archive["end"]["reason"], "allFound", "{storage}");
    assert_eq!(storage["evidence"]["pvcs"], 2, "the PVCs at its end were found: {storage}");
    assert!(matches!(code, Some(0 | 1)), "{code:?}: {out}");
    let (_, _, doctor_kib) = peak_rss(&bin, &["doctor", "-o", "json", "--timeout", "60s"], &cluster.kubeconfig);
    let tok = token(&lab);
    for key in [format!("{backup}.tar.gz"), format!("{backup}-resource-list.json.gz"), "velero-backup.json".to_string()] {
        delete(&lab, &tok, &format!("backups/{backup}/{key}"));
    }
    eprintln!(
        "restore-check read {} MiB in {secs:.1} s ({:.0} MiB/s): peak RSS {} MiB; doctor on the same cluster: {} MiB",
        size >> 20,
        (size >> 20) as f32 / secs,
        restore_kib >> 10,
        doctor_kib >> 10
    );
    // Streaming: the tarball's size does not show in memory (a few chunks, one entry's fields).
    assert!(restore_kib <= doctor_kib + (8 << 10), "restore-check peaked at {} MiB, the doctor at {} MiB", restore_kib >> 10, doctor_kib >> 10);
    assert!(restore_kib < (mib << 10) / 2 || mib < 128, "resident memory grows with the tarball: {} MiB for {mib} MiB", restore_kib >> 10);
}
