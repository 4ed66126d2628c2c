//! Pod logs: deterministic, plausible lines per container, derived from the pod's uid, the
//! container, its image and its run times, so the same query answers the same way.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::status::{ApiError, ApiResult};

/// What kind of program a container runs, read from its image and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    WebServer,
    Worker,
    Database,
    Generic,
}

fn workload(image: &str, name: &str) -> Workload {
    let text = format!("{image} {name}").to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&[
        "nginx", "envoy", "web", "frontend", "api", "gateway", "ingress", "httpd",
    ]) {
        Workload::WebServer
    } else if has(&[
        "worker", "job", "batch", "report", "queue", "consumer", "cron",
    ]) {
        Workload::Worker
    } else if has(&["postgres", "mysql", "redis", "mongo", "db"]) {
        Workload::Database
    } else {
        Workload::Generic
    }
}

/// A small deterministic hash (FNV-1a) to vary lines without randomness.
fn hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
    }
    h
}

fn rfc3339(ms: i64, nanos: bool) -> String {
    let ts = k8s_openapi::jiff::Timestamp::from_millisecond(ms).expect("in range");
    if nanos {
        format!("{}", ts.strftime("%Y-%m-%dT%H:%M:%S.%6f000Z"))
    } else {
        format!("{}", ts.strftime("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// One line of a run, at `ms`, the `seq`-th since the run started.
fn line(kind: Workload, seed: u64, seq: u64, ms: i64) -> String {
    let h = hash(&[&seed.to_le_bytes(), &seq.to_le_bytes()]);
    let ts = rfc3339(ms, false);
    match kind {
        Workload::WebServer => {
            const PATHS: [&str; 8] = [
                "/",
                "/healthz",
                "/api/v1/items",
                "/api/v1/cart",
                "/static/app.js",
                "/api/v1/checkout",
                "/login",
                "/metrics",
            ];
            let path = PATHS[(h % 8) as usize];
            let status = match h % 50 {
                0 => 500,
                1..=3 => 404,
                4 => 302,
                _ => 200,
            };
            let bytes = 200 + (h >> 8) % 40_000;
            let ip = format!("10.244.{}.{}", (h >> 20) % 8, 2 + (h >> 24) % 250);
            let latency = 0.001 + ((h >> 32) % 400) as f64 / 1000.0;
            format!(
                "{ip} - - [{ts}] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"kube-probe/1.33\" {latency:.3}"
            )
        }
        Workload::Worker => match h % 4 {
            0 => format!("{ts} INFO  picked job id={} queue=default", 10_000 + seq),
            1 => format!("{ts} INFO  processing batch of {} records", 50 + h % 450),
            2 => format!(
                "{ts} INFO  job id={} done in {}ms",
                10_000 + seq.saturating_sub(2),
                20 + h % 3000
            ),
            _ => format!("{ts} DEBUG heartbeat ok"),
        },
        Workload::Database => match h % 3 {
            0 => format!("{ts} LOG:  checkpoint starting: time"),
            1 => format!(
                "{ts} LOG:  checkpoint complete: wrote {} buffers ({:.1}%)",
                h % 900,
                (h % 100) as f64 / 10.0
            ),
            _ => format!(
                "{ts} LOG:  connection received: host=10.244.1.{} port={}",
                h % 250,
                30_000 + h % 20_000
            ),
        },
        Workload::Generic => format!("{ts} INFO  tick {seq}: all good"),
    }
}

/// The lines of a run that ended with a crash: startup, then the error and its stack trace.
fn crash_lines(
    container: &str,
    started_ms: i64,
    finished_ms: i64,
    exit_code: i32,
) -> Vec<(i64, String)> {
    let at = |offset: i64| (started_ms + offset).min(finished_ms);
    let ts = |ms: i64| rfc3339(ms, false);
    let mut lines = vec![
        (at(0), format!("{} INFO  starting {container}", ts(at(0)))),
        (
            at(200),
            format!(
                "{} INFO  loading configuration from /etc/{container}/config.yaml",
                ts(at(200))
            ),
        ),
        (
            at(900),
            format!(
                "{} INFO  connecting to postgres.data.svc.cluster.local:5432",
                ts(at(900))
            ),
        ),
    ];
    if exit_code == 137 {
        lines.push((
            at(1500),
            format!("{} WARN  heap usage 97% of limit", ts(at(1500))),
        ));
        return lines;
    }
    let end = finished_ms;
    lines.extend([
        (
            end,
            format!(
                "{} ERROR dial tcp 10.96.40.12:5432: connect: connection refused",
                ts(end)
            ),
        ),
        (
            end,
            "panic: cannot start without a database connection".to_owned(),
        ),
        (end, String::new()),
        (end, "goroutine 1 [running]:".to_owned()),
        (end, "main.mustConnect(0xc0000a2000)".to_owned()),
        (end, format!("\t/src/cmd/{container}/main.go:88 +0x1d4")),
        (end, "main.main()".to_owned()),
        (end, format!("\t/src/cmd/{container}/main.go:41 +0x65")),
        (end, format!("exit status {exit_code}")),
    ]);
    lines
}

/// `pods/log` parameters.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub container: Option<String>,
    pub tail_lines: Option<usize>,
    pub since_seconds: Option<i64>,
    /// `sinceTime`, in ms (the API takes one of it and `sinceSeconds`).
    pub since_ms: Option<i64>,
    pub timestamps: bool,
    pub previous: bool,
    pub limit_bytes: Option<usize>,
}

impl LogQuery {
    /// The first instant shown: `sinceTime`, else `sinceSeconds` before now.
    fn since(&self, now_ms: i64) -> Option<i64> {
        self.since_ms
            .or_else(|| self.since_seconds.map(|s| now_ms - s * 1000))
    }
}

/// How many seconds apart a workload logs.
fn period_ms(kind: Workload) -> i64 {
    match kind {
        Workload::WebServer => 1_500,
        Workload::Worker => 4_000,
        Workload::Database => 15_000,
        Workload::Generic => 10_000,
    }
}

/// The log text of a container up to `now_ms`.
///
/// # Errors
/// 400 when the pod has several containers and none is named, the container does not exist, or
/// it has not started (as the kubelet answers).
pub fn logs(pod: &Pod, query: &LogQuery, now_ms: i64) -> ApiResult<String> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let container = match &query.container {
        Some(c) => c.clone(),
        None if spec.containers.len() == 1 => spec.containers[0].name.clone(),
        None => {
            let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    let image = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == container)
        .map(|c| c.image.clone().unwrap_or_default())
        .ok_or_else(|| {
            ApiError::bad_request(format!("container {container} is not valid for pod {name}"))
        })?;
    let status: Option<ContainerStatus> = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == container).cloned());
    let state = status
        .as_ref()
        .and_then(|s| s.state.clone())
        .unwrap_or_default();
    let last = status
        .as_ref()
        .and_then(|s| s.last_state.as_ref())
        .and_then(|s| s.terminated.clone());
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let kind = workload(&image, &container);

    // The run to show: the previous one, a crashed one, or the current one.
    let mut lines: Vec<(i64, String)> = Vec::new();
    let restarts = status.as_ref().map_or(0, |s| s.restart_count);
    if query.previous {
        let t = last.ok_or_else(|| {
            ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            ))
        })?;
        let started = t.started_at.map_or(now_ms, |t| t.0.as_millisecond());
        let finished = t.finished_at.map_or(now_ms, |t| t.0.as_millisecond());
        lines = crash_lines(&container, started, finished, t.exit_code);
    } else if let Some(running) = &state.running {
        let started = running
            .started_at
            .as_ref()
            .map_or(now_ms, |t| t.0.as_millisecond());
        let seed = hash(&[
            uid.as_bytes(),
            container.as_bytes(),
            &restarts.to_le_bytes(),
        ]);
        let period = period_ms(kind);
        let count = ((now_ms - started).max(0) / period) as u64;
        // Only as many lines as could be asked for are generated.
        let wanted = query.tail_lines.map_or(count, |t| (t as u64).min(count));
        let since_ms = query.since(now_ms);
        let first_seq = count - wanted;
        lines.push((
            started,
            format!(
                "{} INFO  starting {container} ({image})",
                rfc3339(started, false)
            ),
        ));
        for seq in first_seq..count {
            let ms = started + (seq as i64 + 1) * period;
            if since_ms.is_some_and(|s| ms < s) {
                continue;
            }
            lines.push((ms, line(kind, seed, seq, ms)));
        }
    } else if let Some(t) = state.terminated.or_else(|| {
        state
            .waiting
            .as_ref()
            .filter(|w| w.reason.as_deref() == Some("CrashLoopBackOff"))
            .and(last.clone())
    }) {
        let started = t.started_at.map_or(now_ms, |t| t.0.as_millisecond());
        let finished = t.finished_at.map_or(now_ms, |t| t.0.as_millisecond());
        lines = crash_lines(&container, started, finished, t.exit_code);
    } else {
        let reason = state
            .waiting
            .and_then(|w| w.reason)
            .unwrap_or_else(|| "ContainerCreating".to_owned());
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    if let Some(since) = query.since(now_ms) {
        lines.retain(|(ms, _)| *ms >= since);
    }
    if let Some(tail) = query.tail_lines {
        let skip = lines.len().saturating_sub(tail);
        lines.drain(..skip);
    }
    let mut text = String::new();
    for (ms, l) in lines {
        if query.timestamps {
            text.push_str(&rfc3339(ms, true));
            text.push(' ');
        }
        text.push_str(&l);
        text.push('\n');
    }
    if let Some(limit) = query.limit_bytes
        && text.len() > limit
    {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_read_from_images() {
        assert_eq!(workload("nginx:1.27", "web"), Workload::WebServer);
        assert_eq!(
            workload("registry/shop/report:0.7", "report"),
            Workload::Worker
        );
        assert_eq!(workload("postgres:16", "db"), Workload::Database);
        assert_eq!(workload("busybox", "main"), Workload::Generic);
    }

    #[test]
    fn lines_are_deterministic() {
        assert_eq!(
            line(Workload::WebServer, 7, 3, 0),
            line(Workload::WebServer, 7, 3, 0)
        );
        assert_ne!(
            line(Workload::WebServer, 7, 3, 0),
            line(Workload::WebServer, 7, 4, 0)
        );
    }
}
