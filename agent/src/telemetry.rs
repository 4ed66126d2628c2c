//! The agent's own figures, served at `/metrics` (Prometheus text format 0.0.4).

use std::time::Duration;

use atlhyper_model::Source;
use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::cache::Cache;
use crate::push::PushError;

pub struct Telemetry {
    registry: Registry,
    objects: IntGaugeVec,
    push_envelopes: IntCounterVec,
    push_bytes: IntCounter,
    push_seconds: HistogramVec,
    push_errors: IntCounterVec,
    pending_events: IntGauge,
    dropped_events: IntGauge,
    pub node_samples: IntCounterVec,
    /// Whole lists master asked for because a delta went missing.
    pub resyncs: IntCounter,
    pub last_push_ok: parking_lot::Mutex<Option<std::time::Instant>>,
}

impl Telemetry {
    pub fn new() -> Self {
        let registry = Registry::new();
        macro_rules! register {
            ($metric:expr) => {{
                let m = $metric.expect("valid metric");
                registry
                    .register(Box::new(m.clone()))
                    .expect("unique metric");
                m
            }};
        }
        Telemetry {
            objects: register!(IntGaugeVec::new(
                Opts::new("atlhyper_agent_objects", "Objects held per source."),
                &["source"]
            )),
            push_envelopes: register!(IntCounterVec::new(
                Opts::new(
                    "atlhyper_agent_push_envelopes_total",
                    "Envelopes pushed to master, by source and outcome."
                ),
                &["source", "outcome"]
            )),
            push_bytes: register!(IntCounter::new(
                "atlhyper_agent_push_bytes_total",
                "Gzip bytes sent to master."
            )),
            push_seconds: register!(HistogramVec::new(
                HistogramOpts::new(
                    "atlhyper_agent_push_seconds",
                    "Time for master to answer a push."
                )
                .buckets(prometheus::exponential_buckets(0.001, 2.0, 14).expect("valid buckets")),
                &["outcome"]
            )),
            push_errors: register!(IntCounterVec::new(
                Opts::new(
                    "atlhyper_agent_push_errors_total",
                    "Failed pushes, by kind."
                ),
                &["kind"]
            )),
            pending_events: register!(IntGauge::new(
                "atlhyper_agent_pending_events",
                "Events waiting for master."
            )),
            dropped_events: register!(IntGauge::new(
                "atlhyper_agent_dropped_events",
                "Events dropped because the queue was full while master was away."
            )),
            node_samples: register!(IntCounterVec::new(
                Opts::new(
                    "atlhyper_agent_node_samples_total",
                    "Node samples taken from nodemetrics, by outcome."
                ),
                &["outcome"]
            )),
            resyncs: register!(IntCounter::new(
                "atlhyper_agent_delta_resyncs_total",
                "Deltas master answered with resync (it asked for the whole list)."
            )),
            last_push_ok: parking_lot::Mutex::new(None),
            registry,
        }
    }

    pub fn record_push(
        &self,
        sources: &[Source],
        bytes: usize,
        took: Duration,
        result: &Result<impl Sized, PushError>,
    ) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(PushError::Unavailable(_)) => "unavailable",
            Err(PushError::Throttled(_)) => "throttled",
            Err(PushError::Unauthorized { .. }) => "unauthorized",
            Err(PushError::Rejected { .. }) => "rejected",
        };
        for source in sources {
            self.push_envelopes
                .with_label_values(&[source.as_str(), outcome])
                .inc();
        }
        self.push_seconds
            .with_label_values(&[outcome])
            .observe(took.as_secs_f64());
        if result.is_ok() {
            self.push_bytes.inc_by(bytes as u64);
            *self.last_push_ok.lock() = Some(std::time::Instant::now());
        } else {
            self.push_errors.with_label_values(&[outcome]).inc();
        }
    }

    pub fn render(&self, cache: &Cache) -> String {
        let (counts, _) = cache.counts();
        for (source, n) in counts {
            self.objects
                .with_label_values(&[source.as_str()])
                .set(n as i64);
        }
        self.pending_events.set(cache.pending_events() as i64);
        self.dropped_events.set(
            cache
                .dropped_events
                .load(std::sync::atomic::Ordering::Relaxed) as i64,
        );
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding into memory");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}
