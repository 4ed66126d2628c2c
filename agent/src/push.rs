//! Pushing to master: each source on its schedule, and early — `early_push` after its first
//! unpushed change, at most once per `early_push` — so a change reaches master quickly. Sources
//! due together travel in one gzip request.
//!
//! A list goes as deltas (only what changed, numbered; see `crate::outbox`) once it has gone
//! whole, with an empty delta on its schedule so master knows it is alive, and whole again on
//! the safety-net schedule (`--snapshot-interval`), after a relist, when master answers
//! `resync`, or when too much is owed. A master that does not know deltas (`unknown_source`)
//! gets whole lists from then on, as does every master with `--deltas=false`. While master is
//! away, events queue (bounded in the cache) and deltas are owed (bounded; past the bound the
//! list goes whole when master is back).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atlhyper_model::api::IngestReceipt;
use atlhyper_model::codec;
use atlhyper_model::resources::Event;
use atlhyper_model::{Envelope, Payload, Source};
use atlhyper_runtime::Backoff;
use atlhyper_runtime::http::{self, Auth, HttpError, Post};
use tokio_util::sync::CancellationToken;

use crate::cache::{Cache, ListPush};
use crate::outbox::Written;
use crate::telemetry::Telemetry;

/// Why a push did not land.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Master is unreachable, slow or failing: try again later with the latest data.
    #[error("master unavailable: {0}")]
    Unavailable(String),
    /// Master refused the token: nothing will work until the configuration changes.
    #[error("master refused the token ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// Master asks for less (429, or 503 with `Retry-After`): the same data, after this long.
    #[error("master asks to retry in {0:?}")]
    Throttled(Duration),
    /// Master refused the data (400, 413): sending it again would be refused again.
    #[error("master rejected the push ({status}): {message}")]
    Rejected { status: u16, message: String },
}

/// Master's `/ingest`.
pub struct Master {
    client: reqwest::Client,
    url: String,
    auth: Auth,
}

impl Master {
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Self {
        Master {
            client: http::client(Some(timeout)),
            url: format!("{}/ingest", base.trim_end_matches('/')),
            auth: Auth::bearer(token.as_deref()),
        }
    }

    /// Sends a batch, gzip'd; master's receipt (`None` when its answer is not one: an older
    /// master's is, without `resync`).
    ///
    /// # Errors
    /// [`PushError`] by what master (or the network) answered.
    pub async fn push(&self, body: Vec<u8>) -> Result<Option<IngestReceipt>, PushError> {
        let post = Post::json(&self.url, body, &self.auth).gzip();
        match http::post(&self.client, post).await {
            Ok(response) => Ok(response.json::<IngestReceipt>().await.ok()),
            Err(HttpError::Unreachable(e)) => Err(PushError::Unavailable(e)),
            Err(HttpError::Status {
                status,
                retry_after,
                body: message,
            }) => Err(match (status, retry_after) {
                (429 | 503, Some(wait)) => PushError::Throttled(wait),
                (401 | 403, _) => PushError::Unauthorized { status, message },
                (400 | 413 | 415, _) => PushError::Rejected { status, message },
                _ => PushError::Unavailable(format!("{status}: {message}")),
            }),
        }
    }
}

/// The agent's back-off after failed pushes and polls: one second, doubling to half a minute.
pub const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

/// Bodies up to this size are compressed where they are sent; bigger ones (whole lists) on
/// the blocking pool.
const COMPRESS_INLINE_BYTES: usize = 256 * 1024;

/// When a changed source is next pushed early: `early` after its first unpushed change
/// (`first`), and no sooner than `early` after its last early push.
fn early_wake(first: Instant, last_early: Option<Instant>, early: Duration) -> Instant {
    last_early.map_or(first, |t| t.max(first)) + early
}

pub struct Pusher {
    pub cache: Arc<Cache>,
    pub master: Master,
    pub cluster_id: String,
    pub schedule: BTreeMap<Source, Duration>,
    pub early: Duration,
    /// Lists go as deltas (numbered in `epoch`), whole every `snapshot_interval`.
    pub deltas: bool,
    pub snapshot_interval: Duration,
    /// Drawn at start: master tells this run's pushes from a replay of an earlier run's.
    pub epoch: String,
    pub telemetry: Arc<Telemetry>,
}

/// A random epoch: 16 letters and digits.
pub fn new_epoch() -> String {
    use rand::{Rng as _, SeedableRng as _};
    rand::rngs::StdRng::from_os_rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

/// What one push carries: the body (a JSON array of envelopes, not yet compressed), and what
/// is needed to settle it afterwards.
struct Batch {
    json: Vec<u8>,
    /// The source of each envelope in `json`, in order.
    sent: Vec<Source>,
    /// The sources this push settles (due ones, less any still listing for the first time).
    sources: Vec<Source>,
    /// What each list wrote, with the index of its first envelope in `sent`.
    lists: Vec<(Source, Written, usize)>,
    /// The events taken from the cache, to put back if the push fails.
    events: Vec<Event>,
    built_at: Instant,
}

impl Batch {
    fn has_deltas(&self) -> bool {
        self.sent.iter().any(|s| s.is_delta())
    }
}

/// How each list due goes out in one push.
struct ListPlan<'a> {
    /// Deltas are on for this master.
    deltas: bool,
    /// Lists whose safety-net whole push is due.
    whole_due: &'a dyn Fn(Source) -> bool,
    /// Lists whose scheduled push is due (an empty delta if nothing changed).
    heartbeat_due: &'a dyn Fn(Source) -> bool,
}

impl Pusher {
    fn build(&self, due: &[Source], now_ms: i64, plan: &ListPlan<'_>) -> Batch {
        let built_at = Instant::now();
        let mut batch = Batch {
            json: b"[".to_vec(),
            sent: Vec::new(),
            sources: Vec::new(),
            lists: Vec::new(),
            events: Vec::new(),
            built_at,
        };
        for source in due {
            let mark = batch.json.len();
            if !batch.sent.is_empty() {
                batch.json.push(b',');
            }
            let written = match source {
                Source::Events => {
                    batch.events = self.cache.take_events();
                    self.write_typed(&mut batch.json, now_ms, Payload::Events, &batch.events)
                }
                Source::MetricsSnapshot => {
                    let samples = self.cache.samples();
                    self.write_typed(&mut batch.json, now_ms, Payload::MetricsSnapshot, &samples)
                }
                list => {
                    let how = if plan.deltas && !(plan.whole_due)(*list) {
                        ListPush::Deltas {
                            heartbeat: (plan.heartbeat_due)(*list),
                        }
                    } else {
                        ListPush::Whole
                    };
                    let epoch = plan.deltas.then_some(self.epoch.as_str());
                    let Some(written) = self.cache.write_list(
                        *list,
                        &self.cluster_id,
                        now_ms,
                        epoch,
                        how,
                        &mut batch.json,
                    ) else {
                        // A kind still listing for the first time is not due yet.
                        batch.json.truncate(mark);
                        continue;
                    };
                    batch.sources.push(*list);
                    let envelopes = written.envelopes();
                    if envelopes == 0 {
                        batch.json.truncate(mark);
                        continue;
                    }
                    let sent_as = match written {
                        Written::Whole { .. } => *list,
                        Written::Deltas { .. } => list.delta().expect("a list source"),
                    };
                    batch.lists.push((*list, written, batch.sent.len()));
                    batch.sent.extend(std::iter::repeat_n(sent_as, envelopes));
                    continue;
                }
            };
            batch.sources.push(*source);
            if written {
                batch.sent.push(*source);
            } else {
                batch.json.truncate(mark);
            }
        }
        batch.json.push(b']');
        batch
    }

    /// Writes an envelope of typed items (events, node samples: few, and sent once); `false`
    /// (writing nothing) when there are none.
    fn write_typed<T: Clone>(
        &self,
        out: &mut Vec<u8>,
        now_ms: i64,
        payload: fn(Vec<T>) -> Payload,
        items: &[T],
    ) -> bool {
        if items.is_empty() {
            return false;
        }
        let envelope = Envelope::new(self.cluster_id.clone(), now_ms, payload(items.to_vec()));
        serde_json::to_writer(out, &envelope).expect("JSON into memory");
        true
    }

    /// Pushes until `shutdown`, then pushes what changed once more.
    pub async fn run(self, shutdown: CancellationToken) {
        let start = Instant::now();
        let mut next_full: HashMap<Source, Instant> =
            self.schedule.keys().map(|s| (*s, start)).collect();
        // The safety net: when each list next goes whole (deltas on).
        let mut next_whole: HashMap<Source, Instant> = HashMap::new();
        let mut deltas = self.deltas;
        let mut last_early: HashMap<Source, Instant> = HashMap::new();
        let mut failures = 0u32;
        let mut retry_at = start;
        // After master refused a batch of several sources, each is pushed alone once, so one
        // bad (or too large) source does not take the others down with it.
        let mut split = false;
        loop {
            let now = Instant::now();
            let dirty = self.cache.dirty();
            let early_due = |source: &Source, first: &Instant| {
                now >= early_wake(*first, last_early.get(source).copied(), self.early)
            };
            // A kind still listing for the first time is not pushed (nor waited for: its first
            // list completing wakes this loop).
            let ready: Vec<Source> = self
                .schedule
                .keys()
                .filter(|s| self.cache.is_ready(**s))
                .copied()
                .collect();
            let due: Vec<Source> = if now < retry_at {
                Vec::new()
            } else {
                ready
                    .iter()
                    .filter(|s| {
                        now >= next_full[*s] || dirty.get(*s).is_some_and(|f| early_due(s, f))
                    })
                    .copied()
                    .collect()
            };
            if !due.is_empty() {
                let groups: Vec<Vec<Source>> = if std::mem::take(&mut split) {
                    due.iter().map(|s| vec![*s]).collect()
                } else {
                    vec![due]
                };
                for group in groups {
                    let mut batch = {
                        let whole_due = |s: Source| next_whole.get(&s).is_none_or(|t| now >= *t);
                        let heartbeat_due = |s: Source| now >= next_full[&s];
                        let plan = ListPlan {
                            deltas,
                            whole_due: &whole_due,
                            heartbeat_due: &heartbeat_due,
                        };
                        self.build(&group, crate::now_ms(), &plan)
                    };
                    match self.send(&mut batch).await {
                        Ok(receipt) => {
                            failures = 0;
                            self.settle_lists(&batch, receipt.as_ref(), false);
                            for (list, written, _) in &batch.lists {
                                if matches!(written, Written::Whole { .. }) {
                                    next_whole.insert(*list, now + self.snapshot_interval);
                                }
                            }
                            self.settle(&batch, now, &dirty, &mut next_full, &mut last_early);
                        }
                        Err(PushError::Rejected { status, message })
                            if batch.has_deltas() && message.contains("unknown_source") =>
                        {
                            tracing::warn!(status, %message, "master does not take deltas (an older master?); lists go whole from now on");
                            deltas = false;
                            self.cache.send_all_whole();
                            self.requeue(batch);
                        }
                        Err(PushError::Rejected { status, message }) if batch.sources.len() > 1 => {
                            tracing::warn!(status, %message, sources = ?batch.sent, "master refused a push of several sources; pushing each alone");
                            self.settle_lists(&batch, None, true);
                            self.requeue(batch);
                            split = true;
                        }
                        Err(PushError::Rejected { status, message }) => {
                            tracing::error!(status, %message, sources = ?batch.sources, "master rejected a push; it is dropped");
                            // What master refuses is not resent: a list goes whole next.
                            self.cache.settle_lists_refused(&batch.lists);
                            self.settle(&batch, now, &dirty, &mut next_full, &mut last_early);
                        }
                        Err(e) => {
                            failures += 1;
                            let wait = match &e {
                                PushError::Unauthorized { .. } => Duration::from_secs(30),
                                PushError::Throttled(wait) => *wait,
                                _ => BACKOFF.delay(failures),
                            };
                            if failures == 1 || failures.is_power_of_two() {
                                tracing::warn!(error = %e, failures, retry_in = ?wait, "push failed");
                            }
                            retry_at = Instant::now() + wait;
                            self.settle_lists(&batch, None, true);
                            self.requeue(batch);
                            break;
                        }
                    }
                }
                continue;
            }
            // Sleep until the next full push, early push or retry of a ready source, or a
            // change. The wake is never in the past: an idle loop always waits.
            let dirty_wake = dirty
                .iter()
                .filter(|(s, _)| ready.contains(s))
                .map(|(s, first)| early_wake(*first, last_early.get(s).copied(), self.early));
            let wake = ready
                .iter()
                .map(|s| next_full[s])
                .chain(dirty_wake)
                .min()
                .unwrap_or(now + Duration::from_secs(1))
                .max(retry_at)
                .max(now + Duration::from_millis(10));
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep_until(wake.into()) => {}
                () = self.cache.wake.notified() => {}
            }
        }
        // A last push of what changed since the previous one.
        let dirty: Vec<Source> = self.cache.dirty().into_keys().collect();
        if !dirty.is_empty() {
            let mut batch = {
                let plan = ListPlan {
                    deltas,
                    whole_due: &|s| !next_whole.contains_key(&s),
                    heartbeat_due: &|_| false,
                };
                self.build(&dirty, crate::now_ms(), &plan)
            };
            if let Err(e) = self.send(&mut batch).await {
                tracing::warn!(error = %e, "the last push before shutdown failed");
            }
        }
    }

    /// A push master took (or refused for good): its sources are pushed in full next at their
    /// schedule, and clean unless they changed while it was built.
    fn settle(
        &self,
        batch: &Batch,
        now: Instant,
        dirty: &HashMap<Source, Instant>,
        next_full: &mut HashMap<Source, Instant>,
        last_early: &mut HashMap<Source, Instant>,
    ) {
        for source in &batch.sources {
            next_full.insert(*source, now + self.schedule[source]);
            if dirty.contains_key(source) {
                last_early.insert(*source, now);
            }
            self.cache.clean(*source, batch.built_at);
        }
    }

    /// Settles each list a push carried: by master's receipt when it landed (a `resync` for
    /// any of a list's deltas sends it whole next), or as not landed (`failed`).
    fn settle_lists(&self, batch: &Batch, receipt: Option<&IngestReceipt>, failed: bool) {
        for (list, written, first) in &batch.lists {
            let resync: Vec<bool> = (0..written.envelopes())
                .map(|i| {
                    receipt
                        .and_then(|r| r.accepted.get(first + i))
                        .is_some_and(|count| count.resync)
                })
                .collect();
            let asked = resync.iter().filter(|r| **r).count();
            if asked > 0 {
                tracing::info!(source = %list, "master asked for the whole list (a delta went missing)");
                self.telemetry.resyncs.inc_by(asked as u64);
            }
            self.cache.settle_list(*list, written, &resync, failed);
        }
    }

    async fn send(&self, batch: &mut Batch) -> Result<Option<IngestReceipt>, PushError> {
        if batch.sent.is_empty() {
            return Ok(None);
        }
        let body = if batch.json.len() < COMPRESS_INLINE_BYTES {
            codec::gzip(&batch.json, codec::DEFAULT_GZIP_LEVEL)
        } else {
            // A whole list takes a while: not on the thread that reads the watches.
            let json = std::mem::take(&mut batch.json);
            tokio::task::spawn_blocking(move || codec::gzip(&json, codec::DEFAULT_GZIP_LEVEL))
                .await
                .map_err(|e| PushError::Unavailable(format!("compressing the batch: {e}")))?
        };
        let bytes = body.len();
        let started = Instant::now();
        let result = self.master.push(body).await;
        self.telemetry
            .record_push(&batch.sent, bytes, started.elapsed(), &result);
        result
    }

    /// A failed batch's events go back to the cache; snapshot sources stay dirty and are
    /// rebuilt, from the latest state, when the push is retried.
    fn requeue(&self, batch: Batch) {
        if !batch.events.is_empty() {
            self.cache.return_events(batch.events);
        }
        for source in batch.sources {
            self.cache.touch(source);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_429_with_retry_after_is_waited_out_not_dropped() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: 0\r\n\r\n",
                )
                .await;
        });
        let master = Master::new(&format!("http://{addr}"), None, Duration::from_secs(5));
        let e = master.push(b"{}".to_vec()).await.unwrap_err();
        assert!(
            matches!(e, PushError::Throttled(wait) if wait == Duration::from_secs(7)),
            "{e:?}"
        );
    }

    /// The envelopes of a push's gzip body.
    fn envelopes(body: &[u8]) -> Vec<serde_json::Value> {
        let json =
            codec::decompress(body, codec::ContentEncoding::Gzip, &Default::default()).unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    /// Serves a fake master on a loopback port; its URL.
    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    /// A fixture envelope's payload.
    fn fixture(name: &str) -> Payload {
        let path = format!(
            "{}/../model/tests/fixtures/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let envelope: Envelope =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        envelope.payload
    }

    /// A master that takes a push of one envelope and refuses any batch of more as too large
    /// (what a tight --max-body-bytes does); the sources it took.
    async fn one_envelope_master() -> (String, Arc<parking_lot::Mutex<Vec<String>>>) {
        let taken: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let seen = taken.clone();
        let app = axum::Router::new().route(
            "/ingest",
            axum::routing::post(move |body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let batch = envelopes(&body);
                    if batch.len() > 1 {
                        return axum::http::StatusCode::PAYLOAD_TOO_LARGE;
                    }
                    let source = batch[0]["source"].as_str().unwrap().to_owned();
                    seen.lock().push(source);
                    axum::http::StatusCode::ACCEPTED
                }
            }),
        );
        let url = serve(app).await;
        (url, taken)
    }

    #[tokio::test]
    async fn a_refused_batch_of_several_sources_is_split_and_what_is_valid_gets_through() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (url, taken) = one_envelope_master().await;
        let cache = Arc::new(Cache::new(1_000, Duration::from_secs(60)));
        let Payload::Events(events) = fixture("events") else {
            panic!("the events fixture")
        };
        cache.add_events(events);
        let Payload::MetricsSnapshot(samples) = fixture("metrics_snapshot") else {
            panic!("the metrics fixture")
        };
        for sample in samples {
            cache.add_sample(sample);
        }
        let pusher = Pusher {
            cache,
            master: Master::new(&url, None, Duration::from_secs(5)),
            cluster_id: "c1".into(),
            schedule: [
                (Source::Events, Duration::from_secs(60)),
                (Source::MetricsSnapshot, Duration::from_secs(60)),
            ]
            .into(),
            early: Duration::from_millis(50),
            deltas: true,
            snapshot_interval: Duration::from_secs(300),
            epoch: new_epoch(),
            telemetry: Arc::new(Telemetry::new()),
        };
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(pusher.run(shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        shutdown.cancel();
        running.await.unwrap();
        let mut taken = taken.lock().clone();
        taken.sort();
        taken.dedup();
        assert_eq!(taken, ["events", "metrics_snapshot"]);
    }

    /// A master from before deltas: `unknown_source` for a delta, 202 for anything else; what
    /// it was sent, in order (source, and whether numbered).
    async fn master_before_deltas() -> (String, Arc<parking_lot::Mutex<Vec<(String, bool)>>>) {
        let seen: Arc<parking_lot::Mutex<Vec<(String, bool)>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/ingest",
            axum::routing::post(move |body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    let batch = envelopes(&body);
                    let mut delta = false;
                    for envelope in &batch {
                        let source = envelope["source"].as_str().unwrap().to_owned();
                        delta |= source.ends_with("_delta");
                        log.lock().push((source, envelope.get("seq").is_some()));
                    }
                    if delta {
                        return (
                            axum::http::StatusCode::BAD_REQUEST,
                            r#"{"error":{"code":"unknown_source","message":"unknown source `pod_delta`"}}"#,
                        );
                    }
                    (axum::http::StatusCode::ACCEPTED, r#"{"accepted":[]}"#)
                }
            }),
        );
        let url = serve(app).await;
        (url, seen)
    }

    fn pod(name: &str, restarts: u32) -> atlhyper_model::resources::Pod {
        let Payload::PodListSnapshot(mut pods) = fixture("pod_list_snapshot") else {
            panic!("the pod fixture")
        };
        let mut pod = pods.remove(0);
        pod.name = name.to_owned();
        pod.restarts = restarts;
        pod
    }

    /// Runs a pusher of one pod list against `url` while `during` changes the cache.
    async fn push_pods(url: &str, deltas: bool, during: impl AsyncFnOnce(&Cache)) {
        use crate::cache::Change;
        let cache = Arc::new(Cache::new(1_000, Duration::from_secs(60)));
        cache.apply(Change::<atlhyper_model::resources::Pod>::RelistStart);
        cache.apply(Change::RelistItem("shop/a".to_owned(), pod("a", 0)));
        cache.apply(Change::<atlhyper_model::resources::Pod>::RelistDone);
        let pusher = Pusher {
            cache: cache.clone(),
            master: Master::new(url, None, Duration::from_secs(5)),
            cluster_id: "c1".into(),
            schedule: [(Source::PodListSnapshot, Duration::from_secs(60))].into(),
            early: Duration::from_millis(20),
            deltas,
            snapshot_interval: Duration::from_secs(300),
            epoch: new_epoch(),
            telemetry: Arc::new(Telemetry::new()),
        };
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(pusher.run(shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        during(&cache).await;
        shutdown.cancel();
        running.await.unwrap();
    }

    #[tokio::test]
    async fn an_agent_whose_deltas_meet_an_older_master_sends_whole_lists_from_then_on() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (url, seen) = master_before_deltas().await;
        push_pods(&url, true, async |cache: &Cache| {
            for restarts in 1..4 {
                cache.apply(crate::cache::Change::Apply(
                    "shop/a".to_owned(),
                    pod("a", restarts),
                ));
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
        .await;
        let seen = seen.lock().clone();
        let sources: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(sources[..2], ["pod_list_snapshot", "pod_delta"], "{seen:?}");
        let after = &sources[2..];
        assert!(
            after.len() >= 2 && after.iter().all(|s| *s == "pod_list_snapshot"),
            "whole lists after the refusal: {seen:?}"
        );
        assert!(seen[2..].iter().all(|(_, numbered)| !numbered), "{seen:?}");
    }

    /// A master that answers the first delta it sees with `resync`; what it was sent, in order.
    async fn master_that_lost_a_delta() -> (String, Arc<parking_lot::Mutex<Vec<(String, bool)>>>) {
        let seen: Arc<parking_lot::Mutex<Vec<(String, bool)>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/ingest",
            axum::routing::post(move |body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    let batch = envelopes(&body);
                    let mut log = log.lock();
                    let first_delta = !log.iter().any(|(s, _)| s.ends_with("_delta"));
                    let accepted: Vec<serde_json::Value> = batch
                        .iter()
                        .map(|e| {
                            let source = e["source"].as_str().unwrap().to_owned();
                            let resync = first_delta && source.ends_with("_delta");
                            log.push((source.clone(), e.get("seq").is_some()));
                            let mut count = serde_json::json!({"cluster_id": "c1", "source": source, "items": 1});
                            if resync {
                                count["resync"] = serde_json::json!(true);
                                count["expected_seq"] = serde_json::json!(2);
                            }
                            count
                        })
                        .collect();
                    (
                        axum::http::StatusCode::ACCEPTED,
                        serde_json::json!({ "accepted": accepted }).to_string(),
                    )
                }
            }),
        );
        let url = serve(app).await;
        (url, seen)
    }

    #[tokio::test]
    async fn a_resync_answer_sends_the_whole_list_at_once_then_deltas_again() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (url, seen) = master_that_lost_a_delta().await;
        push_pods(&url, true, async |cache: &Cache| {
            cache.apply(crate::cache::Change::Apply(
                "shop/a".to_owned(),
                pod("a", 1),
            ));
            // Well within the list's 60 s schedule: the whole list must come at once.
            tokio::time::sleep(Duration::from_millis(400)).await;
            cache.apply(crate::cache::Change::Apply(
                "shop/a".to_owned(),
                pod("a", 2),
            ));
            tokio::time::sleep(Duration::from_millis(300)).await;
        })
        .await;
        let seen = seen.lock().clone();
        let sources: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            sources[..4],
            [
                "pod_list_snapshot",
                "pod_delta",
                "pod_list_snapshot",
                "pod_delta"
            ],
            "{seen:?}"
        );
        assert!(seen.iter().all(|(_, numbered)| *numbered), "{seen:?}");
    }

    #[tokio::test]
    async fn with_deltas_off_every_push_is_the_whole_list_unnumbered() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (url, seen) = master_before_deltas().await;
        push_pods(&url, false, async |cache: &Cache| {
            cache.apply(crate::cache::Change::Apply(
                "shop/a".to_owned(),
                pod("a", 1),
            ));
            tokio::time::sleep(Duration::from_millis(300)).await;
        })
        .await;
        let seen = seen.lock().clone();
        assert!(seen.len() >= 2, "{seen:?}");
        assert!(
            seen.iter()
                .all(|(s, numbered)| s == "pod_list_snapshot" && !numbered),
            "{seen:?}"
        );
    }

    #[test]
    fn a_change_after_an_early_push_goes_out_one_early_push_later_not_two() {
        let early = Duration::from_secs(1);
        let pushed = Instant::now();
        let first = pushed + Duration::from_millis(100);
        // Due `early` after it changed (which is also `early` after the last early push).
        assert_eq!(early_wake(first, Some(pushed), early), first + early);
        // A change right at the push still waits `early` from the push.
        assert_eq!(early_wake(pushed, Some(pushed), early), pushed + early);
        assert_eq!(early_wake(first, None, early), first + early);
    }
}
