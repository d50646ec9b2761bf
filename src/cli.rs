//! The command line of CONTRACT.md.

use crate::collect::CredentialsSource;
use crate::report::FailOn;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "veldr", version, about = "A doctor for Velero on OpenStack Swift with CSI snapshots", propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose a Velero installation (cluster, credentials, Keystone, Swift, temp URLs).
    Doctor(DoctorArgs),
    /// List the registered checks.
    Checks {
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
    /// Print the runbook page of one check.
    Explain {
        id: String,
        #[arg(short, long, value_enum, default_value_t = ExplainFormat::Text)]
        output: ExplainFormat,
    },
    /// Print a temp URL signed exactly as the OpenStack plugin signs (the key is never printed).
    Tempurl(TempurlArgs),
    /// Run the doctor periodically and serve the latest result as Prometheus metrics.
    Serve(ServeArgs),
    /// Print the Velero log (or, with --results, the errors and warnings) of one backup or restore,
    /// read from the BSL through the Swift API with Velero's credentials (works when temp URLs do not).
    Logs(LogsArgs),
    /// Against the cluster you would restore INTO: what `velero restore create --from-backup NAME` would
    /// trip on (the Backup, the API kinds, storage, existing objects), read-only, from the backup's
    /// objects in the BSL (Swift API, Velero's credentials). Same formats and exit codes as doctor.
    RestoreCheck(RestoreCheckArgs),
    /// Make one test backup and judge it end to end after the doctor's checks (the runbook's
    /// Verification section), then remove it. Writes a Backup and a DeleteBackupRequest, nothing else:
    /// needs the grants of deploy/rbac-verify.yaml.
    Verify(VerifyArgs),
    /// Print the JSON Schema (draft 2020-12) of `doctor -o json` (also schema/report.v1.json).
    Schema,
    /// Print shell completions (install: see the README).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) of veldr or of one of its commands; --dir writes every page.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`veldr man doctor` is veldr-doctor(1)); without it, veldr(1).
    pub command: Option<String>,
    /// Write every page (veldr.1, veldr-doctor.1, …) into this directory instead, e.g. ~/.local/share/man/man1.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Prometheus,
    Nagios,
    /// GitHub-flavoured Markdown, for tickets and pull requests.
    Markdown,
    /// JUnit XML: one testsuite per category, one testcase per check, for CI pipelines.
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorMode {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// `--kubeconfig`, `-n`, `--timeout`: what every command that reads the cluster takes.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The kubeconfig context to use; repeat it for a fleet (one run per context, concurrently).
    #[arg(id = "context", long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,
    /// A fleet of every context of the kubeconfig.
    #[arg(long, conflicts_with_all = ["context", "from_bundle"])]
    pub all_contexts: bool,
    /// Only these BackupStorageLocations (repeatable).
    #[arg(long = "bsl", value_name = "NAME")]
    pub bsl: Vec<String>,
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Run only these checks or categories (repeatable; their dependencies run too).
    #[arg(long, value_name = "ID|CATEGORY")]
    pub only: Vec<String>,
    /// Skip these checks or categories (repeatable).
    #[arg(long, value_name = "ID|CATEGORY")]
    pub skip: Vec<String>,
    /// Exit 1 on any fail (default: checks that could not be evaluated alone exit 3); `warn`: also on any
    /// warn or error; `error`: also on any error.
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
    /// After a failure or an error, re-run those checks until they pass or this much time passes.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub wait: Duration,
    /// Where the OpenStack credentials come from: cluster, env or cloud:NAME.
    #[arg(long, default_value = "cluster")]
    pub credentials: CredentialsSource,
    /// Write the collected facts (secrets as fingerprints) to this file (`--record`: the same).
    #[arg(long, visible_alias = "record", value_name = "PATH")]
    pub save_bundle: Option<PathBuf>,
    /// Judge a bundle instead of reading a cluster.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["kubeconfig", "context"])]
    pub from_bundle: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ColorMode::Auto)]
    pub color: ColorMode,
    /// Skip TLS verification against Keystone and Swift (prints a warning; never the default).
    #[arg(long)]
    pub insecure: bool,
    /// More logs on stderr (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreCheckArgs {
    /// The Backup to check: backup/NAME.
    #[arg(value_name = "backup/NAME")]
    pub target: String,
    /// Compressed bytes of the backup's tarball read at most (e.g. 512MiB, 4GiB); the report says when
    /// the read stopped there.
    #[arg(long, default_value = "2GiB", value_parser = parse_size)]
    pub max_archive_bytes: u64,
    /// The doctor's flags: cluster, context(s), output, bundle, credentials, --only/--skip of restore.* ids.
    #[command(flatten)]
    pub doctor: DoctorArgs,
}

/// `2GiB`, `512MiB`, `100KiB`, `1G`, `1048576` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s:?} (use e.g. 512MiB, 2GiB)"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        _ => return Err(format!("not a size: {s:?} (units: KiB, MiB, GiB)")),
    };
    n.checked_mul(mult).filter(|v| *v > 0).ok_or_else(|| format!("not a size: {s:?}"))
}

#[derive(Debug, Clone, Args)]
pub struct TempurlArgs {
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// Lifetime in seconds (or a Unix time with --absolute).
    #[arg(long, default_value_t = 600)]
    pub expires: i64,
    /// Treat --expires as an absolute Unix time (as `swift tempurl --absolute`).
    #[arg(long)]
    pub absolute: bool,
    /// Digest: sha1, sha256, sha512 (default: what the plugin would use).
    #[arg(long)]
    pub digest: Option<String>,
    /// Where the key comes from: the cluster (as the plugin signs) or the environment.
    #[arg(long, value_enum, default_value_t = KeyFrom::Cluster)]
    pub key_from: KeyFrom,
    /// A full object URL, or CONTAINER/OBJECT resolved against the plugin's endpoint.
    pub target: String,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// backup/NAME or restore/NAME.
    #[arg(value_name = "backup/NAME|restore/NAME")]
    pub target: String,
    /// The errors and warnings (`<b>-results.gz`), laid out as `velero backup describe --details` does.
    #[arg(long)]
    pub results: bool,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Where the OpenStack credentials come from: cluster, env or cloud:NAME.
    #[arg(long, default_value = "cluster")]
    pub credentials: CredentialsSource,
    /// Skip TLS verification against Keystone and Swift (prints a warning; never the default).
    #[arg(long)]
    pub insecure: bool,
    /// More logs on stderr (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The namespace the test backup includes (`velero backup create --include-namespaces`).
    #[arg(long, value_name = "NS", default_value = "default")]
    pub include_namespace: String,
    /// Leave the test backup in place (it expires after its ttl of 1h, and Velero deletes it then).
    #[arg(long)]
    pub keep: bool,
    /// How long to wait for the test backup to end, and again for its deletion.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Deadline for the doctor's reads and for each write (as `veldr doctor --timeout`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub read_timeout: Duration,
    /// Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// The namespace Velero runs in (found as `veldr doctor` finds it).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Where the OpenStack credentials come from: cluster, env or cloud:NAME.
    #[arg(long, default_value = "cluster")]
    pub credentials: CredentialsSource,
    /// Skip TLS verification against Keystone and Swift (prints a warning; never the default).
    #[arg(long)]
    pub insecure: bool,
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// As for doctor: exit 1 on any fail; `warn`: also on any warn or error; `error`: also on any error.
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
    #[arg(long, value_enum, default_value_t = ColorMode::Auto)]
    pub color: ColorMode,
    /// Write a bundle of the whole run (the doctor's facts and the test backup's) to this file.
    #[arg(long, value_name = "PATH")]
    pub record: Option<PathBuf>,
    /// Judge a bundle written by --record instead (nothing is read or written).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["kubeconfig", "context", "record", "keep"])]
    pub from_bundle: Option<PathBuf>,
    /// More logs on stderr (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl VerifyArgs {
    /// The doctor's arguments of the run (its checks come first in verify's report).
    pub fn doctor(&self) -> DoctorArgs {
        DoctorArgs {
            cluster: ClusterArgs { kubeconfig: self.kubeconfig.clone(), namespace: self.namespace.clone(), timeout: self.read_timeout },
            contexts: self.context.iter().cloned().collect(),
            all_contexts: false,
            bsl: Vec::new(),
            output: self.output,
            output_file: self.output_file.clone(),
            only: Vec::new(),
            skip: Vec::new(),
            fail_on: self.fail_on,
            wait: Duration::ZERO,
            credentials: self.credentials.clone(),
            save_bundle: None,
            from_bundle: self.from_bundle.clone(),
            color: self.color,
            insecure: self.insecure,
            verbose: self.verbose,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyFrom {
    Cluster,
    Env,
}

#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The namespace Velero runs in (default: $VELERO_NAMESPACE, the velero client config's namespace,
    /// the namespace of the only Velero server Deployment, else velero).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Deadline for all reads of a run (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to serve /metrics and /healthz: HOST:PORT (0.0.0.0:9477 in a pod), or a port on 127.0.0.1; port 0 picks one.
    #[arg(long, default_value = "127.0.0.1:9477")]
    pub listen: String,
    /// Time between doctor runs (the first at start); scrapes are answered from the last run.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub interval: Duration,
    #[command(flatten)]
    pub doctor: DoctorArgs,
}

/// `30s`, `2m`, `1h`, `500ms`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit() && c != '.').map(|i| s.split_at(i)).unwrap_or((s, "s"));
    let n: f64 = num.parse().map_err(|_| format!("not a duration: {s:?} (use e.g. 30s, 2m, 500ms)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("not a duration: {s:?} (units: ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("not a duration: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The name usage and help show: `kubectl veldr` when the binary runs as the kubectl plugin
/// `kubectl-veldr` (kubectl execs the plugin under that file name), else `veldr`.
pub fn bin_name(argv0: Option<&std::ffi::OsStr>) -> &'static str {
    let file = argv0.and_then(|a| std::path::Path::new(a).file_stem()).map(|s| s.to_string_lossy().into_owned());
    match file.as_deref() {
        Some("kubectl-veldr") => "kubectl veldr",
        _ => "veldr",
    }
}

/// Parses the process's arguments; errors and `--help` exit as clap does (2 for usage errors).
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let name = bin_name(std::env::args_os().next().as_deref());
    let matches = Cli::command().bin_name(name).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err() && parse_size("0").is_err() && parse_size("3 furlongs").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn kubectl_plugin_name() {
        use std::ffi::OsStr;
        assert_eq!(bin_name(Some(OsStr::new("/usr/local/bin/kubectl-veldr"))), "kubectl veldr");
        assert_eq!(bin_name(Some(OsStr::new("kubectl-veldr.exe"))), "kubectl veldr");
        assert_eq!(bin_name(Some(OsStr::new("/usr/bin/veldr"))), "veldr");
        assert_eq!(bin_name(None), "veldr");
    }
}
