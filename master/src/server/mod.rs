//! The HTTP server loop: HTTP/1.1 and h2c on one port, graceful shutdown, and the limits that
//! keep a flood of connections from taking master down:
//! - a connection must send its first request within the header timeout of its accept, and a
//!   connection with no request in flight closes after the idle timeout (a long poll or a
//!   stream is in flight while it is held, so it is never cut);
//! - at most `max_connections` are open, kept below the file-descriptor limit; at the cap the
//!   connection idle the longest is closed to make room, and a new one is refused (`503`) only
//!   when every open connection is busy;
//! - when `accept` fails (out of descriptors) an idle connection is closed, the loop backs off,
//!   and the failure is logged at most once every ten seconds.

mod conn;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::telemetry::Telemetry;
use conn::{Expiry, Guarded, Registry, Tracked};

/// Descriptors kept for what is not a client connection: the database and its read pool,
/// the listener, the runtime, standard streams.
const RESERVED_FDS: u64 = 64;

/// How master treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest from the accept to a request's complete headers (and for any request's headers).
    pub header_timeout: Duration,
    /// Longest a connection stays open with no request in flight.
    pub idle_timeout: Duration,
    /// Most connections open at once (lowered to fit the file-descriptor limit).
    pub max_connections: usize,
}

/// The cap that fits this process: the soft file-descriptor limit is raised towards the hard
/// one if the configured cap needs it, and the cap lowered if it still does not fit.
pub fn effective_cap(configured: usize) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = configured as u64 + RESERVED_FDS;
    let mut soft = limit.current.unwrap_or(u64::MAX);
    if soft < wanted {
        let raised = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
        if setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(raised),
                maximum: limit.maximum,
            },
        )
        .is_ok()
        {
            soft = raised;
        }
    }
    let fits = soft.saturating_sub(RESERVED_FDS).max(1);
    configured.min(usize::try_from(fits).unwrap_or(usize::MAX))
}

/// What one failing `accept` costs: a growing pause, and one log line per ten seconds.
struct AcceptTrouble {
    backoff: Duration,
    failures: u64,
    last_logged: Option<Instant>,
}

impl AcceptTrouble {
    const LOG_EVERY: Duration = Duration::from_secs(10);

    fn new() -> Self {
        AcceptTrouble {
            backoff: Duration::ZERO,
            failures: 0,
            last_logged: None,
        }
    }

    /// Notes a failure; how long to wait before the next `accept`.
    fn failed(&mut self, error: &std::io::Error) -> Duration {
        self.failures += 1;
        let now = Instant::now();
        if self
            .last_logged
            .is_none_or(|at| now.duration_since(at) >= Self::LOG_EVERY)
        {
            tracing::warn!(
                %error,
                failures = self.failures,
                "accepting connections fails (out of file descriptors?); closing idle connections and backing off"
            );
            self.last_logged = Some(now);
            self.failures = 0;
        }
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
        self.backoff
    }

    fn succeeded(&mut self) {
        self.backoff = Duration::ZERO;
    }
}

/// Serves `app` until `shutdown`; open connections get `grace` to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    telemetry: Arc<Telemetry>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let cap = effective_cap(limits.max_connections);
    if cap < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            cap,
            "the file-descriptor limit lowers the connection cap (raise `ulimit -n`)"
        );
    }
    telemetry.connection_cap.set(cap as i64);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // A dead HTTP/2 peer is found by PINGs, even under a held long poll.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(20))
        .max_concurrent_streams(256);
    let registry = Arc::new(Registry::default());
    let mut trouble = AcceptTrouble::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                telemetry.accept_errors.inc();
                if registry.evict_idle() {
                    telemetry.connections_closed("evicted");
                }
                let pause = trouble.failed(&e);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                }
                continue;
            }
        };
        trouble.succeeded();
        if registry.len() >= cap {
            if registry.evict_idle() {
                telemetry.connections_closed("evicted");
            } else {
                telemetry.connections_closed("refused");
                refuse(stream);
                continue;
            }
        }
        let _ = stream.set_nodelay(true);
        let registered = registry.open();
        let conn = registered.conn.clone();
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            let guard = conn.start_request(request.version() == http::Version::HTTP_2);
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await?;
                Ok::<_, std::convert::Infallible>(response.map(|inner| {
                    Body::new(Guarded {
                        inner,
                        _guard: guard,
                    })
                }))
            }
        });
        let io = TokioIo::new(Tracked {
            inner: stream,
            conn: registered.conn.clone(),
        });
        let connection = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let watched = graceful.watch(connection);
        let telemetry = telemetry.clone();
        telemetry.connections_open.inc();
        tokio::spawn(async move {
            let conn = registered.conn.clone();
            tokio::pin!(watched);
            loop {
                let deadline = conn.deadline(limits.header_timeout, limits.idle_timeout);
                // While a request is in flight, look again after an idle timeout.
                let wake = deadline.map_or(Instant::now() + limits.idle_timeout, |(at, _)| at);
                tokio::select! {
                    _ = &mut watched => break,
                    () = conn.close.notified() => break,
                    () = tokio::time::sleep_until(wake) => {
                        match conn.deadline(limits.header_timeout, limits.idle_timeout) {
                            Some((at, Expiry::FirstByte)) if at <= Instant::now() => {
                                telemetry.connections_closed("first_byte_timeout");
                                break;
                            }
                            Some((at, Expiry::Idle)) if at <= Instant::now() => {
                                telemetry.connections_closed("idle_timeout");
                                break;
                            }
                            _ => {}
                        }
                    }
                }
            }
            telemetry.connections_open.dec();
            drop(registered);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {}
    }
}

/// Turns away a connection at the cap when none can be closed for it: a plain `503` if the
/// socket takes it at once, then close.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(&refusal());
}

/// The `503` a refused connection gets, in the API's error shape.
fn refusal() -> Vec<u8> {
    let body = atlhyper_model::codec::encode_json(&atlhyper_model::api::ErrorBody::new(
        "too_many_connections",
        "master is at its connection cap; retry shortly",
    ));
    let mut response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_under_the_descriptor_limit() {
        let cap = effective_cap(usize::MAX / 2);
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        assert!(
            cap as u64 + RESERVED_FDS <= soft.max(RESERVED_FDS + 1),
            "{cap} vs {soft}"
        );
        assert_eq!(effective_cap(10), 10);
    }

    #[test]
    fn the_refusal_is_a_whole_json_503() {
        let response = String::from_utf8(refusal()).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(parsed["error"]["code"], "too_many_connections");
    }

    #[tokio::test(start_paused = true)]
    async fn accept_failures_back_off_and_log_once_per_ten_seconds() {
        let mut trouble = AcceptTrouble::new();
        let e = std::io::Error::from_raw_os_error(24);
        let pauses: Vec<Duration> = (0..10).map(|_| trouble.failed(&e)).collect();
        assert_eq!(pauses[0], Duration::from_millis(5));
        assert_eq!(pauses[1], Duration::from_millis(10));
        assert_eq!(pauses[9], Duration::from_secs(1));
        assert!(trouble.last_logged.is_some());
        assert_eq!(
            trouble.failures, 9,
            "nine failures wait for the next log line"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        trouble.failed(&e);
        assert_eq!(trouble.failures, 0, "logged again after ten seconds");
        trouble.succeeded();
        assert_eq!(trouble.failed(&e), Duration::from_millis(5));
    }
}
