//! The velero container's log (`GET …/pods/NAME/log`), read as soon as the Velero Deployment and its pods
//! are listed: the last hour of each current pod's velero container, capped in bytes, and the last lines
//! of the previous container when it restarted. Each read is scanned here (`upstream::velero_logs::scan`):
//! only counts and the scrubbed lines of known telltales reach the facts; the log itself is dropped.

use super::kube::{bounded, Deadline};
use crate::facts::logs::{LogRead, PodLogs, VeleroLogs, MAX_PODS};
use crate::facts::{List, Object, Read, ReadError, ReadErrorKind};
use crate::rules::pods::{condition_true, is_current_pod, pods_of};
use crate::upstream::velero;
use futures::AsyncReadExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use kube::Client;

/// The window of the running container's log that is judged.
pub const SINCE_SECONDS: i64 = 3600;
/// Bytes read of the running container's log (the kubelet stops there: `limitBytes`), and of the previous one.
pub const CURRENT_LIMIT: usize = 2 << 20;
pub const PREVIOUS_LIMIT: usize = 1 << 20;
/// Lines of the previous container's log: its end, whatever its age (what it said before it died).
pub const PREVIOUS_TAIL: i64 = 2000;

const RESOURCE: &str = "pods/log";

/// Reads the logs of the Velero Deployment's current pods (`Ok(None)`: no Deployment or no current pod).
/// A refused read (RBAC) is the answer; a kubelet that has no log yet (`… is waiting to start`) is a problem
/// of that read; a read that timed out or failed on every pod is the answer too.
pub async fn read(client: &Client, namespace: &str, deployment: &Read<Option<Deployment>>, pods: &Read<List<Pod>>, deadline: Deadline) -> Read<Option<VeleroLogs>> {
    let not_attempted = |why: String| ReadError::new(ReadErrorKind::NotAttempted, "get", RESOURCE, Some(namespace), why);
    let dep = match deployment {
        Ok(Some(d)) => d,
        Ok(None) => return Ok(None),
        Err(e) => return Err(not_attempted(format!("the Deployments were not read: {}", e.explain()))),
    };
    let pods = pods.as_ref().map_err(|e| not_attempted(format!("the pods were not read: {}", e.explain())))?;
    let Some(container) = velero::server_container(dep).map(|c| c.name.clone()) else { return Ok(None) };
    let mut current: Vec<&Pod> = pods_of(dep, pods).into_iter().filter(|p| is_current_pod(p)).collect();
    // Ready pods first, then the newest: a stuck rollout's crashing pod is read too.
    current.sort_by_key(|p| (condition_true(*p, "Ready") != Some(true), std::cmp::Reverse(p.meta().creation_timestamp.as_ref().map(|t| t.0))));
    current.truncate(MAX_PODS);
    if current.is_empty() {
        return Ok(None);
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let reads = current.iter().map(|pod| read_pod(&api, namespace, pod, &container, deadline));
    let results: Vec<Result<PodLogs, ReadError>> = futures::future::join_all(reads).await;
    let mut out = VeleroLogs::default();
    let mut failed: Option<ReadError> = None;
    for r in results {
        match r {
            Ok(p) => out.pods.push(p),
            Err(e) if matches!(e.kind, ReadErrorKind::Forbidden | ReadErrorKind::Unauthorized) => return Err(e),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    match (out.pods.is_empty(), failed) {
        (true, Some(e)) => Err(e),
        _ => Ok(Some(out)),
    }
}

async fn read_pod(api: &Api<Pod>, namespace: &str, pod: &Pod, container: &str, deadline: Deadline) -> Result<PodLogs, ReadError> {
    let name = pod.name().to_string();
    let status = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|l| l.iter().find(|c| c.name == container));
    let terminated = status.and_then(|s| s.last_state.as_ref()).and_then(|l| l.terminated.as_ref());
    let restarted = terminated.map(|t| {
        let when = t.finished_at.as_ref().map(|f| format!(" at {}", f.0)).unwrap_or_default();
        format!("{} (exit {}){when}", t.reason.as_deref().unwrap_or("terminated"), t.exit_code)
    });
    let current = LogParams { container: Some(container.to_string()), since_seconds: Some(SINCE_SECONDS), limit_bytes: Some(CURRENT_LIMIT as i64), ..Default::default() };
    let query = format!("container={container}&sinceSeconds={SINCE_SECONDS}&limitBytes={CURRENT_LIMIT}");
    let current = one_read(api, namespace, &name, &current, query, CURRENT_LIMIT, deadline);
    // The previous container's log, when the container restarted and runs again: a container waiting to
    // restart already answers the current read with the log of the run that died (the kubelet's choice).
    let running = status.and_then(|s| s.state.as_ref()).is_some_and(|s| s.running.is_some());
    let previous = async {
        if !running || (terminated.is_none() && status.is_none_or(|s| s.restart_count == 0)) {
            return Ok(None);
        }
        let lp = LogParams { container: Some(container.to_string()), previous: true, tail_lines: Some(PREVIOUS_TAIL), limit_bytes: Some(PREVIOUS_LIMIT as i64), ..Default::default() };
        let query = format!("container={container}&previous=true&tailLines={PREVIOUS_TAIL}&limitBytes={PREVIOUS_LIMIT}");
        one_read(api, namespace, &name, &lp, query, PREVIOUS_LIMIT, deadline).await.map(Some)
    };
    let (current, previous) = futures::join!(current, previous);
    let current = current?;
    // The previous log is a bonus: a refusal or failure of it is said, the current read still counts.
    let previous = match previous {
        Ok(p) => p,
        Err(e) => Some(LogRead { problem: Some(e.explain()), ..Default::default() }),
    };
    Ok(PodLogs { pod: name, container: container.to_string(), current, previous, restarted })
}

/// One read, streamed and cut at `limit` bytes whatever the server does, then scanned.
async fn one_read(api: &Api<Pod>, namespace: &str, pod: &str, lp: &LogParams, query: String, limit: usize, deadline: Deadline) -> Result<LogRead, ReadError> {
    let mut read = LogRead { query, limit_bytes: limit as u64, ..Default::default() };
    let fetch = async {
        let stream = api.log_stream(pod, lp).await?;
        let mut bytes = Vec::new();
        let cut = stream.take(limit as u64 + 1).read_to_end(&mut bytes).await;
        Ok::<_, kube::Error>((bytes, cut.err()))
    };
    match bounded(fetch, deadline, "get", RESOURCE, Some(namespace)).await {
        Ok((mut bytes, cut)) => {
            read.capped = bytes.len() >= limit;
            bytes.truncate(limit);
            read.bytes = bytes.len() as u64;
            if let Some(e) = cut {
                read.problem = Some(format!("the log was cut after {} bytes: {e}", bytes.len()));
            }
            crate::upstream::velero_logs::scan(&String::from_utf8_lossy(&bytes), &mut read, jiff::Timestamp::now());
            Ok(read)
        }
        // The kubelet's own answers: no log (yet) for this container. Said, not an error.
        Err(e) if e.kind == ReadErrorKind::Server && e.message.starts_with("HTTP 400") => {
            read.problem = Some(e.message.trim_start_matches("HTTP 400: ").to_string());
            Ok(read)
        }
        // A 404 of a pod listed a moment ago: it is gone (a rollout replaced it).
        Err(e) if e.kind == ReadErrorKind::NotServed => {
            read.problem = Some(format!("the pod is gone ({})", e.message));
            Ok(read)
        }
        Err(e) => Err(e),
    }
}
