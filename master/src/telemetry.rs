//! master's own figures, served at `/metrics` in the Prometheus text format (0.0.4).

use std::time::Duration;

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::memory::MemorySizes;

/// Every metric master exports.
pub struct Telemetry {
    registry: Registry,
    /// Request body bytes as received, by cluster and source (`batch` for a request carrying
    /// several sources).
    pub ingest_bytes: IntCounterVec,
    pub ingest_envelopes: IntCounterVec,
    pub ingest_items: IntCounterVec,
    /// Deltas by cluster and what became of them (applied, ignored, resync).
    pub deltas: IntCounterVec,
    /// Resyncs asked of agents (a lost delta, or another epoch's list held), by cluster.
    pub resyncs: IntCounterVec,
    /// Requests answered, by route (its pattern), method and status: every route, one layer.
    requests: IntCounterVec,
    /// How long requests took to answer (to the response's head), by route.
    request_seconds: prometheus::HistogramVec,
    /// Bodies refused, by error code (`bad_json`, `payload_too_large`, …).
    pub decode_errors: IntCounterVec,
    pub db_commit_seconds: Histogram,
    pub db_commit_jobs: Histogram,
    store_records: IntGaugeVec,
    clock_skew: prometheus::GaugeVec,
    pub stream_subscribers: IntGauge,
    /// Connections open now, and the most that may be.
    pub connections_open: IntGauge,
    pub connection_cap: IntGauge,
    /// Connections master closed or turned away, by reason.
    connections_closed: IntCounterVec,
    /// Requests refused by a limit (body_timeout, body_too_large, uri_too_long,
    /// headers_too_large, content_encoding, rate_limited, queue_full).
    limit_hits: IntCounterVec,
    /// `accept` calls that failed (out of file descriptors and the like).
    pub accept_errors: prometheus::IntCounter,
}

impl Telemetry {
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let ingest_bytes = counter(
            "atlhyper_ingest_bytes_total",
            "Push body bytes as received, by cluster and source (batch: several sources).",
            &["cluster", "source"],
        );
        let ingest_envelopes = counter(
            "atlhyper_ingest_envelopes_total",
            "Envelopes stored, by cluster and source.",
            &["cluster", "source"],
        );
        let ingest_items = counter(
            "atlhyper_ingest_items_total",
            "Payload items stored, by cluster and source.",
            &["cluster", "source"],
        );
        let deltas = counter(
            "atlhyper_deltas_total",
            "Delta pushes by cluster and outcome: applied, ignored (a duplicate or stale retry), resync.",
            &["cluster", "outcome"],
        );
        let resyncs = counter(
            "atlhyper_delta_resyncs_total",
            "Full lists asked of agents because a delta went missing (or another run's list was held), by cluster.",
            &["cluster"],
        );
        let requests = counter(
            "atlhyper_http_requests_total",
            "Requests answered, by route pattern, method and HTTP status.",
            &["route", "method", "code"],
        );
        let request_seconds = prometheus::HistogramVec::new(
            HistogramOpts::new(
                "atlhyper_http_request_seconds",
                "Time to the response's head, by route pattern (a stream: to its first byte).",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
            ]),
            &["route"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(request_seconds.clone()))
            .expect("unique metric");
        let decode_errors = counter(
            "atlhyper_ingest_decode_errors_total",
            "Push bodies refused, by error kind.",
            &["kind"],
        );
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("valid metric");
            registry
                .register(Box::new(h.clone()))
                .expect("unique metric");
            h
        };
        let db_commit_seconds = histogram(
            "atlhyper_db_commit_seconds",
            "Duration of one group commit (write and fsync), in seconds.",
            prometheus::exponential_buckets(0.000_25, 2.0, 14).expect("valid buckets"),
        );
        let db_commit_jobs = histogram(
            "atlhyper_db_commit_jobs",
            "Writes grouped into one commit.",
            prometheus::exponential_buckets(1.0, 2.0, 12).expect("valid buckets"),
        );
        let store_records = IntGaugeVec::new(
            Opts::new(
                "atlhyper_store_records",
                "Records held in memory, by kind (snapshot_items, events, metric_points, metric_series, clusters).",
            ),
            &["kind"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(store_records.clone()))
            .expect("unique metric");
        let clock_skew = prometheus::GaugeVec::new(
            Opts::new(
                "atlhyper_cluster_clock_skew_seconds",
                "How far each cluster's agent clock is ahead of master's (negative: behind), \
                 from its newest push.",
            ),
            &["cluster"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(clock_skew.clone()))
            .expect("unique metric");
        let stream_subscribers = IntGauge::new(
            "atlhyper_stream_subscribers",
            "Clients connected to /api/v1/stream.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(stream_subscribers.clone()))
            .expect("unique metric");
        let connections_closed = counter(
            "atlhyper_connections_closed_total",
            "Connections master closed or refused, by reason (first_byte_timeout, idle_timeout, \
             evicted: idle and closed to make room at the cap, refused: at the cap with none idle).",
            &["reason"],
        );
        let limit_hits = counter(
            "atlhyper_limit_hits_total",
            "Requests refused by a limit: body_timeout (408), body_too_large (413), \
             uri_too_long (414), headers_too_large (431), content_encoding (415), \
             rate_limited and queue_full (429).",
            &["limit"],
        );
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let connections_open = gauge("atlhyper_connections_open", "Client connections open.");
        let connection_cap = gauge(
            "atlhyper_connection_cap",
            "Most client connections open at once (the configured cap, lowered to fit the \
             file-descriptor limit).",
        );
        let accept_errors = prometheus::IntCounter::new(
            "atlhyper_accept_errors_total",
            "Failed accepts (out of file descriptors and the like).",
        )
        .expect("valid metric");
        registry
            .register(Box::new(accept_errors.clone()))
            .expect("unique metric");
        Telemetry {
            registry,
            connections_open,
            connection_cap,
            connections_closed,
            limit_hits,
            accept_errors,
            ingest_bytes,
            ingest_envelopes,
            ingest_items,
            deltas,
            resyncs,
            requests,
            request_seconds,
            decode_errors,
            db_commit_seconds,
            db_commit_jobs,
            store_records,
            clock_skew,
            stream_subscribers,
        }
    }

    /// One request answered.
    pub fn request(&self, route: &str, method: &str, code: u16, took: Duration) {
        self.requests
            .with_label_values(&[route, method, &code.to_string()])
            .inc();
        self.request_seconds
            .with_label_values(&[route])
            .observe(took.as_secs_f64());
    }

    pub fn limit_hit(&self, limit: &str) {
        self.limit_hits.with_label_values(&[limit]).inc();
    }

    pub fn connections_closed(&self, reason: &str) {
        self.connections_closed.with_label_values(&[reason]).inc();
    }

    pub fn observe_commit(&self, jobs: usize, took: Duration) {
        self.db_commit_seconds.observe(took.as_secs_f64());
        self.db_commit_jobs.observe(jobs as f64);
    }

    /// The text exposition, with the store's sizes and each cluster's clock skew as of now.
    pub fn render(&self, sizes: MemorySizes, skews: &[(String, i64)]) -> String {
        // Deleted clusters drop out.
        self.clock_skew.reset();
        for (cluster, skew_ms) in skews {
            self.clock_skew
                .with_label_values(&[cluster.as_str()])
                .set(*skew_ms as f64 / 1000.0);
        }
        for (kind, value) in [
            ("clusters", sizes.clusters as i64),
            ("snapshot_items", sizes.snapshot_items as i64),
            ("events", sizes.events as i64),
            ("metric_series", sizes.metric_series as i64),
            ("metric_points", sizes.metric_points as i64),
        ] {
            self.store_records.with_label_values(&[kind]).set(value);
        }
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
