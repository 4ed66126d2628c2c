//! Pushing to master: each source on its full-snapshot schedule, and early — `early_push`
//! after its first unpushed change, at most once per `early_push` — so a change reaches master
//! in about a second. Sources due together travel in one gzip request. While master is away
//! nothing queues but events (bounded in the cache): snapshots are rebuilt from the cache when
//! the push is retried, so only the latest of each is ever sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atlhyper_model::codec;
use atlhyper_model::{Envelope, Payload, Source};
use rand::{Rng as _, SeedableRng as _};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
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
    /// Master refused the data (400, 413): sending it again would be refused again.
    #[error("master rejected the push ({status}): {message}")]
    Rejected { status: u16, message: String },
}

/// Master's `/ingest`.
pub struct Master {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Master {
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Self {
        Master {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("an HTTP client without custom TLS builds"),
            url: format!("{}/ingest", base.trim_end_matches('/')),
            token,
        }
    }

    /// Sends a batch, gzip'd.
    ///
    /// # Errors
    /// [`PushError`] by what master (or the network) answered.
    pub async fn push(&self, body: Vec<u8>) -> Result<(), PushError> {
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| PushError::Unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let message: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        Err(match status {
            401 | 403 => PushError::Unauthorized { status, message },
            400 | 413 | 415 => PushError::Rejected { status, message },
            _ => PushError::Unavailable(format!("{status}: {message}")),
        })
    }
}

/// The wait after `failures` failed pushes in a row: doubling from one second up to 30 s,
/// with ±20 % jitter so a fleet of agents does not return in step.
pub fn backoff(failures: u32) -> Duration {
    let base = Duration::from_secs(1) * (1u32 << failures.clamp(1, 6).saturating_sub(1));
    let base = base.min(Duration::from_secs(30));
    base.mul_f64(rand::rngs::StdRng::from_os_rng().random_range(0.8..1.2))
}

pub struct Pusher {
    pub cache: Arc<Cache>,
    pub master: Master,
    pub cluster_id: String,
    pub schedule: BTreeMap<Source, Duration>,
    pub early: Duration,
    pub telemetry: Arc<Telemetry>,
}

/// What one push carried, to settle it afterwards.
struct Batch {
    envelopes: Vec<Envelope>,
    sources: Vec<Source>,
    built_at: Instant,
}

impl Pusher {
    fn build(&self, due: &[Source], now_ms: i64) -> Batch {
        let built_at = Instant::now();
        let mut envelopes = Vec::new();
        let mut sources = Vec::new();
        for source in due {
            let payload = match source {
                Source::Events => {
                    let events = self.cache.take_events();
                    (!events.is_empty()).then_some(Payload::Events(events))
                }
                Source::MetricsSnapshot => {
                    let samples = self.cache.samples();
                    (!samples.is_empty()).then_some(Payload::MetricsSnapshot(samples))
                }
                snapshot => self.cache.snapshot(*snapshot),
            };
            // A kind still listing for the first time is not due yet.
            let listing =
                payload.is_none() && !matches!(source, Source::Events | Source::MetricsSnapshot);
            if !listing {
                sources.push(*source);
            }
            if let Some(payload) = payload {
                envelopes.push(Envelope::new(self.cluster_id.clone(), now_ms, payload));
            }
        }
        Batch {
            envelopes,
            sources,
            built_at,
        }
    }

    /// Pushes until `shutdown`, then pushes what changed once more.
    pub async fn run(self, shutdown: CancellationToken) {
        let start = Instant::now();
        let mut next_full: HashMap<Source, Instant> =
            self.schedule.keys().map(|s| (*s, start)).collect();
        let mut last_early: HashMap<Source, Instant> = HashMap::new();
        let mut failures = 0u32;
        let mut retry_at = start;
        loop {
            let now = Instant::now();
            let dirty = self.cache.dirty();
            let early_due = |source: &Source, first: &Instant| {
                now >= *first + self.early
                    && last_early
                        .get(source)
                        .is_none_or(|t| now >= *t + self.early)
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
                let batch = self.build(&due, crate::now_ms());
                match self.send(&batch).await {
                    Ok(()) => {
                        failures = 0;
                        for source in &batch.sources {
                            next_full.insert(*source, now + self.schedule[source]);
                            if dirty.contains_key(source) {
                                last_early.insert(*source, now);
                            }
                            self.cache.clean(*source, batch.built_at);
                        }
                    }
                    Err(PushError::Rejected { status, message }) => {
                        tracing::error!(status, %message, sources = ?batch.sources, "master rejected a push; it is dropped");
                        for source in &batch.sources {
                            next_full.insert(*source, now + self.schedule[source]);
                            if dirty.contains_key(source) {
                                last_early.insert(*source, now);
                            }
                            self.cache.clean(*source, batch.built_at);
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        let wait = match &e {
                            PushError::Unauthorized { .. } => Duration::from_secs(30),
                            _ => backoff(failures),
                        };
                        if failures == 1 || failures.is_power_of_two() {
                            tracing::warn!(error = %e, failures, retry_in = ?wait, "push failed");
                        }
                        retry_at = Instant::now() + wait;
                        self.requeue(batch);
                    }
                }
                continue;
            }
            // Sleep until the next full push, early push or retry of a ready source, or a
            // change. The wake is never in the past: an idle loop always waits.
            let dirty_wake = dirty
                .iter()
                .filter(|(s, _)| ready.contains(s))
                .map(|(s, first)| {
                    let after = last_early
                        .get(s)
                        .map_or(*first, |t| (*t + self.early).max(*first));
                    after + self.early
                });
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
            let batch = self.build(&dirty, crate::now_ms());
            if let Err(e) = self.send(&batch).await {
                tracing::warn!(error = %e, "the last push before shutdown failed");
            }
        }
    }

    async fn send(&self, batch: &Batch) -> Result<(), PushError> {
        if batch.envelopes.is_empty() {
            return Ok(());
        }
        let body = codec::encode_gzip(&batch.envelopes, codec::DEFAULT_GZIP_LEVEL);
        let started = Instant::now();
        let result = self.master.push(body.clone()).await;
        self.telemetry
            .record_push(&batch.envelopes, body.len(), started.elapsed(), &result);
        result
    }

    /// A failed batch's events go back to the cache; snapshot sources stay dirty and are
    /// rebuilt, from the latest state, when the push is retried.
    fn requeue(&self, batch: Batch) {
        for envelope in batch.envelopes {
            if let Payload::Events(events) = envelope.payload {
                self.cache.return_events(events);
            }
        }
        for source in batch.sources {
            self.cache.touch(source);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_half_a_minute_with_jitter() {
        for _ in 0..50 {
            let first = backoff(1);
            assert!(first >= Duration::from_millis(800) && first <= Duration::from_millis(1200));
            let late = backoff(20);
            assert!(late >= Duration::from_secs(24) && late <= Duration::from_secs(36));
        }
    }
}
