//! Encode and decode of a 5,000-pod `pod_list_snapshot`, plain and at three gzip levels.
//!
//! `cargo bench -p atlhyper-model --bench codec`; figures go to `docs/performance.md`.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use atlhyper_model::codec::{self, ContentEncoding, Limits};
use atlhyper_model::resources::{
    Container, ContainerState, LastTermination, OwnerRef, Pod, PodPhase, QosClass, Resources,
};
use atlhyper_model::{Envelope, Payload};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const NOW_MS: i64 = 1_795_608_000_000;

/// A realistic pod list: two containers each, labels, owners; one in fifty crash-looping.
fn pods(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            let app = format!("service-{:03}", i % 400);
            let hash = format!(
                "{:010x}",
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24
            );
            let crashing = i % 50 == 7;
            let container = |name: &str, image: String, restarts: u32| Container {
                name: name.to_owned(),
                image,
                init: false,
                state: if crashing && name == "app" {
                    ContainerState::Waiting
                } else {
                    ContainerState::Running
                },
                reason: (crashing && name == "app").then(|| "CrashLoopBackOff".to_owned()),
                message: None,
                ready: !(crashing && name == "app"),
                restart_count: restarts,
                started_ms: Some(NOW_MS - 3_600_000 - i as i64),
                last_termination: (restarts > 0).then(|| LastTermination {
                    reason: Some("Error".to_owned()),
                    exit_code: 1,
                    finished_ms: Some(NOW_MS - 20_000),
                }),
                requests: Resources {
                    cpu_millis: Some(100),
                    memory_bytes: Some(128 << 20),
                },
                limits: Resources {
                    cpu_millis: Some(500),
                    memory_bytes: Some(256 << 20),
                },
            };
            Pod {
                namespace: format!("team-{}", i % 12),
                name: format!("{app}-{hash}-{:05x}", i),
                uid: format!("{:08x}-1f2e-4b7a-8c3d-{:012x}", i, i * 7919),
                node: Some(format!("worker-{:03}", i % 200)),
                phase: PodPhase::Running,
                status: if crashing {
                    "CrashLoopBackOff"
                } else {
                    "Running"
                }
                .to_owned(),
                ready: if crashing { 1 } else { 2 },
                total: 2,
                restarts: if crashing { 17 } else { 0 },
                containers: vec![
                    container(
                        "app",
                        format!("registry.example.com/{app}:1.{}.0", i % 9),
                        if crashing { 17 } else { 0 },
                    ),
                    container("envoy", "envoyproxy/envoy:v1.31.2".to_owned(), 0),
                ],
                owner: Some(OwnerRef {
                    kind: "ReplicaSet".to_owned(),
                    name: format!("{app}-{hash}"),
                }),
                labels: [
                    ("app".to_owned(), app.clone()),
                    ("pod-template-hash".to_owned(), hash),
                    ("team".to_owned(), format!("team-{}", i % 12)),
                ]
                .into(),
                pod_ip: Some(format!("10.244.{}.{}", (i / 250) % 256, i % 250 + 2)),
                qos: Some(QosClass::Burstable),
                created_ms: NOW_MS - 86_400_000 + i as i64,
                deletion_ms: None,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let envelope = Envelope::new("prod-eu", NOW_MS, Payload::PodListSnapshot(pods(5_000)));
    let json = codec::encode_json(&envelope);
    let limits = Limits::default();

    let mut group = c.benchmark_group("pod_list_5000");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("encode_json", |b| {
        b.iter(|| codec::encode_json(black_box(&envelope)))
    });
    group.bench_function("decode_json_typed", |b| {
        b.iter(|| {
            codec::decode_envelopes(black_box(&json), ContentEncoding::Identity, &limits, NOW_MS)
                .unwrap()
        })
    });
    for level in [1, 6, 9] {
        let gz = codec::encode_gzip(&envelope, level);
        eprintln!(
            "gzip level {level}: {} -> {} bytes (ratio {:.1}x)",
            json.len(),
            gz.len(),
            json.len() as f64 / gz.len() as f64
        );
        group.bench_function(format!("encode_gzip_{level}"), |b| {
            b.iter(|| codec::encode_gzip(black_box(&envelope), level))
        });
        group.bench_function(format!("decode_gzip_{level}"), |b| {
            b.iter(|| {
                codec::decode_envelopes(black_box(&gz), ContentEncoding::Gzip, &limits, NOW_MS)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
